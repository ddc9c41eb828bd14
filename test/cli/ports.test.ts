import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { appWorkspace, parseJson, type Workspace } from '../helpers/cli.js';
import { closedPort } from '../helpers/servers.js';

/**
 * Issue 15, item 2: who holds a port, as exactly one answer, so an agent asks instead of killing whatever listens
 * there. Here: a free port, a foreign process on IPv4 and on IPv6 only, a port the registry keeps for a sandbox.
 * (A sandbox's container and a foreign compose project holding a port are answered on the real engine, in E2E.)
 */
let ws: Workspace | undefined;
let child: ChildProcess | undefined;
let dir: string | undefined;
afterEach(() => {
  child?.kill('SIGKILL');
  child = undefined;
  ws?.cleanup();
  ws = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** Another process (not this test's) listening on `host`:`port`, started in a folder of its own. */
async function foreignListener(host: string): Promise<{ port: number; pid: number; cwd: string }> {
  const port = await closedPort();
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'kinfra-holder-')));
  const code = `require('net').createServer().listen(${port}, '${host}', () => console.log('up'))`;
  child = spawn(process.execPath, ['-e', code], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => child!.stdout!.once('data', resolve));
  return { port, pid: child.pid!, cwd: dir };
}

const who = async (port: number) => {
  const r = await ws!.run(['sandbox', 'ports', 'who', String(port), '--json']);
  expect(r.code, r.stderr).toBe(0);
  return parseJson(r.stdout).data.ports[0];
};

describe('kinfra sandbox ports who <port> (issue 15)', () => {
  it('says a port is free, and that the registry keeps it for a sandbox when it does', async () => {
    ws = appWorkspace();
    const port = await closedPort();
    expect(await who(port)).toMatchObject({ port, state: 'free', reservedFor: null, message: `port ${port} is free` });
    const created = parseJson((await ws.run(['sandbox', 'create', 'a', '--json'])).stdout).data;
    expect(await who(created.ports.api)).toMatchObject({
      state: 'free',
      reservedFor: 'ktrdr--a',
      message: `port ${created.ports.api} is free, the registry keeps it for sandbox ktrdr--a`,
    });
  });

  it.each(['127.0.0.1', '::1'])(
    'names a foreign process on %s: pid, command line, working folder, user',
    async (host) => {
      ws = appWorkspace();
      const holder = await foreignListener(host);
      const answer = await who(holder.port);
      expect(answer).toMatchObject({
        state: 'process',
        pid: holder.pid,
        workingDir: holder.cwd,
        user: userInfo().username,
        sandbox: null,
      });
      expect(answer.command).toContain('createServer');
      const human = await ws.run(['sandbox', 'ports', 'who', String(holder.port)]);
      expect(human.stdout).toContain(`is process ${holder.pid}'s`);
    },
  );

  it('lists every port of the sandbox here with who holds it; bad input is a usage error, not a trace', async () => {
    ws = appWorkspace();
    const created = parseJson((await ws.run(['sandbox', 'create', 'a', '--json'])).stdout).data;
    const r = await ws.run(['sandbox', 'ports', '--json'], { cwd: created.path });
    expect(r.code, r.stderr).toBe(0);
    const d = parseJson(r.stdout).data;
    expect(d.sandbox).toBe('ktrdr--a');
    expect(d.ports.find((p: { name: string }) => p.name === 'api')).toMatchObject({
      env: 'KTRDR_API_PORT',
      port: created.ports.api,
      reservedFor: 'ktrdr--a',
    });
    for (const args of [['who'], ['who', '70000'], ['whom', '80'], ['who', 'x']]) {
      const bad = await ws.run(['sandbox', 'ports', ...args]);
      expect(bad.code, args.join(' ')).toBe(1);
      expect(bad.stderr).not.toContain('    at ');
    }
  });
});
