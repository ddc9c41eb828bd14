// Issue 15: a warm `kinfra mcp` server answers `list` and `whoami` (tool calls from the SDK's own client over stdio)
// against `kinfra sandbox list --json` as a fresh process; and `kinfra sandbox ports who <port> --json` on a port a
// foreign process holds, cold (a fresh process), against `kinfra --version`. Three registered sandboxes.
import { spawn, spawnSync } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CLI, kinfra, median, scratch, timeInterleaved } from './lib.mjs';

const SANDBOXES = 3;
/** One service with a published port, so list and whoami have ports to show; never started. */
const COMPOSE = `services:
  web:
    image: kinfra-bench-mcp:never
    pull_policy: never
    ports:
      - "47280:8080"
`;
/** Wall time of one fresh process, in ms, spawned as lib.mjs's timings spawn. */
function fresh(argv, opts) {
  const t = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { ...opts, stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}`);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/** Latency of one tool call, in ms; a failed call (isError) fails the bench. */
async function call(client, name, args = {}) {
  const t = process.hrtime.bigint();
  const r = await client.callTool({ name, arguments: args });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.isError) throw new Error(`tool ${name} failed: ${r.content.map((c) => c.text).join('\n')}`);
  return ms;
}

/** Warm tool calls and fresh processes, round-robin after a warm-up of each; the median ms of every case. */
async function warmAgainstFresh(ws, client, sandboxPath, rounds) {
  const opts = { cwd: ws.repo, env: ws.env };
  const cases = [
    () => call(client, 'list'),
    () => call(client, 'whoami', { path: sandboxPath }),
    () => fresh([process.execPath, CLI, 'sandbox', 'list', '--json'], opts),
    () => fresh([process.execPath, CLI, 'sandbox', 'whoami', '--json'], { ...opts, cwd: sandboxPath }),
  ];
  const samples = cases.map(() => []);
  for (const run of cases) await run();
  for (let i = 0; i < rounds; i++) for (const [j, run] of cases.entries()) samples[j].push(await run());
  return samples.map(median);
}

/** A foreign node process listening on a port of its own choosing on 127.0.0.1, once it listens; and that port. */
async function foreignListener(cwd) {
  const code = "const s = require('net').createServer().listen(0, '127.0.0.1', () => console.log(s.address().port))";
  const child = spawn(process.execPath, ['-e', code], { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((done, fail) => {
    child.stdout.once('data', (d) => done(Number(String(d).trim())));
    child.once('exit', (c) => fail(new Error(`the foreign listener exited ${c}`)));
  });
  return { child, port };
}

const ms = (x) => `${x.toFixed(1)} ms`;

/** A warm tool call against `kinfra sandbox <cmd> --json` as a fresh process: how many times faster, at least `target`. */
const faster = (what, warm, cold, cmd, target) => ({
  name: `${what} vs \`kinfra sandbox ${cmd} --json\` as a fresh process`,
  measured: ms(warm),
  baseline: `${ms(cold)} (fresh \`kinfra sandbox ${cmd} --json\`)`,
  ratio: `${(cold / warm).toFixed(1)}x faster`,
  target: target ? `>= ${target}x faster` : '-',
  met: !target || cold / warm >= target,
});

export default async function mcp({ rounds }) {
  const ws = scratch({ 'docker-compose.yml': COMPOSE });
  let client;
  let holder;
  try {
    const paths = [];
    for (let i = 1; i <= SANDBOXES; i++)
      paths.push(JSON.parse(kinfra(ws, ['sandbox', 'create', `mcp-${i}`, '--json'])).data.path);
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [CLI, 'mcp'],
      cwd: ws.repo,
      env: ws.env,
      stderr: 'ignore',
    });
    client = new Client({ name: 'kinfra-bench', version: '1' });
    await client.connect(transport);
    const listed = (await client.callTool({ name: 'list' })).structuredContent;
    if (listed?.instances?.length !== SANDBOXES) throw new Error(`list answered ${JSON.stringify(listed)}`);
    const me = (await client.callTool({ name: 'whoami', arguments: { path: paths[0] } })).structuredContent;
    if (me?.sandbox?.path !== paths[0]) throw new Error(`whoami answered ${JSON.stringify(me)}`);
    const [list, whoami, freshList, freshWhoami] = await warmAgainstFresh(ws, client, paths[0], rounds);

    holder = await foreignListener(ws.root);
    const who = ['sandbox', 'ports', 'who', String(holder.port), '--json'];
    const [owner] = JSON.parse(kinfra(ws, who)).data.ports;
    if (owner?.state !== 'process' || owner.pid !== holder.child.pid)
      throw new Error(`ports who ${holder.port} did not name pid ${holder.child.pid}: ${JSON.stringify(owner)}`);
    const [version, portsWho] = timeInterleaved(
      [
        { name: 'kinfra --version', argv: [process.execPath, CLI, '--version'] },
        { name: 'ports who', argv: [process.execPath, CLI, ...who] },
      ],
      rounds,
      { cwd: ws.repo, env: ws.env },
    );

    const inSandbox = 'MCP `whoami` tool call (in a sandbox), warm server';
    return [
      faster(`MCP \`list\` tool call, warm server (${SANDBOXES} sandboxes)`, list, freshList, 'list', 5),
      faster(inSandbox, whoami, freshList, 'list', 5),
      // Not the target (that is against list): the same call against its own command.
      faster(inSandbox, whoami, freshWhoami, 'whoami'),
      {
        name: '`kinfra sandbox ports who <port> --json` on a port a foreign process holds, cold, vs `kinfra --version`',
        measured: ms(portsWho.ms),
        baseline: `${ms(version.ms)} (kinfra --version)`,
        ratio: `${(portsWho.ms / version.ms).toFixed(2)}x`,
        target: '< 2x',
        met: portsWho.ms / version.ms < 2,
      },
    ];
  } finally {
    holder?.child.kill('SIGKILL');
    await client?.close().catch(() => undefined);
    ws.cleanup();
  }
}
