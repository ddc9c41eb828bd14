// The router itself, in the foreground (`kinfra router-serve`, what `kinfra router start` runs detached): it reads
// the route table from the registry, serves it on 127.0.0.1 and ::1, and reads the registry again whenever it changes
// (and every second), so create, destroy and slot changes need no restart. Each request is decided by
// core/router/requests.ts against the table of that moment.
import { KinfraError, usageError } from '../core/errors.js';
import { badGatewayPage, stoppedPage, type Reply } from '../core/router/pages.js';
import { decide, routeViews, type RequestFacts } from '../core/router/requests.js';
import { sameRoutes, type RouteTable } from '../core/router/routes.js';
import { currentTable } from './router-address.js';
import { chooseRouterPort, ROUTER_PORT_ENV } from '../core/router/state.js';
import { onTermination, readTokenFromStdin } from '../adapters/router-process.js';
import { listenRouter, ListenError, type RunningRouter } from '../adapters/router-server.js';
import { watchRegistry } from '../adapters/router-watch.js';
import { appServer } from '../adapters/app-server.js';
import { readGateRecords } from '../adapters/gate-records.js';
import { dashboardHandler } from '../http/dashboard.js';
import { EventHub } from '../http/events.js';
import { CATALOGUE } from '../operations/catalogue.js';
import { callTool, documentSession } from '../operations/tool-call.js';
import { catalogueTools } from '../operations/tools.js';
import type { AppContext } from './context.js';

const json = (status: number, body: unknown): Reply => ({
  status,
  headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
  body: `${JSON.stringify(body)}\n`,
});

export async function serveRouter(ctx: AppContext, input: { port?: string | undefined }): Promise<void> {
  const chosen = chooseRouterPort(input.port, process.env[ROUTER_PORT_ENV]);
  if (!chosen.ok)
    throw usageError('invalid-port', `${chosen.from} ${chosen.given} is not a port number.`, 'Give 1-65535.');
  const port = chosen.port;
  const token = await readTokenFromStdin();
  if (!token) {
    throw usageError(
      'router-serve-internal',
      'kinfra router-serve is what `kinfra router start` runs; it takes its token on its standard input.',
      'Start the router with: kinfra router start',
    );
  }
  const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);
  const startedAt = new Date().toISOString();
  let table = await currentTable(ctx, port);
  let server: RunningRouter | undefined;
  const routerDecide = (req: RequestFacts) => decide(req, { port, token, table });
  const events = new EventHub({
    sandboxes: () => listData(ctx),
    gates: () => {
      const held = new Set(table.sandboxes.map((s) => s.instanceId));
      return readGateRecords(ctx.paths.gatesDir).filter((r) => held.has(r.instanceId));
    },
    log,
  });
  const app = appServer(dashboardHandler({ port, token, cwd: ctx.cwd, decide: routerDecide, events, log }));
  try {
    server = await listenRouter(port, {
      decide: routerDecide,
      adopt: (socket) => app.adopt(socket),
      control: (endpoint) =>
        endpoint === 'health'
          ? json(200, { ok: true, pid: process.pid, port, startedAt, addresses: server?.addresses ?? [] })
          : json(200, { routes: routeViews(table, port), skipped: table.skipped, problem: table.problem ?? null }),
      failed: (d, stopped, why) =>
        stopped ? stoppedPage(d.format, d.sandbox, d.route) : badGatewayPage(d.format, d.sandbox, d.route, why),
      log,
    });
  } catch (e) {
    if (e instanceof ListenError) {
      throw new KinfraError(
        'port-conflict',
        'router-port-taken',
        `The router cannot listen on ${e.address}: ${e.code === 'EADDRINUSE' ? 'the port is taken' : e.code}.`,
        `See who holds it: kinfra sandbox ports who ${port}; or choose another: kinfra router start --port <port>`,
      );
    }
    throw e;
  }
  log(`kinfra router ${process.pid} listening on ${server.addresses.join(', ')}; ${describe(table)}`);
  const watching = watchRegistry(ctx.paths.registry, async () => {
    events.lookAgain();
    const next = await currentTable(ctx, port);
    if (sameRoutes(table, next)) return;
    table = next;
    log(`routes changed: ${describe(table)}`);
  });
  const running = server;
  await new Promise<void>((resolve) =>
    onTermination(async (signal) => {
      log(`stopping (${signal})`);
      watching.stop();
      events.stop();
      app.close();
      await running.close();
      resolve();
    }),
  );
}

function describe(t: RouteTable): string {
  if (t.problem) return `registry unreadable: ${t.problem}`;
  const names = t.sandboxes.map((s) => `${s.instanceId} (${s.routes.length} names)`);
  const skipped = t.skipped.length ? `; skipped: ${t.skipped.join('; ')}` : '';
  return `${t.sandboxes.length} sandbox(es)${names.length ? `: ${names.join(', ')}` : ''}${skipped}`;
}

/** What `kinfra sandbox list --json` prints as `data`, by the same tool the API's `list` is. */
async function listData(ctx: AppContext): Promise<unknown> {
  const list = catalogueTools(CATALOGUE).find((t) => t.view.name === 'list')!;
  const session = documentSession(new AbortController().signal);
  const out = await callTool(list, {}, { cwd: ctx.cwd, allowForce: false, session });
  if (!out.ok) {
    const e = out.error;
    throw new KinfraError(e.category as never, e.code, e.message, e.hint ?? '');
  }
  return out.value;
}
