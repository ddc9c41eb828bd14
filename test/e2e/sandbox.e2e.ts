import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeHttp, probeTcp } from '../../src/adapters/probes.js';
import { parseJson, type Workspace } from '../helpers/cli.js';
import { successDocument } from '../../src/docs/json-output.js';
import {
  buildExampleImages,
  containerOf,
  dockerStop,
  exampleWorkspace,
  leftovers,
  removeLeftovers,
  requireEngine,
} from '../helpers/docker.js';

/**
 * Seed 001 scenario 3 and seed 003, on a real Docker Engine, with Compose v2
 * and v1: two sandboxes of the example stack side by side.
 */
beforeAll(() => {
  requireEngine();
  removeLeftovers();
  buildExampleImages();
}, 600_000);
afterAll(() => removeLeftovers());

const HTTP_PORTS = ['api', 'grafana', 'jaeger_ui', 'prometheus', 'worker_1', 'worker_2', 'worker_3', 'worker_4'];

describe.each(['v2', 'v1'])('sandboxes on a real engine with Compose %s', (compose) => {
  let ws: Workspace;
  let holder: ChildProcess | undefined;
  const env = { KINFRA_COMPOSE: compose };
  const a = () => join(ws.dev, 'kte--alpha');
  const b = () => join(ws.dev, 'kte--beta');
  const run = (args: string[], cwd?: string) => ws.run(args, { env, ...(cwd ? { cwd } : {}) });

  beforeAll(async () => {
    ws = exampleWorkspace();
    expect((await run(['sandbox', 'create', 'alpha'])).code).toBe(0);
    expect((await run(['sandbox', 'create', 'beta'])).code).toBe(0);
  });
  afterAll(async () => {
    holder?.kill('SIGKILL');
    for (const dir of [a(), b()]) if (existsSync(dir)) await run(['sandbox', 'destroy', '--force'], dir);
    removeLeftovers();
    ws.cleanup();
  });

  it('brings both up in parallel; both gates pass and print their URLs', async () => {
    const [ra, rb] = await Promise.all([
      run(['sandbox', 'up', '--timeout', '240'], a()),
      run(['sandbox', 'up', '--timeout', '240', '--json'], b()),
    ]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(ra.stdout).toContain('Starting instance: kte--alpha (slot 1)');
    expect(ra.stdout).toContain('✓ Database ready');
    expect(ra.stdout).toContain('✓ Backend healthy');
    expect(ra.stdout).toContain('✓ Workers registered (4)');
    expect(ra.stdout).toContain('✓ Observability ready');
    expect(ra.stdout).toContain('Startability Gate: PASSED');
    expect(ra.stdout).toContain('API: http://localhost:28001/api/v1/docs');
    expect(rb.code, rb.stderr).toBe(0);
    const doc = parseJson(rb.stdout);
    expect(successDocument('up').safeParse(doc).error?.issues ?? []).toEqual([]);
    expect(doc.data.gate.passed).toBe(true);
    expect(doc.data.gate.checks.map((c: { status: string }) => c.status)).toEqual([
      'passed',
      'passed',
      'passed',
      'passed',
    ]);
  });

  it('every published port of both sandboxes answers', async () => {
    for (const dir of [a(), b()]) {
      const statusDoc = parseJson((await run(['sandbox', 'status', '--json'], dir)).stdout);
      expect(successDocument('status').safeParse(statusDoc).error?.issues ?? []).toEqual([]);
      const created = statusDoc.data;
      // Docker's own healthchecks may still be deciding right after the gate passed: never counted as healthy.
      expect(created.containers).toMatchObject({
        state: 'running',
        total: 9,
        running: 9,
        unhealthy: 0,
        withHealthcheck: 2,
      });
      expect(created.containers.healthy + created.containers.starting).toBe(2);
      expect(created.workers.every((w: { registered: boolean }) => w.registered)).toBe(true);
      const reg = JSON.parse(readFileSync(join(ws.home, '.ktrdr/sandboxes/registry.json'), 'utf8'));
      const ports = reg.instances[dir.split('/').pop()!].ports as Record<string, number>;
      expect(Object.keys(ports)).toHaveLength(11);
      for (const [name, port] of Object.entries(ports)) {
        const o = HTTP_PORTS.includes(name)
          ? await probeHttp(port, name === 'api' ? '/api/v1/health' : name.startsWith('worker') ? '/health' : '/')
          : await probeTcp(port);
        expect(o.ok, `${name} ${port}: ${o.got}`).toBe(true);
      }
    }
  });

  it('list shows both running; re-running up on a running sandbox is no conflict', async () => {
    const list = parseJson((await run(['sandbox', 'list', '--json'])).stdout).data;
    expect(list.instances.map((i: { status: string }) => i.status)).toEqual(['running', 'running']);
    expect(list.orphans).toEqual([]);
    const again = await run(['sandbox', 'up', '--timeout', '120'], b());
    expect(again.code, again.stderr).toBe(0);
  });

  it('a stopped backend fails the gate with exit 2 and says exactly what is not ready', async () => {
    dockerStop(containerOf('kte--alpha', 'backend'));
    const r = await run(['sandbox', 'gate', '--timeout', '3'], a());
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('✓ Database ready');
    expect(r.stdout).toContain('✗ Backend health check failed');
    expect(r.stdout).toContain('→ GET http://localhost:28001/api/v1/health returned connection refused');
    expect(r.stdout).toContain('○ Workers skipped (Backend not ready)');
    expect(r.stdout).toContain('Startability Gate: FAILED');
    expect(r.stderr).toContain('kinfra sandbox logs');
    const list = parseJson((await run(['sandbox', 'list', '--json'])).stdout).data;
    expect(list.instances[0].status).toBe('partial 8/9');
    // The other sandbox is unaffected.
    expect((await run(['sandbox', 'gate', '--timeout', '30'], b())).code).toBe(0);
  });

  it('refuses to start with exit 3 when a foreign process holds a slot port, naming it', async () => {
    expect((await run(['sandbox', 'down'], a())).code).toBe(0);
    holder = spawn(process.execPath, [
      '-e',
      "require('net').createServer().listen(28001, '127.0.0.1'); setInterval(() => {}, 1e6)",
    ]);
    await new Promise((r) => setTimeout(r, 500));
    const r = await run(['sandbox', 'up'], a());
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('port 28001 (KTRDR_API_PORT) is held by process');
    expect(r.stderr).toContain(String(holder.pid));
    holder.kill('SIGKILL');
    holder = undefined;

    // A port held by another sandbox is named as that sandbox: point alpha's API port at beta's (in the registry
    // and the file alike: the registry decides, and a file that disagrees with it is refused before any port check).
    const envFile = join(a(), '.env.sandbox');
    const registryFile = join(ws.home, '.ktrdr/sandboxes/registry.json');
    const original = readFileSync(envFile, 'utf8');
    const originalRegistry = readFileSync(registryFile, 'utf8');
    const edited = JSON.parse(originalRegistry);
    edited.instances['kte--alpha'].ports.api = 28002;
    writeFileSync(registryFile, JSON.stringify(edited, null, 2));
    writeFileSync(envFile, original.replace('KTRDR_API_PORT=28001', 'KTRDR_API_PORT=28002'));
    const clash = await run(['sandbox', 'up'], a());
    writeFileSync(envFile, original);
    writeFileSync(registryFile, originalRegistry);
    expect(clash.code).toBe(3);
    expect(clash.stderr).toContain('port 28002 (KTRDR_API_PORT) is held by sandbox kte--beta (service backend)');
    // Nothing was corrupted on the way.
    const reg = JSON.parse(readFileSync(join(ws.home, '.ktrdr/sandboxes/registry.json'), 'utf8'));
    expect(Object.keys(reg.instances).sort()).toEqual(['kte--alpha', 'kte--beta']);
  });

  it("logs shows a service's output, and shell runs a command in its container", async () => {
    const logs = await run(['sandbox', 'logs', 'backend', '-n', '20'], b());
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toMatch(/backend/);
    // No terminal here, so shell runs non-interactively and reads the commands from stdin.
    const shell = await ws.run(['sandbox', 'shell', 'backend'], {
      cwd: b(),
      env,
      input: 'echo "inside $((6 * 7))"\nexit\n',
    });
    expect(shell.code, shell.stderr).toBe(0);
    expect(shell.stdout).toContain('inside 42');
  });

  it('destroy removes containers, networks and volumes of both, and leaves nothing behind', async () => {
    for (const dir of [a(), b()]) {
      const r = await run(['sandbox', 'destroy', '--yes'], dir);
      expect(r.code, r.stderr).toBe(0);
      expect(existsSync(dir)).toBe(false);
    }
    expect(leftovers()).toEqual({ containers: [], volumes: [], networks: [] });
    const list = parseJson((await run(['sandbox', 'list', '--json'])).stdout).data;
    expect(list.instances).toEqual([]);
  });
});

describe('orphaned compose projects (seed 000 scenario 2)', () => {
  let ws: Workspace;
  beforeAll(async () => {
    ws = exampleWorkspace();
  });
  afterAll(() => {
    removeLeftovers();
    ws.cleanup();
  });

  it(
    'after the registry is lost, list warns about the running project with its volumes and ' +
      'networks, and deletes nothing',
    async () => {
      expect((await ws.run(['sandbox', 'create', 'orphan-test'])).code).toBe(0);
      const dir = join(ws.dev, 'kte--orphan-test');
      const up = await ws.run(['sandbox', 'up', '--no-wait'], { cwd: dir });
      expect(up.code, up.stderr).toBe(0);
      rmSync(join(ws.home, '.ktrdr'), { recursive: true, force: true });

      const r = await ws.run(['sandbox', 'list']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('No sandboxes.');
      expect(r.stdout).toContain('found orphaned compose projects that no sandbox owns');
      expect(r.stdout).toMatch(/kte--orphan-test: 9 container\(s\) \(\d running\), 1 volume\(s\), 1 network\(s\)/);
      const doc = parseJson((await ws.run(['sandbox', 'list', '--json'])).stdout).data;
      expect(doc.orphans).toEqual([
        expect.objectContaining({
          project: 'kte--orphan-test',
          containers: 9,
          volumes: ['kte--orphan-test_db-data'],
          networks: ['kte--orphan-test_default'],
        }),
      ]);
      expect(leftovers().containers).toHaveLength(9);

      // init re-registers it on its slot; the orphan warning goes away.
      expect((await ws.run(['sandbox', 'init'], { cwd: dir })).code).toBe(0);
      const after = parseJson((await ws.run(['sandbox', 'list', '--json'])).stdout).data;
      expect(after.orphans).toEqual([]);
      expect(after.instances[0]).toMatchObject({ instanceId: 'kte--orphan-test', slot: 1 });
      expect(after.instances[0].status).toMatch(/running|partial/);
    },
  );
});
