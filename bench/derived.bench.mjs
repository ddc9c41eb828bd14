// Issue 14 (any Compose project, unchanged): what deriving the layout costs. `create` in a project with no
// kinfra.yaml (literal host ports and a container_name: kinfra asks Compose for its configuration, interpolated and
// not) against `create` in the same project whose kinfra.yaml names those ports as `${VAR:-default}` variables; and
// `up` of a derived sandbox, its derived gate included, against plain `docker compose up -d` of the same file plus
// the same wait. A tiny image built from debian:bookworm-slim (pull_policy: never) with a 1 s healthcheck.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, median, scratch } from './lib.mjs';

const IMAGE = 'kinfra-bench-derived:1';
/** Folders (and so prefixes) of the two projects, and the plain compose project of the up baseline. */
const DERIVED = 'kbd';
const CONFIGURED = 'kbc';
const PLAIN = 'kbd-plain';
/** `up` starts containers every round (seconds each): a few rounds, whatever KINFRA_BENCH_ROUNDS says. */
const UP_ROUNDS = 5;
const POLL_MS = 100;

/** Answers on every port it is given; TERM ends it at once, so `down` does not wait out the stop timeout. */
const SERVER = `use strict;
use IO::Socket::INET;
use IO::Select;
$SIG{TERM} = $SIG{INT} = sub { exit 0 };
my $sel = IO::Select->new(map { IO::Socket::INET->new(LocalAddr => '0.0.0.0', LocalPort => $_, Listen => 16, ReuseAddr => 1) or die "$_: $!" } @ARGV);
while (1) { for my $l ($sel->can_read) { my $c = $l->accept or next; print $c "HTTP/1.0 200 OK\\r\\nContent-Length: 3\\r\\n\\r\\nok\\n"; close $c } }
`;
const DOCKERFILE = `FROM debian:bookworm-slim
LABEL dev.kinfra.bench=derived
COPY server.pl /app/
CMD ["perl", "/app/server.pl", "8080", "8081"]
`;

/** The service; `web` and `admin` are its two host ports as the file writes them. */
const compose = (web, admin) => `services:
  web:
    image: ${IMAGE}
    pull_policy: never
    container_name: ${DERIVED}-web
    ports:
      - "${web}:8080"
      - "127.0.0.1:${admin}:8081"
    healthcheck:
      test: ["CMD", "perl", "-MIO::Socket::INET", "-e", "IO::Socket::INET->new(PeerAddr => '127.0.0.1:8080') or exit 1"]
      interval: 1s
      timeout: 2s
      retries: 30
`;
const DERIVED_COMPOSE = compose('47080', '47081');
const CONFIGURED_COMPOSE = compose('${KBC_WEB_PORT:-47180}', '${KBC_ADMIN_PORT:-47181}');
const CONFIGURED_YAML = `prefix: ${CONFIGURED}
compose_files: [docker-compose.yml]
ports:
  web: { env: KBC_WEB_PORT, base: 47180, step: 10 }
  admin: { env: KBC_ADMIN_PORT, base: 47181, step: 10 }
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
const pause = (n) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, n);
const cli = (ws, cwd, args) => sh(process.execPath, [CLI, ...args], { cwd, env: ws.env });

function buildImage() {
  const dir = mkdtempSync(join(tmpdir(), 'kinfra-bench-image-'));
  try {
    writeFileSync(join(dir, 'Dockerfile'), DOCKERFILE);
    writeFileSync(join(dir, 'server.pl'), SERVER);
    sh('docker', ['build', '-q', '-t', IMAGE, dir]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Whatever a failed run left of these projects on the engine (kinfra's own destroy removes the rest). */
function sweep(projects) {
  for (const project of projects) {
    const filter = ['--filter', `label=com.docker.compose.project=${project}`];
    const ids = (kind) =>
      sh('docker', [...kind, '-q', ...filter])
        .split('\n')
        .filter(Boolean);
    const containers = ids(['ps', '-a']);
    if (containers.length) spawnSync('docker', ['rm', '-f', '-v', ...containers]);
    const networks = ids(['network', 'ls']);
    if (networks.length) spawnSync('docker', ['network', 'rm', ...networks]);
    const volumes = ids(['volume', 'ls']);
    if (volumes.length) spawnSync('docker', ['volume', 'rm', '-f', ...volumes]);
  }
}

/** `create` then `destroy --yes` (which removes the worktree and keeps the branch), alternately in both projects. */
function createRows(derived, configured, rounds) {
  const variants = [
    { ws: derived, samples: [] },
    { ws: configured, samples: [] },
  ];
  const once = (v) => {
    const t = ms(() => cli(v.ws, v.ws.repo, ['sandbox', 'create', 'c']));
    cli(v.ws, v.ws.repo, ['sandbox', 'destroy', `c`, '--yes']);
    return t;
  };
  // Warm-up: the first create also makes the branch, every later one checks it out again.
  for (const v of variants) once(v);
  for (let i = 0; i < rounds; i++) for (const v of i % 2 ? [...variants].reverse() : variants) v.samples.push(once(v));
  const [d, c] = variants.map((v) => median(v.samples));
  return {
    name: '`create` in a derived-layout project (literal ports, container_name, no kinfra.yaml) vs the same with kinfra.yaml ports',
    measured: `${d.toFixed(0)} ms`,
    baseline: `${c.toFixed(0)} ms (kinfra.yaml, \`\${VAR:-default}\` ports)`,
    ratio: `${(d / c).toFixed(2)}x`,
    target: '< 1.5x',
    met: d / c < 1.5,
  };
}

/** Every container of the plain project running, and healthy where it has a healthcheck: the derived gate's test. */
function plainReady(plain) {
  const ids = sh('docker', [...plain, 'ps', '-aq'])
    .split('\n')
    .filter(Boolean);
  if (ids.length === 0) return false;
  const format = '{{.State.Status}}{{if .State.Health}} {{.State.Health.Status}}{{end}}';
  const states = sh('docker', ['inspect', '--format', format, ...ids])
    .split('\n')
    .filter(Boolean);
  return states.every((s) => s === 'running' || s === 'running healthy');
}

function upRows(ws) {
  cli(ws, ws.repo, ['sandbox', 'create', 'up']);
  const dir = join(ws.root, 'dev', `${DERIVED}--up`);
  const plain = ['compose', '-p', PLAIN, '-f', join(ws.repo, 'docker-compose.yml')];
  const cases = [
    {
      up: () => cli(ws, dir, ['sandbox', 'up', '--timeout', '60']),
      down: () => cli(ws, dir, ['sandbox', 'down']),
      samples: [],
    },
    {
      up: () => sh('docker', [...plain, 'up', '-d', '--wait']),
      down: () => sh('docker', [...plain, 'down']),
      samples: [],
    },
    {
      up: () => {
        sh('docker', [...plain, 'up', '-d']);
        const until = performance.now() + 60_000;
        while (!plainReady(plain)) {
          if (performance.now() > until) throw new Error(`${PLAIN} was not ready in 60 s`);
          pause(POLL_MS);
        }
      },
      down: () => sh('docker', [...plain, 'down']),
      samples: [],
    },
  ];
  for (const c of cases) {
    c.up();
    c.down();
  }
  // Each round starts with another case, so none always runs first after the others' down.
  for (let i = 0; i < UP_ROUNDS; i++) {
    for (let j = 0; j < cases.length; j++) {
      const c = cases[(i + j) % cases.length];
      c.samples.push(ms(c.up));
      c.down();
    }
  }
  const [k, wait, poll] = cases.map((c) => median(c.samples));
  const s = (x) => `${(x / 1000).toFixed(2)} s`;
  // The target is against `--wait` (Compose's own wait for running and healthy); the tighter poll is shown beside it.
  return [
    {
      name: `\`up\` of a derived sandbox (derived gate: running, healthy) vs plain \`docker compose up -d --wait\` (${UP_ROUNDS} rounds)`,
      measured: s(k),
      baseline: s(wait),
      ratio: `${(k / wait).toFixed(2)}x`,
      target: '< 1.1x',
      met: k / wait < 1.1,
    },
    {
      name: `\`up\` of a derived sandbox vs plain \`docker compose up -d\` + \`docker inspect\` every ${POLL_MS} ms until running, healthy (${UP_ROUNDS} rounds)`,
      measured: s(k),
      baseline: s(poll),
      ratio: `${(k / poll).toFixed(2)}x`,
      target: '-',
      met: true,
    },
  ];
}

export default async function derivedLayout({ rounds }) {
  const derived = scratch({ 'docker-compose.yml': DERIVED_COMPOSE }, DERIVED);
  const configured = scratch({ 'docker-compose.yml': CONFIGURED_COMPOSE, 'kinfra.yaml': CONFIGURED_YAML }, CONFIGURED);
  try {
    buildImage();
    return [createRows(derived, configured, rounds), ...upRows(derived)];
  } finally {
    spawnSync('docker', [...['compose', '-p', PLAIN, '-f', join(derived.repo, 'docker-compose.yml')], 'down']);
    for (const [ws, name] of [
      [derived, 'up'],
      [derived, 'c'],
      [configured, 'c'],
    ]) {
      spawnSync(process.execPath, [CLI, 'sandbox', 'destroy', name, '--force'], { cwd: ws.repo, env: ws.env });
    }
    sweep([PLAIN, `${DERIVED}--up`, `${DERIVED}--c`, `${CONFIGURED}--c`]);
    spawnSync('docker', ['image', 'rm', IMAGE]);
    derived.cleanup();
    configured.cleanup();
  }
}
