// docs/http-api.md: the HTTP API the router serves (the catalogue's tools over HTTP), generated from the function
// that answers `GET /_kinfra/api` (what `npm run docs` writes; a test fails when the committed copy is out of date,
// and another compares it with what a running router lists).
import { apiCatalogue, type ApiEndpoint } from '../http/api-catalogue.js';

/** GitHub's anchor of a section's heading (`POST /_kinfra/api/list` is `post-_kinfraapilist`). */
const anchor = (e: ApiEndpoint) => `${e.method.toLowerCase()}-${e.path.replace(/\//g, '')}`;

function section(e: ApiEndpoint): string[] {
  return [
    `## \`${e.method} ${e.path}\``,
    '',
    `${e.summary}. CLI twin: \`${e.cli}\`. Effect: ${e.effect}.`,
    '',
    e.description,
    '',
    '<details><summary>Request body schema</summary>',
    '',
    '```json',
    JSON.stringify(e.input, null, 2),
    '```',
    '',
    '</details>',
    '',
    "<details><summary>Answer schema (the document's <code>data</code>)</summary>",
    '',
    '```json',
    JSON.stringify(e.output, null, 2),
    '```',
    '',
    '</details>',
    '',
  ];
}

export function httpApiMarkdown(): string {
  const { endpoints } = apiCatalogue();
  return [
    '# HTTP API',
    '',
    'Generated from the operation catalogue (`src/operations/`) by `npm run docs`; a test fails if this file is out',
    'of date, and another compares it with what a running router answers to `GET /_kinfra/api`. The router',
    '(`kinfra router start`, docs/router.md) serves it under its own names (`http://localhost:8800`,',
    "`http://127.0.0.1:8800`, `http://[::1]:8800`) and the dashboard's (`http://kinfra.localhost:8800`).",
    '',
    'Every endpoint is a tool of `kinfra mcp` (docs/mcp-tools.md) with the same name, input and result, run by the',
    'same use case with the same locks and refusals as its CLI twin. `force` is never an input here.',
    '',
    '- **Request**: `POST /_kinfra/api/<tool>` with a JSON object of its inputs (an empty body is `{}`; at most 1 MB);',
    "  a sandbox-scoped tool takes `sandbox` (name or instance id) or `path` (a folder), else it acts on the router's",
    '  own folder. An input the schema does not name is refused (`invalid-arguments`).',
    '- **Answer**: `200` with `{"schemaVersion": 2, "ok": true, "data": ...}`, the same document as `--json`; a',
    '  failure is `{"schemaVersion": 2, "ok": false, "error": {code, category, message, hint, details}}` with status',
    '  400 (usage), 404 (not-found), 409 (conflict, exists, port-conflict), 422 (gate, verify, unhealthy), 502',
    '  (external, api), 503 (registry, engine, interrupted) or 500.',
    '- **Access**: every request wants `Authorization: Bearer <token>` (`kinfra router token`), reads included (they',
    '  name folders and branches), and is refused (403) when a browser says it comes from another site (an `Origin`',
    "  that is not the router's own or the dashboard's, or `Sec-Fetch-Site` other than `same-origin`/`none`). A",
    "  tool (curl, a script) sends neither header. Only the dashboard's page and its two files need no token.",
    '- **Live**: `GET /_kinfra/events` is a `text/event-stream`: `sandboxes` (the `data` of `list --json`) at once',
    '  and on every change; `gate` (`{instanceId, running, at, gate}`) for each change of any gate, wherever it runs',
    "  (a terminal's `up` writes its record to `~/.ktrdr/sandboxes/gates/`), and each recorded one at once; `ping`",
    '  every 15 s. `GET /_kinfra/logs?sandbox=<name>&service=<service>&tail=100` streams `line` events',
    "  (`{service, line}`, without terminal control codes) of that service's logs, then `end` (`{service, exitCode}`,",
    '  or `{service, error}` when the stream failed). A refusal before the stream starts is a plain error answer.',
    '- `GET /_kinfra/api` answers this list as a document: `data.endpoints` `[{name, method, path, summary,',
    '  description, effect, cli, input, output}]`.',
    '',
    'Example: `curl -s -X POST -H "Authorization: Bearer $(kinfra router token)" -d \'{"sandbox": "feat-a"}\'',
    'http://localhost:8800/_kinfra/api/status`',
    '',
    '| Endpoint | CLI twin | Effect |',
    '|---|---|---|',
    ...endpoints.map((e) => `| [\`${e.path}\`](#${anchor(e)}) | \`${e.cli}\` | ${e.effect} |`),
    '',
    ...endpoints.flatMap(section),
  ].join('\n');
}
