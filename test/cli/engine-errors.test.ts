import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseJson, workspace, type Workspace } from '../helpers/cli.js';

let ws: Workspace;
afterEach(() => ws?.cleanup());

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
    const r = await ws.run(['sandbox', 'up', '--json'], { cwd: join(ws.dev, 'ktrdr--x'), env: { DOCKER_HOST: `unix://${join(ws.root, 'no-daemon.sock')}` } });
    expect(r.code).toBe(7);
    expect(parseJson(r.stderr).error).toMatchObject({ code: 'docker-not-running', message: 'The Docker daemon is not running.' });
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
    const r = await ws.run(['sandbox', 'down'], { cwd: join(ws.dev, 'ktrdr--x'), env: { PATH: bin, KINFRA_COMPOSE: 'v1' } });
    expect(r.code).toBe(7);
    expect(r.stderr).toContain('Docker Compose v1 (KINFRA_COMPOSE=v1) is not installed');
  });
});
