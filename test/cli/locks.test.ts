import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, cliEnv, workspace, type CliResult, type Workspace } from '../helpers/cli.js';

/**
 * The registry lock is held only around registry reads and writes, and a wait for it
 * is said, not silent (issue 12, item 10).
 */
let ws: Workspace;
let proxy: Server | undefined;
const open = new Set<Socket>();
afterEach(async () => {
  for (const s of open) s.destroy();
  await new Promise<void>((r) => (proxy ? proxy.close(() => r()) : r()));
  proxy = undefined;
  ws?.cleanup();
});

/** A Docker socket that forwards to the real daemon, every request only after `delayMs`: a slow engine. */
function slowEngine(dir: string, delayMs: number): Promise<string> {
  const path = join(dir, 'slow-docker.sock');
  proxy = createServer((client) => {
    const upstream = connect('/var/run/docker.sock');
    open.add(client).add(upstream);
    // Per chunk, not per connection: kept-alive connections carry many requests.
    client.on('data', (d: Buffer) => setTimeout(() => upstream.write(d), delayMs));
    upstream.pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  return new Promise((r) => proxy!.listen(path, () => r(`unix://${path}`)));
}

function start(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): { done: Promise<CliResult & { at: number }> } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env: cliEnv(ws.home, env) });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end();
  return {
    done: new Promise((r) =>
      child.on('close', (code) => r({ code: code ?? -1, stdout, stderr, at: performance.now() })),
    ),
  };
}

describe('the registry lock', () => {
  it('is not held while a pool claim waits for a slow engine: list gets through meanwhile', async () => {
    ws = workspace();
    expect((await ws.run(['sandbox', 'provision'])).code).toBe(0);
    const host = await slowEngine(ws.root, 4000);
    const create = start(['sandbox', 'create', 'slowpoke', '--profile', 'light'], ws.repo, { DOCKER_HOST: host });
    // Once create has recorded its claim it resets the slot through the slow engine (seconds); a list with the
    // real engine must not wait behind it.
    const registry = join(ws.home, '.ktrdr/sandboxes/registry.json');
    while (!(existsSync(registry) && readFileSync(registry, 'utf8').includes('"state": "creating"')))
      await new Promise((r) => setTimeout(r, 50));
    const list = start(['sandbox', 'list', '--json'], ws.repo);
    const [c, l] = await Promise.all([create.done, list.done]);
    expect(c.code, c.stderr).toBe(0);
    expect(l.code, l.stderr).toBe(0);
    expect(l.at, 'list finished only after the slow create').toBeLessThan(c.at);
    expect(l.stderr).not.toContain('Waiting for another kinfra process');
  }, 120_000);

  it('says so when it waits for another kinfra process', async () => {
    ws = workspace();
    expect((await ws.run(['sandbox', 'list'])).code).toBe(0);
    // Another process holds the lock (a live one renews it): list waits, and says what for.
    const lock = join(ws.home, '.ktrdr/sandboxes/registry.json.lock');
    mkdirSync(lock);
    const renew = setInterval(() => utimesSync(lock, new Date(), new Date()), 500);
    const list = start(['sandbox', 'list'], ws.repo);
    setTimeout(() => {
      clearInterval(renew);
      rmSync(lock, { recursive: true, force: true });
    }, 3000);
    const r = await list.done;
    clearInterval(renew);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Waiting for another kinfra process to finish with');
    const json = start(['sandbox', 'list', '--json'], ws.repo);
    expect((await json.done).stderr).toBe('');
  }, 60_000);
});
