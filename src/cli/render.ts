import Table from 'cli-table3';
import type { SlotPort } from '../core/ports.js';
import type { Output } from './output.js';

/** A borderless table that reads well in a terminal and in a pipe. */
export function table(head: string[], rows: (string | number)[][], io: Output): string {
  const t = new Table({
    head: head.map((h) => io.c.bold(h)),
    chars: {
      top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '',
      'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ',
    },
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
  });
  for (const r of rows) t.push(r.map(String));
  return t.toString().split('\n').map((l) => l.trimEnd()).join('\n');
}

export function portsLine(ports: SlotPort[]): string {
  return ports.map((p) => `${p.name} ${p.port}`).join(', ');
}

export function cleanedNotice(io: Output, cleaned: string[]): void {
  if (cleaned.length === 0) return;
  // Wording as in seed 000 ("Cleaned 1 stale entries"), which scripts grep for.
  io.out(`Cleaned ${cleaned.length} stale entries (folder gone): ${cleaned.join(', ')}`);
}
