// Exit codes: each error category becomes one code here, and nowhere else.

import type { ErrorCategory } from '../core/errors.js';

/** The one place where failures become exit codes (documented in docs/exit-codes.md). */
export const EXIT_CODES: Record<ErrorCategory | 'ok' | 'internal', number> = {
  ok: 0,
  usage: 1,
  gate: 2,
  'port-conflict': 3,
  conflict: 4,
  'not-found': 5,
  registry: 6,
  engine: 7,
  external: 8,
  api: 9,
  verify: 10,
  unhealthy: 11,
  exists: 12,
  internal: 70,
  interrupted: 130,
};
