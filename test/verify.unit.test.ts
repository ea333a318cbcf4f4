/**
 * The pure parts of lib/verify.ts, without a database: definition normalisation across versions,
 * settings classification, restore-log scanning, the concurrency limit, the table order and the
 * data comparison's progress (lines and numbers). The comparisons against real restored copies
 * are in test/verify.test.ts.
 * Run: node --require ts-node/register/transpile-only --test test/verify.unit.test.ts
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { classifySetting, scanRestoreLogs, mapLimit, largestFirst, normalizeAcrossVersions, tableProgress, DIFFERENCE_LINES, type TableProgress } from "../lib/verify";

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

/** Checks `n` tables of `bytes` each, one every `stepMs` on a clock the test moves; returns the lines and the numbers after each table. */
function simulate(n: number, bytes: number, stepMs: number, opts: { live?: boolean; differ?: (i: number) => boolean } = {}) {
    let t = 5_000_000;
    const tracker = tableProgress(n, n * bytes, { live: opts.live, now: () => t });
    const lines: { table: number; line: string }[] = [];
    const numbers: TableProgress[] = [tracker.snapshot()];
    for (let i = 1; i <= n; i++) {
        t += stepMs;
        const line = tracker.finished({ name: `public.t${i}`, bytes, rows: 1000, match: !(opts.differ?.(i) ?? false) });
        if (line) lines.push({ table: i, line });
        numbers.push(tracker.snapshot());
    }
    return { lines, numbers };
}

test("data progress: hundreds of tables write about ten lines (the shared throttle), the last table always", () => {
    const MiB = 1024 * 1024;
    // 500 tables of 1 MiB, one every 100 ms: 50 s, a line per 10% (every 5 s), then the last table's.
    const { lines } = simulate(500, MiB, 100);
    assert.deepEqual(lines.map((l) => l.table), [50, 100, 150, 200, 250, 300, 350, 400, 450, 500]);
    assert.equal(lines[0].line, "public.t50: 1000 rows match (50/500 tables, 50.0 MiB of 500.0 MiB (10%) in 5s at 10.0 MiB/s, ETA 45s)");
    assert.equal(lines[9].line, "last table public.t500: 1000 rows match (500/500 tables, 500.0 MiB of 500.0 MiB (100%) in 50s at 10.0 MiB/s)");

    // Fast tables: the 5-second interval decides (2000 tables in 20 s: 4 lines, not 2000).
    assert.deepEqual(simulate(2000, MiB, 10).lines.map((l) => l.table), [500, 1000, 1500, 2000]);

    // A live bar shows the progress: only the last table's line is written.
    assert.deepEqual(simulate(500, MiB, 100, { live: true }).lines.map((l) => l.table), [500]);
});

test("data progress: the first differing tables are named, the next says more differ, later ones are counted", () => {
    const MiB = 1024 * 1024;
    // 300 fast tables (no periodic line is due), 20 of them differing.
    const { lines } = simulate(300, MiB, 1, { differ: (i) => i >= 11 && i <= 30 });
    assert.equal(DIFFERENCE_LINES, 5);
    assert.deepEqual(lines.map((l) => l.table), [11, 12, 13, 14, 15, 16, 300]);
    assert.match(lines[0].line, /^public\.t11: 1000 rows DIFFER \(11\/300 tables, 1 differ, 11\.0 MiB of 300\.0 MiB \(3%\) in 0s at /);
    assert.ok(!lines[4].line.includes("more than"), lines[4].line);
    assert.match(lines[5].line, /^public\.t16: 1000 rows DIFFER \(16\/300 tables, 6 differ, .*\); more than 5 tables differ: the next ones are only counted here, the result lists them all$/);
    assert.match(lines[6].line, /^last table public\.t300: 1000 rows match \(300\/300 tables, 20 differ, 300\.0 MiB of 300\.0 MiB \(100%\) in 0s at /);
    // With a live bar, differences still get their lines.
    assert.deepEqual(simulate(300, MiB, 1, { live: true, differ: (i) => i >= 11 && i <= 30 }).lines.map((l) => l.table), [11, 12, 13, 14, 15, 16, 300]);
});

test("data progress numbers: tables and bytes only grow, the time never goes back, and they end at the totals", () => {
    const { numbers } = simulate(37, 8192, 250, { differ: (i) => i % 10 === 0 });
    assert.deepEqual(numbers[0], { tablesDone: 0, tablesTotal: 37, doneBytes: 0, totalBytes: 37 * 8192, differing: 0, elapsedMs: 0 });
    for (let i = 1; i < numbers.length; i++) {
        assert.equal(numbers[i].tablesDone, numbers[i - 1].tablesDone + 1);
        assert.equal(numbers[i].doneBytes, numbers[i - 1].doneBytes + 8192);
        assert.ok(numbers[i].elapsedMs >= numbers[i - 1].elapsedMs);
        assert.ok(numbers[i].differing >= numbers[i - 1].differing);
    }
    assert.deepEqual(numbers.at(-1), { tablesDone: 37, tablesTotal: 37, doneBytes: 37 * 8192, totalBytes: 37 * 8192, differing: 3, elapsedMs: 37 * 250 });
});

test("data progress counts what a scan reads: pg_table_size (with TOAST) when known", async () => {
    const { scanBytes } = await import("../lib/verify");
    assert.equal(scanBytes({ bytes: 8192, tableBytes: 50_000_000 }), 50_000_000);
    assert.equal(scanBytes({ bytes: 8192 }), 8192);
});
