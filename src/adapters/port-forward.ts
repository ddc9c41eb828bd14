// Port forwarders on loopback: a TCP listener that pipes each connection to 127.0.0.1:<port>, and a UDP socket that
// relays datagrams there through one socket per client (closed after an idle time), so replies reach the client that
// asked. Where a new connection or client goes is asked of the caller each time (`target`), so the caller decides from
// what is true now; this module only moves bytes. Binds 127.0.0.1 and, where the host has it, ::1; never anything else.
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface ForwardSpec {
  /** The port listened on (both loopback addresses). */
  port: number;
  protocol: 'tcp' | 'udp';
  /** The layout's name of the port, handed back to `target`. */
  name: string;
}

/** Where a new connection (or a new UDP client) of `spec` goes: a port on 127.0.0.1, or undefined to refuse it. */
export type Target = (spec: ForwardSpec) => Promise<number | undefined>;

export interface Forwarders {
  /** Stop listening and drop every connection and client socket. */
  close(): Promise<void>;
}

/** A listener that could not be opened: the port, the protocol, the address and the system's code (EADDRINUSE). */
export class BindError extends Error {
  constructor(
    readonly port: number,
    readonly protocol: 'tcp' | 'udp',
    readonly host: string,
    readonly code: string,
  ) {
    super(`cannot listen on ${protocol === 'udp' ? 'UDP ' : ''}${host}:${port} (${code})`);
    this.name = 'BindError';
  }
}

export interface ForwardOptions {
  /** How long a UDP client's socket lives without traffic either way (default 60 s). */
  udpIdleMs?: number;
  /** At most this many UDP clients per listener at once; the least recently active is dropped (default 256). */
  udpClients?: number;
  /** What goes wrong with one connection, for the log. */
  log?: (line: string) => void;
}

/** One UDP client of a listener: its own socket to the target, what it sent before that socket was connected. */
interface UdpClient {
  socket?: UdpSocket;
  connected?: boolean;
  pending: Buffer[];
  timer?: NodeJS.Timeout;
  end(): void;
}

/** Codes that mean the host has no such address (no IPv6 loopback): that address is skipped, not an error. */
const NO_ADDRESS = new Set(['EADDRNOTAVAIL', 'EAFNOSUPPORT']);
const HOSTS = ['127.0.0.1', '::1'] as const;

function listenTcp(spec: ForwardSpec, host: string, onConnection: (s: Socket) => void): Promise<Server | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer({ noDelay: true, allowHalfOpen: true }, onConnection);
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (host !== HOSTS[0] && NO_ADDRESS.has(e.code ?? '')) resolve(undefined);
      else reject(new BindError(spec.port, 'tcp', host, e.code ?? e.message));
    });
    server.listen({ port: spec.port, host, exclusive: true, ipv6Only: host.includes(':') }, () => {
      // Once listening, an error of the listener (none is expected) must not end the forwarder.
      server.on('error', () => undefined);
      resolve(server);
    });
  });
}

function bindUdp(spec: ForwardSpec, host: string): Promise<UdpSocket | undefined> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(host.includes(':') ? { type: 'udp6', ipv6Only: true } : { type: 'udp4' });
    socket.once('error', (e: NodeJS.ErrnoException) => {
      try {
        socket.close();
      } catch {
        // Never bound: nothing to close.
      }
      if (host !== HOSTS[0] && NO_ADDRESS.has(e.code ?? '')) resolve(undefined);
      else reject(new BindError(spec.port, 'udp', host, e.code ?? e.message));
    });
    socket.bind({ port: spec.port, address: host, exclusive: true }, () => resolve(socket));
  });
}

/**
 * Retry a listen that finds its port in use, for a few seconds: the forwarder this one replaces was proven gone, but
 * the kernel may not have let go of its sockets yet. Something else holding the port was refused before any start.
 */
async function whileInUse<T>(open: () => Promise<T>, ms = 3000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return await open();
    } catch (e) {
      if (!(e instanceof BindError) || e.code !== 'EADDRINUSE' || Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * Open a forwarder for every spec, on 127.0.0.1 and (where there is one) ::1. All or nothing: when one cannot be
 * opened, the ones already open are closed and its BindError is thrown.
 */
export async function openForwarders(
  specs: readonly ForwardSpec[],
  target: Target,
  opts: ForwardOptions = {},
): Promise<Forwarders> {
  const log = opts.log ?? (() => undefined);
  const idleMs = opts.udpIdleMs ?? 60_000;
  const maxClients = opts.udpClients ?? 256;
  const servers: Server[] = [];
  const udpListeners: UdpSocket[] = [];
  const sockets = new Set<Socket>();
  const closers = new Set<() => void>();
  let closed = false;

  const track = (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };

  const pipeTcp = (spec: ForwardSpec) => (client: Socket) => {
    track(client);
    client.on('error', () => client.destroy());
    if (closed) return void client.destroy();
    client.pause();
    target(spec).then(
      (port) => {
        if (port === undefined || closed || client.destroyed) return void client.destroy();
        // Half-open both ways: a client that ends its side still gets the rest of the answer.
        const upstream = connect({ port, host: '127.0.0.1', noDelay: true, allowHalfOpen: true });
        track(upstream);
        upstream.on('error', (e: NodeJS.ErrnoException) => {
          log(`${spec.name} ${spec.port} -> ${port}: ${e.code ?? e.message}`);
          client.destroy();
          upstream.destroy();
        });
        client.on('error', () => upstream.destroy());
        upstream.once('connect', () => {
          client.pipe(upstream);
          upstream.pipe(client);
          client.resume();
        });
      },
      (e: unknown) => {
        log(`${spec.name} ${spec.port}: ${(e as Error).message}`);
        client.destroy();
      },
    );
  };

  /** A datagram on a socket closed meanwhile (its client timed out, the forwarder stops) is dropped, as UDP may. */
  const send = (fn: () => void) => {
    try {
      fn();
    } catch {
      // Dropped.
    }
  };

  const relayUdp = (spec: ForwardSpec, listener: UdpSocket) => {
    /** One socket per client (address and port), so each client gets its own replies. */
    const clients = new Map<string, UdpClient>();
    listener.on('error', (e) => log(`${spec.name} UDP ${spec.port}: ${e.message}`));
    listener.on('message', (msg: Buffer, from: RemoteInfo) => {
      if (closed) return;
      const key = `${from.address}|${from.port}`;
      const known = clients.get(key);
      if (known) {
        // Most recently active last: the first is the one dropped when there are too many.
        clients.delete(key);
        clients.set(key, known);
        known.timer?.refresh();
        if (known.socket && known.connected) send(() => known.socket!.send(msg));
        else known.pending.push(msg);
        return;
      }
      if (clients.size >= maxClients) clients.values().next().value?.end();
      const c: UdpClient = {
        pending: [msg],
        end: () => {
          clearTimeout(c.timer);
          clients.delete(key);
          closers.delete(c.end);
          try {
            c.socket?.close();
          } catch {
            // Already closed.
          }
        },
      };
      c.timer = setTimeout(() => c.end(), idleMs);
      clients.set(key, c);
      closers.add(c.end);
      target(spec).then(
        (port) => {
          if (port === undefined || closed || clients.get(key) !== c) return void c.end();
          const socket = createSocket('udp4');
          c.socket = socket;
          socket.on('error', (e) => {
            log(`${spec.name} UDP ${spec.port} -> ${port}: ${e.message}`);
            c.end();
          });
          socket.on('message', (reply: Buffer) => {
            c.timer?.refresh();
            if (!closed) send(() => listener.send(reply, from.port, from.address));
          });
          socket.connect(port, '127.0.0.1', () => {
            c.connected = true;
            for (const m of c.pending.splice(0)) send(() => socket.send(m));
          });
        },
        () => c.end(),
      );
    });
  };

  const close = async () => {
    closed = true;
    for (const end of [...closers]) end();
    for (const s of sockets) s.destroy();
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    await Promise.all(
      udpListeners.map(
        (u) =>
          new Promise<void>((r) => {
            try {
              u.close(() => r());
            } catch {
              r();
            }
          }),
      ),
    );
  };

  try {
    for (const spec of specs) {
      for (const host of HOSTS) {
        if (spec.protocol === 'tcp') {
          const server = await whileInUse(() => listenTcp(spec, host, pipeTcp(spec)));
          if (server) servers.push(server);
        } else {
          const socket = await whileInUse(() => bindUdp(spec, host));
          if (socket) {
            udpListeners.push(socket);
            relayUdp(spec, socket);
          }
        }
      }
    }
  } catch (e) {
    await close();
    throw e;
  }
  return { close };
}
