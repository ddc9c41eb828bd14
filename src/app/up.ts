// `kinfra sandbox up` and `kinfra sandbox gate`: start the sandbox's stack, then prove it usable.
import { composeStream, detectCompose } from '../adapters/compose.js';
import { listContainers } from '../adapters/engine.js';
import { KinfraError } from '../core/errors.js';
import type { CheckResult } from '../core/gate.js';
import { loadStack, movedStack, type Stack } from './stack.js';
import { assertIsolatable } from './isolation.js';
import { refreshDerivedPorts } from './derived-refresh.js';
import type { AppContext } from './context.js';
import { inStack, resolveSandbox, sandboxRemap, sandboxStack, type Sandbox, type ServiceUrl } from './the-sandbox.js';
import { runSandboxGate, type SandboxGateResult } from './gate.js';
import { gateRecorder } from './gate-record.js';
import { findPortConflicts, portConflictError } from './port-conflicts.js';
import { writeSandboxLayer } from './layer.js';
import { volumeNamesOf } from '../core/database/record.js';
import { retireStaleDatabaseContainer } from './database-live.js';
import { adoptMountedVolumes, assertProjectFree, engineSnapshot, projectInventory } from './ownership.js';

export interface UpRequest {
  build: boolean;
  wait: boolean;
  timeoutMs: number;
  /** Called once the sandbox is known, before compose runs (for "Starting instance ..."). */
  onStart?: (s: Sandbox) => void;
  onGateChange?: (checks: readonly CheckResult[]) => void;
  signal?: AbortSignal;
}

export interface UpResult {
  instanceId: string;
  slot: number;
  gate: SandboxGateResult | undefined;
  urls: ServiceUrl[];
  /** Services the layout names that no service of the stack publishes (e.g. Grafana in a stack without it). */
  absent: string[];
  /** The layout (or KINFRA_ROUTER_ON_UP=1) asks `up` to start the router. */
  routerOnUp: boolean;
}

/** What up and gate report of the URLs: those the stack publishes (without their ports), and those it lacks. */
function urlsOf(s: Sandbox, stack: Stack | undefined): Pick<UpResult, 'urls' | 'absent'> {
  const { urls, absent } = inStack(s, stack);
  return { urls: urls.map(({ name, label, url }) => ({ name, label, url })), absent };
}

type GateOptions = Parameters<typeof runSandboxGate>[2];

/** The gate, its record for the dashboard kept as it runs (adapters/gate-records.ts). */
async function recordedGate(
  ctx: AppContext,
  s: Sandbox,
  stack: Stack | undefined,
  req: Pick<UpRequest, 'timeoutMs' | 'onGateChange' | 'signal'>,
): Promise<SandboxGateResult> {
  const record = gateRecorder(ctx.paths, s.instanceId);
  const options: GateOptions = {
    timeoutMs: req.timeoutMs,
    onChange: (checks) => {
      record.changed(checks);
      req.onGateChange?.(checks);
    },
    ...(req.signal ? { signal: req.signal } : {}),
  };
  try {
    const gate = await runSandboxGate(s, stack, options);
    record.finished(gate);
    return gate;
  } finally {
    record.abandoned();
  }
}

/**
 * `kinfra sandbox up`: refuse when a slot port is held by anything but this
 * sandbox (exit 3), `compose up -d`, then the Startability Gate.
 */
export async function upSandbox(ctx: AppContext, req: UpRequest): Promise<UpResult> {
  // Compose's version decides the layer's form: asked while the registry and the engine are read.
  detectCompose().catch(() => undefined);
  const registry = await ctx.registry.snapshot();
  const found = await resolveSandbox(ctx, { registry });
  // The stack as the sandbox reads it, alongside the derivation: read again only if the derivation added ports.
  const reading = loadStack(found.project);
  reading.catch(() => undefined);
  // One look at the engine serves the derivation (ports it publishes for others), ownership and port conflicts.
  const snapshot = await engineSnapshot();
  const s = await refreshDerivedPorts(ctx, found, registry, snapshot.containers);
  assertProjectFree(await projectInventory(s.stamp, registry, snapshot), s.project.name, `start ${s.instanceId}`);
  const conflicts = await findPortConflicts(s, snapshot.containers, registry);
  if (conflicts.length > 0) throw portConflictError(s, conflicts);

  req.onStart?.(s);
  const read = s === found ? await reading : await loadStack(s.project);
  const remap = sandboxRemap(s);
  const stack = movedStack(read, remap);
  assertIsolatable(stack.config, s.instanceId);
  // Every resource it starts carries this registry's labels (containers made before labels existed are recreated
  // with them), its fixed ports move to the slot's and fixed names become its own.
  const volumeNames = volumeNamesOf(registry, s.project.name);
  const project = await writeSandboxLayer(ctx.paths, s.project, s.stamp, remap, read, s.config.merge, volumeNames);
  // Compose keeps a container whose volume's name changed: a database switched while stopped must not start on
  // the data it was switched away from (now a snapshot).
  await retireStaleDatabaseContainer(s.project.name, volumeNames, snapshot.containers);
  const code = await composeStream(project, ['up', '-d', ...(req.build ? ['--build'] : [])]);
  if (req.signal?.aborted) {
    throw new KinfraError(
      'interrupted',
      'interrupted',
      `Interrupted while compose was starting ${s.instanceId}.`,
      'See what is running with: kinfra sandbox status',
    );
  }
  if (code !== 0) {
    // A port may have been taken between the check and compose binding it.
    const late = await findPortConflicts(s, await listContainers(), registry);
    if (late.length > 0) throw portConflictError(s, late);
    throw new KinfraError(
      'external',
      'compose-up-failed',
      `docker compose up failed for ${s.instanceId} (exit ${code}); its output is above.`,
      'Fix what compose reports, then run `kinfra sandbox up` again ' +
        '(`kinfra sandbox down` removes half-started containers).',
    );
  }
  await adoptMountedVolumes(ctx, s.stamp);
  const gate = req.wait ? await recordedGate(ctx, { ...s, project }, stack, req) : undefined;
  const routerOnUp = Boolean(s.config.routerOnUp) || process.env.KINFRA_ROUTER_ON_UP === '1';
  return { instanceId: s.instanceId, slot: s.slot, gate, ...urlsOf(s, stack), routerOnUp };
}

/** `kinfra sandbox gate`: only the gate, against what is running now. */
export async function gateSandbox(
  ctx: AppContext,
  req: Omit<UpRequest, 'build' | 'wait'>,
): Promise<UpResult & { gate: SandboxGateResult }> {
  const s = await resolveSandbox(ctx);
  req.onStart?.(s);
  const stack = await sandboxStack(s);
  const gate = await recordedGate(ctx, s, stack, req);
  return { instanceId: s.instanceId, slot: s.slot, gate, ...urlsOf(s, stack), routerOnUp: false };
}
