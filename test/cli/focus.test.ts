import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { successDocument } from '../../src/docs/json-output.js';
import { appWorkspace, kinfra, parseJson, type Workspace } from '../helpers/cli.js';
import { closedPort } from '../helpers/servers.js';

/**
 * Issue 16, item 3 without Docker: `focus` forwards the main checkout's ports (slot 0) to a sandbox whose ports are
 * served by plain node servers of this test (no `up`), TCP and UDP; `--off` ends it; a foreign holder refuses it;
 * another sandbox takes it over; destroying the focused sandbox ends it; list and status show it; two at once leave
 * one forwarder. Its own ports (463xx) and prefix (kfo).
 */
const API = 46300;
const DB = 46320;
const DNS = 46340;
const CONFIG = `prefix: kfo
compose_files: [docker-compose.yml]
ports:
  api: { env: FO_API_PORT, base: ${API}, label: API, url: "http://localhost:{port}" }
  db: { env: FO_DB_PORT, base: ${DB}, label: Database, url: "localhost:{port}" }
  dns: { env: FO_DNS_PORT, base: ${DNS} }
gate:
  checks: []
`;
const idle = 'image: debian:bookworm-slim, pull_policy: never';
const COMPOSE = `services:
  api: { ${idle}, ports: ["127.0.0.2:\${FO_API_PORT:-${API}}:8000"] }
  db: { ${idle}, ports: ["127.0.0.2:\${FO_DB_PORT:-${DB}}:5432"] }
  dns: { ${idle}, ports: ["127.0.0.2:\${FO_DNS_PORT:-${DNS}}:53/udp"] }
`;

let ws: Workspace;
const closers: (() => Promise<void>)[] = [];
const children: ChildProcess[] = [];

const registryFile = () => join(ws.home, '.ktrdr/sandboxes/registry.json');
const recordedFocus = (): { instance: string; pid: number } | undefined =>
  JSON.parse(readFileSync(registryFile(), 'utf8')).focus;
const runs = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
/** Focus forwarders of this test's registry that run now, from /proc (their command line names it). */
function forwarders(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const args = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
        return args.includes('focus-serve') && args.includes(registryFile());
      } catch {
        return false;
      }
    })
    .map(Number);
}

beforeEach(async () => {
  ws = appWorkspace({ 'kinfra.yaml': CONFIG, 'docker-compose.yml': COMPOSE });
  for (const name of ['a', 'b']) {
    const r = await ws.run(['sandbox', 'create', name]);
    expect(r.code, r.stderr).toBe(0);
  }
});

afterEach(async () => {
  await ws.run(['sandbox', 'focus', '--off']).catch(() => undefined);
  for (const pid of forwarders()) process.kill(pid, 'SIGKILL');
  for (const close of closers.splice(0)) await close();
  for (const c of children.splice(0)) c.kill('SIGKILL');
  ws.cleanup();
});

/** An HTTP server on 127.0.0.1:port that answers with `who`. */
function serve(port: number, who: string): Promise<void> {
  const s: Server = createServer((req, res) => res.end(`${who} ${req.url}`));
  closers.push(
    () =>
      new Promise((r) => {
        s.close(() => r());
        s.closeAllConnections();
      }),
  );
  return new Promise((r) => s.listen(port, '127.0.0.1', () => r()));
}

/** A UDP echo on 127.0.0.1:port that answers `who:<datagram>`. */
function echo(port: number, who: string): Promise<void> {
  const u = createSocket('udp4');
  u.on('message', (m, from) => u.send(`${who}:${m}`, from.port, from.address));
  closers.push(() => new Promise((r) => u.close(() => r())));
  return new Promise((r) => u.bind(port, '127.0.0.1', () => r()));
}

/** GET / on a port: the body, or the error code (ECONNREFUSED, ...). */
async function get(port: number, host = '127.0.0.1'): Promise<string> {
  try {
    const res = await fetch(`http://${host.includes(':') ? `[${host}]` : host}:${port}/x`, {
      signal: AbortSignal.timeout(3000),
    });
    return await res.text();
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause;
    return cause?.code ?? (e as Error).name;
  }
}

/** One datagram to a port, the reply (or `timeout`). */
function ask(port: number, message: string): Promise<string> {
  return new Promise((resolve) => {
    const u = createSocket('udp4');
    const done = (r: string) => {
      clearTimeout(timer);
      u.close();
      resolve(r);
    };
    const timer = setTimeout(() => done('timeout'), 1500);
    u.on('message', (m) => done(String(m)));
    u.on('error', (e) => done((e as NodeJS.ErrnoException).code ?? 'error'));
    u.send(message, port, '127.0.0.1');
  });
}

/** Whether a TCP connection to the port is refused. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
  });
}

/** Whether this host has ::1 (the forwarder listens there too when it does). */
function ipv6Loopback(): Promise<boolean> {
  return closedPort('::1').then(
    () => true,
    () => false,
  );
}

async function until(what: () => Promise<boolean> | boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await what()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return what();
}

const focus = async (...args: string[]) => {
  const r = await ws.run(['sandbox', 'focus', ...args, '--json']);
  return { ...r, json: r.stdout ? parseJson(r.stdout) : parseJson(r.stderr) };
};

describe('kinfra sandbox focus: the main checkout ports forward to a sandbox (issue 16)', () => {
  it("focus a: slot-0 TCP ports reach a's servers (IPv4 and IPv6), a UDP port is relayed; --off ends it", async () => {
    await serve(API + 1, 'a-api');
    await serve(DB + 1, 'a-db');
    await echo(DNS + 1, 'a-dns');
    const on = await focus('a');
    expect(on.code, on.stderr).toBe(0);
    expect(on.json.data.focus).toMatchObject({
      instanceId: 'kfo--a',
      slot: 1,
      ports: [
        { name: 'api', from: API, to: API + 1, protocols: ['tcp'] },
        { name: 'db', from: DB, to: DB + 1, protocols: ['tcp'] },
        { name: 'dns', from: DNS, to: DNS + 1, protocols: ['udp'] },
      ],
    });
    expect(on.json.data.previous).toBeNull();
    expect(successDocument('focus').safeParse(on.json).error?.issues ?? []).toEqual([]);
    const pid = on.json.data.focus.pid as number;
    expect(recordedFocus()).toMatchObject({ instance: 'kfo--a', pid });

    expect(await get(API)).toBe('a-api /x');
    expect(await get(DB)).toBe('a-db /x');
    if (await ipv6Loopback()) expect(await get(API, '::1')).toBe('a-api /x');
    expect(await ask(DNS, 'ping')).toBe('a-dns:ping');
    expect(await ask(DNS, 'again')).toBe('a-dns:again');

    // Human output: every port, and how to stop it.
    // `ports who` names the forwarder for what it is.
    const who = parseJson((await ws.run(['sandbox', 'ports', 'who', String(API), '--json'])).stdout).data.ports[0];
    expect(who).toMatchObject({ state: 'process', pid });
    expect(who.message).toContain('the focus forwarder to sandbox kfo--a');

    const again = await ws.run(['sandbox', 'focus', 'a']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('Already focused');
    expect(again.stdout).toContain(`${DNS} -> ${DNS + 1}  dns (udp)`);
    expect(recordedFocus()?.pid, 'the same forwarder kept').toBe(pid);

    const off = await focus('--off');
    expect(off.code, off.stderr).toBe(0);
    expect(off.json.data).toEqual({ focus: null, previous: 'kfo--a', changed: true });
    expect(await refused(API)).toBe(true);
    expect(runs(pid)).toBe(false);
    expect(recordedFocus()).toBeUndefined();
    const none = await ws.run(['sandbox', 'focus', '--off']);
    expect(none.stdout).toContain('No sandbox had the focus.');
  }, 30_000);

  it('refuses while a foreign process holds a slot-0 port, naming its pid; nothing is started', async () => {
    const holder = spawn(process.execPath, ['-e', `require('net').createServer().listen(${DB}, '127.0.0.1')`]);
    children.push(holder);
    expect(await until(async () => !(await refused(DB)))).toBe(true);
    const r = await focus('a');
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('focus-port-held');
    expect(r.json.error.message).toContain(`port ${DB} is process ${holder.pid}'s`);
    expect(r.json.error.details.holders).toEqual([
      expect.objectContaining({ port: DB, state: 'process', pid: holder.pid, protocol: 'tcp' }),
    ]);
    expect(recordedFocus()).toBeUndefined();
    expect(forwarders()).toEqual([]);
    expect(await refused(API)).toBe(true);
  }, 30_000);

  it('focus b while a has it switches: a forwarder stops, b gets the ports', async () => {
    await serve(API + 1, 'a-api');
    await serve(API + 2, 'b-api');
    const a = await focus('a');
    expect(a.code, a.stderr).toBe(0);
    expect(await get(API)).toBe('a-api /x');
    const b = await focus('b');
    expect(b.code, b.stderr).toBe(0);
    expect(b.json.data).toMatchObject({ previous: 'kfo--a', changed: true, focus: { instanceId: 'kfo--b' } });
    expect(runs(a.json.data.focus.pid)).toBe(false);
    expect(await get(API)).toBe('b-api /x');
    expect(forwarders()).toEqual([b.json.data.focus.pid]);
  }, 30_000);

  it('list and status show the focus', async () => {
    expect(parseJson((await ws.run(['sandbox', 'list', '--json'])).stdout).data.focus).toBeNull();
    const on = await focus('b');
    expect(on.code, on.stderr).toBe(0);
    const doc = parseJson((await ws.run(['sandbox', 'list', '--json'])).stdout);
    expect(successDocument('list').safeParse(doc).error?.issues ?? []).toEqual([]);
    const list = doc.data;
    expect(list.focus).toEqual({
      instanceId: 'kfo--b',
      since: on.json.data.focus.since,
      ports: [
        { name: 'api', from: API, to: API + 2 },
        { name: 'db', from: DB, to: DB + 2 },
        { name: 'dns', from: DNS, to: DNS + 2 },
      ],
    });
    const human = await ws.run(['sandbox', 'list']);
    expect(human.stdout).toContain('kfo--b (focus)');
    expect(human.stdout).toContain(`Focus: kfo--b has the main checkout's ports (${API} -> ${API + 2}`);
    const statusOf = async (name: string) => {
      const r = await ws.run(['sandbox', 'status', '--json'], { cwd: join(ws.dev, `kfo--${name}`) });
      expect(successDocument('status').safeParse(parseJson(r.stdout)).error?.issues ?? [], r.stderr).toEqual([]);
      return parseJson(r.stdout).data;
    };
    expect((await statusOf('b')).focused).toBe(true);
    expect((await statusOf('a')).focused).toBe(false);
    // A forwarder that died is no focus, whatever the registry still says.
    process.kill(on.json.data.focus.pid, 'SIGKILL');
    expect(await until(() => !runs(on.json.data.focus.pid))).toBe(true);
    expect(parseJson((await ws.run(['sandbox', 'list', '--json'])).stdout).data.focus).toBeNull();
    expect((await statusOf('b')).focused).toBe(false);
  }, 30_000);

  it('destroying the focused sandbox ends the focus: the listeners close and the record goes', async () => {
    await serve(API + 1, 'a-api');
    const on = await focus('a');
    expect(on.code, on.stderr).toBe(0);
    expect(await get(API)).toBe('a-api /x');
    const d = await ws.run(['sandbox', 'destroy', 'a', '--yes']);
    expect(d.code, d.stderr).toBe(0);
    expect(await until(() => refused(API))).toBe(true);
    expect(await until(() => !runs(on.json.data.focus.pid))).toBe(true);
    expect(recordedFocus()).toBeUndefined();
    expect(readFileSync(join(ws.home, '.ktrdr/sandboxes/focus.log'), 'utf8')).toContain(
      'stopped: kfo--a is no longer registered',
    );
  }, 30_000);

  it('two focus commands at once leave one forwarder, the one the registry names', async () => {
    const both = await Promise.all(
      ['a', 'b'].map((name) => kinfra(['sandbox', 'focus', name, '--json'], { cwd: ws.repo, home: ws.home })),
    );
    for (const r of both) expect(r.code, r.stderr).toBe(0);
    const recorded = recordedFocus();
    expect(recorded).toBeDefined();
    expect(await until(() => forwarders().length === 1)).toBe(true);
    expect(forwarders()).toEqual([recorded!.pid]);
    await serve(API + (recorded!.instance === 'kfo--a' ? 1 : 2), 'the focused one');
    expect(await get(API)).toBe('the focused one /x');
  }, 30_000);

  it('focus --off takes no name; a name nobody has is not found', async () => {
    const off = await focus('a', '--off');
    expect(off.code).toBe(1);
    expect(off.json.error.code).toBe('invalid-arguments');
    const missing = await focus('nobody');
    expect(missing.code).toBe(5);
    expect(forwarders()).toEqual([]);
  });
});
