// Asking a running router through its control endpoints (`/_kinfra/health`, `/_kinfra/routes`) with its token: how
// `kinfra router` proves a router answers, and that the process it names is the one answering.
import { request } from 'node:http';

export type ControlAnswer = { ok: true; status: number; body: unknown } | { ok: false; why: string };

/** GET `path` from the router on 127.0.0.1:`port` with the token; never throws. */
export function askRouter(port: number, path: string, token: string, timeoutMs = 2000): Promise<ControlAnswer> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'GET',
        agent: false,
        timeout: timeoutMs,
        headers: { host: `127.0.0.1:${port}`, authorization: `Bearer ${token}`, accept: 'application/json' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('error', (e) => resolve({ ok: false, why: e.message }));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            /* not JSON: not our router */
          }
          resolve({ ok: true, status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('no answer'), { code: 'ETIMEDOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ ok: false, why: e.code ?? e.message }));
    req.end();
  });
}
