// Every module of src/ opens with a `//` comment saying what it holds and why (issue 13, "Habits"): the comment
// belongs to the module, not to its first export as a JSDoc block.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/cli.js';

const SRC = join(REPO_ROOT, 'src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('module comments', () => {
  it('every .ts file under src/ begins with a // comment (its first non-blank line)', () => {
    const files = sources(SRC);
    expect(files.length).toBeGreaterThan(50);
    const missing = files
      .filter((f) => {
        const first = readFileSync(f, 'utf8')
          .split('\n')
          .find((l) => l.trim() !== '');
        return !first?.trimStart().startsWith('//');
      })
      .map((f) => relative(REPO_ROOT, f));
    expect(missing).toEqual([]);
  });
});
