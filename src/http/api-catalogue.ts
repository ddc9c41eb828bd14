// The HTTP API's own description (`GET /_kinfra/api`, and docs/http-api.md from the same function): one endpoint per
// catalogue tool, the MCP tools' names, inputs and results, so a script, an agent and the dashboard read one model.
import { CATALOGUE } from '../operations/catalogue.js';
import { cliTwin, toolSchemas } from '../operations/tool-schemas.js';
import { catalogueTools, toolDescription, toolTitle } from '../operations/tools.js';

export interface ApiEndpoint {
  /** The tool's name (as MCP names it). */
  name: string;
  method: 'POST';
  path: string;
  summary: string;
  description: string;
  effect: string;
  cli: string;
  /** The JSON object the request's body is. */
  input: unknown;
  /** The `data` of the answer's document, `{schemaVersion, ok: true, data}`. */
  output: unknown;
}

export function apiCatalogue(): { endpoints: ApiEndpoint[] } {
  return {
    endpoints: catalogueTools(CATALOGUE).map((t) => ({
      name: t.view.name,
      method: 'POST',
      path: `/_kinfra/api/${t.view.name}`,
      summary: toolTitle(t),
      description: toolDescription(t),
      effect: t.op.effect,
      cli: cliTwin(t),
      ...toolSchemas(t),
    })),
  };
}
