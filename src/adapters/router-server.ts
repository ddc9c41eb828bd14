// The router's sockets: one HTTP server on 127.0.0.1 and one on ::1 (when the machine has IPv6), the same port, and
// http-proxy-3 streaming requests, responses and websocket upgrades to the sandbox port a decision names, without
// buffering a body. What to do with each request is decided elsewhere (core/router/requests.ts, through the handler);
// this only carries it out: proxy with the forwarded headers, answer, or refuse.
import { Agent, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { createProxyServer } from 'http-proxy-3';
import { DROPPED_REQUEST_HEADERS, forwardedHeaders, rewrittenLocation } from '../core/router/forwarding.js';
import { REASONS, type Reply } from '../core/router/pages.js';
import { TARGET_HOST, type Decision, type RequestFacts } from '../core/router/requests.js';

type ProxyDecision = Extract<Decision, { kind: 'proxy' }>;

export interface RouterHandler {
  decide(req: RequestFacts): Decision;
  /** The answer of a control endpoint (JSON). */
  control(endpoint: Extract<Decision, { kind: 'control' }>['endpoint']): Reply;
  /** The answer when the sandbox's port refused the connection (`stopped`) or broke it. */
  failed(d: ProxyDecision, stopped: boolean, why: string): Reply;
  log(line: string): void;
}

export interface RunningRouter {
  /** The addresses it listens on (`127.0.0.1:8800`, `[::1]:8800`). */
  addresses: string[];
  close(): Promise<void>;
}

/** Refused: nothing of the error's kind leaves the machine (the port is taken, IPv6 is off). */
export class ListenError extends Error {
  constructor(
    readonly code: string,
    readonly address: string,
  ) {
    super(`cannot listen on ${address}: ${code}`);
  }
}

const single = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

function facts(req: IncomingMessage): RequestFacts {
  return {
    method: req.method ?? 'GET',
    url: req.url ?? '/',
    host: single(req.headers.host),
    authorization: single(req.headers.authorization),
    origin: single(req.headers.origin),
    secFetchSite: single(req.headers['sec-fetch-site']),
    accept: single(req.headers.accept),
  };
}

/** The request's headers made what the backend gets: the client's Host and X-Forwarded-* replaced by the router's. */
function forward(req: IncomingMessage, d: ProxyDecision, routerPort: number): string {
  const clientHost = single(req.headers.host) ?? '';
  for (const h of DROPPED_REQUEST_HEADERS) delete req.headers[h];
  Object.assign(req.headers, forwardedHeaders(clientHost, routerPort, d.route.port, req.socket.remoteAddress ?? ''));
  return clientHost;
}

function send(res: ServerResponse, reply: Reply, head = false): void {
  res.writeHead(reply.status, { ...reply.headers, 'content-length': Buffer.byteLength(reply.body) });
  res.end(head ? undefined : reply.body);
}

/** A reply written straight to a socket (an upgrade the router answers itself), then the socket closed. */
function sendRaw(socket: Socket, reply: Reply): void {
  if (socket.destroyed) return;
  const head = [
    `HTTP/1.1 ${reply.status} ${REASONS[reply.status] ?? 'Refused'}`,
    ...Object.entries({
      ...reply.headers,
      connection: 'close',
      'content-length': String(Buffer.byteLength(reply.body)),
    }).map(([k, v]) => `${k}: ${v}`),
  ].join('\r\n');
  socket.end(`${head}\r\n\r\n${reply.body}`);
}

const refusedCode = (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED';

export async function listenRouter(port: number, handler: RouterHandler): Promise<RunningRouter> {
  const agent = new Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64 });
  const proxy = createProxyServer({ xfwd: false, ws: true, agent });
  const clientHosts = new WeakMap<IncomingMessage, { host: string; port: number }>();
  proxy.on('proxyRes', (proxyRes, req) => {
    const info = clientHosts.get(req);
    const location = proxyRes.headers.location;
    if (!info || typeof location !== 'string') return;
    const moved = rewrittenLocation(location, info.port, info.host);
    if (moved !== undefined) proxyRes.headers.location = moved;
  });
  // Errors come to each call's callback; this only keeps an unexpected one from ending the router.
  proxy.on('error', (e) => handler.log(`proxy error: ${e.message}`));

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const d = handler.decide(facts(req));
    if (d.kind === 'reply') return send(res, d.reply, req.method === 'HEAD');
    if (d.kind === 'control') return send(res, handler.control(d.endpoint), req.method === 'HEAD');
    clientHosts.set(req, { host: forward(req, d, port), port: d.route.port });
    proxy.web(req, res, { target: `http://${TARGET_HOST}:${d.route.port}` }, (e) => {
      const err = e as NodeJS.ErrnoException;
      if (res.headersSent) {
        res.destroy();
        return;
      }
      send(res, handler.failed(d, refusedCode(err), err.code ?? err.message));
    });
  };
  const onUpgrade = (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => undefined);
    const d = handler.decide(facts(req));
    if (d.kind === 'reply') return sendRaw(socket, d.reply);
    if (d.kind === 'control') return sendRaw(socket, handler.control(d.endpoint));
    forward(req, d, port);
    proxy.ws(req, socket, head, { target: `http://${TARGET_HOST}:${d.route.port}` }, (e) => {
      const err = e as NodeJS.ErrnoException;
      sendRaw(socket, handler.failed(d, refusedCode(err), err.code ?? err.message));
    });
  };

  const servers: Server[] = [];
  const addresses: string[] = [];
  const open = async (host: string, optional: boolean) => {
    const server = createServer(onRequest);
    // A long upload or a slow stream must not be cut by the server's own timers.
    server.requestTimeout = 0;
    server.headersTimeout = 60_000;
    server.on('upgrade', onUpgrade);
    server.on('clientError', (_e, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    });
    const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port, host, exclusive: true, ipv6Only: host.includes(':') }, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
      // No IPv6 on this machine: 127.0.0.1 alone. Anything else (the port is taken) is a refusal.
      if (optional && (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT')) return;
      throw new ListenError(code, address);
    }
    servers.push(server);
    addresses.push(address);
  };
  try {
    await open('127.0.0.1', false);
    await open('::1', true);
  } catch (e) {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    throw e;
  }
  return {
    addresses,
    close: async () => {
      proxy.close();
      agent.destroy();
      await Promise.all(
        servers.map(
          (s) =>
            new Promise((r) => {
              s.close(r);
              s.closeAllConnections();
            }),
        ),
      );
    },
  };
}
