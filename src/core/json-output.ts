// The version of every `--json` document (and of the HTTP API's, which are the same documents). Bumped when a
// document changes in a way a reader that knew the last one would misread (docs/json-output.md, Versions).
export const JSON_SCHEMA_VERSION = 2;
