// Issue 3 on the real engine: `up` overhead against plain `docker compose up -d` plus
// the same readiness wait, and `list` with 1 and with 10 running sandboxes.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, kinfra, median, ROOT, scratch, timeInterleaved } from './lib.mjs';

const E2E_LIKE = (prefix, base) => `prefix: ${prefix}
compose_files: [docker-compose.yml]
ports:
  api: { env: KTRDR_API_PORT, base: ${base + 8000}, url: "http://localhost:{port}" }
  db: { env: KTRDR_DB_PORT, base: ${base + 5432} }
  grafana: { env: KTRDR_GRAFANA_PORT, base: ${base + 3000} }
  jaeger_ui: { env: KTRDR_JAEGER_UI_PORT, base: ${base + 16686} }
  jaeger_otlp_grpc: { env: KTRDR_JAEGER_OTLP_GRPC_PORT, base: ${base + 4317}, step: 10 }
  jaeger_otlp_http: { env: KTRDR_JAEGER_OTLP_HTTP_PORT, base: ${base + 4318}, step: 10 }
  prometheus: { env: KTRDR_PROMETHEUS_PORT, base: ${base + 9090} }
workers: { env_prefix: KTRDR_WORKER_PORT_, count: 4, base: ${base + 5000}, step: 10, main: ${base + 5003} }
gate:
  checks:
    - { name: Database, kind: postgres, port: db }
    - { name: Backend, kind: http, port: api, path: /api/v1/health, status: 200 }
    - { name: Workers, kind: workers, port: api, path: /api/v1/workers, after: [Backend] }
    - { name: Observability, kind: http, port: jaeger_ui, path: /, status: [200, 302] }
`;

const sh = (cmd, args, opts = {}) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
};
const ms = (f) => {
  const t = performance.now();
  f();
  return performance.now() - t;
};

/** The readiness wait a script would do after plain compose: the same probes as the gate, in a loop. */
const WAIT_SCRIPT = `
const { probeHttp, probePostgres } = await import(${JSON.stringify(join(ROOT, 'dist/index.js'))});
const [api, db, jaeger] = process.argv.slice(1).map(Number);
for (;;) {
  const [d, h, w, j] = await Promise.all([probePostgres(db), probeHttp(api, '/api/v1/health'), probeHttp(api, '/api/v1/workers'), probeHttp(jaeger, '/')]);
  if (d.ok && h.ok && w.ok && (w.json?.workers?.length ?? 0) >= 4 && j.ok) break;
  await new Promise((r) => setTimeout(r, 200));
}`;

function upOverhead(rounds) {
  const ws = scratch({ 'kinfra.yaml': E2E_LIKE('kbup', 30000) });
  cpSync(join(ROOT, 'examples/stack'), ws.repo, { recursive: true });
  for (const a of [
    ['add', '-A'],
    ['commit', '-qm', 'stack'],
  ])
    sh('git', a, { cwd: ws.repo, env: ws.env });
  sh('docker', ['compose', '-p', 'kinfra-build', '-f', join(ROOT, 'examples/stack/docker-compose.yml'), 'build']);
  kinfra(ws, ['sandbox', 'create', 'up']);
  const dir = join(ws.root, 'dev', 'kbup--up');
  const envFile = join(dir, '.env.sandbox');
  const plainUp = [
    'compose',
    '-p',
    'kbup-plain',
    '-f',
    join(dir, 'docker-compose.yml'),
    '--project-directory',
    dir,
    '--env-file',
    envFile,
  ];
  const withKinfra = [];
  const plain = [];
  try {
    for (let i = 0; i < rounds; i++) {
      withKinfra.push(
        ms(() => sh(process.execPath, [CLI, 'sandbox', 'up', '--timeout', '300'], { cwd: dir, env: ws.env })),
      );
      sh(process.execPath, [CLI, 'sandbox', 'down', '-v'], { cwd: dir, env: ws.env });
      plain.push(
        ms(() => {
          sh('docker', [...plainUp, 'up', '-d']);
          sh(process.execPath, ['--input-type=module', '-e', WAIT_SCRIPT, '38001', '35433', '46687']);
        }),
      );
      sh('docker', [...plainUp, 'down', '-v']);
    }
  } finally {
    spawnSync('docker', [...plainUp, 'down', '-v']);
    spawnSync(process.execPath, [CLI, 'sandbox', 'destroy', '--force'], { cwd: dir, env: ws.env });
    ws.cleanup();
  }
  const k = median(withKinfra);
  const p = median(plain);
  return {
    name: '`up` (compose up -d + gate) vs plain compose up -d + same wait',
    measured: `${(k / 1000).toFixed(1)} s`,
    baseline: `${(p / 1000).toFixed(1)} s`,
    ratio: `${(k / p).toFixed(2)}x`,
    target: '< 1.2x',
    met: k / p < 1.2,
  };
}

const TINY_STACK = `services:
  app:
    image: debian:bookworm-slim
    command: ["sleep", "infinity"]
    init: true
    ports: ["127.0.0.1:\${TINY_PORT:-7000}:7000"]
`;

/**
 * The same 10 sandboxes run throughout; one HOME's registry lists all 10, a
 * second lists only 1 of them. Interleaving the two isolates what each extra
 * instance costs `list` from what the engine costs.
 */
function listRunning(rounds) {
  const ws = scratch({
    'kinfra.yaml':
      'prefix: kblist\ncompose_files: [docker-compose.yml]\nports:\n  api: { env: TINY_PORT, base: 47000 }\n',
  });
  writeFileSync(join(ws.repo, 'docker-compose.yml'), TINY_STACK);
  for (const a of [
    ['add', '-A'],
    ['commit', '-qm', 'tiny'],
  ])
    sh('git', a, { cwd: ws.repo, env: ws.env });
  const dirs = [];
  const oneHome = join(ws.root, 'home-1');
  try {
    for (let i = 1; i <= 10; i++) {
      kinfra(ws, ['sandbox', 'create', `n${i}`]);
      dirs.push(join(ws.root, 'dev', `kblist--n${i}`));
    }
    for (const d of dirs) sh(process.execPath, [CLI, 'sandbox', 'up', '--no-wait'], { cwd: d, env: ws.env });
    const registry = JSON.parse(readFileSync(join(ws.home, '.ktrdr/sandboxes/registry.json'), 'utf8'));
    registry.instances = { 'kblist--n1': registry.instances['kblist--n1'] };
    mkdirSync(join(oneHome, '.ktrdr/sandboxes'), { recursive: true });
    writeFileSync(join(oneHome, '.ktrdr/sandboxes/registry.json'), JSON.stringify(registry, null, 2));
    const list = [process.execPath, CLI, 'sandbox', 'list'];
    const [one, ten] = timeInterleaved(
      [
        { name: '1', argv: list, opts: { cwd: ws.repo, env: { ...ws.env, HOME: oneHome } } },
        { name: '10', argv: list, opts: { cwd: ws.repo, env: ws.env } },
      ],
      rounds,
    );
    return {
      name: '`list` with 10 running sandboxes vs 1 running',
      measured: `${ten.ms.toFixed(0)} ms`,
      baseline: `${one.ms.toFixed(0)} ms (1 running)`,
      ratio: `${(ten.ms / one.ms).toFixed(2)}x`,
      target: '~1x (< 1.3x)',
      met: ten.ms / one.ms < 1.3,
    };
  } finally {
    for (const d of dirs) spawnSync(process.execPath, [CLI, 'sandbox', 'destroy', '--force'], { cwd: d, env: ws.env });
    ws.cleanup();
  }
}

export default function docker({ rounds }) {
  return [upOverhead(Math.max(2, Math.min(3, rounds))), listRunning(Math.min(rounds, 15))];
}
