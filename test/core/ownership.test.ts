import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  OWNER_LABEL,
  PATH_LABEL,
  SANDBOX_LABEL,
  foreignFolder,
  inventory,
  ownershipOf,
  projectOwner,
  stampLabels,
  type Claim,
  type Labelled,
} from '../../src/core/ownership.js';
import { HOME } from './fixtures.js';

const OURS = 'reg-7f3a';
const OTHER = 'reg-0b91';
const FOLDER = `${HOME}/src/ktrdr--a`;

const claim: Claim = {
  owner: OURS,
  sandbox: 'ktrdr--a',
  composeDir: FOLDER,
  adopted: { 'ktrdr--a_db-data': '2024-11-02T08:00:00Z' },
};

const labels = (owner: string, sandbox = 'ktrdr--a', path = FOLDER) => stampLabels({ owner, sandbox, path });

function res(kind: Labelled['kind'], name: string, extra: Partial<Labelled> = {}): Labelled {
  return { kind, name, project: 'ktrdr--a', labels: {}, ...extra };
}

describe('stampLabels', () => {
  it('names the owner, the sandbox and its folder', () => {
    expect(stampLabels({ owner: OURS, sandbox: 'ktrdr--slot-2', path: '/p' })).toEqual({
      'dev.kinfra.owner': OURS,
      'dev.kinfra.sandbox': 'ktrdr--slot-2',
      'dev.kinfra.path': '/p',
    });
    expect([OWNER_LABEL, SANDBOX_LABEL, PATH_LABEL]).toEqual([
      'dev.kinfra.owner',
      'dev.kinfra.sandbox',
      'dev.kinfra.path',
    ]);
  });
});

describe('ownershipOf', () => {
  it.each(['container', 'volume', 'network'] as const)(
    "a %s with our owner and this sandbox's label is ours",
    (kind) => {
      expect(ownershipOf(res(kind, 'x', { labels: labels(OURS) }), claim)).toBe('ours');
    },
  );

  it.each(['container', 'volume', 'network'] as const)(
    'a %s of another owner is foreign, even in our project under our folder',
    (kind) => {
      const r = res(kind, 'ktrdr--a_db-data', {
        labels: labels(OTHER),
        workingDir: FOLDER,
        createdAt: '2024-11-02T08:00:00Z',
      });
      expect(ownershipOf(r, claim)).toBe('foreign');
    },
  );

  it("our owner with another sandbox's label is foreign", () => {
    expect(ownershipOf(res('container', 'x', { labels: labels(OURS, 'ktrdr--b') }), claim)).toBe('foreign');
    expect(ownershipOf(res('volume', 'x', { labels: { [OWNER_LABEL]: OURS } }), claim)).toBe('foreign');
  });

  it('the owner label decides before anything the resource says about its folder', () => {
    expect(ownershipOf(res('container', 'x', { labels: labels(OURS, 'ktrdr--b'), workingDir: FOLDER }), claim)).toBe(
      'foreign',
    );
  });

  it('a container compose ran from the sandbox folder, without labels, is legacy', () => {
    expect(ownershipOf(res('container', 'ktrdr--a-db-1', { workingDir: FOLDER }), claim)).toBe('legacy');
  });

  it('an empty owner label counts as no label', () => {
    const r = res('container', 'ktrdr--a-db-1', {
      labels: { [OWNER_LABEL]: '', [SANDBOX_LABEL]: 'ktrdr--a' },
      workingDir: FOLDER,
    });
    expect(ownershipOf(r, claim)).toBe('legacy');
    expect(ownershipOf({ ...r, workingDir: undefined }, claim)).toBe('unproven');
  });

  it('an unlabelled container from another folder, or from none, is unproven', () => {
    expect(ownershipOf(res('container', 'c', { workingDir: `${HOME}/src/ktrdr` }), claim)).toBe('unproven');
    expect(ownershipOf(res('container', 'c', { workingDir: `${FOLDER}/` }), claim)).toBe('unproven');
    expect(ownershipOf(res('container', 'c'), claim)).toBe('unproven');
  });

  it('an adopted volume (same name and same creation time) is legacy', () => {
    expect(ownershipOf(res('volume', 'ktrdr--a_db-data', { createdAt: '2024-11-02T08:00:00Z' }), claim)).toBe('legacy');
  });

  it('a volume of the adopted name made again later is unproven', () => {
    expect(ownershipOf(res('volume', 'ktrdr--a_db-data', { createdAt: '2025-01-09T12:00:00Z' }), claim)).toBe(
      'unproven',
    );
    expect(ownershipOf(res('volume', 'ktrdr--a_db-data'), claim)).toBe('unproven');
  });

  it('a volume of the adoption time but another name is unproven', () => {
    expect(ownershipOf(res('volume', 'ktrdr--a_cache', { createdAt: '2024-11-02T08:00:00Z' }), claim)).toBe('unproven');
  });

  it('a working folder proves only containers, an adoption only volumes', () => {
    expect(ownershipOf(res('volume', 'v', { workingDir: FOLDER }), claim)).toBe('unproven');
    expect(ownershipOf(res('network', 'ktrdr--a_default', { workingDir: FOLDER }), claim)).toBe('unproven');
    expect(ownershipOf(res('container', 'ktrdr--a_db-data', { createdAt: '2024-11-02T08:00:00Z' }), claim)).toBe(
      'unproven',
    );
  });

  it('a volume named like an Object method is not taken for an adopted one', () => {
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      expect(ownershipOf(res('volume', name, { createdAt: '' }), claim)).toBe('unproven');
    }
  });

  it('property: any owner label but ours makes a resource foreign', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }).filter((o) => o !== OURS),
        fc.constantFrom('container' as const, 'volume' as const, 'network' as const),
        fc.option(fc.string(), { nil: undefined }),
        (owner, kind, sandbox) => {
          const l: Record<string, string> = { [OWNER_LABEL]: owner };
          if (sandbox !== undefined) l[SANDBOX_LABEL] = sandbox;
          expect(
            ownershipOf(
              res(kind, 'ktrdr--a_db-data', { labels: l, workingDir: FOLDER, createdAt: '2024-11-02T08:00:00Z' }),
              claim,
            ),
          ).toBe('foreign');
        },
      ),
    );
  });
});

describe('inventory', () => {
  it("sorts one project's resources by whose they are, keeping their order", () => {
    const ours1 = res('container', 'ktrdr--a-backend-1', { labels: labels(OURS) });
    const ours2 = res('network', 'ktrdr--a_default', { labels: labels(OURS) });
    const legacyC = res('container', 'ktrdr--a-db-1', { workingDir: FOLDER });
    const legacyV = res('volume', 'ktrdr--a_db-data', { createdAt: '2024-11-02T08:00:00Z' });
    const unproven = res('volume', 'ktrdr--a_cache');
    const foreign1 = res('container', 'ktrdr--a-web-1', { labels: labels(OTHER, 'ktrdr--a', '/home/other/ktrdr--a') });
    const foreign2 = res('volume', 'ktrdr--a_logs', { labels: labels(OURS, 'ktrdr--slot-3') });
    const all = [foreign1, ours1, legacyC, unproven, ours2, legacyV, foreign2];
    expect(inventory(all, claim)).toEqual({
      ours: [ours1, ours2],
      legacy: [legacyC, legacyV],
      unproven: [unproven],
      foreign: [foreign1, foreign2],
    });
  });

  it('an empty project has nothing in any group', () => {
    expect(inventory([], claim)).toEqual({ ours: [], legacy: [], unproven: [], foreign: [] });
  });
});

describe('foreignFolder', () => {
  it('is the path label of the first resource that has one', () => {
    expect(
      foreignFolder([res('network', 'n'), res('volume', 'v', { labels: labels(OTHER, 'x', '/home/other/x') })]),
    ).toBe('/home/other/x');
  });

  it('falls back to the working folder compose reports', () => {
    expect(foreignFolder([res('volume', 'v'), res('container', 'c', { workingDir: '/srv/app' })])).toBe('/srv/app');
  });

  it("prefers a resource's path label to its working folder", () => {
    expect(
      foreignFolder([res('container', 'c', { labels: { [PATH_LABEL]: '/labelled' }, workingDir: '/ran-from' })]),
    ).toBe('/labelled');
  });

  it('is undefined when nothing tells', () => {
    expect(foreignFolder([])).toBeUndefined();
    expect(foreignFolder([res('volume', 'v'), res('network', 'n')])).toBeUndefined();
  });
});

describe('projectOwner', () => {
  it("a project labelled by this kinfra is this kinfra's, under its sandbox label", () => {
    const rs = [
      res('container', 'c', { labels: labels(OURS, 'ktrdr--slot-2') }),
      res('volume', 'v', { labels: labels(OURS, 'ktrdr--slot-2') }),
    ];
    expect(projectOwner(rs, OURS)).toEqual({ kind: 'this', sandbox: 'ktrdr--slot-2' });
  });

  it("a labelled resource among unlabelled ones makes the project this kinfra's", () => {
    const rs = [res('volume', 'old'), res('container', 'c', { labels: labels(OURS) })];
    expect(projectOwner(rs, OURS)).toEqual({ kind: 'this', sandbox: 'ktrdr--a' });
  });

  it('our owner label without a sandbox label gives an empty sandbox', () => {
    expect(projectOwner([res('network', 'n', { labels: { [OWNER_LABEL]: OURS } })], OURS)).toEqual({
      kind: 'this',
      sandbox: '',
    });
  });

  it('a project labelled by another kinfra is theirs, with their folder', () => {
    const rs = [res('container', 'c', { labels: labels(OTHER, 'ktrdr--a', '/home/other/src/ktrdr--a') })];
    expect(projectOwner(rs, OURS)).toEqual({ kind: 'other-kinfra', path: '/home/other/src/ktrdr--a' });
  });

  it("a project mixing our owner and another is another kinfra's (never our orphan), with their folder", () => {
    const rs = [
      res('container', 'c', { labels: labels(OURS, 'ktrdr--a', FOLDER) }),
      res('volume', 'v', { labels: labels(OTHER, 'ktrdr--a', '/home/other/ktrdr--a') }),
    ];
    expect(projectOwner(rs, OURS)).toEqual({ kind: 'other-kinfra', path: '/home/other/ktrdr--a' });
  });

  it("another kinfra's project without a path label has no known folder", () => {
    expect(projectOwner([res('volume', 'v', { labels: { [OWNER_LABEL]: OTHER } })], OURS)).toEqual({
      kind: 'other-kinfra',
      path: undefined,
    });
  });

  it('an unlabelled project is unlabelled, with the folder compose ran it from', () => {
    expect(projectOwner([res('volume', 'v'), res('container', 'c', { workingDir: '/srv/app' })], OURS)).toEqual({
      kind: 'unlabelled',
      path: '/srv/app',
    });
    expect(projectOwner([res('volume', 'v', { labels: { [OWNER_LABEL]: '' } })], OURS)).toEqual({
      kind: 'unlabelled',
      path: undefined,
    });
  });

  it("property: a project with any resource of another owner is never this kinfra's", () => {
    const resource = fc.record({
      kind: fc.constantFrom('container' as const, 'volume' as const, 'network' as const),
      name: fc.string(),
      project: fc.constant('p'),
      labels: fc.constantFrom<Record<string, string>>({}, labels(OURS), labels(OTHER)),
    });
    fc.assert(
      fc.property(fc.array(resource, { maxLength: 6 }), (rs) => {
        const kind = projectOwner(rs, OURS).kind;
        if (rs.some((r) => r.labels[OWNER_LABEL] === OTHER)) expect(kind).toBe('other-kinfra');
        else if (rs.some((r) => r.labels[OWNER_LABEL] === OURS)) expect(kind).toBe('this');
        else expect(kind).toBe('unlabelled');
      }),
    );
  });
});
