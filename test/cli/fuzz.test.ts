import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import fc from 'fast-check';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/core/config/config.js';
import { EnvParseError, parseEnvText } from '../../src/core/env-file.js';
import { isKinfraError } from '../../src/core/errors.js';
import { identityFromEnv } from '../../src/core/sandbox-env.js';
import { COMPOSE_PROJECT_NAME, requireSlug } from '../../src/core/slug.js';
import { E2E_CONFIG } from '../helpers/docker.js';
import { REPO_ROOT, parseJson, workspace, type CliResult, type Workspace } from '../helpers/cli.js';

/**
 * Issue 6, bad input: generated names, branch names, slot numbers, --from
 * paths, kinfra.yaml and .env.sandbox contents. Thousands of cases go through
 * the parsing functions in process; a few hundred go through the built CLI.
 * Every case ends in a result or a clear error (message and hint, a documented
 * exit code), never a stack trace, never a file outside the sandbox's folders,
 * never a shell.
 */
const STACK_TRACE = /\n\s+at .+:\d+:\d+/;
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
const params = (numRuns: number) => ({ numRuns, seed: SEED });

// Characters that break naive code: path separators, shell syntax, quotes, control and non-ASCII characters.
const NASTY = [
  '/',
  '..',
  '.',
  '-',
  '_',
  ' ',
  '$(',
  ')',
  '`',
  ';',
  '|',
  '&',
  '>',
  '<',
  '*',
  '?',
  '[',
  ']',
  '~',
  '^',
  ':',
  '\\',
  '@{',
  '"',
  "'",
  '\n',
  '\t',
  '\0',
  'é',
  '日本',
  '🙂',
  'a',
  'B',
  '1',
  '--',
  '.lock',
  '%',
  '#',
  '=',
];
const nasty = (max: number) =>
  fc.array(fc.oneof(fc.constantFrom(...NASTY), fc.string({ maxLength: 4 })), { maxLength: max }).map((a) => a.join(''));
// Shell syntax that would create this file if anything ever ran input through a shell.
const CANARY = 'kinfra-fuzz-canary';
const injection = fc.constantFrom(
  `$(touch ${CANARY})`,
  `;touch ${CANARY}`,
  `\`touch ${CANARY}\``,
  `|touch ${CANARY}`,
  `&& touch ${CANARY}`,
);
const inputText = (max: number) => fc.oneof({ weight: 4, arbitrary: nasty(max) }, { weight: 1, arbitrary: injection });
// The OS cannot pass a NUL byte in an argument: the CLI cases leave it out (the in-process ones keep it).
const argText = (max: number) => inputText(max).map((s) => s.replaceAll('\0', ''));

/** A valid kinfra.yaml with one field replaced by generated JSON, or generated text. */
const validConfig = parseYaml(E2E_CONFIG) as Record<string, unknown>;
function paths(v: unknown, prefix: string[] = []): string[][] {
  if (v === null || typeof v !== 'object') return [prefix];
  return [prefix, ...Object.entries(v).flatMap(([k, x]) => paths(x, [...prefix, k]))];
}
const CONFIG_PATHS = paths(validConfig).filter((p) => p.length > 0);
const configText = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.tuple(fc.constantFrom(...CONFIG_PATHS), fc.jsonValue({ maxDepth: 2 })).map(([path, value]) => {
      const doc = structuredClone(validConfig);
      let cur: any = doc;
      for (const k of path.slice(0, -1)) cur = cur[k];
      cur[path[path.length - 1]!] = value;
      return stringifyYaml(doc);
    }),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => stringifyYaml(v)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'a: [',
      'prefix: x\nports: !!binary zz',
      '&a [*a]',
      'prefix: *nope',
      '? [a]\n: b',
      '{'.repeat(500),
    ),
  },
);

const ENV_KEYS = [
  'INSTANCE_ID',
  'COMPOSE_PROJECT_NAME',
  'SLOT_NUMBER',
  'SLOT_ID',
  'KTRDR_API_PORT',
  'KTRDR_DB_PORT',
  'KINFRA_POOL_SLOT',
  'KINFRA_COMPOSE_FILE',
  'export X',
  '',
  'lower',
  '1BAD',
];
const envLine = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(...ENV_KEYS),
      fc.oneof(
        inputText(12),
        fc.integer({ min: -5, max: 70000 }).map(String),
        fc.constantFrom('"unterminated', "'x'", '"a\\"b"', '1e3', '0x10', ''),
      ),
    )
    .map(([k, v]) => `${k}=${v}`),
  fc.constantFrom('# comment', '', '=novalue', 'JUSTKEY', '   ', '\ufeffINSTANCE_ID=x'),
  fc.string({ maxLength: 30 }),
);
const envText = fc.array(envLine, { maxLength: 12 }).map((l) => l.join('\n'));

describe('bad input, in process (thousands of generated cases)', () => {
  it('names: a compose-safe slug or a usage error', () => {
    fc.assert(
      fc.property(inputText(40), (name) => {
        try {
          const slug = requireSlug(name);
          expect(COMPOSE_PROJECT_NAME.test(slug)).toBe(true);
          expect(slug).not.toMatch(/[/.]/);
        } catch (e) {
          expect(isKinfraError(e) && e.category === 'usage' && e.hint).toBeTruthy();
        }
      }),
      params(3000),
    );
  });

  it('kinfra.yaml: a configuration or a usage error naming the file', () => {
    fc.assert(
      fc.property(configText, (text) => {
        try {
          parseConfigText(text, 'kinfra.yaml');
        } catch (e) {
          expect(isKinfraError(e) && e.category === 'usage', String(e)).toBe(true);
          expect((e as Error).message).toContain('kinfra.yaml');
        }
      }),
      params(3000),
    );
  });

  it('.env.sandbox: a map (and an identity or a reason) or a parse error with a line number', () => {
    fc.assert(
      fc.property(envText, (text) => {
        try {
          const env = parseEnvText(text);
          const id = identityFromEnv(env);
          if (typeof id !== 'string') expect(Number.isInteger(id.slot) && id.slot >= 0).toBe(true);
        } catch (e) {
          expect(e instanceof EnvParseError, String(e)).toBe(true);
          expect((e as Error).message).toMatch(/line \d+/);
        }
      }),
      params(3000),
    );
  });
});

/** Every file and folder under `dir` (relative), except git's own database. */
function tree(dir: string): Set<string> {
  const out = new Set<string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (name === '.git' && statSync(p).isDirectory()) continue;
      out.add(relative(dir, p));
      if (statSync(p).isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

/** Run cases a few at a time (two cores): each ends in a result or a clear error with an allowed exit code. */
async function runCases<T>(cases: T[], run: (c: T) => Promise<CliResult>, allowed: number[]): Promise<string[]> {
  const bad: string[] = [];
  const queue = [...cases];
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let c = queue.shift(); c !== undefined; c = queue.shift()) {
        const r = await run(c);
        const label = JSON.stringify(c).slice(0, 120);
        if (STACK_TRACE.test(r.stderr) || STACK_TRACE.test(r.stdout)) bad.push(`${label}: stack trace`);
        if (!allowed.includes(r.code)) bad.push(`${label}: exit ${r.code} ${r.stderr.slice(0, 300)}`);
        if (r.code !== 0) {
          let error: { code?: string; message?: string; hint?: string } = {};
          try {
            error = parseJson(r.stderr).error;
          } catch {
            bad.push(`${label}: error is not JSON: ${r.stderr.slice(0, 200)}`);
          }
          if (!error.code || !error.message || !error.hint)
            bad.push(`${label}: error without code, message or hint: ${r.stderr.slice(0, 200)}`);
          if (error.code === 'internal-error') bad.push(`${label}: internal error ${error.message}`);
        }
      }
    }),
  );
  return bad;
}

describe('bad input through the CLI (generated cases)', () => {
  let ws: Workspace;
  let before: Set<string>;
  const sample = <T>(arb: fc.Arbitrary<T>, n: number) => fc.sample(arb, { numRuns: n, seed: SEED });

  beforeAll(() => {
    ws = workspace();
    before = tree(ws.root);
  });
  afterAll(() => ws.cleanup());

  it(`names, branch names and slot numbers for create (seed ${SEED})`, async () => {
    const names = sample(argText(30), 40).map((name) => ({ name }));
    const branches = sample(argText(20), 40).map((branch) => ({ name: 'b', branch }));
    const slots = sample(fc.oneof(fc.integer({ min: -3, max: 14 }).map(String), argText(6)), 30).map((slot) => ({
      name: 's',
      slot,
    }));
    const bad = await runCases(
      [...names, ...branches, ...slots],
      async (c: { name: string; branch?: string; slot?: string }) => {
        const args = ['sandbox', 'create', '--json'];
        if (c.branch !== undefined) args.push(`--branch=${c.branch}`);
        if (c.slot !== undefined) args.push(`--slot=${c.slot}`);
        const r = await ws.run([...args, '--', c.name]);
        // Undo a success at once, so the next cases find free slots and names.
        if (r.code === 0) {
          const id = parseJson(r.stdout).data.instanceId as string;
          const d = await ws.run(['sandbox', 'destroy', id, '--yes', '--json']);
          if (d.code !== 0) return d;
        }
        return r;
      },
      [0, 1, 4, 12],
    ); // 1: invalid name, branch or slot; 4: slot taken by a case running at the same time; 12: same name
    expect(bad).toEqual([]);
  }, 400_000);

  it(`--from paths for init-shared (seed ${SEED})`, async () => {
    const froms = [
      ...sample(argText(20), 30),
      '.',
      '..',
      '/',
      '/nonexistent',
      ws.repo,
      join(ws.repo, 'README.md'),
      join(ws.home, '.ktrdr/shared'),
      '',
    ];
    const bad = await runCases(
      froms,
      (from) => ws.run(['sandbox', 'init-shared', '--json', `--from=${from}`]),
      [0, 1, 4],
    );
    expect(bad).toEqual([]);
  }, 400_000);

  it(`kinfra.yaml contents (seed ${SEED})`, async () => {
    const dir = join(ws.root, 'dev', 'yaml-cases');
    const texts = sample(configText, 50);
    let n = 0;
    const bad = await runCases(
      texts,
      async (text) => {
        const repo = join(dir, `c${n++}`);
        mkdirSync(repo, { recursive: true });
        writeFileSync(join(repo, 'kinfra.yaml'), text);
        return ws.run(['sandbox', 'provision', '--dry-run', '--json'], { cwd: repo });
      },
      [0, 1],
    );
    expect(bad).toEqual([]);
  }, 400_000);

  it(`.env.sandbox contents (seed ${SEED})`, async () => {
    const created = await ws.run(['sandbox', 'create', 'envfuzz', '--json']);
    expect(created.code, created.stderr).toBe(0);
    const dir = parseJson(created.stdout).data.path as string;
    const texts = sample(envText, 40);
    const bad: string[] = [];
    for (const text of texts) {
      writeFileSync(join(dir, '.env.sandbox'), text);
      // One at a time: they share the file. url and exec read it; exec runs `true` without a shell.
      bad.push(...(await runCases([text], () => ws.run(['sandbox', 'url', '--json'], { cwd: dir }), [0, 1, 4, 5])));
      bad.push(
        ...(await runCases(
          [text],
          () => ws.run(['sandbox', 'exec', '--', 'true'], { cwd: dir, env: {} }).then(jsonless),
          [0, 1, 4, 5],
        )),
      );
    }
    expect(bad).toEqual([]);
    expect((await ws.run(['sandbox', 'destroy', 'envfuzz', '--yes', '--force'])).code).toBe(0);
  }, 400_000);

  afterAll(() => {
    // Nothing was written outside the sandboxes' own folders and kinfra's state folder, and no shell ran.
    const made = [...tree(ws.root)].filter((p) => !before.has(p));
    const outside = made.filter(
      (p) => !/^dev\/(ktrdr--[^/]+|yaml-cases)(\/|$)/.test(p) && !/^home\/\.ktrdr(\/|$)/.test(p),
    );
    expect(outside).toEqual([]);
    // `touch kinfra-fuzz-canary` run by a shell would make a file of exactly that name (a slug may merely end with it).
    expect(made.filter((p) => basename(p) === CANARY)).toEqual([]);
    expect(existsSync(join(REPO_ROOT, CANARY))).toBe(false);
  });
});

/** exec prints the child's own output, not JSON: wrap its failures so runCases can read them. */
function jsonless(r: CliResult): CliResult {
  if (r.code === 0 || r.stderr.trimStart().startsWith('{')) return r;
  const m = /Error: (.*)\n(?:Hint: (.*))?/.exec(r.stderr);
  return { ...r, stderr: JSON.stringify({ error: { code: 'text', message: m?.[1] ?? r.stderr, hint: m?.[2] ?? '' } }) };
}

describe('no shell, anywhere', () => {
  it(
    'kinfra never spawns through a shell: child_process is used only through spawn/execFile, ' +
      'never with a shell option',
    () => {
      const offenders: string[] = [];
      const walk = (d: string) => {
        for (const name of readdirSync(d)) {
          const p = join(d, name);
          if (statSync(p).isDirectory()) walk(p);
          else if (p.endsWith('.ts')) {
            const text = readFileSync(p, 'utf8');
            const rel = relative(REPO_ROOT, p);
            if (/\bshell\s*:\s*true\b/.test(text)) offenders.push(`${rel}: shell: true`);
            if (
              /child_process/.test(text) &&
              rel !== 'src/adapters/runner.ts' &&
              !/^\s*\*|\/\//.test(text.split('child_process')[0]!.split('\n').pop()!)
            ) {
              offenders.push(`${rel}: spawns outside the runner`);
            }
            for (const m of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*'node:child_process'/g)) {
              const names = m[1]!
                .split(',')
                .map((x) => x.trim().split(/\s+as\s+/)[0]!)
                .filter(Boolean);
              for (const n of names)
                if (
                  !['spawn', 'spawnSync', 'execFile', 'execFileSync', 'type ChildProcess', 'ChildProcess'].includes(n)
                )
                  offenders.push(`${rel}: ${n}`);
            }
            if (/require\('child_process'\)|from 'child_process'|import\(\s*'node:child_process'\s*\)/.test(text))
              offenders.push(`${rel}: another way in to child_process`);
          }
        }
      };
      walk(join(REPO_ROOT, 'src'));
      expect(offenders).toEqual([]);
      // The one place that spawns says so explicitly, on every call.
      const runner = readFileSync(join(REPO_ROOT, 'src/adapters/runner.ts'), 'utf8');
      expect(runner.match(/spawn\(/g)?.length).toBe(runner.match(/shell: false/g)?.length);
    },
  );
});
