// A compose project's effective configuration (`docker compose config`), parsed once per command.

import { parse as parseYaml } from 'yaml';
import { composeConfigText, type ComposeProject } from '../adapters/compose.js';
import { isKinfraError } from '../core/errors.js';
import { stackModel, type StackModel } from '../core/compose-model.js';
import { withMovedPorts } from '../core/compose-layer.js';

/** The project's effective configuration, parsed once for a command (the layer, URLs and gate checks read it). */
export interface Stack {
  config: Record<string, unknown>;
  model: StackModel;
}

export async function loadStack(project: ComposeProject): Promise<Stack> {
  const config = (parseYaml(await composeConfigText(project), { logLevel: 'error', merge: true }) ?? {}) as Record<
    string,
    unknown
  >;
  return { config, model: stackModel(config) };
}

/** The stack, or undefined when Compose cannot read it (then nothing is left out on its account). */
export async function loadStackIfReadable(project: ComposeProject): Promise<Stack | undefined> {
  try {
    return await loadStack(project);
  } catch (e) {
    if (isKinfraError(e) && (e.category === 'usage' || e.category === 'engine' || e.category === 'external'))
      return undefined;
    throw e;
  }
}

/**
 * The stack as the sandbox runs it: the project's configuration read with the sandbox's values, its fixed host ports
 * moved as the generated layer moves them (`raw` keeps what the project's files say, for the layer itself).
 */
export interface SandboxStack extends Stack {
  raw: Record<string, unknown>;
}

export function movedStack(stack: Stack, remap: ReadonlyMap<number, number>): SandboxStack {
  const config = withMovedPorts(stack.config, remap) as Record<string, unknown>;
  return { config, model: stackModel(config), raw: stack.config };
}
