import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseJson, appWorkspace, type Workspace } from '../helpers/cli.js';

let ws: Workspace;
afterEach(() => ws?.cleanup());

const STACK_TRACE = /\n\s+at .+:\d+:\d+/;

describe('bad names and branches', () => {
  it('gives each odd name a valid slug or a clear error, and creates nothing outside the parent folder', async () => {
    ws = appWorkspace();
    const cases: [string, string | null][] = [
      ['../../escape', 'ktrdr--escape'],
      ['with spaces  here', 'ktrdr--with-spaces-here'],
      ['Ünïcödé Näme', 'ktrdr--unicode-name'],
      ['--leading-dashes', 'ktrdr--leading-dashes'],
      ['x'.repeat(300), `ktrdr--${'x'.repeat(48)}`],
      ['', null],
      ['../', null],
      ['日本語', null],
      ['$(touch pwned)', 'ktrdr--touch-pwned'],
    ];
    for (const [name, id] of cases) {
      const r = await ws.run(['sandbox', 'create', '--json', '--', name]);
      expect(r.stderr, name).not.toMatch(STACK_TRACE);
      if (id === null) {
        expect(r.code, name).toBe(1);
        expect(parseJson(r.stderr).error.code).toBe('invalid-name');
      } else {
        expect(r.code, `${name}: ${r.stderr}`).toBe(0);
        expect(parseJson(r.stdout).data.instanceId).toBe(id);
      }
    }
    // Everything is inside dev/, nothing escaped to the scratch root, no shell ran.
    expect(readdirSync(ws.root).sort()).toEqual(['dev', 'home']);
    expect(readdirSync(ws.dev).every((d) => d === 'ktrdr2' || d.startsWith('ktrdr--'))).toBe(true);
    expect(readdirSync(ws.repo)).not.toContain('pwned');
  });

  it('rejects invalid branch names with a usage error', async () => {
    ws = appWorkspace();
    for (const branch of ['bad..name', '-x', 'a b', 'end.lock', '']) {
      const r = await ws.run(['sandbox', 'create', 'ok', '--json', `--branch=${branch}`]);
      expect(r.code, branch).toBe(1);
      expect(r.stderr).not.toMatch(STACK_TRACE);
    }
    expect(readdirSync(ws.dev)).toEqual(['ktrdr2']);
  });

  it('rejects unknown options and missing arguments with exit 1 and a pointer to --help', async () => {
    ws = appWorkspace();
    const unknown = await ws.run(['sandbox', 'create', 'x', '--frobnicate']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe(
      "Error: Unknown option '--frobnicate'.\nHint: Run `kinfra sandbox create --help` for its usage.\n",
    );
    const missing = await ws.run(['sandbox', 'create']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      "Error: Missing required argument 'name'.\nHint: Run `kinfra sandbox create --help` for its usage.\n",
    );
    const json = await ws.run(['sandbox', 'create', '--json']);
    expect(json.code).toBe(1);
    expect(parseJson(json.stderr)).toMatchObject({
      ok: false,
      error: { code: 'usage', message: "Missing required argument 'name'." },
    });
  });

  it(
    "says unknown commands and options in kinfra's Error/Hint form, with " + "commander's suggestion as the hint",
    async () => {
      ws = appWorkspace();
      const cases: [string[], string, string][] = [
        [['frobnicate'], "Unknown command 'frobnicate'.", 'Run `kinfra --help` for its usage.'],
        [
          ['sandbox', 'lst'],
          "Unknown command 'lst'.",
          'Did you mean one of list, ls? Run `kinfra sandbox --help` for its usage.',
        ],
        [
          ['sandbox', 'list', '--jsno'],
          "Unknown option '--jsno'.",
          'Did you mean --json? Run `kinfra sandbox list --help` for its usage.',
        ],
        [
          ['sandbox', 'up', '--timeout', 'soon'],
          "Option '--timeout <seconds>' argument 'soon' is invalid. --timeout must be a whole number from 1 to 3600.",
          'Run `kinfra sandbox up --help` for its usage.',
        ],
      ];
      for (const [args, message, hint] of cases) {
        const r = await ws.run(args);
        expect(r.code, args.join(' ')).toBe(1);
        expect(r.stdout).toBe('');
        expect(r.stderr).toBe(`Error: ${message}\nHint: ${hint}\n`);
        const json = await ws.run([...args, '--json']);
        expect(json.code).toBe(1);
        expect(parseJson(json.stderr)).toEqual({
          schemaVersion: 3,
          ok: false,
          error: { code: 'usage', message: expect.any(String), hint: expect.any(String) },
        });
      }
    },
  );

  it('kinfra or kinfra sandbox without a command prints the help on stdout and exits 0', async () => {
    ws = appWorkspace();
    for (const args of [[], ['sandbox']]) {
      const r = await ws.run(args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe((await ws.run([...args, '--help'])).stdout);
    }
  });
});

describe('input that used to be an internal error (exit 70)', () => {
  it('exec with an empty command is a usage error, in a sandbox or not', async () => {
    ws = appWorkspace();
    await ws.run(['sandbox', 'create', 'x']);
    for (const [cwd, word] of [
      [join(ws.dev, 'ktrdr--x'), ''],
      [join(ws.dev, 'ktrdr--x'), '  '],
      [ws.repo, ''],
    ] as const) {
      const r = await ws.run(['sandbox', 'exec', '--', word, 'arg'], { cwd });
      expect(r.code, `${cwd} ${JSON.stringify(word)}: ${r.stderr}`).toBe(1);
      expect(r.stderr).not.toMatch(STACK_TRACE);
      expect(r.stderr).toContain(`Error: ${JSON.stringify(word)} is not a command to run.`);
      expect(r.stderr).toContain(
        'Hint: Put the command and its arguments after --, for example: kinfra sandbox exec -- env',
      );
    }
  });

  it.each([
    ['shared.root', 'shared:\n  env: KB_SHARED\n  root: "/tmp/shared\\nroot"\n  dirs: { data: KB_DATA }\n'],
    ['compose_files.0', 'compose_files: ["docker-compose\\n.yml", docker-compose.yml]\n'],
  ])(
    'a line break in a configured path (%s) is a usage error naming the key; nothing is created',
    async (key, extra) => {
      ws = appWorkspace({ 'kinfra.yaml': `prefix: kb\nports:\n  api: { env: KB_API_PORT, base: 38800 }\n${extra}` });
      for (const args of [
        ['sandbox', 'init', '--json'],
        ['sandbox', 'create', 'y', '--json'],
      ]) {
        const r = await ws.run(args);
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(1);
        expect(r.stderr).not.toMatch(STACK_TRACE);
        const error = parseJson(r.stderr).error;
        expect(error).toMatchObject({ code: 'invalid-config', details: { key } });
        expect(error.message).toContain('a path on one line');
        expect(error.hint).toContain(`Fix ${key} in`);
      }
      expect(existsSync(join(ws.repo, '.env.sandbox'))).toBe(false);
      expect(readdirSync(ws.dev)).toEqual(['ktrdr2']);
    },
  );
});

describe('output into a closed pipe', () => {
  it('stops quietly when the reader goes away (kinfra ... | head), no stack trace', async () => {
    const { spawnSync } = await import('node:child_process');
    const { CLI } = await import('../helpers/cli.js');
    const r = spawnSync(
      'bash',
      [
        '-c',
        `set -o pipefail; "${process.execPath}" "${CLI}" sandbox --help | head -1; ` +
          `"${process.execPath}" "${CLI}" completion bash | head -c 10 >/dev/null`,
      ],
      { encoding: 'utf8' },
    );
    expect(r.stderr).not.toMatch(/EPIPE|at .*\.js:\d+/);
    expect(r.stdout).toMatch(/^Usage: kinfra sandbox/);
  });
});
