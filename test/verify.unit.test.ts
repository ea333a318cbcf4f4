/**
 * The pure parts of lib/verify.ts, without a database: definition normalisation across versions,
 * settings classification, restore-log scanning, the concurrency limit and the table order. The
 * comparisons against real restored copies are in test/verify.test.ts.
 * Run: node --require ts-node/register/transpile-only --test test/verify.unit.test.ts
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { classifySetting, scanRestoreLogs, mapLimit, largestFirst, normalizeAcrossVersions } from "../lib/verify";

test("across major versions, definitions are compared without name qualifiers; string literals are kept", () => {
    assert.equal(normalizeAcrossVersions(`SELECT "T ""x""".id, t.v FROM "Ünïcødé Schema"."T ""x""" JOIN public.t ON t.a = 'public.t.a' WHERE x = 1.5 AND m = 'a'::"Ü S".mood`),
        `SELECT id, v FROM "T ""x""" JOIN t ON a = 'public.t.a' WHERE x = 1.5 AND m = 'a'::mood`);
});

test("settings are classified: behaviour and performance highlighted, paths and sizing ignored", () => {
    assert.equal(classifySetting("work_mem"), "performance");
    assert.equal(classifySetting("enable_seqscan"), "performance");
    assert.equal(classifySetting("TimeZone"), "behaviour");
    assert.equal(classifySetting("search_path"), "behaviour");
    assert.equal(classifySetting("default_transaction_isolation"), "behaviour");
    assert.equal(classifySetting("standard_conforming_strings"), "behaviour");
    for (const n of ["data_directory", "port", "ssl_cert_file", "shared_buffers", "log_line_prefix", "wal_level", "max_wal_size", "archive_command"]) assert.equal(classifySetting(n), "ignored", n);
    assert.equal(classifySetting("some_extension.option"), "other");
});

test("restore log lines: errors and warnings listed, credentials removed", () => {
    assert.deepEqual(scanRestoreLogs([
        { message: "pg_restore: creating TABLE \"public.orders\"" },
        { message: "pg_restore: warning: errors ignored on restore: 1" },
        { message: "pg_restore: error: could not connect to postgres://u:hunter2pass@h/db" },
    ]), { errors: ["pg_restore: error: could not connect to postgres://u:[secret]@h/db"], warnings: ["pg_restore: warning: errors ignored on restore: 1"] });
});

test("mapLimit runs at most `limit` tasks at once and keeps the order", async () => {
    let running = 0;
    let peak = 0;
    const out = await mapLimit([5, 1, 4, 2, 3, 0], 2, async (x) => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, x * 5));
        running--;
        return x * 10;
    });
    assert.deepEqual(out, [50, 10, 40, 20, 30, 0]);
    assert.equal(peak, 2);
});

test("tables are checked largest first (with TOAST), ties by name, so a big table never starts last", () => {
    const rel = (name: string, bytes: number, tableBytes?: number) => ({ schema: "public", name, bytes, tableBytes });
    const order = largestFirst([rel("a_small", 8192), rel("b_toasted", 8192, 50_000_000), rel("c_big", 40_000_000, 40_100_000), rel("d_tie", 8192), rel("a_tie", 8192, 8192)]);
    assert.deepEqual(order.map((t) => t.name), ["b_toasted", "c_big", "a_small", "a_tie", "d_tie"]);
});
