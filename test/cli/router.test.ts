// `kinfra router` (issue 16, items 1 and 4), with real sockets and real processes and no Docker: two sandboxes are
// created (never brought up), small node:http servers stand in for their backends on their published API ports, and
// a router started with `kinfra router start` on a free port routes by Host header. Node's resolver does not resolve
// *.localhost, so every request goes to 127.0.0.1 with the Host a browser would send.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { successDocument } from '../../src/docs/json-output.js';
import { parseJson, workspace, type CliResult, type Workspace } from '../helpers/cli.js';
import { closedPort } from '../helpers/servers.js';

/** A layout of its own, on ports no other test uses; `worker_1` shows the naming rule (`worker-1`). */
const CONFIG =
  'prefix: ktrdr\nports:\n  api: { env: KR_API_PORT, base: 47300 }\n  db: { env: KR_DB_PORT, base: 47400 }\n' +
  'workers: { env_prefix: KR_WORKER_PORT_, count: 1, base: 47500, step: 10, main: 47501 }\n';

const backends: Server[] = [];
const sockets = new Set<Socket>();

/** The WebSocket accept value for a key (RFC 6455). */
const accept = (key: string) =>
  createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC11B65`).digest('base64');

/** One unmasked (server) or masked (client) text frame, payload under 126 bytes. */
function frame(text: string, mask?: Buffer): Buffer {
  const payload = Buffer.from(text);
  if (!mask) return Buffer.concat([Buffer.from([0x81, payload.length]), payload]);
  const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
}

/** The text of one frame (masked or not). */
function unframe(b: Buffer): string {
  const len = b[1]! & 0x7f;
  if (b[1]! & 0x80) {
    const mask = b.subarray(2, 6);
    return Buffer.from(b.subarray(6, 6 + len).map((x, i) => x ^ mask[i % 4]!)).toString();
  }
  return b.subarray(2, 2 + len).toString();
}

/**
 * A backend that answers with its own name: what it was asked (path, Host, X-Forwarded-Host), a cookie, a redirect
 * to its port URL, an upload it counts without keeping, a slow stream, and a websocket echo.
 */
function backend(name: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/upload') {
      let bytes = 0;
      req.on('data', (d: Buffer) => (bytes += d.length));
      req.on('end', () => res.end(JSON.stringify({ name, bytes })));
      return;
    }
    if (url === '/stream') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first\n');
      setTimeout(() => res.end('second\n'), 600);
      return;
    }
    if (url === '/cookie') {
      res.setHeader('set-cookie', [`session=${name}; Path=/; HttpOnly`, `theme=dark-${name}; Path=/; SameSite=Lax`]);
      res.end(name);
      return;
    }
    if (url === '/redirect') {
      res.writeHead(302, { location: `http://localhost:${port}/landed` }).end();
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify({
        name,
        url,
        host: req.headers.host,
        forwardedHost: req.headers['x-forwarded-host'],
        forwardedFor: req.headers['x-forwarded-for'],
      }),
    );
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    sockets.add(socket);
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${accept(String(req.headers['sec-websocket-key']))}\r\n\r\n`,
    );
    socket.on('data', (d: Buffer) => socket.write(frame(`${name}: ${unframe(d)}`)));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  backends.push(server);
  return new Promise((r) => server.listen(port, '127.0.0.1', () => r(server)));
}

async function closeBackends(): Promise<void> {
  for (const s of sockets) s.destroy();
  sockets.clear();
  await Promise.all(backends.splice(0).map((s) => new Promise((r) => s.close(r))));
}

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

/** One request to the router on 127.0.0.1 with the Host a browser would send for that name. */
function get(port: number, host: string, path = '/', headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, headers: { host, ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Wait until `probe` holds (routes follow the registry within about a second). */
async function eventually<T>(probe: () => Promise<T>, ok: (v: T) => boolean, ms = 8000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (ok(v) || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The data of a --json document; a `kinfra router` one is checked against its published schema too. */
const data = (r: CliResult) => {
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  const doc = parseJson(r.stdout);
  if (doc.data && 'action' in doc.data) {
    const parsed = successDocument('router').safeParse(doc);
    expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
  }
  return doc.data;
};

/** Whether a pid still runs. */
const runs = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The router processes serving `home`: their command line runs router-serve, their environment has that HOME. */
function routersOf(home: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      const env = readFileSync(`/proc/${name}/environ`, 'utf8').split('\0');
      if (cmd.includes('router-serve') && env.includes(`HOME=${home}`)) pids.push(Number(name));
    } catch {
      /* gone meanwhile, or not ours to read */
    }
  }
  return pids;
}

/** A router this file started and did not stop is ended here, by its pid, once its command line proves it. */
const started = new Set<number>();
function endRouters(): void {
  for (const pid of started) {
    const cmd = existsSync(`/proc/${pid}/cmdline`) ? readFileSync(`/proc/${pid}/cmdline`, 'utf8') : '';
    if (cmd.includes('router-serve')) process.kill(pid, 'SIGKILL');
  }
  started.clear();
}

async function startRouter(ws: Workspace, port: number): Promise<{ pid: number; port: number }> {
  const d = data(await ws.run(['router', 'start', '--json'], { env: { KINFRA_ROUTER_PORT: String(port) } }));
  started.add(d.pid);
  return d;
}

describe('kinfra router: routing by name', () => {
  let ws: Workspace;
  let port: number;
  let token: string;
  let api: { a: number; b: number };
  const H = () => ({
    a: `api.ktrdr--a.localhost:${port}`,
    b: `ktrdr--b.localhost:${port}`,
  });

  beforeAll(async () => {
    ws = workspace({ 'kinfra.yaml': CONFIG });
    const a = data(await ws.run(['sandbox', 'create', 'a', '--json']));
    const b = data(await ws.run(['sandbox', 'create', 'b', '--json']));
    api = { a: a.ports.api, b: b.ports.api };
    port = await closedPort();
    const r = await startRouter(ws, port);
    expect(r.port).toBe(port);
    token = (await ws.run(['router', 'token'])).stdout.trim();
  });
  afterEach(closeBackends);
  afterAll(async () => {
    await ws.run(['router', 'stop']);
    endRouters();
    ws.cleanup();
  });

  it('reaches each sandbox by name; its backend gets Host localhost:<port>, the name in X-Forwarded-Host', async () => {
    await backend('a', api.a);
    await backend('b', api.b);
    const a = await get(port, H().a, '/api/v1/health?x=1');
    expect(a.status).toBe(200);
    expect(JSON.parse(a.body)).toEqual({
      name: 'a',
      url: '/api/v1/health?x=1',
      host: `localhost:${api.a}`,
      forwardedHost: H().a,
      forwardedFor: '127.0.0.1',
    });
    // The sandbox's own name reaches its main HTTP port (api); the Host is matched without regard to case.
    expect(JSON.parse((await get(port, H().b)).body).name).toBe('b');
    expect(JSON.parse((await get(port, `KTRDR--A.localhost:${port}`)).body).name).toBe('a');
    // A client's own X-Forwarded-* never reach the backend: the router is the first proxy.
    const spoofed = await get(port, H().a, '/', { 'x-forwarded-host': 'evil.com', 'x-forwarded-for': '6.6.6.6' });
    expect(JSON.parse(spoofed.body)).toMatchObject({ forwardedHost: H().a, forwardedFor: '127.0.0.1' });
  });

  it('whoami, status and list name the URLs the running router serves, each beside its direct URL', async () => {
    await backend('a', api.a);
    const dir = join(ws.dev, 'ktrdr--a');
    const who = data(await ws.run(['sandbox', 'whoami', '--json'], { cwd: dir }));
    expect(who.sandbox.hostnames).toMatchObject({ url: `http://ktrdr--a.localhost:${port}`, routerRunning: true });
    const apiUrl = who.sandbox.hostnames.ports.find((x: { name: string }) => x.name === 'api');
    expect(apiUrl).toEqual({ name: 'api', url: `http://${H().a}`, direct: `http://127.0.0.1:${api.a}` });
    // The named URL really reaches a (sent to 127.0.0.1 with its Host, as a tool must).
    expect(JSON.parse((await get(port, new URL(apiUrl.url).host)).body).name).toBe('a');
    const list = data(await ws.run(['sandbox', 'list', '--json']));
    expect(list.instances.map((i: { hostnames: { url: string } }) => i.hostnames.url)).toEqual([
      `http://ktrdr--a.localhost:${port}`,
      `http://ktrdr--b.localhost:${port}`,
    ]);
  });

  it('turns a redirect to the port URL back into the name, so the browser stays on the sandbox origin', async () => {
    await backend('a', api.a);
    const r = await get(port, H().a, '/redirect');
    expect(r.status).toBe(302);
    expect(r.headers.location).toBe(`http://${H().a}/landed`);
  });

  it('passes a websocket through: the upgrade, then frames both ways', async () => {
    await backend('a', api.a);
    const socket = connect(port, '127.0.0.1');
    sockets.add(socket);
    const key = Buffer.from('kinfra-router-ws!').toString('base64');
    socket.write(
      `GET /ws HTTP/1.1\r\nHost: ${H().a}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    let got = Buffer.alloc(0);
    const read = (until: (b: Buffer) => boolean) =>
      new Promise<Buffer>((resolve, reject) => {
        const check = () => (until(got) ? (socket.off('data', on), resolve(got)) : undefined);
        const on = (d: Buffer) => {
          got = Buffer.concat([got, d]);
          check();
        };
        socket.on('data', on);
        socket.once('error', reject);
        check();
      });
    const head = (await read((b) => b.includes('\r\n\r\n'))).toString();
    expect(head).toMatch(/^HTTP\/1\.1 101/);
    expect(head).toContain(`sec-websocket-accept: ${accept(key)}`);
    got = got.subarray(got.indexOf('\r\n\r\n') + 4);
    socket.write(frame('hello through the router', Buffer.from([1, 2, 3, 4])));
    const echoed = await read((b) => b.length >= 2 && b.length >= 2 + (b[1]! & 0x7f));
    expect(unframe(echoed)).toBe('a: hello through the router');
    socket.destroy();
  });

  it('streams a 50 MB upload without buffering it, and a slow response as it comes', async () => {
    await backend('a', api.a);
    const size = 50 * 1024 * 1024;
    const chunk = Buffer.alloc(1024 * 1024, 120);
    let sent = 0;
    const body = new Readable({
      read() {
        if (sent >= size) return this.push(null);
        sent += chunk.length;
        this.push(chunk);
      },
    });
    const answer = await new Promise<string>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, path: '/upload', method: 'POST', agent: false, headers: { host: H().a } },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve(text));
        },
      );
      req.on('error', reject);
      body.pipe(req);
    });
    expect(JSON.parse(answer)).toEqual({ name: 'a', bytes: size });

    const times = await new Promise<{ first: number; end: number; text: string }>((resolve, reject) => {
      const t0 = Date.now();
      let first = 0;
      let text = '';
      const req = request(
        { host: '127.0.0.1', port, path: '/stream', agent: false, headers: { host: H().a } },
        (res) => {
          res.on('data', (d: Buffer) => {
            if (!first) first = Date.now() - t0;
            text += d.toString();
          });
          res.on('end', () => resolve({ first, end: Date.now() - t0, text }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(times.text).toBe('first\nsecond\n');
    // The first chunk came before the backend had finished (it waits 600 ms before the second).
    expect(times.end - times.first).toBeGreaterThan(400);
  });

  it('keeps cookies apart: Set-Cookie passes as sent (no Domain added), each sandbox its own host', async () => {
    // What is asserted: the browser's side (a host-only cookie is sent back only to the host that set it) needs
    // the router to leave Set-Cookie alone and to serve each sandbox under its own host name; both hold here.
    await backend('a', api.a);
    await backend('b', api.b);
    const a = await get(port, H().a, '/cookie');
    const b = await get(port, `api.ktrdr--b.localhost:${port}`, '/cookie');
    expect(a.headers['set-cookie']).toEqual(['session=a; Path=/; HttpOnly', 'theme=dark-a; Path=/; SameSite=Lax']);
    expect(b.headers['set-cookie']).toEqual(['session=b; Path=/; HttpOnly', 'theme=dark-b; Path=/; SameSite=Lax']);
    for (const c of [...a.headers['set-cookie']!, ...b.headers['set-cookie']!]) expect(c).not.toMatch(/domain=/i);
    expect(new URL(`http://${H().a}`).hostname).not.toBe(new URL(`http://api.ktrdr--b.localhost:${port}`).hostname);
    // And a cookie the browser sends to a's name reaches a only.
    const back = await get(port, H().a, '/', { cookie: 'session=a' });
    expect(JSON.parse(back.body).name).toBe('a');
  });

  it('a stopped sandbox gets the 503 page: which sandbox, its state, the command that starts it', async () => {
    const html = await get(port, H().b, '/', { accept: 'text/html,*/*;q=0.8' });
    expect(html.status).toBe(503);
    expect(html.headers['content-type']).toMatch(/^text\/html/);
    expect(html.body).toContain('ktrdr--b is not running');
    expect(html.body).toContain('State: stopped.');
    expect(html.body).toContain(`cd ${join(ws.dev, 'ktrdr--b')} &amp;&amp; kinfra sandbox up`);
    const json = await get(port, H().b, '/', { accept: 'application/json' });
    expect(JSON.parse(json.body)).toMatchObject({
      error: 'sandbox-not-running',
      instanceId: 'ktrdr--b',
      state: 'stopped',
      start: `cd ${join(ws.dev, 'ktrdr--b')} && kinfra sandbox up`,
    });
    const text = await get(port, H().b);
    expect(text.headers['content-type']).toMatch(/^text\/plain/);
    expect(text.body).toContain('kinfra sandbox up');
  });

  it('an unknown name gets 404 with the names served; a Host it does not serve is refused (421)', async () => {
    const unknown = await get(port, `nope.localhost:${port}`, '/', { accept: 'application/json' });
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body).served).toEqual([
      `http://ktrdr--a.localhost:${port}`,
      `http://api.ktrdr--a.localhost:${port}`,
      `http://db.ktrdr--a.localhost:${port}`,
      `http://worker-1.ktrdr--a.localhost:${port}`,
      `http://ktrdr--b.localhost:${port}`,
      `http://api.ktrdr--b.localhost:${port}`,
      `http://db.ktrdr--b.localhost:${port}`,
      `http://worker-1.ktrdr--b.localhost:${port}`,
    ]);
    for (const host of ['evil.example:' + port, `api.ktrdr--a.localhost:${api.a}`, '192.168.1.1:' + port]) {
      const r = await get(port, host);
      expect(r.status, host).toBe(421);
    }
    // And a request with no Host at all (HTTP/1.0).
    const bare = await new Promise<string>((resolve) => {
      const s = connect(port, '127.0.0.1', () => s.write('GET / HTTP/1.0\r\n\r\n'));
      let text = '';
      s.on('data', (d: Buffer) => (text += d.toString()));
      s.on('end', () => resolve(text));
    });
    expect(bare).toMatch(/^HTTP\/1\.1 421 /);
  });

  it('never proxies to a port that is not a registered sandbox port', async () => {
    // A server on a port no sandbox has: no Host names it, so nothing reaches it.
    let reached = 0;
    const other = createServer((_q, s) => (reached++, s.end('other')));
    backends.push(other);
    const otherPort = await new Promise<number>((r) =>
      other.listen(0, '127.0.0.1', () => r((other.address() as { port: number }).port)),
    );
    await backend('a', api.a);
    for (const host of [
      `grafana.ktrdr--a.localhost:${port}`,
      `${otherPort}.ktrdr--a.localhost:${port}`,
      `ktrdr--a.localhost:${otherPort}`,
      `127.0.0.1:${otherPort}`,
      `localhost:${port}`,
    ]) {
      const r = await get(port, host, `http://127.0.0.1:${otherPort}/`);
      expect([404, 421], host).toContain(r.status);
    }
    expect(reached).toBe(0);
  });

  it('control endpoints want the token, and refuse another site even with it', async () => {
    const own = `localhost:${port}`;
    expect((await get(port, own, '/_kinfra/health')).status).toBe(401);
    expect((await get(port, own, '/_kinfra/routes', { authorization: 'Bearer nope' })).status).toBe(401);
    const ok = await get(port, own, '/_kinfra/health', { authorization: `Bearer ${token}` });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ ok: true, port });
    const auth = { authorization: `Bearer ${token}` };
    expect((await get(port, own, '/_kinfra/routes', { ...auth, origin: 'http://evil.example' })).status).toBe(403);
    expect((await get(port, own, '/_kinfra/routes', { ...auth, 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect(
      (await get(port, own, '/_kinfra/routes', { ...auth, origin: `http://ktrdr--a.localhost:${port}` })).status,
    ).toBe(403);
    // A control endpoint is not served under a foreign name either.
    expect((await get(port, `evil.example:${port}`, '/_kinfra/health', auth)).status).toBe(421);
    // The token lives in a file only its owner can read.
    const state = join(ws.home, '.ktrdr', 'router', 'router.json');
    expect(statSync(state).mode & 0o777).toBe(0o600);
    expect(statSync(join(ws.home, '.ktrdr', 'router')).mode & 0o777).toBe(0o700);
    expect(JSON.parse(readFileSync(state, 'utf8')).token).toBe(token);
    expect(data(await ws.run(['router', 'token', '--json']))).toMatchObject({ action: 'token', token, port });
  });

  it('status lists what it routes; routes appear and vanish with create and destroy while it runs', async () => {
    const status = data(await ws.run(['router', 'status', '--json']));
    expect(status).toMatchObject({ running: true, port, url: `http://localhost:${port}` });
    expect(status.routes).toContainEqual({
      host: `worker-1.ktrdr--a.localhost:${port}`,
      url: `http://worker-1.ktrdr--a.localhost:${port}`,
      instanceId: 'ktrdr--a',
      name: 'worker_1',
      port: status.routes.find((r: { name: string }) => r.name === 'worker_1').port,
      target: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      main: false,
    });
    const c = `ktrdr--c.localhost:${port}`;
    expect((await get(port, c)).status).toBe(404);
    const created = data(await ws.run(['sandbox', 'create', 'c', '--json']));
    expect(
      (
        await eventually(
          () => get(port, c),
          (r) => r.status !== 404,
        )
      ).status,
    ).toBe(503);
    await backend('c', created.ports.api);
    expect(JSON.parse((await get(port, c)).body).name).toBe('c');
    await closeBackends();
    expect((await ws.run(['sandbox', 'destroy', 'c', '--yes'])).code).toBe(0);
    expect(
      (
        await eventually(
          () => get(port, c),
          (r) => r.status === 404,
        )
      ).status,
    ).toBe(404);
  });
});

describe('kinfra router: one per registry', () => {
  let ws: Workspace;
  beforeAll(() => {
    ws = workspace({ 'kinfra.yaml': CONFIG });
  });
  afterEach(async () => {
    await ws.run(['router', 'stop']);
    endRouters();
  });
  afterAll(() => ws.cleanup());

  it('two starts at once leave one router (both report its pid); start again says it runs; stop stops it', async () => {
    const port = await closedPort();
    const env = { KINFRA_ROUTER_PORT: String(port) };
    const [one, two] = await Promise.all([
      ws.run(['router', 'start', '--json'], { env }),
      ws.run(['router', 'start', '--json'], { env }),
    ]);
    const a = data(one);
    const b = data(two);
    started.add(a.pid).add(b.pid);
    expect(a.pid).toBe(b.pid);
    expect([a.started, b.started].sort()).toEqual([false, true]);
    const again = await ws.run(['router', 'start'], { env });
    expect(again.stdout).toContain(`already running on port ${port}`);
    expect(again.stdout).toContain(`pid ${a.pid}`);
    // Only one router process runs for this HOME.
    expect(routersOf(ws.home)).toEqual([a.pid]);
    const stop = data(await ws.run(['router', 'stop', '--json']));
    expect(stop).toMatchObject({ stopped: true, pid: a.pid });
    expect(runs(a.pid)).toBe(false);
    expect(routersOf(ws.home)).toEqual([]);
    const twice = await ws.run(['router', 'stop']);
    expect(twice.code).toBe(0);
    expect(twice.stdout).toContain('The router is not running.');
    const status = data(await ws.run(['router', 'status', '--json']));
    expect(status).toMatchObject({ running: false, pid: null });
    expect((await ws.run(['router', 'token'])).code).toBe(5);
  });

  it('--port wins over KINFRA_ROUTER_PORT; a taken port is refused with exit 3, naming it', async () => {
    // Something else holds the port: it takes connections and never answers.
    const taken = createTcpServer((s) => void sockets.add(s));
    const takenPort = await new Promise<number>((r) =>
      taken.listen(0, '127.0.0.1', () => r((taken.address() as { port: number }).port)),
    );
    try {
      const r = await ws.run(['router', 'start', '--json'], { env: { KINFRA_ROUTER_PORT: String(takenPort) } });
      expect(r.code, r.stderr).toBe(3);
      expect(parseJson(r.stderr).error.code).toBe('router-port-taken');
      expect(parseJson(r.stderr).error.hint).toContain(`kinfra sandbox ports who ${takenPort}`);
      const port = await closedPort();
      const ok = data(
        await ws.run(['router', 'start', '--port', String(port), '--json'], {
          env: { KINFRA_ROUTER_PORT: String(takenPort) },
        }),
      );
      started.add(ok.pid);
      expect(ok.port).toBe(port);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => taken.close(r));
    }
    expect((await ws.run(['router', 'start', '--port', 'http'])).code).toBe(1);
  });

  it('a stale state file (its process gone) is reported, replaced by start and removed by stop', async () => {
    const dir = join(ws.home, '.ktrdr', 'router');
    mkdirSync(dir, { recursive: true });
    const gone = spawnSync(process.execPath, ['-e', 'process.pid'], { encoding: 'utf8' }).pid!;
    const port = await closedPort();
    const stale = { version: 1, pid: gone, port, token: 'x'.repeat(43), startedAt: 'then', cli: '/nowhere/kinfra.js' };
    writeFileSync(join(dir, 'router.json'), JSON.stringify(stale), { mode: 0o600 });
    const status = data(await ws.run(['router', 'status', '--json']));
    expect(status).toMatchObject({ running: false, stale: `process ${gone} is gone` });
    const start = data(await ws.run(['router', 'start', '--json'], { env: { KINFRA_ROUTER_PORT: String(port) } }));
    started.add(start.pid);
    expect(start).toMatchObject({ started: true, running: true, stale: `process ${gone} is gone` });
    expect(start.pid).not.toBe(gone);
    await ws.run(['router', 'stop']);
    writeFileSync(join(dir, 'router.json'), JSON.stringify(stale), { mode: 0o600 });
    const stop = data(await ws.run(['router', 'stop', '--json']));
    expect(stop).toMatchObject({ stopped: false, stale: `process ${gone} is gone` });
    expect(existsSync(join(dir, 'router.json'))).toBe(false);
  });

  it('never signals a pid it cannot prove is the router: a state file naming another live process', async () => {
    const dir = join(ws.home, '.ktrdr', 'router');
    mkdirSync(dir, { recursive: true });
    // This test's own process: alive, not a router, and it must survive `router stop`.
    const state = {
      version: 1,
      pid: process.pid,
      port: await closedPort(),
      token: 'y'.repeat(43),
      startedAt: 'x',
      cli: '/k.js',
    };
    writeFileSync(join(dir, 'router.json'), JSON.stringify(state), { mode: 0o600 });
    const status = data(await ws.run(['router', 'status', '--json']));
    expect(status.running).toBe(false);
    expect(status.stale).toContain(`process ${process.pid} is not the router`);
    const stop = data(await ws.run(['router', 'stop', '--json']));
    expect(stop).toMatchObject({ stopped: false });
    expect(runs(process.pid)).toBe(true);
  });
});
