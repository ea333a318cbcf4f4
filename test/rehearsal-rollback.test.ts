/**
 * Integration: the way back after cutover (config `rollback`), end to end in the rehearsal.
 * A migration cuts a2h-legacy-app over to the Heroku database; preview with `rollback: true`
 * prints the plan and changes nothing; a write to the Heroku database since the cutover makes the
 * rollback refuse, naming the table and the sequence, and nothing changes; acknowledging it lets
 * it proceed: the legacy app's DATABASE_URL is the one from before the cutover again, the freeze
 * is lifted, and the Heroku app and database are kept. `rollback: false` afterwards cuts nothing
 * over again, and a Cutover made to run again refuses the verification from before the rollback.
 * (A stack with `rollback: true` and no cutover to undo: WriteFreeze refuses, in test/providers.test.ts.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { withClient } from "../lib/pg";
import { assertNoStep, findStep, scenarioSteps, stepCounts, withFixture, type RehearsalFixture } from "./rehearsal-fixture";

function configVars(fx: RehearsalFixture, app: string): Record<string, string> {
    const s = fx.herokuState();
    const a = s.apps.find((x: { name: string }) => x.name === app);
    return s.config_vars[a.id] ?? {};
}

function stateNames(fx: RehearsalFixture): string[] {
    return JSON.parse(fs.readFileSync(path.join(fx.dir, "state", "rehearsal.json"), "utf8")).resources.map((r: { name: string }) => r.name);
}

// One scenario on one fixture: each step starts from what the one before it left (the cutover,
// the write on Heroku, the rollback), so they are sub-tests of one top-level test.
test("rollback after cutover: planned by preview, refused after a write on Heroku, done when acknowledged, kept when turned off", withFixture("rehearsal-rollback-", async (fx, t) => {
    const step = scenarioSteps(t);
    const azureUrl = `127.0.0.1:${fx.sourceConn.port}/appdb`;
    let liveDb = "";

    await step("the migration records what the cutover changed; preview with rollback prints the plan and changes nothing", async () => {
        const up = fx.rehearse("up");
        assert.equal(up.status, 0, up.out);
        assert.equal(fx.report("up").status, "verified");
        const cutover = JSON.parse(fs.readFileSync(path.join(fx.dir, "state", "rehearsal.json"), "utf8")).resources.find((r: { name: string }) => r.name === "migration-cutover");
        assert.deepEqual(cutover.outputs.changes, [{ app: "a2h-legacy-app", name: "DATABASE_URL" }, { app: "a2h-rehearsal", name: "AZURE_TO_HEROKU_PG_CUTOVER_AT" }]);
        assert.doesNotMatch(JSON.stringify(cutover.outputs.previousValues), /postgres:\/\//, "the previous DATABASE_URL is encrypted in state");
        assert.equal(cutover.outputs.baseline.tables.find((t: { table: string }) => t.table === "public.products").inserted, 50);
        const legacy = configVars(fx, "a2h-legacy-app");
        assert.match(legacy.DATABASE_URL, /^postgres:\/\/.*\/(d[0-9a-f_]+|[a-z0-9_]+)/);
        assert.doesNotMatch(legacy.DATABASE_URL, new RegExp(`:${fx.sourceConn.port}/appdb`));
        liveDb = new URL(legacy.DATABASE_URL).pathname.slice(1);

        const preview = fx.rehearse("preview", { rollback: "true" });
        assert.equal(preview.status, 0, preview.out);
        const plan = fx.report("preview");
        assert.deepEqual(stepCounts(plan), { create: 1 });
        findStep(plan, { op: "create", type: "Rollback", name: "migration-rollback" });
        // The rollback plan as the program prints it for the user.
        assert.match(preview.out, /rollback: the cutover of [0-9T:.Z-]+ is undone; a2h-rehearsal and a2h-rehearsal-postgres stay \(nothing is deleted\)/);
        assert.match(preview.out, new RegExp(`rollback: a2h-legacy-app DATABASE_URL -> 127\\.0\\.0\\.1:${fx.sourceConn.port}/appdb \\(its value before the cutover\\)`));
        assert.match(preview.out, /rollback: a2h-rehearsal AZURE_TO_HEROKU_PG_CUTOVER_AT -> unset/);
        assert.match(preview.out, /rollback: the write freeze on a2h-legacy-app is lifted if still on/);
        assert.match(preview.out, /\[Rollback\] writes to a2h-rehearsal-postgres since the cutover so far: none/);
        assert.deepEqual(configVars(fx, "a2h-legacy-app"), legacy, "preview changed nothing");
    });

    await step("a write to the Heroku database since the cutover refuses the rollback, naming the table and sequence", async () => {
        const live = fx.target.connection(liveDb);
        await withClient(live, (c) => c.query("INSERT INTO public.products (sku, name, price) VALUES ('HEROKU-1', 'written on heroku', 1.00)"));
        const before = configVars(fx, "a2h-legacy-app");
        const preview = fx.rehearse("preview", { rollback: "true" });
        assert.equal(preview.status, 0, preview.out);
        // Rollback's own line in preview: what the user would lose.
        assert.match(preview.out, /\[Rollback\] writes to a2h-rehearsal-postgres since the cutover so far: table public\.products: 1 inserted, 0 updated, 0 deleted; sequence public\.products_id_seq: last_value 50 -> 51; the rollback refuses unless acknowledged \(rollback_writes:public\.products, rollback_writes:public\.products_id_seq\)/);
        const refused = fx.rehearse("up", { rollback: "true" });
        assert.equal(refused.status, 1, refused.out);
        const report = fx.report("up");
        assert.equal(report.status, "failed");
        assert.match(report.error ?? "", /Rollback: refused: a2h-rehearsal-postgres was written since the cutover at [0-9T:.Z-]+: table public\.products: 1 inserted, 0 updated, 0 deleted; sequence public\.products_id_seq: last_value 50 -> 51\. A rollback would leave these writes behind on Heroku\./);
        assert.match(report.error ?? "", /Nothing was changed: the apps still use a2h-rehearsal-postgres \(the maintenance freeze applied for the count was lifted again\)\. Copy those rows to the Azure database by hand first, then acknowledge; or acknowledge to lose them: `pulumi config set --path 'acknowledge\[0\]' 'rollback_writes:public\.products=<why>'`, `pulumi config set --path 'acknowledge\[1\]' 'rollback_writes:public\.products_id_seq=<why>'`/);
        assert.deepEqual(configVars(fx, "a2h-legacy-app"), before, "DATABASE_URL still points at Heroku");
        assert.deepEqual(fx.legacyApp(), { maintenance: false, worker: 2 }, "the app is live again after the count");
        assert.ok(!stateNames(fx).includes("migration-rollback"));
    });

    const ack = { rollback: "true", acknowledge: JSON.stringify(["rollback_writes=the row was copied back by hand"]) };
    await step("acknowledged, the rollback puts back the previous DATABASE_URL and lifts the freeze; nothing is deleted", async () => {
        const done = fx.rehearse("up", ack);
        assert.equal(done.status, 0, done.out);
        findStep(fx.report("up"), { op: "create", type: "Rollback", name: "migration-rollback" });
        // Rollback's own lines, and the summary line the user reads.
        assert.match(done.out, /\[Rollback\] warning: acknowledged writes since the cutover stay on a2h-rehearsal-postgres only: table public\.products: 1 inserted, 0 updated, 0 deleted; sequence public\.products_id_seq: last_value 50 -> 51/);
        assert.match(done.out, /\[Rollback\] DATABASE_URL of a2h-legacy-app points back at its previous database/);
        assert.doesNotMatch(done.out, /acknowledge_unused/, "rollback_writes is not a preflight acknowledgement");
        assert.match(done.out, /Cutover ROLLED BACK at [0-9T:.Z-]+: the dependent apps use their previous DATABASE_URL; the Heroku app and database are kept\./);
        const legacy = configVars(fx, "a2h-legacy-app");
        assert.equal(new URL(legacy.DATABASE_URL).host + new URL(legacy.DATABASE_URL).pathname, azureUrl);
        const target = configVars(fx, "a2h-rehearsal");
        assert.equal(target.AZURE_TO_HEROKU_PG_CUTOVER_AT, undefined);
        assert.match(target.AZURE_TO_HEROKU_PG_ROLLED_BACK_AT, /^\d{4}-\d\d-\d\dT/);
        assert.ok(target.DATABASE_URL, "the Heroku database is still attached");
        assert.deepEqual(fx.legacyApp(), { maintenance: false, worker: 2 });
        const kept = await withClient(fx.target.connection(liveDb), async (c) => (await c.query("SELECT count(*)::int AS n FROM public.products WHERE sku = 'HEROKU-1'")).rows[0].n);
        assert.equal(kept, 1, "the Heroku database and its rows stay");
        assert.ok(stateNames(fx).includes("migration-rollback"));

        const again = fx.rehearse("up", ack);
        assert.equal(again.status, 0, again.out);
        assertNoStep(fx.report("up"), { type: "Rollback" }, "a done rollback is not repeated");
        assert.doesNotMatch(again.out, /\[Rollback\]/, "nor does Rollback print anything");
        const preview = fx.rehearse("preview", ack);
        assert.equal(preview.status, 0, preview.out);
        assert.equal(fx.report("preview").freeze, "Cutover rolled back: the dependent apps write to their previous database again.");
    });

    await step("rollback false again cuts nothing over: Rollback's delete changes nothing", async () => {
        const off = fx.rehearse("up", { rollback: "false" });
        assert.equal(off.status, 0, off.out);
        const report = fx.report("up");
        findStep(report, { op: "delete", type: "Rollback", name: "migration-rollback" });
        assertNoCutover(report);
        // Rollback's own line: why nothing is cut over again.
        assert.match(off.out, /\[Rollback\] the rollback of [0-9T:.Z-]+ stays in effect: the dependent apps keep their previous DATABASE_URL\./);
        assert.doesNotMatch(off.out, /\[Cutover\]/);
        const legacy = configVars(fx, "a2h-legacy-app");
        assert.equal(new URL(legacy.DATABASE_URL).host + new URL(legacy.DATABASE_URL).pathname, azureUrl);
        assert.ok(!stateNames(fx).includes("migration-rollback"));

        // A Cutover that runs again (changed dependentApps) refuses the verification from before the rollback.
        const recut = fx.rehearse("up", { dependentApps: JSON.stringify(["a2h-legacy-app", "a2h-rehearsal"]) });
        assert.equal(recut.status, 1, recut.out);
        assert.match(fx.report("up").error ?? "", /Cutover: a2h-rehearsal was rolled back at [0-9T:.Z-]+, after this verification \([0-9T:.Z-]+\); the dependent apps have written to the Azure database since, and a2h-rehearsal-postgres does not have those writes\. Nothing was changed/);
        assert.equal(new URL(configVars(fx, "a2h-legacy-app").DATABASE_URL).port, String(fx.sourceConn.port));
    });
}));

/** No step touched the Cutover resource. */
function assertNoCutover(report: ReturnType<RehearsalFixture["report"]>): void {
    assertNoStep(report, { type: "Cutover" }, "the cutover is not run again");
}
