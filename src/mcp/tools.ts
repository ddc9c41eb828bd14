// The catalogue's operations as MCP tools: the same inputs (as a zod shape), the same result schema (as the output
// schema), annotations from the effect. What a tool cannot be: an operation that hands over the terminal (logs,
// shell, exec, compose) or has no JSON result, and the program's own commands.
import type { z } from 'zod';
import type { AnyOperation, Input } from '../operations/operation.js';

type Zod = typeof z;

/** A tool's name: the operation's, in the snake case MCP hosts show (`init-shared` -> `init_shared`). */
export const toolName = (op: AnyOperation): string => op.name.replace(/-/g, '_');

/** Inputs a tool never takes: force flags unless the server allows them (`kinfra mcp --allow-force`). */
const FORCE_INPUTS = new Set(['force']);

export function isTool(op: AnyOperation): boolean {
  return op.result !== undefined && op.streams !== 'terminal' && op.group !== 'program' && !op.hidden;
}

function schemaOf(z: Zod, input: Input): z.ZodType {
  let s: z.ZodType;
  if (input.in === 'arg' && input.choices) s = z.enum(input.choices as [string, ...string[]]);
  else if (input.type === 'int') {
    let n = z.number().int();
    if (input.min !== undefined) n = n.min(input.min);
    if (input.max !== undefined) n = n.max(input.max);
    s = n;
  } else if (input.type === 'boolean') s = z.boolean();
  else if (input.type === 'strings') s = z.array(z.string());
  else s = z.string();
  return s.describe(input.description).optional();
}

/** The tool's input shape: the operation's inputs, and `sandbox` or `path` for a sandbox-scoped one. */
export function inputShape(z: Zod, op: AnyOperation, allowForce: boolean): Record<string, z.ZodType> {
  const shape: Record<string, z.ZodType> = {};
  for (const [name, input] of Object.entries(op.inputs)) {
    if (input.in === 'option' && input.global) continue;
    if (FORCE_INPUTS.has(name) && !allowForce) continue;
    shape[name] = schemaOf(z, input);
  }
  if (op.target !== 'none') {
    shape.sandbox ??= z
      .string()
      .describe('the sandbox (name or instance id); default: the one holding `path`')
      .optional();
    shape.path = z.string().describe("a folder: the sandbox that holds it (default: the server's folder)").optional();
  }
  return shape;
}

/** Which inputs must be given: the operation's required arguments. */
export function requiredInputs(op: AnyOperation): string[] {
  return Object.entries(op.inputs)
    .filter(([, i]) => i.in === 'arg' && i.required)
    .map(([n]) => n);
}

/** The handler's input: what the client gave, and each option's default where it gave none (as the CLI does). */
export function handlerInput(op: AnyOperation, given: Record<string, unknown>): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(op.inputs)) {
    if (given[name] !== undefined) input[name] = given[name];
    else if (spec.in === 'option' && spec.default !== undefined) input[name] = spec.default;
  }
  return input;
}

export function annotations(op: AnyOperation) {
  return {
    title: op.summary,
    readOnlyHint: op.effect === 'reads',
    destructiveHint: op.effect === 'destroys',
    idempotentHint: op.effect === 'reads',
    openWorldHint: false,
  };
}
