// What create and init report of the sandbox they made.
import type { SlotPort } from '../core/ports.js';

export interface SandboxSummary {
  instanceId: string;
  slot: number;
  path: string;
  branch: string | undefined;
  ports: SlotPort[];
  /** The pool profile, when the sandbox claimed a pool slot. */
  profile?: string | undefined;
  envFile: string;
  configSource: string;
  cleaned: string[];
  /** Git-ignored files copied from the main checkout that the stack needs (a .env, env_file targets). */
  copied: string[];
}
