// `kinfra sandbox compose <args...>`: any docker compose subcommand in the sandbox's own context (its project name,
// compose files, the ownership layer kinfra generated and its environment), so `compose config` shows what the
// sandbox runs and `compose ps` what it has. Compose acts by project name, and what it is given may remove
// (`down -v`): so it is refused while the project holds anything kinfra cannot prove is this sandbox's, another
// kinfra's resources or unlabelled volumes alike.
import { volumeNamesOf } from '../core/database/record.js';
import { composeStream } from '../adapters/compose.js';
import { usageError } from '../core/errors.js';
import type { AppContext } from './context.js';
import { assertProjectFree, projectInventory } from './ownership.js';
import { resolveSandbox, sandboxRemap } from './the-sandbox.js';
import { writeSandboxLayer } from './layer.js';
import { loadStackIfReadable } from './stack.js';

export async function composeInSandbox(ctx: AppContext, args: readonly string[]): Promise<number> {
  if (args.length === 0 || args[0]!.trim() === '') {
    throw usageError(
      'invalid-command',
      'Name the docker compose subcommand to run.',
      'For example: kinfra sandbox compose ps (or: kinfra sandbox compose config)',
    );
  }
  const registry = await ctx.registry.snapshot();
  const s = await resolveSandbox(ctx, { registry });
  const inventory = await projectInventory(s.stamp, registry);
  assertProjectFree(inventory, s.project.name, `run docker compose ${args[0]} in ${s.instanceId}`, true);
  // The layer as `up` would write it now, so `compose config` shows what the sandbox runs even before its first up.
  const stack = await loadStackIfReadable(s.project);
  const project = stack
    ? await writeSandboxLayer(
        ctx.paths,
        s.project,
        s.stamp,
        sandboxRemap(s),
        stack,
        s.config.merge,
        volumeNamesOf(registry, s.project.name),
      )
    : s.project;
  // As `up` does: a database switched while stopped never starts on the volume it was switched away from.
  if (stack && ['up', 'start', 'restart', 'run'].includes(args[0]!)) {
    const { listContainers } = await import('../adapters/engine.js');
    const { retireStaleDatabaseContainer } = await import('./database-live.js');
    await retireStaleDatabaseContainer(s.project.name, volumeNamesOf(registry, s.project.name), await listContainers());
  }
  return composeStream(project, args, 'terminal');
}
