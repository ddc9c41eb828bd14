// Shows the gate while it runs. On a TTY: one live line per check, redrawn in place, replaced at the end by the
// settled lines. In a pipe: one stable line per check as it settles. With --json: nothing (the result carries it).
import type { CheckResult, GateResult } from '../core/gate.js';
import type { Output } from './output.js';

export interface GateView {
  onChange(checks: readonly CheckResult[]): void;
  finish(result: GateResult): void;
}

export function settledLines(io: Output, c: CheckResult, width = Infinity): string[] {
  if (c.status === 'passed') return [`  ${io.c.green('✓')} ${c.message}`];
  if (c.status === 'skipped') return [`  ${io.c.dim('○')} ${c.message}`];
  if (c.status === 'failed') return [`  ${io.c.red('✗')} ${c.message}`, ...c.details.map((d) => `    → ${d}`)];
  // Truncate the plain text, never a string holding colour codes.
  const detail = c.details[0] ? `: ${c.details[0]}` : '';
  const text = `${c.name}: waiting${c.attempts ? ` (attempt ${c.attempts}${detail})` : ''}`;
  return [`  ${io.c.dim('…')} ${text.length > width - 5 ? `${text.slice(0, Math.max(10, width - 6))}…` : text}`];
}

export function gateView(io: Output): GateView {
  if (io.json) return { onChange: () => undefined, finish: () => undefined };
  const stdout = io.terminal.stdout;
  const live = Boolean(stdout.isTTY);
  if (!live) {
    // In the configured order, as checks settle: a line is printed once every check above it has settled. A failed
    // check waits for the end (its details gain the service's last log lines).
    let shown = 0;
    const flush = (checks: readonly CheckResult[], all: boolean) => {
      while (shown < checks.length) {
        const c = checks[shown]!;
        if (c.status === 'waiting' || (c.status === 'failed' && !all)) break;
        settledLines(io, c).forEach((l) => io.out(l));
        shown++;
      }
    };
    return { onChange: (checks) => flush(checks, false), finish: (result) => flush(result.checks, true) };
  }
  let drawn = 0;
  let timer: NodeJS.Timeout | undefined;
  let latest: readonly CheckResult[] = [];
  const clear = () => {
    if (drawn > 0) stdout.write(`\x1b[${drawn}A\x1b[0J`);
    drawn = 0;
  };
  const draw = () => {
    clear();
    // columns is 0 on some ptys: fall back to a usual width.
    const width = stdout.columns || 100;
    const lines = latest.map((c) => settledLines(io, c.status === 'failed' ? { ...c, details: [] } : c, width)[0]!);
    stdout.write(lines.join('\n') + '\n');
    drawn = lines.length;
  };
  return {
    onChange(checks) {
      latest = checks;
      // Redraw at most every 80 ms; attempts change far more often than that.
      timer ??= setTimeout(() => {
        timer = undefined;
        draw();
      }, 80);
    },
    finish(result) {
      if (timer) clearTimeout(timer);
      clear();
      result.checks.forEach((c) => settledLines(io, c).forEach((l) => io.out(l)));
    },
  };
}
