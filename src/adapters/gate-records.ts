// The last Startability Gate of each sandbox, as a file per sandbox (`~/.ktrdr/sandboxes/gates/<instance-id>.json`),
// written while the gate runs and when it ends, by whichever process runs it (a terminal's `up`, the dashboard's):
// the router reads them so a page shows a gate's checks turning green wherever it runs. A view, never a truth: the
// registry says which sandboxes exist, and a record of one it no longer holds is ignored.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GateResult } from '../core/gate.js';

export interface GateRecord {
  instanceId: string;
  /** The gate is still running (its checks so far). */
  running: boolean;
  /** When it was written (ISO). */
  at: string;
  gate: GateResult;
}

/** The file name of a sandbox's record: its id with anything but [a-z0-9._-] made `-` (ids already are). */
const fileOf = (dir: string, instanceId: string) => join(dir, `${instanceId.replace(/[^a-zA-Z0-9._-]/g, '-')}.json`);

/** Write a record whole (a temporary file renamed over it: a reader sees the old one or the new one). */
export function writeGateRecord(dir: string, record: GateRecord): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = fileOf(dir, record.instanceId);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(record)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

function isRecord(v: unknown): v is GateRecord {
  const r = v as GateRecord;
  return typeof r?.instanceId === 'string' && typeof r.running === 'boolean' && Array.isArray(r.gate?.checks);
}

/** Every readable record in `dir` (one being written, or unreadable, is skipped). */
export function readGateRecords(dir: string): GateRecord[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    try {
      const v: unknown = JSON.parse(readFileSync(join(dir, n), 'utf8'));
      return isRecord(v) ? [v] : [];
    } catch {
      return [];
    }
  });
}

export function removeGateRecord(dir: string, instanceId: string): void {
  rmSync(fileOf(dir, instanceId), { force: true });
}
