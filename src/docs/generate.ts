// Documents generated from the code, so they cannot drift: the editor schema of kinfra.yaml and the port table. `npm
// run docs` writes them; a test checks the committed copies are current.

import { z } from 'zod';
import { builtInConfig } from '../core/config/config.js';
import { configFileSchema } from '../core/config/schema.js';
import { portFor } from '../core/ports.js';

export function kinfraJsonSchema(): string {
  const schema = z.toJSONSchema(configFileSchema, { io: 'input', target: 'draft-7' }) as Record<string, unknown>;
  return JSON.stringify({ title: 'kinfra.yaml', ...schema }, null, 2) + '\n';
}

export function portsMarkdown(): string {
  const config = builtInConfig();
  const head = ['Slot', ...config.ports.map((p) => `\`${p.env}\``)];
  const rows = [];
  for (let slot = 0; slot <= config.maxSlot; slot++) {
    rows.push([slot === 0 ? '0 (main)' : String(slot), ...config.ports.map((p) => String(portFor(p, slot)))]);
  }
  const formula = config.ports.map((p) => {
    const main = p.main !== undefined ? `; slot 0: ${p.main}` : '';
    return `- \`${p.env}\`: ${p.base} + ${p.step}×N${main}`;
  });
  return [
    '# Port scheme',
    '',
    'Generated from the built-in KTRDR layout by `npm run docs`; a test fails if this file is out of date.',
    '',
    'Slot 0 is the main checkout; sandboxes use slots 1-10. kinfra refuses any port plan (built in or from',
    '`kinfra.yaml`) in which two (slot, variable) pairs share a port. The OTLP ports step by 10: with a step',
    "of 1 (gRPC 4317+N, HTTP 4318+N), slot N's HTTP port would be slot N+1's gRPC port.",
    '',
    ...formula,
    '',
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    '',
  ].join('\n');
}

type JsonSchemaNode = {
  type?: string | string[];
  description?: string;
  properties?: Record<string, JsonSchemaNode>;
  required?: string[];
  additionalProperties?: JsonSchemaNode | boolean;
  items?: JsonSchemaNode;
  anyOf?: JsonSchemaNode[];
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  pattern?: string;
};

/** docs/configuration-reference.md: every key of kinfra.yaml, from the same schema that checks it. */
export function configReferenceMarkdown(): string {
  const root = JSON.parse(kinfraJsonSchema()) as JsonSchemaNode;
  const rows: string[][] = [];
  const typeOf = (n: JsonSchemaNode): string => {
    if (n.enum) return n.enum.map((v) => `\`${JSON.stringify(v)}\``).join(' \\| ');
    if (n.anyOf) return n.anyOf.map(typeOf).join(' or ');
    if (n.type === 'array') return `list of ${n.items ? typeOf(n.items) : 'values'}`;
    if (n.type === 'object' && n.additionalProperties && typeof n.additionalProperties === 'object' && !n.properties)
      return 'map';
    return Array.isArray(n.type) ? n.type.join(' or ') : (n.type ?? 'any');
  };
  const limits = (n: JsonSchemaNode): string =>
    [
      n.maximum !== undefined && n.maximum < 1e9
        ? `${n.minimum ?? ''}..${n.maximum}`
        : n.minimum !== undefined
          ? `>= ${n.minimum}`
          : '',
      n.default !== undefined ? `default ${JSON.stringify(n.default)}` : '',
    ]
      .filter(Boolean)
      .join(', ');
  const walk = (n: JsonSchemaNode, path: string, required: boolean) => {
    if (path)
      rows.push([
        `\`${path}\``,
        typeOf(n),
        required ? 'yes' : '',
        limits(n),
        (n.description ?? '').replace(/\|/g, '\\|'),
      ]);
    if (n.properties)
      for (const [k, v] of Object.entries(n.properties))
        walk(v, path ? `${path}.${k}` : k, (n.required ?? []).includes(k));
    if (n.additionalProperties && typeof n.additionalProperties === 'object')
      walk(n.additionalProperties, `${path}.<name>`, false);
    if (n.items?.properties) walk({ ...n.items, description: undefined }, `${path}[]`, false);
  };
  walk(root, '', true);
  return [
    '# kinfra.yaml reference',
    '',
    'Generated from the schema that checks kinfra.yaml (`src/core/config/schema.ts`) by `npm run docs`; ' +
      'a test fails if it is out of date.',
    'How the pieces fit together, with examples: [configuration.md](configuration.md). Editor schema: ' +
      '[schema/kinfra.schema.json](../schema/kinfra.schema.json).',
    '',
    '| Key | Type | Required | Range, default | Meaning |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    '',
  ].join('\n');
}
