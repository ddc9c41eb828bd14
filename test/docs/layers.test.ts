// docs/architecture.md says core is pure and adapters do every side effect. This holds the layers to it: no module
// of src/core or src/app imports the file system, processes or the network itself, and core imports neither the
// adapters nor the app layer.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/cli.js';

const SRC = join(REPO_ROOT, 'src');

/** Node modules that touch the outside world: only adapters may import them. */
const SIDE_EFFECTS = ['fs', 'fs/promises', 'child_process', 'net', 'http', 'https'];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Every module a file imports: static imports, re-exports and dynamic import() calls. */
function importsOf(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g)) found.push(m[1]!);
  return found;
}

/** What `spec`, imported by `file`, is: a side-effecting Node module, a folder of src, or something else. */
function target(file: string, spec: string): string {
  const bare = spec.replace(/^node:/, '');
  if (SIDE_EFFECTS.includes(bare)) return `node:${bare}`;
  if (!spec.startsWith('.')) return 'package';
  return relative(SRC, resolve(dirname(file), spec)).split('/')[0] ?? '';
}

function offences(layer: 'core' | 'app', forbidden: (t: string) => boolean): string[] {
  return sources(join(SRC, layer)).flatMap((file) =>
    importsOf(readFileSync(file, 'utf8'))
      .filter((spec) => forbidden(target(file, spec)))
      .map((spec) => `${relative(REPO_ROOT, file)} imports ${spec}`),
  );
}

describe('the layers keep to docs/architecture.md', () => {
  it('reads every kind of import', () => {
    const text = [
      "import { a } from 'node:fs';",
      "export { b } from '../adapters/x.js';",
      "await import('node:net');",
      "import 'node:http';",
    ].join('\n');
    expect(importsOf(text)).toEqual(['node:fs', '../adapters/x.js', 'node:net', 'node:http']);
  });

  it('src/core and src/app leave the file system, processes and the network to the adapters', () => {
    const isSideEffect = (t: string) => t.startsWith('node:');
    expect([...offences('core', isSideEffect), ...offences('app', isSideEffect)]).toEqual([]);
  });

  it('src/core imports neither the adapters nor the app layer', () => {
    expect(offences('core', (t) => t === 'adapters' || t === 'app' || t === 'cli')).toEqual([]);
  });
});
