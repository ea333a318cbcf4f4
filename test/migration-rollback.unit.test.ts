/**
 * Component wiring of the way back (config `rollback`) under Pulumi's runtime mocks: Rollback is
 * declared only with `rollback: true`, after Cutover, from Cutover's record, with the previous
 * values and the database URL secret; the freeze and the cutover are told that a rollback is asked.
 * (Its own process: the mocks are global.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { declareForTest, SECRET_PASSWORD } from "./migration-helpers";

test("rollback: true declares Rollback after Cutover, secrets marked, only rollback_writes acknowledgements passed on", async () => {
    const r = await declareForTest({
        rollback: "true", dependentApps: '["web-app"]',
        acknowledge: JSON.stringify(["rollback_writes:public.orders=copied back by hand", "extension_unsupported:adminpack=dropped first"]),
    });
    for (let i = 0; i < 100 && !r.has("migration-rollback"); i++) await new Promise((res) => setTimeout(res, 20));
    const rb = r.get("migration-rollback");
    assert.ok(rb, `declared: ${[...r.keys()].join(", ")}`);
    assert.equal(rb.type, "pulumi-nodejs:dynamic/migration:Rollback");
    assert.match(rb.parent, /::migration$/);
    assert.ok(rb.deps.includes("migration-cutover"));
    assert.deepEqual(rb.secretOutputs, ["databaseUrl", "previousValues"]);
    assert.ok(rb.secretInputs.includes("databaseUrl") && rb.secretInputs.includes("previousValues"), `secret inputs: ${rb.secretInputs}`);
    assert.deepEqual(rb.inputs.acknowledge, [{ code: "rollback_writes", subject: "public.orders", reason: "copied back by hand", entry: "rollback_writes:public.orders=copied back by hand" }]);
    assert.deepEqual(r.get("migration-cutover")!.secretOutputs, ["databaseUrl", "previousValues"]);
    assert.equal(r.get("migration-cutover")!.inputs.rollbackRequested, true);
    assert.equal(r.get("migration-freeze")!.inputs.rollbackRequested, true);
    const { __provider, ...rest } = rb.inputs;
    assert.ok(!JSON.stringify(rest).includes(SECRET_PASSWORD) && !String(__provider ?? "").includes(SECRET_PASSWORD), "no source password in Rollback's inputs or provider");
    assert.match(String(__provider), /rollbackProvider|ROLLBACK_MARKER|AZURE_TO_HEROKU_PG_ROLLED_BACK_AT/, "the provider is serialized with its code");
});
