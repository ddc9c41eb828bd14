// The warm pool's databases: `provision --db-from <source>` seeds every free slot's database and leaves it running,
// so a claim finds a ready copy; `release` seeds the slot again in the background (a detached `kinfra sandbox
// warm-slot`). A claim keeps a freshly seeded database (and only that: the claim marks it as used).
import { join } from 'node:path';
import { kinfraCliPath, startDetached } from '../adapters/background-process.js';
import { loadConfig } from '../adapters/config-loader.js';
import { readEnvFile } from '../adapters/env-store.js';
import { mainRoot } from '../adapters/git.js';
import { ownerId } from '../adapters/owner-id.js';
import { labelHelpersFor } from '../adapters/postgres.js';
import { findDatabaseService } from '../core/database/service.js';
import { conflictError, notFoundError } from '../core/errors.js';
import { slotProjectOf } from '../core/pool.js';
import type { Registry } from '../core/registry/model.js';
import { ENV_FILE_NAME } from '../core/sandbox-env.js';
import type { AppContext } from './context.js';
import { cloneInto, type DbChange } from './database.js';
import type { DbTarget } from './database-live.js';
import { existingLayer } from './layer.js';
import type { Session } from './session.js';
import { loadStack } from './stack.js';

/** The database of pool slot `slot`, as its own compose project runs it (its folder, its .env.sandbox). */
export async function slotTarget(ctx: AppContext, registry: Registry, slot: number): Promise<DbTarget> {
  const s = registry.slots[String(slot)];
  if (!s)
    throw notFoundError('unknown-slot', `Slot ${slot} is not a provisioned pool slot.`, 'See: kinfra sandbox slots');
  const root = await mainRoot(ctx.cwd).catch(() => ctx.cwd);
  const config = await loadConfig(root);
  const name = slotProjectOf(config.prefix, s);
  const dir = s.infrastructure_path;
  const env = (await readEnvFile(dir)) ?? {};
  const layer = await existingLayer(ctx.paths, name);
  const compose = {
    name,
    file: join(dir, 'docker-compose.yml'),
    dir,
    envFile: join(dir, ENV_FILE_NAME),
    env,
    layers: layer ? [layer.file] : [],
    rendered: layer?.rendered ?? false,
  };
  const stack = await loadStack(compose);
  const owner = await ownerId(ctx.paths.ownerId);
  labelHelpersFor(owner);
  return {
    label: `pool slot ${slot}`,
    project: name,
    compose,
    stamp: { owner, sandbox: name, path: dir },
    config,
    remap: new Map(),
    parentRepo: root,
    svc: findDatabaseService(stack.config, config.database),
    stack,
  };
}

/** Seed one slot's database from `from` (a running database: main or a sandbox) and leave it running. */
export async function warmSlot(ctx: AppContext, slot: number, from: string, session: Session): Promise<DbChange> {
  const registry = await ctx.registry.snapshot();
  const t = await slotTarget(ctx, registry, slot);
  // Only a free slot is filled: one claimed meanwhile is its sandbox's (the copy is given up, its volumes removed).
  const free = (r: Registry) => {
    const claimed = r.slots[String(slot)]?.claimed_by;
    if (claimed)
      throw conflictError(
        'slot-claimed',
        `Pool slot ${slot} was claimed by ${claimed}: its database is that sandbox's, and is not filled.`,
        `Copy a database into it from there: kinfra sandbox db clone --from ${from}`,
      );
  };
  free(registry);
  const change = await cloneInto(ctx, registry, t, { from, force: true }, session, { op: 'warm', stillWanted: free });
  // Where it was seeded from, on the slot: what release seeds it from again.
  await ctx.registry.update((r) => {
    const s = r.slots[String(slot)];
    if (s) s.db_warm_from = { from };
  });
  return change;
}

/** After a release: seed the slot again in the background (its output goes to the slot's seed log). */
export function rewarmInBackground(ctx: AppContext, slot: number, from: string): number | undefined {
  const child = startDetached({
    cli: kinfraCliPath(),
    args: ['sandbox', 'warm-slot', String(slot), '--from', from],
    log: join(ctx.paths.sandboxesDir, `slot-${slot}-warm.log`),
    cwd: ctx.cwd,
    env: { ...process.env, HOME: ctx.paths.home },
  });
  child.unref();
  return child.pid;
}
