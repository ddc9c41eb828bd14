// What an operation is: one declaration that every surface (the CLI today; MCP tools and HTTP endpoints next)
// reads for its name, help, inputs, result, effect and handler. Inputs are described without zod so that building the
// CLI from them costs nothing at start-up; results are zod schemas built only when asked for (`result(z)`), so the
// JSON types are inferred from the schemas at compile time while zod stays off the start-up path.
import type { z } from 'zod';
import type { AppContext } from '../app/context.js';
import type { Session } from '../app/session.js';

export type { ProgressEvent, Session } from '../app/session.js';
import type { ErrorCategory, KinfraError } from '../core/errors.js';

/** Where completion finds the values of an input. */
export type ValueSource = 'instances' | 'services' | 'slots' | 'files';

interface InputBase {
  description: string;
  /** Values a shell completes for it (or a client offers). */
  complete?: ValueSource;
}

/** A positional argument. */
export interface ArgInput extends InputBase {
  in: 'arg';
  /** The word shown in usage: `<name>`, `[service]`, `<command...>`. */
  usage: string;
  type: 'string' | 'int' | 'strings';
  required: boolean;
  choices?: readonly string[];
  min?: number;
  max?: number;
  /**
   * A variadic argument that takes what follows as it is, options included (`compose logs --tail 5`): they are the
   * child's, not kinfra's.
   */
  passThrough?: boolean;
  /** How the number is named in its range error (`slot must be a whole number ...`). */
  label?: string;
}

/** An option (a flag with or without a value). */
export interface OptionInput extends InputBase {
  in: 'option';
  /** Commander's spelling: '-s, --slot <n>', '--no-wait', '--json'. */
  flags: string;
  type: 'string' | 'int' | 'boolean';
  min?: number;
  max?: number;
  /** The value when the option is not given; `--no-x` options default to true. */
  default?: string | number | boolean;
  /** An option of the program (`kinfra -p 8002 sandbox url`), not of the command. */
  global?: boolean;
}

export type Input = ArgInput | OptionInput;
export type Inputs = Record<string, Input>;

type ValueOf<I extends Input> = I extends { type: 'int' }
  ? number
  : I extends { type: 'boolean' }
    ? boolean
    : I extends { type: 'strings' }
      ? string[]
      : string;
type Given<I extends Input> = I extends { required: true } ? true : I extends { default: unknown } ? true : false;

/** The typed input a handler receives: required arguments and defaulted options are always there. */
export type InputOf<S extends Inputs> = { [K in keyof S as Given<S[K]> extends true ? K : never]: ValueOf<S[K]> } & {
  [K in keyof S as Given<S[K]> extends true ? never : K]?: ValueOf<S[K]> | undefined;
};

/** What an operation does to the world: MCP annotations and the HTTP API's guard of mutating requests read it. */
export type Effect = 'reads' | 'changes' | 'destroys';

/**
 * Which sandbox it acts on: `current` the one holding the working folder, `named` a name given (or the current
 * one), `slot` a pool slot, `none` no sandbox (the machine, the program).
 */
export type Target = 'current' | 'named' | 'slot' | 'none';

/**
 * How it reports while it runs: `result` only the result; `progress` events before the result (the gate's checks,
 * a copy's files); `terminal` it hands the terminal to a child (logs, shell, exec) and has no JSON result, unless it
 * declares one: then a surface that wants a document (--json, MCP) gets a bounded capture instead (logs).
 */
export type Streams = 'result' | 'progress' | 'terminal';

/**
 * How an operation ended when it did not throw: `ok`; `{ exit }` the value is reported and the command exits with
 * that category's code (doctor finding problems); `{ exitCode }` a child's own code (exec, shell); a KinfraError:
 * the value is reported, then the error (a backend's non-2xx answer under its body).
 */
export type Outcome = 'ok' | { exit: ErrorCategory } | { exitCode: number } | KinfraError;

/** A child's exit code as the outcome: ok, or its own code (exec, shell, compose). */
export const childExitCode = (code: number): Outcome => (code === 0 ? 'ok' : { exitCode: code });

/** Megabytes for people: a copy's progress and its result. */
export const megabytes = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** The text surface a human rendering writes to (the CLI's output; later MCP's text content). */
export interface Printer {
  out(line?: string): void;
  err(line?: string): void;
  c: {
    bold(s: string): string;
    dim(s: string): string;
    red(s: string): string;
    green(s: string): string;
    yellow(s: string): string;
  };
  table(head: string[], rows: (string | number)[][]): string;
  /** Standard output is a terminal (pretty-print, redraw). */
  tty: boolean;
}

/**
 * One way MCP offers an operation. By default an operation is one tool of its own name; a view gives it another
 * name (`gate` is `wait_ready`), fixes inputs (`port_owner` is `ports who <port>`), hides some and requires others.
 */
export interface ToolView {
  /** The tool's name, in snake case. */
  name: string;
  /** The tool's title, when it differs from the operation's summary. */
  summary?: string;
  /** The tool's description, when it differs from the operation's. */
  description?: string;
  /** Inputs the view sets itself: the client is not offered them. */
  fixed?: Readonly<Record<string, string | number | boolean>>;
  /** Inputs the view does not offer: they keep their defaults. */
  omit?: readonly string[];
  /** Inputs the client must give, besides the operation's required arguments. */
  required?: readonly string[];
}

export type Zod = typeof z;
export type ResultSchema = (zod: Zod) => z.ZodType;
export type ResultOf<R extends ResultSchema> = z.infer<ReturnType<R>>;

/** What the handler returns: the result its schema describes, or (without a schema) anything its render reads. */
type ValueFor<R extends ResultSchema | undefined, T> = R extends ResultSchema ? ResultOf<R> : T;

export interface OperationSpec<N extends string, S extends Inputs, R extends ResultSchema | undefined, T = unknown> {
  name: N;
  /** Another spelling (`ls`). */
  alias?: string;
  /** Where the CLI puts it: a group of `kinfra sandbox`, or the program itself. */
  group: 'Lifecycle:' | 'Inspection:' | 'Pool:' | 'Utilities:' | 'program';
  hidden?: boolean;
  summary: string;
  description: string;
  examples: readonly string[];
  inputs: S;
  /** The `data` of its --json document, version 1 (strict objects); none for operations without one. */
  result: R;
  effect: Effect;
  target: Target;
  streams: Streams;
  /** How MCP offers it (default: one tool of its name, when it has a result and keeps the terminal). */
  tools?: readonly ToolView[];
  /**
   * The handler: loads the app use case when the operation runs. Its value is the result the schema describes,
   * checked at compile time (a `null` where the schema says optional does not compile).
   */
  run(ctx: AppContext, input: InputOf<S>, session: Session): Promise<ValueFor<R, T>>;
  /** Decides the outcome from the value (doctor: unhealthy; logs: the child failed). Default: ok. */
  outcome?(value: ValueFor<R, T>): Outcome;
  /** How a person reads the value. */
  render?(value: ValueFor<R, T>, p: Printer, input: InputOf<S>): void;
}

/** Any operation, for code that handles them all (the surfaces): its input and value are checked by its own spec. */
export type AnyOperation = Omit<
  OperationSpec<string, Inputs, ResultSchema | undefined>,
  'run' | 'outcome' | 'render'
> & {
  run(ctx: AppContext, input: Record<string, unknown>, session: Session): Promise<unknown>;
  outcome?(value: unknown): Outcome;
  render?(value: unknown, p: Printer, input: Record<string, unknown>): void;
};

/** Declares an operation (the identity: it exists for the types it infers). */
export function operation<
  const N extends string,
  const S extends Inputs,
  R extends ResultSchema | undefined,
  T = unknown,
>(spec: OperationSpec<N, S, R, T>): OperationSpec<N, S, R, T> {
  return spec;
}
