import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseEnvText } from '../../src/core/env-file.js';
import { parseJson, workspace, type Workspace } from '../helpers/cli.js';
import { gatedEngine } from '../helpers/docker.js';
import { mulberry32 } from '../helpers/random.js';

let ws: Workspace;
afterEach(() => ws?.cleanup());

const sandboxes = (w: Workspace) => join(w.home, '.ktrdr/sandboxes');
const EXPECTED = [
  { id: 1, profile: 'light', api: 8001, db: 5433, workers: { backtest: 1, training: 1 } },
  { id: 2, profile: 'light', api: 8002, db: 5434, workers: { backtest: 1, training: 1 } },
  { id: 3, profile: 'light', api: 8003, db: 5435, workers: { backtest: 1, training: 1 } },
  { id: 4, profile: 'light', api: 8004, db: 5436, workers: { backtest: 1, training: 1 } },
  { id: 5, profile: 'standard', api: 8005, db: 5437, workers: { backtest: 2, training: 2 } },
  { id: 6, profile: 'heavy', api: 8006, db: 5438, workers: { backtest: 4, training: 4 } },
];

describe('seed 004: kinfra sandbox provision and slots (acceptance test, temporary HOME)', () => {
  it(
    'steps 1-9: dry run writes nothing; provision creates 6 slots with files, registry v2, slots table; ' +
      'a second run skips all',
    async () => {
      ws = workspace();
      // Step 2: dry run.
      const dry = await ws.run(['sandbox', 'provision', '--dry-run']);
      expect(dry.code, dry.stderr).toBe(0);
      for (const s of EXPECTED)
        expect(dry.stdout).toContain(`Would create slot ${s.id} (${s.profile}): API ${s.api}, DB ${s.db}`);
      expect(existsSync(join(sandboxes(ws), 'slot-1'))).toBe(false);
      expect(existsSync(join(ws.home, '.ktrdr'))).toBe(false);

      // Step 3: provision.
      const r = await ws.run(['sandbox', 'provision']);
      expect(r.code, r.stderr).toBe(0);
      for (const s of EXPECTED) expect(r.stdout).toContain(`Created slot ${s.id} (${s.profile})`);
      expect(r.stdout).toContain('Created 6 slot(s)');

      // Steps 4-6: directories, .env.sandbox, non-empty docker-compose.yml with the profile's workers.
      for (const s of EXPECTED) {
        const dir = join(sandboxes(ws), `slot-${s.id}`);
        const env = parseEnvText(readFileSync(join(dir, '.env.sandbox'), 'utf8'));
        expect(env).toMatchObject({
          SLOT_ID: String(s.id),
          KTRDR_API_PORT: String(s.api),
          KTRDR_DB_PORT: String(s.db),
          KTRDR_GRAFANA_PORT: String(3000 + s.id),
          KTRDR_JAEGER_UI_PORT: String(16686 + s.id),
          KTRDR_PROMETHEUS_PORT: String(9090 + s.id),
        });
        const total = s.workers.backtest + s.workers.training;
        for (let k = 1; k <= total; k++) expect(env[`KTRDR_WORKER_PORT_${k}`]).toBe(String(5000 + 10 * s.id + k - 1));
        expect(env[`KTRDR_WORKER_PORT_${total + 1}`]).toBeUndefined();
        const compose = readFileSync(join(dir, 'docker-compose.yml'), 'utf8');
        expect(statSync(join(dir, 'docker-compose.yml')).size).toBeGreaterThan(0);
        expect(compose).toContain(`backtest-worker-${s.workers.backtest}:`);
        expect(compose).not.toContain(`backtest-worker-${s.workers.backtest + 1}:`);
        expect(compose).not.toMatch(/^x-kinfra-worker:/m);
      }

      // Step 7: registry v2 with the slots map.
      const text = readFileSync(join(sandboxes(ws), 'registry.json'), 'utf8');
      expect(text).toContain('"version": 2');
      expect(text.match(/"slot_id":/g)).toHaveLength(6);
      const reg = JSON.parse(text);
      for (const s of EXPECTED) {
        expect(reg.slots[String(s.id)]).toMatchObject({
          slot_id: s.id,
          profile: s.profile,
          workers: s.workers,
          claimed_by: null,
          claimed_at: null,
          infrastructure_path: join(sandboxes(ws), `slot-${s.id}`),
        });
        expect(reg.slots[String(s.id)].ports).toMatchObject({ api: s.api, db: s.db });
      }

      // Step 8: slots table.
      const slots = await ws.run(['sandbox', 'slots']);
      expect(slots.code).toBe(0);
      expect(slots.stdout.split('\n')[0]).toMatch(/^Slot\s+Profile\s+API Port\s+Claimed By\s+Status$/);
      for (const s of EXPECTED)
        expect(slots.stdout).toMatch(new RegExp(`^${s.id}\\s+${s.profile}\\s+${s.api}\\s+-\\s+stopped$`, 'm'));

      // Step 9: idempotent.
      const again = await ws.run(['sandbox', 'provision']);
      expect(again.code).toBe(0);
      for (const s of EXPECTED) expect(again.stdout).toContain(`Slot ${s.id}: already exists, skipping`);
      expect(again.stdout).not.toMatch(/Created.*slot/);
      expect(again.stdout).toContain('Skipped 6 existing slot(s)');
      expect(readFileSync(join(sandboxes(ws), 'registry.json'), 'utf8')).toBe(text);
    },
  );

  it(
    'create --profile claims the lowest free slot that meets it; without --profile, ' +
      'the lowest free slot of any profile',
    async () => {
      ws = workspace();
      await ws.run(['sandbox', 'provision']);
      const std = parseJson(
        (await ws.run(['sandbox', 'create', 'big', '--profile', 'standard', '--json'])).stdout,
      ).data;
      expect(std).toMatchObject({ slot: 5, profile: 'standard', ports: { api: 8005, worker_4: 5053 } });
      const env = parseEnvText(readFileSync(join(ws.dev, 'ktrdr--big/.env.sandbox'), 'utf8'));
      expect(env).toMatchObject({
        INSTANCE_ID: 'ktrdr--big',
        COMPOSE_PROJECT_NAME: 'ktrdr--slot-5',
        KINFRA_POOL_SLOT: '5',
        KINFRA_CODE_DIR: join(ws.dev, 'ktrdr--big'),
        KINFRA_COMPOSE_FILE: join(sandboxes(ws), 'slot-5/docker-compose.yml'),
      });
      const light = parseJson((await ws.run(['sandbox', 'create', 'small', '--json'])).stdout).data;
      expect(light.slot).toBe(1);
      const heavy = parseJson(
        (await ws.run(['sandbox', 'create', 'huge', '--profile', 'standard', '--json'])).stdout,
      ).data;
      expect(heavy).toMatchObject({ slot: 6, profile: 'heavy' });
      const none = await ws.run(['sandbox', 'create', 'more', '--profile', 'heavy']);
      expect(none.code).toBe(4);
      expect(none.stderr).toContain('No free pool slot with profile heavy or larger');
      expect((await ws.run(['sandbox', 'create', 'x', '--profile', 'gigantic'])).code).toBe(1);

      const table = (await ws.run(['sandbox', 'slots'])).stdout;
      expect(table).toMatch(/^5\s+standard\s+8005\s+ktrdr--big\s+stopped$/m);
      const reg = JSON.parse(readFileSync(join(sandboxes(ws), 'registry.json'), 'utf8'));
      expect(reg.slots['5']).toMatchObject({ claimed_by: 'ktrdr--big' });
      expect(reg.slots['5'].claimed_at).toMatch(/^\d{4}-/);
    },
  );

  it(
    'release refuses while the claiming worktree exists; destroy frees the slot; ' +
      'a stale claim is released and said so',
    async () => {
      ws = workspace();
      await ws.run(['sandbox', 'provision']);
      await ws.run(['sandbox', 'create', 'a', '--profile', 'heavy']);
      const refused = await ws.run(['sandbox', 'release', '6']);
      expect(refused.code).toBe(4);
      expect(refused.stderr).toContain('claimed by ktrdr--a, whose worktree');
      expect((await ws.run(['sandbox', 'destroy', 'a', '--yes'])).code).toBe(0);
      expect(JSON.parse(readFileSync(join(sandboxes(ws), 'registry.json'), 'utf8')).slots['6'].claimed_by).toBeNull();

      await ws.run(['sandbox', 'create', 'b', '--profile', 'heavy']);
      const { rmSync } = await import('node:fs');
      rmSync(join(ws.dev, 'ktrdr--b'), { recursive: true, force: true });
      const slots = await ws.run(['sandbox', 'slots']);
      expect(slots.stdout).toContain('Released stale claim: slot 6 was claimed by ktrdr--b, whose worktree is gone');
      expect(slots.stdout).toMatch(/^6\s+heavy\s+8006\s+-\s+/m);
      expect((await ws.run(['sandbox', 'release', '6'])).code).toBe(0);
      expect((await ws.run(['sandbox', 'release', '9'])).code).toBe(5);
    },
  );

  it('without a pool, --profile says to provision one', async () => {
    ws = workspace();
    const r = await ws.run(['sandbox', 'create', 'x', '--profile', 'light']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('kinfra sandbox provision');
    expect(readdirSync(ws.dev)).toEqual(['ktrdr2']);
  });

  it(
    'every generated compose file is accepted by docker compose config, ' +
      'and an unclaimed slot is refreshed when its file drifted',
    async () => {
      ws = workspace();
      await ws.run(['sandbox', 'provision']);
      const { spawnSync } = await import('node:child_process');
      for (const s of EXPECTED) {
        const dir = join(sandboxes(ws), `slot-${s.id}`);
        const r = spawnSync(
          'docker',
          [
            'compose',
            '-f',
            join(dir, 'docker-compose.yml'),
            '--env-file',
            join(dir, '.env.sandbox'),
            'config',
            '--services',
          ],
          { encoding: 'utf8' },
        );
        expect(r.status, r.stderr).toBe(0);
        const workers = r.stdout.split('\n').filter((l) => l.includes('worker'));
        expect(workers).toHaveLength(s.workers.backtest + s.workers.training);
      }
      const { writeFileSync } = await import('node:fs');
      writeFileSync(join(sandboxes(ws), 'slot-3/docker-compose.yml'), 'services: {}\n');
      const again = await ws.run(['sandbox', 'provision']);
      expect(again.stdout).toContain('Slot 3: already exists, skipping (refreshed its files from the configuration)');
      expect(readFileSync(join(sandboxes(ws), 'slot-3/docker-compose.yml'), 'utf8')).toContain('backtest-worker-1:');
    },
  );

  it(
    'a registered slot folder that lost its compose file: doctor names it, ' +
      'provision writes it again (claimed or not) instead of crashing',
    async () => {
      ws = workspace();
      await ws.run(['sandbox', 'provision']);
      await ws.run(['sandbox', 'create', 'big', '--profile', 'heavy']);
      for (const n of [1, 6]) rmSync(join(sandboxes(ws), `slot-${n}`, 'docker-compose.yml'));
      const seen = parseJson((await ws.run(['sandbox', 'doctor', '--json'])).stdout).data;
      const messages = seen.findings
        .filter((f: any) => f.check === 'pool')
        .map((f: any) => f.message)
        .join('\n');
      expect(messages).toMatch(/Pool slot 1 is registered but its folder .*slot-1 has lost its docker-compose.yml/);
      expect(messages).toMatch(/Pool slot 6 is registered but its folder .*slot-6 has lost its docker-compose.yml/);
      const r = await ws.run(['sandbox', 'provision', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const actions = Object.fromEntries(parseJson(r.stdout).data.slots.map((s: any) => [s.slot, s.action]));
      expect(actions).toMatchObject({ 1: 'refreshed', 2: 'exists', 6: 'refreshed' });
      for (const n of [1, 6])
        expect(readFileSync(join(sandboxes(ws), `slot-${n}`, 'docker-compose.yml'), 'utf8')).toContain(
          'backtest-worker-1:',
        );
      expect(JSON.parse(readFileSync(join(sandboxes(ws), 'registry.json'), 'utf8')).slots['6'].claimed_by).toBe(
        'ktrdr--big',
      );
    },
  );

  it(
    'parallel creates claim distinct pool slots: 8 at once for 6 slots end with 6 ' + 'claims and 2 clean errors',
    async () => {
      ws = workspace();
      await ws.run(['sandbox', 'provision']);
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => ws.run(['sandbox', 'create', `p${i}`, '--json'])),
      );
      const ok = results
        .filter((r) => r.code === 0)
        .map((r) => parseJson(r.stdout).data.slot)
        .sort((a: number, b: number) => a - b);
      expect(ok).toEqual([1, 2, 3, 4, 5, 6]);
      for (const r of results.filter((x) => x.code !== 0))
        expect(parseJson(r.stderr).error.code).toBe('pool-exhausted');
      const reg = JSON.parse(readFileSync(join(sandboxes(ws), 'registry.json'), 'utf8'));
      const claims = Object.values(reg.slots)
        .map((x) => (x as { claimed_by: string }).claimed_by)
        .sort();
      expect(new Set(claims).size).toBe(6);
    },
  );

  it("a worktree that gave its pool slot back can no longer drive that slot's stack", async () => {
    ws = workspace();
    await ws.run(['sandbox', 'provision']);
    await ws.run(['sandbox', 'create', 'keep', '--profile', 'heavy']);
    const kept = join(ws.dev, 'ktrdr--keep');
    const { copyFileSync, writeFileSync } = await import('node:fs');
    copyFileSync(join(kept, '.env.sandbox'), join(ws.root, 'old.env'));
    const d = await ws.run(['sandbox', 'destroy', '--keep-worktree', '--yes'], { cwd: kept });
    expect(d.code, d.stderr).toBe(0);
    expect(existsSync(join(kept, '.env.sandbox'))).toBe(false);
    await ws.run(['sandbox', 'create', 'newer', '--profile', 'heavy']);
    // Even with the old file put back, the kept worktree may not take over slot 6.
    writeFileSync(join(kept, '.env.sandbox'), readFileSync(join(ws.root, 'old.env')));
    // The registry, not the file, decides: the kept worktree is no registered sandbox.
    const up = await ws.run(['sandbox', 'up', '--no-wait', '--json'], { cwd: kept });
    expect(up.code).toBe(5);
    expect(parseJson(up.stderr).error.code).toBe('not-registered');
  });

  it(
    'a slot being released is claimed by nobody until its reset is done: ' + 'a create meanwhile takes another slot',
    async () => {
      ws = workspace();
      await ws.run(['sandbox', 'provision']);
      const engine = await gatedEngine(ws.root);
      try {
        // The release stops in its first engine call (the reset of slot 1's resources, which runs outside the lock).
        const release = ws.run(['sandbox', 'release', '1', '--json'], {
          env: { DOCKER_HOST: engine.host, KINFRA_ENGINE_TIMEOUT_MS: '60000' },
        });
        await engine.held;
        const reg = JSON.parse(readFileSync(join(sandboxes(ws), 'registry.json'), 'utf8'));
        expect(reg.slots['1'].releasing).toMatchObject({ from: null });
        const create = await ws.run(['sandbox', 'create', 'meanwhile', '--profile', 'light', '--json']);
        expect(create.code, create.stderr).toBe(0);
        expect(parseJson(create.stdout).data.slot).toBe(2);
        const explicit = await ws.run(['sandbox', 'create', 'there', '--slot', '1', '--json']);
        expect(parseJson(explicit.stderr).error).toMatchObject({ code: 'slot-taken' });
        expect(parseJson(explicit.stderr).error.message).toContain('being released');
        const second = await ws.run(['sandbox', 'release', '1', '--json']);
        expect(second.code).toBe(4);
        expect(parseJson(second.stderr).error.code).toBe('slot-being-released');
        engine.open();
        const r = await release;
        expect(r.code, r.stderr).toBe(0);
        expect(parseJson(r.stdout).data).toEqual({ slot: 1, releasedFrom: null, rewarming: null });
      } finally {
        await engine.close();
      }
      const reg = JSON.parse(readFileSync(join(sandboxes(ws), 'registry.json'), 'utf8'));
      expect(reg.slots['1']).toMatchObject({ claimed_by: null });
      expect(reg.slots['1'].releasing).toBeUndefined();
      expect(reg.slots['2'].claimed_by).toBe('ktrdr--meanwhile');
      expect(reg.instances['ktrdr--meanwhile'].pool_slot).toBe(2);
    },
  );

  it(
    'randomized: parallel create --profile, release (with and without -f) ' +
      'and destroy never leave a slot claimed twice',
    async () => {
      const seed = Number(process.env.POOL_SEED ?? Date.now() % 1_000_000);
      const rnd = mulberry32(seed);
      const why = `(replay with POOL_SEED=${seed})`;
      ws = workspace();
      expect((await ws.run(['sandbox', 'provision'])).code).toBe(0);
      const registryFile = join(sandboxes(ws), 'registry.json');
      const counts: Record<string, number> = {};
      const count = (key: string) => (counts[key] = (counts[key] ?? 0) + 1);
      const ROUNDS = 12;
      for (let round = 0; round < ROUNDS; round++) {
        const before = JSON.parse(readFileSync(registryFile, 'utf8'));
        const ids = Object.keys(before.instances);
        // The slot the next create would take: releasing it is where a release and a claim meet.
        const nextFree = ['1', '2', '3', '4'].find((n) => !before.slots[n].claimed_by);
        type Op = {
          kind: string;
          args: string[];
          delay: number;
          slot?: string;
          engine?: Awaited<ReturnType<typeof gatedEngine>>;
        };
        const ops: Op[] = [];
        for (let k = 0; k < 6; k++) {
          const pick = rnd();
          // The four light slots, where the creates land; mostly the one the next create would take.
          const slot = nextFree && rnd() < 0.7 ? nextFree : String(1 + Math.floor(rnd() * 4));
          // Started at random moments, so that creates and destroys fall inside the releases' resets.
          const delay = Math.floor(rnd() * 1200);
          if (pick < 0.4)
            ops.push({
              kind: 'create',
              args: ['sandbox', 'create', `r${round}-${k}`, '--profile', 'light', '--json'],
              delay,
            });
          else if (pick < 0.8) {
            const force = pick >= 0.6;
            // Each release talks to the engine through its own gate, held for a second: its reset is a
            // wide window, and the test knows when it was.
            const engine = await gatedEngine(ws.root, { name: `r${k}`, autoOpenMs: 1000 });
            ops.push({
              kind: force ? 'release -f' : 'release',
              args: ['sandbox', 'release', slot, ...(force ? ['-f'] : []), '--json'],
              delay,
              slot,
              engine,
            });
          } else if (ids.length > 0) {
            // Each sandbox at most once a round: two destroys of one sandbox race in
            // git, which is not what this test is about.
            const [id] = ids.splice(Math.floor(rnd() * ids.length), 1);
            ops.push({ kind: 'destroy', args: ['sandbox', 'destroy', id!, '--yes', '--json'], delay });
          }
        }
        const timed = await Promise.all(
          ops.map(async (op) => {
            await new Promise((r) => setTimeout(r, op.delay));
            const start = Date.now();
            const r = await ws.run(
              op.args,
              op.engine ? { env: { DOCKER_HOST: op.engine.host, KINFRA_ENGINE_TIMEOUT_MS: '30000' } } : {},
            );
            return { ...r, start, end: Date.now() };
          }),
        );
        await Promise.all(ops.map((op) => op.engine?.close()));
        const log = ops
          .map(
            (op, i) =>
              `${op.args.slice(1, 3).join(' ')}${op.args.includes('-f') ? ' -f' : ''} ` +
              `@${op.delay}ms -> ${timed[i]!.code}`,
          )
          .join(', ');
        const note = `round ${round}: ${log} ${why}`;
        timed.forEach((r, i) => {
          count(`${ops[i]!.kind} ${r.code === 0 ? 'ok' : 'refused'}`);
          // Refusals are clean errors (the slot is held, the pool is full, the sandbox went meanwhile), never crashes.
          if (r.code !== 0)
            expect(parseJson(r.stderr).error.code, `${r.stderr} ${note}`).toMatch(
              /^(slot-in-use|slot-being-released|pool-exhausted|instance-gone|unknown-instance|registry-locked)$/,
            );
        });
        // No create claims a slot while a release of it is resetting it: a claim made wholly inside that
        // window is one the release would clear or wipe.
        ops.forEach((rel, i) => {
          if (!rel.engine?.heldAt || timed[i]!.code !== 0) return;
          ops.forEach((c, j) => {
            const t = timed[j]!;
            if (c.kind !== 'create' || t.code !== 0) return;
            if (t.start > rel.engine!.heldAt! && t.end < rel.engine!.openedAt!) {
              expect(
                String(parseJson(t.stdout).data.slot),
                `${c.args[2]} claimed slot ${rel.slot} while it was being released ${note}`,
              ).not.toBe(rel.slot);
              count('create inside a reset');
            }
          });
        });

        const reg = JSON.parse(readFileSync(registryFile, 'utf8'));
        const claims = Object.values<any>(reg.slots)
          .map((s) => s.claimed_by)
          .filter(Boolean);
        expect(new Set(claims).size, `a sandbox holds two slots: ${claims} ${note}`).toBe(claims.length);
        for (const s of Object.values<any>(reg.slots)) {
          expect(s.releasing, `slot ${s.slot_id} still marked ${note}`).toBeUndefined();
          if (s.claimed_by)
            expect(
              reg.instances[s.claimed_by],
              `slot ${s.slot_id} claimed by unregistered ${s.claimed_by} ${note}`,
            ).toBeDefined();
        }
        for (const [id, e] of Object.entries<any>(reg.instances)) {
          expect(reg.slots[String(e.pool_slot)]?.claimed_by, `${id} points at slot ${e.pool_slot} ${note}`).toBe(id);
        }
        // On disk as well: no two .env.sandbox files beside the checkout drive one slot,
        // and each belongs to a registered sandbox.
        const onSlot = new Map<string, string>();
        for (const name of readdirSync(ws.dev)) {
          const file = join(ws.dev, name, '.env.sandbox');
          if (!existsSync(file)) continue;
          const env = parseEnvText(readFileSync(file, 'utf8'));
          expect(
            onSlot.has(env.KINFRA_POOL_SLOT!),
            `two .env.sandbox files on slot ${env.KINFRA_POOL_SLOT} ${note}`,
          ).toBe(false);
          onSlot.set(env.KINFRA_POOL_SLOT!, env.INSTANCE_ID!);
          expect(reg.instances[env.INSTANCE_ID!]?.path, `${file} is not registered ${note}`).toBe(join(ws.dev, name));
        }
      }
      const doctor = parseJson((await ws.run(['sandbox', 'doctor', '--json'])).stdout).data;
      expect(
        doctor.findings.filter((f: any) => f.status === 'problem' && f.check !== 'engine'),
        why,
      ).toEqual([]);
      console.log(
        `pool race (${ROUNDS} rounds of up to 6 parallel commands, seed ${seed}): ` +
          Object.entries(counts)
            .sort()
            .map(([k, v]) => `${k} ${v}`)
            .join(', '),
      );
    },
    240_000,
  );
});
