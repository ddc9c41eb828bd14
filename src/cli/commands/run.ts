import type { Command } from 'commander';
import { KinfraError } from '../../core/errors.js';
import type { SandboxGateResult } from '../../app/gate.js';
import type { UpRequest, UpResult } from '../../app/up.js';
import { action, examples, wholeNumber } from '../action.js';
import { EXIT_CODES } from '../exit-codes.js';
import { gateView } from '../gate-view.js';
import type { Output } from '../output.js';

const DEFAULT_TIMEOUT_S = 120;

/** Aborts on Ctrl-C while the gate waits; containers keep running. */
function interruptible(): { signal: AbortSignal; dispose: () => void } {
  const ac = new AbortController();
  const onSigint = () => ac.abort();
  process.once('SIGINT', onSigint);
  return { signal: ac.signal, dispose: () => process.removeListener('SIGINT', onSigint) };
}

function gateJson(g: SandboxGateResult) {
  return {
    passed: g.passed,
    interrupted: g.interrupted,
    durationMs: Math.round(g.durationMs),
    checks: g.checks.map((c) => ({ name: c.name, status: c.status, message: c.message, details: c.details, attempts: c.attempts, elapsedMs: Math.round(c.elapsedMs) })),
    omitted: g.omitted,
  };
}

function upJson(r: UpResult) {
  return { instanceId: r.instanceId, slot: r.slot, gate: r.gate ? gateJson(r.gate) : null, urls: r.urls, absent: r.absent };
}

/** Checks left out and services the layout names but the stack lacks: said, not hidden. */
function leftOut(io: Output, r: UpResult): void {
  for (const o of r.gate?.omitted ?? []) io.out(`  ${io.c.dim('-')} ${o.name} left out: ${o.reason}`);
}

/** After the gate: PASSED and the URLs, or an error that exits 2 (130 when interrupted). */
function concludeGate(io: Output, r: UpResult, gate: SandboxGateResult): void {
  if (!io.json) leftOut(io, r);
  if (gate.interrupted) {
    throw new KinfraError('interrupted', 'interrupted', `Interrupted while waiting for the Startability Gate of ${r.instanceId}; its containers keep running.`,
      'See where it stands with: kinfra sandbox status (or wait for it: kinfra sandbox gate)', { gate: gateJson(gate) });
  }
  if (!gate.passed) {
    if (!io.json) io.out(`\n${io.c.red('Startability Gate: FAILED')}`);
    throw new KinfraError('gate', 'gate-failed', `The Startability Gate of ${r.instanceId} failed: ${gate.checks.filter((c) => c.status === 'failed').map((c) => c.name).join(', ')} not ready.`,
      'Check logs with: kinfra sandbox logs (or: kinfra sandbox status)', { gate: gateJson(gate) });
  }
  io.result(upJson(r), () => {
    io.out(`\n${io.c.green('Startability Gate: PASSED')} (${(gate.durationMs / 1000).toFixed(1)}s)\n`);
    io.out('Instance ready:');
    for (const u of r.urls) io.out(`  ${u.label}: ${u.url}`);
    if (r.absent.length > 0) io.out(`  (not in this stack: ${r.absent.join(', ')})`);
  });
}

type GateHooks = Pick<UpRequest, 'onStart' | 'onGateChange' | 'signal'>;

/** Shared by up and gate: the live gate view, Ctrl-C handling, and the conclusion. */
async function withGateView(io: Output, heading: string, run: (hooks: GateHooks) => Promise<UpResult>): Promise<void> {
  const view = gateView(io);
  const { signal, dispose } = interruptible();
  try {
    const r = await run({
      onStart: (s) => { if (!io.json) io.out(`${heading}: ${s.instanceId} (slot ${s.slot})`); },
      onGateChange: (c) => view.onChange(c),
      signal,
    });
    if (!r.gate) {
      io.result(upJson(r), () => io.out("\nInstance starting... (use 'kinfra sandbox status' or 'kinfra sandbox gate' to check)"));
      return;
    }
    view.finish(r.gate);
    concludeGate(io, r, r.gate);
  } finally {
    dispose();
  }
}

export function registerUp(sandbox: Command): void {
  sandbox
    .command('up')
    .summary('start the sandbox stack and wait until it is ready')
    .description(
      'Start the stack of the sandbox that holds the current folder: refuse if one of its ports is held by ' +
        'anything else (exit 3, naming the holder), run `docker compose up -d`, then the Startability Gate: ' +
        'database, backend health, workers registered, observability. Exit 2 when the gate fails.',
    )
    .option('--no-wait', 'start the containers and return without running the gate')
    .option('--build', 'build images before starting (docker compose up --build)')
    .option('--timeout <seconds>', `how long the gate may wait (default: ${DEFAULT_TIMEOUT_S})`, wholeNumber('--timeout', 1, 3600))
    .option('--json', 'print the result as JSON')
    .addHelpText('after', examples('kinfra sandbox up', 'kinfra sandbox up --build --timeout 300', 'kinfra sandbox up --no-wait'))
    .action(action(async (io, ctx, opts: { wait: boolean; build?: boolean; timeout?: number }) => {
      const { upSandbox } = await import('../../app/up.js');
      await withGateView(io, 'Starting instance', (hooks) =>
        upSandbox(ctx, { build: Boolean(opts.build), wait: opts.wait, timeoutMs: (opts.timeout ?? DEFAULT_TIMEOUT_S) * 1000, ...hooks }));
    }));

}

export function registerGate(sandbox: Command): void {
  sandbox
    .command('gate')
    .summary('wait for the running sandbox to be ready (the Startability Gate only)')
    .description(
      'Run only the Startability Gate against the running sandbox, starting nothing. Exit 0 when every ' +
        'check passes, 2 when one fails before the timeout: scripts and agents can wait for readiness with it.',
    )
    .option('--timeout <seconds>', `how long to wait (default: ${DEFAULT_TIMEOUT_S})`, wholeNumber('--timeout', 1, 3600))
    .option('--json', 'print the result as JSON')
    .addHelpText('after', examples('kinfra sandbox gate', 'kinfra sandbox gate --timeout 30 --json'))
    .action(action(async (io, ctx, opts: { timeout?: number }) => {
      const { gateSandbox } = await import('../../app/up.js');
      await withGateView(io, 'Startability Gate', (hooks) =>
        gateSandbox(ctx, { timeoutMs: (opts.timeout ?? DEFAULT_TIMEOUT_S) * 1000, ...hooks }));
    }));

}

export function registerDown(sandbox: Command): void {
  sandbox
    .command('down')
    .summary('stop the sandbox stack')
    .description('Stop and remove the containers of the sandbox that holds the current folder (docker compose down).\nWith --volumes, also remove its volumes: the database starts empty next time.')
    .option('-v, --volumes', 'also remove the sandbox\'s volumes')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', examples('kinfra sandbox down', 'kinfra sandbox down --volumes'))
    .action(action(async (io, ctx, opts: { volumes?: boolean }) => {
      const { downSandbox } = await import('../../app/compose-commands.js');
      const r = await downSandbox(ctx, { volumes: Boolean(opts.volumes) });
      io.result(r, () => io.out(`${io.c.green('Stopped')} ${r.instanceId}${r.volumesRemoved ? ' and removed its volumes' : ''}`));
    }));

}

export function registerLogs(sandbox: Command): void {
  sandbox
    .command('logs')
    .summary('show the logs of the sandbox services')
    .description('Show the logs of every service of the sandbox, or of one (docker compose logs).')
    .argument('[service]', 'service name, e.g. backend or db (default: all)')
    .option('-f, --follow', 'keep following new log lines (Ctrl-C to stop)')
    .option('-n, --tail <lines>', 'lines to show from the end of each log (default: 100)', wholeNumber('--tail', 0, 1_000_000))
    .addHelpText('after', examples('kinfra sandbox logs', 'kinfra sandbox logs backend -n 20', 'kinfra sandbox logs -f'))
    .action(action(async (_io, ctx, service: string | undefined, opts: { follow?: boolean; tail?: number }) => {
      const { sandboxLogs } = await import('../../app/compose-commands.js');
      const code = await sandboxLogs(ctx, { service, follow: Boolean(opts.follow), tail: opts.tail ?? 100 });
      // Ctrl-C while following is the normal way out.
      if (code !== 0 && code !== 130) process.exitCode = EXIT_CODES.external;
    }));

  sandbox
    .command('shell')
    .summary('open a shell in a sandbox container')
    .description('Open an interactive shell (bash, or sh when the image has no bash) in a service container of the sandbox.')
    .argument('[service]', 'service name (default: backend)')
    .addHelpText('after', examples('kinfra sandbox shell', 'kinfra sandbox shell db'))
    .action(action(async (_io, ctx, service: string | undefined) => {
      const { sandboxShell } = await import('../../app/compose-commands.js');
      process.exitCode = await sandboxShell(ctx, { service });
    }));
}
