// The .env format kinfra writes and reads (.env.sandbox). Values that are not plain are single-quoted (both Compose v1
// and v2 take single-quoted values literally, no interpolation); a value that itself holds a single quote is
// double-quoted with backslash escapes. parseEnvText(formatEnvText(x)) === x. Lines end where Compose ends them, at \n;
// U+2028 and U+2029 are ordinary characters of a value (Compose reads them literally inside quotes, where kinfra writes
// them).

export type EnvMap = Record<string, string>;

/** A line of the file: a variable, or a comment / blank line kept for layout. */
export type EnvLine = { key: string; value: string } | { comment: string };

const PLAIN = /^[A-Za-z0-9_./:@+,-]*$/;
/** Where a line ends, for the writer and the parser alike (a lone \r is no line end, nor written). */
const LINE_END = /\r?\n/;
/** What no value can hold: a line end or a part of one, and NUL (environment strings end there). */
const UNWRITABLE = /[\n\r\0]/;
const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

export class EnvParseError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

export function quoteEnvValue(value: string): string {
  if (UNWRITABLE.test(value)) {
    throw new Error('an .env value cannot hold a line break or NUL');
  }
  if (PLAIN.test(value)) return value;
  if (!value.includes("'")) return `'${value}'`;
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\$/g, '\\$')}"`;
}

export function formatEnvText(lines: readonly EnvLine[]): string {
  return (
    lines
      .map((l) => {
        if ('comment' in l) return l.comment === '' ? '' : `# ${l.comment}`;
        if (!KEY.test(l.key)) throw new Error(`invalid variable name ${JSON.stringify(l.key)}`);
        return `${l.key}=${quoteEnvValue(l.value)}`;
      })
      .join('\n') + '\n'
  );
}

function unquote(raw: string, lineNo: number): string {
  const v = raw.trim();
  if (v.startsWith("'")) {
    const end = v.indexOf("'", 1);
    if (end < 0) throw new EnvParseError(lineNo, 'unterminated single quote');
    return v.slice(1, end);
  }
  if (v.startsWith('"')) {
    let out = '';
    for (let i = 1; i < v.length; i++) {
      const c = v[i]!;
      if (c === '\\' && i + 1 < v.length) {
        const n = v[++i]!;
        out += n === 'n' ? '\n' : n;
      } else if (c === '"') {
        return out;
      } else {
        out += c;
      }
    }
    throw new EnvParseError(lineNo, 'unterminated double quote');
  }
  // Unquoted: an inline comment starts at " #".
  const hash = v.search(/\s#/);
  return (hash >= 0 ? v.slice(0, hash) : v).trim();
}

/** Parse .env text; comments and blank lines are ignored; `export KEY=...` is accepted. */
export function parseEnvText(text: string): EnvMap {
  const env: EnvMap = {};
  text.split(LINE_END).forEach((line, i) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    // The s flag: without it `.` stops at U+2028 and U+2029 (line ends to JavaScript, not to
    // .env files) and the line reads as malformed.
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$/s.exec(trimmed);
    if (!m) throw new EnvParseError(i + 1, `expected KEY=VALUE, got ${JSON.stringify(trimmed.slice(0, 40))}`);
    env[m[1]!] = unquote(m[2]!, i + 1);
  });
  return env;
}
