import type { Command } from 'commander';
import { KinfraError, usageError } from '../../core/errors.js';
import { action, examples } from '../action.js';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];

interface Targeting {
  url?: string;
  port?: string;
}

export function registerUrl(sandbox: Command): void {
  sandbox
    .command('url')
    .summary('print the API URL commands here talk to, and why')
    .description(
      'Print the backend URL that `kinfra api` (and other tools using the kinfra resolver) would use from ' +
        'the current folder, and where it came from. Order: --url, then --port, then the .env.sandbox of ' +
        'this folder or a parent, then http://localhost:8000. The file is read, never environment variables.',
    )
    .option('--json', 'print the result as JSON')
    .addHelpText('after', examples('kinfra sandbox url', 'kinfra -p 8002 sandbox url', 'kinfra sandbox url --json'))
    .action(action(async (io, ctx, _opts, cmd: Command) => {
      const o = cmd.optsWithGlobals<Targeting>();
      const { resolveApiUrl } = await import('../../app/resolve-url.js');
      const r = await resolveApiUrl({ cwd: ctx.cwd, url: o.url, port: o.port });
      io.result({ url: r.url, source: r.source, envFile: r.envFile ?? null, detail: r.detail }, () => {
        io.out(r.url);
        io.err(io.c.dim(`from ${r.detail}`));
      });
    }));
}

export function registerExec(sandbox: Command): void {
  sandbox
    .command('exec')
    .summary("run a command with this sandbox's variables")
    .description(
      'Run a command with the variables of the .env.sandbox of this folder (ports, project name, shared ' +
        'folders) and its API URL (e.g. KTRDR_API_URL) in that command\'s environment only. Your shell is ' +
        'left untouched, so nothing leaks between terminals. The command runs without a shell.',
    )
    .argument('<command...>', 'the command and its arguments (put -- before it)')
    .addHelpText('after', examples('kinfra sandbox exec -- env', 'kinfra sandbox exec -- pytest tests/e2e', 'kinfra sandbox exec -- sh -c \'curl "$KTRDR_API_URL/api/v1/health"\''))
    .action(action(async (_io, ctx, command: string[]) => {
      const { execInSandbox } = await import('../../app/exec.js');
      process.exitCode = await execInSandbox(ctx, command);
    }));
}

export function registerApi(program: Command): void {
  program
    .command('api')
    .summary('send one request to the backend of this sandbox')
    .description(
      'Send one HTTP request to the resolved backend (see `kinfra sandbox url`) and print the response: ' +
        'pretty JSON on a terminal, the raw body otherwise. A path without /api/v1 gets it; a --url that ' +
        'ends in an API path (e.g. http://host:8000/api/v2) keeps that one instead. A non-2xx answer exits 9 ' +
        'with the status on stderr. The ktrdr CLI\'s `ktrdr -p 8002 operations list` reads here as `kinfra -p 8002 api get operations`.',
    )
    .argument('<method>', `HTTP method: ${METHODS.join(', ')} (any case)`)
    .argument('<path>', 'path, e.g. operations or /api/v1/health')
    .option('-d, --data <json>', 'JSON request body')
    .addHelpText('after', examples(
      'kinfra api get health',
      'kinfra -p 8002 api get operations',
      'kinfra --url http://localhost:8003 api post workers/register --data \'{"id": "w1"}\'',
    ))
    .action(action(async (io, ctx, method: string, path: string, opts: { data?: string }, cmd: Command) => {
      const verb = method.toUpperCase();
      if (!METHODS.includes(verb)) {
        throw usageError('invalid-method', `${JSON.stringify(method)} is not an HTTP method.`, `Use one of: ${METHODS.join(', ')}.`);
      }
      if (opts.data !== undefined) {
        try {
          JSON.parse(opts.data);
        } catch (e) {
          throw usageError('invalid-json', `--data is not valid JSON: ${(e as Error).message}`, `For example: --data '{"name": "x"}'`);
        }
      }
      const o = cmd.optsWithGlobals<Targeting>();
      const [{ resolveApiUrl }, { sendRequest }, { apiRequestUrl }] = await Promise.all([
        import('../../app/resolve-url.js'), import('../../adapters/http-client.js'), import('../../core/api-url.js'),
      ]);
      const base = await resolveApiUrl({ cwd: ctx.cwd, url: o.url, port: o.port });
      const url = apiRequestUrl(base.url, path);
      const res = await sendRequest(verb, url, opts.data);
      let body = res.body;
      if (process.stdout.isTTY && /json/.test(res.contentType)) {
        try {
          body = JSON.stringify(JSON.parse(res.body), null, 2);
        } catch {
          /* not JSON after all: print it as it came */
        }
      }
      if (body) io.out(body.replace(/\n$/, ''));
      if (res.status < 200 || res.status > 299) {
        throw new KinfraError('api', 'api-status', `${verb} ${url} returned ${res.status}.`,
          res.status === 404
            ? 'Check the path; kinfra adds the API path (/api/v1, or the one --url ends in) to paths that lack it.'
            : 'The body above (if any) is the backend\'s own answer; check the backend\'s logs: kinfra sandbox logs backend',
          { status: res.status });
      }
    }));
}
