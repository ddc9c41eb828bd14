// Every operation kinfra offers, in the order help lists them. The CLI's commands, help, --json and completion are
// built from this list, the JSON schema and the command table are generated from it, and the tests' list of commands
// reads it. A group file declares its operations and lists them in its `operations`; nothing here changes when one
// is added.
import type { AnyOperation } from './operation.js';
import { operations as lifecycle } from './lifecycle.js';
import { operations as focus } from './focus.js';
import { operations as inspection } from './inspection.js';
import { operations as pool } from './pool.js';
import { operations as utilities } from './utilities.js';
import { operations as agent } from './agent.js';
import { operations as router } from './router.js';
import { operations as database } from './database.js';

const ALL = [...lifecycle, ...database, ...focus, ...inspection, ...pool, ...utilities, ...agent, ...router] as const;

/** The catalogue, in help's order. */
export const CATALOGUE: readonly AnyOperation[] = ALL;

type Named<T extends readonly { name: string }[]> = { [O in T[number] as O['name']]: O };

/** The operations by name, typed: `OPERATIONS.up.result(z)`. */
export const OPERATIONS = Object.fromEntries(ALL.map((o) => [o.name, o])) as Named<typeof ALL>;

export function operationNamed(name: string): AnyOperation | undefined {
  return CATALOGUE.find((o) => o.name === name);
}
