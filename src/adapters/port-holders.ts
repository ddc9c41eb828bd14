// Whether a TCP (or UDP) port is free, and who holds it when it is not: a port conflict names its culprit.

import { createSocket } from 'node:dgram';
import { readdirSync, readlinkSync } from 'node:fs';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { run } from './runner.js';

/** Who holds a TCP port: to name the culprit of a port conflict, not just its number. */
export interface PortHolder {
  pid: number;
  command: string;
  /** Its working folder and user, where the OS tells (Linux /proc). */
  cwd?: string | undefined;
  user?: string | undefined;
}

/** Whether `port` can be bound on `host`: false when something listens there (or the address is unusable). */
function canBind(port: number, host: string, ipv6Only = false): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (e: NodeJS.ErrnoException) =>
      resolve(e.code === 'EAFNOSUPPORT' || e.code === 'EADDRNOTAVAIL'),
    );
    server.listen({ port, host, exclusive: true, ipv6Only }, () => server.close(() => resolve(true)));
  });
}

/** True when nothing listens on TCP `port` on any IPv4 or IPv6 address (a host without IPv6 counts as free there). */
export async function isPortFreeAnywhere(port: number): Promise<boolean> {
  return (await canBind(port, '0.0.0.0')) && (await canBind(port, '::', true));
}

/** Whether UDP `port` can be bound on `host` (an address family the host lacks counts as free). */
function canBindUdp(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const v6 = host.includes(':');
    const socket = createSocket(v6 ? { type: 'udp6', ipv6Only: true } : { type: 'udp4' });
    socket.once('error', (e: NodeJS.ErrnoException) => {
      try {
        socket.close();
      } catch {
        // Never bound: nothing to close.
      }
      resolve(e.code === 'EAFNOSUPPORT' || e.code === 'EADDRNOTAVAIL');
    });
    socket.bind({ port, address: host, exclusive: true }, () => socket.close(() => resolve(true)));
  });
}

/** True when no socket is bound to UDP `port` on any IPv4 or IPv6 address. */
export async function isUdpPortFreeAnywhere(port: number): Promise<boolean> {
  return (await canBindUdp(port, '0.0.0.0')) && (await canBindUdp(port, '::'));
}

/** The user name of a uid, from /etc/passwd (the uid itself when it has none). */
async function userName(uid: string): Promise<string> {
  const passwd = await readFile('/etc/passwd', 'utf8').catch(() => '');
  return (
    passwd
      .split('\n')
      .find((l) => l.split(':')[2] === uid)
      ?.split(':')[0] ?? `uid ${uid}`
  );
}

async function procDetails(pid: number): Promise<Pick<PortHolder, 'cwd' | 'user'>> {
  const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => undefined);
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const uid = /^Uid:\s+(\d+)/m.exec(status)?.[1];
  return { cwd, user: uid === undefined ? undefined : await userName(uid) };
}

export type Protocol = 'tcp' | 'udp';

/**
 * Inodes of sockets listening on `port`, from /proc/net/tcp and tcp6 (state 0A is LISTEN), or, for UDP, bound to it
 * (/proc/net/udp and udp6, state 07).
 */
async function listeningInodes(port: number, protocol: Protocol): Promise<Set<string>> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const state = protocol === 'tcp' ? '0A' : '07';
  for (const file of [`/proc/net/${protocol}`, `/proc/net/${protocol}6`]) {
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 9 && cols[1]!.endsWith(`:${hexPort}`) && cols[3] === state) inodes.add(cols[9]!);
    }
  }
  return inodes;
}

/** The socket inodes a process holds open, read synchronously: see fromProc. */
function socketInodes(pid: number): string[] {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.push(m[1]!);
    } catch {
      // The fd closed while we looked: not the holder.
    }
  }
  return out;
}

/**
 * The holder of a listening socket: the process with that socket's inode among its fds. The walk reads every fd link
 * of every process; /proc answers each in microseconds, so the reads are synchronous: awaiting a thread-pool round
 * trip for each of hundreds of links made the walk a hundred times slower than the reads themselves.
 */
async function fromProc(port: number, protocol: Protocol): Promise<PortHolder | undefined> {
  const inodes = await listeningInodes(port, protocol);
  if (inodes.size === 0) return undefined;
  const pids = (await readdir('/proc'))
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .sort((a, b) => a - b);
  const pid = pids.find((p) => socketInodes(p).some((i) => inodes.has(i)));
  if (pid === undefined) return undefined;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  const command = cmdline.replace(/\0+/g, ' ').trim().slice(0, 200) || `pid ${pid}`;
  return { pid, command, ...(await procDetails(pid)) };
}

async function fromLsof(port: number, protocol: Protocol): Promise<PortHolder | undefined> {
  const which = protocol === 'tcp' ? [`-iTCP:${port}`, '-sTCP:LISTEN'] : [`-iUDP:${port}`];
  const r = await run('lsof', ['-nP', ...which, '-Fpc']).catch(() => undefined);
  if (!r || r.exitCode !== 0) return undefined;
  const pid = /^p(\d+)$/m.exec(r.stdout)?.[1];
  const command = /^c(.+)$/m.exec(r.stdout)?.[1];
  return pid ? { pid: Number(pid), command: command ?? `pid ${pid}` } : undefined;
}

/** The process listening on TCP `port` (or bound to UDP `port`), where the OS tells (Linux /proc; lsof elsewhere). */
export async function findPortHolder(port: number, protocol: Protocol = 'tcp'): Promise<PortHolder | undefined> {
  return process.platform === 'linux' ? fromProc(port, protocol) : fromLsof(port, protocol);
}
