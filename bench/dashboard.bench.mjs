// Issue 17: the dashboard's first complete render with 20 registered sandboxes (created, never brought up: no
// stack runs) against `kinfra sandbox list --json` with the same 20, at most 1.5x. The router runs (`kinfra router
// start`, its own process); Debian's Chromium runs headless (playwright-core), launched and warmed once. A round is
// one page load, timed from `page.goto` to `body[data-ready="1"]` (every sandbox's card and URLs drawn from the
// first `sandboxes` event), then one `list --json` in a fresh process; the medians of the rounds are compared.
// Between rounds the page is left until it has its other answers (each sandbox's status, the pool:
// `data-settled`), so what it asks after its first render never runs beside the next measurement.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { CLI, freePort, kinfra, median, scratch } from './lib.mjs';

const LAYOUT = 'prefix: kbdash\nslots: { max: 30 }\nports:\n  api: { env: KBD_API_PORT, base: 47800 }\n';
const SANDBOXES = 20;
const CHROMIUM = '/usr/bin/chromium';

/** Wall time in ms of one `kinfra <args>` in a fresh process, its output read (as a script reading it would). */
function timedRun(args, opts) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, [CLI, ...args], { ...opts, stdio: ['ignore', 'pipe', 'ignore'] });
    child.stdout.resume();
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0
        ? resolve(Number(process.hrtime.bigint() - t0) / 1e6)
        : reject(new Error(`kinfra ${args.join(' ')} exited ${code}`)),
    );
  });
}

/**
 * One page load: ms from `goto` to the first complete render; then the page is left to settle and closed. The end
 * is the moment the page set `data-ready` (it marks `kinfra-ready` in the same step), read from its own clock
 * (`performance.timeOrigin` and the mark, both on the machine's clock, as `t0` is): waiting for the attribute
 * polls (a locator's waitFor at up to 100 ms and more between looks, rAF polling of a busy page no better), which
 * would add the poll's delay to every round.
 */
async function render(context, url) {
  const page = await context.newPage();
  try {
    const t0 = performance.timeOrigin + performance.now();
    await page.goto(url, { waitUntil: 'commit' });
    await page.locator('body[data-ready="1"]').waitFor({ timeout: 60_000 });
    const readyAt = await page.evaluate(
      () => performance.timeOrigin + performance.getEntriesByName('kinfra-ready')[0].startTime,
    );
    const cards = await page.locator('article[data-instance]').count();
    if (cards !== SANDBOXES) throw new Error(`the page drew ${cards} sandboxes, not ${SANDBOXES}`);
    await page.locator('body[data-settled="1"]').waitFor({ timeout: 60_000 });
    return readyAt - t0;
  } finally {
    await page.close();
  }
}

export default async function dashboard({ rounds }) {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing (Debian's chromium package; .ci/run installs it)`);
  const { chromium } = await import('playwright-core');
  const ws = scratch({ 'kinfra.yaml': LAYOUT });
  let browser;
  let routerStarted = false;
  try {
    for (let i = 1; i <= SANDBOXES; i++) kinfra(ws, ['sandbox', 'create', `d${i}`]);
    const port = await freePort();
    const env = { ...ws.env, KINFRA_ROUTER_PORT: String(port) };
    const opts = { cwd: ws.repo, env };
    routerStarted = true;
    const started = spawnSync(process.execPath, [CLI, 'dashboard', '--json'], { ...opts, encoding: 'utf8' });
    if (started.status !== 0) throw new Error(`kinfra dashboard --json failed: ${started.stderr}`);
    const opened = JSON.parse(started.stdout);
    const url = opened.data.url;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    // Warm-up: the browser's first page, the router's first answers, the first list.
    await render(context, url);
    await timedRun(['sandbox', 'list', '--json'], opts);
    const n = Math.max(5, Math.min(rounds, 25));
    const page = [];
    const list = [];
    for (let i = 0; i < n; i++) {
      page.push(await render(context, url));
      list.push(await timedRun(['sandbox', 'list', '--json'], opts));
    }
    const p = median(page);
    const l = median(list);
    return [
      {
        name:
          `dashboard first complete render, ${SANDBOXES} registered sandboxes (page.goto to data-ready, ` +
          `headless Chromium already running; ${n} interleaved rounds)`,
        measured: `${p.toFixed(0)} ms`,
        baseline: `${l.toFixed(0)} ms (kinfra sandbox list --json, same ${SANDBOXES})`,
        ratio: `${(p / l).toFixed(2)}x`,
        target: '<= 1.5x',
        met: p / l <= 1.5,
      },
    ];
  } finally {
    await browser?.close();
    if (routerStarted) spawnSync(process.execPath, [CLI, 'router', 'stop'], { cwd: ws.repo, env: ws.env });
    ws.cleanup();
  }
}
