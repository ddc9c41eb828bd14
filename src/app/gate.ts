import { setTimeout as sleep } from 'node:timers/promises';
import { composeServices } from '../adapters/compose.js';
import { probeHttp, probePostgres, probeTcp, type ProbeOutcome } from '../adapters/probes.js';
import type { GateCheckSpec } from '../core/config/schema.js';
import { runGate, type CheckResult, type Clock, type GateCheck, type GateResult, type Verdict } from '../core/gate.js';
import { sandboxPorts, type Sandbox } from './current.js';

export const realClock: Clock = {
  now: () => performance.now(),
  sleep: (ms, signal) => sleep(ms, undefined, { signal }),
};

/** "GET http://localhost:8001/api/v1/health returned connection refused" (seed 003 wording). */
function describe(o: ProbeOutcome): string {
  return /^(GET|POST)\b/.test(o.tried) ? `${o.tried} ${o.got.startsWith('returned') ? o.got : `returned ${o.got}`}` : `${o.tried}: ${o.got}`;
}

const verdict = (o: ProbeOutcome): Verdict => ({ ok: o.ok, details: o.ok ? [] : [describe(o)] });

function workerCount(json: unknown): number | undefined {
  if (Array.isArray(json)) return json.length;
  const list = (json as { workers?: unknown } | null)?.workers;
  return Array.isArray(list) ? list.length : undefined;
}

/** How many workers this sandbox runs: its compose services that match the check's pattern. */
async function expectedWorkers(s: Sandbox, spec: GateCheckSpec): Promise<number> {
  const pattern = new RegExp(spec.services ?? 'worker', 'i');
  const services = await composeServices(s.project).catch(() => undefined);
  return services ? services.filter((n) => pattern.test(n)).length : s.config.workerCount;
}

/** The configured checks of this sandbox, bound to its ports and the real probes. */
export async function sandboxGateChecks(s: Sandbox): Promise<GateCheck[]> {
  const ports = new Map(sandboxPorts(s).map((p) => [p.name, p.port]));
  const checks: GateCheck[] = [];
  for (const spec of s.config.gate) {
    const port = ports.get(spec.port);
    const base = { name: spec.name, after: spec.after ?? [] };
    if (port === undefined) {
      checks.push({ ...base, passText: '', failText: `${spec.name} cannot be checked`,
        probe: async () => ({ ok: false, details: [`${s.project.envFile} has no port ${spec.port}`] }) });
      continue;
    }
    const statuses = spec.status === undefined ? undefined : [spec.status].flat();
    const path = spec.path ?? '/';
    switch (spec.kind) {
      case 'postgres':
        checks.push({ ...base, passText: `${spec.name} ready`, failText: `${spec.name} not ready`,
          probe: async (timeoutMs, signal) => verdict(await probePostgres(port, { timeoutMs, signal })) });
        break;
      case 'tcp':
        checks.push({ ...base, passText: `${spec.name} ready`, failText: `${spec.name} not reachable`,
          probe: async (timeoutMs, signal) => verdict(await probeTcp(port, { timeoutMs, signal })) });
        break;
      case 'http': {
        const health = /health/.test(path);
        checks.push({ ...base, passText: `${spec.name} ${health ? 'healthy' : 'ready'}`,
          failText: `${spec.name} ${health ? 'health check failed' : 'not ready'}`,
          probe: async (timeoutMs, signal) => verdict(await probeHttp(port, path, { timeoutMs, signal, ...(statuses ? { expectStatus: statuses } : {}) })) });
        break;
      }
      case 'workers': {
        const expected = await expectedWorkers(s, spec);
        checks.push({ ...base, passText: `${spec.name} registered (${expected})`, failText: `${spec.name} not registered`,
          probe: async (timeoutMs, signal) => {
            const o = await probeHttp(port, path, { timeoutMs, signal });
            if (!o.ok) return verdict(o);
            const found = workerCount(o.json);
            if (found === undefined) return { ok: false, details: [`${o.tried} returned no worker list`] };
            return found >= expected
              ? { ok: true, passText: `${spec.name} registered (${found})`, details: [] }
              : { ok: false, details: [`Expected ${expected} workers, found ${found}`] };
          } });
        break;
      }
    }
  }
  return checks;
}

export async function runSandboxGate(
  s: Sandbox,
  opts: { timeoutMs: number; onChange?: (checks: readonly CheckResult[]) => void; signal?: AbortSignal },
): Promise<GateResult> {
  const checks = await sandboxGateChecks(s);
  return runGate(checks, { timeoutMs: opts.timeoutMs, clock: realClock, ...(opts.onChange ? { onChange: opts.onChange } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
}
