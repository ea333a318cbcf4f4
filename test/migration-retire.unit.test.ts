/**
 * Component wiring of the source retirement under Pulumi's runtime mocks: SourceRetirement is
 * declared after Cutover (and only while a retire key is set), from Cutover's and Verification's
 * outputs, never with a credential. (Its own process: the mocks are global.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { declareForTest, SECRET_PASSWORD } from "./migration-helpers";

test("retireSourceServer declares SourceRetirement after Cutover, with the server's name and the cutover's record", async () => {
    const r = await declareForTest({ retireSourceServer: "true", retireSourceServerConfirm: "myserver" });
    for (let i = 0; i < 100 && !r.has("migration-retire-source"); i++) await new Promise((res) => setTimeout(res, 20));
    const rs = r.get("migration-retire-source");
    assert.ok(rs, `declared: ${[...r.keys()].join(", ")}`);
    assert.equal(rs.type, "pulumi-nodejs:dynamic/migration:SourceRetirement");
    assert.match(rs.parent, /::migration$/);
    assert.deepEqual(rs.deps, ["migration-cutover", "migration-verify"]);
    assert.equal(rs.inputs.retire, true);
    assert.equal(rs.inputs.confirm, "myserver");
    assert.equal(rs.inputs.serverName, "myserver");
    assert.equal(rs.inputs.kind, "azure");
    assert.equal(rs.inputs.host, "myserver.postgres.database.azure.com");
    assert.equal(rs.inputs.cutoverId, "migration-cutover-id");
    assert.equal(rs.inputs.verificationId, "migration-verify-id");
    const { __provider, ...rest } = rs.inputs;
    assert.ok(!JSON.stringify(rest).includes(SECRET_PASSWORD) && !String(__provider ?? "").includes(SECRET_PASSWORD), "no source password in SourceRetirement's inputs or provider");
    assert.match(String(__provider), /retireAzureServer|AZURE_ACCESS_TOKEN/, "the provider is serialized with its code");
});
