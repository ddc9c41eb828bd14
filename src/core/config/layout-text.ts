// The kinfra.yaml text of a derived layout, written for review (`kinfra sandbox layout --write`): every port with
// where it came from, and the gate checks, as plain YAML that parseConfigText reads back to the same ports. Pure.

import type { GateCheckSpec } from './schema.js';
import type { NamedPort } from '../ports.js';

export interface LayoutPort extends NamedPort {
  /** The service that publishes it, when kinfra derived it. */
  service?: string | undefined;
  container?: number | undefined;
  derived: boolean;
  variable: boolean;
}

export interface LayoutText {
  prefix: string;
  files: string[];
  maxSlot: number;
  ports: LayoutPort[];
  gate: GateCheckSpec[];
}

const flow = (value: Record<string, unknown>) =>
  `{ ${Object.entries(value)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
    .join(', ')} }`;

function origin(p: LayoutPort): string {
  if (!p.derived) return 'named by the layout';
  const what = `${p.service} publishes ${p.base}${p.container !== undefined ? ` (container port ${p.container})` : ''}`;
  return p.variable
    ? `${what} through \${${p.env}}: kinfra sets it per sandbox`
    : `${what}, fixed in the file: kinfra's generated layer moves it`;
}

/** The kinfra.yaml of the layout, commented. Worker ports (KTRDR's) are not written: they come from `workers`. */
export function layoutText(l: LayoutText): string {
  const lines = [
    '# kinfra.yaml, written by `kinfra sandbox layout --write` from what kinfra derived from',
    `# ${l.files.join(', ')}. Review it: from now on kinfra reads this file, and ports the compose files publish`,
    '# that it does not name are still derived. Slot N of a port is base + step*N; slot 0 is the main checkout.',
    `prefix: ${l.prefix}`,
    `compose_files: [${JSON.stringify(l.files[0])}]`,
    `slots: { max: ${l.maxSlot} }`,
    'ports:',
  ];
  for (const p of l.ports.filter((x) => x.worker === undefined)) {
    lines.push(`  # ${origin(p)}`);
    const { env, base, step, main, label, url, http } = p;
    lines.push(`  ${p.name}: ${flow({ env, base, step, main, label, url, http })}`);
  }
  lines.push('gate:', '  checks:');
  for (const c of l.gate) lines.push(`    - ${flow({ ...c })}`);
  if (l.gate.length === 0) lines[lines.length - 1] = '  checks: []';
  return lines.join('\n') + '\n';
}
