// `kinfra sandbox verify`: whether a compose file is safe to run as many sandboxes side by side.

import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../adapters/config-loader.js';
import { readTextIfExists } from '../adapters/file-store.js';
import { pathExists } from '../adapters/folders.js';
import { repoToplevel } from '../adapters/git.js';
import { verifyCompose, type Finding } from '../core/compose-verify.js';
import { KinfraError, usageError } from '../core/errors.js';
import type { AppContext } from './context.js';
import { findComposeFile } from './compose-file.js';

export interface VerifyResult {
  file: string;
  configSource: string;
  errors: number;
  warnings: number;
  findings: Finding[];
}

/** `kinfra sandbox verify [file]`: sandbox safety of a compose file; errors exit 10. */
export async function verifyComposeFile(ctx: AppContext, file: string | undefined): Promise<VerifyResult> {
  const top = await repoToplevel(ctx.cwd).catch(() => ctx.cwd);
  const path = file !== undefined ? resolve(ctx.cwd, file) : undefined;
  const config = await loadConfig(path ? await repoToplevel(dirname(path)).catch(() => top) : top);
  const target = path ?? findComposeFile(top, config);
  if (!pathExists(target))
    throw usageError(
      'no-such-file',
      `${file}: no such file.`,
      'Name a compose file, e.g. kinfra sandbox verify docker-compose.yml',
    );
  const text = (await readTextIfExists(target)) ?? '';
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
  const findings = verifyCompose(doc, config);
  const result = {
    file: target,
    configSource: config.source,
    errors: findings.filter((f) => f.severity === 'error').length,
    warnings: findings.filter((f) => f.severity === 'warning').length,
    findings,
  };
  if (result.errors > 0) {
    throw new KinfraError(
      'verify',
      'verify-failed',
      `${target} is not sandbox-safe: ${result.errors} problem(s)` +
        `${result.warnings ? ` and ${result.warnings} warning(s)` : ''}:\n` +
        findings
          .map((f) => `  ${f.severity === 'error' ? '✗' : '!'} ${f.service}: ${f.message}\n    fix: ${f.fix}`)
          .join('\n'),
      'Fix each problem as shown, then run kinfra sandbox verify again.',
      { result },
    );
  }
  return result;
}
