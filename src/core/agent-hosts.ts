// The coding agents' hosts kinfra installs its MCP server into, and the project files each one reads. Kept apart
// from agent-config.ts (which loads a TOML parser) so that the catalogue can name the hosts at start-up for free.

export const AGENT_HOSTS = ['claude-code', 'codex', 'cursor'] as const;
export type AgentHost = (typeof AGENT_HOSTS)[number];

export interface HostFiles {
  /** The MCP configuration, relative to the project root. */
  config: string;
  format: 'json' | 'toml';
  /** The agent instructions file the host reads, relative to the project root. */
  instructions: string;
  /** What the host asks before it uses a project's server, said after an install. */
  approval: string;
}

/** Each host's project-scoped files (docs/agent-hosts.md says where each comes from). */
export const HOST_FILES: Record<AgentHost, HostFiles> = {
  'claude-code': {
    config: '.mcp.json',
    format: 'json',
    instructions: 'CLAUDE.md',
    approval: "Claude Code asks once before it starts a project's server: approve kinfra when it does.",
  },
  codex: {
    config: '.codex/config.toml',
    format: 'toml',
    instructions: 'AGENTS.md',
    approval: 'Codex reads .codex/config.toml only in a project you trust (it asks when it first starts here).',
  },
  cursor: {
    config: '.cursor/mcp.json',
    format: 'json',
    instructions: 'AGENTS.md',
    approval: 'Cursor lists the server under its MCP settings: switch it on there if it is off.',
  },
};
