import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  COMPOSE_PROJECT_NAME,
  MAX_SLUG_LENGTH,
  instanceIdFor,
  requireSlug,
  slugify,
  uniqueInstanceId,
} from '../../src/core/slug.js';
import { KinfraError } from '../../src/core/errors.js';

const SLUG_SHAPE = /^[a-z0-9]+(-[a-z0-9]+)*$/;

describe('slugify', () => {
  it.each([
    ['feat-operation-metrics', 'feat-operation-metrics'],
    ['Feat_Operation Metrics', 'feat-operation-metrics'],
    ['MY FEATURE', 'my-feature'],
    ['a  b\tc', 'a-b-c'],
    ['a---b', 'a-b'],
    ['a.b/c', 'a-b-c'],
    ['  padded  ', 'padded'],
    ['v1.2.3', 'v1-2-3'],
    ['123', '123'],
  ])('applies the issue rule to %j -> %j', (input, expected) => {
    expect(slugify(input)).toBe(expected);
  });

  it('folds accents to ASCII', () => {
    expect(slugify('Café Crème')).toBe('cafe-creme');
    expect(slugify('Ünïcödé')).toBe('unicode');
    expect(slugify('naïve—résumé')).toBe('naive-resume');
  });

  it('neutralises path traversal', () => {
    expect(slugify('../')).toBe('');
    expect(slugify('../../etc/passwd')).toBe('etc-passwd');
    expect(slugify('..\\..\\windows')).toBe('windows');
    expect(slugify('./feat')).toBe('feat');
  });

  it('maps spaces to single dashes and trims them at the ends', () => {
    expect(slugify('   ')).toBe('');
    expect(slugify(' my  new   feature ')).toBe('my-new-feature');
  });

  it('returns an empty string for names with no ASCII letters or digits', () => {
    expect(slugify('日本語')).toBe('');
    expect(slugify('🚀🚀')).toBe('');
    expect(slugify('---')).toBe('');
    expect(slugify('')).toBe('');
  });

  it('keeps ASCII parts of mixed names', () => {
    expect(slugify('日本語 feature 2')).toBe('feature-2');
  });

  it('strips leading dashes so a name never looks like an option', () => {
    expect(slugify('--force')).toBe('force');
    expect(slugify('-rf')).toBe('rf');
    expect(slugify('trailing--')).toBe('trailing');
  });

  it('caps long names at MAX_SLUG_LENGTH', () => {
    expect(MAX_SLUG_LENGTH).toBe(48);
    const long = 'a'.repeat(300);
    expect(slugify(long)).toBe('a'.repeat(MAX_SLUG_LENGTH));
  });

  it('never leaves a trailing dash after capping', () => {
    // Position 48 (index 47) of the dashed form is a dash.
    const name = `${'a'.repeat(47)} ${'b'.repeat(252)}`;
    expect(name).toHaveLength(300);
    const slug = slugify(name);
    expect(slug).toBe('a'.repeat(47));
    expect(slug.endsWith('-')).toBe(false);

    const words = Array.from({ length: 60 }, () => 'ab').join(' ');
    const capped = slugify(words);
    expect(capped.length).toBeLessThanOrEqual(MAX_SLUG_LENGTH);
    expect(capped).toMatch(SLUG_SHAPE);
    expect(capped).toBe(Array.from({ length: 16 }, () => 'ab').join('-'));
  });

  it('property: any string gives "" or a well-formed, short slug usable as a compose project name', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 400 }),
          fc.string({ maxLength: 120 }),
          fc.string({ unit: 'grapheme', maxLength: 80 }),
        ),
        (s) => {
          const slug = slugify(s);
          expect(slug.length).toBeLessThanOrEqual(MAX_SLUG_LENGTH);
          if (slug !== '') expect(slug).toMatch(SLUG_SHAPE);
          expect(instanceIdFor('ktrdr', slug)).toMatch(COMPOSE_PROJECT_NAME);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('property: slugify is idempotent', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 400 }), fc.string({ maxLength: 120 })), (s) => {
        const once = slugify(s);
        expect(slugify(once)).toBe(once);
      }),
      { numRuns: 2000 },
    );
  });

  it('property: names already in slug form are unchanged', () => {
    const slugArb = fc
      .array(fc.stringMatching(/^[a-z0-9]{1,8}$/), { minLength: 1, maxLength: 5 })
      .map((parts) => parts.join('-'));
    fc.assert(
      fc.property(slugArb, (s) => {
        expect(slugify(s)).toBe(s);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('requireSlug', () => {
  it('returns the slug for a usable name', () => {
    expect(requireSlug('My Feature')).toBe('my-feature');
  });

  it.each(['', '日本語', '../', '---', '   '])('throws a usage error invalid-name for %j', (name) => {
    let caught: unknown;
    try {
      requireSlug(name);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(KinfraError);
    const err = caught as KinfraError;
    expect(err.category).toBe('usage');
    expect(err.code).toBe('invalid-name');
    expect(err.message).toContain(JSON.stringify(name));
    expect(err.hint).toBeTruthy();
  });
});

describe('instanceIdFor', () => {
  it('joins prefix and slug with a double dash', () => {
    expect(instanceIdFor('ktrdr', 'feat-operation-metrics')).toBe('ktrdr--feat-operation-metrics');
  });
});

describe('uniqueInstanceId', () => {
  it('returns the base when it is free', () => {
    expect(uniqueInstanceId('ktrdr--feat', () => false)).toBe('ktrdr--feat');
  });

  it('returns base-2 when only the base is taken', () => {
    const taken = new Set(['ktrdr--feat']);
    expect(uniqueInstanceId('ktrdr--feat', (id) => taken.has(id))).toBe('ktrdr--feat-2');
  });

  it('returns base-3 when base and base-2 are taken', () => {
    const taken = new Set(['ktrdr--feat', 'ktrdr--feat-2']);
    expect(uniqueInstanceId('ktrdr--feat', (id) => taken.has(id))).toBe('ktrdr--feat-3');
  });

  it('fills the first gap in the suffixes', () => {
    const taken = new Set(['x', 'x-2', 'x-4']);
    expect(uniqueInstanceId('x', (id) => taken.has(id))).toBe('x-3');
  });

  it('throws a usage error when every suffix is taken', () => {
    expect(() => uniqueInstanceId('x', () => true)).toThrow(KinfraError);
    try {
      uniqueInstanceId('x', () => true);
    } catch (e) {
      expect((e as KinfraError).category).toBe('usage');
      expect((e as KinfraError).code).toBe('name-exhausted');
    }
  });
});
