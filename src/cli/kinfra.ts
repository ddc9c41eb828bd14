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

process.exitCode = await runCli(process.argv.slice(2), processTerminal(), process.cwd());
