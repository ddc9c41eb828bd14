// The Engine's HTTP API over its unix socket: one request instead of starting the 45 MB docker CLI, which is most of
// what `list` costs. Used only where it means exactly what the CLI would: a unix socket from DOCKER_HOST or the default
// one, and no docker context in force. Anything else (and any error) returns undefined, and callers fall back to the
// CLI, which also words errors; only a missed deadline is an error here (see engineGet).

import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { assertResponding, currentCommand, notResponding, queryMs } from './engine-deadline.js';
import { echoStep } from './runner.js';

async function socketPath(): Promise<string | undefined> {
  if (process.env.DOCKER_CONTEXT && process.env.DOCKER_CONTEXT !== 'default') return undefined;
  const host = process.env.DOCKER_HOST;
  if (host) return host.startsWith('unix://') ? host.slice('unix://'.length) : undefined;
  const configDir = process.env.DOCKER_CONFIG ?? join(homedir(), '.docker');
  const config = await readFile(join(configDir, 'config.json'), 'utf8').catch(() => undefined);
  if (config) {
    try {
      const current = (JSON.parse(config) as { currentContext?: string }).currentContext;
      if (current && current !== 'default') return undefined;
    } catch {
      return undefined;
    }
  }
  return process.platform === 'win32' ? undefined : '/var/run/docker.sock';
}

/**
 * GET a path of the Engine API; undefined when the fast path does not apply or fails (the CLI then words the
 * error). A daemon that accepts the connection and does not answer within the deadline throws
 * docker-not-responding instead: the CLI would only wait on the same daemon again.
 */
export async function engineGet<T>(path: string, timeoutMs = queryMs()): Promise<T | undefined> {
  assertResponding();
  const startedIn = currentCommand();
  const socket = await socketPath();
  if (!socket) return undefined;
  echoStep(`GET ${decodeURIComponent(path)}   # Docker Engine API on ${socket}`);
  return new Promise((resolve, reject) => {
    // A deadline for the whole answer: the socket's own timeout only notices silence, not a trickle.
    const deadline = setTimeout(() => {
      req.destroy();
      reject(notResponding(`the Engine API request GET ${path.split('?')[0]}`, timeoutMs, startedIn));
    }, timeoutMs);
    const done = (value: T | undefined) => {
      clearTimeout(deadline);
      resolve(value);
    };
    const req = request({ socketPath: socket, path, method: 'GET', headers: { host: 'docker' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        if (res.statusCode !== 200) return done(undefined);
        try {
          done(JSON.parse(Buffer.concat(chunks).toString('utf8')) as T);
        } catch {
          done(undefined);
        }
      });
      res.on('error', () => done(undefined));
    });
    req.on('error', () => done(undefined));
    req.end();
  });
}
