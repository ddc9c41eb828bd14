import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CATALOGUE } from '../../src/operations/catalogue.js';
import { REPO_ROOT, workspace, type Workspace } from '../helpers/cli.js';

let ws: Workspace;
beforeAll(() => {
  ws = workspace();
});
afterAll(() => ws.cleanup());

/** Every command of `kinfra sandbox`, from the catalogue. */
const COMMANDS = CATALOGUE.filter((o) => o.group !== 'program' && !o.hidden).map((o) => o.name);

describe('help (seed 000 task 7.3)', () => {
  it('kinfra --version prints the version', async () => {
    const r = await ws.run(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    // The one place the version lives.
    expect(r.stdout.trim()).toBe(JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version);
  });

  it('kinfra sandbox --help lists every command in groups, with examples', async () => {
    const r = await ws.run(['sandbox', '--help']);
    expect(r.code).toBe(0);
    for (const group of ['Lifecycle:', 'Inspection:', 'Pool:', 'Utilities:']) expect(r.stdout).toContain(group);
    for (const c of COMMANDS) expect(r.stdout).toMatch(new RegExp(`^\\s+${c}\\b`, 'm'));
    expect(r.stdout).toContain('Examples:');
  });

  it.each(COMMANDS)('kinfra sandbox %s --help has a description, every option explained, and examples', async (c) => {
    const r = await ws.run(['sandbox', c, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: kinfra sandbox /m);
    expect(r.stdout).toContain('Examples:');
    expect(r.stdout).toContain(`kinfra sandbox ${c}`);
    const optionLines = r.stdout.split('\n').filter((l) => /^\s+-/.test(l));
    expect(optionLines.length).toBeGreaterThanOrEqual(1);
    for (const l of optionLines) expect(l.trim(), l).toMatch(/^-\S.*\s{2,}\S/);
  });

  it('kinfra api --help explains the method, path and --data, with examples', async () => {
    const r = await ws.run(['api', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Examples:');
    expect(r.stdout).toContain('kinfra -p 8002 api get operations');
    expect(r.stdout).toContain('--data <json>');
  });
});

/**
 * Every help text, word for word: a change to any of them shows up in review (update with
 * `npx vitest run test/cli/help.test.ts -u`).
 */
describe('help snapshots', () => {
  const ALL = [[], ['sandbox'], ['api'], ['agent'], ['completion'], ...COMMANDS.map((c) => ['sandbox', c])];
  it.each(ALL.map((a) => [a.join(' ') || 'kinfra', a]))('%s --help', async (name, args) => {
    const r = await ws.run([...(args as string[]), '--help'], { env: { COLUMNS: '100' } });
    expect(r.code).toBe(0);
    await expect(r.stdout).toMatchFileSnapshot(`__snapshots__/help/${String(name).replace(/ /g, '-')}.txt`);
  });
});
