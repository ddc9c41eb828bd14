import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cliEnv, parseJson, type Workspace } from '../helpers/cli.js';
import {
  buildExampleImages,
  E2E_CONFIG,
  exampleWorkspace,
  leftovers,
  removeLeftovers,
  requireEngine,
} from '../helpers/docker.js';

/**
 * Issue 18 on the real engine with the example stack's Postgres: a source with generated data and a checksum of
 * every table, cloned, snapshotted, restored, reset, killed midway, and queried all the while.
 */
const TABLES = ['orders', 'events', 'notes'];
const PASSWORD = 'localdev';

/** Host psql against a sandbox's published database port (slot N: 25432 + N). */
function psql(port: number, sql: string): { ok: boolean; out: string; err: string } {
  const r = spawnSync(
    'psql',
    ['-X', '-A', '-t', '-q', '-h', '127.0.0.1', '-p', String(port), '-U', 'ktrdr', '-d', 'ktrdr', '-c', sql],
    {
      env: { ...process.env, PGPASSWORD: PASSWORD, PGCONNECT_TIMEOUT: '3' },
      encoding: 'utf8',
    },
  );
  return { ok: r.status === 0, out: (r.stdout ?? '').trim(), err: (r.stderr ?? '').trim() };
}

/** md5 of every row of every table, in key order: equal checksums, equal data. */
function checksums(port: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of TABLES) {
    const r = psql(port, `SELECT count(*) || ':' || md5(string_agg(md5(x::text), '' ORDER BY id)) FROM ${t} x`);
    out[t] = r.ok ? r.out : `error: ${r.err}`;
  }
  return out;
}

/** A few hundred MB of rows, in three tables. */
function generate(port: number, rows = 350_000): void {
  for (const [k, t] of TABLES.entries()) {
    const r = psql(
      port,
      `CREATE TABLE ${t} AS SELECT g AS id, md5((g * ${k + 1})::text) || repeat('x', 200) AS body, now() AS at ` +
        `FROM generate_series(1, ${rows}) g; ALTER TABLE ${t} ADD PRIMARY KEY (id)`,
    );
    expect(r.ok, r.err).toBe(true);
  }
}

/** Volumes kinfra made for database copies that no registry record keeps (what doctor --repair removes). */
function copyVolumes(project: string): string[] {
  const r = spawnSync(
    'docker',
    [
      'volume',
      'ls',
      '-q',
      '--filter',
      'label=dev.kinfra.db-copy',
      '--filter',
      `label=com.docker.compose.project=${project}`,
    ],
    {
      encoding: 'utf8',
    },
  );
  return r.stdout.split('\n').filter(Boolean).sort();
}

/** Queries the source every 50 ms until stopped; counts answers and failures. */
function queryLoop(port: number) {
  let stop = false;
  const stats = { ok: 0, failed: 0, errors: [] as string[] };
  const done = (async () => {
    while (!stop) {
      const r = await new Promise<{ code: number; err: string }>((resolve) => {
        const c = spawn(
          'psql',
          [
            '-X',
            '-A',
            '-t',
            '-h',
            '127.0.0.1',
            '-p',
            String(port),
            '-U',
            'ktrdr',
            '-d',
            'ktrdr',
            '-c',
            'SELECT count(*) FROM notes',
          ],
          {
            env: { ...process.env, PGPASSWORD: PASSWORD, PGCONNECT_TIMEOUT: '3' },
          },
        );
        let err = '';
        c.stderr.on('data', (d: Buffer) => (err += d.toString()));
        c.on('close', (code) => resolve({ code: code ?? 1, err }));
      });
      if (r.code === 0) stats.ok++;
      else {
        stats.failed++;
        stats.errors.push(r.err);
      }
      await new Promise((r2) => setTimeout(r2, 50));
    }
  })();
  return {
    stats,
    stop: async () => {
      stop = true;
      await done;
      return stats;
    },
  };
}

/** Every process's command line, as `ps` shows them to any user of the machine. */
const processList = () => spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).stdout;

describe('per-branch databases on a real engine', () => {
  let ws: Workspace;
  const dir = (name: string) => join(ws.dev, `kte--${name}`);
  const run = (args: string[], cwd?: string) => ws.run(args, cwd ? { cwd } : {});
  const port = (slot: number) => 25432 + slot;
  let source: Record<string, string>;

  /** Start only the database of a sandbox (through kinfra: its layer, its labels). */
  const startDb = async (name: string) => {
    const r = await run(['sandbox', 'compose', 'up', '-d', 'db'], dir(name));
    expect(r.code, r.stderr).toBe(0);
  };
  const waitDb = async (slot: number) => {
    for (let k = 0; k < 200; k++) {
      if (psql(port(slot), 'SELECT 1').ok) return;
      await new Promise((r) => setTimeout(r, 150));
    }
    throw new Error(`database of slot ${slot} never answered`);
  };

  beforeAll(async () => {
    requireEngine();
    removeLeftovers();
    buildExampleImages();
    ws = exampleWorkspace();
    for (const n of ['src', 'dst', 'other']) expect((await run(['sandbox', 'create', n])).code).toBe(0);
    await startDb('src');
    await waitDb(1);
    generate(port(1));
    source = checksums(port(1));
    expect(Object.values(source).every((c) => c.startsWith('350000:'))).toBe(true);
  }, 600_000);

  afterAll(async () => {
    for (const n of ['src', 'dst', 'other', 'fresh', 'killed'])
      if (existsSync(dir(n))) await run(['sandbox', 'destroy', '--force'], dir(n));
    removeLeftovers();
    ws.cleanup();
  });

  it('clone --from a sandbox: equal checksums, every query to the source answered, no password in ps', async () => {
    await startDb('dst');
    await waitDb(2);
    expect(psql(port(2), 'CREATE TABLE mine AS SELECT 1 AS id').ok).toBe(true);

    // Data there, nobody to ask: refused, nothing changed.
    const refused = await run(['sandbox', 'db', 'clone', '--from', 'src'], dir('dst'));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('--force');

    const loop = queryLoop(port(1));
    let sawPassword = false;
    const sampler = setInterval(() => {
      if (processList().includes(PASSWORD)) sawPassword = true;
    }, 100);
    const r = await run(['sandbox', 'db', 'clone', '--from', 'src', '--force', '--json'], dir('dst'));
    clearInterval(sampler);
    const stats = await loop.stop();
    expect(r.code, r.stderr).toBe(0);
    const c = parseJson(r.stdout).data.change;
    expect(c).toMatchObject({
      action: 'clone',
      from: 'kte--src',
      method: 'pg_basebackup',
      fallbackReason: null,
      restarted: true,
    });
    expect(c.scope).toContain('whole server');
    expect(c.autoSnapshot).toMatch(/^auto-before-clone-/);
    expect(stats.failed, stats.errors.join('\n')).toBe(0);
    expect(stats.ok).toBeGreaterThan(3);
    expect(sawPassword).toBe(false);
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);

    expect(checksums(port(2))).toEqual(source);
    // The data it replaced is a snapshot: restoring it brings `mine` back.
    const list = parseJson((await run(['sandbox', 'db', 'snapshots', '--json'], dir('dst'))).stdout).data.snapshots;
    expect(list.snapshots.map((s: { name: string }) => s.name)).toEqual([c.autoSnapshot]);
    expect(list.snapshots[0].bytes).toBeGreaterThan(1_000_000);
  }, 300_000);

  it('snapshot, change, restore: the checksums come back; reset goes back to the clone', async () => {
    const snap = await run(['sandbox', 'db', 'snapshot', 'before-change', '--json'], dir('dst'));
    expect(snap.code, snap.stderr).toBe(0);
    expect(parseJson(snap.stdout).data.snapshot).toMatchObject({ name: 'before-change', method: 'pg_basebackup' });
    const changed = psql(port(2), "DELETE FROM orders WHERE id % 2 = 0; UPDATE notes SET body = 'x'");
    expect(changed.ok, changed.err).toBe(true);
    expect(checksums(port(2))).not.toEqual(source);

    const restore = await run(['sandbox', 'db', 'restore', 'before-change', '--force', '--json'], dir('dst'));
    expect(restore.code, restore.stderr).toBe(0);
    expect(parseJson(restore.stdout).data.change).toMatchObject({ action: 'restore', method: 'file copy' });
    expect(checksums(port(2))).toEqual(source);

    expect(psql(port(2), 'DROP TABLE events').ok).toBe(true);
    const reset = await run(['sandbox', 'db', 'reset', '--force'], dir('dst'));
    expect(reset.code, reset.stderr).toBe(0);
    expect(reset.stdout).toContain('Reset the database of kte--dst');
    expect(checksums(port(2))).toEqual(source);

    const drop = await run(['sandbox', 'db', 'drop-snapshot', 'before-change'], dir('dst'));
    expect(drop.code, drop.stderr).toBe(0);
    const names = parseJson((await run(['sandbox', 'db', 'snapshots', '--json'], dir('dst'))).stdout).data.snapshots
      .snapshots;
    expect(names.map((s: { name: string }) => s.name)).not.toContain('before-change');
    // Nothing kinfra made is unaccounted for.
    const kept = names.map((s: { volume: string }) => s.volume);
    for (const v of copyVolumes('kte--dst')) expect([...kept, ...volumesOfRecord(ws, 'kte--dst')]).toContain(v);
  }, 300_000);

  it('two clones from one source at once both succeed', async () => {
    const [a, b] = await Promise.all([
      run(['sandbox', 'db', 'clone', '--from', 'src', '--force'], dir('dst')),
      run(['sandbox', 'db', 'clone', '--from', 'src', '--force'], dir('other')),
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(checksums(port(2))).toEqual(source);
    // `other` was never started: it gets the data at its next start.
    await startDb('other');
    await waitDb(3);
    expect(checksums(port(3))).toEqual(source);
  }, 300_000);

  it('the fallback (forced): dump and restore, and it says why', async () => {
    const r = await run(['sandbox', 'db', 'clone', '--from', 'src', '--method', 'logical', '--force'], dir('other'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('pg_dumpall | psql');
    expect(r.stdout).toContain('Fallback: asked for (--method logical)');
    expect(checksums(port(3))).toEqual(source);
  }, 300_000);

  it('create --db-from: a new sandbox starts with a copy', async () => {
    const r = await run(['sandbox', 'create', 'fresh', '--db-from', 'src', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(parseJson(r.stdout).data.database).toMatchObject({ method: 'pg_basebackup', from: 'kte--src' });
    await startDb('fresh');
    await waitDb(4);
    expect(checksums(port(4))).toEqual(source);
  }, 300_000);

  it('SIGKILL at any moment of a clone or a restore: the target is old or new; doctor cleans up', async () => {
    expect((await run(['sandbox', 'create', 'killed'])).code).toBe(0);
    await startDb('killed');
    const slot = 5;
    await waitDb(slot);
    expect(psql(port(slot), 'CREATE TABLE orders AS SELECT 1 AS id, 2 AS body').ok).toBe(true);
    const before = checksums(port(slot));
    expect((await run(['sandbox', 'db', 'snapshot', 'k'], dir('killed'))).code).toBe(0);
    for (const [k, delay] of [300, 1500, 3000, 5000].entries()) {
      const args = k % 2 === 0 ? ['db', 'clone', '--from', 'src', '--force'] : ['db', 'restore', 'k', '--force'];
      const child = spawn(process.execPath, [CLI, 'sandbox', ...args], {
        cwd: dir('killed'),
        env: cliEnv(ws.home),
        stdio: 'ignore',
      });
      const closed = new Promise((r) => child.on('close', r));
      await new Promise((r) => setTimeout(r, delay));
      child.kill('SIGKILL');
      await closed;
      // Whatever the kill left: up brings the database back, on the old data or the new.
      const up = await run(['sandbox', 'compose', 'up', '-d', 'db'], dir('killed'));
      expect(up.code, up.stderr).toBe(0);
      await waitDb(slot);
      const now = checksums(port(slot));
      const isOld = JSON.stringify(now) === JSON.stringify(before);
      const isNew = JSON.stringify(now) === JSON.stringify(source);
      expect(isOld || isNew, `after a kill at ${delay} ms: ${JSON.stringify(now)}`).toBe(true);
      const repair = await run(['sandbox', 'doctor', '--repair']);
      expect(repair.stdout + repair.stderr).not.toMatch(/database copy .* left/i);
      const record = volumesOfRecord(ws, 'kte--killed');
      for (const v of copyVolumes('kte--killed')) expect(record, repair.stdout).toContain(v);
      // Back to the small table for the next round.
      const back = await run(['sandbox', 'db', 'restore', 'k', '--force'], dir('killed'));
      expect(back.code, back.stderr).toBe(0);
      await waitDb(slot);
    }
  }, 600_000);

  it('destroy says what it deletes and removes every snapshot with the database', async () => {
    const r = await run(['sandbox', 'destroy', 'dst', '--json']);
    expect(r.code).toBe(1);
    const wouldDo = parseJson(r.stderr).error.details.wouldDo as string;
    expect(wouldDo).toMatch(/delete its database \(\d+(\.\d)? MB\) and \d+ snapshot/);
    const d = await run(['sandbox', 'destroy', 'dst', '--yes']);
    expect(d.code, d.stderr).toBe(0);
    expect(leftovers('kte--dst_').volumes).toEqual([]);
    expect(copyVolumes('kte--dst')).toEqual([]);
  }, 300_000);
});

/** The volumes the registry's record of `project` keeps (live, reset point, snapshots). */
function volumesOfRecord(ws: Workspace, project: string): string[] {
  const text = spawnSync('cat', [join(ws.home, '.ktrdr/sandboxes/registry.json')], { encoding: 'utf8' }).stdout;
  const rec = JSON.parse(text).databases?.[project];
  if (!rec) return [];
  return [
    rec.volume,
    rec.origin?.volume,
    ...Object.values(rec.snapshots as Record<string, { volume: string }>).map((s) => s.volume),
  ].filter(Boolean);
}

/** Seed 004's pool, warm: every slot's database seeded from main's, a claim finds it ready, release seeds again. */
const POOL_DB_CONFIG = `${E2E_CONFIG}profiles:
  light: { workers: { backtest: 1, training: 1 } }
pool:
  template: pool-template.yml
  slots: { "1": light }
`;

describe('a warm pool of databases seeded from main', () => {
  let ws: Workspace;
  const MAIN_PORT = 25490;
  const SLOT_PORT = 25433;
  const main = (args: string[]) =>
    spawnSync('docker', ['compose', '-p', 'kte--main', ...args], {
      cwd: ws.repo,
      env: { ...process.env, KTRDR_DB_PORT: String(MAIN_PORT) },
      encoding: 'utf8',
    });
  let mainSums: Record<string, string>;

  beforeAll(async () => {
    requireEngine();
    removeLeftovers();
    buildExampleImages();
    ws = exampleWorkspace(POOL_DB_CONFIG);
    const up = main(['up', '-d', 'db']);
    expect(up.status, up.stderr).toBe(0);
    for (let k = 0; k < 200 && !psql(MAIN_PORT, 'SELECT 1').ok; k++) await new Promise((r) => setTimeout(r, 150));
    generate(MAIN_PORT, 50_000);
    mainSums = checksums(MAIN_PORT);
  }, 600_000);

  afterAll(async () => {
    for (const d of ['kte--first', 'kte--second'])
      if (existsSync(join(ws.dev, d))) await ws.run(['sandbox', 'destroy', '--force'], { cwd: join(ws.dev, d) });
    await ws.run(['sandbox', 'release', '1', '-f']);
    main(['down', '-v']);
    removeLeftovers();
    ws.cleanup();
  }, 300_000);

  const slotsJson = async () => parseJson((await ws.run(['sandbox', 'slots', '--json'])).stdout).data.slots;

  it('provision --db-from main seeds the slot; a claim finds the copy ready; release seeds it again', async () => {
    const p = await ws.run(['sandbox', 'provision', '--db-from', 'main', '--json']);
    expect(p.code, p.stderr).toBe(0);
    expect(parseJson(p.stdout).data.warmed).toMatchObject([{ slot: 1, from: 'main', method: 'pg_basebackup' }]);
    expect((await slotsJson())[0].database).toMatch(/^warm: a copy of main from /);

    // The claim: the database is already there, running, with main's data.
    const c = await ws.run(['sandbox', 'create', 'first', '--profile', 'light']);
    expect(c.code, c.stderr).toBe(0);
    expect(checksums(SLOT_PORT)).toEqual(mainSums);
    expect(psql(SLOT_PORT, 'CREATE TABLE first_claim AS SELECT 1 AS id').ok).toBe(true);

    const rel = await ws.run(['sandbox', 'release', '1', '-f', '--json']);
    expect(rel.code, rel.stderr).toBe(0);
    expect(parseJson(rel.stdout).data.rewarming).toMatchObject({ from: 'main' });
    let state = '';
    for (let k = 0; k < 400; k++) {
      state = (await slotsJson())[0].database as string;
      if (state.startsWith('warm:')) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(state).toMatch(/^warm: a copy of main from /);

    // The next claim gets a fresh copy of main's, not the previous claim's data.
    expect((await ws.run(['sandbox', 'create', 'second', '--profile', 'light'])).code).toBe(0);
    expect(checksums(SLOT_PORT)).toEqual(mainSums);
    expect(psql(SLOT_PORT, "SELECT count(*) FROM pg_tables WHERE tablename = 'first_claim'").out).toBe('0');
  }, 600_000);
});
