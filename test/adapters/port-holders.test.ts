import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { findPortHolder, isPortFreeAnywhere } from '../../src/adapters/port-holders.js';
import { closedPort } from '../helpers/servers.js';

let child: ChildProcess | undefined;
afterEach(() => {
  child?.kill('SIGKILL');
  child = undefined;
});

/** A separate process that listens on `port` at `host` until killed. */
async function holdPort(port: number, host: string): Promise<ChildProcess> {
  const c = spawn(process.execPath, [
    '-e',
    `require('net').createServer().listen(${port}, '${host}', () => console.log('up')); setInterval(() => {}, 1e6)`,
  ]);
  await new Promise<void>((resolve, reject) => {
    c.stdout!.once('data', () => resolve());
    c.once('exit', (code) => reject(new Error(`holder exited ${code}`)));
  });
  return c;
}

describe('port holders', () => {
  it.each(['127.0.0.1', '0.0.0.0'])(
    'sees a port held by another process on %s and names its pid and command',
    async (host) => {
      const port = await closedPort();
      expect(await isPortFreeAnywhere(port)).toBe(true);
      expect(await findPortHolder(port)).toBeUndefined();
      child = await holdPort(port, host);
      expect(await isPortFreeAnywhere(port)).toBe(false);
      const holder = await findPortHolder(port);
      expect(holder?.pid).toBe(child.pid);
      expect(holder?.command).toContain('node');
      child.kill('SIGKILL');
      await new Promise((r) => child!.once('exit', r));
      child = undefined;
      expect(await isPortFreeAnywhere(port)).toBe(true);
    },
  );
});
