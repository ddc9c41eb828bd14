import { afterEach, describe, expect, it } from 'vitest';
import { appWorkspace, kinfra, parseJson, type Workspace } from '../helpers/cli.js';

/**
 * Issue 14, the KTRDR case: a repository shaped like KTRDR's current head (the design's services, two agent
 * services with ports of their own that the built-in layout does not name, and no observability services) gets
 * three sandboxes whose published ports are disjoint from each other and from the main checkout's, and `status`
 * lists only services the stack has.
 */
const KTRDR_NOW = `services:
  db:
    image: postgres:15
    ports: ["127.0.0.1:\${KTRDR_DB_PORT:-5432}:5432"]
  backend:
    image: ktrdr-backend
    ports: ["127.0.0.1:\${KTRDR_API_PORT:-8000}:8000"]
${[1, 2, 3, 4]
  .map((i) => `  worker-${i}:\n    image: ktrdr-worker\n    ports: ["\${KTRDR_WORKER_PORT_${i}:-${5002 + i}}:5000"]\n`)
  .join('')}  design-agent:
    image: ktrdr-agent
    ports: ["\${KTRDR_DESIGN_AGENT_PORT:-5010}:5010"]
  assessment-agent:
    image: ktrdr-agent
    ports: ["\${KTRDR_ASSESSMENT_AGENT_PORT:-5020}:5020"]
`;

let ws: Workspace | undefined;
afterEach(() => {
  ws?.cleanup();
  ws = undefined;
});

/** Every host port of an effective configuration (Compose's JSON). */
function published(config: { services: Record<string, { ports?: { published?: string }[] }> }): number[] {
  return Object.values(config.services).flatMap((s) =>
    (s.ports ?? []).filter((p) => p.published).map((p) => Number(p.published)),
  );
}

describe('a KTRDR-shaped project at its current head (issue 14)', () => {
  it('three sandboxes publish disjoint ports, the agents included; status lists only services that exist', async () => {
    ws = appWorkspace({ 'docker-compose.sandbox.yml': KTRDR_NOW, 'docker-compose.yml': KTRDR_NOW });
    const all: number[][] = [];
    const main = await kinfra(['sandbox', 'verify', '--json'], { cwd: ws.repo, home: ws.home });
    expect(main.code, main.stderr).toBe(0);
    const warned = parseJson(main.stdout).data.findings.map((f: { message: string }) => f.message);
    // Slot 1's worker 1 is 5010 and slot 2's is 5020: the main checkout's agent ports. Said, and those slots skipped.
    expect(warned).toContain(
      "slot 1's KTRDR_WORKER_PORT_1 (5010) is the main checkout's KTRDR_DESIGN_AGENT_PORT: create skips slot 1",
    );
    for (const name of ['a', 'b', 'c']) {
      const r = await ws.run(['sandbox', 'create', name, '--json']);
      expect(r.code, r.stderr).toBe(0);
      const doc = parseJson(r.stdout).data;
      expect(doc.configSource).toBe('built-in KTRDR default');
      expect(doc.env).toHaveProperty('KTRDR_DESIGN_AGENT_PORT');
      expect(doc.env).toHaveProperty('KTRDR_ASSESSMENT_AGENT_PORT');
      const config = await kinfra(['sandbox', 'compose', 'config', '--format', 'json'], {
        cwd: doc.path,
        home: ws.home,
      });
      expect(config.code, config.stderr).toBe(0);
      all.push(published(JSON.parse(config.stdout)));

      const status = await ws.run(['sandbox', 'status', '--json'], { cwd: doc.path });
      expect(status.code, status.stderr).toBe(0);
      const labels = parseJson(status.stdout).data.services.map((s: { label: string }) => s.label);
      expect(labels).toEqual(expect.arrayContaining(['Backend', 'Database', 'design-agent', 'assessment-agent']));
      for (const gone of ['Grafana', 'Jaeger', 'Prometheus']) expect(labels).not.toContain(gone);
    }
    const mainPorts = [5432, 8000, 5003, 5004, 5005, 5006, 5010, 5020];
    const every = [mainPorts, ...all].flat();
    expect(new Set(every).size, JSON.stringify(all)).toBe(every.length);
    expect(all.every((ports) => ports.length === mainPorts.length)).toBe(true);
  });
});
