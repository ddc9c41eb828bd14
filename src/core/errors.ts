// Every failure kinfra expects is a KinfraError: a stable code (for --json and scripts), a message (what happened) and
// a hint (what to do next). The CLI maps the code's category to an exit code in exactly one place (cli/exit-codes.ts).

export type ErrorCategory =
  | 'usage' // bad arguments or input: fix the command line or the file
  | 'gate' // the Startability Gate failed
  | 'port-conflict' // a slot port is held by something else
  | 'conflict' // the request clashes with existing state (slot taken, dir exists, work at risk)
  | 'exists' // a sandbox of that name already exists
  | 'not-found' // no such sandbox, not inside one
  | 'registry' // the registry is unreadable or locked
  | 'engine' // Docker or Compose is missing or unreachable
  | 'external' // git or another tool failed unexpectedly
  | 'api' // `kinfra api`: the backend answered non-2xx, or could not be reached
  | 'verify' // `kinfra sandbox verify` found problems
  | 'unhealthy' // `kinfra sandbox doctor` found problems it did not repair
  | 'interrupted';

export class KinfraError extends Error {
  readonly code: string;
  readonly category: ErrorCategory;
  /** What to do next: required, so no failure reaches a user without one. */
  readonly hint: string;
  readonly details: Record<string, unknown> | undefined;

  constructor(category: ErrorCategory, code: string, message: string, hint: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'KinfraError';
    this.category = category;
    this.code = code;
    this.hint = hint;
    this.details = details;
  }
}

export const usageError = (code: string, message: string, hint: string, details?: Record<string, unknown>) =>
  new KinfraError('usage', code, message, hint, details);
export const conflictError = (code: string, message: string, hint: string, details?: Record<string, unknown>) =>
  new KinfraError('conflict', code, message, hint, details);
export const existsError = (code: string, message: string, hint: string, details?: Record<string, unknown>) =>
  new KinfraError('exists', code, message, hint, details);
export const notFoundError = (code: string, message: string, hint: string, details?: Record<string, unknown>) =>
  new KinfraError('not-found', code, message, hint, details);
export const registryError = (code: string, message: string, hint: string, details?: Record<string, unknown>) =>
  new KinfraError('registry', code, message, hint, details);
export const externalError = (code: string, message: string, hint: string, details?: Record<string, unknown>) =>
  new KinfraError('external', code, message, hint, details);

export const isKinfraError = (e: unknown): e is KinfraError => e instanceof KinfraError;
