import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/cli/exit-codes.js';
import { configReferenceMarkdown, kinfraJsonSchema, portsMarkdown } from '../../src/docs/generate.js';
import { jsonOutputSchema } from '../../src/docs/json-output.js';
import { commandsMarkdown } from '../../src/docs/commands.js';
import { mcpToolsMarkdown } from '../../src/docs/mcp-tools.js';
import { httpApiMarkdown } from '../../src/docs/http-api.js';
import { REPO_ROOT } from '../helpers/cli.js';

const read = (p: string) => readFileSync(join(REPO_ROOT, p), 'utf8');

describe('documents generated from the code are current (run `npm run docs` to refresh)', () => {
  it('schema/kinfra.schema.json', () => expect(read('schema/kinfra.schema.json')).toBe(kinfraJsonSchema()));
  it('docs/ports.md', () => expect(read('docs/ports.md')).toBe(portsMarkdown()));
  it('docs/configuration-reference.md', () =>
    expect(read('docs/configuration-reference.md')).toBe(configReferenceMarkdown()));
  it('schema/json-output.schema.json', () => expect(read('schema/json-output.schema.json')).toBe(jsonOutputSchema()));
  it('docs/commands.md', () => expect(read('docs/commands.md')).toBe(commandsMarkdown()));
  it('docs/mcp-tools.md', () => expect(read('docs/mcp-tools.md')).toBe(mcpToolsMarkdown()));
  it('docs/http-api.md', () => expect(read('docs/http-api.md')).toBe(httpApiMarkdown()));
  it('docs/exit-codes.md lists every exit code of the code', () => {
    const doc = read('docs/exit-codes.md');
    for (const code of new Set(Object.values(EXIT_CODES))) expect(doc).toMatch(new RegExp(`^\\| ${code} \\|`, 'm'));
  });
});
