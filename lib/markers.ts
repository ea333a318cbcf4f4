/**
 * Config vars the migration sets on the target Heroku app to record what happened to its
 * database, so that later runs (and people running `heroku config`) can see it.
 */

/** Set by Cutover when the dependent apps switch; HerokuRestore refuses to overwrite such a database. */
export const CUTOVER_MARKER = "AZURE_TO_HEROKU_PG_CUTOVER_AT";

/** Set by a rollback; a later Cutover refuses a verification older than it. */
export const ROLLBACK_MARKER = "AZURE_TO_HEROKU_PG_ROLLED_BACK_AT";
