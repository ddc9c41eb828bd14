// `kinfra mcp`: an MCP server over stdio whose tools are the catalogue's operations, run with the same use cases,
// locks and refusals as the CLI (an agent can do nothing through it that the CLI would refuse). A failure is a tool
// result with isError and the error's code, message and hint; stdout carries protocol messages only.
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { ProgressEvent, Session } from '../app/session.js';
import { usageError } from '../core/errors.js';
import { CATALOGUE } from '../operations/catalogue.js';
import type { Printer } from '../operations/operation.js';
import { table } from '../cli/render.js';
import { progressMessage } from './progress.js';
import { annotations, catalogueTools, inputShape, toolDescription, toolTitle, type Tool } from '../operations/tools.js';
import { callTool, errorDocument, SCHEMA_HINT, type ErrorDocument } from '../operations/tool-call.js';

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

function errorResult(error: ErrorDocument) {
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

/** What the SDK itself refuses (arguments its schema rejects, an unknown tool), in kinfra's error shape. */
function sdkRefusal(message: string) {
  return errorResult(errorDocument(usageError('invalid-arguments', message, SCHEMA_HINT)));
}

function register(server: McpServer, t: Tool, opts: McpOptions): void {
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
      const session = callSession(extra);
      const out = await callTool(t, args, { cwd: opts.cwd, allowForce: opts.allowForce, session });
      await session.settled();
      if (!out.ok) return errorResult(out.error);
      return {
        content: [{ type: 'text' as const, text: textOf(t, out.value, out.input) }],
        structuredContent: out.value as Record<string, unknown>,
      };
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
