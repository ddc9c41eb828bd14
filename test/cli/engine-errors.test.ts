import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseJson, workspace, type Workspace } from '../helpers/cli.js';

let ws: Workspace;
let hung: { close(): Promise<void> } | undefined;
afterEach(async () => {
  await hung?.close();
  hung = undefined;
  ws?.cleanup();
});

/**
 * A stand-in for a hung daemon: it accepts connections and never answers. `at`: a unix
 * socket path, or a TCP port on localhost.
 */
async function hungDaemon(at: string | 0): Promise<{ dockerHost: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((c) => {
    sockets.add(c);
    c.on('error', () => undefined);
  });
  await new Promise<void>((resolve) =>
    at === 0 ? server.listen(0, '127.0.0.1', resolve) : server.listen(at, resolve),
  );
  const dockerHost = at === 0 ? `tcp://127.0.0.1:${(server.address() as AddressInfo).port}` : `unix://${at}`;
  return {
    dockerHost,
    close: () => {
      for (const c of sockets) c.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Well above the query deadline (5 s), well below forever. */
const ANSWERS_WITHIN_MS = 15_000;

const which = (tool: string) => spawnSync('which', [tool], { encoding: 'utf8' }).stdout.trim();

/** A PATH that has git but no docker or docker-compose. */
function pathWithoutDocker(w: Workspace): string {
  const bin = join(w.root, 'bin');
  mkdirSync(bin);
  symlinkSync(which('git'), join(bin, 'git'));
  return bin;
}

const STACK_TRACE = /\n\s+at .+:\d+:\d+/;

describe('when Docker is missing or unreachable', () => {
  it('up says Docker is not installed, in one actionable line, exit 7', async () => {
    ws = workspace();
    await ws.run(['sandbox', 'create', 'x']);
    const r = await ws.run(['sandbox', 'up'], { cwd: join(ws.dev, 'ktrdr--x'), env: { PATH: pathWithoutDocker(ws) } });
    expect(r.code).toBe(7);
    expect(r.stderr).toContain('Docker is not installed');
    expect(r.stderr).toContain('Hint: Install Docker Engine');
    expect(r.stderr).not.toMatch(STACK_TRACE);
  });

  it('up says the daemon is not running when it cannot be reached, exit 7', async () => {
    ws = workspace();
    await ws.run(['sandbox', 'create', 'x']);
    const r = await ws.run(['sandbox', 'up', '--json'], {
      cwd: join(ws.dev, 'ktrdr--x'),
      env: { DOCKER_HOST: `unix://${join(ws.root, 'no-daemon.sock')}` },
    });
    expect(r.code).toBe(7);
    expect(parseJson(r.stderr).error).toMatchObject({
      code: 'docker-not-running',
      message: 'The Docker daemon is not running.',
    });
  });

  it('list still lists, with status unknown and the reason; destroy refuses unless --force', async () => {
    ws = workspace();
    await ws.run(['sandbox', 'create', 'x']);
    const env = { DOCKER_HOST: `unix://${join(ws.root, 'no-daemon.sock')}` };
    const list = await ws.run(['sandbox', 'list'], { env });
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^ktrdr--x\s+1\s+8001\s+\?\s+/m);
    expect(list.stderr).toContain('status unknown: The Docker daemon is not running.');
    const json = parseJson((await ws.run(['sandbox', 'list', '--json'], { env })).stdout).data;
    expect(json.instances[0].status).toBeNull();
    expect(json.engineError.code).toBe('docker-not-running');

    const d = await ws.run(['sandbox', 'destroy', 'x', '--yes'], { env });
    expect(d.code).toBe(7);
    expect(d.stderr).toContain('--force');
    const forced = await ws.run(['sandbox', 'destroy', 'x', '--force'], { env });
    expect(forced.code).toBe(0);
    expect(forced.stderr).toContain('Warning: The Docker daemon is not running.');
  });

  it('says clearly when no Compose is installed', async () => {
    ws = workspace();
    await ws.run(['sandbox', 'create', 'x']);
    const bin = pathWithoutDocker(ws);
    symlinkSync(which('docker'), join(bin, 'docker'));
    // docker is there, but KINFRA_COMPOSE=v1 asks for docker-compose, which is not.
    const r = await ws.run(['sandbox', 'down'], {
      cwd: join(ws.dev, 'ktrdr--x'),
      env: { PATH: bin, KINFRA_COMPOSE: 'v1' },
    });
    expect(r.code).toBe(7);
    expect(r.stderr).toContain('Docker Compose v1 (KINFRA_COMPOSE=v1) is not installed');
  });

  it(
    'a hung daemon (accepts connections, never answers): list answers with status unknown and doctor ' +
      'says so, both within seconds',
    async () => {
      ws = workspace();
      await ws.run(['sandbox', 'create', 'x']);
      const daemon = await hungDaemon(join(ws.root, 'hung.sock'));
      hung = daemon;
      const env = { DOCKER_HOST: daemon.dockerHost };

      let started = Date.now();
      const list = await ws.run(['sandbox', 'list', '--json'], { env, killAfterMs: ANSWERS_WITHIN_MS });
      const listMs = Date.now() - started;
      expect(list.code, `list did not answer within ${ANSWERS_WITHIN_MS} ms`).toBe(0);
      const data = parseJson(list.stdout).data;
      expect(data.instances[0]).toMatchObject({ instanceId: 'ktrdr--x', status: null });
      expect(data.engineError).toMatchObject({ code: 'docker-not-responding' });
      expect(data.engineError.message).toMatch(/^Docker is not responding: .* got no answer within 5 s\.$/);
      expect(data.engineError.hint).toContain('Restart Docker');
      // One deadline for the whole command, not one per query, and no second wait on the CLI.
      expect(listMs).toBeLessThan(10_000);

      started = Date.now();
      const doctor = await ws.run(['sandbox', 'doctor', '--json'], { env, killAfterMs: ANSWERS_WITHIN_MS });
      expect(doctor.code, `doctor did not answer within ${ANSWERS_WITHIN_MS} ms`).toBe(11);
      expect(Date.now() - started).toBeLessThan(10_000);
      const engine = parseJson(doctor.stdout).data.findings.find((f: { check: string }) => f.check === 'engine');
      expect(engine).toMatchObject({ status: 'problem' });
      expect(engine.message).toMatch(/^Docker is not responding: /);
      expect(engine.fix).toContain('Restart Docker');

      // A command that needs the engine fails with its own code, exit 7 (a shorter deadline, to keep the test quick).
      const up = await ws.run(['sandbox', 'up', '--json'], {
        cwd: join(ws.dev, 'ktrdr--x'),
        env: { ...env, KINFRA_ENGINE_TIMEOUT_MS: '1000' },
        killAfterMs: ANSWERS_WITHIN_MS,
      });
      expect(up.code).toBe(7);
      expect(parseJson(up.stderr).error.code).toBe('docker-not-responding');
    },
  );

  it(
    'a hung daemon the docker CLI talks to (DOCKER_HOST over TCP: no Engine API fast path): ' +
      'the CLI is killed at its deadline',
    async () => {
      ws = workspace();
      await ws.run(['sandbox', 'create', 'x']);
      const daemon = await hungDaemon(0);
      hung = daemon;
      // The default deadline is proven above; a shorter one keeps this test quick.
      const env = { DOCKER_HOST: daemon.dockerHost, KINFRA_ENGINE_TIMEOUT_MS: '1000' };
      const list = await ws.run(['sandbox', 'list', '--json'], { env, killAfterMs: ANSWERS_WITHIN_MS });
      expect(list.code, `list did not answer within ${ANSWERS_WITHIN_MS} ms`).toBe(0);
      const data = parseJson(list.stdout).data;
      expect(data.instances[0].status).toBeNull();
      expect(data.engineError.code).toBe('docker-not-responding');
      expect(data.engineError.message).toMatch(/`docker (ps|volume ls|network ls)` got no answer within 1 s/);
    },
  );
});
