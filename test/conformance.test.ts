/**
 * Conformance: the real Heroku CLI (npm `heroku`, v11) against the emulator over HTTPS. If the
 * CLI accepts the emulator's answers and prints what it prints against Heroku, the emulator's
 * paths, headers, status codes and JSON shapes are the ones the CLI was written for. After the
 * migration's own commands (restore from a URL, extensions, settings), a table of 76 commands of
 * the apps, addons, config, releases, maintenance, ps and pg topics, each checked by exit code and
 * output, fails on any request the emulator has no route for.
 *
 * The CLI is found at $HEROKU_CLI_BIN or /tmp/herokucli/node_modules/.bin/heroku; install it with
 * `emulator/heroku/install-cli.sh`. Without it the test is skipped, unless HEROKU_CLI_REQUIRED=1
 * (set by `npm run test:conformance`, which installs it first).
 *
 *   node --require ts-node/register/transpile-only --test test/conformance.test.ts
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as http from "http";
import * as https from "https";
import { execFile } from "child_process";
import { parseDatabaseUrl, withClient } from "../lib/pg";
import { startCluster, LocalCluster } from "../local/postgres";
import { pgBin } from "../lib/pgbin";
import { startHerokuEmulator, HerokuEmulatorHandle } from "../emulator/heroku";
import { scenarioSteps } from "./scenario-helpers";

const CLI = process.env.HEROKU_CLI_BIN || "/tmp/herokucli/node_modules/.bin/heroku";
const cliInstalled = fs.existsSync(CLI);
const required = process.env.HEROKU_CLI_REQUIRED === "1";
const skip = !cliInstalled && !required ? `Heroku CLI not installed at ${CLI}: run emulator/heroku/install-cli.sh (or npm run test:conformance), or set HEROKU_CLI_BIN` : false;
if (skip) process.stderr.write(`conformance.test.ts: SKIPPED - ${skip}\n`);

const ACCEPT = "application/vnd.heroku+json; version=3";
const APP = "conformance-app";

interface CliResult {
    code: number;
    stdout: string;
    stderr: string;
}

async function sql<T = Record<string, unknown>>(url: string, text: string): Promise<T[]> {
    // lib/pg reads sslmode like libpq (require encrypts without verifying the local cluster's certificate).
    return withClient(parseDatabaseUrl(url), async (c) => (await c.query(text)).rows as T[]);
}

describe("Heroku CLI against the emulator", { skip }, () => {
    let tmp: string;
    let target: LocalCluster;
    let source: LocalCluster;
    let emu: HerokuEmulatorHandle;
    let fileServer: http.Server;
    let dumpBase: string;
    const emuLog: string[] = [];

    /** Runs the CLI with a clean, isolated environment pointing at the emulator. */
    const heroku = (args: string[], envOverride: Record<string, string> = {}): Promise<CliResult> =>
        new Promise((resolve) => {
            const home = path.join(tmp, "home");
            const env: NodeJS.ProcessEnv = {
                PATH: process.env.PATH,
                HOME: home,
                XDG_CONFIG_HOME: path.join(home, ".config"),
                XDG_CACHE_HOME: path.join(home, ".cache"),
                XDG_DATA_HOME: path.join(home, ".local", "share"),
                HEROKU_HOST: emu.platformUrl,
                HEROKU_DATA_HOST: new URL(emu.dataUrl).hostname,
                HEROKU_API_KEY: emu.apiKey,
                NODE_EXTRA_CA_CERTS: emu.caCertPath,
                DISABLE_TELEMETRY: "true",
                HEROKU_SKIP_NEW_VERSION_CHECK: "true",
                HEROKU_DISABLE_AUTOUPDATE: "true",
                NO_COLOR: "1",
                FORCE_COLOR: "0",
                TERM: "dumb",
                OCLIF_COLUMNS: "400", // no wrapping of long error lines
                ...envOverride,
            };
            execFile(CLI, args, { env, cwd: path.join(tmp, "cwd"), timeout: 120000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
                const code = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : 1) : 0;
                const killed = err && (err as { signal?: string }).signal ? `\n(killed by ${(err as { signal?: string }).signal}: over the 120 s timeout)` : "";
                resolve({ code, stdout: String(stdout), stderr: String(stderr) + killed });
            });
        });

    const explain = (r: CliResult) => `exit ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}\n--- emulator ---\n${emuLog.join("\n")}`;

    /** Direct API call (over HTTPS, trusting the emulator's CA) to check what the CLI did. */
    const api = (method: string, p: string) =>
        new Promise<any>((resolve, reject) => {
            const req = https.request(
                `${emu.platformUrl}${p}`,
                { method, ca: fs.readFileSync(emu.caCertPath!), headers: { Accept: ACCEPT, Authorization: `Bearer ${emu.apiKey}` } },
                (res) => {
                    let body = "";
                    res.on("data", (d) => (body += d));
                    res.on("end", () => resolve(JSON.parse(body)));
                },
            );
            req.on("error", reject);
            req.end();
        });

    before(async () => {
        if (!cliInstalled) throw new Error(`HEROKU_CLI_REQUIRED=1 but the Heroku CLI is not at ${CLI}; run emulator/heroku/install-cli.sh`);
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "conformance-test-"));
        for (const d of ["home", "cwd", "dumps"]) fs.mkdirSync(path.join(tmp, d));
        [target, source] = await Promise.all([startCluster({ dataDir: path.join(tmp, "target"), ssl: true }), startCluster({ dataDir: path.join(tmp, "source") })]);

        await sql(source.url(), "CREATE ROLE azure_app LOGIN PASSWORD 'x'");
        await sql(source.url(), "CREATE DATABASE inventory OWNER azure_app");
        await sql(
            source.url("inventory"),
            `SET ROLE azure_app;
             CREATE TABLE items (sku text PRIMARY KEY, qty int NOT NULL);
             INSERT INTO items SELECT 'sku-' || g, g FROM generate_series(1, 25) g;`,
        );
        await sql(source.url(), "CREATE DATABASE inspect");
        await sql(source.url("inspect"), "CREATE EXTENSION pageinspect");
        const dumpTo = (db: string, file: string) =>
            new Promise<void>((resolve, reject) =>
                execFile(
                    pgBin("pg_dump"),
                    ["-Fc", "-h", "127.0.0.1", "-p", String(source.port), "-U", source.superuser, "-f", path.join(tmp, "dumps", file), db],
                    { env: { ...process.env, PGPASSWORD: source.password, PGSSLMODE: "disable" } },
                    (err, _o, stderr) => (err ? reject(new Error(stderr)) : resolve()),
                ),
            );
        await dumpTo("inventory", "inventory.dump");
        await dumpTo("inspect", "inspect.dump");

        fileServer = http.createServer((req, res) => {
            const file = path.join(tmp, "dumps", path.basename(new URL(req.url ?? "/", "http://x").pathname));
            if (!fs.existsSync(file)) {
                res.writeHead(404);
                res.end();
                return;
            }
            res.writeHead(200, { "Content-Length": fs.statSync(file).size });
            fs.createReadStream(file).pipe(res);
        });
        await new Promise<void>((r) => fileServer.listen(0, "127.0.0.1", () => r()));
        dumpBase = `http://127.0.0.1:${(fileServer.address() as { port: number }).port}`;

        emu = await startHerokuEmulator({ postgresAdminUrl: target.url(), https: true, provisionDelayMs: 500, waitStatusDelayMs: 500, log: (l) => emuLog.push(l) });
    });

    after(async () => {
        await emu?.stop();
        await new Promise<void>((r) => (fileServer ? fileServer.close(() => r()) : r()));
        await Promise.allSettled([target?.stop(), source?.stop()]);
        if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    });

    // One app from apps:create to addons:destroy: each step starts from what the one before it left
    // (the add-on, its DATABASE_URL, restore r001...), so they are steps of one test, and once one
    // fails the rest are skipped.
    test("one app's life through the CLI, apps:create to addons:destroy", async (t) => {
        const step = scenarioSteps(t);
        let addonName = "";
        let databaseUrl = "";

        await step("apps:create", async () => {
            const r = await heroku(["apps:create", APP]);
            assert.equal(r.code, 0, explain(r));
            assert.match(r.stderr, new RegExp(`Creating ${APP}\\.\\.\\. done`), explain(r));
            assert.match(r.stdout, new RegExp(`^https://${APP}-[0-9a-f]{12}\\.herokuapp\\.com/ \\| https://127\\.0\\.0\\.1:\\d+/${APP}\\.git\\n$`), explain(r));
            assert.equal((await api("GET", `/apps/${APP}`)).name, APP);
        });

        await step("addons:create heroku-postgresql:essential-1, then pg:wait", async () => {
            const r = await heroku(["addons:create", "heroku-postgresql:essential-1", "--app", APP]);
            assert.equal(r.code, 0, explain(r));
            assert.match(r.stderr, new RegExp(`Creating heroku-postgresql:essential-1 on ${APP}\\.\\.\\. ~\\$0\\.013/hour \\(max \\$9/month\\)`), explain(r));
            const m = /^(postgresql-[a-z]+-\d{5}) is being created in the background\. The app will restart when complete\.\.\.$/m.exec(r.stdout);
            assert.ok(m, explain(r));
            addonName = m[1];
            assert.match(r.stdout, /^Database should be available soon$/m);
            assert.match(r.stdout, new RegExp(`^Run heroku addons:info ${addonName} to check creation progress\\.$`, "m"));

            const w = await heroku(["pg:wait", "--app", APP]);
            assert.equal(w.code, 0, explain(w));
            const addon = await api("GET", `/addons/${addonName}`);
            assert.equal(addon.state, "provisioned");
        });

        await step("maintenance:on and maintenance:off", async () => {
            const on = await heroku(["maintenance:on", "--app", APP]);
            assert.equal(on.code, 0, explain(on));
            assert.match(on.stderr, new RegExp(`Enabling maintenance mode for ${APP}\\.\\.\\. done`));
            assert.equal((await api("GET", `/apps/${APP}`)).maintenance, true);
            const off = await heroku(["maintenance:off", "--app", APP]);
            assert.equal(off.code, 0, explain(off));
            assert.match(off.stderr, new RegExp(`Disabling maintenance mode for ${APP}\\.\\.\\. done`));
            assert.equal((await api("GET", `/apps/${APP}`)).maintenance, false);
        });

        await step("config:get DATABASE_URL", async () => {
            const r = await heroku(["config:get", "DATABASE_URL", "--app", APP]);
            assert.equal(r.code, 0, explain(r));
            databaseUrl = r.stdout.trim();
            assert.equal(databaseUrl, (await api("GET", `/apps/${APP}/config-vars`)).DATABASE_URL);
            assert.match(databaseUrl, new RegExp(`^postgres://u[0-9a-f]{13}:p[0-9a-f]{64}@127\\.0\\.0\\.1:${target.port}/d[0-9a-f]{13}$`));
        });

        await step("pg:extensions lists what the essential database allows (its rds.allowed_extensions), through psql", async () => {
            const r = await heroku(["pg:extensions", "--app", APP]);
            assert.equal(r.code, 0, explain(r));
            const names = r.stdout.split("\n").map((l) => l.split("|")[0].trim()).filter((n) => /^[a-z_][a-z0-9_-]*$/.test(n) && n !== "name");
            for (const n of ["citext", "pgcrypto", "hstore", "plpgsql"]) assert.ok(names.includes(n), `${n} listed\n${explain(r)}`);
            for (const n of ["adminpack", "pageinspect", "file_fdw"]) assert.ok(!names.includes(n), `${n} not listed\n${explain(r)}`);
        });

        await step("pg:backups:restore <URL> DATABASE --confirm restores the data into the add-on database", async () => {
            const url = `${dumpBase}/inventory.dump?sv=2023-11-03&sp=r&sig=abc`;
            const r = await heroku(["pg:backups:restore", url, "DATABASE", "--app", APP, "--confirm", APP]);
            assert.equal(r.code, 0, explain(r));
            assert.match(r.stderr, new RegExp(`Starting restore of ${url.replace(/[.?*+^$()[\]\\|{}]/g, "\\$&")} to ${addonName}\\.\\.\\. done`), explain(r));
            assert.match(r.stderr, /Restoring\.\.\. done/, explain(r));
            assert.match(r.stdout, /Use Ctrl-C at any time to stop monitoring progress; the backup will continue restoring\./);

            const user = new URL(databaseUrl).username;
            assert.deepEqual(await sql(databaseUrl, "SELECT count(*)::int AS n, sum(qty)::int AS q FROM items"), [{ n: 25, q: 325 }]);
            assert.deepEqual(await sql(databaseUrl, "SELECT tableowner FROM pg_tables WHERE tablename = 'items'"), [{ tableowner: user }]);
            assert.deepEqual(await sql(target.url(), "SELECT rolname FROM pg_roles WHERE rolname = 'azure_app'"), []);
        });

        await step("pg:backups:info r001 shows the restore and its logs", async () => {
            const r = await heroku(["pg:backups:info", "r001", "--app", APP]);
            assert.equal(r.code, 0, explain(r));
            const size = fs.statSync(path.join(tmp, "dumps", "inventory.dump")).size;
            const kb = `${(size / 1024).toFixed(2)}KB`;
            assert.match(r.stdout, /^=== Backup r001$/m, explain(r));
            assert.match(r.stdout, /^Database:\s+BACKUP$/m);
            assert.match(r.stdout, /^Started at:\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000$/m);
            assert.match(r.stdout, /^Finished at:\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000$/m);
            assert.match(r.stdout, /^Status:\s+Completed$/m);
            assert.match(r.stdout, new RegExp(`^Original DB Size:\\s+${kb.replace(".", "\\.")}$`, "m"));
            assert.match(r.stdout, new RegExp(`^Backup Size:\\s+${kb.replace(".", "\\.")} \\(0% compression\\)$`, "m"));
            assert.match(r.stdout, /^=== Backup Logs$/m);
            assert.match(r.stdout, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 pg_restore: processing data for table "public\.items"$/m);
            assert.match(r.stdout, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 restore done$/m);
        });

        await step("pg:backups:info without an id looks for backups only (there are none) and fails like Heroku", async () => {
            const r = await heroku(["pg:backups:info", "--app", APP]);
            assert.equal(r.code, 1, explain(r));
            assert.match(r.stderr, /No backups\. Capture one with heroku pg:backups:capture/, explain(r));
        });

        await step("pg:backups lists the restore", async () => {
            const r = await heroku(["pg:backups", "--app", APP]);
            assert.equal(r.code, 0, explain(r));
            assert.match(r.stdout, /=== Backups\s+No backups\. Capture one with heroku pg:backups:capture/, explain(r));
            assert.match(r.stdout, /=== Restores/);
            assert.match(r.stdout, /^\s*r001\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000\s+Completed \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000\s+[\d.]+KB\s+DATABASE\s*$/m, explain(r));
            assert.match(r.stdout, /=== Copies\s+No copies found\./);
        });

        await step("a restore of a dump with an unsupported extension fails with the reason (exit code 2, the CLI's ux.error)", async () => {
            const r = await heroku(["pg:backups:restore", `${dumpBase}/inspect.dump`, "DATABASE", "--app", APP, "--confirm", APP]);
            assert.equal(r.code, 2, explain(r));
            assert.match(r.stderr, /Restoring\.\.\. !/, explain(r));
            assert.match(r.stderr, /Error: +An error occurred and the backup did not finish\./, explain(r));
            assert.match(r.stderr, /^\s*error: extension "pageinspect" is not supported by Heroku Postgres \(TOC entry \d+; 3079 \d+ EXTENSION - pageinspect\)$/m, explain(r));
            assert.match(r.stderr, /^\s*Remove this extension from the source database or exclude it from the dump; supported extensions: https:\/\/devcenter\.heroku\.com\/articles\/heroku-postgres-extensions-postgis-full-text-search$/m, explain(r));
            assert.match(r.stderr, /Run heroku pg:backups:info r002 for more details\./, explain(r));
            // the failed restore did not touch the database
            assert.deepEqual(await sql(databaseUrl, "SELECT count(*)::int AS n FROM items"), [{ n: 25 }]);
            const list = await heroku(["pg:backups", "--app", APP]);
            assert.match(list.stdout, /^\s*r002\s+\S+ \S+ \+0000\s+Failed \S+ \S+ \+0000\s+0\.00B\s+DATABASE\s*$/m, explain(list));
        });

        await step("a wrong HEROKU_API_KEY is reported as the CLI reports Heroku's 401", async () => {
            const r = await heroku(["config:get", "DATABASE_URL", "--app", APP], { HEROKU_API_KEY: "wrong-key" });
            assert.equal(r.code, 1, explain(r));
            assert.match(r.stderr, /The token provided to HEROKU_API_KEY is invalid\./, explain(r));
        });

        await step("pg:settings:log-lock-waits sets it on a Standard database (the real ALTER), pg:settings lists it; Essential databases refuse", async () => {
            const created = await heroku(["addons:create", "heroku-postgresql:standard-0", "--app", APP, "--as", "SETTINGS_DB"]);
            assert.equal(created.code, 0, explain(created));
            const waited = await heroku(["pg:wait", "SETTINGS_DB", "--app", APP]);
            assert.equal(waited.code, 0, explain(waited));
            const addon = (await api("GET", `/apps/${APP}/addons`)).find((a: { config_vars: string[] }) => a.config_vars.includes("SETTINGS_DB_URL"));
            const set = await heroku(["pg:settings:log-lock-waits", "SETTINGS_DB", "true", "--app", APP]);
            assert.equal(set.code, 0, explain(set));
            assert.equal(set.stdout, `log-lock-waits has been set to true for ${addon.name}.\nWhen a deadlock is detected, a log message will be emitted in your application's logs.\n`, explain(set));
            const statement = await heroku(["pg:settings:log-statement", "SETTINGS_DB", "mod", "--app", APP]);
            assert.equal(statement.code, 0, explain(statement));
            assert.match(statement.stdout, new RegExp(`^log-statement has been set to mod for ${addon.name}\\.\\nIncludes all statements from ddl as well as data-modifying statements`), explain(statement));
            const listed = await heroku(["pg:settings", "SETTINGS_DB", "--app", APP]);
            assert.equal(listed.code, 0, explain(listed));
            assert.match(listed.stdout, /^log-lock-waits:\s+true$/m, explain(listed));
            assert.match(listed.stdout, /^log-statement:\s+mod$/m, explain(listed));
            const url = (await api("GET", `/apps/${APP}/config-vars`)).SETTINGS_DB_URL as string;
            assert.deepEqual(await sql(url, "SELECT current_setting('log_lock_waits') AS locks, current_setting('log_statement') AS stmt"), [{ locks: "on", stmt: "mod" }]);
            const essential = await heroku(["pg:settings:log-lock-waits", "DATABASE", "true", "--app", APP]);
            assert.notEqual(essential.code, 0, explain(essential));
            assert.match(essential.stderr, /You can.t perform this operation on Essential-tier databases\./, explain(essential));
        });

        /**
         * The command table: every command of the apps, addons, config, ps, maintenance, releases and
         * pg topics that reads or changes what the emulator models, on its own apps (T, T2), each
         * checked by exit code and by what it prints. Rows of one stage run concurrently (they only
         * read, or touch different apps); stages run in order. `{T}`, `{T2}`, `{ADDON}`, `{B}` (the
         * backup's name) and `{URL}` (DATABASE_URL) are filled in as the table runs; in `out`/`err`
         * they are regex-escaped. Exit codes: 0; 1 for the CLI's own checks (`Error: ...`), 2 for an
         * API error (oclif's error with `Error ID`).
         */
        interface Row {
            run: string[];
            code?: number;
            /** regexes (as strings, with placeholders) stdout must match */
            out?: string[];
            err?: string[];
            /** exact stdout */
            stdout?: string;
            after?: (r: CliResult, v: Record<string, string>) => unknown;
        }
        const T = "table-app";
        const T2 = "table-other";
        const TABLE: Array<{ name: string; setup?: (v: Record<string, string>) => void | Promise<void>; rows: Row[] }> = [
            {
                name: "apps",
                rows: [{ run: ["apps:create", "{T}", "--region", "us"], err: ["^Creating {T}\\.\\.\\. done, region is us$"], out: ["^https://{T}-[0-9a-f]{12}\\.herokuapp\\.com/ \\| "] }],
            },
            {
                name: "apps (reads) and addons:create",
                rows: [
                    { run: ["apps:create", "{T}"], code: 2, err: ["Creating {T}\\.\\.\\. !", "Error: Name is already taken", "Error ID: invalid_params"] },
                    { run: ["apps:create", "{T2}"], err: ["^Creating {T2}\\.\\.\\. done$"] },
                    { run: ["apps"], out: ["^=== emulator@example\\.com Apps$", "^{T}$"] },
                    { run: ["apps:info", "-a", "{T}"], out: ["^=== {T}$", "^Git URL:\\s+https://git\\.heroku\\.com/{T}\\.git$", "^Owner:\\s+emulator@example\\.com$", "^Region:\\s+us$", "^Stack:\\s+heroku-24$"] },
                    { run: ["apps:info", "-a", "{T}", "--json"], after: (r) => assert.equal(JSON.parse(r.stdout).app.name, T) },
                    { run: ["apps:info", "-a", "no-such-app"], code: 2, err: ["Error: Couldn't find that app\\.", "Error ID: not_found"] },
                    {
                        run: ["addons:create", "heroku-postgresql:essential-0", "-a", "{T}"],
                        err: ["^Creating heroku-postgresql:essential-0 on {T}\\.\\.\\. ~\\$0\\.007/hour \\(max \\$5/month\\)$"],
                        out: ["^Database should be available soon$", "^(postgresql-[a-z]+-\\d{5}) is being created in the background\\."],
                        after: (r, v) => (v.ADDON = /^(postgresql-[a-z]+-\d{5}) is being created/m.exec(r.stdout)![1]),
                    },
                    { run: ["addons:create", "heroku-postgresql:hobby-dev", "-a", "{T2}"], code: 2, err: ["Couldn't find either the add-on service or the add-on plan of \"heroku-postgresql:hobby-dev\"\\."] },
                    { run: ["maintenance", "-a", "{T}"], stdout: "off\n" },
                ],
            },
            {
                name: "pg:wait",
                rows: [{ run: ["pg:wait", "-a", "{T}"] }],
            },
            {
                name: "addons (reads)",
                rows: [
                    { run: ["addons", "-a", "{T}"], out: ["heroku-postgresql \\({ADDON}\\)\\s+essential-0\\s+~\\$0\\.007/hour\\s+\\$5/month\\s+created", "└─ as DATABASE"] },
                    { run: ["addons:info", "{ADDON}", "-a", "{T}"], out: ["^=== {ADDON}$", "^Plan:\\s+heroku-postgresql:essential-0$", "^Attachments:\\s+{T}::DATABASE$", "^Owning app:\\s+{T}$", "^State:\\s+created$"] },
                    { run: ["addons:info", "no-such-addon", "-a", "{T}"], code: 2, err: ["Error: Couldn't find that add on\\.", "Error ID: not_found"] },
                    { run: ["config:get", "DATABASE_URL", "-a", "{T}"], out: ["^postgres://u[0-9a-f]{13}:p[0-9a-f]{64}@127\\.0\\.0\\.1:\\d+/d[0-9a-f]{13}\\n$"], after: (r, v) => (v.URL = r.stdout.trim()) },
                ],
            },
            {
                name: "config:set",
                rows: [{ run: ["config:set", "FOO=bar", "BAZ=qux", "-a", "{T}"], err: ["^Setting FOO, BAZ and restarting {T}\\.\\.\\. done, v5$"], out: ["^FOO:\\s+bar$", "^BAZ:\\s+qux$"] }],
            },
            {
                name: "config (reads), config:set of an add-on's var",
                rows: [
                    { run: ["config", "-a", "{T}"], out: ["^=== {T} Config Vars$", "^BAZ:\\s+qux$", "^DATABASE_URL:\\s+{URL}$", "^FOO:\\s+bar$"] },
                    { run: ["config", "-a", "{T}", "--shell"], out: ["^FOO=bar$", "^BAZ=qux$"] },
                    { run: ["config:get", "BAZ", "-a", "{T}"], stdout: "qux\n" },
                    { run: ["config:set", "DATABASE_URL=postgres://elsewhere/db", "-a", "{T}"], code: 2, err: ["Error: Cannot overwrite attachment values DATABASE_URL\\.", "Error ID: invalid_params"] },
                ],
            },
            {
                name: "config:unset",
                rows: [{ run: ["config:unset", "BAZ", "-a", "{T}"], err: ["^Unsetting BAZ and restarting {T}\\.\\.\\. done, v6$"] }],
            },
            {
                name: "releases (reads)",
                rows: [
                    { run: ["config:get", "BAZ", "-a", "{T}"], stdout: "\n" },
                    {
                        run: ["releases", "-a", "{T}"],
                        out: [
                            "^=== {T} Releases - Current: v6$",
                            "^\\s*v6\\s+Remove BAZ config vars\\s+emulator@example\\.com\\s",
                            "^\\s*v5\\s+Set FOO, BAZ config vars\\s",
                            "^\\s*v4\\s+Update DATABASE by heroku-postgresql\\s",
                            "^\\s*v3\\s+Attach DATABASE \\(@ref:{ADDON}\\)\\s",
                            "^\\s*v2\\s+Enable Logplex\\s",
                            "^\\s*v1\\s+Initial release\\s",
                        ],
                    },
                    { run: ["releases", "-a", "{T}", "-n", "2"], after: (r) => assert.deepEqual(r.stdout.match(/^\s*v\d+\s/gm)?.map((x) => x.trim()), ["v6", "v5"]) },
                    { run: ["releases:info", "-a", "{T}"], out: ["^=== Release v6$", "^Add-ons:\\s+heroku-postgresql:essential-0$", "^Change:\\s+Remove BAZ config vars$", "^Eligible for Rollback\\?:\\s+Yes$", "^=== v6 Config vars$", "^FOO:\\s+bar$"], after: (r) => assert.doesNotMatch(r.stdout, /^BAZ:/m) },
                    { run: ["releases:info", "v5", "-a", "{T}"], out: ["^=== Release v5$", "^Change:\\s+Set FOO, BAZ config vars$", "^BAZ:\\s+qux$", "^DATABASE_URL:\\s+{URL}$"] },
                    { run: ["releases:info", "v3", "-a", "{T}", "--shell"], out: ["^=== v3 Config vars$"], after: (r) => assert.doesNotMatch(r.stdout, /DATABASE_URL/) },
                    { run: ["releases:info", "v99", "-a", "{T}"], code: 2, err: ["Error: Couldn't find that release\\.", "Error ID: not_found"] },
                ],
            },
            {
                name: "releases:rollback, maintenance:on",
                rows: [
                    { run: ["releases:rollback", "v5", "-a", "{T}"], err: ["^Rolling back {T} to v5\\.\\.\\. done, v7$"] },
                    { run: ["maintenance:on", "-a", "{T2}"], err: ["^Enabling maintenance mode for {T2}\\.\\.\\. done$"] },
                ],
            },
            {
                name: "after the rollback; maintenance:off",
                setup: () => emu.seedFormation(T, [{ type: "web", quantity: 1 }, { type: "worker", quantity: 2 }]),
                rows: [
                    { run: ["config:get", "BAZ", "-a", "{T}"], stdout: "qux\n" },
                    { run: ["releases:info", "-a", "{T}"], out: ["^=== Release v7$", "^Change:\\s+Rollback to v5$"] },
                    { run: ["maintenance", "-a", "{T2}"], stdout: "on\n" },
                    { run: ["maintenance:off", "-a", "{T2}"], err: ["^Disabling maintenance mode for {T2}\\.\\.\\. done$"] },
                    { run: ["ps", "-a", "{T}"], out: ["^=== web \\(Basic\\): npm start \\(1\\)$", "^web\\.1: up ", "^=== worker \\(Basic\\): npm run worker \\(2\\)$", "^worker\\.1: up ", "^worker\\.2: up "] },
                    { run: ["ps", "-a", "{T2}"], stdout: `No dynos on ${T2}\n` },
                    { run: ["ps:scale", "-a", "{T}"], stdout: "web=1:Basic worker=2:Basic\n" },
                ],
            },
            {
                name: "ps:scale, ps:type",
                rows: [
                    { run: ["ps:scale", "worker=0", "-a", "{T}"], err: ["^Scaling dynos\\.\\.\\. done, now running worker at 0:Basic$"] },
                    { run: ["ps:scale", "clock=1", "-a", "{T}"], code: 2, err: ["Error: Couldn't find that process type \\(clock\\)\\.", "Error ID: not_found"] },
                    { run: ["ps:type", "-a", "{T2}"], code: 1, err: ["No process types on {T2}\\."] },
                ],
            },
            {
                name: "after scaling; restarts; attach",
                rows: [
                    { run: ["ps", "-a", "{T}"], out: ["^web\\.1: up "], after: (r) => assert.doesNotMatch(r.stdout, /worker/) },
                    { run: ["ps:restart", "-a", "{T}"], err: ["^Restarting all dynos on {T}\\.\\.\\. done$"] },
                    { run: ["ps:type", "web=standard-2x", "-a", "{T}"], err: ["^Scaling dynos on {T}\\.\\.\\. done$"], out: ["^\\s*web\\s+Standard-2X\\s+1\\s"] },
                    { run: ["addons:attach", "{ADDON}", "-a", "{T2}", "--as", "SHARED_DB"], err: ["^Attaching {ADDON} as SHARED_DB to {T2}\\.\\.\\. done$", "^Setting SHARED_DB config vars and restarting {T2}\\.\\.\\. done, v3$"] },
                ],
            },
            {
                name: "attached",
                rows: [
                    { run: ["config:get", "SHARED_DB_URL", "-a", "{T2}"], stdout: "{URL}\n" },
                    { run: ["addons", "-a", "{T2}"], out: ["heroku-postgresql \\({ADDON}\\)\\s+essential-0\\s+\\(billed to {T} app\\)", "as SHARED_DB", "as DATABASE on {T} app"] },
                    { run: ["addons:info", "{ADDON}", "-a", "{T}"], out: ["^Attachments:\\s+{T}::DATABASE\\n\\s+{T2}::SHARED_DB$"] },
                ],
            },
            {
                name: "addons:detach; a table to back up",
                rows: [
                    { run: ["addons:detach", "SHARED_DB", "-a", "{T2}"], err: ["^Detaching SHARED_DB to {ADDON} from {T2}\\.\\.\\. done$", "^Unsetting SHARED_DB config vars and restarting {T2}\\.\\.\\. done, v4$"] },
                    { run: ["pg:psql", "-a", "{T}", "-c", "CREATE TABLE kept (id int); INSERT INTO kept SELECT generate_series(1, 42)"], out: ["^INSERT 0 42$"] },
                ],
            },
            {
                name: "pg (reads)",
                rows: [
                    { run: ["config:get", "SHARED_DB_URL", "-a", "{T2}"], stdout: "\n" },
                    { run: ["releases", "-a", "{T2}"], out: ["^\\s*v4\\s+Detach SHARED_DB \\(@ref:{ADDON}\\)\\s", "^\\s*v3\\s+Attach SHARED_DB \\(@ref:{ADDON}\\)\\s"] },
                    {
                        run: ["pg:info", "-a", "{T}"],
                        out: ["^=== DATABASE_URL$", "^Plan:\\s+Essential 0$", "^Status:\\s+Available$", "^Connections:\\s+\\d+/20$", "^PG Version:\\s+\\d+\\.\\d+$", "^Data Size:\\s+[\\d.]+ MB / 1 GB \\([\\d.]+%\\)$", "^Tables:\\s+1/4000$", "^Fork/Follow:\\s+Unsupported$", "^Add-on:\\s+{ADDON}$"],
                    },
                    { run: ["pg:info", "-a", "{T2}"], stdout: `${T2} has no heroku-postgresql databases.\n` },
                    { run: ["pg:credentials:url", "-a", "{T}"], out: ["^Connection information for default credential\\.$", "^  {URL}$"] },
                    { run: ["pg:credentials:url", "-a", "{T}", "--name", "analyst"], code: 2, err: ["Error: Couldn't find credential analyst\\.", "Error ID: not_found"] },
                    { run: ["pg:credentials", "-a", "{T}"], out: ["default\\s+active", "└─ as DATABASE"] },
                    { run: ["pg:backups:schedules", "-a", "{T}"], err: ["Warning: No backup schedules found on {T}"] },
                    { run: ["pg:backups:url", "-a", "{T}"], code: 1, err: ["Error: No backups on {T}\\. Capture one with heroku pg:backups:capture"] },
                ],
            },
            {
                name: "pg:backups:capture",
                rows: [
                    {
                        run: ["pg:backups:capture", "-a", "{T}", "--wait-interval", "3"],
                        err: ["^Starting backup of {ADDON}\\.\\.\\. done$", "^Backing up DATABASE to (b\\d{3})\\.\\.\\. done$"],
                        out: ["^Use Ctrl-C at any time to stop monitoring progress; the backup will continue running\\.$"],
                        after: (r, v) => (v.B = /Backing up DATABASE to (b\d{3})/.exec(r.stderr)![1]),
                    },
                ],
            },
            {
                name: "the backup (reads)",
                rows: [
                    { run: ["pg:backups", "-a", "{T}"], out: ["^=== Backups$", "^\\s*{B}\\s+\\S+ \\S+ \\+0000\\s+Completed \\S+ \\S+ \\+0000\\s+[\\d.]+KB\\s+DATABASE\\s*$"] },
                    { run: ["pg:backups:info", "{B}", "-a", "{T}"], out: ["^=== Backup {B}$", "^Database:\\s+DATABASE$", "^Status:\\s+Completed$", "^Type:\\s+Manual$", "^Backup Size:\\s+[\\d.]+KB", "pg_dump: dumping contents of table \"public\\.kept\"$", "backup done$"] },
                    { run: ["pg:backups:info", "-a", "{T}"], out: ["^=== Backup {B}$"] },
                    {
                        run: ["pg:backups:url", "{B}", "-a", "{T}"],
                        out: ["^https://127\\.0\\.0\\.1:\\d+/xfrtu/[0-9a-f-]{36}\\?expires=\\d+&sig=[0-9a-f]{64}\\n"],
                        after: async (r) => {
                            const url = r.stdout.trim();
                            const get = (u: string) =>
                                new Promise<{ status: number; body: Buffer }>((resolve, reject) =>
                                    https.get(u, { ca: fs.readFileSync(emu.caCertPath!) }, (res) => {
                                        const chunks: Buffer[] = [];
                                        res.on("data", (c: Buffer) => chunks.push(c));
                                        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
                                    }).on("error", reject),
                                );
                            const ok = await get(url);
                            assert.equal(ok.status, 200);
                            assert.equal(ok.body.subarray(0, 5).toString(), "PGDMP", "a pg_dump custom-format archive");
                            const tampered = await get(url.replace(/sig=[0-9a-f]/, (m) => (m.endsWith("0") ? "sig=1" : "sig=0")));
                            assert.equal(tampered.status, 403);
                            assert.match(tampered.body.toString(), /<Code>SignatureDoesNotMatch<\/Code>/);
                            const unsigned = await get(url.replace(/\?.*$/, ""));
                            assert.equal(unsigned.status, 403);
                        },
                    },
                    {
                        run: ["pg:backups:download", "{B}", "-a", "{T}", "-o", "table-backup.dump"],
                        err: ["Getting backup from {T}\\.\\.\\. done, #\\d+"],
                        after: () => assert.equal(fs.readFileSync(path.join(tmp, "cwd", "table-backup.dump")).subarray(0, 5).toString(), "PGDMP"),
                    },
                    { run: ["pg:psql", "-a", "{T}", "-c", "DROP TABLE kept"], out: ["^DROP TABLE$"] },
                ],
            },
            {
                name: "pg:backups:restore of the backup",
                rows: [{ run: ["pg:backups:restore", "{B}", "DATABASE", "-a", "{T}", "--confirm", "{T}", "--wait-interval", "3"], err: ["^Starting restore of {B} to {ADDON}\\.\\.\\. done$", "^Restoring\\.\\.\\. done$"] }],
            },
            {
                name: "restored; pg:backups:delete",
                rows: [
                    { run: ["pg:psql", "-a", "{T}", "-c", "SELECT count(*) AS n FROM kept"], out: ["^\\s+42$"] },
                    { run: ["pg:backups:delete", "{B}", "-a", "{T}", "--confirm", "{T}"], err: ["^Deleting backup {B} on {T}\\.\\.\\. done$"] },
                ],
            },
            {
                name: "deleted; apps:rename",
                rows: [
                    { run: ["pg:backups:info", "{B}", "-a", "{T}"], code: 2, err: ["Error: Couldn't find that transfer\\."] },
                    { run: ["apps:rename", "table-renamed", "-a", "{T2}"], err: ["^Renaming {T2} to table-renamed\\.\\.\\. done$"], out: ["^https://table-renamed-[0-9a-f]{12}\\.herokuapp\\.com/ \\| "] },
                ],
            },
            {
                name: "addons:destroy, apps:destroy",
                rows: [
                    { run: ["addons:destroy", "{ADDON}", "-a", "{T}", "--confirm", "{T}"], err: ["^Destroying {ADDON} on {T}\\.\\.\\. done$"] },
                    { run: ["apps:destroy", "-a", "table-renamed", "--confirm", "table-renamed"], err: ["^Destroying table-renamed \\(including all add-ons\\)\\.\\.\\. done$"] },
                ],
            },
            {
                name: "gone",
                rows: [
                    { run: ["addons", "-a", "{T}"], out: [`^No add-ons for app ${T}\\.$`] },
                    { run: ["config:get", "DATABASE_URL", "-a", "{T}"], stdout: "\n" },
                    { run: ["releases", "-a", "{T}", "-n", "1"], out: ["^\\s*v8\\s+Detach DATABASE \\(@ref:{ADDON}\\)\\s"] },
                    { run: ["apps:info", "-a", "table-renamed"], code: 2, err: ["Error: Couldn't find that app\\.", "Error ID: not_found"] },
                ],
            },
        ];

        await step(`the command table: ${TABLE.reduce((n, st) => n + st.rows.length, 0)} commands, each by exit code and output`, async () => {
            const v: Record<string, string> = { T, T2 };
            const esc = (s: string) => s.replace(/[.?*+^$()[\]\\|{}]/g, "\\$&");
            const fill = (s: string, rx: boolean) => s.replace(/\{([A-Z0-9]+)\}/g, (m, k: string) => (k in v ? (rx ? esc(v[k]) : v[k]) : m));
            const failures: string[] = [];
            const unknownBefore = emuLog.filter((l) => l.startsWith("UNKNOWN ROUTE")).length;
            for (const stage of TABLE) {
                await stage.setup?.(v);
                // at most 3 CLIs at a time: each is a Node process of ~1.5 s CPU
                const results: CliResult[] = new Array(stage.rows.length);
                let nextRow = 0;
                const worker = async () => {
                    for (let i = nextRow++; i < stage.rows.length; i = nextRow++) results[i] = await heroku(stage.rows[i].run.map((a) => fill(a, false)));
                };
                await Promise.all([worker(), worker(), worker()]);
                for (const [i, row] of stage.rows.entries()) {
                    const r = results[i];
                    const line = `heroku ${row.run.map((a) => fill(a, false)).join(" ")}`;
                    try {
                        assert.equal(r.code, row.code ?? 0, "exit code");
                        if (row.stdout !== undefined) assert.equal(r.stdout, fill(row.stdout, false), "stdout");
                        for (const re of row.out ?? []) assert.match(r.stdout, new RegExp(fill(re, true), "m"), "stdout");
                        for (const re of row.err ?? []) assert.match(r.stderr.replace(/^ › {3}/gm, ""), new RegExp(fill(re, true), "m"), "stderr");
                        await row.after?.(r, v);
                    } catch (err) {
                        failures.push(`[${stage.name}] ${line}: ${(err as Error).message.split("\n")[0]}\n${explain(r).replace(/--- emulator ---[\s\S]*$/, "")}`);
                    }
                }
                if (failures.length > 0) break; // later stages depend on this one
            }
            assert.deepEqual(emuLog.filter((l) => l.startsWith("UNKNOWN ROUTE")).slice(unknownBefore), [], "every request the CLI sent has a route");
            assert.equal(failures.length, 0, failures.join("\n\n"));
        });

        await step("addons:destroy drops the add-on database", async () => {
            const dbName = new URL(databaseUrl).pathname.slice(1);
            const r = await heroku(["addons:destroy", addonName, "--app", APP, "--confirm", APP]);
            assert.equal(r.code, 0, explain(r));
            assert.deepEqual(await sql(target.url(), `SELECT datname FROM pg_database WHERE datname = '${dbName}'`), []);
            assert.equal((await api("GET", `/apps/${APP}/config-vars`)).DATABASE_URL, undefined);
            assert.deepEqual(emuLog.filter((l) => l.startsWith("UNKNOWN ROUTE")), []);
        });
    });
});
