// The files a compose project reads from its checkout that git may not have (a `.env`, env_file targets, a bind-mounted
// certificate): a new worktree lacks them when they are git-ignored, and its stack would not start. Pure: the main
// checkout's effective configuration (its paths absolute, as Compose prints them) comes in.

import { isAbsolute, relative, sep } from 'node:path';

type Service = { env_file?: unknown; volumes?: unknown };

const inside = (root: string, path: string): string | undefined => {
  const rel = relative(root, path);
  const outside = rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
  return rel && !outside ? rel.split(sep).join('/') : undefined;
};

/**
 * Paths (relative to `root`) the configuration reads from the checkout: env files and bind-mount sources. `raw` is
 * the uninterpolated configuration where Compose gives one: v2 folds env_file into environment in the interpolated
 * one, while bind sources are read there (uninterpolated, `${CONF:-./conf}/x:/x` is not split right).
 */
export function referencedPaths(config: unknown, root: string, raw: unknown = config): string[] {
  const out = new Set<string>(['.env']);
  const servicesOf = (c: unknown) => (c as { services?: Record<string, Service | null> } | null)?.services ?? {};
  const services = servicesOf(config);
  for (const s of [...Object.values(servicesOf(raw)), ...Object.values(services)]) {
    for (const f of [s?.env_file ?? []].flat()) {
      const path = typeof f === 'string' ? f : (f as { path?: unknown } | null)?.path;
      const rel = typeof path === 'string' ? inside(root, path) : undefined;
      if (rel) out.add(rel);
    }
  }
  for (const s of Object.values(services)) {
    for (const v of Array.isArray(s?.volumes) ? s.volumes : []) {
      const source =
        typeof v === 'string' ? v.split(':')[0] : (v as { type?: unknown; source?: unknown } | null)?.source;
      const bind = typeof v === 'string' || (v as { type?: unknown } | null)?.type === 'bind';
      const rel = bind && typeof source === 'string' && isAbsolute(source) ? inside(root, source) : undefined;
      if (rel) out.add(rel);
    }
  }
  return [...out];
}
