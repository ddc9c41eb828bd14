import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { appWorkspace, parseJson, type Workspace } from '../helpers/cli.js';

// runCli runs several commands in one process: none may inherit what an earlier one found.
let ws: Workspace;
let server: Server | undefined;
const sockets = new Set<Socket>();
afterEach(async () => {
  for (const c of sockets) c.destroy();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
  ws?.cleanup();
});

describe('commands run in one process', () => {
  it('a daemon that did not answer one command is asked again by the next, with its own deadline', async () => {
    ws = appWorkspace();
    const hung = join(ws.root, 'hung.sock');
    server = createServer((c) => void sockets.add(c.on('error', () => undefined)));
    await new Promise<void>((resolve) => server!.listen(hung, resolve));
    const first = await ws.run(['sandbox', 'list', '--json'], {
      env: { DOCKER_HOST: `unix://${hung}`, KINFRA_ENGINE_TIMEOUT_MS: '700' },
    });
    expect(parseJson(first.stdout).data.engineError.message).toMatch(/not responding: .* within 0\.7 s/);
    const next = await ws.run(['sandbox', 'list', '--json'], {
      env: { DOCKER_HOST: `unix://${join(ws.root, 'none.sock')}` },
    });
    expect(parseJson(next.stdout).data.engineError.message).toBe('The Docker daemon is not running.');
  });

  it('--verbose of one command does not echo the commands of the next', async () => {
    ws = appWorkspace();
    const verbose = await ws.run(['sandbox', 'create', 'a', '--verbose']);
    expect(verbose.stderr).toMatch(/git /);
    const quiet = await ws.run(['sandbox', 'create', 'b']);
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stderr).not.toMatch(/git /);
  });
});
