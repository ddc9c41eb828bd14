import { describe, expect, it } from 'vitest';
import { referencedPaths } from '../../src/core/needed-files.js';

const ROOT = '/home/dev/src/ktrdr';

describe('referencedPaths', () => {
  it('always names .env, once', () => {
    expect(referencedPaths({}, ROOT)).toEqual(['.env']);
    expect(referencedPaths(null, ROOT)).toEqual(['.env']);
    expect(referencedPaths({ services: { a: { env_file: `${ROOT}/.env` } } }, ROOT)).toEqual(['.env']);
  });

  it('names env_file targets inside the root, as a string, a list, or {path} objects', () => {
    expect(
      referencedPaths(
        {
          services: {
            a: { env_file: `${ROOT}/config/a.env` },
            b: { env_file: [`${ROOT}/b.env`, { path: `${ROOT}/secrets/b.env`, required: false }] },
            c: { env_file: [{ path: `${ROOT}/b.env` }, null, { required: true }, 7] },
          },
        },
        ROOT,
      ),
    ).toEqual(['.env', 'config/a.env', 'b.env', 'secrets/b.env']);
  });

  it('leaves out env files outside the root', () => {
    expect(
      referencedPaths(
        {
          services: {
            a: { env_file: ['/etc/app.env', `${ROOT}/../shared.env`, '/home/dev/src/ktrdr-other/x.env'] },
          },
        },
        ROOT,
      ),
    ).toEqual(['.env']);
  });

  it('names bind-mount sources inside the root, in the short and the long form', () => {
    expect(
      referencedPaths(
        {
          services: {
            a: {
              volumes: [
                `${ROOT}/certs:/certs:ro`,
                { type: 'bind', source: `${ROOT}/config/app.yaml`, target: '/app.yaml' },
                { type: 'bind', source: `${ROOT}/deep/dir/`, target: '/d' },
              ],
            },
          },
        },
        ROOT,
      ),
    ).toEqual(['.env', 'certs', 'config/app.yaml', 'deep/dir']);
  });

  it('leaves out bind sources outside the root, the root itself, named volumes and tmpfs', () => {
    expect(
      referencedPaths(
        {
          services: {
            a: {
              volumes: [
                '/var/run/docker.sock:/var/run/docker.sock',
                `${ROOT}:/app`,
                `${ROOT}-other/x:/x`,
                'data:/var/lib/data',
                './relative:/r',
                { type: 'volume', source: 'data', target: '/data' },
                { type: 'volume', source: `${ROOT}/looks-like-a-path`, target: '/v' },
                { type: 'tmpfs', target: '/tmp' },
                { type: 'bind', source: '/opt/shared', target: '/s' },
                { type: 'bind', target: '/nosource' },
                null,
              ],
            },
          },
        },
        ROOT,
      ),
    ).toEqual(['.env']);
  });

  it('accepts a root with a trailing slash', () => {
    expect(referencedPaths({ services: { a: { env_file: `${ROOT}/a.env` } } }, `${ROOT}/`)).toEqual(['.env', 'a.env']);
  });

  it('copes with null services and sections that are not lists', () => {
    expect(referencedPaths({ services: { a: null, b: { volumes: 'x:/y' } } }, ROOT)).toEqual(['.env']);
  });

  // BUG: `inside` tests `rel.startsWith('..')`, so a file inside the root whose name begins with two dots
  // (`..env.local`, `..secrets/key`) is taken for a path outside it and never copied.
  it('names a file inside the root whose name begins with two dots', () => {
    expect(
      referencedPaths(
        { services: { a: { env_file: `${ROOT}/..env.local`, volumes: [`${ROOT}/..secrets/key:/key`] } } },
        ROOT,
      ),
    ).toEqual(['.env', '..env.local', '..secrets/key']);
  });
});
