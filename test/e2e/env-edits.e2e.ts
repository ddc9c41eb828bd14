import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJson, workspace, type CliResult, type Workspace } from '../helpers/cli.js';
import { removeLeftovers, requireEngine } from '../helpers/docker.js';
import { mulberry32 } from '../helpers/random.js';

/**
 * Issue 11, case 2 ("destroy trusts .env.sandbox over the registry"), randomized on a real Docker Engine.
 *
 * One HOME, three sandboxes (a, b, c), all up. Each round edits one sandbox's .env.sandbox at random (another
 * sandbox's file copied over it, another sandbox's COMPOSE_PROJECT_NAME / INSTANCE_ID / SLOT_NUMBER, a changed
 * port, a deleted line, appended garbage, or nothing), runs one command in it (destroy --yes from the folder or by
 * name, destroy --force, down, down -v, up --no-wait, status, logs), then puts the file back (or, after a destroy
 * that was rightly accepted, creates and ups that sandbox again, so there are always three).
 *
 * After every round:
 *  1. a command never succeeds unless the file still says what the registry holds: exit 4 `env-file-disagrees`
 *     when INSTANCE_ID, COMPOSE_PROJECT_NAME, SLOT_NUMBER or a port differs; a line that is not KEY=VALUE may give
 *     exit 1 `invalid-env-file` instead; a file that agrees is obeyed (exit 0). Two leniencies are allowed and
 *     counted: a file whose only difference is a missing COMPOSE_PROJECT_NAME line (kinfra hands compose the
 *     registry's project either way), and `destroy --force`, which may go past the file's check as long as it
 *     removes only the registry's sandbox;
 *  2. no container, volume or network of another sandbox disappears, is recreated or changes running state
 *     (and a refused command changes nothing on the engine at all);
 *  3. a refused command leaves the registry file byte for byte as it was.
 *
 * Replay a run with KINFRA_ENV_SEED=<seed> (KINFRA_ENV_ROUNDS sets the number of rounds, default 25).
 * Own compose-project prefix (kenv--) and ports (41xxx, 42xxx): never another suite's stacks.
 */
const PREFIX = 'kenv';
const IMAGE = 'kenv-env-edits:e2e';
const NAMES = ['a', 'b', 'c'] as const;
type Name = (typeof NAMES)[number];
const project = (n: string) => `${PREFIX}--${n}`;

const COMPOSE = `services:
  app:
    image: ${IMAGE}
    pull_policy: never
    init: true
    stop_grace_period: 1s
    command: ["sleep", "infinity"]
    ports:
      - "127.0.0.1:\${KENV_APP_PORT:-41999}:8080"
    volumes:
      - data:/data
volumes:
  data: {}
`;

/** Two port variables: the one compose publishes, and one it does not use (the registry holds both). */
const PORT_VARS: Record<string, string> = { app: 'KENV_APP_PORT', aux: 'KENV_AUX_PORT' };
const CONFIG = `prefix: ${PREFIX}
compose_files: [docker-compose.yml]
ports:
  app: { env: KENV_APP_PORT, base: 41000, label: App }
  aux: { env: KENV_AUX_PORT, base: 42000, label: Aux }
`;

function docker(args: string[]): string {
  const r = spawnSync('docker', args, { encoding: 'utf8' });
  if (r.error) throw new Error(`docker is not installed: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`docker ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** What the engine holds of one kenv-- project. */
interface ProjectState {
  containers: string[];
  running: string[];
  volumes: string[];
  networks: string[];
}
const EMPTY: ProjectState = { containers: [], running: [], volumes: [], networks: [] };

/**
 * Every kenv-- project on the engine, by project name (from the compose project label, so another suite's
 * resources are never looked at, and one vanishing meanwhile cannot break the listing).
 */
function engineState(): Record<string, ProjectState> {
  const label = '{{.Label "com.docker.compose.project"}}';
  const out: Record<string, ProjectState> = {};
  const of = (p: string) => (out[p] ??= { containers: [], running: [], volumes: [], networks: [] });
  const rows = (args: string[]) =>
    docker(args)
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t'))
      .filter((cols) => cols[1]?.startsWith(`${PREFIX}--`));
  for (const [id, p, state] of rows(['ps', '-a', '--no-trunc', '--format', `{{.ID}}\t${label}\t{{.State}}`])) {
    of(p!).containers.push(id!);
    if (state === 'running') of(p!).running.push(id!);
  }
  for (const [name, p] of rows(['volume', 'ls', '--format', `{{.Name}}\t${label}`])) of(p!).volumes.push(name!);
  for (const [name, p] of rows(['network', 'ls', '--format', `{{.Name}}\t${label}`])) of(p!).networks.push(name!);
  for (const s of Object.values(out)) for (const xs of Object.values(s)) (xs as string[]).sort();
  return out;
}

const stateOf = (all: Record<string, ProjectState>, p: string): ProjectState => all[p] ?? EMPTY;
const same = (x: ProjectState, y: ProjectState) => JSON.stringify(x) === JSON.stringify(y);

/** The JSON error document of a failed --json command (undefined when stderr holds none). */
function errorOf(r: CliResult): { code: string; message: string; hint?: string } | undefined {
  try {
    return parseJson(r.stderr).error;
  } catch {
    return undefined;
  }
}

/** The error of a failed human-output command, as far as its message tells. */
function humanErrorOf(r: CliResult): { code: string; message: string; hint?: string } | undefined {
  if (r.code === 0) return undefined;
  const code = /disagrees with the registry/.test(r.stderr)
    ? 'env-file-disagrees'
    : /\.env\.sandbox: line \d+/.test(r.stderr)
      ? 'invalid-env-file'
      : `exit-${r.code}`;
  return { code, message: r.stderr, hint: r.stderr };
}

const show = (r: CliResult) => `exit ${r.code}\nstdout: ${r.stdout.slice(0, 1200)}\nstderr: ${r.stderr.slice(0, 1200)}`;

interface Entry {
  slot: number;
  path: string;
  ports?: Record<string, number>;
  compose_project?: string;
}

/**
 * The test's own reading of a .env file (independent of kinfra's): the variables, or 'invalid' when a line is not
 * KEY=VALUE or a quote is left open.
 */
function readEnv(text: string): Record<string, string> | 'invalid' {
  const env: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$/.exec(t);
    if (!m) return 'invalid';
    let v = m[2]!.trim();
    if (v.startsWith("'") || v.startsWith('"')) {
      const end = v.indexOf(v[0]!, 1);
      if (end < 0) return 'invalid';
      v = v.slice(1, end);
    } else {
      const hash = v.search(/\s#/);
      v = (hash >= 0 ? v.slice(0, hash) : v).trim();
    }
    env[m[1]!] = v;
  }
  return env;
}

type Verdict =
  | { kind: 'agrees' }
  | { kind: 'disagrees'; why: string }
  | { kind: 'invalid' }
  /** Only COMPOSE_PROJECT_NAME is missing: kinfra gives compose the registry's project either way. */
  | { kind: 'no-project-line' };

/** Does this file say what the registry holds for the sandbox? */
function verdict(text: string, id: string, e: Entry): Verdict {
  const env = readEnv(text);
  if (env === 'invalid') return { kind: 'invalid' };
  if (env.INSTANCE_ID !== id) return { kind: 'disagrees', why: `INSTANCE_ID=${env.INSTANCE_ID}` };
  if (env.SLOT_NUMBER !== String(e.slot)) return { kind: 'disagrees', why: `SLOT_NUMBER=${env.SLOT_NUMBER}` };
  for (const [name, port] of Object.entries(e.ports ?? {})) {
    const v = PORT_VARS[name];
    if (v && env[v] !== String(port)) return { kind: 'disagrees', why: `${v}=${env[v]}` };
  }
  const projectName = e.compose_project ?? id;
  if (env.COMPOSE_PROJECT_NAME === undefined) return { kind: 'no-project-line' };
  if (env.COMPOSE_PROJECT_NAME !== projectName)
    return { kind: 'disagrees', why: `COMPOSE_PROJECT_NAME=${env.COMPOSE_PROJECT_NAME}` };
  return { kind: 'agrees' };
}

/** Replace the value of KEY in env text (or append KEY=value when it has none). */
function setVar(text: string, key: string, value: string): string {
  const re = new RegExp(`^${key}=.*$`, 'm');
  return re.test(text) ? text.replace(re, `${key}=${value}`) : `${text}${key}=${value}\n`;
}

/**
 * `destroy --force` skips the checks of work at risk and may skip the file's check too, but must still act on the
 * registry's project only; `logs` has no --json (its refusal is read from the exit code and the message).
 */
const COMMANDS = [
  'destroy --yes',
  'destroy <name> --yes',
  'destroy --force',
  'down',
  'down -v',
  'up --no-wait',
  'status',
  'logs -n 5',
] as const;
type Command = (typeof COMMANDS)[number];

describe('randomized: edited .env.sandbox files never steer a command to another sandbox (case 2)', () => {
  let ws: Workspace;
  const registryFile = () => join(ws.home, '.ktrdr/sandboxes/registry.json');
  const registryText = () => (existsSync(registryFile()) ? readFileSync(registryFile(), 'utf8') : '');
  const instances = (): Record<string, Entry> => JSON.parse(registryText() || '{}').instances ?? {};
  const dir = (n: string) => join(ws.dev, project(n));
  const envFile = (n: string) => join(dir(n), '.env.sandbox');

  beforeAll(async () => {
    requireEngine();
    removeLeftovers(`${PREFIX}--`);
    const r = spawnSync('docker', ['build', '-q', '-t', IMAGE, '-'], {
      input: 'FROM debian:bookworm-slim\nCMD ["sleep", "infinity"]\n',
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`building ${IMAGE} failed: ${r.stderr}`);
    ws = workspace({ 'kinfra.yaml': CONFIG, 'docker-compose.yml': COMPOSE });
    for (const n of NAMES) {
      const c = await ws.run(['sandbox', 'create', n]);
      expect(c.code, show(c)).toBe(0);
      const u = await ws.run(['sandbox', 'up', '--no-wait'], { cwd: dir(n) });
      expect(u.code, show(u)).toBe(0);
    }
  }, 300_000);
  afterAll(() => {
    removeLeftovers(`${PREFIX}--`);
    ws?.cleanup();
  });

  it(
    'refuses every disagreeing file with env-file-disagrees and never touches ' + 'another sandbox or the registry',
    async () => {
      const seed = Number(process.env.KINFRA_ENV_SEED ?? Math.floor(Math.random() * 2 ** 31));
      const rounds = Number(process.env.KINFRA_ENV_ROUNDS ?? 25);
      const why = `(replay with KINFRA_ENV_SEED=${seed})`;
      console.log(`env-edits randomized: seed=${seed} rounds=${rounds} ${why}`);
      const rnd = mulberry32(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;

      const violations: string[] = [];
      const log: string[] = [];
      const refusals: Record<string, number> = {};
      const edits: Record<string, number> = {};
      let commands = 0;
      let obeyed = 0;
      let recreated = 0;
      let noProjectLine = 0;
      let noProjectLineObeyed = 0;
      let forcedPast = 0;

      // Sanity: the three are registered and running, each with its own file.
      expect(Object.keys(instances()).sort()).toEqual(NAMES.map(project));
      for (const n of NAMES) {
        expect(stateOf(engineState(), project(n)).running, n).toHaveLength(1);
        // Both port variables are held by the registry, so changing either one is a disagreement.
        expect(Object.keys(instances()[project(n)]!.ports ?? {}).sort(), n).toEqual(Object.keys(PORT_VARS).sort());
      }

      for (let round = 1; round <= rounds; round++) {
        const target: Name = pick(NAMES);
        const others = NAMES.filter((n) => n !== target);
        const other: Name = pick(others);
        const id = project(target);
        const entry = instances()[id];
        if (!entry) throw new Error(`round ${round}: ${id} is not registered ${why}\n${log.join('\n')}`);
        const original = readFileSync(envFile(target), 'utf8');
        const otherText = readFileSync(envFile(other), 'utf8');
        const otherEntry = instances()[project(other)]!;

        // The edit.
        const kinds = ['copy', 'project', 'instance', 'slot', 'port', 'delete-line', 'garbage', 'as-is'] as const;
        const kind = pick(kinds);
        let text = original;
        let detail = '';
        switch (kind) {
          case 'copy':
            text = otherText;
            detail = `${other}'s file`;
            break;
          case 'project':
            text = setVar(original, 'COMPOSE_PROJECT_NAME', project(other));
            detail = project(other);
            break;
          case 'instance':
            text = setVar(original, 'INSTANCE_ID', project(other));
            detail = project(other);
            break;
          case 'slot':
            text = setVar(original, 'SLOT_NUMBER', String(otherEntry.slot));
            detail = String(otherEntry.slot);
            break;
          case 'port': {
            const [name, variable] = pick(Object.entries(PORT_VARS));
            const own = entry.ports?.[name] ?? 0;
            const value = pick([
              String(otherEntry.ports?.[name] ?? own + 1),
              String(own + 1 + Math.floor(rnd() * 50)),
              '41999',
              '',
            ]);
            text = setVar(original, variable, value);
            detail = `${variable}=${value}`;
            break;
          }
          case 'delete-line': {
            const lines = original.split('\n');
            // The last element is the empty string after the final newline.
            const i = Math.floor(rnd() * (lines.length - 1));
            detail = JSON.stringify(lines[i]);
            lines.splice(i, 1);
            text = lines.join('\n');
            break;
          }
          case 'garbage': {
            const garbage = pick([
              'this is not an env line',
              '=no-key',
              "KENV_NOTE='unterminated",
              '\u0000\u0001\u0002 binary junk',
              'KENV_UNUSED=harmless',
              '# only a comment',
              `COMPOSE_PROJECT_NAME=${project(other)}`,
              `${PORT_VARS.app}=${otherEntry.ports?.app ?? 41999}`,
              `SLOT_NUMBER=${otherEntry.slot}`,
            ]);
            text = `${original}${garbage}\n`;
            detail = JSON.stringify(garbage);
            break;
          }
          case 'as-is':
            break;
        }
        edits[kind] = (edits[kind] ?? 0) + 1;
        if (text !== original) writeFileSync(envFile(target), text);
        const v = verdict(text, id, entry);

        // The command.
        const command: Command = pick(COMMANDS);
        const json = command !== 'logs -n 5';
        const args = [
          ...(command === 'destroy <name> --yes'
            ? ['sandbox', 'destroy', target, '--yes']
            : ['sandbox', ...command.split(' ')]),
          ...(json ? ['--json'] : []),
        ];
        const cwd = command === 'destroy <name> --yes' ? ws.repo : dir(target);
        const registryBefore = registryText();
        const before = engineState();
        const r = await ws.run(args, { cwd });
        const after = engineState();
        const registryAfter = registryText();
        commands++;
        const err = json ? errorOf(r) : humanErrorOf(r);
        const step =
          `round ${round}: ${target} edit=${kind}${detail ? ` ${detail}` : ''} ` +
          `verdict=${v.kind}${'why' in v ? ` (${v.why})` : ''} ` +
          `\`${args.join(' ')}\``;
        log.push(`${step} -> exit ${r.code}${err ? ` ${err.code}` : ''}`);
        if (r.code !== 0) refusals[err?.code ?? `exit-${r.code}`] = (refusals[err?.code ?? `exit-${r.code}`] ?? 0) + 1;
        else obeyed++;

        // (1) The outcome the file deserves.
        const refusedAsDisagreeing = r.code === 4 && err?.code === 'env-file-disagrees';
        if (command === 'destroy --force' && v.kind !== 'agrees') {
          // --force may destroy the registry's sandbox whatever the file says (checked below: its own resources only).
          if (r.code !== 0 && !refusedAsDisagreeing && !(r.code === 1 && err?.code === 'invalid-env-file')) {
            violations.push(`${step}: expected exit 0 or a refusal for the file\n${show(r)}`);
          }
          if (r.code === 0) forcedPast++;
        } else if (v.kind === 'disagrees' && !refusedAsDisagreeing) {
          violations.push(`${step}: expected exit 4 env-file-disagrees\n${show(r)}`);
        } else if (
          v.kind === 'invalid' &&
          !refusedAsDisagreeing &&
          !(r.code === 1 && err?.code === 'invalid-env-file')
        ) {
          violations.push(`${step}: expected exit 4 env-file-disagrees or exit 1 invalid-env-file\n${show(r)}`);
        } else if (v.kind === 'agrees' && r.code !== 0) {
          violations.push(`${step}: the file agrees with the registry, expected exit 0\n${show(r)}`);
        } else if (v.kind === 'no-project-line') {
          noProjectLine++;
          if (r.code === 0) noProjectLineObeyed++;
          if (r.code !== 0 && !refusedAsDisagreeing)
            violations.push(`${step}: expected exit 0 or exit 4 env-file-disagrees\n${show(r)}`);
        }
        if (refusedAsDisagreeing && !(err?.hint ?? '').includes('kinfra sandbox doctor --repair')) {
          violations.push(`${step}: the hint does not name kinfra sandbox doctor --repair: ${err?.hint}`);
        }

        // (2) Other sandboxes' containers, volumes and networks, untouched whatever happened.
        for (const n of others) {
          const b = stateOf(before, project(n));
          const a = stateOf(after, project(n));
          if (!same(a, b))
            violations.push(
              `${step} changed ${project(n)} on the engine: before ${JSON.stringify(b)} after ${JSON.stringify(a)}`,
            );
        }
        // Nothing of a project that no sandbox has may appear either (a command following the file could make one).
        for (const p of Object.keys(after)) {
          if (!NAMES.map(project).includes(p) && !same(stateOf(after, p), stateOf(before, p))) {
            violations.push(`${step} changed project ${p} on the engine: ${JSON.stringify(stateOf(after, p))}`);
          }
        }

        if (r.code !== 0) {
          // (3) A refused command changes neither the registry nor anything on the engine, and keeps the folder.
          if (registryAfter !== registryBefore)
            violations.push(
              `${step}: refused, yet the registry changed:\n--- before\n${registryBefore}\n--- after\n${registryAfter}`,
            );
          if (!same(stateOf(after, id), stateOf(before, id))) {
            violations.push(
              `${step}: refused, yet ${id} changed on the engine: ${JSON.stringify(stateOf(before, id))} ` +
                `-> ${JSON.stringify(stateOf(after, id))}`,
            );
          }
          if (!existsSync(dir(target))) violations.push(`${step}: refused, yet ${dir(target)} is gone`);
        } else {
          // An obeyed command did what it says, to its own sandbox only.
          const mine = stateOf(after, id);
          const wasVolumes = stateOf(before, id).volumes;
          if (command.startsWith('destroy')) {
            if (!same(mine, EMPTY)) violations.push(`${step}: destroyed, yet ${id} still has ${JSON.stringify(mine)}`);
            if (instances()[id]) violations.push(`${step}: destroyed, yet ${id} is still registered`);
            if (existsSync(dir(target))) violations.push(`${step}: destroyed, yet ${dir(target)} is still there`);
          } else if (command === 'up --no-wait') {
            if (mine.running.length !== 1 || mine.volumes.length !== 1)
              violations.push(`${step}: up, yet ${id} has ${JSON.stringify(mine)}`);
          } else if (command === 'down') {
            if (mine.containers.length !== 0 || JSON.stringify(mine.volumes) !== JSON.stringify(wasVolumes)) {
              violations.push(
                `${step}: down, yet ${id} has ${JSON.stringify(mine)} (volumes before: ${JSON.stringify(wasVolumes)})`,
              );
            }
          } else if (command === 'down -v') {
            if (mine.containers.length !== 0 || mine.volumes.length !== 0)
              violations.push(`${step}: down -v, yet ${id} has ${JSON.stringify(mine)}`);
          } else if (registryAfter !== registryBefore || !same(mine, stateOf(before, id))) {
            violations.push(`${step}: ${command} changed the registry or the engine`);
          }
        }

        // Put things back: the true file, or (after an obeyed destroy) the sandbox again, up.
        if (r.code === 0 && command.startsWith('destroy')) {
          const c = await ws.run(['sandbox', 'create', target, '--json']);
          const u = c.code === 0 ? await ws.run(['sandbox', 'up', '--no-wait', '--json'], { cwd: dir(target) }) : c;
          if (c.code !== 0 || u.code !== 0)
            throw new Error(
              `round ${round}: recreating ${target} failed ${why}\n${show(c.code !== 0 ? c : u)}\n${log.join('\n')}`,
            );
          recreated++;
        } else if (existsSync(dir(target))) {
          writeFileSync(envFile(target), original);
        }
        // Every sandbox still has its own, true file.
        for (const n of NAMES) {
          const e = instances()[project(n)];
          const vv = e && existsSync(envFile(n)) ? verdict(readFileSync(envFile(n), 'utf8'), project(n), e) : undefined;
          if (vv?.kind !== 'agrees')
            throw new Error(
              `round ${round}: ${project(n)} is not registered with a true file after the ` +
                `round ${why}\n${log.join('\n')}`,
            );
        }
      }

      const byCode =
        Object.entries(refusals)
          .sort()
          .map(([c, k]) => `${c}=${k}`)
          .join(',') || 'none';
      const byEdit = Object.entries(edits)
        .sort()
        .map(([c, k]) => `${c}=${k}`)
        .join(',');
      console.log(
        `env-edits randomized: seed=${seed} rounds=${rounds} sandboxes=3 commands=${commands} obeyed=${obeyed} ` +
          `refusals=${Object.values(refusals).reduce((x, y) => x + y, 0)} (${byCode}) recreated=${recreated} ` +
          `edits=(${byEdit}) no-project-line=${noProjectLine}(obeyed ${noProjectLineObeyed}) ` +
          `force-past-file=${forcedPast} violations=${violations.length} ${why}`,
      );
      expect(violations, `${why}\n${log.join('\n')}`).toEqual([]);
    },
    300_000,
  );
});
