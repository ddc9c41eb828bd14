// How long kinfra waits for the Docker Engine. A hung daemon accepts connections and never answers; without a deadline
// every command that asks it anything (`list`, `doctor`) would wait for ever. Only queries and removals get one: work
// the user watches as it streams (compose up, build, down, logs) may be slow and still be working, so it has none.
//
// KINFRA_ENGINE_TIMEOUT_MS overrides the query deadline; it exists for tests, which need no other way in.

import { KinfraError } from '../core/errors.js';

/** A query's deadline, read when asked (a process may run several commands, each with its own environment). */
export const queryMs = (): number => positive(process.env.KINFRA_ENGINE_TIMEOUT_MS) ?? 5_000;
/** Removing containers, volumes and networks: the engine stops containers first, which can take a while. */
export const CHANGE_MS = 120_000;
/** `docker compose version` and the like: the client alone, but a large binary that may start slowly when cold. */
export const toolMs = (): number => Math.max(queryMs(), 15_000);

function positive(text: string | undefined): number | undefined {
  const n = Number(text);
  return text && Number.isInteger(n) && n > 0 ? n : undefined;
}

let missed: KinfraError | undefined;

/** Which command is running: a call that began in an earlier one (still waiting when it ended) cannot speak for it. */
let command = 0;

/** The command a call belongs to: take it when the call starts, give it to notResponding. */
export const currentCommand = (): number => command;

/**
 * The error for a missed deadline (`what`: the request or command, e.g. `docker ps`). It is remembered: once the
 * daemon has not answered, later calls in the same command fail at once (assertResponding) instead of waiting on the
 * same daemon again, so `list` and `doctor` answer after one deadline, not one per query.
 */
export function notResponding(what: string, ms: number, startedIn = command): KinfraError {
  const error = new KinfraError(
    'engine',
    'docker-not-responding',
    `Docker is not responding: ${what} got no answer within ${seconds(ms)}.`,
    'Restart Docker (sudo systemctl restart docker, or restart Docker Desktop), check that `docker info` answers, ' +
      'and run the command again.',
  );
  if (startedIn !== command) return error;
  missed ??= error;
  return missed;
}

/** A new command begins: what an earlier one in this process found (`runCli` runs several) is not remembered. */
export function startCommand(): void {
  command++;
  missed = undefined;
}

/** Throws the remembered error when an earlier call of this command found the daemon not responding. */
export function assertResponding(): void {
  if (missed) throw missed;
}

const seconds = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`);
