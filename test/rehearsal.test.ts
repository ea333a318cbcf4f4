/**
 * Integration: the real rehearsal (`npm start` / `npm run destroy`) end to end on real local
 * services, checked independently of the program's own verification: the target's rows, large
 * objects, sequences and ownership are compared with the source here, and the state file, the
 * report and the logs are searched for every credential.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { parseDatabaseUrl, quoteIdent, withClient } from "../lib/pg";
import { listTables } from "../local/demo";
import type { PgConnection } from "../lib/types";
import { findStep, rehearsalFixture, stepCounts, type RehearsalFixture } from "./rehearsal-fixture";

let fx: RehearsalFixture;
before(async () => {
    fx = await rehearsalFixture("rehearsal-test-");
});
after(async () => {
    await fx?.cleanup();
});

async function addonDatabase(): Promise<PgConnection> {
    const dbs = await withClient(fx.target.connection("postgres"), async (c) =>
        (await c.query("SELECT datname FROM pg_database WHERE NOT datistemplate AND datname <> 'postgres'")).rows.map((r) => r.datname as string));
    assert.equal(dbs.length, 1, `one add-on database on the target server, got ${dbs.join(", ")}`);
    return fx.target.connection(dbs[0]);
}

/** Row count and an order-independent digest of every row, computed on the server. */
async function fingerprint(conn: PgConnection): Promise<Record<string, string>> {
    const tables = await listTables(conn);
    const out: Record<string, string> = {};
    await withClient(conn, async (c) => {
        for (const t of tables) {
            const r = await c.query(`SELECT count(*) AS n, md5(coalesce(string_agg(md5(x::text), '' ORDER BY md5(x::text)), '')) AS d FROM ${quoteIdent(t.schema)}.${quoteIdent(t.name)} x`);
            out[`${t.schema}.${t.name}`] = `${r.rows[0].n}:${r.rows[0].d}`;
        }
        const lo = await c.query("SELECT count(*) AS n, md5(coalesce(string_agg(md5(lo_get(oid)), '' ORDER BY oid), '')) AS d FROM pg_largeobject_metadata");
        out["large objects"] = `${lo.rows[0].n}:${lo.rows[0].d}`;
        const seq = await c.query("SELECT last_value, is_called FROM public.invoice_number_seq");
        out["invoice_number_seq"] = `${seq.rows[0].last_value}:${seq.rows[0].is_called}`;
    });
    return out;
}

test("npm start migrates the source, the target holds the same data, a second run changes nothing, destroy removes the dump", async () => {
    const preview = fx.rehearse("preview");
    assert.equal(preview.status, 0, preview.out);
    // The summary line the user reads.
    assert.match(preview.out, /Nothing was changed\./);
    assert.equal(fs.existsSync(path.join(fx.dir, "state", "rehearsal.json")), false, "preview writes no state");
    const plan = fx.report("preview");
    assert.equal(plan.status, "planned");
    assert.deepEqual(stepCounts(plan), { create: 14 });
    findStep(plan, { op: "create", type: "pulumi-nodejs:dynamic/migration:DumpToBlob", name: "migration-dump" });
    // The target's own extension check comes after the database and before the freeze.
    const order = plan.steps.map((st) => st.name);
    assert.ok(order.indexOf("migration-database") < order.indexOf("migration-target-check"), order.join(", "));
    assert.ok(order.indexOf("migration-target-check") < order.indexOf("migration-freeze"), order.join(", "));

    const up = fx.rehearse("up");
    assert.equal(up.status, 0, up.out);
    // The summary and the outputs as the user reads them (the secret output masked in the log).
    assert.match(up.out, /Migration VERIFIED: 8 tables/);
    assert.match(up.out, /databaseUrl: \[secret\]/);

    // Independent check of the copy.
    const targetDb = await addonDatabase();
    assert.deepEqual(await fingerprint(targetDb), await fingerprint(fx.source.connection(fx.sourceConn.database)));
    // Ownership went to the add-on's role; the source's roles were not imported.
    const owners = await withClient(targetDb, async (c) => (await c.query(
        "SELECT DISTINCT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relnamespace IN ('public'::regnamespace, 'reporting'::regnamespace) AND relkind IN ('r','p','S','v')")).rows.map((r) => r.owner));
    const dbOwner = await withClient(targetDb, async (c) => (await c.query("SELECT pg_get_userbyid(datdba) AS o FROM pg_database WHERE datname = current_database()")).rows[0].o);
    assert.deepEqual(owners, [dbOwner]);
    const roles = await withClient(targetDb, async (c) => (await c.query("SELECT rolname FROM pg_roles WHERE rolname IN ('azureadmin', 'app_owner', 'reporting_owner', 'azure_pg_admin')")).rows);
    assert.deepEqual(roles, []);

    // The report.
    const report = fx.report("up");
    assert.equal(report.status, "verified");
    assert.deepEqual(stepCounts(report), { create: 14 });
    assert.match(report.source.serverVersion ?? "", /^15\./);
    assert.equal(report.restore.id, "r001");
    assert.ok(report.restore.logs.length > 0);
    assert.ok((report.dump.bytes ?? 0) > 10_000);
    const orders = report.tables.find((t) => t.schema === "public" && t.name === "orders");
    assert.deepEqual(orders, { schema: "public", name: "orders", sourceRows: 1500, targetRows: 1500, match: true });

    // No credential in plain text anywhere: state, report, emulator state, logs.
    const apiKey = fs.readFileSync(path.join(fx.dir, "heroku", "api-key"), "utf8").trim();
    const addonRolePassword = await (async () => {
        const emu = JSON.parse(fs.readFileSync(path.join(fx.dir, "heroku", "state.json"), "utf8"));
        const urls = JSON.stringify(emu).match(/postgres:\/\/[^"]+/g) ?? [];
        return urls.map((u) => parseDatabaseUrl(u).password).filter((p): p is string => !!p);
    })();
    const secrets = [fx.sourceConn.password!, fx.source.password, fx.target.password, apiKey, ...addonRolePassword];
    assert.ok(addonRolePassword.length > 0, "the add-on's DATABASE_URL password is known to the emulator");
    const checked = [path.join(fx.dir, "state", "rehearsal.json"), path.join(fx.dir, "migration-report.json")];
    for (const file of checked) {
        const text = fs.readFileSync(file, "utf8");
        for (const s of secrets) assert.ok(!text.includes(s), `${path.basename(file)} holds no credential`);
        assert.ok(!/[?&]sig=[A-Za-z0-9%]/.test(text), `${path.basename(file)} holds no SAS signature`);
    }
    for (const s of secrets) assert.ok(!up.out.includes(s), "the log holds no credential");
    assert.ok(!/[?&]sig=[A-Za-z0-9%]/.test(up.out), "the log holds no SAS signature");
    assert.match(fs.readFileSync(checked[0], "utf8"), /"secure": "/, "secrets are stored encrypted");

    // The legacy app was frozen and is live again, now pointing at the new database: the providers' own lines, as the user reads them.
    assert.match(up.out, /\[WriteFreeze\] app a2h-legacy-app: maintenance on, scaled to 0: worker/);
    // The demo's custom settings are carried over before verification, which requires them equal.
    assert.match(up.out, /^\[ApplySettings\] idle_in_transaction_session_timeout=15min \(ALTER DATABASE\); a2h-rehearsal-postgres now shows 15min$/m);
    assert.match(up.out, /^\[ApplySettings\] lock_timeout=1min \(ALTER ROLE\); a2h-rehearsal-postgres now shows 1min$/m);
    const settingRows = report.settings!.differences.filter((d: { name: string }) => ["idle_in_transaction_session_timeout", "lock_timeout"].includes(d.name));
    assert.deepEqual(settingRows, [], "the carried-over settings are equal on both sides");
    assert.deepEqual(report.settingsApplied!.filter((a) => ["idle_in_transaction_session_timeout", "lock_timeout"].includes(a.name)),
        [{ name: "idle_in_transaction_session_timeout", value: "15min", via: "ALTER DATABASE", result: "15min" }, { name: "lock_timeout", value: "1min", via: "ALTER ROLE", result: "1min" }]);
    assert.match(up.out, /\[Cutover\] DATABASE_URL of a2h-legacy-app now points at a2h-rehearsal-postgres/);
    assert.match(up.out, /maintenance off, scaled back: worker=2/);

    const again = fx.rehearse("up");
    assert.equal(again.status, 0, again.out);
    const second = fx.report("up");
    assert.equal(second.status, "verified");
    assert.deepEqual(second.steps, [], "a second up changes nothing");

    const destroy = fx.rehearse("destroy");
    assert.equal(destroy.status, 0, destroy.out);
    const destroyed = fx.report("destroy");
    assert.equal(destroyed.status, "destroyed");
    assert.deepEqual(stepCounts(destroyed), { delete: 14 }, "14 deleted, 0 retained");
    findStep(destroyed, { op: "delete", type: "DumpToBlob", name: "migration-dump" });
    // DumpToBlob's own line: which blob it deleted, as the user reads it.
    assert.match(destroy.out, /\[DumpToBlob\] deleted dump pg-migration\/azure-to-heroku-pg\/rehearsal\/appdb\.dump/);
    const state = JSON.parse(fs.readFileSync(path.join(fx.dir, "state", "rehearsal.json"), "utf8"));
    assert.deepEqual(state.resources, []);
    assert.deepEqual(await fx.blobs(), [], "no blob left behind");
    assert.equal(fx.report("up").status, "verified", "destroy keeps the migration's report");

    // Destroy deleted the Heroku database the stand-in app was cut over to; with no cutover in the
    // stack the next run points the app at the source again, so that its cutover records the source
    // (not a deleted database) as the value a rollback restores.
    const legacyUrl = () => {
        const h = fx.herokuState();
        const app = h.apps.find((a: { name: string }) => a.name === "a2h-legacy-app");
        return String(h.config_vars[app.id]?.DATABASE_URL ?? "");
    };
    assert.doesNotMatch(legacyUrl(), /@127\.0\.0\.1:\d+\/appdb\?/, "after the cutover and destroy the app still points at the deleted database");
    const next = fx.rehearse("preview");
    assert.equal(next.status, 0, next.out);
    // The rehearsal's own notice (before any report): what it changed in the stand-in app.
    assert.match(next.out, /rehearsal: a2h-legacy-app's DATABASE_URL pointed at a database of an earlier, destroyed run; set back to the source/);
    assert.match(legacyUrl(), new RegExp(`@127\\.0\\.0\\.1:${fx.sourceConn.port}/appdb\\?`));
});
