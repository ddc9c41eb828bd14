import { dirname, join } from 'node:path';
import { composeStream } from '../adapters/compose.js';
import { KinfraError } from '../core/errors.js';
import type { AppContext } from './context.js';
import { resolveSandbox } from './current.js';

/** `kinfra sandbox down [-v]`: stop the sandbox's containers (and remove its volumes). */
export async function downSandbox(ctx: AppContext, opts: { volumes: boolean }): Promise<{ instanceId: string; volumesRemoved: boolean }> {
  const s = await resolveSandbox(ctx);
  const code = await composeStream(s.project, ['down', '--remove-orphans', ...(opts.volumes ? ['--volumes'] : [])]);
  if (code !== 0) {
    throw new KinfraError('external', 'compose-down-failed', `docker compose down failed for ${s.instanceId} (exit ${code}); its output is above.`,
      'Fix what compose reports and run `kinfra sandbox down` again.');
  }
  return { instanceId: s.instanceId, volumesRemoved: opts.volumes };
}

/** `kinfra sandbox logs [service] [-f] [-n N]`: compose logs, straight to the terminal. */
export async function sandboxLogs(ctx: AppContext, opts: { service?: string | undefined; follow: boolean; tail: number }): Promise<number> {
  const s = await resolveSandbox(ctx);
  return composeStream(s.project, ['logs', '--tail', String(opts.tail), ...(opts.follow ? ['--follow'] : []), ...(opts.service ? [opts.service] : [])], 'terminal');
}

/** `kinfra sandbox shell [service]`: bash in the service's container, sh when it has no bash. */
export async function sandboxShell(ctx: AppContext, opts: { service?: string | undefined }): Promise<number> {
  const s = await resolveSandbox(ctx);
  const service = opts.service ?? 'backend';
  const tty = process.stdin.isTTY ? [] : ['-T'];
  const code = await composeStream(s.project, ['exec', ...tty, service, 'bash'], 'terminal');
  // 126/127: the container has no bash (OCI "executable file not found").
  if (code === 126 || code === 127) return composeStream(s.project, ['exec', ...tty, service, 'sh'], 'terminal');
  return code;
}

/**
 * Stop a sandbox's containers and remove its volumes before destroy removes
 * its folder (seed 002 ordering). Finds them by project label; needs the
 * compose file only when there is something to remove.
 */
export async function removeSandboxContainers(instanceId: string, dir: string): Promise<{ containers: number; volumes: number }> {
  const { listContainers, listProjectVolumes } = await import('../adapters/engine.js');
  const { readEnvFile } = await import('../adapters/env-store.js');
  const env = (await readEnvFile(dir).catch(() => undefined)) ?? {};
  // A pool-slot sandbox runs as the slot's project from the slot's compose file.
  const name = env.COMPOSE_PROJECT_NAME ?? instanceId;
  const [containers, volumes] = await Promise.all([listContainers(), listProjectVolumes()]);
  const mine = containers.filter((c) => c.project === name).length;
  const vols = volumes.filter((v) => v.project === name).length;
  if (mine === 0 && vols === 0) return { containers: 0, volumes: 0 };
  const { loadConfig } = await import('../adapters/config-loader.js');
  const { findComposeFile } = await import('./current.js');
  const file = env.KINFRA_COMPOSE_FILE ?? findComposeFile(dir, await loadConfig(dir));
  const project = { name, file, dir: env.KINFRA_COMPOSE_FILE ? dirname(file) : dir, envFile: join(dir, '.env.sandbox'), env };
  const code = await composeStream(project, ['down', '--volumes', '--remove-orphans']);
  if (code !== 0) {
    throw new KinfraError('external', 'compose-down-failed', `docker compose down failed for ${instanceId} (exit ${code}); nothing was destroyed.`,
      'Fix what compose reports and run destroy again.');
  }
  return { containers: mine, volumes: vols };
}
