// The terminal as an operation's session: questions asked on stderr (only when stdin is a terminal and the output is
// not --json), progress drawn as it comes (the gate's checks, a copy's files), Ctrl-C as the abort signal.
import { createInterface } from 'node:readline/promises';
import type { ProgressEvent, Session } from '../app/session.js';
import { megabytes } from '../operations/operation.js';
import { gateView } from './gate-view.js';
import type { Output } from './output.js';

/** Draws progress events; `close` ends a live line left open. */
function progressView(io: Output): { show(e: ProgressEvent): void; close(): void } {
  const view = gateView(io);
  const stderr = io.terminal.stderr;
  const live = Boolean(stderr.isTTY) && !io.json;
  let lastDir = '';
  return {
    show(e) {
      switch (e.kind) {
        case 'started':
          if (!io.json) io.out(`${e.activity}: ${e.instanceId} (slot ${e.slot})`);
          return;
        case 'step':
          // The steps are for surfaces that show nothing else while waiting; the CLI shows them with --verbose.
          if (io.verbose && !io.json) io.err(io.c.dim(e.message));
          return;
        case 'gate-changed':
          view.onChange(e.checks);
          return;
        case 'gate-finished':
          view.finish(e.gate);
          if (io.json) return;
          // Checks left out are said, not hidden; a failed gate says so before the error that follows.
          for (const o of e.gate.omitted) io.out(`  ${io.c.dim('-')} ${o.name} left out: ${o.reason}`);
          if (!e.gate.passed && !e.gate.interrupted) io.out(`\n${io.c.red('Startability Gate: FAILED')}`);
          return;
        case 'copying':
          if (live) {
            stderr.write(
              `\r\x1b[2KCopying ${e.dir}: ${e.files}/${e.totalFiles} files, ` +
                `${megabytes(e.bytes)}/${megabytes(e.totalBytes)}`,
            );
          } else if (!io.json && e.dir !== lastDir)
            io.err(`Copying ${e.dir}: ${e.totalFiles} files, ${megabytes(e.totalBytes)}`);
          lastDir = e.dir;
      }
    },
    close() {
      if (live && lastDir) stderr.write('\n');
    },
  };
}

export interface TerminalSession extends Session {
  close(): void;
}

export function terminalSession(io: Output): TerminalSession {
  const stdin = io.terminal.stdin;
  const interactive = Boolean(stdin.isTTY) && !io.json;
  // Ctrl-C becomes the abort signal only for a handler that asks for the signal (the gate's wait); any other
  // command keeps Node's default, which ends the process at once.
  let ac: AbortController | undefined;
  const onSigint = () => ac?.abort();
  const view = progressView(io);
  return {
    interactive,
    document: io.json,
    async confirm(question, details = []) {
      if (!interactive) return false;
      for (const d of details) io.err(d);
      const rl = createInterface({ input: stdin, output: io.terminal.stderr as NodeJS.WritableStream });
      try {
        return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
      } finally {
        rl.close();
      }
    },
    progress: (e) => view.show(e),
    get signal() {
      if (!ac) {
        ac = new AbortController();
        process.once('SIGINT', onSigint);
      }
      return ac.signal;
    },
    close() {
      view.close();
      process.removeListener('SIGINT', onSigint);
    },
  };
}
