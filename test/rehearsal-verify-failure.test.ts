/**
 * Integration: a target that does not match never reaches cutover in the rehearsal. A user
 * query whose result differs (the database name: the source's `appdb`, Heroku's generated one)
 * fails Verification: the cutover does not run, DATABASE_URL is not published to the dependent
 * app, the freeze is lifted, and the failed report (json, md, html) names the difference.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { assertNoStep, rehearsalFixture, type RehearsalFixture } from "./rehearsal-fixture";

let fx: RehearsalFixture;
before(async () => {
    fx = await rehearsalFixture("rehearsal-verify-");
});
after(async () => {
    await fx?.cleanup();
});

test("a differing query result fails verification: no cutover, the freeze is lifted, the report says why", async () => {
    const run = fx.rehearse("up", { verifyQueries: JSON.stringify(["SELECT current_database() AS db"]) });
    assert.equal(run.status, 1, run.out);
    const report = fx.report("up");
    assert.equal(report.status, "failed");
    const error = report.error ?? "";
    assert.match(error, /^pulumi-nodejs:dynamic\/migration:Verification migration-verify: Verification: .*query 1 \(SELECT current_database\(\) AS db\)/);
    assert.match(error, /Cutover did not run and DATABASE_URL was not published/);
    assert.match(error, /The write freeze \(maintenance mode on Heroku app "a2h-legacy-app"\) was lifted and the stale dump deleted/);
    assert.equal(report.freeze, "No write freeze is in effect: the app writes to the source as before.");
    assertNoStep(report, { type: "Cutover" }, "the cutover did not run");
    assert.doesNotMatch(run.out, /\[Cutover\]/, "nor did the Cutover provider print anything");

    const heroku = fx.herokuState();
    const legacy = heroku.apps.find((a: { name: string }) => a.name === "a2h-legacy-app");
    assert.equal(legacy.maintenance, false);
    const target = heroku.apps.find((a: { name: string }) => a.name === "a2h-rehearsal");
    const vars = (id: string): Record<string, string> => heroku.config_vars[id] ?? {};
    assert.match(String(vars(legacy.id).DATABASE_URL ?? ""), /@127\.0\.0\.1:\d+\/appdb\?/, "the app still points at the source");
    assert.equal(vars(target.id).AZURE_TO_HEROKU_PG_CUTOVER_AT, undefined, "not marked as cut over");

    assert.equal(report.verdict?.ok, false);
    assert.ok(report.verdict!.problems.some((p) => p.startsWith("query 1 (SELECT current_database() AS db)")), report.verdict!.problems.join("\n"));
    const html = fs.readFileSync(path.join(fx.dir, "migration-report.html"), "utf8");
    assert.match(html, /SELECT current_database\(\) AS db/);
    assert.match(fs.readFileSync(path.join(fx.dir, "migration-report.md"), "utf8"), /^# Migration FAILED/m);
});
