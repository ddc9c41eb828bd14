import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspace, type Workspace } from '../helpers/cli.js';

/**
 * Colour only on a terminal; NO_COLOR turns it off and FORCE_COLOR on (no-color.org, force-color.org); never in --json.
 */
const ESC = '\x1b[';
let ws: Workspace;
beforeAll(async () => {
  ws = workspace();
  expect((await ws.run(['sandbox', 'create', 'paint'])).code).toBe(0);
});
afterAll(() => ws.cleanup());

describe('colour', () => {
  it('is off in a pipe', async () => {
    const r = await ws.run(['sandbox', 'list'], { env: { NO_COLOR: '' } });
    expect(r.stdout).toContain('ktrdr--paint');
    expect(r.stdout).not.toContain(ESC);
  });
  it('is on with FORCE_COLOR, even in a pipe', async () => {
    const r = await ws.run(['sandbox', 'list'], { env: { NO_COLOR: '', FORCE_COLOR: '1' } });
    expect(r.stdout).toContain(ESC);
  });
  it('NO_COLOR wins over FORCE_COLOR, and errors follow the same rule', async () => {
    const r = await ws.run(['sandbox', 'list'], { env: { NO_COLOR: '1', FORCE_COLOR: '1' } });
    expect(r.stdout).not.toContain(ESC);
    const e = await ws.run(['sandbox', 'destroy', 'nope'], { env: { NO_COLOR: '', FORCE_COLOR: '1' } });
    expect(e.stderr).toContain(`${ESC}31mError:`);
  });
  it('never in --json, whatever the environment says', async () => {
    const r = await ws.run(['sandbox', 'list', '--json'], { env: { NO_COLOR: '', FORCE_COLOR: '1' } });
    expect(r.stdout).not.toContain(ESC);
    JSON.parse(r.stdout);
  });
});
