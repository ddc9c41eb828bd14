// kinfra as a library: the pieces other TypeScript tools may build on.

export { KinfraError, type ErrorCategory } from './core/errors.js';
export { slugify, instanceIdFor } from './core/slug.js';
export { portFor, portsForSlot, portEnv, findPortProblems, type NamedPort, type SlotPort } from './core/ports.js';
export { parseEnvText, formatEnvText, type EnvMap } from './core/env-file.js';
export { parseConfigText, builtInConfig, type Config } from './core/config/config.js';
export { configFileSchema } from './core/config/schema.js';
export { appContext } from './app/context.js';
export { createSandbox } from './app/create.js';
export { initSandbox } from './app/init.js';
export { listSandboxes } from './app/list.js';
export { destroySandbox } from './app/destroy.js';
export { configReferenceMarkdown, kinfraJsonSchema, portsMarkdown } from './docs/generate.js';
export { jsonOutputSchema } from './docs/json-output.js';
export { probeHttp, probePostgres, probeTcp } from './adapters/probes.js';
export { resolveApiUrl } from './app/resolve-url.js';
export { resolveUrl, normaliseUrl, apiPath, type ResolvedUrl, type UrlSource } from './core/api-url.js';
export { verifyCompose, type Finding } from './core/compose-verify.js';
export { runGate, type GateCheck, type GateResult, type CheckResult } from './core/gate.js';
export { commandsMarkdown } from './docs/commands.js';
export { mcpToolsMarkdown } from './docs/mcp-tools.js';
export { httpApiMarkdown } from './docs/http-api.js';
export { CATALOGUE, OPERATIONS } from './operations/catalogue.js';
export type { AnyOperation, Effect, Target, Streams } from './operations/operation.js';
