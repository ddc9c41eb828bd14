import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  DEFAULT_REGENERABLE,
  hasWork,
  isRegenerable,
  noWork,
  workLines,
  type WorkAtRisk,
} from '../../src/core/work-at-risk.js';

const matches = (patterns: readonly string[]) => (path: string) => isRegenerable(path, patterns);

describe('isRegenerable: folder patterns (name/)', () => {
  const nm = matches(['node_modules/']);

  it.each([
    'node_modules/',
    'node_modules/left-pad/index.js',
    'web/node_modules/',
    'a/b/c/node_modules/x/y.js',
    'node_modules//',
  ])('matches %j at any depth', (path) => {
    expect(nm(path)).toBe(true);
  });

  it.each([
    'node_modules',
    'src/node_modules',
    'node_modules.txt',
    'my_node_modules/',
    'node_modules2/x',
    'src/not-node_modules/a',
  ])('does not match %j', (path) => {
    expect(nm(path)).toBe(false);
  });

  it('matches a file inside the folder but never a file of that name', () => {
    expect(matches(['build/'])('build/out.o')).toBe(true);
    expect(matches(['build/'])('scripts/build')).toBe(false);
  });
});

/** `patterns` cover every path of `yes` and none of `no`. */
function expectSplit(patterns: readonly string[], yes: readonly string[], no: readonly string[]): void {
  expect(
    yes.filter((p) => !isRegenerable(p, patterns)),
    `not matched by ${patterns.join(', ')}`,
  ).toEqual([]);
  expect(
    no.filter((p) => isRegenerable(p, patterns)),
    `wrongly matched by ${patterns.join(', ')}`,
  ).toEqual([]);
}

describe('isRegenerable: base-name patterns', () => {
  it('*.ext matches a file name at any depth', () => {
    expectSplit(['*.pyc'], ['mod.pyc', 'pkg/sub/mod.pyc'], ['mod.py', 'mod.pyc.bak']);
  });

  it('a name without a slash matches files and folders of that name anywhere', () => {
    expectSplit(
      ['.DS_Store', 'coverage'],
      ['a/b/.DS_Store', 'coverage/', 'web/coverage/lcov.info'],
      ['coverage.txt', 'a/.DS_Store2'],
    );
  });

  it('* does not cross a folder boundary', () => {
    expectSplit(['a*z'], ['abcz', 'az', 'x/abz'], ['a/z', 'a/b/z']);
  });

  it('? stands for exactly one character, never a slash', () => {
    expectSplit(['app?.log'], ['app1.log', 'logs/appX.log'], ['app.log', 'app12.log']);
    expectSplit(['a?b/'], ['axb/', 'x/a-b/y'], ['a/b/', 'ab/']);
  });
});

describe('isRegenerable: anchored patterns (a slash inside)', () => {
  it('a folder pattern matches only from the top of the worktree, and only as a folder', () => {
    expectSplit(
      ['web/generated/'],
      ['web/generated/', 'web/generated/api.ts'],
      ['apps/web/generated/api.ts', 'web/other/generated/x', 'web/generated'],
    );
  });

  it('a file pattern matches that path from the top, and anything below a folder of that path', () => {
    expectSplit(
      ['config/local.json'],
      ['config/local.json', 'config/local.json/x'],
      ['x/config/local.json', 'config/local.json5'],
    );
    expectSplit(['data/*.csv'], ['data/prices.csv'], ['data/raw/prices.csv', 'x/data/prices.csv']);
  });

  it('wildcards inside anchored patterns stay within one folder', () => {
    expectSplit(['*/cache/'], ['svc/cache/x'], ['a/b/cache/x', 'cache/x']);
  });
});

describe('isRegenerable: names with regex metacharacters', () => {
  it.each<[string, string, string]>([
    ['c++/', 'lib/c++/x.o', 'lib/ccc/x.o'],
    ['a.b', 'a.b', 'axb'],
    ['(tmp)/', '(tmp)/x', 'tmp/x'],
    ['[cache]/', '[cache]/x', 'c/x'],
    ['$HOME/', '$HOME/x', 'HOME/x'],
    ['^x', '^x', 'x'],
    ['a|b', 'a|b', 'a'],
    ['x{2}', 'x{2}', 'xx'],
    ['back\\slash', 'back\\slash', 'backslash'],
  ])('%j is literal: matches %j, not %j', (pattern, yes, no) => {
    expect(isRegenerable(yes, [pattern])).toBe(true);
    expect(isRegenerable(no, [pattern])).toBe(false);
  });

  it('property: a literal name (no wildcards) matches itself as a folder and only itself', () => {
    const name = fc.stringMatching(/^[a-z.+^$(){}|[\]\\-]{1,8}$/).filter((n) => !/^\.+$/.test(n));
    fc.assert(
      fc.property(name, name, (a, b) => {
        expect(isRegenerable(`src/${a}/file`, [`${a}/`])).toBe(true);
        expect(isRegenerable(`src/${b}/file`, [`${a}/`])).toBe(a === b);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('isRegenerable: the pattern list', () => {
  it('any pattern of the list may match', () => {
    expect(matches(['dist/', '*.log'])('x/y.log')).toBe(true);
    expect(matches(['dist/', '*.log'])('x/y.txt')).toBe(false);
  });

  it('nothing is regenerable with no patterns, or with empty ones', () => {
    expect(isRegenerable('node_modules/', [])).toBe(false);
    expect(isRegenerable('a/b', ['', '/', '//'])).toBe(false);
  });

  it('the built-in list covers the usual build and install folders, and not data', () => {
    const dflt = matches(DEFAULT_REGENERABLE);
    for (const p of [
      'node_modules/',
      '.venv/bin/python',
      'venv/',
      'pkg/__pycache__/m.cpython-312.pyc',
      'dist/',
      'build/',
      'target/debug/x',
      '.cache/',
      '.pytest_cache/',
      '.mypy_cache/',
      '.tox/',
      'a/b.pyc',
    ]) {
      expect(dflt(p), p).toBe(true);
    }
    for (const p of ['data/', 'models/m.pt', '.env', 'local.settings.json', 'strategies/x.yaml', 'build', 'dist']) {
      expect(dflt(p), p).toBe(false);
    }
  });
});

describe('workLines and hasWork', () => {
  const work = (n: Partial<Record<keyof WorkAtRisk, number>>): WorkAtRisk => ({
    uncommitted: Array.from({ length: n.uncommitted ?? 0 }, (_, i) => `src/f${i}.ts`),
    ignored: Array.from({ length: n.ignored ?? 0 }, (_, i) => `data/d${i}/`),
    nestedRepos: Array.from({ length: n.nestedRepos ?? 0 }, (_, i) => `vendor/r${i}/`),
    unsharedCommits: Array.from({ length: n.unsharedCommits ?? 0 }, (_, i) => `abc${i} wip`),
  });

  it('noWork is empty and is no work', () => {
    expect(noWork()).toEqual({ uncommitted: [], ignored: [], nestedRepos: [], unsharedCommits: [] });
    expect(hasWork(noWork())).toBe(false);
    expect(workLines(noWork())).toEqual([]);
    expect(noWork()).not.toBe(noWork());
  });

  it.each(['uncommitted', 'ignored', 'nestedRepos', 'unsharedCommits'] as const)('one %s entry is work', (kind) => {
    expect(hasWork(work({ [kind]: 1 }))).toBe(true);
  });

  it('labels each kind, in a fixed order', () => {
    expect(workLines(work({ uncommitted: 1, ignored: 1, nestedRepos: 1, unsharedCommits: 1 }))).toEqual([
      '  uncommitted: src/f0.ts',
      '  ignored: data/d0/',
      '  nested repository: vendor/r0/',
      '  commit on no other branch or remote: abc0 wip',
    ]);
  });

  it('prints up to ten lines without a summary', () => {
    const lines = workLines(work({ uncommitted: 6, ignored: 4 }));
    expect(lines).toHaveLength(10);
    expect(lines.some((l) => l.includes('more'))).toBe(false);
  });

  it('cuts at ten lines and says how many more there are', () => {
    const lines = workLines(work({ uncommitted: 8, ignored: 3, unsharedCommits: 2 }));
    expect(lines).toHaveLength(11);
    expect(lines.slice(0, 8).every((l) => l.startsWith('  uncommitted: '))).toBe(true);
    expect(lines.slice(8, 10)).toEqual(['  ignored: data/d0/', '  ignored: data/d1/']);
    expect(lines[10]).toBe('  ... and 3 more');
  });

  it('honours another maximum', () => {
    expect(workLines(work({ nestedRepos: 3 }), 1)).toEqual(['  nested repository: vendor/r0/', '  ... and 2 more']);
    expect(workLines(work({ nestedRepos: 3 }), 3)).toHaveLength(3);
    expect(workLines(work({ nestedRepos: 3 }), 0)).toEqual(['  ... and 3 more']);
  });

  it('property: never more than max + 1 lines, and every entry is either shown or counted', () => {
    const n = fc.nat(8);
    fc.assert(
      fc.property(n, n, n, n, fc.nat(12), (u, i, r, c, max) => {
        const lines = workLines(work({ uncommitted: u, ignored: i, nestedRepos: r, unsharedCommits: c }), max);
        const total = u + i + r + c;
        expect(lines.length).toBeLessThanOrEqual(max + 1);
        const more = /^ {2}\.\.\. and (\d+) more$/.exec(lines[lines.length - 1] ?? '');
        expect(more ? lines.length - 1 + Number(more[1]) : lines.length).toBe(total);
      }),
    );
  });
});
