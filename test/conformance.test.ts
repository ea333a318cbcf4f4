/**
 * Conformance: the real Heroku CLI (npm `heroku`, v11) against the emulator over HTTPS. If the
 * CLI accepts the emulator's answers and prints what it prints against Heroku, the emulator's
 * paths, headers, status codes and JSON shapes are the ones the CLI was written for.
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
                resolve({ code, stdout: String(stdout), stderr: String(stderr) });
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

    let addonName = "";
    let databaseUrl = "";

    test("apps:create", async () => {
        const r = await heroku(["apps:create", APP]);
        assert.equal(r.code, 0, explain(r));
        assert.match(r.stderr, new RegExp(`Creating ${APP}\\.\\.\\. done`), explain(r));
        assert.match(r.stdout, new RegExp(`^https://${APP}-[0-9a-f]{12}\\.herokuapp\\.com/ \\| https://127\\.0\\.0\\.1:\\d+/${APP}\\.git\\n$`), explain(r));
        assert.equal((await api("GET", `/apps/${APP}`)).name, APP);
    });

    test("addons:create heroku-postgresql:essential-1, then pg:wait", async () => {
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

    test("maintenance:on and maintenance:off", async () => {
        const on = await heroku(["maintenance:on", "--app", APP]);
        assert.equal(on.code, 0, explain(on));
        assert.match(on.stderr, new RegExp(`Enabling maintenance mode for ${APP}\\.\\.\\. done`));
        assert.equal((await api("GET", `/apps/${APP}`)).maintenance, true);
        const off = await heroku(["maintenance:off", "--app", APP]);
        assert.equal(off.code, 0, explain(off));
        assert.match(off.stderr, new RegExp(`Disabling maintenance mode for ${APP}\\.\\.\\. done`));
        assert.equal((await api("GET", `/apps/${APP}`)).maintenance, false);
    });

    test("config:get DATABASE_URL", async () => {
        const r = await heroku(["config:get", "DATABASE_URL", "--app", APP]);
        assert.equal(r.code, 0, explain(r));
        databaseUrl = r.stdout.trim();
        assert.equal(databaseUrl, (await api("GET", `/apps/${APP}/config-vars`)).DATABASE_URL);
        assert.match(databaseUrl, new RegExp(`^postgres://u[0-9a-f]{13}:p[0-9a-f]{64}@127\\.0\\.0\\.1:${target.port}/d[0-9a-f]{13}$`));
    });

    test("pg:extensions lists what the essential database allows (its rds.allowed_extensions), through psql", async () => {
        const r = await heroku(["pg:extensions", "--app", APP]);
        assert.equal(r.code, 0, explain(r));
        const names = r.stdout.split("\n").map((l) => l.split("|")[0].trim()).filter((n) => /^[a-z_][a-z0-9_-]*$/.test(n) && n !== "name");
        for (const n of ["citext", "pgcrypto", "hstore", "plpgsql"]) assert.ok(names.includes(n), `${n} listed\n${explain(r)}`);
        for (const n of ["adminpack", "pageinspect", "file_fdw"]) assert.ok(!names.includes(n), `${n} not listed\n${explain(r)}`);
    });

    test("pg:backups:restore <URL> DATABASE --confirm restores the data into the add-on database", async () => {
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

    test("pg:backups:info r001 shows the restore and its logs", async () => {
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

    test("pg:backups:info without an id looks for backups only (there are none) and fails like Heroku", async () => {
        const r = await heroku(["pg:backups:info", "--app", APP]);
        assert.equal(r.code, 1, explain(r));
        assert.match(r.stderr, /No backups\. Capture one with heroku pg:backups:capture/, explain(r));
    });

    test("pg:backups lists the restore", async () => {
        const r = await heroku(["pg:backups", "--app", APP]);
        assert.equal(r.code, 0, explain(r));
        assert.match(r.stdout, /=== Backups\s+No backups\. Capture one with heroku pg:backups:capture/, explain(r));
        assert.match(r.stdout, /=== Restores/);
        assert.match(r.stdout, /^\s*r001\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000\s+Completed \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000\s+[\d.]+KB\s+DATABASE\s*$/m, explain(r));
        assert.match(r.stdout, /=== Copies\s+No copies found\./);
    });

    test("a restore of a dump with an unsupported extension fails with the reason (exit code 2, the CLI's ux.error)", async () => {
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

    test("a wrong HEROKU_API_KEY is reported as the CLI reports Heroku's 401", async () => {
        const r = await heroku(["config:get", "DATABASE_URL", "--app", APP], { HEROKU_API_KEY: "wrong-key" });
        assert.equal(r.code, 1, explain(r));
        assert.match(r.stderr, /The token provided to HEROKU_API_KEY is invalid\./, explain(r));
    });

    test("pg:settings:log-lock-waits sets it on a Standard database (the real ALTER), pg:settings lists it; Essential databases refuse", async () => {
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

    test("addons:destroy drops the add-on database", async () => {
        const dbName = new URL(databaseUrl).pathname.slice(1);
        const r = await heroku(["addons:destroy", addonName, "--app", APP, "--confirm", APP]);
        assert.equal(r.code, 0, explain(r));
        assert.deepEqual(await sql(target.url(), `SELECT datname FROM pg_database WHERE datname = '${dbName}'`), []);
        assert.equal((await api("GET", `/apps/${APP}/config-vars`)).DATABASE_URL, undefined);
        assert.deepEqual(emuLog.filter((l) => l.startsWith("UNKNOWN ROUTE")), []);
    });
});
