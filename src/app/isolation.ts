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

/** Published ports kinfra cannot give a slot value (derivePorts' problems): every copy would publish them. */
export function cannotIsolate(instanceId: string, problems: readonly string[]) {
  return usageError(
    'cannot-isolate',
    `${instanceId} cannot run beside other copies of its stack:\n${problems.map((p) => `  ${p}`).join('\n')}`,
    'Change what is named above; kinfra sandbox verify lists everything kinfra cannot isolate.',
    { problems },
  );
}

/** Refuse a layout with ports kinfra cannot move, or a configuration whose copies would collide. */
export function assertLayoutIsolatable(
  layout: { problems: readonly string[]; effective: unknown },
  instanceId: string,
): void {
  if (layout.problems.length > 0) throw cannotIsolate(instanceId, layout.problems);
  if (layout.effective) assertIsolatable(layout.effective, instanceId);
}
