// The Startability Gate (seed 003): is the instance ready, and if not, exactly what is not. Pure orchestration: the
// checks' probes and the clock are injected, so this module never touches the network and tests need no sleeps.
//
// Independent checks poll concurrently; a check with `after` waits for those checks and is skipped when one of them
// fails. Polling starts fast and backs off to a short ceiling, so the gate passes within a fraction of a second of the
// last check becoming true, and everything respects one overall deadline.

export interface Verdict {
  ok: boolean;
  /** Shown when the check passes, e.g. "Workers registered (4)". */
  passText?: string;
  /** Diagnostic lines when it does not, e.g. "GET http://localhost:8001/api/v1/health returned connection refused". */
  details: string[];
  /** It can never pass (the container it needs has exited, or nothing runs): fail now, not at the deadline. */
  final?: boolean;
  /** What this attempt did, e.g. "GET http://localhost:8001/api/v1/health". */
  tried?: string;
  /** What came back, e.g. "returned 503", "the database system is starting up (57P03)". */
  got?: string;
}

export interface GateCheck {
  name: string;
  after: readonly string[];
  /** Shown on success when the probe gives no passText, e.g. "Database ready". */
  passText: string;
  /** Shown on failure, e.g. "Backend health check failed". */
  failText: string;
  probe: (timeoutMs: number, signal: AbortSignal) => Promise<Verdict>;
}

export type CheckStatus = 'waiting' | 'passed' | 'failed' | 'skipped';

export interface CheckResult {
  name: string;
  status: CheckStatus;
  /** The line to show: passText, failText, or why it was skipped. */
  message: string;
  details: string[];
  attempts: number;
  /** From the gate's start to this check settling. */
  elapsedMs: number;
  /** The last attempt's; null before any attempt (a skipped check makes none). Kept on a pass: what proved it. */
  tried: string | null;
  got: string | null;
}

/** The first check, in the gate's order, that failed: the one cause a caller acts on. */
export interface GateFailure {
  check: string;
  message: string;
  tried: string | null;
  got: string | null;
}

export interface GateResult {
  passed: boolean;
  interrupted: boolean;
  checks: CheckResult[];
  durationMs: number;
  /** Null when the gate passed. Skipped checks are consequences, never the cause. */
  firstFailure: GateFailure | null;
}

export interface Clock {
  now(): number;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export interface GateOptions {
  timeoutMs: number;
  clock: Clock;
  /** Called whenever a check changes state (for live display). */
  onChange?: (checks: readonly CheckResult[]) => void;
  /** Aborting ends the gate early (Ctrl-C): unsettled checks fail as interrupted. */
  signal?: AbortSignal;
  /** Longest wait between two attempts of one check. */
  maxIntervalMs?: number;
  /** Longest a single probe may take. */
  probeTimeoutMs?: number;
}

/** 25, 50, 100, 200, 200, ... ms: fast at first, never slower than the ceiling. */
export function pollInterval(attempt: number, maxMs: number): number {
  return Math.min(maxMs, 25 * 2 ** Math.min(attempt, 10));
}

export async function runGate(checks: readonly GateCheck[], opts: GateOptions): Promise<GateResult> {
  const { clock } = opts;
  const start = clock.now();
  const deadline = start + opts.timeoutMs;
  const maxInterval = opts.maxIntervalMs ?? 200;
  const probeTimeout = opts.probeTimeoutMs ?? 2000;
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  const results: CheckResult[] = checks.map((c) => ({
    name: c.name,
    status: 'waiting',
    message: `${c.name}: waiting`,
    details: [],
    attempts: 0,
    elapsedMs: 0,
    tried: null,
    got: null,
  }));
  const settle = (i: number, patch: Partial<CheckResult>) => {
    results[i] = { ...results[i]!, ...patch, elapsedMs: clock.now() - start };
    opts.onChange?.(results);
  };
  const done = new Map<string, Promise<CheckStatus>>();

  const runOne = async (i: number): Promise<CheckStatus> => {
    const check = checks[i]!;
    for (const dep of check.after) {
      const depStatus = await done.get(dep);
      if (depStatus !== 'passed') {
        settle(i, { status: 'skipped', message: `${check.name} skipped (${dep} not ready)` });
        return 'skipped';
      }
    }
    let last: Verdict = { ok: false, details: ['no attempt finished before the deadline'] };
    for (let attempt = 0; ; attempt++) {
      if (stop.signal.aborted) break;
      const remaining = deadline - clock.now();
      if (remaining <= 0 && attempt > 0) break;
      const v = await check.probe(Math.max(50, Math.min(probeTimeout, remaining)), stop.signal);
      // An attempt the interrupt cut short ("aborted") says nothing of the service: the one before is the last answer.
      if (stop.signal.aborted && !v.ok && attempt > 0) break;
      last = v;
      results[i] = {
        ...results[i]!,
        attempts: attempt + 1,
        details: last.details,
        tried: last.tried ?? null,
        got: last.got ?? null,
      };
      if (last.ok) {
        settle(i, { status: 'passed', message: last.passText ?? check.passText, details: [] });
        return 'passed';
      }
      if (last.final) break;
      const wait = Math.min(pollInterval(attempt, maxInterval), deadline - clock.now());
      if (wait <= 0) break;
      await clock.sleep(wait, stop.signal).catch(() => undefined);
    }
    const interrupted = opts.signal?.aborted ?? false;
    settle(i, {
      status: 'failed',
      message: check.failText,
      details: interrupted ? ['interrupted before it passed', ...last.details] : last.details,
    });
    return 'failed';
  };

  // Register every check's promise before any runs, so `after` can find its dependency.
  const order: Promise<CheckStatus>[] = [];
  const starters: (() => void)[] = [];
  for (let i = 0; i < checks.length; i++) {
    order.push(new Promise<CheckStatus>((resolve) => starters.push(() => void runOne(i).then(resolve))));
    done.set(checks[i]!.name, order[i]!);
  }
  opts.onChange?.(results);
  starters.forEach((s) => s());
  const statuses = await Promise.all(order);
  opts.signal?.removeEventListener('abort', onAbort);
  const passed = statuses.every((s) => s === 'passed');
  return {
    passed,
    interrupted: opts.signal?.aborted ?? false,
    checks: results,
    durationMs: clock.now() - start,
    firstFailure: passed ? null : firstFailure(results),
  };
}

function firstFailure(checks: readonly CheckResult[]): GateFailure | null {
  const c = checks.find((x) => x.status === 'failed');
  return c ? { check: c.name, message: c.message, tried: c.tried, got: c.got } : null;
}
