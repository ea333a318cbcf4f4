/**
 * The Heroku client, one module per API object; `import * as heroku from "../lib/heroku"` sees
 * them all. client.ts holds the rules every request follows (retries, secrets, ambiguous
 * POSTs). Helpers the modules share (seg, withHint...) are exported between them, not from here.
 */
export { type HerokuEndpoints, DEFAULT_PLATFORM_URL, DEFAULT_DATA_URL, herokuEndpointsFromEnv } from "./endpoints";
export * from "./types";
export { HerokuApiError, type HerokuApiErrorFields, isHerokuApiError, type RequestOptions, backoffMs, parseRetryAfter, platformRequest, dataRequest } from "./client";
export * from "./apps";
export { createAddon, getAddon, deleteAddon, isAdvancedPlan, getWaitStatus, type WaitOptions, waitForAddon } from "./addons";
export * from "./transfers";
export * from "./pgSettings";
