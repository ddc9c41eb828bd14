import { describe, expect, it } from 'vitest';
import { boundedLines, LOG_LIMITS, plainLine, validSince } from '../../src/core/log-capture.js';

/** Issue 15: logs as a document are bounded, and --since is checked before compose sees it. */
describe('captured logs', () => {
  it('a followed line loses its control codes and is cut to the line limit', () => {
    expect(plainLine('\x1b[2K\x1b[31merror\x1b[0m: boom  ')).toBe('error: boom');
    expect(plainLine('x'.repeat(LOG_LIMITS.lineChars + 5))).toBe(`${'x'.repeat(LOG_LIMITS.lineChars)}…`);
  });

  it('accepts Docker durations and times, and nothing else', () => {
    for (const ok of ['90s', '10m', '1h30m', '1.5h', '2026-12-01', '2026-12-01T15:04:05Z', '2026-12-01T15:04:05+01:00'])
      expect(validSince(ok), ok).toBe(true);
    expect(validSince('1733065445')).toBe(true);
    for (const bad of ['yesterday', '', '10', '-5m', '10m; rm -rf /', '2026-13', '1d'])
      expect(validSince(bad), bad).toBe(false);
  });

  it('keeps the last lines, strips colour, and says when it cut', () => {
    expect(boundedLines('a\n\x1b[31mb\x1b[0m\nc\n', 10)).toEqual({ lines: ['a', 'b', 'c'], truncated: false });
    expect(boundedLines('a\nb\nc\n', 2)).toEqual({ lines: ['b', 'c'], truncated: true });
    expect(boundedLines('', 5)).toEqual({ lines: [], truncated: false });
    // Asked for more than the limit and got the limit: there may have been more.
    expect(boundedLines('a\nb\n', 2, 5).truncated).toBe(true);
  });

  it('cuts a runaway line and stops before the total bound', () => {
    const long = 'x'.repeat(LOG_LIMITS.lineChars + 10);
    const one = boundedLines(`${long}\n`, 1);
    expect(one.truncated).toBe(true);
    expect(one.lines[0]!.length).toBe(LOG_LIMITS.lineChars + 1);
    const many = Array.from({ length: 1000 }, () => 'y'.repeat(LOG_LIMITS.lineChars)).join('\n');
    const r = boundedLines(many, 1000);
    expect(r.truncated).toBe(true);
    expect(r.lines.join('\n').length).toBeLessThanOrEqual(LOG_LIMITS.totalChars);
  });
});
