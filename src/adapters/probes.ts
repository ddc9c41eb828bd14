// Readiness probes for the Startability Gate. They never throw for network outcomes: every attempt resolves to what was
// tried and what came back, in words fit for the gate's diagnostics. They connect to 127.0.0.1 but say "localhost", as
// a user would type it (and as the seed's messages do).

import { request } from 'node:http';
import { connect, type Socket } from 'node:net';

export interface ProbeOutcome {
  ok: boolean;
  tried: string;
  got: string;
  status?: number;
  json?: unknown;
}

export interface ProbeOptions {
  host?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

const DEFAULT_TIMEOUT = 2000;
const MAX_BODY = 1024 * 1024;

function networkWords(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'connection reset';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
    default:
      return e.code ? e.code.toLowerCase() : e.message;
  }
}

/**
 * A socket conversation with one deadline: `onData` sees everything received so
 * far and returns an outcome when it has one. Ends the socket however it goes.
 */
function converse(
  port: number,
  opts: ProbeOptions,
  tried: string,
  onConnect: (s: Socket) => ProbeOutcome | undefined,
  onData: (all: Buffer) => ProbeOutcome | undefined,
  onEnd: () => ProbeOutcome,
): Promise<ProbeOutcome> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT;
  return new Promise((resolve) => {
    let settled = false;
    let received = Buffer.alloc(0);
    const socket = connect({ port, host: opts.host ?? '127.0.0.1' });
    const finish = (o: ProbeOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(o);
    };
    const onAbort = () => finish({ ok: false, tried, got: 'aborted' });
    const timer = setTimeout(() => finish({ ok: false, tried, got: `no answer within ${timeoutMs} ms` }), timeoutMs);
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('connect', () => {
      const o = onConnect(socket);
      if (o) finish(o);
    });
    socket.on('data', (d: Buffer) => {
      received = Buffer.concat([received, d]);
      const o = onData(received);
      if (o) finish(o);
    });
    socket.on('error', (e: NodeJS.ErrnoException) => finish({ ok: false, tried, got: networkWords(e) }));
    socket.on('close', () => finish(onEnd()));
  });
}

/** A protocol 3.0 StartupMessage, as pg_isready sends. */
function startupMessage(): Buffer {
  const params = Buffer.from('user\0postgres\0database\0postgres\0application_name\0kinfra-probe\0\0', 'utf8');
  const head = Buffer.alloc(8);
  head.writeInt32BE(8 + params.length, 0);
  head.writeInt32BE(196608, 4);
  return Buffer.concat([head, params]);
}

/** Fields of an ErrorResponse/NoticeResponse body: type byte -> value. */
function errorFields(body: Buffer): Map<string, string> {
  const fields = new Map<string, string>();
  let i = 0;
  while (i < body.length && body[i] !== 0) {
    const type = String.fromCharCode(body[i]!);
    const end = body.indexOf(0, i + 1);
    if (end < 0) break;
    fields.set(type, body.toString('utf8', i + 1, end));
    i = end + 1;
  }
  return fields;
}

/**
 * Is Postgres accepting connections? Speaks the wire protocol like pg_isready:
 * any authentication request means ready; an error with SQLSTATE 57P03 means
 * still starting; any other error still means the server is up. A TCP connect
 * alone proves nothing: Docker's port proxy accepts before the server listens.
 */
export function probePostgres(port: number, opts: ProbeOptions = {}): Promise<ProbeOutcome> {
  const tried = `Postgres startup on localhost:${port}`;
  return converse(
    port,
    opts,
    tried,
    (s) => {
      s.write(startupMessage());
      return undefined;
    },
    (all) => {
      let at = 0;
      // Skip whole NoticeResponses ('N'); decide on the first other message.
      while (all.length >= at + 5) {
        const type = String.fromCharCode(all[at]!);
        const len = all.readInt32BE(at + 1);
        if (all.length < at + 1 + len) return undefined;
        const body = all.subarray(at + 5, at + 1 + len);
        if (type === 'N') {
          at += 1 + len;
          continue;
        }
        if (type === 'R') return { ok: true, tried, got: 'accepting connections' };
        if (type === 'E') {
          const code = errorFields(body).get('C') ?? '';
          if (code === '57P03') return { ok: false, tried, got: 'the database system is starting up (57P03)' };
          return { ok: true, tried, got: `accepting connections (server answered ${code || 'an error'})` };
        }
        return { ok: false, tried, got: `unexpected reply '${type}'` };
      }
      return undefined;
    },
    () => ({ ok: false, tried, got: 'connection reset before the server answered' }),
  );
}

export function probeTcp(port: number, opts: ProbeOptions = {}): Promise<ProbeOutcome> {
  const tried = `TCP connect to localhost:${port}`;
  return converse(
    port,
    opts,
    tried,
    () => ({ ok: true, tried, got: 'port open' }),
    () => undefined,
    () => ({ ok: false, tried, got: 'connection closed' }),
  );
}

/** GET a path over plain node:http (global fetch refuses "bad ports" such as 6000 or 6666). */
export function probeHttp(
  port: number,
  path: string,
  opts: ProbeOptions & { expectStatus?: number[] } = {},
): Promise<ProbeOutcome> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT;
  const tried = `GET http://localhost:${port}${path}`;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (o: ProbeOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      req.destroy();
      resolve(o);
    };
    const req = request(
      {
        host: opts.host ?? '127.0.0.1',
        port,
        path,
        method: 'GET',
        agent: false,
        headers: { connection: 'close', accept: 'application/json, */*' },
      },
      (res) => {
        const status = res.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (d: Buffer) => {
          size += d.length;
          if (size <= MAX_BODY) chunks.push(d);
        });
        res.on('error', (e: NodeJS.ErrnoException) => finish({ ok: false, tried, got: networkWords(e), status }));
        res.on('end', () => {
          const ok = opts.expectStatus ? opts.expectStatus.includes(status) : status >= 200 && status < 400;
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text.trim() ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          finish({
            ok,
            tried,
            got: ok ? String(status) : `returned ${status}`,
            status,
            ...(json === undefined ? {} : { json }),
          });
        });
      },
    );
    const onAbort = () => finish({ ok: false, tried, got: 'aborted' });
    const timer = setTimeout(() => finish({ ok: false, tried, got: `timed out after ${timeoutMs} ms` }), timeoutMs);
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (e: NodeJS.ErrnoException) => finish({ ok: false, tried, got: networkWords(e) }));
    req.end();
  });
}
