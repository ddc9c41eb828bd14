// A captured log is a bounded answer: at most so many lines, each cut to a length, the whole under a size. An agent
// asks for logs to read them, and a megabyte of one runaway line is no answer.

export const LOG_LIMITS = { lines: 2000, lineChars: 4000, totalChars: 512 * 1024 } as const;

/** Docker's --since: a Go duration (90s, 10m, 1h30m) or a time (RFC 3339, a date, a Unix timestamp). */
export function validSince(since: string): boolean {
  if (/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(since)) return true;
  if (/^\d{9,10}(\.\d+)?$/.test(since)) return true;
  return /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(since);
}

/** A log line as a document carries it: no terminal control codes (colours, erase-line), at most lineChars long. */
export function plainLine(raw: string): string {
  // eslint-disable-next-line no-control-regex
  const line = raw.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').trimEnd();
  return line.length > LOG_LIMITS.lineChars ? `${line.slice(0, LOG_LIMITS.lineChars)}…` : line;
}

/**
 * The last `tail` lines of a child's output, without colour codes, each and all within the limits; `asked` is what
 * the caller wanted before the line limit applied (more than it: the answer says it was cut).
 */
export function boundedLines(text: string, tail: number, asked = tail): { lines: string[]; truncated: boolean } {
  // eslint-disable-next-line no-control-regex
  const all = text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').split('\n');
  if (all.at(-1) === '') all.pop();
  let truncated = all.length > tail || (asked > tail && all.length === tail);
  const lines: string[] = [];
  let total = 0;
  for (const raw of all.slice(-tail).reverse()) {
    const line = raw.length > LOG_LIMITS.lineChars ? `${raw.slice(0, LOG_LIMITS.lineChars)}…` : raw.trimEnd();
    if (line !== raw.trimEnd()) truncated = true;
    if (total + line.length > LOG_LIMITS.totalChars) {
      truncated = true;
      break;
    }
    total += line.length + 1;
    lines.push(line);
  }
  return { lines: lines.reverse(), truncated };
}
