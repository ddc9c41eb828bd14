// Builds two ESM bundles: the CLI (one file, fast start) and the library entry.
import { build } from 'esbuild';
import { chmodSync, cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

rmSync('dist', { recursive: true, force: true });
// The version lives in package.json alone; the bundle gets it at build time.
const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
const common = {
  define: { __KINFRA_VERSION__: JSON.stringify(version) },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: 'linked',
  logLevel: 'warning',
  minifySyntax: true,
  minifyWhitespace: true,
  // Bundled CommonJS dependencies (proper-lockfile) call require();
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
// Code splitting: commands import their use cases lazily, so `--version`,
// `--help` and `list` load only what they need.
await build({
  ...common,
  entryPoints: { kinfra: 'src/cli/kinfra.ts', index: 'src/index.ts' },
  outdir: 'dist',
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
});
const cli = 'dist/kinfra.js';
writeFileSync(cli, '#!/usr/bin/env node\n' + readFileSync(cli, 'utf8'));
chmodSync(cli, 0o755);
// The dashboard's page, script and style are served as they are (adapters/dashboard-assets.ts).
if (existsSync('src/dashboard')) cpSync('src/dashboard', 'dist/dashboard', { recursive: true });
