// Issue 18 on the real engine, with the example stack's Postgres and a 1 GB database: clone, snapshot and restore
// against `pg_dump -Fc | pg_restore` of the same database in the same run (each at most 1/3 of it); the source's
// downtime during a clone (a query loop against it: failures and the longest gap between answers; target 0, or a
// pause under 1 s); and a claim of a seeded pool slot until its database answers with the data (under 2 s).
// Each figure is one run (a 1 GB copy takes seconds; repeating it would add minutes, not precision).
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, ROOT, scratch } from './lib.mjs';

const PREFIX = 'kbdb';
const BASE = 41000;
const LAYOUT = `prefix: ${PREFIX}
compose_files: [docker-compose.yml]
ports:
  api: { env: KTRDR_API_PORT, base: ${BASE + 8000} }
  db: { env: KTRDR_DB_PORT, base: ${BASE + 5432} }
  grafana: { env: KTRDR_GRAFANA_PORT, base: ${BASE + 3000} }
  jaeger_ui: { env: KTRDR_JAEGER_UI_PORT, base: ${BASE + 16686} }
  jaeger_otlp_grpc: { env: KTRDR_JAEGER_OTLP_GRPC_PORT, base: ${BASE + 4317}, step: 10 }
  jaeger_otlp_http: { env: KTRDR_JAEGER_OTLP_HTTP_PORT, base: ${BASE + 4318}, step: 10 }
  prometheus: { env: KTRDR_PROMETHEUS_PORT, base: ${BASE + 9090} }
workers: { env_prefix: KTRDR_WORKER_PORT_, count: 4, base: ${BASE + 5000}, step: 10, main: ${BASE + 5003} }
profiles:
  light: { workers: { backtest: 1, training: 1 } }
pool:
  template: pool-template.yml
  slots: { "6": light }
`;
const MAIN_PORT = BASE + 5490;
const dbPort = (slot) => BASE + 5432 + slot;
const PGENV = { ...process.env, PGPASSWORD: 'localdev', PGCONNECT_TIMEOUT: '3' };
const ROWS = Number(process.env.KINFRA_BENCH_DB_ROWS ?? 7_000_000); // about 1 GB with its indexes

const sh = (cmd, args, opts = {}) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 26, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
};
const psql = (port, sql, db = 'ktrdr') =>
  sh('psql', ['-X', '-A', '-t', '-q', '-h', '127.0.0.1', '-p', String(port), '-U', 'ktrdr', '-d', db, '-c', sql], {
    env: PGENV,
  }).trim();
const timed = (f) => {
  const t = performance.now();
  f();
  return (performance.now() - t) / 1000;
};

async function waitFor(port, sql = 'SELECT 1') {
  for (let k = 0; k < 600; k++) {
    const r = spawnSync(
      'psql',
      ['-X', '-A', '-t', '-h', '127.0.0.1', '-p', String(port), '-U', 'ktrdr', '-d', 'ktrdr', '-c', sql],
      {
        env: PGENV,
        encoding: 'utf8',
      },
    );
    if (r.status === 0 && r.stdout.trim() !== '') return r.stdout.trim();
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error(`the database on ${port} never answered`);
}

/** Query the source every 20 ms: failures, and the longest time between two answers. */
function queryLoop(port) {
  let stop = false;
  let last = performance.now();
  const stats = { ok: 0, failed: 0, maxGapMs: 0 };
  const done = (async () => {
    while (!stop) {
      const code = await new Promise((resolve) => {
        const c = spawn(
          'psql',
          ['-X', '-A', '-t', '-h', '127.0.0.1', '-p', String(port), '-U', 'ktrdr', '-d', 'ktrdr', '-c', 'SELECT 1'],
          {
            env: PGENV,
            stdio: 'ignore',
          },
        );
        c.on('close', (x) => resolve(x));
      });
      const now = performance.now();
      if (code === 0) {
        stats.ok++;
        stats.maxGapMs = Math.max(stats.maxGapMs, now - last);
        last = now;
      } else stats.failed++;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return async () => {
    stop = true;
    await done;
    return stats;
  };
}

const kinfraAsync = (ws, args, cwd) =>
  new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [CLI, ...args], { cwd, env: ws.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    c.stdout.resume();
    c.stderr.on('data', (d) => (err += d));
    c.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`kinfra ${args.join(' ')}: ${err}`))));
  });

export default async function database() {
  const ws = scratch({ 'kinfra.yaml': LAYOUT });
  cpSync(join(ROOT, 'examples/stack'), ws.repo, { recursive: true });
  writeFileSync(join(ws.repo, 'kinfra.yaml'), LAYOUT);
  sh('git', ['add', '-A'], { cwd: ws.repo, env: ws.env });
  sh('git', ['commit', '-qm', 'example'], { cwd: ws.repo, env: ws.env });
  const dir = (n) => join(ws.root, 'dev', `${PREFIX}--${n}`);
  const k = (args, cwd = ws.repo) => sh(process.execPath, [CLI, ...args], { cwd, env: ws.env });
  const mainCompose = (args) =>
    sh('docker', ['compose', '-p', `${PREFIX}--main`, ...args], {
      cwd: ws.repo,
      env: { ...ws.env, KTRDR_DB_PORT: String(MAIN_PORT) },
    });
  try {
    for (const n of ['src', 'dst']) k(['sandbox', 'create', n]);
    for (const n of ['src', 'dst']) k(['sandbox', 'compose', 'up', '-d', 'db'], dir(n));
    await waitFor(dbPort(1));
    await waitFor(dbPort(2));
    // Like a real table: incompressible text, a primary key and a second index (which pg_restore builds again).
    psql(
      dbPort(1),
      'CREATE TABLE big AS SELECT g AS id, md5(random()::text) AS a, md5(random()::text) || md5(random()::text) AS b, ' +
        `now() - random() * interval '1000 days' AS at FROM generate_series(1, ${ROWS}) g; ` +
        'ALTER TABLE big ADD PRIMARY KEY (id); CREATE INDEX big_at ON big (at)',
    );
    const size = psql(dbPort(1), "SELECT pg_size_pretty(pg_database_size('ktrdr'))");

    // The baseline: what a person does without kinfra, the same database, the same machine, the same run.
    psql(dbPort(2), 'CREATE DATABASE dumped', 'postgres');
    const baseline = timed(() =>
      sh(
        'sh',
        [
          '-c',
          'pg_dump -Fc -h 127.0.0.1 -p "$1" -U ktrdr ktrdr | pg_restore -h 127.0.0.1 -p "$2" -U ktrdr -d dumped',
          'sh',
          String(dbPort(1)),
          String(dbPort(2)),
        ],
        { env: PGENV },
      ),
    );
    psql(dbPort(2), 'DROP DATABASE dumped', 'postgres');

    // The clone runs in its own process while this one queries the source (a blocking spawn would stop the loop).
    const stopLoop = queryLoop(dbPort(1));
    const t1 = performance.now();
    await kinfraAsync(ws, ['sandbox', 'db', 'clone', '--from', `${PREFIX}--src`, '--force'], dir('dst'));
    const clone = (performance.now() - t1) / 1000;
    const source = await stopLoop();
    const snapshot = timed(() => k(['sandbox', 'db', 'snapshot', 'bench'], dir('dst')));
    const restore = timed(() => k(['sandbox', 'db', 'restore', 'bench', '--force'], dir('dst')));
    const rows = psql(dbPort(2), 'SELECT count(*) FROM big');
    if (Number(rows) !== ROWS) throw new Error(`the restored copy has ${rows} rows, not ${ROWS}`);

    // The warm pool: main's stack runs, a slot is seeded from it, a claim is timed until the data answers.
    mainCompose(['up', '-d', 'db']);
    await waitFor(MAIN_PORT);
    psql(MAIN_PORT, 'CREATE TABLE seeded AS SELECT g AS id FROM generate_series(1, 1000) g');
    k(['sandbox', 'provision', '--db-from', 'main']);
    const t0 = performance.now();
    await kinfraAsync(ws, ['sandbox', 'create', 'claim', '--profile', 'light'], ws.repo);
    await waitFor(dbPort(6), 'SELECT count(*) FROM seeded');
    const claim = (performance.now() - t0) / 1000;

    const third = (x) => `${(x / baseline).toFixed(2)}x`;
    const note = `${size} database`;
    return [
      {
        name: `db clone of a running source (${note})`,
        measured: `${clone.toFixed(1)} s`,
        baseline: `${baseline.toFixed(1)} s (pg_dump -Fc \\| pg_restore)`,
        ratio: third(clone),
        target: '<= 0.33x',
        met: clone / baseline <= 1 / 3,
      },
      {
        name: `db snapshot (${note})`,
        measured: `${snapshot.toFixed(1)} s`,
        baseline: `${baseline.toFixed(1)} s (pg_dump -Fc \\| pg_restore)`,
        ratio: third(snapshot),
        target: '<= 0.33x',
        met: snapshot / baseline <= 1 / 3,
      },
      {
        name: `db restore (${note})`,
        measured: `${restore.toFixed(1)} s`,
        baseline: `${baseline.toFixed(1)} s (pg_dump -Fc \\| pg_restore)`,
        ratio: third(restore),
        target: '<= 0.33x',
        met: restore / baseline <= 1 / 3,
      },
      {
        name: 'source downtime during the clone (a query every 20 ms)',
        measured: `${source.failed} failed of ${source.ok + source.failed}; longest gap ${Math.round(source.maxGapMs)} ms`,
        baseline: '-',
        ratio: '-',
        target: '0 failed, gap < 1000 ms',
        met: source.failed === 0 && source.maxGapMs < 1000,
      },
      {
        name: 'claim of a seeded pool slot until its data answers',
        measured: `${claim.toFixed(2)} s`,
        baseline: '-',
        ratio: '-',
        target: '< 2 s',
        met: claim < 2,
      },
    ];
  } finally {
    for (const n of ['src', 'dst', 'claim'])
      spawnSync(process.execPath, [CLI, 'sandbox', 'destroy', '--force'], {
        cwd: dir(n),
        env: ws.env,
        stdio: 'ignore',
      });
    spawnSync(process.execPath, [CLI, 'sandbox', 'release', '6', '-f'], { cwd: ws.repo, env: ws.env, stdio: 'ignore' });
    spawnSync('docker', ['compose', '-p', `${PREFIX}--main`, 'down', '-v'], { cwd: ws.repo, stdio: 'ignore' });
    ws.cleanup();
  }
}
