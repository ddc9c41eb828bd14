import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRegistryText } from '../../src/core/registry/model.js';
import { CLI, cliEnv, parseJson, workspace, type Workspace } from '../helpers/cli.js';
import { mulberry32 } from '../helpers/random.js';

/** Start the CLI and SIGKILL it after `ms` (it may finish first). */
function killAfter(ws: Workspace, args: string[], ms: number): Promise<{ killed: boolean; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ws.repo, env: cliEnv(ws.home), stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ killed: signal === 'SIGKILL', code });
    });
  });
}

describe('crash safety: kinfra killed at random points', () => {
  let ws: Workspace;
  afterEach(() => ws?.cleanup());

  it(
    'SIGKILL during create, destroy, provision, release and registry writes: the registry always parses, ' +
      'doctor names every leftover, ' +
      'doctor --repair makes the state consistent, and no sandbox loses work',
    async () => {
      const seed = Number(process.env.FAULT_SEED ?? Date.now() % 1_000_000);
      const rnd = mulberry32(seed);
      const why = `(replay with FAULT_SEED=${seed})`;
      ws = workspace();
      const registryFile = join(ws.home, '.ktrdr/sandboxes/registry.json');

      // A sandbox with uncommitted work and a commit on no other branch: nothing may ever remove it.
      const first = await ws.run(['sandbox', 'create', 'precious']);
      expect(first.code, first.stderr).toBe(0);
      const precious = join(ws.dev, 'ktrdr--precious');
      writeFileSync(join(precious, 'notes.txt'), 'uncommitted work\n');

      let killed = 0;
      let locksLeft = 0;
      const ops: string[] = [];
      // 30 commands, and more (up to 60) while fewer than 6 were killed: on a fast machine
      // most commands can finish before their kill.
      for (let i = 0; i < 30 || (killed <= 5 && i < 60); i++) {
        const names = Object.keys(readRegistry()?.instances ?? {}).filter((id) => id !== 'ktrdr--precious');
        const pick = rnd();
        const args =
          pick < 0.45
            ? ['sandbox', 'create', `t${i}`]
            : pick < 0.75 && names.length > 0
              ? ['sandbox', 'destroy', names[Math.floor(rnd() * names.length)]!, '--yes']
              : pick < 0.85
                ? ['sandbox', 'provision']
                : pick < 0.93
                  ? ['sandbox', 'release', String(1 + Math.floor(rnd() * 6)), ...(rnd() < 0.5 ? ['-f'] : [])]
                  : ['sandbox', 'list'];
        // Node starts in ~100 ms; the commands run for 0.2-1 s: kill anywhere from start-up to the end.
        const r = await killAfter(ws, args, 60 + Math.floor(rnd() * 900));
        killed += r.killed ? 1 : 0;
        // A killed holder's lock goes stale after 10 s and is taken over; the process is dead, so skip the wait.
        if (r.killed && existsSync(`${registryFile}.lock`)) {
          rmSync(`${registryFile}.lock`, { recursive: true, force: true });
          locksLeft++;
        }
        ops.push(`${args.slice(1).join(' ')} -> ${r.killed ? 'killed' : `exit ${r.code}`}`);
        // After every kill, the registry parses (or was never written).
        if (existsSync(registryFile))
          expect(parseRegistryText(readFileSync(registryFile, 'utf8')).ok, `${ops.join('\n')}\n${why}`).toBe(true);
      }
      expect(killed, `${ops.join('\n')}\n${why}`).toBeGreaterThan(5);

      // Doctor names every leftover we can find independently.
      const leftovers = independentLeftovers();
      if (process.env.FAULT_DEBUG) console.log(ops.join('\n'), leftovers, { locksLeft });
      const seen = await ws.run(['sandbox', 'doctor', '--json']);
      const findings = parseJson(seen.stdout).data.findings.filter(
        (f: any) => f.status === 'problem' || f.check === 'leftovers',
      );
      const text = findings.map((f: any) => f.message).join('\n');
      for (const l of leftovers) expect(text, `doctor missed ${l}\n${ops.join('\n')}\n${why}`).toContain(l);
      expect(seen.code, why).toBe(findings.some((f: any) => f.status === 'problem') ? 11 : 0);

      const repaired = await ws.run(['sandbox', 'doctor', '--repair', '--json']);
      const after = parseJson(repaired.stdout).data;
      if (process.env.FAULT_DEBUG) console.log(after.repairs);
      expect(
        after.findings.filter((f: any) => f.status === 'problem'),
        `${repaired.stdout}\n${ops.join('\n')}\n${why}`,
      ).toEqual([]);
      expect(repaired.code).toBe(0);
      expectConsistent(why);

      // The precious sandbox and its work are intact.
      expect(readRegistry()!.instances['ktrdr--precious']?.path).toBe(precious);
      expect(readFileSync(join(precious, 'notes.txt'), 'utf8')).toBe('uncommitted work\n');

      // Everything it made can still be destroyed cleanly.
      for (const id of Object.keys(readRegistry()!.instances)) {
        const d = await ws.run(['sandbox', 'destroy', id, '--yes', '--force']);
        expect(d.code, d.stderr).toBe(0);
      }
      // release -f makes its claimant's worktree a plain worktree (no .env.sandbox, no entry), and
      // leaves it: that is all that may be left.
      const linked = ws
        .git(['worktree', 'list', '--porcelain'])
        .split('\n')
        .filter((l) => l.startsWith('worktree '))
        .map((l) => l.slice(9))
        .slice(1);
      const forced = ops.some((o) => o.startsWith('release') && o.includes(' -f'));
      for (const path of linked)
        expect(
          forced && !existsSync(join(path, '.env.sandbox')),
          `${path} left behind\n${ops.join('\n')}\n${why}`,
        ).toBe(true);

      function readRegistry(): any {
        return existsSync(registryFile) ? JSON.parse(readFileSync(registryFile, 'utf8')) : undefined;
      }

      /**
       * What a crash can leave, found without kinfra's code: unfinished entries, entries without
       * folders, worktrees without entries, temp files.
       */
      function independentLeftovers(): string[] {
        const reg = readRegistry() ?? { instances: {}, slots: {} };
        const out: string[] = [];
        for (const [id, e] of Object.entries<any>(reg.instances)) {
          if (e.state) out.push(id);
          else if (!existsSync(e.path)) out.push(id);
        }
        const registered = new Set(Object.values<any>(reg.instances).map((e) => e.path));
        for (const line of ws.git(['worktree', 'list', '--porcelain']).split('\n')) {
          const path = line.startsWith('worktree ') ? line.slice(9) : undefined;
          if (path && path !== ws.repo && !registered.has(path) && existsSync(join(path, '.env.sandbox')))
            out.push(path);
        }
        const dir = join(ws.home, '.ktrdr/sandboxes');
        for (const name of existsSync(dir) ? readdirSync(dir) : [])
          if (/^registry\.json\.[0-9a-f]+$/.test(name)) out.push(join(dir, name));
        for (const [n, s] of Object.entries<any>(reg.slots)) {
          if (s.claimed_by && !reg.instances[s.claimed_by]) out.push(`Pool slot ${n} is claimed by ${s.claimed_by}`);
          // A release killed between its two locked steps (every kinfra of this test is dead by now).
          if (s.releasing) out.push(`Pool slot ${n} is marked as being released`);
        }
        return out;
      }

      function expectConsistent(note: string): void {
        const reg = readRegistry();
        const slots = new Map<number, string>();
        for (const [id, e] of Object.entries<any>(reg.instances)) {
          expect(e.state, `${id} ${note}`).toBeUndefined();
          expect(existsSync(e.path), `${id} ${note}`).toBe(true);
          const env = readFileSync(join(e.path, '.env.sandbox'), 'utf8');
          expect(env, note).toContain(`INSTANCE_ID=${id}`);
          if (e.pool_slot === undefined) {
            expect(slots.has(e.slot), `slot ${e.slot} twice ${note}`).toBe(false);
            slots.set(e.slot, id);
          } else {
            expect(reg.slots[String(e.pool_slot)].claimed_by, note).toBe(id);
          }
        }
        for (const s of Object.values<any>(reg.slots)) {
          if (s.claimed_by) expect(reg.instances[s.claimed_by], note).toBeDefined();
          expect(s.releasing, `slot ${s.slot_id} still marked as being released ${note}`).toBeUndefined();
        }
        const registered = new Set(Object.values<any>(reg.instances).map((e) => e.path));
        for (const line of ws.git(['worktree', 'list', '--porcelain']).split('\n')) {
          const path = line.startsWith('worktree ') ? line.slice(9) : undefined;
          if (path && path !== ws.repo && existsSync(join(path, '.env.sandbox')))
            expect(registered.has(path), `${path} unregistered ${note}`).toBe(true);
        }
      }
    },
    300_000,
  );
});
