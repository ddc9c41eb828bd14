import { z } from 'zod';
import { builtInConfig } from '../core/config/config.js';
import { configFileSchema } from '../core/config/schema.js';
import { portFor } from '../core/ports.js';

/**
 * Documents generated from the code, so they cannot drift: the editor schema of
 * kinfra.yaml and the port table. `npm run docs` writes them; a test checks the
 * committed copies are current.
 */
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
    '`kinfra.yaml`) in which two (slot, variable) pairs share a port. The OTLP ports step by 10: the design',
    "seed's 4317+N / 4318+N would give slot N's HTTP port to slot N+1's gRPC.",
    '',
    ...formula,
    '',
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    '',
  ].join('\n');
}
