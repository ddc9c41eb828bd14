// The layout a checkout runs with: the configured one (kinfra.yaml or KTRDR) plus every port its compose files
// publish that the configuration does not move, derived from the main checkout's effective configuration (Compose's
// own answer, every profile included). A sandbox keeps the ports it was given (the registry's `derived_ports`), so
// deriving again never moves it; a port a branch adds is derived then.
import { basename } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { composeConfigText, composeRawConfigText, type ComposeProject } from '../adapters/compose.js';
import type { Config } from '../core/config/config.js';
import { publishedEntries } from '../core/compose-model.js';
import { derivePorts, withDerivedPorts, type DerivedPort } from '../core/derived-ports.js';
import { isKinfraError } from '../core/errors.js';
import { portEnv, portFor } from '../core/ports.js';
import { findComposeFiles } from './compose-file.js';

export interface DerivedLayout {
  /** The layout with the derived ports in it. */
  config: Config;
  derived: DerivedPort[];
  /** Published ports kinfra could not give slot values, in words. */
  problems: string[];
  /** The main checkout's effective configuration (undefined when Compose could not read a configured project). */
  effective: Record<string, unknown> | undefined;
  /** The same before interpolation, when Compose prints one (it keeps `env_file`, which v2 folds into environment). */
  raw: Record<string, unknown> | undefined;
}

const parse = (text: string) => (parseYaml(text, { logLevel: 'error', merge: true }) ?? {}) as Record<string, unknown>;

/** The project in `dir` as the main checkout runs it: its own files and environment, none of kinfra's values. */
export function mainProject(dir: string, config: Config): ComposeProject {
  const files = findComposeFiles(dir, config);
  // A name Compose accepts (its own default from a folder called `OvenMediaEngine` is `ovenmediaengine`).
  const name =
    basename(dir)
      .toLowerCase()
      .replace(/[^a-z0-9_-]+/g, '-')
      .replace(/^[^a-z0-9]+/, '') || 'main';
  return { name, ...files, dir, envFile: '', env: {} };
}

/**
 * The main checkout's effective configuration and its uninterpolated form (which names the variables behind ports),
 * read in parallel; `lazy` reads the second only if `wanted` says so once the first is known.
 */
export async function mainConfigs(project: ComposeProject, lazy?: (effective: Record<string, unknown>) => boolean) {
  const rawText = () => composeRawConfigText(project);
  const [text, early] = await Promise.all([composeConfigText(project), lazy ? undefined : rawText()]);
  const effective = parse(text);
  const skipped = lazy !== undefined && !lazy(effective);
  const raw = lazy ? (skipped ? undefined : await rawText()) : early;
  return { effective, raw: raw === undefined ? undefined : parse(raw), skipped };
}

/**
 * Where Compose prints no uninterpolated configuration (v1), which ports the layout's variables set is found by
 * reading the configuration once more with each variable at its slot-1 value: an entry that moved is that variable's.
 */
async function probedEntries(project: ComposeProject, config: Config, effective: unknown) {
  const main = publishedEntries(effective);
  const slotOne = portEnv(config.ports, 1);
  const env = Object.fromEntries(Object.entries(slotOne).map(([k, v]) => [k, String(v)]));
  const probe = publishedEntries(parse(await composeConfigText({ ...project, env })));
  if (probe.length !== main.length) return main;
  const byValue = new Map(Object.entries(slotOne).map(([k, v]) => [v, k]));
  return main.map((e, i) => {
    const moved = probe[i]!.host !== e.host ? byValue.get(probe[i]!.host) : undefined;
    return moved ? { ...e, variable: moved } : e;
  });
}

/**
 * Derive the layout of the checkout in `dir`. A derived project needs Compose to read its files (it has no other
 * source); a configured one runs with its configured ports when Compose cannot.
 */
export async function deriveLayout(
  dir: string,
  config: Config,
  keep: readonly DerivedPort[] = [],
  avoid?: ReadonlySet<number>,
): Promise<DerivedLayout> {
  let configs: Awaited<ReturnType<typeof mainConfigs>>;
  // With ports kept (a sandbox's next up), the variables matter only for a port it was not given: most ups have
  // none, and skip the second read.
  const kept = new Set([...keep.map((k) => k.base), ...config.ports.map((p) => portFor(p, 0))]);
  const fresh = (effective: unknown) => publishedEntries(effective).some((e) => !kept.has(e.host));
  try {
    configs = await mainConfigs(mainProject(dir, config), keep.length > 0 ? fresh : undefined);
  } catch (e) {
    if (config.derived || !isKinfraError(e) || (e.category !== 'usage' && e.category !== 'engine')) throw e;
    const none = { effective: undefined, raw: undefined };
    return { config: withDerivedPorts(config, keep), derived: [...keep], problems: [], ...none };
  }
  const entries =
    configs.raw === undefined && !configs.skipped && config.ports.length > 0
      ? await probedEntries(mainProject(dir, config), config, configs.effective)
      : publishedEntries(configs.effective, configs.raw);
  const { ports, problems } = derivePorts(entries, config.ports, config.maxSlot, keep, avoid);
  const { effective, raw } = configs;
  return { config: withDerivedPorts(config, ports), derived: ports, problems, effective, raw };
}
