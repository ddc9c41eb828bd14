// The lifecycle operations: create, init, up, down, destroy. Each declaration is the whole of what a surface needs;
// its handler loads the use case from src/app only when the operation runs.
import type { SandboxSummary } from '../app/sandbox-summary.js';
import { operation, type Printer, type ResultOf, type Zod } from './operation.js';
import { gate, serviceUrl, summary } from './result-parts.js';
import { dbChange, renderChange } from './database.js';

/** The JSON a create or init reports. */
export function summaryData(s: SandboxSummary) {
  return {
    instanceId: s.instanceId,
    slot: s.slot,
    path: s.path,
    branch: s.branch ?? null,
    envFile: s.envFile,
    configSource: s.configSource,
    profile: s.profile ?? null,
    ports: Object.fromEntries(s.ports.map((p) => [p.name, p.port])),
    env: Object.fromEntries(s.ports.map((p) => [p.env, p.port])),
    cleaned: s.cleaned,
    copied: s.copied,
  };
}

export function cleanedNotice(p: Printer, cleaned: readonly string[]): void {
  if (cleaned.length === 0) return;
  // Wording as in seed 000 ("Cleaned 1 stale entries"), which scripts grep for.
  p.out(`Cleaned ${cleaned.length} stale entries (folder gone): ${cleaned.join(', ')}`);
}

function renderSummary(p: Printer, verb: string, s: ReturnType<typeof summaryData>): void {
  cleanedNotice(p, s.cleaned);
  p.out(
    `${p.c.green(verb)} sandbox ${p.c.bold(s.instanceId)} ` +
      `(slot ${s.slot}${s.profile ? `, pool profile ${s.profile}` : ''})`,
  );
  p.out(`  Path:   ${s.path}`);
  if (s.branch) p.out(`  Branch: ${s.branch}`);
  p.out(
    `  Ports:  ${Object.entries(s.ports)
      .map(([name, port]) => `${name} ${port}`)
      .join(', ')}`,
  );
  p.out(`  Config: ${s.configSource}`);
  if (s.copied.length > 0) p.out(`  Copied: ${s.copied.join(', ')} (git-ignored, from the main checkout)`);
  p.out('');
  p.out(`Next: cd ${s.path} && kinfra sandbox up`);
}

/** The sandbox a `named` operation acts on: the one given, or the one holding the current folder. */
export const namedSandbox = {
  in: 'arg',
  usage: '[name]',
  type: 'string',
  required: false,
  complete: 'instances',
  description: 'instance id or name (default: the sandbox of the current folder)',
} as const;

const slotInput = {
  in: 'option',
  flags: '-s, --slot <n>',
  type: 'int',
  min: 0,
  max: 999,
  complete: 'slots',
  description: 'use this port slot instead of the lowest free one',
} as const;

export const create = operation({
  name: 'create',
  group: 'Lifecycle:',
  summary: 'create a sandbox: a git worktree with its own port slot',
  description:
    'Create a new sandbox instance using a git worktree.\n\n' +
    'Creates the folder ../<prefix>--<name> beside the main checkout (ktrdr--<name> by default), checks out ' +
    'a branch there, allocates the lowest free port slot (or the one given) and writes .env.sandbox. ' +
    'Run it anywhere in the repository, even inside another sandbox.',
  examples: [
    'kinfra sandbox create my-feature',
    'kinfra sandbox create big-run --profile heavy    # claims a pool slot',
    'kinfra sandbox create bugfix --branch fix/issue-123',
    'kinfra sandbox create test --slot 5',
    'kinfra sandbox create spike --json',
  ],
  inputs: {
    name: {
      in: 'arg',
      usage: '<name>',
      type: 'string',
      required: true,
      description: "instance name: 'my-feature' creates ktrdr--my-feature",
    },
    branch: {
      in: 'option',
      flags: '-b, --branch <branch>',
      type: 'string',
      description:
        'branch to check out; created from HEAD if it does not exist (default: a new branch named after the folder)',
    },
    slot: slotInput,
    profile: {
      in: 'option',
      flags: '--profile <profile>',
      type: 'string',
      description:
        'with a provisioned slot pool: claim the lowest free slot of at least this profile (light, standard, heavy)',
    },
    dbFrom: {
      in: 'option',
      flags: '--db-from <source>',
      type: 'string',
      complete: 'instances',
      description: "start with a copy of this sandbox's (or main's) running database (kinfra sandbox db clone)",
    },
    unique: {
      in: 'option',
      flags: '--unique',
      type: 'boolean',
      default: false,
      description: 'when the name is taken, add a numeric suffix (my-feature-2) instead of refusing',
    },
  },
  result: (z) => summary(z).extend({ database: dbChange(z).nullable().describe('--db-from: the clone') }),
  effect: 'changes',
  target: 'none',
  streams: 'progress',
  async run(ctx, input, session) {
    const { createSandbox } = await import('../app/create.js');
    const onStep = (message: string) => session.progress({ kind: 'step', message });
    const { dbFrom, ...rest } = input;
    const created = summaryData(await createSandbox(ctx, { ...rest, onStep }));
    if (dbFrom === undefined) return { ...created, database: null };
    const { cloneDatabase } = await import('../app/database.js');
    const { appContext } = await import('../app/context.js');
    onStep(`Cloning the database of ${dbFrom} into ${created.instanceId} ...`);
    const database = await cloneDatabase(
      appContext(created.path, ctx.paths.home),
      { from: dbFrom, force: true },
      session,
    );
    return { ...created, database };
  },
  render: (s, p) => {
    renderSummary(p, 'Created', s);
    if (s.database) {
      p.out('');
      renderChange(p, s.database);
    }
  },
});

export const init = operation({
  name: 'init',
  group: 'Lifecycle:',
  summary: 'make the current clone or worktree a sandbox',
  description:
    'Turn the checkout that holds the current folder (an existing clone or worktree) into a sandbox: ' +
    'allocate a port slot, write .env.sandbox and register it. Nothing else in the folder changes. ' +
    'If the folder already has a .env.sandbox but is not registered (for example after the registry ' +
    'was lost), it is registered again on the slot its file names, when that slot is still free.',
  examples: ['cd ~/dev/ktrdr-clone && kinfra sandbox init', 'kinfra sandbox init --slot 3 --name experiment'],
  inputs: {
    slot: { ...slotInput },
    name: {
      in: 'option',
      flags: '-n, --name <name>',
      type: 'string',
      description: 'instance name: the id is <prefix>--<name>, as with create (default: the folder name)',
    },
    profile: {
      in: 'option',
      flags: '--profile <profile>',
      type: 'string',
      description: 'with a provisioned slot pool: claim the lowest free slot of at least this profile',
    },
    fromPool: {
      in: 'option',
      flags: '--from-pool',
      type: 'boolean',
      default: false,
      description: 'only a slot of the provisioned pool will do: refuse when there is no pool',
    },
  },
  tools: [
    { name: 'init' },
    {
      name: 'claim',
      summary: 'claim a pool slot for a checkout (kinfra sandbox init --from-pool)',
      description:
        'Claim the lowest free slot of the provisioned pool (of at least `profile`) for the checkout that holds ' +
        '`path`, making it a sandbox: its .env.sandbox names the slot, and the slot is reset (a fresh database) ' +
        'before it is handed over. Refused when there is no pool (no-pool) or no free slot fits. Give it back ' +
        'with `release`.',
      fixed: { fromPool: true },
    },
  ],
  result: (z) => summary(z).extend({ adopted: z.boolean() }),
  effect: 'changes',
  target: 'current',
  streams: 'result',
  async run(ctx, input) {
    const { initSandbox } = await import('../app/init.js');
    const s = await initSandbox(ctx, input);
    return { ...summaryData(s), adopted: s.adopted };
  },
  render: (s, p) => renderSummary(p, s.adopted ? 'Re-registered' : 'Initialised', s),
});

export const upResult = (z: Zod) =>
  z.strictObject({
    instanceId: z.string(),
    slot: z.number().int(),
    gate: gate(z).nullable(),
    urls: z.array(serviceUrl(z)),
    absent: z.array(z.string()),
    router: z.string().nullable().describe("the router's URL, when up started it or found it running (start_on_up)"),
  });

/** How long the gate may wait, in seconds: up's and gate's option. */
export const timeoutInput = {
  in: 'option',
  flags: '--timeout <seconds>',
  type: 'int',
  min: 1,
  max: 3600,
  default: 120,
  description: 'how long to wait (default: 120)',
} as const;

/** After the gate passed (or was not waited for): the URLs. Failures are errors, decided by the app. */
export function renderUp(r: ResultOf<typeof upResult>, p: Printer): void {
  if (!r.gate) {
    p.out("\nInstance starting... (use 'kinfra sandbox status' or 'kinfra sandbox gate' to check)");
    if (r.router) p.out(`The router runs at ${r.router}.`);
    return;
  }
  p.out(`\n${p.c.green('Startability Gate: PASSED')} (${(r.gate.durationMs / 1000).toFixed(1)}s)\n`);
  p.out('Instance ready:');
  for (const u of r.urls) p.out(`  ${u.label}: ${u.url}`);
  if (r.absent.length > 0) p.out(`  (not in this stack: ${r.absent.join(', ')})`);
  if (r.router) p.out(`  By name: through the router at ${r.router} (kinfra sandbox whoami names them)`);
}

export const up = operation({
  name: 'up',
  group: 'Lifecycle:',
  summary: 'start the sandbox stack and wait until it is ready',
  description:
    'Start the stack of the sandbox that holds the current folder: refuse if one of its ports is held by ' +
    'anything else (exit 3, naming the holder), run `docker compose up -d`, then the Startability Gate: ' +
    'database, backend health, workers registered, observability. Exit 2 when the gate fails.',
  examples: ['kinfra sandbox up', 'kinfra sandbox up --build --timeout 300', 'kinfra sandbox up --no-wait'],
  inputs: {
    wait: {
      in: 'option',
      flags: '--no-wait',
      type: 'boolean',
      default: true,
      description: 'start the containers and return without running the gate',
    },
    build: {
      in: 'option',
      flags: '--build',
      type: 'boolean',
      default: false,
      description: 'build images before starting (docker compose up --build)',
    },
    timeout: { ...timeoutInput, description: 'how long the gate may wait (default: 120)' },
  },
  result: upResult,
  effect: 'changes',
  target: 'current',
  streams: 'progress',
  async run(ctx, input, session) {
    const { startAndWait } = await import('../app/readiness.js');
    return startAndWait(ctx, session, input);
  },
  render: renderUp,
});

export const down = operation({
  name: 'down',
  group: 'Lifecycle:',
  summary: 'stop the sandbox stack',
  description:
    'Stop and remove the containers of the sandbox that holds the current folder (docker compose down).\n' +
    'With --volumes, also remove its volumes: the database starts empty next time.',
  examples: ['kinfra sandbox down', 'kinfra sandbox down --volumes'],
  inputs: {
    volumes: {
      in: 'option',
      flags: '-v, --volumes',
      type: 'boolean',
      default: false,
      description: "also remove the sandbox's volumes",
    },
  },
  result: (z) =>
    z.strictObject({ instanceId: z.string(), volumesRemoved: z.boolean(), keptVolumes: z.array(z.string()) }),
  effect: 'changes',
  target: 'current',
  streams: 'result',
  async run(ctx, input) {
    const { downSandbox } = await import('../app/compose-commands.js');
    return downSandbox(ctx, input);
  },
  render: (r, p) =>
    p.out(`${p.c.green('Stopped')} ${r.instanceId}${r.volumesRemoved ? ' and removed its volumes' : ''}`),
});

export const destroy = operation({
  name: 'destroy',
  group: 'Lifecycle:',
  summary: 'unregister a sandbox and remove its worktree',
  description:
    'Destroy a sandbox: unregister it and remove the git worktree kinfra created for it. ' +
    'Without a name, destroys the sandbox that holds the current folder.\n\n' +
    'It never loses work: with uncommitted changes, git-ignored files that are not regenerable (data/, .env, ...), ' +
    'nested repositories, or commits that no branch, tag or remote reaches, it refuses unless --force, and says ' +
    'what would be lost; it looks again at the last moment before removing the folder. The branch itself is ' +
    'always kept. Folders kinfra did not create (made with init) are only unregistered, ' +
    'and lose their .env.sandbox.\n\n' +
    "It removes only the containers, volumes and networks that carry this kinfra's owner label for the sandbox; " +
    'unlabelled volumes of its project are asked about even with --yes (--force removes them).',
  examples: [
    'kinfra sandbox destroy                 # inside ../ktrdr--my-feature',
    'kinfra sandbox destroy my-feature --yes',
    'kinfra sandbox destroy my-feature --keep-worktree --yes',
    'kinfra sandbox destroy my-feature --force   # even with uncommitted changes',
  ],
  inputs: {
    name: namedSandbox,
    keepWorktree: {
      in: 'option',
      flags: '--keep-worktree',
      type: 'boolean',
      default: false,
      description: 'only unregister; keep the folder and its files',
    },
    yes: {
      in: 'option',
      flags: '-y, --yes',
      type: 'boolean',
      default: false,
      description: 'do not ask for confirmation',
    },
    force: {
      in: 'option',
      flags: '-f, --force',
      type: 'boolean',
      default: false,
      description: 'do not ask, and remove the worktree even with unsaved work',
    },
  },
  result: (z) =>
    z.strictObject({
      instanceId: z.string(),
      slot: z.number().int(),
      path: z.string(),
      branch: z.string().optional(),
      removesFolder: z.boolean(),
      keepReason: z.string().nullable(),
      database: z
        .strictObject({ volume: z.string(), bytes: z.number().int().nullable(), snapshots: z.number().int() })
        .nullable()
        .describe('the database deleted with it (its live volume, size, snapshots)'),
      uncommitted: z.array(z.string()),
      ignored: z.array(z.string()),
      nestedRepos: z.array(z.string()),
      unsharedCommits: z.array(z.string()),
      cancelled: z.boolean(),
      removed: z.strictObject({ containers: z.number().int(), volumes: z.number().int() }).nullable(),
      keptVolumes: z.array(z.string()),
      engineWarning: z.string().nullable(),
    }),
  effect: 'destroys',
  target: 'named',
  streams: 'result',
  async run(ctx, input, session) {
    const { destroyAsking } = await import('../app/destroy-asking.js');
    return destroyAsking(ctx, input, session);
  },
  render(r, p) {
    if (r.cancelled) {
      p.out('Cancelled; nothing was changed.');
      return;
    }
    if (r.engineWarning) p.err(`${p.c.yellow('Warning:')} ${r.engineWarning}`);
    p.out(`${p.c.green('Destroyed')} sandbox ${p.c.bold(r.instanceId)} (slot ${r.slot} is free again)`);
    if (r.removed && (r.removed.containers || r.removed.volumes)) {
      p.out(`  Removed ${r.removed.containers} container(s) and ${r.removed.volumes} volume(s)`);
    }
    if (r.keptVolumes.length > 0) {
      p.out(
        `  Kept ${r.keptVolumes.length} unlabelled volume(s) nobody confirmed are its own: ${r.keptVolumes.join(', ')}`,
      );
      p.out(
        `    (remove them with: docker volume rm ${r.keptVolumes.join(' ')}, or run destroy in a terminal to be asked)`,
      );
    }
    if (r.removesFolder) p.out(`  Removed ${r.path}`);
    else p.out(`  Kept ${r.path}: ${r.keepReason}`);
    if (r.removesFolder && r.branch) p.out(`  Kept branch ${r.branch}`);
  },
});

/** This group, in the order help lists it. */
export const operations = [create, init, up, down, destroy] as const;
