// The gate kinfra derives from a compose project when nobody configured one: every service `up` starts is running
// (a one-shot service has exited 0 instead), every healthcheck is healthy, and each Postgres-family service answers
// the Postgres protocol on its published port. Pure: the effective configuration and the containers come in.

import type { GateCheckSpec } from './config/schema.js';
import { parsePortEntry } from './compose-model.js';

/** What the gate expects of one service. */
export interface ServiceExpectation {
  name: string;
  /** It has a healthcheck: running is not enough, it must be healthy. */
  healthcheck: boolean;
  /** Exiting 0 is its job (others wait for it to complete, or it never restarts). */
  oneShot: boolean;
}

/** One container of the project, as the engine reports it. */
export interface ServiceContainer {
  service: string | undefined;
  state: string;
  status: string;
  health: 'healthy' | 'unhealthy' | 'starting' | undefined;
}

export type Service = {
  profiles?: unknown;
  healthcheck?: { disable?: unknown; test?: unknown } | null;
  restart?: unknown;
  depends_on?: unknown;
  image?: unknown;
  ports?: unknown;
  deploy?: { replicas?: unknown } | null;
  scale?: unknown;
};

const servicesOf = (config: unknown) =>
  Object.entries((config as { services?: Record<string, Service | null> } | null)?.services ?? {}) as [
    string,
    Service | null,
  ][];

const hasHealthcheck = (s: Service | null) => {
  const h = s?.healthcheck;
  if (!h || h.disable === true) return false;
  const test = [h.test].flat();
  return test.length > 0 && test[0] !== 'NONE';
};

/** Services that others wait for with `condition: service_completed_successfully`. */
function awaitedToComplete(config: unknown): Set<string> {
  const out = new Set<string>();
  for (const [, s] of servicesOf(config)) {
    const deps = s?.depends_on;
    if (deps && typeof deps === 'object' && !Array.isArray(deps)) {
      for (const [name, d] of Object.entries(deps as Record<string, { condition?: unknown } | null>)) {
        if (d?.condition === 'service_completed_successfully') out.add(name);
      }
    }
  }
  return out;
}

/** The services a plain `up` starts (no profile, not scaled to zero), with what each must reach. */
export function expectedServices(config: unknown): ServiceExpectation[] {
  const awaited = awaitedToComplete(config);
  return servicesOf(config)
    .filter(([, s]) => !(Array.isArray(s?.profiles) && s.profiles.length > 0))
    .filter(([, s]) => Number(s?.deploy?.replicas ?? s?.scale ?? 1) !== 0)
    .map(([name, s]) => ({
      name,
      healthcheck: hasHealthcheck(s),
      // A server that stopped with exit 0 is not done: without a stated `restart: "no"`, only a service that
      // publishes nothing and has no healthcheck is taken for a one-shot.
      oneShot:
        awaited.has(name) ||
        s?.restart === 'no' ||
        (s?.restart === undefined && !hasHealthcheck(s) && !(Array.isArray(s?.ports) && s.ports.length > 0)),
    }));
}

const exitCode = (status: string): number | undefined => {
  const m = /^Exited \((-?\d+)\)/.exec(status);
  return m ? Number(m[1]) : undefined;
};

export interface ServicesVerdict {
  ok: boolean;
  /** It cannot pass any more (a service exited with an error). */
  final: boolean;
  passText: string;
  /** One line for the gate's "got", e.g. "2 of 3 services ready (db starting)". */
  got: string;
  details: string[];
}

/** How many of the services `got` names, so that the line stays one line with fifty services waiting. */
const NAMED = 4;

/** Whether every expected service is where it should be, and what is not. */
export function servicesVerdict(
  expected: readonly ServiceExpectation[],
  containers: readonly ServiceContainer[],
): ServicesVerdict {
  const details: string[] = [];
  /** "db starting": each service that is not ready, by the first reason of its first container that is not. */
  const notReady: string[] = [];
  let final = false;
  let done = 0;
  for (const svc of expected) {
    const mine = containers.filter((c) => c.service === svc.name);
    if (mine.length === 0) {
      details.push(`service ${svc.name} has no container (kinfra sandbox up starts it)`);
      notReady.push(`${svc.name} has no container`);
      continue;
    }
    let finished = 0;
    let why: string | undefined;
    for (const c of mine) {
      if (c.state === 'exited' || c.state === 'dead') {
        const code = exitCode(c.status);
        if (code === 0 && svc.oneShot) {
          finished++;
          continue;
        }
        final ||= code !== 0;
        details.push(`service ${svc.name} ${c.status ? `has ${c.status.toLowerCase()}` : `is ${c.state}`}`);
        why ??= code === undefined ? c.state : `exited (${code})`;
      } else if (c.state !== 'running') {
        details.push(`service ${svc.name} is ${c.state}`);
        why ??= c.state;
      } else if (c.health !== undefined && c.health !== 'healthy') {
        // Docker reports a health only where a healthcheck runs (the file's or the image's own).
        details.push(`service ${svc.name} is ${c.health === 'unhealthy' ? 'unhealthy' : 'not healthy yet'}`);
        why ??= c.health === 'unhealthy' ? 'unhealthy' : 'starting';
      }
    }
    if (finished === mine.length) done++;
    if (why) notReady.push(`${svc.name} ${why}`);
  }
  const running = expected.length - done;
  const passText = `Services running (${running} of ${expected.length}` + (done > 0 ? `; ${done} one-shot done)` : ')');
  const named =
    notReady.slice(0, NAMED).join(', ') + (notReady.length > NAMED ? `, ${notReady.length - NAMED} more` : '');
  const got =
    `${expected.length - notReady.length} of ${expected.length} services ready` + (named ? ` (${named})` : '');
  return { ok: details.length === 0, final, passText, got, details };
}

/** The image's own name (`timescale/timescaledb-ha:pg16` -> `timescaledb-ha`): postgrest is no Postgres. */
const POSTGRES_IMAGE = /^(postgres(ql)?|postgis|timescaledb(-ha)?|pgvector)$/i;
const imageName = (image: string) => image.split('@')[0]!.split('/').pop()!.split(':')[0]!;

/** A Postgres-family service: its image's name, or a `pg_isready` healthcheck. */
export function isPostgresService(s: Service | null | undefined): boolean {
  const pgImage = typeof s?.image === 'string' && POSTGRES_IMAGE.test(imageName(s.image));
  return pgImage || (hasHealthcheck(s ?? null) && /pg_isready/.test([s?.healthcheck?.test].flat().join(' ')));
}

/** A MySQL-family service (not supported yet by `db`: said so rather than treated as no database). */
export const isMysqlService = (s: Service | null | undefined): boolean =>
  typeof s?.image === 'string' && /^(mysql|mariadb|percona)$/i.test(imageName(s.image));

/** The Postgres-family services and the host port each publishes for Postgres (5432 inside, else its first TCP). */
export function postgresServices(config: unknown): { service: string; host: number }[] {
  const out: { service: string; host: number }[] = [];
  for (const [name, s] of servicesOf(config)) {
    if (!isPostgresService(s)) continue;
    const ports = (Array.isArray(s?.ports) ? s.ports : []).flatMap(parsePortEntry).filter((p) => p.protocol === 'tcp');
    const port = ports.find((p) => p.container === 5432) ?? ports[0];
    if (port) out.push({ service: name, host: port.host });
  }
  return out;
}

/**
 * The derived checks, before the configured ones: a configured check of the same name replaces a derived one.
 * `portName` names the sandbox's port for a host port of the stack.
 */
export function derivedGateSpecs(
  config: unknown,
  portName: (host: number) => string | undefined,
  configured: readonly GateCheckSpec[],
): GateCheckSpec[] {
  const specs: GateCheckSpec[] = [{ name: 'Services', kind: 'services' }];
  for (const pg of postgresServices(config)) {
    const port = portName(pg.host);
    if (port) specs.push({ name: `Postgres (${pg.service})`, kind: 'postgres', port });
  }
  const names = new Set(configured.map((c) => c.name));
  return [...specs.filter((s) => !names.has(s.name)), ...configured];
}
