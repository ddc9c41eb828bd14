// One call of a catalogue tool, as the surfaces other than the CLI make it (MCP, the HTTP API): the folder it acts
// from, its inputs checked against the tool's schema, and the operation run through the same use case, locks and
// refusals as the CLI. The outcome is the operation's value, or the error document `--json` prints.
import { resolve } from 'node:path';
import { z } from 'zod';
import { appContext } from '../app/context.js';
import { entryByName } from '../app/sandbox-entry.js';
import type { Session } from '../app/session.js';
import { isKinfraError, usageError, type ErrorCategory } from '../core/errors.js';
import { handlerInput, inputShape, requiredInputs, type Tool } from './tools.js';

/** A failure as `--json`, MCP and the HTTP API show it. */
export interface ErrorDocument {
  code: string;
  category: ErrorCategory | 'internal';
  message: string;
  hint: string | null;
  details: Record<string, unknown> | null;
}

export type ToolOutcome =
  { ok: true; value: unknown; input: Record<string, unknown> } | { ok: false; error: ErrorDocument };

export const SCHEMA_HINT = "The tool's input schema says what it takes.";

export function errorDocument(e: unknown): ErrorDocument {
  if (isKinfraError(e)) {
    return { code: e.code, category: e.category, message: e.message, hint: e.hint ?? null, details: e.details ?? null };
  }
  const message = e instanceof Error ? e.message : String(e);
  return { code: 'internal', category: 'internal', message, hint: null, details: null };
}

/** The folder a call acts from: the sandbox it names, the path it gives, or the surface's own. */
export async function folderOf(cwd: string, args: Record<string, unknown>): Promise<string> {
  if (typeof args.sandbox === 'string' && args.sandbox !== '') {
    const ctx = appContext(cwd);
    return entryByName(await ctx.registry.snapshot(), args.sandbox)[1].path;
  }
  return typeof args.path === 'string' && args.path !== '' ? resolve(cwd, args.path) : cwd;
}

/** The arguments as the tool's input schema reads them, or the refusal that names what is wrong. */
export function checkedArguments(t: Tool, args: unknown, allowForce: boolean): Record<string, unknown> {
  const parsed = z.strictObject(inputShape(z, t, allowForce)).safeParse(args ?? {});
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    const where = first.path.length ? `${first.path.join('.')}: ` : '';
    throw usageError('invalid-arguments', `Invalid input: ${where}${first.message}.`, SCHEMA_HINT);
  }
  const given = parsed.data as Record<string, unknown>;
  const missing = requiredInputs(t).filter((n) => given[n] === undefined);
  if (missing.length > 0) throw usageError('invalid-arguments', `Missing input: ${missing.join(', ')}.`, SCHEMA_HINT);
  return given;
}

/** A call's session with nobody to ask and nowhere to report: a destroy needs its `yes` input, as --json does. */
export function documentSession(signal: AbortSignal): Session {
  return { interactive: false, document: true, confirm: async () => false, progress: () => undefined, signal };
}

export interface CallOptions {
  cwd: string;
  allowForce: boolean;
  session: Session;
}

/** Run the tool's operation with `args`; every failure (a refusal, an error the operation reports) is the error. */
export async function callTool(t: Tool, args: unknown, opts: CallOptions): Promise<ToolOutcome> {
  try {
    const given = checkedArguments(t, args, opts.allowForce);
    const ctx = appContext(await folderOf(opts.cwd, given));
    const input = handlerInput(t, given);
    const value = await t.op.run(ctx, input, opts.session);
    const outcome = t.op.outcome?.(value) ?? 'ok';
    if (isKinfraError(outcome)) return { ok: false, error: errorDocument(outcome) };
    return { ok: true, value, input };
  } catch (e) {
    return { ok: false, error: errorDocument(e) };
  }
}
