/**
 * The dynamic providers called directly (check/diff/create/update/read/delete), against real
 * services: the Heroku emulator backed by a real PostgreSQL cluster, Azurite, and a real source
 * cluster seeded with the Azure-shaped demo database. Asserts the lifecycle semantics each
 * provider promises (what replaces, what adopts, what is idempotent, what a failure leaves
 * behind) with exact messages, and that no credential reaches an error or stderr.
 *
 *   node --require ts-node/register/transpile-only --test test/providers.test.ts
 *
 * Progress lines (stderr) are captured for the whole file and asserted on; set
 * PROVIDERS_TEST_VERBOSE=1 to also see them.
 */
import { describe, test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { startCluster, type LocalCluster } from "../local/postgres";
import { seedDemoSource, DEMO_ROW_COUNTS } from "../local/demo";
import { startAzurite, type LocalAzurite } from "../local/azurite";
import { startHerokuEmulator, type HerokuEmulatorHandle } from "../emulator/heroku";
import * as heroku from "../lib/heroku";
import { containerClient, blobInfo, deleteBlob, ensureContainer } from "../lib/blob";
import { Client } from "pg";
import { parseDatabaseUrl, pgClientConfig, withClient } from "../lib/pg";
import { isMigrationError } from "../lib/errors";
import { freezeStatusSentence, type FreezeSpec } from "../lib/freeze";
import type { FreezeState } from "../lib/stage";
import type { SourceSettings } from "../lib/config";
import type { BlobTarget, PgConnection } from "../lib/types";
import { herokuAppProvider } from "../providers/herokuApp";
import { herokuPostgresProvider, addonNameFor } from "../providers/herokuPostgres";
import { writeFreezeProvider } from "../providers/writeFreeze";
import { targetCheckProvider } from "../providers/targetCheck";
import { assessTarget } from "../lib/targetFacts";
import { HEROKU_SUPPORTED_EXTENSIONS } from "../lib/extensions";
import { dumpToBlobProvider, type BlobLocation } from "../providers/dumpToBlob";
import { readGrantProvider } from "../providers/readGrant";
import { herokuRestoreProvider } from "../providers/herokuRestore";
import { verificationProvider } from "../providers/verification";
import { cutoverProvider } from "../providers/cutover";
import { rollbackProvider } from "../providers/rollback";

const LEGACY = "prov-legacy";
const CONTAINER = "pg-migration";

describe("dynamic providers against the emulator, Azurite and real PostgreSQL", () => {
    let tmp: string;
    let source: LocalCluster;
    let target: LocalCluster;
    let sourceConn: PgConnection;
    let azurite: LocalAzurite;
    let emu: HerokuEmulatorHandle;
    let ep: heroku.HerokuEndpoints;
    let storage: BlobLocation;
    let accountKey: string;
    let blob: BlobTarget;
    const envBefore = { ...process.env };

    // Everything written to stderr (the providers' progress), every error a provider threw, and the
    // emulator's log: checked for credentials after each test (afterEach below).
    const stderr: string[] = [];
    const errors: string[] = [];
    const emulatorLog: string[] = [];
    /** Database URLs and SAS URLs seen during the run: their passwords and signatures are secrets. */
    const secretUrls: string[] = [];
    const origWrite = process.stderr.write.bind(process.stderr);

    const settings = (): SourceSettings => ({ host: sourceConn.host, port: sourceConn.port, database: sourceConn.database, user: sourceConn.user, sslmode: "require" });
    const progressSince = (mark: number) => stderr.slice(mark).join("").split("\n").filter((l) => l);

    /** Runs a provider call that must fail; returns the error (recorded for the secrets check). */
    async function failure(p: Promise<unknown>): Promise<Error> {
        try {
            await p;
        } catch (err) {
            const e = err as Error & { hint?: string };
            errors.push(`${e.message}\n${e.hint ?? ""}\n${e.stack ?? ""}`);
            return e;
        }
        assert.fail("expected the call to fail");
    }

    async function app(name: string) {
        return heroku.getApp(ep, name);
    }
    async function workerQuantity(name: string): Promise<Record<string, number>> {
        const f = await heroku.getFormation(ep, name);
        return Object.fromEntries(f.map((x) => [x.type, x.quantity]));
    }

    /** A maintenance freeze on the legacy app, through the provider (as WriteFreeze's create does). */
    async function freezeOn(): Promise<FreezeState> {
        const spec: FreezeSpec = { mode: "maintenance", app: LEGACY, scaleDown: ["worker"] };
        const r = await writeFreezeProvider.create({ spec, source: settings() });
        return { spec, record: r.outs!.record };
    }
    async function freezeOff(freeze: FreezeState): Promise<void> {
        await writeFreezeProvider.delete!(`freeze-maintenance-${LEGACY}`, { spec: freeze.spec, source: settings(), record: freeze.record });
    }

    function dumpInputs(blobName: string, freeze: FreezeState, unfreezeOnFailure = true) {
        return { guard: { source: settings(), storage, blobName, freeze, unfreezeOnFailure }, accountKey };
    }

    /** The app Cutover marks as cut over (kept apart from prov-target, which later restores use). */
    async function cutoverApp(): Promise<string> {
        if (!(await heroku.getApp(ep, "prov-cut"))) await heroku.createApp(ep, { name: "prov-cut", region: "us" });
        return "prov-cut";
    }

    /** The app + database restores go into, created once through the providers. */
    let targetDbPromise: Promise<{ app: string; appId: string; addonId: string; databaseUrl: string }> | undefined;
    function targetDb() {
        targetDbPromise ??= (async () => {
            const a = await herokuAppProvider.create({ name: "prov-target", create: true, region: "us" });
            const db = await herokuPostgresProvider.create({ app: "prov-target", plan: "essential-0", allowPlanReplace: false });
            secretUrls.push(db.outs!.databaseUrl);
            return { app: "prov-target", appId: a.outs!.appId, addonId: db.outs!.addonId, databaseUrl: db.outs!.databaseUrl };
        })();
        return targetDbPromise;
    }

    function restoreInputs(t: { app: string; appId: string; addonId: string }, backupUrl: string, dumpEtag: string, blobName: string, freeze: FreezeState, unfreezeOnFailure: boolean) {
        return {
            app: t.app, appId: t.appId, addonId: t.addonId, backupUrl, dumpEtag, extensions: ["citext", "pgcrypto"],
            guard: { source: settings(), freeze, unfreezeOnFailure, storage, blobName }, accountKey,
        };
    }

    before(async () => {
        (process.stderr as any).write = (chunk: any, ...rest: any[]) => {
            stderr.push(String(chunk));
            if (process.env.PROVIDERS_TEST_VERBOSE === "1") return origWrite(chunk, ...rest);
            const cb = rest.find((x) => typeof x === "function");
            if (cb) cb();
            return true;
        };
        delete process.env.A2H_QUIET; // progress is captured above, and asserted on
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "providers-test-"));
        fs.chmodSync(tmp, 0o755);
        [source, target, azurite] = await Promise.all([
            startCluster({ dataDir: path.join(tmp, "source"), ssl: true }),
            startCluster({ dataDir: path.join(tmp, "target"), ssl: true }),
            startAzurite({ dir: path.join(tmp, "azurite") }),
        ]);
        sourceConn = (await seedDemoSource(source)).connection;
        emu = await startHerokuEmulator({
            postgresAdminUrl: target.url("postgres"),
            stateFile: path.join(tmp, "heroku.json"),
            provisionDelayMs: 300,
            waitStatusDelayMs: 1200,
            log: (l) => emulatorLog.push(l),
        });
        process.env.HEROKU_API_KEY = emu.apiKey;
        process.env.HEROKU_HOST = emu.platformUrl;
        process.env.HEROKU_DATA_HOST = emu.dataUrl;
        ep = heroku.herokuEndpointsFromEnv();

        storage = { accountName: azurite.accountName, blobEndpoint: azurite.blobEndpoint, container: CONTAINER };
        accountKey = azurite.accountKey;
        blob = { ...storage, accountKey };
        await ensureContainer(blob);

        // Credentials reach providers through `configure`, as Pulumi passes the stack config.
        const config = {
            get: (k: string) => (k === "sourcePassword" ? sourceConn.password : undefined),
            require: (k: string) => {
                if (k !== "sourcePassword") throw new Error(`Missing required configuration key: ${k}`);
                return sourceConn.password as string;
            },
        };
        for (const p of [writeFreezeProvider, dumpToBlobProvider, herokuRestoreProvider, verificationProvider, cutoverProvider, rollbackProvider]) {
            await p.configure!({ config } as any);
        }

        // The user's running app: web and worker dynos, frozen during the migration.
        await heroku.createApp(ep, { name: LEGACY, region: "us" });
        emu.seedFormation(LEGACY, [{ type: "web", quantity: 1 }, { type: "worker", quantity: 2 }]);
    });

    after(async () => {
        await emu?.stop().catch(() => undefined);
        await Promise.allSettled([source?.stop(), target?.stop(), azurite?.stop()]);
        if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
        process.stderr.write = origWrite;
        for (const k of ["A2H_QUIET", "HEROKU_API_KEY", "HEROKU_HOST", "HEROKU_DATA_HOST"]) {
            if (envBefore[k] === undefined) delete process.env[k];
            else process.env[k] = envBefore[k];
        }
    });

    // ---------------------------------------------------------------------------------------
    test("HerokuApp diff: name replaces (create first); region/team replace (delete first) only for an app this stack created", async () => {
        const olds = { name: "a-app", create: true, region: "us", team: undefined, appId: "id", webUrl: "u", created: true };
        const diff = (o: any, n: any) => herokuAppProvider.diff!("id", o, n);

        assert.deepEqual(await diff(olds, { name: "a-app", create: true, region: "us" }), { changes: false, replaces: [], deleteBeforeReplace: true });
        assert.deepEqual(await diff(olds, { name: "b-app", create: true, region: "us" }), { changes: true, replaces: ["name"], deleteBeforeReplace: false });
        assert.deepEqual(await diff(olds, { name: "a-app", create: true, region: "eu" }), { changes: true, replaces: ["region"], deleteBeforeReplace: true });
        assert.deepEqual(await diff(olds, { name: "a-app", create: true, region: "us", team: "acme" }), { changes: true, replaces: ["team"], deleteBeforeReplace: true });
        // An adopted app is never replaced for region/team: that would delete and recreate someone's app.
        const adopted = { ...olds, created: false };
        assert.deepEqual(await diff(adopted, { name: "a-app", create: true, region: "eu", team: "acme" }), { changes: false, replaces: [], deleteBeforeReplace: true });
        assert.deepEqual(await diff({ ...olds, create: false, created: false }, { name: "a-app", create: false, region: "eu" }), { changes: false, replaces: [], deleteBeforeReplace: true });
        // Switching create on/off is an in-place update that keeps `created`.
        const d = await diff(olds, { name: "a-app", create: false, region: "us" });
        assert.deepEqual(d, { changes: true, replaces: [], deleteBeforeReplace: true });
        const u = await herokuAppProvider.update!("id", olds, { name: "a-app", create: false, region: "us" });
        assert.equal(u.outs!.created, true);
        assert.equal(u.outs!.create, false);
        assert.equal(u.outs!.appId, "id");
    });

    test("HerokuApp create/adopt/read/delete against the emulator", async () => {
        // create=false and a missing app: exact message
        const missing = await failure(herokuAppProvider.create({ name: "prov-missing", create: false }));
        assert.ok(isMigrationError(missing));
        assert.equal(missing.message,
            "HerokuApp: the app \"prov-missing\" does not exist or this API key cannot see it. Create it (`heroku apps:create`), fix `herokuApp`, or set `herokuCreateApp` to true.");
        assert.equal(await app("prov-missing"), undefined, "nothing was created");

        // create: a new app, in the region asked for
        let mark = stderr.length;
        const created = await herokuAppProvider.create({ name: "prov-app", create: true, region: "eu" });
        const real = await app("prov-app");
        assert.ok(real);
        assert.equal(real.region.name, "eu");
        assert.equal(created.id, real.id);
        assert.deepEqual(created.outs, { name: "prov-app", create: true, region: "eu", appId: real.id, webUrl: real.web_url, created: true });
        assert.deepEqual(progressSince(mark), [`[HerokuApp] created app prov-app (${real.id})`]);

        // create again (state lost after the app was made): adopted, and recorded as not created
        mark = stderr.length;
        const again = await herokuAppProvider.create({ name: "prov-app", create: true, region: "eu" });
        assert.equal(again.id, real.id);
        assert.equal(again.outs!.created, false);
        assert.deepEqual(progressSince(mark), ["[HerokuApp] app prov-app already exists: adopting it (it will not be deleted on destroy)"]);
        const apps = await heroku.platformRequest<heroku.HerokuApp[]>(ep, "GET", "/apps");
        assert.equal(apps.filter((a) => a.name === "prov-app").length, 1);

        // create=false and an existing app: adopted
        const adopted = await herokuAppProvider.create({ name: "prov-app", create: false });
        assert.equal(adopted.outs!.created, false);
        assert.equal(adopted.outs!.appId, real.id);

        // read refreshes the web URL (and keeps the other outputs)
        const read = await herokuAppProvider.read!(real.id, { ...created.outs, webUrl: "https://stale.example.com/" });
        assert.equal(read.id, real.id);
        assert.equal(read.props!.webUrl, real.web_url);
        assert.equal(read.props!.created, true);
        // An app deleted outside Pulumi: a blank id, so that `pulumi refresh` drops it from state.
        const readGone = await herokuAppProvider.read!("00000000-0000-0000-0000-000000000000", created.outs);
        assert.deepEqual(readGone, { id: "" });

        // delete of an adopted app leaves it in place
        mark = stderr.length;
        await herokuAppProvider.delete!(real.id, adopted.outs!);
        assert.ok(await app("prov-app"), "an adopted app is never deleted");
        assert.deepEqual(progressSince(mark), ["[HerokuApp] app prov-app was not created by this stack: left in place"]);

        // delete of a created app deletes it; twice is fine (404)
        mark = stderr.length;
        await herokuAppProvider.delete!(real.id, created.outs);
        assert.equal(await app("prov-app"), undefined);
        await herokuAppProvider.delete!(real.id, created.outs);
        assert.deepEqual(progressSince(mark), ["[HerokuApp] deleted app prov-app", "[HerokuApp] app prov-app was already gone"]);
    });

    // ---------------------------------------------------------------------------------------
    test("HerokuPostgres check refuses a plan change unless allowPlanReplace; diff replaces on plan/app", async () => {
        const olds = { app: "x-app", plan: "essential-1", allowPlanReplace: false };
        const refused = await herokuPostgresProvider.check!(olds, { app: "x-app", plan: "standard-0", allowPlanReplace: false });
        assert.deepEqual(refused.failures, [{
            property: "plan",
            reason: "config `herokuPlan` changed from essential-1 to standard-0, which would replace the database with a new empty one and restore again. Set `herokuAllowPlanReplace` to true to allow it, or change the plan in place with `heroku addons:upgrade` and set herokuPlan back.",
        }]);
        const allowed = await herokuPostgresProvider.check!(olds, { app: "x-app", plan: "standard-0", allowPlanReplace: true });
        assert.deepEqual(allowed.failures, []);
        assert.deepEqual(allowed.inputs, { app: "x-app", plan: "standard-0", allowPlanReplace: true });
        assert.deepEqual((await herokuPostgresProvider.check!({} as any /* no old inputs on a first create */, olds)).failures, [], "a first create has no old plan");
        assert.deepEqual((await herokuPostgresProvider.check!(olds, olds)).failures, []);

        const outs = { ...olds, addonId: "a", addonName: "x-app-postgres", appId: "i", configVar: "DATABASE_URL", databaseUrl: "postgres://u:p@h/d" };
        const diff = (n: any) => herokuPostgresProvider.diff!("a", outs, n);
        assert.deepEqual(await diff(olds), { changes: false, replaces: [], deleteBeforeReplace: false });
        assert.deepEqual(await diff({ ...olds, plan: "standard-0", allowPlanReplace: true }), { changes: true, replaces: ["plan"], deleteBeforeReplace: false });
        assert.deepEqual(await diff({ ...olds, app: "y-app" }), { changes: true, replaces: ["app"], deleteBeforeReplace: false });
        assert.deepEqual(await diff({ ...olds, waitMinutes: 60 }), { changes: true, replaces: [], deleteBeforeReplace: false });
    });

    test("HerokuPostgres create waits until available, resumes on the existing add-on, delete is idempotent", async () => {
        await heroku.createApp(ep, { name: "prov-pg" });
        const inputs = { app: "prov-pg", plan: "essential-1", allowPlanReplace: false };
        let mark = stderr.length;
        const t0 = Date.now();
        const created = await herokuPostgresProvider.create(inputs);
        const lines = progressSince(mark);
        secretUrls.push(created.outs!.databaseUrl);

        // It returned only when the database was available (add-on provisioned AND pg:wait done).
        const addon = await heroku.getAddon(ep, "prov-pg", created.id);
        assert.equal(addon?.state, "provisioned");
        assert.equal((await heroku.getWaitStatus(ep, created.id))["waiting?"], false);
        assert.ok(Date.now() - t0 >= 1200, "it waited past the emulator's wait_status delay");
        assert.equal(lines[0], "[HerokuPostgres] created prov-pg-postgres (heroku-postgresql:essential-1) on prov-pg; waiting until the database is available");
        assert.ok(lines.includes("[HerokuPostgres] prov-pg-postgres: Available"), lines.join("\n"));
        assert.equal(lines[lines.length - 1], "[HerokuPostgres] prov-pg-postgres is available");

        const vars = await heroku.getConfigVars(ep, "prov-pg");
        assert.deepEqual(created.outs, {
            ...inputs, addonId: addon!.id, addonName: addonNameFor("prov-pg"), appId: addon!.app.id, configVar: "DATABASE_URL", databaseUrl: vars.DATABASE_URL,
        });
        assert.equal(await withClient(parseDatabaseUrl(created.outs.databaseUrl), async (c) => (await c.query("SELECT 1 AS one")).rows[0].one), 1);

        // A second create (state lost, or an interrupted run) resumes on prov-pg-postgres.
        mark = stderr.length;
        const again = await herokuPostgresProvider.create(inputs);
        assert.equal(again.id, created.id);
        assert.equal(again.outs!.databaseUrl, created.outs.databaseUrl);
        assert.equal(progressSince(mark)[0], "[HerokuPostgres] resuming: prov-pg-postgres (heroku-postgresql:essential-1) already exists on prov-pg (state provisioned)");
        const addons = await heroku.platformRequest<heroku.HerokuAddon[]>(ep, "GET", "/apps/prov-pg/addons");
        assert.deepEqual(addons.map((a) => a.name), ["prov-pg-postgres"]);

        // A different plan under the fixed name is not silently adopted.
        const clash = await failure(herokuPostgresProvider.create({ ...inputs, plan: "standard-0", allowPlanReplace: true }));
        assert.equal(clash.message,
            "HerokuPostgres: an add-on named prov-pg-postgres already exists on prov-pg with plan heroku-postgresql:essential-1 (state provisioned). Remove it (`heroku addons:destroy prov-pg-postgres -a prov-pg`) or set herokuPlan to essential-1, then run `pulumi up` again.");

        // read refreshes the plan and name
        const read = await herokuPostgresProvider.read!(created.id, { ...created.outs, plan: "stale" });
        assert.equal(read.id, created.id);
        assert.equal(read.props!.plan, "essential-1");
        assert.equal(read.props!.databaseUrl, created.outs.databaseUrl);

        // delete twice is fine
        mark = stderr.length;
        await herokuPostgresProvider.delete!(created.id, created.outs);
        assert.equal(await heroku.getAddon(ep, "prov-pg", created.id), undefined);
        assert.equal((await heroku.getConfigVars(ep, "prov-pg")).DATABASE_URL, undefined);
        await herokuPostgresProvider.delete!(created.id, created.outs);
        assert.deepEqual(progressSince(mark), ["[HerokuPostgres] deleted prov-pg-postgres", "[HerokuPostgres] prov-pg-postgres was already gone"]);
        // gone: refresh drops it
        assert.deepEqual(await herokuPostgresProvider.read!(created.id, created.outs), { id: "" });
        await heroku.deleteApp(ep, "prov-pg");
    });

    // ---------------------------------------------------------------------------------------
    test("TargetCheck asks the new database for its own allow-list (rds.allowed_extensions on Essential, extwlist.extensions on other tiers)", async () => {
        // Essential: what `heroku pg:extensions` reads on an essential plan, readable by the add-on's own user.
        const t = await targetDb();
        const shown = await withClient(parseDatabaseUrl(t.databaseUrl), async (c) => (await c.query("SHOW rds.allowed_extensions")).rows[0]["rds.allowed_extensions"]);
        assert.equal(shown, HEROKU_SUPPORTED_EXTENSIONS.join(","));
        const inputs = { databaseUrl: t.databaseUrl, addonName: addonNameFor(t.app), plan: "essential-0", extensions: ["citext", "pgcrypto", "plpgsql"], sourceMajor: 15 };
        let mark = stderr.length;
        const ok = await targetCheckProvider.create(inputs);
        assert.equal(ok.outs!.allowListSetting, "rds.allowed_extensions");
        assert.equal(ok.outs!.allowedCount, HEROKU_SUPPORTED_EXTENSIONS.length);
        assert.equal(ok.outs!.serverMajor, 15);
        assert.match(ok.outs!.serverVersion, /^15\.\d+$/);
        assert.deepEqual(progressSince(mark), [`[TargetCheck] prov-target-postgres runs PostgreSQL ${ok.outs!.serverVersion}; it allows all 3 extension(s) the restore needs (rds.allowed_extensions)`]);

        // Standard: extwlist.extensions, as `echo 'show extwlist.extensions' | heroku pg:psql` shows.
        await herokuAppProvider.create({ name: "prov-std", create: true, region: "us" });
        const std = await herokuPostgresProvider.create({ app: "prov-std", plan: "standard-0", allowPlanReplace: false });
        secretUrls.push(std.outs!.databaseUrl);
        const stdCheck = await targetCheckProvider.create({ ...inputs, databaseUrl: std.outs!.databaseUrl, addonName: std.outs!.addonName, plan: "standard-0", extensions: ["public.hstore"] });
        assert.equal(stdCheck.outs!.allowListSetting, "extwlist.extensions");

        // Refused: one on the server but not allowed (adminpack), one allowed but not installed on this server.
        const available = await withClient(parseDatabaseUrl(t.databaseUrl), async (c) => (await c.query<{ name: string }>("SELECT name FROM pg_available_extensions")).rows.map((r) => r.name));
        const missing = ["postgis", "vector", "hll", "pg_partman"].find((n) => HEROKU_SUPPORTED_EXTENSIONS.includes(n) && !available.includes(n));
        assert.ok(missing, "an allow-listed extension this PostgreSQL install lacks");
        assert.ok(available.includes("adminpack"));
        mark = stderr.length;
        const refused = await failure(targetCheckProvider.create({ ...inputs, extensions: ["citext", "adminpack", `geo.${missing}`] }));
        assert.ok(isMigrationError(refused));
        const what = `the Heroku database prov-target-postgres (essential-0) will not create extensions adminpack (not in its rds.allowed_extensions), ${missing} (not installed on its server (pg_available_extensions)), which the restore needs, so the restore would fail. Nothing is frozen yet. Its rds.allowed_extensions: ${HEROKU_SUPPORTED_EXTENSIONS.join(",")}.`;
        const hint = `Either drop them on the source if nothing needs them (DROP EXTENSION adminpack; DROP EXTENSION ${missing}; preflight lists what depends on each), or choose a Heroku plan whose databases offer them (\`heroku pg:extensions -a <app>\` on a database of that plan shows its list) and set herokuPlan (with herokuAllowPlanReplace true); then run \`pulumi up\` again.`;
        assert.equal(refused.message, `TargetCheck: ${what} ${hint}`);
        assert.equal((refused as any).hint, hint);
        assert.deepEqual(progressSince(mark), [], "nothing was reported as checked");

        // diff: re-checks when the extensions or the database change, not when the order does.
        const diff = (n: any) => targetCheckProvider.diff!("id", ok.outs!, n);
        assert.deepEqual(await diff({ ...inputs, extensions: ["plpgsql", "pgcrypto", "citext"] }), { changes: false, replaces: [], deleteBeforeReplace: true });
        assert.deepEqual(await diff({ ...inputs, extensions: ["citext"] }), { changes: true, replaces: ["extensions"], deleteBeforeReplace: true });
        assert.deepEqual(await diff({ ...inputs, databaseUrl: std.outs!.databaseUrl }), { changes: true, replaces: ["databaseUrl"], deleteBeforeReplace: true });

        await herokuPostgresProvider.delete!(std.id, std.outs!);
        await heroku.deleteApp(ep, "prov-std");
    });

    test("TargetCheck's assessment: a \"*\" allow-list, no allow-list at all, and an older target version", () => {
        const facts = { versionNum: 160004, versionText: "16.4", available: ["citext", "hstore", "plpgsql"] };
        assert.deepEqual(assessTarget({ ...facts, allowList: { setting: "rds.allowed_extensions", names: ["*"] } }, ["citext", "x.hstore"], 16).refused, []);
        assert.deepEqual(assessTarget({ ...facts, allowList: { setting: "rds.allowed_extensions", names: ["*"] } }, ["postgis"], 16).refused,
            [{ name: "postgis", why: "not installed on its server (pg_available_extensions)" }]);
        assert.deepEqual(assessTarget(facts, ["hstore", "ltree"], 16).refused, [{ name: "ltree", why: "not installed on its server (pg_available_extensions)" }]);
        assert.deepEqual(assessTarget({ ...facts, allowList: { setting: "extwlist.extensions", names: ["citext", " hstore"] } }, ["HSTORE", "plpgsql"], 16).refused, []);
        const older = assessTarget(facts, [], 17);
        assert.equal(older.targetMajor, 16);
        assert.equal(older.versionWarning,
            "the Heroku database runs PostgreSQL 16.4, older than the source's 17: objects or syntax new in 17 may fail to restore (the restore log and verification will show it). Heroku chooses the version of a new database; ask Heroku support for a newer one if the restore fails.");
        assert.equal(assessTarget(facts, [], 16).versionWarning, undefined);
        assert.equal(assessTarget({ ...facts, versionNum: 90624 }, [], 9.6).targetMajor, 9.6);
    });

    // ---------------------------------------------------------------------------------------
    test("WriteFreeze (maintenance): maintenance on + worker to 0, recorded; lift restores; delete when lifted does nothing", async () => {
        const spec: FreezeSpec = { mode: "maintenance", app: LEGACY, scaleDown: ["worker"] };
        const inputs = { spec, source: settings() };
        let mark = stderr.length;
        const r = await writeFreezeProvider.create(inputs);
        assert.equal(r.id, `freeze-maintenance-${LEGACY}`);
        assert.equal(r.outs!.record.maintenanceBefore, false);
        assert.deepEqual(r.outs!.record.formationBefore, [{ type: "worker", quantity: 2 }]);
        assert.equal(r.outs!.record.mode, "maintenance");
        assert.equal((await app(LEGACY))!.maintenance, true);
        assert.deepEqual(await workerQuantity(LEGACY), { web: 1, worker: 0 });
        assert.deepEqual(progressSince(mark), [`[WriteFreeze] app ${LEGACY}: maintenance on, scaled to 0: worker`]);

        // diff: same settings -> nothing; any change replaces (old freeze lifted first)
        assert.deepEqual(await writeFreezeProvider.diff!(r.id, r.outs!, inputs), { changes: false, replaces: [], deleteBeforeReplace: true });
        assert.deepEqual(await writeFreezeProvider.diff!(r.id, r.outs!, { ...inputs, spec: { ...spec, scaleDown: ["worker", "clock"] } }), { changes: true, replaces: ["spec"], deleteBeforeReplace: true });

        // lift
        mark = stderr.length;
        await writeFreezeProvider.delete!(r.id, r.outs!);
        assert.equal((await app(LEGACY))!.maintenance, false);
        assert.deepEqual(await workerQuantity(LEGACY), { web: 1, worker: 2 });
        assert.deepEqual(progressSince(mark), [`[WriteFreeze] app ${LEGACY}: maintenance off, scaled back: worker=2`]);

        // Lifted already (e.g. by Cutover), and the user scaled since: delete changes nothing.
        await heroku.scaleFormation(ep, LEGACY, [{ type: "worker", quantity: 3 }]);
        mark = stderr.length;
        await writeFreezeProvider.delete!(r.id, r.outs!);
        assert.deepEqual(await workerQuantity(LEGACY), { web: 1, worker: 3 });
        assert.equal((await app(LEGACY))!.maintenance, false);
        assert.deepEqual(progressSince(mark), ["[WriteFreeze] already lifted"]);
        await heroku.scaleFormation(ep, LEGACY, [{ type: "worker", quantity: 2 }]);
    });

    test("WriteFreeze (maintenance): a create that fails half-way undoes maintenance, so its retry records the true state", async () => {
        // A proxy in front of the emulator that refuses scaling, as Heroku does for a collaborator
        // without the `operate` permission.
        const server = http.createServer(async (req, res) => {
            if (req.method === "PATCH" && /^\/apps\/[^/]+\/formation$/.test(req.url ?? "")) {
                res.writeHead(403, { "Content-Type": "application/json" });
                res.end(JSON.stringify({ id: "forbidden", message: "You do not have access to the app prov-legacy." }));
                return;
            }
            const chunks: Buffer[] = [];
            for await (const c of req) chunks.push(c as Buffer);
            const headers: Record<string, string> = {};
            for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string" && k !== "host" && k !== "content-length") headers[k] = v;
            const r = await fetch(emu.platformUrl + req.url, { method: req.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined });
            res.writeHead(r.status, { "Content-Type": r.headers.get("content-type") ?? "application/json" });
            res.end(Buffer.from(await r.arrayBuffer()));
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
        const realHost = process.env.HEROKU_HOST;
        process.env.HEROKU_HOST = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
        const inputs = { spec: { mode: "maintenance", app: LEGACY, scaleDown: ["worker"] } as FreezeSpec, source: settings() };
        try {
            const err = await failure(writeFreezeProvider.create(inputs));
            assert.match(err.message, /failed with 403 forbidden: You do not have access to the app prov-legacy\./);
            assert.equal((await app(LEGACY))!.maintenance, false, "maintenance was turned off again");
        } finally {
            process.env.HEROKU_HOST = realHost;
            await new Promise((resolve) => server.close(resolve));
        }
        // The retry (permission fixed) records that maintenance was off, so lifting turns it off.
        const r = await writeFreezeProvider.create(inputs);
        assert.equal(r.outs!.record.maintenanceBefore, false);
        await writeFreezeProvider.delete!(r.id, r.outs!);
        assert.equal((await app(LEGACY))!.maintenance, false);
        assert.deepEqual(await workerQuantity(LEGACY), { web: 1, worker: 2 });
    });

    test("WriteFreeze (readonly-source): the source database refuses writes in new sessions; lifting resets the setting", async () => {
        const inputs = { spec: { mode: "readonly-source", app: "", scaleDown: [] } as FreezeSpec, source: settings() };
        const insert = (conn: PgConnection) =>
            withClient(conn, (c) => c.query("INSERT INTO public.products (sku, name, price) SELECT 'x', 'x', 1 WHERE false"));
        const setting = () =>
            withClient(source.connection("postgres"), async (c) =>
                (await c.query(`SELECT s.setconfig FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = 'appdb' AND s.setrole = 0`)).rows.map((r) => r.setconfig));

        await insert(sourceConn); // writable before
        let mark = stderr.length;
        const r = await writeFreezeProvider.create(inputs);
        assert.equal(r.id, "freeze-readonly-source-");
        assert.equal(r.outs!.record.readOnlyBefore, "");
        assert.match(progressSince(mark)[0], /^\[WriteFreeze\] source database appdb set read-only; ended \d+ of \d+ other sessions$/);
        assert.deepEqual(await setting(), [["default_transaction_read_only=on"]]);
        const refused = await insert(sourceConn).then(() => undefined, (e: Error) => e);
        assert.ok(refused, "a write in a new session fails");
        assert.match(refused.message, /cannot execute INSERT in a read-only transaction/);

        // A session opened during the freeze (an app's pool reconnecting) starts read-only.
        const pooled = new Client(pgClientConfig(sourceConn));
        const pooledErrors: Error[] = [];
        pooled.on("error", (e) => void pooledErrors.push(e));
        await pooled.connect();
        try {
            assert.equal((await pooled.query("SHOW default_transaction_read_only")).rows[0].default_transaction_read_only, "on");

            mark = stderr.length;
            await writeFreezeProvider.delete!(r.id, r.outs!);
            assert.deepEqual(progressSince(mark), ["[WriteFreeze] source database appdb writable again; ended 1 of 1 sessions opened while it was read-only"]);
            assert.deepEqual(await setting(), [], "the setting is reset, not set to off");
            await insert(sourceConn);
            // ...and was ended, so that it reconnects writable instead of failing every write.
            const after = await pooled.query("SELECT 1").then(() => undefined, (e: Error) => e);
            assert.ok(after, "the read-only session was ended");
        } finally {
            await pooled.end().catch(() => undefined);
        }
        // already lifted: nothing to do
        mark = stderr.length;
        await writeFreezeProvider.delete!(r.id, r.outs!);
        assert.deepEqual(progressSince(mark), ["[WriteFreeze] already lifted"]);

        // A stage failing after a readonly-source freeze lifts it (unfreezeOnFailure) ...
        const again = await writeFreezeProvider.create(inputs);
        const freeze: FreezeState = { spec: inputs.spec, record: again.outs!.record };
        const failed = await failure(verificationProvider.create({
            targetUrl: `postgres://nobody:wrong-password@127.0.0.1:${target.port}/nodb?sslmode=require`, restoreId: "r", excludeTables: [],
            guard: { source: settings(), freeze, unfreezeOnFailure: true, storage, blobName: "never-written.dump" }, accountKey,
        }));
        assert.match(failed.message, /^Verification: /);
        assert.ok(failed.message.endsWith(" The write freeze (the read-only setting on the source database) was lifted (no dump was stored); the source is intact and in use. Fix the cause and run `pulumi up` again: it freezes writes and dumps again."), failed.message);
        assert.ok(!failed.message.includes("Lifting the freeze after the failure also failed"), failed.message);
        assert.deepEqual(await setting(), []);
        await insert(sourceConn);

        // ... and so does Cutover.
        const third = await writeFreezeProvider.create(inputs);
        assert.deepEqual(await setting(), [["default_transaction_read_only=on"]]);
        const cut = await cutoverProvider.create({
            app: await cutoverApp(), addonName: "prov-target-postgres", databaseUrl: (await targetDb()).databaseUrl, dependentApps: [],
            verificationId: "v-ro", source: settings(), freeze: { spec: inputs.spec, record: third.outs!.record },
        });
        assert.equal(cut.outs!.freezeLifted, true);
        assert.deepEqual(await setting(), []);
        await insert(sourceConn);
    });

    test("Cutover: sets DATABASE_URL on the dependent apps and lifts the freeze; diff and delete", async () => {
        const freeze = await freezeOn();
        assert.equal((await app(LEGACY))!.maintenance, true);
        // A real database: Cutover reads its write counters (the rollback's baseline) first.
        const newUrl = (await targetDb()).databaseUrl;
        const inputs = {
            app: await cutoverApp(), addonName: "prov-target-postgres", databaseUrl: newUrl, dependentApps: [LEGACY],
            verificationId: "verified-1", source: settings(), freeze,
        };
        // A dependent app that does not exist: the error names it and says the freeze is still on.
        const bad = await failure(cutoverProvider.create({ ...inputs, dependentApps: [LEGACY, "prov-nope"] }));
        assert.equal(bad.message,
            "Cutover: could not set DATABASE_URL on app \"prov-nope\" (from `dependentApps`): Heroku API PATCH /apps/prov-nope/config-vars failed with 404 not_found: Couldn't find that app. " +
            `DATABASE_URL was already set on ${LEGACY}. Fix \`dependentApps\` (or this API key's access to the app). ${freezeStatusSentence(freeze.spec, false)}`);
        assert.equal((await app(LEGACY))!.maintenance, true, "the freeze stays on");
        await heroku.setConfigVars(ep, LEGACY, { DATABASE_URL: null });
        const mark = stderr.length;
        const r = await cutoverProvider.create(inputs);
        assert.equal(r.id, "cutover-verified-1");
        assert.deepEqual(r.outs!.updatedApps, [LEGACY]);
        assert.equal(r.outs!.freezeLifted, true);
        assert.equal((await heroku.getConfigVars(ep, LEGACY)).DATABASE_URL, newUrl);
        assert.equal((await app(LEGACY))!.maintenance, false);
        assert.deepEqual(await workerQuantity(LEGACY), { web: 1, worker: 2 });
        assert.deepEqual(progressSince(mark), [
            `[Cutover] DATABASE_URL of ${LEGACY} now points at prov-target-postgres`,
            `[WriteFreeze] app ${LEGACY}: maintenance off, scaled back: worker=2`,
            "[Cutover] done: prov-cut's prov-target-postgres is the database; writes resumed",
        ]);
        // The target app is marked as cut over: HerokuRestore refuses to overwrite it from now on.
        assert.equal((await heroku.getConfigVars(ep, "prov-cut")).AZURE_TO_HEROKU_PG_CUTOVER_AT, r.outs!.completedAt);
        assert.ok(!progressSince(mark).join("\n").includes(new URL(newUrl).password));

        assert.deepEqual(await cutoverProvider.diff!(r.id, r.outs!, inputs), { changes: false, replaces: [], deleteBeforeReplace: true });
        assert.deepEqual(await cutoverProvider.diff!(r.id, r.outs!, { ...inputs, verificationId: "verified-2" }), { changes: true, replaces: ["verificationId"], deleteBeforeReplace: true });
        assert.deepEqual(await cutoverProvider.diff!(r.id, r.outs!, { ...inputs, dependentApps: [] }), { changes: true, replaces: ["dependentApps"], deleteBeforeReplace: true });

        // Destroy is cleanup: it does not undo the cutover.
        await cutoverProvider.delete!(r.id, r.outs!);
        assert.equal((await heroku.getConfigVars(ep, LEGACY)).DATABASE_URL, newUrl);
        // The WriteFreeze delete that follows on destroy finds the freeze lifted.
        await freezeOff(freeze);
        assert.deepEqual(await workerQuantity(LEGACY), { web: 1, worker: 2 });
    });

    test("Rollback: refuses after a write to the new database (named, counted even right after the write), proceeds when acknowledged; Cutover refuses a stale re-cut", async () => {
        const t = await targetDb();
        const live = parseDatabaseUrl(t.databaseUrl);
        await withClient(live, (c) => c.query("CREATE TABLE IF NOT EXISTS public.rb_probe (id serial PRIMARY KEY, v text)"));
        const azureUrl = "postgres://azure_user:azure-pw-9876@azure-db.example:5432/appdb?sslmode=require";
        secretUrls.push(azureUrl);
        await heroku.setConfigVars(ep, LEGACY, { DATABASE_URL: azureUrl });
        const cutApp = await cutoverApp();
        await heroku.setConfigVars(ep, cutApp, { AZURE_TO_HEROKU_PG_CUTOVER_AT: null });
        const freeze = await freezeOn();
        const verifiedAt = new Date().toISOString();
        const cutInputs = {
            app: cutApp, addonName: "prov-target-postgres", databaseUrl: t.databaseUrl, dependentApps: [LEGACY],
            verificationId: "verified-rb", source: settings(), freeze, verifiedAt,
        };
        const cut = await cutoverProvider.create(cutInputs);
        assert.deepEqual(cut.outs!.changes, [{ app: LEGACY, name: "DATABASE_URL" }, { app: cutApp, name: "AZURE_TO_HEROKU_PG_CUTOVER_AT" }]);
        assert.deepEqual(cut.outs!.previousValues, [azureUrl, null]);
        assert.deepEqual(cut.outs!.baseline.tables.find((x: { table: string }) => x.table === "public.rb_probe"), { table: "public.rb_probe", inserted: 0, updated: 0, deleted: 0 });
        assert.deepEqual(cut.outs!.baseline.sequences.find((x: { sequence: string }) => x.sequence === "public.rb_probe_id_seq"), { sequence: "public.rb_probe_id_seq", lastValue: null });

        const rbInputs = {
            cutoverId: cut.id, app: cutApp, addonName: "prov-target-postgres", databaseUrl: t.databaseUrl, changes: cut.outs!.changes,
            previousValues: cut.outs!.previousValues, baseline: cut.outs!.baseline, cutoverAt: cut.outs!.completedAt, freeze, source: settings(), acknowledge: [],
        };
        // A write, then the rollback at once: the counters are read until they settle, so it is seen.
        await withClient(live, (c) => c.query("INSERT INTO public.rb_probe (v) VALUES ('a'), ('b'); UPDATE public.rb_probe SET v = 'c' WHERE id = 1"));
        const refused = await failure(rollbackProvider.create(rbInputs));
        assert.equal(refused.message,
            `Rollback: refused: prov-target-postgres was written since the cutover at ${cut.outs!.completedAt}: table public.rb_probe: 2 inserted, 1 updated, 0 deleted; sequence public.rb_probe_id_seq: last_value unused -> 2. A rollback would leave these writes behind on Heroku. ` +
            "Nothing was changed: the apps still use prov-target-postgres (the maintenance freeze applied for the count was lifted again). Copy those rows to the Azure database by hand first, then acknowledge; or acknowledge to lose them: " +
            "`pulumi config set --path 'acknowledge[0]' 'rollback_writes:public.rb_probe=<why>'`, `pulumi config set --path 'acknowledge[1]' 'rollback_writes:public.rb_probe_id_seq=<why>'` (`rollback_writes=<why>` covers all), then `pulumi up` again.");
        assert.equal((await heroku.getConfigVars(ep, LEGACY)).DATABASE_URL, t.databaseUrl, "nothing was put back");
        assert.equal((await app(LEGACY))!.maintenance, false);
        assert.deepEqual(await workerQuantity(LEGACY), { web: 1, worker: 2 });

        // A transaction that has written and not ended is not in any counter yet: it refuses too.
        const open = new Client(pgClientConfig(live));
        await open.connect();
        try {
            await open.query("BEGIN");
            await open.query("DELETE FROM public.rb_probe WHERE id = 2");
            const ack = (entry: string) => ({ code: "rollback_writes", subject: entry.split("=")[0].split(":")[1], reason: "copied by hand", entry });
            const openRefused = await failure(rollbackProvider.create({ ...rbInputs, acknowledge: [ack("rollback_writes:public.rb_probe=copied by hand"), ack("rollback_writes:public.rb_probe_id_seq=copied by hand")] }));
            assert.match(openRefused.message, /: table public\.rb_probe: 2 inserted, 1 updated, 0 deleted; sequence public\.rb_probe_id_seq: last_value unused -> 2; 1 open transaction\(s\) that have written and not ended\. /);
            assert.match(openRefused.message, /acknowledge to lose them: `pulumi config set --path 'acknowledge\[2\]' 'rollback_writes=<why>'` /);
        } finally {
            await open.query("ROLLBACK").catch(() => undefined);
            await open.end();
        }

        // Acknowledged (the bare code covers everything, including the rolled-back delete): it goes ahead.
        const mark = stderr.length;
        const done = await rollbackProvider.create({ ...rbInputs, acknowledge: [{ code: "rollback_writes", reason: "test rows", entry: "rollback_writes=test rows" }] });
        assert.equal(done.id, `rollback-${cut.id}`);
        assert.deepEqual(done.outs!.restored, [{ app: LEGACY, names: ["DATABASE_URL"] }, { app: cutApp, names: ["AZURE_TO_HEROKU_PG_CUTOVER_AT"] }]);
        assert.deepEqual(done.outs!.acknowledgedBy, ["rollback_writes=test rows"]);
        assert.deepEqual(done.outs!.writes.tables, [{ table: "public.rb_probe", inserted: 2, updated: 1, deleted: 1 }]);
        assert.equal((await heroku.getConfigVars(ep, LEGACY)).DATABASE_URL, azureUrl);
        const cutVars = await heroku.getConfigVars(ep, cutApp);
        assert.equal(cutVars.AZURE_TO_HEROKU_PG_CUTOVER_AT, undefined);
        assert.equal(cutVars.AZURE_TO_HEROKU_PG_ROLLED_BACK_AT, done.outs!.rolledBackAt);
        assert.equal((await app(LEGACY))!.maintenance, false);
        assert.deepEqual(await workerQuantity(LEGACY), { web: 1, worker: 2 });
        const lines = progressSince(mark);
        assert.ok(lines.includes(`[Rollback] DATABASE_URL of ${LEGACY} points back at its previous database`), lines.join("\n"));
        assert.ok(!lines.join("\n").includes("azure-pw-9876"));
        assert.equal(await withClient(live, async (c) => (await c.query("SELECT count(*)::int AS n FROM public.rb_probe")).rows[0].n), 2, "nothing is deleted");

        // Diff: only a new cutover replaces it; delete changes nothing.
        assert.deepEqual(await rollbackProvider.diff!(done.id, done.outs!, { ...rbInputs, acknowledge: [] }), { changes: false, replaces: [], deleteBeforeReplace: true });
        assert.deepEqual(await rollbackProvider.diff!(done.id, done.outs!, { ...rbInputs, cutoverId: "cutover-other" }), { changes: true, replaces: ["cutoverId"], deleteBeforeReplace: true });
        await rollbackProvider.delete!(done.id, done.outs!);
        assert.equal((await heroku.getConfigVars(ep, LEGACY)).DATABASE_URL, azureUrl);

        // Cutover again: held while `rollback` is set, refused on a verification older than the rollback, done on a newer one.
        assert.deepEqual(await cutoverProvider.diff!(cut.id, cut.outs!, { ...cutInputs, dependentApps: [], rollbackRequested: true }), { changes: false });
        const held = await failure(cutoverProvider.create({ ...cutInputs, rollbackRequested: true }));
        assert.match(held.message, /^Cutover: config `rollback` is true, and there is no completed cutover to undo; nothing was cut over\. Set it back with `pulumi config set rollback false`/);
        const stale = await failure(cutoverProvider.create(cutInputs));
        assert.equal(stale.message, `Cutover: ${cutApp} was rolled back at ${done.outs!.rolledBackAt}, after this verification (${verifiedAt}); the dependent apps have written to the Azure database since, and prov-target-postgres does not have those writes. ` +
            "Nothing was changed: the dependent apps stay on their previous database. To cut over again, migrate afresh: `pulumi up --replace <the migration-dump URN>` (dump, restore, verify, then cutover).");
        assert.equal((await heroku.getConfigVars(ep, LEGACY)).DATABASE_URL, azureUrl);
        const fresh = await cutoverProvider.create({ ...cutInputs, verificationId: "verified-rb-2", verifiedAt: new Date().toISOString(), freeze: await freezeOn() });
        assert.equal((await heroku.getConfigVars(ep, LEGACY)).DATABASE_URL, t.databaseUrl);
        assert.equal((await heroku.getConfigVars(ep, cutApp)).AZURE_TO_HEROKU_PG_ROLLED_BACK_AT, undefined);
        assert.deepEqual(fresh.outs!.previousValues, [azureUrl, null]);

        // WriteFreeze freezes nothing while `rollback` is set (a stack without a cutover to undo).
        const noFreeze = await failure(writeFreezeProvider.create({ spec: freeze.spec, source: settings(), rollbackRequested: true }));
        assert.equal(noFreeze.message, "WriteFreeze: config `rollback` is true, and there is no completed cutover to undo; nothing was frozen, dumped or cut over. Set it back with `pulumi config set rollback false` to migrate, then `pulumi up`.");
        assert.equal((await app(LEGACY))!.maintenance, false);
    });

    // ---------------------------------------------------------------------------------------
    test("DumpToBlob: dumps into the blob; diff is clean while the blob is there, replaces on etag when it is gone; delete twice", async () => {
        const freeze = await freezeOn();
        try {
            const inputs = dumpInputs("dump-a.dump", freeze);
            let mark = stderr.length;
            const r = await dumpToBlobProvider.create(inputs);
            const info = await blobInfo(blob, "dump-a.dump");
            assert.ok(info);
            assert.equal(r.id, `${storage.accountName}/${CONTAINER}/dump-a.dump`);
            assert.equal(r.outs!.etag, info.etag);
            assert.equal(r.outs!.bytes, info.bytes);
            assert.ok(r.outs!.bytes > 10_000);
            assert.equal(r.outs!.sha256, info.sha256);
            assert.match(r.outs!.serverVersion, /^\d+\.\d+/);
            assert.ok(r.outs!.logTail.some((l: string) => /pg_dump: dumping contents of table "public\.customers"/.test(l)), r.outs!.logTail.join("\n"));
            const lines = progressSince(mark);
            assert.ok(!lines.some((l) => l.startsWith("[WriteFreeze]")), "the freeze was in effect: not re-applied");
            assert.match(lines[0], /^\[DumpToBlob\] pg_dump of appdb \(PostgreSQL \d+\.\d+.*\) -> pg-migration\/dump-a\.dump, compression 0$/);
            assert.equal(r.outs!.archiveCompression, "0");
            assert.match(lines[lines.length - 1], /^\[DumpToBlob\] done: .* sha256 [0-9a-f]{12}…$/);

            assert.deepEqual(await dumpToBlobProvider.diff!(r.id, r.outs!, inputs), { changes: false, replaces: [], deleteBeforeReplace: true });
            const keepFrozen = { ...inputs, guard: { ...inputs.guard, unfreezeOnFailure: false } };
            assert.deepEqual(await dumpToBlobProvider.diff!(r.id, r.outs!, keepFrozen), { changes: true, replaces: [], deleteBeforeReplace: true });
            const u = await dumpToBlobProvider.update!(r.id, r.outs!, keepFrozen);
            assert.equal(u.outs!.guard.unfreezeOnFailure, false);
            assert.equal(u.outs!.blobName, "dump-a.dump");
            assert.equal(u.outs!.etag, r.outs!.etag);
            // A new compression setting is for the next dump: the complete dump is kept (no replace).
            assert.deepEqual(await dumpToBlobProvider.diff!(r.id, r.outs!, { ...inputs, compression: "6" }), { changes: true, replaces: [], deleteBeforeReplace: true });
            const z = await dumpToBlobProvider.update!(r.id, r.outs!, { ...inputs, compression: "6" });
            assert.equal(z.outs!.compression, "6");
            assert.equal(z.outs!.archiveCompression, "0");
            assert.equal(z.outs!.etag, r.outs!.etag);
            // A stack dumped before `compression` was an input: its archive was made at pg_dump's default level.
            const old = { ...r.outs, compression: undefined, archiveCompression: undefined } as any; // state of an earlier version
            assert.deepEqual(await dumpToBlobProvider.diff!(r.id, old, inputs), { changes: false, replaces: [], deleteBeforeReplace: true });
            const o = await dumpToBlobProvider.update!(r.id, old, { ...inputs, compression: "0" });
            assert.equal(o.outs!.archiveCompression, "6");
            // A stack recorded before the six failure-path inputs were one `guard`: read as the same dump, rewritten as `guard` by an update.
            const { guard: g, ...rest } = r.outs!;
            const flat = { ...rest, ...g } as any; // state of an earlier version
            assert.deepEqual(await dumpToBlobProvider.diff!(r.id, flat, inputs), { changes: false, replaces: [], deleteBeforeReplace: true });
            assert.deepEqual(await dumpToBlobProvider.diff!(r.id, flat, { ...inputs, guard: { ...inputs.guard, blobName: "elsewhere.dump" } }), { changes: true, replaces: ["guard"], deleteBeforeReplace: true });
            const rewritten = await dumpToBlobProvider.update!(r.id, flat, { ...inputs, compression: "0" });
            assert.deepEqual(Object.keys(rewritten.outs!).filter((k) => ["source", "freeze", "unfreezeOnFailure", "storage"].includes(k)), []);
            assert.deepEqual(rewritten.outs!.guard, inputs.guard);

            // Overwritten by someone else: a new ETag, so dumped again.
            await containerClient(blob).getBlockBlobClient("dump-a.dump").upload("x", 1);
            assert.deepEqual(await dumpToBlobProvider.diff!(r.id, r.outs!, inputs), { changes: true, replaces: ["etag"], deleteBeforeReplace: true });
            // Deleted: dumped again.
            assert.equal(await deleteBlob(blob, "dump-a.dump"), true);
            assert.deepEqual(await dumpToBlobProvider.diff!(r.id, r.outs!, inputs), { changes: true, replaces: ["etag"], deleteBeforeReplace: true });
            assert.deepEqual(await dumpToBlobProvider.diff!(r.id, r.outs!, { ...inputs, guard: { ...inputs.guard, blobName: "other.dump" } }), { changes: true, replaces: ["guard"], deleteBeforeReplace: true });

            // delete: the blob goes; twice is fine
            const again = await dumpToBlobProvider.create(inputs);
            mark = stderr.length;
            await dumpToBlobProvider.delete!(again.id, again.outs!);
            assert.equal(await blobInfo(blob, "dump-a.dump"), undefined);
            await dumpToBlobProvider.delete!(again.id, again.outs!);
            assert.deepEqual(progressSince(mark), ["[DumpToBlob] deleted dump pg-migration/dump-a.dump", "[DumpToBlob] dump dump-a.dump was already gone"]);
        } finally {
            await freezeOff(freeze);
        }
    });

    test("DumpToBlob re-applies a freeze that was lifted since it was applied, keeping the recorded quantities", async () => {
        const freeze = await freezeOn();
        try {
            await freezeOff(freeze); // e.g. someone ran `heroku maintenance:off` and scaled back up
            assert.equal((await app(LEGACY))!.maintenance, false);
            const mark = stderr.length;
            const r = await dumpToBlobProvider.create(dumpInputs("dump-b.dump", freeze));
            assert.equal(progressSince(mark)[0], "[WriteFreeze] the freeze was lifted since it was applied: applying it again before the dump");
            assert.equal((await app(LEGACY))!.maintenance, true);
            assert.deepEqual(await workerQuantity(LEGACY), { web: 1, worker: 0 });
            assert.ok(await blobInfo(blob, "dump-b.dump"));
            await dumpToBlobProvider.delete!(r.id, r.outs!);
        } finally {
            await freezeOff(freeze);
        }
        assert.deepEqual(await workerQuantity(LEGACY), { web: 1, worker: 2 }, "lifting restores the quantities from before the first freeze");
    });

    test("DumpToBlob failure (pg_dump refused): the freeze is lifted, no blob is left, the error says so", async () => {
        const freeze = await freezeOn();
        // A table the migration role cannot read makes pg_dump fail part-way.
        await withClient(source.connection("appdb"), (c) => c.query("CREATE TABLE public.secret_stuff (id int); INSERT INTO secret_stuff VALUES (1)"));
        try {
            await containerClient(blob).getBlockBlobClient("dump-c.dump").upload("an older dump", 13);
            const err = await failure(dumpToBlobProvider.create(dumpInputs("dump-c.dump", freeze, true)));
            assert.ok(isMigrationError(err), String(err));
            assert.match(err.message, /^DumpToBlob: /);
            assert.match(err.message, /permission denied for table secret_stuff/);
            // dumpToBlob itself removed the older blob before writing; the failed dump stored none.
            assert.ok(err.message.endsWith(` ${freezeStatusSentence(freeze.spec, true, "none")}`), err.message);
            assert.equal(await blobInfo(blob, "dump-c.dump"), undefined, "no blob that looks like a complete dump is left");
            assert.equal((await app(LEGACY))!.maintenance, false);
            assert.deepEqual(await workerQuantity(LEGACY), { web: 1, worker: 2 });
        } finally {
            await withClient(source.connection("appdb"), (c) => c.query("DROP TABLE public.secret_stuff"));
            await freezeOff(freeze);
        }
    });

    // ---------------------------------------------------------------------------------------
    test("ReadGrant: a read-only URL that works for GET; diff renews it within 15 minutes of expiry", async () => {
        await containerClient(blob).getBlockBlobClient("grant.dump").upload("grant-body", 10);
        const inputs = { storage, accountKey, blobName: "grant.dump", etag: "\"e1\"", expiryMinutes: 60 };
        const before = Date.now();
        const r = await readGrantProvider.create(inputs);
        secretUrls.push(r.outs!.url);
        assert.equal(r.outs!.permissions, "r");
        assert.equal(r.outs!.protocol, "https,http"); // Azurite is plain http
        const expires = Date.parse(r.outs!.expiresOn);
        assert.ok(expires >= before + 59 * 60_000 && expires <= Date.now() + 60 * 60_000, r.outs!.expiresOn);
        assert.equal(r.id, `grant.dump@${r.outs!.expiresOn}`);

        const got = await fetch(r.outs!.url);
        assert.equal(got.status, 200);
        assert.equal(await got.text(), "grant-body");
        const put = await fetch(r.outs!.url, { method: "PUT", headers: { "x-ms-blob-type": "BlockBlob" }, body: "overwrite" });
        assert.equal(put.status, 403, "the SAS is read-only");
        const other = await fetch(r.outs!.url.replace("/grant.dump?", "/dump-b.dump?"));
        assert.equal(other.status, 403, "the SAS is scoped to one blob");

        const diff = (o: any, n: any = inputs) => readGrantProvider.diff!(r.id, o, n);
        const at = (ms: number) => ({ ...r.outs, expiresOn: new Date(Date.now() + ms).toISOString() });
        assert.deepEqual(await diff(r.outs), { changes: false, replaces: [], deleteBeforeReplace: true });
        assert.deepEqual(await diff(at(16 * 60_000)), { changes: false, replaces: [], deleteBeforeReplace: true });
        assert.deepEqual(await diff(at(14 * 60_000)), { changes: true, replaces: ["expiresOn"], deleteBeforeReplace: true });
        assert.deepEqual(await diff(at(-60_000)), { changes: true, replaces: ["expiresOn"], deleteBeforeReplace: true });
        assert.deepEqual(await diff(r.outs, { ...inputs, etag: "\"e2\"" }), { changes: true, replaces: ["etag"], deleteBeforeReplace: true });
        assert.deepEqual(await diff(r.outs, { ...inputs, expiryMinutes: 90 }), { changes: true, replaces: ["expiryMinutes"], deleteBeforeReplace: true });
        await readGrantProvider.delete!(r.id, r.outs!); // nothing to revoke
        assert.equal((await fetch(r.outs!.url)).status, 200);
        await deleteBlob(blob, "grant.dump");
    });

    // ---------------------------------------------------------------------------------------
    test("HerokuRestore diff: a renewed URL for the same dump changes nothing; a new dump or add-on replaces", async () => {
        const olds = { ...restoreInputs({ app: "a", appId: "i", addonId: "ad" }, "https://x/d?sig=one", "\"e1\"", "d", { spec: { mode: "none", app: "", scaleDown: [] }, record: {} as any }, true), transferId: "t" } as any; // only the inputs diff reads
        const diff = (n: any) => herokuRestoreProvider.diff!("t", olds, n);
        assert.deepEqual(await diff({ ...olds, backupUrl: "https://x/d?sig=two" }), { changes: false, replaces: [], deleteBeforeReplace: true });
        assert.deepEqual(await diff({ ...olds, dumpEtag: "\"e2\"" }), { changes: true, replaces: ["dumpEtag"], deleteBeforeReplace: true });
        assert.deepEqual(await diff({ ...olds, addonId: "other" }), { changes: true, replaces: ["addonId"], deleteBeforeReplace: true });
    });

    test("HerokuRestore failure, freeze kept (unfreezeOnFailure false): the error says the freeze is STILL ON", async () => {
        const t = await targetDb();
        const freeze = await freezeOn();
        try {
            await containerClient(blob).getBlockBlobClient("deleted.dump").upload("soon gone", 9);
            const grant = await readGrantProvider.create({ storage, accountKey, blobName: "deleted.dump", etag: "\"e\"", expiryMinutes: 30 });
            secretUrls.push(grant.outs!.url);
            await deleteBlob(blob, "deleted.dump");

            const err = await failure(herokuRestoreProvider.create(restoreInputs(t, grant.outs!.url, "\"e\"", "deleted.dump", freeze, false)));
            assert.ok(isMigrationError(err), String(err));
            const still = freezeStatusSentence(freeze.spec, false);
            assert.equal(still, `The write freeze (maintenance mode on Heroku app "${LEGACY}") is STILL ON; the source is intact. Fix the cause and run \`pulumi up\` again to resume, or lift the freeze by hand with \`heroku maintenance:off -a ${LEGACY}\` (and scale worker back).`);
            assert.match(err.message, /^HerokuRestore: restore r\d{3} into prov-target failed: .*answered HTTP 404/);
            assert.ok(err.message.includes("Read the full log with `heroku pg:backups:info r"), err.message);
            assert.ok(err.message.endsWith(` ${still}`), err.message);
            assert.equal((err as any).hint, still);
            assert.equal((await app(LEGACY))!.maintenance, true, "the freeze is still on");
            assert.deepEqual(await workerQuantity(LEGACY), { web: 1, worker: 0 });
        } finally {
            await freezeOff(freeze);
        }
    });

    test("HerokuRestore failure with unfreezeOnFailure: the freeze is lifted and the stale dump deleted", async () => {
        const t = await targetDb();
        const freeze = await freezeOn();
        await containerClient(blob).getBlockBlobClient("garbage.dump").upload("this is not a pg_dump archive\n", 30);
        const grant = await readGrantProvider.create({ storage, accountKey, blobName: "garbage.dump", etag: "\"g\"", expiryMinutes: 30 });
        secretUrls.push(grant.outs!.url);

        const err = await failure(herokuRestoreProvider.create(restoreInputs(t, grant.outs!.url, "\"g\"", "garbage.dump", freeze, true)));
        assert.ok(isMigrationError(err), String(err));
        const lifted = freezeStatusSentence(freeze.spec, true);
        assert.equal(lifted, `The write freeze (maintenance mode on Heroku app "${LEGACY}") was lifted and the stale dump deleted; the source is intact and in use. Fix the cause and run \`pulumi up\` again: it freezes writes and dumps again.`);
        assert.match(err.message, /^HerokuRestore: restore r\d{3} into prov-target failed: /);
        assert.ok(err.message.endsWith(` ${lifted}`), err.message);
        assert.equal((await app(LEGACY))!.maintenance, false);
        assert.deepEqual(await workerQuantity(LEGACY), { web: 1, worker: 2 });
        assert.equal(await blobInfo(blob, "garbage.dump"), undefined, "the stale dump was deleted");
    });

    test("HerokuRestore restores a real dump; Verification passes, names exactly the table that differs, lists exclusions", async () => {
        const t = await targetDb();
        const freeze = await freezeOn();
        try {
            const dump = await dumpToBlobProvider.create(dumpInputs("restore.dump", freeze));
            const grant = await readGrantProvider.create({ storage, accountKey, blobName: "restore.dump", etag: dump.outs!.etag, expiryMinutes: 30 });
            secretUrls.push(grant.outs!.url);
            const inputs = restoreInputs(t, grant.outs!.url, dump.outs!.etag, "restore.dump", freeze, false);
            let mark = stderr.length;
            const r = await herokuRestoreProvider.create(inputs);
            assert.equal(r.outs!.succeeded, true);
            assert.match(r.outs!.name, /^r\d{3}$/);
            assert.equal(r.id, r.outs!.transferId);
            assert.equal(r.outs!.processedBytes, dump.outs!.bytes);
            assert.ok(r.outs!.logs.length > 0);
            let lines = progressSince(mark);
            assert.match(lines[0], new RegExp(`^\\[HerokuRestore\\] restore ${r.outs!.name} \\(${r.id}\\) started on prov-target$`));
            assert.match(lines[lines.length - 1], new RegExp(`^\\[HerokuRestore\\] ${r.outs!.name} succeeded: `));
            assert.ok(!JSON.stringify(r.outs!.logs).includes(new URL(grant.outs!.url).searchParams.get("sig")!), "restore logs carry no SAS signature");
            // a renewed grant for the same dump: no second restore
            assert.deepEqual(await herokuRestoreProvider.diff!(r.id, r.outs!, { ...inputs, backupUrl: grant.outs!.url + "&renewed=1" }), { changes: false, replaces: [], deleteBeforeReplace: true });

            // Verification: the copy matches
            const vin = {
                targetUrl: t.databaseUrl, restoreId: r.id, excludeTables: [] as { table: string; reason: string }[],
                guard: { source: settings(), freeze, unfreezeOnFailure: false, storage, blobName: "restore.dump" }, accountKey,
            };
            const ok = await verificationProvider.create(vin);
            assert.equal(ok.id, `verified-${r.id}`);
            assert.equal(ok.outs!.ok, true);
            const counts = Object.fromEntries(ok.outs!.tables.map((x: any) => [`${x.schema}.${x.name}`, x.targetRows]));
            for (const [k, n] of Object.entries(DEMO_ROW_COUNTS)) assert.equal(counts[k], n, k);
            // Rows are counted once: the partitioned parent's rows are its partitions' rows.
            const rows = Object.entries(DEMO_ROW_COUNTS).filter(([k]) => k !== "public.audit_log").reduce((n, [, v]) => n + v, 0);
            assert.equal(ok.outs!.summary, `${Object.keys(DEMO_ROW_COUNTS).length} tables, ${rows} rows match`);
            assert.deepEqual(await verificationProvider.diff!(ok.id, ok.outs!, vin), { changes: false, replaces: [], deleteBeforeReplace: true });
            assert.deepEqual(await verificationProvider.diff!(ok.id, ok.outs!, { ...vin, restoreId: "other" }), { changes: true, replaces: ["restoreId"], deleteBeforeReplace: true });

            // One row fewer on the target: the error names exactly that table and its counts.
            await withClient(parseDatabaseUrl(t.databaseUrl), (c) => c.query("DELETE FROM reporting.daily_sales WHERE ctid = (SELECT ctid FROM reporting.daily_sales LIMIT 1)"));
            const err = await failure(verificationProvider.create(vin));
            assert.ok(isMigrationError(err));
            if (process.env.PROVIDERS_TEST_VERBOSE === "1") origWrite(`verification failure: ${err.message}\n`);
            assert.ok(err.message.startsWith("Verification: the target does not match the source: "), err.message);
            assert.ok(err.message.includes("table reporting.daily_sales: 188 rows on the source, 187 on the target"), err.message);
            const named = [...err.message.matchAll(/\b(public|reporting)\.([a-z_0-9]+)/g)].map((m) => `${m[1]}.${m[2]}`);
            assert.deepEqual([...new Set(named)], ["reporting.daily_sales"], `only the changed table is named: ${err.message}`);
            assert.ok(err.message.includes("Cutover did not run and DATABASE_URL was not published."), err.message);
            assert.ok(err.message.endsWith(` ${freezeStatusSentence(freeze.spec, false)}`), err.message);
            assert.equal((await app(LEGACY))!.maintenance, true, "freeze kept (unfreezeOnFailure false)");
            assert.ok(await blobInfo(blob, "restore.dump"), "dump kept (unfreezeOnFailure false)");

            // Excluded tables are listed with their reason, never silently skipped.
            mark = stderr.length;
            const excludeTables = [{ table: "reporting.daily_sales", reason: "rebuilt nightly from orders" }];
            const ex = await verificationProvider.create({ ...vin, excludeTables });
            assert.equal(ex.outs!.ok, true);
            assert.deepEqual(ex.outs!.excluded, excludeTables);
            assert.ok(!ex.outs!.tables.some((x: any) => x.name === "daily_sales"));
            assert.equal(ex.outs!.summary, `${ok.outs!.tables.length - 1} tables, ${rows - 188} rows match; 1 excluded`);
            lines = progressSince(mark);
            assert.equal(lines[lines.length - 1], "[Verification] excluded reporting.daily_sales: rebuilt nightly from orders");
            assert.deepEqual(await verificationProvider.diff!(ex.id, ex.outs!, vin), { changes: true, replaces: ["excludeTables"], deleteBeforeReplace: true });

            // Verification failure with unfreezeOnFailure: freeze lifted, dump deleted.
            const lifted = await failure(verificationProvider.create({ ...vin, guard: { ...vin.guard, unfreezeOnFailure: true } }));
            assert.ok(lifted.message.endsWith(` ${freezeStatusSentence(freeze.spec, true)}`), lifted.message);
            assert.equal((await app(LEGACY))!.maintenance, false);
            assert.equal(await blobInfo(blob, "restore.dump"), undefined);
        } finally {
            await freezeOff(freeze);
        }
    });

    // ---------------------------------------------------------------------------------------
    // No error, progress line or emulator log line carries the API key, a database password or a
    // SAS signature: checked after every test on what it wrote, so each test, run alone
    // (--test-name-pattern), is checked as it is in the whole file.
    const audited = { errors: 0, stderr: 0, emulatorLog: 0 };
    afterEach(() => {
        if (process.env.PROVIDERS_TEST_VERBOSE === "1") origWrite(`errors:\n${errors.slice(audited.errors).map((e) => e.split("\n")[0]).join("\n")}\n`);
        const texts: Array<[string, string]> = [
            ["errors", errors.slice(audited.errors).join("\n")],
            ["stderr", stderr.slice(audited.stderr).join("")],
            ["emulator log", emulatorLog.slice(audited.emulatorLog).join("\n")],
        ];
        Object.assign(audited, { errors: errors.length, stderr: stderr.length, emulatorLog: emulatorLog.length });
        const secrets: Array<[string, string]> = [
            ["Heroku API key", emu.apiKey],
            ["source admin password", sourceConn.password ?? ""],
            ["source superuser password", source.password],
            ["target superuser password", target.password],
            ["storage account key", accountKey],
        ];
        for (const u of secretUrls) {
            const parsed = new URL(u);
            const sig = parsed.searchParams.get("sig");
            if (sig) {
                secrets.push(["SAS signature", sig], ["SAS signature (encoded)", encodeURIComponent(sig)]);
            } else {
                secrets.push(["database password", decodeURIComponent(parsed.password)]);
            }
        }
        for (const [where, text] of texts) {
            for (const [what, value] of secrets) {
                assert.ok(value.length >= 4, what);
                assert.ok(!text.includes(value), `${where} contains the ${what}`);
            }
            assert.doesNotMatch(text, /[?&]sig=(?!\[secret\])/, `${where} contains an unredacted sig=`);
        }
    });
});
