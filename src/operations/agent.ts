// The coding agents' hosts: `kinfra agent install|uninstall <host>` (the program's own command) puts kinfra's MCP
// server into a host's project configuration and kinfra's section into the project's agent instructions, or takes
// them out.
import { AGENT_HOSTS, HOST_FILES, type AgentHost } from '../core/agent-hosts.js';
import { operation } from './operation.js';

const ACTIONS = ['install', 'uninstall'] as const;

const STATUS_TEXT = {
  installed: 'installed',
  'already-installed': 'already installed',
  updated: 'updated',
  differs: 'left as it is: its entry differs from what kinfra writes',
  removed: 'removed',
  'not-installed': 'not installed: nothing to remove',
} as const;

export const agent = operation({
  name: 'agent',
  group: 'program',
  summary: "add kinfra's MCP server to a coding agent's host, or remove it",
  description:
    "`install` writes the kinfra MCP server (`kinfra mcp`) into the host's project configuration, in the git " +
    'checkout holding this folder (a worktree: its own root): Claude Code .mcp.json, Codex .codex/config.toml, ' +
    'Cursor .cursor/mcp.json. Other servers, keys and comments are kept byte for byte; a file that does not ' +
    'parse is never rewritten. An existing `kinfra` entry that starts something else (an edited path, say) is ' +
    "left alone unless --force. It also adds kinfra's section (between <!-- kinfra:begin --> and " +
    '<!-- kinfra:end -->) to the instructions the host reads (CLAUDE.md, or AGENTS.md for Codex and Cursor), ' +
    "unless --no-instructions. Running it again changes nothing. `uninstall` removes kinfra's entry and section, " +
    'and nothing else.',
  examples: [
    'kinfra agent install claude-code',
    'kinfra agent install codex --no-instructions',
    'kinfra agent uninstall cursor',
  ],
  inputs: {
    action: {
      in: 'arg',
      usage: '<action>',
      type: 'string',
      required: true,
      choices: ACTIONS,
      description: 'add kinfra to the host, or take it out',
    },
    host: {
      in: 'arg',
      usage: '<host>',
      type: 'string',
      required: true,
      choices: AGENT_HOSTS,
      description: "the coding agent's host",
    },
    force: {
      in: 'option',
      flags: '-f, --force',
      type: 'boolean',
      default: false,
      description: "install: replace a kinfra entry that differs from kinfra's own",
    },
    instructions: {
      in: 'option',
      flags: '--no-instructions',
      type: 'boolean',
      default: true,
      description: 'leave the agent instructions file (CLAUDE.md, AGENTS.md) alone',
    },
  },
  result: (z) =>
    z.strictObject({
      host: z.enum(AGENT_HOSTS),
      action: z.enum(ACTIONS),
      configFile: z.string(),
      changed: z.boolean(),
      status: z.enum(['installed', 'already-installed', 'updated', 'differs', 'removed', 'not-installed']),
      instructionsFile: z.string().nullable(),
      instructionsChanged: z.boolean(),
    }),
  effect: 'changes',
  target: 'none',
  streams: 'result',
  async run(ctx, input) {
    const { agentHost } = await import('../app/agent-install.js');
    return agentHost(ctx, {
      action: input.action as (typeof ACTIONS)[number],
      host: input.host as AgentHost,
      force: input.force,
      instructions: input.instructions,
    });
  },
  render(r, p) {
    const mark = r.status === 'differs' ? p.c.yellow('!') : p.c.green('✓');
    p.out(`${mark} kinfra MCP server for ${r.host}: ${STATUS_TEXT[r.status]} (${r.configFile})`);
    if (r.instructionsFile) {
      const what = r.action === 'install' ? 'written' : 'removed';
      p.out(`  instructions: ${r.instructionsChanged ? what : 'unchanged'} (${r.instructionsFile})`);
    }
    if (r.status === 'differs') {
      p.err(`Run \`kinfra agent install ${r.host} --force\` to replace it with \`kinfra mcp\`.`);
    }
    if (r.action === 'install' && r.changed) p.err(p.c.dim(HOST_FILES[r.host].approval));
  },
});

/** This group, in the order help lists it. */
export const operations = [agent] as const;
