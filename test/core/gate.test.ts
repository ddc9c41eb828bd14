import { describe, expect, it } from 'vitest';
import { pollInterval, runGate, type GateCheck, type Verdict } from '../../src/core/gate.js';
import { fakeClock } from '../helpers/fake-clock.js';

/** A check that becomes ok at virtual time `readyAt` (never, with Infinity). */
function check(
  name: string,
  clock: { now(): number },
  readyAt: number,
  opts: Partial<GateCheck> & { fail?: string } = {},
): GateCheck & { calls: number } {
  const c = {
    name,
    after: [] as string[],
    passText: `${name} ready`,
    failText: `${name} failed`,
    calls: 0,
    probe: async (): Promise<Verdict> => {
      c.calls++;
      return clock.now() >= readyAt
        ? { ok: true, details: [] }
        : { ok: false, details: [opts.fail ?? `${name} not yet`] };
    },
    ...opts,
  };
  return c;
}

describe('StartabilityGate (runGate)', () => {
  it('passes when every check passes, reporting each with its pass text', async () => {
    const clock = fakeClock();
    const r = await runGate([check('Database', clock, 0), check('Backend', clock, 300)], { timeoutMs: 5000, clock });
    expect(r.passed).toBe(true);
    expect(r.checks.map((c) => [c.status, c.message])).toEqual([
      ['passed', 'Database ready'],
      ['passed', 'Backend ready'],
    ]);
  });

  it('fails when any check fails by the deadline, with what it tried and what came back', async () => {
    const clock = fakeClock();
    const backend = check('Backend', clock, Infinity, {
      fail: 'GET http://localhost:8001/api/v1/health returned connection refused',
    });
    const r = await runGate([check('Database', clock, 0), backend], { timeoutMs: 2000, clock });
    expect(r.passed).toBe(false);
    expect(r.checks[1]).toMatchObject({
      status: 'failed',
      message: 'Backend failed',
      details: ['GET http://localhost:8001/api/v1/health returned connection refused'],
    });
    expect(r.checks[1]!.elapsedMs).toBeGreaterThanOrEqual(2000);
    expect(r.durationMs).toBeLessThanOrEqual(2000 + 200);
  });

  it(
    'skips a dependent check when its dependency fails, and skipped checks are ' + 'not failures of their own',
    async () => {
      const clock = fakeClock();
      const workers = check('Workers', clock, 0, { after: ['Backend'] });
      const r = await runGate([check('Backend', clock, Infinity), workers], { timeoutMs: 1000, clock });
      expect(r.passed).toBe(false);
      expect(r.checks[1]).toMatchObject({ status: 'skipped', message: 'Workers skipped (Backend not ready)' });
      expect(workers.calls).toBe(0);
    },
  );

  it('runs a dependent check only after its dependency passed', async () => {
    const clock = fakeClock();
    let backendPassedAt = -1;
    const backend = check('Backend', clock, 500);
    const wrapped = {
      ...backend,
      probe: async (t: number, s: AbortSignal) => {
        const v = await backend.probe(t, s);
        if (v.ok) backendPassedAt = clock.now();
        return v;
      },
    };
    let firstWorkerProbe = -1;
    const workers: GateCheck = {
      ...check('Workers', clock, 0),
      after: ['Backend'],
      probe: async () => {
        if (firstWorkerProbe < 0) firstWorkerProbe = clock.now();
        return { ok: true, details: [] };
      },
    };
    const r = await runGate([wrapped, workers], { timeoutMs: 5000, clock });
    expect(r.passed).toBe(true);
    expect(firstWorkerProbe).toBeGreaterThanOrEqual(backendPassedAt);
  });

  it('polls independent checks concurrently: total time is the slowest check, not the sum', async () => {
    const clock = fakeClock();
    const r = await runGate([check('A', clock, 1000), check('B', clock, 1000), check('C', clock, 1000)], {
      timeoutMs: 10_000,
      clock,
    });
    expect(r.passed).toBe(true);
    // Three checks of 1 s each, polled side by side with a 200 ms ceiling: done within 1.2 s, not 3 s.
    expect(r.durationMs).toBeLessThan(1000 + 200 + 1);
  });

  it('notices a check becoming true within one polling ceiling (fast first intervals, 200 ms cap)', async () => {
    expect([0, 1, 2, 3, 4, 9].map((i) => pollInterval(i, 200))).toEqual([25, 50, 100, 200, 200, 200]);
    for (const readyAt of [10, 60, 333, 2500, 7777]) {
      const clock = fakeClock();
      const r = await runGate([check('X', clock, readyAt)], { timeoutMs: 60_000, clock });
      expect(r.passed).toBe(true);
      expect(r.checks[0]!.elapsedMs - readyAt).toBeLessThanOrEqual(200);
    }
  });

  it('stops at once when interrupted and marks unsettled checks as interrupted', async () => {
    const clock = fakeClock();
    const ac = new AbortController();
    const slow: GateCheck = {
      ...check('Slow', clock, Infinity),
      probe: async () => {
        if (clock.now() > 400) ac.abort();
        return { ok: false, details: ['not yet'] };
      },
    };
    const r = await runGate([slow], { timeoutMs: 60_000, clock, signal: ac.signal });
    expect(r.interrupted).toBe(true);
    expect(r.passed).toBe(false);
    expect(r.checks[0]!.details[0]).toBe('interrupted before it passed');
    expect(r.durationMs).toBeLessThan(1000);
  });

  it('reports every state change for live display, ending with the settled states', async () => {
    const clock = fakeClock();
    const seen: string[][] = [];
    await runGate([check('A', clock, 100), check('B', clock, Infinity)], {
      timeoutMs: 500,
      clock,
      onChange: (cs) => seen.push(cs.map((c) => c.status)),
    });
    expect(seen[0]).toEqual(['waiting', 'waiting']);
    expect(seen.at(-1)).toEqual(['passed', 'failed']);
  });

  it('passes an empty gate at once', async () => {
    const r = await runGate([], { timeoutMs: 1000, clock: fakeClock() });
    expect(r).toMatchObject({ passed: true, checks: [] });
  });
});

/** A probe that answers each attempt from a script (its last line for every attempt after), counting the calls. */
function scripted(answers: Verdict[]): GateCheck['probe'] & { calls: number } {
  const probe = Object.assign(
    async () => {
      const v = answers[Math.min(probe.calls, answers.length - 1)]!;
      probe.calls++;
      return v;
    },
    { calls: 0 },
  );
  return probe;
}

const health = 'GET http://localhost:8001/api/v1/health';
const starting = { ok: false, tried: health, got: 'returned 503', details: [`${health} returned 503`] };

describe('one readiness contract: what each check tried, what came back, and the first failure', () => {
  it("keeps the last attempt's tried and got, also on a pass (what proved it)", async () => {
    const clock = fakeClock();
    const probe = scripted([starting, starting, { ok: true, tried: health, got: '200', details: [] }]);
    const r = await runGate([{ ...check('Backend', clock, 0), probe }], { timeoutMs: 5000, clock });
    expect(r.checks[0]).toMatchObject({ status: 'passed', attempts: 3, tried: health, got: '200', details: [] });
    expect(r.firstFailure).toBeNull();
  });

  it('records each attempt: a last attempt that says nothing leaves null, not an earlier answer', async () => {
    const clock = fakeClock();
    const probe = scripted([starting, { ok: false, details: ['no answer'] }]);
    const r = await runGate([{ ...check('Backend', clock, 0), probe }], { timeoutMs: 300, clock });
    expect(probe.calls).toBeGreaterThan(2);
    expect(r.checks[0]).toMatchObject({ status: 'failed', attempts: probe.calls, tried: null, got: null });
  });

  it('gives null tried and got before any attempt, and to a skipped check', async () => {
    const clock = fakeClock();
    const seen: (string | null)[][] = [];
    const db = { ...check('Database', clock, 0), probe: scripted([{ ...starting, final: true }]) };
    const r = await runGate([db, check('Workers', clock, 0, { after: ['Database'] })], {
      timeoutMs: 1000,
      clock,
      onChange: (cs) => seen.push(cs.flatMap((c) => [c.tried, c.got])),
    });
    expect(seen[0]).toEqual([null, null, null, null]);
    expect(r.checks[1]).toMatchObject({ status: 'skipped', tried: null, got: null, attempts: 0 });
  });

  it('names the first failed check in gate order, not the first to fail in time, never a skipped one', async () => {
    const clock = fakeClock();
    const pg = 'Postgres startup on localhost:5433';
    const r = await runGate(
      [
        check('Observability', clock, 0),
        // Fails only at the deadline: later than Cache, but first in the order.
        { ...check('Database', clock, 0), probe: scripted([{ ok: false, tried: pg, got: '57P03', details: ['x'] }]) },
        check('Workers', clock, 0, { after: ['Database'] }),
        { ...check('Cache', clock, 0), probe: scripted([{ ...starting, final: true }]) },
      ],
      { timeoutMs: 1000, clock },
    );
    expect(r.checks.map((c) => c.status)).toEqual(['passed', 'failed', 'skipped', 'failed']);
    expect(r.checks[3]!.elapsedMs).toBeLessThan(r.checks[1]!.elapsedMs);
    expect(r.firstFailure).toEqual({ check: 'Database', message: 'Database failed', tried: pg, got: '57P03' });
  });

  it('when interrupted, names the first failed check with the last answer before the interrupt', async () => {
    const clock = fakeClock();
    const ac = new AbortController();
    // Ctrl-C during the third attempt: the real probes then answer "aborted", which says nothing of the service.
    const answers = [starting, starting];
    const probe = async (_t: number, signal: AbortSignal): Promise<Verdict> => {
      const v = answers.shift();
      if (v) return v;
      ac.abort();
      return { ok: false, tried: health, got: signal.aborted ? 'aborted' : 'what?', details: ['aborted'] };
    };
    const r = await runGate(
      [{ ...check('Backend', clock, 0), probe }, check('Workers', clock, 0, { after: ['Backend'] })],
      {
        timeoutMs: 60_000,
        clock,
        signal: ac.signal,
      },
    );
    expect(r.interrupted).toBe(true);
    expect(r.checks[0]).toMatchObject({
      status: 'failed',
      attempts: 2,
      got: 'returned 503',
      details: ['interrupted before it passed', `${health} returned 503`],
    });
    expect(r.checks[1]!.status).toBe('skipped');
    expect(r.firstFailure).toEqual({ check: 'Backend', message: 'Backend failed', tried: health, got: 'returned 503' });
  });
});
