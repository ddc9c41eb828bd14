import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, cliEnv, workspace, type Workspace } from '../helpers/cli.js';

/**
 * Issue 15, item 1: `kinfra mcp`, driven by the official SDK's own client over stdio. Its tools are the catalogue's
 * operations with the CLI's schemas and refusals: no force flag unless the server allows it, unsaved work is never
 * destroyed, two agents at once get distinct slots.
 */
let ws: Workspace | undefined;
const clients: Client[] = [];
afterEach(async () => {
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

type Result = { isError?: boolean; structuredContent?: any; content: { type: string; text: string }[] };
const call = async (c: Client, name: string, args: Record<string, unknown> = {}) =>
  (await c.callTool({ name, arguments: args })) as Result;
const errorOf = (r: Result) => JSON.parse(r.content[1]!.text).error;

describe('kinfra mcp (issue 15)', () => {
  it('lists the catalogue as tools: schemas, annotations, no terminal commands, force only if allowed', async () => {
    ws = workspace();
    const tools = (await (await connect(ws)).listTools()).tools;
    const names = tools.map((t) => t.name);
    expect(names).toEqual(
      expect.arrayContaining(['whoami', 'list', 'status', 'ports', 'gate', 'create', 'up', 'down']),
    );
    for (const never of ['exec', 'shell', 'compose', 'logs', 'api', 'mcp', 'completion'])
      expect(names).not.toContain(never);
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    expect(byName.list!.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false });
    expect(byName.destroy!.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true });
    expect(byName.whoami!.outputSchema?.properties).toHaveProperty('sandbox');
    expect(Object.keys(byName.destroy!.inputSchema.properties ?? {})).not.toContain('force');
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
});
