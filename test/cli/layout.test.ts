import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { appWorkspace, parseJson, type Workspace } from '../helpers/cli.js';

/** Issue 14, item 5: see and keep the derived layout (`kinfra sandbox layout [--write]`). */
const COMPOSE = `services:
  web:
    image: nginx
    container_name: shop-web
    ports: ["8080:80", "127.0.0.1:\${ADMIN_PORT:-9000}:9000"]
  db:
    image: postgres:16
    ports: ["5432:5432"]
`;

let ws: Workspace | undefined;
afterEach(() => {
  ws?.cleanup();
  ws = undefined;
});

describe('kinfra sandbox layout (issue 14)', () => {
  it('shows the derived ports with their origin, the derived gate, and the merge form', async () => {
    ws = appWorkspace({ 'docker-compose.yml': COMPOSE });
    const r = await ws.run(['sandbox', 'layout', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const d = parseJson(r.stdout).data;
    expect(d).toMatchObject({ source: 'derived from the compose files', prefix: 'ktrdr2', merge: 'tags' });
    expect(d.files).toEqual(['docker-compose.yml']);
    const byEnv = Object.fromEntries(d.ports.map((p: { env: string }) => [p.env, p]));
    expect(byEnv.KINFRA_PORT_WEB_80).toMatchObject({ base: 8080, service: 'web', derived: true, variable: false });
    expect(byEnv.ADMIN_PORT).toMatchObject({ base: 9000, service: 'web', variable: true });
    expect(byEnv.KINFRA_PORT_DB).toMatchObject({ base: 5432, service: 'db' });
    expect(d.gate.map((c: { name: string }) => c.name)).toEqual(['Services', 'Postgres (db)']);
    const human = await ws.run(['sandbox', 'layout']);
    expect(human.stdout).toContain('web: fixed, moved by the layer');
    expect(human.stdout).toContain('web: its variable');
  });

  it('--write saves a commented kinfra.yaml that reads back as the same layout, and never overwrites', async () => {
    ws = appWorkspace({ 'docker-compose.yml': COMPOSE });
    const before = parseJson((await ws.run(['sandbox', 'layout', '--json'])).stdout).data;
    const w = await ws.run(['sandbox', 'layout', '--write', '--json']);
    expect(w.code, w.stderr).toBe(0);
    expect(parseJson(w.stdout).data.written).toBe(join(ws.repo, 'kinfra.yaml'));
    const text = readFileSync(join(ws.repo, 'kinfra.yaml'), 'utf8');
    expect(text).toContain("# web publishes 8080 (container port 80), fixed in the file: kinfra's generated layer");

    const after = parseJson((await ws.run(['sandbox', 'layout', '--json'])).stdout).data;
    expect(after.source).toBe(join(ws.repo, 'kinfra.yaml'));
    const plan = (ports: { env: string; base: number; step: number }[]) =>
      ports.map(({ env, base, step }) => ({ env, base, step }));
    expect(plan(after.ports)).toEqual(plan(before.ports));
    expect(after.ports.every((p: { derived: boolean }) => !p.derived)).toBe(true);
    expect(after.gate).toEqual(before.gate);

    // A sandbox made from the written file gets the ports it would have had without it.
    const created = parseJson((await ws.run(['sandbox', 'create', 'a', '--json'])).stdout).data;
    expect(created.env).toMatchObject({ KINFRA_PORT_WEB_80: 8081, KINFRA_PORT_DB: 5433 });

    const again = await ws.run(['sandbox', 'layout', '--write']);
    expect(again.code).toBe(4);
    expect(again.stderr).toContain('kinfra.yaml already exists');
  });

  it('--write refuses a checkout that runs a configured layout: there is nothing derived to write', async () => {
    ws = appWorkspace();
    const r = await ws.run(['sandbox', 'layout', '--write']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('runs the built-in KTRDR default, not a derived layout');
  });

  it('with Compose v1 (no uninterpolated config), variables of the layout are not derived twice', async () => {
    const compose = 'services:\n  api:\n    image: x\n    ports: ["${MY_API:-8000}:80", "9000:90"]\n';
    ws = appWorkspace({
      'docker-compose.yml': compose,
      'kinfra.yaml': 'prefix: my\nports:\n  api: { env: MY_API, base: 28000 }\n',
    });
    for (const forced of ['v1', 'v2']) {
      const r = await ws.run(['sandbox', 'layout', '--json'], { env: { KINFRA_COMPOSE: forced } });
      expect(r.code, r.stderr).toBe(0);
      const ports = parseJson(r.stdout).data.ports.map((p: { env: string; base: number }) => [p.env, p.base]);
      expect(ports, forced).toEqual([
        ['MY_API', 28000],
        ['KINFRA_PORT_API_9000', 9000],
      ]);
    }
  });
});
