/**
 * Settings carried over, against real services: the emulator's pg:settings endpoint (GET/PATCH
 * /postgres/v0/databases/{id}/config, Essential plans refused), lib/settingsApply.ts on a real
 * add-on database, and the ApplySettings provider end to end (new sessions of Heroku's
 * credential see the values).
 *
 *   node --require ts-node/register/transpile-only --test test/apply-settings.test.ts
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseDatabaseUrl, withClient } from "../lib/pg";
import { startCluster, LocalCluster } from "../local/postgres";
import { startHerokuEmulator, HerokuEmulatorHandle } from "../emulator/heroku";
import * as heroku from "../lib/heroku";
import { applySettingsProvider } from "../providers/applySettings";
import { planSettings, LOGIN } from "../lib/settings";

/** What a new session of the URL's user gets. */
async function show(url: string, names: string[]): Promise<Record<string, string>> {
    return withClient(parseDatabaseUrl(url), async (c) => {
        const out: Record<string, string> = {};
        for (const n of names) out[n] = (await c.query<{ v: string }>("SELECT current_setting($1) AS v", [n])).rows[0].v;
        return out;
    });
}

/** GET /postgres/v0/databases/{addonId}/config on the Data API (`heroku pg:settings`), to read back what ApplySettings set. Essential plans refuse it. */
function getPgSettings(ep: heroku.HerokuEndpoints, addonId: string): Promise<Record<string, heroku.HerokuPgSetting>> {
    return heroku.dataRequest<Record<string, heroku.HerokuPgSetting>>(ep, "GET", `/postgres/v0/databases/${encodeURIComponent(addonId)}/config`);
}

describe("settings carried over (emulator and a real cluster)", () => {
    let tmp: string;
    let target: LocalCluster;
    let emu: HerokuEmulatorHandle;
    let ep: heroku.HerokuEndpoints;
    const envBefore = { ...process.env };
    const addons: Record<string, { id: string; name: string; url: string }> = {};

    before(async () => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "apply-settings-test-"));
        target = await startCluster({ dataDir: path.join(tmp, "target"), ssl: true });
        emu = await startHerokuEmulator({ postgresAdminUrl: target.url("postgres"), stateFile: path.join(tmp, "heroku.json"), provisionDelayMs: 100, waitStatusDelayMs: 100, log: () => undefined });
        process.env.HEROKU_API_KEY = emu.apiKey;
        process.env.HEROKU_HOST = emu.platformUrl;
        process.env.HEROKU_DATA_HOST = emu.dataUrl;
        process.env.A2H_QUIET = "1";
        ep = heroku.herokuEndpointsFromEnv();
        await heroku.createApp(ep, { name: "settings-app" });
        for (const plan of ["standard-0", "essential-1"]) {
            const a = await heroku.createAddon(ep, "settings-app", { plan: `heroku-postgresql:${plan}`, attachmentName: plan === "standard-0" ? "DATABASE" : "ESSENTIAL" });
            await heroku.waitForAddon(ep, "settings-app", a.id, { pollMs: 100 });
            const vars = await heroku.getConfigVars(ep, "settings-app");
            addons[plan] = { id: a.id, name: a.name, url: vars[plan === "standard-0" ? "DATABASE_URL" : "ESSENTIAL_URL"] };
        }
    });

    after(async () => {
        await emu?.stop().catch(() => undefined);
        await target?.stop();
        if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
        for (const k of ["HEROKU_API_KEY", "HEROKU_HOST", "HEROKU_DATA_HOST", "A2H_QUIET"]) {
            if (envBefore[k] === undefined) delete process.env[k];
            else process.env[k] = envBefore[k];
        }
    });

    test("pg:settings: PATCH sets the real database, GET answers every setting as {value, desc, default}", async () => {
        const before = await getPgSettings(ep, addons["standard-0"].id);
        assert.deepEqual(before.log_lock_waits, { value: false, desc: "Logs long lock waits.", default: false });
        assert.equal(before.log_statement.value, "ddl");
        const after = await heroku.updatePgSettings(ep, addons["standard-0"].id, { log_lock_waits: true, log_min_duration_statement: 1500, track_functions: "pl" });
        assert.deepEqual([after.log_lock_waits.value, after.log_min_duration_statement.value, after.track_functions.value, after.log_statement.value], [true, 1500, "pl", "ddl"]);
        assert.deepEqual(await show(addons["standard-0"].url, ["log_lock_waits", "log_min_duration_statement", "track_functions"]),
            { log_lock_waits: "on", log_min_duration_statement: "1500ms", track_functions: "pl" });
    });

    test("pg:settings: refused on Essential plans and for unknown keys or values, with Heroku's error shape", async () => {
        await assert.rejects(getPgSettings(ep, addons["essential-1"].id), (err: any) => err.status === 422 && /You can't perform this operation on Essential-tier databases\./.test(err.message));
        await assert.rejects(heroku.updatePgSettings(ep, addons["standard-0"].id, { shared_buffers: "1GB" }), (err: any) => err.status === 422 && err.id === "invalid_params" && /shared_buffers is not a setting you can change/.test(err.message));
        await assert.rejects(heroku.updatePgSettings(ep, addons["standard-0"].id, { log_statement: "everything" }), (err: any) => err.status === 422 && /log_statement must be one of none, ddl, mod, all, got "everything"/.test(err.message));
    });

    test("ApplySettings: ALTER DATABASE/ROLE SET and pg:settings, seen by a new session of Heroku's credential", async () => {
        const plan = planSettings([
            { name: "TimeZone", value: "Europe/Berlin", origin: "server", context: "user" },
            { name: "search_path", value: "\"$user\", public, extra", origin: "database", context: "user" },
            { name: "statement_timeout", value: "45s", origin: "database", context: "user" },
            { name: "work_mem", value: "8MB", origin: "role", role: LOGIN, context: "user" },
            { name: "log_statement", value: "mod", origin: "server", context: "superuser" },
            { name: "shared_buffers", value: "1GB", origin: "server", context: "postmaster" },
        ], { plan: "standard-0" });
        const a = addons["standard-0"];
        const freeze = { spec: { mode: "none" as const, app: "", scaleDown: [] }, record: {} as any };
        const res = await applySettingsProvider.create!({
            targetUrl: a.url, addonId: a.id, addonName: a.name, restoreId: "t1", database: plan.database, heroku: plan.heroku,
            guard: {
                source: { host: "127.0.0.1", port: 1, database: "x", user: "x", sslmode: "disable" }, freeze, unfreezeOnFailure: false,
                storage: { accountName: "a", blobEndpoint: "http://127.0.0.1:1/a", container: "c" }, blobName: "b",
            },
            accountKey: "k",
        } as any);
        assert.deepEqual(res.outs!.applied.map((x: any) => `${x.name}=${x.value} via ${x.via} -> ${x.result}`), [
            "search_path=\"$user\", public, extra via ALTER DATABASE -> \"$user\", public, extra",
            "statement_timeout=45s via ALTER DATABASE -> 45s",
            "TimeZone=Europe/Berlin via ALTER DATABASE -> Europe/Berlin",
            "work_mem=8MB via ALTER ROLE -> 8MB",
            "log_statement=mod via heroku pg:settings:log-statement -> mod",
        ]);
        assert.deepEqual(res.outs!.appliedNames, ["log_statement", "search_path", "statement_timeout", "timezone", "work_mem"]);
        assert.deepEqual(await show(a.url, ["TimeZone", "search_path", "statement_timeout", "work_mem", "log_statement"]),
            { TimeZone: "Europe/Berlin", search_path: "\"$user\", public, extra", statement_timeout: "45s", work_mem: "8MB", log_statement: "mod" });
        assert.equal((await getPgSettings(ep, a.id)).log_statement.value, "mod");
    });

    test("ApplySettings: a value the new database refuses fails naming the setting and the keys that fix it", async () => {
        const a = addons["standard-0"];
        const freeze = { spec: { mode: "none" as const, app: "", scaleDown: [] }, record: {} as any };
        await assert.rejects(applySettingsProvider.create!({
            targetUrl: a.url, addonId: a.id, addonName: a.name, restoreId: "t2",
            database: [{ name: "statement_timeout", value: "soon", origin: "database", group: "database", scope: "database" }], heroku: [],
            guard: {
                source: { host: "127.0.0.1", port: 1, database: "x", user: "x", sslmode: "disable" }, freeze, unfreezeOnFailure: false,
                storage: { accountName: "a", blobEndpoint: "http://127.0.0.1:1/a", container: "c" }, blobName: "b",
            },
            accountKey: "k",
        } as any), (err: any) => {
            assert.match(err.message, /^ApplySettings: could not set statement_timeout=soon on the new database \(ALTER DATABASE SET\): invalid value for parameter "statement_timeout": "soon"/);
            assert.match(err.message, /settingsSkip\[0\]' statement_timeout/);
            return true;
        });
    });

    test("ApplySettings: a server parameter the new database refuses is left out and reported, not required", async () => {
        const a = addons["standard-0"];
        const freeze = { spec: { mode: "none" as const, app: "", scaleDown: [] }, record: {} as any };
        const res = await applySettingsProvider.create!({
            targetUrl: a.url, addonId: a.id, addonName: a.name, restoreId: "t3",
            database: [
                { name: "lc_monetary", value: "xx_XX.UTF-8", origin: "server", group: "database", scope: "database" },
                { name: "idle_in_transaction_session_timeout", value: "10min", origin: "server", group: "database", scope: "database" },
            ], heroku: [],
            guard: {
                source: { host: "127.0.0.1", port: 1, database: "x", user: "x", sslmode: "disable" }, freeze, unfreezeOnFailure: false,
                storage: { accountName: "a", blobEndpoint: "http://127.0.0.1:1/a", container: "c" }, blobName: "b",
            },
            accountKey: "k",
        } as any);
        assert.deepEqual(res.outs!.appliedNames, ["idle_in_transaction_session_timeout"]);
        assert.deepEqual(res.outs!.notApplied, [{ name: "lc_monetary", value: "xx_XX.UTF-8", error: 'invalid value for parameter "lc_monetary": "xx_XX.UTF-8"', reason: `${a.name} refused the source's server parameter: invalid value for parameter "lc_monetary": "xx_XX.UTF-8"` }]);
    });
});
