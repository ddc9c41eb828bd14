// A virtual clock for the gate (src/core/gate.ts takes its clock as an argument): sleeping advances time at once, so
// tests of polling, deadlines and interrupts never wait.
import type { Clock } from '../../src/core/gate.js';

export function fakeClock(): Clock & { t: number } {
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
