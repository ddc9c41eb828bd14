// A running gate's record for the dashboard (src/app/gate-record.ts), written to a real folder.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readGateRecords } from '../../src/adapters/gate-records.js';
import { statePaths } from '../../src/adapters/paths.js';
import { gateRecorder } from '../../src/app/gate-record.js';
import type { CheckResult } from '../../src/core/gate.js';

const roots: string[] = [];
afterEach(() => roots.splice(0).forEach((r) => rmSync(r, { recursive: true, force: true })));

const check = (status: CheckResult['status'], attempts: number): CheckResult => ({
  name: 'Backend',
  status,
  message: `Backend: ${status}`,
  details: [],
  attempts,
  elapsedMs: attempts * 10,
  tried: 'GET /health',
  got: status === 'passed' ? 'returned 200' : 'returned 503',
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the gate record', () => {
  it('says what a running gate has so far, at most every 100 ms, then its result', async () => {
    const home = mkdtempSync(join(tmpdir(), 'kinfra-gate-record-'));
    roots.push(home);
    const paths = statePaths(home);
    const r = gateRecorder(paths, 'ktrdr--a');
    for (let i = 1; i <= 20; i++) r.changed([check('waiting', i)]);
    await sleep(30);
    const first = readGateRecords(paths.gatesDir);
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({ instanceId: 'ktrdr--a', running: true });
    // Changes in one turn are one write, of the latest; a change soon after waits for the next window.
    expect(first[0]!.gate.checks[0]!.attempts).toBe(20);
    r.changed([check('waiting', 21)]);
    await sleep(20);
    expect(readGateRecords(paths.gatesDir)[0]!.gate.checks[0]!.attempts).toBe(20);
    await sleep(120);
    expect(readGateRecords(paths.gatesDir)[0]!.gate.checks[0]!.attempts).toBe(21);
    r.finished({
      passed: true,
      interrupted: false,
      checks: [check('passed', 21)],
      durationMs: 210,
      firstFailure: null,
    });
    r.changed([check('waiting', 22)]);
    r.abandoned();
    await sleep(120);
    const last = readGateRecords(paths.gatesDir)[0]!;
    expect(last).toMatchObject({ running: false, gate: { passed: true } });
    expect(readdirSync(paths.gatesDir)).toEqual(['ktrdr--a.json']);
  });

  it('a gate ended by an error no longer says it runs', async () => {
    const home = mkdtempSync(join(tmpdir(), 'kinfra-gate-record-'));
    roots.push(home);
    const paths = statePaths(home);
    const r = gateRecorder(paths, 'ktrdr--b');
    r.changed([check('waiting', 1)]);
    r.abandoned();
    await sleep(20);
    expect(readGateRecords(paths.gatesDir)[0]).toMatchObject({ running: false, gate: { interrupted: true } });
  });
});
