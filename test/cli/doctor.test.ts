import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
  mkdirSync,
  renameSync,
} from 'node:fs';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, cliEnv, parseJson, appWorkspace, type Workspace, KTRDR_COMPOSE } from '../helpers/cli.js';
import { gatedEngine } from '../helpers/docker.js';

/** Doctor on real git repositories with a scratch HOME; Docker is asked but no container is made. */
describe('kinfra sandbox doctor', () => {
  let ws: Workspace;
  afterEach(() => ws?.cleanup());

  const registryFile = () => join(ws.home, '.ktrdr/sandboxes/registry.json');
  const registry = () => JSON.parse(readFileSync(registryFile(), 'utf8'));
  const doctor = async (...args: string[]) => {
    const r = await ws.run(['sandbox', 'doctor', '--json', ...args]);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
    return { code: r.code, data: parseJson(r.stdout).data };
  };
  const problems = (data: any) => data.findings.filter((f: any) => f.status === 'problem');

  it('says everything is in order on a fresh machine, and checks the engine and compose', async () => {
    ws = appWorkspace();
    await ws.run(['sandbox', 'create', 'a']);
    const { code, data } = await doctor();
    expect(problems(data)).toEqual([]);
    expect(code).toBe(0);
    const checks = data.findings.filter((f: any) => f.status === 'ok').map((f: any) => f.check);
    for (const c of ['engine', 'compose', 'registry', 'entries', 'unregistered', 'env-files', 'orphans', 'ports'])
      expect(checks).toContain(c);
    const human = await ws.run(['sandbox', 'doctor']);
    expect(human.stdout).toMatch(/✓ engine\s+Docker engine reachable/);
  });

  it(
    'rebuilds an unreadable registry from the sandboxes on disk, on the slots ' + 'their .env.sandbox files name',
    async () => {
      ws = appWorkspace();
      await ws.run(['sandbox', 'create', 'a']);
      await ws.run(['sandbox', 'create', 'b']);
      await ws.run(['sandbox', 'create', 'c']);
      await ws.run(['sandbox', 'destroy', 'a', '--yes']);
      const before = registry();
      writeFileSync(registryFile(), '{"version": 2, "instances": {');

      const seen = await doctor();
      expect(seen.code).toBe(11);
      expect(problems(seen.data).map((f: any) => f.check)).toContain('registry');
      expect(readFileSync(registryFile(), 'utf8')).toBe('{"version": 2, "instances": {'); // doctor alone writes nothing

      const fixed = await doctor('--repair');
      expect(problems(fixed.data)).toEqual([]);
      expect(fixed.code).toBe(0);
      const after = registry();
      expect(Object.keys(after.instances).sort()).toEqual(['ktrdr--b', 'ktrdr--c']);
      for (const id of ['ktrdr--b', 'ktrdr--c']) {
        expect(after.instances[id].slot).toBe(before.instances[id].slot);
        expect(after.instances[id].created_worktree).toBe(true); // the .env.sandbox records that create made it
        expect(after.instances[id].ports).toEqual(before.instances[id].ports);
      }
      // destroy still removes a worktree kinfra made, after the rebuild
      const d = await ws.run(['sandbox', 'destroy', 'b', '--yes']);
      expect(d.code).toBe(0);
      expect(existsSync(join(ws.dev, 'ktrdr--b'))).toBe(false);
    },
  );

  it('finishes a create that was killed after recording its intent, keeping the files already there', async () => {
    ws = appWorkspace();
    await ws.run(['sandbox', 'create', 'a']);
    const path = join(ws.dev, 'ktrdr--a');
    // As a create killed between `git worktree add` and writing .env.sandbox leaves it.
    const reg = registry();
    reg.instances['ktrdr--a'].state = 'creating';
    writeFileSync(registryFile(), JSON.stringify(reg));
    rmSync(join(path, '.env.sandbox'));
    rmSync(join(path, 'README.md')); // a checkout git had not finished
    writeFileSync(join(path, 'notes.txt'), 'work\n');

    const list = await ws.run(['sandbox', 'list']);
    expect(list.stdout).toMatch(/ktrdr--a\s+1\s+\d+\s+creating\?/);
    const seen = await doctor();
    expect(problems(seen.data)[0].message).toMatch(/create ktrdr--a did not finish/);

    const fixed = await doctor('--repair');
    expect(problems(fixed.data)).toEqual([]);
    expect(registry().instances['ktrdr--a'].state).toBeUndefined();
    expect(readFileSync(join(path, '.env.sandbox'), 'utf8')).toMatch(/SLOT_NUMBER=1/);
    expect(readFileSync(join(path, 'README.md'), 'utf8')).toBe('# fixture\n');
    expect(readFileSync(join(path, 'notes.txt'), 'utf8')).toBe('work\n');
  });

  it(
    'drops a creating entry whose worktree never appeared, and leaves an interrupted ' + 'destroy as a sandbox again',
    async () => {
      ws = appWorkspace();
      await ws.run(['sandbox', 'create', 'keep']);
      const reg = registry();
      reg.instances['ktrdr--ghost'] = {
        ...reg.instances['ktrdr--keep'],
        slot: 2,
        path: join(ws.dev, 'ktrdr--ghost'),
        state: 'creating',
      };
      reg.instances['ktrdr--keep'].state = 'destroying';
      writeFileSync(registryFile(), JSON.stringify(reg));

      const fixed = await doctor('--repair');
      expect(problems(fixed.data)).toEqual([]);
      const after = registry();
      expect(Object.keys(after.instances)).toEqual(['ktrdr--keep']);
      expect(after.instances['ktrdr--keep'].state).toBeUndefined();
      expect(fixed.data.repairs.map((r: any) => r.note).join('\n')).toMatch(/run `kinfra sandbox destroy ktrdr--keep`/);
    },
  );

  it('writes a lost or wrong .env.sandbox again from the registry', async () => {
    ws = appWorkspace();
    await ws.run(['sandbox', 'create', 'a']);
    await ws.run(['sandbox', 'create', 'b']);
    const a = join(ws.dev, 'ktrdr--a');
    const b = join(ws.dev, 'ktrdr--b');
    const original = readFileSync(join(b, '.env.sandbox'), 'utf8');
    rmSync(join(a, '.env.sandbox'));
    writeFileSync(join(b, '.env.sandbox'), original.replace('SLOT_NUMBER=2', 'SLOT_NUMBER=7'));

    const seen = await doctor();
    const messages = problems(seen.data)
      .map((f: any) => f.message)
      .join('\n');
    expect(messages).toMatch(/ktrdr--a disagrees with the registry: it is missing/);
    expect(messages).toMatch(/ktrdr--b disagrees with the registry: it names slot 7, the registry slot 2/);

    expect((await doctor('--repair')).code).toBe(0);
    expect(readFileSync(join(a, '.env.sandbox'), 'utf8')).toMatch(/INSTANCE_ID=ktrdr--a/);
    expect(readFileSync(join(b, '.env.sandbox'), 'utf8')).toBe(original);
  });

  it(
    'names leftovers of killed writes and removes them: a temp file only once it is old, ' +
      'and only under the registry lock',
    async () => {
      ws = appWorkspace();
      await ws.run(['sandbox', 'create', 'a']);
      const old = new Date(Date.now() - 120_000);
      const temp = `${registryFile()}.3f9a21c7`;
      writeFileSync(temp, '{"half":');
      utimesSync(temp, old, old);
      // A write that may still be under way: a temp file made just now.
      const fresh = `${registryFile()}.4477190351`;
      writeFileSync(fresh, '{"being written":');
      const lock = `${registryFile()}.lock`;
      mkdirSync(lock);
      utimesSync(lock, old, old);

      const seen = await doctor();
      const left = seen.data.findings
        .filter((f: any) => f.check === 'leftovers')
        .map((f: any) => f.message)
        .join('\n');
      expect(left).toContain(temp);
      expect(left).toContain(fresh);
      expect(left).toMatch(/Registry lock not renewed/);
      const fixed = await doctor('--repair');
      expect(existsSync(temp)).toBe(false);
      expect(existsSync(lock)).toBe(false);
      expect(existsSync(fresh)).toBe(true);
      expect(fixed.data.repairs.map((r: any) => r.note).join('\n')).toMatch(
        /left .*4477190351: it is \d+ s old, and its writer may still be running/,
      );

      // While another kinfra holds the lock, even an old temp file is left until it lets go.
      utimesSync(fresh, old, old);
      const release = await lockfile.lock(registryFile(), { realpath: false, stale: 10_000, update: 2_000 });
      const repairing = doctor('--repair');
      await new Promise((r) => setTimeout(r, 1500));
      expect(existsSync(fresh)).toBe(true);
      await release();
      await repairing;
      expect(existsSync(fresh)).toBe(false);
    },
  );

  it(
    'finds a sandbox folder with no entry beside the checkout and registers it; ' +
      'an entry with no folder is dropped',
    async () => {
      ws = appWorkspace();
      await ws.run(['sandbox', 'create', 'a']);
      await ws.run(['sandbox', 'create', 'b']);
      const reg = registry();
      delete reg.instances['ktrdr--a'];
      reg.instances['ktrdr--gone'] = { ...reg.instances['ktrdr--b'], slot: 5, path: join(ws.dev, 'nowhere') };
      writeFileSync(registryFile(), JSON.stringify(reg));

      const seen = await doctor();
      const messages = problems(seen.data)
        .map((f: any) => `${f.check}: ${f.message}`)
        .join('\n');
      expect(messages).toMatch(/unregistered: .*ktrdr--a is the sandbox ktrdr--a \(slot 1\) but has no registry entry/);
      expect(messages).toMatch(/entries: ktrdr--gone is registered but its folder .* no longer exists/);
      expect(seen.data.findings.find((f: any) => f.check === 'unregistered').fix).toBe(
        `cd ${join(ws.dev, 'ktrdr--a')} && kinfra sandbox init`,
      );

      expect((await doctor('--repair')).code).toBe(0);
      expect(Object.keys(registry().instances).sort()).toEqual(['ktrdr--a', 'ktrdr--b']);
    },
  );

  it('releases a pool claim whose sandbox is gone, and re-provisions a pool slot folder that was lost', async () => {
    ws = appWorkspace(); // the built-in layout declares a pool of 6 slots
    expect((await ws.run(['sandbox', 'provision'])).code).toBe(0);
    const reg = registry();
    reg.slots['1'].claimed_by = 'ktrdr--vanished';
    reg.slots['1'].claimed_at = '2026-01-01T00:00:00Z';
    writeFileSync(registryFile(), JSON.stringify(reg));
    renameSync(join(ws.home, '.ktrdr/sandboxes/slot-2'), join(ws.root, 'moved-away'));

    const seen = await doctor();
    const messages = problems(seen.data)
      .map((f: any) => f.message)
      .join('\n');
    expect(messages).toMatch(/Pool slot 1 is claimed by ktrdr--vanished, which is not registered/);
    expect(messages).toMatch(/Pool slot 2 is registered but its folder .* is missing/);
    expect((await doctor('--repair')).code).toBe(0);
    expect(registry().slots['1'].claimed_by).toBeNull();
    expect(existsSync(join(ws.home, '.ktrdr/sandboxes/slot-2/docker-compose.yml'))).toBe(true);
  });

  it(
    'a release killed between its two locked steps leaves the slot marked: no claim takes it, doctor names it, ' +
      '--repair finishes it',
    async () => {
      ws = appWorkspace();
      await ws.run(['sandbox', 'provision']);
      expect((await ws.run(['sandbox', 'create', 'a', '--profile', 'light'])).code).toBe(0);
      const a = join(ws.dev, 'ktrdr--a');
      const engine = await gatedEngine(ws.root);
      const child = spawn(process.execPath, [CLI, 'sandbox', 'release', '1', '-f'], {
        cwd: ws.repo,
        env: cliEnv(ws.home, { DOCKER_HOST: engine.host, KINFRA_ENGINE_TIMEOUT_MS: '60000' }),
        stdio: 'ignore',
      });
      const exited = new Promise((r) => child.on('exit', r));
      await engine.held; // in the middle of resetting slot 1, outside the lock
      child.kill('SIGKILL');
      await exited;
      await engine.close();
      expect(registry().slots['1'].releasing).toMatchObject({ pid: child.pid, from: 'ktrdr--a' });

      const b = await ws.run(['sandbox', 'create', 'b', '--profile', 'light', '--json']);
      expect(parseJson(b.stdout).data.slot).toBe(2);
      const seen = await doctor();
      expect(seen.code).toBe(11);
      expect(
        problems(seen.data)
          .map((f: any) => f.message)
          .join('\n'),
      ).toMatch(
        new RegExp(
          `Pool slot 1 is marked as being released by kinfra pid ${child.pid}, which no longer runs: ` +
            `a release was interrupted \\(it was freeing the claim of ktrdr--a\\)`,
        ),
      );

      const fixed = await doctor('--repair');
      expect(problems(fixed.data)).toEqual([]);
      expect(fixed.code).toBe(0);
      const after = registry();
      expect(after.slots['1']).toMatchObject({ claimed_by: null });
      expect(after.slots['1'].releasing).toBeUndefined();
      expect(after.instances['ktrdr--a']).toBeUndefined();
      expect(existsSync(join(a, '.env.sandbox'))).toBe(false);
      expect(existsSync(a)).toBe(true); // the worktree itself is never removed by a release
      const c = await ws.run(['sandbox', 'create', 'c', '--profile', 'light', '--json']);
      expect(parseJson(c.stdout).data.slot).toBe(1);
    },
  );

  it(
    'never writes a .env.sandbox onto a slot the registry lists twice: ' + 'the repair refuses and the findings stay',
    async () => {
      ws = appWorkspace();
      await ws.run(['sandbox', 'create', 'a']);
      await ws.run(['sandbox', 'create', 'b']);
      const b = join(ws.dev, 'ktrdr--b');
      const correct = readFileSync(join(b, '.env.sandbox'), 'utf8');
      // A hand-merged registry: b listed on a's slot 1, while b's own file (correctly) says slot 2.
      const reg = registry();
      reg.instances['ktrdr--b'].slot = 1;
      reg.instances['ktrdr--b'].ports = reg.instances['ktrdr--a'].ports;
      writeFileSync(registryFile(), JSON.stringify(reg));

      const fixed = await doctor('--repair');
      expect(fixed.code).toBe(11);
      expect(readFileSync(join(b, '.env.sandbox'), 'utf8')).toBe(correct);
      expect(fixed.data.repairs.map((r: any) => r.note).join('\n')).toMatch(
        /did not write .*ktrdr--b\/\.env\.sandbox from the registry: slot 1 is used by ktrdr--a/,
      );
      const left = problems(fixed.data)
        .map((f: any) => `${f.check}: ${f.message}`)
        .join('\n');
      expect(left).toMatch(/registry: Slot 1 is registered to several sandboxes: ktrdr--a, ktrdr--b/);
      expect(left).toMatch(/env-files: The .env.sandbox of ktrdr--b disagrees/);
    },
  );

  it('never registers or writes a sandbox onto a pool slot another entry also holds', async () => {
    ws = appWorkspace();
    await ws.run(['sandbox', 'provision']);
    for (const n of ['p1', 'p2', 'p3'])
      expect((await ws.run(['sandbox', 'create', n, '--profile', 'light'])).code).toBe(0);
    const x = join(ws.dev, 'x');
    mkdirSync(x);
    ws.git(['init', '-q', '-b', 'main'], x);
    // p3 lost its entry; a hand edit put an ad-hoc entry x on pool slot 3's number.
    const reg = registry();
    delete reg.instances['ktrdr--p3'];
    reg.slots['3'].claimed_by = null;
    reg.slots['3'].claimed_at = null;
    reg.instances['ktrdr--x'] = {
      slot: 3,
      path: x,
      created_at: '2026-01-01T00:00:00Z',
      is_worktree: false,
      parent_repo: x,
      ports: {},
    };
    writeFileSync(registryFile(), JSON.stringify(reg));

    const fixed = await doctor('--repair');
    expect(fixed.code).toBe(11);
    const after = registry();
    expect(after.instances['ktrdr--p3']).toBeUndefined();
    expect(after.slots['3'].claimed_by).toBeNull();
    expect(existsSync(join(x, '.env.sandbox'))).toBe(false);
    const notes = fixed.data.repairs.map((r: any) => r.note).join('\n');
    expect(notes).toMatch(/slot 3 is also registered to ktrdr--x/);
    expect(notes).toMatch(/did not write .*x\/\.env\.sandbox from the registry: slot 3 is used by pool slot 3/);
    const left = problems(fixed.data).map((f: any) => f.check);
    expect(left).toContain('unregistered');
    expect(left).toContain('env-files');
  });

  it(
    'range-checks every slot and port a .env.sandbox names: slot 99 and port 70000 are ' + 'findings, never registered',
    async () => {
      ws = appWorkspace();
      for (const n of ['a', 'b', 'c']) await ws.run(['sandbox', 'create', n]);
      const b = join(ws.dev, 'ktrdr--b');
      const c = join(ws.dev, 'ktrdr--c');
      const reg = registry();
      delete reg.instances['ktrdr--b'];
      delete reg.instances['ktrdr--c'];
      writeFileSync(registryFile(), JSON.stringify(reg));
      // The built-in layout has slots 1-10.
      writeFileSync(
        join(b, '.env.sandbox'),
        readFileSync(join(b, '.env.sandbox'), 'utf8').replace('SLOT_NUMBER=2', 'SLOT_NUMBER=99'),
      );
      writeFileSync(
        join(c, '.env.sandbox'),
        readFileSync(join(c, '.env.sandbox'), 'utf8').replace(/KTRDR_API_PORT=\d+/, 'KTRDR_API_PORT=70000'),
      );

      const seen = await doctor();
      const messages = problems(seen.data)
        .map((f: any) => f.message)
        .join('\n');
      expect(messages).toMatch(
        /ktrdr--b has the .env.sandbox of ktrdr--b but no registry entry .* cannot be registered from it: it names slot 99, outside this layout's slots 0-10/,
      );
      expect(messages).toMatch(
        /ktrdr--c has the .env.sandbox of ktrdr--c .* cannot be registered from it: its KTRDR_API_PORT is "70000", not a port number \(1-65535\)/,
      );
      const fixed = await doctor('--repair');
      expect(fixed.code).toBe(11);
      expect(Object.keys(registry().instances)).toEqual(['ktrdr--a']);
      expect(problems(fixed.data).filter((f: any) => f.check === 'unregistered')).toHaveLength(2);
    },
  );

  it(
    'reports an out-of-range port in a registered .env.sandbox (exit 11, not a crash) ' + 'and writes the file again',
    async () => {
      ws = appWorkspace();
      await ws.run(['sandbox', 'create', 'a']);
      const a = join(ws.dev, 'ktrdr--a');
      // An entry without its ports (as the Python tool's are): nothing to compare the file's ports with.
      const reg = registry();
      delete reg.instances['ktrdr--a'].ports;
      writeFileSync(registryFile(), JSON.stringify(reg));
      writeFileSync(
        join(a, '.env.sandbox'),
        readFileSync(join(a, '.env.sandbox'), 'utf8').replace(/KTRDR_API_PORT=\d+/, 'KTRDR_API_PORT=70000'),
      );

      const seen = await doctor();
      expect(seen.code).toBe(11);
      expect(
        problems(seen.data)
          .map((f: any) => f.message)
          .join('\n'),
      ).toMatch(
        /The .env.sandbox of ktrdr--a disagrees with the registry: its KTRDR_API_PORT is "70000", not a port number \(1-65535\)/,
      );
      const status = await ws.run(['sandbox', 'status', '--json'], { cwd: a });
      expect(parseJson(status.stderr).error.code).toBe('env-file-disagrees');
      expect((await doctor('--repair')).code).toBe(0);
      expect(readFileSync(join(a, '.env.sandbox'), 'utf8')).toMatch(/^KTRDR_API_PORT=8001$/m);
    },
  );

  it('reports a registry.json that is a folder instead of failing itself', async () => {
    ws = appWorkspace();
    await ws.run(['sandbox', 'create', 'a']);
    rmSync(registryFile());
    mkdirSync(registryFile());
    for (const args of [[], ['--repair']]) {
      const r = await doctor(...args);
      expect(r.code).toBe(11);
      const found = problems(r.data).find((f: any) => f.check === 'registry');
      expect(found.message).toMatch(/The registry cannot be read, nor moved aside by doctor --repair: .*EISDIR/);
      expect(found.fix).toContain(`mv ${registryFile()} ${registryFile()}.aside`);
      expect(found.repairable).toBe(false);
    }
  });

  it(
    'removes a slot folder an interrupted provision left, with the temp file of ' + 'the write it was killed in',
    async () => {
      ws = appWorkspace();
      await ws.run(['sandbox', 'create', 'a']); // ad-hoc, on slot 1: no pool
      const dir = join(ws.home, '.ktrdr/sandboxes/slot-1');
      mkdirSync(dir);
      writeFileSync(join(dir, 'docker-compose.yml'), KTRDR_COMPOSE);
      writeFileSync(join(dir, 'docker-compose.yml.2769480125'), 'serv');
      const fixed = await doctor('--repair');
      expect(problems(fixed.data)).toEqual([]);
      expect(existsSync(dir)).toBe(false);
    },
  );

  /** The focus record `kinfra sandbox focus` writes, naming `pid` as its forwarder. */
  const recordFocus = (instance: string, pid: number) => {
    const reg = registry();
    reg.focus = {
      instance,
      pid,
      since: '2026-01-02T03:04:05.000Z',
      slot: 1,
      ports: [{ name: 'api', from: 8000, to: 8001, protocols: ['tcp'] }],
    };
    writeFileSync(registryFile(), JSON.stringify(reg, null, 2));
    return reg;
  };
  const focusFindings = (data: any) => data.findings.filter((f: any) => f.check === 'focus');

  it('reports a focus record whose forwarder is gone, and --repair clears it in one locked write', async () => {
    ws = appWorkspace();
    await ws.run(['sandbox', 'create', 'a']);
    const dead = spawnSync(process.execPath, ['-e', '']).pid; // a pid whose process has ended
    const before = recordFocus('ktrdr--a', dead);

    const seen = await doctor();
    expect(seen.code, 'a warning, not a problem').toBe(0);
    expect(focusFindings(seen.data)).toEqual([
      {
        check: 'focus',
        status: 'warn',
        message:
          'The registry records a focus on ktrdr--a (since 2026-01-02T03:04:05.000Z), but its forwarder ' +
          `(pid ${dead}) no longer runs: the main checkout's ports forward to nothing.`,
        fix: 'kinfra sandbox focus --off (clears the record), or kinfra sandbox focus <name> to focus again',
        repairable: true,
      },
    ]);
    const human = await ws.run(['sandbox', 'doctor']);
    expect(human.stdout).toMatch(/! focus\s+The registry records a focus on ktrdr--a/);
    expect(human.stdout).toContain('fix: kinfra sandbox focus --off');
    expect(registry(), 'doctor alone writes nothing').toEqual(before);

    const fixed = await doctor('--repair');
    expect(fixed.code).toBe(0);
    expect(fixed.data.repairs).toContainEqual({
      check: 'focus',
      message: expect.stringContaining('no longer runs'),
      done: true,
      note: `cleared the focus record of ktrdr--a (its forwarder, pid ${dead}, was gone)`,
    });
    expect(focusFindings(fixed.data)).toEqual([]);
    const after = registry();
    expect(after.focus).toBeUndefined();
    const { focus: _, ...rest } = before;
    expect(after).toEqual(rest);
    expect(readdirSync(join(ws.home, '.ktrdr/sandboxes')).filter((n) => n.startsWith('registry.json.'))).toEqual([]);
  });

  it(
    'takes a pid that is not a forwarder (reused) as stale, never signals it; a sandbox that is gone too; ' +
      'focus --off, the fix it names, clears it',
    async () => {
      ws = appWorkspace();
      await ws.run(['sandbox', 'create', 'a']);
      const other = spawn('sleep', ['30'], { stdio: 'ignore' });
      try {
        recordFocus('ktrdr--a', other.pid!);
        const [reused] = focusFindings((await doctor()).data);
        expect(reused).toMatchObject({ status: 'warn', repairable: true });
        expect(reused.message).toContain(`its forwarder (pid ${other.pid}) no longer runs`);

        recordFocus('ktrdr--gone', other.pid!);
        const [gone] = focusFindings((await doctor()).data);
        expect(gone.message).toContain('ktrdr--gone is no longer registered');
        const off = await ws.run(['sandbox', 'focus', '--off', '--json']);
        expect(off.code, off.stderr).toBe(0);
        expect(registry().focus).toBeUndefined();
        expect(focusFindings((await doctor()).data)).toEqual([]);

        recordFocus('ktrdr--a', other.pid!);
        const fixed = await doctor('--repair');
        expect(fixed.data.repairs.map((x: any) => x.check)).toContain('focus');
        expect(registry().focus).toBeUndefined();
        expect(other.exitCode, 'never signalled').toBeNull();
        expect(other.signalCode).toBeNull();
      } finally {
        other.kill('SIGKILL');
      }
    },
  );

  it('names a live focus as ok and leaves it', async () => {
    ws = appWorkspace();
    await ws.run(['sandbox', 'create', 'a']);
    // A process whose command line is a forwarder's of this registry (what doctor proves liveness by), serving nothing.
    const fake = spawn(
      process.execPath,
      ['-e', 'setTimeout(() => {}, 30000)', 'sandbox', 'focus-serve', 'ktrdr--a', '--registry', registryFile()],
      { stdio: 'ignore' },
    );
    try {
      await new Promise((r) => setTimeout(r, 200));
      const before = recordFocus('ktrdr--a', fake.pid!);
      const [live] = focusFindings((await doctor('--repair')).data);
      expect(live).toMatchObject({ status: 'ok', repairable: false });
      expect(live.message).toBe(
        `The main checkout's ports forward to ktrdr--a (forwarder pid ${fake.pid}, since 2026-01-02T03:04:05.000Z)`,
      );
      expect(registry()).toEqual(before);
    } finally {
      fake.kill('SIGKILL');
    }
  });
});
