import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { parseJson, workspace, type Workspace } from '../helpers/cli.js';

// The child writes to the process's own terminal: these run the spawned binary.
let ws: Workspace;
const volumes: string[] = [];
afterEach(() => {
  if (volumes.length) spawnSync('docker', ['volume', 'rm', '-f', ...volumes.splice(0)]);
  ws?.cleanup();
});

const COMPOSE =
  'services:\n  backend:\n    image: debian:bookworm-slim\n    command: sleep 1000\n' +
  '    ports: ["127.0.0.1:${KTRDR_API_PORT:-8000}:8000"]\n';

describe('kinfra sandbox compose <args...>', () => {
  it(
    "runs compose with the sandbox's project name, files and ports; " + "options after the subcommand are compose's",
    async () => {
      ws = workspace({ 'docker-compose.yml': COMPOSE });
      expect((await ws.run(['sandbox', 'create', 'c'])).code).toBe(0);
      const r = await ws.run(['sandbox', 'compose', 'config', '--format', 'json'], { cwd: join(ws.dev, 'ktrdr--c') });
      expect(r.code, r.stderr).toBe(0);
      const config = parseJson(r.stdout);
      expect(config.name).toBe('ktrdr--c');
      expect(config.services.backend.ports[0]).toMatchObject({ host_ip: '127.0.0.1', published: '8001' });
    },
  );

  it("keeps the project's own .env (Compose reads it), with the sandbox's values winning over it", async () => {
    const compose = COMPOSE + '    environment: { GREETING: "${GREETING}", API: "${KTRDR_API_PORT}" }\n';
    ws = workspace({ 'docker-compose.yml': compose, '.env': 'GREETING=hello\nKTRDR_API_PORT=8000\n' });
    expect((await ws.run(['sandbox', 'create', 'c'])).code).toBe(0);
    const r = await ws.run(['sandbox', 'compose', 'config', '--format', 'json'], { cwd: join(ws.dev, 'ktrdr--c') });
    expect(r.code, r.stderr).toBe(0);
    const backend = parseJson(r.stdout).services.backend;
    expect(backend.environment).toEqual({ GREETING: 'hello', API: '8001' });
    expect(backend.ports[0].published).toBe('8001');
  });

  it(
    "passes on compose's own exit code, " + 'and refuses outside a sandbox (exit 5) or without a subcommand (exit 1)',
    async () => {
      ws = workspace({ 'docker-compose.yml': COMPOSE });
      await ws.run(['sandbox', 'create', 'c']);
      const bad = await ws.run(['sandbox', 'compose', 'no-such-subcommand'], { cwd: join(ws.dev, 'ktrdr--c') });
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).not.toMatch(/at .*\.js:\d+/);
      expect((await ws.run(['sandbox', 'compose', 'ps'])).code).toBe(5);
      expect((await ws.run(['sandbox', 'compose'], { cwd: join(ws.dev, 'ktrdr--c') })).code).toBe(1);
    },
  );

  it.each([
    ["another HOME's kinfra", { 'dev.kinfra.owner': 'someone-else' }],
    ['nobody proven (unlabelled)', {}],
  ])(
    'refuses (exit 4) while the project holds a volume of %s: compose would act on it by name',
    async (_who, labels) => {
      ws = workspace({ 'docker-compose.yml': COMPOSE });
      const name = `cmp${process.pid}${volumes.length}`;
      expect((await ws.run(['sandbox', 'create', name])).code).toBe(0);
      const project = `ktrdr--${name}`;
      const volume = `${project}_data`;
      const labelArgs = Object.entries({ 'com.docker.compose.project': project, ...labels }).flatMap(([k, v]) => [
        '--label',
        `${k}=${v}`,
      ]);
      expect(spawnSync('docker', ['volume', 'create', ...labelArgs, volume]).status).toBe(0);
      volumes.push(volume);
      const r = await ws.run(['sandbox', 'compose', 'down', '-v'], { cwd: join(ws.dev, project) });
      expect(r.code, r.stderr).toBe(4);
      expect(r.stderr).toContain('belongs to');
      expect(spawnSync('docker', ['volume', 'inspect', volume]).status).toBe(0);
    },
  );
});
