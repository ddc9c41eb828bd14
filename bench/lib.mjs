// Shared helpers for the benchmarks: scratch workspaces, timing, and the table.
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(new URL('..', import.meta.url).pathname);
export const CLI = join(ROOT, 'dist/kinfra.js');

/** A scratch HOME and a git repository in `<root>/dev/<folder>` holding `files` (a derived layout's prefix is `folder`). */
export function scratch(files = {}, folder = 'ktrdr2') {
  const root = mkdtempSync(join(tmpdir(), 'kinfra-bench-'));
  const home = join(root, 'home');
  const repo = join(root, 'dev', folder);
  mkdirSync(home, { recursive: true });
  mkdirSync(repo, { recursive: true });
  writeFileSync(join(home, '.gitconfig'), '[user]\n\tname = bench\n\temail = bench@kinfra.local\n');
  const env = { ...process.env, HOME: home, NO_COLOR: '1' };
  writeFileSync(join(repo, 'docker-compose.yml'), 'services: {}\n');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(repo, name), text);
  for (const args of [
    ['init', '-q', '-b', 'main'],
    ['add', '-A'],
    ['commit', '-qm', 'init'],
  ]) {
    spawnSync('git', args, { cwd: repo, env });
  }
  return { root, home, repo, env, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

export function kinfra(ws, args) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ws.repo, env: ws.env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`kinfra ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** Wall time of one run of `argv`, in ms. */
function once(argv, opts) {
  const t = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { ...opts, stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}`);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/** A TCP port nothing listens on now, on 127.0.0.1. */
export const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Time several commands interleaved (round-robin, after a warm-up), so machine
 * load affects all alike; returns the median ms of each.
 */
export function timeInterleaved(cases, rounds, opts) {
  const samples = cases.map(() => []);
  for (const c of cases) once(c.argv, c.opts ?? opts);
  for (let i = 0; i < rounds; i++) cases.forEach((c, j) => samples[j].push(once(c.argv, c.opts ?? opts)));
  return cases.map((c, j) => ({ name: c.name, ms: median(samples[j]) }));
}

/** Peak RSS in MB of one run of the CLI (largest of `runs`). */
export function peakRssMb(args, opts, runs = 3) {
  const file = join(tmpdir(), `kinfra-rss-${process.pid}`);
  rmSync(file, { force: true });
  for (let i = 0; i < runs; i++) {
    spawnSync(process.execPath, ['--import', join(ROOT, 'bench/rss-probe.mjs'), CLI, ...args], {
      ...opts,
      env: { ...opts.env, KINFRA_BENCH_RSS_FILE: file },
      stdio: 'ignore',
    });
  }
  const kb = readFileSync(file, 'utf8').trim().split('\n').map(Number);
  rmSync(file, { force: true });
  return Math.max(...kb) / 1024;
}

export function markdownTable(rows) {
  const head = ['Benchmark', 'Measured', 'Baseline', 'Ratio', 'Target', 'Met'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows)
    lines.push(`| ${[r.name, r.measured, r.baseline, r.ratio, r.target, r.met ? 'yes' : '**no**'].join(' | ')} |`);
  return lines.join('\n');
}
