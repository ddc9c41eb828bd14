import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cliEnv, parseJson, workspace, type CliResult, type Workspace, KTRDR_COMPOSE } from '../helpers/cli.js';
import { mulberry32 } from '../helpers/random.js';

/**
 * One allocator, one truth (issue 12): creates, inits, destroys and repairs run in parallel, in two repositories
 * sharing one HOME (the registry is machine-wide), over many rounds. A watcher reads the registry all the while:
 * no slot and no port may ever be held twice, and every command ends in a result or a clear error.
 */
let ws: Workspace;
afterEach(() => ws?.cleanup());

interface Entry {
  slot: number;
  ports?: Record<string, number>;
  pool_slot?: number;
  path: string;
}

function clashes(text: string): string[] {
  let reg: { instances: Record<string, Entry> };
  try {
    reg = JSON.parse(text);
  } catch {
    return []; // never torn: writes are atomic renames (a parse failure here would be a bug the registry test catches)
  }
  const out: string[] = [];
  const slots = new Map<number, string>();
  const ports = new Map<number, string>();
  for (const [id, e] of Object.entries(reg.instances ?? {})) {
    if (e.pool_slot === undefined) {
      if (slots.has(e.slot)) out.push(`slot ${e.slot}: ${slots.get(e.slot)} and ${id}`);
      slots.set(e.slot, id);
    }
    for (const p of Object.values(e.ports ?? {})) {
      if (ports.has(p) && ports.get(p) !== id) out.push(`port ${p}: ${ports.get(p)} and ${id}`);
      ports.set(p, id);
    }
  }
  return out;
}

function errorCode(r: CliResult): string | undefined {
  try {
    return parseJson(r.stderr)?.error?.code;
  } catch {
    return undefined;
  }
}

describe('the allocator under concurrency (randomized)', () => {
  it(
    'parallel creates, inits, destroys and repairs in two repositories never ' + 'hold a slot or a port twice',
    async () => {
      const seed = Number(process.env.ALLOCATOR_SEED ?? Date.now() % 1_000_000);
      const rounds = Number(process.env.ALLOCATOR_ROUNDS ?? 12);
      const rnd = mulberry32(seed);
      const why = `(replay with ALLOCATOR_SEED=${seed})`;
      ws = workspace();
      // A second repository beside the first, same HOME: its sandboxes share the one registry and the slot numbers.
      const other = join(ws.dev, 'other');
      mkdirSync(other);
      writeFileSync(join(other, 'docker-compose.yml'), KTRDR_COMPOSE);
      const g = (args: string[], cwd: string) =>
        spawnSync('git', args, { cwd, env: cliEnv(ws.home), encoding: 'utf8' });
      g(['init', '-q', '-b', 'main'], other);
      g(['add', '-A'], other);
      g(['commit', '-qm', 'other'], other);
      const repos = [ws.repo, other];
      const registry = join(ws.home, '.ktrdr/sandboxes/registry.json');

      const seen: string[] = [];
      let watching = true;
      const watcher = (async () => {
        while (watching) {
          if (existsSync(registry)) seen.push(...clashes(readFileSync(registry, 'utf8')));
          await new Promise((r) => setTimeout(r, 30));
        }
      })();

      const counts: Record<string, number> = {};
      const bad: string[] = [];
      let n = 0;
      for (let round = 0; round < rounds; round++) {
        const ids = Object.keys(existsSync(registry) ? JSON.parse(readFileSync(registry, 'utf8')).instances : {});
        const ops: Promise<[string, CliResult]>[] = [];
        for (let k = 0; k < 4; k++) {
          const pick = rnd();
          const repo = repos[Math.floor(rnd() * repos.length)]!;
          let args: string[];
          let cwd = repo;
          if (pick < 0.4) args = ['sandbox', 'create', `r${n++}`, '--json'];
          else if (pick < 0.55) {
            // init in a fresh clone of this repository (a clone kinfra did not create)
            const clone = join(ws.dev, `clone-${n++}`);
            g(['clone', '-q', repo, clone], ws.dev);
            args = ['sandbox', 'init', '--json'];
            cwd = clone;
          } else if (pick < 0.8 && ids.length > 0)
            args = ['sandbox', 'destroy', ids[Math.floor(rnd() * ids.length)]!, '--yes', '--force', '--json'];
          else if (pick < 0.9) args = ['sandbox', 'doctor', '--repair', '--json'];
          else args = ['sandbox', 'create', 'same', '--json'];
          ops.push(ws.run(args, { cwd }).then((r) => [args[1]!, r] as [string, CliResult]));
        }
        for (const [op, r] of await Promise.all(ops)) {
          const key = `${op} exit ${r.code}${r.code && op !== 'doctor' ? ` ${errorCode(r)}` : ''}`;
          counts[key] = (counts[key] ?? 0) + 1;
          // 0 done; 4 a clash with another command of the round (slot taken, folder exists, gone meanwhile);
          // 5 destroyed meanwhile; 11 doctor left something for a person; 12 the same name twice.
          if (![0, 4, 5, 11, 12].includes(r.code)) bad.push(`${op}: exit ${r.code} ${r.stderr.slice(0, 300)}`);
          else if (r.code !== 0 && op !== 'doctor' && errorCode(r) === undefined)
            bad.push(`${op}: no JSON error: ${r.stderr.slice(0, 200)}`);
        }
        expect(bad, `${bad.join('\n')}\n${why}`).toEqual([]);
      }
      watching = false;
      await watcher;
      const final = clashes(readFileSync(registry, 'utf8'));
      console.log(
        `allocator randomized: seed=${seed} rounds=${rounds} ` +
          `commands=${Object.values(counts).reduce((a, b) => a + b, 0)} ` +
          `${JSON.stringify(counts)} clashes seen=${seen.length} ${why}`,
      );
      expect(seen, why).toEqual([]);
      expect(final, why).toEqual([]);
      // The rounds' sandboxes can all be destroyed; every worktree kinfra made goes with them.
      for (const id of Object.keys(JSON.parse(readFileSync(registry, 'utf8')).instances)) {
        const d = await ws.run(['sandbox', 'destroy', id, '--yes', '--force']);
        expect(d.code, `${id}: ${d.stderr}`).toBe(0);
      }
    },
    400_000,
  );
});
