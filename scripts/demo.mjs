// `npm run demo`: two sandboxes of the example stack created from a scratch
// repository, brought up side by side, both gates passing, their URLs printed.
// Everything lives in a scratch folder with a scratch HOME, so your real ~/.ktrdr
// is never touched. `npm run demo -- --down` tears the last demo down.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

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
  for (const args of [['init', '-q', '-b', 'main'], ['add', '-A'], ['commit', '-qm', 'example stack']]) spawnSync('git', args, { cwd: repo, env });
  const sandboxes = [join(base, 'dev', 'ktrdr--demo-a'), join(base, 'dev', 'ktrdr--demo-b')];
  writeFileSync(LAST, JSON.stringify({ base, home, sandboxes }));

  console.log(`Scratch project: ${repo}\nScratch HOME:    ${home}`);
  if (kinfra(['sandbox', 'create', 'demo-a'], { cwd: repo, env }) !== 0) return fail(base);
  if (kinfra(['sandbox', 'create', 'demo-b', '--branch', 'feature/b'], { cwd: repo, env }) !== 0) return fail(base);

  console.log('\n$ kinfra sandbox up   (in both sandboxes at once; the first run builds the example images)');
  const results = await Promise.all(sandboxes.map((dir) => kinfraAsync(['sandbox', 'up', '--timeout', '300'], dir, env)));
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
  console.error(`\ndemo: a command failed; the scratch folder ${base} is left for a look. Remove it all with: npm run demo -- --down`);
  process.exitCode = 1;
}

if (process.argv.includes('--down')) down();
else await up();
