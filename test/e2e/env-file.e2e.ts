import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatEnvText } from '../../src/core/env-file.js';

/**
 * Issue 12 item 8: Compose reads the .env files kinfra writes as kinfra's own
 * parser does. `docker compose config` parses them without an engine.
 */
describe('.env.sandbox as Compose reads it', () => {
  it('gives every value back exactly, U+2028 and U+2029 included', () => {
    const values = [
      'plain',
      '',
      'hello world',
      "it's",
      'say "hi"',
      '$HOME ${X}',
      "'$HOME'",
      'a #b',
      'a\\b',
      'C:\\Users\\n',
      'x\u2028y',
      '\u2029',
      "it's\u2028",
      'a\u0085b',
      'nbsp\u00a0',
      'Café 🚀',
      'a\tb',
      '`whoami`',
    ];
    const env = Object.fromEntries(values.map((v, i) => [`V${i}`, v]));
    const dir = mkdtempSync(join(tmpdir(), 'kinfra-env-'));
    try {
      writeFileSync(join(dir, '.env'), formatEnvText(Object.entries(env).map(([key, value]) => ({ key, value }))));
      const vars = Object.keys(env)
        .map((k) => `      ${k}: "\${${k}}"\n`)
        .join('');
      writeFileSync(join(dir, 'docker-compose.yml'), `services:\n  app:\n    image: alpine\n    environment:\n${vars}`);
      const r = spawnSync('docker', ['compose', 'config', '--format', 'json'], { cwd: dir, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const got = JSON.parse(r.stdout).services.app.environment as Record<string, string>;
      // `config` writes a literal $ as $$.
      expect(Object.fromEntries(Object.entries(got).map(([k, v]) => [k, v.replace(/\$\$/g, '$')]))).toEqual(env);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
