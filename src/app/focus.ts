// `kinfra sandbox focus [name]`: the main checkout's ports (slot 0) forward to one sandbox's, so what points at them
// (saved database connections, OAuth callbacks, IDE settings) reaches the sandbox under review while the main stack
// does not run; `focus --off` ends it. The registry records the focus (which sandbox, which forwarder pid, since when,
// which ports) and one background forwarder per registry serves it (`focus-serve`, hidden), asking the registry at
// every new connection where to go: a destroyed sandbox ends the focus, a moved focus stops the old forwarder.
//
// Switching is one locked step: the old forwarder is stopped (only once its command line proves it is one), the new
// one started and recorded, and the lock is released only when it listens or has said why it cannot; so two `focus`
// at once leave one forwarder. Anything else on a slot-0 port refuses the focus, naming the holder.
import { BindError, openForwarders, type ForwardSpec } from '../adapters/port-forward.js';
import {
  isForwarder,
  onTermination,
  reportReady,
  startForwarder,
  stopForwarder,
  type ReadyReport,
} from '../adapters/forwarder-process.js';
import { KinfraError, conflictError, externalError, usageError } from '../core/errors.js';
import {
  clearFocus,
  describeFocusPort,
  focusOf,
  focusPorts,
  focusTarget,
  forwarderVerdict,
  setFocus,
  type FocusPort,
  type FocusRecord,
} from '../core/focus.js';
import type { Registry } from '../core/registry/model.js';
import type { AppContext } from './context.js';
import { ownerOfPort, seenNow, type PortOwner } from './port-owner.js';
import { resolveSandbox, sandboxStack } from './the-sandbox.js';

export interface FocusReport {
  /** The focus now; null after --off (or when nothing had it). */
  focus: {
    instanceId: string;
    slot: number;
    since: string;
    pid: number;
    ports: FocusPort[];
    log: string;
  } | null;
  /** The sandbox that had the focus before this command, if any. */
  previous: string | null;
  /** False when the sandbox already had the focus and its forwarder was left running as it is. */
  changed: boolean;
}

/** A holder of a slot-0 port that refuses the focus. */
export interface FocusHolder extends PortOwner {
  protocol: 'tcp' | 'udp';
}

const report = (r: FocusRecord, log: string): NonNullable<FocusReport['focus']> => ({
  instanceId: r.instance,
  slot: r.slot,
  since: r.since,
  pid: r.pid,
  ports: r.ports,
  log,
});

const samePorts = (a: readonly FocusPort[], b: readonly FocusPort[]) =>
  JSON.stringify(a.map((p) => [p.name, p.from, p.to, p.protocols])) ===
  JSON.stringify(b.map((p) => [p.name, p.from, p.to, p.protocols]));

function heldError(instanceId: string, holders: readonly FocusHolder[]): KinfraError {
  const lines = holders.map((h) => `  ${h.message}`);
  const which = holders.length === 1 ? "a main checkout's port is" : `${holders.length} main checkout's ports are`;
  return new KinfraError(
    'port-conflict',
    'focus-port-held',
    `Cannot focus ${instanceId}: ${which} in use:\n${lines.join('\n')}`,
    'Focus forwards the ports of the main checkout, so it needs them free: stop what holds them (the main stack: ' +
      '`docker compose down` in the main checkout), then run focus again. `kinfra sandbox ports who <port>` says ' +
      'who holds a port.',
    { holders },
  );
}

/**
 * Who holds the slot-0 ports, besides a focus forwarder of this registry (the one being replaced, or one a
 * concurrent `focus` just started): those are stopped under the lock, not counted as holders.
 */
async function holdersOf(
  ctx: AppContext,
  ports: readonly FocusPort[],
): Promise<{ holders: FocusHolder[]; forwarders: Set<number> }> {
  const seen = await seenNow(ctx);
  const holders: FocusHolder[] = [];
  const forwarders = new Set<number>();
  for (const p of ports) {
    for (const protocol of p.protocols) {
      const owner = await ownerOfPort(p.from, seen, protocol);
      if (owner.state === 'free') continue;
      if (owner.state === 'process' && owner.pid !== null && (await isForwarder(owner.pid, ctx.paths.registry))) {
        forwarders.add(owner.pid);
        continue;
      }
      holders.push({ ...owner, protocol });
    }
  }
  return { holders, forwarders };
}

/**
 * Stop the recorded forwarder (if it is one: a stale pid is only forgotten) and any other one given; clear the record.
 */
async function stopAll(ctx: AppContext, registry: Registry, others: Iterable<number> = []): Promise<void> {
  const old = focusOf(registry);
  const pids = new Set([...(old ? [old.pid] : []), ...others]);
  for (const pid of pids) await stopForwarder(pid, ctx.paths.registry);
  clearFocus(registry);
}

/** `focus --off`: stop the forwarder and clear the record. */
export async function focusOff(ctx: AppContext): Promise<FocusReport> {
  const previous = await ctx.registry.update(async (registry) => {
    const old = focusOf(registry);
    if (registry.focus !== undefined) await stopAll(ctx, registry);
    return old?.instance ?? null;
  });
  return { focus: null, previous, changed: previous !== null };
}

/**
 * doctor --repair: clear the focus record of forwarder `pid` when it is stale (the forwarder is gone, or the sandbox
 * is), in one locked step, as `focus --off` does; a forwarder still running for a sandbox that is gone is stopped
 * first (only once its command line proves it). A record that is live again, or another one, is left as it is.
 */
export async function clearStaleFocus(ctx: AppContext, pid: number): Promise<{ done: boolean; note: string }> {
  return ctx.registry.update(async (registry) => {
    const f = focusOf(registry);
    if (!f || f.pid !== pid) return { done: false, note: 'no longer needed' };
    const registered = registry.instances[f.instance] !== undefined;
    if (registered && (await isForwarder(pid, ctx.paths.registry)))
      return { done: false, note: `no longer needed: forwarder pid ${pid} runs for ${f.instance}` };
    await stopAll(ctx, registry);
    const why = registered ? `its forwarder, pid ${pid}, was gone` : `${f.instance} is no longer registered`;
    return { done: true, note: `cleared the focus record of ${f.instance} (${why})` };
  });
}

/** `focus [name]`: forward the slot-0 ports to the sandbox called `name` (or the one holding cwd). */
export async function focusSandbox(ctx: AppContext, input: { name?: string | undefined }): Promise<FocusReport> {
  const registry = await ctx.registry.snapshot();
  const s = await resolveSandbox(ctx, { name: input.name, registry });
  if (s.slot === 0) {
    throw conflictError(
      'focus-main-checkout',
      `${s.instanceId} runs on slot 0, the main checkout's ports: there is nothing to forward.`,
      'Focus a sandbox on another slot (see kinfra sandbox list).',
    );
  }
  const stack = await sandboxStack(s);
  const published = stack?.model.services.flatMap((x) => x.ports) ?? [];
  const ports = focusPorts(s.config.ports, s.ports, published);
  if (ports.length === 0) {
    throw usageError(
      'nothing-to-focus',
      `${s.instanceId} has no port of the layout that the main checkout publishes elsewhere.`,
      'See its ports with: kinfra sandbox layout',
    );
  }
  const current = focusOf(registry);
  if (
    current?.instance === s.instanceId &&
    samePorts(current.ports, ports) &&
    (await isForwarder(current.pid, ctx.paths.registry))
  ) {
    return { focus: report(current, ctx.paths.focusLog), previous: s.instanceId, changed: false };
  }
  const { holders, forwarders } = await holdersOf(ctx, ports);
  if (holders.length > 0) throw heldError(s.instanceId, holders);

  type Outcome =
    | { ok: true; previous: string | null; record: FocusRecord }
    | { ok: false; previous: string | null; why: Extract<ReadyReport, { ok: false }> | 'gone' };
  const outcome = await ctx.registry.update(async (reg, save): Promise<Outcome> => {
    const old = focusOf(reg);
    const previous = old && reg.instances[old.instance] ? old.instance : null;
    await stopAll(ctx, reg, forwarders);
    if (!reg.instances[s.instanceId]) return { ok: false, previous, why: 'gone' };
    const started = startForwarder({
      instance: s.instanceId,
      registry: ctx.paths.registry,
      logFile: ctx.paths.focusLog,
      env: process.env,
    });
    const record: FocusRecord = {
      instance: s.instanceId,
      pid: started.pid,
      since: new Date().toISOString(),
      slot: s.slot,
      ports,
    };
    if (started.pid > 0) {
      // Recorded before it listens: the forwarder waits to see its own pid here, so it never serves unrecorded.
      setFocus(reg, record);
      await save();
    }
    const ready = await started.ready;
    if (ready.ok) return { ok: true, previous, record };
    clearFocus(reg);
    if (started.pid > 0) await stopForwarder(started.pid, ctx.paths.registry);
    return { ok: false, previous, why: ready };
  });
  if (outcome.ok)
    return { focus: report(outcome.record, ctx.paths.focusLog), previous: outcome.previous, changed: true };
  const why = outcome.why;
  if (why === 'gone') {
    throw conflictError(
      'focus-sandbox-gone',
      `${s.instanceId} was destroyed while focus started.`,
      'See the registered sandboxes with: kinfra sandbox list',
    );
  }
  if (why.port !== undefined) {
    // Taken between the check and the listen: name who took it.
    const protocol = why.protocol ?? 'tcp';
    const owner = await ownerOfPort(why.port, await seenNow(ctx), protocol);
    if (owner.state !== 'free') throw heldError(s.instanceId, [{ ...owner, protocol }]);
  }
  throw externalError(
    'focus-failed',
    `The focus forwarder for ${s.instanceId} did not start: ${why.reason}.`,
    `See its log, ${ctx.paths.focusLog}, and run focus again.`,
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait until the registry names this process as the focus forwarder (the starter records it after spawning). */
async function ownRecord(ctx: AppContext, waitMs: number): Promise<FocusRecord | undefined> {
  const until = Date.now() + waitMs;
  for (;;) {
    const reg = await ctx.registry.snapshot().catch(() => undefined);
    const f = reg && focusOf(reg);
    if (f?.pid === process.pid) return f;
    if (Date.now() > until) return undefined;
    await sleep(25);
  }
}

/**
 * The forwarder (`focus-serve`, hidden): listen on the slot-0 ports the registry's focus names, forward each new
 * connection to the port the registry gives the focused sandbox now, and end when the focus is no longer this
 * process's (switched, ended) or its sandbox is gone (then it clears the focus itself). Resolves when it has ended.
 */
export async function serveFocus(
  ctx: AppContext,
  input: { instance: string; registry: string; readyFd?: number | undefined },
  log: (line: string) => void,
): Promise<{ ended: string }> {
  const say = (line: string) => log(`${new Date().toISOString()} [${process.pid}] ${line}`);
  if (input.registry !== ctx.paths.registry) {
    reportReady(input.readyFd, { ok: false, reason: `it serves ${ctx.paths.registry}, not ${input.registry}` });
    throw usageError(
      'focus-registry-mismatch',
      `This forwarder would serve ${ctx.paths.registry}, not ${input.registry}.`,
      'Start the focus with kinfra sandbox focus <name>, which runs the forwarder itself.',
    );
  }
  const record = await ownRecord(ctx, 10_000);
  if (!record || record.instance !== input.instance) {
    reportReady(input.readyFd, { ok: false, reason: 'the registry does not record this process as the focus' });
    throw conflictError(
      'focus-not-recorded',
      `The registry does not name this process (${process.pid}) as the focus forwarder for ${input.instance}.`,
      'Start the focus with kinfra sandbox focus <name>, which runs the forwarder itself.',
    );
  }
  let end: (why: string) => void = () => undefined;
  const ended = new Promise<string>((resolve) => (end = resolve));
  const target = async (spec: ForwardSpec): Promise<number | undefined> => {
    const reg = await ctx.registry.snapshot().catch(() => undefined);
    if (!reg) return undefined;
    const t = focusTarget(reg, process.pid, spec.name);
    if (t.kind === 'forward') return t.port;
    if (t.kind === 'not-mine') end('the focus is no longer this forwarder');
    if (t.kind === 'gone') end(`${t.instance} is no longer registered`);
    return undefined;
  };
  const specs: ForwardSpec[] = record.ports.flatMap((p) =>
    p.protocols.map((protocol) => ({ port: p.from, protocol, name: p.name })),
  );
  let forwarders;
  try {
    forwarders = await openForwarders(specs, target, { log: say });
  } catch (e) {
    if (!(e instanceof BindError)) throw e;
    reportReady(input.readyFd, { ok: false, reason: e.message, port: e.port, protocol: e.protocol });
    say(`not started: ${e.message}`);
    throw new KinfraError(
      'port-conflict',
      'focus-port-held',
      `The focus forwarder ${e.message}.`,
      'Stop what holds the port, then run kinfra sandbox focus again.',
    );
  }
  const offSignals = onTermination((signal) => end(`stopped by ${signal}`));
  reportReady(input.readyFd, { ok: true });
  say(`forwarding to ${record.instance}: ${record.ports.map(describeFocusPort).join(', ')}`);
  // Between connections too: a destroyed sandbox or a moved focus ends this forwarder within a moment.
  const watch = setInterval(() => {
    void ctx.registry
      .snapshot()
      .then((reg) => {
        const v = forwarderVerdict(reg, process.pid);
        if (v === 'not-mine') end('the focus is no longer this forwarder');
        if (v === 'gone') end(`${record.instance} is no longer registered`);
      })
      .catch(() => undefined);
  }, 250);
  const why = await ended;
  clearInterval(watch);
  offSignals();
  await forwarders.close();
  if (why.endsWith('no longer registered')) {
    await ctx.registry
      .update((reg) => {
        if (focusOf(reg)?.pid === process.pid) clearFocus(reg);
      })
      .catch((e: unknown) => say(`could not clear the focus: ${(e as Error).message}`));
  }
  say(`stopped: ${why}`);
  return { ended: why };
}
