// Focus: `focus [name]` forwards the main checkout's ports (slot 0) to one sandbox, `focus --off` ends it; and the
// hidden `focus-serve`, the background forwarder that `focus` starts (never typed by a person). Lifecycle group.
import { namedSandbox } from './lifecycle.js';
import { operation, type Zod } from './operation.js';

const focusPort = (z: Zod) =>
  z.strictObject({
    name: z.string().describe("the layout's port name (api, db, ...)"),
    from: z.number().int().describe("the main checkout's port (slot 0), listened on 127.0.0.1 and ::1"),
    to: z.number().int().describe("the sandbox's port it forwards to (on 127.0.0.1)"),
    protocols: z.array(z.enum(['tcp', 'udp'])).describe('udp where the compose file publishes the port as udp'),
  });

const focusResult = (z: Zod) =>
  z.strictObject({
    focus: z
      .strictObject({
        instanceId: z.string(),
        slot: z.number().int(),
        since: z.string(),
        pid: z.number().int().describe('the forwarder process'),
        ports: z.array(focusPort(z)),
        log: z.string().describe("the forwarder's log file"),
      })
      .nullable()
      .describe('the focus now; null after --off'),
    previous: z.string().nullable().describe('the sandbox that had the focus before, if any'),
    changed: z.boolean().describe('false when it already had the focus and nothing was restarted'),
  });

export const focus = operation({
  name: 'focus',
  group: 'Lifecycle:',
  summary: "forward the main checkout's ports to a sandbox (--off: stop)",
  description:
    "Make the main checkout's ports (slot 0 of the layout: 8000, 5432, 3000, ... with the built-in layout; for " +
    'ports derived from the compose files, the ports as the main checkout publishes them) forward to the same ' +
    'ports of one sandbox, so saved database connections, OAuth callbacks and IDE settings reach the sandbox under ' +
    'review while the main stack is not running. TCP, and UDP for ports the compose file publishes as udp; loopback ' +
    'only (127.0.0.1 and ::1). A background forwarder serves it until `focus --off`, until another sandbox takes the ' +
    'focus (`focus b` while a has it switches), or until the sandbox is destroyed.\n\n' +
    'Refused (exit 3) while anything else holds one of those ports (the main stack itself, another compose project, ' +
    'a container, a process), naming the holder. `list` and `status` show which sandbox has the focus.',
  examples: [
    'kinfra sandbox focus my-feature     # 8000 -> 8001, 5432 -> 5433, ...',
    'kinfra sandbox focus                # the sandbox of the current folder',
    'kinfra sandbox focus --off',
    'kinfra sandbox focus my-feature --json',
  ],
  inputs: {
    name: namedSandbox,
    off: {
      in: 'option',
      flags: '--off',
      type: 'boolean',
      default: false,
      description: 'stop forwarding: the main checkout ports are free again',
    },
  },
  result: focusResult,
  effect: 'changes',
  target: 'named',
  streams: 'result',
  async run(ctx, input) {
    const { focusOff, focusSandbox } = await import('../app/focus.js');
    if (!input.off) return focusSandbox(ctx, { name: input.name });
    if (input.name !== undefined) {
      const { usageError } = await import('../core/errors.js');
      throw usageError(
        'invalid-arguments',
        `focus --off takes no sandbox name (${input.name}): there is one focus, and --off ends it.`,
        'Run: kinfra sandbox focus --off',
      );
    }
    return focusOff(ctx);
  },
  render(r, p) {
    if (!r.focus) {
      p.out(r.previous ? `${p.c.green('Focus ended')} (it was ${r.previous})` : 'No sandbox had the focus.');
      return;
    }
    const f = r.focus;
    const verb = !r.changed ? 'Already focused' : r.previous && r.previous !== f.instanceId ? 'Focus moved' : 'Focused';
    p.out(
      `${p.c.green(verb)}: the main checkout's ports forward to ${p.c.bold(f.instanceId)} (slot ${f.slot})` +
        (r.changed && r.previous && r.previous !== f.instanceId ? `, no longer to ${r.previous}` : ''),
    );
    const w = Math.max(...f.ports.map((x) => String(x.from).length));
    for (const x of f.ports) {
      const udp = x.protocols.includes('udp') ? ` (${x.protocols.join('+')})` : '';
      p.out(`  ${String(x.from).padStart(w)} -> ${x.to}  ${x.name}${udp}`);
    }
    p.out('');
    p.out(`Stop it with: kinfra sandbox focus --off   (forwarder pid ${f.pid}, log ${f.log})`);
  },
});

export const focusServe = operation({
  name: 'focus-serve',
  group: 'Lifecycle:',
  hidden: true,
  summary: 'the focus forwarder (started by focus)',
  description:
    'The background process `kinfra sandbox focus` starts: it listens on the ports the registry records for the ' +
    'focus and forwards each new connection to the port the registry gives the focused sandbox now. Not for use ' +
    'by hand.',
  examples: ['kinfra sandbox focus-serve <instance> --registry ~/.ktrdr/sandboxes/registry.json'],
  inputs: {
    instance: { in: 'arg', usage: '<instance>', type: 'string', required: true, description: 'the focused sandbox' },
    registry: {
      in: 'option',
      flags: '--registry <file>',
      type: 'string',
      description: 'the registry it serves (must be the one of this HOME)',
    },
    readyFd: {
      in: 'option',
      flags: '--ready-fd <fd>',
      type: 'int',
      min: 3,
      max: 1024,
      description: 'the file descriptor to report on once listening',
    },
  },
  result: undefined,
  effect: 'changes',
  target: 'none',
  streams: 'result',
  async run(ctx, input, session) {
    const { serveFocus } = await import('../app/focus.js');
    return serveFocus(
      ctx,
      { instance: input.instance, registry: input.registry ?? ctx.paths.registry, readyFd: input.readyFd },
      (message) => session.progress({ kind: 'step', message }),
    );
  },
});

/** This group's additions, in the order help lists them. */
export const operations = [focus, focusServe] as const;
