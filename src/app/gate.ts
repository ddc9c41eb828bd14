// The Startability Gate of a sandbox: its configured checks, bound to its ports and the real probes.

import { setTimeout as sleep } from 'node:timers/promises';
import { composeCapture } from '../adapters/compose.js';
import { listContainers, type ContainerInfo } from '../adapters/engine.js';
import { probeHttp, probePostgres, probeTcp, type ProbeOutcome } from '../adapters/probes.js';
import { serviceOfPort } from '../core/compose-model.js';
import type { GateCheckSpec } from '../core/config/schema.js';
import { runGate, type CheckResult, type Clock, type GateCheck, type GateResult, type Verdict } from '../core/gate.js';
import { registration, workerList } from '../core/workers.js';
import { derivedGateSpecs, expectedServices, servicesVerdict } from '../core/derived-gate.js';
import type { Sandbox } from './the-sandbox.js';
import { ownsContainer } from './engine-state.js';
import type { Stack } from './stack.js';

export const realClock: Clock = {
  now: () => performance.now(),
  sleep: (ms, signal) => sleep(ms, undefined, { signal }),
};

/** The gate's result, with the configured checks it left out because the stack lacks what they check. */
export interface SandboxGateResult extends GateResult {
  omitted: { name: string; reason: string }[];
}

/** "GET http://localhost:8001/api/v1/health returned connection refused" (the design's wording). */
function describe(o: ProbeOutcome): string {
  return /^(GET|POST)\b/.test(o.tried)
    ? `${o.tried} ${o.got.startsWith('returned') ? o.got : `returned ${o.got}`}`
    : `${o.tried}: ${o.got}`;
}

const verdict = (o: ProbeOutcome): Verdict => ({
  ok: o.ok,
  tried: o.tried,
  got: o.got,
  details: o.ok ? [] : [describe(o)],
});

/** The worker services this sandbox runs: its compose services that match the check's pattern. */
function workerServices(stack: Stack | undefined, spec: GateCheckSpec): string[] | undefined {
  const pattern = new RegExp(spec.services ?? 'worker', 'i');
  return stack?.model.services.map((x) => x.name).filter((n) => pattern.test(n));
}

/**
 * The sandbox's own containers, asked for at most every 500 ms however many checks wait: a check whose service
 * has exited, or was never started, can never pass, and the gate says so at once instead of waiting out its timeout.
 */
function containerWatch(s: Sandbox): (service: string) => Promise<string | undefined> {
  let cached: { at: number; list: Promise<ContainerInfo[] | undefined> } | undefined;
  const mine = () => {
    if (!cached || performance.now() - cached.at > 500) {
      cached = {
        at: performance.now(),
        list: listContainers().then(
          (cs) => cs.filter((c) => ownsContainer(c, s.stamp.owner, s.project.name, s.stamp.path)),
          () => undefined,
        ),
      };
    }
    return cached.list;
  };
  return async (service) => {
    const cs = await mine();
    if (!cs) return undefined;
    const of = cs.filter((c) => c.service === service);
    if (of.length === 0)
      return `no container of service ${service} exists (the stack is not started: kinfra sandbox up)`;
    if (of.some((c) => c.state === 'running' || c.state === 'restarting' || c.state === 'created')) return undefined;
    const c = of[0]!;
    return (
      `the container of service ${service} ` +
      `has ${c.state === 'exited' ? `exited (${c.status})` : `state ${c.state}`}`
    );
  };
}

/** A probe that also gives up for good when the container it needs is gone. */
function watched(
  probe: GateCheck['probe'],
  service: string | undefined,
  watch: (service: string) => Promise<string | undefined>,
): GateCheck['probe'] {
  if (!service) return probe;
  return async (timeoutMs, signal) => {
    const v = await probe(timeoutMs, signal);
    if (v.ok) return v;
    const gone = await watch(service);
    // The probe's own answer stays the check's `got`: it is what the service said last.
    return gone ? { ...v, final: true, details: [...v.details, gone] } : v;
  };
}

/**
 * The configured checks of this sandbox, bound to its ports and the real
 * probes; checks of absent services are left out.
 */
export function sandboxGateChecks(
  s: Sandbox,
  stack: Stack | undefined,
): { checks: (GateCheck & { service?: string | undefined })[]; omitted: SandboxGateResult['omitted'] } {
  const ports = new Map(s.ports.map((p) => [p.name, p.port]));
  const checks: (GateCheck & { service?: string | undefined })[] = [];
  const omitted: SandboxGateResult['omitted'] = [];
  const watch = containerWatch(s);
  for (const spec of gateSpecs(s, stack)) {
    const left = new Set(omitted.map((o) => o.name));
    const base = { name: spec.name, after: (spec.after ?? []).filter((d) => !left.has(d)) };
    if (spec.kind === 'services') {
      checks.push({ ...base, ...servicesCheck(s, stack) });
      continue;
    }
    const port = spec.port === undefined ? undefined : ports.get(spec.port);
    if (port === undefined) {
      checks.push({
        ...base,
        passText: '',
        failText: `${spec.name} cannot be checked`,
        probe: async () => ({
          ok: false,
          final: true,
          tried: `read port ${spec.port} of ${s.project.envFile}`,
          got: 'no such port',
          details: [`${s.project.envFile} has no port ${spec.port}`],
        }),
      });
      continue;
    }
    const service = stack ? serviceOfPort(stack.model, port) : undefined;
    if (stack && !service) {
      omitted.push({ name: spec.name, reason: `no service of the stack publishes its port ${spec.port} (${port})` });
      continue;
    }
    const statuses = spec.status === undefined ? undefined : [spec.status].flat();
    const path = spec.path ?? '/';
    const add = (passText: string, failText: string, probe: GateCheck['probe']) =>
      checks.push({ ...base, service, passText, failText, probe: watched(probe, service, watch) });
    switch (spec.kind) {
      case 'postgres':
        add(`${spec.name} ready`, `${spec.name} not ready`, async (timeoutMs, signal) =>
          verdict(await probePostgres(port, { timeoutMs, signal })),
        );
        break;
      case 'tcp':
        add(`${spec.name} ready`, `${spec.name} not reachable`, async (timeoutMs, signal) =>
          verdict(await probeTcp(port, { timeoutMs, signal })),
        );
        break;
      case 'http': {
        const health = /health/.test(path);
        add(
          `${spec.name} ${health ? 'healthy' : 'ready'}`,
          `${spec.name} ${health ? 'health check failed' : 'not ready'}`,
          async (timeoutMs, signal) =>
            verdict(
              await probeHttp(port, path, { timeoutMs, signal, ...(statuses ? { expectStatus: statuses } : {}) }),
            ),
        );
        break;
      }
      case 'workers': {
        const services = workerServices(stack, spec);
        const expected = services?.length ?? s.config.workerCount;
        add(`${spec.name} registered (${expected})`, `${spec.name} not registered`, async (timeoutMs, signal) => {
          const o = await probeHttp(port, path, { timeoutMs, signal });
          if (!o.ok) return verdict(o);
          const list = workerList(o.json);
          const { tried } = o;
          if (list === undefined)
            return {
              ok: false,
              tried,
              got: `${o.got} without a worker list`,
              details: [`${tried} returned no worker list`],
            };
          const r = registration(services ?? Array.from({ length: expected }, (_, i) => `worker ${i + 1}`), list);
          const got = `${r.found} of ${expected} workers registered`;
          return r.allRegistered
            ? { ok: true, tried, got, passText: `${spec.name} registered (${list.length})`, details: [] }
            : { ok: false, tried, got, details: [`Expected ${expected} workers, found ${r.found}`] };
        });
        break;
      }
    }
  }
  return { checks, omitted };
}

/** The checks the gate runs: the derived ones (when the layout asks for them), then the configured ones. */
function gateSpecs(s: Sandbox, stack: Stack | undefined): GateCheckSpec[] {
  if (!s.config.gateDerived || !stack) return s.config.gate;
  const byPort = new Map(s.ports.map((p) => [p.port, p.name]));
  return derivedGateSpecs(stack.config, (host) => byPort.get(host), s.config.gate);
}

/** Every service of the stack where it should be: running, healthy when it has a healthcheck, or one-shot done. */
function servicesCheck(s: Sandbox, stack: Stack | undefined): Omit<GateCheck, 'name' | 'after'> {
  const expected = stack ? expectedServices(stack.config) : [];
  return {
    passText: 'Services running',
    failText: 'Services not ready',
    probe: async () => {
      const tried = `list the containers of ${s.project.name}`;
      const all = await listContainers().catch(() => undefined);
      if (!all)
        return {
          ok: false,
          tried,
          got: 'the Docker engine did not answer',
          details: ['the Docker engine did not answer'],
        };
      const mine = all.filter((c) => ownsContainer(c, s.stamp.owner, s.project.name, s.stamp.path));
      return { ...servicesVerdict(expected, mine), tried };
    },
  };
}

/** The last lines each failed check's service logged: what the design asks a failed gate to show. */
async function withLastLogs(
  s: Sandbox,
  result: GateResult,
  checks: readonly { name: string; service?: string | undefined }[],
): Promise<GateResult> {
  const failed = result.checks.filter((c) => c.status === 'failed');
  if (failed.length === 0 || result.interrupted) return result;
  const logs = new Map<string, string[]>();
  for (const service of new Set(
    failed.map((c) => checks.find((x) => x.name === c.name)?.service).filter((x): x is string => !!x),
  )) {
    const r = await composeCapture(s.project, ['logs', '--no-color', '--tail', '10', service]).catch(() => undefined);
    const lines = (r?.stdout ?? '')
      .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
      .split('\n')
      .map((l) => l.trimEnd())
      .filter(Boolean)
      .slice(-10);
    if (lines.length > 0) logs.set(service, lines);
  }
  const checksOut: CheckResult[] = result.checks.map((c) => {
    const service = checks.find((x) => x.name === c.name)?.service;
    const lines = c.status === 'failed' && service ? logs.get(service) : undefined;
    return lines
      ? { ...c, details: [...c.details, `last log lines of ${service}:`, ...lines.map((l) => `  ${l}`)] }
      : c;
  });
  return { ...result, checks: checksOut };
}

export async function runSandboxGate(
  s: Sandbox,
  stack: Stack | undefined,
  opts: { timeoutMs: number; onChange?: (checks: readonly CheckResult[]) => void; signal?: AbortSignal },
): Promise<SandboxGateResult> {
  const { checks, omitted } = sandboxGateChecks(s, stack);
  const result = await runGate(checks, {
    timeoutMs: opts.timeoutMs,
    clock: realClock,
    ...(opts.onChange ? { onChange: opts.onChange } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  return { ...(await withLastLogs(s, result, checks)), omitted };
}
