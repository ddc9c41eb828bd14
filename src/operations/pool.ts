// The slot pool's operations: provision, slots, release.
import { operation } from './operation.js';
import { portMap } from './result-parts.js';

/** A pool slot's number, as an argument (completed from the pool where the command is a visible one). */
const slotNumberArg = {
  in: 'arg',
  usage: '<slot>',
  type: 'int',
  required: true,
  min: 1,
  max: 999,
  label: 'slot',
  description: 'slot number',
} as const;
const slotArg = { ...slotNumberArg, complete: 'slots' } as const;

export const provision = operation({
  name: 'provision',
  group: 'Pool:',
  summary: 'create the pre-provisioned slot pool',
  description:
    'Create the slot pool: ~/.ktrdr/sandboxes/slot-N for every pool slot of the layout ' +
    '(slots 1-4 light, 5 standard, 6 heavy by default), each with .env.sandbox and a docker-compose.yml ' +
    'rendered for its profile. Running it again skips existing slots, refreshes unclaimed ones whose ' +
    "configuration changed, and never rewrites a claimed slot (a claimed slot's lost " +
    'docker-compose.yml is written again).',
  examples: [
    'kinfra sandbox provision --dry-run',
    'kinfra sandbox provision',
    'kinfra sandbox provision --db-from main',
  ],
  inputs: {
    dbFrom: {
      in: 'option',
      flags: '--db-from <source>',
      type: 'string',
      complete: 'instances',
      description:
        "fill every free slot's database with a copy of this running one (main or a sandbox), left running: a " +
        'claim finds it ready, and release fills the slot again in the background',
    },
    dryRun: {
      in: 'option',
      flags: '--dry-run',
      type: 'boolean',
      default: false,
      description: 'show what would be created, writing nothing',
    },
  },
  result: (z) =>
    z.strictObject({
      slots: z.array(
        z.strictObject({
          slot: z.number().int(),
          profile: z.string(),
          action: z.enum(['would-create', 'created', 'exists', 'refreshed', 'blocked']),
          ports: portMap(z),
          reason: z.string().optional(),
        }),
      ),
      created: z.number().int(),
      skipped: z.number().int(),
      warmed: z
        .array(
          z.strictObject({
            slot: z.number().int(),
            from: z.string(),
            method: z.string(),
            seconds: z.number(),
          }),
        )
        .describe('--db-from: the slots whose database was filled'),
    }),
  effect: 'changes',
  target: 'none',
  streams: 'progress',
  async run(ctx, input, session) {
    const { provisionPool } = await import('../app/pool.js');
    const r = await provisionPool(ctx, { dryRun: input.dryRun });
    if (input.dbFrom === undefined || input.dryRun) return { ...r, warmed: [] };
    const { warmSlot } = await import('../app/database-pool.js');
    const warmed = [];
    const free = (await ctx.registry.snapshot()).slots;
    for (const s of r.slots) {
      if (s.action === 'blocked' || free[String(s.slot)]?.claimed_by) continue;
      session.progress({ kind: 'step', message: `Filling the database of slot ${s.slot} from ${input.dbFrom} ...` });
      const c = await warmSlot(ctx, s.slot, input.dbFrom, session);
      warmed.push({ slot: s.slot, from: c.from, method: c.method, seconds: c.seconds });
    }
    return { ...r, warmed };
  },
  render(r, p, input) {
    for (const s of r.warmed)
      p.out(`Warmed the database of slot ${s.slot} from ${s.from} (${s.method}, ${s.seconds.toFixed(1)} s)`);
    for (const s of r.slots) {
      const ports = `API ${s.ports.api ?? '-'}, DB ${s.ports.db ?? '-'}`;
      if (s.action === 'would-create') p.out(`Would create slot ${s.slot} (${s.profile}): ${ports}`);
      else if (s.action === 'created') p.out(`Created slot ${s.slot} (${s.profile}): ${ports}`);
      else if (s.action === 'refreshed')
        p.out(`Slot ${s.slot}: already exists, skipping (refreshed its files from the configuration)`);
      else if (s.action === 'blocked') p.out(`Slot ${s.slot}: ${s.reason}, skipping (destroy it first)`);
      else p.out(`Slot ${s.slot}: already exists, skipping`);
    }
    if (input.dryRun) p.out(`\nDry run: nothing was written.`);
    if (r.created > 0) p.out(`\nCreated ${r.created} slot(s)`);
    if (r.skipped > 0) p.out(`${r.created > 0 ? '' : '\n'}Skipped ${r.skipped} existing slot(s)`);
  },
});

export const slots = operation({
  name: 'slots',
  group: 'Pool:',
  summary: 'show the slot pool: profile, API port, who claimed it, status',
  description:
    'Show every pool slot with its profile, API port, the sandbox that claimed it and its status from Docker.\n' +
    'Claims whose worktree no longer exists are released, and said so.',
  examples: ['kinfra sandbox slots', 'kinfra sandbox slots --json'],
  inputs: {},
  result: (z) =>
    z.strictObject({
      slots: z.array(
        z.strictObject({
          slot: z.number().int(),
          profile: z.string(),
          workers: portMap(z),
          apiPort: z.number().int().nullable(),
          claimedBy: z.string().nullable(),
          claimedAt: z.string().nullable(),
          status: z.string().nullable(),
          database: z.string().describe('empty, warm: a copy of X from T, or warming from X'),
          path: z.string(),
        }),
      ),
      released: z.array(z.strictObject({ slot: z.number().int(), claimedBy: z.string() })),
    }),
  effect: 'reads',
  target: 'none',
  streams: 'result',
  async run(ctx) {
    const { listSlots } = await import('../app/pool.js');
    return listSlots(ctx);
  },
  render(r, p) {
    for (const s of r.released) {
      p.out(`Released stale claim: slot ${s.slot} was claimed by ${s.claimedBy}, whose worktree is gone`);
    }
    if (r.slots.length === 0) {
      p.out('No slots provisioned. Create the pool with: kinfra sandbox provision');
      return;
    }
    // The Database column only for a warm pool: scripts written for the plain table read its five columns.
    const warm = r.slots.some((s) => s.database !== 'empty');
    const row = (s: (typeof r.slots)[number]) => [
      s.slot,
      s.profile,
      s.apiPort ?? '-',
      s.claimedBy ?? '-',
      s.status ?? '?',
    ];
    p.out(
      p.table(
        ['Slot', 'Profile', 'API Port', 'Claimed By', 'Status', ...(warm ? ['Database'] : [])],
        r.slots.map((s) => [...row(s), ...(warm ? [s.database] : [])]),
      ),
    );
  },
});

export const release = operation({
  name: 'release',
  group: 'Pool:',
  summary: 'free a pool slot: stop it, remove its volumes',
  description:
    "Stop a pool slot's containers, remove its volumes (the next claim gets a fresh database) and free it.\n" +
    'Refuses while the claiming worktree still exists, unless -f (that worktree then stops being a sandbox).\n' +
    'While it resets the slot, no claim takes it; a release that was killed is finished by ' +
    'kinfra sandbox doctor --repair.',
  examples: ['kinfra sandbox release 5', 'kinfra sandbox release 5 -f'],
  inputs: {
    slot: slotArg,
    force: {
      in: 'option',
      flags: '-f, --force',
      type: 'boolean',
      default: false,
      description: 'release even though the claiming worktree still exists',
    },
  },
  result: (z) =>
    z.strictObject({
      slot: z.number().int(),
      releasedFrom: z.string().nullable(),
      rewarming: z
        .strictObject({ from: z.string(), pid: z.number().int().nullable(), log: z.string() })
        .nullable()
        .describe('a slot provision --db-from filled is filled again in the background'),
    }),
  effect: 'destroys',
  target: 'slot',
  streams: 'result',
  async run(ctx, input) {
    const { releaseSlot } = await import('../app/pool.js');
    return releaseSlot(ctx, input.slot, input.force);
  },
  render: (r, p) => {
    p.out(
      `Released slot ${r.slot}${r.releasedFrom ? ` (was claimed by ${r.releasedFrom})` : ''}; its volumes were removed`,
    );
    if (r.rewarming)
      p.out(`Filling its database again from ${r.rewarming.from} in the background (log: ${r.rewarming.log})`);
  },
});

export const warmSlot = operation({
  name: 'warm-slot',
  group: 'Pool:',
  hidden: true,
  summary: "fill a pool slot's database with a copy (what release runs in the background)",
  description:
    "Copy a running database (main or a sandbox) into a free pool slot's database and leave it running, as " +
    'provision --db-from does for every slot. release runs it detached after resetting such a slot.',
  examples: ['kinfra sandbox warm-slot 2 --from main'],
  inputs: {
    slot: slotNumberArg,
    from: { in: 'option', flags: '--from <source>', type: 'string', description: 'main, or a sandbox' },
  },
  result: (z) => z.strictObject({ slot: z.number().int(), from: z.string(), method: z.string(), seconds: z.number() }),
  effect: 'changes',
  target: 'slot',
  streams: 'progress',
  async run(ctx, input, session) {
    const { warmSlot: fill } = await import('../app/database-pool.js');
    const from = input.from ?? 'main';
    const c = await fill(ctx, input.slot, from, session);
    return { slot: input.slot, from: c.from, method: c.method, seconds: c.seconds };
  },
  render: (r, p) =>
    p.out(`Warmed the database of slot ${r.slot} from ${r.from} (${r.method}, ${r.seconds.toFixed(1)} s)`),
});

/** This group, in the order help lists it. */
export const operations = [provision, slots, release, warmSlot] as const;
