import fc from 'fast-check';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import {
  BEGIN_MARKER,
  END_MARKER,
  INSTRUCTIONS,
  indentUnit,
  installInstructions,
  installJson,
  installToml,
  tomlHeader,
  uninstallInstructions,
  uninstallJson,
  uninstallToml,
} from '../../src/core/agent-config.js';
import { KinfraError } from '../../src/core/errors.js';

const json = { file: '/p/.mcp.json', force: false } as const;
const toml = { file: '/p/.codex/config.toml', force: false } as const;
const KINFRA = { command: 'kinfra', args: ['mcp'] };

function refused(f: () => unknown): KinfraError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(KinfraError);
    return e as KinfraError;
  }
  throw new Error('not refused');
}

describe('JSON hosts (.mcp.json, .cursor/mcp.json)', () => {
  it('a fresh file gets kinfra alone, two-space indented, with a final newline', () => {
    const e = installJson(undefined, json);
    expect(e.status).toBe('installed');
    expect(e.text).toBe(
      '{\n  "mcpServers": {\n    "kinfra": {\n      "command": "kinfra",\n      "args": [\n        "mcp"\n      ]\n' +
        '    }\n  }\n}\n',
    );
    expect(installJson('  \n', json).text).toBe(e.text);
  });

  it('adds kinfra after the other servers, leaving every other byte as it was', () => {
    const before =
      '{\n    "mcpServers": {\n        "docs": { "command": "npx", "args": ["-y", "docs-mcp"] }\n    },\n' +
      '    "other": [1, 2]\n}\n';
    const e = installJson(before, json);
    expect(e.status).toBe('installed');
    expect(e.text).toBe(
      '{\n    "mcpServers": {\n        "docs": { "command": "npx", "args": ["-y", "docs-mcp"] },\n' +
        '        "kinfra": {\n            "command": "kinfra",\n            "args": [\n                "mcp"\n' +
        '            ]\n        }\n    },\n    "other": [1, 2]\n}\n',
    );
    expect(JSON.parse(e.text!)).toEqual({
      mcpServers: { docs: { command: 'npx', args: ['-y', 'docs-mcp'] }, kinfra: KINFRA },
      other: [1, 2],
    });
    // Uninstall gives back the very bytes it started from.
    expect(uninstallJson(e.text, json)).toEqual({ status: 'removed', changed: true, text: before });
  });

  it('adds mcpServers to a file without one, in its indentation (tabs too), keeping a missing final newline', () => {
    const e = installJson('{\n\t"theme": "dark"\n}', json);
    expect(e.text).toBe(
      '{\n\t"theme": "dark",\n\t"mcpServers": {\n\t\t"kinfra": {\n\t\t\t"command": "kinfra",\n' +
        '\t\t\t"args": [\n\t\t\t\t"mcp"\n\t\t\t]\n\t\t}\n\t}\n}',
    );
    expect(installJson('{}\n', json).text).toBe(installJson(undefined, json).text);
    expect(installJson('{"mcpServers": {}}', json).text).toBe(
      '{"mcpServers": {\n  "kinfra": {\n    "command": "kinfra",\n    "args": [\n      "mcp"\n    ]\n  }\n}}',
    );
    expect(JSON.parse(installJson('{"a": {"b": [1]}, "mcpServers": {"x": {}}}', json).text!)).toEqual({
      a: { b: [1] },
      mcpServers: { x: {}, kinfra: KINFRA },
    });
  });

  it('a file whose lines end in CRLF keeps CRLF line ends', () => {
    const crlf = '{\r\n  "mcpServers": {\r\n    "a": {}\r\n  }\r\n}\r\n';
    const e = installJson(crlf, json);
    expect(e.text).toBe(
      '{\r\n  "mcpServers": {\r\n    "a": {},\r\n    "kinfra": {\r\n      "command": "kinfra",\r\n' +
        '      "args": [\r\n        "mcp"\r\n      ]\r\n    }\r\n  }\r\n}\r\n',
    );
    expect(uninstallJson(e.text, json).text).toBe(crlf);
  });

  it('a repeated install changes nothing; keys of the user beside command and args do not make it differ', () => {
    const once = installJson(undefined, json).text!;
    expect(installJson(once, json)).toEqual({ status: 'already-installed', changed: false, text: once });
    const added = '{"mcpServers": {"kinfra": {"type": "stdio", "command": "kinfra", "args": ["mcp"], "env": {}}}}';
    expect(installJson(added, json).status).toBe('already-installed');
  });

  it('a kinfra entry that starts something else is left alone, and replaced only with force', () => {
    const edited =
      '{\n  "mcpServers": {\n    "kinfra": { "command": "/opt/bin/kinfra", "args": ["mcp"] },\n' +
      '    "b": {}\n  }\n}\n';
    expect(installJson(edited, json)).toEqual({ status: 'differs', changed: false, text: edited });
    const forced = installJson(edited, { ...json, force: true });
    expect(forced.status).toBe('updated');
    expect(forced.text).toBe(
      '{\n  "mcpServers": {\n    "kinfra": {\n      "command": "kinfra",\n      "args": [\n        "mcp"\n' +
        '      ]\n    },\n    "b": {}\n  }\n}\n',
    );
  });

  it('a file that does not parse, or is not an MCP configuration, is refused with the file named', () => {
    for (const text of ['{"mcpServers": {', '// a comment\n{}', '[]', '{"mcpServers": []}']) {
      const e = refused(() => installJson(text, json));
      expect(e.code).toBe('agent-config-invalid');
      expect(e.category).toBe('usage');
      expect(e.message).toContain('/p/.mcp.json');
      expect(e.hint).toMatch(/never rewrites/);
      expect(refused(() => uninstallJson(text, json)).code).toBe('agent-config-invalid');
    }
  });

  it('uninstall removes only kinfra, wherever it stands, and leaves the mcpServers object', () => {
    const three = '{\n  "mcpServers": {\n    "a": {},\n    "kinfra": {"command": "x"},\n    "b": {}\n  }\n}\n';
    expect(uninstallJson(three, json).text).toBe('{\n  "mcpServers": {\n    "a": {},\n    "b": {}\n  }\n}\n');
    const first = '{\n  "mcpServers": {\n    "kinfra": {},\n    "b": {}\n  }\n}\n';
    expect(uninstallJson(first, json).text).toBe('{\n  "mcpServers": {\n    "b": {}\n  }\n}\n');
    const alone = installJson('{\n  "x": 1\n}\n', json).text!;
    expect(uninstallJson(alone, json).text).toBe('{\n  "x": 1,\n  "mcpServers": {}\n}\n');
    expect(uninstallJson('{"mcpServers": {"a": 1, "kinfra": 2}}', json).text).toBe('{"mcpServers": {"a": 1}}');
  });

  it('uninstall where kinfra is not installed changes nothing (no file, no entry)', () => {
    expect(uninstallJson(undefined, json)).toEqual({ status: 'not-installed', changed: false, text: undefined });
    const other = '{"mcpServers": {"a": {}}}';
    expect(uninstallJson(other, json)).toEqual({ status: 'not-installed', changed: false, text: other });
  });

  it('a layout the scan does not follow (a duplicate key) is re-serialised rather than edited wrongly', () => {
    const dup = '{"mcpServers": {"a": 1}, "mcpServers": {"b": 2}}';
    expect(JSON.parse(installJson(dup, json).text!)).toEqual({ mcpServers: { b: 2, kinfra: KINFRA } });
  });

  it('any file with servers: install adds exactly kinfra, and uninstall gives back the same bytes', () => {
    const key = fc.string({ minLength: 1, maxLength: 6 }).filter((k) => k !== 'kinfra' && k !== '__proto__');
    const value = fc.jsonValue({ maxDepth: 2 });
    fc.assert(
      fc.property(
        fc.dictionary(key, value, { maxKeys: 3 }),
        fc.dictionary(key, value, { maxKeys: 3 }),
        fc.constantFrom(0, 2, 4, '\t'),
        fc.boolean(),
        (root, servers, indent, newline) => {
          const doc = { ...root, mcpServers: servers };
          const text = JSON.stringify(doc, null, indent) + (newline ? '\n' : '');
          const e = installJson(text, json);
          // Through JSON both ways, as the file holds it (-0 is written 0).
          const expected = JSON.parse(JSON.stringify({ ...doc, mcpServers: { ...servers, kinfra: KINFRA } }));
          expect(JSON.parse(e.text!)).toEqual(expected);
          expect(uninstallJson(e.text, json).text).toBe(text);
        },
      ),
    );
  });

  it('reads the indentation of a file', () => {
    expect(indentUnit('{\n    "a": 1\n}')).toBe('    ');
    expect(indentUnit('{\n\t"a": 1\n}')).toBe('\t');
    expect(indentUnit('{"a": 1}')).toBe('  ');
  });
});

describe('TOML host (.codex/config.toml)', () => {
  const others = [
    '# My Codex settings',
    'model = "o3"',
    '',
    '[mcp_servers.docs]',
    'command = "npx" # the docs server',
    'args = ["-y", "docs-mcp"]',
    '',
    '# The shell policy',
    '[shell_environment_policy]',
    'inherit = "core"',
    '',
  ].join('\n');

  it('a fresh file gets the kinfra table alone', () => {
    const e = installToml(undefined, toml);
    expect(e).toEqual({
      status: 'installed',
      changed: true,
      text: '[mcp_servers.kinfra]\ncommand = "kinfra"\nargs = ["mcp"]\n',
    });
    expect(parseToml(e.text!)).toEqual({ mcp_servers: { kinfra: KINFRA } });
  });

  it('appends the table after comments and other tables, which stay as they were; uninstall restores the bytes', () => {
    const e = installToml(others, toml);
    expect(e.status).toBe('installed');
    expect(e.text).toBe(`${others}\n[mcp_servers.kinfra]\ncommand = "kinfra"\nargs = ["mcp"]\n`);
    expect(installToml(e.text, toml)).toEqual({ status: 'already-installed', changed: false, text: e.text });
    expect(uninstallToml(e.text, toml)).toEqual({ status: 'removed', changed: true, text: others });
    // Without a final newline, and with Windows line ends.
    expect(installToml('model = "o3"', toml).text).toBe(
      'model = "o3"\n\n[mcp_servers.kinfra]\ncommand = "kinfra"\nargs = ["mcp"]\n',
    );
    expect(installToml('model = "o3"\r\n', toml).text).toBe(
      'model = "o3"\r\n\r\n[mcp_servers.kinfra]\r\ncommand = "kinfra"\r\nargs = ["mcp"]\r\n',
    );
  });

  it('an entry that differs is left unless force, which replaces its table and sub-tables in place', () => {
    const edited = [
      '[mcp_servers.kinfra]',
      'command = "/opt/kinfra/bin/kinfra"',
      'args = ["mcp"]',
      '',
      '[mcp_servers.kinfra.env]',
      'DEBUG = "1"',
      '',
      '# The docs server',
      '[mcp_servers.docs]',
      'command = "npx"',
      '',
    ].join('\n');
    expect(installToml(edited, toml)).toEqual({ status: 'differs', changed: false, text: edited });
    const forced = installToml(edited, { ...toml, force: true });
    expect(forced.status).toBe('updated');
    expect(forced.text).toBe(
      '[mcp_servers.kinfra]\ncommand = "kinfra"\nargs = ["mcp"]\n\n' +
        '# The docs server\n[mcp_servers.docs]\ncommand = "npx"\n',
    );
  });

  it('an entry that matches in another spelling (a quoted header, an inline table) counts as installed', () => {
    expect(installToml('["mcp_servers" . kinfra]\ncommand = "kinfra"\nargs = [ "mcp" ]\n', toml).status).toBe(
      'already-installed',
    );
    expect(installToml('[mcp_servers]\nkinfra = { command = "kinfra", args = ["mcp"] }\n', toml).status).toBe(
      'already-installed',
    );
  });

  it('an inline kinfra table it cannot cut out alone is refused, with what to do by hand', () => {
    const inline = '[mcp_servers]\nkinfra = { command = "old" }\ndocs = { command = "npx" }\n';
    const e = refused(() => installToml(inline, { ...toml, force: true }));
    expect(e.code).toBe('agent-config-uneditable');
    expect(e.hint).toContain('[mcp_servers.kinfra]');
    expect(refused(() => uninstallToml(inline, toml)).code).toBe('agent-config-uneditable');
  });

  it('an edit whose result would not be the document meant is refused (an inline mcp_servers table)', () => {
    const e = refused(() => installToml('mcp_servers = { docs = { command = "npx" } }\n', toml));
    expect(e.code).toBe('agent-config-uneditable');
  });

  it('a file that does not parse is refused with the file named', () => {
    const e = refused(() => installToml('[mcp_servers.kinfra\ncommand = "kinfra"\n', toml));
    expect(e.code).toBe('agent-config-invalid');
    expect(e.message).toContain('/p/.codex/config.toml is not TOML');
    expect(refused(() => uninstallToml('a = = 1', toml)).code).toBe('agent-config-invalid');
  });

  it('uninstall removes only kinfra tables, with the blank line that separated them', () => {
    const mid = '[a]\nx = 1\n\n[mcp_servers.kinfra]\ncommand = "kinfra"\n\n# about b\n[b]\ny = 2\n';
    expect(uninstallToml(mid, toml).text).toBe('[a]\nx = 1\n\n# about b\n[b]\ny = 2\n');
    const alone = installToml(undefined, toml).text;
    expect(uninstallToml(alone, toml)).toEqual({ status: 'removed', changed: true, text: '' });
    expect(uninstallToml(others, toml)).toEqual({ status: 'not-installed', changed: false, text: others });
    expect(uninstallToml(undefined, toml).status).toBe('not-installed');
  });

  it('any file of other tables: install appends kinfra alone, and uninstall gives back the same bytes', () => {
    const key = fc.stringMatching(/^[a-z][a-z0-9_]{0,5}$/).filter((k) => k !== 'mcp_servers');
    const scalar = fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean());
    fc.assert(
      fc.property(
        fc.dictionary(key, fc.oneof(scalar, fc.dictionary(key, scalar, { maxKeys: 3 })), { maxKeys: 4 }),
        fc.dictionary(key, fc.dictionary(key, scalar, { minKeys: 1, maxKeys: 2 }), { maxKeys: 2 }),
        (doc, servers) => {
          const full = Object.keys(servers).length > 0 ? { ...doc, mcp_servers: servers } : doc;
          const text = stringifyToml(full);
          const e = installToml(text, toml);
          expect(parseToml(e.text!)).toEqual({ ...full, mcp_servers: { ...servers, kinfra: KINFRA } });
          const back = uninstallToml(e.text, toml).text!;
          expect(back).toBe(text.trim() === '' ? '' : text.replace(/\n*$/, '\n'));
        },
      ),
    );
  });

  it('reads table headers, and only them', () => {
    expect(tomlHeader('[mcp_servers.kinfra]')).toEqual(['mcp_servers', 'kinfra']);
    expect(tomlHeader('  [ "mcp_servers" . \'kinfra\' . env ]  # x')).toEqual(['mcp_servers', 'kinfra', 'env']);
    expect(tomlHeader('[[mcp_servers.kinfra.tools]]')).toEqual(['mcp_servers', 'kinfra', 'tools']);
    expect(tomlHeader('args = ["mcp"]')).toBeUndefined();
    expect(tomlHeader('["a", "b"],')).toBeUndefined();
    expect(tomlHeader('# [mcp_servers.kinfra]')).toBeUndefined();
  });
});

describe('the instructions section (CLAUDE.md, AGENTS.md)', () => {
  it('says what the agent should ask kinfra, and what it must never do', () => {
    expect(INSTRUCTIONS.startsWith(BEGIN_MARKER)).toBe(true);
    expect(INSTRUCTIONS.endsWith(END_MARKER)).toBe(true);
    for (const s of [
      'whoami',
      'kinfra sandbox whoami',
      'port_owner',
      'kinfra sandbox ports who <port>',
      'wait_ready',
    ]) {
      expect(INSTRUCTIONS).toContain(s);
    }
    expect(INSTRUCTIONS).toContain('kinfra sandbox gate');
    expect(INSTRUCTIONS).toMatch(/Never kill processes by name or by port/);
  });

  it('creates the file, appends after what is there, and removes exactly what it added', () => {
    expect(installInstructions(undefined, 'CLAUDE.md')).toEqual({
      status: 'installed',
      changed: true,
      text: `${INSTRUCTIONS}\n`,
    });
    const notes = '# Project notes\n\nRun `make test`.\n';
    const e = installInstructions(notes, 'AGENTS.md');
    expect(e.text).toBe(`${notes}\n${INSTRUCTIONS}\n`);
    expect(installInstructions(e.text, 'AGENTS.md')).toEqual({
      status: 'already-installed',
      changed: false,
      text: e.text,
    });
    expect(uninstallInstructions(e.text, 'AGENTS.md')).toEqual({ status: 'removed', changed: true, text: notes });
    // A file left with nothing in it goes.
    expect(uninstallInstructions(`${INSTRUCTIONS}\n`, 'CLAUDE.md')).toEqual({
      status: 'removed',
      changed: true,
      text: undefined,
    });
  });

  it('replaces an older section in place, keeping what surrounds it', () => {
    const old = `# Top\n\n${BEGIN_MARKER}\nold words\n${END_MARKER}\n\n## Below\ntext\n`;
    const e = installInstructions(old, 'AGENTS.md');
    expect(e.status).toBe('updated');
    expect(e.text).toBe(`# Top\n\n${INSTRUCTIONS}\n\n## Below\ntext\n`);
    expect(uninstallInstructions(e.text, 'AGENTS.md').text).toBe('# Top\n\n## Below\ntext\n');
  });

  it('a section at the end goes with the blank line before it; one in the middle with the one after it', () => {
    expect(uninstallInstructions(`a\n\n${INSTRUCTIONS}\n`, 'f').text).toBe('a\n');
    expect(uninstallInstructions(`a\n\n${INSTRUCTIONS}`, 'f').text).toBe('a');
    expect(uninstallInstructions(`a\n${INSTRUCTIONS}\nb\n`, 'f').text).toBe('a\nb\n');
    expect(uninstallInstructions(`a ${BEGIN_MARKER}x${END_MARKER} b\n`, 'f').text).toBe('a  b\n');
  });

  it('markers it cannot pair are refused, naming the file; without markers uninstall changes nothing', () => {
    for (const text of [
      `${BEGIN_MARKER}\nno end\n`,
      `${END_MARKER}\n${BEGIN_MARKER}\n`,
      `${INSTRUCTIONS}\n${INSTRUCTIONS}`,
    ]) {
      const e = refused(() => installInstructions(text, '/p/AGENTS.md'));
      expect(e.code).toBe('agent-instructions-markers');
      expect(e.message).toContain('/p/AGENTS.md');
      expect(refused(() => uninstallInstructions(text, '/p/AGENTS.md')).code).toBe('agent-instructions-markers');
    }
    expect(uninstallInstructions('# notes\n', 'f')).toEqual({
      status: 'not-installed',
      changed: false,
      text: '# notes\n',
    });
    expect(uninstallInstructions(undefined, 'f').status).toBe('not-installed');
  });
});
