// A running gate's record for the dashboard: every change of a check written (at most every 100 ms, the last always),
// and the result when it ends. Best effort: a record that cannot be written never fails or slows the gate.
import { writeGateRecord } from '../adapters/gate-records.js';
import type { StatePaths } from '../adapters/paths.js';
import type { CheckResult, GateResult } from '../core/gate.js';

const EVERY_MS = 100;

export interface GateRecorder {
  changed(checks: readonly CheckResult[]): void;
  finished(gate: GateResult): void;
  /** The gate ended by an error: its record says it no longer runs (as interrupted). */
  abandoned(): void;
}

export function gateRecorder(paths: StatePaths, instanceId: string): GateRecorder {
  const start = Date.now();
  let latest: readonly CheckResult[] = [];
  let timer: NodeJS.Timeout | undefined;
  let lastWrite = 0;
  let done = false;
  const write = (running: boolean, gate: GateResult) => {
    try {
      writeGateRecord(paths.gatesDir, { instanceId, running, at: new Date().toISOString(), gate });
    } catch {
      // the dashboard misses one update; the gate goes on
    }
  };
  const flush = () => {
    timer = undefined;
    if (done) return;
    lastWrite = Date.now();
    const gate = { passed: false, interrupted: false, checks: [...latest], durationMs: Date.now() - start };
    write(true, { ...gate, firstFailure: null });
  };
  return {
    changed(checks) {
      latest = checks.map((c) => ({ ...c }));
      if (timer || done) return;
      timer = setTimeout(flush, Math.max(0, lastWrite + EVERY_MS - Date.now()));
      timer.unref();
    },
    finished(gate) {
      done = true;
      clearTimeout(timer);
      write(false, gate);
    },
    abandoned() {
      if (done) return;
      const gate = { passed: false, interrupted: true, checks: [...latest], durationMs: Date.now() - start };
      this.finished({ ...gate, firstFailure: null });
    },
  };
}
