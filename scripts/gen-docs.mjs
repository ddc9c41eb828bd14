// `npm run docs`: writes the documents generated from the code.
import { mkdirSync, writeFileSync } from 'node:fs';
import {
  commandsMarkdown,
  configReferenceMarkdown,
  jsonOutputSchema,
  kinfraJsonSchema,
  httpApiMarkdown,
  mcpToolsMarkdown,
  portsMarkdown,
} from '../dist/index.js';

mkdirSync('schema', { recursive: true });
writeFileSync('schema/kinfra.schema.json', kinfraJsonSchema());
writeFileSync('docs/ports.md', portsMarkdown());
writeFileSync('schema/json-output.schema.json', jsonOutputSchema());
writeFileSync('docs/configuration-reference.md', configReferenceMarkdown());
writeFileSync('docs/commands.md', commandsMarkdown());
writeFileSync('docs/mcp-tools.md', mcpToolsMarkdown());
writeFileSync('docs/http-api.md', httpApiMarkdown());
console.log(
  'wrote schema/kinfra.schema.json, schema/json-output.schema.json, docs/ports.md, docs/configuration-reference.md, docs/commands.md, docs/mcp-tools.md, docs/http-api.md',
);
