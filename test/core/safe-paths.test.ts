import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { notCreatedWorktree, protectedReason, type Protected } from '../../src/core/safe-paths.js';
import { HOME, MAIN } from './fixtures.js';

const guard: Protected = { home: HOME, mainCheckout: MAIN };
const SIBLING = `${HOME}/src/ktrdr--feat`;

describe('protectedReason', () => {
  it.each(['/', '//', '///'])('refuses the root folder %j', (path) => {
    expect(protectedReason(path, guard)).toBe('it is the root folder');
  });

  it.each([HOME, `${HOME}/`, `${HOME}//`, '/home', '/home/', `${HOME}/src/..`, `${HOME}/./`])(
    'refuses the home folder or a folder above it: %j',
    (path) => {
      expect(protectedReason(path, guard)).toBe('it is the home folder or a folder above it');
    },
  );

  it.each([MAIN, `${MAIN}/`, `${HOME}/src`, `${HOME}/src/`, `${MAIN}/sub/..`])(
    'refuses the main checkout or a folder above it: %j',
    (path) => {
      expect(protectedReason(path, guard)).toBe('it is the main checkout or a folder above it');
    },
  );

  it.each(['ktrdr--feat', './ktrdr--feat', '../ktrdr--feat', '', '~/src/ktrdr--feat'])(
    'refuses the relative path %j',
    (path) => {
      expect(protectedReason(path, guard)).toBe(`${path} is not an absolute path`);
    },
  );

  it.each([
    SIBLING,
    `${SIBLING}/`,
    `${HOME}/src/ktrdr2`,
    `${HOME}/src/ktrdr-old`,
    `${HOME}2`,
    '/home/devil',
    '/tmp/x',
    `${MAIN}/node_modules`,
  ])('allows %j, which is neither those nor above them', (path) => {
    expect(protectedReason(path, guard)).toBeUndefined();
  });

  it('a home folder given with a trailing slash protects the same folders', () => {
    const g = { home: `${HOME}/`, mainCheckout: `${MAIN}/` };
    expect(protectedReason(HOME, g)).toBe('it is the home folder or a folder above it');
    expect(protectedReason(MAIN, g)).toBe('it is the main checkout or a folder above it');
    expect(protectedReason(SIBLING, g)).toBeUndefined();
  });

  it('without a main checkout, only the root and the home folder are protected', () => {
    const g = { home: HOME, mainCheckout: '' };
    expect(protectedReason(MAIN, g)).toBeUndefined();
    expect(protectedReason(`${HOME}/src`, g)).toBeUndefined();
    expect(protectedReason('/home', g)).toBe('it is the home folder or a folder above it');
  });

  it('property: every folder on the way down to HOME is protected', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.stringMatching(/^[a-z0-9._-]{1,6}$/).filter((s) => s !== '.' && s !== '..'),
          { minLength: 1, maxLength: 5 },
        ),
        (parts) => {
          const home = `/${parts.join('/')}`;
          for (let i = 0; i <= parts.length; i++) {
            expect(protectedReason(`/${parts.slice(0, i).join('/')}`, { home, mainCheckout: '' })).toBeDefined();
          }
          expect(protectedReason(`${home}/x`, { home, mainCheckout: '' })).toBeUndefined();
        },
      ),
    );
  });
});

describe('notCreatedWorktree', () => {
  it.each([SIBLING, `${SIBLING}/`, `${HOME}/src/./ktrdr--feat`, `${HOME}/src/other/../ktrdr--feat`])(
    'accepts the exact sibling folder %j',
    (path) => {
      expect(notCreatedWorktree(path, 'ktrdr--feat', guard)).toBeUndefined();
    },
  );

  it('accepts it when the main checkout is given with a trailing slash', () => {
    expect(notCreatedWorktree(SIBLING, 'ktrdr--feat', { home: HOME, mainCheckout: `${MAIN}/` })).toBeUndefined();
  });

  it.each([
    [`${HOME}/src/ktrdr--other`, "another sandbox's folder"],
    [`${HOME}/elsewhere/ktrdr--feat`, 'the right name in the wrong place'],
    [`${SIBLING}/sub`, 'a folder inside it'],
    [`${MAIN}/ktrdr--feat`, 'a folder of that name inside the main checkout'],
    [`${HOME}/src/ktrdr--feat2`, 'a longer name'],
  ])('refuses %j (%s), naming the folder it expects', (path) => {
    expect(notCreatedWorktree(path, 'ktrdr--feat', guard)).toBe(
      `it is not ${SIBLING}, the folder kinfra creates for ktrdr--feat`,
    );
  });

  it('gives the protection reason first', () => {
    expect(notCreatedWorktree('/', 'ktrdr--feat', guard)).toBe('it is the root folder');
    expect(notCreatedWorktree(HOME, 'ktrdr--feat', guard)).toBe('it is the home folder or a folder above it');
    expect(notCreatedWorktree(MAIN, 'ktrdr', guard)).toBe('it is the main checkout or a folder above it');
    expect(notCreatedWorktree('ktrdr--feat', 'ktrdr--feat', guard)).toBe('ktrdr--feat is not an absolute path');
  });

  it('an id that climbs out is refused before any folder is looked at', () => {
    expect(notCreatedWorktree(`${HOME}`, '..', guard)).toBe('".." is not a sandbox id');
    expect(notCreatedWorktree(`${HOME}/src`, '.', guard)).toBe('"." is not a sandbox id');
  });

  // A registry key is as hand-editable as a path: an id with a slash in it names no folder beside the main checkout.
  it('refuses a folder inside the main checkout reached through an id with a slash', () => {
    expect(notCreatedWorktree(`${MAIN}/src`, 'ktrdr/src', guard)).toBeDefined();
  });

  it('refuses a folder elsewhere in HOME reached through an id with ..', () => {
    expect(notCreatedWorktree(`${HOME}/Documents`, '../Documents', guard)).toBeDefined();
  });
});
