// Whether a TCP port is free, and who holds it when it is not: a port conflict names its culprit.

import { readdir, readFile, readlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { run } from './runner.js';

/** Who holds a TCP port: to name the culprit of a port conflict, not just its number. */
export interface PortHolder {
  pid: number;
  command: string;
}

/** True when nothing listens on TCP `port` on any IPv4 address (we can bind 0.0.0.0:port). */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '0.0.0.0', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Inodes of sockets listening on `port`, from /proc/net/tcp and tcp6 (state 0A is LISTEN). */
async function listeningInodes(port: number): Promise<Set<string>> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 9 && cols[1]!.endsWith(`:${hexPort}`) && cols[3] === '0A') inodes.add(cols[9]!);
    }
  }
  return inodes;
}

async function fromProc(port: number): Promise<PortHolder | undefined> {
  const inodes = await listeningInodes(port);
  if (inodes.size === 0) return undefined;
  const pids = (await readdir('/proc'))
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .sort((a, b) => a - b);
  for (const pid of pids) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m && inodes.has(m[1]!)) {
        const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
        return { pid, command: cmdline.replace(/\0+/g, ' ').trim().slice(0, 200) || `pid ${pid}` };
      }
    }
  }
  return undefined;
}

async function fromLsof(port: number): Promise<PortHolder | undefined> {
  const r = await run('lsof', ['-nP', `-iTCP:${port}`, '-sTCP:LISTEN', '-Fpc']).catch(() => undefined);
  if (!r || r.exitCode !== 0) return undefined;
  const pid = /^p(\d+)$/m.exec(r.stdout)?.[1];
  const command = /^c(.+)$/m.exec(r.stdout)?.[1];
  return pid ? { pid: Number(pid), command: command ?? `pid ${pid}` } : undefined;
}

/** The process listening on TCP `port`, where the OS tells (Linux /proc; lsof elsewhere). */
export async function findPortHolder(port: number): Promise<PortHolder | undefined> {
  return process.platform === 'linux' ? fromProc(port) : fromLsof(port);
}
