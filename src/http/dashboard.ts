// The dashboard and the HTTP API, as the router serves them (`http://kinfra.localhost:<port>/`, and `/_kinfra/api`,
// `/_kinfra/events`, `/_kinfra/logs` under its own names): the page and its two files, open; the catalogue's tools
// over HTTP (`POST /_kinfra/api/<tool>`, JSON in, the `--json` document out), the live events and a service's log
// tail, each wanting the token and a request from no other site (core/router/requests.ts, appAccess). A tool runs
// as MCP runs it (operations/tool-call.ts): the same use case, locks and refusals as the CLI, never `force`.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dashboardAsset } from '../adapters/dashboard-assets.js';
import { appContext } from '../app/context.js';
import { openServiceLogs } from '../app/compose-commands.js';
import { JSON_SCHEMA_VERSION } from '../core/json-output.js';
import { appAccess, type Decision, type RequestFacts } from '../core/router/requests.js';
import { usageError, type ErrorCategory } from '../core/errors.js';
import { CATALOGUE } from '../operations/catalogue.js';
import { callTool, documentSession, errorDocument, folderOf, type ErrorDocument } from '../operations/tool-call.js';
import { catalogueTools, type Tool } from '../operations/tools.js';
import { apiCatalogue } from './api-catalogue.js';
import { sseEvent, sseHead, type EventHub } from './events.js';

export interface DashboardDeps {
  port: number;
  token: string;
  /** The folder tools act from when a call names no sandbox (the router's own). */
  cwd: string;
  decide(req: RequestFacts): Decision;
  events: EventHub;
  log(line: string): void;
}

/** A failure's HTTP status, by its category: one table, as the CLI's exit codes are one table. */
const STATUS: Record<ErrorCategory | 'internal', number> = {
  usage: 400,
  'not-found': 404,
  conflict: 409,
  exists: 409,
  'port-conflict': 409,
  gate: 422,
  verify: 422,
  unhealthy: 422,
  registry: 503,
  engine: 503,
  external: 502,
  api: 502,
  interrupted: 503,
  internal: 500,
};

const BODY_MAX = 1024 * 1024;
const API = '/_kinfra/api';

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};
const PAGE_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function sendJson(res: ServerResponse, status: number, body: unknown, close = false): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...(close ? { connection: 'close' } : {}),
  });
  res.end(text);
}

const okDocument = (data: unknown) => ({ schemaVersion: JSON_SCHEMA_VERSION, ok: true, data });
const errorBody = (error: ErrorDocument) => ({ schemaVersion: JSON_SCHEMA_VERSION, ok: false, error });

function sendError(res: ServerResponse, error: ErrorDocument, status = STATUS[error.category] ?? 500): void {
  sendJson(res, status, errorBody(error));
}

function factsOf(req: IncomingMessage): RequestFacts {
  const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join(', ') : v);
  return {
    method: req.method ?? 'GET',
    url: req.url ?? '/',
    host: req.headers.host,
    authorization: req.headers.authorization,
    origin: one(req.headers.origin),
    secFetchSite: one(req.headers['sec-fetch-site']),
    accept: req.headers.accept,
  };
}

/** The request body as JSON (an empty body is `{}`), at most 1 MB. */
async function jsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > BODY_MAX) throw usageError('body-too-large', 'The request body is over 1 MB.', 'Send less.');
    chunks.push(c);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw usageError('invalid-json', 'The request body is not JSON.', 'Send a JSON object of the tool’s inputs.');
  }
}

/** Aborted when the client goes away before the answer is whole. */
function clientGone(req: IncomingMessage, res: ServerResponse): AbortSignal {
  const gone = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) gone.abort();
  });
  req.on('error', () => gone.abort());
  return gone.signal;
}

export function dashboardHandler(deps: DashboardDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const tools = new Map<string, Tool>(catalogueTools(CATALOGUE).map((t) => [t.view.name, t]));
  return (req, res) => {
    handle(req, res).catch((e) => {
      deps.log(`dashboard: ${req.method} ${req.url}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      if (!res.headersSent) sendError(res, errorDocument(e));
      else res.destroy();
    });
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const facts = factsOf(req);
    // A connection handed over for the dashboard carries the dashboard's requests only.
    if (deps.decide(facts).kind !== 'app') {
      const message = `This connection serves kinfra's dashboard; send requests for ${facts.host} on a new one.`;
      return sendJson(res, 421, errorBody(errorDocument(usageError('misdirected', message, 'Reconnect.'))), true);
    }
    const access = appAccess(facts, deps);
    if (!access.ok) {
      const hint = access.code === 'cross-site' ? 'Use the dashboard itself, or a tool.' : 'kinfra router token';
      return sendError(res, errorDocument(usageError(access.code, access.message, hint)), access.status);
    }
    // The path as sent (never normalised: `..` names no file), its query read apart.
    const path = facts.url.split('?')[0]!;
    const query = new URL(facts.url, 'http://router.invalid').searchParams;
    if (access.open) return sendAsset(res, path === '/' ? 'index.html' : path.slice('/_kinfra/dashboard/'.length));
    if (path === API) return sendJson(res, 200, okDocument(apiCatalogue()));
    if (path.startsWith(`${API}/`)) return callApi(req, res, path.slice(API.length + 1));
    if (path === '/_kinfra/events' && facts.method === 'GET') return deps.events.open(res);
    if (path === '/_kinfra/logs' && facts.method === 'GET') return tailLogs(req, res, query);
    const message = `No dashboard path ${path}.`;
    return sendError(
      res,
      errorDocument(usageError('no-such-endpoint', message, 'GET /_kinfra/api lists the API.')),
      404,
    );
  }

  function sendAsset(res: ServerResponse, name: string): void {
    const asset = dashboardAsset(name);
    if (!asset) {
      const message = `No dashboard file ${name}.`;
      return sendError(res, errorDocument(usageError('no-such-file', message, 'Rebuild kinfra.')), 404);
    }
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': asset.type,
      'content-length': asset.body.length,
      ...(name === 'index.html' ? { 'content-security-policy': PAGE_POLICY, 'x-frame-options': 'DENY' } : {}),
    });
    res.end(asset.body);
  }

  async function callApi(req: IncomingMessage, res: ServerResponse, name: string): Promise<void> {
    const t = tools.get(name);
    if (!t) {
      const message = `No tool ${name}.`;
      return sendError(res, errorDocument(usageError('no-such-tool', message, 'GET /_kinfra/api lists them.')), 404);
    }
    if (req.method !== 'POST') {
      const message = `${API}/${name} takes POST (a JSON object of its inputs).`;
      return sendError(res, errorDocument(usageError('method-not-allowed', message, 'Send POST.')), 405);
    }
    const body = await jsonBody(req);
    // The call stops waiting when its client goes.
    const session = documentSession(clientGone(req, res));
    const out = await callTool(t, body, { cwd: deps.cwd, allowForce: false, session });
    if (!out.ok) return sendError(res, out.error);
    sendJson(res, 200, okDocument(out.value));
  }

  async function tailLogs(req: IncomingMessage, res: ServerResponse, q: URLSearchParams): Promise<void> {
    const sandbox = q.get('sandbox') ?? '';
    const service = q.get('service') ?? '';
    const tail = Number(q.get('tail') ?? 100);
    if (!sandbox || !service || !Number.isInteger(tail)) {
      const message = 'Give ?sandbox=<name>&service=<service>[&tail=N].';
      return sendError(res, errorDocument(usageError('invalid-arguments', message, 'See docs/http-api.md.')));
    }
    // Refusals (no such sandbox, another kinfra's project) are an answer of their own, before the stream starts.
    const ctx = appContext(await folderOf(deps.cwd, { sandbox }));
    const follow = await openServiceLogs(ctx, { service, tail });
    const gone = clientGone(req, res);
    sseHead(res);
    try {
      const exitCode = await follow((line) => sseEvent(res, 'line', { service, line }), gone);
      sseEvent(res, 'end', { service, exitCode });
    } catch (e) {
      sseEvent(res, 'end', { service, error: errorDocument(e) });
    }
    res.end();
  }
}
