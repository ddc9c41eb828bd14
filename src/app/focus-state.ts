// Which sandbox has the focus now, as list and status show it: the registry's record, believed only while its
// forwarder runs (proven by its command line) and its sandbox is registered. Light on purpose: list loads it.
import { isForwarder } from '../adapters/forwarder-process.js';
import { focusOf, focusTarget, type FocusRecord } from '../core/focus.js';
import type { Registry } from '../core/registry/model.js';
import type { AppContext } from './context.js';

/** The focus as list reports it: the ports go where the registry sends a new connection now. */
export interface FocusView {
  instanceId: string;
  since: string;
  ports: { name: string; from: number; to: number }[];
}

/** The registry's focus record and what proves it live: its forwarder runs, its sandbox is registered. */
export interface FocusLiveness {
  record: FocusRecord;
  /** Its pid is a focus forwarder of this registry, by its command line (a dead or reused pid is not). */
  forwarderRuns: boolean;
  registered: boolean;
}

/** The registry's focus record, if it has one, with whether it is live (doctor reports one that is not). */
export async function focusLiveness(ctx: AppContext, registry: Registry): Promise<FocusLiveness | undefined> {
  const record = focusOf(registry);
  if (!record) return undefined;
  const registered = registry.instances[record.instance] !== undefined;
  return { record, forwarderRuns: await isForwarder(record.pid, ctx.paths.registry), registered };
}

/** The registry's focus when it is live: its forwarder runs and its sandbox is registered; undefined otherwise. */
export async function liveFocus(ctx: AppContext, registry: Registry): Promise<FocusRecord | undefined> {
  // An unregistered sandbox's focus is not live, whatever runs: list and status need not read the process table.
  const record = focusOf(registry);
  if (!record || registry.instances[record.instance] === undefined) return undefined;
  const f = await focusLiveness(ctx, registry);
  return f?.forwarderRuns && f.registered ? f.record : undefined;
}

export async function focusView(ctx: AppContext, registry: Registry): Promise<FocusView | null> {
  const f = await liveFocus(ctx, registry);
  if (!f) return null;
  const ports = f.ports.flatMap((p) => {
    const t = focusTarget(registry, f.pid, p.name);
    return t.kind === 'forward' ? [{ name: p.name, from: p.from, to: t.port }] : [];
  });
  return { instanceId: f.instance, since: f.since, ports };
}
