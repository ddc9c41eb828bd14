// The schema of kinfra.yaml. Keys are snake_case in the file (like compose files); the parsed Config is camelCase. The
// same schema validates the built-in KTRDR default, so the default can never be a configuration a user could not write.

import { z } from 'zod';
import { MAX_PORT, SLOT_LIMIT } from '../ports.js';

const envName = z
  .string()
  .regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name in UPPER_SNAKE_CASE, e.g. MYAPP_API_PORT');
/**
 * A path: of a file, a folder or a URL. kinfra writes some into .env.sandbox and
 * hands others to compose, git or an HTTP request line, none of which can carry a
 * line break or NUL: refused here, once, with the key that holds it.
 */
const onePath = z
  .string()
  .min(1)
  .regex(/^[^\n\r\0]*$/, 'a path on one line (no line break or NUL character)');
const portNumber = z.number().int().min(1).max(MAX_PORT);
const portName = z.string().regex(/^[a-z][a-z0-9_]*$/, 'a lowercase name such as api or jaeger_ui');

const portSpec = z.strictObject({
  env: envName.describe('Variable that carries the host port in .env.sandbox and the compose file'),
  base: portNumber.describe('Port of slot 0 (the main checkout) when `main` is not set; slot N gets base + step*N'),
  step: z.number().int().min(1).default(1).describe('How far apart two slots are'),
  main: portNumber.optional().describe('Port of slot 0, when it does not follow the formula'),
  label: z.string().optional().describe('Name shown by status, e.g. Grafana'),
  url: z
    .string()
    .optional()
    .describe('How status prints it: a template with {port}, e.g. http://localhost:{port}/api/v1/docs'),
  http: z
    .boolean()
    .optional()
    .describe("The sandbox's main HTTP port: what <instance-id>.localhost reaches through the router (default: api)"),
});

const workers = z.strictObject({
  env_prefix: envName.describe('Worker i gets <env_prefix><i>, e.g. KTRDR_WORKER_PORT_1'),
  count: z.number().int().min(0).max(100).describe('Worker ports per slot'),
  base: portNumber.describe('Slot N worker i: base + step*N + (i-1)'),
  step: z.number().int().min(1),
  main: portNumber.describe('Slot 0 worker i: main + (i-1)'),
});

const shared = z.strictObject({
  env: envName.describe('Variable that carries the shared root, e.g. KTRDR_SHARED_DIR'),
  root: onePath.describe('Shared root; ~ is the home folder'),
  dirs: z
    .record(z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/, 'a plain folder name'), envName)
    .describe('Folder under root -> variable that carries its absolute path'),
});

const httpStatus = z.number().int().min(100).max(599);
const gateCheck = z.strictObject({
  name: z.string().min(1),
  kind: z
    .enum(['postgres', 'http', 'workers', 'tcp', 'services'])
    .describe('services: every service running, one-shot services done, healthchecks healthy (needs no port)'),
  services: z
    .string()
    .optional()
    .describe(
      'workers: regular expression matching the worker services; their count is the number expected (default: worker)',
    ),
  port: portName.optional().describe('Name of a port from `ports` (every kind but services)'),
  path: onePath.startsWith('/').optional(),
  status: z.union([httpStatus, z.array(httpStatus).min(1)]).optional(),
  after: z.array(z.string()).optional().describe('Checks that must pass before this one runs'),
});

const profile = z.strictObject({
  workers: z.record(z.string().regex(/^[a-z][a-z0-9_-]*$/), z.number().int().min(0).max(50)),
});

export const configFileSchema = z
  .strictObject({
    prefix: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*[a-z0-9]$|^[a-z0-9]$/, 'lowercase letters, digits and dashes, e.g. myapp')
      .max(20)
      .describe('Instance ids are <prefix>--<name>'),
    compose_files: z.array(onePath).min(1).optional().describe('Looked for in this order'),
    slots: z.strictObject({ max: z.number().int().min(1).max(SLOT_LIMIT) }).optional(),
    ports: z
      .record(portName, portSpec)
      .optional()
      .describe('Published ports kinfra moves per slot; ports the compose files publish that are not here are derived'),
    workers: workers.optional(),
    shared: shared.optional(),
    gate: z
      .strictObject({
        checks: z.array(gateCheck).optional(),
        derived: z
          .boolean()
          .optional()
          .describe(
            'Also run the checks kinfra derives from the compose files (services, healthchecks, Postgres); ' +
              'default: true when `checks` is absent, false when it is given',
          ),
      })
      .optional(),
    copy: z
      .array(onePath)
      .optional()
      .describe(
        "Git-ignored files of the main checkout that a new sandbox needs (besides the compose files' own .env " +
          'and env_file targets, which kinfra copies anyway), relative to the repository',
      ),
    compose: z
      .strictObject({
        merge: z
          .enum(['auto', 'tags', 'rendered'])
          .optional()
          .describe(
            "auto: Compose's !override/!reset where it has them (2.24.4 and later), else a rendered file; " +
              'rendered: always run the fully rendered configuration',
          ),
      })
      .optional(),
    router: z
      .strictObject({
        start_on_up: z
          .boolean()
          .optional()
          .describe('`kinfra sandbox up` starts the router (kinfra router start) when none runs (default: false)'),
      })
      .optional(),
    database: z
      .strictObject({
        service: z.string().min(1).optional().describe('The Postgres service (default: found by image or pg_isready)'),
        user: z.string().min(1).optional().describe("Login role (default: the service's POSTGRES_USER, else postgres)"),
        database: z.string().min(1).optional().describe("Database name (default: POSTGRES_DB, else the user's)"),
        password_env: z
          .string()
          .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
          .optional()
          .describe("The service's environment variable holding the password (default: POSTGRES_PASSWORD)"),
      })
      .optional()
      .describe('The database `kinfra sandbox db` copies (Postgres only; MySQL/MariaDB not yet supported)'),
    profiles: z.record(z.string().regex(/^[a-z][a-z0-9_-]*$/), profile).optional(),
    destroy: z
      .strictObject({
        regenerable: z
          .array(onePath)
          .describe(
            'Git-ignored paths destroy may delete without asking, besides the built-in list (node_modules/, .venv/, ' +
              'dist/, ...): `name/` is a folder at any depth, `*.ext` a file name',
          ),
      })
      .optional(),
    pool: z
      .strictObject({
        slots: z.record(z.string().regex(/^[0-9]+$/), z.string()).describe('Slot number -> profile'),
        template: onePath
          .optional()
          .describe(
            'Compose template of a pool slot, relative to the repository (default: the built-in KTRDR template)',
          ),
      })
      .optional(),
  })
  .describe("kinfra.yaml: how kinfra runs isolated copies of this project's compose stack");

export type ConfigFile = z.input<typeof configFileSchema>;
export type ParsedConfigFile = z.output<typeof configFileSchema>;
export type GateCheckSpec = z.output<typeof gateCheck>;
export type PortSpec = z.output<typeof portSpec>;
export type WorkerSpec = z.output<typeof workers>;
export type SharedSpec = z.output<typeof shared>;
export type ProfileSpec = z.output<typeof profile>;
