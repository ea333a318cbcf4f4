/**
 * Component wiring under Pulumi's runtime mocks: which resources Migration declares, in what
 * dependency order, with which options and secrets; what changes with `rehearsal`, `rollback`
 * and the source retirement; and index.ts refusing an unknown configuration key.
 *
 * One process for all of them (it was one per configuration): loading the program and serializing
 * its dynamic providers is most of the cost, and the SDK caches each provider's serialized closure
 * per process, so a further declaration costs a fraction of the first. Pulumi's runtime settings
 * are global per process, hence one declaration at a time: suites run in order, and declareForTest
 * waits for the previous declaration's RPCs before it installs a new mock monitor. A test that
 * asserts a resource is declared looks for one that its own configuration alone declares.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import * as runtimeConfig from "@pulumi/pulumi/runtime/config";
import { maskedShellCommand } from "../lib/maskedCommand";
import { REQUIRED_CONFIG } from "./config-fixture";
import { declareForTest, installMocks, SECRET_PASSWORD, type Recorded } from "./migration-helpers";

describe("a production stack with an acceptance command and a dependent app", () => {
    // Declared once for this suite; each test reads one property of what it registered.
    let r: Map<string, Recorded>;
    before(async () => {
        r = await declareForTest({ acceptanceCommand: "npm run acceptance", dependentApps: '["web-app"]' });
    });

    test("Migration declares one resource per guide step, each of its type and a child of the component", () => {
        assert.deepEqual([...r.keys()].sort(), [
            "migration", "migration-acceptance", "migration-app", "migration-container", "migration-cutover", "migration-database",
            "migration-dump", "migration-freeze", "migration-grant", "migration-restore", "migration-settings", "migration-source-checksums", "migration-storage",
            "migration-target-check", "migration-verify",
        ]);
        const type = (n: string) => r.get(n)!.type;
        assert.equal(type("migration"), "azure-to-heroku-pg:index:Migration");
        assert.equal(type("migration-storage"), "azure-native:storage:StorageAccount");
        assert.equal(type("migration-container"), "azure-native:storage:BlobContainer");
        assert.equal(type("migration-app"), "pulumi-nodejs:dynamic/heroku:App");
        assert.equal(type("migration-database"), "pulumi-nodejs:dynamic/heroku:Postgres");
        assert.equal(type("migration-target-check"), "pulumi-nodejs:dynamic/migration:TargetCheck");
        assert.equal(type("migration-freeze"), "pulumi-nodejs:dynamic/migration:WriteFreeze");
        assert.equal(type("migration-dump"), "pulumi-nodejs:dynamic/migration:DumpToBlob");
        assert.equal(type("migration-grant"), "pulumi-nodejs:dynamic/migration:ReadGrant");
        assert.equal(type("migration-restore"), "pulumi-nodejs:dynamic/heroku:Restore");
        assert.equal(type("migration-source-checksums"), "pulumi-nodejs:dynamic/migration:SourceChecksums");
        assert.equal(type("migration-settings"), "pulumi-nodejs:dynamic/migration:ApplySettings");
        assert.equal(type("migration-verify"), "pulumi-nodejs:dynamic/migration:Verification");
        assert.equal(type("migration-acceptance"), "command:local:Command");
        assert.equal(type("migration-cutover"), "pulumi-nodejs:dynamic/migration:Cutover");
        for (const [name, rec] of r) if (name !== "migration") assert.match(rec.parent, /::migration$/, `${name} is a child of the component`);
    });

    test("each stage depends on the one before it, in the guide's order", () => {
        // Each stage waits for the one before it.
        const deps = (n: string) => r.get(n)!.deps;
        assert.ok(deps("migration-container").includes("migration-storage"));
        assert.ok(deps("migration-database").includes("migration-app"));
        assert.ok(deps("migration-target-check").includes("migration-database"));
        for (const d of ["migration-database", "migration-target-check", "migration-container"]) assert.ok(deps("migration-freeze").includes(d), `freeze after ${d}`);
        assert.ok(deps("migration-dump").includes("migration-freeze"));
        assert.ok(deps("migration-grant").includes("migration-dump"));
        for (const d of ["migration-grant", "migration-database"]) assert.ok(deps("migration-restore").includes(d), `restore after ${d}`);
        // The source side of the checksums is read during the restore: after the dump, not after the restore.
        assert.ok(deps("migration-source-checksums").includes("migration-dump"));
        for (const d of ["migration-restore", "migration-grant"]) assert.ok(!deps("migration-source-checksums").includes(d), `source checksums beside ${d}`);
        for (const d of ["migration-restore", "migration-source-checksums"]) assert.ok(deps("migration-verify").includes(d), `verify after ${d}`);
        assert.ok(deps("migration-settings").includes("migration-restore"));
        assert.ok(deps("migration-verify").includes("migration-settings"), "verify after migration-settings");
        assert.ok(deps("migration-acceptance").includes("migration-verify"));
        for (const d of ["migration-verify", "migration-acceptance"]) assert.ok(deps("migration-cutover").includes(d), `cutover after ${d}`);
    });

    test("storage is private: no public blob access, https only, TLS 1.2, a private container", () => {
        const account = r.get("migration-storage")!.inputs;
        assert.equal(account.allowBlobPublicAccess, false);
        assert.equal(account.enableHttpsTrafficOnly, true);
        assert.equal(account.minimumTlsVersion, "TLS1_2");
        assert.equal(r.get("migration-container")!.inputs.publicAccess, "None");
        assert.equal(r.get("migration-container")!.inputs.containerName, "pg-migration");
    });

    test("the target's plan comes from config, and it is retained on destroy (not a rehearsal); the dump is not", () => {
        assert.equal(r.get("migration-database")!.inputs.plan, "essential-1");
        assert.equal(r.get("migration-app")!.retainOnDelete, true);
        assert.equal(r.get("migration-database")!.retainOnDelete, true);
        assert.equal(r.get("migration-dump")!.retainOnDelete, false);
    });

    test("outputs and inputs that carry credentials are secret; the guard is readable", () => {
        assert.deepEqual(r.get("migration-database")!.secretOutputs, ["databaseUrl"]);
        assert.ok(r.get("migration-grant")!.secretOutputs.includes("url"));
        assert.ok(r.get("migration-dump")!.secretInputs.includes("accountKey"));
        assert.ok(!r.get("migration-dump")!.secretInputs.includes("guard"), "the guard (source, freeze, blob) is readable");
        assert.ok(r.get("migration-acceptance")!.secretOutputs.includes("stdout"));
        assert.ok(r.get("migration-target-check")!.secretInputs.includes("databaseUrl"));
        assert.ok(r.get("migration-settings")!.secretInputs.includes("targetUrl"));
    });

    test("preflight's findings reach the stages: the blob name, the restore's and the target check's extensions, the dependent apps, the settings plan", () => {
        assert.deepEqual(r.get("migration-dump")!.inputs.guard.blobName, "azure-to-heroku-pg/test/appdb.dump");
        assert.deepEqual(r.get("migration-restore")!.inputs.extensions, ["citext"]);
        // The live extension check asks the new database for the same extensions the restore sends.
        assert.deepEqual(r.get("migration-target-check")!.inputs.extensions, ["citext"]);
        assert.deepEqual(r.get("migration-cutover")!.inputs.dependentApps, ["web-app"]);
        // Preflight's settings plan reaches ApplySettings.
        assert.deepEqual(r.get("migration-settings")!.inputs.database.map((x: { name: string }) => x.name), ["statement_timeout"]);
        assert.deepEqual(r.get("migration-settings")!.inputs.heroku.map((x: { heroku: { key: string; value: unknown } }) => x.heroku), [{ key: "log_lock_waits", value: true }].map((h) => ({ ...h, command: "heroku pg:settings:log-lock-waits" })));
    });

    test("a failing acceptance command says that the cutover did not run and where the freeze stands; its output is masked", () => {
        // The command runs under the masking runner: a fake `npm` on PATH stands for the user's tests.
        const script = String(r.get("migration-acceptance")!.inputs.create);
        assert.ok(script.startsWith(`${maskedShellCommand("npm run acceptance")}\n`), script);
        const bin = fs.mkdtempSync(path.join(os.tmpdir(), "acceptance-bin-"));
        const npm = (body: string) => fs.writeFileSync(path.join(bin, "npm"), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
        const sh = () => spawnSync("/bin/sh", ["-c", script], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, DATABASE_URL: "postgres://u1:Pw%2Fx%40y%25z@h:5432/d" } });
        npm("exit 3");
        const run = sh();
        assert.equal(run.status, 3);
        assert.equal(run.stderr.trim(), "acceptanceCommand failed: cutover did not run and DATABASE_URL was not published. " +
            "The write freeze (maintenance mode on Heroku app \"my-app\") is STILL ON; the source is intact. Fix the cause and run `pulumi up` again to resume, " +
            "or lift the freeze by hand with `heroku maintenance:off -a my-app` (and scale worker back).");
        // Its output reaches Pulumi's log and error without DATABASE_URL's password, in any form.
        npm(`echo "passed as $DATABASE_URL"; echo "password Pw/x@y%z" >&2`);
        const ok = sh();
        assert.equal(ok.status, 0);
        assert.equal(ok.stdout, "passed as postgres://u1:[secret]@h:5432/d\n");
        assert.equal(ok.stderr, "password [secret]\n");
        fs.rmSync(bin, { recursive: true, force: true });
    });

    test("the source password is never a resource input nor captured by a provider (providers read it from configuration)", () => {
        for (const [name, rec] of r) {
            const { __provider, ...rest } = rec.inputs;
            assert.ok(!JSON.stringify(rest).includes(SECRET_PASSWORD), `${name} inputs hold no password`);
            assert.ok(!String(__provider ?? "").includes(SECRET_PASSWORD), `${name} provider captures no password`);
        }
    });
});

describe("rehearsal: true", () => {
    test("a rehearsal stack deletes the Heroku app and database on destroy; no acceptance stage without a command", async () => {
        const r = await declareForTest({ rehearsal: "true" });
        assert.equal(r.get("migration-app")!.retainOnDelete, false);
        assert.equal(r.get("migration-database")!.retainOnDelete, false);
        assert.equal(r.has("migration-acceptance"), false);
        assert.ok(!r.get("migration-cutover")!.deps.includes("migration-acceptance"));
    });
});

describe("rollback: true", () => {
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
});

describe("retireSourceServer", () => {
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
});

describe("index.ts", () => {
    test("index.ts refuses a configuration key it does not know before anything runs (no preflight, no resource)", async () => {
        const registered: string[] = [];
        const invoked: string[] = [];
        await installMocks(new MockMonitor({
            newResource: (args) => {
                registered.push(args.name);
                return { id: args.name, state: args.inputs };
            },
            call: (args) => {
                invoked.push(args.token);
                return {};
            },
        }), true);
        const config: Record<string, string> = { "azure-to-heroku-pg:sourcePassword": "pw", "azure-to-heroku-pg:herokuPlann": "standard-0", "aws:region": "us-east-1" };
        for (const [k, v] of Object.entries(REQUIRED_CONFIG)) config[`azure-to-heroku-pg:${k}`] = v;
        runtimeConfig.setAllConfig(config, ["azure-to-heroku-pg:sourcePassword"]);
        // eslint-disable-next-line @typescript-eslint/no-var-requires
        const program: () => Promise<unknown> = require("../index");
        await assert.rejects(program(), {
            message: "config `herokuPlann`: is not a setting of this program; did you mean `herokuPlan`? Remove it with `pulumi config rm herokuPlann` and set `herokuPlan` instead. The settings are listed in Pulumi.yaml and the README.",
        });
        assert.deepEqual({ registered, invoked }, { registered: [], invoked: [] }, "another namespace's key (aws:region) is not ours to judge; nothing ran");
    });
});
