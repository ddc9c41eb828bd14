import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseJson, appWorkspace, workspace, type Workspace } from '../helpers/cli.js';
import { removeLeftovers } from '../helpers/docker.js';
import { closedPort } from '../helpers/servers.js';

/**
 * `kinfra sandbox gate` against real local HTTP servers standing in for a
 * sandbox's services (the Docker E2E suite covers the real stack). The stack's
 * containers are real but idle: they publish the sandbox's ports on 127.0.0.2,
 * so the gate sees them running (it fails at once for a service whose container
 * is gone) while the stand-ins answer on 127.0.0.1.
 */
const BASE = 39300;
const CONFIG = `prefix: kgt
compose_files: [docker-compose.yml]
ports:
  api: { env: GT_API_PORT, base: ${BASE}, label: API, url: "http://localhost:{port}" }
  ui: { env: GT_UI_PORT, base: ${BASE + 50} }
gate:
  checks:
    - { name: Backend, kind: http, port: api, path: /api/v1/health, status: 200 }
    - { name: Workers, kind: workers, port: api, path: /api/v1/workers, after: [Backend] }
    - { name: UI, kind: http, port: ui, path: /, status: [200, 302] }
`;
const idle = 'image: debian:bookworm-slim, pull_policy: never, init: true, command: [sleep, infinity]';
const COMPOSE = `services:
  backend: { ${idle}, ports: ["127.0.0.2:\${GT_API_PORT:-${BASE}}:8000"] }
  backtest-worker-1: { ${idle} }
  training-worker-1: { ${idle} }
  ui: { ${idle}, ports: ["127.0.0.2:\${GT_UI_PORT:-${BASE + 50}}:80"] }
`;

let ws: Workspace;
let servers: Server[] = [];
// What a killed earlier run of this file left on the engine (its prefix is this file's alone).
beforeAll(() => removeLeftovers('kgt--'));
afterEach(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  servers = [];
  if (ws && started) await ws.run(['sandbox', 'destroy', 'g', '--force']);
  started = false;
  ws?.cleanup();
});
let started = false;

function serve(port: number, handler: (path: string) => [number, unknown]): Promise<void> {
  const s = createServer((req, res) => {
    const [status, body] = handler(req.url ?? '/');
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  servers.push(s);
  return new Promise((r) => s.listen(port, '127.0.0.1', () => r()));
}

async function sandbox(): Promise<string> {
  ws = appWorkspace({ 'kinfra.yaml': CONFIG, 'docker-compose.yml': COMPOSE });
  const r = await ws.run(['sandbox', 'create', 'g', '-s', '1']);
  expect(r.code, r.stderr).toBe(0);
  const dir = join(ws.dev, 'kgt--g');
  const up = await ws.run(['sandbox', 'up', '--no-wait'], { cwd: dir });
  started = true;
  expect(up.code, up.stderr).toBe(0);
  return dir;
}

describe('kinfra sandbox gate', () => {
  it('passes when every check passes, counting the workers the sandbox runs (2 worker services)', async () => {
    const dir = await sandbox();
    await serve(BASE + 1, (p) =>
      p === '/api/v1/health' ? [200, { status: 'ok' }] : [200, { workers: [{ id: 'a' }, { id: 'b' }] }],
    );
    await serve(BASE + 51, () => [302, {}]);
    const r = await ws.run(['sandbox', 'gate', '--timeout', '10'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('✓ Backend healthy');
    expect(r.stdout).toContain('✓ Workers registered (2)');
    expect(r.stdout).toContain('✓ UI ready');
    expect(r.stdout).toContain('Startability Gate: PASSED');
    expect(r.stdout).toContain('API: http://localhost:39301');
  });

  it('fails with exit 2 and says what it tried and what came back; dependants are skipped', async () => {
    const dir = await sandbox();
    await serve(BASE + 51, () => [500, {}]);
    const r = await ws.run(['sandbox', 'gate', '--timeout', '2'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('✗ Backend health check failed');
    expect(r.stdout).toContain('→ GET http://localhost:39301/api/v1/health returned connection refused');
    expect(r.stdout).toContain('○ Workers skipped (Backend not ready)');
    expect(r.stdout).toContain('✗ UI not ready');
    expect(r.stdout).toContain('→ GET http://localhost:39351/ returned 500');
    expect(r.stdout).toContain('Startability Gate: FAILED');
    expect(r.stderr).toContain('Hint: Check logs with: kinfra sandbox logs');
  });

  it('reports too few workers as "Expected N workers, found M", and --json carries the whole gate', async () => {
    const dir = await sandbox();
    await serve(BASE + 1, (p) => (p === '/api/v1/health' ? [200, {}] : [200, [{ id: 'only-one' }]]));
    await serve(BASE + 51, () => [200, {}]);
    const r = await ws.run(['sandbox', 'gate', '--timeout', '2', '--json'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const doc = parseJson(r.stderr);
    expect(doc.error.code).toBe('gate-failed');
    const workers = doc.error.details.gate.checks.find((c: { name: string }) => c.name === 'Workers');
    expect(workers).toMatchObject({
      status: 'failed',
      message: 'Workers not registered',
      details: ['Expected 2 workers, found 1'],
    });
  });

  it('passes within a moment once a late service turns healthy', async () => {
    const dir = await sandbox();
    // Late by requests, not by time: the backend answers 503 to its first three health checks.
    let healthChecks = 0;
    await serve(BASE + 1, (p) =>
      p === '/api/v1/health' ? (++healthChecks <= 3 ? [503, {}] : [200, {}]) : [200, { workers: [1, 2] }],
    );
    await serve(BASE + 51, () => [200, {}]);
    const r = await ws.run(['sandbox', 'gate', '--timeout', '60', '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const backend = parseJson(r.stdout).data.gate.checks[0];
    expect(backend.attempts).toBe(4);
  });

  it('says clearly when run outside a sandbox', async () => {
    ws = appWorkspace();
    for (const cmd of ['gate', 'up', 'status', 'down']) {
      const r = await ws.run(['sandbox', cmd]);
      expect(r.code, cmd).toBe(5);
      expect(r.stderr).toContain('is not inside a sandbox');
    }
  });

  it('up starts the router when the layout asks (router.start_on_up), and says where it runs', async () => {
    ws = workspace({ 'kinfra.yaml': `${CONFIG}router: { start_on_up: true }\n`, 'docker-compose.yml': COMPOSE });
    expect((await ws.run(['sandbox', 'create', 'g', '-s', '1'])).code).toBe(0);
    const port = await closedPort();
    const env = { KINFRA_ROUTER_PORT: String(port) };
    const up = await ws.run(['sandbox', 'up', '--no-wait', '--json'], { cwd: join(ws.dev, 'kgt--g'), env });
    started = true;
    try {
      expect(up.code, up.stderr).toBe(0);
      expect(parseJson(up.stdout).data.router).toBe(`http://localhost:${port}`);
      expect(parseJson((await ws.run(['router', 'status', '--json'])).stdout).data).toMatchObject({
        running: true,
        port,
      });
    } finally {
      await ws.run(['router', 'stop']);
    }
  });
});
