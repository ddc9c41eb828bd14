// `up` and `gate` as outcomes: start the stack (or not), wait for the Startability Gate, and decide what its verdict
// means: passed is a result, failed and interrupted are errors that carry the gate. The surfaces only render.
import { KinfraError } from '../core/errors.js';
import type { CheckResult } from '../core/gate.js';
import type { AppContext } from './context.js';
import type { SandboxGateResult } from './gate.js';
import type { Session } from './session.js';
import type { UpResult } from './up.js';

export interface UpRequestData {
  wait: boolean;
  build: boolean;
  /** Seconds the gate may wait. */
  timeout: number;
}

/** The gate as its JSON reports it: rounded durations. */
export function gateData(g: SandboxGateResult) {
  return {
    passed: g.passed,
    interrupted: g.interrupted,
    durationMs: Math.round(g.durationMs),
    checks: g.checks.map((c) => ({
      name: c.name,
      status: c.status,
      message: c.message,
      details: c.details,
      attempts: c.attempts,
      elapsedMs: Math.round(c.elapsedMs),
      tried: c.tried,
      got: c.got,
    })),
    firstFailure: g.firstFailure,
    omitted: g.omitted,
  };
}

function upData(r: UpResult, router: string | null = null) {
  return {
    instanceId: r.instanceId,
    slot: r.slot,
    gate: r.gate ? gateData(r.gate) : null,
    urls: r.urls,
    absent: r.absent,
    router,
  };
}

/**
 * The router `up` was asked to start (kinfra.yaml `router.start_on_up`): its URL, running already or started now.
 * The stack is up either way: a router that cannot start is said, not made the failure of `up`.
 */
async function routerForUp(ctx: AppContext, session: Session): Promise<string | null> {
  const { startRouter } = await import('./router.js');
  try {
    return (await startRouter(ctx, {})).url;
  } catch (e) {
    session.progress({ kind: 'step', message: `The router did not start: ${(e as Error).message}` });
    return null;
  }
}

/** A gate that did not pass, as the error the command ends with (exit 2; 130 when interrupted). */
function verdictError(instanceId: string, gate: SandboxGateResult): KinfraError | undefined {
  if (gate.interrupted) {
    return new KinfraError(
      'interrupted',
      'interrupted',
      `Interrupted while waiting for the Startability Gate of ${instanceId}; its containers keep running.`,
      'See where it stands with: kinfra sandbox status (or wait for it: kinfra sandbox gate)',
      { gate: gateData(gate) },
    );
  }
  if (gate.passed) return undefined;
  const failed = gate.checks
    .filter((c) => c.status === 'failed')
    .map((c) => c.name)
    .join(', ');
  return new KinfraError(
    'gate',
    'gate-failed',
    `The Startability Gate of ${instanceId} failed: ${failed} not ready.`,
    'Check logs with: kinfra sandbox logs (or: kinfra sandbox status)',
    { gate: gateData(gate) },
  );
}

function hooksFor(session: Session, activity: string) {
  return {
    onStart: (s: { instanceId: string; slot: number }) =>
      session.progress({ kind: 'started', activity, instanceId: s.instanceId, slot: s.slot }),
    onGateChange: (checks: readonly CheckResult[]) => session.progress({ kind: 'gate-changed', checks }),
    signal: session.signal,
  };
}

/** Reports the settled gate, then ends in the error it implies, if any. */
function conclude(session: Session, instanceId: string, gate: SandboxGateResult): void {
  session.progress({ kind: 'gate-finished', gate });
  const failure = verdictError(instanceId, gate);
  if (failure) throw failure;
}

/** `up`: start the stack, then (unless told not to wait) the gate. */
export async function startAndWait(ctx: AppContext, session: Session, req: UpRequestData) {
  const { upSandbox } = await import('./up.js');
  const r = await upSandbox(ctx, {
    build: req.build,
    wait: req.wait,
    timeoutMs: req.timeout * 1000,
    ...hooksFor(session, 'Starting instance'),
  });
  if (r.gate) conclude(session, r.instanceId, r.gate);
  return upData(r, r.routerOnUp ? await routerForUp(ctx, session) : null);
}

/** `gate`: the gate alone, against what runs now. */
export async function waitReady(ctx: AppContext, session: Session, req: { timeout: number }) {
  const { gateSandbox } = await import('./up.js');
  const r = await gateSandbox(ctx, { timeoutMs: req.timeout * 1000, ...hooksFor(session, 'Startability Gate') });
  conclude(session, r.instanceId, r.gate);
  return { ...upData(r), gate: gateData(r.gate) };
}
