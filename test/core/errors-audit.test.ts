import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/cli.js';

/**
 * Issue 7: every failure kinfra expects says what to do next. Every KinfraError
 * made anywhere in src/ passes a hint: the helpers take it third
 * (usageError(code, message, hint)), the constructor fourth.
 */
const HELPERS = new Set(['usageError', 'conflictError', 'notFoundError', 'registryError', 'externalError']);

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('error audit', () => {
  it('every KinfraError in the sources carries a hint', () => {
    const missing: string[] = [];
    let seen = 0;
    for (const file of files(join(REPO_ROOT, 'src'))) {
      const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
      const visit = (node: ts.Node) => {
        const where = () =>
          `${relative(REPO_ROOT, file)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
        if (
          ts.isCallExpression(node) &&
          ts.isIdentifier(node.expression) &&
          HELPERS.has(node.expression.text) &&
          !ts.isArrowFunction(node.parent)
        ) {
          seen++;
          if (node.arguments.length < 3) missing.push(where());
        }
        if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'KinfraError') {
          seen++;
          if ((node.arguments?.length ?? 0) < 4) missing.push(where());
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
    expect(seen).toBeGreaterThan(80);
    expect(missing).toEqual([]);
  });
});
