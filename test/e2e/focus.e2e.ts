import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probePostgres } from '../../src/adapters/probes.js';
import { parseJson, type Workspace } from '../helpers/cli.js';
import { buildExampleImages, E2E_CONFIG, exampleWorkspace, removeLeftovers, requireEngine } from '../helpers/docker.js';

/**
 * Issue 16, item 3 on a real engine: the example stack's sandbox runs; `focus` makes the main checkout's API and
 * database ports (slot 0) reach it (its health answer through the slot-0 API port, the Postgres protocol through the
 * slot-0 database port), and refuses while a foreign process holds the slot-0 API port, naming it.
 *
 * Own compose-project prefix (kfe--) and ports (48xxx-49xxx), so it never meets another suite's stacks; one sandbox.
 */
const PREFIX = 'kfe';
const ID = `${PREFIX}--review`;
const API0 = 48000;
const DB0 = 48200;
const CONFIG = E2E_CONFIG.replace(/^prefix: \w+/m, `prefix: ${PREFIX}`)
  .replace('base: 28000', `base: ${API0}`)
  .replace('base: 25432', `base: ${DB0}`)
  .replace('base: 23000', 'base: 48400')
  .replace('base: 36686', 'base: 48600')
  .replace('base: 24317', 'base: 48800')
  .replace('base: 24318', 'base: 48801')
  .replace('base: 29090', 'base: 49000')
  .replace('base: 25000, step: 10, main: 25003', 'base: 49200, step: 10, main: 49203');

let ws: Workspace;
let holder: ChildProcess | undefined;
let created = false;

const registryFile = () => join(ws.home, '.ktrdr/sandboxes/registry.json');
/** Focus forwarders of this suite's registry that run now (their command line names it). */
const forwarders = () =>
  readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const args = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
        return args.includes('focus-serve') && args.includes(registryFile());
      } catch {
        return false;
      }
    })
    .map(Number);

async function health(port: number): Promise<{ status: number; body: string } | string> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/health`, { signal: AbortSignal.timeout(5000) });
    return { status: res.status, body: await res.text() };
  } catch (e) {
    return (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
  }
}

beforeAll(async () => {
  expect([...CONFIG.matchAll(/base: (\d+)/g)].filter((m) => Number(m[1]) < 48000)).toEqual([]);
  requireEngine();
  removeLeftovers(`${PREFIX}--`);
  buildExampleImages();
  ws = exampleWorkspace(CONFIG);
  const c = await ws.run(['sandbox', 'create', 'review']);
  expect(c.code, c.stderr).toBe(0);
  created = true;
  const up = await ws.run(['sandbox', 'up', '--timeout', '90'], { cwd: join(ws.dev, ID) });
  expect(up.code, up.stdout + up.stderr).toBe(0);
}, 180_000);

afterAll(async () => {
  holder?.kill('SIGKILL');
  if (ws) {
    await ws.run(['sandbox', 'focus', '--off']);
    for (const pid of forwarders()) process.kill(pid, 'SIGKILL');
    if (created) await ws.run(['sandbox', 'destroy', ID, '--force', '--yes']);
  }
  removeLeftovers(`${PREFIX}--`);
  ws?.cleanup();
}, 120_000);

describe('focus on a real engine: the main checkout ports reach a running sandbox (issue 16)', () => {
  it("forwards the slot-0 API and database ports to the sandbox's", async () => {
    expect(await health(API0), 'nothing on the slot-0 API port before the focus').toBe('ECONNREFUSED');
    const on = await ws.run(['sandbox', 'focus', 'review', '--json']);
    expect(on.code, on.stderr).toBe(0);
    const ports = parseJson(on.stdout).data.focus.ports as { name: string; from: number; to: number }[];
    expect(ports).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'api', from: API0, to: API0 + 1 }),
        expect.objectContaining({ name: 'db', from: DB0, to: DB0 + 1 }),
      ]),
    );
    const direct = await health(API0 + 1);
    expect(direct).toMatchObject({ status: 200 });
    expect(await health(API0)).toEqual(direct);
    const pg = await probePostgres(DB0, { timeoutMs: 5000 });
    expect(pg, pg.got).toMatchObject({ ok: true, got: 'accepting connections' });

    const off = await ws.run(['sandbox', 'focus', '--off']);
    expect(off.code, off.stderr).toBe(0);
    expect(await health(API0)).toBe('ECONNREFUSED');
  }, 60_000);

  it('refuses while a foreign process holds the slot-0 API port, naming it; nothing starts', async () => {
    holder = spawn(process.execPath, ['-e', `require('net').createServer().listen(${API0}, '127.0.0.1')`]);
    for (let i = 0; i < 100 && (await health(API0)) === 'ECONNREFUSED'; i++)
      await new Promise((r) => setTimeout(r, 50));
    const r = await ws.run(['sandbox', 'focus', 'review', '--json']);
    expect(r.code, r.stdout).toBe(3);
    const error = parseJson(r.stderr).error;
    expect(error.code).toBe('focus-port-held');
    expect(error.message).toContain(`port ${API0} is process ${holder.pid}'s`);
    expect(forwarders()).toEqual([]);
    expect(JSON.parse(readFileSync(registryFile(), 'utf8')).focus).toBeUndefined();
  }, 60_000);
});
