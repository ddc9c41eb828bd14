// kinfra's dashboard (issue 17): plain browser JavaScript, no framework, no build step. The router serves it at
// http://kinfra.localhost:<port>/; everything it shows comes from the router's event stream (/_kinfra/events) and
// its HTTP API (/_kinfra/api/<tool>, kinfra's MCP tools), every request carrying the router's token. See
// docs/dashboard.md.

const TOKEN_KEY = 'kinfra-token';
/** A connection that sent nothing (not even a ping, every 15 s) for this long is taken as dead and made again. */
const SILENCE_MS = 45_000;
const LOG_LINES_KEPT = 2000;
const STATUS_AT_ONCE = 2;

const $ = (id) => document.getElementById(id);

const state = {
  token: null,
  /** The `data` of `kinfra sandbox list --json`, from the latest `sandboxes` event. */
  list: null,
  /** instanceId -> the latest `gate` event's data ({instanceId, running, at, gate}). */
  gates: new Map(),
  /** instanceId -> {data} or {error}: the `status` tool's answer (workers, services). */
  status: new Map(),
  /** instanceId -> the `status` string of the list row the status answer was asked for. */
  statusAskedFor: new Map(),
  /** {data} or {error}: the `slots` tool's answer. */
  slots: null,
  /** instanceId -> {tool, label, startedAt, running, data?, error?}. */
  actions: new Map(),
  /** The connection to /_kinfra/events: its AbortController. */
  events: null,
  ready: false,
};

// ---------------------------------------------------------------------------------------------------------------
// DOM helpers: every text goes in as a text node (never as HTML).

function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  el.append(...children.flat(Infinity).filter((c) => c !== undefined && c !== null && c !== false));
  return el;
}

/** Sections are drawn again only when what they show changed, so focus and open <details> survive live updates. */
const drawn = new WeakMap();
function patch(el, signature, build) {
  if (drawn.get(el) === signature) return;
  drawn.set(el, signature);
  const open = new Set([...el.querySelectorAll('details[open][data-key]')].map((d) => d.dataset.key));
  const hadFocus = el.contains(document.activeElement) ? document.activeElement.dataset.key : undefined;
  el.replaceChildren(...[build()].flat(Infinity).filter(Boolean));
  for (const d of el.querySelectorAll('details[data-key]')) if (open.has(d.dataset.key)) d.open = true;
  if (hadFocus) el.querySelector(`[data-key="${CSS.escape(hadFocus)}"]`)?.focus();
}

const parseOr = (text, fallback) => {
  try {
    return JSON.parse(text);
  } catch {
    return fallback;
  }
};
const count = (n, what) => `${n} ${what}${n === 1 ? '' : 's'}`;
const seconds = (ms) => `${(ms / 1000).toFixed(1)}s`;
const clock = (iso) => {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString();
};
/** `http://api.krt--a.localhost:8800` -> `api.krt--a.localhost:8800`. */
const bare = (url) => url.replace(/^https?:\/\//, '').replace(/\/$/, '');

// ---------------------------------------------------------------------------------------------------------------
// The token: from the address's #token=..., kept in this tab's session storage, never left in the address bar.

function takeTokenFromHash() {
  const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (!m) return false;
  const token = decodeURIComponent(m[1]);
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  history.replaceState(null, '', location.pathname + location.search);
  return Boolean(token);
}

function showAuth(reason) {
  stopEvents();
  stopLogs('');
  state.token = null;
  $('main').hidden = true;
  $('auth').hidden = false;
  $('auth-reason').textContent = reason;
  setConnection('signed-out', 'Not connected: no token');
  $('auth-token').focus();
}

function unauthorized() {
  sessionStorage.removeItem(TOKEN_KEY);
  showAuth(
    'The router refused the token (401). It makes a new token each time it starts: ' +
      'run kinfra dashboard again, or paste the token kinfra router token prints.',
  );
}

function start() {
  state.token = sessionStorage.getItem(TOKEN_KEY);
  if (!state.token) {
    showAuth('No token yet.');
    return;
  }
  $('auth').hidden = true;
  $('main').hidden = false;
  void connectEvents();
}

// ---------------------------------------------------------------------------------------------------------------
// The HTTP API: POST /_kinfra/api/<tool> with the tool's inputs; {ok, data} or {ok: false, error}.

class KinfraError extends Error {
  constructor(error, status) {
    super(error.message);
    this.code = error.code ?? 'error';
    this.category = error.category;
    this.hint = error.hint;
    this.details = error.details;
    this.status = status;
  }
}

const authHeaders = () => ({ authorization: `Bearer ${state.token}` });

async function api(tool, input = {}) {
  let res;
  try {
    res = await fetch(`/_kinfra/api/${encodeURIComponent(tool)}`, {
      method: 'POST',
      headers: { ...authHeaders(), 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(input),
      cache: 'no-store',
    });
  } catch (e) {
    throw new KinfraError({
      code: 'router-unreachable',
      message: `The router did not answer (${e.message}).`,
      hint: 'Is it still running? kinfra router status (kinfra dashboard starts it again).',
    });
  }
  if (res.status === 401) {
    unauthorized();
    throw new KinfraError({ code: 'unauthorized', message: 'The router refused the token.', hint: '' }, 401);
  }
  let doc;
  try {
    doc = await res.json();
  } catch {
    throw new KinfraError(
      { code: 'bad-answer', message: `The router answered ${res.status} without a JSON document.`, hint: '' },
      res.status,
    );
  }
  if (!res.ok || !doc?.ok) {
    throw new KinfraError(
      doc?.error ?? { code: 'bad-answer', message: `The router answered ${res.status}.`, hint: '' },
      res.status,
    );
  }
  return doc.data;
}

// ---------------------------------------------------------------------------------------------------------------
// Server-sent events over fetch (EventSource cannot send the Authorization header): lines `event:` and `data:`,
// a blank line ends an event, a line starting with `:` is a comment.

async function* readEvents(body, onChunk) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let rest = '';
  let type = '';
  let data = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      onChunk();
      let text = rest + value;
      // A CR at the very end may be the first half of a CRLF: keep it for the next chunk.
      const carry = text.endsWith('\r') ? '\r' : '';
      if (carry) text = text.slice(0, -1);
      const lines = text.split(/\r\n|\r|\n/);
      rest = lines.pop() + carry;
      for (const line of lines) {
        if (line === '') {
          if (data.length) yield { type: type || 'message', data: data.join('\n') };
          type = '';
          data = [];
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let v = colon < 0 ? '' : line.slice(colon + 1);
        if (v.startsWith(' ')) v = v.slice(1);
        if (field === 'event') type = v;
        else if (field === 'data') data.push(v);
      }
    }
  } finally {
    reader.releaseLock();
  }
}

/** A GET of an event stream: its response, or null when the token is refused (401), or a KinfraError. */
async function openStream(path, signal) {
  const res = await fetch(path, {
    headers: { ...authHeaders(), accept: 'text/event-stream' },
    signal,
    cache: 'no-store',
  });
  if (res.status === 401) return null;
  if (!res.ok || !res.body) {
    const doc = await res.json().catch(() => null);
    throw new KinfraError(doc?.error ?? { code: 'bad-answer', message: `The router answered ${res.status}.` });
  }
  return res;
}

/** Ends when `signal` aborts (then resolves false); never rejects. */
function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(true), ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve(false)), { once: true });
  });
}

function stopEvents() {
  early?.ctl.abort();
  early = null;
  state.events?.abort();
  state.events = null;
}

function setConnection(kind, text) {
  const el = $('connection');
  el.dataset.state = kind;
  el.textContent = text;
}

async function connectEvents() {
  // The first connection may be the one this script opened before the page was parsed.
  let first = early?.token === state.token ? early : null;
  early = null;
  stopEvents();
  const life = new AbortController();
  state.events = life;
  let delay = 500;
  while (!life.signal.aborted) {
    const conn = first?.ctl ?? new AbortController();
    const stop = () => conn.abort();
    life.signal.addEventListener('abort', stop, { once: true });
    let silence;
    const heard = () => {
      clearTimeout(silence);
      silence = setTimeout(() => conn.abort(), SILENCE_MS);
    };
    let why = 'the stream ended';
    try {
      setConnection('connecting', state.ready ? 'Reconnecting…' : 'Connecting…');
      heard();
      const opened = first?.res ?? openStream('/_kinfra/events', conn.signal);
      first = null;
      const res = await opened;
      if (!res) return unauthorized();
      setConnection('live', 'Live');
      if (!state.ready) performance.mark('kinfra-events-open');
      for await (const ev of readEvents(res.body, heard)) {
        delay = 500;
        onEvent(ev);
      }
    } catch (e) {
      if (life.signal.aborted) return;
      why = conn.signal.aborted ? `nothing came for ${SILENCE_MS / 1000} s` : e.message;
    } finally {
      clearTimeout(silence);
      life.signal.removeEventListener('abort', stop);
    }
    if (life.signal.aborted) return;
    setConnection('reconnecting', `Disconnected (${why}); trying again in ${Math.round(delay / 1000) || 1} s…`);
    if (!(await sleep(delay, life.signal))) return;
    delay = Math.min(delay * 2, 15_000);
  }
}

function onEvent(ev) {
  let data;
  try {
    data = JSON.parse(ev.data);
  } catch {
    return;
  }
  if (ev.type === 'sandboxes') onSandboxes(data);
  else if (ev.type === 'gate') onGate(data);
}

// ---------------------------------------------------------------------------------------------------------------
// What the events change.

const instances = () => state.list?.instances ?? [];
const instance = (id) => instances().find((i) => i.instanceId === id);

function onSandboxes(list) {
  if (!state.ready) performance.mark('kinfra-sandboxes');
  state.list = list;
  const ids = new Set(instances().map((i) => i.instanceId));
  for (const map of [state.status, state.statusAskedFor]) for (const id of map.keys()) if (!ids.has(id)) map.delete(id);
  renderSandboxes();
  renderLogChoices();
  if (!state.ready) {
    state.ready = true;
    document.body.dataset.ready = '1';
    performance.mark('kinfra-ready');
  }
  // After the first render: each sandbox's status (its workers) when its state from Docker changed, and the pool.
  for (const i of instances()) {
    if (state.statusAskedFor.get(i.instanceId) !== statusKey(i)) refreshStatus(i.instanceId);
  }
  refreshSlots();
}

function onGate(g) {
  if (!g?.instanceId) return;
  state.gates.set(g.instanceId, g);
  renderCard(g.instanceId);
  // A gate that settled may have seen workers register: ask again what runs.
  if (!g.running) refreshStatus(g.instanceId);
}

const statusKey = (i) => `${i.status}|${JSON.stringify(i.containers)}|${i.state}`;

// Status answers are asked a few at a time: each one asks the engine and the backend.
const statusQueue = [];
let statusActive = 0;
function refreshStatus(id) {
  const row = instance(id);
  if (!row) return;
  state.statusAskedFor.set(id, statusKey(row));
  if (!statusQueue.includes(id)) statusQueue.push(id);
  pumpStatus();
}
function pumpStatus() {
  while (statusActive < STATUS_AT_ONCE && statusQueue.length) {
    const id = statusQueue.shift();
    statusActive++;
    api('status', { sandbox: id })
      .then((data) => state.status.set(id, { data }))
      .catch((error) => state.status.set(id, { error }))
      .finally(() => {
        statusActive--;
        renderCard(id);
        pumpStatus();
        settle();
      });
  }
}

let slotsAsked = false;
let slotsAgain = false;
function refreshSlots() {
  if (slotsAsked) {
    slotsAgain = true;
    return;
  }
  slotsAsked = true;
  api('slots')
    .then((data) => (state.slots = { data }))
    .catch((error) => (state.slots = { error }))
    .finally(() => {
      slotsAsked = false;
      renderPool();
      renderSandboxes();
      if (slotsAgain) {
        slotsAgain = false;
        refreshSlots();
      } else settle();
    });
}

/** `data-settled="1"` once the first answers after a render have come (the bench waits for it between rounds). */
function settle() {
  if (statusActive || statusQueue.length || slotsAsked) return;
  document.body.dataset.settled = '1';
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering: the list of sandboxes, one card each.

function renderSandboxes() {
  const list = state.list;
  if (!list) return;
  $('sandbox-count').textContent = `(${instances().length})`;
  renderWarnings(list);
  const box = $('sandbox-list');
  const cards = new Map([...box.children].map((c) => [c.dataset.instance, c]));
  if (!instances().length) {
    patch(box, 'empty', () =>
      h(
        'p',
        { class: 'empty' },
        'No sandboxes yet. In your project: ',
        h('code', {}, 'kinfra sandbox create <name>'),
        '.',
      ),
    );
    return;
  }
  if (box.querySelector('.empty')) {
    box.replaceChildren();
    drawn.delete(box);
    cards.clear();
  }
  let before = box.firstElementChild;
  for (const i of instances()) {
    let card = cards.get(i.instanceId);
    if (!card) card = newCard(i.instanceId);
    cards.delete(i.instanceId);
    if (card !== before) box.insertBefore(card, before);
    before = card.nextElementSibling;
    renderCard(i.instanceId, card);
  }
  for (const gone of cards.values()) gone.remove();
}

function renderWarnings(list) {
  patch($('warnings'), JSON.stringify([list.engineError, list.orphans, list.focus, list.cleaned]), () => [
    list.engineError &&
      h(
        'div',
        { class: 'warning', role: 'alert' },
        h('p', {}, `Docker could not be asked: ${list.engineError.message}`),
        list.engineError.hint && h('p', { class: 'hint' }, `Hint: ${list.engineError.hint}`),
      ),
    list.focus &&
      h(
        'p',
        { class: 'focus-line' },
        h('strong', {}, 'Focus: '),
        `the main checkout's ports forward to ${list.focus.instanceId} (`,
        list.focus.ports.map((p) => `${p.name} ${p.from}→${p.to}`).join(', '),
        ')',
      ),
    list.cleaned?.length ? h('p', { class: 'muted' }, `Cleaned stale entries: ${list.cleaned.join(', ')}`) : null,
    list.orphans?.length
      ? h(
          'details',
          { class: 'warning', 'data-key': 'orphans' },
          h('summary', {}, `${list.orphans.length} compose project(s) belong to no sandbox`),
          h(
            'ul',
            {},
            list.orphans.map((o) =>
              h('li', {}, `${o.project}: ${o.running}/${o.containers} containers running, ${o.volumes.length} volumes`),
            ),
          ),
          h('p', { class: 'hint' }, 'kinfra sandbox doctor says how to remove each.'),
        )
      : null,
  ]);
}

function newCard(id) {
  const card = h('article', { class: 'card', dataset: { instance: id }, 'aria-label': `Sandbox ${id}` });
  for (const part of ['head', 'meta', 'gate', 'urls', 'workers', 'actions', 'outcome']) {
    card.append(h('div', { class: `card-${part}`, dataset: { part } }));
  }
  card.querySelector('[data-part="outcome"]').setAttribute('role', 'status');
  return card;
}

function cardOf(id) {
  return [...$('sandbox-list').children].find((c) => c.dataset.instance === id);
}

function renderCard(id, card = cardOf(id)) {
  const i = instance(id);
  if (!card || !i) return;
  const part = (name) => card.querySelector(`[data-part="${name}"]`);
  const focused = state.list.focus?.instanceId === id;
  card.dataset.status = i.status ?? 'unknown';
  patch(part('head'), JSON.stringify([i.status, i.state, focused]), () => head(i, focused));
  patch(part('meta'), JSON.stringify([i.slot, i.branch, i.path, i.containers, poolSlot(id)]), () => meta(i));
  const gate = state.gates.get(id);
  patch(part('gate'), JSON.stringify(gate ?? null), () => gateView(gate));
  patch(part('urls'), JSON.stringify(i.hostnames ?? null), () => urlsView(i));
  const st = state.status.get(id);
  patch(part('workers'), JSON.stringify(st?.data?.workers ?? st?.error?.message ?? null), () => workersView(st));
  const action = state.actions.get(id);
  patch(part('actions'), JSON.stringify([action?.running && action.tool, poolSlot(id), i.state]), () =>
    actionsView(i, action),
  );
  renderOutcome(id, part('outcome'));
}

function head(i, focused) {
  const status = i.status ?? 'unknown';
  return [
    h('h3', { class: 'name' }, i.instanceId),
    h('span', { class: `pill status-${status.split(' ')[0]}`, title: 'Status from Docker' }, status),
    i.state && h('span', { class: 'pill state' }, i.state),
    focused && h('span', { class: 'pill focus', title: "The main checkout's ports forward to this sandbox" }, 'focus'),
  ];
}

function poolSlot(id) {
  return state.slots?.data?.slots?.find((s) => s.claimedBy === id);
}

function meta(i) {
  const pool = poolSlot(i.instanceId);
  const c = i.containers;
  const rows = [
    ['Slot', pool ? `${i.slot} (pool, ${pool.profile})` : String(i.slot)],
    ['Branch', i.branch ?? '(none)'],
    ['Folder', i.path],
    c && [
      'Containers',
      `${c.running}/${c.total} running` + (c.withHealthcheck ? `, ${c.healthy}/${c.withHealthcheck} healthy` : ''),
    ],
  ].filter(Boolean);
  return h(
    'dl',
    { class: 'meta' },
    rows.map(([k, v]) => [h('dt', {}, k), h('dd', { class: k === 'Folder' ? 'mono' : undefined }, v)]),
  );
}

const ICON = { passed: '✓', failed: '✗', skipped: '○', waiting: '…' };

function gateView(g) {
  const title = h('h4', {}, 'Startability Gate');
  if (!g) return [title, h('p', { class: 'muted' }, 'No gate recorded yet: Gate (or Up) runs it.')];
  const gate = g.gate;
  const checks = gate?.checks ?? [];
  const passed = checks.filter((c) => c.status === 'passed').length;
  let verdict;
  let kind;
  if (g.running) [verdict, kind] = [`running: ${passed} of ${checks.length} checks passed`, 'running'];
  else if (gate.passed) [verdict, kind] = [`PASSED (${seconds(gate.durationMs)})`, 'passed'];
  else if (gate.interrupted) [verdict, kind] = ['INTERRUPTED', 'failed'];
  else [verdict, kind] = ['FAILED', 'failed'];
  return [
    title,
    h(
      'p',
      { class: `verdict verdict-${kind}`, dataset: { gate: kind } },
      h('span', { class: 'visually-hidden' }, 'Startability Gate: '),
      verdict,
      g.at && h('span', { class: 'muted when' }, ` · ${clock(g.at)}`),
    ),
    h('ul', { class: 'checks' }, checks.map(checkView)),
    gate?.omitted?.length
      ? h('p', { class: 'muted' }, `Left out: ${gate.omitted.map((o) => `${o.name} (${o.reason})`).join('; ')}`)
      : null,
  ];
}

function checkView(c) {
  const text =
    c.status === 'waiting'
      ? `${c.name}: waiting${c.attempts ? ` (attempt ${c.attempts}${c.details[0] ? `: ${c.details[0]}` : ''})` : ''}`
      : c.message;
  // A failed check shows its details as the CLI does (what it tried and got is their first line); a passed one
  // keeps what proved it behind a disclosure.
  const lines =
    c.status === 'failed'
      ? (c.details ?? [])
      : c.status === 'passed'
        ? [c.tried && `tried: ${c.tried}`, c.got && `got: ${c.got}`, ...(c.details ?? [])].filter(Boolean)
        : [];
  return h(
    'li',
    { class: `check check-${c.status}`, dataset: { check: c.name, status: c.status } },
    h('span', { class: 'icon', 'aria-hidden': 'true' }, ICON[c.status] ?? '?'),
    h('span', { class: 'visually-hidden' }, `${c.status}: `),
    h('span', { class: 'check-text' }, text),
    c.status !== 'waiting' && c.elapsedMs !== undefined && h('span', { class: 'muted' }, ` ${seconds(c.elapsedMs)}`),
    lines.length > 0 &&
      (c.status === 'failed'
        ? h(
            'ul',
            { class: 'check-details' },
            lines.map((l) => h('li', {}, `→ ${l}`)),
          )
        : h(
            'details',
            { 'data-key': `check-${c.name}` },
            h('summary', { 'data-key': `check-summary-${c.name}` }, 'what it tried'),
            h(
              'ul',
              { class: 'check-details' },
              lines.map((l) => h('li', {}, l)),
            ),
          )),
  );
}

function urlsView(i) {
  const hn = i.hostnames;
  const title = h('h4', {}, 'URLs');
  if (!hn) {
    return [
      title,
      h(
        'p',
        { class: 'muted' },
        Object.entries(i.ports ?? {})
          .map(([n, p]) => `${n} ${p}`)
          .join(', '),
      ),
    ];
  }
  const link = (url, key, text = bare(url)) =>
    h('a', { href: url, target: '_blank', rel: 'noopener noreferrer', 'data-key': key }, text);
  return [
    title,
    h('p', { class: 'main-url' }, link(hn.url, 'main-url')),
    h(
      'ul',
      { class: 'urls' },
      hn.ports.map((p) =>
        h(
          'li',
          { dataset: { port: p.name } },
          // The name is the host name's first label (worker_1 is worker-1.<id>.localhost).
          link(p.url, `url-${p.name}`),
          link(p.direct, `direct-${p.name}`, `port ${p.direct.split(':').pop()}`),
        ),
      ),
    ),
  ];
}

function workersView(st) {
  const title = h('h4', {}, 'Workers');
  if (!st) return [title, h('p', { class: 'muted' }, 'Asking…')];
  if (st.error) return [title, errorView(st.error)];
  const workers = st.data.workers ?? [];
  if (!workers.length) return [title, h('p', { class: 'muted' }, 'None in this layout.')];
  const REGISTERED = { true: 'registered', false: 'not registered', null: 'the backend did not answer' };
  const reg = (w) => (w.state === 'running' ? `${w.state}, ${REGISTERED[String(w.registered)]}` : w.state);
  return [
    title,
    h(
      'ul',
      { class: 'workers' },
      workers.map((w) =>
        h(
          'li',
          { dataset: { worker: w.service, registered: String(w.registered) } },
          h('span', { class: `icon reg-${w.registered}`, 'aria-hidden': 'true' }, w.registered ? '✓' : '○'),
          ` ${w.service} `,
          h('span', { class: 'muted' }, `(${reg(w)})`),
        ),
      ),
    ),
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// Actions: every one is a tool of the catalogue, refused exactly as the CLI refuses.

const ACTIONS = [
  { tool: 'up', label: 'Up', running: 'Bringing it up (compose up, then the gate)…' },
  { tool: 'down', label: 'Down', running: 'Stopping it…' },
  { tool: 'wait_ready', label: 'Gate', running: 'Running the Startability Gate…' },
  { tool: 'release', label: 'Release', running: 'Releasing its pool slot…' },
  { tool: 'destroy', label: 'Destroy', running: 'Asking kinfra what destroy would do…' },
];

function actionsView(i, action) {
  const busy = Boolean(action?.running);
  const pool = poolSlot(i.instanceId);
  return h(
    'div',
    { class: 'actions', role: 'group', 'aria-label': `Actions for ${i.instanceId}` },
    ACTIONS.map((a) => {
      const noSlot = a.tool === 'release' && !pool;
      return h(
        'button',
        {
          type: 'button',
          class: a.tool === 'destroy' ? 'danger' : undefined,
          'data-key': `action-${a.tool}`,
          dataset: { action: a.tool },
          // aria-disabled, not disabled: a button that runs keeps the keyboard focus while its action runs.
          'aria-disabled': busy || noSlot ? 'true' : undefined,
          'aria-busy': busy && action.tool === a.tool ? 'true' : undefined,
          title: noSlot ? 'Only a sandbox on a pool slot has one to release' : undefined,
          onclick: () => {
            if (state.actions.get(i.instanceId)?.running || (a.tool === 'release' && !poolSlot(i.instanceId))) return;
            if (a.tool === 'destroy') void askDestroy(i.instanceId);
            else void act(i.instanceId, a, inputFor(a, i));
          },
        },
        busy && action.tool === a.tool ? `${a.label}…` : a.label,
      );
    }),
  );
}

function inputFor(a, i) {
  if (a.tool === 'release') return { slot: poolSlot(i.instanceId)?.slot ?? i.slot };
  return { sandbox: i.instanceId };
}

async function act(id, a, input) {
  const startedAt = Date.now();
  state.actions.set(id, { tool: a.tool, label: a.label, text: a.running, startedAt, running: true });
  renderCard(id);
  tick();
  let result;
  try {
    const data = await api(a.tool, input);
    result = { tool: a.tool, label: a.label, startedAt, running: false, data };
    if (data?.gate) state.gates.set(id, { instanceId: id, running: false, at: new Date().toISOString(), ...data });
  } catch (error) {
    result = { tool: a.tool, label: a.label, startedAt, running: false, error };
    const gate = error.details?.gate;
    if (gate) state.gates.set(id, { instanceId: id, running: false, at: new Date().toISOString(), gate });
  }
  result.endedAt = Date.now();
  state.actions.set(id, result);
  // A destroyed sandbox's card goes with the next list: what happened stays above the list.
  if (!cardOf(id) || !instance(id) || (a.tool === 'destroy' && !result.error))
    notice(outcomeText(id, result), result.error);
  renderCard(id);
  refreshStatus(id);
  refreshSlots();
  return result;
}

function outcomeText(id, r) {
  if (r.error) return `${r.label} ${id}: ${r.error.message}`;
  const d = r.data ?? {};
  switch (r.tool) {
    case 'up':
      return d.gate
        ? `Up: Startability Gate PASSED (${seconds(d.gate.durationMs)})`
        : 'Up: started (without the gate).';
    case 'wait_ready':
      return `Startability Gate: PASSED (${seconds(d.gate?.durationMs ?? 0)})`;
    case 'down':
      return d.volumesRemoved ? 'Down: stopped, volumes removed.' : 'Down: stopped.';
    case 'release':
      return `Released slot ${d.slot}${d.releasedFrom ? ` (from ${d.releasedFrom})` : ''}.`;
    case 'destroy':
      return d.cancelled
        ? `Destroy of ${id} cancelled.`
        : `Destroyed ${id}` +
            (d.removed
              ? `: ${count(d.removed.containers, 'container')}, ${count(d.removed.volumes, 'volume')} removed`
              : '') +
            (d.branch ? `; branch ${d.branch} kept.` : '.');
    default:
      return `${r.label}: done.`;
  }
}

function renderOutcome(id, el) {
  const a = state.actions.get(id);
  if (!a) {
    el.dataset.outcome = '';
    return patch(el, '', () => []);
  }
  if (a.running) {
    el.dataset.outcome = 'running';
    const s = Math.floor((Date.now() - a.startedAt) / 1000);
    return patch(el, `running ${a.tool} ${s}`, () =>
      h('p', { class: 'running' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), `${a.text} ${s} s`),
    );
  }
  el.dataset.outcome = a.error ? 'error' : 'done';
  patch(el, `done ${a.endedAt}`, () => [
    a.error ? errorView(a.error, a.label) : h('p', { class: 'ok' }, outcomeText(id, a)),
    h(
      'button',
      {
        type: 'button',
        class: 'link',
        'data-key': 'dismiss',
        onclick: () => (state.actions.delete(id), renderCard(id)),
      },
      'Dismiss',
    ),
  ]);
}

let ticking;
function tick() {
  if (ticking) return;
  ticking = setInterval(() => {
    const running = [...state.actions].filter(([, a]) => a.running);
    if (!running.length) {
      clearInterval(ticking);
      ticking = undefined;
    }
    for (const [id] of running) {
      const card = cardOf(id);
      if (card) renderOutcome(id, card.querySelector('[data-part="outcome"]'));
    }
  }, 1000);
}

/** An error as the CLI prints it: `Error: <message>`, then `Hint: <hint>`, then what its details list. */
function errorView(e, label) {
  return h(
    'div',
    { class: 'error', dataset: { code: e.code ?? '' } },
    h('p', { class: 'error-message' }, `${label ? `${label}: ` : ''}Error: ${e.message}`),
    e.hint && h('p', { class: 'hint' }, `Hint: ${e.hint}`),
    detailsView(e.details),
  );
}

const DETAIL_LABELS = {
  uncommitted: 'Uncommitted changes and untracked files',
  ignored: 'Git-ignored files that are not regenerable',
  nestedRepos: 'Nested repositories',
  unsharedCommits: 'Commits no branch, tag or remote reaches',
};

function detailsView(details) {
  if (!details || typeof details !== 'object') return null;
  const parts = [];
  for (const [k, v] of Object.entries(details)) {
    if (k === 'gate') continue;
    if (Array.isArray(v)) {
      if (!v.length) continue;
      parts.push(
        h(
          'div',
          { class: 'detail', dataset: { detail: k } },
          h('p', {}, `${DETAIL_LABELS[k] ?? k}:`),
          h(
            'ul',
            {},
            v.map((x) => h('li', { class: 'mono' }, typeof x === 'object' ? (x.message ?? JSON.stringify(x)) : x)),
          ),
        ),
      );
    } else if (v !== null && typeof v === 'object') {
      parts.push(
        h('details', { 'data-key': `detail-${k}` }, h('summary', {}, k), h('pre', {}, JSON.stringify(v, null, 2))),
      );
    } else if (v !== null && v !== undefined) {
      parts.push(h('p', { class: 'detail', dataset: { detail: k } }, `${k}: ${v}`));
    }
  }
  return parts.length ? h('div', { class: 'details' }, parts) : null;
}

function notice(text, isError) {
  const el = h('p', { class: isError ? 'notice error-message' : 'notice' }, text);
  $('notices').append(el);
  setTimeout(() => el.remove(), 30_000);
}

// ---------------------------------------------------------------------------------------------------------------
// Destroy: first without `yes`, so kinfra says what it refuses or asks; only a second, explicit confirmation sends
// `yes: true` (never `force`).

let destroying = null;
/** The sandbox whose Destroy button opened the dialog: focus goes back to it when the dialog closes. */
let destroyFrom = null;

async function askDestroy(id) {
  const i = instance(id);
  const a = ACTIONS.find((x) => x.tool === 'destroy');
  const r = await act(id, a, { name: id });
  if (!r.error) return; // kinfra destroyed it without asking: the outcome says so
  const dialog = $('destroy-dialog');
  const body = $('destroy-body');
  const confirm = $('destroy-confirm');
  const asks = r.error.code === 'confirmation-required';
  // The refusal stays in the card too; the question goes once it is answered.
  if (asks) state.actions.delete(id);
  renderCard(id);
  destroying = asks ? id : null;
  destroyFrom = id;
  dialog.dataset.mode = asks ? 'confirm' : 'refused';
  $('destroy-title').textContent = asks ? `Destroy ${id}?` : `kinfra refuses to destroy ${id}`;
  // kinfra's refusal says what a yes would do (details.wouldDo); the rest of its details are the same facts.
  const d = r.error.details ?? {};
  const wouldDo =
    d.wouldDo ??
    `This will remove ${i?.path ?? 'its folder'} and unregister ${id}, and remove its containers and volumes.`;
  body.replaceChildren(
    asks
      ? h(
          'div',
          {},
          h('p', { class: 'would-do', dataset: { wouldDo: '' } }, wouldDo),
          d.keepReason ? h('p', {}, d.keepReason) : null,
          h('p', {}, `Branch ${d.branch ?? i?.branch ?? id} is kept either way.`),
          // What the CLI says without --yes; the button below is this page's --yes.
          h(
            'div',
            { class: 'asked', dataset: { code: r.error.code } },
            h('p', {}, r.error.message),
            r.error.hint && h('p', { class: 'hint' }, `Hint: ${r.error.hint}`),
          ),
        )
      : errorView(r.error),
  );
  confirm.hidden = !asks;
  confirm.textContent = `Destroy ${id}`;
  $('destroy-cancel').textContent = asks ? 'Cancel' : 'Close';
  dialog.showModal();
  $('destroy-cancel').focus();
}

function setupDestroyDialog() {
  const dialog = $('destroy-dialog');
  $('destroy-cancel').addEventListener('click', () => dialog.close('cancel'));
  $('destroy-confirm').addEventListener('click', () => dialog.close('confirm'));
  dialog.addEventListener('close', () => {
    const id = destroying;
    destroying = null;
    if (dialog.returnValue === 'confirm' && id) {
      const a = ACTIONS.find((x) => x.tool === 'destroy');
      void act(id, { ...a, running: `Destroying ${id}…` }, { name: id, yes: true });
    }
    dialog.returnValue = '';
    const from = destroyFrom;
    destroyFrom = null;
    if (from) cardOf(from)?.querySelector('[data-action="destroy"]')?.focus();
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The pool: every slot with its profile, claim and status (the `slots` tool).

function renderPool() {
  const el = $('pool');
  const s = state.slots;
  patch(el, JSON.stringify(s?.data ?? s?.error?.message ?? null), () => {
    if (!s) return h('p', { class: 'muted' }, 'Loading the pool…');
    if (s.error) return errorView(s.error);
    const slots = s.data.slots ?? [];
    const released = s.data.released ?? [];
    const note = released.length
      ? h('p', { class: 'muted' }, `Released stale claims: ${released.map((r) => `slot ${r.slot} (${r.claimedBy})`)}`)
      : null;
    if (!slots.length) {
      return [
        h('p', { class: 'muted' }, 'No slot pool. ', h('code', {}, 'kinfra sandbox provision'), ' makes one.'),
        note,
      ];
    }
    const workers = (w) =>
      Object.entries(w ?? {})
        .map(([k, n]) => `${n} ${k}`)
        .join(', ');
    return [
      h(
        'div',
        { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Pool slots' },
        h(
          'table',
          { class: 'pool-table' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Slot', 'Profile', 'API', 'Claimed by', 'Status', h('span', { class: 'visually-hidden' }, 'Action')].map(
                (t) => h('th', { scope: 'col' }, t),
              ),
            ),
          ),
          h(
            'tbody',
            {},
            slots.map((p) =>
              h(
                'tr',
                { dataset: { slot: String(p.slot) } },
                h('td', {}, String(p.slot)),
                h('td', {}, p.profile, h('div', { class: 'muted small' }, workers(p.workers))),
                h('td', {}, String(p.apiPort)),
                h('td', { class: 'claim' }, p.claimedBy ?? h('span', { class: 'muted' }, 'free')),
                h('td', {}, h('span', { class: `pill status-${String(p.status).split(' ')[0]}` }, p.status)),
                h(
                  'td',
                  {},
                  h(
                    'button',
                    {
                      type: 'button',
                      'data-key': `release-${p.slot}`,
                      onclick: () => releaseSlot(p.slot),
                    },
                    'Release',
                  ),
                ),
              ),
            ),
          ),
        ),
      ),
      h('div', { id: 'pool-outcome', role: 'status' }),
      note,
    ];
  });
}

async function releaseSlot(slot) {
  const out = $('pool-outcome');
  out.replaceChildren(h('p', { class: 'running' }, `Releasing slot ${slot}…`));
  try {
    const d = await api('release', { slot });
    out.replaceChildren(
      h('p', { class: 'ok' }, `Released slot ${d.slot}${d.releasedFrom ? ` (from ${d.releasedFrom})` : ''}.`),
    );
  } catch (e) {
    out.replaceChildren(errorView(e, `Release slot ${slot}`));
  }
  refreshSlots();
}

// ---------------------------------------------------------------------------------------------------------------
// Logs: one service of one sandbox, followed live (GET /_kinfra/logs, `line` and `end` events).

const logs = { controller: null, sandbox: '', service: '', pending: [], frame: 0 };

function renderLogChoices() {
  const select = $('logs-sandbox');
  const ids = instances().map((i) => i.instanceId);
  const have = [...select.options].slice(1).map((o) => o.value);
  if (JSON.stringify(have) !== JSON.stringify(ids)) {
    const chosen = select.value;
    select.replaceChildren(
      h('option', { value: '' }, 'Choose a sandbox'),
      ...ids.map((id) => h('option', { value: id }, id)),
    );
    select.value = ids.includes(chosen) ? chosen : '';
    if (chosen && !ids.includes(chosen)) {
      stopLogs(`${chosen} is gone.`);
      void loadServices('');
    }
  }
  // A sandbox that started or stopped has other containers: ask again which services have logs.
  const row = instance(select.value);
  if (row && logs.servicesFor !== `${row.instanceId}|${row.status}`) void loadServices(row.instanceId);
}

async function loadServices(id) {
  const select = $('logs-service');
  const row = instance(id);
  logs.servicesFor = row ? `${id}|${row.status}` : '';
  if (!id) {
    select.replaceChildren(h('option', { value: '' }, 'Choose a sandbox first'));
    select.disabled = true;
    $('logs-follow').disabled = true;
    return;
  }
  const chosen = select.value || logs.service;
  let names = [];
  try {
    // `logs` with tail 0 names every service that has a container, and sends no lines.
    const data = await api('logs', { sandbox: id, tail: 0 });
    names = data.services.map((s) => s.service);
  } catch (e) {
    $('logs-state').textContent = `Could not list the services of ${id}: ${e.message}${e.hint ? ` (${e.hint})` : ''}`;
  }
  if ($('logs-sandbox').value !== id) return;
  if (!names.length) {
    select.replaceChildren(h('option', { value: '' }, 'No containers (is it up?)'));
    select.disabled = true;
    $('logs-follow').disabled = true;
    return;
  }
  select.replaceChildren(
    h('option', { value: '' }, 'Choose a service'),
    ...names.map((n) => h('option', { value: n }, n)),
  );
  select.disabled = false;
  select.value = names.includes(chosen) ? chosen : '';
  $('logs-follow').disabled = !select.value;
}

function stopLogs(text) {
  logs.controller?.abort();
  logs.controller = null;
  $('logs-stop').disabled = true;
  if (text !== undefined) $('logs-state').textContent = text;
  $('log').dataset.following = '';
}

/** Terminal control sequences (colours, erase-line: compose writes them) and carriage returns, dropped. */
// eslint-disable-next-line no-control-regex
const CONTROL = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]|\r/g;

function appendLog(text, cls) {
  logs.pending.push([String(text).replace(CONTROL, ''), cls]);
  logs.frame ||= requestAnimationFrame(flushLog);
}

function flushLog() {
  logs.frame = 0;
  const box = $('log');
  const atEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 24;
  const frag = document.createDocumentFragment();
  for (const [text, cls] of logs.pending.splice(0)) frag.append(h('div', { class: cls ?? 'line' }, text));
  box.append(frag);
  while (box.childElementCount > LOG_LINES_KEPT) box.firstElementChild.remove();
  if (atEnd) box.scrollTop = box.scrollHeight;
}

async function followLogs(sandbox, service) {
  stopLogs();
  if (!sandbox || !service) return;
  const ctl = new AbortController();
  logs.controller = ctl;
  logs.sandbox = sandbox;
  logs.service = service;
  $('log').replaceChildren();
  $('log').dataset.following = `${sandbox}/${service}`;
  $('logs-stop').disabled = false;
  $('logs-state').textContent = `Following ${service} of ${sandbox}…`;
  const q = new URLSearchParams({ sandbox, service, tail: '100' });
  try {
    let res;
    try {
      res = await openStream(`/_kinfra/logs?${q}`, ctl.signal);
    } catch (e) {
      if (e instanceof KinfraError) return stopLogs(`Error: ${e.message}${e.hint ? ` Hint: ${e.hint}` : ''}`);
      throw e;
    }
    if (!res) return unauthorized();
    let ended = null;
    for await (const ev of readEvents(res.body, () => undefined)) {
      if (ev.type === 'line') {
        try {
          appendLog(JSON.parse(ev.data).line);
        } catch {
          appendLog(ev.data);
        }
      } else if (ev.type === 'end') {
        // {service, exitCode} when compose stopped following, {service, error} when it could not.
        ended = parseOr(ev.data, {});
        break;
      }
    }
    if (logs.controller === ctl) {
      const e = ended?.error;
      const why = !ended ? ' (the connection closed)' : e?.message ? `: ${e.message}` : '';
      appendLog(`— the log of ${service} ended${why} —`, 'line end');
      stopLogs(
        e?.message
          ? `Error: ${e.message}${e.hint ? ` Hint: ${e.hint}` : ''}`
          : `The log of ${service} of ${sandbox} ended. Follow starts it again.`,
      );
    }
  } catch (e) {
    if (ctl.signal.aborted) return;
    stopLogs(`Following the log stopped: ${e.message}`);
  }
}

function setupLogs() {
  const sandbox = $('logs-sandbox');
  const service = $('logs-service');
  sandbox.addEventListener('change', () => {
    stopLogs('Pick a service.');
    $('log').replaceChildren();
    void loadServices(sandbox.value);
  });
  service.addEventListener('change', () => {
    $('logs-follow').disabled = !service.value;
    if (service.value) void followLogs(sandbox.value, service.value);
    else stopLogs('Pick a service.');
  });
  $('logs-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void followLogs(sandbox.value, service.value);
  });
  $('logs-stop').addEventListener('click', () => stopLogs(`Stopped following ${logs.service} of ${logs.sandbox}.`));
  $('logs-clear').addEventListener('click', () => $('log').replaceChildren());
}

// ---------------------------------------------------------------------------------------------------------------

function setup() {
  $('auth-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const token = $('auth-token').value.trim();
    if (!token) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    $('auth-token').value = '';
    start();
  });
  window.addEventListener('hashchange', () => {
    if (takeTokenFromHash()) start();
  });
  setupDestroyDialog();
  setupLogs();
  start();
}

// The first connection to the event stream starts as this script runs (it is loaded async, before the page is
// parsed or styled): the first render waits on nothing else. setup() takes it over once the page is there.
performance.mark('kinfra-script');
takeTokenFromHash();
let early = null;
if (sessionStorage.getItem(TOKEN_KEY)) {
  state.token = sessionStorage.getItem(TOKEN_KEY);
  const ctl = new AbortController();
  early = { token: state.token, ctl, res: openStream('/_kinfra/events', ctl.signal) };
  // Held for connectEvents, which awaits it (and sees its failure, if any); never an unhandled rejection meanwhile.
  early.res.catch(() => undefined);
}
if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', setup, { once: true });
else setup();
