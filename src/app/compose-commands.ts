// The compose commands of a sandbox: down, logs and shell, each refused on a project someone else holds.
import { composeStream } from '../adapters/compose.js';
import { KinfraError } from '../core/errors.js';
import type { AppContext } from './context.js';
import { resolveSandbox } from './the-sandbox.js';
import { assertProjectFree, projectInventory, removeOwned } from './ownership.js';

/**
 * `kinfra sandbox down [-v]`: stop the sandbox's containers (and remove its volumes). Refuses when the compose
 * project holds someone else's resources; with -v removes only volumes proven the sandbox's.
 */
export async function downSandbox(
  ctx: AppContext,
  opts: { volumes: boolean },
): Promise<{ instanceId: string; volumesRemoved: boolean; keptVolumes: string[] }> {
  const registry = await ctx.registry.snapshot();
  const s = await resolveSandbox(ctx, { registry });
  const inv = await projectInventory(s.stamp, registry);
  assertProjectFree(inv, s.project.name, `stop ${s.instanceId}`);
  // With -v: its own containers (and their anonymous volumes) and proven volumes by id, never by project name.
  const keptVolumes = opts.volumes ? (await removeOwned(inv)).keptVolumes : [];
  const code = await composeStream(s.project, ['down', '--remove-orphans']);
  if (code !== 0) throw composeDownFailed(s.instanceId, code, 'run `kinfra sandbox down` again');
  return { instanceId: s.instanceId, volumesRemoved: opts.volumes, keptVolumes };
}

export function composeDownFailed(what: string, code: number, then: string): KinfraError {
  return new KinfraError(
    'external',
    'compose-down-failed',
    `docker compose down failed for ${what} (exit ${code}); its output is above.`,
    `Fix what compose reports and ${then}.`,
  );
}

/** `kinfra sandbox logs [service] [-f] [-n N]`: compose logs, straight to the terminal. */
export async function sandboxLogs(
  ctx: AppContext,
  opts: { service?: string | undefined; follow: boolean; tail: number },
): Promise<number> {
  const registry = await ctx.registry.snapshot();
  const s = await resolveSandbox(ctx, { registry });
  // Compose finds containers by project name: another kinfra's under the same name would show as this one's.
  assertProjectFree(await projectInventory(s.stamp, registry), s.project.name, `show the logs of ${s.instanceId}`);
  return composeStream(
    s.project,
    [
      'logs',
      '--tail',
      String(opts.tail),
      ...(opts.follow ? ['--follow'] : []),
      ...(opts.service ? [opts.service] : []),
    ],
    'terminal',
  );
}

/** `kinfra sandbox shell [service]`: bash in the service's container, sh when it has no bash. */
export async function sandboxShell(ctx: AppContext, opts: { service?: string | undefined }): Promise<number> {
  const registry = await ctx.registry.snapshot();
  const s = await resolveSandbox(ctx, { registry });
  assertProjectFree(await projectInventory(s.stamp, registry), s.project.name, `open a shell in ${s.instanceId}`);
  const service = opts.service ?? 'backend';
  const tty = process.stdin.isTTY ? [] : ['-T'];
  const code = await composeStream(s.project, ['exec', ...tty, service, 'bash'], 'terminal');
  // 126/127: the container has no bash (OCI "executable file not found").
  if (code === 126 || code === 127) return composeStream(s.project, ['exec', ...tty, service, 'sh'], 'terminal');
  return code;
}
