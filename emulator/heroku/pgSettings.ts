/**
 * `heroku pg:settings` on the Data API: GET and PATCH /postgres/v0/databases/{addon}/config, as
 * the Heroku CLI calls them (heroku/dist/lib/pg/setter.js: PATCH with `{<key>: <value>}`, the
 * answer is every setting as `{<key>: {value, desc, default, values?}}`; pg:settings lists
 * them). Essential-tier databases refuse it, as the CLI does before calling. A change is made on
 * the add-on's real database with `ALTER DATABASE ... SET` as the superuser (Heroku applies them
 * server-wide; per database is what one emulated add-on can own), except `auto_explain`, which on
 * Heroku loads the library and here is only recorded.
 */
import type { EmulatorCore } from "./core";
import type { Route } from "./router";
import type { AddonRecord } from "./state";
import { withAdmin } from "./db";
import { ApiError, invalidParams, notFound, qi, ql } from "./util";

type Value = boolean | number | string;
interface SettingSpec { default: Value; desc: string; type: "boolean" | "integer" | string[]; values?: Record<string, string> }

const LEVELS = (names: string[]) => Object.fromEntries(names.map((n) => [n, n]));

/** The settings `heroku pg:settings` offers, with Heroku's defaults. */
export const PG_SETTINGS: Record<string, SettingSpec> = {
    "auto_explain": { default: false, desc: "Enables auto_explain.", type: "boolean" },
    "auto_explain.log_analyze": { default: false, desc: "Use EXPLAIN ANALYZE for plan logging.", type: "boolean" },
    "auto_explain.log_buffers": { default: false, desc: "Log buffers usage.", type: "boolean" },
    "auto_explain.log_format": { default: "text", desc: "EXPLAIN format to be used for plan logging.", type: ["text", "xml", "json", "yaml"], values: LEVELS(["text", "xml", "json", "yaml"]) },
    "auto_explain.log_min_duration": { default: -1, desc: "Sets the minimum execution time above which plans will be logged.", type: "integer" },
    "auto_explain.log_nested_statements": { default: false, desc: "Log nested statements.", type: "boolean" },
    "auto_explain.log_triggers": { default: false, desc: "Include trigger statistics in plans.", type: "boolean" },
    "auto_explain.log_verbose": { default: false, desc: "Use EXPLAIN VERBOSE for plan logging.", type: "boolean" },
    "log_connections": { default: true, desc: "Logs each successful connection.", type: "boolean" },
    "log_lock_waits": { default: false, desc: "Logs long lock waits.", type: "boolean" },
    "log_min_duration_statement": { default: 2000, desc: "Sets the minimum execution time above which statements will be logged.", type: "integer" },
    "log_min_error_statement": { default: "error", desc: "Causes all statements generating error at or above this level to be logged.", type: ["error", "log", "fatal", "panic"], values: LEVELS(["error", "log", "fatal", "panic"]) },
    "log_statement": {
        default: "ddl", desc: "Sets the type of statements logged.", type: ["none", "ddl", "mod", "all"],
        values: { none: "No statements are logged.", ddl: "All data definition statements, such as CREATE, ALTER and DROP will be logged.", mod: "Includes all statements from ddl as well as data-modifying statements such as INSERT, UPDATE, DELETE, TRUNCATE, COPY.", all: "All statements are logged." },
    },
    "track_functions": { default: "none", desc: "Collects function-level statistics.", type: ["none", "pl", "all"], values: { none: "No functions are tracked.", pl: "Only procedural language functions are tracked.", all: "All functions, including SQL and C language functions, are tracked." } },
};

function findDatabase(core: EmulatorCore, id: string): AddonRecord {
    const addon = core.state.addons.find((a) => a.id === id || a.name === id);
    if (!addon) throw notFound("Couldn't find that database.", "database");
    if (/^(heroku-postgresql:)?essential-/.test(addon.plan_name)) throw new ApiError(422, "unprocessable_entity", "You can't perform this operation on Essential-tier databases.");
    return addon;
}

function settingsJson(addon: AddonRecord): Record<string, { value: Value; desc: string; default: Value; values?: Record<string, string> }> {
    const current = (addon.config.pg_settings ?? {}) as Record<string, Value>;
    const out: Record<string, { value: Value; desc: string; default: Value; values?: Record<string, string> }> = {};
    for (const [k, spec] of Object.entries(PG_SETTINGS)) out[k] = { value: k in current ? current[k] : spec.default, desc: spec.desc, default: spec.default, ...(spec.values ? { values: spec.values } : {}) };
    return out;
}

function checkValue(key: string, value: unknown): Value {
    const spec = PG_SETTINGS[key];
    if (!spec) throw invalidParams(`${key} is not a setting you can change. Settings: ${Object.keys(PG_SETTINGS).join(", ")}.`);
    if (spec.type === "boolean" && typeof value === "boolean") return value;
    if (spec.type === "integer" && typeof value === "number" && Number.isInteger(value) && value >= -1) return value;
    if (Array.isArray(spec.type) && typeof value === "string" && spec.type.includes(value)) return value;
    throw invalidParams(`${key} must be ${spec.type === "boolean" ? "true or false" : spec.type === "integer" ? "a whole number of milliseconds (-1 turns it off)" : `one of ${(spec.type as string[]).join(", ")}`}, got ${JSON.stringify(value)}.`);
}

function sqlValue(v: Value): string {
    if (typeof v === "boolean") return v ? "on" : "off";
    return ql(String(v));
}

export function pgSettingsRoutes(core: EmulatorCore): Route[] {
    return [
        {
            method: "GET",
            path: "/postgres/v0/databases/:addon/config",
            handler: ({ params }) => ({ status: 200, body: settingsJson(findDatabase(core, params.addon)) }),
        },
        {
            method: "PATCH",
            path: "/postgres/v0/databases/:addon/config",
            handler: async ({ params, body }) => {
                const addon = findDatabase(core, params.addon);
                if (addon.state !== "provisioned" || !addon.db) throw new ApiError(422, "unprocessable_entity", "The database is not available yet. Wait for it with `heroku pg:wait` and try again.");
                const changes = Object.entries(body).map(([k, v]) => [k, checkValue(k, v)] as const);
                if (changes.length === 0) throw invalidParams("Give at least one setting to change.");
                const db = addon.db;
                await withAdmin(core.opts.admin, db.database, async (c) => {
                    for (const [k, v] of changes) {
                        if (k === "auto_explain") continue; // loads the library on Heroku; recorded only
                        await c.query(`ALTER DATABASE ${qi(db.database)} SET ${k.split(".").map(qi).join(".")} = ${sqlValue(v)}`);
                    }
                });
                addon.config.pg_settings = { ...((addon.config.pg_settings ?? {}) as Record<string, Value>), ...Object.fromEntries(changes) };
                core.save();
                core.log(`pg:settings on ${addon.name}: ${changes.map(([k, v]) => `${k}=${String(v)}`).join(", ")}`);
                return { status: 200, body: settingsJson(addon) };
            },
        },
    ];
}
