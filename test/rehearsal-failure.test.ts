/**
 * Integration: preflight stops an unsupported extension before anything is created; once the
 * user acknowledges it, the fault comes after the write freeze: Heroku's restore fails on that
 * extension, so `up` fails mid-way. Nothing is lost: the source is
 * intact, the freeze is lifted (unfreezeOnFailure, the default) and the stale dump deleted, and
 * the message says so. After the fix, `up` resumes from state: the target is not provisioned
 * again, the freeze is re-applied before a fresh dump, and the migration verifies.
 *
 * Each top-level test has its own fixture (a source with the adminpack extension); the scenario's
 * steps are sub-tests, each starting from what the one before it left.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { withClient } from "../lib/pg";
import { assertNoStep, findStep, scenarioSteps, withFixture, type RehearsalFixture } from "./rehearsal-fixture";

const ACK = { acknowledge: JSON.stringify(["extension_unsupported:adminpack=testing the failure path"]) };

async function withAdminpack(fx: RehearsalFixture): Promise<void> {
    await withClient(fx.source.connection("appdb"), (c) => c.query("CREATE EXTENSION adminpack"));
}

test("preflight blocks an unsupported extension before anything is created or frozen", withFixture("rehearsal-failure-", async (fx) => {
    await withAdminpack(fx);
    const blocked = fx.rehearse("up");
    assert.equal(blocked.status, 1, blocked.out);
    const report = fx.report("up");
    assert.equal(report.status, "failed");
    assert.match(report.error ?? "", /preflight: 1 blocking finding\(s\): extension_unsupported:adminpack\. Nothing was created or frozen\./);
    assert.deepEqual(report.steps, [], "nothing was created");
    const state = path.join(fx.dir, "state", "rehearsal.json");
    const resources = fs.existsSync(state) ? JSON.parse(fs.readFileSync(state, "utf8")).resources : [];
    // As under `pulumi up`, the stack resource itself is registered before the program fails; nothing else is.
    assert.deepEqual(resources.map((r: { type: string }) => r.type).filter((t: string) => t !== "pulumi:pulumi:Stack"), []);
    assert.deepEqual(fx.legacyApp(), { maintenance: false, worker: 2 });

    // A freezeApp that does not exist on Heroku is caught by preflight too, not at the freeze.
    const missing = fx.rehearse("up", { ...ACK, freezeApp: "a2h-missing-app" });
    assert.equal(missing.status, 1, missing.out);
    const missingReport = fx.report("up");
    assert.match(missingReport.error ?? "", /preflight: 1 blocking finding\(s\): heroku_app_missing:a2h-missing-app\. Nothing was created or frozen\./);
    assert.deepEqual(missingReport.steps, [], "nothing was created");
}));

test("a refused restore lifts the freeze and deletes the dump; the re-run after the fix resumes and verifies; after the cutover a new dump never overwrites the live database", withFixture("rehearsal-failure-", async (fx, t) => {
    await withAdminpack(fx);
    const step = scenarioSteps(t);

    await step("a restore Heroku refuses fails the update: the freeze is lifted, the dump deleted, the state keeps what was done", async () => {
        const failed = fx.rehearse("up", ACK);
        assert.equal(failed.status, 1, failed.out);
        const report = fx.report("up");
        assert.equal(report.status, "failed");
        assert.match(report.error ?? "", /^pulumi-nodejs:dynamic\/heroku:Restore migration-restore: HerokuRestore: restore r001 into a2h-rehearsal failed: .*extension "adminpack" is not supported by Heroku Postgres/);
        assert.ok((report.error ?? "").includes('The write freeze (maintenance mode on Heroku app "a2h-legacy-app") was lifted and the stale dump deleted; the source is intact and in use. Fix the cause and run `pulumi up` again: it freezes writes and dumps again.'), report.error);
        assert.equal(report.freeze, "No write freeze is in effect: the app writes to the source as before.");
        // The summary line the user reads.
        assert.match(failed.out, /up FAILED\./);
        assert.deepEqual(fx.legacyApp(), { maintenance: false, worker: 2 }, "the app is live again");
        assert.deepEqual(await fx.blobs(), [], "the stale dump is gone");
        const state = JSON.parse(fs.readFileSync(path.join(fx.dir, "state", "rehearsal.json"), "utf8"));
        assert.deepEqual(state.lastResult.ok, false);
        const kept = state.resources.map((r: { name: string }) => r.name).sort();
        assert.ok(kept.includes("migration-database") && kept.includes("migration-dump"), `state keeps what was done: ${kept}`);
        assert.ok(!kept.includes("migration-restore") && !kept.includes("migration-cutover"));
        // The source still answers writes (it was never changed).
        await withClient(fx.source.connection("appdb"), (c) => c.query("SELECT count(*) FROM public.customers"));
    });

    await step("after the fix, up resumes: the add-on is not provisioned again, the freeze is applied again before a fresh dump, and the migration verifies", async () => {
        await withClient(fx.source.connection("appdb"), (c) => c.query("DROP EXTENSION adminpack"));
        const resumed = fx.rehearse("up", ACK);
        assert.equal(resumed.status, 0, resumed.out);
        const report = fx.report("up");
        assert.equal(report.status, "verified");
        assert.equal(report.tables.length, 8);
        assertNoStep(report, { type: "pulumi-nodejs:dynamic/heroku:Postgres" }, "the add-on is not provisioned again");
        findStep(report, { op: "replace", type: "DumpToBlob", name: "migration-dump", detail: "changed: etag" });
        // WriteFreeze's own line: why it freezes again.
        assert.match(resumed.out, /\[WriteFreeze\] the freeze was lifted since it was applied: applying it again before the dump/);
        assert.deepEqual(fx.legacyApp(), { maintenance: false, worker: 2 });
    });

    await step("after the cutover, a new dump never overwrites the live database", async () => {
        const dbs = await withClient(fx.target.connection("postgres"), async (c) =>
            (await c.query("SELECT datname FROM pg_database WHERE NOT datistemplate AND datname <> 'postgres'")).rows.map((r) => r.datname as string));
        assert.equal(dbs.length, 1);
        const live = fx.target.connection(dbs[0]);
        await withClient(live, (c) => c.query("INSERT INTO public.products (sku, name, price) VALUES ('HEROKU-1', 'written on heroku', 1.00)"));
        await fx.deleteBlobs();
        const redo = fx.rehearse("up", ACK);
        assert.equal(redo.status, 1, redo.out);
        const report = fx.report("up");
        findStep(report, { op: "replace", type: "DumpToBlob", name: "migration-dump", detail: "changed: etag" });
        assert.match(report.error ?? "", /HerokuRestore: a2h-rehearsal's database was cut over at [0-9T:.Z-]+; a new restore would replace everything written to it since\. Nothing was restored\./);
        const kept = await withClient(live, async (c) => (await c.query("SELECT count(*)::int AS n FROM public.products WHERE name = 'written on heroku'")).rows[0].n);
        assert.equal(kept, 1, "the row written after the cutover is still there");
        assert.deepEqual(fx.legacyApp(), { maintenance: false, worker: 2 }, "the freeze was lifted again");
    });
}));
