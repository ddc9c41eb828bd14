// `npm run demo`: two sandboxes of the example stack created from a scratch
// repository, brought up side by side, both gates passing, their URLs printed.
// Everything lives in a scratch folder with a scratch HOME, so your real ~/.ktrdr
// is never touched. `npm run demo -- --down` tears the last demo down.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(new URL('..', import.meta.url).pathname);
const CLI = join(ROOT, 'dist/kinfra.js');
const LAST = join(tmpdir(), 'kinfra-demo-last.json');

function kinfra(args, { cwd, env }) {
  console.log(`\n$ kinfra ${args.join(' ')}${cwd ? `   (in ${cwd})` : ''}`);
  return spawnSync(process.execPath, [CLI, ...args], { cwd, env, stdio: 'inherit' }).status;
}

function down() {
  if (!existsSync(LAST)) {
    console.log('No demo to tear down.');
    return;
  }
  const { base, home, sandboxes } = JSON.parse(readFileSync(LAST, 'utf8'));
  const env = { ...process.env, HOME: home };
  for (const dir of sandboxes) if (existsSync(dir)) kinfra(['sandbox', 'destroy', '--force'], { cwd: dir, env });
  rmSync(base, { recursive: true, force: true });
  rmSync(LAST, { force: true });
  console.log(`\nRemoved ${base}.`);
}

/** Run the CLI in the background, collecting its output (two `up`s run side by side). */
function kinfraAsync(args, cwd, env) {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolvePromise({ code, out }));
  });
}

/** Compose as kinfra picks it: v2 (`docker compose`) when it works, v1 otherwise; KINFRA_COMPOSE=v1|v2 forces one. */
function composeCommand(env) {
  const forced = env.KINFRA_COMPOSE;
  if (forced === 'v1') return ['docker-compose'];
  if (forced === 'v2' || spawnSync('docker', ['compose', 'version'], { env, stdio: 'ignore' }).status === 0)
    return ['docker', 'compose'];
  return ['docker-compose'];
}

/**
 * Build the example images once, before either sandbox starts. Both sandboxes
 * run the same fixed-tag images: two `up`s building them at once did the work
 * twice, printed about a thousand lines of build output and left the loser's
 * image dangling. One fixed project name, the one the E2E tests build under
 * (test/helpers/docker.ts), because Compose labels a built image with its project:
 * under another name the same files make another image, and the old one dangles.
 * The output is kept and shown only when the build fails; the user sees one line
 * (with the elapsed time, on a terminal).
 */
export function buildImages(repo, env, out = process.stdout) {
  const [file, ...prefix] = composeCommand(env);
  const args = [...prefix, '--ansi', 'never', '-p', 'kinfra-build', '-f', 'docker-compose.yml', 'build'];
  const label = 'Building the example images once, for both sandboxes ...';
  const started = Date.now();
  const elapsed = () => `${Math.round((Date.now() - started) / 1000)}s`;
  out.write(label);
  const ticker = out.isTTY ? setInterval(() => out.write(`\r${label} ${elapsed()}`), 1000) : undefined;
  return new Promise((resolvePromise) => {
    const child = spawn(file, args, { cwd: repo, env });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    const finish = (ok, why) => {
      clearInterval(ticker);
      out.write(`${out.isTTY ? `\r${label}` : ''} ${ok ? 'done' : `failed (${why})`} (${elapsed()})\n`);
      if (!ok) process.stderr.write(`\n$ ${[file, ...args].join(' ')}   (in ${repo})\n${log}\n`);
      resolvePromise(ok);
    };
    child.on('error', (e) => finish(false, e.message));
    child.on('close', (code, signal) => finish(code === 0, signal ?? `exit ${code}`));
  });
}

async function up() {
  if (existsSync(LAST)) down();
  const base = mkdtempSync(join(tmpdir(), 'kinfra-demo-'));
  const home = join(base, 'home');
  const repo = join(base, 'dev', 'ktrdr-demo');
  mkdirSync(home, { recursive: true });
  mkdirSync(repo, { recursive: true });
  writeFileSync(join(home, '.gitconfig'), '[user]\n\tname = kinfra demo\n\temail = demo@kinfra.local\n');
  const env = { ...process.env, HOME: home };
  cpSync(join(ROOT, 'examples/stack'), repo, { recursive: true });
  for (const args of [
    ['init', '-q', '-b', 'main'],
    ['add', '-A'],
    ['commit', '-qm', 'example stack'],
  ])
    spawnSync('git', args, { cwd: repo, env });
  const sandboxes = [join(base, 'dev', 'ktrdr--demo-a'), join(base, 'dev', 'ktrdr--demo-b')];
  writeFileSync(LAST, JSON.stringify({ base, home, sandboxes }));

  console.log(`Scratch project: ${repo}\nScratch HOME:    ${home}`);
  if (kinfra(['sandbox', 'create', 'demo-a'], { cwd: repo, env }) !== 0) return fail(base);
  if (kinfra(['sandbox', 'create', 'demo-b', '--branch', 'feature/b'], { cwd: repo, env }) !== 0) return fail(base);

  console.log('');
  if (!(await buildImages(repo, env))) return fail(base);
  console.log('\n$ kinfra sandbox up   (in both sandboxes at once, on the images just built)');
  const results = await Promise.all(
    sandboxes.map((dir) => kinfraAsync(['sandbox', 'up', '--timeout', '300'], dir, env)),
  );
  results.forEach((r, i) => console.log(`\n--- ${sandboxes[i]} (exit ${r.code}) ---\n${r.out.trim()}`));
  kinfra(['sandbox', 'list'], { cwd: repo, env });
  if (results.some((r) => r.code !== 0)) return fail(base);

  console.log(`
Two sandboxes of the example stack run side by side, each on its own port slot.
Look around (the scratch HOME keeps your real ~/.ktrdr untouched):
  export HOME=${home}
  cd ${sandboxes[0]} && node ${CLI} sandbox status
Tear everything down:
  npm run demo -- --down`);
}

function fail(base) {
  console.error(
    `\ndemo: a command failed; the scratch folder ${base} is left for a look. Remove it all with: npm run demo -- --down`,
  );
  process.exitCode = 1;
}

// Run as a script, not when a test imports buildImages.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--down')) down();
  else await up();
}
