import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type Server } from 'node:net';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseEnvText } from '../../src/core/env-file.js';
import { parseJson, appWorkspace, type Workspace } from '../helpers/cli.js';

let ws: Workspace;
const servers: { close(cb: () => void): void }[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
  ws?.cleanup();
});

/** Listen on `port` (as another program would) until the test ends. */
function holdPort(port: number): Promise<Server> {
  const server = createTcpServer();
  servers.push(server);
  return new Promise((r) => server.listen(port, '127.0.0.1', () => r(server)));
}

/**
 * A Docker engine socket with nothing on it: `up` asks it for containers, volumes and networks before it checks ports.
 */
function emptyEngine(path: string): Promise<void> {
  const server = createHttpServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(req.url?.startsWith('/volumes') ? '{"Volumes":[]}' : '[]');
  });
  servers.push(server);
  return new Promise((r) => server.listen(path, () => r()));
}

describe('kinfra sandbox init (seed 001 scenario 2)', () => {
  it('turns an existing clone into a sandbox, and refuses a second time', async () => {
    ws = appWorkspace();
    const clone = join(ws.dev, 'ktrdr-clone');
    ws.git(['clone', '-q', ws.repo, clone], ws.dev);
    const r = await ws.run(['sandbox', 'init', '--json'], { cwd: clone });
    expect(r.code).toBe(0);
    const doc = parseJson(r.stdout);
    expect(doc.data).toMatchObject({ instanceId: 'ktrdr--ktrdr-clone', slot: 1, path: clone, adopted: false });
    expect(parseEnvText(readFileSync(join(clone, '.env.sandbox'), 'utf8')).KTRDR_API_PORT).toBe('8001');
    const reg = JSON.parse(readFileSync(join(ws.home, '.ktrdr/sandboxes/registry.json'), 'utf8'));
    expect(reg.instances['ktrdr--ktrdr-clone']).toMatchObject({
      is_worktree: false,
      created_worktree: false,
      parent_repo: clone,
    });

    const again = await ws.run(['sandbox', 'init'], { cwd: clone });
    expect(again.code).toBe(4);
    expect(again.stderr).toContain('is already the sandbox ktrdr--ktrdr-clone (slot 1)');
  });

  it('honours --slot and --name', async () => {
    ws = appWorkspace();
    const r = await ws.run(['sandbox', 'init', '-s', '7', '-n', 'Experiment']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Initialised sandbox ktrdr--experiment (slot 7)');
  });

  it('refuses a folder that is not a git checkout of a compose project', async () => {
    ws = appWorkspace();
    const outside = await ws.run(['sandbox', 'init'], { cwd: ws.home });
    expect(outside.code).toBe(1);
    expect(outside.stderr).toContain('is not inside a git repository');
    rmSync(join(ws.repo, 'docker-compose.yml'));
    const bare = await ws.run(['sandbox', 'init']);
    expect(bare.code).toBe(1);
    expect(bare.stderr).toContain('has no compose file');
  });

  it('re-registers a sandbox on the slot its .env.sandbox names when the registry lost it', async () => {
    ws = appWorkspace();
    await ws.run(['sandbox', 'create', 'survivor', '-s', '4']);
    rmSync(join(ws.home, '.ktrdr'), { recursive: true, force: true });
    const path = join(ws.dev, 'ktrdr--survivor');
    // With the registry gone, create must not hand out slot 4 again ...
    const other = await ws.run(['sandbox', 'create', 'other', '-s', '4']);
    expect(other.code).toBe(4);
    expect(other.stderr).toContain('ktrdr--survivor (unregistered');
    // ... and init brings the sandbox back on its slot.
    const r = await ws.run(['sandbox', 'init', '--json'], { cwd: path });
    expect(r.code).toBe(0);
    expect(parseJson(r.stdout).data).toMatchObject({ instanceId: 'ktrdr--survivor', slot: 4, adopted: true });
  });

  it(
    'does not hand out a slot an unregistered sandbox of this repository still holds ' + '(the rule create follows)',
    async () => {
      ws = appWorkspace();
      await ws.run(['sandbox', 'create', 'survivor']);
      rmSync(join(ws.home, '.ktrdr'), { recursive: true, force: true });
      // A worktree kinfra did not make, initialised while the registry knows nothing of survivor's slot 1.
      const other = join(ws.dev, 'ktrdr2-other');
      ws.git(['worktree', 'add', '-q', '-b', 'other', other]);
      const asked = await ws.run(['sandbox', 'init', '-s', '1', '--json'], { cwd: other });
      expect(asked.code).toBe(4);
      expect(parseJson(asked.stderr).error.code).toBe('slot-taken');
      expect(parseJson(asked.stderr).error.message).toContain('ktrdr--survivor (unregistered');
      const r = await ws.run(['sandbox', 'init', '--json'], { cwd: other });
      expect(r.code, r.stderr).toBe(0);
      expect(parseJson(r.stdout).data).toMatchObject({ instanceId: 'ktrdr--ktrdr2-other', slot: 2 });
    },
  );

  it.each([
    ['cannot be parsed', "INSTANCE_ID='ktrdr--lost\nSLOT_NUMBER=3\n", 'cannot be read'],
    ['names no sandbox', '# nothing here\n', 'has no INSTANCE_ID'],
    ['has no usable slot', 'INSTANCE_ID=ktrdr--lost\nSLOT_NUMBER=three\n', 'no valid SLOT_NUMBER'],
  ])(
    'refuses, as already initialised, a folder whose .env.sandbox %s, and leaves the file as it was',
    async (_label, text, why) => {
      ws = appWorkspace();
      const clone = join(ws.dev, 'ktrdr-clone');
      ws.git(['clone', '-q', ws.repo, clone], ws.dev);
      const file = join(clone, '.env.sandbox');
      writeFileSync(file, text);
      const r = await ws.run(['sandbox', 'init', '--json'], { cwd: clone });
      expect(r.code).toBe(4);
      const error = parseJson(r.stderr).error;
      expect(error.code).toBe('already-initialised');
      expect(error.message).toContain(`${clone} is already initialised`);
      expect(error.message).toContain(why);
      expect(error.hint).toContain(`remove ${file}`);
      expect(error.hint).toContain('kinfra sandbox doctor');
      expect(readFileSync(file, 'utf8')).toBe(text);
      expect(parseJson((await ws.run(['sandbox', 'list', '--json'])).stdout).data.instances).toEqual([]);
      // Removing the file is the way to start over.
      rmSync(file);
      expect((await ws.run(['sandbox', 'init'], { cwd: clone })).code).toBe(0);
    },
  );
});

/** The decisions of issue 12 item 15, as docs/migration.md ("Decisions") records them. */
describe('init decisions', () => {
  it('(a) refuses a -n NAME whose id exists (exit 12 sandbox-exists), never adds a suffix', async () => {
    ws = appWorkspace();
    await ws.run(['sandbox', 'create', 'taken']);
    const clone = join(ws.dev, 'ktrdr-clone');
    ws.git(['clone', '-q', ws.repo, clone], ws.dev);
    const r = await ws.run(['sandbox', 'init', '-n', 'taken', '--json'], { cwd: clone });
    expect(r.code).toBe(12);
    const error = parseJson(r.stderr).error;
    expect(error).toMatchObject({
      code: 'sandbox-exists',
      details: { instanceId: 'ktrdr--taken', path: join(ws.dev, 'ktrdr--taken') },
    });
    expect(error.hint).toContain('-n NAME');
    const reg = JSON.parse(readFileSync(join(ws.home, '.ktrdr/sandboxes/registry.json'), 'utf8'));
    expect(Object.keys(reg.instances)).toEqual(['ktrdr--taken']);
  });

  it("(b) prefixes -n with the project's prefix, as create does with its name", async () => {
    ws = appWorkspace({ 'kinfra.yaml': 'prefix: myapp\nports:\n  api: { env: MYAPP_API_PORT, base: 38600 }\n' });
    const r = await ws.run(['sandbox', 'init', '-n', 'foo', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(parseJson(r.stdout).data.instanceId).toBe('myapp--foo');
  });

  it(
    '(c) does not probe ports: init succeeds while a slot port is held, ' +
      'and up then refuses (exit 3) naming the holder',
    async () => {
      ws = appWorkspace({
        'kinfra.yaml':
          'prefix: kpt\ncompose_files: [docker-compose.yml]\nports:\n  api: { env: KPT_API_PORT, base: 38700 }\n',
      });
      await holdPort(38701);
      const r = await ws.run(['sandbox', 'init', '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(parseJson(r.stdout).data).toMatchObject({ slot: 1, ports: { api: 38701 } });
      const socket = join(ws.root, 'engine.sock');
      await emptyEngine(socket);
      const up = await ws.run(['sandbox', 'up', '--no-wait', '--json'], { env: { DOCKER_HOST: `unix://${socket}` } });
      expect(up.code, up.stderr).toBe(3);
      const error = parseJson(up.stderr).error;
      expect(error.code).toBe('port-conflict');
      expect(error.details.conflicts).toEqual([
        expect.objectContaining({
          port: 38701,
          env: 'KPT_API_PORT',
          kind: 'process',
          holder: expect.stringContaining(`process ${process.pid}`),
        }),
      ]);
    },
  );
});
