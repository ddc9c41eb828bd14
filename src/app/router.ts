// `kinfra router start|stop|status|token`: one router per registry (per HOME). Start and stop are each one step
// under the state file's lock, so two starts at once leave one router and the second reports the first's pid. A
// router counts as running when its process answers its health endpoint with the token of the state file and its
// own pid; a state file whose process is gone, or whose pid now belongs to something else, is stale and replaced.
// Nothing is ever signalled that is not proven to be the router: its answer with the token, or its command line.
import { conflictError, externalError, KinfraError, notFoundError, usageError } from '../core/errors.js';
import { hostUrl, ROUTER_DOMAIN } from '../core/router/hostnames.js';
import type { RouteView } from '../core/router/requests.js';
import { chooseRouterPort, CONTROL_PREFIX, ROUTER_PORT_ENV, type RouterState } from '../core/router/state.js';
import { pathExists } from '../adapters/folders.js';
import { askRouter } from '../adapters/router-client.js';
import {
  isRouterProcess,
  kinfraCliPath,
  logTail,
  processRuns,
  spawnRouter,
  stopRouterProcess,
  terminateRouter,
} from '../adapters/router-process.js';
import {
  newRouterToken,
  readRouterState,
  removeRouterState,
  routerPaths,
  withRouterLock,
  writeRouterState,
  type RouterPaths,
} from '../adapters/router-state.js';
import type { AppContext } from './context.js';

export type RouterAction = 'start' | 'stop' | 'status' | 'token';

export interface RouterReport {
  action: RouterAction;
  running: boolean;
  pid: number | null;
  port: number | null;
  /** `http://localhost:<port>` while it runs. */
  url: string | null;
  /** This call started it. */
  started: boolean;
  /** This call stopped it. */
  stopped: boolean;
  /** Why a state file was found stale (and replaced or removed), or null. */
  stale: string | null;
  /** The control token (`token` only). */
  token: string | null;
  stateFile: string;
  logFile: string;
  /** What the running router serves (`status` only; empty otherwise). */
  routes: RouteView[];
  message: string;
}

/** What the state file says, checked against the process it names. */
type Found =
  | { kind: 'none' }
  | { kind: 'stale'; reason: string }
  | { kind: 'running'; state: RouterState }
  /** The process is the router by its command line, but it does not answer. */
  | { kind: 'silent'; state: RouterState };

async function answersHealth(state: RouterState): Promise<boolean> {
  const a = await askRouter(state.port, `${CONTROL_PREFIX}health`, state.token);
  return a.ok && a.status === 200 && (a.body as { pid?: unknown } | undefined)?.pid === state.pid;
}

async function findRouter(p: RouterPaths): Promise<Found> {
  const stored = await readRouterState(p);
  if (stored.kind === 'none') return { kind: 'none' };
  if (stored.kind === 'unreadable') return { kind: 'stale', reason: `${p.state} cannot be read (${stored.reason})` };
  const s = stored.state;
  if (!processRuns(s.pid)) return { kind: 'stale', reason: `process ${s.pid} is gone` };
  if (await answersHealth(s)) return { kind: 'running', state: s };
  if (await isRouterProcess(s.pid, s.cli)) return { kind: 'silent', state: s };
  return { kind: 'stale', reason: `process ${s.pid} is not the router (its pid was reused)` };
}

function report(
  p: RouterPaths,
  action: RouterAction,
  fields: Partial<RouterReport> & { message: string },
): RouterReport {
  return {
    action,
    running: false,
    pid: null,
    port: null,
    url: null,
    started: false,
    stopped: false,
    stale: null,
    token: null,
    stateFile: p.state,
    logFile: p.log,
    routes: [],
    ...fields,
  };
}

const runningFields = (s: RouterState) => ({
  running: true,
  pid: s.pid,
  port: s.port,
  url: hostUrl(ROUTER_DOMAIN, s.port),
});

function silentError(s: RouterState): KinfraError {
  return conflictError(
    'router-not-answering',
    `The router (pid ${s.pid}, port ${s.port}) runs but does not answer its health endpoint.`,
    'Stop it and start it again: kinfra router stop && kinfra router start',
  );
}

export async function startRouter(ctx: AppContext, input: { port?: string | undefined }): Promise<RouterReport> {
  const chosen = chooseRouterPort(input.port, process.env[ROUTER_PORT_ENV]);
  if (!chosen.ok) {
    throw usageError(
      'invalid-port',
      `${chosen.from} ${JSON.stringify(chosen.given)} is not a port number.`,
      'Give a port from 1 to 65535 (one above 1023 needs no root), e.g. kinfra router start --port 8800',
    );
  }
  const p = routerPaths(ctx.paths);
  return withRouterLock(p, async () => {
    const found = await findRouter(p);
    if (found.kind === 'running') {
      const s = found.state;
      const other =
        s.port !== chosen.port && chosen.from !== 'default'
          ? ` (${chosen.from} asked for ${chosen.port}: stop it first to move it)`
          : '';
      return report(p, 'start', {
        ...runningFields(s),
        message: `The router is already running on port ${s.port}${other}.`,
      });
    }
    if (found.kind === 'silent') throw silentError(found.state);
    const stale = found.kind === 'stale' ? found.reason : null;
    if (stale) await removeRouterState(p);
    const cli = kinfraCliPath();
    if (!pathExists(cli)) {
      throw externalError('kinfra-not-built', `The kinfra executable ${cli} is not there.`, 'Build it: npm run build');
    }
    const token = newRouterToken();
    const child = spawnRouter({ cli, port: chosen.port, token, log: p.log });
    const state: RouterState = {
      version: 1,
      pid: child.pid,
      port: chosen.port,
      token,
      startedAt: new Date().toISOString(),
      cli,
    };
    let ended: string | undefined;
    void child.exited.then((how) => (ended = how));
    const outcome = await waitUntilAnswering(state, () => ended);
    if (outcome !== 'answering') {
      const why = outcome === 'ended' ? `it ended (${ended})` : 'it did not answer within 10 s';
      if (outcome === 'timeout') await stopRouterProcess(child.pid, cli);
      const tail = logTail(p.log);
      const taken = tail.some((l) => l.includes('router-port-taken') || l.includes('the port is taken'));
      throw new KinfraError(
        taken ? 'port-conflict' : 'external',
        taken ? 'router-port-taken' : 'router-start-failed',
        `The router did not start on port ${chosen.port}: ${taken ? 'the port is taken' : why}.`,
        taken
          ? `See who holds it: kinfra sandbox ports who ${chosen.port}; ` +
              'or choose another: kinfra router start --port <port>'
          : `See its log: ${p.log}`,
        { log: tail },
      );
    }
    await writeRouterState(p, state);
    return report(p, 'start', {
      ...runningFields(state),
      started: true,
      stale,
      message: `The router is running on port ${state.port}.`,
    });
  });
}

/** Until the started router answers with its pid, it ends (`ended` says how), or 10 s pass. */
async function waitUntilAnswering(
  s: RouterState,
  ended: () => string | undefined,
  ms = 10_000,
): Promise<'answering' | 'ended' | 'timeout'> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (ended() !== undefined) return 'ended';
    if (await answersHealth(s)) return 'answering';
    await new Promise((r) => setTimeout(r, 50));
  }
  return 'timeout';
}

export async function stopRouter(ctx: AppContext): Promise<RouterReport> {
  const p = routerPaths(ctx.paths);
  return withRouterLock(p, async () => {
    const found = await findRouter(p);
    if (found.kind === 'none') return report(p, 'stop', { message: 'The router is not running.' });
    if (found.kind === 'stale') {
      await removeRouterState(p);
      return report(p, 'stop', {
        stale: found.reason,
        message: `The router is not running (stale state removed: ${found.reason}).`,
      });
    }
    const s = found.state;
    // Proven: it answered with the token and its pid (running), or its command line is the router's (silent).
    const how = await terminateRouter(s.pid, s.cli);
    if (how === 'still-running') {
      throw conflictError(
        'router-did-not-stop',
        `The router (pid ${s.pid}) did not end after SIGTERM, and its command line cannot be read to prove ` +
          'it is still the router.',
        `Check it: ps -p ${s.pid} -o args; then end it yourself.`,
      );
    }
    await removeRouterState(p);
    return report(p, 'stop', {
      pid: s.pid,
      port: s.port,
      stopped: true,
      message: `The router (pid ${s.pid}) stopped.`,
    });
  });
}

export async function routerStatus(ctx: AppContext): Promise<RouterReport> {
  const p = routerPaths(ctx.paths);
  const found = await findRouter(p);
  if (found.kind === 'none') return report(p, 'status', { message: 'The router is not running.' });
  if (found.kind === 'stale') {
    return report(p, 'status', {
      stale: found.reason,
      message: `The router is not running (stale state: ${found.reason}).`,
    });
  }
  if (found.kind === 'silent') throw silentError(found.state);
  const s = found.state;
  const a = await askRouter(s.port, `${CONTROL_PREFIX}routes`, s.token);
  const routes = a.ok && a.status === 200 ? ((a.body as { routes?: RouteView[] }).routes ?? []) : [];
  return report(p, 'status', { ...runningFields(s), routes, message: `The router is running on port ${s.port}.` });
}

export async function routerToken(ctx: AppContext): Promise<RouterReport> {
  const p = routerPaths(ctx.paths);
  const found = await findRouter(p);
  if (found.kind !== 'running') {
    throw notFoundError(
      'router-not-running',
      found.kind === 'silent' ? `The router (pid ${found.state.pid}) does not answer.` : 'The router is not running.',
      'Start it: kinfra router start',
    );
  }
  return report(p, 'token', { ...runningFields(found.state), token: found.state.token, message: 'The control token.' });
}

export function runRouterAction(ctx: AppContext, action: RouterAction, input: { port?: string | undefined }) {
  if (action === 'start') return startRouter(ctx, input);
  if (action === 'stop') return stopRouter(ctx);
  if (action === 'token') return routerToken(ctx);
  return routerStatus(ctx);
}
