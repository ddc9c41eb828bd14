/**
 * The Docker E2E suites share an engine, port bases and a compose-project
 * prefix (kte--), so they run one after the other from this one file, never in
 * parallel with each other.
 */
import './env-file.e2e.js';
import './sandbox.e2e.js';
import './pool.e2e.js';
import './faults.e2e.js';
import './ownership.e2e.js';
import './env-edits.e2e.js';
import './load.e2e.js';
import './registry-loss.e2e.js';
import './derived-layout.e2e.js';
import './mcp.e2e.js';
import './focus.e2e.js';
import './router.e2e.js';
import './dashboard.e2e.js';
import './database.e2e.js';
