/**
 * lib/restoreLog.ts: the one classifier for restore-log lines, over real pg_restore output.
 * The PostgreSQL 15 lines are a real transfer log of the rehearsal (pg_restore 15.18 -v
 * --no-owner --no-acl restoring the demo source as Heroku's non-superuser credential); the
 * PostgreSQL 11-and-earlier lines are that version's formats (src/bin/pg_dump/pg_backup_db.c,
 * pg_backup_archiver.c, pg_restore.c), the shape Heroku's migration guide shows.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { classifyRestoreLine, classifyRestoreLog, restoreProblemLines, scanRestoreLogs } from "../lib/restoreLog";

const PG15_LOG = [
    "pg_restore: connecting to database for restore",
    'pg_restore: creating SCHEMA "reporting"',
    'pg_restore: creating EXTENSION "citext"',
    'pg_restore: creating COMMENT "EXTENSION citext"',
    "pg_restore: while PROCESSING TOC:",
    "pg_restore: from TOC entry 3568; 0 0 COMMENT EXTENSION citext",
    "pg_restore: error: could not execute query: ERROR:  must be owner of extension citext",
    "Command was: COMMENT ON EXTENSION citext IS 'data type for case-insensitive character strings';",
    'pg_restore: creating EXTENSION "pgcrypto"',
    'pg_restore: creating COMMENT "EXTENSION pgcrypto"',
    "pg_restore: from TOC entry 3569; 0 0 COMMENT EXTENSION pgcrypto",
    "pg_restore: error: could not execute query: ERROR:  must be owner of extension pgcrypto",
    "Command was: COMMENT ON EXTENSION pgcrypto IS 'cryptographic functions';",
    'pg_restore: creating TABLE "public.orders"',
    "waiting for download to complete",
    "download done",
    'pg_restore: processing data for table "public.orders"',
    "pg_restore: executing SEQUENCE SET orders_id_seq",
    "pg_restore: restored 1 large object",
    "pg_restore: warning: errors ignored on restore: 2",
    "waiting for restore to complete",
    "restore done",
].map((message) => ({ created_at: "2026-12-01 04:00:00 +0000", message }));

test("a real PostgreSQL 15 restore log: the two ignored extension-comment errors and the summary warning, nothing else", () => {
    assert.deepEqual(scanRestoreLogs(PG15_LOG), {
        errors: [
            "pg_restore: error: could not execute query: ERROR:  must be owner of extension citext",
            "pg_restore: error: could not execute query: ERROR:  must be owner of extension pgcrypto",
        ],
        warnings: ["pg_restore: warning: errors ignored on restore: 2"],
    });
    // HerokuRestore lists both kinds: Heroku reports the ignored errors as the transfer's warnings.
    assert.deepEqual(restoreProblemLines(PG15_LOG), [
        "pg_restore: error: could not execute query: ERROR:  must be owner of extension citext",
        "pg_restore: error: could not execute query: ERROR:  must be owner of extension pgcrypto",
        "pg_restore: warning: errors ignored on restore: 2",
    ]);
    const levels = classifyRestoreLog(PG15_LOG);
    assert.equal(levels[4], "detail", "while PROCESSING TOC is the error's context");
    assert.equal(levels[5], "detail", "from TOC entry is the error's context");
    assert.equal(levels[7], "detail", "Command was: is the error's statement");
    assert.equal(levels[14], "info", "the transfer's own progress line");
});

test("PostgreSQL 11 and earlier: archiver-tagged errors, indented Command was, the unprefixed WARNING summary", () => {
    const log = [
        "pg_restore: [archiver (db)] Error while PROCESSING TOC:",
        "pg_restore: [archiver (db)] Error from TOC entry 3079; 0 0 COMMENT EXTENSION plpgsql",
        "pg_restore: [archiver (db)] could not execute query: ERROR:  must be owner of extension plpgsql",
        "    Command was: COMMENT ON EXTENSION plpgsql IS 'PL/pgSQL procedural language';",
        "pg_restore: [archiver (db)] could not execute query: ERROR:  role \"azure_pg_admin\" does not exist",
        "    Command was: ALTER TABLE public.orders OWNER TO azure_pg_admin;",
        "WARNING: errors ignored on restore: 2",
    ].map((message) => ({ message }));
    assert.deepEqual(classifyRestoreLog(log), ["detail", "detail", "error", "detail", "error", "detail", "warning"]);
    assert.deepEqual(scanRestoreLogs(log).warnings, ["WARNING: errors ignored on restore: 2"]);
    assert.equal(scanRestoreLogs(log).errors.length, 2);
    // A module-tagged WARNING of those versions is a warning, not an error.
    assert.equal(classifyRestoreLine("pg_restore: [archiver] WARNING: archive items not in correct section order"), "warning");
});

test("the level prefixes of every version: fatal (12-14) is an error; detail and hint (16+) belong to the error", () => {
    assert.equal(classifyRestoreLine("pg_restore: fatal: could not open input file \"dump\": No such file or directory"), "error");
    assert.equal(classifyRestoreLine("pg_restore: error: connection to server at \"h\" (10.0.0.1), port 5432 failed: FATAL:  password authentication failed for user \"u\""), "error");
    assert.equal(classifyRestoreLine("pg_restore: detail: Command was: CREATE TABLE t ()"), "detail");
    assert.equal(classifyRestoreLine("pg_restore: hint: Use the --no-owner option."), "detail");
    assert.equal(classifyRestoreLine("pg_restore: warning: errors ignored on restore: 12"), "warning");
});

test("server notices relayed by pg_restore: WARNING is a warning, NOTICE is not", () => {
    assert.equal(classifyRestoreLine("pg_restore: WARNING:  no privileges were granted for \"orders\""), "warning");
    assert.equal(classifyRestoreLine("pg_restore: NOTICE:  extension \"citext\" already exists, skipping"), "info");
});

test("object names and SQL text are never taken for errors or warnings (the word searches this replaces did)", () => {
    const log = [
        'pg_restore: creating TABLE "public.error"',
        'pg_restore: processing data for table "public.warning"',
        'pg_restore: creating FUNCTION "public.failed(integer)"',
        "pg_restore: from TOC entry 301; 1255 16500 FUNCTION public.failed(integer) app",
        "pg_restore: error: could not execute query: ERROR:  permission denied for language plperlu",
        "Command was: CREATE FUNCTION public.failed(integer) RETURNS void",
        "    LANGUAGE plperlu",
        "    AS $$ warn 'warning: the job failed'; die 'fatal error' $$;",
        'pg_restore: creating TABLE "public.jobs"',
        "pg_restore: warning: errors ignored on restore: 1",
    ].map((message) => ({ message }));
    assert.deepEqual(scanRestoreLogs(log), {
        errors: ["pg_restore: error: could not execute query: ERROR:  permission denied for language plperlu"],
        warnings: ["pg_restore: warning: errors ignored on restore: 1"],
    });
    assert.deepEqual(classifyRestoreLog(log).slice(5, 8), ["detail", "detail", "detail"], "the statement's lines are its detail");
});

test("the transfer's own lines keep the word rules: a failed transfer is an error line", () => {
    assert.equal(classifyRestoreLine("restore failed: pg_restore exited with code 1"), "error");
    assert.equal(classifyRestoreLine('error: extension "timescaledb" is not supported by Heroku Postgres (TOC entry 12)'), "error");
    assert.equal(classifyRestoreLine("waiting for restore to complete"), "info");
});

test("lines are redacted and capped at 500 each", () => {
    const out = scanRestoreLogs([
        { message: "pg_restore: error: could not connect to postgres://u:hunter2pass@h/db" },
        ...Array.from({ length: 600 }, (_, i) => ({ message: `pg_restore: warning: w${i}` })),
    ]);
    assert.deepEqual(out.errors, ["pg_restore: error: could not connect to postgres://u:[secret]@h/db"]);
    assert.equal(out.warnings.length, 500);
    assert.equal(out.warnings[499], "pg_restore: warning: w499");
});
