// The router's state file (`~/.ktrdr/router/router.json`, mode 0600): which process is the router of this registry,
// on which port, and the token its control endpoints want. Written once a started router answers, read by every
// `kinfra router` command; a file whose process is gone is stale. Parsed by hand, like the registry. Pure.

export const ROUTER_STATE_VERSION = 1;

/** The documented default port: unprivileged, and outside every port of the built-in layout's slots 0-99. */
export const DEFAULT_ROUTER_PORT = 8800;

/** The variable that sets the router's port (below `--port`, above the default). */
export const ROUTER_PORT_ENV = 'KINFRA_ROUTER_PORT';

/** The path prefix of the router's own endpoints, on its own names (localhost, 127.0.0.1, [::1]) only. */
export const CONTROL_PREFIX = '/_kinfra/';

export interface RouterState {
  version: typeof ROUTER_STATE_VERSION;
  pid: number;
  port: number;
  /** The bearer token of the control endpoints. */
  token: string;
  startedAt: string;
  /** The kinfra executable the router runs (its command line names it: how stop proves the pid is the router). */
  cli: string;
}

const isPort = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535;

/** The state file's text, or why it cannot be used (then it is treated as no router: a new start replaces it). */
export function parseRouterState(text: string): { ok: true; state: RouterState } | { ok: false; reason: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return { ok: false, reason: `not valid JSON (${(e as Error).message})` };
  }
  const o = raw as Record<string, unknown>;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, reason: 'expected an object' };
  if (o.version !== ROUTER_STATE_VERSION) return { ok: false, reason: `version ${JSON.stringify(o.version)}` };
  if (!Number.isInteger(o.pid) || (o.pid as number) < 1) return { ok: false, reason: 'pid: expected a process id' };
  if (!isPort(o.port)) return { ok: false, reason: 'port: expected a port number' };
  if (typeof o.token !== 'string' || o.token.length < 16) return { ok: false, reason: 'token: expected a token' };
  if (typeof o.startedAt !== 'string') return { ok: false, reason: 'startedAt: expected a timestamp' };
  if (typeof o.cli !== 'string') return { ok: false, reason: 'cli: expected a path' };
  return {
    ok: true,
    state: {
      version: ROUTER_STATE_VERSION,
      pid: o.pid as number,
      port: o.port,
      token: o.token,
      startedAt: o.startedAt,
      cli: o.cli,
    },
  };
}

export function formatRouterState(s: RouterState): string {
  return `${JSON.stringify(s, null, 2)}\n`;
}

/**
 * The port to start on: `--port`, else the variable, else the default. Undefined with the reason when the one given
 * is not a port number.
 */
export function chooseRouterPort(
  flag: string | undefined,
  env: string | undefined,
): { ok: true; port: number; from: string } | { ok: false; given: string; from: string } {
  const pick = (value: string, from: string) =>
    /^\d{1,5}$/.test(value.trim()) && isPort(Number(value))
      ? ({ ok: true, port: Number(value), from } as const)
      : ({ ok: false, given: value, from } as const);
  if (flag !== undefined) return pick(flag, '--port');
  if (env !== undefined && env.trim() !== '') return pick(env, ROUTER_PORT_ENV);
  return { ok: true, port: DEFAULT_ROUTER_PORT, from: 'default' };
}
