// The dashboard's three files (src/dashboard/: index.html, app.js, style.css), read from where this build keeps them:
// `dist/dashboard/` beside the bundle (the build copies them there), or the sources when kinfra runs from them
// (tests). Read once, then served from memory.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Asset {
  type: string;
  body: Buffer;
}

const TYPES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};

/** The folder that holds them: the nearest `dashboard/` (or `src/dashboard/`) above this module. */
function assetsDir(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    for (const candidate of [join(dir, 'dashboard'), join(dir, 'src', 'dashboard')]) {
      if (existsSync(join(candidate, 'index.html'))) return candidate;
    }
    dir = dirname(dir);
  }
  return undefined;
}

const cache = new Map<string, Asset | undefined>();

/** One of the three files by name, or undefined (no such file, or this build has none). */
export function dashboardAsset(name: string): Asset | undefined {
  if (!(name in TYPES)) return undefined;
  if (!cache.has(name)) {
    const dir = assetsDir();
    const file = dir && join(dir, name);
    cache.set(name, file && existsSync(file) ? { type: TYPES[name]!, body: readFileSync(file) } : undefined);
  }
  return cache.get(name);
}
