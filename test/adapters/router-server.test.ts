// The router's wire (adapters/router-server.ts, router-http.ts), on real sockets: it reads each client connection
// as HTTP/1.1 itself and carries requests to a sandbox's port over a connection of its own, so what node:http did for
// it is checked here: keep-alive and pipelining, chunked bodies both ways, HEAD, 204 and 304, a backend that closes,
// 100 Continue, the error pages on a connection that goes on, and every request whose framing could be read two ways
// refused before anything reaches a backend. The routing rules themselves are core/router's (the real decide()).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type Socket } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { badGatewayPage, stoppedPage } from '../../src/core/router/pages.js';
import { decide } from '../../src/core/router/requests.js';
import { routeTable } from '../../src/core/router/routes.js';
import { listenRouter, type RunningRouter } from '../../src/adapters/router-server.js';
import { ChunkedBody, readRequestHead } from '../../src/adapters/router-http.js';
import { appServer } from '../../src/adapters/app-server.js';
import { closedPort } from '../helpers/servers.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  rawHeaders: string[];
  body: string;
}

let router: RunningRouter;
let port: number;
let api: number;
let web: number;
let db: number;
let stopped: number;
const seen: Seen[] = [];
let connections = 0;
const servers: Array<{ close(done: () => void): void }> = [];
const open = new Set<Socket>();
const logs: string[] = [];
/** The dashboard's server stand-in: node:http answering what the router hands over, with the body it got. */
const adopted = appServer((req, res) => {
  let body = '';
  req.on('data', (d: Buffer) => (body += d.toString()));
  req.on('end', () => res.end(`adopted ${req.method} ${req.url} ${body}`));
});

/** The backend: records each request; a few paths answer in particular ways. */
function backend(name: string): Server {
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('latin1');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, rawHeaders: req.rawHeaders, body });
      const url = req.url!;
      if (url === '/chunked') {
        res.write('one,');
        setTimeout(() => res.end('two'), 20);
      } else if (url === '/empty') res.writeHead(204).end();
      else if (url === '/cached') res.writeHead(304, { etag: '"x"' }).end();
      else if (url === '/close') res.writeHead(200, { connection: 'close', 'content-length': 3 }).end('bye');
      else if (url === '/moved') res.writeHead(301, { location: `http://127.0.0.1:${api}/there?q=1` }).end();
      else if (url === '/away') res.writeHead(302, { location: `http://example.com:${api}/` }).end();
      else res.writeHead(200, { 'content-type': 'text/plain', 'content-length': name.length + 1 }).end(`${name}\n`);
    });
  });
  server.on('connection', (s) => {
    connections++;
    open.add(s);
    s.on('close', () => open.delete(s));
  });
  servers.push(server);
  return server;
}

const listen = (s: Server | ReturnType<typeof createTcpServer>) =>
  new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as { port: number }).port)));

/** Bytes to the router on one connection; all it answers until it closes or `done` holds. */
function talk(parts: Array<string | Buffer>, done?: (text: string) => boolean, gapMs = 0): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    s.setNoDelay(true);
    open.add(s);
    let text = '';
    const finish = () => (s.destroy(), resolve(text));
    s.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (done?.(text)) finish();
    });
    s.on('end', finish);
    s.on('error', reject);
    void (async () => {
      for (const p of parts) {
        s.write(p);
        if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
      }
    })();
  });
}

const A = () => `api.ktrdr--a.localhost:${port}`;
const get = (path: string, host = A(), extra = '') => `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}\r\n`;
/** How many complete answers (status lines) a transcript holds. */
const answers = (text: string) => text.match(/HTTP\/1\.1 \d{3} /g) ?? [];

beforeAll(async () => {
  api = await listen(backend('a'));
  web = await listen(backend('web'));
  // A port that speaks something else (a database greets with its own bytes).
  const other = createTcpServer((s) => {
    open.add(s);
    s.on('data', () => s.write('-ERR unknown command\r\n'));
  });
  db = await listen(other);
  stopped = await closedPort();
  port = await closedPort();
  const table = routeTable(
    [{ instanceId: 'ktrdr--a', path: '/dev/ktrdr--a', slot: 1, ports: { api, web, db, grafana: stopped } }],
    [port],
  );
  router = await listenRouter(port, {
    decide: (req) => decide(req, { port, token: 't'.repeat(43), table }),
    control: () => ({ status: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}\n' }),
    failed: (d, refused, why) =>
      refused ? stoppedPage(d.format, d.sandbox, d.route) : badGatewayPage(d.format, d.sandbox, d.route, why),
    adopt: (socket) => adopted.adopt(socket),
    log: (l) => logs.push(l),
  });
  servers.push(other);
});
afterAll(async () => {
  adopted.close();
  await router.close();
  for (const s of open) s.destroy();
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
});
beforeEach(() => {
  seen.length = 0;
  connections = 0;
});

describe('the router on the wire: keep-alive, pipelining, framing', () => {
  it('hands a dashboard connection to node:http whole: its head, its body and the requests after it', async () => {
    const D = `kinfra.localhost:${port}`;
    const post = `POST /_kinfra/api/list HTTP/1.1\r\nHost: ${D}\r\nContent-Length: 5\r\n\r\nhello`;
    // Split mid-body, then a second request on the same connection right behind it.
    const text = await talk([post.slice(0, -3), post.slice(-3) + get('/two', D)], (t) => answers(t).length === 2, 20);
    expect(text).toContain('adopted POST /_kinfra/api/list hello');
    expect(text).toContain('adopted GET /two ');
    expect(connections).toBe(0);
  });

  it('carries several requests of one client connection over one backend connection, each rewritten', async () => {
    const text = await talk(
      [
        get('/one', A(), 'X-Forwarded-For: 6.6.6.6\r\nx-forwarded-for: 7.7.7.7\r\nFORWARDED: for=evil\r\n'),
        get('/two?x=1', `API.ktrdr--a.localhost:${port}`, 'Cookie: a=1\r\nCookie: b=2\r\n'),
      ],
      (t) => answers(t).length === 2,
      30,
    );
    expect(answers(text)).toHaveLength(2);
    expect(connections).toBe(1);
    expect(seen.map((s) => s.url)).toEqual(['/one', '/two?x=1']);
    expect(seen[0]!.headers).toMatchObject({
      host: `localhost:${api}`,
      'x-forwarded-host': A(),
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-proto': 'http',
      'x-forwarded-port': String(port),
    });
    expect(seen[0]!.headers.forwarded).toBeUndefined();
    // Only the router's own Host and X-Forwarded-For lines reach the backend; the client's other lines as sent.
    const raw = seen[0]!.rawHeaders.map((h, i) => (i % 2 ? '' : h.toLowerCase())).filter(Boolean);
    expect(raw.filter((h) => h === 'host' || h === 'x-forwarded-for')).toEqual(['host', 'x-forwarded-for']);
    expect(seen[1]!.rawHeaders.filter((_h, i) => i % 2 === 1 && seen[1]!.rawHeaders[i - 1] === 'Cookie')).toEqual([
      'a=1',
      'b=2',
    ]);
  });

  it('answers pipelined requests in order, the router’s own answers among them', async () => {
    const text = await talk(
      [get('/p1') + get('/', `nope.localhost:${port}`) + get('/p2', `web.ktrdr--a.localhost:${port}`) + get('/p3')],
      (t) => answers(t).length === 4,
    );
    expect(answers(text).map((l) => l.trim())).toEqual([
      'HTTP/1.1 200',
      'HTTP/1.1 404',
      'HTTP/1.1 200',
      'HTTP/1.1 200',
    ]);
    const bodies = text.split('\r\n\r\n');
    expect(bodies[1]!.startsWith('a\n')).toBe(true);
    expect(text.indexOf('web\n')).toBeGreaterThan(text.indexOf('404'));
    expect(seen.map((s) => s.url)).toEqual(['/p1', '/p2', '/p3']);
  });

  it('reads a head however it is split, and passes a chunked body up and a chunked answer down', async () => {
    const req =
      `POST /chunked HTTP/1.1\r\nHost: ${A()}\r\nTransfer-Encoding: chunked\r\n\r\n` +
      '5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n';
    const text = await talk(req.split(''), (t) => t.includes('\r\n0\r\n\r\n'), 1);
    expect(seen[0]!.body).toBe('hello world');
    expect(text).toMatch(/transfer-encoding: chunked/i);
    const body = text.slice(text.indexOf('\r\n\r\n') + 4);
    const pieces: string[] = [];
    const end = new ChunkedBody().feed(Buffer.from(body, 'latin1'), 0, (p) => pieces.push(p.toString()));
    expect(end).toBe(Buffer.byteLength(body));
    expect(pieces.join('')).toBe('one,two');
  });

  it('HEAD, 204 and 304 have no body, and the connection goes on after each', async () => {
    const text = await talk(
      [`HEAD / HTTP/1.1\r\nHost: ${A()}\r\n\r\n`, get('/empty'), get('/cached'), get('/last')],
      (t) => t.endsWith('\r\n\r\na\n'),
      30,
    );
    expect(answers(text).map((l) => l.trim())).toEqual([
      'HTTP/1.1 200',
      'HTTP/1.1 204',
      'HTTP/1.1 304',
      'HTTP/1.1 200',
    ]);
    expect(text.match(/content-length: 2/gi)).toHaveLength(2);
    expect(text.endsWith('\r\n\r\na\n')).toBe(true);
    expect(connections).toBe(1);
  });

  it('a backend that closes, or a client that asks to, ends the client connection after the answer', async () => {
    const closing = await talk([get('/close') + get('/never')]);
    expect(closing).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nbye$/);
    const asked = await talk([get('/x', A(), 'Connection: close\r\n') + get('/never')]);
    expect(answers(asked)).toHaveLength(1);
    expect(seen.map((s) => s.url)).toEqual(['/close', '/x']);
  });

  it('an answer with no length ends with its connection: the client gets it whole, then the end', async () => {
    const raw = createTcpServer((s) => {
      open.add(s);
      s.once('data', () => s.end('HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the end'));
    });
    const rawPort = await listen(raw);
    const table = routeTable([{ instanceId: 'old', path: '/dev/old', slot: 2, ports: { api: rawPort } }], [0]);
    const other = await closedPort();
    const r = await listenRouter(other, {
      decide: (req) => decide(req, { port: other, token: 't'.repeat(43), table }),
      control: () => ({ status: 200, headers: {}, body: '' }),
      failed: () => ({ status: 502, headers: {}, body: 'no' }),
      adopt: (socket) => socket.destroy(),
      log: () => undefined,
    });
    try {
      const text = await new Promise<string>((resolve) => {
        const s = connect(other, '127.0.0.1', () => s.write(`GET / HTTP/1.1\r\nHost: old.localhost:${other}\r\n\r\n`));
        let t = '';
        s.on('data', (d: Buffer) => (t += d.toString()));
        s.on('end', () => resolve(t));
      });
      expect(text).toBe('HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the end');
    } finally {
      await r.close();
      await new Promise((res) => raw.close(res));
    }
  });

  it('passes 100 Continue on, then the body, then the answer', async () => {
    const s = connect(port, '127.0.0.1');
    open.add(s);
    let text = '';
    const until = (p: (t: string) => boolean) =>
      new Promise<void>((resolve) => {
        const check = () => (p(text) ? (s.off('data', on), resolve()) : undefined);
        const on = (d: Buffer) => ((text += d.toString()), check());
        s.on('data', on);
        check();
      });
    s.write(`PUT /up HTTP/1.1\r\nHost: ${A()}\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n`);
    await until((t) => t.includes('100 Continue\r\n\r\n'));
    s.write('data');
    await until((t) => t.endsWith('a\n'));
    s.destroy();
    expect(seen[0]).toMatchObject({ method: 'PUT', body: 'data' });
  });

  it('points a redirect to the port URL back at the name; another host is left alone', async () => {
    const text = await talk([get('/moved') + get('/away')], (t) => answers(t).length === 2);
    expect(text).toContain(`location: http://${A()}/there?q=1\r\n`);
    expect(text).toContain(`location: http://example.com:${api}/\r\n`);
  });

  it('an absolute URL in the request line reaches the backend as its path (the Host named the backend)', async () => {
    await talk([get(`http://127.0.0.1:${stopped}/abs?y=2`)], (t) => t.endsWith('a\n'));
    expect(seen[0]!.url).toBe('/abs?y=2');
  });
});

describe('the router on the wire: errors and refusals', () => {
  it('503 for a port with nothing listening, 502 for one not HTTP; the connection goes on after each', async () => {
    const body = 'x'.repeat(3000);
    const text = await talk(
      [
        `POST / HTTP/1.1\r\nHost: grafana.ktrdr--a.localhost:${port}\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
        get('/', `db.ktrdr--a.localhost:${port}`, 'Accept: application/json\r\n'),
        get('/after'),
      ],
      (t) => t.endsWith('a\n'),
      50,
    );
    expect(answers(text).map((l) => l.trim())).toEqual(['HTTP/1.1 503', 'HTTP/1.1 502', 'HTTP/1.1 200']);
    expect(text).toContain('"error":"bad-gateway"');
    expect(text).toContain('its answer is not HTTP');
    expect(seen.map((s) => s.url)).toEqual(['/after']);
  });

  it('refuses a request whose framing or names could be read two ways, and reaches no backend', async () => {
    const h = `Host: ${A()}\r\n`;
    const cases: Array<[string, number]> = [
      [`POST / HTTP/1.1\r\n${h}Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, 400],
      [`POST / HTTP/1.1\r\n${h}Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd`, 400],
      [`POST / HTTP/1.1\r\n${h}Content-Length: +3\r\n\r\nabc`, 400],
      [`POST / HTTP/1.1\r\n${h}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`, 501],
      [`POST / HTTP/1.1\r\n${h}Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n0\r\n\r\n`, 400],
      [`POST / HTTP/1.1\r\n${h}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n`, 400],
      [`GET / HTTP/1.1\r\n${h}X-A: 1\r\n folded\r\n\r\n`, 400],
      [`GET / HTTP/1.1\r\n${h}X-A: 1\nX-B: 2\r\n\r\n`, 400],
      [`GET / HTTP/1.1\r\n${h}Host: evil.example\r\n\r\n`, 400],
      [`GET / HTTP/2.0\r\n${h}\r\n`, 505],
      [`GET /a b HTTP/1.1\r\n${h}\r\n`, 400],
      [`CONNECT 127.0.0.1:22 HTTP/1.1\r\n${h}\r\n`, 405],
      [`POST / HTTP/1.1\r\n${h}Transfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n`, 400],
      [`POST / HTTP/1.1\r\n${h}Transfer-Encoding: chunked\r\n\r\n5 5\r\nhello\r\n0\r\n\r\n`, 400],
      [`POST / HTTP/1.1\r\n${h}Transfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n`, 400],
      [`GET / HTTP/1.1\r\n${h}X-Big: ${'b'.repeat(17 * 1024)}\r\n\r\n`, 431],
    ];
    for (const [req, status] of cases) {
      const text = await talk([req + get('/smuggled')]);
      expect(text.startsWith(`HTTP/1.1 ${status} `), `${req}\n${text}`).toBe(true);
      expect(answers(text), req).toHaveLength(1);
    }
    // A chunked body refused part-way may have reached the backend's connection in part, never as a request.
    expect(seen.map((s) => s.url)).toEqual([]);
  });

  it('reads request heads strictly (the parser itself)', () => {
    const read = (s: string) => readRequestHead(Buffer.from(s, 'latin1'));
    expect(read('GET / HTTP/1.1\r\nHost: a\r\n')).toEqual({ kind: 'more' });
    const head = 'GET /x HTTP/1.0\r\nHost: a:1\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n';
    expect(read(`${head}rest`)).toMatchObject({
      kind: 'head',
      size: head.length,
      head: { keepAlive: true, framing: { kind: 'none' }, facts: { host: 'a:1', url: '/x' } },
    });
    expect(read('GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n')).toMatchObject({
      head: { upgrade: true, keepAlive: true },
    });
    expect(read('GET / HTTP/1.1\r\n: x\r\n\r\n')).toMatchObject({ kind: 'bad', status: 400 });
    expect(read('GET / HTTP/1.1\r\nA: \0\r\n\r\n')).toMatchObject({ kind: 'bad', status: 400 });
  });
});
