// Preloaded with --import: reports the process's peak resident memory at exit.
import { appendFileSync } from 'node:fs';
process.on('exit', () => {
  if (process.env.KINFRA_BENCH_RSS_FILE)
    appendFileSync(process.env.KINFRA_BENCH_RSS_FILE, `${process.resourceUsage().maxRSS}\n`);
});
