// What the surface running an operation offers its use case: a person to ask (or not), somewhere to report progress,
// and a signal for Ctrl-C. The CLI gives a terminal; MCP and HTTP give their own; tests give a scripted one.
import type { CheckResult } from '../core/gate.js';
import type { SandboxGateResult } from './gate.js';

/** Events an operation reports while it runs; a surface renders them or forwards them. */
export type ProgressEvent =
  /** `activity` says what starts: 'Starting instance', 'Startability Gate'. */
  | { kind: 'started'; activity: string; instanceId: string; slot: number }
  /** A step of a longer piece of work: 'Creating worktree ...', 'Resetting pool slot 5'. */
  | { kind: 'step'; message: string }
  | { kind: 'gate-changed'; checks: readonly CheckResult[] }
  | { kind: 'gate-finished'; gate: SandboxGateResult }
  | { kind: 'copying'; dir: string; files: number; totalFiles: number; bytes: number; totalBytes: number };

/** What a surface offers the handler besides its input: a person to ask, somewhere to report to, a way to stop. */
export interface Session {
  /** A person can answer questions (a terminal, and not --json). */
  interactive: boolean;
  /**
   * The surface wants the result as a document (--json, MCP): an operation that would hand the terminal to a child
   * (logs) captures a bounded result instead.
   */
  document: boolean;
  /** Ask a yes/no question; false when nobody can answer. `details` are shown before it. */
  confirm(question: string, details?: readonly string[]): Promise<boolean>;
  progress(event: ProgressEvent): void;
  /** Aborted when the user interrupts (Ctrl-C): a handler that waits stops waiting. */
  signal: AbortSignal;
}
