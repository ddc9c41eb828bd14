import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EnvParseError, formatEnvText, parseEnvText, quoteEnvValue, type EnvLine } from '../../src/core/env-file.js';

const keyArb = fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,15}$/);
const noBreak = (s: string) => !s.includes('\n') && !s.includes('\r') && !s.includes('\0');
/** Values biased towards characters that matter to .env syntax. */
const trickyChar = fc.constantFrom(
  ' ',
  '\t',
  "'",
  '"',
  '$',
  '#',
  '\\',
  '=',
  '`',
  '{',
  '}',
  '(',
  ')',
  ';',
  '&',
  '|',
  '*',
  'é',
  '日',
  '🚀',
  'n',
  'a',
  '0',
  '/',
  ':',
  '-',
  '\u2028',
  '\u2029',
  '\u0085',
  '\u00a0',
  '\ufeff',
);
const valueArb = fc
  .oneof(
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({ maxLength: 40 }),
    fc.array(trickyChar, { maxLength: 30 }).map((cs) => cs.join('')),
    fc.string({ unit: fc.constantFrom(' ', '#', "'", '"', '\\', '$', 'x'), maxLength: 12 }),
  )
  .filter(noBreak);

function roundTrip(env: Record<string, string>): Record<string, string> {
  const lines: EnvLine[] = Object.entries(env).map(([key, value]) => ({ key, value }));
  return parseEnvText(formatEnvText(lines));
}

describe('formatEnvText / parseEnvText round trip', () => {
  it.each([
    ['plain', 'abc'],
    ['empty', ''],
    ['spaces', 'hello world'],
    ['leading and trailing spaces', '  padded  '],
    ['single quote', "it's"],
    ['double quote', 'say "hi"'],
    ['both quotes', `it's "quoted"`],
    ['dollar', '$HOME and ${VAR}'],
    ['dollar with single quote', "'$HOME'"],
    ['hash', 'a #comment-like'],
    ['leading hash', '#x'],
    ['backslashes', 'C:\\Users\\karl\\n'],
    ['backslash with quote', "\\'"],
    ['trailing backslash', "a'b\\"],
    ['unicode', 'Café 日本語 🚀'],
    ['tab', 'a\tb'],
    ['equals', 'a=b=c'],
    ['backtick', '`whoami`'],
    ['only quote', "'"],
    ['only double quote', '"'],
    ['U+2028 (line separator)', 'a\u2028b'],
    ['U+2029 (paragraph separator)', '\u2029'],
    ['U+2028 and a single quote', "it's\u2028"],
    ['U+0085 (next line)', 'a\u0085b'],
  ])('keeps a value with %s exactly', (_label, value) => {
    expect(roundTrip({ VALUE: value })).toEqual({ VALUE: value });
  });

  it('property: any keys and values without line breaks or NUL round-trip exactly', () => {
    fc.assert(
      fc.property(fc.dictionary(keyArb, valueArb, { maxKeys: 8 }), (env) => {
        const text = formatEnvText(Object.entries(env).map(([key, value]) => ({ key, value })));
        const parsed = parseEnvText(text);
        expect(parsed).toEqual(env);
        expect(Object.keys(parsed)).toEqual(Object.keys(env));
      }),
      { numRuns: 3000 },
    );
  });

  it('property: comments and blank lines interleaved with variables are ignored', () => {
    const lineArb: fc.Arbitrary<EnvLine> = fc.oneof(
      fc.record({ key: keyArb, value: valueArb }),
      fc.record({ comment: fc.string({ maxLength: 30 }).filter(noBreak) }),
    );
    fc.assert(
      fc.property(fc.array(lineArb, { maxLength: 12 }), (lines) => {
        const expected: Record<string, string> = {};
        for (const l of lines) if ('key' in l) expected[l.key] = l.value;
        expect(parseEnvText(formatEnvText(lines))).toEqual(expected);
      }),
      { numRuns: 1000 },
    );
  });

  it('ends the text with a newline and writes comments with "# "', () => {
    const text = formatEnvText([
      { comment: 'Identity' },
      { key: 'A', value: '1' },
      { comment: '' },
      { key: 'B', value: 'x y' },
    ]);
    expect(text).toBe("# Identity\nA=1\n\nB='x y'\n");
  });

  it('rejects invalid variable names and values with line breaks', () => {
    expect(() => formatEnvText([{ key: '1BAD', value: 'x' }])).toThrow(/invalid variable name/);
    expect(() => formatEnvText([{ key: 'A-B', value: 'x' }])).toThrow(/invalid variable name/);
    expect(() => quoteEnvValue('a\nb')).toThrow(/line break/);
    expect(() => quoteEnvValue('a\rb')).toThrow(/line break/);
    expect(() => quoteEnvValue('a\0b')).toThrow(/NUL/);
  });
});

describe('quoteEnvValue', () => {
  it.each([
    '8002',
    '5434',
    'ktrdr--feat-operation-metrics',
    '/home/karl/.ktrdr/shared',
    '2024-01-15T10:30:00Z',
    '',
    'a_b.c',
    'user@host',
    'a+b,c',
  ])('leaves the plain value %j bare', (value) => {
    expect(quoteEnvValue(value)).toBe(value);
  });

  it('single-quotes values with spaces, $ or # (no interpolation in compose)', () => {
    expect(quoteEnvValue('hello world')).toBe("'hello world'");
    expect(quoteEnvValue('$HOME')).toBe("'$HOME'");
    expect(quoteEnvValue('a#b')).toBe("'a#b'");
    expect(quoteEnvValue('~/.ktrdr/shared')).toBe("'~/.ktrdr/shared'");
  });

  it('double-quotes values holding a single quote, escaping \\, " and $', () => {
    expect(quoteEnvValue("it's")).toBe(`"it's"`);
    expect(quoteEnvValue(`it's "$x" \\`)).toBe(`"it's \\"\\$x\\" \\\\"`);
  });
});

describe('parseEnvText', () => {
  it('reads the seed 001 .env.sandbox example', () => {
    const text = [
      '# Instance Identity',
      'INSTANCE_ID=ktrdr--feat-operation-metrics',
      'COMPOSE_PROJECT_NAME=ktrdr--feat-operation-metrics',
      'SLOT_NUMBER=2',
      '',
      '# Published Ports',
      'KTRDR_API_PORT=8002',
      'KTRDR_SHARED_DIR=~/.ktrdr/shared',
      '',
      '# Metadata',
      'CREATED_AT=2024-01-15T10:30:00Z',
      'SANDBOX_VERSION=1',
      '',
    ].join('\n');
    expect(parseEnvText(text)).toEqual({
      INSTANCE_ID: 'ktrdr--feat-operation-metrics',
      COMPOSE_PROJECT_NAME: 'ktrdr--feat-operation-metrics',
      SLOT_NUMBER: '2',
      KTRDR_API_PORT: '8002',
      KTRDR_SHARED_DIR: '~/.ktrdr/shared',
      CREATED_AT: '2024-01-15T10:30:00Z',
      SANDBOX_VERSION: '1',
    });
  });

  it('ignores comments, indented comments and blank lines', () => {
    expect(parseEnvText('# a comment\n\n   \n   # indented comment\nA=1\n#B=2\n')).toEqual({ A: '1' });
    expect(parseEnvText('')).toEqual({});
  });

  it('accepts `export KEY=value`', () => {
    expect(parseEnvText('export A=1\nexport   B="two words"\n')).toEqual({ A: '1', B: 'two words' });
  });

  it('strips an inline " # comment" after an unquoted value', () => {
    expect(parseEnvText('A=8002 # the api port\n')).toEqual({ A: '8002' });
    expect(parseEnvText('A=value\t# tab comment\n')).toEqual({ A: 'value' });
  });

  it('keeps a # that is not preceded by whitespace in an unquoted value', () => {
    expect(parseEnvText('A=abc#def\n')).toEqual({ A: 'abc#def' });
  });

  it('keeps # inside quotes and ignores a comment after the closing quote', () => {
    expect(parseEnvText("A='x # y' # note\n")).toEqual({ A: 'x # y' });
    expect(parseEnvText('B="x # y" # note\n')).toEqual({ B: 'x # y' });
  });

  it('trims whitespace around the key, = and unquoted values', () => {
    expect(parseEnvText('  A = 1  \n')).toEqual({ A: '1' });
  });

  it('accepts CRLF line endings', () => {
    expect(parseEnvText('A=1\r\nB=2\r\n')).toEqual({ A: '1', B: '2' });
  });

  it('decodes \\n inside double quotes', () => {
    expect(parseEnvText('A="a\\nb"\n')).toEqual({ A: 'a\nb' });
  });

  it('takes U+2028 and U+2029 inside quotes as ordinary characters, as Compose does (only \\n ends a line)', () => {
    // JavaScript alone counts them as line terminators: a regular expression's `.` stops at them.
    expect(parseEnvText("A='x\u2028y'\nB=\"it's\u2029\"\n")).toEqual({ A: 'x\u2028y', B: "it's\u2029" });
    expect(parseEnvText("A='x\u2028B=1'\n")).toEqual({ A: 'x\u2028B=1' });
  });

  it('keeps the last of repeated keys', () => {
    expect(parseEnvText('A=1\nA=2\n')).toEqual({ A: '2' });
  });

  function parseError(text: string): EnvParseError {
    try {
      parseEnvText(text);
    } catch (e) {
      expect(e).toBeInstanceOf(EnvParseError);
      return e as EnvParseError;
    }
    throw new Error(`expected ${JSON.stringify(text)} to be rejected`);
  }

  it('rejects a malformed line, naming its line number', () => {
    const err = parseError('A=1\n# comment\n\nthis is not an assignment\nB=2\n');
    expect(err.line).toBe(4);
    expect(err.message).toMatch(/^line 4: /);
    expect(err.message).toContain('this is not an assignment');
  });

  it.each([
    ['a key starting with a digit', '1A=x', 1],
    ['a missing =', 'A=1\nB', 2],
    ['a dash in the key', 'A=1\nB=2\nMY-KEY=3', 3],
    ['an unterminated single quote', "A='abc", 1],
    ['an unterminated double quote', 'A=1\nB="abc', 2],
  ])('rejects %s', (_label, text, line) => {
    const err = parseError(text);
    expect(err.line).toBe(line);
    expect(err.message).toContain(`line ${line}`);
  });
});
