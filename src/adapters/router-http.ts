// HTTP/1.1 on the wire, as much as the router needs to carry a request to a sandbox's port and its answer back:
// request heads read strictly (anything ambiguous about where a message ends, or what it names, is refused: a request
// the router and the backend could read differently would be a way around its rules), answer heads read for their
// framing and Location, chunked bodies followed to their end, and the router's own replies written. The router
// forwards bytes, not objects: what node:http builds per request (an IncomingMessage, a ServerResponse and a
// ClientRequest with their streams) is most of what a request through it costs.
import { STATUS_CODES } from 'node:http';
import type { Reply } from '../core/router/pages.js';
import type { RequestFacts } from '../core/router/requests.js';

/** The longest head the router reads (node:http's default limit). */
export const MAX_HEAD = 16 * 1024;
const MAX_TRAILERS = 16 * 1024;
const CRLF2 = Buffer.from('\r\n\r\n');
const HTTP_SLASH = Buffer.from('HTTP/');

/** How a message's body ends. */
export type Framing =
  | { kind: 'none' }
  | { kind: 'length'; length: number }
  | { kind: 'chunked' }
  /** An answer that ends when the backend closes the connection. */
  | { kind: 'close' };

export interface RequestHead {
  method: string;
  /** The request target as sent. */
  target: string;
  /** `HTTP/1.1` or `HTTP/1.0`. */
  version: string;
  /** The head as sent, without its request line and blank line: `\r\nName: value` for each header line. */
  lines: string;
  /** Where the header lines named in `readRequestHead`'s `drop` are in `lines`: start and end of each, in turn. */
  dropped: number[];
  facts: RequestFacts;
  framing: Framing;
  /** It has a Content-Length header (perhaps 0). */
  hasLength: boolean;
  /** The client keeps the connection after this exchange. */
  keepAlive: boolean;
  /** A protocol switch is asked for (a websocket): `Connection: upgrade` and an Upgrade header. */
  upgrade: boolean;
  /** `Expect: 100-continue`: the body comes only once the server says so (or never, when it answers first). */
  expectContinue: boolean;
}

export interface ResponseHead {
  /** The head as sent, without its blank line. */
  text: string;
  status: number;
  /** Where the value of its Location header is in `text` (start, end), or undefined. */
  location: [number, number] | undefined;
  framing: Framing;
  /** The backend keeps the connection after this answer. */
  keepAlive: boolean;
}

export type HeadRead<T> =
  { kind: 'more' } | { kind: 'head'; head: T; size: number } | { kind: 'bad'; status: number; why: string };

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/**
 * One header line, read from where `lastIndex` says: a name of token characters, a colon right after it (no space
 * before it), and a value of visible characters, spaces, tabs and obs-text; never a control character (CR, LF, NUL).
 */
const HEADER_LINE = /[!#$%&'*+.^_`|~0-9A-Za-z-]+:[\t\x20-\x7e\x80-\xff]*/y;
/** A request target: visible characters and obs-text, no space or control character. */
const TARGET = /^[\x21-\x7e\x80-\xff]+$/;
const DIGITS = /^\d{1,15}$/;

const bad = (status: number, why: string) => ({ kind: 'bad', status, why }) as const;

/** Whether a comma-separated header value (Connection) holds `token`, case-insensitively. */
function hasToken(value: string, token: string): boolean {
  for (const part of value.split(',')) if (part.trim().toLowerCase() === token) return true;
  return false;
}

/**
 * The head at the start of `buf` once all of it is there: its text (without the blank line), its size with it, and
 * where its first line ends; else the read so far (`more`, or `tooLarge` past MAX_HEAD).
 */
function headText(
  buf: Buffer,
  tooLarge: HeadRead<never>,
): { text: string; size: number; firstEnd: number } | HeadRead<never> {
  const end = buf.indexOf(CRLF2);
  if (end < 0) return buf.length > MAX_HEAD ? tooLarge : { kind: 'more' };
  if (end > MAX_HEAD) return tooLarge;
  const text = buf.toString('latin1', 0, end);
  const firstEnd = text.indexOf('\r\n');
  return { text, size: end + 4, firstEnd: firstEnd < 0 ? text.length : firstEnd };
}

/**
 * Each header line of `text` after `from` (the CRLF that ends the first line), with its name lowercased when its
 * length is one of `lengths` (else '': a name nobody asked about is never lowercased), where its value starts and
 * where the line ends. Returns false to stop.
 */
function eachHeader(
  text: string,
  from: number,
  lengths: ReadonlySet<number>,
  f: (name: string, valueAt: number, end: number, lineAt: number) => boolean,
): boolean {
  let at = from;
  while (at < text.length) {
    const start = at + 2;
    let end = text.indexOf('\r\n', start);
    if (end < 0) end = text.length;
    const colon = text.indexOf(':', start);
    if (colon <= start || colon > end) return false;
    const name = lengths.has(colon - start) ? text.slice(start, colon).toLowerCase() : '';
    if (!f(name, colon + 1, end, start)) return false;
    at = end;
  }
  return true;
}

/** A header's value: between its colon and its line end, without the blanks around it. */
const valueOf = (text: string, at: number, end: number) => text.slice(at, end).trim();

/** The lengths of the request header names the router reads. */
const REQUEST_NAMES = new Set([4, 6, 7, 10, 13, 14, 17]);
const lengthsOf = new WeakMap<ReadonlySet<string>, ReadonlySet<number>>();

/** The lengths of the names the router reads or drops (once per set of dropped names). */
function nameLengths(drop: ReadonlySet<string>): ReadonlySet<number> {
  let lengths = lengthsOf.get(drop);
  if (!lengths) lengthsOf.set(drop, (lengths = new Set([...REQUEST_NAMES, ...[...drop].map((n) => n.length)])));
  return lengths;
}

/**
 * A request head. Refused (400) when its framing could be read two ways: Content-Length and Transfer-Encoding
 * together, either twice, a length that is not digits, a transfer coding other than chunked; and for a second Host.
 * The lines whose (lowercase) names are in `drop` are marked in `dropped`.
 */
export function readRequestHead(buf: Buffer, drop: ReadonlySet<string> = new Set()): HeadRead<RequestHead> {
  const t = headText(buf, bad(431, 'request head too large'));
  if ('kind' in t) return t;
  const { text, firstEnd } = t;
  const first = text.slice(0, firstEnd).split(' ');
  if (first.length !== 3) return bad(400, 'malformed request line');
  const [method, target, version] = first as [string, string, string];
  if (!TOKEN.test(method) || !TARGET.test(target)) return bad(400, 'malformed request line');
  if (version !== 'HTTP/1.1' && version !== 'HTTP/1.0') return bad(505, `unsupported version ${version}`);
  let host: string | undefined;
  let authorization: string | undefined;
  let origin: string | undefined;
  let secFetchSite: string | undefined;
  let accept: string | undefined;
  let length: string | undefined;
  let coding: string | undefined;
  let connection = '';
  let upgrade = false;
  let expectContinue = false;
  let why: string | undefined;
  const fail = (w: string) => ((why = w), false);
  const dropped: number[] = [];
  const lengths = nameLengths(drop);
  const join = (a: string | undefined, b: string) => (a === undefined ? b : `${a}, ${b}`);
  const read = eachHeader(text, firstEnd, lengths, (name, at, end, lineAt) => {
    HEADER_LINE.lastIndex = lineAt;
    // A name with a blank before its colon, a folded line, a control character: each is read differently by someone.
    if (!HEADER_LINE.test(text) || HEADER_LINE.lastIndex !== end) return fail('malformed header line');
    if (name === '') return true;
    if (drop.has(name)) dropped.push(lineAt - firstEnd - 2, end - firstEnd);
    switch (name) {
      case 'host':
        if (host !== undefined) return fail('more than one Host header');
        host = valueOf(text, at, end);
        break;
      case 'authorization':
        authorization ??= valueOf(text, at, end);
        break;
      case 'origin':
        origin = join(origin, valueOf(text, at, end));
        break;
      case 'sec-fetch-site':
        secFetchSite = join(secFetchSite, valueOf(text, at, end));
        break;
      case 'accept':
        accept = join(accept, valueOf(text, at, end));
        break;
      case 'content-length': {
        const v = valueOf(text, at, end);
        if (length !== undefined || !DIGITS.test(v)) return fail('unreadable Content-Length');
        length = v;
        break;
      }
      case 'transfer-encoding':
        if (coding !== undefined) return fail('more than one Transfer-Encoding header');
        coding = valueOf(text, at, end).toLowerCase();
        break;
      case 'connection':
        connection = join(connection || undefined, valueOf(text, at, end));
        break;
      case 'upgrade':
        upgrade = true;
        break;
      case 'expect':
        expectContinue ||= valueOf(text, at, end).toLowerCase() === '100-continue';
        break;
    }
    return true;
  });
  if (!read) return bad(400, why ?? 'malformed header line');
  let framing: Framing = { kind: 'none' };
  if (coding !== undefined) {
    if (length !== undefined) return bad(400, 'both Content-Length and Transfer-Encoding');
    if (coding !== 'chunked' || version === 'HTTP/1.0') return bad(501, `unsupported Transfer-Encoding ${coding}`);
    framing = { kind: 'chunked' };
  } else if (length !== undefined && Number(length) > 0) framing = { kind: 'length', length: Number(length) };
  const keepAlive = version === 'HTTP/1.1' ? !hasToken(connection, 'close') : hasToken(connection, 'keep-alive');
  return {
    kind: 'head',
    size: t.size,
    head: {
      method,
      target,
      version,
      lines: text.slice(firstEnd),
      dropped,
      facts: { method, url: target, host, authorization, origin, secFetchSite, accept },
      framing,
      hasLength: length !== undefined,
      keepAlive,
      upgrade: upgrade && hasToken(connection, 'upgrade'),
      expectContinue,
    },
  };
}

/** The lengths of the answer header names the router reads: Location, Connection, Content-Length, Transfer-Encoding. */
const RESPONSE_NAMES = new Set([8, 10, 14, 17]);

/**
 * An answer head. `method` is the request's (an answer to HEAD has no body). How its body ends follows RFC 9112
 * section 6.3: none for 1xx, 204, 304 and HEAD; chunked when the last transfer coding is; else its Content-Length;
 * else at the close of the connection. The rest of it is passed on as the backend sent it.
 */
export function readResponseHead(buf: Buffer, method: string): HeadRead<ResponseHead> {
  // A port that answers something else (a database's greeting) is known by its first bytes.
  if (buf.compare(HTTP_SLASH, 0, Math.min(buf.length, 5), 0, Math.min(buf.length, 5)) !== 0) {
    return bad(502, 'its answer is not HTTP');
  }
  const t = headText(buf, bad(502, 'its answer head is too large'));
  if ('kind' in t) return t;
  const { text, firstEnd } = t;
  const m = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(text.slice(0, firstEnd));
  if (!m) return bad(502, 'its answer is not HTTP');
  const status = Number(m[2]);
  let length: string | undefined;
  let coding: string | undefined;
  let connection = '';
  let location: [number, number] | undefined;
  let why: string | undefined;
  const fail = (w: string) => ((why = w), false);
  const read = eachHeader(text, firstEnd, RESPONSE_NAMES, (name, at, end) => {
    switch (name) {
      case 'location': {
        let a = at;
        let b = end;
        while (a < b && (text[a] === ' ' || text[a] === '\t')) a++;
        while (b > a && (text[b - 1] === ' ' || text[b - 1] === '\t')) b--;
        location ??= [a, b];
        break;
      }
      case 'content-length': {
        const v = valueOf(text, at, end);
        if ((length !== undefined && length !== v) || !DIGITS.test(v)) return fail('unreadable Content-Length');
        length = v;
        break;
      }
      case 'transfer-encoding':
        coding = coding === undefined ? valueOf(text, at, end) : `${coding}, ${valueOf(text, at, end)}`;
        break;
      case 'connection':
        connection = connection ? `${connection}, ${valueOf(text, at, end)}` : valueOf(text, at, end);
        break;
    }
    return true;
  });
  if (!read) return bad(502, `its answer has a ${why ?? 'malformed header line'}`);
  let framing: Framing;
  if ((status >= 100 && status < 200) || status === 204 || status === 304 || method === 'HEAD') {
    framing = { kind: 'none' };
  } else if (coding !== undefined) {
    const codings = coding.split(',');
    framing = codings[codings.length - 1]!.trim().toLowerCase() === 'chunked' ? { kind: 'chunked' } : { kind: 'close' };
  } else if (length !== undefined) {
    framing = Number(length) > 0 ? { kind: 'length', length: Number(length) } : { kind: 'none' };
  } else framing = { kind: 'close' };
  // Both a length and a coding: the coding wins, and the connection is not used again (RFC 9112 section 6.3).
  const keepAlive =
    framing.kind !== 'close' &&
    !(coding !== undefined && length !== undefined) &&
    (m[1] === '1' ? !hasToken(connection, 'close') : hasToken(connection, 'keep-alive'));
  return { kind: 'head', size: t.size, head: { text, status, location, framing, keepAlive } };
}

/** A 101 answer's head as http-proxy-3 wrote it (and websocket clients have seen it): its names lowercase. */
export function switchingHead(h: ResponseHead): string {
  const lines = h.text.split('\r\n').slice(1);
  const out = lines.map((l) => {
    const colon = l.indexOf(':');
    return `${l.slice(0, colon).toLowerCase()}: ${l.slice(colon + 1).trim()}`;
  });
  return ['HTTP/1.1 101 Switching Protocols', ...out, '', ''].join('\r\n');
}

/** One of the router's own replies, whole: `close` says the connection ends after it. */
export function replyBytes(reply: Reply, head: boolean, close: boolean): string {
  let s = `HTTP/1.1 ${reply.status} ${STATUS_CODES[reply.status] ?? 'Unknown'}\r\n`;
  for (const [k, v] of Object.entries(reply.headers)) s += `${k}: ${v}\r\n`;
  s += `content-length: ${Buffer.byteLength(reply.body)}\r\nconnection: ${close ? 'close' : 'keep-alive'}\r\n\r\n`;
  return head ? s : s + reply.body;
}

/** The answer to a request the router cannot read: the status and nothing else, then the connection closes. */
export function refusalBytes(status: number): string {
  const reason = STATUS_CODES[status] ?? 'Bad Request';
  return `HTTP/1.1 ${status} ${reason}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`;
}

// The states of a chunked body.
const SIZE = 0;
const SIZE_BWS = 1;
const EXT = 2;
const SIZE_LF = 3;
const DATA = 4;
const DATA_CR = 5;
const DATA_LF = 6;
const TRAILER = 7;
const TRAILER_LF = 8;
const DONE = 9;

/** Each byte's value as a hex digit, -1 for a byte that is not one. */
const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX[i.toString(16).charCodeAt(0)] = i;
  HEX[i.toString(16).toUpperCase().charCodeAt(0)] = i;
}

/** A byte that cannot be in a chunk extension or a trailer line: a control character other than a tab. */
const isControl = (c: number) => (c < 0x20 && c !== 0x09) || c === 0x7f;

/**
 * Follows a chunked body through the bytes as they come (any split), strictly: a size in hex (at most 12 digits),
 * an extension after `;`, CRLF line ends, and trailer lines up to the blank line. `feed` says where in the buffer the
 * body ended (or that it did not yet), calling `data` with each piece of chunk data; an error means the connection
 * cannot be trusted any further.
 */
export class ChunkedBody {
  private state = SIZE;
  private size = 0;
  private digits = 0;
  private left = 0;
  private lineLength = 0;
  private trailerBytes = 0;

  get done(): boolean {
    return this.state === DONE;
  }

  /** The index in `buf` just after the body's last byte, -1 when it goes on past `buf`; throws on a malformed body. */
  feed(buf: Buffer, from: number, data?: (piece: Buffer) => void): number {
    let i = from;
    const n = buf.length;
    while (i < n) {
      const c = buf[i]!;
      switch (this.state) {
        case SIZE: {
          const d = HEX[c]!;
          if (d >= 0) {
            if (++this.digits > 12) throw new Error('chunk size too large');
            this.size = this.size * 16 + d;
          } else if (this.digits === 0) throw new Error('malformed chunk size');
          else if (c === 0x0d) this.state = SIZE_LF;
          else if (c === 0x3b) this.state = EXT;
          else if (c === 0x20 || c === 0x09) this.state = SIZE_BWS;
          else throw new Error('malformed chunk size');
          i++;
          break;
        }
        case SIZE_BWS:
          // Only blanks, then the extension's `;`: `1 2` is no size.
          if (c === 0x3b) this.state = EXT;
          else if (c !== 0x20 && c !== 0x09) throw new Error('malformed chunk size');
          i++;
          break;
        case EXT:
          if (c === 0x0d) this.state = SIZE_LF;
          else if (isControl(c)) throw new Error('malformed chunk extension');
          else if (++this.lineLength > 4096) throw new Error('chunk extension too long');
          i++;
          break;
        case SIZE_LF:
          if (c !== 0x0a) throw new Error('malformed chunk line end');
          i++;
          this.lineLength = 0;
          this.digits = 0;
          if (this.size === 0) this.state = TRAILER;
          else {
            this.left = this.size;
            this.state = DATA;
          }
          this.size = 0;
          break;
        case DATA: {
          const take = Math.min(this.left, n - i);
          data?.(buf.subarray(i, i + take));
          i += take;
          this.left -= take;
          if (this.left === 0) this.state = DATA_CR;
          break;
        }
        case DATA_CR:
          if (c !== 0x0d) throw new Error('chunk data longer than its size');
          this.state = DATA_LF;
          i++;
          break;
        case DATA_LF:
          if (c !== 0x0a) throw new Error('malformed chunk line end');
          this.state = SIZE;
          i++;
          break;
        case TRAILER:
          // A trailer line (up to CRLF), or the blank line that ends the body.
          i++;
          if (++this.trailerBytes > MAX_TRAILERS) throw new Error('trailers too large');
          if (c === 0x0d) this.state = TRAILER_LF;
          else if (isControl(c)) throw new Error('malformed trailer');
          else this.lineLength++;
          break;
        case TRAILER_LF:
          if (c !== 0x0a) throw new Error('malformed trailer line end');
          i++;
          if (this.lineLength === 0) {
            this.state = DONE;
            return i;
          }
          this.lineLength = 0;
          this.state = TRAILER;
          break;
        default:
          return i;
      }
    }
    return -1;
  }
}
