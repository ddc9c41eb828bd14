import { describe, expect, it } from 'vitest';
import { nearestSandboxes } from '../../src/core/nearest.js';

const e = (slot: number, path: string, parent_repo: string) => ({ slot, path, parent_repo });

describe('the sandboxes nearest a folder in none', () => {
  const instances = {
    'shop--b': e(2, '/home/me/dev/shop--b', '/home/me/dev/shop'),
    'shop--a': e(1, '/home/me/dev/shop--a', '/home/me/dev/shop'),
    'blog--x': e(3, '/home/me/work/blog--x', '/home/me/work/blog'),
  };
  it("inside a main checkout: that repository's sandboxes, by slot", () => {
    expect(nearestSandboxes('/home/me/dev/shop/src', instances).map((n) => n.instanceId)).toEqual([
      'shop--a',
      'shop--b',
    ]);
  });
  it('elsewhere: those sharing the deepest folder; none when nothing is shared', () => {
    expect(nearestSandboxes('/home/me/work/notes', instances).map((n) => n.instanceId)).toEqual(['blog--x']);
    expect(nearestSandboxes('/srv/other', instances)).toEqual([]);
    expect(nearestSandboxes('/home/me/dev/shopping', instances).map((n) => n.instanceId)).toEqual([
      'shop--a',
      'shop--b',
    ]);
  });
});
