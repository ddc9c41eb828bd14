// The router: `kinfra router start|stop|status|token`, one local HTTP proxy per registry that reaches every sandbox
// by name (`http://<port-name>.<instance-id>.localhost:<port>`), and the hidden `kinfra router-serve` that `start`
// runs detached. See docs/router.md.
import { operation } from './operation.js';

/** The router's port: the program's `-p, --port` (commander gives it to the program wherever it is written). */
const routerPort = {
  in: 'option',
  flags: '-p, --port <port>',
  type: 'string',
  global: true,
  description: 'router port (start; default KINFRA_ROUTER_PORT, else 8800)',
} as const;

export const router = operation({
  name: 'router',
  group: 'program',
  summary: 'reach every sandbox by name through a local router',
  description:
    'A small HTTP proxy, one per registry, on 127.0.0.1 and ::1 only: http://<instance-id>.localhost:<port> reaches ' +
    "the sandbox's main HTTP port (api), http://<port-name>.<instance-id>.localhost:<port> any of its published " +
    'ports (api, worker-1, ...; `_` becomes `-`). Websockets, streams and large bodies pass through; each sandbox is ' +
    'its own browser origin. Routes follow the registry as it changes. A sandbox that is not running gets a 503 page ' +
    'with the command that starts it; an unknown name a 404 listing the names served; a Host header it does not ' +
    'serve is refused. start runs it in the background (idempotent: a running router is reported, not doubled), on ' +
    '--port, else KINFRA_ROUTER_PORT, else 8800; stop ends it; status says whether it runs and what it routes; token ' +
    'prints the bearer token of its control endpoints (/_kinfra/...).',
  examples: [
    'kinfra router start',
    'kinfra router status --json',
    'kinfra router start --port 9900',
    'curl -H "Authorization: Bearer $(kinfra router token)" http://localhost:8800/_kinfra/routes',
    'kinfra router stop',
  ],
  inputs: {
    action: {
      in: 'arg',
      usage: '<action>',
      type: 'string',
      required: true,
      choices: ['start', 'stop', 'status', 'token'],
      description: 'start, stop, status or token',
    },
    port: routerPort,
  },
  result: (z) =>
    z.strictObject({
      action: z.enum(['start', 'stop', 'status', 'token']),
      running: z.boolean(),
      pid: z.number().int().nullable(),
      port: z.number().int().nullable(),
      url: z.string().nullable().describe('http://localhost:<port> while it runs'),
      started: z.boolean().describe('this call started it'),
      stopped: z.boolean().describe('this call stopped it'),
      stale: z.string().nullable().describe('why a state file was stale (replaced by start, removed by stop)'),
      token: z.string().nullable().describe('the control token (token only)'),
      stateFile: z.string(),
      logFile: z.string(),
      routes: z
        .array(
          z.strictObject({
            host: z.string().describe('as a browser sends it: api.ktrdr--a.localhost:8800'),
            url: z.string(),
            instanceId: z.string(),
            name: z.string().describe("the port's name: api, worker_1"),
            port: z.number().int().describe('the published port it reaches'),
            target: z.string().describe('http://127.0.0.1:<port>'),
            main: z.boolean().describe('the sandbox name itself (<instance-id>.localhost)'),
          }),
        )
        .describe('what the running router serves (status; empty otherwise)'),
      message: z.string(),
    }),
  effect: 'changes',
  target: 'none',
  streams: 'result',
  async run(ctx, input) {
    const { runRouterAction } = await import('../app/router.js');
    return runRouterAction(ctx, input.action as 'start' | 'stop' | 'status' | 'token', input);
  },
  render(r, p) {
    if (r.action === 'token') {
      p.out(r.token ?? '');
      return;
    }
    if (r.stale) p.err(p.c.dim(`Stale state: ${r.stale}`));
    p.out(r.message);
    if (!r.running || r.port === null) return;
    p.out(`  URL:  ${r.url} (pid ${r.pid})`);
    if (r.action === 'start') {
      p.out(`  Open: http://<instance-id>.localhost:${r.port}, http://<port-name>.<instance-id>.localhost:${r.port}`);
    }
    if (r.action === 'status') {
      if (r.routes.length === 0) p.out('  No sandbox is registered.');
      else
        p.out(
          p.table(
            ['Name', 'Sandbox', 'Port', 'Target'],
            r.routes.map((x) => [x.url, x.instanceId, x.name, x.target]),
          ),
        );
    }
  },
});

export const routerServe = operation({
  name: 'router-serve',
  group: 'program',
  hidden: true,
  summary: 'run the router in the foreground (what kinfra router start runs)',
  description:
    'Serve the router on 127.0.0.1 and ::1 until SIGTERM. `kinfra router start` runs it detached and hands it its ' +
    'token on standard input; run by hand it refuses.',
  examples: ['kinfra router-serve --port 8800'],
  inputs: { port: routerPort },
  result: undefined,
  effect: 'changes',
  target: 'none',
  streams: 'terminal',
  async run(ctx, input) {
    const { serveRouter } = await import('../app/router-serve.js');
    await serveRouter(ctx, input);
  },
});

export const dashboard = operation({
  name: 'dashboard',
  group: 'program',
  summary: 'open the live dashboard of every sandbox (starts the router if needed)',
  description:
    'Every sandbox at a glance, live: its slot, branch and status, its Startability Gate check by check (a gate ' +
    'running in a terminal turns green on the page too), its URLs, workers and focus, the pool, and a service’s ' +
    'logs; ' +
    'with up, down, gate, release and destroy (asked first, refused exactly as the CLI refuses). Served by the ' +
    'router at http://kinfra.localhost:<port>/; this starts the router when none runs and prints the URL with the ' +
    'token in its fragment (#token=...: a browser never sends it to a server; the page keeps it for its own calls). ' +
    '--open hands the URL to the desktop (xdg-open, open). The HTTP API behind it: docs/http-api.md.',
  examples: ['kinfra dashboard', 'kinfra dashboard --open', 'kinfra dashboard --json'],
  inputs: {
    open: {
      in: 'option',
      flags: '--open',
      type: 'boolean',
      default: false,
      description: 'open it in the browser (xdg-open, open)',
    },
    port: routerPort,
  },
  result: (z) =>
    z.strictObject({
      url: z.string().describe('http://kinfra.localhost:<port>/#token=<token>'),
      address: z.string().describe('the same without the token'),
      routerPort: z.number().int(),
      pid: z.number().int().describe("the router's"),
      started: z.boolean().describe('this call started the router'),
      opened: z.boolean().describe('the URL was handed to the desktop opener'),
      message: z.string(),
    }),
  effect: 'changes',
  target: 'none',
  streams: 'result',
  async run(ctx, input) {
    const { openDashboard } = await import('../app/dashboard.js');
    return openDashboard(ctx, { port: input.port, open: Boolean(input.open) });
  },
  render(r, p) {
    if (r.started) p.err(p.c.dim(`Started the router (pid ${r.pid}) on port ${r.routerPort}.`));
    p.out(r.message);
  },
});

/** This group, in the order help lists it. */
export const operations = [router, routerServe, dashboard] as const;
