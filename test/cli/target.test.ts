import { createServer, type Server } from 'node:http';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { successDocument } from '../../src/docs/json-output.js';
import { parseJson, appWorkspace, REPO_ROOT, workspace, type Workspace } from '../helpers/cli.js';

/** Seed 001 milestone 4: which instance am I talking to? */
const BASE = 39500;
const CONFIG = `prefix: ktg
compose_files: [docker-compose.yml]
ports:
  api: { env: TG_API_PORT, base: ${BASE} }
`;

let ws: Workspace;
let server: Server | undefined;
afterEach(async () => {
  if (server) await new Promise((r) => server!.close(r));
  server = undefined;
  ws?.cleanup();
});

/** A real backend on `port` that echoes what it got. */
function backend(port: number): Promise<void> {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const status = req.url?.includes('missing') ? 404 : 200;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ method: req.method, url: req.url, body: body ? JSON.parse(body) : null }));
    });
  });
  return new Promise((r) => server!.listen(port, '127.0.0.1', () => r()));
}

describe('kinfra sandbox url', () => {
  it('resolves --url, --port, the .env.sandbox of this folder or a parent, then the default', async () => {
    ws = appWorkspace({ 'kinfra.yaml': CONFIG, 'src/deep/x.txt': 'x' });
    await ws.run(['sandbox', 'create', 'a']);
    const sandbox = join(ws.dev, 'ktg--a');
    const url = async (args: string[], cwd: string) =>
      parseJson((await ws.run([...args, 'sandbox', 'url', '--json'], { cwd })).stdout).data;
    expect(await url([], ws.repo)).toMatchObject({ url: `http://localhost:${BASE}`, source: 'default' });
    expect(await url([], join(sandbox, 'src/deep'))).toMatchObject({
      url: `http://localhost:${BASE + 1}`,
      source: 'env-file',
      envFile: join(sandbox, '.env.sandbox'),
    });
    expect(await url(['-p', '8002'], sandbox)).toMatchObject({ url: 'http://localhost:8002', source: 'flag --port' });
    expect(await url(['--url', 'otherhost:9'], sandbox)).toMatchObject({
      url: 'http://otherhost:9',
      source: 'flag --url',
    });
  });

  it(
    'gives the same port by name through the router: on stderr beside the port URL, alone with --name, ' +
      'in the --json document as its schema says (issue 16)',
    async () => {
      ws = appWorkspace({ 'kinfra.yaml': CONFIG });
      await ws.run(['sandbox', 'create', 'a']);
      const sandbox = join(ws.dev, 'ktg--a');
      const named = 'http://api.ktg--a.localhost:8800';

      // Plain: the first line, and the only one on stdout, stays the port URL (`open $(kinfra sandbox url)`).
      const plain = await ws.run(['sandbox', 'url'], { cwd: join(sandbox, 'src') });
      expect(plain.code, plain.stderr).toBe(0);
      expect(plain.stdout).toBe(`http://localhost:${BASE + 1}\n`);
      expect(plain.stderr).toContain(`by name: ${named} (the router is not running: kinfra router start)`);

      const byName = await ws.run(['sandbox', 'url', '--name'], { cwd: sandbox });
      expect(byName.code, byName.stderr).toBe(0);
      expect(byName.stdout).toBe(`${named}\n`);

      const r = await ws.run(['sandbox', 'url', '--json'], { cwd: sandbox });
      const doc = parseJson(r.stdout);
      const parsed = successDocument('url').safeParse(doc);
      expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
      expect(doc.data).toEqual({
        url: `http://localhost:${BASE + 1}`,
        source: 'env-file',
        envFile: join(sandbox, '.env.sandbox'),
        detail: `${join(sandbox, '.env.sandbox')} (TG_API_PORT)`,
        named: { url: named, instanceId: 'ktg--a', port: 'api', routerPort: 8800, routerRunning: false },
        namedReason: null,
      });
      // The published schema (schema/json-output.schema.json) has the new fields.
      const published = JSON.parse(readFileSync(join(REPO_ROOT, 'schema/json-output.schema.json'), 'utf8'));
      expect(published.definitions.url.properties.data.required).toEqual([
        'url',
        'source',
        'envFile',
        'detail',
        'named',
        'namedReason',
      ]);

      // The port the router would take without one running (KINFRA_ROUTER_PORT), as whoami names it.
      const env = { KINFRA_ROUTER_PORT: '8899' };
      expect((await ws.run(['sandbox', 'url', '--name'], { cwd: sandbox, env })).stdout.trim()).toBe(
        'http://api.ktg--a.localhost:8899',
      );
      // A running router's own port (its state file names a live process).
      const dir = join(ws.home, '.ktrdr', 'router');
      mkdirSync(dir, { recursive: true });
      const state = { version: 1, pid: process.pid, port: 8877, token: 'z'.repeat(43), startedAt: 'x', cli: '/k.js' };
      writeFileSync(join(dir, 'router.json'), JSON.stringify(state), { mode: 0o600 });
      const running = parseJson((await ws.run(['sandbox', 'url', '--json'], { cwd: sandbox, env })).stdout).data;
      expect(running.named).toMatchObject({ url: 'http://api.ktg--a.localhost:8877', routerRunning: true });
      const runningPlain = await ws.run(['sandbox', 'url'], { cwd: sandbox });
      expect(runningPlain.stderr).toContain('by name: http://api.ktg--a.localhost:8877\n');

      // --port naming a sandbox's port gets that sandbox's name; the main checkout's port has none.
      expect((await ws.run(['-p', String(BASE + 1), 'sandbox', 'url', '--name'])).stdout.trim()).toBe(
        'http://api.ktg--a.localhost:8877',
      );
      const main = await ws.run(['sandbox', 'url', '--json']);
      expect(parseJson(main.stdout).data).toMatchObject({
        source: 'default',
        named: null,
        namedReason: `no registered sandbox has port ${BASE}`,
      });
    },
  );

  it('--name fails with exit 5 where the URL has no name, printing nothing on stdout', async () => {
    ws = appWorkspace({ 'kinfra.yaml': CONFIG });
    const r = await ws.run(['sandbox', 'url', '--name']);
    expect(r.code).toBe(5);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`http://localhost:${BASE}, from default`);
    expect(r.stderr).toContain(`has no name through the router: no registered sandbox has port ${BASE}`);
    expect(r.stderr).toContain('leave out --name');
    const json = await ws.run(['--url', 'http://example.com:8001', 'sandbox', 'url', '--name', '--json']);
    expect(json.code).toBe(5);
    expect(parseJson(json.stderr).error).toMatchObject({
      code: 'no-named-url',
      details: { url: 'http://example.com:8001', reason: 'example.com:8001 is not this machine' },
    });
    // A registry that cannot be read is a reason for no name, not a failure of url itself.
    mkdirSync(join(ws.home, '.ktrdr/sandboxes'), { recursive: true });
    writeFileSync(join(ws.home, '.ktrdr/sandboxes/registry.json'), '{"version": 2, "inst');
    const broken = await ws.run(['sandbox', 'url', '--json']);
    expect(broken.code, broken.stderr).toBe(0);
    expect(parseJson(broken.stdout).data.namedReason).toMatch(/^the registry cannot be read/);
  });

  it('reads the file, never the environment', async () => {
    ws = appWorkspace({ 'kinfra.yaml': CONFIG });
    const r = await ws.run(['sandbox', 'url'], { env: { TG_API_PORT: '1234', KTRDR_API_PORT: '1234' } });
    expect(r.stdout.trim()).toBe(`http://localhost:${BASE}`);
  });

  it("takes http://localhost without a port as http's own port 80 (issue 12 item 15 d)", async () => {
    ws = appWorkspace({ 'kinfra.yaml': CONFIG });
    const r = await ws.run(['--url', 'http://localhost', 'sandbox', 'url', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(parseJson(r.stdout).data).toMatchObject({ url: 'http://localhost', source: 'flag --url' });
    const bare = await ws.run(['--url', 'localhost', 'sandbox', 'url']);
    expect(bare.stdout.trim()).toBe(`http://localhost:${BASE}`);
  });

  it(
    'refuses an empty .env.sandbox with exit 1 naming the API port variable, ' +
      'never falls back to the default (item 15 e)',
    async () => {
      ws = appWorkspace({ 'kinfra.yaml': CONFIG });
      await ws.run(['sandbox', 'create', 'a']);
      const sandbox = join(ws.dev, 'ktg--a');
      writeFileSync(join(sandbox, '.env.sandbox'), '');
      const r = await ws.run(['sandbox', 'url', '--json'], { cwd: sandbox });
      expect(r.code).toBe(1);
      const error = parseJson(r.stderr).error;
      expect(error).toMatchObject({
        code: 'invalid-env-file',
        details: { file: join(sandbox, '.env.sandbox'), variable: 'TG_API_PORT' },
      });
      expect(error.message).toContain('has no TG_API_PORT');
      expect(error.hint).toContain('--url or --port');
      expect((await ws.run(['api', 'get', 'health'], { cwd: sandbox })).code).toBe(1);
      // Naming the backend still works there.
      expect((await ws.run(['-p', '8002', 'sandbox', 'url'], { cwd: sandbox })).stdout.trim()).toBe(
        'http://localhost:8002',
      );
    },
  );

  it('rejects a bad --port with exit 1', async () => {
    ws = appWorkspace();
    const r = await ws.run(['-p', 'eighty', 'sandbox', 'url']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--port must be a port number from 1 to 65535');
  });
});

describe('kinfra api', () => {
  it('sends one request to the sandbox backend, adding /api/v1, and prints the response', async () => {
    ws = appWorkspace({ 'kinfra.yaml': CONFIG });
    await ws.run(['sandbox', 'create', 'a']);
    await backend(BASE + 1);
    const r = await ws.run(['api', 'get', 'operations'], { cwd: join(ws.dev, 'ktg--a') });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ method: 'GET', url: '/api/v1/operations', body: null });

    const post = await ws.run([
      '-p',
      String(BASE + 1),
      'api',
      'POST',
      '/api/v1/workers/register',
      '--data',
      '{"id":"w1"}',
    ]);
    expect(JSON.parse(post.stdout)).toEqual({ method: 'POST', url: '/api/v1/workers/register', body: { id: 'w1' } });
  });

  it('keeps the API path a --url already has, and puts the request path below it (issue 12 item 12)', async () => {
    ws = appWorkspace({ 'kinfra.yaml': CONFIG });
    await backend(BASE + 5);
    const get = async (url: string, path: string) => {
      const r = await ws.run(['--url', url, 'api', 'get', path]);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout).url as string;
    };
    const host = `http://127.0.0.1:${BASE + 5}`;
    expect(await get(`${host}/api/v1`, 'x')).toBe('/api/v1/x');
    expect(await get(`${host}/api/v1/`, '/api/v1/x')).toBe('/api/v1/x');
    expect(await get(`${host}/api/v2`, 'operations')).toBe('/api/v2/operations');
    expect(await get(host, 'operations')).toBe('/api/v1/operations');
    const missing = await ws.run(['--url', `${host}/api/v2`, 'api', 'get', 'missing']);
    expect(missing.stderr).toContain(`GET ${host}/api/v2/missing returned 404`);
  });

  it('exits 9 on a non-2xx answer or an unreachable backend, and 1 on bad input', async () => {
    ws = appWorkspace({ 'kinfra.yaml': CONFIG });
    await backend(BASE + 7);
    const missing = await ws.run(['-p', String(BASE + 7), 'api', 'get', 'missing']);
    expect(missing.code).toBe(9);
    expect(missing.stderr).toContain(`GET http://localhost:${BASE + 7}/api/v1/missing returned 404`);
    const down = await ws.run(['-p', String(BASE + 8), 'api', 'get', 'health']);
    expect(down.code).toBe(9);
    expect(down.stderr).toContain('connection refused');
    expect((await ws.run(['api', 'fetch', 'x'])).code).toBe(1);
    const badJson = await ws.run(['api', 'post', 'x', '--data', '{nope']);
    expect(badJson.code).toBe(1);
    expect(badJson.stderr).toContain('--data is not valid JSON');
  });
});

describe('kinfra sandbox exec', () => {
  it("runs a command with the sandbox's variables and API URL in that child only", async () => {
    // The child writes to the process's own terminal: only the spawned binary shows it.
    ws = workspace({ 'kinfra.yaml': CONFIG });
    await ws.run(['sandbox', 'create', 'a']);
    const r = await ws.run(
      [
        'sandbox',
        'exec',
        '--',
        'node',
        '-e',
        'console.log([process.env.TG_API_URL, process.env.TG_API_PORT, process.env.COMPOSE_PROJECT_NAME].join(" "))',
      ],
      { cwd: join(ws.dev, 'ktg--a') },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(`http://localhost:${BASE + 1} ${BASE + 1} ktg--a`);
    const code = await ws.run(['sandbox', 'exec', '--', 'node', '-e', 'process.exit(7)'], {
      cwd: join(ws.dev, 'ktg--a'),
    });
    expect(code.code).toBe(7);
    const outside = await ws.run(['sandbox', 'exec', '--', 'true']);
    expect(outside.code).toBe(5);
  });
});
