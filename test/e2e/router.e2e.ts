import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJson, type CliResult, type Workspace } from '../helpers/cli.js';
import {
  buildExampleImages,
  E2E_CONFIG,
  exampleWorkspace,
  removeLeftovers,
  removeRouterWorkspace,
  requireEngine,
} from '../helpers/docker.js';
import { askRouterAs, closedPort, type RouterAnswer } from '../helpers/servers.js';

/**
 * Issue 16's router on a real engine: two sandboxes of the example stack run (their backends' health answers name
 * their instance), a router of this HOME runs on a free port, and every request goes to it by name: each name
 * reaches its own sandbox, a websocket echoes through, a 50 MB upload arrives whole, a cookie passes as the backend
 * set it; then b is stopped (503 page), destroyed (its names vanish, 404) and c created (its name appears), all
 * while the one router keeps running.
 *
 * Node's resolver does not resolve *.localhost, so every request goes to 127.0.0.1 with the Host a browser sends.
 * Own compose-project prefix (krt--) and ports (50xxx-51xxx), so it never meets another suite's stacks.
 */
const PREFIX = 'krt';
const ID = { a: `${PREFIX}--a`, b: `${PREFIX}--b`, c: `${PREFIX}--c` };
const CONFIG = E2E_CONFIG.replace(/^prefix: \w+/m, `prefix: ${PREFIX}`)
  .replace('base: 28000', 'base: 50000')
  .replace('base: 25432', 'base: 50200')
  .replace('base: 23000', 'base: 50400')
  .replace('base: 36686', 'base: 50600')
  .replace('base: 24317', 'base: 50800')
  .replace('base: 24318', 'base: 50801')
  .replace('base: 29090', 'base: 51000')
  .replace('base: 25000, step: 10, main: 25003', 'base: 51200, step: 10, main: 51203');
const MB50 = 50 * 1024 * 1024;

let ws: Workspace;
let port: number;
let routerPid: number | undefined;
const created = new Set<string>();

const folder = (id: string) => join(ws.dev, id);
/** A name of the router: `api.krt--a.localhost:<port>`, `krt--a.localhost:<port>`. */
const host = (...labels: string[]) => `${[...labels, 'localhost'].join('.')}:${port}`;

function ok(r: CliResult): CliResult {
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  return r;
}

type Answer = RouterAnswer;

/** One request to the router on 127.0.0.1 with `name` as its Host (what a browser sends for that URL). */
const ask = (
  name: string,
  path = '/',
  opts: { headers?: Record<string, string>; method?: string; body?: Readable } = {},
) => askRouterAs(port, name, path, opts);

const json = (a: Answer) => JSON.parse(a.body);

/** Wait until `probe` holds: routes follow the registry within about a second. */
async function eventually<T>(probe: () => Promise<T>, holds: (v: T) => boolean, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (holds(v) || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** One masked client frame (RFC 6455 5.2), any payload length. */
function clientFrame(opcode: number, payload: Buffer): Buffer {
  const mask = randomBytes(4);
  const n = payload.length;
  const head =
    n < 126
      ? Buffer.from([0x80 | opcode, 0x80 | n])
      : n < 65536
        ? Buffer.from([0x80 | opcode, 0x80 | 126, n >> 8, n & 0xff])
        : Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | 127]), Buffer.alloc(8)]);
  if (n >= 65536) head.writeBigUInt64BE(BigInt(n), 2);
  return Buffer.concat([head, mask, Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!))]);
}

/** The first whole server frame of `b`, if it has one: its opcode, whether it was masked, its payload, its size. */
function serverFrame(b: Buffer): { opcode: number; masked: boolean; payload: Buffer; size: number } | undefined {
  if (b.length < 2) return undefined;
  let n = b[1]! & 0x7f;
  let at = 2;
  if (n === 126) [n, at] = [b.length >= 4 ? b.readUInt16BE(2) : Infinity, 4];
  else if (n === 127) [n, at] = [b.length >= 10 ? Number(b.readBigUInt64BE(2)) : Infinity, 10];
  const masked = (b[1]! & 0x80) !== 0;
  if (masked) at += 4;
  if (b.length < at + n) return undefined;
  return { opcode: b[0]! & 0x0f, masked, payload: b.subarray(at, at + n), size: at + n };
}

beforeAll(async () => {
  expect([...CONFIG.matchAll(/base: (\d+)/g)].filter((m) => Number(m[1]) < 50000)).toEqual([]);
  requireEngine();
  removeLeftovers(`${PREFIX}--`);
  buildExampleImages();
  ws = exampleWorkspace(CONFIG);
  for (const name of ['a', 'b']) {
    ok(await ws.run(['sandbox', 'create', name]));
    created.add(`${PREFIX}--${name}`);
  }
  const ups = await Promise.all(
    [ID.a, ID.b].map((id) => ws.run(['sandbox', 'up', '--timeout', '120'], { cwd: folder(id) })),
  );
  for (const up of ups) ok(up);
  port = await closedPort();
  const started = parseJson(
    ok(await ws.run(['router', 'start', '--json'], { env: { KINFRA_ROUTER_PORT: `${port}` } })).stdout,
  );
  routerPid = started.data.pid;
  expect(started.data).toMatchObject({ running: true, started: true, port });
}, 300_000);

afterAll(() => removeRouterWorkspace(ws, { routerPid, created, prefix: `${PREFIX}--` }), 180_000);

describe('the router on a real engine: two sandboxes of the example stack by name (issue 16)', () => {
  it("each name reaches its own sandbox's backend; the sandbox's own name reaches its api port", async () => {
    for (const id of [ID.a, ID.b]) {
      const api = await ask(host('api', id), '/api/v1/health');
      expect(api.status, api.body).toBe(200);
      expect(json(api)).toMatchObject({ status: 'ok', instance: id });
      const main = await ask(host(id), '/api/v1/health');
      expect(main.status, main.body).toBe(200);
      expect(json(main)).toMatchObject({ status: 'ok', instance: id });
    }
  });

  it('a websocket echoes through the router: the 101 from the backend, then frames both ways', async () => {
    const socket: Socket = connect(port, '127.0.0.1');
    try {
      let got = Buffer.alloc(0);
      const until = <T>(take: (b: Buffer) => T | undefined) =>
        new Promise<T>((resolve, reject) => {
          const check = () => {
            const v = take(got);
            if (v === undefined) return;
            socket.off('data', on);
            resolve(v);
          };
          const on = (d: Buffer) => ((got = Buffer.concat([got, d])), check());
          socket.on('data', on);
          socket.once('error', reject);
          socket.once('close', () => reject(new Error(`closed; got ${got.length} bytes: ${got.subarray(0, 200)}`)));
          check();
        });
      const key = randomBytes(16).toString('base64');
      socket.write(
        `GET /ws HTTP/1.1\r\nHost: ${host('api', ID.a)}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
      const head = await until((b) =>
        b.includes('\r\n\r\n') ? b.subarray(0, b.indexOf('\r\n\r\n')).toString() : undefined,
      );
      expect(head).toMatch(/^HTTP\/1\.1 101 /);
      const acceptKey = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC11B65`).digest('base64');
      expect(head.toLowerCase()).toContain(`sec-websocket-accept: ${acceptKey.toLowerCase()}`);
      got = got.subarray(got.indexOf('\r\n\r\n') + 4);
      // A short text message, then one of 200 KB (a 64-bit length): each comes back unmasked, as it was sent.
      for (const text of [`hello ${ID.a}`, 'x'.repeat(200_000)]) {
        socket.write(clientFrame(0x1, Buffer.from(text)));
        const echo = await until(serverFrame);
        got = got.subarray(echo.size);
        expect({ opcode: echo.opcode, masked: echo.masked, length: echo.payload.length }).toEqual({
          opcode: 0x1,
          masked: false,
          length: text.length,
        });
        expect(echo.payload.toString() === text, 'the echo is the message').toBe(true);
      }
    } finally {
      socket.destroy();
    }
  });

  it('a 50 MB upload passes through whole: the backend counts 52428800 bytes', async () => {
    // Streamed from one 1 MiB buffer: the test never holds the 50 MB either.
    const chunk = Buffer.alloc(1024 * 1024, 0x6b);
    let sent = 0;
    const body = new Readable({
      read() {
        if (sent >= MB50) return void this.push(null);
        sent += chunk.length;
        this.push(chunk);
      },
    });
    const t0 = Date.now();
    const r = await ask(host('api', ID.b), '/upload', {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(MB50) },
    });
    expect(r.status, r.body).toBe(200);
    expect(json(r)).toEqual({ bytes: 52428800 });
    expect(Date.now() - t0, 'the upload took under 60 s').toBeLessThan(60_000);
  });

  it("a cookie set on a's origin passes as the backend set it (no Domain), so it stays a's", async () => {
    // Browsers keep cookies per host (RFC 6265: a cookie without Domain is host-only): the router serves each
    // sandbox under its own host name and must leave Set-Cookie alone; then a's cookie is sent back to a's names
    // only, never to b's, because api.krt--a.localhost and api.krt--b.localhost never share one host.
    const a = await ask(host('api', ID.a), '/cookie');
    const b = await ask(host('api', ID.b), '/cookie');
    expect(a.headers['set-cookie']).toEqual([`session=${ID.a}; Path=/; HttpOnly; SameSite=Lax`]);
    expect(b.headers['set-cookie']).toEqual([`session=${ID.b}; Path=/; HttpOnly; SameSite=Lax`]);
    for (const c of [...a.headers['set-cookie']!, ...b.headers['set-cookie']!]) expect(c).not.toMatch(/domain=/i);
    expect(new URL(`http://${host('api', ID.a)}`).hostname).not.toBe(new URL(`http://${host('api', ID.b)}`).hostname);
    // What the browser sends back to a's name reaches a's backend, as it was sent.
    const back = await ask(host('api', ID.a), '/cookie', { headers: { cookie: `session=${ID.a}` } });
    expect(json(back)).toEqual({ instance: ID.a, cookie: `session=${ID.a}` });
  });

  it('a stopped sandbox gets the 503 page naming it, its state and `kinfra sandbox up`; a still answers', async () => {
    ok(await ws.run(['sandbox', 'down'], { cwd: folder(ID.b) }));
    const html = await ask(host(ID.b), '/', { headers: { accept: 'text/html,*/*;q=0.8' } });
    expect(html.status).toBe(503);
    expect(html.headers['content-type']).toMatch(/^text\/html/);
    expect(html.body).toContain(`${ID.b} is not running`);
    expect(html.body).toContain('State: stopped.');
    expect(html.body).toContain(`cd ${folder(ID.b)} &amp;&amp; kinfra sandbox up`);
    const doc = await ask(host('api', ID.b), '/api/v1/health', { headers: { accept: 'application/json' } });
    expect(doc.status).toBe(503);
    expect(json(doc)).toMatchObject({
      error: 'sandbox-not-running',
      instanceId: ID.b,
      state: 'stopped',
      name: 'api',
      start: `cd ${folder(ID.b)} && kinfra sandbox up`,
    });
    expect(json(await ask(host('api', ID.a), '/api/v1/health'))).toMatchObject({ status: 'ok', instance: ID.a });
  });

  it("b's names vanish with destroy and c's appear with create, while the same router runs", async () => {
    ok(await ws.run(['sandbox', 'destroy', ID.b, '--force', '--yes']));
    created.delete(ID.b);
    const gone = await eventually(
      () => ask(host(ID.b), '/', { headers: { accept: 'application/json' } }),
      (r) => r.status === 404,
    );
    expect(gone.status, gone.body).toBe(404);
    const served = json(gone).served as string[];
    expect(served).toContain(`http://${host(ID.a)}`);
    expect(served).toContain(`http://${host('api', ID.a)}`);
    expect(served.filter((u) => u.includes(ID.b))).toEqual([]);
    expect((await ask(host('api', ID.b), '/')).status).toBe(404);

    ok(await ws.run(['sandbox', 'create', 'c']));
    created.add(ID.c);
    // Not brought up: its name is served at once, and nothing listens on its port yet.
    const fresh = await eventually(
      () => ask(host(ID.c), '/', { headers: { accept: 'application/json' } }),
      (r) => r.status === 503,
    );
    expect(fresh.status, fresh.body).toBe(503);
    expect(json(fresh)).toMatchObject({ error: 'sandbox-not-running', instanceId: ID.c });
    expect(json(fresh).start).toBe(`cd ${folder(ID.c)} && kinfra sandbox up`);
    expect(json(await ask(host(ID.a), '/api/v1/health'))).toMatchObject({ status: 'ok', instance: ID.a });

    // No restart: the router that answered all along is the one `start` began.
    const status = parseJson(ok(await ws.run(['router', 'status', '--json'])).stdout).data;
    expect(status).toMatchObject({ running: true, pid: routerPid, port });
  });
});
