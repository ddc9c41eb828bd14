import { KTRDR_COMPOSE } from '../helpers/cli.js';
// The resolved sandbox carries its ports, its service URLs and its compose project, worked out once; resolving it
// only reads the registry.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeLeaseEnv } from '../../src/app/slot-lease.js';
import { adHocLease } from '../../src/core/slot-lease.js';
import { builtInConfig } from '../../src/core/config/config.js';
import { appContext, type AppContext } from '../../src/app/context.js';
import { inStack, resolveSandbox } from '../../src/app/the-sandbox.js';

let root: string;
let ctx: AppContext;
const ID = 'ktrdr--feat';

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'kinfra-sandbox-'));
  const dir = join(root, ID);
  mkdirSync(dir);
  writeFileSync(join(dir, 'docker-compose.yml'), KTRDR_COMPOSE);
  const config = builtInConfig();
  ctx = appContext(join(dir, 'src'), root);
  await writeLeaseEnv(ctx, config, adHocLease(2), { instanceId: ID, path: dir, createdAt: '2025-01-01T00:00:00Z' });
  const ports = Object.fromEntries(config.ports.map((p) => [p.name, p.base + p.step * 2]));
  await ctx.registry.update((r) => {
    const createdAt = '2025-01-01T00:00:00Z';
    r.instances[ID] = { slot: 2, path: dir, created_at: createdAt, is_worktree: false, parent_repo: dir, ports };
  });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('resolveSandbox', () => {
  it('carries the ports, the service URLs and the compose project of the sandbox holding cwd', async () => {
    const s = await resolveSandbox(ctx);
    expect(s).toMatchObject({ instanceId: ID, slot: 2, path: join(root, ID) });
    expect(s.ports.find((p) => p.name === 'api')).toMatchObject({
      env: 'KTRDR_API_PORT',
      port: 8002,
      url: 'http://localhost:{port}',
    });
    expect(s.ports.filter((p) => p.worker !== undefined).length).toBe(builtInConfig().workerCount);
    expect(s.urls.find((u) => u.name === 'api')).toEqual({
      name: 'api',
      label: 'Backend',
      url: 'http://localhost:8002',
      port: 8002,
    });
    expect(s.urls.some((u) => u.name.startsWith('worker_'))).toBe(false);
    const dir = join(root, ID);
    expect(s.project).toMatchObject({ name: ID, file: join(dir, 'docker-compose.yml'), dir, layers: [] });
    expect(s.stamp).toMatchObject({ sandbox: ID, path: join(root, ID) });
  });

  it('uses the snapshot it is given instead of reading the registry again', async () => {
    const registry = await ctx.registry.snapshot();
    writeFileSync(ctx.paths.registry, 'not json');
    await expect(resolveSandbox(ctx)).rejects.toMatchObject({ code: 'registry-corrupt' });
    expect((await resolveSandbox(ctx, { registry })).instanceId).toBe(ID);
    // Resolving never moves a corrupt registry aside.
    expect(readFileSync(ctx.paths.registry, 'utf8')).toBe('not json');
  });

  it('finds a sandbox by name from anywhere', async () => {
    const s = await resolveSandbox({ ...ctx, cwd: root }, { name: 'feat' });
    expect(s.instanceId).toBe(ID);
  });
});

describe('inStack', () => {
  it('without a readable stack, every service URL counts as published', async () => {
    const s = await resolveSandbox(ctx);
    expect(inStack(s, undefined)).toEqual({ urls: s.urls, absent: [] });
  });
});
