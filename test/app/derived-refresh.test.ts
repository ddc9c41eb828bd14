// A branch that publishes a port its sandbox was not given gets it at the next up (issue 14): the ports the sandbox
// has never move, the new one is kept in the registry and written to .env.sandbox, and deriving again changes
// nothing. A new port that lands on one of the sandbox's own is refused with the way out.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { appContext } from '../../src/app/context.js';
import { refreshDerivedPorts } from '../../src/app/derived-refresh.js';
import { resolveSandbox } from '../../src/app/the-sandbox.js';
import { appWorkspace, parseJson, type Workspace } from '../helpers/cli.js';

const COMPOSE = 'services:\n  web:\n    image: nginx\n    ports: ["8080:80"]\n';

let ws: Workspace | undefined;
afterEach(() => {
  ws?.cleanup();
  ws = undefined;
});

async function sandbox() {
  ws = appWorkspace({ 'docker-compose.yml': COMPOSE });
  const created = parseJson((await ws.run(['sandbox', 'create', 'a', '--json'])).stdout).data;
  const ctx = appContext(created.path, ws.home);
  return { ctx, path: created.path as string, created };
}

describe('refreshDerivedPorts', () => {
  it("gives a branch's new port its slot value and keeps the others where they were", async () => {
    const { ctx, path, created } = await sandbox();
    expect(created.env).toEqual({ KINFRA_PORT_WEB: 8081 });
    writeFileSync(join(path, 'docker-compose.yml'), COMPOSE + '  admin:\n    image: nginx\n    ports: ["9000:80"]\n');

    const s = await resolveSandbox(ctx);
    const fresh = await refreshDerivedPorts(ctx, s, await ctx.registry.snapshot());
    expect(Object.fromEntries(fresh.ports.map((p) => [p.env, p.port]))).toEqual({
      KINFRA_PORT_WEB: 8081,
      KINFRA_PORT_ADMIN: 9001,
    });
    const entry = (await ctx.registry.snapshot()).instances[s.instanceId]!;
    expect(entry.ports).toEqual({ web: 8081, admin: 9001 });
    expect(Object.keys(entry.derived_ports ?? {})).toEqual(['web', 'admin']);
    expect(readFileSync(join(path, '.env.sandbox'), 'utf8')).toContain('KINFRA_PORT_ADMIN=9001');

    // Deriving again moves nothing and writes nothing.
    const before = readFileSync(join(path, '.env.sandbox'), 'utf8');
    const again = await refreshDerivedPorts(ctx, fresh, await ctx.registry.snapshot());
    expect(again).toBe(fresh);
    expect(readFileSync(join(path, '.env.sandbox'), 'utf8')).toBe(before);
  });

  it("refuses a new port that is one of the sandbox's own slot values, naming the way out", async () => {
    const { ctx, path } = await sandbox();
    // 8081 is slot 1's web port: published by the main checkout of this branch, it would be this sandbox's twice.
    writeFileSync(join(path, 'docker-compose.yml'), COMPOSE + '  admin:\n    image: nginx\n    ports: ["8081:80"]\n');
    const s = await resolveSandbox(ctx);
    await expect(refreshDerivedPorts(ctx, s, await ctx.registry.snapshot())).rejects.toMatchObject({
      code: 'cannot-isolate',
      message: expect.stringContaining("now publishes 8081, which is slot 1's KINFRA_PORT_WEB"),
    });
    expect((await ctx.registry.snapshot()).instances[s.instanceId]!.ports).toEqual({ web: 8081 });
  });
});
