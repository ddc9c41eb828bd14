import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { probeHttp, probePostgres, probeTcp } from '../../src/adapters/probes.js';
import { closedPort, closeServers, errorResponse, listen, message, pgLike, track } from '../helpers/servers.js';

// Real sockets: small servers that answer like Postgres or HTTP services do.
afterEach(closeServers);

describe('probePostgres (speaks the protocol, as pg_isready does)', () => {
  it('sends a well-formed protocol 3.0 StartupMessage and reads an authentication request as ready', async () => {
    const md5 = Buffer.concat([Buffer.from([0, 0, 0, 5]), Buffer.from('salt')]);
    const { port, received } = await pgLike((s) => s.write(message('R', md5)));
    const o = await probePostgres(port);
    expect(o).toMatchObject({ ok: true, tried: `Postgres startup on localhost:${port}`, got: 'accepting connections' });
    const startup = await received;
    expect(startup.readInt32BE(0)).toBe(startup.length);
    expect(startup.readInt32BE(4)).toBe(196608);
    expect(startup.toString('utf8', 8)).toContain('user\0postgres\0');
  });

  it('reads SQLSTATE 57P03 as "starting up", not ready', async () => {
    const { port } = await pgLike((s) => s.end(errorResponse('57P03', 'the database system is starting up')));
    const o = await probePostgres(port);
    expect(o.ok).toBe(false);
    expect(o.got).toBe('the database system is starting up (57P03)');
  });

  it('reads any other error (bad password, no such role) as a server that is up', async () => {
    const { port } = await pgLike((s) => s.end(errorResponse('28P01', 'password authentication failed')));
    expect(await probePostgres(port)).toMatchObject({ ok: true, got: 'accepting connections (server answered 28P01)' });
  });

  it('skips a notice before the answer, and copes with an answer split across packets', async () => {
    const notice = message('N', Buffer.from('SNOTICE\0C00000\0Mhello\0\0'));
    const auth = message('R', Buffer.from([0, 0, 0, 0]));
    const all = Buffer.concat([notice, auth]);
    const { port } = await pgLike((s) => {
      s.write(all.subarray(0, 7));
      setTimeout(() => s.write(all.subarray(7)), 30);
    });
    expect(await probePostgres(port)).toMatchObject({ ok: true, got: 'accepting connections' });
  });

  it('does not take an accepted-then-reset connection (Docker proxy, server not listening) for readiness', async () => {
    const { port } = await pgLike((s) => s.destroy());
    const o = await probePostgres(port);
    expect(o.ok).toBe(false);
    expect(o.got).toMatch(/reset/);
  });

  it('gives up on a silent server at the timeout, and reports a refused port', async () => {
    const { port } = await pgLike(undefined);
    const t = performance.now();
    expect(await probePostgres(port, { timeoutMs: 300 })).toMatchObject({ ok: false, got: 'no answer within 300 ms' });
    expect(performance.now() - t).toBeLessThan(1500);
    expect(await probePostgres(await closedPort())).toMatchObject({ ok: false, got: 'connection refused' });
  });

  it('stops at once when aborted', async () => {
    const { port } = await pgLike(undefined);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    expect(await probePostgres(port, { timeoutMs: 5000, signal: ac.signal })).toMatchObject({
      ok: false,
      got: 'aborted',
    });
  });
});

describe('probeHttp', () => {
  async function http(status: number, body: string, type = 'application/json', port = 0): Promise<number> {
    return listen(
      createHttpServer((_req, res) => {
        res.writeHead(status, { 'content-type': type });
        res.end(body);
      }),
      port,
    );
  }

  it('passes on 2xx/3xx by default and parses a JSON body', async () => {
    const port = await http(200, '{"workers":[{"id":"a"}]}');
    const o = await probeHttp(port, '/api/v1/workers');
    expect(o).toMatchObject({
      ok: true,
      got: '200',
      status: 200,
      tried: `GET http://localhost:${port}/api/v1/workers`,
    });
    expect(o.json).toEqual({ workers: [{ id: 'a' }] });
  });

  it('fails on an unexpected status with "returned N", honouring expectStatus', async () => {
    const port = await http(503, '{"status":"db down"}');
    expect(await probeHttp(port, '/health')).toMatchObject({ ok: false, got: 'returned 503', status: 503 });
    const redirect = await http(302, '', 'text/html');
    expect(await probeHttp(redirect, '/', { expectStatus: [200, 302] })).toMatchObject({ ok: true, got: '302' });
    expect(await probeHttp(redirect, '/', { expectStatus: [200] })).toMatchObject({ ok: false, got: 'returned 302' });
  });

  it('reports a refused port and a silent server in words the gate can show', async () => {
    expect(await probeHttp(await closedPort(), '/x')).toMatchObject({ ok: false, got: 'connection refused' });
    const silent = await listen(createHttpServer(() => undefined));
    expect(await probeHttp(silent, '/x', { timeoutMs: 300 })).toMatchObject({
      ok: false,
      got: 'timed out after 300 ms',
    });
  });

  it('works on ports that fetch() refuses as "bad ports" (6666)', async () => {
    let port: number;
    try {
      port = await http(200, 'ok', 'text/plain', 6666);
    } catch {
      return expect.fail('port 6666 is taken on this machine; the test needs it free');
    }
    expect(await probeHttp(port, '/')).toMatchObject({ ok: true });
  });
});

describe('probeTcp', () => {
  it('says whether a port accepts connections', async () => {
    const port = await listen(createServer(track));
    expect(await probeTcp(port)).toMatchObject({ ok: true, got: 'port open' });
    expect(await probeTcp(await closedPort())).toMatchObject({ ok: false, got: 'connection refused' });
  });
});
