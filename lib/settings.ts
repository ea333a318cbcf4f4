/**
 * Custom settings carried over (Heroku's guide: "find any configurations from your Azure setup
 * and reapply them to your Heroku Postgres instance"). One definition, used by preflight (the
 * plan), ApplySettings (the work) and verification (requireSettings defaults to what was applied).
 *
 * The source's non-default settings fall into three groups:
 * - `database`: set by the program on the new database with `ALTER DATABASE <db> SET` (or
 *   `ALTER ROLE CURRENT_USER SET` for the migrated login's own settings): database/role settings
 *   from pg_db_role_setting, and user-settable (context `user`) server settings whose value
 *   differs from PostgreSQL's default (boot_val);
 * - `heroku`: the settings Heroku manages through its Data API (`heroku pg:settings`:
 *   PATCH /postgres/v0/databases/{addon}/config), on plans that offer it (not Essential);
 * - `unavailable`: everything else (superuser-only, server-wide), with what Heroku offers instead.
 * Pure: no I/O.
 */
import { classifySetting } from "./verify";

export type SettingGroup = "database" | "heroku" | "unavailable";

/** A setting found on the source (preflight's inspection). */
export interface SourceSetting {
    name: string;
    /** The value as postgresql.conf / SET would take it (units included, e.g. `30s`, `4MB`). */
    value: string;
    /** `database`: ALTER DATABASE SET; `role`: ALTER ROLE <login> [IN DATABASE] SET; `server`: postgresql.conf / Azure server parameter. */
    origin: "database" | "role" | "server";
    /** pg_settings.context (user, superuser, sighup, postmaster, ...). */
    context: string;
    /** For origin role: the role; a role other than the migrated login does not exist on Heroku. */
    role?: string;
    /** For origin server: PostgreSQL's default (boot_val, with units). */
    defaultValue?: string;
}

export interface PlannedSetting {
    name: string;
    value: string;
    origin: SourceSetting["origin"] | "override";
    group: SettingGroup;
    /** database group: how it is applied. */
    scope?: "database" | "role";
    /** heroku group: the Data API key and JSON value (`heroku pg:settings:<name>`). */
    heroku?: { key: string; value: boolean | number | string; command: string };
    /** unavailable group: why, and what Heroku offers instead. */
    why?: string;
    instead?: string;
}

export interface SettingsPlan {
    database: PlannedSetting[];
    heroku: PlannedSetting[];
    unavailable: PlannedSetting[];
    /** Names left out by `settingsSkip`, and settings the program itself owns. */
    skipped: { name: string; value: string; reason: string }[];
}

export interface SettingsOptions {
    /** settingsSkip (names, case-insensitive). */
    skip?: string[];
    /** settingsOverride: name -> value. */
    override?: Record<string, string>;
    /** The Heroku plan: Essential plans refuse `pg:settings`. */
    plan?: string;
    /** pg_settings.context by lower-case name, for overrides of settings the source left at their default. */
    contexts?: Record<string, string>;
}

/** Heroku's `pg:settings` (heroku/dist/commands/pg/settings/*): Data API key -> value type. */
export const HEROKU_MANAGED_SETTINGS: Record<string, "boolean" | "integer" | { enum: string[] }> = {
    "log_connections": "boolean",
    "log_lock_waits": "boolean",
    "log_min_duration_statement": "integer",
    "log_min_error_statement": { enum: ["error", "log", "fatal", "panic"] },
    "log_statement": { enum: ["none", "ddl", "mod", "all"] },
    "track_functions": { enum: ["none", "pl", "all"] },
    "auto_explain": "boolean",
    "auto_explain.log_analyze": "boolean",
    "auto_explain.log_buffers": "boolean",
    "auto_explain.log_min_duration": "integer",
    "auto_explain.log_nested_statements": "boolean",
    "auto_explain.log_triggers": "boolean",
    "auto_explain.log_verbose": "boolean",
};

/** Settings the program never copies, with why. */
const OWNED: Record<string, string> = {
    default_transaction_read_only: "the readonly-source freeze sets it on the source; copying it would make the new database read-only",
    transaction_read_only: "a session state, not a setting to copy",
    session_authorization: "a session state, not a setting to copy",
    role: "a session state, not a setting to copy",
};

/** What Heroku offers instead of a server-wide setting, by name. */
function insteadOf(name: string): string {
    const n = name.toLowerCase();
    if (n === "max_connections" || n === "superuser_reserved_connections") return "Heroku sets the connection limit by plan: a larger plan, or connection pooling (heroku pg:connection-pooling:attach, or the pgbouncer buildpack)";
    if (["shared_buffers", "effective_cache_size", "huge_pages", "max_worker_processes", "max_parallel_workers", "autovacuum_max_workers", "wal_buffers"].includes(n)) return "Heroku sizes it with the plan's memory and cores: a larger plan";
    if (n === "shared_preload_libraries" || n === "session_preload_libraries" || n === "local_preload_libraries") return "Heroku preloads its own libraries (pg_stat_statements; auto_explain with heroku pg:settings:auto-explain on Standard plans and up)";
    if (n.startsWith("log_") || n.startsWith("logging_") || n === "debug_print_plan") return "heroku logs -p postgres shows Heroku's logs; heroku pg:settings sets the ones Heroku offers (Standard plans and up)";
    if (n.startsWith("autovacuum") || n.startsWith("vacuum_")) return "Heroku manages autovacuum server-wide; per-table storage parameters (ALTER TABLE ... SET (autovacuum_...)) travel with the dump";
    if (classifySetting(n) === "ignored") return "server infrastructure Heroku runs itself (paths, ports, TLS, WAL, replication, memory sizing); nothing to carry over";
    return "Heroku offers no way to set it; if the app needs it, set it per session in the app's connection (SET ...) where its context allows";
}

/** Converts a PostgreSQL value to the JSON value Heroku's `pg:settings` sends, or undefined when it does not fit. */
export function herokuValue(key: string, value: string): boolean | number | string | undefined {
    const type = HEROKU_MANAGED_SETTINGS[key];
    const v = value.trim().toLowerCase();
    if (type === "boolean") {
        if (["on", "true", "yes", "1", "t", "y"].includes(v)) return true;
        if (["off", "false", "no", "0", "f", "n"].includes(v)) return false;
        return undefined;
    }
    if (type === "integer") {
        const ms = durationMs(v);
        return ms === undefined ? undefined : ms;
    }
    if (type && typeof type === "object") return type.enum.includes(v) ? v : undefined;
    return undefined;
}

/** `250ms`, `2s`, `1min`, `-1`, `500` (ms) -> milliseconds. */
export function durationMs(v: string): number | undefined {
    const m = /^\s*(-?\d+)\s*(us|ms|s|min|h|d)?\s*$/i.exec(v);
    if (!m) return undefined;
    const n = Number(m[1]);
    if (n < 0) return -1;
    const mult: Record<string, number> = { us: 0.001, ms: 1, s: 1000, min: 60000, h: 3600000, d: 86400000 };
    return Math.round(n * mult[(m[2] ?? "ms").toLowerCase()]);
}

/** pg_settings' `setting` and `unit` as a value SET accepts: `16384` + `8kB` -> `131072kB`, `30000` + `ms` -> `30000ms`. */
export function valueWithUnit(setting: string, unit: string | null | undefined): string {
    if (!unit) return setting;
    const m = /^(\d+)(\D+)$/.exec(unit);
    if (m && /^-?\d+$/.test(setting)) return Number(setting) < 0 ? setting : `${Number(setting) * Number(m[1])}${m[2]}`;
    return /^-?\d+(\.\d+)?$/.test(setting) && Number(setting) >= 0 ? `${setting}${unit}` : setting;
}

/** Classifies the source's settings into the three groups (see the module comment). */
export function planSettings(found: SourceSetting[], opts: SettingsOptions = {}): SettingsPlan {
    const plan: SettingsPlan = { database: [], heroku: [], unavailable: [], skipped: [] };
    const skip = new Set((opts.skip ?? []).map((n) => n.toLowerCase()));
    const override = new Map(Object.entries(opts.override ?? {}).map(([k, v]) => [k.toLowerCase(), { name: k, value: v }]));
    const essential = /^(heroku-postgresql:)?essential-/.test(opts.plan ?? "");

    // A database/role setting wins over the server's value of the same name (as in PostgreSQL).
    const rank = { role: 0, database: 1, server: 2 } as const;
    const byName = new Map<string, SourceSetting>();
    for (const s of [...found].sort((a, b) => rank[a.origin] - rank[b.origin])) {
        const key = s.name.toLowerCase();
        if (!byName.has(key)) byName.set(key, s);
        else if (s.origin !== "server" && byName.get(key)!.origin !== "server") byName.set(`${key}\u0000${s.origin}`, s);
    }
    for (const [key, o] of override) {
        if (!byName.has(key)) byName.set(key, { name: o.name, value: o.value, origin: "server", context: opts.contexts?.[key] ?? "user" });
    }

    for (const [mapKey, s] of [...byName.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        const key = mapKey.split("\u0000")[0];
        const o = override.get(key);
        const value = o ? o.value : s.value;
        const origin: PlannedSetting["origin"] = o ? "override" : s.origin;
        if (skip.has(key)) {
            plan.skipped.push({ name: s.name, value, reason: "settingsSkip" });
            continue;
        }
        if (OWNED[key]) {
            plan.skipped.push({ name: s.name, value, reason: OWNED[key] });
            continue;
        }
        if (HEROKU_MANAGED_SETTINGS[key]) {
            const hv = herokuValue(key, value);
            const command = `heroku pg:settings:${key.replace(/_/g, "-").replace(".", ":")}`;
            if (essential) {
                plan.unavailable.push({ name: s.name, value, origin, group: "unavailable", why: `Heroku sets it only through ${command}, which Essential plans refuse`, instead: `a Standard plan or higher, then ${command} ${String(hv ?? value)}` });
            } else if (hv === undefined) {
                plan.unavailable.push({ name: s.name, value, origin, group: "unavailable", why: `${command} does not take the value ${value}`, instead: `${command} with one of its values` });
            } else {
                plan.heroku.push({ name: s.name, value, origin, group: "heroku", heroku: { key, value: hv, command } });
            }
            continue;
        }
        if (s.context !== "user") {
            plan.unavailable.push({ name: s.name, value, origin, group: "unavailable", why: `${s.context}-level (${s.context === "superuser" ? "only a superuser may set it" : "server-wide"}); Heroku's credential is not a superuser`, instead: insteadOf(key) });
            continue;
        }
        if (s.origin === "role" && s.role !== undefined && s.role !== "" && s.role !== LOGIN) {
            plan.unavailable.push({ name: s.name, value, origin, group: "unavailable", why: `set for role ${s.role}, which does not exist on Heroku`, instead: "create it as a Heroku credential (heroku pg:credentials:create, Standard plans and up) and ALTER ROLE ... SET again" });
            continue;
        }
        plan.database.push({ name: s.name, value, origin, group: "database", scope: s.origin === "role" && s.role === LOGIN ? "role" : "database" });
    }
    return plan;
}

/** Marks the migrated login in SourceSetting.role (the caller maps the source login to it). */
export const LOGIN = "\u0000login";

/** The settings the program applies from the source (groups database and heroku, not settingsOverride's), lower-case, for requireSettings. */
export function appliedNames(plan: Pick<SettingsPlan, "database" | "heroku">): string[] {
    return [...new Set([...plan.database, ...plan.heroku].filter((s) => s.origin !== "override").map((s) => s.name.toLowerCase()))].sort();
}

/** One line per planned setting, for preflight and the report. */
export function describePlanned(s: PlannedSetting): string {
    if (s.group === "database") return `${s.name}=${s.value} (${s.scope === "role" ? "ALTER ROLE <Heroku credential> SET" : "ALTER DATABASE SET"}${s.origin === "override" ? "; settingsOverride" : `; from the source's ${s.origin === "server" ? "server parameters" : `${s.origin} setting`}`})`;
    if (s.group === "heroku") return `${s.name}=${s.value} (${s.heroku!.command} ${String(s.heroku!.value)})`;
    return `${s.name}=${s.value} (${s.why}; instead: ${s.instead})`;
}

/** Server infrastructure Heroku runs itself: listed by name only, in one sentence. */
function isInfrastructure(s: PlannedSetting): boolean {
    // Server messages in C or English, as on Heroku, change nothing an app can rely on.
    if (s.origin === "server" && s.name.toLowerCase() === "lc_messages" && /^(c|posix|en_[a-z]{2})([._@-]|$)/i.test(s.value)) return true;
    return s.origin === "server" && classifySetting(s.name) === "ignored" && !HEROKU_MANAGED_SETTINGS[s.name.toLowerCase()];
}

function overrideNote(group: PlannedSetting[]): string {
    return group.some((s) => s.origin === "override") ? " (settingsOverride values differ from the source on purpose: reported, not required)" : "";
}

/** Preflight's findings for the plan: the three groups, with what to do. */
export function settingsFindings(plan: SettingsPlan, opts: { essential?: boolean } = {}): { level: "info" | "warning"; code: string; message: string; action: string }[] {
    const out: { level: "info" | "warning"; code: string; message: string; action: string }[] = [];
    const tune = "Leave one out with settingsSkip (`pulumi config set --path 'settingsSkip[0]' <name>`), or give another value with settingsOverride ('<name>=<value>').";
    if (plan.database.length > 0) {
        out.push({ level: "info", code: "settings_applied", message: `Applied by the program on the new database after the restore (ApplySettings), then required equal by verification${overrideNote(plan.database)}: ${plan.database.map(describePlanned).join(", ")}.`, action: tune });
    }
    if (plan.heroku.length > 0) {
        out.push({ level: "info", code: "settings_heroku", message: `Applied through Heroku's API, as heroku pg:settings does (PATCH /postgres/v0/databases/{id}/config), then required equal by verification${overrideNote(plan.heroku)}: ${plan.heroku.map(describePlanned).join(", ")}.`, action: tune });
    }
    const real = plan.unavailable.filter((s) => !isInfrastructure(s));
    const infra = plan.unavailable.filter(isInfrastructure);
    if (plan.unavailable.length > 0) {
        const parts: string[] = [];
        if (real.length > 0) parts.push(real.map(describePlanned).join(", "));
        if (infra.length > 0) parts.push(`${infra.length} server infrastructure setting(s) Heroku runs itself (paths, ports, TLS, WAL, logging, memory sizing; nothing to carry over): ${infra.map((s) => `${s.name}=${s.value}`).join(", ")}`);
        out.push({
            level: real.length > 0 ? "warning" : "info",
            code: "settings_unavailable",
            message: `Cannot be set on Heroku, so not carried over: ${parts.join("; ")}.`,
            action: real.length > 0
                ? `Check that the app does not depend on ${real.length > 1 ? "them" : "it"}; use what Heroku offers instead (named with each)${opts.essential && real.some((s) => HEROKU_MANAGED_SETTINGS[s.name.toLowerCase()]) ? "; pg:settings needs a Standard plan or higher (herokuPlan)" : ""}. To silence one, add it to settingsSkip.`
                : "Nothing to do.",
        });
    }
    if (plan.skipped.length > 0) {
        out.push({ level: "info", code: "settings_skipped", message: `Not carried over: ${plan.skipped.map((s) => `${s.name}=${s.value} (${s.reason})`).join(", ")}.`, action: "Nothing to do; remove a name from settingsSkip to carry it over." });
    }
    return out;
}
