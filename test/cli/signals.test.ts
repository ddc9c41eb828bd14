import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, cliEnv, workspace, type Workspace } from '../helpers/cli.js';

let ws: Workspace;
const started: number[] = [];
afterEach(() => {
  // On a kinfra that leaves its child behind, do not leave it running after the test either.
  for (const pid of started.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL');
  ws?.cleanup();
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pid of `parent`'s child running `command`, once it has started (ps works on Linux and macOS alike). */
async function childOf(parent: number, command: string): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const rows = spawnSync('ps', ['-A', '-o', 'pid=,ppid=,comm='], { encoding: 'utf8' }).stdout.split('\n');
    for (const row of rows) {
      const [pid, ppid, comm] = row.trim().split(/\s+/);
      if (Number(ppid) === parent && comm !== undefined && comm.split('/').pop() === command) return Number(pid);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no ${command} child of ${parent} appeared`);
}

/**
 * Signals sent to kinfra's pid alone (a supervisor, `kill`, a closed terminal), not to the terminal's process group:
 * a child that kinfra streams (logs -f, exec, shell) must not outlive it. `exec` uses the same runner as
 * `logs -f`, and needs no Docker.
 */
describe('a child kinfra streams dies with kinfra, whatever signal kinfra gets', () => {
  for (const [signal, code] of [
    ['SIGTERM', 143],
    ['SIGINT', 130],
    ['SIGHUP', 129],
  ] as const) {
    it(
      `${signal} to kinfra's pid during \`sandbox exec -- sleep 1000\`: ` +
        `the sleep is gone and kinfra exits ${code}`,
      async () => {
        ws = workspace();
        expect((await ws.run(['sandbox', 'create', 'x'])).code).toBe(0);
        const kinfra = spawn(process.execPath, [CLI, 'sandbox', 'exec', '--', 'sleep', '1000'], {
          cwd: join(ws.dev, 'ktrdr--x'),
          env: cliEnv(ws.home),
          stdio: 'ignore',
        });
        const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
          kinfra.on('exit', (c, s) => resolve({ code: c, signal: s })),
        );
        const sleep = await childOf(kinfra.pid!, 'sleep');
        started.push(sleep);

        process.kill(kinfra.pid!, signal);
        const exit = await exited;
        expect(alive(sleep), `sleep (pid ${sleep}) outlived kinfra`).toBe(false);
        expect(exit).toEqual({ code, signal: null });
      },
    );
  }
});
