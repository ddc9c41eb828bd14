// The router's table and its decisions (issue 16): routes come from the registry alone; a Host it does not serve is
// refused, an unknown name under .localhost gets the names served, a control endpoint wants the token and a request
// that is not from another site; the backend sees `Host: localhost:<port>` and the name in X-Forwarded-Host.
import { describe, expect, it } from 'vitest';
import { forwardedHeaders, rewrittenLocation } from '../../src/core/router/forwarding.js';
import { pageFormat, stoppedPage, unknownPage } from '../../src/core/router/pages.js';
import {
  appAccess,
  crossSiteReason,
  decide,
  hasToken,
  routeViews,
  type RequestFacts,
} from '../../src/core/router/requests.js';
import { mainPortName, routeSources, routeTable, sameRoutes, unreadableTable } from '../../src/core/router/routes.js';
import { chooseRouterPort, parseRouterState, formatRouterState } from '../../src/core/router/state.js';
import { emptyRegistry, type InstanceEntry, type Registry } from '../../src/core/registry/model.js';

const entry = (slot: number, ports: Record<string, number> | undefined, extra: Partial<InstanceEntry> = {}) =>
  ({
    slot,
    path: `/dev/x${slot}`,
    created_at: '',
    is_worktree: true,
    parent_repo: '/dev/ktrdr',
    ...(ports ? { ports } : {}),
    ...extra,
  }) as InstanceEntry;

function registry(instances: Record<string, InstanceEntry>): Registry {
  return { ...emptyRegistry(), instances };
}

const REG = registry({
  'ktrdr--b': entry(2, { api: 8002, db: 5434, worker_1: 5020 }),
  'ktrdr--a': entry(1, { api: 8001, db: 5433, worker_1: 5010 }, { state: 'creating' }),
  'my--web': entry(3, { web: 3003, admin: 3103 }),
  'old--v1': entry(4, undefined),
});
const PORT = 8800;
const TOKEN = 't'.repeat(43);
const table = routeTable(routeSources(REG), [PORT]);
const ask = (f: Partial<RequestFacts>) =>
  decide({ method: 'GET', url: '/', host: undefined, ...f }, { port: PORT, token: TOKEN, table });

describe('the route table', () => {
  it('names every port of every registered sandbox, and the sandbox itself its main port', () => {
    expect(table.sandboxes.map((s) => s.instanceId)).toEqual(['ktrdr--a', 'ktrdr--b', 'my--web', 'old--v1']);
    expect([...table.byHost.keys()]).toEqual([
      'ktrdr--a.localhost',
      'api.ktrdr--a.localhost',
      'db.ktrdr--a.localhost',
      'worker-1.ktrdr--a.localhost',
      'ktrdr--b.localhost',
      'api.ktrdr--b.localhost',
      'db.ktrdr--b.localhost',
      'worker-1.ktrdr--b.localhost',
      'my--web.localhost',
      'web.my--web.localhost',
      'admin.my--web.localhost',
    ]);
    expect(table.byHost.get('ktrdr--b.localhost')).toMatchObject({ name: 'api', port: 8002, main: true });
    expect(table.byHost.get('my--web.localhost')).toMatchObject({ name: 'web', port: 3003 });
    // An entry without a port map (a version 1 registry's) has a name and no route.
    expect(table.sandboxes.find((s) => s.instanceId === 'old--v1')!.routes).toEqual([]);
  });

  it('main: the one named, else api, else the first', () => {
    expect(mainPortName({ web: 1, api: 2 })).toBe('api');
    expect(mainPortName({ web: 1, api: 2 }, 'web')).toBe('web');
    expect(mainPortName({ web: 1 }, 'nope')).toBe('web');
    expect(mainPortName({})).toBeUndefined();
  });

  it('never routes to its own port, and gives a shared name to the first only', () => {
    const t = routeTable(
      routeSources(
        registry({
          'p--a': entry(1, { api: 8800, web: 3001, worker_1: 1, 'worker-1': 2 }),
          p__a: entry(2, { api: 9000 }),
        }),
      ),
      [8800],
    );
    expect(t.byHost.get('p--a.localhost')).toMatchObject({ instanceId: 'p--a', name: 'web' });
    // Not p__a's api either: a sandbox whose id makes another's label gets no name.
    expect(t.byHost.has('api.p--a.localhost')).toBe(false);
    expect(t.sandboxes.map((s) => s.instanceId)).toEqual(['p--a']);
    expect(t.byHost.get('worker-1.p--a.localhost')).toMatchObject({ port: 1 });
    expect(t.skipped).toEqual([
      "api.p--a.localhost: port 8800 is the router's own",
      'worker-1.p--a.localhost (p--a worker-1): already names p--a worker_1',
      "p__a: its names (p--a.localhost) are p--a's",
    ]);
  });

  it('sees changes: a port moved, a sandbox gone, a state set', () => {
    const moved = routeTable(routeSources(registry({ ...REG.instances, 'ktrdr--b': entry(5, { api: 8005 }) })), [PORT]);
    expect(sameRoutes(table, moved)).toBe(false);
    expect(sameRoutes(table, routeTable(routeSources(REG), [PORT]))).toBe(true);
    expect(sameRoutes(table, unreadableTable('x'))).toBe(false);
  });

  it('shows each route as status prints it', () => {
    expect(routeViews(table, PORT)[1]).toEqual({
      host: 'api.ktrdr--a.localhost:8800',
      url: 'http://api.ktrdr--a.localhost:8800',
      instanceId: 'ktrdr--a',
      name: 'api',
      port: 8001,
      target: 'http://127.0.0.1:8001',
      main: false,
    });
  });
});

describe('what the router does with a request', () => {
  it('proxies a name it serves, with its port, to that sandbox port only', () => {
    const d = ask({ host: 'API.ktrdr--a.localhost:8800' });
    expect(d).toMatchObject({ kind: 'proxy', route: { instanceId: 'ktrdr--a', port: 8001 } });
    expect(ask({ host: 'worker-1.ktrdr--b.localhost:8800' })).toMatchObject({ route: { port: 5020 } });
  });

  it('refuses (421) a Host it does not serve: another domain, another port, none, an address', () => {
    for (const host of ['evil.com:8800', 'ktrdr--a.localhost:8001', 'ktrdr--a.localhost', undefined, '10.0.0.1:8800']) {
      const d = ask({ host });
      expect(d.kind === 'reply' && d.reply.status, String(host)).toBe(421);
    }
  });

  it('answers 404 with the names served for an unknown name, or a service the sandbox does not have', () => {
    for (const host of ['nope.localhost:8800', 'grafana.ktrdr--a.localhost:8800', 'old--v1.localhost:8800']) {
      const d = ask({ host, accept: 'application/json' });
      expect(d.kind, host).toBe('reply');
      if (d.kind !== 'reply') continue;
      expect(d.reply.status).toBe(404);
      expect(JSON.parse(d.reply.body).served).toContain('http://api.ktrdr--a.localhost:8800');
    }
    const page = ask({ host: 'localhost:8800', accept: 'text/html' });
    expect(page.kind === 'reply' && page.reply.body).toContain('<a href="http://ktrdr--b.localhost:8800">');
  });

  it('answers a control endpoint only on its own names, with the token, and not to another site', () => {
    const auth = `Bearer ${TOKEN}`;
    const status = (f: Partial<RequestFacts>) => {
      const d = ask({ url: '/_kinfra/health', host: 'localhost:8800', ...f });
      return d.kind === 'reply' ? d.reply.status : d.kind;
    };
    expect(status({})).toBe(401);
    expect(status({ authorization: 'Bearer wrong' })).toBe(401);
    expect(status({ authorization: auth })).toBe('control');
    expect(status({ authorization: auth, host: '127.0.0.1:8800', url: '/_kinfra/routes?x=1' })).toBe('control');
    expect(status({ authorization: auth, host: '[::1]:8800' })).toBe('control');
    expect(status({ authorization: auth, origin: 'http://localhost:8800', secFetchSite: 'same-origin' })).toBe(
      'control',
    );
    expect(status({ authorization: auth, origin: 'http://evil.com' })).toBe(403);
    expect(status({ authorization: auth, origin: 'http://ktrdr--a.localhost:8800' })).toBe(403);
    expect(status({ authorization: auth, origin: 'null' })).toBe(403);
    expect(status({ authorization: auth, secFetchSite: 'cross-site' })).toBe(403);
    expect(status({ authorization: auth, secFetchSite: 'same-site' })).toBe(403);
    expect(status({ authorization: auth, url: '/_kinfra/nope' })).toBe(404);
    expect(status({ authorization: auth, method: 'POST' })).toBe(405);
    // Under a sandbox's name the path is the sandbox's own: proxied, not a control endpoint.
    expect(ask({ host: 'ktrdr--a.localhost:8800', url: '/_kinfra/health' }).kind).toBe('proxy');
  });

  it('gives the dashboard its name and the API its paths; the page alone is open, the rest wants the token', () => {
    expect(ask({ host: 'kinfra.localhost:8800', url: '/' }).kind).toBe('app');
    expect(ask({ host: 'kinfra.localhost:8800', url: '/_kinfra/health' }).kind).toBe('app');
    expect(ask({ host: 'localhost:8800', url: '/_kinfra/api/list' }).kind).toBe('app');
    expect(ask({ host: '[::1]:8800', url: '/_kinfra/events' }).kind).toBe('app');
    expect(ask({ host: 'localhost:8800', url: '/_kinfra/apix' }).kind).toBe('reply');
    // Another port, or a sandbox's name: never the dashboard.
    expect(ask({ host: 'kinfra.localhost:9999', url: '/' }).kind).toBe('reply');
    expect(ask({ host: 'ktrdr--a.localhost:8800', url: '/_kinfra/api/list' }).kind).toBe('proxy');
    const access = (f: Partial<RequestFacts>) => {
      const a = appAccess(
        { method: 'GET', url: '/', host: 'kinfra.localhost:8800', ...f },
        { port: PORT, token: TOKEN },
      );
      return a.ok ? (a.open ? 'open' : 'ok') : a.status;
    };
    const auth = `Bearer ${TOKEN}`;
    expect(access({})).toBe('open');
    expect(access({ url: '/_kinfra/dashboard/app.js' })).toBe('open');
    expect(access({ method: 'POST', url: '/' })).toBe(401);
    expect(access({ url: '/_kinfra/api' })).toBe(401);
    expect(access({ url: '/_kinfra/api', authorization: auth })).toBe('ok');
    const post = { method: 'POST', url: '/_kinfra/api/destroy', authorization: auth };
    expect(access({ ...post, origin: 'http://kinfra.localhost:8800', secFetchSite: 'same-origin' })).toBe('ok');
    expect(access({ ...post, origin: 'http://evil.example' })).toBe(403);
    expect(access({ ...post, origin: 'http://ktrdr--a.localhost:8800' })).toBe(403);
    expect(access({ ...post, secFetchSite: 'same-site' })).toBe(403);
  });

  it('compares tokens whole', () => {
    expect(hasToken(`Bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(hasToken(`bearer  ${TOKEN} `, TOKEN)).toBe(true);
    expect(hasToken(`Bearer ${TOKEN}x`, TOKEN)).toBe(false);
    expect(hasToken(`Bearer ${TOKEN.slice(1)}`, TOKEN)).toBe(false);
    expect(hasToken(TOKEN, TOKEN)).toBe(false);
    expect(hasToken(undefined, TOKEN)).toBe(false);
    expect(crossSiteReason(undefined, 'none', PORT)).toBeUndefined();
  });

  it('says the registry cannot be read instead of routing', () => {
    const d = decide(
      { method: 'GET', url: '/', host: 'ktrdr--a.localhost:8800', accept: 'application/json' },
      { port: PORT, token: TOKEN, table: unreadableTable('registry.json is not valid JSON') },
    );
    expect(d.kind === 'reply' && [d.reply.status, JSON.parse(d.reply.body).error]).toEqual([
      503,
      'registry-unreadable',
    ]);
  });
});

describe('pages', () => {
  const a = table.sandboxes[0]!;
  it('the 503 page names the sandbox, its state and the command that starts it, in the form asked for', () => {
    const html = stoppedPage('html', a, a.routes[0]!);
    expect(html.status).toBe(503);
    expect(html.headers['content-type']).toMatch(/text\/html/);
    expect(html.body).toContain('ktrdr--a is not running');
    expect(html.body).toContain('<code>cd /dev/x1 &amp;&amp; kinfra sandbox up</code>');
    expect(html.body).toContain('being created');
    const text = stoppedPage('text', a, a.routes[0]!);
    expect(text.body).toContain('Start it with: cd /dev/x1 && kinfra sandbox up');
    expect(JSON.parse(stoppedPage('json', a, a.routes[0]!).body)).toMatchObject({
      error: 'sandbox-not-running',
      instanceId: 'ktrdr--a',
      start: 'cd /dev/x1 && kinfra sandbox up',
    });
  });

  it('escapes what it shows', () => {
    const t = routeTable(routeSources(registry({ 'x--a': entry(1, { api: 1 }, { path: '/d/<script>' }) })));
    expect(stoppedPage('html', t.sandboxes[0]!, t.sandboxes[0]!.routes[0]!).body).not.toContain('<script>');
    expect(unknownPage('html', '<b>.localhost', t, 1).body).not.toContain('<b>');
  });

  it('picks HTML for browsers, JSON when asked, text otherwise', () => {
    expect(pageFormat('text/html,application/xhtml+xml,*/*;q=0.8')).toBe('html');
    expect(pageFormat('application/json')).toBe('json');
    expect(pageFormat('*/*')).toBe('text');
    expect(pageFormat(undefined)).toBe('text');
  });
});

describe('forwarding', () => {
  it('gives the backend Host localhost:<its port> and the name in X-Forwarded-Host', () => {
    expect(forwardedHeaders('api.ktrdr--a.localhost:8800', 8800, 8001, '::ffff:127.0.0.1')).toEqual({
      host: 'localhost:8001',
      'x-forwarded-host': 'api.ktrdr--a.localhost:8800',
      'x-forwarded-proto': 'http',
      'x-forwarded-port': '8800',
      'x-forwarded-for': '127.0.0.1',
    });
  });

  it('points a redirect to the port URL back at the name; leaves other redirects alone', () => {
    const host = 'api.ktrdr--a.localhost:8800';
    expect(rewrittenLocation('http://localhost:8001/login?x=1', 8001, host)).toBe(`http://${host}/login?x=1`);
    expect(rewrittenLocation('http://127.0.0.1:8001', 8001, host)).toBe(`http://${host}`);
    expect(rewrittenLocation('http://localhost:8002/x', 8001, host)).toBeUndefined();
    expect(rewrittenLocation('http://localhost:80012/x', 8001, host)).toBeUndefined();
    expect(rewrittenLocation('/relative', 8001, host)).toBeUndefined();
    expect(rewrittenLocation('https://example.com/', 8001, host)).toBeUndefined();
  });
});

describe('the state file and the port', () => {
  it('round-trips, and refuses what kinfra did not write', () => {
    const s = { version: 1 as const, pid: 42, port: 8800, token: TOKEN, startedAt: 'now', cli: '/k.js' };
    expect(parseRouterState(formatRouterState(s))).toEqual({ ok: true, state: s });
    expect(parseRouterState('{').ok).toBe(false);
    expect(parseRouterState(JSON.stringify({ ...s, port: 0 })).ok).toBe(false);
    expect(parseRouterState(JSON.stringify({ ...s, token: 'short' })).ok).toBe(false);
    expect(parseRouterState(JSON.stringify({ ...s, version: 2 })).ok).toBe(false);
  });

  it('--port, then KINFRA_ROUTER_PORT, then 8800', () => {
    expect(chooseRouterPort(undefined, undefined)).toEqual({ ok: true, port: 8800, from: 'default' });
    expect(chooseRouterPort(undefined, '9100')).toEqual({ ok: true, port: 9100, from: 'KINFRA_ROUTER_PORT' });
    expect(chooseRouterPort('9200', '9100')).toEqual({ ok: true, port: 9200, from: '--port' });
    expect(chooseRouterPort('x', undefined)).toEqual({ ok: false, given: 'x', from: '--port' });
    expect(chooseRouterPort(undefined, '70000').ok).toBe(false);
  });
});

describe('the main HTTP port a layout marks `http: true`', () => {
  it('is recorded in the entry at the lease and is what <instance-id>.localhost reaches', async () => {
    const { parseConfigText } = await import('../../src/core/config/config.js');
    const { adHocLease, leaseEntryFields } = await import('../../src/core/slot-lease.js');
    const config = parseConfigText(
      'prefix: web\nports:\n  api: { env: W_API, base: 47000 }\n  ui: { env: W_UI, base: 47100, http: true }\n',
      'kinfra.yaml',
    );
    const fields = leaseEntryFields(config, adHocLease(2));
    expect(fields).toMatchObject({ ports: { api: 47002, ui: 47102 }, main_http: 'ui' });
    const t = routeTable(routeSources(registry({ 'web--a': entry(2, fields.ports, fields) })));
    expect(t.byHost.get('web--a.localhost')).toMatchObject({ name: 'ui', port: 47102 });
    expect(t.byHost.get('api.web--a.localhost')).toMatchObject({ name: 'api', port: 47002 });
  });
});
