import { createSocket } from 'node:dgram';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BindError, openForwarders, type Forwarders, type ForwardSpec } from '../../src/adapters/port-forward.js';
import { closedPort } from '../helpers/servers.js';

/** The loopback forwarders focus runs, on their own: TCP piped, UDP relayed per client, the target asked each time. */
const open: Forwarders[] = [];
const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const f of open.splice(0)) await f.close();
  for (const c of cleanups.splice(0)) c();
});

/** A TCP server that answers every connection with what it got, once the client has ended its side. */
async function echoAfterEnd(): Promise<number> {
  const server: Server = createServer({ allowHalfOpen: true }, (s) => {
    const got: Buffer[] = [];
    s.on('data', (d) => got.push(d));
    s.on('end', () => s.end(Buffer.concat([Buffer.from('got:'), ...got])));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => server.close());
  return (server.address() as { port: number }).port;
}

function exchange(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    const s: Socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    let got = '';
    s.on('data', (d) => (got += d));
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    s.on('close', () => resolve(got));
    s.end(text);
  });
}

function udpEcho(who: string): Promise<number> {
  const u = createSocket('udp4');
  u.on('message', (m, from) => u.send(`${who}:${m}`, from.port, from.address));
  cleanups.push(() => u.close());
  return new Promise((r) => u.bind(0, '127.0.0.1', () => r(u.address().port)));
}

function ask(port: number, messages: string[]): Promise<string[]> {
  return new Promise((resolve) => {
    const u = createSocket('udp4');
    const got: string[] = [];
    const timer = setTimeout(() => (u.close(), resolve(got)), 1000);
    u.on('message', (m) => {
      got.push(String(m));
      if (got.length === messages.length) {
        clearTimeout(timer);
        u.close();
        resolve(got);
      }
    });
    for (const m of messages) u.send(m, port, '127.0.0.1');
  });
}

describe('loopback forwarders', () => {
  it('pipes TCP both ways, half-close included, to the port the target names at each connection', async () => {
    const [a, b, from] = [await echoAfterEnd(), await echoAfterEnd(), await closedPort()];
    let to = a;
    const asked: string[] = [];
    const spec: ForwardSpec = { port: from, protocol: 'tcp', name: 'api' };
    open.push(await openForwarders([spec], async (s) => (asked.push(s.name), to)));
    expect(await exchange(from, 'hello')).toBe('got:hello');
    to = b;
    expect(await exchange(from, 'again')).toBe('got:again');
    expect(asked).toEqual(['api', 'api']);
  });

  it('a connection the target refuses (or whose target is down) is closed', async () => {
    const from = await closedPort();
    const down = await closedPort();
    let to: number | undefined;
    open.push(await openForwarders([{ port: from, protocol: 'tcp', name: 'api' }], async () => to));
    expect(await exchange(from, 'x')).toMatch(/^(|ECONNRESET)$/);
    to = down;
    expect(await exchange(from, 'x')).toMatch(/^(|ECONNRESET)$/);
  });

  it('relays UDP with one socket per client: each gets its own replies', async () => {
    const target = await udpEcho('t');
    const from = await closedPort();
    open.push(await openForwarders([{ port: from, protocol: 'udp', name: 'dns' }], async () => target));
    const [one, two] = await Promise.all([ask(from, ['1a', '1b']), ask(from, ['2a'])]);
    expect(one.sort()).toEqual(['t:1a', 't:1b']);
    expect(two).toEqual(['t:2a']);
  });

  it('a UDP client idle for longer than the timeout gets a new socket, asked of the target again', async () => {
    const [t1, t2] = [await udpEcho('one'), await udpEcho('two')];
    const from = await closedPort();
    let to = t1;
    open.push(await openForwarders([{ port: from, protocol: 'udp', name: 'dns' }], async () => to, { udpIdleMs: 100 }));
    const u = createSocket('udp4');
    cleanups.push(() => u.close());
    const next = () => new Promise<string>((r) => u.once('message', (m) => r(String(m))));
    await new Promise<void>((r) => u.bind(0, '127.0.0.1', () => r()));
    u.send('a', from, '127.0.0.1');
    expect(await next()).toBe('one:a');
    to = t2;
    u.send('b', from, '127.0.0.1');
    expect(await next(), 'the same client keeps its socket while active').toBe('one:b');
    await new Promise((r) => setTimeout(r, 250));
    u.send('c', from, '127.0.0.1');
    expect(await next()).toBe('two:c');
  });

  it('all or nothing: a port already held is a BindError naming it, and nothing stays open', async () => {
    const free = await closedPort();
    const held = createServer();
    await new Promise<void>((r) => held.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => held.close());
    const port = (held.address() as { port: number }).port;
    const attempt = openForwarders(
      [
        { port: free, protocol: 'tcp', name: 'a' },
        { port, protocol: 'tcp', name: 'b' },
      ],
      async () => undefined,
    );
    await expect(attempt).rejects.toBeInstanceOf(BindError);
    await expect(attempt).rejects.toMatchObject({ port, protocol: 'tcp', host: '127.0.0.1', code: 'EADDRINUSE' });
    // The first one was closed again: its port can be taken.
    const again = createServer();
    await new Promise<void>((r, j) => again.once('error', j).listen(free, '127.0.0.1', () => r()));
    again.close();
  });

  it('close stops listening and drops open connections', async () => {
    const target = await echoAfterEnd();
    const from = await closedPort();
    const f = await openForwarders([{ port: from, protocol: 'tcp', name: 'api' }], async () => target);
    const s = connect(from, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    const closed = new Promise((r) => s.once('close', r));
    s.on('error', () => undefined);
    await f.close();
    await closed;
    expect(await exchange(from, 'x')).toBe('ECONNREFUSED');
  });
});
