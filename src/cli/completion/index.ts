// Shell completion: one script per shell (bash, zsh, fish), each generated from the same command spec.

import { bashScript } from './bash.js';
import { fishScript } from './fish.js';
import type { CompletionSpec } from './spec.js';
import { zshScript } from './zsh.js';

export {
  DYNAMIC_KINDS,
  fromCommander,
  type CompletionBindings,
  type CompletionSpec,
  type DynamicKind,
} from './spec.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** The completion script for `shell`. */
export function completionScript(shell: Shell, spec: CompletionSpec): string {
  switch (shell) {
    case 'bash':
      return bashScript(spec);
    case 'zsh':
      return zshScript(spec);
    case 'fish':
      return fishScript(spec);
  }
}
