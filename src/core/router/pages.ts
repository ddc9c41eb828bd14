// The router's own answers: the 503 page of a sandbox that is not running, the 404 of a name it does not serve, the
// 421 of a Host header it refuses, and the refusals of its control endpoints. Each comes as HTML for a browser, JSON
// for a client that asks for it, and plain text otherwise (curl). Pure.
import { hostUrl, withPort } from './hostnames.js';
import type { Route, RouteTable, SandboxRoutes } from './routes.js';

export type PageFormat = 'html' | 'json' | 'text';

/** An answer the router gives itself (the adapter writes it as it is). */
export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** HTML for a browser (it asks for text/html), JSON when asked for, plain text for the rest (curl sends *\/*). */
export function pageFormat(accept: string | undefined): PageFormat {
  const a = (accept ?? '').toLowerCase();
  if (a.includes('text/html')) return 'html';
  if (a.includes('application/json')) return 'json';
  return 'text';
}

/** Each status's reason phrase, for the pages and the raw answers to an upgrade. */
export const REASONS: Record<number, string> = {
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  421: 'Misdirected Request',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

interface Content {
  status: number;
  /** `error` of the JSON form: a stable code. */
  code: string;
  title: string;
  /** Paragraphs of the text and HTML forms. */
  lines: string[];
  /** Links of the HTML form (and lines of the text form): the names served. */
  links?: string[];
  /** The rest of the JSON form. */
  data?: Record<string, unknown>;
  headers?: Record<string, string>;
}

const escapeHtml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

const plain = (line: string) => line.replace(/`/g, '');

function render(format: PageFormat, c: Content): Reply {
  const headers = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...(c.headers ?? {}) };
  if (format === 'json') {
    const doc = { error: c.code, status: c.status, message: c.lines.map(plain).join(' '), ...(c.data ?? {}) };
    const body = `${JSON.stringify(doc)}\n`;
    return { status: c.status, headers: { ...headers, 'content-type': 'application/json; charset=utf-8' }, body };
  }
  if (format === 'text') {
    const links = c.links?.length ? `\n${c.links.map((l) => `  ${l}`).join('\n')}\n` : '';
    const body = `${c.title}\n\n${c.lines.map(plain).join('\n')}\n${links}`;
    return { status: c.status, headers: { ...headers, 'content-type': 'text/plain; charset=utf-8' }, body };
  }
  const links = c.links?.length
    ? `<ul>${c.links.map((l) => `<li><a href="${escapeHtml(l)}">${escapeHtml(l)}</a></li>`).join('')}</ul>`
    : '';
  const body =
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>' +
    `${escapeHtml(c.title)}</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:46em;margin:3em auto;` +
    'padding:0 1em;color:#222}code{background:#f3f3f3;padding:.1em .3em;border-radius:3px}</style></head><body>' +
    `<h1>${escapeHtml(c.title)}</h1>${c.lines.map((l) => `<p>${codeSpans(l)}</p>`).join('')}${links}` +
    `<p><small>kinfra router · ${c.status} ${REASONS[c.status] ?? ''}</small></p></body></html>\n`;
  return {
    status: c.status,
    headers: {
      ...headers,
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
    },
    body,
  };
}

/** `text` with its backquoted parts as <code>, escaped. */
function codeSpans(text: string): string {
  return text
    .split('`')
    .map((part, i) => (i % 2 === 1 ? `<code>${escapeHtml(part)}</code>` : escapeHtml(part)))
    .join('');
}

/** Every name the router serves, as URLs, sandbox by sandbox. */
export function servedUrls(table: RouteTable, port: number): string[] {
  return table.sandboxes.flatMap((s) => s.routes.map((r) => hostUrl(r.host, port)));
}

/** What a sandbox's registry state says to a person. */
export function stateLabel(s: SandboxRoutes): string {
  if (s.state === 'creating') return 'being created (kinfra sandbox create has not finished)';
  if (s.state === 'destroying' || s.state === 'removing-worktree') return 'being destroyed';
  return s.state ? s.state : 'stopped';
}

/** The command that starts it. */
export const upCommand = (s: SandboxRoutes) => `cd ${s.path} && kinfra sandbox up`;

/** A registered sandbox whose port has nothing listening: 503, with its state and the command that starts it. */
export function stoppedPage(format: PageFormat, s: SandboxRoutes, r: Route): Reply {
  const state = stateLabel(s);
  return render(format, {
    status: 503,
    code: 'sandbox-not-running',
    title: `${s.instanceId} is not running`,
    lines: [
      `Nothing answers on port ${r.port} (${r.name}) of sandbox ${s.instanceId} (slot ${s.slot}).`,
      `State: ${state}.`,
      `Start it with: \`${upCommand(s)}\``,
    ],
    data: {
      instanceId: s.instanceId,
      slot: s.slot,
      path: s.path,
      state,
      name: r.name,
      port: r.port,
      start: upCommand(s),
    },
    headers: { 'retry-after': '5' },
  });
}

/** The port answered, but not with HTTP (a database port), or the connection broke: 502. */
export function badGatewayPage(format: PageFormat, s: SandboxRoutes, r: Route, why: string): Reply {
  return render(format, {
    status: 502,
    code: 'bad-gateway',
    title: `${s.instanceId} ${r.name} did not answer`,
    lines: [
      `Port ${r.port} (${r.name}) of sandbox ${s.instanceId} took the connection but gave no HTTP answer: ${why}.`,
      'A port that does not speak HTTP (a database) cannot be reached through the router; use its port directly.',
    ],
    data: { instanceId: s.instanceId, name: r.name, port: r.port, why },
  });
}

/** A name under .localhost that no registered sandbox has: 404 with the names served. */
export function unknownPage(format: PageFormat, name: string, table: RouteTable, port: number): Reply {
  if (table.problem) return registryProblemPage(format, table.problem);
  const served = servedUrls(table, port);
  return render(format, {
    status: 404,
    code: 'unknown-name',
    title: `No sandbox is called ${withPort(name, port)}`,
    lines: [
      served.length
        ? `This router serves ${table.sandboxes.length} sandbox(es) under these names:`
        : 'No sandbox is registered. Create one with: `kinfra sandbox create <name>`',
    ],
    links: served,
    data: { name, served },
  });
}

/** The registry cannot be read: nothing is routed until it can (503). */
export function registryProblemPage(format: PageFormat, problem: string): Reply {
  return render(format, {
    status: 503,
    code: 'registry-unreadable',
    title: 'The sandbox registry cannot be read',
    lines: [`${problem}`, 'Nothing is routed until it can. See: `kinfra sandbox doctor`'],
    data: { problem },
  });
}

/** A Host header the router does not serve (DNS rebinding, a typo, another port): 421. */
export function refusedPage(format: PageFormat, host: string | undefined, port: number): Reply {
  return render(format, {
    status: 421,
    code: 'host-refused',
    title: 'Host not served here',
    lines: [
      `This router answers only for names under .localhost on port ${port} (and localhost itself); ` +
        `the request named ${host === undefined ? 'no host' : JSON.stringify(host)}.`,
    ],
    data: { host: host ?? null },
  });
}

/** A refused control request: 401 without the token, 403 from another site, 404/405 for what is not there. */
export function controlRefusal(status: 401 | 403 | 404 | 405, code: string, message: string): Reply {
  return render('json', {
    status,
    code,
    title: REASONS[status] ?? 'Refused',
    lines: [message],
    headers: status === 401 ? { 'www-authenticate': 'Bearer realm="kinfra router"' } : {},
  });
}
