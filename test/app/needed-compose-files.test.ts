// Adversarial review of the files create copies (issue 14): the compose files the main checkout runs with are
// files its stack needs too.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { appWorkspace, parseJson, type Workspace } from '../helpers/cli.js';

let ws: Workspace | undefined;
afterEach(() => {
  ws?.cleanup();
  ws = undefined;
});

const BASE = 'services:\n  web:\n    image: nginx\n    ports: ["8080:80"]\n';

describe('create copies the compose files plain compose reads in the main checkout', () => {
  // BUG: the main checkout's .env says COMPOSE_FILE=compose.yaml:compose.local.yaml and compose.local.yaml is
  // git-ignored (a local-only layer). The layout is derived from both files (admin 9000 is a slot port), create
  // copies .env but not compose.local.yaml, so in the sandbox findComposeFiles throws no-compose-file
  // ("sets COMPOSE_FILE, but .../compose.local.yaml does not exist") at every up/status/down.
  it('copies a git-ignored compose file that COMPOSE_FILE names', async () => {
    ws = appWorkspace({
      'compose.yaml': BASE,
      'docker-compose.yml': BASE,
      '.gitignore': '.env\ncompose.local.yaml\n',
    });
    writeFileSync(
      join(ws.repo, 'compose.local.yaml'),
      'services:\n  admin:\n    image: nginx\n    ports: ["9000:80"]\n',
    );
    writeFileSync(join(ws.repo, '.env'), 'COMPOSE_FILE=compose.yaml:compose.local.yaml\n');
    const r = await ws.run(['sandbox', 'create', 'a', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const d = parseJson(r.stdout).data;
    expect(d.ports).toMatchObject({ admin: 9001 });
    expect(existsSync(join(d.path, 'compose.local.yaml'))).toBe(true);
    const status = await ws.run(['sandbox', 'layout', '--json'], { cwd: d.path });
    expect(status.code, status.stderr).toBe(0);
  });

  // BUG: the same for Compose's default override: a git-ignored docker-compose.override.yml is read in the main
  // checkout (its ports are derived), never copied, so the sandbox silently runs a different stack than main.
  it('copies a git-ignored docker-compose.override.yml', async () => {
    ws = appWorkspace({ 'docker-compose.yml': BASE, '.gitignore': 'docker-compose.override.yml\n' });
    writeFileSync(
      join(ws.repo, 'docker-compose.override.yml'),
      'services:\n  admin:\n    image: nginx\n    ports: ["9000:80"]\n',
    );
    const r = await ws.run(['sandbox', 'create', 'a', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const d = parseJson(r.stdout).data;
    expect(d.copied).toContain('docker-compose.override.yml');
  });
});
