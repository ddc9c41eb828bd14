import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { git, parseJson, workspace, type Workspace } from '../helpers/cli.js';
import { requireEngine } from '../helpers/docker.js';

/**
 * Issue 12, item 1, on a real engine: when nothing on disk points at a sandbox
 * any more (a clone outside every known repository, the registry not even
 * JSON), the engine's labels do: a container carrying this kinfra's owner id
 * names the sandbox's folder, and doctor --repair registers it from there.
 */
const PREFIX = 'krl';

function docker(args: string[]): string {
  const r = spawnSync('docker', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`docker ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.trim();
}

describe("a lost registry is rebuilt from the engine's labels too", () => {
  let ws: Workspace;
  let container: string | undefined;
  beforeAll(() => requireEngine());
  afterEach(() => {
    if (container) spawnSync('docker', ['rm', '-f', container]);
    container = undefined;
    ws?.cleanup();
  });

  it('registers a sandbox only a labelled container still names', async () => {
    ws = workspace({
      'kinfra.yaml':
        `prefix: ${PREFIX}\ncompose_files: [docker-compose.yml]\nports:\n  app: { env: KRL_APP_PORT, ` +
        `base: 36000, label: App }\n`,
    });
    const clone = join(ws.root, 'elsewhere', 'lab');
    mkdirSync(join(ws.root, 'elsewhere'));
    git(ws.root, ['clone', '-q', ws.repo, clone], ws.home);
    const init = await ws.run(['sandbox', 'init', '-n', 'lab', '--json'], { cwd: clone });
    expect(init.code, init.stderr).toBe(0);
    const slot = parseJson(init.stdout).data.slot;
    const owner = readFileSync(join(ws.home, '.ktrdr/sandboxes/owner-id'), 'utf8').trim();
    const image = docker(['images', '-q', 'debian:bookworm-slim']) ? 'debian:bookworm-slim' : 'busybox';
    container = docker([
      'create',
      '--label',
      `com.docker.compose.project=${PREFIX}--lab`,
      '--label',
      'com.docker.compose.service=app',
      '--label',
      `dev.kinfra.owner=${owner}`,
      '--label',
      `dev.kinfra.sandbox=${PREFIX}--lab`,
      '--label',
      `dev.kinfra.path=${clone}`,
      image,
      'true',
    ]);

    writeFileSync(join(ws.home, '.ktrdr/sandboxes/registry.json'), 'not json at all');
    expect((await ws.run(['sandbox', 'list'], { cwd: ws.home })).code).toBe(6);
    const fixed = await ws.run(['sandbox', 'doctor', '--repair', '--json'], { cwd: ws.home });
    const note = parseJson(fixed.stdout).data.repairs.find((r: any) => r.check === 'registry').note;
    expect(note).toContain(`registered ${PREFIX}--lab (slot ${slot}, ${clone})`);
    const reg = JSON.parse(readFileSync(join(ws.home, '.ktrdr/sandboxes/registry.json'), 'utf8'));
    expect(reg.instances[`${PREFIX}--lab`]).toMatchObject({ slot, path: clone });
  }, 120_000);
});
