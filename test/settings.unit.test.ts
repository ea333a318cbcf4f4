import { test } from "node:test";
import assert from "node:assert/strict";
import { applySettingsProvider, requiredNames } from "../providers/applySettings";
import { LOGIN, appliedNames, describePlanned, durationMs, herokuValue, planSettings, settingsFindings, valueWithUnit, type SourceSetting } from "../lib/settings";

const found: SourceSetting[] = [
    { name: "TimeZone", value: "Europe/Berlin", origin: "server", context: "user", defaultValue: "GMT" },
    { name: "statement_timeout", value: "60000ms", origin: "server", context: "user", defaultValue: "0" },
    { name: "statement_timeout", value: "30s", origin: "database", context: "user" },
    { name: "work_mem", value: "8MB", origin: "role", role: LOGIN, context: "user" },
    { name: "search_path", value: "app, public", origin: "role", role: "reporting", context: "user" },
    { name: "log_lock_waits", value: "on", origin: "server", context: "superuser", defaultValue: "off" },
    { name: "log_min_duration_statement", value: "2s", origin: "database", context: "superuser" },
    { name: "shared_buffers", value: "262144kB", origin: "server", context: "postmaster", defaultValue: "8MB" },
    { name: "max_connections", value: "500", origin: "server", context: "postmaster", defaultValue: "100" },
    { name: "default_transaction_read_only", value: "on", origin: "database", context: "user" },
    { name: "lc_messages", value: "de_DE.UTF-8", origin: "server", context: "superuser", defaultValue: "" },
];

test("the source's settings fall into the three groups, a database setting winning over the server's", () => {
    const p = planSettings(found, { plan: "standard-0" });
    assert.deepEqual(p.database.map(describePlanned), [
        "statement_timeout=30s (ALTER DATABASE SET; from the source's database setting)",
        "TimeZone=Europe/Berlin (ALTER DATABASE SET; from the source's server parameters)",
        "work_mem=8MB (ALTER ROLE <Heroku credential> SET; from the source's role setting)",
    ]);
    assert.deepEqual(p.heroku.map((s) => [s.name, s.heroku]), [
        ["log_lock_waits", { key: "log_lock_waits", value: true, command: "heroku pg:settings:log-lock-waits" }],
        ["log_min_duration_statement", { key: "log_min_duration_statement", value: 2000, command: "heroku pg:settings:log-min-duration-statement" }],
    ]);
    assert.deepEqual(p.unavailable.map(describePlanned), [
        "lc_messages=de_DE.UTF-8 (superuser-level (only a superuser may set it); Heroku's credential is not a superuser; instead: Heroku offers no way to set it; if the app needs it, set it per session in the app's connection (SET ...) where its context allows)",
        "max_connections=500 (postmaster-level (server-wide); Heroku's credential is not a superuser; instead: Heroku sets the connection limit by plan: a larger plan, or connection pooling (heroku pg:connection-pooling:attach, or the pgbouncer buildpack))",
        "search_path=app, public (set for role reporting, which does not exist on Heroku; instead: create it as a Heroku credential (heroku pg:credentials:create, Standard plans and up) and ALTER ROLE ... SET again)",
        "shared_buffers=262144kB (postmaster-level (server-wide); Heroku's credential is not a superuser; instead: Heroku sizes it with the plan's memory and cores: a larger plan)",
    ]);
    assert.deepEqual(p.skipped, [{ name: "default_transaction_read_only", value: "on", reason: "the readonly-source freeze sets it on the source; copying it would make the new database read-only" }]);
    assert.deepEqual(appliedNames(p), ["log_lock_waits", "log_min_duration_statement", "statement_timeout", "timezone", "work_mem"]);
});

test("Essential plans refuse pg:settings: Heroku's settings are listed as not applicable, with the way out", () => {
    const p = planSettings(found, { plan: "essential-1" });
    assert.deepEqual(p.heroku, []);
    assert.equal(describePlanned(p.unavailable.find((s) => s.name === "log_lock_waits")!),
        "log_lock_waits=on (Heroku sets it only through heroku pg:settings:log-lock-waits, which Essential plans refuse; instead: a Standard plan or higher, then heroku pg:settings:log-lock-waits true)");
});

test("settingsSkip leaves a setting out, settingsOverride changes or adds one", () => {
    const p = planSettings(found, { plan: "standard-0", skip: ["WORK_MEM"], override: { statement_timeout: "5s", lock_timeout: "3s", track_functions: "pl" }, contexts: { lock_timeout: "user", track_functions: "superuser" } });
    assert.deepEqual(p.database.map((s) => `${s.name}=${s.value}/${s.origin}`), ["lock_timeout=3s/override", "statement_timeout=5s/override", "TimeZone=Europe/Berlin/server"]);
    assert.deepEqual(p.heroku.map((s) => `${s.name}=${JSON.stringify(s.heroku!.value)}`), ["log_lock_waits=true", "log_min_duration_statement=2000", "track_functions=\"pl\""]);
    assert.deepEqual(p.skipped.map((s) => `${s.name}:${s.reason}`).slice(0, 1), ["default_transaction_read_only:the readonly-source freeze sets it on the source; copying it would make the new database read-only"]);
    assert.ok(p.skipped.some((s) => s.name === "work_mem" && s.reason === "settingsSkip"));
    assert.deepEqual(appliedNames(p), ["log_lock_waits", "log_min_duration_statement", "timezone"], "overrides differ from the source on purpose: not required equal");
});

test("values: units, durations and Heroku's JSON types", () => {
    assert.equal(valueWithUnit("16384", "8kB"), "131072kB");
    assert.equal(valueWithUnit("30000", "ms"), "30000ms");
    assert.equal(valueWithUnit("-1", "ms"), "-1");
    assert.equal(valueWithUnit("on", ""), "on");
    assert.equal(durationMs("1min"), 60000);
    assert.equal(durationMs("-1"), -1);
    assert.equal(herokuValue("log_statement", "DDL"), "ddl");
    assert.equal(herokuValue("log_statement", "everything"), undefined);
    assert.equal(herokuValue("auto_explain.log_analyze", "off"), false);
});

test("preflight's findings: three groups with what to do; infrastructure listed by name, English messages not a warning", () => {
    const f = settingsFindings(planSettings([
        ...found,
        { name: "port", value: "6432", origin: "server", context: "postmaster" },
        { name: "lc_messages", value: "en_US.utf8", origin: "server", context: "superuser" },
    ].filter((s) => s.name !== "lc_messages" || s.value === "en_US.utf8") as SourceSetting[], { plan: "standard-0" }));
    assert.deepEqual(f.map((x) => `${x.level} ${x.code}`), ["info settings_applied", "info settings_heroku", "warning settings_unavailable", "info settings_skipped"]);
    assert.equal(f[1].message, "Applied through Heroku's API, as heroku pg:settings does (PATCH /postgres/v0/databases/{id}/config), then required equal by verification: log_lock_waits=on (heroku pg:settings:log-lock-waits true), log_min_duration_statement=2s (heroku pg:settings:log-min-duration-statement 2000).");
    assert.match(f[2].message, /; 3 server infrastructure setting\(s\) Heroku runs itself \(paths, ports, TLS, WAL, logging, memory sizing; nothing to carry over\): lc_messages=en_US\.utf8, port=6432, shared_buffers=262144kB\.$/);
    assert.equal(f[2].action, "Check that the app does not depend on them; use what Heroku offers instead (named with each). To silence one, add it to settingsSkip.");
    const infraOnly = settingsFindings(planSettings([{ name: "port", value: "6432", origin: "server", context: "postmaster" }]));
    assert.deepEqual(infraOnly.map((x) => [x.level, x.code, x.action]), [["info", "settings_unavailable", "Nothing to do."]]);
});

test("ApplySettings: a new restore or a changed plan applies again (replace); required names leave settingsOverride's out", async () => {
    const db = [{ name: "TimeZone", value: "UTC", origin: "server" as const, group: "database" as const, scope: "database" as const }];
    const olds: any = { restoreId: "t1", addonId: "a", database: db, heroku: [], applied: [], appliedNames: [] };
    const diff = (news: any) => applySettingsProvider.diff!("id", olds, { ...olds, ...news });
    assert.deepEqual(await diff({}), { changes: false, replaces: [], deleteBeforeReplace: true });
    assert.deepEqual(await diff({ restoreId: "t2" }), { changes: true, replaces: ["restoreId"], deleteBeforeReplace: true });
    assert.deepEqual(await diff({ database: [] }), { changes: true, replaces: ["database"], deleteBeforeReplace: true });
    const applied = [{ name: "TimeZone", value: "UTC", via: "ALTER DATABASE", result: "UTC" }, { name: "statement_timeout", value: "5s", via: "ALTER DATABASE", result: "5s" }];
    assert.deepEqual(requiredNames({ database: [...db, { name: "statement_timeout", value: "5s", origin: "override", group: "database", scope: "database" }], heroku: [] }, applied), ["timezone"]);
});
