// The catalogue's operations as MCP tools: the same inputs (as a zod shape), the same result schema (as the output
// schema), annotations from the effect. An operation is one tool of its own name unless it declares views (`gate` is
// `wait_ready`; `ports` is `ports` and `port_owner`). What is never a tool: an operation without a JSON result (exec,
// shell, compose), a hidden one, and the program's own commands.
import type { z } from 'zod';
import type { AnyOperation, Input, ToolView } from './operation.js';

type Zod = typeof z;

/** A tool: one view of one operation. */
export interface Tool {
  op: AnyOperation;
  view: ToolView;
}

/** Inputs a tool never takes: force flags unless the server allows them (`kinfra mcp --allow-force`). */
const FORCE_INPUTS = new Set(['force']);

/** The snake case MCP hosts show (`init-shared` -> `init_shared`). */
const snakeCase = (name: string): string => name.replace(/-/g, '_');

export function isToolable(op: AnyOperation): boolean {
  return op.result !== undefined && op.group !== 'program' && !op.hidden;
}

/** Every tool of the catalogue, in its order. */
export function catalogueTools(ops: readonly AnyOperation[]): Tool[] {
  return ops
    .filter(isToolable)
    .flatMap((op) => (op.tools ?? [{ name: snakeCase(op.name) }]).map((view) => ({ op, view })));
}

function schemaOf(z: Zod, input: Input, required: boolean): z.ZodType {
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
  s = s.describe(input.description);
  return required ? s : s.optional();
}

/** Which inputs the client must give: the operation's required arguments and the view's own. */
export function requiredInputs(t: Tool): string[] {
  const args = Object.entries(t.op.inputs)
    .filter(([, i]) => i.in === 'arg' && i.required)
    .map(([n]) => n);
  return [...new Set([...args, ...(t.view.required ?? [])])].filter((n) => !(n in (t.view.fixed ?? {})));
}

/** The inputs a tool offers: the operation's, less the program's, the view's fixed and omitted ones, and force. */
function offered(t: Tool, allowForce: boolean): [string, Input][] {
  const hidden = new Set([...Object.keys(t.view.fixed ?? {}), ...(t.view.omit ?? [])]);
  return Object.entries(t.op.inputs).filter(
    ([name, input]) =>
      !(input.in === 'option' && input.global) && !hidden.has(name) && (allowForce || !FORCE_INPUTS.has(name)),
  );
}

/** The tool's input shape, with `sandbox` or `path` for a sandbox-scoped one. */
export function inputShape(z: Zod, t: Tool, allowForce: boolean): Record<string, z.ZodType> {
  const required = new Set(requiredInputs(t));
  const shape: Record<string, z.ZodType> = {};
  for (const [name, input] of offered(t, allowForce)) shape[name] = schemaOf(z, input, required.has(name));
  if (t.op.target !== 'none') {
    shape.sandbox ??= z
      .string()
      .describe('the sandbox (name or instance id); default: the one holding `path`')
      .optional();
    shape.path = z.string().describe("a folder: the sandbox that holds it (default: the server's folder)").optional();
  }
  return shape;
}

/** The handler's input: the view's fixed inputs, what the client gave, and each option's default where it gave none. */
export function handlerInput(t: Tool, given: Record<string, unknown>): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  const fixed = t.view.fixed ?? {};
  for (const [name, spec] of Object.entries(t.op.inputs)) {
    if (name in fixed) input[name] = fixed[name];
    else if (given[name] !== undefined && !t.view.omit?.includes(name)) input[name] = given[name];
    else if (spec.in === 'option' && spec.default !== undefined) input[name] = spec.default;
  }
  return input;
}

export function toolTitle(t: Tool): string {
  return t.view.summary ?? t.op.summary;
}

export function toolDescription(t: Tool): string {
  const required = requiredInputs(t);
  return `${t.view.description ?? t.op.description}${required.length ? ` Required: ${required.join(', ')}.` : ''}`;
}

export function annotations(t: Tool) {
  return {
    title: toolTitle(t),
    readOnlyHint: t.op.effect === 'reads',
    destructiveHint: t.op.effect === 'destroys',
    idempotentHint: t.op.effect === 'reads',
    openWorldHint: false,
  };
}
