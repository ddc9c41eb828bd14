// The compose layer kinfra generates for a sandbox and gives Compose after the project's own files: it only adds
// kinfra's ownership labels to every service, named volume and network the project defines (external ones are not the
// sandbox's and stay untouched). Pure: the effective configuration comes in as parsed `docker compose config` output.

import { stampLabels, type Stamp } from './ownership.js';

type Section = Record<string, unknown> | null | undefined;

interface EffectiveConfig {
  services?: Section;
  volumes?: Section;
  networks?: Section;
}

const isExternal = (v: unknown): boolean => {
  if (v === null || typeof v !== 'object') return false;
  const ext = (v as { external?: unknown }).external;
  return ext === true || (typeof ext === 'object' && ext !== null);
};

export function labelLayer(config: EffectiveConfig, stamp: Stamp): Record<string, unknown> {
  const labels = stampLabels(stamp);
  const each = (section: Section, extra: string[] = []) => {
    const names = [...new Set([...extra, ...Object.keys(section ?? {})])].filter(
      (n) => !isExternal((section ?? {})[n]),
    );
    return Object.fromEntries(names.map((n) => [n, { labels }]));
  };
  const layer: Record<string, unknown> = { services: each(config.services) };
  const volumes = each(config.volumes);
  if (Object.keys(volumes).length > 0) layer.volumes = volumes;
  // `default` is implicit: Compose makes it for every service that names no network.
  const networks = each(config.networks, ['default']);
  if (Object.keys(networks).length > 0) layer.networks = networks;
  return layer;
}
