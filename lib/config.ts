/**
 * Reads and validates the stack configuration before anything is created. Every error names
 * the config key and says how to set it. Pure: takes a getter, so it is tested without Pulumi.
 */
import { DEFAULT_DUMP_COMPRESSION, DUMP_COMPRESSION_SYNTAX, parseDumpCompression, type DumpCompression } from "./compression";
import { ConfigError, MigrationError } from "./errors";
import { findPlan, herokuPostgresPlans } from "./plans";
import { sourceServerName } from "./retire";

export type FreezeMode = "maintenance" | "readonly-source" | "hook" | "none";
export type SslMode = "disable" | "allow" | "prefer" | "require" | "verify-ca" | "verify-full";

export interface SourceSettings {
    host: string;
    port: number;
    database: string;
    user: string;
    /** @default "require" */
    sslmode: SslMode;
    sslrootcert?: string;
}

export interface StorageSettings {
    resourceGroup: string;
    /** @default "eastus" */
    location: string;
    accountName: string;
    /** @default false */
    useExisting: boolean;
    /** @default "pg-migration" */
    container: string;
    /** @default 120 */
    sasExpiryMinutes: number;
}

export interface DumpSettings {
    /** pg_dump -Fc compression (`dumpCompression`); lz4/zstd need pg_dump 16+. @default "0" */
    compression: DumpCompression;
}

export interface HerokuSettings {
    app: string;
    /** @default true */
    createApp: boolean;
    /** @default "us" */
    region: string;
    team?: string;
    /** @default "essential-1" */
    plan: string;
    /** @default false */
    allowPlanReplace: boolean;
    /** Throw-away stack: destroy deletes the Heroku app and database. @default false */
    rehearsal: boolean;
}

export interface FreezeSettings {
    /** @default "maintenance" */
    mode: FreezeMode;
    /** Heroku app put in maintenance. @default herokuApp */
    app: string;
    /** @default ["worker"] */
    scaleDown: string[];
    command?: string;
    unfreezeCommand?: string;
    /** @default true */
    unfreezeOnFailure: boolean;
}

/** Custom settings carried over (lib/settings.ts, providers/applySettings.ts). */
export interface CarrySettings {
    /** settingsSkip: names left out. @default [] */
    skip: string[];
    /** settingsOverride: name -> value. @default {} */
    override: Record<string, string>;
}

export interface VerifySettings {
    excludeTables: { table: string; reason: string }[];
    acceptanceCommand?: string;
    /** SQL queries run on both sides (read-only); ordered results must match. @default [] */
    queries: string[];
    /** Tables checked at the same time (one connection per side each). @default 4 */
    concurrency: number;
    /** pg_settings names that must be equal on both sides; other setting differences are only reported. @default [] */
    requireSettings: string[];
}

/** One `acknowledge` entry, "code[:subject]=reason": turns that blocking preflight finding into a warning. */
export interface AcknowledgeEntry {
    code: string;
    subject?: string;
    reason: string;
    /** The entry as written. */
    entry: string;
}

export interface MigrationSettings {
    source: SourceSettings;
    storage: StorageSettings;
    dump: DumpSettings;
    heroku: HerokuSettings;
    freeze: FreezeSettings;
    verify: VerifySettings;
    /** settingsSkip / settingsOverride */
    customSettings: CarrySettings;
    dependentApps: string[];
    /** Acknowledged blocking preflight findings. @default [] */
    acknowledge: AcknowledgeEntry[];
    /**
     * Azure resource group of the source server, used only by preflight to look up its backups
     * (unset: the server is found by name in the subscription). Kept off `source` on purpose:
     * `source` is an input of the dump, freeze, restore, verification and cutover resources, and
     * DumpToBlob replaces itself when `source` changes, so setting this key would re-run the dump.
     */
    sourceResourceGroup?: string;
    /** Folder for the preflight and migration reports; unset: reports/<stack> (lib/reportFiles.ts). */
    reportDir?: string;
    /** Undo the cutover with this `pulumi up` (providers/rollback.ts). @default false */
    rollback: boolean;
    /** Retire the source server on `pulumi destroy` (providers/sourceRetirement.ts): both keys must agree. */
    retireSource: { enabled: boolean; confirm?: string };
}

/** Every key the program reads, in Pulumi.yaml's order; a test keeps the two equal. */
export const CONFIG_KEYS = [
    "sourceHost", "sourcePort", "sourceDatabase", "sourceUser", "sourcePassword", "sourceSslMode", "sourceSslRootCert", "sourceResourceGroup",
    "storageResourceGroup", "storageLocation", "storageAccountName", "storageUseExisting", "storageContainer", "sasExpiryMinutes",
    "dumpCompression",
    "herokuApp", "herokuCreateApp", "herokuRegion", "herokuTeam", "herokuPlan", "herokuAllowPlanReplace", "rehearsal",
    "freezeMode", "freezeApp", "freezeScaleDown", "freezeCommand", "unfreezeCommand", "unfreezeOnFailure",
    "verifyExcludeTables", "verifyQueries", "verifyConcurrency", "verifyRequireSettings", "settingsSkip", "settingsOverride", "acceptanceCommand", "dependentApps", "acknowledge",
    "reportDir",
    "rollback",
    "retireSourceServer", "retireSourceServerConfirm",
] as const;

function editDistance(a: string, b: string): number {
    const row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        let diag = row[0];
        row[0] = i;
        for (let j = 1; j <= b.length; j++) {
            const up = row[j];
            row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diag + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
            diag = up;
        }
    }
    return row[b.length];
}

/** The known key closest to a misspelt one, when it is close enough to be the likely meaning. */
export function closestConfigKey(key: string): string | undefined {
    let best: { key: string; d: number } | undefined;
    for (const k of CONFIG_KEYS) {
        const d = editDistance(key, k);
        if (!best || d < best.d) best = { key: k, d };
    }
    return best && best.d <= Math.max(2, Math.floor(key.length / 3)) ? best.key : undefined;
}

/**
 * Refuses configuration keys of this project that the program does not read (a typo such as
 * `herokuPlann` would otherwise be ignored and the default used). `keys` are the bare names.
 */
export function checkKnownKeys(keys: string[], from?: string): void {
    const known = new Set<string>(CONFIG_KEYS);
    for (const key of keys) {
        if (known.has(key)) continue;
        const near = closestConfigKey(key);
        throw new ConfigError(key, `is not a setting of this program${near ? `; did you mean \`${near}\`?` : "."}`,
            `${from ? `Remove it from ${from}` : `Remove it with \`pulumi config rm ${key}\``}${near ? ` and set \`${near}\` instead` : ""}. The settings are listed in Pulumi.yaml and the README.`);
    }
}

/**
 * Config values given as one JSON object (the rehearsal's REHEARSAL_CONFIG), turned into what
 * the program receives from `pulumi config set` (and `--path`): strings as they are, numbers
 * and booleans as their text, lists and objects as JSON. `from` names the variable in errors.
 */
export function configFromJson(text: string, from: string): Record<string, string> {
    let parsed: unknown;
    try {
        parsed = JSON.parse(text);
    } catch (err) {
        throw new MigrationError(from, `is not valid JSON (${err instanceof Error ? err.message : String(err)}).`, `Give one JSON object of settings, e.g. ${from}='{"herokuPlan":"standard-0","verifyConcurrency":8}'.`);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
        throw new MigrationError(from, `must be a JSON object of settings, got ${Array.isArray(parsed) ? "a list" : JSON.stringify(parsed)}.`, `For example ${from}='{"herokuPlan":"standard-0"}'.`);
    }
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(parsed)) {
        if (value === null) throw new ConfigError(key, `is null in ${from}.`, `Give a value, or leave the key out of ${from} to use the default.`);
        out[key] = typeof value === "string" ? value : typeof value === "object" ? JSON.stringify(value) : String(value);
    }
    checkKnownKeys(Object.keys(out), from);
    return out;
}

/** Returns a config value as Pulumi stores it (a string; arrays and objects as JSON). */
export type ConfigGetter = (key: string) => string | undefined;

const SSL_MODES: SslMode[] = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"];
const FREEZE_MODES: FreezeMode[] = ["maintenance", "readonly-source", "hook", "none"];

function setHint(key: string, example: string, secret = false): string {
    return `Set it with \`pulumi config set${secret ? " --secret" : ""} ${key} ${example}\`.`;
}

export function readSettings(get: ConfigGetter): MigrationSettings {
    const str = (key: string, example: string, def?: string): string => {
        const v = get(key);
        if (v === undefined || v.trim() === "") {
            if (def !== undefined) return def;
            throw new ConfigError(key, "is required.", setHint(key, example));
        }
        return v.trim();
    };
    const optional = (key: string): string | undefined => {
        const v = get(key);
        return v === undefined || v.trim() === "" ? undefined : v.trim();
    };
    const int = (key: string, def: number, min: number, max: number): number => {
        const v = get(key);
        if (v === undefined || v.trim() === "") return def;
        const n = Number(v);
        if (!Number.isInteger(n) || n < min || n > max) {
            throw new ConfigError(key, `must be a whole number from ${min} to ${max}, got "${v}".`, setHint(key, String(def)));
        }
        return n;
    };
    const bool = (key: string, def: boolean): boolean => {
        const v = get(key);
        if (v === undefined || v.trim() === "") return def;
        if (v === "true") return true;
        if (v === "false") return false;
        throw new ConfigError(key, `must be true or false, got "${v}".`, setHint(key, String(def)));
    };
    const list = (key: string, def: string[]): string[] => {
        const v = get(key);
        if (v === undefined || v.trim() === "") return def;
        let parsed: unknown;
        try {
            parsed = JSON.parse(v);
        } catch {
            throw new ConfigError(key, `must be a list, got "${v}".`, `Set it with \`pulumi config set --path '${key}[0]' value\`.`);
        }
        if (!Array.isArray(parsed) || parsed.some((x) => typeof x !== "string")) {
            throw new ConfigError(key, "must be a list of strings.", `Set it with \`pulumi config set --path '${key}[0]' value\`.`);
        }
        return parsed as string[];
    };
    const oneOf = <T extends string>(key: string, allowed: T[], def: T): T => {
        const v = optional(key) ?? def;
        if (!allowed.includes(v as T)) {
            throw new ConfigError(key, `must be one of ${allowed.join(", ")}, got "${v}".`, setHint(key, def));
        }
        return v as T;
    };

    const source: SourceSettings = {
        host: str("sourceHost", "myserver.postgres.database.azure.com"),
        port: int("sourcePort", 5432, 1, 65535),
        database: str("sourceDatabase", "appdb"),
        user: str("sourceUser", "azureadmin"),
        sslmode: oneOf("sourceSslMode", SSL_MODES, "require"),
        sslrootcert: optional("sourceSslRootCert"),
    };
    if ((source.sslmode === "verify-ca" || source.sslmode === "verify-full") && !source.sslrootcert) {
        throw new ConfigError("sourceSslRootCert", `is required with sourceSslMode ${source.sslmode}.`, setHint("sourceSslRootCert", "/path/to/DigiCertGlobalRootG2.crt.pem"));
    }

    const accountName = str("storageAccountName", "myappmigration");
    if (!/^[a-z0-9]{3,24}$/.test(accountName)) {
        throw new ConfigError("storageAccountName", `must be 3 to 24 lowercase letters and digits (Azure's rule), got "${accountName}".`, setHint("storageAccountName", "myappmigration"));
    }
    const container = str("storageContainer", "pg-migration", "pg-migration");
    if (!/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/.test(container)) {
        throw new ConfigError("storageContainer", `must be 3 to 63 lowercase letters, digits and single hyphens (Azure's rule), got "${container}".`, setHint("storageContainer", "pg-migration"));
    }
    const storage: StorageSettings = {
        resourceGroup: str("storageResourceGroup", "my-resource-group"),
        location: str("storageLocation", "eastus", "eastus"),
        accountName,
        useExisting: bool("storageUseExisting", false),
        container,
        sasExpiryMinutes: int("sasExpiryMinutes", 120, 5, 10080),
    };

    const compressionText = str("dumpCompression", DEFAULT_DUMP_COMPRESSION, DEFAULT_DUMP_COMPRESSION);
    const compression = parseDumpCompression(compressionText);
    if (!compression) {
        throw new ConfigError("dumpCompression", `must be ${DUMP_COMPRESSION_SYNTAX}, got "${compressionText}".`, setHint("dumpCompression", DEFAULT_DUMP_COMPRESSION));
    }
    const dump: DumpSettings = { compression };

    const app = str("herokuApp", "my-app");
    if (!/^[a-z][a-z0-9-]{1,28}[a-z0-9]$/.test(app)) {
        throw new ConfigError("herokuApp", `must be 3 to 30 lowercase letters, digits and dashes starting with a letter (Heroku's rule), got "${app}".`, setHint("herokuApp", "my-app"));
    }
    const plan = str("herokuPlan", "essential-1", "essential-1").replace(/^heroku-postgresql:/, "");
    if (!findPlan(plan)) {
        const names = herokuPostgresPlans().filter((p) => p.tier !== "private" && p.tier !== "shield").map((p) => p.name);
        throw new ConfigError("herokuPlan", `"${plan}" is not a Heroku Postgres plan.`, `Use one of ${names.join(", ")} (or private-N / shield-N). ${setHint("herokuPlan", "essential-1")}`);
    }
    const heroku: HerokuSettings = {
        app,
        createApp: bool("herokuCreateApp", true),
        region: str("herokuRegion", "us", "us"),
        team: optional("herokuTeam"),
        plan,
        allowPlanReplace: bool("herokuAllowPlanReplace", false),
        rehearsal: bool("rehearsal", false),
    };

    const mode = oneOf("freezeMode", FREEZE_MODES, "maintenance");
    const freeze: FreezeSettings = {
        mode,
        app: optional("freezeApp") ?? app,
        scaleDown: list("freezeScaleDown", ["worker"]),
        command: optional("freezeCommand"),
        unfreezeCommand: optional("unfreezeCommand"),
        unfreezeOnFailure: bool("unfreezeOnFailure", true),
    };
    if (mode === "hook" && (!freeze.command || !freeze.unfreezeCommand)) {
        const key = !freeze.command ? "freezeCommand" : "unfreezeCommand";
        throw new ConfigError(key, "is required with freezeMode hook.", setHint(key, "'./scripts/stop-writes.sh'"));
    }

    const excludeTables = list("verifyExcludeTables", []).map((entry) => {
        const m = /^\s*([^=\s]+\.[^=\s]+)\s*=\s*(\S.*)$/.exec(entry);
        if (!m) {
            throw new ConfigError("verifyExcludeTables", `entry "${entry}" must be "schema.table=reason": every excluded table needs a reason.`, "For example `pulumi config set --path 'verifyExcludeTables[0]' 'public.sessions=rebuilt on login'`.");
        }
        return { table: m[1], reason: m[2].trim() };
    });
    const queries = list("verifyQueries", []).map((q, i) => {
        if (q.trim() === "") throw new ConfigError("verifyQueries", `entry ${i} is empty.`, "Give a SQL query, e.g. `pulumi config set --path 'verifyQueries[0]' 'SELECT count(*) FROM orders'`.");
        return q.trim();
    });
    const verify: VerifySettings = {
        excludeTables,
        acceptanceCommand: optional("acceptanceCommand"),
        queries,
        concurrency: int("verifyConcurrency", 4, 1, 64),
        requireSettings: list("verifyRequireSettings", []).map((x) => x.trim()).filter(Boolean),
    };

    const settingName = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;
    const skip = list("settingsSkip", []).map((n) => n.trim());
    for (const n of skip) {
        if (!settingName.test(n)) throw new ConfigError("settingsSkip", `entry "${n}" is not a setting name.`, "Give pg_settings names, e.g. `pulumi config set --path 'settingsSkip[0]' work_mem`.");
    }
    const override: Record<string, string> = {};
    for (const e of list("settingsOverride", [])) {
        const m = /^\s*([^=\s]+)\s*=\s*(\S.*?)\s*$/.exec(e);
        if (!m || !settingName.test(m[1])) throw new ConfigError("settingsOverride", `entry "${e}" must be "name=value" with a pg_settings name and a value.`, "For example `pulumi config set --path 'settingsOverride[0]' 'statement_timeout=30s'`.");
        const lower = m[1].toLowerCase();
        if (Object.keys(override).some((k) => k.toLowerCase() === lower)) throw new ConfigError("settingsOverride", `names ${m[1]} twice.`, "Keep one entry per setting.");
        if (skip.some((n) => n.toLowerCase() === lower)) throw new ConfigError("settingsOverride", `entry "${e}" names a setting that settingsSkip leaves out.`, `Remove ${m[1]} from one of settingsSkip and settingsOverride.`);
        override[m[1]] = m[2];
    }
    const customSettings: CarrySettings = { skip, override };

    const sourceResourceGroup = optional("sourceResourceGroup");
    if (sourceResourceGroup !== undefined && (!/^[-\w.()\p{L}]{1,90}$/u.test(sourceResourceGroup) || sourceResourceGroup.endsWith("."))) {
        throw new ConfigError("sourceResourceGroup", `must be 1 to 90 letters, digits, underscores, hyphens, periods and parentheses, not ending in a period (Azure's rule), got "${sourceResourceGroup}".`, `${setHint("sourceResourceGroup", "my-resource-group")} Leave it empty to find the server by name in the subscription.`);
    }

    const acknowledge = list("acknowledge", []).map((entry): AcknowledgeEntry => {
        const m = /^\s*([a-z][a-z0-9_]*)(?::([^=]*[^=\s]))?\s*=\s*(\S.*)$/.exec(entry);
        if (!m) {
            throw new ConfigError("acknowledge", `entry "${entry}" must be "code[:subject]=reason" (the code and subject a blocking preflight finding names, and why it is safe to go ahead).`, "For example `pulumi config set --path 'acknowledge[0]' 'extension_unsupported:adminpack=we drop it before the dump'`.");
        }
        return { code: m[1], subject: m[2]?.trim(), reason: m[3].trim(), entry: entry.trim() };
    });

    const retireSource = { enabled: bool("retireSourceServer", false), confirm: optional("retireSourceServerConfirm") };
    if (retireSource.enabled) {
        const expected = sourceServerName(source.host);
        if (retireSource.confirm !== expected) {
            throw new ConfigError("retireSourceServerConfirm", `${retireSource.confirm === undefined ? "is required with retireSourceServer true" : `is "${retireSource.confirm}", not the name of the source server "${expected}"`}: \`pulumi destroy\` deletes the server only when it is named exactly.`,
                `To retire ${expected} on destroy, \`pulumi config set retireSourceServerConfirm ${expected}\`; otherwise \`pulumi config set retireSourceServer false\`. Nothing was changed.`);
        }
    }

    return {
        source,
        storage,
        dump,
        heroku,
        freeze,
        verify,
        customSettings,
        dependentApps: list("dependentApps", []),
        acknowledge,
        sourceResourceGroup,
        reportDir: optional("reportDir"),
        rollback: bool("rollback", false),
        retireSource,
    };
}
