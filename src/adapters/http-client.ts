// One HTTP request over node:http, for the commands that talk to a sandbox's backend.

import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { KinfraError } from '../core/errors.js';

export interface HttpResponse {
  status: number;
  contentType: string;
  body: string;
}

/** One request, no retries; node:http so that "bad ports" work (fetch refuses some). */
export function sendRequest(method: string, url: string, body?: string, timeoutMs = 30_000): Promise<HttpResponse> {
  const u = new URL(url);
  const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
  // localhost may resolve to ::1 first; sandboxes publish on 127.0.0.1.
  const host = u.hostname === 'localhost' ? '127.0.0.1' : u.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve, reject) => {
    const req = send(
      {
        host,
        port: u.port || undefined,
        path: `${u.pathname}${u.search}`,
        method,
        agent: false,
        timeout: timeoutMs,
        headers: {
          accept: 'application/json, */*',
          host: u.host,
          ...(body !== undefined
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
            : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', (e) => reject(unreachable(url, e)));
      },
    );
    req.on('timeout', () =>
      req.destroy(Object.assign(new Error(`no answer within ${timeoutMs / 1000} s`), { code: 'ETIMEDOUT' })),
    );
    req.on('error', (e) => reject(unreachable(url, e)));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

function unreachable(url: string, e: NodeJS.ErrnoException): KinfraError {
  const why = e.code === 'ECONNREFUSED' ? 'connection refused' : e.code === 'ENOTFOUND' ? 'unknown host' : e.message;
  return new KinfraError(
    'api',
    'api-unreachable',
    `Cannot reach ${url}: ${why}.`,
    'Is the sandbox running? Check with: kinfra sandbox status (or start it: kinfra sandbox up)',
  );
}
