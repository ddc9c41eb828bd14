// `npm run demo`: two sandboxes of the example stack, side by side, in a scratch
// folder with a scratch HOME, so it never touches your real ~/.ktrdr.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(new URL('..', import.meta.url).pathname);
const CLI = join(ROOT, 'dist/kinfra.js');
const base = mkdtempSync(join(tmpdir(), 'kinfra-demo-'));
const home = join(base, 'home');
const repo = join(base, 'dev', 'ktrdr-demo');
mkdirSync(home, { recursive: true });
mkdirSync(repo, { recursive: true });
writeFileSync(join(home, '.gitconfig'), '[user]\n\tname = kinfra demo\n\temail = demo@kinfra.local\n');
const env = { ...process.env, HOME: home };

const stack = join(ROOT, 'examples/stack');
if (existsSync(stack)) cpSync(stack, repo, { recursive: true });
else writeFileSync(join(repo, 'docker-compose.yml'), 'services: {}\n');

function sh(cmd, args, cwd = repo) {
  console.log(`\n$ ${[cmd === process.execPath ? 'kinfra' : cmd, ...(cmd === process.execPath ? args.slice(1) : args)].join(' ')}`);
  const r = spawnSync(cmd, args, { cwd, env, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`demo: that command failed (exit ${r.status}); the scratch folder ${base} is left for a look.`);
    process.exit(r.status ?? 1);
  }
}
const kinfra = (...args) => sh(process.execPath, [CLI, ...args]);

console.log(`Scratch project: ${repo}\nScratch HOME:    ${home}`);
for (const args of [['init', '-q', '-b', 'main'], ['add', '-A'], ['commit', '-qm', 'example stack']]) {
  spawnSync('git', args, { cwd: repo, env });
}
kinfra('sandbox', 'create', 'demo-a');
kinfra('sandbox', 'create', 'demo-b', '--branch', 'feature/b');
kinfra('sandbox', 'list');

console.log(`
Two sandboxes of the example stack, each on its own port slot.
Try them (the scratch HOME keeps your real ~/.ktrdr untouched):
  export HOME=${home}
  cd ${join(base, 'dev', 'ktrdr--demo-a')} && node ${CLI} sandbox list
Tear down:
  HOME=${home} node ${CLI} sandbox destroy demo-a --yes
  HOME=${home} node ${CLI} sandbox destroy demo-b --yes
  rm -rf ${base}`);
