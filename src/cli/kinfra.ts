// The `kinfra` executable: the CLI on this process's streams, folder and environment.
import { runCli } from './main.js';
import { processTerminal } from './output.js';

// `kinfra ... | head`: the reader went away; stop quietly, as other tools do, instead of a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}

const args = process.argv.slice(2);
process.exitCode = await runCli(args, processTerminal(), process.cwd());
// A completion that gave up on a stuck Compose must not wait for it: leave once the values are written.
if (args[0] === '__complete') setTimeout(() => process.exit(), 100).unref();
