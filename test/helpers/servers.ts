// Small real servers that answer like the services the gate probes (Postgres, HTTP), on 127.0.0.1 and a free port.
// A test file that uses them calls closeServers() after each test.
import { request, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import type { Readable } from 'node:stream';

const servers: (Server | HttpServer)[] = [];
const sockets: Socket[] = [];

export async function closeServers(): Promise<void> {
  sockets.splice(0).forEach((s) => s.destroy());
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
}

export function listen(server: Server | HttpServer, port = 0): Promise<number> {
  servers.push(server);
  return new Promise((resolve) =>
    server.listen(port, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  );
}

/** A socket closeServers() destroys: a server that keeps its connections open would hold close() up. */
export function track(s: Socket): Socket {
  sockets.push(s);
  return s;
}

/** A TCP server that records the first bytes it gets and answers every connection with `reply` (or nothing). */
export async function pgLike(
  reply: ((s: Socket) => void) | undefined,
): Promise<{ port: number; received: Promise<Buffer> }> {
  let resolveReceived: (b: Buffer) => void = () => undefined;
  const received = new Promise<Buffer>((r) => (resolveReceived = r));
  const server = createServer((s) => {
    track(s);
    s.once('data', (d) => {
      resolveReceived(d);
      reply?.(s);
    });
  });
  return { port: await listen(server), received };
}

/** A Postgres backend message: type byte, length, body. */
export function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0);
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

export const errorResponse = (code: string, text: string) =>
  message('E', Buffer.from(`SFATAL\0C${code}\0M${text}\0\0`));

/** A port nothing listens on now (free a moment ago on `host`); rejects when `host` cannot be listened on. */
export function closedPort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface RouterAnswer {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

/**
 * One request to a router on 127.0.0.1:`port` with `host` as its Host header: what a browser sends for a URL by
 * that name (Node's resolver does not resolve *.localhost). With `firstBytes` the answer is taken as soon as its
 * first bytes come (an event stream never ends by itself).
 */
export function askRouterAs(
  port: number,
  host: string,
  path = '/',
  opts: { headers?: Record<string, string>; method?: string; body?: Readable | string; firstBytes?: boolean } = {},
): Promise<RouterAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: opts.method ?? 'GET', agent: false, headers: { ...opts.headers, host } },
      (res) => {
        let body = '';
        const done = () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
          if (opts.firstBytes) (res.destroy(), done());
        });
        res.on('end', done);
      },
    );
    req.setTimeout(60_000, () => req.destroy(new Error(`no answer from ${host}${path} in 60 s`)));
    req.on('error', reject);
    if (typeof opts.body === 'object') opts.body.pipe(req);
    else req.end(opts.body);
  });
}
