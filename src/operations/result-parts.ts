// Pieces of result schemas that several operations share (a sandbox summary, a gate, container counts). Each is a
// function of zod, so nothing here loads zod: a schema exists only once a surface that needs it builds it.
import type { Zod } from './operation.js';

export const portMap = (z: Zod) => z.record(z.string(), z.number().int());

export const containers = (z: Zod) =>
  z.strictObject({
    state: z.enum(['running', 'stopped', 'partial', 'missing']),
    total: z.number().int(),
    running: z.number().int(),
    healthy: z.number().int(),
    unhealthy: z.number().int(),
    starting: z.number().int(),
    withHealthcheck: z.number().int(),
  });

/** What create and init report. */
export const summary = (z: Zod) =>
  z.strictObject({
    instanceId: z.string(),
    slot: z.number().int(),
    path: z.string(),
    branch: z.string().nullable(),
    envFile: z.string(),
    configSource: z.string(),
    profile: z.string().nullable(),
    ports: portMap(z),
    env: portMap(z),
    cleaned: z.array(z.string()),
    copied: z.array(z.string()).describe('git-ignored files copied from the main checkout (a .env, env_file targets)'),
  });

export const gate = (z: Zod) =>
  z.strictObject({
    passed: z.boolean(),
    interrupted: z.boolean(),
    durationMs: z.number().int(),
    checks: z.array(
      z.strictObject({
        name: z.string(),
        status: z.enum(['waiting', 'passed', 'failed', 'skipped']),
        message: z.string(),
        details: z.array(z.string()),
        attempts: z.number().int(),
        elapsedMs: z.number().int(),
        tried: z
          .string()
          .nullable()
          .describe('what the last attempt did, e.g. GET http://localhost:8001/api/v1/health'),
        got: z
          .string()
          .nullable()
          .describe('what came back, e.g. returned 503; null before any attempt and for a skipped check'),
      }),
    ),
    firstFailure: z
      .strictObject({
        check: z.string(),
        message: z.string(),
        tried: z.string().nullable(),
        got: z.string().nullable(),
      })
      .nullable()
      .describe('the first check, in the order of checks, that failed; null when the gate passed'),
    omitted: z.array(z.strictObject({ name: z.string(), reason: z.string() })),
  });

export const serviceUrl = (z: Zod) => z.strictObject({ name: z.string(), label: z.string(), url: z.string() });

export const finding = (z: Zod) =>
  z.strictObject({
    check: z.enum([
      'engine',
      'compose',
      'registry',
      'leftovers',
      'interrupted',
      'entries',
      'unregistered',
      'claims',
      'pool',
      'env-files',
      'orphans',
      'foreign',
      'ports',
      'shared',
      'python',
      'focus',
      'databases',
    ]),
    status: z.enum(['ok', 'warn', 'problem']),
    message: z.string(),
    fix: z.string().optional(),
    repairable: z.boolean(),
  });

/** A sandbox's URLs by name through the router, each beside the URL a tool can always reach. */
export const hostnames = (z: Zod) =>
  z
    .strictObject({
      url: z.string().nullable().describe("the sandbox's own name: its main HTTP port through the router"),
      routerPort: z.number().int(),
      routerRunning: z.boolean(),
      ports: z.array(
        z.strictObject({
          name: z.string(),
          url: z.string().describe('through the router, by name (browsers and curl resolve *.localhost)'),
          direct: z.string().describe("straight to the published port (Node's resolver may not resolve *.localhost)"),
        }),
      ),
    })
    .describe('named URLs through the router (kinfra router start); they work while the router runs');
