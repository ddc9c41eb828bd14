import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cliEnv, parseJson, type Workspace } from '../helpers/cli.js';
import {
  E2E_CONFIG,
  engineProxy,
  exampleWorkspace,
  leftovers,
  removeLeftovers,
  type EngineProxy,
} from '../helpers/docker.js';

/**
 * Issue 6, faults on a real engine: Ctrl-C while `up` waits for the gate, and the
 * Docker daemon vanishing in the middle of `up` and `list` (a socket proxy in
 * front of the real daemon is stopped; the engine itself keeps serving the other tests).
 */

// A gate check that can never pass, so `up` waits until interrupted. It asks the running backend for a status it never
// answers with: a check on a port no service publishes would be left out of the gate (and the gate could pass before
// the interrupt arrives).
const WAITING_CONFIG = E2E_CONFIG.replace(
  '    - { name: Observability',
  '    - { name: Never, kind: http, port: api, path: /api/v1/health, status: 299 }\n    - { name: Observability',
);

/** Run the CLI; call `when` with the child once stdout contains `marker`. */
function runUntil(
  ws: Workspace,
  args: string[],
  cwd: string,
  env: Record<string, string>,
  marker: string,
  when: (pid: number) => void | Promise<void>,
) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: cliEnv(ws.home, env) });
    let stdout = '';
    let stderr = '';
    let fired = false;
    const check = () => {
      if (!fired && (stdout + stderr).includes(marker)) {
        fired = true;
        void when(child.pid!);
      }
    };
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      check();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      check();
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('faults on a real engine', () => {
  let ws: Workspace;
  let proxy: EngineProxy;
  const dir = () => join(ws.dev, 'kte--faulty');

  beforeAll(async () => {
    removeLeftovers();
    ws = exampleWorkspace(WAITING_CONFIG);
    proxy = engineProxy(ws.root);
    await proxy.start();
    expect((await ws.run(['sandbox', 'create', 'faulty'])).code).toBe(0);
  });
  afterAll(async () => {
    await proxy.start().catch(() => undefined);
    await ws.run(['sandbox', 'destroy', 'faulty', '--yes', '--force']);
    await proxy.stop();
    removeLeftovers();
    ws.cleanup();
  });

  it(
    'Ctrl-C while up waits for the gate: exit 130, the containers keep running, ' + 'and status tells the truth',
    async () => {
      const r = await runUntil(ws, ['sandbox', 'up', '--timeout', '300'], dir(), {}, '✓ Database ready', (pid) => {
        process.kill(pid, 'SIGINT');
      });
      expect(r.code, r.stderr).toBe(130);
      expect(r.stderr).toContain(
        'Interrupted while waiting for the Startability Gate of kte--faulty; its containers keep running.',
      );
      expect(r.stderr).toContain('kinfra sandbox status');
      expect(r.stderr).not.toMatch(/at .*\.js:\d+/);

      const status = await ws.run(['sandbox', 'status', '--json'], { cwd: dir() });
      expect(status.code, status.stderr).toBe(0);
      const data = parseJson(status.stdout).data;
      expect(data.containers.running).toBe(9);
      expect(leftovers('kte--faulty').containers).toHaveLength(9);
      const list = parseJson((await ws.run(['sandbox', 'list', '--json'])).stdout).data;
      expect(list.instances[0].status).toBe('running');
    },
  );

  it(
    'the daemon vanishing in the middle of up: a clear engine error (exit 7), nothing corrupted; ' +
      'once it is back the next up works',
    async () => {
      expect((await ws.run(['sandbox', 'down'], { cwd: dir() })).code).toBe(0);
      const registryBefore = readFileSync(join(ws.home, '.ktrdr/sandboxes/registry.json'), 'utf8');
      const env = { DOCKER_HOST: proxy.host };
      // compose prints "Container ... Creating/Started" as it goes: stop the daemon then.
      const r = await runUntil(ws, ['sandbox', 'up', '--no-wait'], dir(), env, 'Container', () => proxy.stop());
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(7);
      expect(r.stderr).toContain('The Docker daemon is not running.');
      expect(r.stderr).toMatch(/Hint: Start it/);
      expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
      expect(readFileSync(join(ws.home, '.ktrdr/sandboxes/registry.json'), 'utf8')).toBe(registryBefore);

      await proxy.start();
      const again = await ws.run(['sandbox', 'up', '--no-wait'], { cwd: dir(), env });
      expect(again.code, again.stderr).toBe(0);
      const list = parseJson((await ws.run(['sandbox', 'list', '--json'], { env })).stdout).data;
      expect(list.instances[0].status).toBe('running');
    },
  );

  it(
    'the daemon gone during list: the list still shows the registry, says status is unknown and why, ' +
      'and the next list has status again',
    async () => {
      const env = { DOCKER_HOST: proxy.host };
      await proxy.stop();
      const r = await ws.run(['sandbox', 'list'], { env });
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/kte--faulty\s+1\s+28001\s+\?/);
      expect(r.stderr).toContain('status unknown: The Docker daemon is not running.');
      const doctor = await ws.run(['sandbox', 'doctor', '--json'], { env });
      expect(doctor.code).toBe(11);
      expect(parseJson(doctor.stdout).data.findings[0]).toMatchObject({
        check: 'engine',
        status: 'problem',
        message: 'The Docker daemon is not running.',
      });

      await proxy.start();
      const back = parseJson((await ws.run(['sandbox', 'list', '--json'], { env })).stdout).data;
      expect(back.instances[0].status).toBe('running');
      expect(back.engineError).toBeNull();
    },
  );
});
