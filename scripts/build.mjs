// Builds two ESM bundles: the CLI (one file, fast start) and the library entry.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

rmSync('dist', { recursive: true, force: true });
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: 'linked',
  logLevel: 'warning',
  // Bundled CommonJS dependencies (proper-lockfile, cli-table3) call require();
  // give the ESM bundle one.
  banner: {
    js:
      "import { createRequire as __kinfraRequire } from 'node:module';" +
      "import { fileURLToPath as __kinfraPath } from 'node:url';" +
      'const require = __kinfraRequire(import.meta.url);' +
      'const __filename = __kinfraPath(import.meta.url);' +
      "const __dirname = __kinfraPath(new URL('.', import.meta.url));",
  },
};
await build({ ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/kinfra.js',
  banner: { js: '#!/usr/bin/env node\n' + common.banner.js } });
await build({ ...common, entryPoints: ['src/index.ts'], outfile: 'dist/index.js' });
