// The compose commands of a sandbox: down, logs and shell, each refused on a project someone else holds.
import { composeCapture, composeLines, composeStream } from '../adapters/compose.js';
import { listContainers } from '../adapters/engine.js';
import { KinfraError, usageError } from '../core/errors.js';
import { boundedLines, LOG_LIMITS, plainLine, validSince } from '../core/log-capture.js';
import type { AppContext } from './context.js';
import { ownsContainer } from './engine-state.js';
import { resolveSandbox, type Sandbox } from './the-sandbox.js';
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

export interface LogsRequest {
  service?: string | undefined;
  follow: boolean;
  tail: number;
  since?: string | undefined;
}

/** What a captured `logs` answers: each service's last lines, bounded. */
export interface CapturedLogs {
  instanceId: string;
  services: { service: string; lines: string[]; truncated: boolean }[];
  exitCode: number;
}

/**
 * `kinfra sandbox logs [service] [-f] [-n N] [--since T]`: compose logs, straight to the terminal; or, for a surface
 * that wants a document (--json, MCP), each service's last lines captured and bounded (never an endless stream).
 */
export async function sandboxLogs(ctx: AppContext, req: LogsRequest, document: boolean): Promise<CapturedLogs> {
  if (req.since !== undefined && !validSince(req.since)) {
    throw usageError(
      'invalid-since',
      `--since ${JSON.stringify(req.since)} is neither a duration nor a time.`,
      'Give a duration such as 90s, 10m or 1h30m, or a time such as 2026-12-01T15:04:05Z.',
    );
  }
  if (document && req.follow) {
    throw usageError(
      'follow-not-bounded',
      'Following logs is an endless stream; a document (--json, MCP) is bounded.',
      'Drop --follow: ask for the last lines (--tail) or those since a time (--since).',
    );
  }
  const registry = await ctx.registry.snapshot();
  const s = await resolveSandbox(ctx, { registry });
  // Compose finds containers by project name: another kinfra's under the same name would show as this one's.
  assertProjectFree(await projectInventory(s.stamp, registry), s.project.name, `show the logs of ${s.instanceId}`);
  const since = req.since === undefined ? [] : ['--since', req.since];
  if (!document) {
    const follow = req.follow ? ['--follow'] : [];
    const sub = ['logs', '--tail', String(req.tail), ...since, ...follow, ...(req.service ? [req.service] : [])];
    return { instanceId: s.instanceId, services: [], exitCode: await composeStream(s.project, sub, 'terminal') };
  }
  const services = req.service ? [req.service] : await servicesWithContainers(s);
  const tail = Math.min(req.tail, LOG_LIMITS.lines);
  const captured = await Promise.all(services.map((service) => serviceLogs(s, service, since, tail, req.tail)));
  return { instanceId: s.instanceId, services: captured, exitCode: 0 };
}

/**
 * One service's logs, to follow (the dashboard's live tail): refused as `logs` is (no such sandbox, another kinfra's
 * project under its name) before anything starts; then a function that sends its last `tail` lines and each new one
 * to `onLine` until the stream ends or `signal` aborts.
 */
export async function openServiceLogs(
  ctx: AppContext,
  req: { service: string; tail: number },
): Promise<(onLine: (line: string) => void, signal: AbortSignal) => Promise<number>> {
  const registry = await ctx.registry.snapshot();
  const s = await resolveSandbox(ctx, { registry });
  assertProjectFree(await projectInventory(s.stamp, registry), s.project.name, `show the logs of ${s.instanceId}`);
  const tail = String(Math.min(Math.max(0, req.tail), LOG_LIMITS.lines));
  const sub = ['logs', '--no-color', '--no-log-prefix', '--follow', '--tail', tail, req.service];
  return (onLine, signal) => composeLines(s.project, sub, (line) => onLine(plainLine(line)), signal);
}

/** The services of this sandbox that have a container (running or not): the ones with logs to show. */
async function servicesWithContainers(s: Sandbox): Promise<string[]> {
  const mine = (await listContainers()).filter((c) => ownsContainer(c, s.stamp.owner, s.project.name, s.stamp.path));
  return [...new Set(mine.map((c) => c.service).filter((x): x is string => !!x))].sort();
}

async function serviceLogs(s: Sandbox, service: string, since: string[], tail: number, asked: number) {
  const sub = ['logs', '--no-color', '--no-log-prefix', '--tail', String(tail), ...since, service];
  const r = await composeCapture(s.project, sub);
  if (r.exitCode !== 0) {
    const why = r.stderr.trim().split('\n').pop() ?? '';
    throw new KinfraError(
      'external',
      'logs-failed',
      `docker compose logs ${service} failed for ${s.instanceId} (exit ${r.exitCode}): ${why}`,
      'Check the service name with: kinfra sandbox status',
      { service, why },
    );
  }
  return { service, ...boundedLines(r.stdout, tail, asked) };
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
