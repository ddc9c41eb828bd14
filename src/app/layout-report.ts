// `kinfra sandbox layout [--write]`: the layout kinfra runs this checkout with (configured, derived, or both), as
// it would for a new sandbox now: its ports with where each came from, the gate, how the generated layer reaches
// Compose, and what cannot be isolated; with --write, the derived layout as a commented kinfra.yaml for review.
import { join, relative } from 'node:path';
import { detectCompose, mergeTagsSupported } from '../adapters/compose.js';
import { loadConfig } from '../adapters/config-loader.js';
import { readTextIfExists, writeTextAtomic } from '../adapters/file-store.js';
import { listWorktrees, repoToplevel } from '../adapters/git.js';
import { CONFIG_FILE_NAME, parseConfigText } from '../core/config/config.js';
import { layoutText, type LayoutPort } from '../core/config/layout-text.js';
import type { GateCheckSpec } from '../core/config/schema.js';
import { derivedGateSpecs } from '../core/derived-gate.js';
import { conflictError } from '../core/errors.js';
import { portFor } from '../core/ports.js';
import type { AppContext } from './context.js';
import { findComposeFiles } from './compose-file.js';
import { deriveLayout } from './derived-layout.js';

export interface LayoutReport {
  source: string;
  prefix: string;
  files: string[];
  merge: 'tags' | 'rendered';
  maxSlot: number;
  ports: LayoutPort[];
  gate: GateCheckSpec[];
  problems: string[];
  /** The kinfra.yaml written (--write), or null. */
  written: string | null;
}

export async function layoutReport(ctx: AppContext, req: { write: boolean }): Promise<LayoutReport> {
  const top = await repoToplevel(ctx.cwd);
  const main = (await listWorktrees(top))[0]?.path ?? top;
  const configured = await loadConfig(top, main);
  const layout = await deriveLayout(top, configured);
  const derived = new Map(layout.derived.map((d) => [d.env, d]));
  const ports: LayoutPort[] = layout.config.ports.map((p) => {
    const d = derived.get(p.env);
    return { ...p, service: d?.service, container: d?.container, derived: !!d, variable: d?.variable ?? false };
  });
  const byMain = new Map(ports.map((p) => [portFor(p, 0), p.name]));
  const gate = configured.gateDerived
    ? derivedGateSpecs(layout.effective ?? {}, (host) => byMain.get(host), configured.gate)
    : configured.gate;
  const composeFiles = findComposeFiles(top, configured);
  const files = [composeFiles.file, ...composeFiles.overrides].map((f) => relative(top, f));
  const merge = mergeTagsSupported(await detectCompose(), configured.merge) ? 'tags' : 'rendered';
  const report = {
    source: configured.source,
    prefix: configured.prefix,
    files,
    merge,
    maxSlot: configured.maxSlot,
    ports,
    gate,
    problems: layout.problems,
    written: null,
  } satisfies LayoutReport;
  if (!req.write) return report;
  return { ...report, written: await writeLayout(top, report) };
}

async function writeLayout(top: string, r: LayoutReport): Promise<string> {
  const file = join(top, CONFIG_FILE_NAME);
  if ((await readTextIfExists(file)) !== undefined) {
    throw conflictError(
      'config-exists',
      `${file} already exists: kinfra runs with it (${r.ports.filter((p) => !p.derived).length} port(s) named).`,
      'See what kinfra derives besides it with `kinfra sandbox layout`; move the file away to write a new one.',
      { file },
    );
  }
  if (r.source !== 'derived from the compose files') {
    throw conflictError(
      'layout-not-derived',
      `This checkout runs the ${r.source}, not a derived layout: there is nothing derived to write.`,
      'Write your own kinfra.yaml (docs/configuration.md); `kinfra sandbox layout` shows the ports kinfra adds.',
    );
  }
  const text = layoutText({ prefix: r.prefix, files: r.files, maxSlot: r.maxSlot, ports: r.ports, gate: r.gate });
  // What is written must read back as the same layout: checked before it lands in the user's tree.
  parseConfigText(text, file);
  await writeTextAtomic(file, text);
  return file;
}
