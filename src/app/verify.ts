// `kinfra sandbox verify`: whether a compose project is safe to run as many sandboxes side by side, and what kinfra
// cannot isolate in it. Two readings: the file as written (variables visible, the layout's rules), and the project as
// Compose reads it (every file, profile and `extends` applied), which says what every copy would share.

import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { looksLikeKtrdrText, loadConfig } from '../adapters/config-loader.js';
import { readTextIfExists } from '../adapters/file-store.js';
import { pathExists } from '../adapters/folders.js';
import { repoToplevel } from '../adapters/git.js';
import { builtInConfig, type Config } from '../core/config/config.js';
import { verifyCompose, type Finding } from '../core/compose-verify.js';
import { KinfraError, isKinfraError, usageError } from '../core/errors.js';
import { isolationFindings } from '../core/isolation.js';
import { planPorts } from '../core/derived-ports.js';
import { portFor } from '../core/ports.js';
import type { AppContext } from './context.js';
import { findComposeFiles } from './compose-file.js';
import { deriveLayout } from './derived-layout.js';
import { publishedPorts } from './published-ports.js';

export interface VerifyResult {
  file: string;
  configSource: string;
  errors: number;
  warnings: number;
  findings: Finding[];
}

/** What Compose's reading of the project adds: what copies share or cannot have, and ports kinfra cannot move. */
async function projectFindings(dir: string, config: Config): Promise<Finding[]> {
  let layout: Awaited<ReturnType<typeof deriveLayout>>;
  try {
    layout = await deriveLayout(dir, { ...config, derived: true });
  } catch (e) {
    if (!isKinfraError(e) || e.code !== 'compose-invalid') throw e;
    const why = String((e.details as { why?: unknown } | undefined)?.why ?? e.message);
    return [{ severity: 'error', service: '-', message: `Compose cannot read the project: ${why}`, fix: e.hint }];
  }
  // Compose's own project name for the main checkout: a volume named <project>_<key> is the default, not fixed.
  const project = String(layout.effective?.name ?? '');
  const out: Finding[] = isolationFindings(layout.effective, project);
  for (const problem of layout.problems) out.push({ severity: 'error', service: '-', message: problem, fix: '-' });
  // A slot whose port another project on this machine publishes now, or the main checkout publishes, is skipped by
  // create: said, not hidden.
  const busy = await publishedPorts(project);
  const plan = layout.config.ports;
  const main = new Map(plan.map((p) => [portFor(p, 0), p]));
  const mainPorts = planPorts(plan, 0);
  for (let slot = 1; slot <= layout.config.maxSlot; slot++) {
    for (const p of plan) {
      const ofMain = main.get(portFor(p, slot));
      if (ofMain && ofMain !== p) {
        out.push({
          severity: 'warning',
          service: p.name,
          message:
            `slot ${slot}'s ${p.env} (${portFor(p, slot)}) is the main checkout's ${ofMain.env}: ` +
            `create skips slot ${slot}`,
          fix: `give ${p.env} another base or step in kinfra.yaml, or publish ${ofMain.name} on another port`,
        });
      }
      const who = busy.get(portFor(p, slot));
      if (who && !mainPorts.has(portFor(p, slot))) {
        out.push({
          severity: 'warning',
          service: p.name,
          message: `slot ${slot}'s ${p.env} (${portFor(p, slot)}) is published by ${who}: create skips slot ${slot}`,
          fix: 'stop what publishes it, or let kinfra take another slot',
        });
      }
    }
  }
  return out;
}

/** `kinfra sandbox verify [file]`: sandbox safety of a compose project; errors exit 10. */
export async function verifyComposeFile(ctx: AppContext, file: string | undefined): Promise<VerifyResult> {
  const top = await repoToplevel(ctx.cwd).catch(() => ctx.cwd);
  const path = file !== undefined ? resolve(ctx.cwd, file) : undefined;
  const dir = path ? await repoToplevel(dirname(path)).catch(() => top) : top;
  let config = await loadConfig(dir);
  const target = path ?? findComposeFiles(top, config).file;
  if (!pathExists(target))
    throw usageError(
      'no-such-file',
      `${file}: no such file.`,
      'Name a compose file, e.g. kinfra sandbox verify docker-compose.yml',
    );
  const text = (await readTextIfExists(target)) ?? '';
  // A file named on the command line decides the layout when its repository has no kinfra.yaml.
  if (config.derived && looksLikeKtrdrText(text)) config = builtInConfig();
  let doc: unknown;
  try {
    doc = parse(text, { merge: true, logLevel: 'error' });
  } catch (e) {
    throw usageError(
      'invalid-compose',
      `${target} is not valid YAML: ${(e as Error).message.split('\n')[0]}`,
      'Fix the YAML first.',
    );
  }
  const findings = [...verifyCompose(doc, config), ...(path === undefined ? await projectFindings(top, config) : [])];
  const result = {
    file: target,
    configSource: config.source,
    errors: findings.filter((f) => f.severity === 'error').length,
    warnings: findings.filter((f) => f.severity === 'warning').length,
    findings,
  };
  if (result.errors > 0) {
    const mark = { error: '✗', warning: '!', info: 'i' } as const;
    throw new KinfraError(
      'verify',
      'verify-failed',
      `${target} is not sandbox-safe: ${result.errors} problem(s)` +
        `${result.warnings ? ` and ${result.warnings} warning(s)` : ''}:\n` +
        findings.map((f) => `  ${mark[f.severity]} ${f.service}: ${f.message}\n    fix: ${f.fix}`).join('\n'),
      'Fix each problem as shown, then run kinfra sandbox verify again.',
      { result },
    );
  }
  return result;
}
