// The borderless table (src/cli/render.ts): the layout cli-table3 drew before it, byte for byte.
import { describe, expect, it } from 'vitest';
import { displayWidth, table } from '../../src/cli/render.js';

const bold = (s: string) => `\u001b[1m${s}\u001b[22m`;

describe('table', () => {
  it('pads each column to its widest cell, colour codes taking no room, a cell of two lines as two', () => {
    const out = table(
      ['Name', 'Slot', 'Status'],
      [
        ['ktrdr--a', 1, 'running'],
        ['b', 22, 'x\ny'],
        ['\u001b[31mred\u001b[39m', 3, 'é日本'],
      ],
      bold,
    );
    expect(out).toBe(
      `${bold('Name')}      ${bold('Slot')}  ${bold('Status')}\n` +
        'ktrdr--a  1     running\nb         22    x\n                y\n\u001b[31mred\u001b[39m       3     é日本',
    );
  });

  it('a head alone, short rows, wide characters', () => {
    expect(table(['A'], [], (s) => s)).toBe('A');
    expect(table(['A', 'B'], [['x']], (s) => s)).toBe('A  B\nx');
    expect(displayWidth('日本')).toBe(4);
    expect(displayWidth('\u001b[1mab\u001b[22m')).toBe(2);
    expect(displayWidth('🚀')).toBe(2);
  });
});
