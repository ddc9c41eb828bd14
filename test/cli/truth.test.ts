import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseJson, appWorkspace, type Workspace } from '../helpers/cli.js';
import { removeLeftovers } from '../helpers/docker.js';

/**
 * What status, up and the gate say must be true of the stack that runs (issue 12, "the truth about what runs").
 * Real but idle containers publish the sandbox's ports on 127.0.0.2; stand-in servers answer on 127.0.0.1.
 */
const BASE = 39400;
const CONFIG = `prefix: ktr
compose_files: [docker-compose.yml]
ports:
  api: { env: TR_API_PORT, base: ${BASE}, label: API, url: "http://localhost:{port}" }
  ui: { env: TR_UI_PORT, base: ${BASE + 50}, label: UI, url: "http://localhost:{port}" }
  grafana: { env: TR_GRAFANA_PORT, base: ${BASE + 100}, label: Grafana, url: "http://localhost:{port}" }
  jaeger: { env: TR_JAEGER_PORT, base: ${BASE + 150}, label: Jaeger, url: "http://localhost:{port}" }
workers: { env_prefix: TR_WORKER_PORT_, count: 2, base: ${BASE + 200}, step: 10, main: ${BASE + 203} }
gate:
  checks:
    - { name: Backend, kind: http, port: api, path: /api/v1/health, status: 200 }
    - { name: Workers, kind: workers, port: api, path: /api/v1/workers, after: [Backend] }
    - { name: UI, kind: http, port: ui, path: /, status: 200 }
    - { name: Observability, kind: http, port: jaeger, path: /, status: 200 }
`;
const idle = 'image: debian:bookworm-slim, pull_policy: never, init: true';
const COMPOSE =
  `services:
  backend: { ${idle}, command: [sh, -c, "echo backend says hello; exec sleep infinity"], ports: ` +
  `["127.0.0.2:\${TR_API_PORT:-${BASE}}:8000"] }
  backtest-worker-1: { ${idle}, command: [sleep, infinity], ports: ["127.0.0.2:\${TR_WORKER_PORT_1:-1}:5000"] }
  training-worker-1: { ${idle}, command: [sleep, infinity], ports: ["127.0.0.2:\${TR_WORKER_PORT_2:-2}:5000"] }
  ui: { ${idle}, command: [sleep, infinity], ports: ["127.0.0.2:\${TR_UI_PORT:-${BASE + 50}}:80"] }
`;

let ws: Workspace;
let servers: Server[] = [];
let started = false;
// What a killed earlier run of this file left on the engine (its prefix is this file's alone).
beforeAll(() => removeLeftovers('ktr--'));
afterEach(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  servers = [];
  if (ws && started) await ws.run(['sandbox', 'destroy', 't', '--force']);
  started = false;
  ws?.cleanup();
});

function serve(port: number, handler: (path: string) => [number, unknown]): Promise<void> {
  const s = createServer((req, res) => {
    const [status, body] = handler(req.url ?? '/');
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  servers.push(s);
  return new Promise((r) => s.listen(port, '127.0.0.1', () => r()));
}

async function sandbox(opts: { up?: boolean } = {}): Promise<string> {
  ws = appWorkspace({ 'kinfra.yaml': CONFIG, 'docker-compose.yml': COMPOSE });
  const r = await ws.run(['sandbox', 'create', 't', '-s', '1']);
  expect(r.code, r.stderr).toBe(0);
  const dir = join(ws.dev, 'ktr--t');
  if (opts.up !== false) {
    started = true;
    const up = await ws.run(['sandbox', 'up', '--no-wait'], { cwd: dir });
    expect(up.code, up.stderr).toBe(0);
  }
  return dir;
}

const healthy =
  (workers: unknown) =>
  (p: string): [number, unknown] =>
    p === '/api/v1/health' ? [200, {}] : [200, workers];

describe('status and the gate tell the truth about what runs', () => {
  it('status and the gate agree on registered workers, even when the backend names them its own way', async () => {
    const dir = await sandbox();
    await serve(BASE + 1, healthy({ workers: [{ id: 'w-7f3a' }, { id: 'w-91bc' }] }));
    await serve(BASE + 51, () => [200, {}]);
    const gate = await ws.run(['sandbox', 'gate', '--timeout', '20', '--json'], { cwd: dir });
    expect(gate.code, gate.stderr).toBe(0);
    const status = parseJson((await ws.run(['sandbox', 'status', '--json'], { cwd: dir })).stdout).data;
    expect(status.workers.map((w: { service: string; registered: boolean }) => [w.service, w.registered])).toEqual([
      ['backtest-worker-1', true],
      ['training-worker-1', true],
    ]);

    // Named by service: only the one the backend lists is registered, in the gate and in status alike.
    servers.shift()!.close();
    await serve(BASE + 1, healthy([{ id: 'backtest-worker-1', url: 'http://backtest-worker-1:5000' }]));
    const g2 = parseJson((await ws.run(['sandbox', 'gate', '--timeout', '2', '--json'], { cwd: dir })).stderr);
    expect(g2.error.details.gate.checks.find((c: { name: string }) => c.name === 'Workers').details[0]).toBe(
      'Expected 2 workers, found 1',
    );
    const s2 = parseJson((await ws.run(['sandbox', 'status', '--json'], { cwd: dir })).stdout).data;
    expect(s2.workers.map((w: { registered: boolean }) => w.registered)).toEqual([true, false]);
  });

  it(
    'shows only the services the stack has, says which configured ones it lacks, ' + 'and leaves their checks out',
    async () => {
      const dir = await sandbox();
      await serve(BASE + 1, healthy({ workers: [{ id: 'backtest-worker-1' }, { id: 'training-worker-1' }] }));
      await serve(BASE + 51, () => [200, {}]);
      const status = parseJson((await ws.run(['sandbox', 'status', '--json'], { cwd: dir })).stdout).data;
      expect(status.services.map((s: { label: string }) => s.label)).toEqual(['API', 'UI']);
      expect(status.absent).toEqual(['Grafana', 'Jaeger']);
      const human = await ws.run(['sandbox', 'status'], { cwd: dir });
      expect(human.stdout).not.toContain(`Grafana: http://localhost:${BASE + 101}`);
      expect(human.stdout).toContain('configured but not in this stack: Grafana, Jaeger');

      // A stack without Jaeger can pass: the Observability check is left out, and the gate says why.
      const gate = await ws.run(['sandbox', 'gate', '--timeout', '20'], { cwd: dir });
      expect(gate.code, gate.stdout + gate.stderr).toBe(0);
      expect(gate.stdout).toContain(
        `Observability left out: no service of the stack publishes its port jaeger (${BASE + 151})`,
      );
      expect(gate.stdout).not.toContain('Jaeger: http');
      const up = parseJson((await ws.run(['sandbox', 'up', '--json'], { cwd: dir })).stdout).data;
      expect(up.gate.omitted).toEqual([
        { name: 'Observability', reason: `no service of the stack publishes its port jaeger (${BASE + 151})` },
      ]);
      expect(up.absent).toEqual(['Grafana', 'Jaeger']);
      expect(up.urls.map((u: { label: string }) => u.label)).toEqual(['API', 'UI']);
    },
  );

  it('fails at once when the backend has exited, and shows its last log lines', async () => {
    const dir = await sandbox();
    await serve(BASE + 51, () => [200, {}]);
    const id = spawnSync(
      'docker',
      [
        'ps',
        '-q',
        '--filter',
        'label=com.docker.compose.project=ktr--t',
        '--filter',
        'label=com.docker.compose.service=backend',
      ],
      { encoding: 'utf8' },
    ).stdout.trim();
    expect(id).not.toBe('');
    spawnSync('docker', ['stop', '-t', '1', id]);
    // A timeout far beyond the test's own: only failing at once lets it finish.
    const r = await ws.run(['sandbox', 'gate', '--timeout', '3600', '--json'], { cwd: dir });
    expect(r.code).toBe(2);
    const backend = parseJson(r.stderr).error.details.gate.checks.find((c: { name: string }) => c.name === 'Backend');
    expect(backend.status).toBe('failed');
    expect(backend.details.join('\n')).toMatch(/the container of service backend has exited/);
    expect(backend.details).toContain('last log lines of backend:');
    expect(backend.details).toContain('  backend-1  | backend says hello');
  }, 120_000);

  it('fails at once when nothing runs at all', async () => {
    const dir = await sandbox({ up: false });
    const r = await ws.run(['sandbox', 'gate', '--timeout', '3600', '--json'], { cwd: dir });
    expect(r.code).toBe(2);
    const checks = parseJson(r.stderr).error.details.gate.checks;
    expect(checks.find((c: { name: string }) => c.name === 'Backend').details.join('\n')).toContain(
      'no container of service backend exists',
    );
  }, 120_000);

  it('prints the checks in the configured order without a terminal, whatever order they finish in', async () => {
    const dir = await sandbox();
    let health = 0;
    // The backend turns healthy only after a few requests; the UI is ready at once.
    await serve(BASE + 1, (p) =>
      p === '/api/v1/health'
        ? ++health <= 4
          ? [503, {}]
          : [200, {}]
        : [200, { workers: [{ id: 'backtest-worker-1' }, { id: 'training-worker-1' }] }],
    );
    await serve(BASE + 51, () => [200, {}]);
    const r = await ws.run(['sandbox', 'gate', '--timeout', '60'], { cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const order = ['✓ Backend', '✓ Workers', '✓ UI'].map((l) => r.stdout.indexOf(l));
    expect(
      order.every((i) => i >= 0),
      r.stdout,
    ).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('doctor compares every value of .env.sandbox with the registry, ports included', async () => {
    const dir = await sandbox({ up: false });
    const file = join(dir, '.env.sandbox');
    writeFileSync(file, readFileSync(file, 'utf8').replace(`TR_UI_PORT=${BASE + 51}`, `TR_UI_PORT=${BASE + 59}`));
    const doc = parseJson((await ws.run(['sandbox', 'doctor', '--json'])).stdout).data;
    const finding = doc.findings.find(
      (f: { check: string; status: string }) => f.check === 'env-files' && f.status === 'problem',
    );
    expect(finding?.message).toContain(`TR_UI_PORT is "${BASE + 59}", the registry's ui port ${BASE + 51}`);
  });
});
