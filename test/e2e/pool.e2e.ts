import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJson, type Workspace } from '../helpers/cli.js';
import {
  buildExampleImages,
  E2E_CONFIG,
  exampleWorkspace,
  leftovers,
  removeLeftovers,
  requireEngine,
} from '../helpers/docker.js';

/** Seed 004 on the real engine: the slot pool with profiles that really apply. */
const POOL_CONFIG = `${E2E_CONFIG}profiles:
  light: { workers: { backtest: 1, training: 1 } }
  standard: { workers: { backtest: 2, training: 2 } }
pool:
  template: pool-template.yml
  slots: { "1": light, "2": standard }
`;

const psql = (sql: string) => `psql -U ktrdr -d ktrdr -tAc "${sql}"\nexit\n`;

describe('slot pool on a real engine', () => {
  let ws: Workspace;
  const run = (args: string[], cwd?: string, input?: string) =>
    ws.run(args, { ...(cwd ? { cwd } : {}), ...(input ? { input } : {}) });

  beforeAll(() => {
    requireEngine();
    removeLeftovers();
    buildExampleImages();
    ws = exampleWorkspace(POOL_CONFIG);
  }, 600_000);
  afterAll(async () => {
    for (const d of ['kte--first', 'kte--second'])
      if (existsSync(join(ws.dev, d))) await run(['sandbox', 'destroy', '--force'], join(ws.dev, d));
    removeLeftovers();
    ws.cleanup();
  });

  it("provision, create --profile standard, up: the gate expects the profile's 4 workers", async () => {
    const p = await run(['sandbox', 'provision']);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toContain('Created 2 slot(s)');
    const c = parseJson((await run(['sandbox', 'create', 'first', '--profile', 'standard', '--json'])).stdout).data;
    expect(c).toMatchObject({ slot: 2, profile: 'standard' });
    const up = await run(['sandbox', 'up', '--timeout', '240'], join(ws.dev, 'kte--first'));
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toContain('✓ Workers registered (4)');
    const slots = (await run(['sandbox', 'slots'])).stdout;
    expect(slots).toMatch(/^2\s+standard\s+28002\s+kte--first\s+running$/m);
    const status = parseJson((await run(['sandbox', 'status', '--json'], join(ws.dev, 'kte--first'))).stdout).data;
    expect(status.project).toBe('kte--slot-2');
    expect(status.containers.running).toBe(9);
  });

  it('release, claim again: the new claim finds a fresh database', async () => {
    const first = join(ws.dev, 'kte--first');
    const mark = await run(['sandbox', 'shell', 'db'], first, psql('CREATE TABLE previous_claim(x int); SELECT 42'));
    expect(mark.stdout).toContain('42');
    expect((await run(['sandbox', 'release', '2'])).code).toBe(4);
    const rel = await run(['sandbox', 'release', '2', '-f']);
    expect(rel.code, rel.stderr).toBe(0);
    expect(leftovers('kte--slot-2').volumes).toEqual([]);

    const c = parseJson((await run(['sandbox', 'create', 'second', '--profile', 'standard', '--json'])).stdout).data;
    expect(c.slot).toBe(2);
    const second = join(ws.dev, 'kte--second');
    expect((await run(['sandbox', 'up', '--timeout', '240'], second)).code).toBe(0);
    const check = await run(
      ['sandbox', 'shell', 'db'],
      second,
      psql("SELECT count(*) FROM pg_tables WHERE tablename = 'previous_claim'"),
    );
    expect(check.stdout.trim().split('\n')).toContain('0');

    expect((await run(['sandbox', 'destroy', '--yes'], second)).code).toBe(0);
    expect(leftovers('kte--slot-2')).toEqual({ containers: [], volumes: [], networks: [] });
    expect(
      JSON.parse((await import('node:fs')).readFileSync(join(ws.home, '.ktrdr/sandboxes/registry.json'), 'utf8')).slots[
        '2'
      ].claimed_by,
    ).toBeNull();
  });
});
