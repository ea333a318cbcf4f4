import { test } from "node:test";
import assert from "node:assert/strict";

// A separate process: Pulumi's runtime settings are global per process.
test("a rehearsal stack deletes the Heroku app and database on destroy; no acceptance stage without a command", async () => {
    const { declareForTest } = await import("./migration-helpers");
    const r = await declareForTest({ rehearsal: "true" });
    assert.equal(r.get("migration-app")!.retainOnDelete, false);
    assert.equal(r.get("migration-database")!.retainOnDelete, false);
    assert.equal(r.has("migration-acceptance"), false);
    assert.ok(!r.get("migration-cutover")!.deps.includes("migration-acceptance"));
});
