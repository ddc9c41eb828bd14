// Refusing a sandbox only when its copies would really collide (a fixed subnet or address), saying why and what to
// change; everything else kinfra cannot isolate is reported by verify and left to run.
import { usageError } from '../core/errors.js';
import { isolationFindings } from '../core/isolation.js';

export function assertIsolatable(config: unknown, instanceId: string): void {
  const errors = isolationFindings(config, '').filter((f) => f.severity === 'error');
  if (errors.length === 0) return;
  throw usageError(
    'cannot-isolate',
    `${instanceId} cannot run beside other copies of its stack:\n` +
      errors.map((f) => `  ${f.service}: ${f.message}`).join('\n'),
    `${errors[0]!.fix}; kinfra sandbox verify lists everything kinfra cannot isolate.`,
    { findings: errors },
  );
}
