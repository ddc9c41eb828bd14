import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { afterEach, describe, expect, it } from 'vitest';
import { INSTRUCTIONS } from '../../src/core/agent-config.js';
import { errorDocument, successDocument } from '../../src/docs/json-output.js';
import { appWorkspace, kinfra, parseJson, workspace, type Workspace } from '../helpers/cli.js';

/**
 * `kinfra agent install|uninstall <host>` run as a user runs it, in a real git checkout with a scratch HOME: what
 * each host's files hold afterwards, byte for byte, and what the command says.
 */
let ws: Workspace;
afterEach(() => ws?.cleanup());

const KINFRA = { command: 'kinfra', args: ['mcp'] };

interface Host {
  name: 'claude-code' | 'codex' | 'cursor';
  config: string;
  instructions: string;
  /** A file of the user's with another server and other content, and kinfra's entry as parsed from a file. */
  others: string;
  servers(text: string): Record<string, unknown>;
  /** `others` with kinfra installed. */
  installed: string;
  /** A kinfra entry of the user's that starts something else. */
  edited: string;
  broken: string;
}

const jsonOthers =
  '{\n  "mcpServers": {\n    "docs": { "command": "npx", "args": ["-y", "docs-mcp"] }\n  },\n  "inputs": []\n}\n';
const jsonEdited =
  '{\n  "mcpServers": {\n    "kinfra": { "command": "/opt/kinfra/bin/kinfra", "args": ["mcp"] }\n  }\n}\n';
const jsonInstalled =
  '{\n  "mcpServers": {\n    "docs": { "command": "npx", "args": ["-y", "docs-mcp"] },\n    "kinfra": {\n' +
  '      "command": "kinfra",\n      "args": [\n        "mcp"\n      ]\n    }\n  },\n  "inputs": []\n}\n';
const jsonServers = (t: string) => (JSON.parse(t) as { mcpServers: Record<string, unknown> }).mcpServers;

const codexOthers =
  '# Codex, for this project\nmodel = "o3"\n\n[mcp_servers.docs]\ncommand = "npx" # docs\nargs = ["-y", "docs-mcp"]\n' +
  '\n[shell_environment_policy]\ninherit = "core"\n';

const HOSTS: Host[] = [
  {
    name: 'claude-code',
    config: '.mcp.json',
    instructions: 'CLAUDE.md',
    others: jsonOthers,
    servers: jsonServers,
    installed: jsonInstalled,
    edited: jsonEdited,
    broken: '{ "mcpServers": { "docs": {} ',
  },
  {
    name: 'cursor',
    config: '.cursor/mcp.json',
    instructions: 'AGENTS.md',
    others: jsonOthers,
    servers: jsonServers,
    installed: jsonInstalled,
    edited: jsonEdited,
    broken: '{\n  // comments are not JSON\n  "mcpServers": {}\n}\n',
  },
  {
    name: 'codex',
    config: '.codex/config.toml',
    instructions: 'AGENTS.md',
    others: codexOthers,
    installed: `${codexOthers}\n[mcp_servers.kinfra]\ncommand = "kinfra"\nargs = ["mcp"]\n`,
    servers: (t) => (parseToml(t) as { mcp_servers: Record<string, unknown> }).mcp_servers,
    edited: '[mcp_servers.kinfra]\ncommand = "/opt/kinfra/bin/kinfra"\nargs = ["mcp"]\n',
    broken: '[mcp_servers.kinfra\ncommand = "kinfra"\n',
  },
];

const read = (path: string) => readFileSync(join(ws.repo, path), 'utf8');
function put(path: string, text: string) {
  mkdirSync(dirname(join(ws.repo, path)), { recursive: true });
  writeFileSync(join(ws.repo, path), text);
}

async function agent(args: string[], cwd?: string) {
  const r = await ws.run(['agent', ...args, '--json'], cwd ? { cwd } : {});
  expect(r.code, r.stderr).toBe(0);
  const doc = parseJson(r.stdout);
  const parsed = successDocument('agent').safeParse(doc);
  expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
  return doc.data as {
    status: string;
    changed: boolean;
    configFile: string;
    instructionsFile: string | null;
    instructionsChanged: boolean;
  };
}

describe.each(HOSTS)('kinfra agent install|uninstall $name', (host) => {
  it("a fresh checkout: kinfra's server in the host's project file and the instructions section", async () => {
    ws = appWorkspace();
    const r = await agent(['install', host.name]);
    expect(r).toEqual({
      host: host.name,
      action: 'install',
      configFile: join(ws.repo, host.config),
      changed: true,
      status: 'installed',
      instructionsFile: join(ws.repo, host.instructions),
      instructionsChanged: true,
    });
    expect(host.servers(read(host.config))).toEqual({ kinfra: KINFRA });
    expect(read(host.instructions)).toBe(`${INSTRUCTIONS}\n`);
  });

  it('other servers and content are kept byte for byte; a repeated install changes nothing', async () => {
    ws = appWorkspace();
    put(host.config, host.others);
    put(host.instructions, '# Notes\n\nUse make.\n');
    expect((await agent(['install', host.name])).status).toBe('installed');
    const config = read(host.config);
    const notes = read(host.instructions);
    expect(config).toBe(host.installed);
    expect(Object.keys(host.servers(config))).toEqual(['docs', 'kinfra']);
    expect(notes).toBe(`# Notes\n\nUse make.\n\n${INSTRUCTIONS}\n`);

    const again = await agent(['install', host.name]);
    expect(again).toMatchObject({ status: 'already-installed', changed: false, instructionsChanged: false });
    expect(read(host.config)).toBe(config);
    expect(read(host.instructions)).toBe(notes);

    const human = await ws.run(['agent', 'install', host.name]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`kinfra MCP server for ${host.name}: already installed`);

    // Uninstall takes out kinfra's entry and section, and gives back the files as they were.
    const gone = await agent(['uninstall', host.name]);
    expect(gone).toMatchObject({ status: 'removed', changed: true, instructionsChanged: true });
    expect(read(host.config)).toBe(host.others);
    expect(read(host.instructions)).toBe('# Notes\n\nUse make.\n');
  });

  it('an entry of the user that starts something else is left, and replaced with --force', async () => {
    ws = appWorkspace();
    put(host.config, host.edited);
    const r = await ws.run(['agent', 'install', host.name, '--no-instructions']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('differs');
    expect(r.stderr).toContain(`kinfra agent install ${host.name} --force`);
    expect(read(host.config)).toBe(host.edited);
    const forced = await agent(['install', host.name, '--force', '--no-instructions']);
    expect(forced).toMatchObject({ status: 'updated', changed: true, instructionsFile: null });
    expect(host.servers(read(host.config))).toEqual({ kinfra: KINFRA });
    expect(existsSync(join(ws.repo, host.instructions))).toBe(false);
  });

  it('a file that does not parse is refused (exit 1), and neither file is written', async () => {
    ws = appWorkspace();
    put(host.config, host.broken);
    const r = await ws.run(['agent', 'install', host.name, '--json']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const doc = parseJson(r.stderr);
    expect(errorDocument.safeParse(doc).success).toBe(true);
    expect(doc.error.code).toBe('agent-config-invalid');
    expect(doc.error.message).toContain(join(ws.repo, host.config));
    expect(read(host.config)).toBe(host.broken);
    expect(existsSync(join(ws.repo, host.instructions))).toBe(false);
    expect((await ws.run(['agent', 'uninstall', host.name])).code).toBe(1);
    expect(read(host.config)).toBe(host.broken);
  });

  it('uninstall where kinfra is not installed changes nothing and creates nothing', async () => {
    ws = appWorkspace();
    const r = await agent(['uninstall', host.name]);
    expect(r).toMatchObject({ status: 'not-installed', changed: false, instructionsChanged: false });
    expect(existsSync(join(ws.repo, host.config))).toBe(false);
    expect(existsSync(join(ws.repo, host.instructions))).toBe(false);
    put(host.config, host.others);
    expect((await agent(['uninstall', host.name])).status).toBe('not-installed');
    expect(read(host.config)).toBe(host.others);
  });
});

describe('kinfra agent, whatever the host', () => {
  it("writes into the root of the worktree holding the folder, keeping the file's mode", async () => {
    ws = appWorkspace();
    ws.git(['worktree', 'add', '-q', '-b', 'feat', join(ws.dev, 'feat')]);
    const tree = join(ws.dev, 'feat');
    mkdirSync(join(tree, 'src', 'deep'), { recursive: true });
    writeFileSync(join(tree, '.mcp.json'), '{}\n');
    chmodSync(join(tree, '.mcp.json'), 0o600);
    const r = await agent(['install', 'claude-code'], join(tree, 'src', 'deep'));
    expect(r.configFile).toBe(join(tree, '.mcp.json'));
    expect(statSync(join(tree, '.mcp.json')).mode & 0o777).toBe(0o600);
    expect(existsSync(join(tree, 'CLAUDE.md'))).toBe(true);
    expect(existsSync(join(ws.repo, '.mcp.json'))).toBe(false);
  });

  it('codex and cursor share AGENTS.md: one section, removed by the first uninstall', async () => {
    ws = appWorkspace();
    await agent(['install', 'codex']);
    expect((await agent(['install', 'cursor'])).instructionsChanged).toBe(false);
    expect(read('AGENTS.md')).toBe(`${INSTRUCTIONS}\n`);
    // An instructions file left with nothing in it goes; the host's configuration file stays.
    expect((await agent(['uninstall', 'codex'])).instructionsChanged).toBe(true);
    expect(existsSync(join(ws.repo, 'AGENTS.md'))).toBe(false);
    expect(read('.codex/config.toml')).toBe('');
    expect(jsonServers(read('.cursor/mcp.json'))).toEqual({ kinfra: KINFRA });
  });

  it('refuses an unknown host or action, and a folder outside a git checkout', async () => {
    ws = appWorkspace();
    const unknown = await ws.run(['agent', 'install', 'vim']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/claude-code, codex, cursor|"claude-code", "codex", "cursor"/);
    expect((await ws.run(['agent', 'remove', 'codex'])).code).toBe(1);
    const outside = await ws.run(['agent', 'install', 'codex', '--json'], { cwd: ws.home });
    expect(outside.code).toBe(1);
    expect(parseJson(outside.stderr).error.code).toBe('not-a-git-repo');
    expect(existsSync(join(ws.home, '.codex', 'config.toml'))).toBe(false);
  });

  it('the built binary installs and reports in words', async () => {
    ws = workspace();
    const r = await kinfra(['agent', 'install', 'cursor'], { cwd: ws.repo, home: ws.home });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      `✓ kinfra MCP server for cursor: installed (${join(ws.repo, '.cursor/mcp.json')})\n` +
        `  instructions: written (${join(ws.repo, 'AGENTS.md')})\n`,
    );
    expect(r.stderr).toContain('Cursor');
  });
});
