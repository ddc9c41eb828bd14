// `kinfra sandbox whoami [path]`: which sandbox a folder is in, with its slot, ports, URLs and compose project, so an
// agent tests against its own instance and no other. A folder in no sandbox is an answer (with why), not an error.
import { resolve } from 'node:path';
import { isKinfraError } from '../core/errors.js';
import { nearestSandboxes } from '../core/nearest.js';
import type { AppContext } from './context.js';
import { namedUrlsFor } from './router-address.js';
import { resolveSandbox } from './the-sandbox.js';

/** The answers that mean "this folder is in no sandbox"; any other failure (a lost registry, say) is an error. */
const NOT_A_SANDBOX = new Set(['not-in-sandbox', 'not-registered']);

export async function whoami(ctx: AppContext, req: { path?: string | undefined }) {
  const path = resolve(ctx.cwd, req.path ?? '.');
  try {
    const s = await resolveSandbox({ ...ctx, cwd: path });
    const ports = Object.fromEntries(s.ports.map((p) => [p.name, p.port]));
    const sandbox = {
      instanceId: s.instanceId,
      slot: s.slot,
      path: s.path,
      project: s.project.name,
      ports,
      urls: s.urls.map((u) => ({ name: u.name, label: u.label, url: u.url })),
      hostnames: (await namedUrlsFor(ctx))(s.instanceId, ports, s.entry?.main_http),
    };
    return { path, sandbox, reason: null, nearest: [] };
  } catch (e) {
    if (!isKinfraError(e) || !NOT_A_SANDBOX.has(e.code)) throw e;
    const nearest = nearestSandboxes(path, (await ctx.registry.snapshot()).instances);
    return { path, sandbox: null, reason: e.message, nearest };
  }
}
