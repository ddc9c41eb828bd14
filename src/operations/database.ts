// The database operation: `kinfra sandbox db clone|snapshot|snapshots|restore|drop-snapshot|reset`, one declaration
// that the CLI, MCP (one tool per action) and the HTTP API read. See docs/databases.md.
import { megabytes, operation, type Printer } from './operation.js';

const ACTIONS = ['clone', 'snapshot', 'snapshots', 'restore', 'drop-snapshot', 'reset'] as const;
type Action = (typeof ACTIONS)[number];

export const dbChange = (z: typeof import('zod').z) =>
  z.strictObject({
    instanceId: z.string(),
    action: z.enum(['clone', 'restore', 'reset', 'warm']),
    from: z.string().describe('main, a sandbox id, `snapshot <name>`, or what reset went back to'),
    method: z.string().describe('pg_basebackup, pg_dumpall | psql, file copy, or empty volume'),
    fallbackReason: z.string().nullable().describe('why the logical copy ran instead of the physical one'),
    scope: z.string().describe('what the copy covers (a physical copy takes the whole server)'),
    volume: z.string().describe('the engine volume that now holds the live data'),
    autoSnapshot: z.string().nullable().describe('the automatic snapshot of the replaced data (db restore undoes)'),
    restarted: z.boolean().describe("the target's database was running, and runs again on the new data"),
    targetDowntimeMs: z.number().int().describe("how long the target's own server was stopped for the switch"),
    seconds: z.number(),
    notes: z.array(z.string()),
  });

const snapshotRow = (z: typeof import('zod').z) =>
  z.strictObject({
    name: z.string(),
    volume: z.string(),
    createdAt: z.string(),
    ageSeconds: z.number().int(),
    bytes: z.number().int().nullable(),
    method: z.string(),
    auto: z.string().nullable().describe('why kinfra took it (automatic snapshots only)'),
    present: z.boolean().describe('its volume is still on the engine'),
  });

const age = (s: number) =>
  s < 90
    ? `${s}s`
    : s < 5400
      ? `${Math.round(s / 60)}m`
      : s < 129600
        ? `${Math.round(s / 3600)}h`
        : `${Math.round(s / 86400)}d`;

export function renderChange(p: Printer, c: DbChangeValue) {
  const verb = { clone: 'Cloned', restore: 'Restored', reset: 'Reset', warm: 'Warmed' }[c.action];
  p.out(`${p.c.green(verb)} the database of ${p.c.bold(c.instanceId)} from ${c.from} in ${c.seconds.toFixed(1)} s`);
  p.out(`  Method: ${c.method} (${c.scope})`);
  if (c.fallbackReason) p.out(`  ${p.c.yellow('Fallback:')} ${c.fallbackReason}`);
  if (c.autoSnapshot)
    p.out(`  The data it replaced is snapshot ${c.autoSnapshot} (undo: kinfra sandbox db restore ${c.autoSnapshot})`);
  if (c.restarted)
    p.out(
      `  Its server was stopped for ${(c.targetDowntimeMs / 1000).toFixed(1)} s (its sessions were closed) ` +
        'and runs again',
    );
  for (const n of c.notes) p.out(`  ${n}`);
}
type DbChangeValue = import('../app/database.js').DbChange;

export const db = operation({
  name: 'db',
  group: 'Lifecycle:',
  summary: "clone, snapshot, restore or reset the sandbox's database",
  description:
    "The sandbox's Postgres database (found by image or pg_isready healthcheck; kinfra.yaml `database:` names it " +
    'otherwise; MySQL/MariaDB not yet supported).\n\n' +
    "clone --from <sandbox|main> replaces it with a copy of another running database (main: the main checkout's " +
    'stack), which keeps serving meanwhile: a physical copy of its whole server (pg_basebackup), or, where that ' +
    'cannot work (another major version, no replication rights; or --method logical), a dump and restore, with the ' +
    'reason said. snapshot [name] keeps a copy; snapshots lists them (size, age); restore <name> goes back to one; ' +
    'drop-snapshot <name> deletes one; reset goes back to the state right after the last clone (or to an empty ' +
    'database, initialised again on the next start).\n\n' +
    'Replacing data that exists asks first (or --force) and always keeps it as an automatic snapshot. The new data ' +
    'is made in a new volume and switched to at once: a kill leaves the old data or the new, never half (doctor ' +
    "removes what a killed copy left). Snapshots are the sandbox's own: destroy removes them.",
  examples: [
    'kinfra sandbox db clone --from main',
    'kinfra sandbox db clone --from my-feature --force',
    'kinfra sandbox db snapshot before-migration',
    'kinfra sandbox db snapshots',
    'kinfra sandbox db restore before-migration',
    'kinfra sandbox db reset --force',
    'kinfra sandbox db drop-snapshot before-migration',
  ],
  tools: [
    {
      name: 'db_clone',
      summary: "replace the sandbox's database with a copy of another's (or main's)",
      fixed: { action: 'clone' },
      omit: ['snapshot'],
      required: ['from'],
    },
    {
      name: 'db_snapshot',
      summary: "snapshot the sandbox's database",
      fixed: { action: 'snapshot' },
      omit: ['from', 'method', 'force'],
    },
    {
      name: 'db_snapshots',
      summary: "list the sandbox's database snapshots",
      fixed: { action: 'snapshots' },
      omit: ['from', 'method', 'force', 'snapshot'],
    },
    {
      name: 'db_restore',
      summary: "restore the sandbox's database from a snapshot",
      fixed: { action: 'restore' },
      omit: ['from', 'method'],
      required: ['snapshot'],
    },
    {
      name: 'db_drop_snapshot',
      summary: 'delete a database snapshot',
      fixed: { action: 'drop-snapshot' },
      omit: ['from', 'method', 'force'],
      required: ['snapshot'],
    },
    {
      name: 'db_reset',
      summary: "reset the sandbox's database to its last clone (or empty)",
      fixed: { action: 'reset' },
      omit: ['from', 'method', 'snapshot'],
    },
  ],
  inputs: {
    action: {
      in: 'arg',
      usage: '<action>',
      type: 'string',
      required: true,
      choices: ACTIONS,
      description: 'clone, snapshot, snapshots, restore, drop-snapshot or reset',
    },
    snapshot: {
      in: 'arg',
      usage: '[snapshot]',
      type: 'string',
      required: false,
      description: 'snapshot name (snapshot: default snap-<time>; restore and drop-snapshot: required)',
    },
    from: {
      in: 'option',
      flags: '--from <source>',
      type: 'string',
      complete: 'instances',
      description: 'clone: the sandbox (name or id) or `main` whose running database is copied',
    },
    method: {
      in: 'option',
      flags: '--method <method>',
      type: 'string',
      description: 'clone: physical (default, falls back by itself) or logical (dump and restore)',
    },
    sandbox: {
      in: 'option',
      flags: '--sandbox <name>',
      type: 'string',
      complete: 'instances',
      description: 'the sandbox whose database it is (default: the one holding the current folder)',
    },
    force: {
      in: 'option',
      flags: '-f, --force',
      type: 'boolean',
      default: false,
      description: 'replace existing data without asking (it is still kept as an automatic snapshot)',
    },
  },
  result: (z) =>
    z.strictObject({
      action: z.enum(ACTIONS),
      instanceId: z.string(),
      change: dbChange(z).nullable().describe('clone, restore, reset'),
      snapshot: z
        .strictObject({
          name: z.string(),
          volume: z.string(),
          bytes: z.number().int().nullable(),
          method: z.string(),
          seconds: z.number(),
        })
        .nullable()
        .describe('snapshot'),
      snapshots: z
        .strictObject({
          service: z.string(),
          volume: z.string().describe('the live volume'),
          last: z.strictObject({ from: z.string(), at: z.string(), method: z.string() }).nullable(),
          resetPoint: z.string().nullable(),
          snapshots: z.array(snapshotRow(z)),
        })
        .nullable()
        .describe('snapshots'),
      dropped: z.strictObject({ name: z.string(), volume: z.string(), removed: z.boolean() }).nullable(),
    }),
  effect: 'destroys',
  target: 'current',
  streams: 'progress',
  async run(ctx, input, session) {
    const app = await import('../app/database.js');
    const { usageError } = await import('../core/errors.js');
    const action = input.action as Action;
    const name = input.sandbox;
    const empty = { change: null, snapshot: null, snapshots: null, dropped: null };
    const needSnapshot = (what: string) => {
      if (!input.snapshot)
        throw usageError(
          'snapshot-required',
          `db ${what} needs a snapshot name.`,
          `See them with: kinfra sandbox db snapshots; then: kinfra sandbox db ${what} <name>`,
        );
      return input.snapshot;
    };
    if (input.method !== undefined && input.method !== 'physical' && input.method !== 'logical')
      throw usageError(
        'invalid-method',
        `--method must be physical or logical, not ${JSON.stringify(input.method)}.`,
        'For example: kinfra sandbox db clone --from main --method logical',
      );
    switch (action) {
      case 'clone': {
        if (!input.from)
          throw usageError(
            'source-required',
            'db clone needs --from <sandbox|main>.',
            'For example: kinfra sandbox db clone --from main',
          );
        const c = await app.cloneDatabase(
          ctx,
          { name, from: input.from, force: input.force, method: input.method as 'physical' | 'logical' | undefined },
          session,
        );
        return { action, instanceId: c.instanceId, ...empty, change: c };
      }
      case 'restore': {
        const c = await app.restoreDatabase(
          ctx,
          { name, snapshot: needSnapshot('restore'), force: input.force },
          session,
        );
        return { action, instanceId: c.instanceId, ...empty, change: c };
      }
      case 'reset': {
        const c = await app.resetDatabase(ctx, { name, force: input.force }, session);
        return { action, instanceId: c.instanceId, ...empty, change: c };
      }
      case 'snapshot': {
        const s = await app.snapshotDatabase(ctx, { name, snapshot: input.snapshot }, session);
        const { instanceId, ...rest } = s;
        return { action, instanceId, ...empty, snapshot: rest };
      }
      case 'snapshots': {
        const { instanceId, ...rest } = await app.listSnapshots(ctx, name);
        return { action, instanceId, ...empty, snapshots: rest };
      }
      case 'drop-snapshot': {
        const { instanceId, ...rest } = await app.dropSnapshot(ctx, { name, snapshot: needSnapshot('drop-snapshot') });
        return { action, instanceId, ...empty, dropped: rest };
      }
    }
  },
  render(r, p) {
    if (r.change) renderChange(p, r.change);
    if (r.snapshot) {
      const size = r.snapshot.bytes === null ? '' : `, ${megabytes(r.snapshot.bytes)}`;
      p.out(
        `${p.c.green('Snapshot')} ${p.c.bold(r.snapshot.name)} of ${r.instanceId} ` +
          `(${r.snapshot.method}${size}, ${r.snapshot.seconds.toFixed(1)} s)`,
      );
      p.out(`  Restore it with: kinfra sandbox db restore ${r.snapshot.name}`);
    }
    if (r.snapshots) {
      const s = r.snapshots;
      p.out(`Database of ${r.instanceId}: service ${s.service}, volume ${s.volume}`);
      if (s.last) p.out(`  Last change: ${s.last.method} from ${s.last.from} at ${s.last.at}`);
      p.out(`  Reset goes back to: ${s.resetPoint ?? 'an empty database'}`);
      if (s.snapshots.length === 0) p.out('  No snapshots.');
      else
        p.out(
          p.table(
            ['Name', 'Size', 'Age', 'Made by'],
            s.snapshots.map((x) => [
              x.present ? x.name : `${x.name} (volume gone)`,
              x.bytes === null ? '?' : megabytes(x.bytes),
              age(x.ageSeconds),
              x.auto ? `kinfra, ${x.auto}` : x.method,
            ]),
          ),
        );
    }
    if (r.dropped)
      p.out(
        `${p.c.green('Dropped')} snapshot ${r.dropped.name} of ${r.instanceId}` +
          (r.dropped.removed ? '' : ' (its volume was gone, or is not this kinfra’s: left as it is)'),
      );
  },
});

export const operations = [db] as const;
