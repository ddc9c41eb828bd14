// `npm run docs`: writes the documents generated from the code.
import { mkdirSync, writeFileSync } from 'node:fs';
import { kinfraJsonSchema, portsMarkdown } from '../dist/index.js';

mkdirSync('schema', { recursive: true });
writeFileSync('schema/kinfra.schema.json', kinfraJsonSchema());
writeFileSync('docs/ports.md', portsMarkdown());
console.log('wrote schema/kinfra.schema.json, docs/ports.md');
