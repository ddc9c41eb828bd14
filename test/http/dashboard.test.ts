// The dashboard's HTTP API (issue 17, item 3), with a real router (`kinfra router start`), real sockets and real
// processes, no Docker: sandboxes are created (never brought up). Every request goes to 127.0.0.1 with the Host a
// browser would send (Node's resolver does not resolve *.localhost).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeGateRecord } from '../../src/adapters/gate-records.js';
import { statePaths } from '../../src/adapters/paths.js';
import { httpApiMarkdown } from '../../src/docs/http-api.js';
import { apiCatalogue } from '../../src/http/api-catalogue.js';
import { parseJson, workspace, type Workspace } from '../helpers/cli.js';
import { closedPort } from '../helpers/servers.js';

const CONFIG = 'prefix: ktrdr\nports:\n  api: { env: KD_API_PORT, base: 46600 }\n';

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

function call(
  port: number,
  opts: { method?: string; path: string; host?: string; headers?: Record<string, string>; body?: string },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers = { host: opts.host ?? `kinfra.localhost:${port}`, ...opts.headers };
    const req = request(
      { host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path, agent: false, headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** The first events of a stream, until `enough` holds (or 8 s). */
function events(port: number, token: string, enough: (evs: { event: string; data: any }[]) => boolean) {
  return new Promise<{ event: string; data: any }[]>((resolve, reject) => {
    const got: { event: string; data: any }[] = [];
    const headers = { host: `kinfra.localhost:${port}`, authorization: `Bearer ${token}` };
    const req = request({ host: '127.0.0.1', port, path: '/_kinfra/events', agent: false, headers }, (res) => {
      expect(res.headers['content-type']).toContain('text/event-stream');
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        buf += d;
        let end: number;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) got.push({ event, data: JSON.parse(data) });
        }
        if (enough(got)) (req.destroy(), resolve(got));
      });
    });
    req.on('error', (e) => (got.length ? resolve(got) : reject(e)));
    setTimeout(() => (req.destroy(), resolve(got)), 8000);
    req.end();
  });
}

describe('the dashboard and its HTTP API', () => {
  let ws: Workspace;
  let port: number;
  let token: string;
  let pid: number;
  const auth = () => ({ authorization: `Bearer ${token}` });
  const api = (tool: string, body: unknown, headers: Record<string, string> = {}) =>
    call(port, {
      method: 'POST',
      path: `/_kinfra/api/${tool}`,
      headers: { ...auth(), ...headers },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    ws = workspace({ 'kinfra.yaml': CONFIG });
    for (const n of ['a', 'b']) expect((await ws.run(['sandbox', 'create', n])).code).toBe(0);
    port = await closedPort();
    const r = await ws.run(['dashboard', '--json'], { env: { KINFRA_ROUTER_PORT: String(port) } });
    expect(r.code, r.stderr).toBe(0);
    const d = parseJson(r.stdout).data;
    pid = d.pid;
    expect(d.started).toBe(true);
    expect(d.address).toBe(`http://kinfra.localhost:${port}/`);
    token = new URL(d.url).hash.replace('#token=', '');
    expect(token).toMatch(/^[\w-]{40,}$/);
  });
  afterAll(async () => {
    await ws.run(['router', 'stop'], { env: { KINFRA_ROUTER_PORT: String(port) } });
    if (existsSync(`/proc/${pid}/cmdline`) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('router-serve'))
      process.kill(pid, 'SIGKILL');
    ws.cleanup();
  });

  it('kinfra dashboard again reports the running router and the same token', async () => {
    const r = await ws.run(['dashboard', '--json'], { env: { KINFRA_ROUTER_PORT: String(port) } });
    const d = parseJson(r.stdout).data;
    expect(d).toMatchObject({ started: false, pid, routerPort: port, opened: false });
    expect(d.url).toContain(`#token=${token}`);
  });

  it('serves a tool as --json does: the same document', async () => {
    const a = await api('list', {});
    expect(a.status).toBe(200);
    const doc = JSON.parse(a.body);
    const cli = parseJson((await ws.run(['sandbox', 'list', '--json'])).stdout);
    expect(doc.schemaVersion).toBe(cli.schemaVersion);
    expect(doc.data.instances.map((i: any) => i.instanceId)).toEqual(['ktrdr--a', 'ktrdr--b']);
    expect(doc.data.instances.map((i: any) => i.instanceId)).toEqual(cli.data.instances.map((i: any) => i.instanceId));
    const s = JSON.parse((await api('status', { sandbox: 'a' })).body);
    expect(s.ok).toBe(true);
    expect(s.data.instanceId).toBe('ktrdr--a');
  });

  it('refuses what the CLI refuses, in its words: destroy unasked, unknown input, no such sandbox', async () => {
    const d = await api('destroy', { sandbox: 'b' });
    expect(d.status).toBe(400);
    const e = JSON.parse(d.body).error;
    expect(e.code).toBe('confirmation-required');
    expect(e.details).toMatchObject({ instanceId: 'ktrdr--b', removesFolder: true });
    expect(e.details.wouldDo).toContain('ktrdr--b');
    expect(existsSync(join(ws.dev, 'ktrdr--b'))).toBe(true);
    // Unsaved work: refused before any question, as the CLI refuses it.
    writeFileSync(join(ws.dev, 'ktrdr--b', 'notes.txt'), 'unsaved\n');
    const risky = JSON.parse((await api('destroy', { sandbox: 'b', yes: true })).body);
    expect(risky.error.code).toBe('work-at-risk');
    const cli = await ws.run(['sandbox', 'destroy', 'b', '--yes', '--json']);
    expect(parseJson(cli.stderr).error.message).toBe(risky.error.message);
    expect(JSON.parse((await api('destroy', { sandbox: 'b', force: true })).body).error.code).toBe('invalid-arguments');
    expect(JSON.parse((await api('status', { sandbox: 'zz' })).body).error.category).toBe('not-found');
    expect((await api('status', { sandbox: 'zz' })).status).toBe(404);
    expect(JSON.parse((await api('nope', {})).body).error.code).toBe('no-such-tool');
    const bad = await call(port, { method: 'POST', path: '/_kinfra/api/list', headers: auth(), body: '{not json' });
    expect(JSON.parse(bad.body).error.code).toBe('invalid-json');
    expect((await call(port, { path: '/_kinfra/api/list', headers: auth() })).status).toBe(405);
  });

  it('wants the token for the API, events and logs, and refuses another site even with it', async () => {
    for (const path of ['/_kinfra/api', '/_kinfra/events', '/_kinfra/logs?sandbox=a&service=backend']) {
      const none = await call(port, { path });
      expect(none.status, path).toBe(401);
      expect(JSON.parse(none.body).error.code).toBe('token-required');
      const wrong = await call(port, { path, headers: { authorization: `Bearer ${'x'.repeat(token.length)}` } });
      expect(wrong.status).toBe(401);
    }
    const evil = await api('down', { sandbox: 'a' }, { origin: 'http://evil.example' });
    expect(evil.status).toBe(403);
    expect(JSON.parse(evil.body).error.code).toBe('cross-site');
    const site = await api('list', {}, { 'sec-fetch-site': 'cross-site' });
    expect(site.status).toBe(403);
    // A sandbox's page is another site too.
    const sandbox = await api('list', {}, { origin: `http://ktrdr--a.localhost:${port}` });
    expect(sandbox.status).toBe(403);
    const own = await api('list', {}, { origin: `http://kinfra.localhost:${port}`, 'sec-fetch-site': 'same-origin' });
    expect(own.status).toBe(200);
    // Under the router's own names the API answers (scripts); the page is the dashboard name's only.
    const local = await call(port, { path: '/_kinfra/api', host: `localhost:${port}`, headers: auth() });
    expect(local.status).toBe(200);
    // A Host it does not serve never reaches the API (DNS rebinding).
    const rebound = await call(port, { path: '/_kinfra/api', host: `evil.example:${port}`, headers: auth() });
    expect(rebound.status).toBe(421);
  });

  it('serves the page without the token, with a policy that keeps it to its own origin', async () => {
    const page = await call(port, { path: '/' });
    if (page.status === 200) {
      expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(page.headers['content-type']).toContain('text/html');
      expect(page.body).not.toContain(token);
    } else {
      // This build has no page yet (src/dashboard/): a clear 404, never another file.
      expect(JSON.parse(page.body).error.code).toBe('no-such-file');
    }
    expect((await call(port, { path: '/_kinfra/dashboard/../../etc/passwd' })).status).toBe(404);
  });

  it('a connection handed to the dashboard carries its requests only: a sandbox’s is misdirected', async () => {
    const text = await new Promise<string>((resolve) => {
      const s = connect(port, '127.0.0.1', () =>
        s.write(
          `GET /_kinfra/api HTTP/1.1\r\nHost: kinfra.localhost:${port}\r\nAuthorization: Bearer ${token}\r\n\r\n` +
            `GET / HTTP/1.1\r\nHost: ktrdr--a.localhost:${port}\r\n\r\n`,
        ),
      );
      let t = '';
      s.on('data', (d: Buffer) => (t += d.toString()));
      s.on('end', () => resolve(t));
      setTimeout(() => (s.destroy(), resolve(t)), 5000);
    });
    expect(text.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 421']);
  });

  it('streams the list at once and when the registry changes, and each gate record as it is written', async () => {
    const gatesDir = statePaths(ws.home).gatesDir;
    const check = {
      name: 'Backend',
      status: 'waiting' as const,
      message: 'Backend: waiting',
      details: [],
      attempts: 1,
    };
    const pending = events(port, token, (evs) => evs.some((e) => e.event === 'gate' && !e.data.running));
    setTimeout(() => {
      const gate = { passed: false, interrupted: false, durationMs: 10, firstFailure: null };
      const c = { ...check, elapsedMs: 5, tried: 'GET /health', got: 'connection refused' };
      writeGateRecord(gatesDir, {
        instanceId: 'ktrdr--a',
        running: true,
        at: new Date().toISOString(),
        gate: { ...gate, checks: [c] },
      });
      setTimeout(() => {
        const passed = { ...c, status: 'passed' as const, message: 'Backend healthy', got: 'returned 200' };
        const done = { ...gate, passed: true, checks: [passed] };
        writeGateRecord(gatesDir, { instanceId: 'ktrdr--a', running: false, at: new Date().toISOString(), gate: done });
        // Not a sandbox of this registry: never sent.
        writeGateRecord(gatesDir, { instanceId: 'other--x', running: false, at: new Date().toISOString(), gate: done });
      }, 400);
    }, 400);
    const evs = await pending;
    expect(evs[0]!.event).toBe('sandboxes');
    expect(evs[0]!.data.instances).toHaveLength(2);
    const gates = evs.filter((e) => e.event === 'gate');
    expect(gates.map((g) => [g.data.instanceId, g.data.running, g.data.gate.checks[0].status])).toEqual([
      ['ktrdr--a', true, 'waiting'],
      ['ktrdr--a', false, 'passed'],
    ]);
    const changed = events(port, token, (e) => e.filter((x) => x.event === 'sandboxes').length >= 2);
    await new Promise((r) => setTimeout(r, 300));
    expect((await ws.run(['sandbox', 'create', 'c'])).code).toBe(0);
    const lists = (await changed).filter((e) => e.event === 'sandboxes');
    expect(lists.at(-1)!.data.instances.map((i: any) => i.instanceId)).toContain('ktrdr--c');
    // The gate of a sandbox with a recorded one comes at once to a new stream.
    const fresh = await events(port, token, (e) => e.some((x) => x.event === 'gate'));
    expect(fresh.find((e) => e.event === 'gate')!.data.gate.passed).toBe(true);
  });

  it('destroys through the API once asked, and its gate record goes with it', async () => {
    const gatesDir = statePaths(ws.home).gatesDir;
    const gate = { passed: true, interrupted: false, checks: [], durationMs: 1, firstFailure: null };
    writeGateRecord(gatesDir, { instanceId: 'ktrdr--c', running: false, at: new Date().toISOString(), gate });
    const d = await api('destroy', { name: 'c', yes: true });
    expect(d.status, d.body).toBe(200);
    expect(JSON.parse(d.body).data).toMatchObject({ instanceId: 'ktrdr--c', cancelled: false });
    expect(existsSync(join(ws.dev, 'ktrdr--c'))).toBe(false);
    expect(existsSync(join(gatesDir, 'ktrdr--c.json'))).toBe(false);
  });

  it('refuses a body over 1 MB and a path it does not serve', async () => {
    const big = await api('list', { pad: 'x'.repeat(1024 * 1024 + 1) });
    expect(big.status).toBe(400);
    expect(JSON.parse(big.body).error.code).toBe('body-too-large');
    const none = await call(port, { path: '/_kinfra/api-docs', headers: auth() });
    expect(none.status).toBe(404);
    const odd = await call(port, { path: '/_kinfra/nothing', headers: auth() });
    expect(JSON.parse(odd.body).error.code).toBe('no-such-endpoint');
  });

  it('lists the API as docs/http-api.md documents it (drift)', async () => {
    const listed = JSON.parse((await call(port, { path: '/_kinfra/api', headers: auth() })).body).data;
    expect(listed).toEqual(JSON.parse(JSON.stringify(apiCatalogue())));
    expect(readFileSync(join(__dirname, '../../docs/http-api.md'), 'utf8')).toBe(httpApiMarkdown());
    expect(listed.endpoints.map((e: any) => e.name)).toEqual(expect.arrayContaining(['list', 'up', 'destroy']));
  });
});
