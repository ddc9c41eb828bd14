import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { git, kinfra, parseJson, workspace, type Workspace, KTRDR_COMPOSE } from '../helpers/cli.js';
import { mulberry32 } from '../helpers/random.js';

/**
 * Issue 12, item 1: once a registry existed, a missing or unreadable one is
 * lost, not new. No command hands out a slot until doctor --repair has rebuilt
 * it, so the next create in another repository cannot take a slot a sandbox
 * of the first still holds.
 */
let ws: Workspace;
afterEach(() => ws?.cleanup());

const regDir = (w: Workspace) => join(w.home, '.ktrdr/sandboxes');
const regFile = (w: Workspace) => join(regDir(w), 'registry.json');
const registry = (w: Workspace) => JSON.parse(readFileSync(regFile(w), 'utf8'));

/** A second project under the same dev folder and HOME: `<dev>/other`, with one commit. */
function secondRepo(w: Workspace): string {
  const repo = join(w.dev, 'other');
  mkdirSync(repo, { recursive: true });
  writeFileSync(join(repo, 'docker-compose.yml'), KTRDR_COMPOSE);
  git(repo, ['init', '-q', '-b', 'main'], w.home);
  git(repo, ['add', '-A'], w.home);
  git(repo, ['commit', '-qm', 'initial'], w.home);
  return repo;
}

const doctor = async (w: Workspace, cwd: string, ...args: string[]) => {
  const r = await kinfra(['sandbox', 'doctor', '--json', ...args], { cwd, home: w.home });
  return { code: r.code, data: parseJson(r.stdout).data };
};

describe('a lost registry: no slot is handed out until it is rebuilt', () => {
  it(
    'after a corrupt registry was moved aside, create in another repository refuses (exit 6, ' +
      'naming doctor --repair) instead of taking slot 1',
    async () => {
      ws = workspace();
      const other = secondRepo(ws);
      const a = await ws.run(['sandbox', 'create', 'a', '--json']);
      expect(parseJson(a.stdout).data.slot).toBe(1);
      const before = registry(ws).instances['ktrdr--a'];
      writeFileSync(regFile(ws), '{"version": 2, "instances": {"ktrdr--a": {"slot": 1,');

      // The first command to read it moves it aside and stops.
      const first = await kinfra(['sandbox', 'list'], { cwd: other, home: ws.home });
      expect(first.code).toBe(6);
      expect(first.stderr).toContain('doctor --repair');
      expect(readdirSync(regDir(ws)).filter((n) => n.startsWith('registry.json.corrupt-'))).toHaveLength(1);

      // Every command that could hand out a slot now refuses, in either repository.
      for (const [args, cwd] of [
        [['sandbox', 'create', 'b', '--json'], other],
        [['sandbox', 'create', 'c', '--json'], ws.repo],
        [['sandbox', 'init', '--json'], other],
        [['sandbox', 'provision', '--json'], other],
      ] as const) {
        const r = await kinfra([...args], { cwd, home: ws.home });
        expect(r.code, `${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(6);
        const error = parseJson(r.stderr).error;
        expect(error.code).toBe('registry-lost');
        expect(error.message).toContain('registry.json.corrupt-');
        expect(error.hint).toContain('kinfra sandbox doctor --repair');
      }
      expect(existsSync(join(ws.dev, 'ktrdr--b'))).toBe(false);
      expect(existsSync(join(other, '.env.sandbox'))).toBe(false);
      expect(existsSync(regFile(ws))).toBe(false);

      // doctor names the loss; doctor --repair (run from the other repository) brings A's sandbox back on its slot.
      const seen = await doctor(ws, other);
      expect(seen.code).toBe(11);
      expect(seen.data.findings.find((f: any) => f.check === 'registry').message).toMatch(
        /is missing: it could not be read and was moved to/,
      );
      const fixed = await doctor(ws, other, '--repair');
      expect(fixed.data.findings.filter((f: any) => f.status === 'problem')).toEqual([]);
      expect(fixed.data.repairs.find((r: any) => r.check === 'registry').note).toMatch(/registered ktrdr--a \(slot 1/);
      expect(registry(ws).instances['ktrdr--a']).toMatchObject({
        slot: 1,
        path: before.path,
        ports: before.ports,
        created_worktree: true,
      });
      // The moved-aside file is marked as rebuilt from, so the rule no longer applies.
      const names = readdirSync(regDir(ws));
      expect(names.filter((n) => n.startsWith('registry.json.corrupt-') && !n.endsWith('.rebuilt'))).toEqual([]);
      expect(names.filter((n) => n.endsWith('.rebuilt'))).toHaveLength(1);

      const b = await kinfra(['sandbox', 'create', 'b', '--json'], { cwd: other, home: ws.home });
      expect(b.code, b.stderr).toBe(0);
      expect(parseJson(b.stdout).data.slot).toBe(2);
    },
    60_000,
  );

  it(
    'keeps every entry of the moved-aside file that is valid on its own, ' +
      'even for a repository nothing else points at',
    async () => {
      ws = workspace();
      await ws.run(['sandbox', 'create', 'a']);
      await ws.run(['sandbox', 'create', 'b']);
      const reg = registry(ws);
      // Valid JSON, one entry out of range (slot 100): the file is unreadable as a whole, its other entries are not.
      reg.instances['ktrdr--hand-edited'] = { ...reg.instances['ktrdr--b'], slot: 100, path: join(ws.dev, 'nowhere') };
      writeFileSync(regFile(ws), JSON.stringify(reg));
      const r = await ws.run(['sandbox', 'list', '--json'], { cwd: ws.home });
      expect(r.code).toBe(6);
      expect(parseJson(r.stderr).error.message).toContain(
        'instances.ktrdr--hand-edited.slot: expected a slot number (0-99), got 100',
      );

      // From HOME no repository is "here": only the moved-aside file names the project.
      const fixed = await doctor(ws, ws.home, '--repair');
      const note = fixed.data.repairs.find((x: any) => x.check === 'registry').note;
      expect(note).toContain('kept 2 entries of the old file (ktrdr--a, ktrdr--b)');
      expect(note).toMatch(/left out: registry\.json\.corrupt-[^:]+: instances\.ktrdr--hand-edited\.slot/);
      const after = registry(ws);
      expect(Object.keys(after.instances).sort()).toEqual(['ktrdr--a', 'ktrdr--b']);
      expect(after.instances['ktrdr--a']).toEqual(reg.instances['ktrdr--a']);
      expect(parseJson((await ws.run(['sandbox', 'create', 'c', '--json'])).stdout).data.slot).toBe(3);
    },
    60_000,
  );

  it(
    "a registry removed after it imported the Python tool's file is lost too: refused until rebuilt, " +
      'then rebuilt from disk',
    async () => {
      ws = workspace();
      const other = secondRepo(ws);
      await ws.run(['sandbox', 'create', 'a']);
      const v1 = {
        version: 1,
        instances: {
          'ktrdr--old': {
            slot: 3,
            path: join(ws.root, 'gone'),
            created_at: '',
            is_worktree: false,
            parent_repo: ws.repo,
          },
        },
      };
      mkdirSync(join(ws.home, '.ktrdr/sandbox'), { recursive: true });
      writeFileSync(join(ws.home, '.ktrdr/sandbox/instances.json'), JSON.stringify(v1));
      rmSync(regFile(ws));
      expect((await ws.run(['sandbox', 'list'])).code).toBe(0); // imported (the folder of ktrdr--old is gone: cleaned)
      expect(existsSync(join(regDir(ws), 'instances.v1.backup.json'))).toBe(true);
      const init = await ws.run(['sandbox', 'init'], { cwd: join(ws.dev, 'ktrdr--a') });
      expect(init.code, init.stderr).toBe(0);

      rmSync(regFile(ws));
      const r = await kinfra(['sandbox', 'create', 'b', '--json'], { cwd: other, home: ws.home });
      expect(r.code).toBe(6);
      expect(parseJson(r.stderr).error).toMatchObject({ code: 'registry-lost' });
      expect(parseJson(r.stderr).error.message).toContain('instances.v1.backup.json');

      expect((await doctor(ws, ws.home, '--repair')).code).toBe(0);
      expect(registry(ws).instances['ktrdr--a']).toMatchObject({ slot: 1 });
      const b = await kinfra(['sandbox', 'create', 'b', '--json'], { cwd: other, home: ws.home });
      expect(parseJson(b.stdout).data.slot).toBe(2);
    },
    60_000,
  );

  it(
    'randomized: creates and destroys in two repositories, the registry corrupted at random, repairs in parallel: ' +
      'no slot is ever held twice',
    async () => {
      const seed = Number(process.env.LOSS_SEED ?? Date.now() % 1_000_000);
      const rnd = mulberry32(seed);
      const why = `(replay with LOSS_SEED=${seed})`;
      ws = workspace();
      const repos = [ws.repo, secondRepo(ws)];
      const log: string[] = [];
      let created = 0;
      let refused = 0;
      for (let round = 0; round < 8; round++) {
        let ids: string[] = [];
        try {
          ids = Object.keys(registry(ws).instances);
        } catch {
          // missing or unreadable: nothing to destroy this round
        }
        if (round > 0 && rnd() < 0.5) {
          writeFileSync(
            regFile(ws),
            rnd() < 0.5 ? '{"version": 2, "instances": {' : '{"version": 2, "instances": {}, "slots": []}',
          );
          log.push(`round ${round}: registry corrupted`);
        }
        const jobs: Promise<string>[] = [];
        for (let k = 0; k < 3; k++) {
          const cwd = repos[Math.floor(rnd() * 2)]!;
          const name = `r${round}-${k}`;
          jobs.push(
            kinfra(['sandbox', 'create', name, '--json'], { cwd, home: ws.home }).then((r) => {
              if (r.code === 0) created++;
              else if (r.code === 6) refused++;
              return `create ${name} in ${cwd === ws.repo ? 'A' : 'B'} -> ${r.code}`;
            }),
          );
        }
        if (ids.length > 0 && rnd() < 0.5) {
          const id = ids[Math.floor(rnd() * ids.length)]!;
          jobs.push(
            kinfra(['sandbox', 'destroy', id, '--yes', '--force'], { cwd: ws.home, home: ws.home }).then(
              (r) => `destroy ${id} -> ${r.code}`,
            ),
          );
        }
        if (rnd() < 0.6)
          jobs.push(
            kinfra(['sandbox', 'doctor', '--repair', '--json'], {
              cwd: repos[Math.floor(rnd() * 2)]!,
              home: ws.home,
            }).then((r) => `repair -> ${r.code}`),
          );
        log.push(`round ${round}: ${(await Promise.all(jobs)).join(', ')}`);
        expectNoSlotTwice(`${log.join('\n')}\n${why}`);
      }
      const fixed = await doctor(ws, ws.home, '--repair');
      expect(
        fixed.data.findings.filter((f: any) => f.status === 'problem'),
        `${log.join('\n')}\n${why}`,
      ).toEqual([]);
      // Every sandbox folder on disk is registered, on the slot its file names.
      const reg = registry(ws);
      for (const [path, slot] of sandboxFiles()) {
        const entry = Object.values<any>(reg.instances).find((e) => e.path === path);
        expect(entry?.slot, `${path}\n${log.join('\n')}\n${why}`).toBe(slot);
      }
      expect(created, why).toBeGreaterThan(0);
      if (process.env.LOSS_DEBUG) console.log(log.join('\n'), { created, refused });

      /** Folders beside the two repositories with a .env.sandbox, and the slot it names. */
      function sandboxFiles(): Map<string, number> {
        const out = new Map<string, number>();
        for (const name of readdirSync(ws.dev)) {
          const file = join(ws.dev, name, '.env.sandbox');
          if (!existsSync(file)) continue;
          const slot = /^SLOT_NUMBER=(\d+)$/m.exec(readFileSync(file, 'utf8'))?.[1];
          if (slot) out.set(join(ws.dev, name), Number(slot));
        }
        return out;
      }

      function expectNoSlotTwice(note: string): void {
        const holders = new Map<number, string>();
        for (const [path, slot] of sandboxFiles()) {
          expect(holders.get(slot), `slot ${slot}: ${holders.get(slot)} and ${path}\n${note}`).toBeUndefined();
          holders.set(slot, path);
        }
      }
    },
    240_000,
  );

  it('a fresh machine, or a state folder removed as a whole, is not a loss: create works as before', async () => {
    ws = workspace();
    await ws.run(['sandbox', 'create', 'a']);
    rmSync(join(ws.home, '.ktrdr'), { recursive: true, force: true });
    const r = await ws.run(['sandbox', 'create', 'b', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(parseJson(r.stdout).data.slot).toBe(2); // slot 1 is named by a's .env.sandbox in this repository
  });
});
