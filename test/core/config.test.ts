import { describe, expect, it } from 'vitest';
import {
  BUILT_IN_SOURCE,
  DEFAULT_COMPOSE_FILES,
  DEFAULT_MAX_SLOT,
  builtInConfig,
  parseConfigText,
} from '../../src/core/config/config.js';
import { configFileSchema } from '../../src/core/config/schema.js';
import { KTRDR_DEFAULT } from '../../src/core/config/ktrdr-default.js';
import { KinfraError } from '../../src/core/errors.js';

const SRC = '/repo/kinfra.yaml';

const MINIMAL = `prefix: myapp
ports:
  api:
    env: MYAPP_API_PORT
    base: 8000
`;

function configError(text: string): KinfraError {
  try {
    parseConfigText(text, SRC);
  } catch (e) {
    expect(e).toBeInstanceOf(KinfraError);
    const err = e as KinfraError;
    expect(err.category).toBe('usage');
    expect(err.code).toBe('invalid-config');
    expect(err.message.startsWith(`${SRC}: `), err.message).toBe(true);
    expect(err.hint).toContain(SRC);
    return err;
  }
  throw new Error(`expected the config to be rejected:\n${text}`);
}

describe('parseConfigText: valid files', () => {
  it('resolves a minimal file (prefix + ports) with defaults', () => {
    const c = parseConfigText(MINIMAL, SRC);
    expect(c.source).toBe(SRC);
    expect(c.prefix).toBe('myapp');
    expect(c.composeFiles).toEqual([
      'docker-compose.sandbox.yml',
      'docker-compose.yml',
      'compose.yaml',
      'compose.yml',
      'docker-compose.yaml',
    ]);
    expect(c.composeFiles).toEqual(DEFAULT_COMPOSE_FILES);
    expect(c.maxSlot).toBe(10);
    expect(DEFAULT_MAX_SLOT).toBe(10);
    expect(c.workerCount).toBe(0);
    expect(c.ports).toEqual([{ name: 'api', env: 'MYAPP_API_PORT', base: 8000, step: 1 }]);
    expect(c.shared).toBeUndefined();
    expect(c.gate).toEqual([]);
    expect(c.profiles).toEqual({});
    expect(c.pool).toEqual([]);
  });

  it('resolves workers into named worker ports after the other ports', () => {
    const c = parseConfigText(
      `${MINIMAL}workers:
  env_prefix: MYAPP_WORKER_
  count: 2
  base: 6000
  step: 10
  main: 6003
`,
      SRC,
    );
    expect(c.workerCount).toBe(2);
    expect(c.ports.map((p) => [p.name, p.env, p.base, p.step, p.main, p.worker])).toEqual([
      ['api', 'MYAPP_API_PORT', 8000, 1, undefined, undefined],
      ['worker_1', 'MYAPP_WORKER_1', 6000, 10, 6003, 1],
      ['worker_2', 'MYAPP_WORKER_2', 6001, 10, 6004, 2],
    ]);
  });

  it('honours compose_files, slots.max, shared, gate, profiles and pool', () => {
    const c = parseConfigText(
      `${MINIMAL}compose_files: [compose.dev.yml]
slots:
  max: 3
shared:
  env: MYAPP_SHARED
  root: ~/shared
  dirs:
    data: MYAPP_DATA
gate:
  checks:
    - name: Api
      kind: http
      port: api
      path: /health
    - name: Again
      kind: tcp
      port: api
      after: [Api]
profiles:
  small:
    workers: { w: 1 }
pool:
  slots:
    "3": small
    "1": small
`,
      SRC,
    );
    expect(c.composeFiles).toEqual(['compose.dev.yml']);
    expect(c.maxSlot).toBe(3);
    expect(c.shared).toEqual({ env: 'MYAPP_SHARED', root: '~/shared', dirs: [{ name: 'data', env: 'MYAPP_DATA' }] });
    expect(c.gate.map((g) => g.name)).toEqual(['Api', 'Again']);
    expect(c.gate[1]!.after).toEqual(['Api']);
    expect(c.profiles).toEqual({ small: { workers: { w: 1 } } });
    expect(c.pool).toEqual([
      { slot: 1, profile: 'small' },
      { slot: 3, profile: 'small' },
    ]);
  });

  it('supports YAML merge keys', () => {
    const c = parseConfigText(
      `prefix: myapp
ports:
  api: &port
    env: MYAPP_API_PORT
    base: 8000
    step: 10
  web:
    <<: *port
    env: MYAPP_WEB_PORT
    base: 8001
`,
      SRC,
    );
    expect(c.ports.map((p) => [p.name, p.env, p.base, p.step])).toEqual([
      ['api', 'MYAPP_API_PORT', 8000, 10],
      ['web', 'MYAPP_WEB_PORT', 8001, 10],
    ]);
  });
});

describe('parseConfigText: errors name the file, the key and what was expected', () => {
  it('an unknown top-level key', () => {
    const err = configError(`${MINIMAL}colour: blue\n`);
    expect(err.message).toContain('colour');
    expect(err.message).toMatch(/unknown key/);
  });

  it('an unknown key inside a port', () => {
    const err = configError(`${MINIMAL}    colour: blue\n`);
    expect(err.message).toContain('ports.api');
    expect(err.message).toContain('colour');
  });

  it('a wrong type (ports.api.base: "abc")', () => {
    const err = configError(`prefix: myapp
ports:
  api:
    env: MYAPP_API_PORT
    base: "abc"
`);
    expect(err.message).toContain('ports.api.base');
    expect(err.message).toMatch(/number/);
    expect(err.details).toMatchObject({ file: SRC, key: 'ports.api.base' });
  });

  it('a port number out of range', () => {
    const err = configError(MINIMAL.replace('8000', '70000'));
    expect(err.message).toContain('ports.api.base');
    expect(err.message).toMatch(/65535/);
  });

  it('a bad environment variable name', () => {
    const err = configError(MINIMAL.replace('MYAPP_API_PORT', 'myapp-api-port'));
    expect(err.message).toContain('ports.api.env');
    expect(err.message).toContain('UPPER_SNAKE_CASE');
  });

  it('a bad prefix', () => {
    const err = configError(MINIMAL.replace('prefix: myapp', 'prefix: My_App'));
    expect(err.message).toContain('prefix');
    expect(err.message).toContain('lowercase');
  });

  it('no ports section is no error: every port the compose files publish is derived (issue 14)', () => {
    expect(parseConfigText('prefix: myapp\n', 'kinfra.yaml').ports).toEqual([]);
    expect(parseConfigText('prefix: myapp\nports: {}\n', 'kinfra.yaml').ports).toEqual([]);
  });

  it('invalid YAML, mentioning the line', () => {
    const err = configError('prefix: myapp\nports:\n  api: [unclosed\n  db: {\n');
    expect(err.message).toContain('not valid YAML');
    expect(err.message).toMatch(/line \d+/);
  });

  it('invalid YAML on a known line', () => {
    const err = configError('prefix: myapp\nports:\n  api:\n    env: A\n   bad: indentation\n');
    expect(err.message).toContain('not valid YAML');
    expect(err.message).toMatch(/\(line [45]\)/);
  });

  it.each([
    ['a list', '- a\n- b\n'],
    ['a string', 'just text\n'],
    ['a number', '42\n'],
    ['empty', ''],
    ['null', 'null\n'],
  ])('a non-mapping document (%s)', (_label, text) => {
    const err = configError(text);
    expect(err.message).toContain('expected a mapping');
  });

  it('two variables sharing a port across slots, naming both', () => {
    const err = configError(`prefix: myapp
ports:
  api:
    env: MYAPP_API_PORT
    base: 8000
  admin:
    env: MYAPP_ADMIN_PORT
    base: 8001
`);
    expect(err.message).toContain('ports');
    expect(err.message).toContain('MYAPP_API_PORT');
    expect(err.message).toContain('MYAPP_ADMIN_PORT');
    expect(err.message).toContain('8001');
    expect(err.details).toMatchObject({ key: 'ports' });
  });

  it('the seed OTLP layout (both stepping by 1)', () => {
    const err = configError(`prefix: ktrdr
ports:
  jaeger_otlp_grpc: { env: KTRDR_JAEGER_OTLP_GRPC_PORT, base: 4317 }
  jaeger_otlp_http: { env: KTRDR_JAEGER_OTLP_HTTP_PORT, base: 4318 }
`);
    expect(err.message).toContain('KTRDR_JAEGER_OTLP_GRPC_PORT');
    expect(err.message).toContain('KTRDR_JAEGER_OTLP_HTTP_PORT');
  });

  it('worker ports that collide with another port', () => {
    const err = configError(`${MINIMAL}workers:
  env_prefix: MYAPP_WORKER_
  count: 2
  base: 7995
  step: 10
  main: 9000
`);
    // Slot 1 worker 1 is 7995 + 10 = 8005, the api port of slot 5.
    expect(err.message).toContain('MYAPP_WORKER_1 of slot 1');
    expect(err.message).toContain('MYAPP_API_PORT of slot 5');
    expect(err.message).toContain('8005');
  });

  it('a port plan that leaves the port range within slots.max', () => {
    const err = configError(`prefix: myapp
slots:
  max: 20
ports:
  api: { env: MYAPP_API_PORT, base: 65530 }
`);
    expect(err.message).toContain('MYAPP_API_PORT');
    expect(err.message).toContain('65536');
  });

  it('a gate check without a port (a derived port may be named after its service, so any name is taken)', () => {
    const err = configError(`${MINIMAL}gate:
  checks:
    - name: Db
      kind: postgres
`);
    expect(err.message).toContain('gate.checks.0.port');
    expect(err.message).toContain('a postgres check needs the name of a port');
  });

  it('a gate check `after` referencing a later check', () => {
    const err = configError(`${MINIMAL}gate:
  checks:
    - name: First
      kind: http
      port: api
      after: [Second]
    - name: Second
      kind: tcp
      port: api
`);
    expect(err.message).toContain('gate.checks.0.after');
    expect(err.message).toContain('Second');
    expect(err.message).toContain('earlier check');
  });

  it('a gate check `after` referencing an unknown check', () => {
    const err = configError(`${MINIMAL}gate:
  checks:
    - name: First
      kind: http
      port: api
    - name: Second
      kind: tcp
      port: api
      after: [Nope]
`);
    expect(err.message).toContain('gate.checks.1.after');
    expect(err.message).toContain('Nope');
  });

  it('duplicate gate check names', () => {
    const err = configError(`${MINIMAL}gate:
  checks:
    - { name: Api, kind: http, port: api }
    - { name: Api, kind: tcp, port: api }
`);
    expect(err.message).toContain('gate.checks.1.name');
    expect(err.message).toContain('duplicate');
  });

  it('a gate check of an unknown kind', () => {
    const err = configError(`${MINIMAL}gate:
  checks:
    - { name: Api, kind: ping, port: api }
`);
    expect(err.message).toContain('gate.checks.0.kind');
  });

  it('a pool slot referencing an unknown profile', () => {
    const err = configError(`${MINIMAL}profiles:
  light:
    workers: { w: 1 }
pool:
  slots:
    "2": huge
`);
    expect(err.message).toContain('pool.slots.2');
    expect(err.message).toContain('unknown profile huge');
    expect(err.message).toContain('light');
  });

  it('a pool slot referencing a profile when there are none', () => {
    const err = configError(`${MINIMAL}pool:
  slots:
    "2": light
`);
    expect(err.message).toContain('pool.slots.2');
    expect(err.message).toContain('none');
  });

  it.each([
    ['shared.root', `shared:\n  env: MYAPP_SHARED\n  root: "/data\\nroot"\n  dirs: {}\n`],
    ['compose_files.1', 'compose_files: [compose.yml, "a\\rb.yml"]\n'],
    ['pool.template', 'pool:\n  slots: {}\n  template: "t\\0.yml"\n'],
    ['destroy.regenerable.0', 'destroy:\n  regenerable: ["cache/\\n"]\n'],
    ['gate.checks.0.path', 'gate:\n  checks:\n    - { name: Api, kind: http, port: api, path: "/x\\ny" }\n'],
  ])('a path with a line break or NUL (%s): .env.sandbox, compose and git cannot carry it', (key, extra) => {
    const err = configError(`${MINIMAL}${extra}`);
    expect(err.message).toContain(`${key}: a path on one line`);
    expect(err.details).toMatchObject({ key });
  });

  it.each([
    ['above slots.max', '11'],
    ['slot 0', '0'],
  ])('a pool slot out of range (%s)', (_label, slot) => {
    const err = configError(`${MINIMAL}profiles:
  light:
    workers: { w: 1 }
pool:
  slots:
    "${slot}": light
`);
    expect(err.message).toContain(`pool.slots.${slot}`);
    expect(err.message).toContain('slot must be 1-10');
  });
});

describe('built-in KTRDR default', () => {
  const c = builtInConfig();

  it('validates against the same schema as kinfra.yaml', () => {
    expect(configFileSchema.safeParse(KTRDR_DEFAULT).success).toBe(true);
  });

  it('is named as the built-in default', () => {
    expect(c.source).toBe(BUILT_IN_SOURCE);
    expect(c.prefix).toBe('ktrdr');
    expect(c.composeFiles).toEqual(['docker-compose.sandbox.yml', 'docker-compose.yml']);
    expect(c.maxSlot).toBe(10);
    expect(c.workerCount).toBe(4);
  });

  it('has the four seed gate checks in order', () => {
    expect(c.gate).toHaveLength(4);
    expect(c.gate.map((g) => [g.name, g.kind, g.port])).toEqual([
      ['Database', 'postgres', 'db'],
      ['Backend', 'http', 'api'],
      ['Workers', 'workers', 'api'],
      ['Observability', 'http', 'jaeger_ui'],
    ]);
    expect(c.gate[1]!.path).toBe('/api/v1/health');
    expect(c.gate[1]!.status).toBe(200);
    expect(c.gate[2]!.path).toBe('/api/v1/workers');
    expect(c.gate[2]!.after).toEqual(['Backend']);
  });

  it('has profiles light/standard/heavy with 1+1, 2+2 and 4+4 workers', () => {
    expect(c.profiles).toEqual({
      light: { workers: { backtest: 1, training: 1 } },
      standard: { workers: { backtest: 2, training: 2 } },
      heavy: { workers: { backtest: 4, training: 4 } },
    });
  });

  it('has pool slots 1-4 light, 5 standard, 6 heavy (seed 004)', () => {
    expect(c.pool).toEqual([
      { slot: 1, profile: 'light' },
      { slot: 2, profile: 'light' },
      { slot: 3, profile: 'light' },
      { slot: 4, profile: 'light' },
      { slot: 5, profile: 'standard' },
      { slot: 6, profile: 'heavy' },
    ]);
  });

  it('has the shared data folders of seed 001', () => {
    expect(c.shared).toEqual({
      env: 'KTRDR_SHARED_DIR',
      root: '~/.ktrdr/shared',
      dirs: [
        { name: 'data', env: 'KTRDR_DATA_DIR' },
        { name: 'models', env: 'KTRDR_MODELS_DIR' },
        { name: 'strategies', env: 'KTRDR_STRATEGIES_DIR' },
      ],
    });
  });

  it('parses the same when written out as a kinfra.yaml', () => {
    const fromYaml = parseConfigText(JSON.stringify(KTRDR_DEFAULT), SRC);
    // Written in a kinfra.yaml, its compose_files are the user's statement (they win over a project's COMPOSE_FILE).
    expect({ ...fromYaml, source: BUILT_IN_SOURCE, composeFilesStated: false }).toEqual(c);
  });
});
