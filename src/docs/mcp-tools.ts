// docs/mcp-tools.md: every tool `kinfra mcp` offers, with its CLI twin, annotations and schemas, generated from the
// catalogue the server reads (what `npm run docs` writes; a test fails when the committed copy is out of date, and
// another compares it with what a running server lists).
import { z } from 'zod';
import { annotations, catalogueTools, inputShape, toolDescription, toolTitle, type Tool } from '../mcp/tools.js';
import { CATALOGUE } from '../operations/catalogue.js';

/** The JSON Schemas a client sees for a tool (the server started without --allow-force). */
export function toolSchemas(t: Tool): { input: unknown; output: unknown } {
  return {
    input: z.toJSONSchema(z.object(inputShape(z, t, false))),
    output: z.toJSONSchema(t.op.result!(z)),
  };
}

/** The command line a tool runs as. */
function twin(t: Tool): string {
  const fixed = Object.entries(t.view.fixed ?? {});
  const words = [t.op.group === 'program' ? `kinfra ${t.op.name}` : `kinfra sandbox ${t.op.name}`];
  for (const [name, value] of fixed) {
    const input = t.op.inputs[name]!;
    if (input.in === 'arg') words.push(String(value));
    else if (value === true) words.push(input.flags.split(', ').pop()!);
  }
  if (t.view.required?.length) words.push(...t.view.required.map((n) => `<${n}>`));
  return `${words.join(' ')} --json`;
}

function section(t: Tool): string[] {
  const a = annotations(t);
  const hints = [a.readOnlyHint && 'read-only', a.destructiveHint && 'destructive'].filter(Boolean).join(', ');
  const { input, output } = toolSchemas(t);
  return [
    `## \`${t.view.name}\``,
    '',
    `${toolTitle(t)}. CLI twin: \`${twin(t)}\`. Effect: ${t.op.effect}${hints ? ` (${hints})` : ''}.`,
    '',
    toolDescription(t),
    '',
    '<details><summary>Input schema</summary>',
    '',
    '```json',
    JSON.stringify(input, null, 2),
    '```',
    '',
    '</details>',
    '',
    '<details><summary>Output schema (structured content)</summary>',
    '',
    '```json',
    JSON.stringify(output, null, 2),
    '```',
    '',
    '</details>',
    '',
  ];
}

export function mcpToolsMarkdown(): string {
  const tools = catalogueTools(CATALOGUE);
  return [
    '# MCP tools',
    '',
    'Generated from the operation catalogue (`src/operations/`) by `npm run docs`; a test fails if this file is out',
    'of date, and another compares it with what `kinfra mcp` lists. Every tool is an operation with a CLI twin: the',
    'same input, the same result (the `data` of its `--json` document, as structured content), the same locks and',
    'refusals. Every sandbox-scoped tool also takes `sandbox` (name or instance id) or `path` (a folder); with',
    "neither it acts on the server's working folder. `force` inputs exist only when the server was started with",
    '`kinfra mcp --allow-force`. A failure is a result with `isError: true`: a text line, then the error document',
    '`{"error": {code, category, message, hint, details}}` as a second text content. `create`, `up` and',
    '`wait_ready` send progress notifications when the call carries a progress token.',
    '',
    '| Tool | CLI twin | Effect |',
    '|---|---|---|',
    ...tools.map((t) => `| [\`${t.view.name}\`](#${t.view.name}) | \`${twin(t)}\` | ${t.op.effect} |`),
    '',
    ...tools.flatMap(section),
  ].join('\n');
}
