// A run's progress events as the words of MCP progress notifications: an agent waiting on `up` sees what it waits for.
import type { ProgressEvent } from '../app/session.js';

export function progressMessage(e: ProgressEvent): string {
  switch (e.kind) {
    case 'started':
      return `${e.activity}: ${e.instanceId} (slot ${e.slot})`;
    case 'step':
      return e.message;
    case 'gate-changed': {
      const settled = e.checks.filter((c) => c.status !== 'waiting').length;
      const waiting = e.checks.filter((c) => c.status === 'waiting').map((c) => c.name);
      return (
        `Startability Gate: ${settled} of ${e.checks.length} checks settled` +
        (waiting.length ? `; waiting for ${waiting.join(', ')}` : '')
      );
    }
    case 'gate-finished':
      return `Startability Gate: ${e.gate.passed ? 'passed' : e.gate.interrupted ? 'interrupted' : 'FAILED'}`;
    case 'copying':
      return `Copying ${e.dir}: ${e.files} of ${e.totalFiles} files`;
  }
}
