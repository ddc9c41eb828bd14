import { describe, expect, it } from 'vitest';
import { builtInConfig, parseConfigText } from '../../src/core/config/config.js';
import { formatEnvText, parseEnvText, type EnvLine } from '../../src/core/env-file.js';
import { ENV_FILE_NAME, SANDBOX_VERSION, identityFromEnv } from '../../src/core/sandbox-env.js';
import { adHocLease, leaseEnvLines } from '../../src/core/slot-lease.js';
import type { Config } from '../../src/core/config/config.js';

/** An ad-hoc sandbox's identity, the shape these tests were written in. */
interface SandboxIdentity {
  instanceId: string;
  slot: number;
  createdAt: string;
  sharedRoot: string | undefined;
  createdWorktree?: boolean;
  owner?: string;
}

/** The .env.sandbox of an ad-hoc lease: the one writer (core/slot-lease.ts), for that identity. */
const sandboxEnvLines = (config: Config, id: SandboxIdentity): EnvLine[] =>
  leaseEnvLines(config, adHocLease(id.slot), id.sharedRoot, { ...id, path: `/work/${id.instanceId}` });

const slot2: SandboxIdentity = {
  instanceId: 'ktrdr--feat-operation-metrics',
  slot: 2,
  createdAt: '2024-01-15T10:30:00Z',
  sharedRoot: '/Users/karl/.ktrdr/shared',
};

function vars(lines: EnvLine[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of lines) if ('key' in l) out[l.key] = l.value;
  return out;
}

const SEED_001_KEYS = [
  'INSTANCE_ID',
  'COMPOSE_PROJECT_NAME',
  'SLOT_NUMBER',
  'KTRDR_API_PORT',
  'KTRDR_DB_PORT',
  'KTRDR_GRAFANA_PORT',
  'KTRDR_JAEGER_UI_PORT',
  'KTRDR_JAEGER_OTLP_GRPC_PORT',
  'KTRDR_JAEGER_OTLP_HTTP_PORT',
  'KTRDR_PROMETHEUS_PORT',
  'KTRDR_WORKER_PORT_1',
  'KTRDR_WORKER_PORT_2',
  'KTRDR_WORKER_PORT_3',
  'KTRDR_WORKER_PORT_4',
  'KTRDR_SHARED_DIR',
  'CREATED_AT',
  'SANDBOX_VERSION',
];

describe('sandboxEnvLines', () => {
  const lines = sandboxEnvLines(builtInConfig(), slot2);
  const env = vars(lines);

  it('names the file .env.sandbox, version 1', () => {
    expect(ENV_FILE_NAME).toBe('.env.sandbox');
    expect(SANDBOX_VERSION).toBe('1');
  });

  it('has every key of the seed 001 .env.sandbox schema', () => {
    for (const key of SEED_001_KEYS) expect(env, key).toHaveProperty(key);
  });

  it('has exactly the seed keys plus the shared sub-folders, each once', () => {
    const keys = lines.flatMap((l) => ('key' in l ? [l.key] : []));
    expect(new Set(keys).size).toBe(keys.length);
    // Plus the router's name of the sandbox (issue 16: .env.sandbox carries the hostname).
    expect([...keys].sort()).toEqual(
      [...SEED_001_KEYS, 'KTRDR_DATA_DIR', 'KTRDR_MODELS_DIR', 'KTRDR_STRATEGIES_DIR', 'KINFRA_HOSTNAME'].sort(),
    );
  });

  it('writes the values for slot 2, with OTLP stepping by 10 (not the seed 4319/4320)', () => {
    expect(env).toEqual({
      INSTANCE_ID: 'ktrdr--feat-operation-metrics',
      COMPOSE_PROJECT_NAME: 'ktrdr--feat-operation-metrics',
      SLOT_NUMBER: '2',
      KTRDR_API_PORT: '8002',
      KTRDR_DB_PORT: '5434',
      KTRDR_GRAFANA_PORT: '3002',
      KTRDR_JAEGER_UI_PORT: '16688',
      KTRDR_JAEGER_OTLP_GRPC_PORT: '4337',
      KTRDR_JAEGER_OTLP_HTTP_PORT: '4338',
      KTRDR_PROMETHEUS_PORT: '9092',
      KTRDR_WORKER_PORT_1: '5020',
      KTRDR_WORKER_PORT_2: '5021',
      KTRDR_WORKER_PORT_3: '5022',
      KTRDR_WORKER_PORT_4: '5023',
      KTRDR_SHARED_DIR: '/Users/karl/.ktrdr/shared',
      KTRDR_DATA_DIR: '/Users/karl/.ktrdr/shared/data',
      KTRDR_MODELS_DIR: '/Users/karl/.ktrdr/shared/models',
      KTRDR_STRATEGIES_DIR: '/Users/karl/.ktrdr/shared/strategies',
      CREATED_AT: '2024-01-15T10:30:00Z',
      SANDBOX_VERSION: '1',
      KINFRA_HOSTNAME: 'ktrdr--feat-operation-metrics.localhost',
    });
    expect(env.KTRDR_JAEGER_OTLP_GRPC_PORT).not.toBe('4319');
    expect(env.KTRDR_JAEGER_OTLP_HTTP_PORT).not.toBe('4320');
  });

  it('groups the keys in seed order: identity, ports, shared data, metadata', () => {
    const comments = lines.flatMap((l) => ('comment' in l && l.comment !== '' ? [l.comment] : []));
    expect(comments.slice(1)).toEqual(['Instance Identity', 'Published Ports', 'Shared Data', 'Metadata']);
    const keys = lines.flatMap((l) => ('key' in l ? [l.key] : []));
    expect(keys.slice(0, 3)).toEqual(['INSTANCE_ID', 'COMPOSE_PROJECT_NAME', 'SLOT_NUMBER']);
    expect(keys.slice(-3)).toEqual(['CREATED_AT', 'SANDBOX_VERSION', 'KINFRA_HOSTNAME']);
    expect(keys.indexOf('KTRDR_API_PORT')).toBeLessThan(keys.indexOf('KTRDR_SHARED_DIR'));
  });

  it('round-trips through the .env file format and gives back its identity', () => {
    const text = formatEnvText(lines);
    expect(text).toContain('KTRDR_API_PORT=8002\n');
    expect(text).toContain('SLOT_NUMBER=2\n');
    const parsed = parseEnvText(text);
    expect(parsed).toEqual(env);
    expect(identityFromEnv(parsed)).toEqual({ instanceId: 'ktrdr--feat-operation-metrics', slot: 2 });
  });

  it('keeps a shared root with spaces intact through the file', () => {
    const id = { ...slot2, sharedRoot: '/Users/Karl Smith/.ktrdr/shared' };
    const parsed = parseEnvText(formatEnvText(sandboxEnvLines(builtInConfig(), id)));
    expect(parsed.KTRDR_SHARED_DIR).toBe('/Users/Karl Smith/.ktrdr/shared');
    expect(parsed.KTRDR_MODELS_DIR).toBe('/Users/Karl Smith/.ktrdr/shared/models');
  });

  it('leaves out the shared data block without a shared root', () => {
    const noShared = vars(sandboxEnvLines(builtInConfig(), { ...slot2, sharedRoot: undefined }));
    expect(noShared).not.toHaveProperty('KTRDR_SHARED_DIR');
    expect(noShared).not.toHaveProperty('KTRDR_DATA_DIR');
    expect(noShared.KTRDR_API_PORT).toBe('8002');
    expect(noShared.SANDBOX_VERSION).toBe('1');
  });

  it('leaves out the shared data block when the config has no shared section', () => {
    const cfg = parseConfigText(
      'prefix: myapp\nports:\n  web:\n    env: MYAPP_WEB_PORT\n    base: 8080\n',
      'kinfra.yaml',
    );
    const lines5 = sandboxEnvLines(cfg, { instanceId: 'myapp--x', slot: 5, createdAt: 't', sharedRoot: '/s' });
    expect(vars(lines5)).toEqual({
      INSTANCE_ID: 'myapp--x',
      COMPOSE_PROJECT_NAME: 'myapp--x',
      SLOT_NUMBER: '5',
      MYAPP_WEB_PORT: '8085',
      CREATED_AT: 't',
      SANDBOX_VERSION: '1',
      KINFRA_HOSTNAME: 'myapp--x.localhost',
    });
  });

  it('uses slot 0 ports for slot 0', () => {
    const main = vars(sandboxEnvLines(builtInConfig(), { ...slot2, slot: 0 }));
    expect(main.KTRDR_API_PORT).toBe('8000');
    expect(main.KTRDR_WORKER_PORT_1).toBe('5003');
    expect(main.KTRDR_JAEGER_OTLP_HTTP_PORT).toBe('4318');
  });
});

describe('identityFromEnv', () => {
  it('reads INSTANCE_ID and SLOT_NUMBER', () => {
    expect(identityFromEnv({ INSTANCE_ID: 'ktrdr--a', SLOT_NUMBER: '3' })).toEqual({ instanceId: 'ktrdr--a', slot: 3 });
  });

  it('accepts slot 0', () => {
    expect(identityFromEnv({ INSTANCE_ID: 'ktrdr--main', SLOT_NUMBER: '0' })).toEqual({
      instanceId: 'ktrdr--main',
      slot: 0,
    });
  });

  it('falls back to SLOT_ID when SLOT_NUMBER is missing', () => {
    expect(identityFromEnv({ INSTANCE_ID: 'ktrdr--a', SLOT_ID: '4' })).toEqual({ instanceId: 'ktrdr--a', slot: 4 });
  });

  it('prefers SLOT_NUMBER over SLOT_ID', () => {
    expect(identityFromEnv({ INSTANCE_ID: 'ktrdr--a', SLOT_NUMBER: '2', SLOT_ID: '4' })).toEqual({
      instanceId: 'ktrdr--a',
      slot: 2,
    });
  });

  it('says why when INSTANCE_ID is missing or empty', () => {
    expect(identityFromEnv({ SLOT_NUMBER: '2' })).toBe('it has no INSTANCE_ID');
    expect(identityFromEnv({ INSTANCE_ID: '', SLOT_NUMBER: '2' })).toBe('it has no INSTANCE_ID');
    expect(identityFromEnv({})).toBe('it has no INSTANCE_ID');
  });

  it.each([
    ['missing', {}],
    ['not a number', { SLOT_NUMBER: 'two' }],
    ['negative', { SLOT_NUMBER: '-1' }],
    ['fractional', { SLOT_NUMBER: '2.5' }],
  ])('says why when SLOT_NUMBER is %s', (_label, extra) => {
    expect(identityFromEnv({ INSTANCE_ID: 'ktrdr--a', ...extra })).toBe('it has no valid SLOT_NUMBER');
  });

  it('rejects an empty or blank SLOT_NUMBER instead of reading it as slot 0', () => {
    // Number('') === 0: an empty SLOT_NUMBER= line must not make a sandbox claim slot 0 (the main checkout).
    expect(identityFromEnv({ INSTANCE_ID: 'ktrdr--a', SLOT_NUMBER: '' })).toBe('it has no valid SLOT_NUMBER');
    expect(identityFromEnv({ INSTANCE_ID: 'ktrdr--a', SLOT_NUMBER: '   ' })).toBe('it has no valid SLOT_NUMBER');
  });

  it("range-checks the slot: 0-99, and within the layout's slots when given one", () => {
    expect(identityFromEnv({ INSTANCE_ID: 'ktrdr--a', SLOT_NUMBER: '99' })).toEqual({
      instanceId: 'ktrdr--a',
      slot: 99,
    });
    expect(identityFromEnv({ INSTANCE_ID: 'ktrdr--a', SLOT_NUMBER: '100' })).toBe(
      'it names slot 100, outside the slots 0-99',
    );
    const layout = builtInConfig();
    expect(identityFromEnv({ INSTANCE_ID: 'ktrdr--a', SLOT_NUMBER: '10' }, layout)).toEqual({
      instanceId: 'ktrdr--a',
      slot: 10,
    });
    expect(identityFromEnv({ INSTANCE_ID: 'ktrdr--a', SLOT_NUMBER: '11' }, layout)).toBe(
      "it names slot 11, outside this layout's slots 0-10",
    );
  });

  it("range-checks every port: the layout's variables, a profile's extra workers and any *_PORT", () => {
    const ok = { INSTANCE_ID: 'ktrdr--a', SLOT_NUMBER: '1', KTRDR_API_PORT: '8001', KTRDR_WORKER_PORT_7: '5016' };
    expect(identityFromEnv(ok, builtInConfig())).toEqual({ instanceId: 'ktrdr--a', slot: 1 });
    expect(identityFromEnv({ ...ok, KTRDR_API_PORT: '70000' })).toBe(
      'its KTRDR_API_PORT is "70000", not a port number (1-65535)',
    );
    expect(identityFromEnv({ ...ok, KTRDR_API_PORT: '0' })).toBe(
      'its KTRDR_API_PORT is "0", not a port number (1-65535)',
    );
    expect(identityFromEnv({ ...ok, KTRDR_WORKER_PORT_7: 'x' }, builtInConfig())).toBe(
      'its KTRDR_WORKER_PORT_7 is "x", not a port number (1-65535)',
    );
    expect(identityFromEnv({ ...ok, OTHER_PORT: '65536' })).toBe(
      'its OTHER_PORT is "65536", not a port number (1-65535)',
    );
  });
});
