// A shell-independent description of the command tree, what the script generators (bash.ts, zsh.ts, fish.ts) turn into
// completion scripts. It is built from the commander program (fromCommander), never written by hand, so a new command
// or option completes without touching this folder.

import type { Command, Option } from 'commander';

/** What `kinfra __complete <kind>` can list. */
export const DYNAMIC_KINDS = ['instances', 'services', 'slots'] as const;
export type DynamicKind = (typeof DYNAMIC_KINDS)[number];

/** Where the values of an argument or option come from. */
export type ValueSource =
  | { kind: 'choices'; values: string[] }
  /** Asked at completion time: `<program> __complete <source>`, one value a line. */
  | { kind: 'dynamic'; source: DynamicKind }
  | { kind: 'files' };

export interface OptionSpec {
  /** Every spelling: ['-s', '--slot']. */
  flags: string[];
  description: string;
  /** True when the option takes a value (`<n>`), so the next word is that value. */
  takesValue: boolean;
  values?: ValueSource | undefined;
}

export interface ArgSpec {
  name: string;
  description: string;
  required: boolean;
  variadic: boolean;
  values?: ValueSource | undefined;
}

export interface CommandSpec {
  name: string;
  aliases: string[];
  description: string;
  /** Options recognised here: the command's own, then its ancestors' (commander parses those anywhere). */
  options: OptionSpec[];
  args: ArgSpec[];
  commands: CommandSpec[];
}

export interface CompletionSpec {
  /** The executable name the script completes (and calls for dynamic values). */
  program: string;
  root: CommandSpec;
}

/** Value sources that commander cannot express, keyed by command path ('sandbox destroy'). */
export interface CompletionBindings {
  /** Values of the positional arguments, by position. */
  args?: Record<string, (ValueSource | undefined)[]>;
  /** Values of an option wherever it appears, by long flag ('--slot'). */
  options?: Record<string, ValueSource>;
}

/** Tokens a script may embed unquoted: command names, flags, static choices. */
export function isSafeToken(s: string): boolean {
  return /^[A-Za-z0-9_][A-Za-z0-9_.:+@%,-]*$/.test(s) || /^--?[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(s);
}

function optionSpec(o: Option, bindings: CompletionBindings): OptionSpec {
  const flags = [o.short, o.long].filter((f): f is string => typeof f === 'string' && isSafeToken(f));
  const bound = o.long ? bindings.options?.[o.long] : undefined;
  const choices = o.argChoices?.filter(isSafeToken);
  return {
    flags,
    description: o.description ?? '',
    takesValue: o.required,
    values: bound ?? (choices?.length ? { kind: 'choices', values: choices } : undefined),
  };
}

/** The version option is the program's own business; subcommands do not inherit it. */
function inheritable(o: Option): boolean {
  return !o.hidden && o.long !== '--version';
}

function describe(cmd: Command, path: string[], inherited: Option[], bindings: CompletionBindings): CommandSpec {
  const help = cmd.createHelp();
  const key = path.join(' ');
  const own = help.visibleOptions(cmd);
  const seen = new Set(own.flatMap((o) => [o.short, o.long]).filter((fl) => fl !== undefined));
  const shadowed = (o: Option) =>
    (o.short !== undefined && seen.has(o.short)) || (o.long !== undefined && seen.has(o.long));
  const options = [...own, ...inherited.filter((o) => !shadowed(o))]
    .map((o) => optionSpec(o, bindings))
    .filter((o) => o.flags.length > 0);
  const children = help.visibleCommands(cmd).filter((c) => isSafeToken(c.name()));
  const siblings = children.map((c) => c.name()).filter((n) => n !== 'help');
  const passDown = [...cmd.options.filter(inheritable), ...inherited];
  const boundArgs = bindings.args?.[key] ?? [];
  const args = cmd.registeredArguments.map((a, i): ArgSpec => {
    const choices = a.argChoices?.filter(isSafeToken);
    return {
      name: a.name(),
      description: a.description ?? '',
      required: a.required,
      variadic: a.variadic,
      values: boundArgs[i] ?? (choices?.length ? { kind: 'choices', values: choices } : undefined),
    };
  });
  return {
    name: cmd.name(),
    aliases: cmd.aliases().filter(isSafeToken),
    description: cmd.summary() || cmd.description().split('\n')[0] || '',
    options,
    args,
    commands: children.map((c) => {
      const spec = describe(c, [...path, c.name()], passDown, bindings);
      // The implicit `help [command]` completes the names of its siblings.
      if (c.name() === 'help' && !cmd.commands.includes(c) && spec.args[0] && !spec.args[0].values) {
        spec.args[0].values = { kind: 'choices', values: siblings };
      }
      return spec;
    }),
  };
}

/** The completion description of a commander program (hidden commands and options left out). */
export function fromCommander(program: Command, bindings: CompletionBindings = {}): CompletionSpec {
  return { program: program.name(), root: describe(program, [], [], bindings) };
}

/** Every command of the tree with its path (names from the root, root = []). */
export function walk(spec: CompletionSpec): { path: string[]; cmd: CommandSpec }[] {
  const out: { path: string[]; cmd: CommandSpec }[] = [];
  const visit = (cmd: CommandSpec, path: string[]) => {
    out.push({ path, cmd });
    for (const c of cmd.commands) visit(c, [...path, c.name]);
  };
  visit(spec.root, []);
  return out;
}

/** The option's values or the argument's, keyed the way the scripts ask for them: 'arg:0', 'opt:--slot'. */
export function valueKeys(cmd: CommandSpec): { key: string; values: ValueSource }[] {
  const out: { key: string; values: ValueSource }[] = [];
  cmd.args.forEach((a, i) => {
    if (a.values) out.push({ key: `arg:${i}`, values: a.values });
  });
  for (const o of cmd.options) {
    if (o.values && o.takesValue) for (const f of o.flags) out.push({ key: `opt:${f}`, values: o.values });
  }
  return out;
}

/** A one-line description, safe to show in a completion menu. */
export function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/** POSIX single quoting (bash, zsh). */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A valid shell function name part from the program name. */
export function functionName(program: string): string {
  return program.replace(/[^A-Za-z0-9_]/g, '_');
}
