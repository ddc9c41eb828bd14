// `kinfra mcp`: an MCP server over stdio whose tools are the catalogue's operations, run with the same use cases,
// locks and refusals as the CLI (an agent can do nothing through it that the CLI would refuse). A failure is a tool
// result with isError and the error's code, message and hint; stdout carries protocol messages only.
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { appContext } from '../app/context.js';
import { entryByName } from '../app/sandbox-entry.js';
import type { ProgressEvent, Session } from '../app/session.js';
import { isKinfraError, usageError } from '../core/errors.js';
import { CATALOGUE } from '../operations/catalogue.js';
import type { Printer } from '../operations/operation.js';
import { table } from '../cli/render.js';
import { progressMessage } from './progress.js';
import {
  annotations,
  catalogueTools,
  handlerInput,
  inputShape,
  requiredInputs,
  toolDescription,
  toolTitle,
  type Tool,
} from './tools.js';

export interface McpOptions {
  cwd: string;
  version: string;
  allowForce: boolean;
}

/** What the SDK hands a tool's handler that kinfra uses: the request's cancellation and its progress channel. */
interface CallExtra {
  signal: AbortSignal;
  _meta?: { progressToken?: string | number } | undefined;
  sendNotification(n: {
    method: 'notifications/progress';
    params: { progressToken: string | number; progress: number; message: string };
  }): Promise<void>;
}

/**
 * Nobody to ask, nowhere to draw: a tool call never prompts (destroy needs its `yes` input, as --json does). Its
 * progress goes to the client as notifications when the client asked for them (a progress token), and a cancelled
 * request stops the wait it is in.
 */
function callSession(extra: CallExtra): Session & { settled(): Promise<void> } {
  const token = extra._meta?.progressToken;
  let progress = 0;
  const sent: Promise<void>[] = [];
  return {
    interactive: false,
    document: true,
    confirm: async () => false,
    progress(e: ProgressEvent) {
      if (token === undefined) return;
      const params = { progressToken: token, progress: ++progress, message: progressMessage(e) };
      sent.push(extra.sendNotification({ method: 'notifications/progress', params }).catch(() => undefined));
    },
    signal: extra.signal,
    /**
     * Every notification written, and a moment given before the result: the SDK's client (1.x) drops a progress
     * notification that reaches it in the same read as the response (typescript-sdk#2580).
     */
    async settled() {
      if (sent.length === 0) return;
      await Promise.all(sent);
      await sleep(20);
    },
  };
}

function textOf(t: Tool, value: unknown, input: Record<string, unknown>): string {
  if (!t.op.render) return JSON.stringify(value);
  const lines: string[] = [];
  const plain = (s: string) => s;
  const p: Printer = {
    out: (l = '') => void lines.push(l),
    err: (l = '') => void lines.push(l),
    c: { bold: plain, dim: plain, red: plain, green: plain, yellow: plain },
    table: (head, rows) => table(head, rows, plain),
    tty: false,
  };
  t.op.render(value, p, input);
  return lines.join('\n');
}

function errorResult(e: unknown) {
  const error = isKinfraError(e)
    ? { code: e.code, category: e.category, message: e.message, hint: e.hint ?? null, details: e.details ?? null }
    : {
        code: 'internal',
        category: 'internal',
        message: (e as Error)?.message ?? String(e),
        hint: null,
        details: null,
      };
  const text = `Error (${error.code}): ${error.message}${error.hint ? `\nHint: ${error.hint}` : ''}`;
  // No structured content: it would have to match the tool's result schema. The error document is the second text.
  return {
    isError: true,
    content: [
      { type: 'text' as const, text },
      { type: 'text' as const, text: JSON.stringify({ error }) },
    ],
  };
}

const SCHEMA_HINT = "The tool's input schema (tools/list) says what it takes.";

/** What the SDK itself refuses (arguments its schema rejects, an unknown tool), in kinfra's error shape. */
function sdkRefusal(message: string) {
  return errorResult(usageError('invalid-arguments', message, SCHEMA_HINT));
}

/** The folder a call acts from: the sandbox it names, the path it gives, or the server's own. */
async function folderOf(cwd: string, args: Record<string, unknown>): Promise<string> {
  if (typeof args.sandbox === 'string' && args.sandbox !== '') {
    const ctx = appContext(cwd);
    return entryByName(await ctx.registry.snapshot(), args.sandbox)[1].path;
  }
  return typeof args.path === 'string' && args.path !== '' ? resolve(cwd, args.path) : cwd;
}

function register(server: McpServer, t: Tool, opts: McpOptions): void {
  const required = requiredInputs(t);
  server.registerTool(
    t.view.name,
    {
      title: toolTitle(t),
      description: toolDescription(t),
      inputSchema: inputShape(z, t, opts.allowForce),
      outputSchema: (t.op.result!(z) as z.ZodObject).shape,
      annotations: annotations(t),
    },
    async (args: Record<string, unknown>, extra: CallExtra) => {
      try {
        const missing = required.filter((n) => args[n] === undefined);
        if (missing.length > 0)
          throw usageError('invalid-arguments', `Missing input: ${missing.join(', ')}.`, SCHEMA_HINT);
        const ctx = appContext(await folderOf(opts.cwd, args));
        const input = handlerInput(t, args);
        const session = callSession(extra);
        const value = await t.op.run(ctx, input, session).finally(() => session.settled());
        const outcome = t.op.outcome?.(value) ?? 'ok';
        if (isKinfraError(outcome)) return errorResult(outcome);
        return {
          content: [{ type: 'text' as const, text: textOf(t, value, input) }],
          structuredContent: value as Record<string, unknown>,
        };
      } catch (e) {
        return errorResult(e);
      }
    },
  );
}

/** Serve until the client closes stdin. */
export async function serveMcp(opts: McpOptions): Promise<void> {
  // stdout is the protocol's: a stray console.log anywhere in the process would corrupt it.
  console.log = console.info = console.debug = console.error;
  const server = new McpServer({ name: 'kinfra', version: opts.version });
  // The SDK answers what it refuses itself with bare text; an own property shadows its (private) method, so those
  // failures carry a code and a hint like every other. A test pins this.
  Object.assign(server, { createToolError: sdkRefusal });
  for (const t of catalogueTools(CATALOGUE)) register(server, t, opts);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((done) => (transport.onclose = () => done()));
  await server.connect(transport);
  await closed;
}
