// Adversarial review of refreshDerivedPorts (issue 14): ports a branch adds must never land on a port the main
// checkout publishes, on one of the sandbox's own configured ports, or on another sandbox's.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { appContext } from '../../src/app/context.js';
import { refreshDerivedPorts } from '../../src/app/derived-refresh.js';
import { resolveSandbox } from '../../src/app/the-sandbox.js';
import { appWorkspace, parseJson, type Workspace } from '../helpers/cli.js';

let ws: Workspace | undefined;
afterEach(() => {
  ws?.cleanup();
  ws = undefined;
});

const svc = (name: string, port: string) => `  ${name}:\n    image: nginx\n    ports: ["${port}"]\n`;

async function create(name: string) {
  const r = await ws!.run(['sandbox', 'create', name, '--json']);
  expect(r.code, r.stderr).toBe(0);
  const created = parseJson(r.stdout).data;
  return { ctx: appContext(created.path, ws!.home), path: created.path as string, created };
}

describe('refreshDerivedPorts under attack', () => {
  // BUG: derivePorts only puts kept ports into `taken` when the branch still publishes them, and refresh never
  // looks at the main checkout's ports. A branch that drops `admin` (9000 in main) and adds a port at 8999 gets
  // step 1, i.e. 9000 on slot 1: the main checkout's own admin port, handed to the sandbox.
  it("never gives a branch's new port a port the main checkout publishes (a removed service's)", async () => {
    ws = appWorkspace({ 'docker-compose.yml': 'services:\n' + svc('web', '8080:80') + svc('admin', '9000:80') });
    const { ctx, path, created } = await create('a');
    expect(created.slot).toBe(1);
    writeFileSync(join(path, 'docker-compose.yml'), 'services:\n' + svc('web', '8080:80') + svc('metrics', '8999:80'));
    const s = await resolveSandbox(ctx);
    await refreshDerivedPorts(ctx, s, await ctx.registry.snapshot()).catch(() => undefined);
    const entry = (await ctx.registry.snapshot()).instances[s.instanceId]!;
    // 8080 and 9000 are what the main checkout publishes with plain `docker compose up`.
    expect(Object.values(entry.ports ?? {})).not.toContain(9000);
    expect(Object.values(entry.ports ?? {})).not.toContain(8080);
  });

  // BUG: when a branch drops a derived port and adds another, refresh writes .env.sandbox from the new layout
  // (which no longer has KINFRA_PORT_ADMIN) while the registry keeps `admin` in ports and derived_ports. Its own
  // closing resolveSandbox then throws env-file-disagrees ("KINFRA_PORT_ADMIN is \"\", the registry's admin port
  // 9001"), and so does every later up/status/down/destroy of the sandbox until doctor --repair.
  it('a branch that removes one derived port and adds another still resolves after refresh', async () => {
    ws = appWorkspace({ 'docker-compose.yml': 'services:\n' + svc('web', '8080:80') + svc('admin', '9000:80') });
    const { ctx, path } = await create('a');
    writeFileSync(join(path, 'docker-compose.yml'), 'services:\n' + svc('web', '8080:80') + svc('metrics', '9500:80'));
    const s = await resolveSandbox(ctx);
    await refreshDerivedPorts(ctx, s, await ctx.registry.snapshot());
    await expect(resolveSandbox(ctx)).resolves.toMatchObject({ instanceId: s.instanceId });
  });

  // BUG: derivePorts' keptHere test `(host - k.base) % k.step === 0 && host !== k.base` has no `host > k.base`:
  // with a kept step-1 port, every new port *below* it is "slot -N's" port (N negative <= max), so a branch that
  // adds postgres on 5432 to a sandbox whose web is 8080 is refused at up with "which is slot -2648's
  // KINFRA_PORT_WEB: the sandbox on slot -2648 cannot keep its ports".
  it("gives a branch's new port below a kept port its slot value (no 'slot -2648')", async () => {
    ws = appWorkspace({ 'docker-compose.yml': 'services:\n' + svc('web', '8080:80') });
    const { ctx, path } = await create('a');
    writeFileSync(join(path, 'docker-compose.yml'), 'services:\n' + svc('web', '8080:80') + svc('db', '5432:5432'));
    const s = await resolveSandbox(ctx);
    const fresh = await refreshDerivedPorts(ctx, s, await ctx.registry.snapshot());
    expect(Object.fromEntries(fresh.ports.map((p) => [p.env, p.port]))).toEqual({
      KINFRA_PORT_WEB: 8081,
      KINFRA_PORT_DB: 5433,
    });
  });

  // BUG: the "cannot keep its ports" check (keptHere) only looks at the kept *derived* ports, never at the
  // configured ones. A branch that publishes the sandbox's own configured value as a fixed port is derived as a new
  // port; the layer's remap then moves both the configured service's 28001 and the new fixed 28001 to the same
  // place, and the registry records 28001 as the configured port while the file publishes something else.
  it("refuses a branch's fixed port that is the sandbox's configured slot value", async () => {
    ws = appWorkspace({
      'docker-compose.yml': 'services:\n' + svc('api', '${MY_API:-28000}:80'),
      'kinfra.yaml': 'prefix: my\nports:\n  api: { env: MY_API, base: 28000 }\n',
    });
    const { ctx, path, created } = await create('a');
    expect(created.env).toMatchObject({ MY_API: 28001 });
    writeFileSync(
      join(path, 'docker-compose.yml'),
      'services:\n' + svc('api', '${MY_API:-28000}:80') + svc('other', '28001:80'),
    );
    const s = await resolveSandbox(ctx);
    await expect(refreshDerivedPorts(ctx, s, await ctx.registry.snapshot())).rejects.toMatchObject({
      code: 'cannot-isolate',
    });
  });

  // Was a bug: refresh derives outside the registry lock from the registry snapshot `up` read first, and the update
  // under the lock wrote the new ports without checking them against what other sandboxes got meanwhile. Two `up`s
  // running at once (two agents) each avoid only what the other held before: sandbox a (slot 1, branch adds 9000
  // and 9001) gets 9000 at step 2 -> 9002; sandbox b (slot 2, branch adds 9000) gets step 1 -> 9002. Same port,
  // two sandboxes, both in the registry.
  it('two concurrent refreshes never record the same host port for two sandboxes', async () => {
    ws = appWorkspace({ 'docker-compose.yml': 'services:\n' + svc('web', '8080:80') });
    const a = await create('a');
    const b = await create('b');
    expect([a.created.slot, b.created.slot]).toEqual([1, 2]);
    writeFileSync(
      join(a.path, 'docker-compose.yml'),
      'services:\n' + svc('web', '8080:80') + svc('x', '9000:80') + svc('y', '9001:80'),
    );
    writeFileSync(join(b.path, 'docker-compose.yml'), 'services:\n' + svc('web', '8080:80') + svc('x', '9000:80'));
    const stale = await a.ctx.registry.snapshot();
    const [sa, sb] = [await resolveSandbox(a.ctx), await resolveSandbox(b.ctx)];
    const outcomes = await Promise.allSettled([
      refreshDerivedPorts(a.ctx, sa, stale),
      refreshDerivedPorts(b.ctx, sb, stale),
    ]);
    // The one that comes second under the lock finds its port given meanwhile and says to run up again.
    for (const o of outcomes) {
      if (o.status === 'rejected') expect(o.reason).toMatchObject({ code: 'port-taken-meanwhile' });
    }
    const reg = await a.ctx.registry.snapshot();
    const seen = new Map<number, string>();
    const dupes: string[] = [];
    for (const [id, e] of Object.entries(reg.instances)) {
      for (const port of Object.values(e.ports ?? {})) {
        if (seen.has(port)) dupes.push(`${port}: ${seen.get(port)} and ${id}`);
        seen.set(port, id);
      }
    }
    expect(dupes).toEqual([]);
  });
});
