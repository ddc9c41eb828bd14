// Which worker services has the backend registered? One predicate for the gate's Workers check and for `status`, so the
// two never disagree. The backend's list is matched to services by what a worker reports about itself (its id or name,
// or the host of its URL, which in a compose network is the service name); a backend whose ids say nothing about
// services is taken at its count, the gate's original rule.

export interface WorkerRegistration {
  /** Service -> registered. */
  byService: Map<string, boolean>;
  /** How many workers the backend lists. */
  listed: number;
  /** How many of the expected ones it has: matched by name, or (when its ids say nothing about services) its count. */
  found: number;
  allRegistered: boolean;
}

const fields = ['id', 'worker_id', 'workerId', 'name', 'service'] as const;
const urlFields = ['url', 'endpoint_url', 'endpointUrl', 'worker_url', 'address'] as const;

function namesOf(entry: unknown): string[] {
  if (typeof entry === 'string') return [entry];
  if (!entry || typeof entry !== 'object') return [];
  const e = entry as Record<string, unknown>;
  const names = fields.map((f) => e[f]).filter((v): v is string => typeof v === 'string');
  for (const f of urlFields) {
    const v = e[f];
    if (typeof v !== 'string') continue;
    try {
      names.push(new URL(v).hostname);
    } catch {
      // not a URL: nothing to learn from it
    }
  }
  return names;
}

/** The list a backend answers with: an array, or `{ workers: [...] }`; undefined when it is neither. */
export function workerList(json: unknown): unknown[] | undefined {
  if (Array.isArray(json)) return json;
  const list = (json as { workers?: unknown } | null)?.workers;
  return Array.isArray(list) ? list : undefined;
}

export function registration(services: readonly string[], listed: readonly unknown[]): WorkerRegistration {
  const reported = new Set(listed.flatMap(namesOf));
  const byService = new Map(services.map((s) => [s, reported.has(s)]));
  const anyMatched = [...byService.values()].some(Boolean);
  // Nothing matches by name: the backend's ids are its own; trust its count, as the gate always has.
  if (!anyMatched && services.length > 0 && listed.length >= services.length)
    for (const s of services) byService.set(s, true);
  const found = anyMatched ? [...byService.values()].filter(Boolean).length : listed.length;
  return {
    byService,
    listed: listed.length,
    found,
    allRegistered: [...byService.values()].every(Boolean) && listed.length >= services.length,
  };
}
