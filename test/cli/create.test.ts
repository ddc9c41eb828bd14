import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseEnvText } from '../../src/core/env-file.js';
import { parseJson, appWorkspace, type Workspace } from '../helpers/cli.js';

let ws: Workspace;
afterEach(() => ws?.cleanup());

const registryOf = (w: Workspace) => JSON.parse(readFileSync(join(w.home, '.ktrdr/sandboxes/registry.json'), 'utf8'));

describe('kinfra sandbox create (seed 001 scenario 1)', () => {
  it(
    'creates ../ktrdr--<slug> as a worktree on the lowest free slot, with ' + '.env.sandbox and a registry entry',
    async () => {
      ws = appWorkspace();
      const r = await ws.run(['sandbox', 'create', 'Feat Operation Metrics']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const path = join(ws.dev, 'ktrdr--feat-operation-metrics');
      expect(r.stdout).toContain('Created sandbox ktrdr--feat-operation-metrics (slot 1)');
      expect(r.stdout).toContain(`cd ${path} && kinfra sandbox up`);

      const env = parseEnvText(readFileSync(join(path, '.env.sandbox'), 'utf8'));
      expect(env).toMatchObject({
        INSTANCE_ID: 'ktrdr--feat-operation-metrics',
        COMPOSE_PROJECT_NAME: 'ktrdr--feat-operation-metrics',
        SLOT_NUMBER: '1',
        KTRDR_API_PORT: '8001',
        KTRDR_DB_PORT: '5433',
        KTRDR_WORKER_PORT_1: '5010',
        KTRDR_SHARED_DIR: join(ws.home, '.ktrdr/shared'),
        KTRDR_DATA_DIR: join(ws.home, '.ktrdr/shared/data'),
        SANDBOX_VERSION: '1',
      });
      expect(env.CREATED_AT).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

      const reg = registryOf(ws);
      expect(reg.version).toBe(2);
      expect(reg.slots).toEqual({});
      expect(reg.instances['ktrdr--feat-operation-metrics']).toMatchObject({
        slot: 1,
        path,
        is_worktree: true,
        parent_repo: ws.repo,
        created_worktree: true,
      });
      // A real linked worktree on a new branch named after the folder.
      expect(ws.git(['worktree', 'list', '--porcelain'])).toContain(`worktree ${path}`);
      expect(ws.git(['rev-parse', '--abbrev-ref', 'HEAD'], path)).toBe('ktrdr--feat-operation-metrics');
    },
  );

  it('fills slot gaps and prints a stable JSON document', async () => {
    ws = appWorkspace();
    for (const n of ['a', 'b', 'c']) expect((await ws.run(['sandbox', 'create', n])).code).toBe(0);
    expect((await ws.run(['sandbox', 'destroy', 'b', '--yes'])).code).toBe(0);
    const r = await ws.run(['sandbox', 'create', 'd', '--json']);
    expect(r.code).toBe(0);
    const doc = parseJson(r.stdout);
    expect(doc).toMatchObject({ schemaVersion: 2, ok: true });
    expect(doc.data).toMatchObject({
      instanceId: 'ktrdr--d',
      slot: 2,
      path: join(ws.dev, 'ktrdr--d'),
      branch: 'ktrdr--d',
      ports: { api: 8002, db: 5434, worker_4: 5023 },
      env: { KTRDR_API_PORT: 8002 },
      cleaned: [],
    });
    expect(Object.keys(doc.data).sort()).toEqual([
      'branch',
      'cleaned',
      'configSource',
      'copied',
      'database',
      'env',
      'envFile',
      'instanceId',
      'path',
      'ports',
      'profile',
      'slot',
    ]);
    expect(doc.data.profile).toBeNull();
  });

  it('checks out an existing branch, or creates it from HEAD of the main checkout', async () => {
    ws = appWorkspace();
    ws.git(['branch', 'fix/issue-123']);
    const existing = await ws.run(['sandbox', 'create', 'bugfix', '--branch', 'fix/issue-123']);
    expect(existing.code).toBe(0);
    expect(ws.git(['rev-parse', '--abbrev-ref', 'HEAD'], join(ws.dev, 'ktrdr--bugfix'))).toBe('fix/issue-123');

    const fresh = await ws.run(['sandbox', 'create', 'spike', '-b', 'spike/new']);
    expect(fresh.code).toBe(0);
    const wt = join(ws.dev, 'ktrdr--spike');
    expect(ws.git(['rev-parse', '--abbrev-ref', 'HEAD'], wt)).toBe('spike/new');
    expect(ws.git(['rev-parse', 'HEAD'], wt)).toBe(ws.git(['rev-parse', 'HEAD']));
  });

  it('works from inside a sandbox or a subfolder: sandboxes always go beside the main checkout', async () => {
    ws = appWorkspace({ 'src/app/main.txt': 'x\n' });
    expect((await ws.run(['sandbox', 'create', 'one'], { cwd: join(ws.repo, 'src/app') })).code).toBe(0);
    const r = await ws.run(['sandbox', 'create', 'two'], { cwd: join(ws.dev, 'ktrdr--one') });
    expect(r.code).toBe(0);
    expect(existsSync(join(ws.dev, 'ktrdr--two'))).toBe(true);
    expect(registryOf(ws).instances['ktrdr--two'].parent_repo).toBe(ws.repo);
  });

  it('takes the requested slot, and refuses one out of range or taken', async () => {
    ws = appWorkspace();
    const five = await ws.run(['sandbox', 'create', 'test', '--slot', '5']);
    expect(five.code).toBe(0);
    expect(five.stdout).toContain('(slot 5)');

    const taken = await ws.run(['sandbox', 'create', 'again', '-s', '5']);
    expect(taken.code).toBe(4);
    expect(taken.stderr).toContain('Slot 5 is not free: slot 5 is used by ktrdr--test');

    for (const bad of ['0', '11', 'x', '-1', '2.5']) {
      const r = await ws.run(['sandbox', 'create', 'again', '--slot', bad]);
      expect(r.code, bad).toBe(1);
      expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
    }
    expect(existsSync(join(ws.dev, 'ktrdr--again'))).toBe(false);
  });

  it(
    'refuses a name that exists (a suffix only with --unique) and a folder that ' + 'exists but is not registered',
    async () => {
      ws = appWorkspace();
      expect((await ws.run(['sandbox', 'create', 'dup'])).code).toBe(0);
      // Same slug, different spelling: two agents using one name must not get two sandboxes they then mix up.
      const again = await ws.run(['sandbox', 'create', 'DUP', '--json']);
      expect(again.code).toBe(12);
      expect(parseJson(again.stderr).error.code).toBe('sandbox-exists');
      expect(parseJson(again.stderr).error.message).toContain(join(ws.dev, 'ktrdr--dup'));
      const second = await ws.run(['sandbox', 'create', 'DUP', '--unique', '--json']);
      expect(second.code).toBe(0);
      expect(parseJson(second.stdout).data.instanceId).toBe('ktrdr--dup-2');

      mkdirSync(join(ws.dev, 'ktrdr--squatter'));
      const r = await ws.run(['sandbox', 'create', 'squatter']);
      expect(r.code).toBe(4);
      expect(r.stderr).toContain(`${join(ws.dev, 'ktrdr--squatter')} already exists and is not a registered sandbox`);
      expect(readdirSync(join(ws.dev, 'ktrdr--squatter'))).toEqual([]);
    },
  );

  it('refuses a branch checked out in another worktree, naming it (scenario 7)', async () => {
    ws = appWorkspace();
    expect((await ws.run(['sandbox', 'create', 'first', '-b', 'feat/shared'])).code).toBe(0);
    const r = await ws.run(['sandbox', 'create', 'second', '-b', 'feat/shared']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`Branch feat/shared is already checked out in ${join(ws.dev, 'ktrdr--first')}`);
    const main = await ws.run(['sandbox', 'create', 'third', '-b', 'main']);
    expect(main.code).toBe(4);
    expect(main.stderr).toContain(`already checked out in ${ws.repo}`);
    expect(existsSync(join(ws.dev, 'ktrdr--second'))).toBe(false);
  });

  it('lists every instance by slot when all slots are in use (seed 000 slot exhaustion)', async () => {
    ws = appWorkspace();
    for (let i = 1; i <= 10; i++) expect((await ws.run(['sandbox', 'create', `test-${i}`])).code).toBe(0);
    const r = await ws.run(['sandbox', 'create', 'test-11']);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toContain('All 10 sandbox slots are in use:');
    for (let i = 1; i <= 10; i++) expect(r.stderr).toContain(`Slot ${i}: ktrdr--test-${i}`);
    expect(r.stderr).toContain('kinfra sandbox destroy');
    expect(existsSync(join(ws.dev, 'ktrdr--test-11'))).toBe(false);
    const json = await ws.run(['sandbox', 'create', 'test-11', '--json']);
    expect(json.stdout).toBe('');
    expect(parseJson(json.stderr)).toMatchObject({ ok: false, error: { code: 'slots-exhausted' } });
  });

  it('undoes the worktree and the branch when a later step fails: nothing half-created stays', async () => {
    // The fixture tracks a folder named .env.sandbox, so writing the file fails after `git worktree add`.
    ws = appWorkspace({ '.env.sandbox/keep': 'x\n' });
    const before = ws.git(['branch', '--list']);
    const r = await ws.run(['sandbox', 'create', 'doomed']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Error:');
    expect(existsSync(join(ws.dev, 'ktrdr--doomed'))).toBe(false);
    expect(ws.git(['worktree', 'list', '--porcelain'])).not.toContain('ktrdr--doomed');
    expect(ws.git(['branch', '--list'])).toBe(before);
    const list = await ws.run(['sandbox', 'list', '--json']);
    expect(parseJson(list.stdout).data.instances).toEqual([]);
  });

  it('refuses a checkout with no compose file before making anything, naming the files it looked for', async () => {
    ws = appWorkspace();
    ws.git(['rm', '-q', 'docker-compose.yml']);
    ws.git(['commit', '-qm', 'no compose file']);
    const r = await ws.run(['sandbox', 'create', 'x']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      // Without a compose file there is nothing to derive a layout from: Compose's own names are what it looked for.
      `Error: No compose file in ${ws.repo} ` +
        '(looked for compose.yaml, compose.yml, docker-compose.yaml, docker-compose.yml).',
    );
    expect(r.stderr).toContain('compose_files in kinfra.yaml');
    expect(readdirSync(ws.dev)).toEqual(['ktrdr2']);
    expect(ws.git(['branch', '--list'])).not.toContain('ktrdr--x');
    expect(
      existsSync(join(ws.home, '.ktrdr/sandboxes/registry.json')) ? Object.keys(registryOf(ws).instances) : [],
    ).toEqual([]);
    const json = await ws.run(['sandbox', 'create', 'x', '--json']);
    expect(json.code).toBe(1);
    expect(parseJson(json.stderr)).toMatchObject({ ok: false, error: { code: 'no-compose-file' } });
    // A compose file named in kinfra.yaml is found.
    writeFileSync(
      join(ws.repo, 'kinfra.yaml'),
      'prefix: ktrdr\ncompose_files: [compose.dev.yml]\nports:\n  api: { env: API_PORT, base: 8000 }\n',
    );
    writeFileSync(join(ws.repo, 'compose.dev.yml'), 'services: {}\n');
    expect((await ws.run(['sandbox', 'create', 'x'])).code).toBe(0);
  });

  it('says clearly when run outside a git repository', async () => {
    ws = appWorkspace();
    const r = await ws.run(['sandbox', 'create', 'x'], { cwd: ws.home });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('is not inside a git repository');
  });

  it('--verbose shows every command it runs (quoted for a shell) on stderr; --json keeps stderr clean', async () => {
    ws = appWorkspace();
    const r = await ws.run(['sandbox', 'create', 'loud', '--verbose']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      `$ git worktree add -b ktrdr--loud ${join(ws.dev, 'ktrdr--loud')} HEAD   # in ${ws.repo}`,
    );
    expect(r.stderr).toContain("'--format=%(refname:short)'");
    expect(r.stdout).toContain('Created sandbox ktrdr--loud');
    const quiet = await ws.run(['sandbox', 'create', 'quiet', '--verbose', '--json']);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');
  });
});
