// The router's sockets: one listener on 127.0.0.1 and one on ::1 (when the machine has IPv6), the same port. Each
// client connection is read as HTTP/1.1 (router-http.ts) one request at a time; what to do with each request is
// decided elsewhere (core/router/requests.ts, through the handler), and this carries it out: answer it, or forward it
// to the sandbox port the decision names over a connection of its own to that port, kept while the client keeps
// its own (so a backend sees one connection per client connection, as it would straight), with the request head
// rewritten (Host, X-Forwarded-*), the answer head's Location pointed back at the name, and bodies passed on as they
// come, never buffered. A websocket upgrade becomes a byte pipe once the backend switches protocols.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { DROPPED_REQUEST_HEADERS, forwardedHeaders, rewrittenLocation } from '../core/router/forwarding.js';
import type { Reply } from '../core/router/pages.js';
import { TARGET_HOST, type Decision, type RequestFacts } from '../core/router/requests.js';
import {
  ChunkedBody,
  readRequestHead,
  readResponseHead,
  refusalBytes,
  replyBytes,
  switchingHead,
  type RequestHead,
  type ResponseHead,
} from './router-http.js';

type ProxyDecision = Extract<Decision, { kind: 'proxy' }>;

export interface RouterHandler {
  decide(req: RequestFacts): Decision;
  /** The answer of a control endpoint (JSON). */
  control(endpoint: Extract<Decision, { kind: 'control' }>['endpoint']): Reply;
  /** The answer when the sandbox's port refused the connection (`stopped`) or broke it. */
  failed(d: ProxyDecision, stopped: boolean, why: string): Reply;
  /**
   * A client connection whose request is the dashboard's or the API's, handed over whole (its unread bytes back in
   * it, from this request on), for a node:http server to carry on: those answers are the app's, not a backend's.
   */
  adopt(socket: Socket): void;
  log(line: string): void;
}

export interface RunningRouter {
  /** The addresses it listens on (`127.0.0.1:8800`, `[::1]:8800`). */
  addresses: string[];
  close(): Promise<void>;
}

/** Refused: nothing of the error's kind leaves the machine (the port is taken, IPv6 is off). */
export class ListenError extends Error {
  constructor(
    readonly code: string,
    readonly address: string,
  ) {
    super(`cannot listen on ${address}: ${code}`);
  }
}

/** How long a client may take to send a request head (node:http's headersTimeout), and stay idle between two. */
const HEADERS_MS = 60_000;
const IDLE_MS = 5_000;
/** A connection to a backend idle this long is not used again (backends close idle ones after about 5 s). */
const UPSTREAM_IDLE_MS = 4_000;
/** Bytes of a next request (pipelined) held while the current one is answered, before reading pauses. */
const HELD_MAX = 64 * 1024;

/** The request headers the backend never gets from the client: the router sets them itself. */
const DROPPED = new Set(['host', ...DROPPED_REQUEST_HEADERS]);

/**
 * The request target the backend gets: the path and query as sent; an absolute URL (or `*`) as its path (the Host
 * header, not the URL, named the backend). Undefined for a target that is no URL.
 */
function upstreamPath(target: string): string | undefined {
  if (target.startsWith('/')) return target;
  if (!URL.canParse(target, 'http://base.invalid')) return undefined;
  const u = new URL(target, 'http://base.invalid');
  return `${u.pathname}${u.search}`;
}

/** The request head as the backend gets it: Host and X-Forwarded-* the router's, every other line as sent. */
function upstreamHead(head: RequestHead, path: string, routerPort: number, port: number, remote: string): string {
  const { host, ...forwarded } = forwardedHeaders(head.facts.host ?? '', routerPort, port, remote);
  let s = `${head.method} ${path} ${head.version}\r\nhost: ${host}`;
  let from = 0;
  const d = head.dropped;
  for (let i = 0; i < d.length; i += 2) {
    s += head.lines.slice(from, d[i]);
    from = d[i + 1]!;
  }
  s += from ? head.lines.slice(from) : head.lines;
  for (const [k, v] of Object.entries(forwarded)) s += `\r\n${k}: ${v}`;
  // As http-proxy-3 did: a DELETE or OPTIONS with no body says so, for backends that would wait for one.
  if ((head.method === 'DELETE' || head.method === 'OPTIONS') && !head.hasLength && head.framing.kind === 'none') {
    s += '\r\ncontent-length: 0';
  }
  return `${s}\r\n\r\n`;
}

/** The rest of `buf` after `n` bytes, or undefined when nothing is left. */
const after = (buf: Buffer, n: number) => (n >= buf.length ? undefined : buf.subarray(n));

/** A connection to a sandbox port, kept for one client connection. */
interface Upstream {
  socket: Socket;
  port: number;
  /** Answer bytes not yet carried. */
  buf: Buffer | undefined;
  /** It carried an exchange before the current one (so the backend may have closed it meanwhile). */
  reused: boolean;
  idleSince: number;
}

/** One request in flight to a backend. */
interface Exchange {
  d: ProxyDecision;
  head: RequestHead;
  /** The head the backend gets, kept to send once more on a fresh connection. */
  upHead: string;
  upstream: Upstream | undefined;
  /** The request's body is all carried (or it had none). */
  sent: boolean;
  /** The answer is all carried (or the router answered in its place). */
  answered: boolean;
  /** Something of the answer reached the client. */
  began: boolean;
  /** Once answered: whether the client's connection goes on to a next request. */
  keep: boolean;
  answer: ResponseHead | undefined;
  left: number;
  chunks: ChunkedBody | undefined;
  retried: boolean;
}

const HEAD = 0;
const BODY = 1;
const WAIT = 2;
const TUNNEL = 3;
const CLOSED = 4;

/** Reading from `s` goes on if it was paused (resuming one that was not costs a turn of the event loop). */
function resume(s: Socket | undefined): void {
  if (s?.isPaused()) s.resume();
}

const message = (e: unknown) => (e instanceof Error ? (e.stack ?? e.message) : String(e));

/** One client connection: its requests read and carried one at a time. */
class Connection {
  private buf: Buffer | undefined;
  private phase = HEAD;
  private pumping = false;
  /** The current request's body: bytes left of a Content-Length, or a chunked body followed. */
  private bodyLeft = 0;
  private bodyChunks: ChunkedBody | undefined;
  /** The exchange the current request is, or undefined when the router answered it. */
  private ex: Exchange | undefined;
  private up: Upstream | undefined;
  private clientEnded = false;
  private headSince = Date.now();
  private idleSince = 0;

  constructor(
    private readonly c: Socket,
    private readonly port: number,
    private readonly handler: RouterHandler,
    private readonly forget: (c: Connection) => void,
  ) {
    c.on(
      'data',
      this.guarded((d: Buffer) => this.onData(d)),
    );
    c.on(
      'end',
      this.guarded(() => this.onEnd()),
    );
    c.on('drain', () => resume(this.up?.socket));
    c.on('error', () => this.close());
    c.on('close', () => this.close());
  }

  /** A listener that ends this connection, never the router, when anything goes wrong in it. */
  private guarded<A extends unknown[]>(f: (...args: A) => void): (...args: A) => void {
    return (...args) => {
      try {
        f(...args);
      } catch (e) {
        this.handler.log(`connection error: ${message(e)}`);
        this.close();
      }
    };
  }

  /** Ends the connection now. */
  close(): void {
    this.finish(false);
  }

  /** Ends the connection once what was written is sent. */
  private endClient(): void {
    this.finish(true);
  }

  private finish(graceful: boolean): void {
    if (this.phase === CLOSED) return;
    this.phase = CLOSED;
    this.up?.socket.destroy();
    this.up = undefined;
    this.buf = undefined;
    if (graceful) {
      this.c.end();
      // A client that never closes its side is not waited for.
      this.c.setTimeout(IDLE_MS, () => this.c.destroy());
    } else this.c.destroy();
    this.forget(this);
  }

  /** The connection's timers, from the server's clock: a head too slow, or idle too long between requests. */
  tick(now: number): void {
    if (this.phase !== HEAD) return;
    if (this.headSince && now - this.headSince > HEADERS_MS) this.refuse(408);
    else if (this.idleSince && !this.buf && now - this.idleSince > IDLE_MS) this.close();
  }

  private onData(d: Buffer): void {
    if (this.phase === CLOSED) return;
    if (this.phase === TUNNEL) return this.toUpstream(d);
    this.buf = this.buf ? Buffer.concat([this.buf, d]) : d;
    this.pump();
  }

  private onEnd(): void {
    this.clientEnded = true;
    if (this.phase === TUNNEL) this.up?.socket.end();
    // A request cut short cannot be finished; a request read whole is answered first.
    else if (this.phase === BODY) this.close();
    else if (this.phase === HEAD) this.endClient();
  }

  /** Read what the client sent as far as it goes. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.buf && this.phase !== CLOSED) {
        if (this.phase === HEAD) {
          if (!this.readHead()) break;
        } else if (this.phase === BODY) {
          this.readBody();
        } else if (this.phase === WAIT) {
          // A next request while this one is answered: held, and reading paused once it is large.
          if (this.buf.length > HELD_MAX) this.c.pause();
          break;
        } else {
          const b = this.buf;
          this.buf = undefined;
          this.toUpstream(b);
        }
      }
    } finally {
      this.pumping = false;
    }
    if (this.clientEnded && this.phase === HEAD) this.endClient();
  }

  /** A request head, decided on; false when there is not a whole head yet (or the connection ended). */
  private readHead(): boolean {
    const r = readRequestHead(this.buf!, DROPPED);
    if (r.kind === 'more') {
      this.headSince ||= Date.now();
      return false;
    }
    if (r.kind === 'bad') {
      this.refuse(r.status);
      return false;
    }
    const raw = this.buf!;
    this.buf = after(raw, r.size);
    this.headSince = 0;
    this.idleSince = 0;
    const head = r.head;
    if (head.method === 'CONNECT') {
      this.refuse(405);
      return false;
    }
    const d = this.handler.decide(head.facts);
    if (d.kind === 'app') return this.handOver(raw);
    if (d.kind === 'proxy') this.forward(head, d);
    else this.answerHere(head, d.kind === 'reply' ? d.reply : this.handler.control(d.endpoint));
    return this.phase !== CLOSED;
  }

  /** The connection, from the request at the start of `raw` on, to the app's server; this one lets go of it. */
  private handOver(raw: Buffer): false {
    this.phase = CLOSED;
    this.buf = undefined;
    this.forget(this);
    const c = this.c;
    c.pause();
    for (const event of ['data', 'end', 'drain', 'error', 'close']) c.removeAllListeners(event);
    c.unshift(raw);
    this.handler.adopt(c);
    c.resume();
    return false;
  }

  /**
   * The router's own answer to a request. The connection goes on when the client keeps it and its body, if any, can
   * be read past (dropped); an upgrade the router answers itself ends it, as a refused websocket does.
   */
  private answerHere(head: RequestHead, reply: Reply): void {
    const keep = keepsAfterReply(head);
    this.c.write(replyBytes(reply, head.method === 'HEAD', !keep));
    if (!keep) return this.endClient();
    this.ex = undefined;
    this.startBody(head);
  }

  private startBody(head: RequestHead): void {
    const f = head.framing;
    if (f.kind === 'none') return this.requestSent();
    this.phase = BODY;
    this.bodyLeft = f.kind === 'length' ? f.length : 0;
    this.bodyChunks = f.kind === 'chunked' ? new ChunkedBody() : undefined;
  }

  /** The current request's body, to the backend (re-chunked when chunked), or dropped when nothing takes it. */
  private readBody(): void {
    const buf = this.buf!;
    const up = this.ex?.upstream;
    const out = up && !up.socket.destroyed ? up.socket : undefined;
    if (!this.bodyChunks) {
      const take = Math.min(this.bodyLeft, buf.length);
      if (out) this.write(out, take === buf.length ? buf : buf.subarray(0, take));
      this.bodyLeft -= take;
      this.buf = after(buf, take);
      if (this.bodyLeft === 0) this.requestSent();
      return;
    }
    let end: number;
    out?.cork();
    try {
      end = this.bodyChunks.feed(buf, 0, (piece) => {
        if (out) this.write(out, `${piece.length.toString(16)}\r\n`, piece, '\r\n');
      });
      if (end >= 0 && out) out.write('0\r\n\r\n');
    } catch (e) {
      // A body that cannot be read: nothing of it can be trusted, nor anything after it.
      this.handler.log(`refused a request body: ${message(e)}`);
      if (this.ex?.began) return this.close();
      return this.refuse(400);
    } finally {
      out?.uncork();
    }
    this.buf = end < 0 ? undefined : after(buf, end);
    if (end >= 0) this.requestSent();
  }

  /** Writes to a socket (text as latin1, byte for byte); when it is full, the other side pauses until it drains. */
  private write(to: Socket, ...parts: Array<string | Buffer>): void {
    let ok = true;
    for (const p of parts) ok = to.write(p, 'latin1') && ok;
    if (!ok) (to === this.c ? this.up?.socket : this.c)?.pause();
  }

  private requestSent(): void {
    this.bodyChunks = undefined;
    const ex = this.ex;
    if (ex) ex.sent = true;
    if (ex && !ex.answered) {
      this.phase = WAIT;
      return;
    }
    this.next(ex ? ex.keep : true);
  }

  /** The request to the backend: its head now, its body as it comes. */
  private forward(head: RequestHead, d: ProxyDecision): void {
    const path = upstreamPath(head.target);
    if (path === undefined) return this.refuse(400);
    const ex: Exchange = {
      d,
      head,
      upHead: upstreamHead(head, path, this.port, d.route.port, this.c.remoteAddress ?? ''),
      upstream: undefined,
      sent: false,
      answered: false,
      began: false,
      keep: false,
      answer: undefined,
      left: 0,
      chunks: undefined,
      retried: false,
    };
    this.ex = ex;
    this.send(ex);
    this.startBody(head);
  }

  private send(ex: Exchange): void {
    const up = this.upstreamTo(ex.d.route.port);
    ex.upstream = up;
    up.socket.write(ex.upHead, 'latin1');
  }

  /** The kept connection to `port` when it is there and fresh enough, else a new one. */
  private upstreamTo(port: number): Upstream {
    const now = Date.now();
    const kept = this.up;
    if (kept && kept.port === port && !kept.socket.destroyed && now - kept.idleSince < UPSTREAM_IDLE_MS) {
      kept.reused = true;
      return kept;
    }
    kept?.socket.destroy();
    const socket = connect({ port, host: TARGET_HOST, noDelay: true });
    const up: Upstream = { socket, port, buf: undefined, reused: false, idleSince: now };
    socket.on(
      'data',
      this.guarded((d: Buffer) => this.fromUpstream(up, d)),
    );
    const ended = this.guarded((e?: NodeJS.ErrnoException) => this.upstreamEnded(up, e));
    socket.on('end', () => ended());
    socket.on('error', ended);
    socket.on('close', () => ended());
    socket.on('drain', () => resume(this.c));
    this.up = up;
    return up;
  }

  private dropUpstream(up: Upstream): void {
    if (this.up === up) this.up = undefined;
    up.socket.destroy();
    // Reading may have paused for it to drain; what is left of a body is now read and dropped.
    if (this.phase !== CLOSED) resume(this.c);
  }

  private toUpstream(d: Buffer): void {
    if (!this.up) return this.close();
    this.write(this.up.socket, d);
  }

  private fromUpstream(up: Upstream, d: Buffer): void {
    if (this.phase === CLOSED) return;
    if (this.phase === TUNNEL) return this.write(this.c, d);
    const ex = this.ex;
    // Bytes nobody asked for: that connection is not to be trusted any more.
    if (!ex || ex.upstream !== up || ex.answered) return this.dropUpstream(up);
    up.buf = up.buf ? Buffer.concat([up.buf, d]) : d;
    // Several writes (a head, then body bytes) go out as one; a whole small answer is one write anyway.
    let corked = false;
    const cork = () => {
      if (!corked) this.c.cork();
      corked = true;
    };
    try {
      this.carryAnswer(ex, up, cork);
    } finally {
      if (corked) this.c.uncork();
    }
  }

  /** The answer's head (Location pointed back at the name) and its body's bytes, to the client as they come. */
  private carryAnswer(ex: Exchange, up: Upstream, cork: () => void): void {
    while (up.buf && !ex.answered && this.phase !== CLOSED) {
      const buf = up.buf;
      if (!ex.answer) {
        const r = readResponseHead(buf, ex.head.method);
        if (r.kind === 'more') return;
        if (r.kind === 'bad') return this.failed(ex, up, false, r.why);
        const h = r.head;
        up.buf = after(buf, r.size);
        if (h.status === 101 && !ex.head.upgrade) return this.failed(ex, up, false, 'it switched protocols unasked');
        ex.began = true;
        if (h.status === 101) {
          this.write(this.c, switchingHead(h));
          return this.tunnel(up);
        }
        const moved = this.answerHead(ex, h);
        const f = h.framing;
        if (!moved && f.kind === 'length' && h.status >= 200 && buf.length >= r.size + f.length) {
          // The whole answer is here as sent (the common small answer): one write of its bytes.
          const whole = r.size + f.length;
          this.write(this.c, whole === buf.length ? buf : buf.subarray(0, whole));
          up.buf = after(buf, whole);
          ex.answer = h;
          this.answerDone(ex, up);
          continue;
        }
        cork();
        this.write(this.c, moved ?? buf.subarray(0, r.size));
        // An interim answer (100 Continue, 103 Early Hints): passed on, and the real one follows.
        if (h.status < 200) continue;
        ex.answer = h;
        ex.left = h.framing.kind === 'length' ? h.framing.length : 0;
        ex.chunks = h.framing.kind === 'chunked' ? new ChunkedBody() : undefined;
        if (h.framing.kind === 'none') this.answerDone(ex, up);
        continue;
      }
      const kind = ex.answer.framing.kind;
      let take = buf.length;
      if (kind === 'length') take = Math.min(ex.left, buf.length);
      else if (kind === 'chunked') {
        let end: number;
        try {
          end = ex.chunks!.feed(buf, 0);
        } catch (e) {
          this.handler.log(`cut an answer from port ${up.port} short: ${message(e)}`);
          return this.close();
        }
        if (end >= 0) take = end;
      }
      this.write(this.c, take === buf.length ? buf : buf.subarray(0, take));
      up.buf = after(buf, take);
      ex.left -= take;
      if ((kind === 'length' && ex.left === 0) || (kind === 'chunked' && ex.chunks!.done)) this.answerDone(ex, up);
    }
  }

  /** The answer's head with its Location pointed at the name the client used; undefined when it stays as sent. */
  private answerHead(ex: Exchange, h: ResponseHead): string | undefined {
    if (!h.location) return undefined;
    const [from, to] = h.location;
    const moved = rewrittenLocation(h.text.slice(from, to), ex.d.route.port, ex.head.facts.host ?? '');
    return moved === undefined ? undefined : `${h.text.slice(0, from)}${moved}${h.text.slice(to)}\r\n\r\n`;
  }

  private answerDone(ex: Exchange, up: Upstream): void {
    ex.answered = true;
    ex.keep = ex.head.keepAlive && ex.answer!.keepAlive;
    // More bytes than the answer holds, a backend that closes, or one that answered before it had the whole
    // request: that connection is not used again.
    if (up.buf || !ex.answer!.keepAlive || !ex.sent) this.dropUpstream(up);
    else up.idleSince = Date.now();
    if (ex.sent) this.next(ex.keep);
  }

  /** The backend's connection ended (`e` says how, when it broke). */
  private upstreamEnded(up: Upstream, e: NodeJS.ErrnoException | undefined): void {
    if (this.phase === CLOSED) return;
    if (this.phase === TUNNEL) {
      if (this.up !== up) return;
      return e ? this.close() : this.endClient();
    }
    const ex = this.ex;
    if (!ex || ex.upstream !== up || ex.answered) {
      if (this.up === up) this.up = undefined;
      return;
    }
    if (!e && ex.answer?.framing.kind === 'close') {
      // An answer that ends with its connection: it ended, and so does the client's.
      ex.answered = true;
      if (this.up === up) this.up = undefined;
      return this.endClient();
    }
    this.failed(ex, up, e?.code === 'ECONNREFUSED', e?.code ?? 'ECONNRESET');
  }

  /** The backend refused or broke the exchange: sent again once, the error page, or the client cut off. */
  private failed(ex: Exchange, up: Upstream, refused: boolean, why: string): void {
    this.dropUpstream(up);
    if (ex.began) return this.close();
    // A kept connection the backend closed as it was used again: a request with no body goes once more.
    if (up.reused && !ex.retried && !refused && ex.head.framing.kind === 'none' && ex.upstream === up) {
      ex.retried = true;
      return this.send(ex);
    }
    ex.answered = true;
    ex.began = true;
    ex.keep = keepsAfterReply(ex.head);
    this.c.write(replyBytes(this.handler.failed(ex.d, refused, why), ex.head.method === 'HEAD', !ex.keep));
    if (!ex.keep) return this.endClient();
    if (ex.sent) this.next(true);
  }

  /** The exchange is over both ways: the next request, or the end of the connection. */
  private next(keep: boolean): void {
    this.ex = undefined;
    if (!keep) return this.endClient();
    this.phase = HEAD;
    this.idleSince = Date.now();
    resume(this.c);
    this.pump();
  }

  private tunnel(up: Upstream): void {
    this.phase = TUNNEL;
    this.ex = undefined;
    if (up.buf) this.write(this.c, up.buf);
    up.buf = undefined;
    const held = this.buf;
    this.buf = undefined;
    if (held) this.toUpstream(held);
    if (this.clientEnded) up.socket.end();
  }

  /** An unreadable request: its status, then the connection closes. */
  private refuse(status: number): void {
    if (this.c.writable) this.c.write(refusalBytes(status));
    this.endClient();
  }
}

/**
 * Whether a client's connection goes on after an answer the router gives in the backend's place: when the client
 * keeps it, it is no upgrade, and the request's body (if any) will come and can be read past. A client waiting for
 * `100 Continue` before its body may never send it.
 */
function keepsAfterReply(head: RequestHead): boolean {
  return head.keepAlive && !head.upgrade && !(head.expectContinue && head.framing.kind !== 'none');
}

export async function listenRouter(port: number, handler: RouterHandler): Promise<RunningRouter> {
  const connections = new Set<Connection>();
  const clock = setInterval(() => {
    const now = Date.now();
    for (const c of connections) c.tick(now);
  }, 1000);
  clock.unref();

  const servers: Server[] = [];
  const addresses: string[] = [];
  const open = async (host: string, optional: boolean) => {
    const server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
      socket.on('error', () => undefined);
      connections.add(new Connection(socket, port, handler, (c) => connections.delete(c)));
    });
    const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port, host, exclusive: true, ipv6Only: host.includes(':') }, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
      // No IPv6 on this machine: 127.0.0.1 alone. Anything else (the port is taken) is a refusal.
      if (optional && (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT')) return;
      throw new ListenError(code, address);
    }
    servers.push(server);
    addresses.push(address);
  };
  const closeAll = () => Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  try {
    await open('127.0.0.1', false);
    await open('::1', true);
  } catch (e) {
    clearInterval(clock);
    await closeAll();
    throw e;
  }
  return {
    addresses,
    close: async () => {
      clearInterval(clock);
      const closing = closeAll();
      for (const c of connections) c.close();
      await closing;
    },
  };
}
