// `kinfra sandbox url`: the backend URL commands here talk to (the resolver's, resolve-url.ts), where it came from,
// and the same port by name through the router (`http://api.<instance-id>.localhost:<router port>`), or why it has
// none. With `name`, a URL without a name is an error, so `open $(kinfra sandbox url --name)` never opens nothing.
import { dirname } from 'node:path';
import { notFoundError } from '../core/errors.js';
import type { AppContext } from './context.js';
import { resolveApiUrl } from './resolve-url.js';
import { namedUrlFor } from './router-address.js';

export async function urlReport(
  ctx: AppContext,
  req: { url?: string | undefined; port?: string | undefined; name?: boolean | undefined },
) {
  const r = await resolveApiUrl({ cwd: ctx.cwd, url: req.url, port: req.port });
  const named = await namedUrlFor(ctx, r.url, r.envFile === undefined ? undefined : dirname(r.envFile));
  if (req.name && typeof named === 'string') {
    throw notFoundError(
      'no-named-url',
      `${r.url}, from ${r.detail}, has no name through the router: ${named}.`,
      'Names are given to the ports of registered sandboxes (kinfra sandbox whoami lists them): run this in a ' +
        'sandbox folder, or leave out --name for the port URL.',
      { url: r.url, reason: named },
    );
  }
  return {
    url: r.url,
    source: r.source,
    envFile: r.envFile ?? null,
    detail: r.detail,
    named: typeof named === 'string' ? null : named,
    namedReason: typeof named === 'string' ? named : null,
  };
}
