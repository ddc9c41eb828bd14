// A project's sandbox layout: kinfra.yaml parsed, checked against the schema and resolved into a Config.

import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { usageError } from '../errors.js';
import { findPortProblems, type NamedPort } from '../ports.js';
import { configFileSchema, type GateCheckSpec, type ParsedConfigFile, type ProfileSpec } from './schema.js';
import { KTRDR_DEFAULT } from './ktrdr-default.js';
import { checkProfilesFit } from '../pool.js';
import { DEFAULT_REGENERABLE } from '../work-at-risk.js';
import type { DatabaseSpec } from '../database/service.js';

export const CONFIG_FILE_NAME = 'kinfra.yaml';
export const DEFAULT_COMPOSE_FILES = [
  'docker-compose.sandbox.yml',
  'docker-compose.yml',
  'compose.yaml',
  'compose.yml',
  'docker-compose.yaml',
];
export const DEFAULT_MAX_SLOT = 10;
/** Compose's own file names, in its order: what a project without kinfra.yaml runs. */
export const COMPOSE_DEFAULT_FILES = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'];

/** A project's sandbox layout, resolved and checked. */
export interface Config {
  /** Where it came from: a kinfra.yaml path, 'built-in KTRDR default', or 'derived from the compose files'. */
  source: string;
  /** No kinfra.yaml and no KTRDR layout: everything but the prefix comes from the compose files. */
  derived: boolean;
  /** Run the gate checks derived from the compose files (services, healthchecks, Postgres) besides `gate`. */
  gateDerived: boolean;
  /** Git-ignored files a new sandbox gets copied from the main checkout (kinfra.yaml `copy`). */
  copy: string[];
  /** kinfra.yaml names its compose files: then they win over a COMPOSE_FILE in the project's `.env`. */
  composeFilesStated: boolean;
  /** How the generated layer reaches Compose (kinfra.yaml `compose.merge`). */
  merge: 'auto' | 'tags' | 'rendered';
  prefix: string;
  composeFiles: string[];
  maxSlot: number;
  /** Every published port, worker ports last. */
  ports: NamedPort[];
  workerCount: number;
  shared: { env: string; root: string; dirs: { name: string; env: string }[] } | undefined;
  gate: GateCheckSpec[];
  profiles: Record<string, ProfileSpec>;
  pool: { slot: number; profile: string }[];
  /** Pool template path as written in kinfra.yaml (relative to its folder), or undefined for the built-in one. */
  poolTemplate: string | undefined;
  /** Git-ignored paths destroy may delete without asking: the built-in list plus destroy.regenerable. */
  regenerable: string[];
  /** `up` starts the router when none runs (kinfra.yaml `router.start_on_up`). */
  routerOnUp?: boolean | undefined;
  /** kinfra.yaml `database:` (the database service and its login, when the compose files do not say them). */
  database?: DatabaseSpec | undefined;
}

export const BUILT_IN_SOURCE = 'built-in KTRDR default';
export const DERIVED_SOURCE = 'derived from the compose files';

/** The layout of a project nobody prepared for kinfra: its prefix from its folder, the rest from Compose. */
export function derivedConfig(prefix: string): Config {
  return {
    source: DERIVED_SOURCE,
    derived: true,
    gateDerived: true,
    copy: [],
    merge: 'auto',
    composeFilesStated: false,
    prefix,
    composeFiles: COMPOSE_DEFAULT_FILES,
    maxSlot: DEFAULT_MAX_SLOT,
    ports: [],
    workerCount: 0,
    shared: undefined,
    gate: [],
    profiles: {},
    pool: [],
    poolTemplate: undefined,
    regenerable: [...DEFAULT_REGENERABLE],
  };
}

/** The prefix a folder name gives (`My App--feature` -> `my-app`): lowercase letters, digits, dashes; at most 20. */
export function prefixOf(folder: string): string {
  const slug = folder
    .replace(/--.*$/, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, 20)
    .replace(/^-+|-+$/g, '');
  return slug || 'app';
}

function invalid(source: string, key: string, expected: string) {
  return usageError(
    'invalid-config',
    `${source}: ${key ? `${key}: ` : ''}${expected}`,
    `Fix ${key || 'the file'} in ${source}; the editor schema is schema/kinfra.schema.json in the kinfra package.`,
    { file: source, key },
  );
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown key(s) ${issue.keys.join(', ')}`;
  return issue.message;
}

/** Parse and check the text of a kinfra.yaml. `source` names the file in errors. */
export function parseConfigText(text: string, source: string): Config {
  let raw: unknown;
  try {
    // logLevel 'error': the yaml library would otherwise print warnings (e.g. unknown tags) on stderr, breaking --json.
    raw = parseYaml(text, { merge: true, logLevel: 'error' });
  } catch (e) {
    const where = e instanceof YAMLParseError && e.linePos ? ` (line ${e.linePos[0].line})` : '';
    throw invalid(source, '', `not valid YAML${where}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw invalid(source, '', 'expected a mapping with at least `prefix` and `ports`');
  }
  const parsed = configFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw invalid(source, issue.path.join('.'), describeIssue(issue));
  }
  return resolveConfig(parsed.data, source);
}

export function builtInConfig(): Config {
  const config = resolveConfig(configFileSchema.parse(KTRDR_DEFAULT), BUILT_IN_SOURCE);
  return { ...config, gateDerived: false, composeFilesStated: false };
}

function resolveConfig(file: ParsedConfigFile, source: string): Config {
  const ports: NamedPort[] = Object.entries(file.ports ?? {}).map(([name, p]) => ({ name, ...p }));
  const w = file.workers;
  const workerCount = w?.count ?? 0;
  for (let i = 1; w && i <= w.count; i++) {
    ports.push({
      name: `worker_${i}`,
      env: `${w.env_prefix}${i}`,
      base: w.base + (i - 1),
      step: w.step,
      main: w.main + (i - 1),
      label: `Worker ${i}`,
      url: 'http://localhost:{port}',
      worker: i,
    });
  }
  const maxSlot = file.slots?.max ?? DEFAULT_MAX_SLOT;
  const problems = findPortProblems(ports, maxSlot);
  if (problems.length > 0) {
    throw invalid(source, 'ports', `the port plan is unsafe for slots 0-${maxSlot}: ${problems[0]!.message}`);
  }

  const checks = file.gate?.checks ?? [];
  const seen = new Set<string>();
  checks.forEach((c, i) => {
    // A port may be one kinfra derives (named after its service), so only its presence is checked here.
    if (c.kind !== 'services' && c.port === undefined) {
      throw invalid(source, `gate.checks.${i}.port`, `a ${c.kind} check needs the name of a port`);
    }
    for (const dep of c.after ?? []) {
      if (!seen.has(dep)) {
        throw invalid(source, `gate.checks.${i}.after`, `${dep} must be the name of an earlier check`);
      }
    }
    if (seen.has(c.name)) throw invalid(source, `gate.checks.${i}.name`, `duplicate check name ${c.name}`);
    seen.add(c.name);
  });

  const profiles = file.profiles ?? {};
  const pool = Object.entries(file.pool?.slots ?? {})
    .map(([slot, profile]) => ({ slot: Number(slot), profile }))
    .sort((a, b) => a.slot - b.slot);
  for (const s of pool) {
    if (s.slot < 1 || s.slot > maxSlot) throw invalid(source, `pool.slots.${s.slot}`, `slot must be 1-${maxSlot}`);
    if (!profiles[s.profile]) {
      throw invalid(
        source,
        `pool.slots.${s.slot}`,
        `unknown profile ${s.profile}; known: ${Object.keys(profiles).join(', ') || 'none'}`,
      );
    }
  }

  const config: Config = {
    source,
    derived: false,
    gateDerived: file.gate?.derived ?? file.gate?.checks === undefined,
    copy: file.copy ?? [],
    merge: file.compose?.merge ?? 'auto',
    composeFilesStated: file.compose_files !== undefined,
    routerOnUp: file.router?.start_on_up ?? false,
    ...(file.database
      ? {
          database: {
            service: file.database.service,
            user: file.database.user,
            database: file.database.database,
            passwordEnv: file.database.password_env,
          },
        }
      : {}),
    prefix: file.prefix,
    composeFiles: file.compose_files ?? DEFAULT_COMPOSE_FILES,
    maxSlot,
    ports,
    workerCount,
    shared: file.shared && {
      env: file.shared.env,
      root: file.shared.root,
      dirs: Object.entries(file.shared.dirs).map(([name, env]) => ({ name, env })),
    },
    gate: checks,
    profiles,
    pool,
    poolTemplate: file.pool?.template,
    regenerable: [...DEFAULT_REGENERABLE, ...(file.destroy?.regenerable ?? [])],
  };
  checkProfilesFit(config);
  return config;
}
