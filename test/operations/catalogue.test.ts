import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CATALOGUE, OPERATIONS } from '../../src/operations/catalogue.js';
import { operation } from '../../src/operations/operation.js';
import { REPO_ROOT } from '../helpers/cli.js';

describe('the operation catalogue', () => {
  it('names every operation once, each with a summary, a description and examples', () => {
    const names = CATALOGUE.map((o) => o.name);
    expect(new Set(names).size).toBe(names.length);
    for (const op of CATALOGUE) {
      expect(op.summary, op.name).toMatch(/^[a-z]/);
      expect(op.description.length, op.name).toBeGreaterThan(20);
      expect(op.examples.length, op.name).toBeGreaterThan(0);
      for (const e of op.examples) expect(e, op.name).toContain(op.name);
    }
  });

  it('declares, for the surfaces that come next, what each operation does, acts on and streams', () => {
    for (const op of CATALOGUE) {
      expect(['reads', 'changes', 'destroys'], op.name).toContain(op.effect);
      expect(['current', 'named', 'slot', 'none'], op.name).toContain(op.target);
      expect(['result', 'progress', 'terminal'], op.name).toContain(op.streams);
      // A terminal operation hands the terminal to a child: it has no JSON result, unless it can capture a bounded
      // one for a surface that wants a document (logs); it then refuses what cannot be bounded (following).
      if (op.streams === 'terminal' && op.name !== 'logs') expect(op.result, op.name).toBeUndefined();
    }
    expect(OPERATIONS.destroy.effect).toBe('destroys');
    expect(OPERATIONS.release.effect).toBe('destroys');
    expect(OPERATIONS.list.effect).toBe('reads');
  });

  it('builds every result schema as a strict object', () => {
    for (const op of CATALOGUE) {
      if (!op.result) continue;
      const schema = op.result(z);
      expect(schema, op.name).toBeInstanceOf(z.ZodObject);
      expect((schema as z.ZodObject).safeParse({ unexpected: 1 }).success, op.name).toBe(false);
    }
  });

  it('completes only from sources the completion scripts know', () => {
    for (const op of CATALOGUE) {
      for (const i of Object.values(op.inputs)) {
        if (i.complete) expect(['instances', 'services', 'slots', 'files'], op.name).toContain(i.complete);
      }
    }
  });

  it("rejects, at compile time, a handler whose value its own schema rejects (init's branch: null)", () => {
    const spec = {
      name: 'example',
      group: 'Utilities:',
      summary: 'x',
      description: 'x',
      examples: [],
      inputs: {},
      result: (zod: typeof z) => zod.strictObject({ branch: zod.string().optional() }),
      effect: 'reads',
      target: 'none',
      streams: 'result',
    } as const;
    // @ts-expect-error null is not what `branch: string | undefined` allows
    operation({ ...spec, run: () => Promise.resolve({ branch: null }) });
    operation({ ...spec, run: () => Promise.resolve({ branch: 'main' }) });
  });
});

/** The modules a chunk imports statically (what loads before any command runs). */
function staticGraph(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:^|[;\s])import\s*(?:[^'"()]*?from\s*)?["'](\.[^"']+)["']/g))
      visit(join(dirname(file), m[1]!));
  };
  visit(entry);
  return [...seen];
}

describe('start-up path', () => {
  it('loads no zod before a command runs: schemas are built only by the surfaces that need them', () => {
    const files = staticGraph(join(REPO_ROOT, 'dist/kinfra.js'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(readFileSync(f, 'utf8'), f).not.toMatch(/ZodError|\$ZodType/);
  });
});
