import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { isMigrationError } from "../lib/errors";
import { REQUIRED_CONFIG as base, settingsWith } from "./config-fixture";
import { CONFIG_KEYS, checkKnownKeys, closestConfigKey, configFromJson, readSettings } from "../lib/config";

function messageOf(fn: () => unknown): string {
    try {
        fn();
    } catch (err) {
        assert.ok(isMigrationError(err), "a ConfigError");
        return (err as Error).message;
    }
    assert.fail("expected a ConfigError");
}

test("defaults follow Heroku's guide and Azure's requirements", () => {
    const s = settingsWith({});
    assert.deepEqual(s.source, { host: base.sourceHost, port: 5432, database: "appdb", user: "azureadmin", sslmode: "require", sslrootcert: undefined });
    assert.equal(s.heroku.plan, "essential-1");
    assert.equal(s.heroku.createApp, true);
    assert.equal(s.heroku.rehearsal, false);
    assert.equal(s.storage.container, "pg-migration");
    assert.equal(s.storage.sasExpiryMinutes, 120);
    assert.deepEqual(s.freeze, { mode: "maintenance", app: "my-app", scaleDown: ["worker"], command: undefined, unfreezeCommand: undefined, unfreezeOnFailure: true });
    assert.deepEqual(s.verify, { excludeTables: [], acceptanceCommand: undefined, queries: [], concurrency: 4, requireSettings: [] });
    assert.deepEqual(s.dependentApps, []);
});

test("a missing required key names the key and how to set it", () => {
    assert.equal(
        messageOf(() => settingsWith({ sourceHost: undefined })),
        "config `sourceHost`: is required. Set it with `pulumi config set sourceHost myserver.postgres.database.azure.com`.",
    );
    assert.equal(
        messageOf(() => settingsWith({ herokuApp: "  " })),
        "config `herokuApp`: is required. Set it with `pulumi config set herokuApp my-app`.",
    );
});

test("invalid values are refused with the rule and an example", () => {
    assert.equal(
        messageOf(() => settingsWith({ sourcePort: "70000" })),
        'config `sourcePort`: must be a whole number from 1 to 65535, got "70000". Set it with `pulumi config set sourcePort 5432`.',
    );
    assert.equal(
        messageOf(() => settingsWith({ sourceSslMode: "on" })),
        'config `sourceSslMode`: must be one of disable, allow, prefer, require, verify-ca, verify-full, got "on". Set it with `pulumi config set sourceSslMode require`.',
    );
    assert.equal(
        messageOf(() => settingsWith({ storageAccountName: "My_Account" })),
        'config `storageAccountName`: must be 3 to 24 lowercase letters and digits (Azure\'s rule), got "My_Account". Set it with `pulumi config set storageAccountName myappmigration`.',
    );
    assert.match(messageOf(() => settingsWith({ herokuPlan: "hobby-dev" })), /^config `herokuPlan`: "hobby-dev" is not a Heroku Postgres plan\. Use one of essential-0, essential-1, essential-2, standard-0,/);
    assert.equal(
        messageOf(() => settingsWith({ sasExpiryMinutes: "1" })),
        'config `sasExpiryMinutes`: must be a whole number from 5 to 10080, got "1". Set it with `pulumi config set sasExpiryMinutes 120`.',
    );
    assert.equal(
        messageOf(() => settingsWith({ rehearsal: "yes" })),
        'config `rehearsal`: must be true or false, got "yes". Set it with `pulumi config set rehearsal false`.',
    );
});

test("verify-full needs a CA bundle; hook freeze needs both commands", () => {
    assert.equal(
        messageOf(() => settingsWith({ sourceSslMode: "verify-full" })),
        "config `sourceSslRootCert`: is required with sourceSslMode verify-full. Set it with `pulumi config set sourceSslRootCert /path/to/DigiCertGlobalRootG2.crt.pem`.",
    );
    assert.equal(
        messageOf(() => settingsWith({ freezeMode: "hook", freezeCommand: "./stop.sh" })),
        "config `unfreezeCommand`: is required with freezeMode hook. Set it with `pulumi config set unfreezeCommand './scripts/stop-writes.sh'`.",
    );
});

test("verification queries, concurrency and required settings", () => {
    const s = settingsWith({
        verifyQueries: JSON.stringify(["SELECT count(*) FROM orders", "  SELECT max(id) FROM customers;  "]),
        verifyConcurrency: "8",
        verifyRequireSettings: '["TimeZone","search_path"]',
    });
    assert.deepEqual(s.verify.queries, ["SELECT count(*) FROM orders", "SELECT max(id) FROM customers;"]);
    assert.equal(s.verify.concurrency, 8);
    assert.deepEqual(s.verify.requireSettings, ["TimeZone", "search_path"]);
    assert.equal(
        messageOf(() => settingsWith({ verifyConcurrency: "0" })),
        'config `verifyConcurrency`: must be a whole number from 1 to 64, got "0". Set it with `pulumi config set verifyConcurrency 4`.',
    );
    assert.equal(
        messageOf(() => settingsWith({ verifyQueries: JSON.stringify(["SELECT 1", " "]) })),
        "config `verifyQueries`: entry 1 is empty. Give a SQL query, e.g. `pulumi config set --path 'verifyQueries[0]' 'SELECT count(*) FROM orders'`.",
    );
    assert.equal(
        messageOf(() => settingsWith({ verifyQueries: "SELECT 1" })),
        "config `verifyQueries`: must be a list, got \"SELECT 1\". Set it with `pulumi config set --path 'verifyQueries[0]' value`.",
    );
});

test("excluded tables need a reason", () => {
    const s = settingsWith({ verifyExcludeTables: JSON.stringify(["public.sessions=rebuilt on login"]) });
    assert.deepEqual(s.verify.excludeTables, [{ table: "public.sessions", reason: "rebuilt on login" }]);
    assert.equal(
        messageOf(() => settingsWith({ verifyExcludeTables: JSON.stringify(["public.sessions"]) })),
        'config `verifyExcludeTables`: entry "public.sessions" must be "schema.table=reason": every excluded table needs a reason. For example `pulumi config set --path \'verifyExcludeTables[0]\' \'public.sessions=rebuilt on login\'`.',
    );
});

test("plan accepts the heroku-postgresql: prefix and lists parse from JSON", () => {
    const s = settingsWith({ herokuPlan: "heroku-postgresql:standard-0", dependentApps: '["web-app","admin-app"]', freezeScaleDown: '["worker","clock"]' });
    assert.equal(s.heroku.plan, "standard-0");
    assert.deepEqual(s.dependentApps, ["web-app", "admin-app"]);
    assert.deepEqual(s.freeze.scaleDown, ["worker", "clock"]);
});

test("acknowledge entries are code[:subject]=reason, and every one needs a reason", () => {
    assert.deepEqual(settingsWith({}).acknowledge, []);
    const s = settingsWith({ acknowledge: JSON.stringify(["extension_unsupported:adminpack=we drop it before the dump", " pg_dump_too_old = rehearsal only "]) });
    assert.deepEqual(s.acknowledge, [
        { code: "extension_unsupported", subject: "adminpack", reason: "we drop it before the dump", entry: "extension_unsupported:adminpack=we drop it before the dump" },
        { code: "pg_dump_too_old", subject: undefined, reason: "rehearsal only", entry: "pg_dump_too_old = rehearsal only" },
    ]);
    const example = "For example `pulumi config set --path 'acknowledge[0]' 'extension_unsupported:adminpack=we drop it before the dump'`.";
    for (const bad of ["extension_unsupported:adminpack", "extension_unsupported:adminpack=  ", "=reason", "Extension:x=y"]) {
        assert.equal(
            messageOf(() => settingsWith({ acknowledge: JSON.stringify([bad]) })),
            `config \`acknowledge\`: entry "${bad}" must be "code[:subject]=reason" (the code and subject a blocking preflight finding names, and why it is safe to go ahead). ${example}`,
        );
    }
});

test("sourceResourceGroup is optional, stays off `source`, and follows Azure's naming rule", () => {
    const unset = settingsWith({});
    assert.equal(unset.sourceResourceGroup, undefined);
    assert.equal(settingsWith({ sourceResourceGroup: "  " }).sourceResourceGroup, undefined);
    const s = settingsWith({ sourceResourceGroup: " rg-prod_db.(eu) " });
    assert.equal(s.sourceResourceGroup, "rg-prod_db.(eu)");
    // `source` is an input of DumpToBlob, which replaces itself when it changes.
    assert.equal("resourceGroup" in s.source, false);
    assert.deepEqual(s.source, unset.source);
    for (const bad of ["rg/prod", "rg.", "x".repeat(91)]) {
        assert.equal(
            messageOf(() => settingsWith({ sourceResourceGroup: bad })),
            `config \`sourceResourceGroup\`: must be 1 to 90 letters, digits, underscores, hyphens, periods and parentheses, not ending in a period (Azure's rule), got "${bad}". Set it with \`pulumi config set sourceResourceGroup my-resource-group\`. Leave it empty to find the server by name in the subscription.`,
        );
    }
});

test("the keys the program reads are exactly the keys Pulumi.yaml declares, in its order, and the README lists each", async () => {
    const fs = await import("fs");
    const path = await import("path");
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const yaml = require("js-yaml");
    const root = path.join(__dirname, "..");
    const project = yaml.load(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8"));
    const declared = Object.keys(project.config).map((k) => k.replace(/^azure-to-heroku-pg:/, ""));
    assert.deepEqual([...CONFIG_KEYS], declared);
    const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
    const missing = CONFIG_KEYS.filter((k) => !readme.includes(`\`${k}\``));
    assert.deepEqual(missing, [], "every key has a row in the README's configuration table");
});

test("an unknown key is refused with the closest known one", () => {
    assert.equal(
        messageOf(() => checkKnownKeys(["herokuApp", "herokuPlann"])),
        "config `herokuPlann`: is not a setting of this program; did you mean `herokuPlan`? Remove it with `pulumi config rm herokuPlann` and set `herokuPlan` instead. The settings are listed in Pulumi.yaml and the README.",
    );
    assert.equal(
        messageOf(() => checkKnownKeys(["somethingElse"], "REHEARSAL_CONFIG")),
        "config `somethingElse`: is not a setting of this program. Remove it from REHEARSAL_CONFIG. The settings are listed in Pulumi.yaml and the README.",
    );
    assert.equal(closestConfigKey("verifyquerys"), "verifyQueries");
    assert.equal(closestConfigKey("sourcepasword"), "sourcePassword");
    assert.doesNotThrow(() => checkKnownKeys([...CONFIG_KEYS]));
});

test("REHEARSAL_CONFIG takes values as `pulumi config set` stores them: numbers, booleans and lists too", () => {
    const values = configFromJson('{"herokuPlan":"standard-0","verifyExcludeTables":["public.sessions=rebuilt on login"],"verifyConcurrency":8,"unfreezeOnFailure":false,"sourcePort":6432}', "REHEARSAL_CONFIG");
    assert.deepEqual(values, {
        herokuPlan: "standard-0",
        verifyExcludeTables: '["public.sessions=rebuilt on login"]',
        verifyConcurrency: "8",
        unfreezeOnFailure: "false",
        sourcePort: "6432",
    });
    // The same values read as settings, the way the program reads them from Pulumi.
    const s = settingsWith(values);
    assert.deepEqual(s.verify.excludeTables, [{ table: "public.sessions", reason: "rebuilt on login" }]);
    assert.equal(s.verify.concurrency, 8);
    assert.equal(s.freeze.unfreezeOnFailure, false);
    assert.equal(s.source.port, 6432);
    assert.equal(messageOf(() => configFromJson("{bad", "REHEARSAL_CONFIG")),
        "REHEARSAL_CONFIG: is not valid JSON (Expected property name or '}' in JSON at position 1). Give one JSON object of settings, e.g. REHEARSAL_CONFIG='{\"herokuPlan\":\"standard-0\",\"verifyConcurrency\":8}'.");
    assert.equal(messageOf(() => configFromJson("[1]", "REHEARSAL_CONFIG")),
        "REHEARSAL_CONFIG: must be a JSON object of settings, got a list. For example REHEARSAL_CONFIG='{\"herokuPlan\":\"standard-0\"}'.");
    assert.equal(messageOf(() => configFromJson('{"herokuPlan":null}', "REHEARSAL_CONFIG")),
        "config `herokuPlan`: is null in REHEARSAL_CONFIG. Give a value, or leave the key out of REHEARSAL_CONFIG to use the default.");
    assert.equal(messageOf(() => configFromJson('{"herokuPlann":"standard-0"}', "REHEARSAL_CONFIG")),
        "config `herokuPlann`: is not a setting of this program; did you mean `herokuPlan`? Remove it from REHEARSAL_CONFIG and set `herokuPlan` instead. The settings are listed in Pulumi.yaml and the README.");
});

test("dumpCompression: a zlib level by default, lz4/zstd with a level in their range, anything else refused", () => {
    assert.deepEqual(settingsWith({}).dump.compression, { method: "gzip", level: 0, text: "0" });
    assert.deepEqual(settingsWith({ dumpCompression: "6" }).dump.compression, { method: "gzip", level: 6, text: "6" });
    assert.deepEqual(settingsWith({ dumpCompression: "LZ4" }).dump.compression, { method: "lz4", text: "lz4" });
    assert.deepEqual(settingsWith({ dumpCompression: "zstd:3" }).dump.compression, { method: "zstd", level: 3, text: "zstd:3" });
    assert.equal(
        messageOf(() => settingsWith({ dumpCompression: "fast" })),
        'config `dumpCompression`: must be 0 to 9 (zlib level, 0: uncompressed), lz4, lz4:1 to lz4:12, zstd or zstd:1 to zstd:22 (lz4 and zstd need pg_dump 16+), got "fast". Set it with `pulumi config set dumpCompression 0`.',
    );
    assert.match(messageOf(() => settingsWith({ dumpCompression: "10" })), /^config `dumpCompression`: must be 0 to 9 .*, got "10"\./);
    assert.match(messageOf(() => settingsWith({ dumpCompression: "lz4:13" })), /^config `dumpCompression`: must be .*, got "lz4:13"\./);
});

test("settingsSkip and settingsOverride: names, name=value, errors naming the key", () => {
    const s = settingsWith({ settingsSkip: JSON.stringify(["work_mem"]), settingsOverride: JSON.stringify(["statement_timeout = 30s", "auto_explain.log_analyze=on"]) });
    assert.deepEqual(s.customSettings, { skip: ["work_mem"], override: { statement_timeout: "30s", "auto_explain.log_analyze": "on" } });
    assert.deepEqual(settingsWith({}).customSettings, { skip: [], override: {} });
    assert.equal(messageOf(() => settingsWith({ settingsSkip: JSON.stringify(["work mem"]) })),
        "config `settingsSkip`: entry \"work mem\" is not a setting name. Give pg_settings names, e.g. `pulumi config set --path 'settingsSkip[0]' work_mem`.");
    assert.equal(messageOf(() => settingsWith({ settingsOverride: JSON.stringify(["statement_timeout"]) })),
        "config `settingsOverride`: entry \"statement_timeout\" must be \"name=value\" with a pg_settings name and a value. For example `pulumi config set --path 'settingsOverride[0]' 'statement_timeout=30s'`.");
    assert.equal(messageOf(() => settingsWith({ settingsSkip: JSON.stringify(["work_mem"]), settingsOverride: JSON.stringify(["WORK_MEM=8MB"]) })),
        "config `settingsOverride`: entry \"WORK_MEM=8MB\" names a setting that settingsSkip leaves out. Remove WORK_MEM from one of settingsSkip and settingsOverride.");
});

// ---------------------------------------------------------------------------------------------
// One source of truth: Pulumi.yaml (what the real CLI reads) against readSettings and the README.

interface DeclaredKey {
    key: string;
    type: "string" | "integer" | "boolean" | "array";
    default?: string | number | boolean | string[];
    secret?: boolean;
}

/** Pulumi.yaml's config block (js-yaml comes with @pulumi/pulumi, which reads Pulumi.yaml the same way). */
function declaredKeys(): DeclaredKey[] {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const yaml = require("js-yaml");
    const project = yaml.load(fs.readFileSync(path.join(__dirname, "..", "Pulumi.yaml"), "utf8"));
    return Object.entries(project.config as Record<string, Omit<DeclaredKey, "key">>).map(([k, v]) => ({ key: k.replace(/^azure-to-heroku-pg:/, ""), ...v }));
}

/** The string the program's `config.get(key)` returns for a Pulumi.yaml default (the CLI serializes non-strings as JSON). */
function asConfigValue(value: string | number | boolean | string[]): string {
    return typeof value === "string" ? value : JSON.stringify(value);
}

/** The keys readSettings asks for while reading a complete configuration. */
function keysReadSettingsAsks(values: Record<string, string>): Set<string> {
    const asked = new Set<string>();
    readSettings((k) => {
        asked.add(k);
        return values[k];
    });
    return asked;
}

test("Pulumi.yaml and readSettings agree: every key it asks for is declared, and only the secret password is read elsewhere", () => {
    const declared = declaredKeys();
    assert.deepEqual(declared.map((d) => d.key), [...CONFIG_KEYS]);
    for (const d of declared) assert.ok(["string", "integer", "boolean", "array"].includes(d.type), `${d.key}: type ${d.type}`);
    const asked = keysReadSettingsAsks({ ...base });
    const notAsked = declared.filter((d) => !asked.has(d.key)).map((d) => d.key);
    assert.deepEqual(notAsked, ["sourcePassword"], "readSettings reads every declared key but the secret (index.ts reads it with requireSecret)");
    assert.deepEqual([...asked].filter((k) => !declared.some((d) => d.key === k)), [], "readSettings asks for no undeclared key");
    assert.deepEqual(declared.filter((d) => d.secret).map((d) => d.key), ["sourcePassword"]);
    const indexTs = fs.readFileSync(path.join(__dirname, "..", "index.ts"), "utf8");
    assert.match(indexTs, /config\.requireSecret\("sourcePassword"\)/, "index.ts reads the password as a secret");
});

test("Pulumi.yaml and readSettings agree on defaults: a key without a default is required, and setting a default changes nothing", () => {
    const unset = settingsWith({});
    for (const d of declaredKeys()) {
        if (d.key === "sourcePassword") continue;
        if (d.default === undefined) {
            assert.ok(d.key in base, `${d.key} has no default in Pulumi.yaml, so the smallest configuration (test/config-fixture.ts) sets it`);
            assert.equal(messageOf(() => settingsWith({ [d.key]: undefined })).split(": ")[0], `config \`${d.key}\``, `${d.key} without a value is refused`);
            assert.match(messageOf(() => settingsWith({ [d.key]: undefined })), /: is required\. Set it with `pulumi config set /, d.key);
        } else {
            assert.ok(!(d.key in base), `${d.key} has a default, so it is not required`);
            assert.deepEqual(settingsWith({ [d.key]: asConfigValue(d.default) }), unset, `${d.key}: Pulumi.yaml's default ${JSON.stringify(d.default)} is readSettings' default`);
        }
    }
});

test("Pulumi.yaml and readSettings agree on types: a value of the wrong type is refused as that type", () => {
    const wrong: Record<DeclaredKey["type"], { value: string; message?: RegExp }> = {
        integer: { value: "1.5", message: /: must be a whole number from -?\d+ to \d+, got "1\.5"\./ },
        boolean: { value: "yes", message: /: must be true or false, got "yes"\./ },
        array: { value: "worker", message: /: must be a list, got "worker"\./ },
        string: { value: "1.5" },
    };
    const typeErrors = [wrong.integer.message!, wrong.boolean.message!, wrong.array.message!];
    for (const d of declaredKeys()) {
        if (d.key === "sourcePassword") continue;
        const { value, message } = wrong[d.type];
        if (message) {
            assert.match(messageOf(() => settingsWith({ [d.key]: value })), message, `${d.key} is declared ${d.type}`);
            continue;
        }
        // A string key: whatever its own rule says about "1.5", it is not read as a number, boolean or list.
        let text = "";
        try {
            settingsWith({ [d.key]: value });
        } catch (err) {
            text = (err as Error).message;
        }
        for (const re of typeErrors) assert.doesNotMatch(text, re, `${d.key} is declared string`);
    }
    // Lists are read as the JSON the CLI stores: an array of strings, not of numbers.
    assert.match(messageOf(() => settingsWith({ freezeScaleDown: "[1]" })), /^config `freezeScaleDown`: must be a list of strings\./);
});

test("the README's configuration table has a row for every key, with Pulumi.yaml's default (or `required`)", () => {
    const readme = fs.readFileSync(path.join(__dirname, "..", "README.md"), "utf8");
    const section = readme.split(/^## Configuration$/m)[1]?.split(/^## /m)[0] ?? "";
    assert.ok(section, "README has a Configuration section");
    const cells = new Map<string, string>();
    for (const line of section.split("\n").filter((l) => /^\| `/.test(l))) {
        const [keyCell, defaultCell] = line.split(/(?<!\\)\|/).slice(1, 3).map((c) => c.trim());
        const keys = [...keyCell.matchAll(/`([A-Za-z]+)`/g)].map((m) => m[1]);
        const defaults = defaultCell.split(" / ");
        keys.forEach((k, i) => cells.set(k, (keys.length === defaults.length ? defaults[i] : defaultCell).trim()));
    }
    for (const d of declaredKeys()) {
        const cell = cells.get(d.key);
        assert.ok(cell !== undefined, `the README's configuration table has a row for \`${d.key}\``);
        if (d.default === undefined) {
            assert.match(cell, /^required\b/, `${d.key} is required (no default in Pulumi.yaml)`);
        } else if (d.default === "") {
            assert.doesNotMatch(cell, /^required/, `${d.key} has a default`);
        } else {
            const shown = Array.isArray(d.default) ? `\`[${d.default.join(", ")}]\`` : `\`${d.default}\``;
            assert.equal(cell, shown, `${d.key}: the README shows Pulumi.yaml's default`);
        }
    }
});
