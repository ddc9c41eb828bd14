// The inspection operations: list, status, gate, logs, shell, doctor, whoami. They read; doctor's --repair and list's
// clean-up of entries whose folder is gone are the only changes, and both are said.
import { cleanedNotice, renderUp, timeoutInput, upResult } from './lifecycle.js';
import { childExitCode, operation, type Printer, type ResultOf, type Zod } from './operation.js';
import { containers, finding, gate, hostnames, portMap, serviceUrl } from './result-parts.js';

const listResult = (z: Zod) =>
  z.strictObject({
    instances: z.array(
      z.strictObject({
        instanceId: z.string(),
        slot: z.number().int(),
        apiPort: z.number().int().optional(),
        path: z.string(),
        branch: z.string().optional(),
        isWorktree: z.boolean(),
        parentRepo: z.string(),
        createdAt: z.string(),
        ports: portMap(z),
        status: z.string().nullable(),
        hostnames: hostnames(z),
        containers: containers(z).nullable(),
        state: z.string().nullable(),
      }),
    ),
    cleaned: z.array(z.string()),
    orphans: z.array(
      z.strictObject({
        project: z.string(),
        containers: z.number().int(),
        running: z.number().int(),
        volumes: z.array(z.string()),
        networks: z.array(z.string()),
      }),
    ),
    foreign: z.array(
      z.strictObject({
        project: z.string(),
        owner: z.enum(['other-kinfra', 'unlabelled']),
        path: z.string().nullable(),
        containers: z.number().int(),
        running: z.number().int(),
        volumes: z.array(z.string()),
        networks: z.array(z.string()),
      }),
    ),
    engineError: z.strictObject({ code: z.string(), message: z.string(), hint: z.string().optional() }).nullable(),
    focus: z
      .strictObject({
        instanceId: z.string(),
        since: z.string(),
        ports: z.array(z.strictObject({ name: z.string(), from: z.number().int(), to: z.number().int() })),
      })
      .nullable()
      .describe("the sandbox the main checkout's ports forward to (kinfra sandbox focus), or null"),
  });

function renderList(r: ResultOf<typeof listResult>, p: Printer): void {
  cleanedNotice(p, r.cleaned);
  if (r.engineError)
    p.err(`${p.c.yellow('Warning:')} status unknown: ${r.engineError.message} ${r.engineError.hint ?? ''}`.trim());
  if (r.instances.length === 0) p.out('No sandboxes. Create one with: kinfra sandbox create <name>');
  else {
    p.out(
      p.table(
        ['Instance', 'Slot', 'API Port', 'Status', 'Path'],
        r.instances.map((i) => [
          r.focus?.instanceId === i.instanceId ? `${i.instanceId} (focus)` : i.instanceId,
          i.slot,
          i.apiPort ?? '-',
          i.state ? `${i.state}?` : (i.status ?? '?'),
          i.path,
        ]),
      ),
    );
  }
  if (r.focus) {
    const ports = r.focus.ports.map((x) => `${x.from} -> ${x.to}`).join(', ');
    p.out(
      `Focus: ${r.focus.instanceId} has the main checkout's ports (${ports}); end it with kinfra sandbox focus --off`,
    );
  }
  if (r.orphans.length > 0) {
    p.out('');
    p.out(`${p.c.yellow('Warning:')} found orphaned compose projects that no sandbox owns:`);
    for (const o of r.orphans) {
      p.out(
        `  ${o.project}: ${o.containers} container(s) (${o.running} running), ${o.volumes.length} volume(s), ` +
          `${o.networks.length} network(s)`,
      );
    }
    p.out("  They carry this kinfra's owner label and may be from deleted sandbox instances; nothing was removed.");
    p.out(
      '  Re-register one with `kinfra sandbox init` in its folder, or remove it with: ' +
        'docker compose -p <project> down -v',
    );
  }
  if (r.foreign.length > 0) {
    p.out('');
    p.out("Compose projects of this engine that are not this kinfra's (left alone):");
    for (const f of r.foreign) {
      const who =
        f.owner === 'other-kinfra' ? "another kinfra's sandbox" : 'unlabelled (an older kinfra or another tool)';
      p.out(
        `  ${f.project}: ${who}${f.path ? `, ${f.path}` : ''}; ${f.containers} container(s) (${f.running} running), ` +
          `${f.volumes.length} volume(s), ${f.networks.length} network(s)`,
      );
    }
  }
}

export const list = operation({
  name: 'list',
  alias: 'ls',
  group: 'Inspection:',
  summary: 'list every registered sandbox',
  description:
    'List every registered sandbox on this machine with its slot, API port, status from Docker ' +
    '(running, stopped, partial x/y; missing when its folder is gone) and folder. Entries whose ' +
    'folder no longer exists are ' +
    'removed first ("Cleaned N stale entries"). Compose projects carrying this kinfra\'s owner label that no entry ' +
    'owns are reported as orphans, with their volumes and networks; projects of another kinfra on the same engine ' +
    '(another user or HOME) are shown as theirs. Nothing is deleted.',
  examples: ['kinfra sandbox list', 'kinfra sandbox list --json'],
  inputs: {},
  result: listResult,
  effect: 'reads',
  target: 'none',
  streams: 'result',
  async run(ctx) {
    const { listSandboxes } = await import('../app/list.js');
    return listSandboxes(ctx);
  },
  render: renderList,
});

const statusResult = (z: Zod) =>
  z.strictObject({
    instanceId: z.string(),
    slot: z.number().int(),
    path: z.string(),
    registered: z.boolean(),
    project: z.string(),
    containers: containers(z),
    services: z.array(serviceUrl(z).extend({ port: z.number().int() })),
    absent: z.array(z.string()),
    hostnames: hostnames(z),
    workers: z.array(
      z.strictObject({
        port: z.number().int(),
        url: z.string(),
        service: z.string().nullable(),
        state: z.string(),
        registered: z.boolean().nullable(),
      }),
    ),
    shared: z
      .strictObject({
        root: z.string(),
        dirs: z.array(
          z.strictObject({
            name: z.string(),
            path: z.string(),
            exists: z.boolean(),
            files: z.number().int(),
            bytes: z.number().int(),
            partial: z.boolean(),
          }),
        ),
      })
      .nullable(),
    focused: z.boolean().describe("the main checkout's ports forward to this sandbox (kinfra sandbox focus)"),
  });

function size(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let n = bytes;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

/** The sandbox's name URL, and whether the router serves it now. */
function namedLine(h: { url: string | null; routerRunning: boolean }): string {
  return `${h.url} (${h.routerRunning ? 'through the router' : 'once the router runs: kinfra router start'})`;
}

function renderStatus(r: ResultOf<typeof statusResult>, p: Printer): void {
  const c = r.containers;
  const colour = c.state === 'running' ? p.c.green : c.state === 'partial' ? p.c.yellow : p.c.red;
  p.out(
    `${p.c.bold('Instance:')} ${r.instanceId} (slot ${r.slot})` +
      `${r.registered ? '' : p.c.yellow('  not registered: run kinfra sandbox init')}`,
  );
  p.out(`${p.c.bold('Status:')} ${colour(c.state === 'partial' ? `partial (${c.running}/${c.total})` : c.state)}`);
  const health =
    c.withHealthcheck > 0
      ? `, ${c.healthy}/${c.withHealthcheck} healthy${c.unhealthy ? `, ${c.unhealthy} unhealthy` : ''}` +
        `${c.starting ? `, ${c.starting} starting` : ''}`
      : '';
  p.out(`${p.c.bold('Containers:')} ${c.running}/${c.total} running${health}`);
  if (r.focused)
    p.out(`${p.c.bold('Focus:')} the main checkout's ports forward here (kinfra sandbox focus --off ends it)`);
  p.out('');
  p.out(p.c.bold('Services:'));
  const w = Math.max(0, ...r.services.map((s) => s.label.length)) + 1;
  for (const s of r.services) p.out(`  ${`${s.label}:`.padEnd(w)} ${s.url}`);
  if (r.absent.length > 0) p.out(`  (configured but not in this stack: ${r.absent.join(', ')})`);
  if (r.hostnames.url) p.out(`  ${'By name:'.padEnd(w)} ${namedLine(r.hostnames)}`);
  if (r.workers.length > 0) {
    p.out('');
    p.out(p.c.bold('Workers:'));
    for (const wk of r.workers) {
      const reg = wk.registered === null ? '' : wk.registered ? ', registered' : ', not registered';
      p.out(`  ${wk.service ?? `port ${wk.port}`}: ${wk.url} (${wk.state}${reg})`);
    }
  }
  if (r.shared) {
    p.out('');
    p.out(`${p.c.bold('Shared data:')} ${r.shared.root}`);
    for (const d of r.shared.dirs) {
      p.out(
        d.exists
          ? `  ${d.name}: ${d.files}${d.partial ? '+' : ''} files, ${size(d.bytes)}`
          : `  ${d.name}: missing (create it with: kinfra sandbox init-shared, or mkdir -p ${d.path})`,
      );
    }
  }
}

export const status = operation({
  name: 'status',
  group: 'Inspection:',
  summary: 'show what runs in this sandbox, with every URL',
  description:
    'Show the sandbox that holds the current folder: slot, containers (running and healthy counted ' +
    'apart; only containers with a healthcheck can be healthy), every service URL, the workers and ' +
    'whether the backend has registered them, and the shared data folders.',
  examples: ['kinfra sandbox status', 'kinfra sandbox status --json'],
  inputs: {},
  result: statusResult,
  effect: 'reads',
  target: 'current',
  streams: 'result',
  async run(ctx) {
    const { sandboxStatus } = await import('../app/status.js');
    return sandboxStatus(ctx);
  },
  render: renderStatus,
});

export const gateOperation = operation({
  name: 'gate',
  group: 'Inspection:',
  summary: 'wait for the running sandbox to be ready (the Startability Gate only)',
  description:
    'Run only the Startability Gate against the running sandbox, starting nothing. Exit 0 when every ' +
    'check passes, 2 when one fails before the timeout: scripts and agents can wait for readiness with it.',
  examples: ['kinfra sandbox gate', 'kinfra sandbox gate --timeout 30 --json'],
  tools: [
    {
      name: 'wait_ready',
      summary: 'wait until the running sandbox is really usable (kinfra sandbox gate)',
      description:
        "Run the sandbox's Startability Gate against what runs now, starting nothing: each check (database, " +
        'backend health, workers, services) with its state, what was tried, what came back and when, until every ' +
        'check passes or one fails or the timeout ends. A failure is an error (gate-failed) whose details hold ' +
        'the same per-check gate. The same predicate `up` waits on.',
    },
  ],
  inputs: { timeout: timeoutInput },
  result: (z) => upResult(z).extend({ gate: gate(z) }),
  effect: 'reads',
  target: 'current',
  streams: 'progress',
  async run(ctx, input, session) {
    const { waitReady } = await import('../app/readiness.js');
    return waitReady(ctx, session, input);
  },
  render: renderUp,
});

export const logs = operation({
  name: 'logs',
  group: 'Inspection:',
  summary: 'show the logs of the sandbox services',
  description:
    'Show the logs of every service of the sandbox, or of one (docker compose logs). With --json (and as an MCP ' +
    "tool) the answer is each service's last lines, bounded (at most 2000 lines per service, long lines cut): " +
    'a document, never an endless stream.',
  examples: [
    'kinfra sandbox logs',
    'kinfra sandbox logs backend -n 20',
    'kinfra sandbox logs -f',
    'kinfra sandbox logs backend --since 10m --json',
  ],
  inputs: {
    service: {
      in: 'arg',
      usage: '[service]',
      type: 'string',
      required: false,
      complete: 'services',
      description: 'service name, e.g. backend or db (default: all)',
    },
    follow: {
      in: 'option',
      flags: '-f, --follow',
      type: 'boolean',
      default: false,
      description: 'keep following new log lines (Ctrl-C to stop)',
    },
    tail: {
      in: 'option',
      flags: '-n, --tail <lines>',
      type: 'int',
      min: 0,
      max: 1_000_000,
      default: 100,
      description: 'lines to show from the end of each log (default: 100)',
    },
    since: {
      in: 'option',
      flags: '--since <time>',
      type: 'string',
      description: 'only lines since a time (2026-12-01T15:04:05Z) or for a duration back (10m, 1h30m)',
    },
  },
  result: (z) =>
    z.strictObject({
      instanceId: z.string(),
      services: z.array(
        z.strictObject({
          service: z.string(),
          lines: z.array(z.string()),
          truncated: z.boolean().describe('lines were left out or cut to stay within the bounds'),
        }),
      ),
      exitCode: z.number().int().describe("compose's exit code (0 for a document)"),
    }),
  effect: 'reads',
  target: 'current',
  streams: 'terminal',
  async run(ctx, input, session) {
    const { sandboxLogs } = await import('../app/compose-commands.js');
    return sandboxLogs(ctx, input, session.document);
  },
  // Ctrl-C while following is the normal way out; any other failure of compose is exit 8.
  outcome: (r) => (r.exitCode === 0 || r.exitCode === 130 ? 'ok' : { exit: 'external' }),
  render(r, p) {
    for (const s of r.services) {
      p.out(`${s.service}:${s.truncated ? ' (cut to stay bounded)' : ''}`);
      for (const l of s.lines) p.out(`  ${l}`);
    }
  },
});

export const shell = operation({
  name: 'shell',
  group: 'Inspection:',
  summary: 'open a shell in a sandbox container',
  description:
    'Open an interactive shell (bash, or sh when the image has no bash) in a service container of the sandbox.',
  examples: ['kinfra sandbox shell', 'kinfra sandbox shell db'],
  inputs: {
    service: {
      in: 'arg',
      usage: '[service]',
      type: 'string',
      required: false,
      complete: 'services',
      description: 'service name (default: backend)',
    },
  },
  result: undefined,
  effect: 'changes',
  target: 'current',
  streams: 'terminal',
  async run(ctx, input): Promise<number> {
    const { sandboxShell } = await import('../app/compose-commands.js');
    return sandboxShell(ctx, input);
  },
  outcome: childExitCode,
});

const doctorResult = (z: Zod) =>
  z.strictObject({
    healthy: z.boolean(),
    problems: z.number().int(),
    warnings: z.number().int(),
    findings: z.array(finding(z)),
    repairs: z
      .array(z.strictObject({ check: z.string(), message: z.string(), done: z.boolean(), note: z.string() }))
      .optional(),
  });

function renderDoctor(r: ResultOf<typeof doctorResult>, p: Printer): void {
  const repairs = r.repairs;
  if (repairs && repairs.length > 0) {
    p.out(p.c.bold('Repairs:'));
    for (const x of repairs) p.out(`  ${x.done ? p.c.green('✓') : p.c.yellow('!')} ${x.note}`);
    p.out('');
  }
  const mark = { ok: p.c.green('✓'), warn: p.c.yellow('!'), problem: p.c.red('✗') } as const;
  for (const f of r.findings) {
    p.out(`  ${mark[f.status]} ${f.check.padEnd(12)} ${f.message}`);
    if (f.status !== 'ok' && f.fix) p.out(`  ${' '.repeat(14)} fix: ${f.fix}`);
  }
  p.out('');
  const repairable = r.findings.filter((f) => f.repairable).length;
  if (r.problems === 0 && r.warnings === 0) p.out(p.c.green('Everything is in order.'));
  else {
    const next =
      repairable > 0 && !repairs
        ? ` Run \`kinfra sandbox doctor --repair\` to fix ${repairable} of them.`
        : repairs
          ? ' Left for you: see the fixes above.'
          : '';
    p.out(`${r.problems} problem(s), ${r.warnings} warning(s).${next}`);
  }
}

export const doctor = operation({
  name: 'doctor',
  group: 'Inspection:',
  summary: "check kinfra's state on this machine, and repair what is safe to repair",
  description:
    'Check everything kinfra relies on and say how to fix each problem: the Docker engine and Compose, ' +
    'the registry against the disk (entries without folders, sandbox folders without entries, found by ' +
    "their .env.sandbox or the Engine's labels), creates and destroys that were killed midway, pool claims " +
    'of missing sandboxes, orphaned compose projects, volumes and networks, sandbox ports held by something ' +
    "else, shared data folders, .env.sandbox files that disagree with the registry, the Python tool's " +
    'registry (imported, changed since, unreadable), and a focus record whose forwarder or sandbox is gone.\n\n' +
    'With --repair, fix what can be fixed without losing anything (rebuild an unreadable or lost registry, in one ' +
    'step, from what is left of it and the sandboxes on disk; finish interrupted creates, release stale claims, ' +
    'write a lost .env.sandbox again, clear a stale focus record) ' +
    'and list what is left for you. It never removes a folder with work in it, and never a volume.\n\n' +
    'Exit 0 when no problem is left, 11 when one is (warnings alone do not fail).',
  examples: ['kinfra sandbox doctor', 'kinfra sandbox doctor --repair', 'kinfra sandbox doctor --json'],
  inputs: {
    repair: {
      in: 'option',
      flags: '--repair',
      type: 'boolean',
      default: false,
      description: 'fix what is safe to fix, then check again',
    },
  },
  result: doctorResult,
  effect: 'changes',
  target: 'none',
  streams: 'result',
  async run(ctx, input) {
    const { doctorReport } = await import('../app/doctor-report.js');
    return doctorReport(ctx, input);
  },
  outcome: (r) => (r.healthy ? 'ok' : { exit: 'unhealthy' }),
  render: renderDoctor,
});

export const layout = operation({
  name: 'layout',
  group: 'Inspection:',
  summary: 'show the layout kinfra derives from the compose files; --write saves it as kinfra.yaml',
  description:
    'Show how kinfra runs copies of this checkout: where the layout comes from (kinfra.yaml, the built-in KTRDR ' +
    'layout, or derived from the compose files), the compose files, every published port with its variable, ' +
    "slot-0 port, step and origin (named by the layout, or derived: set through the project's own variable or " +
    "moved by kinfra's generated layer), the gate checks, and whether the layer uses Compose's merge tags or a " +
    'rendered file. With --write, a derived layout is written as a commented kinfra.yaml for review.',
  examples: ['kinfra sandbox layout', 'kinfra sandbox layout --json', 'kinfra sandbox layout --write'],
  inputs: {
    write: {
      in: 'option',
      flags: '--write',
      type: 'boolean',
      default: false,
      description: 'write the derived layout as kinfra.yaml at the repository root (never over an existing one)',
    },
  },
  result: (z) =>
    z.strictObject({
      source: z.string(),
      prefix: z.string(),
      files: z.array(z.string()),
      merge: z.enum(['tags', 'rendered']),
      maxSlot: z.number().int(),
      ports: z.array(
        z.strictObject({
          name: z.string(),
          env: z.string(),
          base: z.number().int(),
          step: z.number().int(),
          main: z.number().int().optional(),
          label: z.string().optional(),
          url: z.string().optional(),
          worker: z.number().int().optional(),
          service: z.string().optional(),
          container: z.number().int().optional(),
          derived: z.boolean(),
          variable: z.boolean(),
        }),
      ),
      gate: z.array(z.strictObject({ name: z.string(), kind: z.string(), port: z.string().optional() }).passthrough()),
      problems: z.array(z.string()),
      written: z.string().nullable(),
    }),
  effect: 'reads',
  target: 'current',
  streams: 'result',
  async run(ctx, input) {
    const { layoutReport } = await import('../app/layout-report.js');
    return layoutReport(ctx, input);
  },
  render(r, p) {
    p.out(`Layout: ${r.source} (prefix ${r.prefix}, slots 1-${r.maxSlot})`);
    p.out(`Files:  ${r.files.join(', ')} (kinfra's layer: ${r.merge === 'tags' ? 'merge tags' : 'rendered file'})`);
    p.out(
      p.table(
        ['Port', 'Variable', 'Slot 0', 'Step', 'From'],
        r.ports.map((x) => [
          x.name,
          x.env,
          String(x.main ?? x.base),
          String(x.step),
          x.derived ? `${x.service}: ${x.variable ? 'its variable' : 'fixed, moved by the layer'}` : 'layout',
        ]),
      ),
    );
    p.out(`Gate:   ${r.gate.map((c) => c.name).join(', ') || 'none'}`);
    for (const problem of r.problems) p.out(`${p.c.red('✗')} ${problem}`);
    if (r.written) p.out(`${p.c.green('Wrote')} ${r.written}: review it; kinfra reads it from now on.`);
  },
});

export const ports = operation({
  name: 'ports',
  group: 'Inspection:',
  summary: "say who holds each of the sandbox's ports, or (who <port>) any port",
  description:
    'Say who holds a port, as exactly one answer: free; a sandbox of this registry (which one, its service and ' +
    'container); another compose project (its name and working folder, from its labels); a container; a process ' +
    '(pid, command line, working folder, user). IPv4 and IPv6. Without `who`, every port of the sandbox that holds ' +
    'the current folder. Ask this instead of killing whatever listens on a port.',
  examples: ['kinfra sandbox ports', 'kinfra sandbox ports who 8000', 'kinfra sandbox ports who 5432 --json'],
  tools: [
    {
      name: 'ports',
      summary: 'every port of a sandbox, with what listens there (kinfra sandbox ports)',
      description:
        "Every port of the sandbox (its slot's and its derived ones), each with who holds it: free, this sandbox's " +
        'container (service, container), another sandbox, another compose project, a container or a process.',
      omit: ['who', 'port'],
    },
    {
      name: 'port_owner',
      summary: 'who holds a TCP port (kinfra sandbox ports who <port>)',
      description:
        'Who holds a TCP port, as exactly one answer: free (and whether the registry keeps it for a sandbox); a ' +
        'kinfra sandbox (which one, its service and container); another compose project (its name and working ' +
        'folder, from its labels); a container; a process (pid, command line, working folder, user). IPv4 and ' +
        'IPv6. Ask this instead of killing whatever listens on a port.',
      fixed: { who: 'who' },
      required: ['port'],
    },
  ],
  inputs: {
    who: {
      in: 'arg',
      usage: '[who]',
      type: 'string',
      required: false,
      choices: ['who'],
      description: '`who`, followed by the port to ask about',
    },
    port: { in: 'arg', usage: '[port]', type: 'int', required: false, min: 1, max: 65535, description: 'a TCP port' },
  },
  result: (z) =>
    z.strictObject({
      sandbox: z.string().nullable(),
      ports: z.array(
        z.strictObject({
          port: z.number().int(),
          name: z.string().nullable(),
          env: z.string().nullable(),
          state: z.enum(['free', 'sandbox', 'compose-project', 'container', 'process', 'unknown']),
          sandbox: z.string().nullable(),
          project: z.string().nullable(),
          service: z.string().nullable(),
          container: z.string().nullable(),
          workingDir: z.string().nullable(),
          pid: z.number().int().nullable(),
          command: z.string().nullable(),
          user: z.string().nullable(),
          reservedFor: z.string().nullable(),
          message: z.string(),
        }),
      ),
    }),
  effect: 'reads',
  target: 'current',
  streams: 'result',
  async run(ctx, input) {
    const { sandboxPorts } = await import('../app/port-owner.js');
    if ((input.who === undefined) !== (input.port === undefined)) {
      const { usageError } = await import('../core/errors.js');
      throw usageError(
        'invalid-arguments',
        'Give both `who` and a port, or neither.',
        'For example: kinfra sandbox ports who 8000 (or kinfra sandbox ports for the sandbox here)',
      );
    }
    return sandboxPorts(ctx, input);
  },
  render(r, p) {
    if (r.sandbox) p.out(`Ports of ${r.sandbox}:`);
    for (const x of r.ports) p.out(`${r.sandbox ? `  ${x.name} (${x.env}): ` : ''}${x.message}`);
  },
});

export const whoami = operation({
  name: 'whoami',
  group: 'Inspection:',
  summary: 'say which sandbox a folder is in, with its slot, ports and URLs',
  description:
    'Say which registered sandbox holds a folder (default: the current one): its instance id, slot, folder, ' +
    'compose project, every port and every service URL, from the registry and its .env.sandbox. A folder in no ' +
    'sandbox is an answer, not an error: it says why. Agents ask this before testing against a port.',
  examples: ['kinfra sandbox whoami', 'kinfra sandbox whoami ../ktrdr--my-feature --json'],
  inputs: {
    path: {
      in: 'arg',
      usage: '[path]',
      type: 'string',
      required: false,
      complete: 'files',
      description: 'folder to ask about (default: the current folder)',
    },
  },
  result: (z) =>
    z.strictObject({
      path: z.string(),
      sandbox: z
        .strictObject({
          instanceId: z.string(),
          slot: z.number().int(),
          path: z.string(),
          project: z.string(),
          ports: portMap(z),
          urls: z.array(serviceUrl(z)),
          hostnames: hostnames(z),
        })
        .nullable(),
      reason: z.string().nullable(),
      nearest: z
        .array(z.strictObject({ instanceId: z.string(), slot: z.number().int(), path: z.string() }))
        .describe("in no sandbox: the repository's sandboxes (or those in the nearest folders), else empty"),
    }),
  effect: 'reads',
  target: 'current',
  streams: 'result',
  async run(ctx, input) {
    const { whoami } = await import('../app/whoami.js');
    return whoami(ctx, input);
  },
  render(r, p) {
    if (!r.sandbox) {
      p.out(`${r.path} is in no sandbox: ${r.reason}`);
      if (r.nearest.length > 0) p.out('Nearest sandboxes:');
      for (const n of r.nearest) p.out(`  ${n.instanceId} (slot ${n.slot}): ${n.path}`);
      return;
    }
    const s = r.sandbox;
    p.out(`${p.c.bold(s.instanceId)} (slot ${s.slot}, compose project ${s.project})`);
    p.out(`  Path:  ${s.path}`);
    p.out(
      `  Ports: ${Object.entries(s.ports)
        .map(([name, port]) => `${name} ${port}`)
        .join(', ')}`,
    );
    for (const u of s.urls) p.out(`  ${u.label}: ${u.url}`);
    if (s.hostnames.url) p.out(`  By name: ${namedLine(s.hostnames)}`);
  },
});

/** This group, in the order help lists it. */
export const operations = [list, status, gateOperation, logs, shell, doctor, whoami, ports, layout] as const;
