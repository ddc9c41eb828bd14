import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, Help } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import { REPO_ROOT } from '../helpers/cli.js';

/**
 * Every kinfra command line the README and the help texts show is one the CLI
 * accepts: the command exists, its options and arguments parse. (What the
 * quick start does is run for real by the E2E suite: create, up, status,
 * destroy.) Actions are swapped for no-ops, so nothing runs here.
 */
function allCommands(c: Command): Command[] {
  return c.commands.flatMap((x) => [x, ...allCommands(x)]);
}

function quietProgram(): Command {
  const program = buildProgram();
  for (const c of [program, ...allCommands(program)]) {
    c.exitOverride();
    c.configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
    if (c !== program) c.action(() => undefined);
  }
  return program;
}

/** Shell words of one line: quotes respected, a trailing comment dropped. */
function words(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | undefined;
  let started = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote) {
      if (ch === quote) quote = undefined;
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      started = true;
    } else if (ch === '#' && !started && cur === '') {
      break;
    } else if (/\s/.test(ch)) {
      if (started) out.push(cur);
      cur = '';
      started = false;
    } else {
      cur += ch;
      started = true;
    }
  }
  if (started) out.push(cur);
  return out;
}

/** The kinfra invocations in shell text: `cd x && kinfra ...`, `kinfra ... > file` and the like. */
function invocations(text: string): string[][] {
  const found: string[][] = [];
  for (const line of text.split('\n')) {
    for (const part of line.split(/&&|;|\|/)) {
      const w = words(part.trim());
      const at = w.indexOf('kinfra');
      if (at !== 0) continue;
      const args = w.slice(1);
      const redirect = args.findIndex((a) => a === '>' || a === '>>');
      found.push(redirect >= 0 ? args.slice(0, redirect) : args);
    }
  }
  return found;
}

async function accepts(args: string[]): Promise<string | undefined> {
  try {
    await quietProgram().parseAsync(args, { from: 'user' });
    return undefined;
  } catch (e) {
    if (e instanceof CommanderError && e.code === 'commander.helpDisplayed') return undefined;
    return `kinfra ${args.join(' ')}: ${(e as Error).message}`;
  }
}

const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');

describe('examples that users copy', () => {
  it('the check itself rejects what the CLI rejects', async () => {
    expect(await accepts(['sandbox', 'create'])).toMatch(/missing required argument/);
    expect(await accepts(['sandbox', 'up', '--nope'])).toMatch(/unknown option/);
    expect(await accepts(['sandbox', 'frobnicate'])).toMatch(/unknown command|too many arguments/);
    expect(await accepts(['sandbox', 'up', '--timeout', 'soon'])).toMatch(/whole number/);
    expect(invocations("cd ../x && kinfra sandbox destroy   # stop\necho 'source <(kinfra completion zsh)'")).toEqual([
      ['sandbox', 'destroy'],
    ]);
  });

  it("every kinfra command in the README's shell blocks parses", async () => {
    const blocks = [...readme.matchAll(/```(?:bash|sh)\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const lines = blocks.flatMap(invocations);
    expect(lines.length).toBeGreaterThan(10);
    const bad = (await Promise.all(lines.map(accepts))).filter(Boolean);
    expect(bad).toEqual([]);
  });

  it("every command of the README's command table exists, with the options it shows", () => {
    const program = buildProgram();
    const rows = [...readme.matchAll(/^\| `kinfra ([^`]+)` \|/gm)].map((m) => m[1]!);
    expect(rows.length).toBeGreaterThan(15);
    const problems: string[] = [];
    for (const row of rows) {
      const w = row.split(/\s+/);
      let cmd: Command = program;
      for (const name of w) {
        const sub = cmd.commands.find((c) => c.name() === name || c.aliases().includes(name));
        if (!sub) break;
        cmd = sub;
      }
      if (cmd === program) problems.push(`${row}: no such command`);
      const flags = new Set(
        cmd.options.flatMap((o) => [o.short, o.long]).concat(program.options.flatMap((o) => [o.short, o.long])),
      );
      for (const f of row.match(/(?<=[\s[])--?[a-z][a-z-]*/g) ?? [])
        if (!flags.has(f) && f !== '--') problems.push(`${row}: ${f} is not an option`);
    }
    expect(problems).toEqual([]);
  });

  it("every example in every command's --help parses", async () => {
    const program = buildProgram();
    const help = new Help();
    const texts = [program, ...allCommands(program)].map((c) => {
      let text = '';
      c.configureOutput({ writeOut: (s) => (text += s), writeErr: () => undefined });
      c.outputHelp();
      return text || help.formatHelp(c, help);
    });
    const lines = texts.flatMap((t) => invocations(t.split('Examples:')[1] ?? ''));
    expect(lines.length).toBeGreaterThan(40);
    const bad = (await Promise.all(lines.map(accepts))).filter(Boolean);
    expect(bad).toEqual([]);
  });
});
