// The utilities: url, exec, init-shared, verify, and `kinfra api` (the program's own command).
import { METHODS } from '../core/api-url.js';
import { childExitCode, megabytes, operation } from './operation.js';

/** The program's targeting options (`kinfra -p 8002 sandbox url`): every command that talks to the API reads them. */
const targeting = {
  url: {
    in: 'option',
    flags: '-u, --url <url>',
    type: 'string',
    global: true,
    description: 'backend URL for commands that talk to the API (overrides everything)',
  },
  port: {
    in: 'option',
    flags: '-p, --port <port>',
    type: 'string',
    global: true,
    description: 'backend port on localhost (shorthand for --url http://localhost:PORT)',
  },
} as const;

export const url = operation({
  name: 'url',
  group: 'Utilities:',
  summary: 'print the API URL commands here talk to, and why',
  description:
    'Print the backend URL that `kinfra api` (and other tools using the kinfra resolver) would use from ' +
    'the current folder, and where it came from. Order: --url, then --port, then the .env.sandbox of ' +
    'this folder or a parent, then http://localhost:8000. The file is read, never environment variables. ' +
    'The same port by name through the router (http://api.<instance-id>.localhost:<router port>, the running ' +
    "router's port, else the one `kinfra router start` would take) is said on stderr; --name prints it alone " +
    'instead, and fails (exit 5) when no registered sandbox has that port.',
  examples: [
    'kinfra sandbox url',
    'kinfra sandbox url --name',
    'kinfra -p 8002 sandbox url',
    'kinfra sandbox url --json',
  ],
  inputs: {
    ...targeting,
    name: {
      in: 'option',
      flags: '--name',
      type: 'boolean',
      description: 'print the named URL through the router instead (fails when the port has no name)',
    },
  },
  result: (z) =>
    z.strictObject({
      url: z.string(),
      source: z.enum(['flag --url', 'flag --port', 'env-file', 'default']),
      envFile: z.string().nullable(),
      detail: z.string(),
      named: z
        .strictObject({
          url: z.string().describe('the same port through the router, by name (browsers and curl resolve *.localhost)'),
          instanceId: z.string(),
          port: z.string().describe("the port's name in the sandbox's layout (api)"),
          routerPort: z.number().int(),
          routerRunning: z.boolean(),
        })
        .nullable()
        .describe(
          'the URL by name through the router (kinfra router start); null when no registered sandbox has the port',
        ),
      namedReason: z.string().nullable().describe('why there is no named URL; null when there is one'),
    }),
  effect: 'reads',
  target: 'current',
  streams: 'result',
  // --name only turns a missing name into an error: a tool reads `named` from the result.
  tools: [{ name: 'url', omit: ['name'] }],
  async run(ctx, input) {
    const { urlReport } = await import('../app/url-report.js');
    return urlReport(ctx, input);
  },
  render(r, p, input) {
    if (input.name && r.named) {
      p.out(r.named.url);
      p.err(p.c.dim(`${r.named.port} of ${r.named.instanceId}: ${r.url}, from ${r.detail}${routerNote(r.named)}`));
      return;
    }
    p.out(r.url);
    p.err(p.c.dim(`from ${r.detail}`));
    if (r.named) p.err(p.c.dim(`by name: ${r.named.url}${routerNote(r.named)}`));
  },
});

/** What a named URL needs: the router running, or the command that starts it. */
const routerNote = (n: { routerRunning: boolean }) =>
  n.routerRunning ? '' : ' (the router is not running: kinfra router start)';

export const exec = operation({
  name: 'exec',
  group: 'Utilities:',
  summary: "run a command with this sandbox's variables",
  description:
    'Run a command with the variables of the .env.sandbox of this folder (ports, project name, shared ' +
    "folders) and its API URL (e.g. KTRDR_API_URL) in that command's environment only. Your shell is " +
    'left untouched, so nothing leaks between terminals. The command runs without a shell.',
  examples: [
    'kinfra sandbox exec -- env',
    'kinfra sandbox exec -- pytest tests/e2e',
    'kinfra sandbox exec -- sh -c \'curl "$KTRDR_API_URL/api/v1/health"\'',
  ],
  inputs: {
    command: {
      in: 'arg',
      usage: '<command...>',
      type: 'strings',
      required: true,
      description: 'the command and its arguments (put -- before it)',
    },
  },
  result: undefined,
  effect: 'changes',
  target: 'current',
  streams: 'terminal',
  async run(ctx, input): Promise<number> {
    const { execInSandbox } = await import('../app/exec.js');
    return execInSandbox(ctx, input.command);
  },
  outcome: childExitCode,
});

export const initShared = operation({
  name: 'init-shared',
  group: 'Utilities:',
  summary: 'create the shared data folders, optionally copied from an environment',
  description:
    'Create the shared data folders every sandbox mounts (~/.ktrdr/shared/{data,models,strategies} by ' +
    'default; see `shared` in kinfra.yaml). With --from, copy each folder from an existing environment, ' +
    'showing progress and what was skipped. Files that differ in the target are kept unless you confirm ' +
    'or pass --force. An interrupted copy resumes where it stopped when run again.',
  examples: [
    'kinfra sandbox init-shared --minimal',
    'kinfra sandbox init-shared --from ../ktrdr2',
    'kinfra sandbox init-shared --from /backup/ktrdr --force',
  ],
  inputs: {
    from: {
      in: 'option',
      flags: '--from <path>',
      type: 'string',
      description: 'copy data/, models/, strategies/ from this folder (e.g. ../ktrdr2)',
    },
    minimal: {
      in: 'option',
      flags: '--minimal',
      type: 'boolean',
      default: false,
      description: 'only create the empty folders',
    },
    force: {
      in: 'option',
      flags: '-f, --force',
      type: 'boolean',
      default: false,
      description: 'overwrite files that differ, without asking',
    },
  },
  result: (z) =>
    z.strictObject({
      root: z.string(),
      from: z.string().nullable(),
      dirs: z.array(
        z.strictObject({
          name: z.string(),
          path: z.string(),
          created: z.boolean(),
          missingInSource: z.boolean(),
          copiedFiles: z.number().int(),
          copiedBytes: z.number().int(),
          alreadyThere: z.number().int(),
          overwritten: z.number().int(),
          keptDiffering: z.array(z.string()),
          skippedSpecial: z.array(z.string()),
          removedPartials: z.number().int(),
        }),
      ),
    }),
  effect: 'changes',
  target: 'none',
  streams: 'progress',
  async run(ctx, input, session) {
    const { initShared } = await import('../app/shared-data.js');
    return initShared(ctx, {
      ...input,
      confirmOverwrite: (count, sample) =>
        session.interactive
          ? session.confirm(
              `${count} file(s) in the shared folder differ from the source (${sample.join(', ')}...). Overwrite them?`,
            )
          : Promise.resolve(false),
      onProgress: (p) => session.progress({ kind: 'copying', ...p }),
    });
  },
  render(r, p) {
    p.out(`Shared data: ${r.root}`);
    for (const d of r.dirs) {
      const parts = [d.created ? 'created' : 'exists'];
      if (r.from) {
        if (d.missingInSource) parts.push(`skipped: no ${d.name}/ in ${r.from}`);
        else parts.push(`${d.copiedFiles} file(s) copied (${megabytes(d.copiedBytes)})`);
        if (d.alreadyThere) parts.push(`${d.alreadyThere} already there`);
        if (d.overwritten) parts.push(`${d.overwritten} overwritten`);
        if (d.skippedSpecial.length) parts.push(`${d.skippedSpecial.length} link(s)/special file(s) skipped`);
      }
      if (d.removedPartials) parts.push(`${d.removedPartials} partial file(s) of an interrupted copy removed`);
      p.out(`  ${d.name}/: ${parts.join(', ')}`);
    }
  },
});

export const verify = operation({
  name: 'verify',
  group: 'Utilities:',
  summary: 'check that a compose file is safe to run as many sandboxes',
  description:
    'Check a compose project for sandbox safety and say what kinfra does and what you could change. ' +
    "Errors: a configured port variable without the main checkout's port as its default, a container " +
    'port that is a variable, a shared mount without a fallback, a fixed subnet or address (a second copy ' +
    'cannot have it), a file Compose cannot read. Warnings: what every copy shares (network_mode: host, ' +
    'external volumes and networks) and ports another project already publishes. Information: what ' +
    'kinfra changes per sandbox by itself (fixed host ports, container_name, fixed names). ' +
    'Exit 10 when there is an error.',
  examples: ['kinfra sandbox verify', 'kinfra sandbox verify docker-compose.yml --json'],
  inputs: {
    file: {
      in: 'arg',
      usage: '[file]',
      type: 'string',
      required: false,
      complete: 'files',
      description: 'compose file (default: the one sandboxes use here)',
    },
  },
  result: (z) =>
    z.strictObject({
      file: z.string(),
      configSource: z.string(),
      errors: z.number().int(),
      warnings: z.number().int(),
      findings: z.array(
        z.strictObject({
          severity: z.enum(['error', 'warning', 'info']),
          service: z.string(),
          message: z.string(),
          fix: z.string(),
        }),
      ),
    }),
  effect: 'reads',
  target: 'none',
  streams: 'result',
  async run(ctx, input) {
    const { verifyComposeFile } = await import('../app/verify.js');
    return verifyComposeFile(ctx, input.file);
  },
  render(r, p) {
    for (const f of r.findings) {
      p.out(`  ${f.severity === 'info' ? 'i' : '!'} ${f.service}: ${f.message}\n    fix: ${f.fix}`);
    }
    p.out(`${p.c.green('✓')} ${r.file} is sandbox-safe${r.warnings ? ` (${r.warnings} warning(s))` : ''}`);
  },
});

export const mcp = operation({
  name: 'mcp',
  group: 'program',
  summary: 'serve the operations to coding agents as MCP tools, over stdio',
  description:
    "Run an MCP server on stdin and stdout (the Model Context Protocol, for coding agents' hosts). Its tools are " +
    "kinfra's operations with the same inputs and JSON results, and the same locks, rules and refusals: nothing " +
    'can be done through it that the command line would refuse. Every sandbox-scoped tool takes `sandbox` (a name) ' +
    "or `path` (a folder); with neither, the server's folder. Force flags are not offered unless --allow-force. " +
    'Only protocol messages go to stdout.',
  examples: ['kinfra mcp', 'kinfra mcp --allow-force'],
  inputs: {
    allowForce: {
      in: 'option',
      flags: '--allow-force',
      type: 'boolean',
      default: false,
      description: 'offer the force flags of destroy and release (which skip the unsaved-work checks)',
    },
  },
  result: undefined,
  effect: 'changes',
  target: 'none',
  streams: 'terminal',
  async run(ctx, input) {
    const [{ serveMcp }, { VERSION }] = await Promise.all([import('../mcp/server.js'), import('../cli/program.js')]);
    await serveMcp({ cwd: ctx.cwd, version: VERSION, allowForce: input.allowForce });
  },
});

export const api = operation({
  name: 'api',
  group: 'program',
  summary: 'send one request to the backend of this sandbox',
  description:
    'Send one HTTP request to the resolved backend (see `kinfra sandbox url`) and print the response: ' +
    'pretty JSON on a terminal, the raw body otherwise. A path without /api/v1 gets it; a --url that ' +
    'ends in an API path (e.g. http://host:8000/api/v2) keeps that one instead. A non-2xx answer exits 9 ' +
    "with the status on stderr. The ktrdr CLI's `ktrdr -p 8002 operations list` reads here as `kinfra -p " +
    '8002 api get operations`.',
  examples: [
    'kinfra api get health',
    'kinfra -p 8002 api get operations',
    'kinfra --url http://localhost:8003 api post workers/register --data \'{"id": "w1"}\'',
  ],
  inputs: {
    method: {
      in: 'arg',
      usage: '<method>',
      type: 'string',
      required: true,
      description: `HTTP method: ${METHODS.join(', ')} (any case)`,
    },
    path: {
      in: 'arg',
      usage: '<path>',
      type: 'string',
      required: true,
      description: 'path, e.g. operations or /api/v1/health',
    },
    data: { in: 'option', flags: '-d, --data <json>', type: 'string', description: 'JSON request body' },
    ...targeting,
  },
  result: undefined,
  // It sends what it is given: a POST or DELETE changes the backend's state.
  effect: 'changes',
  target: 'current',
  streams: 'result',
  async run(ctx, input) {
    const { apiRequest } = await import('../app/api-request.js');
    return apiRequest(ctx, input);
  },
  outcome: (r) => r.error ?? 'ok',
  render(r, p) {
    let body = r.body;
    if (p.tty && /json/.test(r.contentType)) {
      try {
        body = JSON.stringify(JSON.parse(r.body), null, 2);
      } catch {
        /* not JSON after all: print it as it came */
      }
    }
    if (body) p.out(body.replace(/\n$/, ''));
  },
});

export const compose = operation({
  name: 'compose',
  group: 'Utilities:',
  summary: "run a docker compose subcommand in this sandbox's context",
  description:
    'Run any docker compose subcommand as the sandbox runs it: its compose project name, its compose files, the ' +
    'layer kinfra generates (its owner labels) and its .env.sandbox. `compose config` shows exactly what the sandbox ' +
    'runs; `compose ps` what it has. Options after the subcommand go to compose. Refused (exit 4) while the project ' +
    "holds resources kinfra cannot prove are this sandbox's (another kinfra's, or unlabelled volumes): compose acts " +
    'by name.',
  examples: [
    'kinfra sandbox compose ps',
    'kinfra sandbox compose config',
    'kinfra sandbox compose logs --tail 5 backend',
  ],
  inputs: {
    args: {
      in: 'arg',
      usage: '<args...>',
      type: 'strings',
      required: true,
      passThrough: true,
      description: 'the compose subcommand and its arguments, e.g. ps or config',
    },
  },
  result: undefined,
  // It runs what it is given: `compose down -v` removes the sandbox's volumes.
  effect: 'changes',
  target: 'current',
  streams: 'terminal',
  async run(ctx, input): Promise<number> {
    const { composeInSandbox } = await import('../app/compose-passthrough.js');
    return composeInSandbox(ctx, input.args);
  },
  outcome: childExitCode,
});

/** This group, in the order help lists it (`api` belongs to the program, after `sandbox`). */
export const operations = [mcp, url, exec, compose, initShared, verify, api] as const;
