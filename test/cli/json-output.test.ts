import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorDocument, JSON_OUTPUT, successDocument, type JsonCommand } from '../../src/docs/json-output.js';
import { parseJson, appWorkspace, type Workspace } from '../helpers/cli.js';

/**
 * Every --json document, checked against its versioned schema
 * (src/docs/json-output.ts, published as schema/json-output.schema.json):
 * a field added, removed or renamed fails here. up, gate and status on a
 * running stack are checked the same way in test/e2e/sandbox.e2e.ts.
 */
let ws: Workspace;
let sandbox: string;
beforeAll(async () => {
  // A stack that publishes the backend's port (never started here): the gate has a check to fail.
  ws = appWorkspace({
    'docker-compose.yml':
      'services:\n  backend: { image: debian:bookworm-slim, ports: ["127.0.0.1:${KTRDR_API_PORT:-8000}:8000"] }\n',
  });
  const r = await ws.run(['sandbox', 'create', 'shape', '--json']);
  expect(r.code, r.stderr).toBe(0);
  sandbox = parseJson(r.stdout).data.path;
});
afterAll(() => ws.cleanup());

async function expectShape(command: JsonCommand, args: string[], cwd?: string) {
  const r = await ws.run([...args, '--json'], cwd ? { cwd } : {});
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  const parsed = successDocument(command).safeParse(parseJson(r.stdout));
  expect(parsed.success ? [] : parsed.error.issues, `${args.join(' ')}: ${r.stdout.slice(0, 500)}`).toEqual([]);
  return parseJson(r.stdout).data;
}

describe('--json documents match their schema (schemaVersion 3)', () => {
  it('create, init, list, url, status, down, verify', async () => {
    await expectShape('create', ['sandbox', 'create', 'second']);
    await expectShape('list', ['sandbox', 'list']);
    await expectShape('url', ['sandbox', 'url'], sandbox);
    await expectShape('status', ['sandbox', 'status'], sandbox);
    await expectShape('down', ['sandbox', 'down'], sandbox);
    await expectShape('verify', ['sandbox', 'verify'], sandbox);
    await expectShape('destroy', ['sandbox', 'destroy', 'second', '--keep-worktree', '--yes']);
    await expectShape('init', ['sandbox', 'init'], `${ws.dev}/ktrdr--second`);
  });

  it('init-shared, doctor, provision, slots, release', async () => {
    await expectShape('init-shared', ['sandbox', 'init-shared', '--minimal']);
    const doctor = await expectShape('doctor', ['sandbox', 'doctor']);
    expect(doctor.findings.length).toBeGreaterThan(5);
    await expectShape('doctor', ['sandbox', 'doctor', '--repair']);
    await expectShape('provision', ['sandbox', 'provision', '--dry-run']);
    await expectShape('slots', ['sandbox', 'slots']);
    await expectShape('release', ['sandbox', 'release', '6']).catch(() => undefined);
  });

  it('errors: one document on stderr with a stable code, message and hint; gate failures carry the gate', async () => {
    const cases: [string[], string, string | undefined][] = [
      [['sandbox', 'destroy', 'nope'], 'unknown-instance', undefined],
      [['sandbox', 'create', '!!!'], 'invalid-name', undefined],
      [['sandbox', 'create'], 'usage', undefined],
      [['sandbox', 'gate', '--timeout', '1'], 'gate-failed', sandbox],
    ];
    for (const [args, code, cwd] of cases) {
      const r = await ws.run([...args, '--json'], cwd ? { cwd } : {});
      expect(r.code, r.stderr).not.toBe(0);
      expect(r.stdout).toBe('');
      const doc = parseJson(r.stderr);
      const parsed = errorDocument.safeParse(doc);
      expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
      expect(doc.error.code).toBe(code);
      if (code === 'gate-failed') {
        const gate = JSON_OUTPUT.gate.shape.gate.safeParse(doc.error.details.gate);
        expect(gate.success ? [] : gate.error.issues).toEqual([]);
        // The first failing cause, as up, gate and the MCP tools up and wait_ready report it.
        const first = doc.error.details.gate.checks.find((c: { status: string }) => c.status === 'failed');
        expect(doc.error.details.gate.firstFailure).toEqual({
          check: first.name,
          message: first.message,
          tried: first.tried,
          got: first.got,
        });
        expect(first.tried).toEqual(expect.any(String));
      }
    }
  });
});
