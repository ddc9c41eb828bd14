// `kinfra api <method> <path>`: one request to the resolved backend. The answer is the value; a non-2xx status is
// the outcome (exit 9) after its body is shown, decided here rather than by the surface.
import { METHODS } from '../core/api-url.js';
import { KinfraError, usageError } from '../core/errors.js';
import type { AppContext } from './context.js';

export interface ApiRequest {
  method: string;
  path: string;
  data?: string | undefined;
  url?: string | undefined;
  port?: string | undefined;
}

function checked(req: ApiRequest): string {
  const verb = req.method.toUpperCase();
  if (!METHODS.includes(verb)) {
    throw usageError(
      'invalid-method',
      `${JSON.stringify(req.method)} is not an HTTP method.`,
      `Use one of: ${METHODS.join(', ')}.`,
    );
  }
  if (req.data !== undefined) {
    try {
      JSON.parse(req.data);
    } catch (e) {
      throw usageError(
        'invalid-json',
        `--data is not valid JSON: ${(e as Error).message}`,
        `For example: --data '{"name": "x"}'`,
      );
    }
  }
  return verb;
}

function statusError(verb: string, url: string, status: number): KinfraError {
  return new KinfraError(
    'api',
    'api-status',
    `${verb} ${url} returned ${status}.`,
    status === 404
      ? 'Check the path; kinfra adds the API path (/api/v1, or the one --url ends in) to paths that lack it.'
      : "The body above (if any) is the backend's own answer; check the backend's logs: kinfra sandbox logs backend",
    { status },
  );
}

export async function apiRequest(ctx: AppContext, req: ApiRequest) {
  const verb = checked(req);
  const [{ resolveApiUrl }, { sendRequest }, { apiRequestUrl }] = await Promise.all([
    import('./resolve-url.js'),
    import('../adapters/http-client.js'),
    import('../core/api-url.js'),
  ]);
  const base = await resolveApiUrl({ cwd: ctx.cwd, url: req.url, port: req.port });
  const url = apiRequestUrl(base.url, req.path);
  const res = await sendRequest(verb, url, req.data);
  const ok = res.status >= 200 && res.status <= 299;
  return { ...res, error: ok ? null : statusError(verb, url, res.status) };
}
