// `kinfra dashboard`: the router started when none runs (as `kinfra router start`), then the dashboard's URL with
// the token in its fragment (`http://kinfra.localhost:8800/#token=...`): a browser never sends a fragment to a
// server, and the page keeps it for its own requests. `--open` hands the URL to the desktop's opener.
import { onPath, spawnDetached } from '../adapters/runner.js';
import { DASHBOARD_HOST, hostUrl } from '../core/router/hostnames.js';
import type { AppContext } from './context.js';
import { routerToken, startRouter } from './router.js';

export interface DashboardReport {
  url: string;
  /** The URL without the token, for a note or a screenshot. */
  address: string;
  routerPort: number;
  pid: number;
  /** This call started the router. */
  started: boolean;
  /** The URL was handed to the desktop's opener (xdg-open, open). */
  opened: boolean;
  message: string;
}

/** The program that opens a URL on this desktop, when there is one. */
function opener(): string | undefined {
  const candidates = process.platform === 'darwin' ? ['open'] : ['xdg-open'];
  return candidates.find((c) => onPath(c));
}

export async function openDashboard(
  ctx: AppContext,
  input: { port?: string | undefined; open: boolean },
): Promise<DashboardReport> {
  const start = await startRouter(ctx, input);
  const found = await routerToken(ctx);
  const port = found.port!;
  const address = `${hostUrl(DASHBOARD_HOST, port)}/`;
  const url = `${address}#token=${found.token}`;
  let opened = false;
  const program = input.open ? opener() : undefined;
  if (program) {
    const child = spawnDetached(program, [url], { cwd: ctx.paths.home, stdio: 'ignore' });
    child.on('error', () => undefined);
    child.unref();
    opened = true;
  }
  const how = opened ? `Opened with ${program}` : input.open ? 'No program to open it here; open' : 'Open';
  return {
    url,
    address,
    routerPort: port,
    pid: found.pid!,
    started: start.started,
    opened,
    message: `${how}: ${url}`,
  };
}
