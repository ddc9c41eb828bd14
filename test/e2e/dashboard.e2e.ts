import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJson, REPO_ROOT, type CliResult, type Workspace } from '../helpers/cli.js';
import {
  buildExampleImages,
  E2E_CONFIG,
  exampleWorkspace,
  removeLeftovers,
  removeRouterWorkspace,
  requireEngine,
} from '../helpers/docker.js';
import { askRouterAs, closedPort } from '../helpers/servers.js';

/**
 * Issue 17's dashboard in a real browser: Debian's Chromium, headless, driven by playwright-core. Two sandboxes of
 * the example stack and a router of this HOME on a free port; the page, opened at the URL `kinfra dashboard` prints,
 * shows both with their gate results, brings a up (its checks turn green on the page as they pass), shows b's gate
 * turning green while b comes up from a terminal, follows a's backend's log live, shows kinfra's refusal to destroy
 * b while b holds unsaved work and asks before destroying it once it does not; requests without the token, with a
 * wrong one or from another site are refused, by plain HTTP and from another site's page. Screenshots go to
 * test-artifacts/ (KINFRA_UPDATE_SCREENSHOT=1 also copies the first to docs/images/dashboard.png for the README).
 *
 * Node's resolver does not resolve *.localhost; Chromium does, so the browser goes by name, and the plain HTTP
 * requests go to 127.0.0.1 with the Host a browser sends. Own compose-project prefix (kdb--) and ports
 * (52xxx-53xxx), so it never meets another suite's stacks.
 */
const PREFIX = 'kdb';
const ID = { a: `${PREFIX}--a`, b: `${PREFIX}--b` };
const CONFIG = E2E_CONFIG.replace(/^prefix: \w+/m, `prefix: ${PREFIX}`)
  .replace('base: 28000', 'base: 52000')
  .replace('base: 25432', 'base: 52200')
  .replace('base: 23000', 'base: 52400')
  .replace('base: 36686', 'base: 52600')
  .replace('base: 24317', 'base: 52800')
  .replace('base: 24318', 'base: 52801')
  .replace('base: 29090', 'base: 53000')
  .replace('base: 25000, step: 10, main: 25003', 'base: 53200, step: 10, main: 53203');
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(REPO_ROOT, 'test-artifacts');
const CHECKS = ['Database', 'Backend', 'Workers', 'Observability'];
/** Bringing a stack up and its gate passing, on a loaded two-core machine. */
const UP_MS = 180_000;

let ws: Workspace;
let port: number;
let routerPid: number | undefined;
/** `http://kinfra.localhost:<port>/#token=<token>`, as `kinfra dashboard` printed it. */
let dashboardUrl: string;
let token: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const created = new Set<string>();

const folder = (id: string) => join(ws.dev, id);
const dashboardHost = () => `kinfra.localhost:${port}`;
const origin = () => `http://${dashboardHost()}`;
const card = (id: string) => page.locator(`article[data-instance="${id}"]`);

function ok(r: CliResult): CliResult {
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  return r;
}

/** One plain HTTP request to the router, under the dashboard's name unless `host` says another (as a browser would). */
const ask = (
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string; host?: string; firstBytes?: boolean } = {},
) => askRouterAs(port, opts.host ?? dashboardHost(), path, opts);

const bearer = (t = token) => ({ authorization: `Bearer ${t}` });
const post = (tool: string, input: unknown, headers: Record<string, string> = {}) =>
  ask(`/_kinfra/api/${tool}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(input),
  });

async function listed(): Promise<string[]> {
  const r = parseJson(ok(await ws.run(['sandbox', 'list', '--json'])).stdout);
  return r.data.instances.map((i: { instanceId: string }) => i.instanceId);
}

async function shot(name: string, p: Page = page): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = join(ARTIFACTS, `dashboard-${name}.png`);
  await p.screenshot({ path: file });
  return file;
}

/**
 * Records, in the page, every state each gate check of `id`'s card and its verdict pass through (from the moment this
 * is called), as the page draws them: `window.__seen[check]` (and `window.__seen.verdict`) in order, once per change.
 */
async function watchChecks(id: string): Promise<void> {
  await page.evaluate((instance) => {
    const w = window as unknown as { __seen: Record<string, string[]>; __observer?: MutationObserver };
    w.__seen = {};
    const note = (key: string, v: string | undefined) => {
      const seen = (w.__seen[key] ??= []);
      if (v && seen.at(-1) !== v) seen.push(v);
    };
    const record = () => {
      const el = [...document.querySelectorAll<HTMLElement>('article[data-instance]')].find(
        (c) => c.dataset.instance === instance,
      );
      note('verdict', el?.querySelector<HTMLElement>('[data-gate]')?.dataset.gate);
      for (const c of el?.querySelectorAll<HTMLElement>('li[data-check]') ?? [])
        note(c.dataset.check!, c.dataset.status);
    };
    w.__observer?.disconnect();
    w.__observer = new MutationObserver(record);
    w.__observer.observe(document.body, { subtree: true, childList: true, attributes: true });
    record();
  }, id);
}

/**
 * The gate was drawn while it ran, and every check turned green: drawn in another state (failed before, waiting,
 * skipped), then, last, passed. Not every check is drawn waiting: the page shows the gate's record as the router
 * reads it (a running gate writes it at most every 100 ms), so a check that passes within one look goes from its
 * last gate's state straight to passed; at least one is drawn waiting.
 */
async function expectTurnedGreen(): Promise<void> {
  const seen = await page.evaluate(() => (window as unknown as { __seen: Record<string, string[]> }).__seen);
  const why = JSON.stringify(seen);
  expect(seen.verdict, why).toContain('running');
  expect(seen.verdict!.at(-1), why).toBe('passed');
  for (const check of CHECKS) {
    const states = seen[check] ?? [];
    expect(states.length, `${check}: ${why}`).toBeGreaterThan(1);
    expect(states.at(-1), `${check}: ${why}`).toBe('passed');
  }
  expect(
    CHECKS.some((c) => seen[c]!.includes('waiting')),
    why,
  ).toBe(true);
}

/** The command lines (arguments) of every process below the router: the log followers it runs are among them. */
function underRouter(): string[][] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // gone meanwhile
    }
  }
  const found: string[][] = [];
  const next = [...(children.get(routerPid!) ?? [])];
  while (next.length) {
    const pid = next.pop()!;
    next.push(...(children.get(pid) ?? []));
    try {
      found.push(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** How many processes below the router follow `service`'s logs (`docker compose ... logs ... <service>`, plugin). */
const followers = (service: string) => underRouter().filter((a) => a.includes('logs') && a.includes(service)).length;

async function until(holds: () => boolean, what: string, ms = 15_000): Promise<void> {
  for (const end = Date.now() + ms; !holds(); await new Promise((r) => setTimeout(r, 200))) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms / 1000} s (${JSON.stringify(underRouter())})`);
  }
}

/** Until `id`'s card shows `status` (from the next `sandboxes` event). */
function cardStatus(id: string, status: string, timeout = 60_000) {
  return page.waitForFunction(
    ([instance, want]) =>
      [...document.querySelectorAll<HTMLElement>('article[data-instance]')].find((e) => e.dataset.instance === instance)
        ?.dataset.status === want,
    [id, status],
    { timeout },
  );
}

async function openDashboard(url = dashboardUrl): Promise<void> {
  await page.goto(url);
  await page.locator('body[data-ready="1"]').waitFor({ timeout: 30_000 });
}

beforeAll(async () => {
  expect([...CONFIG.matchAll(/base: (\d+)/g)].filter((m) => Number(m[1]) < 52000)).toEqual([]);
  expect(existsSync(CHROMIUM), `${CHROMIUM} (Debian's chromium package; .ci/run installs it)`).toBe(true);
  requireEngine();
  removeLeftovers(`${PREFIX}--`);
  buildExampleImages();
  ws = exampleWorkspace(CONFIG);
  for (const name of ['a', 'b']) {
    ok(await ws.run(['sandbox', 'create', name]));
    created.add(`${PREFIX}--${name}`);
  }
  // A gate result for each before the page opens (neither runs yet: both fail at once), so the page has one to show.
  for (const id of [ID.a, ID.b]) {
    expect((await ws.run(['sandbox', 'gate', '--timeout', '5'], { cwd: folder(id) })).code).toBe(2);
  }
  port = await closedPort();
  const opened = parseJson(
    ok(await ws.run(['dashboard', '--json'], { env: { KINFRA_ROUTER_PORT: `${port}` } })).stdout,
  ).data;
  routerPid = opened.pid;
  expect(opened).toMatchObject({ routerPort: port, started: true, opened: false, address: `${origin()}/` });
  dashboardUrl = opened.url;
  token = new URL(dashboardUrl).hash.replace(/^#token=/, '');
  expect(token).toBe(ok(await ws.run(['router', 'token'])).stdout.trim());
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await removeRouterWorkspace(ws, { routerPid, created, prefix: `${PREFIX}--` });
}, 180_000);

describe('the dashboard in a real browser: two sandboxes of the example stack (issue 17)', () => {
  it('without a token the page says how to get one; a wrong token is refused (401) and it says so again', async () => {
    const p = await context.newPage();
    try {
      await p.goto(`${origin()}/`);
      await p.locator('#auth').waitFor();
      expect(await p.locator('#auth').innerText()).toContain('kinfra dashboard');
      expect(await p.locator('#main').isHidden()).toBe(true);
      await p.fill('#auth-token', 'not-the-token');
      await p.press('#auth-token', 'Enter');
      await p.locator('#auth-reason', { hasText: '401' }).waitFor();
      expect(await p.evaluate(() => sessionStorage.getItem('kinfra-token'))).toBeNull();
      await shot('no-token', p);
      // The right one, pasted: the page connects.
      await p.fill('#auth-token', token);
      await p.click('#auth-form button[type="submit"]');
      await p.locator('body[data-ready="1"]').waitFor({ timeout: 30_000 });
    } finally {
      await p.close();
    }
  });

  it("at kinfra dashboard's URL: the token goes to the tab's storage; both sandboxes, URLs, gates", async () => {
    await openDashboard();
    expect(page.url()).toBe(`${origin()}/`);
    expect(await page.evaluate(() => sessionStorage.getItem('kinfra-token'))).toBe(token);
    const list = parseJson(ok(await ws.run(['sandbox', 'list', '--json'])).stdout).data;
    expect(
      await page.locator('article[data-instance]').evaluateAll((els) => els.map((e) => e.dataset.instance)),
    ).toEqual(list.instances.map((i: { instanceId: string }) => i.instanceId));
    for (const i of list.instances) {
      const c = card(i.instanceId);
      expect(await c.getAttribute('data-status')).toBe(i.status);
      expect(await c.innerText()).toContain(i.branch);
      // Every URL by name and every direct one, clickable, and the router port in them is this router's.
      const hrefs = await c.locator('[data-part="urls"] a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
      expect(i.hostnames.routerPort).toBe(port);
      expect(hrefs).toEqual([i.hostnames.url, ...i.hostnames.ports.flatMap((p: any) => [p.url, p.direct])]);
      // The gate each ran before the page opened: failed, check by check, with what the CLI said.
      await c.locator('[data-gate="failed"]').waitFor();
      const checks = await c
        .locator('li[data-check]')
        .evaluateAll((ls) => ls.map((l) => [l.dataset.check, l.dataset.status]));
      expect(checks).toEqual([
        ['Database', 'failed'],
        ['Backend', 'failed'],
        ['Workers', 'skipped'],
        ['Observability', 'failed'],
      ]);
      expect(await c.locator('li[data-check="Backend"]').innerText()).toContain('Backend health check failed');
    }
  });

  it("Up from the page: a's checks turn green as they pass, then its workers show as registered", async () => {
    await watchChecks(ID.a);
    const up = card(ID.a).locator('button[data-action="up"]');
    await up.click();
    // While it runs, the page says so.
    await card(ID.a).locator('[data-part="outcome"][data-outcome="running"]').waitFor();
    expect(await up.getAttribute('aria-busy')).toBe('true');
    await card(ID.a).locator('[data-gate="running"], [data-gate="passed"]').waitFor({ timeout: UP_MS });
    await shot('up-running');
    await card(ID.a).locator('[data-gate="passed"]').waitFor({ timeout: UP_MS });
    await card(ID.a).locator('[data-part="outcome"][data-outcome="done"]').waitFor({ timeout: 30_000 });
    expect(await card(ID.a).locator('[data-part="outcome"]').innerText()).toMatch(/Startability Gate PASSED/);
    await expectTurnedGreen();
    await page.waitForFunction(
      (id) => {
        const c = [...document.querySelectorAll<HTMLElement>('article[data-instance]')].find(
          (e) => e.dataset.instance === id,
        );
        return (
          c?.dataset.status === 'running' && c.querySelectorAll('li[data-worker][data-registered="true"]').length === 4
        );
      },
      ID.a,
      { timeout: 60_000 },
    );
  });

  it("up in a terminal: b's checks turn green on the page too", async () => {
    await watchChecks(ID.b);
    const terminal = ws.run(['sandbox', 'up', '--timeout', '150'], { cwd: folder(ID.b) });
    await card(ID.b).locator('[data-gate="passed"]').waitFor({ timeout: UP_MS });
    ok(await terminal);
    await expectTurnedGreen();
    await page.waitForFunction(
      (id) =>
        [...document.querySelectorAll<HTMLElement>('article[data-instance]')].find((e) => e.dataset.instance === id)
          ?.dataset.status === 'running',
      ID.b,
      { timeout: 30_000 },
    );
  });

  it("tails a's backend's log live; picking another service closes the first stream", async () => {
    await page.selectOption('#logs-sandbox', ID.a);
    await page.locator('#logs-service option[value="backend"]').waitFor({ state: 'attached', timeout: 30_000 });
    await page.selectOption('#logs-service', 'backend');
    // The last lines first (tail=100): what the backend printed as it started.
    await page.locator('#log .line', { hasText: 'backend listening on' }).waitFor({ timeout: 30_000 });
    // Then a line written now: a worker registering with a's backend (through the router, by a's name).
    const probe = `dashboard-probe-${Date.now()}`;
    const r = await ask('/api/v1/workers/register', {
      method: 'POST',
      host: `api.${ID.a}.localhost:${port}`,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: probe, type: 'backtest', url: 'http://127.0.0.1:9' }),
    });
    expect(r.status, r.body).toBe(200);
    await page.locator('#log .line', { hasText: `registered worker ${probe}` }).waitFor({ timeout: 30_000 });
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot('1280');
    if (process.env.KINFRA_UPDATE_SCREENSHOT === '1') {
      copyFileSync(join(ARTIFACTS, 'dashboard-1280.png'), join(REPO_ROOT, 'docs/images/dashboard.png'));
    }
    expect(followers('backend'), 'the router follows the backend for the page').toBeGreaterThan(0);
    // Another service: the page closes the backend's stream (and the router stops following it), the db's come.
    await page.selectOption('#logs-service', 'db');
    await page.waitForFunction(() => document.getElementById('log')?.dataset.following?.endsWith('/db'));
    await page.locator('#log .line').first().waitFor({ timeout: 30_000 });
    expect(await page.locator('#log .line', { hasText: probe }).count()).toBe(0);
    await until(() => followers('backend') === 0 && followers('db') > 0, 'only the db followed');
    // Stop closes that one too.
    await page.click('#logs-stop');
    await until(() => followers('db') === 0, 'nothing followed');
  });

  it("Gate from the page on running a: kinfra's gate passes, and the page says so", async () => {
    const outcome = card(ID.a).locator('[data-part="outcome"]');
    await card(ID.a).locator('button[data-action="wait_ready"]').click();
    await card(ID.a).locator('[data-part="outcome"][data-outcome="done"]').waitFor({ timeout: 150_000 });
    expect(await outcome.innerText()).toMatch(/^Startability Gate: PASSED \(\d+\.\ds\)/);
    expect(await card(ID.a).locator('li[data-check][data-status="passed"]').count()).toBe(CHECKS.length);
  });

  it('destroy of b with unsaved work: kinfra refuses, with the message the CLI gives, and nothing goes', async () => {
    writeFileSync(join(folder(ID.b), 'notes.txt'), 'work in progress\n');
    await card(ID.b).locator('button[data-action="destroy"]').click();
    const dialog = page.locator('#destroy-dialog[open]');
    await dialog.waitFor({ timeout: 60_000 });
    expect(await dialog.getAttribute('data-mode')).toBe('refused');
    expect(await page.locator('#destroy-confirm').isHidden()).toBe(true);
    await dialog.locator('[data-code="work-at-risk"]').waitFor();
    const shown = await dialog.locator('.error-message').innerText();
    expect(await dialog.locator('[data-detail="uncommitted"]').innerText()).toContain('notes.txt');
    await shot('destroy-refused');
    // The same refusal as the CLI's, word for word.
    const cli = await ws.run(['sandbox', 'destroy', ID.b, '--json']);
    expect(cli.code).toBe(4);
    const refusal = parseJson(cli.stderr).error;
    expect(refusal.code).toBe('work-at-risk');
    expect(shown).toBe(`Error: ${refusal.message}`);
    expect(await dialog.locator('.hint').innerText()).toBe(`Hint: ${refusal.hint}`);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect(await listed()).toContain(ID.b);
    expect(existsSync(join(folder(ID.b), 'notes.txt'))).toBe(true);
  });

  it('destroy of b once nothing is at risk: the page asks (Cancel keeps it), only Confirm destroys it', async () => {
    rmSync(join(folder(ID.b), 'notes.txt'));
    const destroy = card(ID.b).locator('button[data-action="destroy"]');
    await destroy.click();
    const dialog = page.locator('#destroy-dialog[open]');
    await dialog.waitFor({ timeout: 60_000 });
    expect(await dialog.getAttribute('data-mode')).toBe('confirm');
    expect(await dialog.innerText()).toContain(folder(ID.b));
    await shot('destroy-confirm');
    await page.click('#destroy-cancel');
    expect(await listed()).toContain(ID.b);
    await destroy.click();
    await dialog.waitFor({ timeout: 60_000 });
    await page.click('#destroy-confirm');
    await card(ID.b).waitFor({ state: 'detached', timeout: 120_000 });
    created.delete(ID.b);
    await page.locator('#notices .notice', { hasText: `Destroyed ${ID.b}` }).waitFor({ timeout: 30_000 });
    expect(await listed()).not.toContain(ID.b);
    expect(existsSync(folder(ID.b))).toBe(false);
  });

  it('keyboard: Tab reaches the actions, focus visible; a 400 px window needs no sideways scroll', async () => {
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    let found = false;
    for (let i = 0; i < 80 && !found; i++) {
      await page.keyboard.press('Tab');
      found = await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.action === 'up');
    }
    expect(found, 'Tab reached an Up button').toBe(true);
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    expect(outline).not.toBe('none');
    await page.setViewportSize({ width: 400, height: 800 });
    await shot('400');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(400);
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('refused: no token or a wrong one (401), another site even with it (403); the page holds no secret', async () => {
    const index = await ask('/');
    expect(index.status).toBe(200);
    expect(index.headers['content-type']).toMatch(/^text\/html/);
    expect(index.body).toContain('/_kinfra/dashboard/app.js');
    expect(index.body).not.toContain(token);
    expect((await post('list', {})).status).toBe(401);
    expect((await post('list', {}, bearer('wrong'))).status).toBe(401);
    expect((await ask('/_kinfra/events', { firstBytes: true })).status).toBe(401);
    expect((await ask(`/_kinfra/logs?sandbox=${ID.a}&service=backend&tail=1`, { firstBytes: true })).status).toBe(401);
    const fine = await post('list', {}, bearer());
    expect(fine.status, fine.body).toBe(200);
    expect(JSON.parse(fine.body)).toMatchObject({ schemaVersion: 2, ok: true });
    // Another site, with the token: refused, and a sandbox's own origin is another site too.
    for (const other of ['http://evil.example', `http://api.${ID.a}.localhost:${port}`]) {
      expect((await post('list', {}, { ...bearer(), origin: other })).status).toBe(403);
      expect((await post('destroy', { name: ID.a, yes: true }, { ...bearer(), origin: other })).status).toBe(403);
    }
    expect((await post('down', { sandbox: ID.a }, { ...bearer(), 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    // From a page of another site in the browser: a call with the token never gets an answer it can read, and a
    // request it can send blindly (no-cors, no token) changes nothing.
    const p = await context.newPage();
    try {
      await p.goto(`http://api.${ID.a}.localhost:${port}/api/v1/health`);
      const got = await p.evaluate(
        async ([url, t]) => {
          try {
            const r = await fetch(url!, { method: 'POST', headers: { authorization: `Bearer ${t}` }, body: '{}' });
            return `answered ${r.status}`;
          } catch (e) {
            return `refused: ${(e as Error).name}`;
          }
        },
        [`${origin()}/_kinfra/api/list`, token],
      );
      expect(got).toBe('refused: TypeError');
      await p.evaluate(
        async ([url, sandbox]) => {
          await fetch(url!, { method: 'POST', mode: 'no-cors', body: JSON.stringify({ sandbox }) });
        },
        [`${origin()}/_kinfra/api/down`, ID.a],
      );
    } finally {
      await p.close();
    }
    expect(
      parseJson(ok(await ws.run(['sandbox', 'status', '--json'], { cwd: folder(ID.a) })).stdout).data,
    ).toMatchObject({
      containers: { state: 'running' },
    });
    expect(await listed()).toContain(ID.a);
  });
  it("Down from the page stops a; Gate then fails at once, shown as the CLI's error with its hint", async () => {
    await card(ID.a).locator('button[data-action="down"]').click();
    await card(ID.a).locator('[data-part="outcome"][data-outcome="done"]').waitFor({ timeout: 120_000 });
    expect(await card(ID.a).locator('[data-part="outcome"]').innerText()).toContain('Down: stopped.');
    await cardStatus(ID.a, 'stopped');
    await card(ID.a).locator('button[data-action="wait_ready"]').click();
    const failed = card(ID.a).locator('[data-part="outcome"][data-outcome="error"] [data-code="gate-failed"]');
    await failed.waitFor({ timeout: 150_000 });
    const cli = await ws.run(['sandbox', 'gate', '--json', '--timeout', '5'], { cwd: folder(ID.a) });
    expect(cli.code).toBe(2);
    const error = parseJson(cli.stderr).error;
    expect(await failed.locator('.hint').innerText()).toBe(`Hint: ${error.hint}`);
    await card(ID.a).locator('[data-gate="failed"]').waitFor();
  });

  it('the router restarts: the page loses the stream, tries again, and asks for the new token (401)', async () => {
    ok(await ws.run(['router', 'stop']));
    await page.locator('#connection[data-state="reconnecting"]').waitFor({ timeout: 30_000 });
    const again = parseJson(
      ok(await ws.run(['dashboard', '--json'], { env: { KINFRA_ROUTER_PORT: `${port}` } })).stdout,
    ).data;
    routerPid = again.pid;
    const fresh = new URL(again.url).hash.replace(/^#token=/, '');
    expect(fresh).not.toBe(token);
    token = fresh;
    await page.locator('#auth-reason', { hasText: '401' }).waitFor({ timeout: 30_000 });
    await page.fill('#auth-token', token);
    await page.press('#auth-token', 'Enter');
    await page.locator('#connection[data-state="live"]').waitFor({ timeout: 30_000 });
    await card(ID.a).waitFor();
  });
});
