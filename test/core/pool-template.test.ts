import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderPoolCompose, type RenderInput } from '../../src/core/pool-template.js';
import { kinfraErrorOf } from './fixtures.js';

const SOURCE = '/repo/pool.yml';

const TEMPLATE = `# pool slot template
x-kinfra-worker:
  image: app:dev
  command: ["run", "{{worker.type}}"]
  environment:
    WORKER_ID: "{{worker.id}}"
    WORKER_TYPE: "{{worker.type}}"
  ports:
    - "127.0.0.1:{{worker.port}}:5000"

services:
  db:
    image: postgres:16 # the database
volumes:
  db-data: {}
`;

const render = (template: string, input: RenderInput) =>
  parse(renderPoolCompose(template, SOURCE, input)) as Record<string, any>;

const worker = (id: string, type: string, port: string) => ({
  image: 'app:dev',
  command: ['run', type],
  environment: { WORKER_ID: id, WORKER_TYPE: type },
  ports: [`127.0.0.1:${port}:5000`],
});

describe('renderPoolCompose: stamping workers', () => {
  it('stamps one service per worker, <type>-worker-<i>, with its id, type and port', () => {
    const out = render(TEMPLATE, {
      workers: { backtest: 2, training: 1 },
      workerPorts: ['${W_1:-5010}', '${W_2:-5011}', '${W_3:-5012}'],
    });
    expect(out.services).toEqual({
      db: { image: 'postgres:16' },
      'backtest-worker-1': worker('backtest-worker-1', 'backtest', '${W_1:-5010}'),
      'backtest-worker-2': worker('backtest-worker-2', 'backtest', '${W_2:-5011}'),
      'training-worker-1': worker('training-worker-1', 'training', '${W_3:-5012}'),
    });
  });

  it('drops the prototype and keeps the rest of the file', () => {
    const text = renderPoolCompose(TEMPLATE, SOURCE, { workers: { backtest: 1 }, workerPorts: ['${W_1:-5010}'] });
    const out = parse(text) as Record<string, unknown>;
    expect(Object.keys(out)).toEqual(['services', 'volumes']);
    expect(out.volumes).toEqual({ 'db-data': {} });
    expect(text).not.toContain('{{worker.');
    expect(text).toContain('# the database');
  });

  it('numbers workers per type but hands out ports in order across types', () => {
    const out = render(TEMPLATE, { workers: { a: 1, none: 0, b: 2 }, workerPorts: ['P1', 'P2', 'P3'] });
    expect(Object.keys(out.services)).toEqual(['db', 'a-worker-1', 'b-worker-1', 'b-worker-2']);
    expect(out.services['b-worker-2'].ports).toEqual(['127.0.0.1:P3:5000']);
  });

  it('a worker beyond the given ports gets an empty port', () => {
    const out = render(TEMPLATE, { workers: { a: 2 }, workerPorts: ['P1'] });
    expect(out.services['a-worker-2'].ports).toEqual(['127.0.0.1::5000']);
  });

  it("a profile without workers leaves only the template's own services", () => {
    for (const workers of [{}, { a: 0, b: 0 }] as Record<string, number>[]) {
      const out = render(TEMPLATE, { workers, workerPorts: [] });
      expect(out).toEqual({ services: { db: { image: 'postgres:16' } }, volumes: { 'db-data': {} } });
    }
  });

  it('replaces every occurrence, in keys too', () => {
    const t = `x-kinfra-worker:
  labels:
    "{{worker.type}}.id": "{{worker.id}}/{{worker.id}}"
services: {}
`;
    expect(render(t, { workers: { job: 1 }, workerPorts: [] }).services).toEqual({
      'job-worker-1': { labels: { 'job.id': 'job-worker-1/job-worker-1' } },
    });
  });

  it('renders the built-in KTRDR template for a heavy slot', () => {
    const text = readFileSync(new URL('../../templates/ktrdr-pool.yml', import.meta.url), 'utf8');
    const ports = Array.from({ length: 8 }, (_, i) => `\${KTRDR_WORKER_PORT_${i + 1}:-${5060 + i}}`);
    const out = render(text, { workers: { backtest: 4, training: 4 }, workerPorts: ports });
    expect(out['x-kinfra-worker']).toBeUndefined();
    const workers = Object.keys(out.services).filter((s) => s.includes('-worker-'));
    expect(workers).toEqual(
      [1, 2, 3, 4].map((i) => `backtest-worker-${i}`).concat([1, 2, 3, 4].map((i) => `training-worker-${i}`)),
    );
    expect(out.services['training-worker-4'].environment.WORKER_ID).toBe('training-worker-4');
    expect(out.services['training-worker-4'].ports).toEqual(['127.0.0.1:${KTRDR_WORKER_PORT_8:-5067}:5000']);
  });
});

describe('renderPoolCompose: YAML anchors in the prototype', () => {
  // The template is parsed with merge keys on, and compose files commonly share settings through anchors.
  const stamped = (t: string) => render(t, { workers: { job: 1 }, workerPorts: ['P1'] }).services['job-worker-1'];

  it('a prototype that merges a shared block (<<: *common) gets its keys', () => {
    expect(
      stamped(`x-common: &common
  restart: always
x-kinfra-worker:
  <<: *common
  image: app
services: {}
`),
    ).toEqual({ restart: 'always', image: 'app' });
  });

  it('a prototype that refers to an anchor (*env) gets the anchored value', () => {
    expect(
      stamped(`services:
  db:
    environment: &env
      A: "1"
x-kinfra-worker:
  image: app
  environment: *env
`),
    ).toEqual({ image: 'app', environment: { A: '1' } });
  });
});

describe('renderPoolCompose: templates it refuses', () => {
  it('without a prototype, a profile that runs workers is refused', () => {
    const err = kinfraErrorOf(
      () =>
        renderPoolCompose('services:\n  db: {image: x}\n', SOURCE, { workers: { a: 0, b: 1 }, workerPorts: ['P1'] }),
      'usage',
      'invalid-template',
    );
    expect(err.message).toBe(`${SOURCE}: no x-kinfra-worker prototype, but the profile runs workers`);
    expect(err.hint).toContain('x-kinfra-worker');
  });

  it('without a prototype, a profile without workers gets the template as it is', () => {
    const t = 'services:\n  db:\n    image: x # kept\n';
    expect(renderPoolCompose(t, SOURCE, { workers: { a: 0 }, workerPorts: [] })).toBe(t);
  });

  it('a file without services is refused', () => {
    const err = kinfraErrorOf(
      () => renderPoolCompose('x-kinfra-worker:\n  image: x\nvolumes: {}\n', SOURCE, { workers: {}, workerPorts: [] }),
      'usage',
      'invalid-template',
    );
    expect(err.message).toBe(`${SOURCE}: no services`);
  });

  it('an empty services key is refused like a missing one', () => {
    kinfraErrorOf(
      () =>
        renderPoolCompose('services:\nx-kinfra-worker:\n  image: x\n', SOURCE, {
          workers: { a: 1 },
          workerPorts: ['P1'],
        }),
      'usage',
      'invalid-template',
    );
  });

  it.each([
    ['a compact nested mapping', 'a: b: c\n'],
    ['an unclosed flow sequence', 'services: [db\n'],
    ['a bad indentation', 'services:\n  db:\n image: x\n    ports: []\n'],
    ['a duplicate key', 'services: {}\nservices: {}\n'],
  ])('invalid YAML (%s) is refused, naming the file', (_label, text) => {
    const err = kinfraErrorOf(
      () => renderPoolCompose(text, SOURCE, { workers: {}, workerPorts: [] }),
      'usage',
      'invalid-template',
    );
    expect(err.message.startsWith(`${SOURCE}: `)).toBe(true);
    expect(err.hint).toBe('Fix the pool template.');
  });
});
