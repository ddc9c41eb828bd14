// The `data` of every command's --json document, as the operation catalogue declares it. Objects are strict: a field
// added, removed or renamed in a command's output fails the tests that check real output against these, and `npm run
// docs` regenerates schema/json-output.schema.json from them. Strict also means a reader checking against the
// published schema rejects an added field, so any change of shape raises JSON_SCHEMA_VERSION (src/cli/output.ts) and
// says what changed in docs/json-output.md (Versions). Not loaded by the CLI itself.
import { z } from 'zod';
import { JSON_SCHEMA_VERSION } from '../core/json-output.js';
import { OPERATIONS } from '../operations/catalogue.js';
import type { ResultSchema } from '../operations/operation.js';

const o = z.strictObject;
const str = z.string();

type WithResult = {
  [
    K in keyof typeof OPERATIONS as (typeof OPERATIONS)[K]['result'] extends ResultSchema ? K : never
  ]: (typeof OPERATIONS)[K]['result'];
};

/** Each operation's result schema, by name, built now. */
export const JSON_OUTPUT = Object.fromEntries(
  Object.values(OPERATIONS).flatMap((op) => (op.result ? [[op.name, (op.result as ResultSchema)(z)]] : [])),
) as { [K in keyof WithResult]: WithResult[K] extends (zod: typeof z) => infer S ? S : never };

export type JsonCommand = keyof typeof JSON_OUTPUT;

export const successDocument = (command: JsonCommand) =>
  o({ schemaVersion: z.literal(JSON_SCHEMA_VERSION), ok: z.literal(true), data: JSON_OUTPUT[command] });

/** What every command prints on stderr when it fails with --json. */
export const errorDocument = o({
  schemaVersion: z.literal(JSON_SCHEMA_VERSION),
  ok: z.literal(false),
  error: o({ code: str, message: str, hint: str.optional(), details: z.record(z.string(), z.unknown()).optional() }),
});

export function jsonOutputSchema(): string {
  const definitions: Record<string, unknown> = {};
  for (const name of Object.keys(JSON_OUTPUT) as JsonCommand[]) {
    definitions[name] = z.toJSONSchema(successDocument(name), { target: 'draft-7' });
  }
  definitions.error = z.toJSONSchema(errorDocument, { target: 'draft-7' });
  return (
    JSON.stringify(
      {
        title: `kinfra --json output, schemaVersion ${JSON_SCHEMA_VERSION}`,
        description:
          'One definition per command: the document it prints on stdout with --json; ' +
          '`error` is what any command prints on stderr when it fails.',
        definitions,
      },
      null,
      2,
    ) + '\n'
  );
}
