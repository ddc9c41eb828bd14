// `kinfra mcp`: an MCP server over stdio whose tools are the catalogue's operations, run with the same use cases,
// locks and refusals as the CLI (an agent can do nothing through it that the CLI would refuse). A failure is a tool
// result with isError and the error's code, message and hint; stdout carries protocol messages only.
import { resolve } from 'node:path';
import { z } from 'zod';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { appContext } from '../app/context.js';
import { entryByName } from '../app/sandbox-entry.js';
import type { Session } from '../app/session.js';
import { isKinfraError } from '../core/errors.js';
import { CATALOGUE } from '../operations/catalogue.js';
import type { AnyOperation, Printer } from '../operations/operation.js';
import { table } from '../cli/render.js';
import { annotations, handlerInput, inputShape, isTool, requiredInputs, toolName } from './tools.js';

export interface McpOptions {
  cwd: string;
  version: string;
  allowForce: boolean;
}

/** Nobody to ask, nowhere to draw: a tool call never prompts (destroy needs its `yes` input, as --json does). */
const quietSession: Session = {
  interactive: false,
  confirm: async () => false,
  progress: () => undefined,
  signal: new AbortController().signal,
};

function textOf(op: AnyOperation, value: unknown, input: Record<string, unknown>): string {
  if (!op.render) return JSON.stringify(value);
  const lines: string[] = [];
  const plain = (s: string) => s;
  const p: Printer = {
    out: (l = '') => void lines.push(l),
    err: (l = '') => void lines.push(l),
    c: { bold: plain, dim: plain, red: plain, green: plain, yellow: plain },
    table: (head, rows) => table(head, rows, plain),
    tty: false,
  };
  op.render(value, p, input);
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

/** The folder a call acts from: the sandbox it names, the path it gives, or the server's own. */
async function folderOf(cwd: string, args: Record<string, unknown>): Promise<string> {
  if (typeof args.sandbox === 'string' && args.sandbox !== '') {
    const ctx = appContext(cwd);
    return entryByName(await ctx.registry.snapshot(), args.sandbox)[1].path;
  }
  return typeof args.path === 'string' && args.path !== '' ? resolve(cwd, args.path) : cwd;
}

function register(server: McpServer, op: AnyOperation, opts: McpOptions): void {
  const shape = inputShape(z, op, opts.allowForce);
  const required = new Set(requiredInputs(op));
  server.registerTool(
    toolName(op),
    {
      title: op.summary,
      description: `${op.description}${required.size ? ` Required: ${[...required].join(', ')}.` : ''}`,
      inputSchema: shape,
      outputSchema: (op.result!(z) as z.ZodObject).shape,
      annotations: annotations(op),
    },
    async (args: Record<string, unknown>) => {
      try {
        const missing = [...required].filter((n) => args[n] === undefined);
        if (missing.length > 0) throw new Error(`missing input: ${missing.join(', ')}`);
        const ctx = appContext(await folderOf(opts.cwd, args));
        const input = handlerInput(op, args);
        const value = await op.run(ctx, input, quietSession);
        const outcome = op.outcome?.(value) ?? 'ok';
        if (isKinfraError(outcome)) return errorResult(outcome);
        const text = textOf(op, value, input);
        return { content: [{ type: 'text' as const, text }], structuredContent: value as Record<string, unknown> };
      } catch (e) {
        return errorResult(e);
      }
    },
  );
}

/** Serve until the client closes stdin. */
export async function serveMcp(opts: McpOptions): Promise<void> {
  const server = new McpServer({ name: 'kinfra', version: opts.version });
  for (const op of CATALOGUE.filter(isTool)) register(server, op, opts);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((done) => (transport.onclose = () => done()));
  await server.connect(transport);
  await closed;
}
