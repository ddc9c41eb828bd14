// docs/mcp-tools.md: every tool `kinfra mcp` offers, with its CLI twin, annotations and schemas, generated from the
// catalogue the server reads (what `npm run docs` writes; a test fails when the committed copy is out of date, and
// another compares it with what a running server lists).
import { annotations, catalogueTools, toolDescription, toolTitle, type Tool } from '../operations/tools.js';
import { cliTwin as twin, toolSchemas } from '../operations/tool-schemas.js';
import { CATALOGUE } from '../operations/catalogue.js';

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
