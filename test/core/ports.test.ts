import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { builtInConfig } from '../../src/core/config/config.js';
import { MAX_PORT, findPortProblems, portEnv, portFor, portsForSlot, type NamedPort } from '../../src/core/ports.js';

const config = builtInConfig();
const plan = config.ports;
const SLOTS = Array.from({ length: config.maxSlot + 1 }, (_, i) => i);

/** The seed 001 port scheme, written out independently of the implementation. */
function expectedSlotEnv(n: number): Record<string, number> {
  if (n === 0) {
    return {
      KTRDR_API_PORT: 8000,
      KTRDR_DB_PORT: 5432,
      KTRDR_GRAFANA_PORT: 3000,
      KTRDR_JAEGER_UI_PORT: 16686,
      KTRDR_JAEGER_OTLP_GRPC_PORT: 4317,
      KTRDR_JAEGER_OTLP_HTTP_PORT: 4318,
      KTRDR_PROMETHEUS_PORT: 9090,
      KTRDR_WORKER_PORT_1: 5003,
      KTRDR_WORKER_PORT_2: 5004,
      KTRDR_WORKER_PORT_3: 5005,
      KTRDR_WORKER_PORT_4: 5006,
    };
  }
  return {
    KTRDR_API_PORT: 8000 + n,
    KTRDR_DB_PORT: 5432 + n,
    KTRDR_GRAFANA_PORT: 3000 + n,
    KTRDR_JAEGER_UI_PORT: 16686 + n,
    KTRDR_JAEGER_OTLP_GRPC_PORT: 4317 + 10 * n,
    KTRDR_JAEGER_OTLP_HTTP_PORT: 4318 + 10 * n,
    KTRDR_PROMETHEUS_PORT: 9090 + n,
    KTRDR_WORKER_PORT_1: 5000 + 10 * n + 0,
    KTRDR_WORKER_PORT_2: 5000 + 10 * n + 1,
    KTRDR_WORKER_PORT_3: 5000 + 10 * n + 2,
    KTRDR_WORKER_PORT_4: 5000 + 10 * n + 3,
  };
}

describe('built-in port plan (seed 001 scheme)', () => {
  it('has slots 0..10 and eleven published ports, workers last', () => {
    expect(config.maxSlot).toBe(10);
    expect(plan.map((p) => p.env)).toEqual([
      'KTRDR_API_PORT',
      'KTRDR_DB_PORT',
      'KTRDR_GRAFANA_PORT',
      'KTRDR_JAEGER_UI_PORT',
      'KTRDR_JAEGER_OTLP_GRPC_PORT',
      'KTRDR_JAEGER_OTLP_HTTP_PORT',
      'KTRDR_PROMETHEUS_PORT',
      'KTRDR_WORKER_PORT_1',
      'KTRDR_WORKER_PORT_2',
      'KTRDR_WORKER_PORT_3',
      'KTRDR_WORKER_PORT_4',
    ]);
    expect(plan.filter((p) => p.worker !== undefined).map((p) => [p.name, p.worker])).toEqual([
      ['worker_1', 1],
      ['worker_2', 2],
      ['worker_3', 3],
      ['worker_4', 4],
    ]);
  });

  it('slot 0 (main checkout) uses the classic ports', () => {
    expect(portEnv(plan, 0)).toEqual(expectedSlotEnv(0));
  });

  it.each(SLOTS.filter((n) => n > 0))('slot %i follows base + step*N', (n) => {
    expect(portEnv(plan, n)).toEqual(expectedSlotEnv(n));
  });

  it('slot 2 matches the seed 001 example', () => {
    const env = portEnv(plan, 2);
    expect(env.KTRDR_API_PORT).toBe(8002);
    expect(env.KTRDR_DB_PORT).toBe(5434);
    expect(env.KTRDR_GRAFANA_PORT).toBe(3002);
    expect(env.KTRDR_JAEGER_UI_PORT).toBe(16688);
    expect([
      env.KTRDR_WORKER_PORT_1,
      env.KTRDR_WORKER_PORT_2,
      env.KTRDR_WORKER_PORT_3,
      env.KTRDR_WORKER_PORT_4,
    ]).toEqual([5020, 5021, 5022, 5023]);
  });

  it('slot 1 workers sit in 5010-5019 and slot 2 workers in 5020-5029 (seed decision 5)', () => {
    for (const n of [1, 2]) {
      const workers = portsForSlot(plan, n).filter((p) => p.name.startsWith('worker_'));
      expect(workers).toHaveLength(4);
      for (const w of workers) {
        expect(w.port).toBeGreaterThanOrEqual(5000 + 10 * n);
        expect(w.port).toBeLessThanOrEqual(5009 + 10 * n);
      }
    }
  });

  it('portsForSlot and portEnv agree, in plan order', () => {
    for (const n of SLOTS) {
      const list = portsForSlot(plan, n);
      expect(list.map((p) => p.env)).toEqual(plan.map((p) => p.env));
      expect(Object.fromEntries(list.map((p) => [p.env, p.port]))).toEqual(portEnv(plan, n));
      expect(Object.keys(portEnv(plan, n))).toEqual(plan.map((p) => p.env));
    }
  });

  it('within one slot no two variables share a port', () => {
    for (const n of SLOTS) {
      const ports = portsForSlot(plan, n).map((p) => p.port);
      expect(new Set(ports).size).toBe(ports.length);
    }
  });

  it('exhaustively: for every pair of distinct slots 0..10 the port sets are disjoint', () => {
    let pairs = 0;
    for (const a of SLOTS) {
      for (const b of SLOTS) {
        if (a === b) continue;
        pairs++;
        const pa = new Set(portsForSlot(plan, a).map((p) => p.port));
        const shared = portsForSlot(plan, b)
          .map((p) => p.port)
          .filter((port) => pa.has(port));
        expect(shared, `slots ${a} and ${b} share ${shared.join(', ')}`).toEqual([]);
      }
    }
    expect(pairs).toBe(11 * 10);
  });

  it('property: any two distinct slots have disjoint port sets', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 10 }), (a, b) => {
        fc.pre(a !== b);
        const pa = portsForSlot(plan, a).map((p) => p.port);
        const pb = portsForSlot(plan, b).map((p) => p.port);
        expect(new Set([...pa, ...pb]).size).toBe(pa.length + pb.length);
      }),
      { numRuns: 500 },
    );
  });

  it('every port of every slot is in 1..65535', () => {
    for (const n of SLOTS) {
      for (const p of portsForSlot(plan, n)) {
        expect(p.port).toBeGreaterThanOrEqual(1);
        expect(p.port).toBeLessThanOrEqual(MAX_PORT);
      }
    }
  });
});

describe('portFor', () => {
  it('uses main for slot 0 when declared, the formula otherwise', () => {
    const spec: NamedPort = { name: 'w', env: 'W', base: 5000, step: 10, main: 5003 };
    expect(portFor(spec, 0)).toBe(5003);
    expect(portFor(spec, 1)).toBe(5010);
    expect(portFor(spec, 7)).toBe(5070);
    const plain: NamedPort = { name: 'a', env: 'A', base: 8000, step: 1 };
    expect(portFor(plain, 0)).toBe(8000);
    expect(portFor(plain, 3)).toBe(8003);
  });
});

describe('findPortProblems', () => {
  it('finds nothing wrong with the built-in plan', () => {
    expect(findPortProblems(plan, config.maxSlot)).toEqual([]);
  });

  it('reports the seed OTLP bug (gRPC and HTTP both stepping by 1)', () => {
    const seedPlan = plan.map((p) => (p.env.startsWith('KTRDR_JAEGER_OTLP_') ? { ...p, step: 1 } : p));
    const problems = findPortProblems(seedPlan, 10);
    expect(problems.length).toBeGreaterThan(0);
    const first = problems[0]!.message;
    expect(first).toContain('KTRDR_JAEGER_OTLP_HTTP_PORT');
    expect(first).toContain('KTRDR_JAEGER_OTLP_GRPC_PORT');
    expect(first).toContain('slot 0');
    expect(first).toContain('slot 1');
    expect(first).toContain('4318');
    expect(first).toBe('KTRDR_JAEGER_OTLP_HTTP_PORT of slot 0 and KTRDR_JAEGER_OTLP_GRPC_PORT of slot 1 are both 4318');
    // One clash for every slot 1..10 (slot N's gRPC is slot N-1's HTTP).
    expect(problems).toHaveLength(10);
    expect(
      problems.every((p) => /OTLP_HTTP_PORT of slot \d+ and KTRDR_JAEGER_OTLP_GRPC_PORT of slot \d+/.test(p.message)),
    ).toBe(true);
  });

  it('reports the bare seed OTLP pair 4317/4318 with step 1', () => {
    const otlp: NamedPort[] = [
      { name: 'jaeger_otlp_grpc', env: 'KTRDR_JAEGER_OTLP_GRPC_PORT', base: 4317, step: 1 },
      { name: 'jaeger_otlp_http', env: 'KTRDR_JAEGER_OTLP_HTTP_PORT', base: 4318, step: 1 },
    ];
    expect(findPortProblems(otlp, 0)).toEqual([]);
    const problems = findPortProblems(otlp, 2);
    expect(problems.map((p) => p.message)).toEqual([
      'KTRDR_JAEGER_OTLP_HTTP_PORT of slot 0 and KTRDR_JAEGER_OTLP_GRPC_PORT of slot 1 are both 4318',
      'KTRDR_JAEGER_OTLP_HTTP_PORT of slot 1 and KTRDR_JAEGER_OTLP_GRPC_PORT of slot 2 are both 4319',
    ]);
  });

  it('reports ports above 65535', () => {
    const high: NamedPort[] = [{ name: 'api', env: 'API_PORT', base: 65530, step: 1 }];
    expect(findPortProblems(high, 5)).toEqual([]);
    const problems = findPortProblems(high, 7);
    expect(problems.map((p) => p.message)).toEqual([
      'API_PORT of slot 6 would be 65536, outside 1-65535',
      'API_PORT of slot 7 would be 65537, outside 1-65535',
    ]);
  });

  it('reports ports below 1', () => {
    const low: NamedPort[] = [{ name: 'api', env: 'API_PORT', base: 10, step: 1, main: 0 }];
    const problems = findPortProblems(low, 1);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toContain('API_PORT of slot 0 would be 0');
  });

  it('reports a variable used by two ports', () => {
    const dup: NamedPort[] = [
      { name: 'api', env: 'SAME_PORT', base: 8000, step: 1 },
      { name: 'web', env: 'SAME_PORT', base: 9000, step: 1 },
    ];
    const problems = findPortProblems(dup, 3);
    expect(problems.map((p) => p.message)).toEqual(['ports api and web both use the variable SAME_PORT']);
  });

  it('reports two variables with the same port in the same slot', () => {
    const same: NamedPort[] = [
      { name: 'a', env: 'A_PORT', base: 7000, step: 1 },
      { name: 'b', env: 'B_PORT', base: 7000, step: 2 },
    ];
    const problems = findPortProblems(same, 0);
    expect(problems.map((p) => p.message)).toEqual(['A_PORT of slot 0 and B_PORT of slot 0 are both 7000']);
  });

  it("reports a main port that lands on another slot's port", () => {
    const clash: NamedPort[] = [{ name: 'w', env: 'W_PORT', base: 5000, step: 10, main: 5020 }];
    const problems = findPortProblems(clash, 3);
    expect(problems.map((p) => p.message)).toEqual(['W_PORT of slot 0 and W_PORT of slot 2 are both 5020']);
  });

  /** Brute force over every (slot, var) pair: is the plan safe? */
  function bruteForceSafe(p: readonly NamedPort[], maxSlot: number): boolean {
    const envs = p.map((x) => x.env);
    if (new Set(envs).size !== envs.length) return false;
    const pairs: number[] = [];
    for (let slot = 0; slot <= maxSlot; slot++) {
      for (const spec of p) {
        const port = slot === 0 && spec.main !== undefined ? spec.main : spec.base + spec.step * slot;
        if (port < 1 || port > 65535) return false;
        pairs.push(port);
      }
    }
    for (let i = 0; i < pairs.length; i++) {
      for (let j = i + 1; j < pairs.length; j++) if (pairs[i] === pairs[j]) return false;
    }
    return true;
  }

  const specArb = fc.record({
    base: fc.oneof(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 65500, max: 65535 })),
    step: fc.integer({ min: 1, max: 12 }),
    main: fc.option(fc.integer({ min: 0, max: 70 }), { nil: undefined }),
    env: fc.constantFrom('A', 'B', 'C', 'D', 'E', 'F', 'G'),
  });
  const planArb = fc
    .array(specArb, { minLength: 1, maxLength: 5 })
    .map((specs) =>
      specs.map((s, i): NamedPort => ({ name: `p${i}`, env: s.env, base: s.base, step: s.step, main: s.main })),
    );
  const uniqueEnvPlanArb = planArb.map((specs) => specs.map((s, i) => ({ ...s, env: `VAR_${i}` })));

  it('property: no problems iff brute force finds no duplicate and no out-of-range port (unique variables)', () => {
    fc.assert(
      fc.property(uniqueEnvPlanArb, fc.integer({ min: 0, max: 12 }), (p, maxSlot) => {
        expect(findPortProblems(p, maxSlot).length === 0).toBe(bruteForceSafe(p, maxSlot));
      }),
      { numRuns: 2000 },
    );
  });

  it('property: no problems iff brute force finds the plan safe (variables may repeat)', () => {
    fc.assert(
      fc.property(planArb, fc.integer({ min: 0, max: 12 }), (p, maxSlot) => {
        expect(findPortProblems(p, maxSlot).length === 0).toBe(bruteForceSafe(p, maxSlot));
      }),
      { numRuns: 2000 },
    );
  });

  it('property: each clash message names the two variables and slots that collide', () => {
    fc.assert(
      fc.property(uniqueEnvPlanArb, fc.integer({ min: 0, max: 6 }), (p, maxSlot) => {
        for (const { message } of findPortProblems(p, maxSlot)) {
          const clash = /^(\w+) of slot (\d+) and (\w+) of slot (\d+) are both (\d+)$/.exec(message);
          const range = /^(\w+) of slot (\d+) would be (-?\d+), outside 1-65535$/.exec(message);
          expect(clash !== null || range !== null, message).toBe(true);
          if (clash) {
            const [, envA, slotA, envB, slotB, port] = clash;
            const a = p.find((s) => s.env === envA)!;
            const b = p.find((s) => s.env === envB)!;
            expect(portFor(a, Number(slotA))).toBe(Number(port));
            expect(portFor(b, Number(slotB))).toBe(Number(port));
            expect(envA === envB && slotA === slotB).toBe(false);
          }
          if (range) {
            const [, env, slot, port] = range;
            const s = p.find((x) => x.env === env)!;
            expect(portFor(s, Number(slot))).toBe(Number(port));
            expect(Number(port) < 1 || Number(port) > MAX_PORT).toBe(true);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });
});
