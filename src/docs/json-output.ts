import { z } from 'zod';

/**
 * The `data` of every command's --json document, version 1. Objects are strict:
 * a field added, removed or renamed in a command's output fails the tests that
 * check real output against these, and `npm run docs` regenerates
 * schema/json-output.schema.json from them. Changing a shape incompatibly means
 * raising JSON_SCHEMA_VERSION (src/cli/output.ts). Not loaded by the CLI itself.
 */
const o = z.strictObject;
const int = z.number().int();
const portMap = z.record(z.string(), int);
const str = z.string();
const nullable = <T extends z.ZodType>(t: T) => t.nullable();

const containers = o({
  state: z.enum(['running', 'stopped', 'partial', 'missing']),
  total: int, running: int, healthy: int, unhealthy: int, starting: int, withHealthcheck: int,
});

const summary = o({
  instanceId: str, slot: int, path: str, branch: str.optional(), envFile: str, configSource: str,
  profile: nullable(str), ports: portMap, env: portMap, cleaned: z.array(str),
});

const gate = o({
  passed: z.boolean(),
  interrupted: z.boolean(),
  durationMs: int,
  checks: z.array(o({
    name: str, status: z.enum(['waiting', 'passed', 'failed', 'skipped']), message: str, details: z.array(str), attempts: int, elapsedMs: int,
  })),
  omitted: z.array(o({ name: str, reason: str })),
});
const serviceUrl = o({ name: str, label: str, url: str });

const finding = o({
  check: z.enum(['engine', 'compose', 'registry', 'leftovers', 'interrupted', 'entries', 'unregistered', 'claims', 'pool', 'env-files', 'orphans', 'foreign', 'ports', 'shared', 'python']),
  status: z.enum(['ok', 'warn', 'problem']),
  message: str,
  fix: str.optional(),
  repairable: z.boolean(),
});

export const JSON_OUTPUT = {
  create: summary,
  init: summary.extend({ adopted: z.boolean() }),
  list: o({
    instances: z.array(o({
      instanceId: str, slot: int, apiPort: int.optional(), path: str, branch: str.optional(), isWorktree: z.boolean(), parentRepo: str,
      createdAt: str, ports: portMap, status: nullable(str), containers: nullable(containers), state: nullable(str),
    })),
    cleaned: z.array(str),
    orphans: z.array(o({ project: str, containers: int, running: int, volumes: z.array(str), networks: z.array(str) })),
    foreign: z.array(o({
      project: str, owner: z.enum(['other-kinfra', 'unlabelled']), path: nullable(str), containers: int, running: int,
      volumes: z.array(str), networks: z.array(str),
    })),
    engineError: nullable(o({ code: str, message: str, hint: str.optional() })),
  }),
  destroy: o({
    instanceId: str, slot: int, path: str, branch: str.optional(), removesFolder: z.boolean(), keepReason: nullable(str),
    uncommitted: z.array(str), ignored: z.array(str), nestedRepos: z.array(str), unsharedCommits: z.array(str), cancelled: z.boolean(),
    removed: nullable(o({ containers: int, volumes: int })), keptVolumes: z.array(str), engineWarning: nullable(str),
  }),
  up: o({ instanceId: str, slot: int, gate: nullable(gate), urls: z.array(serviceUrl), absent: z.array(str) }),
  gate: o({ instanceId: str, slot: int, gate, urls: z.array(serviceUrl), absent: z.array(str) }),
  down: o({ instanceId: str, volumesRemoved: z.boolean(), keptVolumes: z.array(str) }),
  status: o({
    instanceId: str, slot: int, path: str, registered: z.boolean(), project: str, containers,
    services: z.array(serviceUrl.extend({ port: int })), absent: z.array(str),
    workers: z.array(o({ port: int, url: str, service: nullable(str), state: str, registered: nullable(z.boolean()) })),
    shared: nullable(o({
      root: str,
      dirs: z.array(o({ name: str, path: str, exists: z.boolean(), files: int, bytes: int, partial: z.boolean() })),
    })),
  }),
  doctor: o({
    healthy: z.boolean(), problems: int, warnings: int, findings: z.array(finding),
    repairs: z.array(o({ check: str, message: str, done: z.boolean(), note: str })).optional(),
  }),
  url: o({ url: str, source: z.enum(['flag --url', 'flag --port', 'env-file', 'default']), envFile: nullable(str), detail: str }),
  'init-shared': o({
    root: str, from: nullable(str),
    dirs: z.array(o({
      name: str, path: str, created: z.boolean(), missingInSource: z.boolean(), copiedFiles: int, copiedBytes: int, alreadyThere: int,
      overwritten: int, keptDiffering: z.array(str), skippedSpecial: z.array(str), removedPartials: int,
    })),
  }),
  verify: o({
    file: str, configSource: str, errors: int, warnings: int,
    findings: z.array(o({ severity: z.enum(['error', 'warning']), service: str, message: str, fix: str })),
  }),
  provision: o({
    slots: z.array(o({
      slot: int, profile: str, action: z.enum(['would-create', 'created', 'exists', 'refreshed', 'blocked']), ports: portMap, reason: str.optional(),
    })),
    created: int, skipped: int,
  }),
  slots: o({
    slots: z.array(o({
      slot: int, profile: str, workers: z.record(z.string(), int), apiPort: nullable(int), claimedBy: nullable(str), claimedAt: nullable(str),
      status: nullable(str), path: str,
    })),
    released: z.array(o({ slot: int, claimedBy: str })),
  }),
  release: o({ slot: int, releasedFrom: nullable(str) }),
} as const;

export type JsonCommand = keyof typeof JSON_OUTPUT;

export const successDocument = (command: JsonCommand) => o({ schemaVersion: z.literal(1), ok: z.literal(true), data: JSON_OUTPUT[command] });

/** What every command prints on stderr when it fails with --json. */
export const errorDocument = o({
  schemaVersion: z.literal(1),
  ok: z.literal(false),
  error: o({ code: str, message: str, hint: str.optional(), details: z.record(z.string(), z.unknown()).optional() }),
});

export function jsonOutputSchema(): string {
  const definitions: Record<string, unknown> = {};
  for (const name of Object.keys(JSON_OUTPUT) as JsonCommand[]) {
    definitions[name] = z.toJSONSchema(successDocument(name), { target: 'draft-7' });
  }
  definitions.error = z.toJSONSchema(errorDocument, { target: 'draft-7' });
  return JSON.stringify({
    title: 'kinfra --json output, schemaVersion 1',
    description: 'One definition per command: the document it prints on stdout with --json; `error` is what any command prints on stderr when it fails.',
    definitions,
  }, null, 2) + '\n';
}
