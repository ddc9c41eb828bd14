import { describe, expect, it } from 'vitest';
import { pollInterval, runGate, type Clock, type GateCheck, type Verdict } from '../../src/core/gate.js';

/** A virtual clock: sleeping advances time instantly, so tests never wait. */
function fakeClock(): Clock & { t: number } {
  const c = {
    t: 0,
    now: () => c.t,
    sleep: async (ms: number, signal: AbortSignal) => {
      if (signal.aborted) throw new Error('aborted');
      c.t += ms;
      await Promise.resolve();
    },
  };
  return c;
}

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
