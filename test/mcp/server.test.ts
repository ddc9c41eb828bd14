import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterEach, describe, expect, it } from 'vitest';
import { toolSchemas } from '../../src/operations/tool-schemas.js';
import { catalogueTools } from '../../src/operations/tools.js';
import { CATALOGUE } from '../../src/operations/catalogue.js';
import { CLI, cliEnv, REPO_ROOT, workspace, type Workspace } from '../helpers/cli.js';
import { closedPort } from '../helpers/servers.js';

/**
 * Issue 15, item 1: `kinfra mcp`, driven by the official SDK's own client over stdio. Its tools are the catalogue's
 * operations with the CLI's schemas and refusals: no force flag unless the server allows it, unsaved work is never
 * destroyed, two agents at once get distinct slots.
 */
let ws: Workspace | undefined;
const clients: Client[] = [];
let holder: { child: ChildProcess; pid: number; cwd: string } | undefined;
afterEach(async () => {
  holder?.child.kill('SIGKILL');
  if (holder) rmSync(holder.cwd, { recursive: true, force: true });
  holder = undefined;
  for (const c of clients.splice(0)) await c.close().catch(() => undefined);
  ws?.cleanup();
  ws = undefined;
});

async function connect(w: Workspace, args: string[] = []): Promise<Client> {
  const env = cliEnv(w.home) as Record<string, string>;
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, 'mcp', ...args],
    cwd: w.repo,
    env,
  });
  const client = new Client({ name: 'kinfra-test', version: '1' });
  await client.connect(transport);
  clients.push(client);
  return client;
}

/** Another process listening on `port`, started in a folder of its own. */
async function foreignListener(port: number) {
  const cwd = realpathSync(mkdtempSync(join(tmpdir(), 'kinfra-holder-')));
  const code = `require('net').createServer().listen(${port}, '127.0.0.1', () => console.log('up'))`;
  const child = spawn(process.execPath, ['-e', code], { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((done) => child.stdout!.once('data', done));
  return { child, pid: child.pid!, cwd };
}

type Result = { isError?: boolean; structuredContent?: any; content: { type: string; text: string }[] };
const call = async (c: Client, name: string, args: Record<string, unknown> = {}) =>
  (await c.callTool({ name, arguments: args })) as Result;
const errorOf = (r: Result) => JSON.parse(r.content[1]!.text).error;

describe('kinfra mcp (issue 15)', () => {
  it('lists the catalogue as tools: schemas, annotations, no terminal commands, force only if allowed', async () => {
    ws = workspace();
    const tools = (await (await connect(ws)).listTools()).tools;
    const names = tools.map((t) => t.name);
    const wanted = ['whoami', 'list', 'status', 'ports', 'port_owner', 'wait_ready', 'create', 'up', 'down'];
    wanted.push('destroy', 'claim', 'release', 'logs', 'doctor');
    expect(names).toEqual(expect.arrayContaining(wanted));
    for (const never of ['exec', 'shell', 'compose', 'api', 'mcp', 'completion', 'gate'])
      expect(names).not.toContain(never);
    expect(new Set(names).size).toBe(names.length);
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    expect(byName.list!.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false });
    expect(byName.destroy!.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true });
    expect(byName.whoami!.outputSchema?.properties).toHaveProperty('sandbox');
    expect(Object.keys(byName.destroy!.inputSchema.properties ?? {})).not.toContain('force');
    expect(Object.keys(byName.release!.inputSchema.properties ?? {})).not.toContain('force');
    // A view offers what it leaves open: port_owner requires its port and hides `who`; ports offers neither.
    expect(byName.port_owner!.inputSchema.required).toEqual(['port']);
    expect(Object.keys(byName.port_owner!.inputSchema.properties ?? {})).not.toContain('who');
    expect(Object.keys(byName.ports!.inputSchema.properties ?? {})).not.toContain('port');
    expect(Object.keys(byName.claim!.inputSchema.properties ?? {})).not.toContain('fromPool');
    expect(byName.wait_ready!.outputSchema?.properties).toHaveProperty('gate');
    const allowed = (await (await connect(ws, ['--allow-force'])).listTools()).tools;
    expect(Object.keys(allowed.find((t) => t.name === 'destroy')!.inputSchema.properties ?? {})).toContain('force');
  });

  it('whoami outside and inside a sandbox; create through MCP; a bad name is an isError result', async () => {
    ws = workspace();
    const c = await connect(ws);
    expect((await call(c, 'whoami')).structuredContent).toMatchObject({ path: ws.repo, sandbox: null });
    const created = await call(c, 'create', { name: 'a' });
    expect(created.isError).toBeFalsy();
    expect(created.structuredContent).toMatchObject({ instanceId: 'ktrdr--a', slot: 1 });
    const inside = await call(c, 'whoami', { path: created.structuredContent.path });
    expect(inside.structuredContent.sandbox).toMatchObject({ instanceId: 'ktrdr--a', slot: 1 });
    const byName = await call(c, 'ports', { sandbox: 'a' });
    expect(byName.structuredContent.sandbox).toBe('ktrdr--a');
    const bad = await call(c, 'destroy', { name: 'nope', yes: true });
    expect(bad.isError).toBe(true);
    expect(errorOf(bad)).toMatchObject({ code: 'unknown-instance' });
    // Still serving.
    expect((await call(c, 'list')).structuredContent.instances).toHaveLength(1);
  });

  it('never destroys unsaved work, even given force; two clients at once get distinct slots', async () => {
    ws = workspace();
    const [a, b] = [await connect(ws), await connect(ws)];
    const made = await Promise.all([call(a, 'create', { name: 'one' }), call(b, 'create', { name: 'two' })]);
    expect(made.map((m) => m.isError ?? false)).toEqual([false, false]);
    expect(new Set(made.map((m) => m.structuredContent.slot)).size).toBe(2);
    const path = made[0]!.structuredContent.path as string;
    writeFileSync(join(path, 'notes.txt'), 'unsaved\n');
    const refused = await call(a, 'destroy', { name: 'one', yes: true, force: true });
    expect(refused.isError).toBe(true);
    expect(errorOf(refused)).toMatchObject({ code: 'work-at-risk' });
    expect((await call(a, 'list')).structuredContent.instances).toHaveLength(2);
  });

  it('lists exactly the tools docs/mcp-tools.md documents, with the same input and output schemas', async () => {
    ws = workspace();
    const listed = (await (await connect(ws)).listTools()).tools;
    const documented = catalogueTools(CATALOGUE);
    expect(listed.map((t) => t.name)).toEqual(documented.map((t) => t.view.name));
    const doc = readFileSync(join(REPO_ROOT, 'docs/mcp-tools.md'), 'utf8');
    for (const t of documented) {
      const l = listed.find((x) => x.name === t.view.name)!;
      const { input, output } = toolSchemas(t) as { input: any; output: any };
      expect(l.inputSchema.properties, t.view.name).toEqual(input.properties);
      expect(l.inputSchema.required ?? [], t.view.name).toEqual(input.required ?? []);
      expect(l.outputSchema?.properties, t.view.name).toEqual(output.properties);
      expect(doc).toContain(`## \`${t.view.name}\``);
    }
  });

  it('port_owner: a free port, and a foreign process named with pid and folder', async () => {
    ws = workspace();
    const c = await connect(ws);
    const port = await closedPort();
    const free = await call(c, 'port_owner', { port });
    expect(free.structuredContent.ports[0]).toMatchObject({ port, state: 'free' });
    holder = await foreignListener(port);
    const held = (await call(c, 'port_owner', { port })).structuredContent.ports[0];
    expect(held).toMatchObject({ port, state: 'process', pid: holder.pid, workingDir: holder.cwd });
  });

  it("refuses in kinfra's error shape what the schema or the rules refuse; the server keeps serving", async () => {
    ws = workspace();
    const c = await connect(ws);
    const noPort = await call(c, 'port_owner', {});
    expect(noPort.isError).toBe(true);
    expect(errorOf(noPort)).toMatchObject({ code: 'invalid-arguments', hint: expect.stringContaining('schema') });
    expect(errorOf(await call(c, 'port_owner', { port: 70000 }))).toMatchObject({ code: 'invalid-arguments' });
    expect(errorOf(await call(c, 'claim'))).toMatchObject({ code: 'no-pool' });
    expect(errorOf(await call(c, 'logs', { follow: true }))).toMatchObject({ code: 'follow-not-bounded' });
    expect(errorOf(await call(c, 'logs', { since: 'yesterday' }))).toMatchObject({ code: 'invalid-since' });
    expect((await call(c, 'whoami')).isError).toBeFalsy();
  });

  it('create reports its steps as progress notifications when the client asks for them', async () => {
    ws = workspace();
    const c = await connect(ws);
    const seen: string[] = [];
    const r = (await c.callTool({ name: 'create', arguments: { name: 'p' } }, undefined, {
      onprogress: (p) => void seen.push(p.message ?? ''),
    })) as Result;
    expect(r.isError).toBeFalsy();
    expect(seen).toEqual(expect.arrayContaining([expect.stringMatching(/^Creating the worktree .*ktrdr--p/)]));
  });
});
