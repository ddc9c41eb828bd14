// The port-slot scheme. Slot 0 is the main checkout; slot N (1..max) is a sandbox. Every published port is `base +
// step*N`, except slot 0 of a port that declares `main`. One rule matters above all: no two (slot, variable) pairs may
// share a port, or two sandboxes would fight over it.

export interface NamedPort {
  /** Stable name used by gate checks and status (api, db, worker_1, ...). */
  name: string;
  env: string;
  base: number;
  step: number;
  main?: number | undefined;
  label?: string | undefined;
  url?: string | undefined;
  /** The sandbox's main HTTP port (`<instance-id>.localhost` through the router). */
  http?: boolean | undefined;
  /** 1-based worker index for worker ports. */
  worker?: number | undefined;
}

export interface SlotPort {
  name: string;
  env: string;
  port: number;
}

export const MAX_PORT = 65535;
/** The highest slot any layout may have (slots.max in kinfra.yaml). */
export const SLOT_LIMIT = 99;

export function portFor(spec: NamedPort, slot: number): number {
  if (slot === 0 && spec.main !== undefined) return spec.main;
  return spec.base + spec.step * slot;
}

export function portsForSlot(plan: readonly NamedPort[], slot: number): SlotPort[] {
  return plan.map((p) => ({ name: p.name, env: p.env, port: portFor(p, slot) }));
}

/** The slot's ports as `{ ENV_NAME: port }`, in plan order. */
export function portEnv(plan: readonly NamedPort[], slot: number): Record<string, number> {
  const env: Record<string, number> = {};
  for (const p of portsForSlot(plan, slot)) env[p.env] = p.port;
  return env;
}

export interface PortProblem {
  message: string;
}

/**
 * Every reason the plan is unsafe for slots 0..maxSlot: a port out of range, a
 * variable used twice, or two (slot, variable) pairs that land on the same port.
 */
export function findPortProblems(plan: readonly NamedPort[], maxSlot: number): PortProblem[] {
  const problems: PortProblem[] = [];
  const envSeen = new Map<string, string>();
  for (const p of plan) {
    const other = envSeen.get(p.env);
    if (other !== undefined) problems.push({ message: `ports ${other} and ${p.name} both use the variable ${p.env}` });
    envSeen.set(p.env, p.name);
  }
  const owner = new Map<number, { env: string; slot: number }>();
  for (let slot = 0; slot <= maxSlot; slot++) {
    for (const p of plan) {
      const port = portFor(p, slot);
      if (port < 1 || port > MAX_PORT) {
        problems.push({ message: `${p.env} of slot ${slot} would be ${port}, outside 1-${MAX_PORT}` });
        continue;
      }
      const first = owner.get(port);
      if (first) {
        problems.push({
          message: `${first.env} of slot ${first.slot} and ${p.env} of slot ${slot} are both ${port}`,
        });
      } else {
        owner.set(port, { env: p.env, slot });
      }
    }
  }
  return problems;
}
