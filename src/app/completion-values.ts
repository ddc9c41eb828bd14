// The values a shell completes at completion time: sandbox names, pool slots, and the services of the sandbox that
// holds the working folder. Reading only (the registry is never settled or written here), and fast: a completion
// must never hang the shell.
import type { AppContext } from './context.js';

export type CompletionKind = 'instances' | 'services' | 'slots';

/** Give up on services after this long. */
const SERVICES_TIMEOUT_MS = 5000;

/**
 * The registry's keys as plain JSON, without the store (and its locking) or any validation: completion only needs
 * the keys.
 */
async function registryKeys(ctx: AppContext, field: 'instances' | 'slots'): Promise<string[]> {
  const { readTextIfExists } = await import('../adapters/file-store.js');
  const data: unknown = JSON.parse((await readTextIfExists(ctx.paths.registry)) ?? '{}');
  const map = data && typeof data === 'object' ? (data as Record<string, unknown>)[field] : undefined;
  return map && typeof map === 'object' ? Object.keys(map) : [];
}

/** Services of the compose project of the sandbox holding cwd. */
async function services(ctx: AppContext): Promise<string[]> {
  const [{ resolveSandbox }, { composeServices }] = await Promise.all([
    import('./the-sandbox.js'),
    import('../adapters/compose.js'),
  ]);
  const lookup = (async () => (await composeServices((await resolveSandbox(ctx)).project)).sort())();
  // Failing after the give-up below is no error either (and must not be an unhandled rejection).
  lookup.catch(() => undefined);
  // Compose or Docker stuck: no values rather than a hung shell (the timer does not keep the process alive).
  const giveUp = new Promise<string[]>((resolve) => setTimeout(() => resolve([]), SERVICES_TIMEOUT_MS).unref());
  return Promise.race([lookup, giveUp]);
}

export async function completionValues(ctx: AppContext, kind: CompletionKind): Promise<string[]> {
  switch (kind) {
    case 'instances':
      return (await registryKeys(ctx, 'instances')).sort();
    case 'slots':
      return (await registryKeys(ctx, 'slots')).filter((s) => /^\d+$/.test(s)).sort((a, b) => Number(a) - Number(b));
    case 'services':
      return services(ctx);
  }
}
