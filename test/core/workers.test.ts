import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { registration, workerList } from '../../src/core/workers.js';

const SERVICES = ['backtest-worker-1', 'training-worker-1'];

const byService = (entries: [string, boolean][]) => new Map(entries);

describe('workerList', () => {
  it('takes a bare array', () => {
    const list = [{ id: 'a' }];
    expect(workerList(list)).toBe(list);
    expect(workerList([])).toEqual([]);
  });

  it('takes { workers: [...] }', () => {
    expect(workerList({ workers: ['a', 'b'], total: 2 })).toEqual(['a', 'b']);
  });

  it.each([null, undefined, 3, 'workers', {}, { workers: 'a' }, { workers: { a: 1 } }, { data: [] }])(
    'has no list in %j',
    (json) => {
      expect(workerList(json)).toBeUndefined();
    },
  );
});

describe('registration: matched by what a worker reports', () => {
  it.each(['id', 'worker_id', 'workerId', 'name', 'service'])('by the %s field', (field) => {
    const r = registration(SERVICES, [{ [field]: 'backtest-worker-1' }, { [field]: 'training-worker-1' }]);
    expect(r).toEqual({
      byService: byService([
        ['backtest-worker-1', true],
        ['training-worker-1', true],
      ]),
      listed: 2,
      found: 2,
      allRegistered: true,
    });
  });

  it.each(['url', 'endpoint_url', 'endpointUrl', 'worker_url', 'address'])('by the host of its %s', (field) => {
    const r = registration(SERVICES, [
      { [field]: 'http://backtest-worker-1:5000/' },
      { [field]: 'http://training-worker-1:5000' },
    ]);
    expect(r.allRegistered).toBe(true);
    expect(r.found).toBe(2);
  });

  it('by a plain string entry', () => {
    expect(registration(SERVICES, ['training-worker-1', 'backtest-worker-1']).allRegistered).toBe(true);
  });

  it('a worker whose id is its own but whose URL names the service counts', () => {
    const r = registration(['w-1'], [{ id: 'f3c9-uuid', url: 'http://w-1:5003/health' }]);
    expect(r.byService.get('w-1')).toBe(true);
  });

  it('a partial match says which service is missing', () => {
    const r = registration(SERVICES, [{ id: 'backtest-worker-1' }, { id: '7d1e' }]);
    expect(r).toEqual({
      byService: byService([
        ['backtest-worker-1', true],
        ['training-worker-1', false],
      ]),
      listed: 2,
      found: 1,
      allRegistered: false,
    });
  });

  it('matches in any order, with other workers listed too', () => {
    const r = registration(SERVICES, [{ name: 'other' }, { name: 'training-worker-1' }, { name: 'backtest-worker-1' }]);
    expect(r).toMatchObject({ listed: 3, found: 2, allRegistered: true });
  });

  it('learns nothing from fields that are not strings or URLs it cannot read, so falls back to the count', () => {
    const r = registration(SERVICES, [
      { id: 1, name: null, url: 'not a url' },
      { worker_id: ['backtest-worker-1'], address: 'backtest-worker-1' },
    ]);
    expect([...r.byService.values()]).toEqual([true, true]);
    expect(r.found).toBe(2);
  });

  it("one worker reporting two services' names does not stand in for both", () => {
    const r = registration(SERVICES, [{ id: 'backtest-worker-1', url: 'http://training-worker-1:5000' }]);
    expect(r.found).toBe(2);
    expect(r.allRegistered).toBe(false);
  });

  it('the same worker listed twice is still one service', () => {
    const r = registration(SERVICES, [{ id: 'backtest-worker-1' }, { id: 'backtest-worker-1' }]);
    expect(r).toMatchObject({ found: 1, allRegistered: false });
    expect(r.byService.get('training-worker-1')).toBe(false);
  });
});

describe('registration: ids that say nothing about services', () => {
  it('falls back to the count when there are enough', () => {
    const r = registration(SERVICES, [{ id: 'a1b2' }, { id: 'c3d4' }]);
    expect(r).toEqual({
      byService: byService([
        ['backtest-worker-1', true],
        ['training-worker-1', true],
      ]),
      listed: 2,
      found: 2,
      allRegistered: true,
    });
  });

  it('counts every listed worker, more than expected too', () => {
    expect(registration(SERVICES, [{ id: 'a' }, { id: 'b' }, { id: 'c' }])).toMatchObject({
      listed: 3,
      found: 3,
      allRegistered: true,
    });
  });

  it('too few is not registered, and no service is claimed', () => {
    const r = registration(SERVICES, [{ id: 'a1b2' }]);
    expect(r).toEqual({
      byService: byService([
        ['backtest-worker-1', false],
        ['training-worker-1', false],
      ]),
      listed: 1,
      found: 1,
      allRegistered: false,
    });
  });

  it('an empty list registers nothing', () => {
    expect(registration(SERVICES, [])).toMatchObject({ listed: 0, found: 0, allRegistered: false });
  });

  it('entries that are neither strings nor objects count toward the total', () => {
    expect(registration(SERVICES, [1, null])).toMatchObject({ listed: 2, found: 2, allRegistered: true });
  });
});

describe('registration: no worker services expected', () => {
  it('is registered with an empty list', () => {
    expect(registration([], [])).toEqual({ byService: new Map(), listed: 0, found: 0, allRegistered: true });
  });

  it('reports what the backend lists anyway', () => {
    expect(registration([], [{ id: 'x' }])).toMatchObject({ listed: 1, found: 1, allRegistered: true });
  });
});

describe('registration: properties', () => {
  const service = fc.stringMatching(/^[a-z]{1,6}-worker-[1-9]$/);

  it('a backend listing every service by name is always fully registered', () => {
    fc.assert(
      fc.property(fc.uniqueArray(service, { minLength: 1, maxLength: 6 }), fc.nat(3), (services, extra) => {
        const listed = [
          ...services.map((id) => ({ id })),
          ...Array.from({ length: extra }, (_, i) => ({ id: `x${i}` })),
        ].reverse();
        const r = registration(services, listed);
        expect(r).toMatchObject({ listed: services.length + extra, found: services.length, allRegistered: true });
      }),
    );
  });

  it('a missing service by name is never registered', () => {
    fc.assert(
      fc.property(fc.uniqueArray(service, { minLength: 2, maxLength: 6 }), fc.nat(), (services, pick) => {
        const missing = services[pick % services.length]!;
        const r = registration(
          services,
          services.filter((s) => s !== missing).map((name) => ({ name })),
        );
        expect(r.byService.get(missing)).toBe(false);
        expect(r.allRegistered).toBe(false);
        expect(r.found).toBe(services.length - 1);
      }),
    );
  });
});
