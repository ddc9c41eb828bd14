// Render a pool slot's compose file from a template. The template is a compose file plus one prototype service under
// `x-kinfra-worker`; kinfra stamps out one service per worker of the slot's profile (`<type>-worker-<i>`), filling
// {{worker.id}}, {{worker.type}} and {{worker.port}} (the published host port, as ${VAR:-default}), and drops the
// prototype.

import { isMap, parseDocument } from 'yaml';
import { usageError } from './errors.js';

export interface RenderInput {
  workers: Record<string, number>;
  /** Host-port expressions of worker 1..n, e.g. ${KTRDR_WORKER_PORT_1:-5010}. */
  workerPorts: string[];
}

export function renderPoolCompose(template: string, source: string, input: RenderInput): string {
  const doc = parseDocument(template, { merge: true, logLevel: 'error' });
  if (doc.errors.length > 0)
    throw usageError('invalid-template', `${source}: ${doc.errors[0]!.message}`, 'Fix the pool template.');
  // Resolved as the whole document (aliases and merge keys of the prototype point elsewhere in it).
  const prototype = doc.has('x-kinfra-worker')
    ? { toJSON: () => (doc.toJS({ maxAliasCount: -1 }) as Record<string, unknown>)['x-kinfra-worker'] }
    : undefined;
  const node = doc.get('services', true);
  if (!isMap(node))
    throw usageError('invalid-template', `${source}: no services`, 'A pool template is a compose file.');
  const services = node;
  if (!prototype) {
    if (Object.values(input.workers).some((n) => n > 0)) {
      throw usageError(
        'invalid-template',
        `${source}: no x-kinfra-worker prototype, but the profile runs workers`,
        'Add an x-kinfra-worker service prototype.',
      );
    }
    return doc.toString();
  }
  const json = JSON.stringify(prototype.toJSON());
  let k = 0;
  for (const [type, count] of Object.entries(input.workers)) {
    for (let i = 1; i <= count; i++) {
      const id = `${type}-worker-${i}`;
      const port = input.workerPorts[k++] ?? '';
      const filled = json
        .replaceAll('{{worker.id}}', id)
        .replaceAll('{{worker.type}}', type)
        .replaceAll('{{worker.port}}', port);
      services.set(id, doc.createNode(JSON.parse(filled)));
    }
  }
  doc.delete('x-kinfra-worker');
  return doc.toString();
}
