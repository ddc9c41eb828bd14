import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cliEnv, type Workspace } from '../helpers/cli.js';
import {
  buildExampleImages,
  containerOf,
  dockerStop,
  E2E_CONFIG,
  exampleWorkspace,
  leftovers,
  removeLeftovers,
  requireEngine,
} from '../helpers/docker.js';
import { closedPort } from '../helpers/servers.js';

/**
 * Issue 15 on a real Docker Engine: an agent drives `kinfra mcp` with the official SDK's client over stdio, from the
 * main checkout of the example stack. It creates a sandbox, brings it up (watching the progress), waits for the
 * gate, reads its logs, asks who holds ports (free, the sandbox, a foreign compose project, a foreign process), sees
 * the gate fail when the backend stops and recovers with `up`, and destroys it, refused while there is unsaved work.
 *
 * Own compose-project prefix (kmcp--) and ports (44xxx), so it never meets another suite's stacks; one sandbox.
 */
const PREFIX = 'kmcp';
const NAME = 'story';
const ID = `${PREFIX}--${NAME}`;
/** The foreign compose project of the port_owner story: not kinfra's, not under its prefix. */
const FOREIGN = 'kmcpforeign';

// The E2E layout with this suite's prefix and ports, 200 apart (slots 0-10 never meet): slot 1 has API 44001, ...
const CONFIG = E2E_CONFIG.replace(/^prefix: \w+/m, `prefix: ${PREFIX}`)
  .replace('base: 28000', 'base: 44000')
  .replace('base: 25432', 'base: 44200')
  .replace('base: 23000', 'base: 44400')
  .replace('base: 36686', 'base: 44600')
  .replace('base: 24317', 'base: 44800')
  .replace('base: 24318', 'base: 44801')
  .replace('base: 29090', 'base: 45000')
  .replace('base: 25000, step: 10, main: 25003', 'base: 45200, step: 10, main: 45203');

type Result = { isError?: boolean; structuredContent?: any; content: { type: string; text: string }[] };
type Check = { name: string; status: string; message: string; details: string[]; tried?: unknown };

let ws: Workspace;
let agent: Client;
let holder: ChildProcess | undefined;
let foreignDir: string | undefined;
/** The sandbox's folder and ports, once `create` made it. */
let made: { path: string; ports: Record<string, number> } | undefined;
let upped = false;
/** The end of the server's stderr. */
let serverLog = '';
/** Progress messages of the current call that the client dropped (see callWatching). */
let late: string[] = [];

const call = async (name: string, args: Record<string, unknown> = {}) =>
  (await agent.callTool({ name, arguments: args })) as Result;
/**
 * A long call as a patient agent makes it (each progress notification restarts its timeout), with every progress
 * message it sent: those the SDK's client passes to `onprogress`, and those it drops because they came with the
 * response (it dispatches notifications a microtask late, after the response retired the token, and reports each
 * as an error: typescript-sdk issue 2580).
 */
async function callWatching(name: string, args: Record<string, unknown>) {
  const messages: string[] = [];
  late = [];
  const result = (await agent.callTool({ name, arguments: args }, undefined, {
    onprogress: (p) => void messages.push(p.message ?? ''),
    resetTimeoutOnProgress: true,
    timeout: 300_000,
  })) as Result;
  await new Promise((done) => setImmediate(done));
  return { result, messages: [...messages, ...late] };
}
const errorOf = (r: Result) => JSON.parse(r.content[1]!.text).error;
const show = (r: Result) => `${r.content.map((c) => c.text).join('\n')}\nserver stderr:\n${serverLog}`;

function docker(args: string[], cwd?: string): string {
  const r = spawnSync('docker', args, { encoding: 'utf8', cwd });
  if (r.status !== 0) throw new Error(`docker ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** The compose services of the sandbox that have a container, from the engine itself. */
function servicesOf(project: string): string[] {
  const out = docker([
    'ps',
    '-a',
    '--filter',
    `label=com.docker.compose.project=${project}`,
    '--format',
    '{{.Label "com.docker.compose.service"}}',
  ]);
  return [...new Set(out.split('\n').filter(Boolean))].sort();
}

function foreignDown(): void {
  spawnSync('docker', ['compose', '-p', FOREIGN, 'down', '-v', '-t', '1'], { encoding: 'utf8' });
  removeLeftovers(FOREIGN);
}

beforeAll(async () => {
  // Every port moved off the other suites' (a change to E2E_CONFIG that the replacements miss shows here).
  expect([...CONFIG.matchAll(/base: (\d+)/g)].filter((m) => Number(m[1]) < 44000)).toEqual([]);
  requireEngine();
  removeLeftovers(`${PREFIX}--`);
  foreignDown();
  buildExampleImages();
  ws = exampleWorkspace(CONFIG);
  // The agent's server runs in the main checkout, as an agent working on the project would start it.
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, 'mcp'],
    cwd: ws.repo,
    env: cliEnv(ws.home) as Record<string, string>,
    stderr: 'pipe',
  });
  // What compose prints (stdout is the protocol's): kept for the failure messages, not the test's output.
  transport.stderr?.on('data', (d: Buffer) => (serverLog = (serverLog + d.toString()).slice(-4000)));
  agent = new Client({ name: 'kinfra-e2e', version: '1' });
  agent.onerror = (e) => {
    const dropped = /progress notification for an unknown token: (\{.*\})$/s.exec(e.message)?.[1];
    if (dropped) late.push(JSON.parse(dropped).params.message);
  };
  await agent.connect(transport);
}, 600_000);

afterAll(async () => {
  holder?.kill('SIGKILL');
  await agent?.close().catch(() => undefined);
  foreignDown();
  if (foreignDir) rmSync(foreignDir, { recursive: true, force: true });
  if (made && existsSync(made.path)) await ws.run(['sandbox', 'destroy', ID, '--force', '--yes']);
  removeLeftovers(`${PREFIX}--`);
  ws?.cleanup();
}, 300_000);

describe('an agent runs a sandbox through kinfra mcp on a real engine (issue 15)', () => {
  let backendCheck: string | undefined;

  it('create, then up with progress notifications, then wait_ready: every check passed', async () => {
    const created = await call('create', { name: NAME });
    expect(created.isError, show(created)).toBeFalsy();
    expect(created.structuredContent).toMatchObject({ instanceId: ID, slot: 1, path: join(ws.dev, ID) });
    made = created.structuredContent;
    expect(made!.ports.api).toBe(44001);

    const { result: up, messages: seen } = await callWatching('up', { sandbox: NAME });
    expect(up.isError, show(up)).toBeFalsy();
    upped = true;
    expect(up.structuredContent).toMatchObject({ instanceId: ID, slot: 1, gate: { passed: true } });
    expect(up.structuredContent.urls).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'api', url: 'http://localhost:44001/api/v1/docs' })]),
    );
    expect(seen[0], seen.join('\n')).toBe(`Starting instance: ${ID} (slot 1)`);
    expect(seen, seen.join('\n')).toContainEqual(expect.stringMatching(/^Startability Gate: \d of 4 checks settled/));
    expect(seen.at(-1), seen.join('\n')).toBe('Startability Gate: passed');

    const { result: ready, messages: waited } = await callWatching('wait_ready', { sandbox: NAME });
    expect(ready.isError, show(ready)).toBeFalsy();
    expect([waited[0], waited.at(-1)], waited.join('\n')).toEqual([
      `Startability Gate: ${ID} (slot 1)`,
      'Startability Gate: passed',
    ]);
    const gate = ready.structuredContent.gate as { passed: boolean; checks: Check[] };
    expect(gate.passed).toBe(true);
    expect(gate.checks.map((c) => c.name)).toEqual(['Database', 'Backend', 'Workers', 'Observability']);
    for (const c of gate.checks) {
      expect(c.status, `${c.name}: ${c.message}`).toBe('passed');
      // Fields being added to the gate (what a check tried, what came back): strings when present.
      if (c.tried !== undefined) expect(typeof c.tried).toBe('string');
    }
    // The backend's check: by what it tries (its health URL on the sandbox's API port) where the gate says so.
    const health = `localhost:${made!.ports.api}/api/v1/health`;
    backendCheck = (
      gate.checks.find((c) => typeof c.tried === 'string' && c.tried.includes(health)) ??
      gate.checks.find((c) => /backend/i.test(c.name))
    )?.name;
    expect(backendCheck, JSON.stringify(gate.checks)).toBe('Backend');
  }, 300_000);

  it('logs: the last lines of one service, bounded; without a service, every service with a container', async () => {
    expect(upped, 'the sandbox is up').toBe(true);
    const one = await call('logs', { sandbox: NAME, service: 'backend', tail: 5 });
    expect(one.isError, show(one)).toBeFalsy();
    expect(one.structuredContent.instanceId).toBe(ID);
    expect(one.structuredContent.services).toHaveLength(1);
    expect(one.structuredContent.services[0].service).toBe('backend');
    expect(one.structuredContent.services[0].lines.length).toBeLessThanOrEqual(5);

    const all = await call('logs', { sandbox: NAME });
    expect(all.isError, show(all)).toBeFalsy();
    const services = (all.structuredContent.services as { service: string }[]).map((s) => s.service);
    expect(services.length).toBe(9);
    expect([...services].sort()).toEqual(servicesOf(ID));
  }, 120_000);

  it('port_owner: a free port, the sandbox (asked from the main checkout), a foreign project, a process', async () => {
    expect(upped, 'the sandbox is up').toBe(true);
    const owner = async (port: number) => {
      const r = await call('port_owner', { port });
      expect(r.isError, show(r)).toBeFalsy();
      expect(r.structuredContent.ports).toHaveLength(1);
      return r.structuredContent.ports[0];
    };

    const free = await closedPort();
    expect(await owner(free)).toMatchObject({ port: free, state: 'free', sandbox: null, pid: null });

    const api = made!.ports.api!;
    expect(await owner(api)).toMatchObject({
      port: api,
      state: 'sandbox',
      sandbox: ID,
      project: ID,
      service: 'backend',
      container: expect.stringContaining(`${ID}-backend`),
      reservedFor: ID,
    });

    // A compose project kinfra did not make, in a folder of its own: its port is held by Docker's proxy.
    foreignDir = realpathSync(mkdtempSync(join(tmpdir(), 'kinfra-foreign-')));
    const foreignPort = await closedPort();
    writeFileSync(
      join(foreignDir, 'docker-compose.yml'),
      `services:
  holder:
    image: debian:bookworm-slim
    pull_policy: never
    init: true
    command: ["sleep", "infinity"]
    ports:
      - "127.0.0.1:${foreignPort}:8080"
`,
    );
    docker(['compose', '-p', FOREIGN, 'up', '-d'], foreignDir);
    try {
      expect(await owner(foreignPort)).toMatchObject({
        port: foreignPort,
        state: 'compose-project',
        project: FOREIGN,
        service: 'holder',
        container: `${FOREIGN}-holder-1`,
        workingDir: foreignDir,
        sandbox: null,
        reservedFor: null,
      });
    } finally {
      foreignDown();
    }

    const processPort = await closedPort();
    const code = `require('net').createServer().listen(${processPort}, '127.0.0.1', () => console.log('up'))`;
    holder = spawn(process.execPath, ['-e', code], { cwd: foreignDir, stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((done) => holder!.stdout!.once('data', done));
    expect(await owner(processPort)).toMatchObject({
      port: processPort,
      state: 'process',
      pid: holder.pid,
      workingDir: foreignDir,
      sandbox: null,
    });
    holder.kill('SIGKILL');
    holder = undefined;
  }, 120_000);

  it('wait_ready fails with the backend stopped, naming the check and what it tried; up brings it back', async () => {
    expect(upped && backendCheck, 'the sandbox is up and its backend check known').toBeTruthy();
    dockerStop(containerOf(ID, 'backend'));
    const r = await call('wait_ready', { sandbox: NAME, timeout: 20 });
    expect(r.isError).toBe(true);
    const error = errorOf(r);
    expect(error, show(r)).toMatchObject({ code: 'gate-failed', category: 'gate' });
    expect(error.message).toContain(backendCheck);
    const checks = error.details.gate.checks as Check[];
    expect(error.details.gate.passed).toBe(false);
    const failed = checks.find((c) => c.name === backendCheck)!;
    expect(failed, JSON.stringify(checks)).toMatchObject({ status: 'failed' });
    // What it tried and what came back (the health URL on the sandbox's API port), and why: the container exited.
    expect(failed.details, JSON.stringify(failed)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^GET http://localhost:${made!.ports.api}/api/v1/health returned \\S`)),
        expect.stringContaining('the container of service backend has exited'),
      ]),
    );
    expect(checks.find((c) => c.name === 'Database')?.status).toBe('passed');
    expect(checks.find((c) => c.name === 'Workers')?.status).toBe('skipped');

    const { result: again } = await callWatching('up', { sandbox: NAME });
    expect(again.isError, show(again)).toBeFalsy();
    expect(again.structuredContent.gate.passed).toBe(true);
  }, 300_000);

  it('destroy refuses while there is unsaved work, then removes the sandbox and everything it ran', async () => {
    expect(made, 'the sandbox was created').toBeDefined();
    const notes = join(made!.path, 'notes.txt');
    writeFileSync(notes, 'unsaved\n');
    const refused = await call('destroy', { name: NAME, yes: true });
    expect(refused.isError).toBe(true);
    expect(errorOf(refused), show(refused)).toMatchObject({ code: 'work-at-risk' });
    expect(JSON.stringify(errorOf(refused))).toContain('notes.txt');
    // Nothing was removed: still registered, still running.
    const listed = await call('list');
    expect(listed.structuredContent.instances.map((i: { instanceId: string }) => i.instanceId)).toEqual([ID]);
    expect(containerOf(ID, 'backend')).not.toBe('');

    rmSync(notes);
    const destroyed = await call('destroy', { name: NAME, yes: true });
    expect(destroyed.isError, show(destroyed)).toBeFalsy();
    expect(destroyed.structuredContent).toMatchObject({ instanceId: ID, removesFolder: true });
    expect(destroyed.structuredContent.removed.containers).toBe(9);
    expect((await call('list')).structuredContent.instances).toEqual([]);
    expect(existsSync(made!.path)).toBe(false);
    expect(leftovers(ID)).toEqual({ containers: [], volumes: [], networks: [] });
  }, 180_000);
});
