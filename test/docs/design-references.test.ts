import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Command } from 'commander';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import { builtInConfig } from '../../src/core/config/config.js';
import { verifyCompose } from '../../src/core/compose-verify.js';
import { configReferenceMarkdown, kinfraJsonSchema, portsMarkdown } from '../../src/docs/generate.js';
import { jsonOutputSchema } from '../../src/docs/json-output.js';
import { REPO_ROOT } from '../helpers/cli.js';

/**
 * kinfra was specified in design documents ("seeds") that are not in this
 * repository. Text a user reads must say what it means, never point at them:
 * "(seed 004)" or "(seed decision 7)" tells a reader nothing. Comments in the
 * source may keep the references (they are for whoever has the documents).
 */
const CITES_DESIGN = /\bseeds?\b|\bthe design\b/i;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

function allCommands(c: Command): Command[] {
  return c.commands.flatMap((x) => [x, ...allCommands(x)]);
}

const offending = (name: string, text: string) =>
  text.split('\n').flatMap((line, i) => (CITES_DESIGN.test(line) ? [`${name}:${i + 1}: ${line.trim()}`] : []));

describe(
  'user-facing text says what it means instead of citing design documents that ' + 'are not in the repository',
  () => {
    it('every --help', () => {
      const program = buildProgram();
      const bad = [program, ...allCommands(program)].flatMap((c) => {
        let text = '';
        c.configureOutput({ writeOut: (s) => (text += s) });
        c.outputHelp();
        return offending(`kinfra ${c.name()} --help`, text);
      });
      expect(bad).toEqual([]);
    });

    it('the README, docs/, the example stack, the pool template and the schemas', () => {
      const shipped = ['README.md', 'docs', 'examples', 'templates', 'schema'].flatMap((p) =>
        statSync(join(REPO_ROOT, p)).isDirectory() ? files(join(REPO_ROOT, p)) : [join(REPO_ROOT, p)],
      );
      expect(shipped.length).toBeGreaterThan(10);
      expect(shipped.flatMap((f) => offending(relative(REPO_ROOT, f), readFileSync(f, 'utf8')))).toEqual([]);
    });

    it("the generated documents and verify's findings and fixes", () => {
      const generated = {
        'docs/ports.md': portsMarkdown(),
        'docs/configuration-reference.md': configReferenceMarkdown(),
        'schema/kinfra.schema.json': kinfraJsonSchema(),
        'schema/json-output.schema.json': jsonOutputSchema(),
      };
      const bad = Object.entries(generated).flatMap(([name, text]) => offending(name, text));
      const findings = verifyCompose(
        parse(readFileSync(join(REPO_ROOT, 'test/fixtures/compose/bad.yml'), 'utf8'), { merge: true }),
        builtInConfig(),
      );
      expect(findings.length).toBeGreaterThan(5);
      bad.push(...findings.flatMap((f) => offending(`verify ${f.message}`, `${f.message} ${f.fix}`)));
      expect(bad).toEqual([]);
    });

    it('no message, hint or other string in src/ (comments aside)', () => {
      const bad = files(join(REPO_ROOT, 'src'))
        .filter((f) => f.endsWith('.ts'))
        .flatMap((f) => {
          const code = readFileSync(f, 'utf8')
            .split('\n')
            .map((line) => {
              const t = line.trim();
              if (t.startsWith('//') || t.startsWith('*') || t.startsWith('/*')) return '';
              return line.replace(/\s\/\/\s.*$/, '');
            });
          return offending(relative(REPO_ROOT, f), code.join('\n'));
        });
      expect(bad).toEqual([]);
    });
  },
);
