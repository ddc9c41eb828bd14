import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  commandLine,
  proves,
  provenBy,
  startDetached,
  stopProven,
  terminate,
  type CommandProof,
} from '../../src/adapters/background-process.js';
import { processRuns } from '../../src/adapters/processes.js';

/** Real node processes with a hidden command on their command line, proven, stopped or left alone by it. */
let dir: string;
const started: ChildProcess[] = [];

beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'kinfra-bg-')));
});

/** The registry a test process says it serves, as a forwarder names its own. */
const registry = () => join(dir, 'r.json');

afterEach(() => {
  for (const c of started.splice(0)) if (c.pid !== undefined && processRuns(c.pid)) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Says `up` once it runs, and each SIGTERM it gets; with `stubborn`, survives SIGTERM. */
const CODE = (stubborn: boolean) =>
  "process.on('SIGTERM', () => { console.log('TERM'); " +
  `${stubborn ? '' : 'process.exit(0);'} }); console.log('up'); setInterval(() => {}, 1e6);`;

/** `node -e <code> <args...>`, once it says it runs; its stdout collected in `out()`. */
async function nodeE(
  args: string[],
  stubborn = false,
): Promise<{ pid: number; out: () => string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['-e', CODE(stubborn), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  started.push(child);
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  await new Promise((r) => child.stdout!.once('data', r));
  return { pid: child.pid!, out: () => text, child };
}

const exited = (c: ChildProcess) =>
  c.exitCode !== null || c.signalCode !== null
    ? Promise.resolve(c.signalCode ?? c.exitCode)
    : new Promise((r) => c.once('exit', (code, signal) => r(signal ?? code)));

describe('proves: what a command line must say', () => {
  const args = ['/usr/bin/node', '/opt/kinfra/dist/kinfra.js', 'sandbox', 'focus-serve', 'x', '--registry', '/r.json'];

  it('the command after the executable, and the option with its value after the command', () => {
    expect(proves(args, { command: 'focus-serve' })).toBe(true);
    expect(proves(args, { command: 'focus-serve', option: ['--registry', '/r.json'] })).toBe(true);
    expect(proves(args, { command: 'focus-serve', option: ['--registry', '/other.json'] })).toBe(false);
    expect(proves(args, { command: 'router-serve' })).toBe(false);
    expect(proves(['focus-serve', '--registry', '/r.json'], { command: 'focus-serve' }), 'no executable').toBe(false);
    expect(
      proves(['node', '--registry', '/r.json', 'focus-serve'], {
        command: 'focus-serve',
        option: ['--registry', '/r.json'],
      }),
    ).toBe(false);
    expect(proves([], { command: 'focus-serve' })).toBe(false);
  });

  it('the executable, when asked for, before the command', () => {
    expect(proves(args, { command: 'focus-serve', cli: '/opt/kinfra/dist/kinfra.js' })).toBe(true);
    expect(proves(args, { command: 'focus-serve', cli: '/elsewhere/kinfra.js' })).toBe(false);
    const after = ['node', 'x', 'focus-serve', '/opt/kinfra/dist/kinfra.js'];
    expect(proves(after, { command: 'focus-serve', cli: '/opt/kinfra/dist/kinfra.js' })).toBe(false);
  });
});

describe('a real process, by its command line', () => {
  it('reads its argument list, and an empty one once it has ended', async () => {
    const p = await nodeE(['test-serve', '--registry', registry()]);
    expect(await commandLine(p.pid)).toEqual([
      process.execPath,
      '-e',
      CODE(false),
      'test-serve',
      '--registry',
      registry(),
    ]);
    p.child.kill('SIGKILL');
    await exited(p.child);
    expect(await commandLine(p.pid)).toEqual([]);
    expect(await provenBy(p.pid, { command: 'test-serve' })).toBe(false);
  });

  it('stops a proven one with SIGTERM', async () => {
    const proof: CommandProof = { command: 'test-serve', option: ['--registry', registry()] };
    const p = await nodeE(['test-serve', '--registry', registry()]);
    expect(await provenBy(p.pid, proof)).toBe(true);
    expect(await stopProven(p.pid, proof, 5000)).toBe('stopped');
    expect(await exited(p.child)).toBe(0);
    expect(p.out()).toContain('TERM');
    expect(await stopProven(p.pid, proof, 5000), 'gone by now').toBe('not-ours');
  });

  it('never signals a pid whose command line does not prove it', async () => {
    const p = await nodeE(['test-serve', '--registry', registry()]);
    for (const proof of [
      { command: 'other-serve' },
      { command: 'test-serve', option: ['--registry', join(dir, 'other.json')] as const },
      { command: 'test-serve', cli: join(dir, 'kinfra.js') },
    ]) {
      expect(await provenBy(p.pid, proof)).toBe(false);
      expect(await stopProven(p.pid, proof, 100)).toBe('not-ours');
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(processRuns(p.pid)).toBe(true);
    expect(p.out()).not.toContain('TERM');
  });

  it('SIGKILLs one that outlives the grace period while it still proves to be ours', async () => {
    const p = await nodeE(['test-serve'], true);
    const begun = Date.now();
    expect(await stopProven(p.pid, { command: 'test-serve' }, 300)).toBe('killed');
    expect(Date.now() - begun).toBeGreaterThanOrEqual(300);
    expect(await exited(p.child)).toBe('SIGKILL');
    expect(p.out()).toContain('TERM');
  });

  it('terminate, for a caller that proved it otherwise, says a pid already gone is gone', async () => {
    const p = await nodeE(['test-serve']);
    p.child.kill('SIGKILL');
    await exited(p.child);
    expect(await terminate(p.pid, { command: 'test-serve' }, 100)).toBe('gone');
  });
});

describe('startDetached', () => {
  it('runs node with the executable and the arguments, detached, its output appended to the log', async () => {
    const cli = join(dir, 'kinfra.js');
    writeFileSync(cli, `${CODE(false)}\n`);
    symlinkSync(cli, join(dir, 'kinfra-link.js'));
    const log = join(dir, 'bg.log');
    writeFileSync(log, 'before\n');
    const child = startDetached({
      cli: join(dir, 'kinfra-link.js'),
      args: ['test-serve', '--registry', 'r'],
      log,
      cwd: dir,
      env: process.env,
      pipes: 1,
    });
    started.push(child);
    child.unref();
    const pid = child.pid!;
    const up = Date.now() + 5000;
    while (!readFileSync(log, 'utf8').includes('up') && Date.now() < up) await new Promise((r) => setTimeout(r, 25));
    // The link resolves to the executable recorded: the same proof as the path itself.
    expect(await provenBy(pid, { command: 'test-serve', cli, option: ['--registry', 'r'] })).toBe(true);
    expect(child.stdio[3], 'the extra pipe on fd 3').toBeTruthy();
    expect(await stopProven(pid, { command: 'test-serve', cli }, 5000)).toBe('stopped');
    expect(readFileSync(log, 'utf8')).toBe('before\nup\nTERM\n');
  });
});
