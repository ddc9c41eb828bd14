import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  diagnose,
  openFindings,
  type CheckName,
  type DiskSandbox,
  type DoctorFacts,
  type Finding,
  type InstanceFacts,
  type ProjectFacts,
  type ProjectRow,
} from '../../src/core/doctor.js';
import type { InstanceEntry, Registry } from '../../src/core/registry/model.js';
import { HOME, pooled, registryOf, sandboxEntry } from './fixtures.js';

const REGISTRY_FILE = `${HOME}/.kinfra/registry.json`;

function facts(overrides: Partial<DoctorFacts> = {}): DoctorFacts {
  return {
    engine: { ok: true, detail: 'Docker 27.1' },
    compose: { ok: true, detail: 'v2.29' },
    registryFile: REGISTRY_FILE,
    registry: { ok: true, value: registryOf() },
    leftovers: [],
    instances: [],
    unregistered: [],
    slotDirs: [],
    projects: { orphans: [], foreign: [] },
    ports: [],
    shared: [],
    liveReleases: [],
    ...overrides,
  };
}

/** A registered sandbox whose folder, checkout and .env.sandbox are all as the registry says. */
function healthy(id: string, entry: InstanceEntry, overrides: Partial<InstanceFacts> = {}): InstanceFacts {
  return {
    instanceId: id,
    entry,
    folderExists: true,
    isCheckout: true,
    env: { instanceId: id, slot: entry.slot, project: entry.compose_project ?? id },
    ...overrides,
  };
}

/** Facts about one registered sandbox `ktrdr--a` on slot 1, with the registry holding it. */
function oneSandbox(instance: Partial<InstanceFacts>, entry: Partial<InstanceEntry> = {}): DoctorFacts {
  const e = sandboxEntry(1, 'a', entry);
  return facts({
    registry: { ok: true, value: registryOf({ 'ktrdr--a': e }) },
    instances: [healthy('ktrdr--a', e, instance)],
  });
}

function row(project: string, extra: Partial<ProjectRow> = {}): ProjectRow {
  return { project, containers: 2, running: 1, volumes: ['data'], networks: ['default'], ...extra };
}

const ofCheck = (findings: Finding[], check: CheckName) => findings.filter((f) => f.check === check);

function only(findings: Finding[], check: CheckName): Finding {
  const found = ofCheck(findings, check);
  expect(found, `findings of ${check}: ${JSON.stringify(findings)}`).toHaveLength(1);
  return found[0]!;
}

describe('diagnose: a healthy machine', () => {
  it('reports every check as ok, in order, with no fix and no repair', () => {
    const findings = diagnose(facts());
    expect(findings.map((f) => f.check)).toEqual([
      'engine',
      'compose',
      'registry',
      'entries',
      'unregistered',
      'claims',
      'env-files',
      'orphans',
      'ports',
      'shared',
    ]);
    for (const f of findings) {
      expect(f.status).toBe('ok');
      expect(f.fix).toBeUndefined();
      expect(f.repair).toBeUndefined();
    }
    expect(openFindings(findings)).toEqual([]);
  });

  it('names the engine and compose versions and counts the registry', () => {
    const reg = registryOf({ 'ktrdr--a': sandboxEntry(1, 'a'), 'ktrdr--b': sandboxEntry(2, 'b') }, [
      pooled(5, 'light'),
    ]);
    const findings = diagnose(
      facts({
        registry: { ok: true, value: reg },
        slotDirs: [{ slot: 5, path: `${HOME}/.kinfra/slot-5`, hasCompose: true }],
      }),
    );
    expect(only(findings, 'engine').message).toContain('Docker 27.1');
    expect(only(findings, 'compose').message).toContain('v2.29');
    expect(only(findings, 'registry').message).toBe('Registry parses: 2 sandbox(es), 1 pool slot(s)');
  });

  it('a registered sandbox that agrees with its folder gives no finding of its own', () => {
    expect(openFindings(diagnose(oneSandbox({})))).toEqual([]);
  });

  it('has no orphans verdict when the Engine could not be asked', () => {
    const findings = diagnose(facts({ projects: undefined }));
    expect(ofCheck(findings, 'orphans')).toEqual([]);
    expect(ofCheck(findings, 'foreign')).toEqual([]);
    expect(openFindings(findings)).toEqual([]);
  });
});

describe('diagnose: engine and compose', () => {
  it('an unreachable engine is a problem whose fix is the hint', () => {
    const f = only(
      diagnose(
        facts({ engine: { ok: false, message: 'Cannot connect to the Docker daemon', hint: 'Start Docker Desktop.' } }),
      ),
      'engine',
    );
    expect(f).toEqual({
      check: 'engine',
      status: 'problem',
      message: 'Cannot connect to the Docker daemon',
      fix: 'Start Docker Desktop.',
    });
  });

  it('an unreachable engine without a hint gets the default advice', () => {
    const f = only(diagnose(facts({ engine: { ok: false, message: 'no docker', hint: undefined } })), 'engine');
    expect(f.fix).toBe('Start Docker and run doctor again.');
    expect(f.repair).toBeUndefined();
  });

  it('missing compose is a problem, with the hint or the default advice', () => {
    const withHint = only(
      diagnose(facts({ compose: { ok: false, message: 'compose v1 only', hint: 'Upgrade.' } })),
      'compose',
    );
    expect(withHint).toMatchObject({ status: 'problem', message: 'compose v1 only', fix: 'Upgrade.' });
    const without = only(
      diagnose(facts({ compose: { ok: false, message: 'no compose', hint: undefined } })),
      'compose',
    );
    expect(without.fix).toBe('Install Docker Compose v2.');
    expect(without.repair).toBeUndefined();
  });
});

describe('diagnose: the registry', () => {
  const unreadable = facts({
    registry: { ok: false, reason: 'not valid JSON (Unexpected end)' },
    projects: { orphans: [row('ktrdr--lost')], foreign: [] },
    slotDirs: [{ slot: 3, path: `${HOME}/.kinfra/slot-3`, hasCompose: true }],
  });

  it('an unreadable registry is a problem repaired by rebuilding it', () => {
    const f = only(diagnose(unreadable), 'registry');
    expect(f.status).toBe('problem');
    expect(f.message).toContain(REGISTRY_FILE);
    expect(f.message).toContain('not valid JSON (Unexpected end)');
    expect(f.fix).toContain('kinfra sandbox doctor --repair');
    expect(f.repair).toEqual({ kind: 'rebuild-registry' });
  });

  it('with an unreadable registry, claims the registry would settle are not judged', () => {
    const checks = diagnose(unreadable).map((f) => f.check);
    // Nothing can be called healthy, orphaned or unprovisioned without knowing what is registered.
    expect(checks).toEqual(['engine', 'compose', 'registry']);
  });

  it('two ad-hoc sandboxes on one slot are a clash, with no automatic repair', () => {
    const reg = registryOf({ 'ktrdr--a': sandboxEntry(3, 'a'), 'ktrdr--b': sandboxEntry(3, 'b') });
    const clash = diagnose(facts({ registry: { ok: true, value: reg } })).filter(
      (f) => f.check === 'registry' && f.status === 'problem',
    );
    expect(clash).toHaveLength(1);
    expect(clash[0]!.message).toBe('Slot 3 is registered to several sandboxes: ktrdr--a, ktrdr--b.');
    expect(clash[0]!.fix).toContain('--keep-worktree');
    expect(clash[0]!.repair).toBeUndefined();
  });

  it('an ad-hoc sandbox on a pool slot number is a clash', () => {
    const reg = registryOf({ 'ktrdr--a': sandboxEntry(2, 'a') }, [pooled(2, 'light')]);
    const findings = diagnose(
      facts({
        registry: { ok: true, value: reg },
        slotDirs: [{ slot: 2, path: `${HOME}/.kinfra/slot-2`, hasCompose: true }],
      }),
    );
    const clash = findings.filter((f) => f.check === 'registry' && f.status === 'problem');
    expect(clash.map((f) => f.message)).toEqual(['Slot 2 is registered to ktrdr--a and is also a pool slot.']);
  });

  it('worktrees running on a pool slot share its number without clashing', () => {
    const reg = registryOf(
      {
        'ktrdr--a': sandboxEntry(2, 'a', { pool_slot: 2, compose_project: 'ktrdr--slot-2' }),
        'ktrdr--b': sandboxEntry(2, 'b', { pool_slot: 2, compose_project: 'ktrdr--slot-2' }),
      },
      [pooled(2, 'light', 'ktrdr--a')],
    );
    const findings = diagnose(
      facts({
        registry: { ok: true, value: reg },
        slotDirs: [{ slot: 2, path: `${HOME}/.kinfra/slot-2`, hasCompose: true }],
      }),
    );
    expect(openFindings(findings)).toEqual([]);
  });
});

describe('diagnose: leftovers', () => {
  it('each leftover is a warning removed by --repair', () => {
    const findings = diagnose(
      facts({
        leftovers: [
          { path: `${REGISTRY_FILE}.tmp-123`, what: 'Temp file of a killed write' },
          { path: `${REGISTRY_FILE}.lock`, what: 'Stale lock' },
        ],
      }),
    );
    expect(ofCheck(findings, 'leftovers')).toEqual([
      {
        check: 'leftovers',
        status: 'warn',
        message: `Temp file of a killed write: ${REGISTRY_FILE}.tmp-123`,
        fix: `rm -rf ${REGISTRY_FILE}.tmp-123`,
        repair: { kind: 'remove-leftover', path: `${REGISTRY_FILE}.tmp-123` },
      },
      {
        check: 'leftovers',
        status: 'warn',
        message: `Stale lock: ${REGISTRY_FILE}.lock`,
        fix: `rm -rf ${REGISTRY_FILE}.lock`,
        repair: { kind: 'remove-leftover', path: `${REGISTRY_FILE}.lock` },
      },
    ]);
  });
});

describe('diagnose: interrupted commands', () => {
  it('a create left in state creating is finished by --repair', () => {
    const f = only(diagnose(oneSandbox({}, { state: 'creating' })), 'interrupted');
    expect(f.status).toBe('problem');
    expect(f.message).toBe('kinfra sandbox create ktrdr--a did not finish (it was killed or crashed).');
    expect(f.fix).toContain('kinfra sandbox destroy ktrdr--a');
    expect(f.repair).toEqual({ kind: 'finish-create', instanceId: 'ktrdr--a' });
  });

  it.each(['destroying', 'removing-worktree'])('a destroy left in state %s is finished by --repair', (state) => {
    const f = only(diagnose(oneSandbox({}, { state })), 'interrupted');
    expect(f.status).toBe('problem');
    expect(f.message).toBe('kinfra sandbox destroy ktrdr--a did not finish (it was killed or crashed).');
    expect(f.fix).toBe('kinfra sandbox destroy ktrdr--a');
    expect(f.repair).toEqual({ kind: 'finish-destroy', instanceId: 'ktrdr--a' });
  });

  it.each(['creating', 'destroying', 'removing-worktree'])(
    'state %s is the only finding about that sandbox, whatever its folder looks like',
    (state) => {
      const findings = diagnose(oneSandbox({ folderExists: false, isCheckout: false, env: undefined }, { state }));
      const about = openFindings(findings).filter((f) => f.message.includes('ktrdr--a'));
      expect(about.map((f) => f.check)).toEqual(['interrupted']);
    },
  );

  it('a state this kinfra does not know is not taken for an interrupted command', () => {
    const findings = diagnose(oneSandbox({}, { state: 'migrating' }));
    expect(ofCheck(findings, 'interrupted')).toEqual([]);
    expect(openFindings(findings)).toEqual([]);
  });
});

describe('diagnose: registered folders', () => {
  it('a folder that is gone: its entry is dropped by --repair', () => {
    const f = only(diagnose(oneSandbox({ folderExists: false })), 'entries');
    expect(f.status).toBe('problem');
    expect(f.message).toBe(`ktrdr--a is registered but its folder ${HOME}/src/ktrdr--a no longer exists.`);
    expect(f.repair).toEqual({ kind: 'drop-entry', instanceId: 'ktrdr--a' });
  });

  it('a folder that is no longer a checkout is left to the user (no repair)', () => {
    const findings = diagnose(oneSandbox({ isCheckout: false, env: undefined }));
    const f = only(findings, 'entries');
    expect(f.status).toBe('problem');
    expect(f.message).toContain('is no longer a git checkout');
    expect(f.fix).toContain('kinfra sandbox destroy ktrdr--a --keep-worktree');
    expect(f.repair).toBeUndefined();
    // Its .env.sandbox is not judged: the folder itself is in question.
    expect(ofCheck(findings, 'env-files').every((x) => x.status === 'ok')).toBe(true);
  });
});

describe('diagnose: .env.sandbox against the registry', () => {
  it.each<[string, Partial<InstanceFacts>, Partial<InstanceEntry>, string]>([
    ['missing', { env: undefined }, {}, 'it is missing'],
    ['unreadable', { env: 'EACCES: permission denied' }, {}, 'EACCES: permission denied'],
    [
      'another instance',
      { env: { instanceId: 'ktrdr--b', slot: 1, project: undefined } },
      {},
      'it names the instance ktrdr--b',
    ],
    [
      'another slot',
      { env: { instanceId: 'ktrdr--a', slot: 4, project: undefined } },
      {},
      'it names slot 4, the registry slot 1',
    ],
    [
      'another project',
      { env: { instanceId: 'ktrdr--a', slot: 1, project: 'ktrdr--x' } },
      {},
      'it names the compose project ktrdr--x, not ktrdr--a',
    ],
    [
      'its own id where the registry has a pool project',
      { env: { instanceId: 'ktrdr--a', slot: 1, project: 'ktrdr--a' } },
      { pool_slot: 1, compose_project: 'ktrdr--slot-1' },
      'it names the compose project ktrdr--a, not ktrdr--slot-1',
    ],
    [
      'other values',
      { disagreement: 'KTRDR_API_PORT is 8009, the registry says 8001' },
      {},
      'KTRDR_API_PORT is 8009, the registry says 8001',
    ],
  ])('%s: rewritten from the registry by --repair', (_label, instance, entry, why) => {
    const f = only(diagnose(oneSandbox(instance, entry)), 'env-files');
    expect(f.status).toBe('problem');
    expect(f.message).toBe(`The .env.sandbox of ktrdr--a disagrees with the registry: ${why}.`);
    expect(f.repair).toEqual({ kind: 'rewrite-env', instanceId: 'ktrdr--a' });
  });

  it('a file that names no compose project is not held against it', () => {
    const f = only(diagnose(oneSandbox({ env: { instanceId: 'ktrdr--a', slot: 1, project: undefined } })), 'env-files');
    expect(f.status).toBe('ok');
  });

  it('a pool worktree whose file names the pool project agrees', () => {
    const f = only(
      diagnose(
        oneSandbox(
          { env: { instanceId: 'ktrdr--a', slot: 1, project: 'ktrdr--slot-1' } },
          { pool_slot: 1, compose_project: 'ktrdr--slot-1' },
        ),
      ),
      'env-files',
    );
    expect(f.status).toBe('ok');
  });

  it('the first disagreement is the one named (instance before slot before values)', () => {
    const f = only(
      diagnose(oneSandbox({ env: { instanceId: 'ktrdr--b', slot: 9, project: 'x' }, disagreement: 'ports differ' })),
      'env-files',
    );
    expect(f.message).toContain('it names the instance ktrdr--b');
    expect(f.message).not.toContain('slot 9');
    expect(f.message).not.toContain('ports differ');
  });
});

describe('diagnose: unregistered sandbox folders', () => {
  const lost = (foundBy: DiskSandbox['foundBy'], poolSlot?: number): DiskSandbox => ({
    path: `${HOME}/src/ktrdr--lost`,
    instanceId: 'ktrdr--lost',
    slot: 7,
    poolSlot,
    foundBy,
  });

  it.each<[DiskSandbox['foundBy'], string]>([
    ['worktree', 'a worktree with a .env.sandbox'],
    ['sibling', 'a folder with a .env.sandbox'],
    ['engine', 'a compose project runs from it'],
  ])('found by %s: registered by --repair', (foundBy, where) => {
    const f = only(diagnose(facts({ unregistered: [lost(foundBy)] })), 'unregistered');
    expect(f.status).toBe('problem');
    expect(f.message).toBe(
      `${HOME}/src/ktrdr--lost is the sandbox ktrdr--lost (slot 7) but has no registry entry (${where}).`,
    );
    expect(f.fix).toBe(`cd ${HOME}/src/ktrdr--lost && kinfra sandbox init`);
    expect(f.repair).toEqual({ kind: 'register', path: `${HOME}/src/ktrdr--lost` });
  });

  it('says when the lost sandbox ran on the pool', () => {
    expect(only(diagnose(facts({ unregistered: [lost('worktree', 3)] })), 'unregistered').message).toContain(
      '(slot 7, pool)',
    );
  });

  it('its compose project is not also called an orphan or foreign', () => {
    const findings = diagnose(
      facts({
        unregistered: [lost('engine')],
        projects: {
          orphans: [row('ktrdr--lost')],
          foreign: [{ ...row('ktrdr--lost'), owner: 'unlabelled', path: null }],
        },
      }),
    );
    expect(ofCheck(findings, 'orphans').map((f) => f.status)).toEqual(['ok']);
    expect(ofCheck(findings, 'foreign')).toEqual([]);
  });
});

describe('diagnose: the pool', () => {
  const dir = (slot: number) => ({ slot, path: `${HOME}/.kinfra/slot-${slot}`, hasCompose: true });

  it('a claim by a sandbox that is not registered is released by --repair', () => {
    const reg = registryOf({}, [pooled(1, 'light', 'ktrdr--gone')]);
    const f = only(diagnose(facts({ registry: { ok: true, value: reg }, slotDirs: [dir(1)] })), 'claims');
    expect(f.status).toBe('problem');
    expect(f.message).toBe('Pool slot 1 is claimed by ktrdr--gone, which is not registered.');
    expect(f.fix).toBe('kinfra sandbox release 1');
    expect(f.repair).toEqual({ kind: 'release-claim', slot: 1 });
  });

  it('a claim by a registered sandbox is fine', () => {
    const reg = registryOf({ 'ktrdr--a': sandboxEntry(1, 'a', { pool_slot: 1 }) }, [pooled(1, 'light', 'ktrdr--a')]);
    expect(only(diagnose(facts({ registry: { ok: true, value: reg }, slotDirs: [dir(1)] })), 'claims').status).toBe(
      'ok',
    );
  });

  it('a registered slot whose folder is missing is provisioned again', () => {
    const reg = registryOf({}, [pooled(4, 'heavy')]);
    const [f, ...rest] = ofCheck(diagnose(facts({ registry: { ok: true, value: reg } })), 'pool');
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ status: 'problem', fix: 'kinfra sandbox provision', repair: { kind: 'provision' } });
    expect(f!.message).toContain(`${HOME}/.kinfra/slot-4`);
  });

  it('a slot folder with no registry entry is provisioned, not removed', () => {
    const [f, ...rest] = ofCheck(diagnose(facts({ slotDirs: [dir(6)] })), 'pool');
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ status: 'problem', repair: { kind: 'provision' } });
    expect(f!.message).toBe(
      `Pool slot folder ${HOME}/.kinfra/slot-6 has no registry entry (an interrupted provision?).`,
    );
  });

  it('a slot folder left where an ad-hoc sandbox now holds the slot is removed', () => {
    const reg = registryOf({ 'ktrdr--a': sandboxEntry(6, 'a') });
    const [f, ...rest] = ofCheck(diagnose(facts({ registry: { ok: true, value: reg }, slotDirs: [dir(6)] })), 'pool');
    expect(rest).toEqual([]);
    expect(f!.message).toContain('slot 6 now belongs to the sandbox ktrdr--a');
    expect(f!.fix).toBe(`rm -r ${HOME}/.kinfra/slot-6`);
    expect(f!.repair).toEqual({ kind: 'remove-slot-dir', slot: 6, path: `${HOME}/.kinfra/slot-6` });
  });

  it('a slot folder is not taken for a leftover because a pool worktree carries its number', () => {
    const reg = registryOf({ 'ktrdr--a': sandboxEntry(6, 'a', { pool_slot: 6 }) });
    const f = ofCheck(diagnose(facts({ registry: { ok: true, value: reg }, slotDirs: [dir(6)] })), 'pool');
    expect(f.map((x) => x.repair)).toEqual([{ kind: 'provision' }]);
  });

  it('a provisioned pool with its folders has no pool finding', () => {
    const reg = registryOf({}, [pooled(1, 'light'), pooled(2, 'standard')]);
    expect(
      ofCheck(diagnose(facts({ registry: { ok: true, value: reg }, slotDirs: [dir(1), dir(2)] })), 'pool'),
    ).toEqual([]);
  });
});

describe('diagnose: compose projects on the engine', () => {
  it('an orphan of this kinfra is a warning with a manual fix, never an automatic one', () => {
    const findings = diagnose(
      facts({
        projects: {
          orphans: [row('ktrdr--old', { containers: 3, running: 2, volumes: ['a', 'b'], networks: ['n'] })],
          foreign: [],
        },
      }),
    );
    expect(only(findings, 'orphans')).toEqual({
      check: 'orphans',
      status: 'warn',
      message:
        "Compose project ktrdr--old carries this kinfra's owner label but belongs to no sandbox: " +
        '3 container(s) (2 running), ' +
        '2 volume(s), 1 network(s). Its volumes may hold data, so doctor leaves it.',
      fix: 'docker compose -p ktrdr--old down --volumes (after checking nothing in it is needed)',
    });
  });

  it.each<[ProjectFacts['foreign'][number]['owner'], string | null, string]>([
    ['other-kinfra', '/home/other/src/ktrdr--x', "another kinfra's sandbox (/home/other/src/ktrdr--x)"],
    ['other-kinfra', null, "another kinfra's sandbox:"],
    ['unlabelled', '/srv/app', 'unlabelled (an older kinfra or another tool) (/srv/app)'],
  ])('a foreign project (%s, %s) is named, ok, and left alone', (owner, path, text) => {
    const findings = diagnose(facts({ projects: { orphans: [], foreign: [{ ...row('ktrdr--x'), owner, path }] } }));
    const f = only(findings, 'foreign');
    expect(f.status).toBe('ok');
    expect(f.message).toContain(`Compose project ktrdr--x is ${text}`);
    expect(f.message).toContain('kinfra leaves it alone');
    expect(f.fix).toBeUndefined();
    expect(f.repair).toBeUndefined();
    // Someone else's project does not make this kinfra's own orphans check fail.
    expect(only(findings, 'orphans').status).toBe('ok');
  });

  it("property: only this kinfra's orphans are ever offered a `down`, and nothing on the engine is repaired", () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/);
    const foreignRow = fc.record({
      project: name.map((n) => `f-${n}`),
      containers: fc.nat(5),
      running: fc.nat(5),
      volumes: fc.array(name, { maxLength: 3 }),
      networks: fc.array(name, { maxLength: 3 }),
      owner: fc.constantFrom('other-kinfra' as const, 'unlabelled' as const),
      path: fc.option(
        name.map((n) => `/x/${n}`),
        { nil: null },
      ),
    });
    const orphanRow = fc.record({
      project: name.map((n) => `o-${n}`),
      containers: fc.nat(5),
      running: fc.nat(5),
      volumes: fc.array(name, { maxLength: 3 }),
      networks: fc.array(name, { maxLength: 3 }),
    });
    fc.assert(
      fc.property(fc.array(orphanRow, { maxLength: 4 }), fc.array(foreignRow, { maxLength: 4 }), (orphans, foreign) => {
        const findings = diagnose(facts({ projects: { orphans, foreign } }));
        const downs = findings.filter((f) => f.fix?.includes('down'));
        expect(downs.every((f) => f.check === 'orphans')).toBe(true);
        for (const p of foreign) expect(findings.some((f) => f.fix?.split(' ').includes(p.project))).toBe(false);
        for (const f of findings.filter((x) => x.check === 'orphans' || x.check === 'foreign'))
          expect(f.repair).toBeUndefined();
        expect(ofCheck(findings, 'foreign')).toHaveLength(foreign.length);
        expect(ofCheck(findings, 'orphans').filter((f) => f.status === 'warn')).toHaveLength(orphans.length);
      }),
      { numRuns: 300 },
    );
  });
});

describe('diagnose: ports and shared folders', () => {
  it('a port held by something else is a warning the user resolves', () => {
    const findings = diagnose(
      facts({ ports: [{ instanceId: 'ktrdr--a', port: 8001, env: 'KTRDR_API_PORT', holder: 'postgres (pid 42)' }] }),
    );
    const { fix, ...rest } = only(findings, 'ports');
    expect(rest).toEqual({
      check: 'ports',
      status: 'warn',
      message: 'Port 8001 (KTRDR_API_PORT) of ktrdr--a is held by postgres (pid 42).',
    });
    expect(fix).toMatch(
      /^Stop postgres \(pid 42\), or move ktrdr--a to a free slot N: kinfra sandbox destroy ktrdr--a --keep-worktree --yes && /,
    );
  });

  it('only missing shared folders are reported, each with init-shared', () => {
    const findings = diagnose(
      facts({
        shared: [
          { path: `${HOME}/.ktrdr/shared/data`, exists: true },
          { path: `${HOME}/.ktrdr/shared/models`, exists: false },
        ],
      }),
    );
    expect(ofCheck(findings, 'shared')).toEqual([
      {
        check: 'shared',
        status: 'warn',
        message: `Shared data folder ${HOME}/.ktrdr/shared/models is missing.`,
        fix: 'kinfra sandbox init-shared',
      },
    ]);
  });
});

describe('diagnose: what --repair may do', () => {
  /** One of every kind of trouble at once. */
  function everything(): DoctorFacts {
    const reg: Registry = registryOf(
      {
        'ktrdr--new': sandboxEntry(1, 'new', { state: 'creating' }),
        'ktrdr--old': sandboxEntry(2, 'old', { state: 'removing-worktree' }),
        'ktrdr--gone': sandboxEntry(3, 'gone'),
        'ktrdr--odd': sandboxEntry(4, 'odd'),
        'ktrdr--stale': sandboxEntry(5, 'stale'),
        'ktrdr--twin': sandboxEntry(5, 'twin'),
      },
      [pooled(7, 'light', 'ktrdr--nobody'), pooled(8, 'heavy')],
    );
    const e = reg.instances;
    return facts({
      registry: { ok: true, value: reg },
      leftovers: [{ path: '/tmp/x.tmp', what: 'Temp file' }],
      instances: [
        healthy('ktrdr--new', e['ktrdr--new']!),
        healthy('ktrdr--old', e['ktrdr--old']!),
        healthy('ktrdr--gone', e['ktrdr--gone']!, { folderExists: false }),
        healthy('ktrdr--odd', e['ktrdr--odd']!, { isCheckout: false }),
        healthy('ktrdr--stale', e['ktrdr--stale']!, { env: undefined }),
        healthy('ktrdr--twin', e['ktrdr--twin']!),
      ],
      unregistered: [
        {
          path: `${HOME}/src/ktrdr--lost`,
          instanceId: 'ktrdr--lost',
          slot: 9,
          poolSlot: undefined,
          foundBy: 'sibling',
        },
      ],
      slotDirs: [
        { slot: 7, path: `${HOME}/.kinfra/slot-7`, hasCompose: true },
        { slot: 4, path: `${HOME}/.kinfra/slot-4`, hasCompose: true },
      ],
      projects: {
        orphans: [row('ktrdr--orphan')],
        foreign: [{ ...row('ktrdr--theirs'), owner: 'other-kinfra', path: '/home/x' }],
      },
      ports: [{ instanceId: 'ktrdr--twin', port: 8005, env: 'KTRDR_API_PORT', holder: 'nginx' }],
      shared: [{ path: '/shared/data', exists: false }],
      focus: { instance: 'ktrdr--twin', pid: 4242, since: SINCE, forwarderRuns: false, registered: true },
    });
  }

  it('offers each repair only for the check it belongs to', () => {
    const findings = diagnose(everything());
    const repairs = findings.filter((f) => f.repair).map((f) => `${f.check}:${f.repair!.kind}`);
    expect(repairs.sort()).toEqual([
      'claims:release-claim',
      'entries:drop-entry',
      'env-files:rewrite-env',
      'focus:clear-focus',
      'interrupted:finish-create',
      'interrupted:finish-destroy',
      'leftovers:remove-leftover',
      'pool:provision',
      'pool:remove-slot-dir',
      'unregistered:register',
    ]);
  });

  it('leaves to the user what only the user can decide', () => {
    const findings = diagnose(everything());
    const manual = openFindings(findings).filter((f) => !f.repair);
    expect(manual.map((f) => f.check).sort()).toEqual(['entries', 'orphans', 'ports', 'registry', 'shared']);
    for (const f of manual) expect(f.fix).toBeTruthy();
    // No ok finding is ever repaired.
    expect(findings.filter((f) => f.status === 'ok' && f.repair)).toEqual([]);
  });

  it('openFindings keeps the problems and warnings, in order', () => {
    const findings = diagnose(everything());
    const open = openFindings(findings);
    expect(open.length).toBeGreaterThan(0);
    expect(open.every((f) => f.status !== 'ok')).toBe(true);
    expect(open).toEqual(findings.filter((f) => f.status === 'problem' || f.status === 'warn'));
  });
});

const SINCE = '2026-01-02T03:04:05.000Z';

describe('diagnose: the focus record (kinfra sandbox focus)', () => {
  const focus = (over: Partial<NonNullable<DoctorFacts['focus']>> = {}): DoctorFacts =>
    facts({
      ...oneSandbox({}),
      focus: { instance: 'ktrdr--a', pid: 4242, since: SINCE, forwarderRuns: true, registered: true, ...over },
    });

  it('says nothing of a focus when the registry records none', () => {
    expect(ofCheck(diagnose(facts()), 'focus')).toEqual([]);
  });

  it('names a live focus as ok, with its forwarder, and repairs nothing', () => {
    const f = only(diagnose(focus()), 'focus');
    expect(f).toMatchObject({ status: 'ok', message: expect.stringContaining('forward to ktrdr--a') });
    expect(f.message).toContain('pid 4242');
    expect(f.repair).toBeUndefined();
  });

  it('warns of a record whose forwarder is gone, with focus --off as the fix and a repair that clears it', () => {
    const f = only(diagnose(focus({ forwarderRuns: false })), 'focus');
    expect(f.status).toBe('warn');
    expect(f.message).toContain('its forwarder (pid 4242) no longer runs');
    expect(f.fix).toContain('kinfra sandbox focus --off');
    expect(f.repair).toEqual({ kind: 'clear-focus', pid: 4242 });
  });

  it('warns of a record whose sandbox is no longer registered, running forwarder or not', () => {
    for (const forwarderRuns of [false, true]) {
      const f = only(diagnose(focus({ registered: false, forwarderRuns })), 'focus');
      expect(f.status).toBe('warn');
      expect(f.message).toContain('ktrdr--a is no longer registered');
      expect(f.repair).toEqual({ kind: 'clear-focus', pid: 4242 });
    }
  });

  it('a stale focus alone leaves doctor healthy: a warning, not a problem', () => {
    const findings = diagnose(focus({ forwarderRuns: false }));
    expect(findings.filter((x) => x.status === 'problem')).toEqual([]);
  });
});
