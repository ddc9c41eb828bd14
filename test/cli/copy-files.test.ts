import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { appWorkspace, parseJson, type Workspace } from '../helpers/cli.js';

/**
 * Issue 14, item 2: a new worktree lacks the main checkout's git-ignored files its stack needs. create copies those
 * the compose files reference (.env, env_file targets, bind-mounted files) and kinfra.yaml's `copy:` list, says what
 * it copied, never overwrites or copies what git tracks; destroy does not count an untouched copy as lost work.
 */
const COMPOSE = `services:
  web:
    image: nginx
    env_file: [web.env]
    ports: ["8080:80"]
    volumes:
      - ./certs/local.pem:/etc/ssl/local.pem:ro
      - \${CONF_DIR:-./conf}/site.conf:/etc/nginx/conf.d/site.conf
      - ./data:/data
`;

let ws: Workspace | undefined;
afterEach(() => {
  ws?.cleanup();
  ws = undefined;
});

function project(extra: Record<string, string> = {}): Workspace {
  ws = appWorkspace({
    'docker-compose.yml': COMPOSE,
    '.gitignore': '.env\nweb.env\ncerts/\nconf/site.conf\ndata/\nseed/\n',
    'conf/README.md': 'tracked\n',
    ...extra,
  });
  const write = (rel: string, text: string) => {
    mkdirSync(join(ws!.repo, rel, '..'), { recursive: true });
    writeFileSync(join(ws!.repo, rel), text);
  };
  write('.env', 'SECRET=main\n');
  write('web.env', 'WEB=1\n');
  write('certs/local.pem', 'PEM\n');
  write('conf/site.conf', 'server {}\n');
  write('data/big.db', 'main data\n');
  write('seed/users.csv', 'a,b\n');
  return ws;
}

describe('git-ignored files a new sandbox needs (issue 14)', () => {
  it('copies what the compose files read, not data folders, and says so', async () => {
    const w = project();
    const r = await w.run(['sandbox', 'create', 'a', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const d = parseJson(r.stdout).data;
    expect([...d.copied].sort()).toEqual(['.env', 'certs/local.pem', 'conf/site.conf', 'web.env']);
    expect(readFileSync(join(d.path, 'web.env'), 'utf8')).toBe('WEB=1\n');
    // A bind-mounted folder is the main checkout's own data: never copied unless kinfra.yaml lists it.
    expect(existsSync(join(d.path, 'data'))).toBe(false);
    expect(existsSync(join(d.path, 'seed'))).toBe(false);
    const human = await w.run(['sandbox', 'create', 'b']);
    expect(human.stdout).toContain('Copied: ');
  });

  it('copies the copy: list of kinfra.yaml, folders included', async () => {
    const w = project({ 'kinfra.yaml': 'prefix: shop\ncopy: [seed, .env]\n' });
    const d = parseJson((await w.run(['sandbox', 'create', 'a', '--json'])).stdout).data;
    expect(d.copied).toEqual(expect.arrayContaining(['seed/', '.env', 'web.env']));
    expect(readFileSync(join(d.path, 'seed/users.csv'), 'utf8')).toBe('a,b\n');
  });

  it('destroy does not count an untouched copy as lost work, and does once it was edited', async () => {
    const w = project();
    const a = parseJson((await w.run(['sandbox', 'create', 'a', '--json'])).stdout).data;
    const gone = await w.run(['sandbox', 'destroy', a.instanceId, '--yes']);
    expect(gone.code, gone.stderr).toBe(0);
    expect(existsSync(a.path)).toBe(false);

    const b = parseJson((await w.run(['sandbox', 'create', 'b', '--json'])).stdout).data;
    writeFileSync(join(b.path, '.env'), 'SECRET=edited in the sandbox\n');
    const kept = await w.run(['sandbox', 'destroy', b.instanceId, '--yes']);
    expect(kept.code).toBe(4);
    expect(kept.stderr).toContain('.env');
    expect(existsSync(b.path)).toBe(true);
  });
});
