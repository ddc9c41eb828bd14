// A tool as JSON Schema (its input, its result) and as the command line it runs as: what MCP's tool list, the HTTP
// API's catalogue and their generated docs show.
import { z } from 'zod';
import { inputShape, type Tool } from './tools.js';

/** The JSON Schemas a client sees for a tool (never with `force`). */
export function toolSchemas(t: Tool): { input: unknown; output: unknown } {
  return {
    input: z.toJSONSchema(z.object(inputShape(z, t, false))),
    output: z.toJSONSchema(t.op.result!(z)),
  };
}

/** The command line a tool runs as (`kinfra sandbox gate --json`). */
export function cliTwin(t: Tool): string {
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
