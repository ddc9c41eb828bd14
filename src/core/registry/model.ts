import { z } from 'zod';

/**
 * The instance registry (version 2, seed 004): one file per machine listing every
 * sandbox and pool slot. Entries keep unknown fields (passthrough), so a newer
 * kinfra or the Python tool can add fields without this version dropping them.
 */
export const REGISTRY_VERSION = 2;

const instanceEntry = z.looseObject({
  slot: z.number().int().min(0),
  path: z.string().min(1),
  created_at: z.string(),
  is_worktree: z.boolean(),
  parent_repo: z.string(),
  /** Branch checked out when kinfra created the worktree. */
  branch: z.string().optional(),
  /** True only when kinfra made the worktree folder itself: only then may destroy remove it. */
  created_worktree: z.boolean().optional(),
  /** The published ports this instance holds, `{ ENV_NAME: port }`. */
  ports: z.record(z.string(), z.number().int()).optional(),
});

const slotEntry = z.looseObject({
  slot_id: z.number().int().min(1),
  profile: z.string(),
  workers: z.record(z.string(), z.number().int()),
  ports: z.record(z.string(), z.number().int()),
  infrastructure_path: z.string(),
  claimed_by: z.string().nullable(),
  claimed_at: z.string().nullable(),
});

export const registrySchema = z.looseObject({
  version: z.literal(REGISTRY_VERSION),
  instances: z.record(z.string(), instanceEntry),
  slots: z.record(z.string(), slotEntry),
});

const registryV1Schema = z.looseObject({
  version: z.literal(1),
  instances: z.record(z.string(), instanceEntry.partial({ created_at: true, is_worktree: true, parent_repo: true })),
});

export type InstanceEntry = z.infer<typeof instanceEntry>;
export type SlotEntry = z.infer<typeof slotEntry>;
export type Registry = z.infer<typeof registrySchema>;

export function emptyRegistry(): Registry {
  return { version: REGISTRY_VERSION, instances: {}, slots: {} };
}

export type ParsedRegistry = { ok: true; registry: Registry } | { ok: false; reason: string };

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0]!;
  return `${issue.path.join('.') || 'top level'}: ${issue.message}`;
}

/** Parse registry.json text. Never returns an empty registry for text it cannot read. */
export function parseRegistryText(text: string): ParsedRegistry {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return { ok: false, reason: `not valid JSON (${(e as Error).message})` };
  }
  const parsed = registrySchema.safeParse(raw);
  if (parsed.success) return { ok: true, registry: parsed.data };
  const version = (raw as { version?: unknown } | null)?.version;
  if (version !== undefined && version !== REGISTRY_VERSION) {
    return { ok: false, reason: `version ${JSON.stringify(version)} is not one this kinfra reads (${REGISTRY_VERSION})` };
  }
  return { ok: false, reason: firstIssue(parsed.error) };
}

/**
 * Version 1 (`~/.ktrdr/sandbox/instances.json`, seed 001) to version 2. Every
 * field of every entry is carried over; fields v1 may lack get neutral values.
 */
export function migrateV1Text(text: string): ParsedRegistry {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return { ok: false, reason: `not valid JSON (${(e as Error).message})` };
  }
  const parsed = registryV1Schema.safeParse(raw);
  if (!parsed.success) return { ok: false, reason: firstIssue(parsed.error) };
  const { version: _v, instances, ...rest } = parsed.data;
  const registry: Registry = { ...rest, version: REGISTRY_VERSION, instances: {}, slots: {} };
  for (const [id, e] of Object.entries(instances)) {
    registry.instances[id] = {
      ...e,
      created_at: e.created_at ?? '',
      is_worktree: e.is_worktree ?? false,
      parent_repo: e.parent_repo ?? '',
    };
  }
  return { ok: true, registry };
}

export function formatRegistry(registry: Registry): string {
  return JSON.stringify(registry, null, 2) + '\n';
}
