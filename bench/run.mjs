// `npm run bench`: every benchmark, one markdown table, also written to docs/benchmarks.md.
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { markdownTable, ROOT } from './lib.mjs';
import derivedLayout from './derived.bench.mjs';
import docker from './docker.bench.mjs';
import gateLatency from './gate.bench.mjs';
import mcp from './mcp.bench.mjs';
import scale from './scale.bench.mjs';
import startup from './startup.bench.mjs';
import previous from './previous.bench.mjs';
import router from './router.bench.mjs';
import dashboard from './dashboard.bench.mjs';
import database from './database.bench.mjs';

const rounds = Number(process.env.KINFRA_BENCH_ROUNDS ?? 25);
const only = process.env.KINFRA_BENCH_ONLY?.split(',');
const suites = [
  ['startup', startup],
  ['previous main', previous],
  ['scale', scale],
  ['gate latency', gateLatency],
  ['docker', docker],
  ['derived layout', derivedLayout],
  ['mcp', mcp],
  ['router', router],
  ['dashboard', dashboard],
  ['database', database],
].filter(([n]) => !only || only.includes(n));
const rows = [];
for (const [name, suite] of suites) {
  process.stderr.write(`bench: ${name} ...\n`);
  rows.push(...(await suite({ rounds })));
}
const table = markdownTable(rows);
const header =
  `# Benchmarks\n\nMeasured by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)} ` +
  `(${cpus().length} cores, Node ${process.version}); medians of ${rounds} interleaved runs. ` +
  'Ratios compare against a baseline measured in the same run, so machine speed cancels out.\n\n';
console.log(table);
writeFileSync(join(ROOT, 'docs/benchmarks.md'), header + table + '\n');
if (rows.some((r) => !r.met)) process.exitCode = 1;
