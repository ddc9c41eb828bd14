// The gate's real checks (src/app/gate.ts) against real sockets: a Postgres stand-in that answers 57P03, an HTTP
// backend that answers 503 before 200 and lists too few workers. Each check's result must say what it tried and what
// came back. The engine is the one thing stood in for (no Docker here): its container list is the test's.
import { createServer } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ContainerInfo } from '../../src/adapters/engine.js';
import { sandboxGateChecks } from '../../src/app/gate.js';
import type { Sandbox } from '../../src/app/the-sandbox.js';
import type { Stack } from '../../src/app/stack.js';
import { stackModel } from '../../src/core/compose-model.js';
import { builtInConfig } from '../../src/core/config/config.js';
import type { GateCheckSpec } from '../../src/core/config/schema.js';
import { runGate, type GateCheck, type Verdict } from '../../src/core/gate.js';
import { fakeClock } from '../helpers/fake-clock.js';
import { closeServers, errorResponse, listen, pgLike } from '../helpers/servers.js';

const engine = vi.hoisted(() => ({ containers: [] as ContainerInfo[] }));
vi.mock('../../src/adapters/engine.js', async (original) => ({
  ...(await original<typeof import('../../src/adapters/engine.js')>()),
  listContainers: async () => engine.containers,
}));

afterEach(async () => {
  engine.containers = [];
  await closeServers();
});

const PROJECT = 'shop--gate';
const DIR = '/work/shop--gate';

/**
 * Just what the gate's checks read of a sandbox: its layout's checks, its ports, its compose project and stamp
 * (resolving a real one needs a registry and a checkout, which these checks never look at).
 */
function sandbox(gate: GateCheckSpec[], ports: Record<string, number>, more: { gateDerived?: boolean } = {}): Sandbox {
  return {
    config: { ...builtInConfig(), gate, gateDerived: more.gateDerived ?? false, workerCount: 4 },
    ports: Object.entries(ports).map(([name, port]) => ({ name, port, env: `${name.toUpperCase()}_PORT` })),
    project: { name: PROJECT, dir: DIR, file: `${DIR}/compose.yaml`, envFile: `${DIR}/.env.sandbox` },
    stamp: { owner: 'test', sandbox: PROJECT, path: DIR },
  } as unknown as Sandbox;
}

function stack(config: Record<string, unknown>): Stack {
  return { config, model: stackModel(config) };
}

function container(service: string, state: string, status: string): ContainerInfo {
  const c = { id: service, name: `${PROJECT}-${service}-1`, state, status, health: undefined, project: PROJECT };
  return { ...c, service, hostPorts: [], workingDir: DIR, labels: {}, volumes: [] };
}

/** Each probe's answers, attempt by attempt, beside the gate's result. */
async function run(checks: GateCheck[], timeoutMs = 2000) {
  const answers = new Map<string, Verdict[]>();
  const recorded = checks.map((c) => ({
    ...c,
    probe: async (t: number, s: AbortSignal) => {
      const v = await c.probe(t, s);
      answers.set(c.name, [...(answers.get(c.name) ?? []), v]);
      return v;
    },
  }));
  return { result: await runGate(recorded, { timeoutMs, clock: fakeClock() }), answers };
}

const startingUp = () => pgLike((s) => s.end(errorResponse('57P03', 'the database system is starting up')));

describe('the real checks say what they tried and what came back', () => {
  it('Postgres 57P03, HTTP 503 then 200, and 3 of 4 workers registered; first failure: database', async () => {
    const pg = await startingUp();
    let healthChecks = 0;
    const api = await listen(
      createServer((req, res) => {
        const [status, body] =
          req.url === '/api/v1/health' ? [++healthChecks <= 2 ? 503 : 200, {}] : [200, { workers: [1, 2, 3] }];
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      }),
    );
    const s = sandbox(
      [
        { name: 'Database', kind: 'postgres', port: 'db' },
        { name: 'Backend', kind: 'http', port: 'api', path: '/api/v1/health', status: 200 },
        { name: 'Workers', kind: 'workers', port: 'api', path: '/api/v1/workers', after: ['Backend'] },
      ],
      { db: pg.port, api },
    );
    const { result, answers } = await run(sandboxGateChecks(s, undefined).checks);
    const [db, backend, workers] = result.checks;

    expect(db).toMatchObject({
      status: 'failed',
      tried: `Postgres startup on localhost:${pg.port}`,
      got: 'the database system is starting up (57P03)',
      details: [`Postgres startup on localhost:${pg.port}: the database system is starting up (57P03)`],
    });
    const health = `GET http://localhost:${api}/api/v1/health`;
    expect(answers.get('Backend')!.map((v) => [v.tried, v.got])).toEqual([
      [health, 'returned 503'],
      [health, 'returned 503'],
      [health, '200'],
    ]);
    expect(backend).toMatchObject({ status: 'passed', attempts: 3, tried: health, got: '200' });
    expect(workers).toMatchObject({
      status: 'failed',
      tried: `GET http://localhost:${api}/api/v1/workers`,
      got: '3 of 4 workers registered',
      details: ['Expected 4 workers, found 3'],
    });
    expect(result.firstFailure).toEqual({
      check: 'Database',
      message: 'Database not ready',
      tried: `Postgres startup on localhost:${pg.port}`,
      got: 'the database system is starting up (57P03)',
    });
  });

  it("a check whose container is gone keeps the probe's answer and names it; the services check counts", async () => {
    const pg = await startingUp();
    const compose = {
      services: {
        db: { image: 'postgres:16', ports: [{ published: String(pg.port), target: 5432, protocol: 'tcp' }] },
      },
    };
    engine.containers = [container('db', 'exited', 'Exited (1) 2 seconds ago')];
    const s = sandbox([], { db: pg.port }, { gateDerived: true });
    const { result } = await run(sandboxGateChecks(s, stack(compose)).checks);
    expect(result.checks.map((c) => c.name)).toEqual(['Services', 'Postgres (db)']);
    const [services, db] = result.checks;
    expect(services).toMatchObject({
      status: 'failed',
      attempts: 1,
      tried: `list the containers of ${PROJECT}`,
      got: '0 of 1 services ready (db exited (1))',
    });
    expect(db).toMatchObject({
      status: 'failed',
      attempts: 1,
      got: 'the database system is starting up (57P03)',
      details: [
        `Postgres startup on localhost:${pg.port}: the database system is starting up (57P03)`,
        'the container of service db has exited (Exited (1) 2 seconds ago)',
      ],
    });
    expect(result.firstFailure).toMatchObject({ check: 'Services', got: '0 of 1 services ready (db exited (1))' });
  });

  it('a check of a port the sandbox lacks says what it looked for', async () => {
    const { result } = await run(
      sandboxGateChecks(sandbox([{ name: 'Cache', kind: 'tcp', port: 'cache' }], {}), undefined).checks,
    );
    expect(result.checks[0]).toMatchObject({
      status: 'failed',
      tried: `read port cache of ${DIR}/.env.sandbox`,
      got: 'no such port',
    });
  });
});
