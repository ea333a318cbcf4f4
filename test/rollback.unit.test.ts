/**
 * lib/rollback.ts without services: what counts as a write since the cutover, how `acknowledge`
 * entries cover them, the messages' lines, the plan, and the split of Cutover's record into plain
 * names and secret values.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
    describeUrl, describeWrites, hasWrites, joinChanges, rollbackPlanLines, splitChanges, unacknowledgedWrites, writesSince, type WriteCounters,
} from "../lib/rollback";
import { settingsWith } from "./config-fixture";

const base: WriteCounters = {
    readAt: "2026-12-01T00:00:00.000Z",
    statsReset: "",
    tables: [
        { table: "public.orders", inserted: 1500, updated: 0, deleted: 0 },
        { table: "public.products", inserted: 50, updated: 0, deleted: 0 },
    ],
    sequences: [{ sequence: "public.orders_id_seq", lastValue: "1500" }, { sequence: "public.spare_seq", lastValue: null }],
    openWriters: 0,
};

test("no change since the baseline is no write", () => {
    const w = writesSince(base, { ...base, readAt: "later" });
    assert.deepEqual(w, { tables: [], sequences: [], openWriters: 0, statsReset: false });
    assert.equal(hasWrites(w), false);
    assert.deepEqual(describeWrites(w), []);
});

test("inserts, updates, deletes, a moved sequence, a new and a dropped table, open transactions are writes", () => {
    const now: WriteCounters = {
        ...base,
        tables: [
            { table: "public.orders", inserted: 1502, updated: 3, deleted: 1 },
            { table: "public.sessions", inserted: 4, updated: 0, deleted: 0 },
        ],
        sequences: [{ sequence: "public.orders_id_seq", lastValue: "1502" }, { sequence: "public.spare_seq", lastValue: "1" }],
        openWriters: 2,
    };
    const w = writesSince(base, now);
    assert.equal(hasWrites(w), true);
    assert.deepEqual(describeWrites(w), [
        "table public.orders: 2 inserted, 3 updated, 1 deleted",
        "table public.sessions: 4 inserted, 0 updated, 0 deleted (new table)",
        "table public.products: 0 inserted, 0 updated, 0 deleted (dropped)",
        "sequence public.orders_id_seq: last_value 1500 -> 1502",
        "sequence public.spare_seq: last_value unused -> 1",
        "2 open transaction(s) that have written and not ended",
    ]);
});

test("counters that went down, or a new stats_reset, mean the statistics were reset: that counts as a write", () => {
    const down = writesSince(base, { ...base, tables: [{ table: "public.orders", inserted: 0, updated: 0, deleted: 0 }, base.tables[1]] });
    assert.equal(down.statsReset, true);
    assert.deepEqual(down.tables, []);
    assert.deepEqual(describeWrites(down), ["the database's statistics were reset since the cutover, so writes since then cannot be counted"]);
    assert.equal(writesSince(base, { ...base, statsReset: "2026-12-01 01:00:00+00" }).statsReset, true);
});

test("acknowledge: the bare code covers everything; code:object covers that table or sequence; open transactions and reset statistics need the bare code", () => {
    const w = writesSince(base, { ...base, tables: [{ table: "public.orders", inserted: 1501, updated: 0, deleted: 0 }, base.tables[1]], sequences: [{ sequence: "public.orders_id_seq", lastValue: "1501" }, base.sequences[1]] });
    const entry = (e: string) => {
        const [key, reason] = e.split("=");
        const [code, subject] = key.split(":");
        return { code, subject, reason, entry: e };
    };
    assert.deepEqual(unacknowledgedWrites(w, []).keys, ["rollback_writes:public.orders", "rollback_writes:public.orders_id_seq"]);
    const one = entry("rollback_writes:public.orders=copied by hand");
    assert.deepEqual(unacknowledgedWrites(w, [one, entry("extension_unsupported:adminpack=x")]), { keys: ["rollback_writes:public.orders_id_seq"], acknowledged: [one] });
    const all = entry("rollback_writes=lose them");
    assert.deepEqual(unacknowledgedWrites(w, [all]), { keys: [], acknowledged: [all] });
    const open = { ...w, openWriters: 1 };
    assert.deepEqual(unacknowledgedWrites(open, [one, entry("rollback_writes:public.orders_id_seq=x")]).keys, ["rollback_writes"]);
});

test("Cutover's record: names plain, values apart (secret), joined back in order", () => {
    const changes = [
        { app: "legacy", name: "DATABASE_URL", before: "postgres://u:pw@azure:5432/appdb" },
        { app: "other", name: "DATABASE_URL", before: "postgres://new", beforeUnknown: true },
        { app: "target", name: "AZURE_TO_HEROKU_PG_CUTOVER_AT", before: null },
    ];
    const split = splitChanges(changes);
    assert.deepEqual(split, {
        changes: [{ app: "legacy", name: "DATABASE_URL" }, { app: "other", name: "DATABASE_URL", beforeUnknown: true }, { app: "target", name: "AZURE_TO_HEROKU_PG_CUTOVER_AT" }],
        previousValues: ["postgres://u:pw@azure:5432/appdb", null, null],
    });
    assert.deepEqual(joinChanges(split.changes, split.previousValues), [{ ...changes[0] }, { app: "other", name: "DATABASE_URL", beforeUnknown: true, before: null }, changes[2]]);
});

test("the plan names apps, vars and hosts, never a user or password", () => {
    assert.equal(describeUrl("postgres://user:secret-pw@db.example.com:5432/appdb?sslmode=require"), "db.example.com:5432/appdb");
    assert.equal(describeUrl(null), "(unset)");
    assert.deepEqual(rollbackPlanLines({
        app: "target", addonName: "target-postgres", cutoverAt: "2026-12-01T00:00:00.000Z", freezeApp: "legacy",
        changes: [
            { app: "legacy", name: "DATABASE_URL", before: "postgres://user:secret-pw@db.example.com:5432/appdb" },
            { app: "other", name: "DATABASE_URL", before: null, beforeUnknown: true },
            { app: "target", name: "AZURE_TO_HEROKU_PG_CUTOVER_AT", before: null },
        ],
    }), [
        "rollback: the cutover of 2026-12-01T00:00:00.000Z is undone; target and target-postgres stay (nothing is deleted)",
        "rollback: legacy DATABASE_URL -> db.example.com:5432/appdb (its value before the cutover)",
        "rollback: other DATABASE_URL: left as is (its value before the cutover is unknown: set it by hand)",
        "rollback: target AZURE_TO_HEROKU_PG_CUTOVER_AT -> unset",
        "rollback: the write freeze on legacy is lifted if still on",
        "rollback: first, writes to the new database since the cutover are counted (pg_stat_user_tables, sequences); any refuses the rollback unless acknowledged (rollback_writes)",
    ]);
});

test("config `rollback`: false by default, true or false only", () => {
    assert.equal(settingsWith({}).rollback, false);
    assert.equal(settingsWith({ rollback: "true" }).rollback, true);
    assert.throws(() => settingsWith({ rollback: "yes" }), { message: 'config `rollback`: must be true or false, got "yes". Set it with `pulumi config set rollback false`.' });
});
