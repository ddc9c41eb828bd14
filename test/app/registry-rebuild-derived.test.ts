// Adversarial review (issue 14): a registry rebuilt by doctor --repair after a loss must give a derived sandbox back
// the ports it holds; otherwise nothing stops another sandbox from being handed them.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { appWorkspace, git, kinfraInProcess, parseJson, type Workspace } from '../helpers/cli.js';

let ws: Workspace | undefined;
afterEach(() => {
  ws?.cleanup();
  ws = undefined;
});

const regFile = (w: Workspace) => join(w.home, '.ktrdr/sandboxes/registry.json');

function secondRepo(w: Workspace, compose: string): string {
  const repo = join(w.dev, 'other');
  mkdirSync(repo, { recursive: true });
  writeFileSync(join(repo, 'docker-compose.yml'), compose);
  git(repo, ['init', '-q', '-b', 'main'], w.home);
  git(repo, ['add', '-A'], w.home);
  git(repo, ['commit', '-qm', 'initial'], w.home);
  return repo;
}

describe('registry rebuild of a derived sandbox', () => {
  // BUG: readFound loads the layout with loadConfig(path) (a derived layout has no ports of its own) and
  // registerFound never reads derived_ports back, so the rebuilt entry is `ports: {}` with no derived_ports, while
  // .env.sandbox (and maybe running containers) still use KINFRA_PORT_WEB=8081. Another project whose main publishes
  // 8079 then gets slot 2 = 8081: the same port for two sandboxes.
  it('keeps the derived ports of a rebuilt sandbox held, so no other sandbox is given them', async () => {
    ws = appWorkspace({ 'docker-compose.yml': 'services:\n  web:\n    image: nginx\n    ports: ["8080:80"]\n' });
    const other = secondRepo(ws, 'services:\n  api:\n    image: nginx\n    ports: ["8079:80"]\n');
    const a = await ws.run(['sandbox', 'create', 'a', '--json']);
    expect(parseJson(a.stdout).data.ports).toEqual({ web: 8081 });

    writeFileSync(regFile(ws), '{"version": 2, "instances": {');
    await ws.run(['sandbox', 'list']);
    const fixed = await ws.run(['sandbox', 'doctor', '--repair', '--json']);
    expect(fixed.stdout).toContain('registered ktrdr2--a');

    const entry = JSON.parse(readFileSync(regFile(ws), 'utf8')).instances['ktrdr2--a'];
    const b = await kinfraInProcess(['sandbox', 'create', 'b', '--json'], { cwd: other, home: ws.home });
    expect(b.code, b.stderr).toBe(0);
    const bPorts = Object.values(parseJson(b.stdout).data.ports);
    expect({ rebuilt: entry.ports, b: bPorts }).toEqual({
      rebuilt: { web: 8081 },
      b: expect.not.arrayContaining([8081]),
    });
  });
});
