// Adversarial review of destroy's identical-copy rule (issue 14): a git-ignored file byte-identical to the main
// checkout's is not lost work only if the main checkout really keeps its own copy.
import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { appWorkspace, parseJson, type Workspace } from '../helpers/cli.js';

let ws: Workspace | undefined;
afterEach(() => {
  ws?.cleanup();
  ws = undefined;
});

describe('destroy: the identical-copy rule', () => {
  // BUG: sameFileContent stats and reads through symlinks. When the main checkout's ignored file is a symlink *to
  // the sandbox's* (main/.env.local -> ../app--a/.env.local, a way people share one config), the two "copies" are
  // one file: destroy counts it as identical to the main checkout's, removes the worktree, and the only copy is
  // gone (main's link now dangles). Compare real paths / refuse when either side is a link.
  it("does not delete the sandbox's file when the main checkout's is only a link to it", async () => {
    ws = appWorkspace({
      'docker-compose.yml': 'services:\n  web:\n    image: nginx\n    ports: ["8080:80"]\n',
      '.gitignore': '.env.local\n',
    });
    const a = parseJson((await ws.run(['sandbox', 'create', 'a', '--json'])).stdout).data;
    writeFileSync(join(a.path, '.env.local'), 'API_KEY=only-here\n');
    symlinkSync(join(a.path, '.env.local'), join(ws.repo, '.env.local'));

    const r = await ws.run(['sandbox', 'destroy', a.instanceId, '--yes', '--json']);
    const survived = existsSync(join(a.path, '.env.local'));
    expect({ code: r.code, survived }).toMatchObject(survived ? { survived: true } : { code: 5 });
    if (survived) expect(readFileSync(join(a.path, '.env.local'), 'utf8')).toBe('API_KEY=only-here\n');
  });
});
