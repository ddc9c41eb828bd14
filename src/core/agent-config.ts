// What `kinfra agent install|uninstall <host>` writes into a coding agent's host: the kinfra MCP server's entry in
// the host's project configuration (JSON `mcpServers` for Claude Code and Cursor, a `[mcp_servers.kinfra]` TOML
// table for Codex) and a marked section of the project's agent instructions. Every edit here is a text edit that
// leaves the rest of the file as it was, byte for byte, and is checked by parsing the result: a file that does not
// parse, or an edit whose result is not exactly what was meant, is refused rather than written.
import { parse as parseToml } from 'smol-toml';
import { HOST_FILES, type AgentHost } from './agent-hosts.js';
import { conflictError, usageError } from './errors.js';

export { AGENT_HOSTS, HOST_FILES, type AgentHost } from './agent-hosts.js';

/** The server's name in every host, and how a host starts it. */
export const SERVER_NAME = 'kinfra';
export const SERVER = { command: 'kinfra', args: ['mcp'] } as const;

export type EntryStatus = 'installed' | 'already-installed' | 'updated' | 'differs' | 'removed' | 'not-installed';

/** An edit of one file: its new text (undefined: remove the file, it would hold nothing), or no change. */
export interface Edit {
  status: EntryStatus;
  changed: boolean;
  text: string | undefined;
}

const unchanged = (status: EntryStatus, text: string | undefined): Edit => ({ status, changed: false, text });

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Whether an entry starts kinfra's server: the same command and arguments. Other keys (`env`, `type: "stdio"` as
 * `claude mcp add` writes it) are the user's and do not make it differ.
 */
function startsKinfra(entry: unknown): boolean {
  if (!isObject(entry) || entry.command !== SERVER.command) return false;
  const args = entry.args;
  return Array.isArray(args) && args.length === SERVER.args.length && SERVER.args.every((a, i) => args[i] === a);
}

function invalidFile(file: string, kind: string, detail: string): Error {
  return usageError(
    'agent-config-invalid',
    `${file} is not ${kind} kinfra can edit: ${detail}`,
    `Fix ${file} (or move it aside), then run the command again; kinfra never rewrites a file it cannot read.`,
    { file },
  );
}

function uneditable(file: string, why: string, byHand: string): Error {
  return conflictError(
    'agent-config-uneditable',
    `kinfra cannot change ${file} without touching the rest of it: ${why}`,
    `Edit ${file} by hand: ${byHand}`,
    { file },
  );
}

/** Text with nothing but white space holds nothing: it is treated as no file. */
const blank = (text: string | undefined): boolean => text === undefined || text.trim() === '';

// ---- JSON (Claude Code's .mcp.json, Cursor's .cursor/mcp.json) ------------------------------------------------

/** One member of a JSON object as it stands in the text: where its key starts and its value starts and ends. */
interface Member {
  key: string;
  keyStart: number;
  valueStart: number;
  valueEnd: number;
}

const WS = /[ \t\n\r]/;

function skipWs(text: string, i: number): number {
  while (i < text.length && WS.test(text[i]!)) i++;
  return i;
}

function stringEnd(text: string, i: number): number {
  for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++;
  return i + 1;
}

/** The end of the value at `i` (the text is known to parse). */
function valueEnd(text: string, i: number): number {
  const c = text[i];
  if (c === '"') return stringEnd(text, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    for (;;) {
      const d = text[i];
      if (d === '"') {
        i = stringEnd(text, i);
        continue;
      }
      if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') depth--;
      i++;
      if (depth === 0) return i;
    }
  }
  while (i < text.length && !/[,\]} \t\n\r]/.test(text[i]!)) i++;
  return i;
}

/** The members of the object whose `{` is at `open`, and where its `}` is. */
function members(text: string, open: number): { members: Member[]; close: number } {
  const found: Member[] = [];
  let i = skipWs(text, open + 1);
  while (text[i] !== '}') {
    const keyStart = i;
    const keyEnd = stringEnd(text, i);
    const key = JSON.parse(text.slice(keyStart, keyEnd)) as string;
    const valueStart = skipWs(text, skipWs(text, keyEnd) + 1);
    const end = valueEnd(text, valueStart);
    found.push({ key, keyStart, valueStart, valueEnd: end });
    i = skipWs(text, end);
    if (text[i] === ',') i = skipWs(text, i + 1);
  }
  return { members: found, close: i };
}

/** The last member named `key` (the one JSON.parse keeps), or undefined. */
function lastNamed(ms: Member[], key: string): number {
  for (let i = ms.length - 1; i >= 0; i--) if (ms[i]!.key === key) return i;
  return -1;
}

/** The indentation one level deeper in this file: its first indented line's, else two spaces. */
export function indentUnit(text: string): string {
  const m = /\n([ \t]+)\S/.exec(text);
  if (!m) return '  ';
  return m[1]!.startsWith('\t') ? '\t' : m[1]!;
}

/** The white space that starts the line holding position `i`. */
function lineIndent(text: string, i: number): string {
  const start = text.lastIndexOf('\n', i - 1) + 1;
  return /^[ \t]*/.exec(text.slice(start))![0];
}

/** `value` as JSON at the given depth of the file: multi-line, each inner line indented from `indent`. */
function jsonAt(value: Json, unit: string, indent: string): string {
  return JSON.stringify(value, null, unit).replace(/\n/g, `\n${indent}`);
}

/** Adds `"key": value` as the last member of the object at `open`, in the layout of its other members. */
function insertMember(text: string, open: number, key: string, value: Json, unit: string): string {
  const { members: ms, close } = members(text, open);
  const last = ms[ms.length - 1];
  if (!last) {
    const outer = lineIndent(text, open);
    const inner = outer + unit;
    const member = `${JSON.stringify(key)}: ${jsonAt(value, unit, inner)}`;
    return `${text.slice(0, open + 1)}\n${inner}${member}\n${outer}${text.slice(close)}`;
  }
  const before = text.slice(0, last.keyStart);
  const gap = before.slice(before.search(/[ \t\n\r]*$/));
  if (!gap.includes('\n')) {
    const member = `${JSON.stringify(key)}: ${JSON.stringify(value)}`;
    return `${text.slice(0, last.valueEnd)}, ${member}${text.slice(last.valueEnd)}`;
  }
  const indent = gap.slice(gap.lastIndexOf('\n') + 1);
  const member = `${JSON.stringify(key)}: ${jsonAt(value, unit, indent)}`;
  return `${text.slice(0, last.valueEnd)},\n${indent}${member}${text.slice(last.valueEnd)}`;
}

/** Removes member `index` of the object at `open`, with the comma and line that went with it. */
function removeMember(text: string, open: number, index: number): string {
  const { members: ms, close } = members(text, open);
  const m = ms[index]!;
  if (ms.length === 1) return text.slice(0, open + 1) + text.slice(close);
  const next = ms[index + 1];
  if (next) return text.slice(0, m.keyStart) + text.slice(next.keyStart);
  return text.slice(0, ms[index - 1]!.valueEnd) + text.slice(m.valueEnd);
}

/** Keys in a fixed order, so two values compare equal whatever order their objects were written in. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === 'bigint') return `${v}n`;
    if (!isObject(v) || v instanceof Date) return v;
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, v[k]]),
    );
  });
}

function endWithNewline(text: string, like: string | undefined): string {
  const wanted = like === undefined || blank(like) || like.endsWith('\n');
  return wanted && !text.endsWith('\n') ? `${text}\n` : text;
}

interface JsonDoc {
  root: JsonObject;
  servers: JsonObject | undefined;
}

function readJson(text: string | undefined, file: string): JsonDoc {
  if (blank(text)) return { root: {}, servers: undefined };
  let root: unknown;
  try {
    root = JSON.parse(text!);
  } catch (e) {
    throw invalidFile(file, 'JSON', (e as Error).message);
  }
  if (!isObject(root)) throw invalidFile(file, 'a JSON object', 'its top level is not an object');
  const servers = root.mcpServers;
  if (servers !== undefined && !isObject(servers)) {
    throw invalidFile(file, 'an MCP configuration', '"mcpServers" is not an object');
  }
  return { root: root as JsonObject, servers: servers as JsonObject | undefined };
}

/** The text edited surgically when the result parses to exactly `expected`; else the whole file re-serialised. */
function jsonResult(original: string | undefined, edit: () => string, expected: JsonObject): string {
  const unit = original === undefined || blank(original) ? '  ' : indentUnit(original);
  // What kinfra writes has \n line ends; a file whose every line ends in \r\n gets those (JSON strings hold none).
  const crlf = original !== undefined && original.includes('\r\n') && !/(^|[^\r])\n/.test(original);
  const lineEnds = (t: string) => (crlf ? t.replace(/\r?\n/g, '\r\n') : t);
  if (!blank(original)) {
    try {
      const text = lineEnds(edit());
      if (canonical(JSON.parse(text)) === canonical(expected)) return text;
    } catch {
      // An unusual layout the member scan did not follow (duplicate keys, say): fall back to re-serialising.
    }
  }
  return lineEnds(endWithNewline(JSON.stringify(expected, null, unit), original));
}

const topObject = (text: string): number => skipWs(text, text.charCodeAt(0) === 0xfeff ? 1 : 0);

export function installJson(text: string | undefined, opts: { file: string; force: boolean }): Edit {
  const { root, servers } = readJson(text, opts.file);
  const existing = servers?.[SERVER_NAME];
  if (existing !== undefined && startsKinfra(existing)) return unchanged('already-installed', text);
  if (existing !== undefined && !opts.force) return unchanged('differs', text);
  const entry: JsonObject = { command: SERVER.command, args: [...SERVER.args] };
  const expected: JsonObject = { ...root, mcpServers: { ...(servers ?? {}), [SERVER_NAME]: entry } };
  const unit = blank(text) ? '  ' : indentUnit(text!);
  const out = jsonResult(
    text,
    () => {
      const t = text!;
      const top = members(t, topObject(t));
      const at = top.members[lastNamed(top.members, 'mcpServers')];
      if (!at) return insertMember(t, topObject(t), 'mcpServers', { [SERVER_NAME]: entry }, unit);
      const ms = members(t, at.valueStart).members;
      const inner = ms[lastNamed(ms, SERVER_NAME)];
      if (!inner) return insertMember(t, at.valueStart, SERVER_NAME, entry, unit);
      const indent = lineIndent(t, inner.keyStart);
      return t.slice(0, inner.valueStart) + jsonAt(entry, unit, indent) + t.slice(inner.valueEnd);
    },
    expected,
  );
  return { status: existing === undefined ? 'installed' : 'updated', changed: true, text: out };
}

export function uninstallJson(text: string | undefined, opts: { file: string }): Edit {
  const { root, servers } = readJson(text, opts.file);
  if (servers?.[SERVER_NAME] === undefined) return unchanged('not-installed', text);
  const rest = Object.fromEntries(Object.entries(servers).filter(([k]) => k !== SERVER_NAME));
  const expected: JsonObject = { ...root, mcpServers: rest };
  const out = jsonResult(
    text,
    () => {
      const t = text!;
      const top = members(t, topObject(t)).members;
      const at = top[lastNamed(top, 'mcpServers')]!;
      return removeMember(t, at.valueStart, lastNamed(members(t, at.valueStart).members, SERVER_NAME));
    },
    expected,
  );
  return { status: 'removed', changed: true, text: out };
}

// ---- TOML (Codex's .codex/config.toml) ------------------------------------------------------------------------

/** The key path of a table header line (`[a."b".c]`, `[[a.b]]`), or undefined for any other line. */
export function tomlHeader(line: string): string[] | undefined {
  let i = 0;
  const ws = () => {
    while (line[i] === ' ' || line[i] === '\t') i++;
  };
  ws();
  if (line[i] !== '[') return undefined;
  i++;
  const array = line[i] === '[';
  if (array) i++;
  const keys: string[] = [];
  for (;;) {
    ws();
    const c = line[i];
    if (c === '"') {
      let j = i + 1;
      while (j < line.length && line[j] !== '"') j += line[j] === '\\' ? 2 : 1;
      if (j >= line.length) return undefined;
      try {
        keys.push(JSON.parse(line.slice(i, j + 1)) as string);
      } catch {
        keys.push(line.slice(i + 1, j));
      }
      i = j + 1;
    } else if (c === "'") {
      const j = line.indexOf("'", i + 1);
      if (j < 0) return undefined;
      keys.push(line.slice(i + 1, j));
      i = j + 1;
    } else {
      const m = /^[A-Za-z0-9_-]+/.exec(line.slice(i));
      if (!m) return undefined;
      keys.push(m[0]);
      i += m[0].length;
    }
    ws();
    if (line[i] === '.') {
      i++;
      continue;
    }
    break;
  }
  if (line[i] !== ']') return undefined;
  i++;
  if (array) {
    if (line[i] !== ']') return undefined;
    i++;
  }
  ws();
  return i === line.length || line[i] === '#' ? keys : undefined;
}

const isOurs = (keys: string[]) => keys[0] === 'mcp_servers' && keys[1] === SERVER_NAME;

/** The lines of kinfra's tables: each from its header to its last line that is neither blank nor a comment. */
function ourBlocks(lines: string[]): { start: number; end: number }[] {
  const blocks: { start: number; end: number }[] = [];
  let current: { start: number; end: number } | undefined;
  lines.forEach((line, n) => {
    const header = tomlHeader(line);
    if (header) {
      if (current) blocks.push(current);
      current = isOurs(header) ? { start: n, end: n + 1 } : undefined;
    } else if (current && line.trim() !== '' && !line.trim().startsWith('#')) current.end = n + 1;
  });
  if (current) blocks.push(current);
  return blocks;
}

/** Codex's table for kinfra, as kinfra writes it. */
export const TOML_BLOCK = [
  `[mcp_servers.${SERVER_NAME}]`,
  `command = ${JSON.stringify(SERVER.command)}`,
  `args = ${JSON.stringify(SERVER.args).replace(/,/g, ', ')}`,
];

function readToml(text: string | undefined, file: string): Record<string, unknown> {
  if (blank(text)) return {};
  try {
    return parseToml(text!) as Record<string, unknown>;
  } catch (e) {
    throw invalidFile(file, 'TOML', (e as Error).message.split('\n')[0]!);
  }
}

/** The parsed document without kinfra's server (and without an `mcp_servers` left empty), to compare by. */
function withoutOurs(doc: Record<string, unknown>): string {
  const copy = { ...doc };
  if (isObject(copy.mcp_servers)) {
    const servers = { ...copy.mcp_servers };
    delete servers[SERVER_NAME];
    if (Object.keys(servers).length === 0) delete copy.mcp_servers;
    else copy.mcp_servers = servers;
  }
  return canonical(copy);
}

/** Removes line ranges, with the blank lines that separated each from what follows (or else from what precedes). */
function cutLines(lines: string[], blocks: { start: number; end: number }[]): string[] {
  const out = [...lines];
  for (const b of [...blocks].reverse()) {
    let { start, end } = b;
    if (end < out.length && out[end]!.trim() === '') {
      while (end < out.length && out[end]!.trim() === '') end++;
    } else {
      while (start > 0 && out[start - 1]!.trim() === '') start--;
    }
    out.splice(start, end - start);
  }
  return out;
}

function splitLines(text: string): { lines: string[]; eol: string } {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return { lines, eol };
}

/** The edit's result when it parses to the document meant (kinfra's server as `server`, or none); else refused. */
function checkedToml(
  text: string,
  original: Record<string, unknown>,
  server: 'ours' | 'none',
  file: string,
  byHand: string,
): string {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (e) {
    throw uneditable(file, `the edited file would not parse (${(e as Error).message.split('\n')[0]})`, byHand);
  }
  const servers = isObject(doc.mcp_servers) ? doc.mcp_servers : {};
  const entryOk = server === 'ours' ? startsKinfra(servers[SERVER_NAME]) : servers[SERVER_NAME] === undefined;
  if (!entryOk || withoutOurs(doc) !== withoutOurs(original)) {
    throw uneditable(file, 'kinfra would have changed more than its own table', byHand);
  }
  return text;
}

export function installToml(text: string | undefined, opts: { file: string; force: boolean }): Edit {
  const doc = readToml(text, opts.file);
  const servers = isObject(doc.mcp_servers) ? doc.mcp_servers : undefined;
  const existing = servers?.[SERVER_NAME];
  if (existing !== undefined && startsKinfra(existing)) return unchanged('already-installed', text);
  if (existing !== undefined && !opts.force) return unchanged('differs', text);
  const byHand = `put this table in it, in place of any other \`mcp_servers.kinfra\`:\n${TOML_BLOCK.join('\n')}`;
  const { lines, eol } = splitLines(text ?? '');
  let out: string[];
  if (existing === undefined) {
    out = [...lines];
    while (out.length > 0 && out[out.length - 1]!.trim() === '') out.pop();
    out = out.length > 0 ? [...out, '', ...TOML_BLOCK] : [...TOML_BLOCK];
  } else {
    const blocks = ourBlocks(lines);
    if (blocks.length === 0) {
      throw uneditable(opts.file, 'its `mcp_servers.kinfra` is not a table of its own (an inline table?)', byHand);
    }
    const [first, ...others] = blocks;
    out = cutLines(lines, others);
    out.splice(first!.start, first!.end - first!.start, ...TOML_BLOCK);
  }
  const next = out.join(eol) + eol;
  checkedToml(next, doc, 'ours', opts.file, byHand);
  return { status: existing === undefined ? 'installed' : 'updated', changed: true, text: next };
}

export function uninstallToml(text: string | undefined, opts: { file: string }): Edit {
  const doc = readToml(text, opts.file);
  const servers = isObject(doc.mcp_servers) ? doc.mcp_servers : undefined;
  if (servers?.[SERVER_NAME] === undefined) return unchanged('not-installed', text);
  const byHand = 'remove its `[mcp_servers.kinfra]` table (or the `kinfra` key of `[mcp_servers]`).';
  const { lines, eol } = splitLines(text!);
  const blocks = ourBlocks(lines);
  if (blocks.length === 0) {
    throw uneditable(opts.file, 'its `mcp_servers.kinfra` is not a table of its own (an inline table?)', byHand);
  }
  const out = cutLines(lines, blocks);
  const next = out.length === 0 ? '' : out.join(eol) + eol;
  checkedToml(next, doc, 'none', opts.file, byHand);
  return { status: 'removed', changed: true, text: next };
}

export function installEntry(host: AgentHost, text: string | undefined, opts: { file: string; force: boolean }): Edit {
  return HOST_FILES[host].format === 'json' ? installJson(text, opts) : installToml(text, opts);
}

export function uninstallEntry(host: AgentHost, text: string | undefined, opts: { file: string }): Edit {
  return HOST_FILES[host].format === 'json' ? uninstallJson(text, opts) : uninstallToml(text, opts);
}

// ---- The instructions section (CLAUDE.md, AGENTS.md) ----------------------------------------------------------

export const BEGIN_MARKER = '<!-- kinfra:begin -->';
export const END_MARKER = '<!-- kinfra:end -->';

/** What an agent in this project should know about kinfra, between the markers. */
export const INSTRUCTIONS = [
  BEGIN_MARKER,
  '## Sandboxes (kinfra)',
  '',
  'This project runs its stack in kinfra sandboxes: one isolated copy per git worktree, each on its own ports.',
  'Ask kinfra instead of guessing:',
  '',
  '- Which sandbox you are in, with its ports and URLs: the MCP tool `whoami`, or `kinfra sandbox whoami`.',
  '- Who holds a port: `port_owner`, or `kinfra sandbox ports who <port>`.',
  '- Whether the stack is ready: `wait_ready`, or `kinfra sandbox gate`.',
  '',
  'Never kill processes by name or by port (no `pkill node`, no `kill $(lsof -t -i:PORT)`): what listens may be',
  "another sandbox's or another agent's. Ask who holds the port, and stop only what is yours.",
  END_MARKER,
].join('\n');

function badMarkers(file: string, why: string): Error {
  return usageError(
    'agent-instructions-markers',
    `${file} has ${why}, so kinfra cannot tell which part is its own.`,
    `Leave exactly one \`${BEGIN_MARKER}\` ... \`${END_MARKER}\` pair in ${file} (or remove both lines), ` +
      'then run the command again.',
    { file },
  );
}

/** Where kinfra's section is: from its begin marker to the end of its end marker; undefined when there is none. */
function section(text: string, file: string): { start: number; end: number } | undefined {
  const count = (m: string) => text.split(m).length - 1;
  const begins = count(BEGIN_MARKER);
  const ends = count(END_MARKER);
  if (begins === 0 && ends === 0) return undefined;
  if (begins !== 1 || ends !== 1) {
    throw badMarkers(file, `${begins} \`${BEGIN_MARKER}\` and ${ends} \`${END_MARKER}\` lines`);
  }
  const start = text.indexOf(BEGIN_MARKER);
  const end = text.indexOf(END_MARKER) + END_MARKER.length;
  if (end < start) throw badMarkers(file, 'its end marker before its begin marker');
  return { start, end };
}

export function installInstructions(text: string | undefined, file: string): Edit {
  const at = text === undefined ? undefined : section(text, file);
  if (at) {
    if (text!.slice(at.start, at.end) === INSTRUCTIONS) return unchanged('already-installed', text);
    return { status: 'updated', changed: true, text: text!.slice(0, at.start) + INSTRUCTIONS + text!.slice(at.end) };
  }
  if (blank(text)) return { status: 'installed', changed: true, text: `${INSTRUCTIONS}\n` };
  const eol = text!.includes('\r\n') ? '\r\n' : '\n';
  const body = text!.replace(/[\r\n]*$/, '');
  return {
    status: 'installed',
    changed: true,
    text: body + eol + eol + INSTRUCTIONS.replace(/\n/g, eol) + eol,
  };
}

export function uninstallInstructions(text: string | undefined, file: string): Edit {
  const at = text === undefined ? undefined : section(text, file);
  if (!at) return unchanged('not-installed', text);
  const t = text!;
  const lineStart = t.lastIndexOf('\n', at.start - 1) + 1;
  const lineEnd = t.indexOf('\n', at.end);
  const alone =
    t.slice(lineStart, at.start).trim() === '' && t.slice(at.end, lineEnd < 0 ? t.length : lineEnd).trim() === '';
  let next: string;
  if (alone) {
    // The section's lines go, with the blank lines that set them apart.
    const { lines, eol } = splitLines(t);
    const first = t.slice(0, lineStart).split('\n').length - 1;
    const last = t.slice(0, at.end).split('\n').length - 1;
    const rest = cutLines(lines, [{ start: first, end: last + 1 }]);
    next = rest.length === 0 ? '' : rest.join(eol) + (/\r?\n$/.test(t) ? eol : '');
  } else next = t.slice(0, at.start) + t.slice(at.end);
  return { status: 'removed', changed: true, text: blank(next) ? undefined : next };
}
