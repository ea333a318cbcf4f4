/**
 * The rest of the Data API the Heroku CLI's pg commands call (read from heroku/dist/commands/pg
 * and @heroku/heroku-cli-util/dist/utils/pg):
 *
 * - `GET /client/v11/databases/{addon id}`: what `pg:info` prints (`info: [{name, values}]`) and
 *   `resource_url` (the CLI finds the config vars by it); 404 while the add-on is provisioning,
 *   which the CLI reports as "not yet provisioned". Sizes, table counts, the server version and
 *   connections are read from the real database.
 * - `GET /postgres/v0/databases/{addon}/credentials[/{name}]` (pg:credentials, pg:credentials:url):
 *   one credential, `default`, the add-on's own role; other names are 404.
 * - `GET /client/v11/databases/{addon id}/transfer-schedules` (pg:backups:schedules): none.
 * - `POST /client/v11/databases/{addon id}/backups` (pg:backups:capture) and
 *   `POST /client/v11/apps/{app}/transfers/{num}/actions/public-url` (pg:backups:url, download);
 *   see backups.ts.
 */
import type { EmulatorCore } from "./core";
import type { Route } from "./router";
import type { AddonRecord } from "./state";
import { databaseUrl, withAdmin } from "./db";
import { PUBLIC_URL_TTL_S } from "./backups";
import { ApiError, dataTime, notFound } from "./util";

function findDatabase(core: EmulatorCore, id: string): AddonRecord {
    const addon = core.state.addons.find((a) => a.id === id || a.name === id);
    if (!addon) throw notFound("Couldn't find that database.", "database");
    return addon;
}

function available(core: EmulatorCore, id: string): AddonRecord {
    const addon = findDatabase(core, id);
    if (addon.state !== "provisioned" || !addon.db) throw notFound("The database is not available yet.", "database");
    return addon;
}

/** Heroku Postgres plan limits (Dev Center "Heroku Postgres Plans"): storage in GB, connections, tables (Essential only). */
export function planLimits(planName: string): { storageGb: number; connections: number; tables?: number; tier: string; size: string } {
    const short = planName.replace(/^heroku-postgresql:/, "");
    const [tier, size] = [short.replace(/-\d+$/, ""), short.replace(/^.*-/, "")];
    if (tier === "essential") return { tier, size, storageGb: { "0": 1, "1": 10, "2": 32 }[size] ?? 1, connections: size === "2" ? 40 : 20, tables: 4000 };
    const storage: Record<string, number> = { "0": 64, "2": 256, "3": 512, "4": 768, "5": 1024, "6": 1536, "7": 2048, "8": 3072, "9": 4096, "10": 8192 };
    return { tier, size, storageGb: storage[size] ?? 64, connections: size === "0" ? 120 : size === "2" ? 400 : 500 };
}

function human(bytes: number): string {
    const units = ["bytes", "kB", "MB", "GB", "TB"];
    let v = bytes;
    let i = 0;
    while (v >= 1000 && i < units.length - 1) {
        v /= 1000;
        i++;
    }
    return i === 0 ? `${v} bytes` : `${v.toFixed(1)} ${units[i]}`;
}

async function databaseInfo(core: EmulatorCore, addon: AddonRecord): Promise<Record<string, unknown>> {
    const db = addon.db!;
    const stats = await withAdmin(core.opts.admin, db.database, async (c) => {
        const r = await c.query<{ size: string; tables: number; version: string; conns: number }>(
            `SELECT pg_database_size(current_database())::text AS size,
                    (SELECT count(*)::int FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')) AS tables,
                    current_setting('server_version') AS version,
                    (SELECT count(*)::int FROM pg_stat_activity WHERE datname = current_database() AND usename = $1) AS conns`,
            [db.user],
        );
        return r.rows[0];
    });
    const limits = planLimits(addon.plan_name);
    const size = Number(stats.size);
    const pct = ((size / (limits.storageGb * 1e9)) * 100).toFixed(2);
    const essential = limits.tier === "essential";
    const planHuman = `${limits.tier[0].toUpperCase()}${limits.tier.slice(1)} ${limits.size}`;
    const created = addon.created_at.replace("T", " ").replace(/:\d\dZ$/, "");
    const info: Array<{ name: string; values: string[]; resolve_db_name?: boolean }> = [
        { name: "Plan", values: [planHuman] },
        { name: "Status", values: ["Available"] },
        { name: "Connections", values: [`${stats.conns}/${limits.connections}`] },
        { name: "PG Version", values: [stats.version.split(" ")[0]] },
        { name: "Created", values: [created] },
        { name: "Data Size", values: [`${human(size)} / ${limits.storageGb >= 1024 ? `${limits.storageGb / 1024} TB` : `${limits.storageGb} GB`} (${pct}%)`] },
        { name: "Tables", values: [essential ? `${stats.tables}/${limits.tables}` : String(stats.tables)] },
        { name: "Fork/Follow", values: [essential ? "Unsupported" : "Available"] },
        { name: "Rollback", values: [essential ? "Unsupported" : `earliest from ${created}`] },
        { name: "Continuous Protection", values: [essential ? "Off" : "On"] },
    ];
    if (!essential) info.push({ name: "Data Encryption", values: ["In Use"] }, { name: "Region", values: [core.findApp(addon.app_id).region === "eu" ? "Europe" : "US"] });
    return {
        addon_id: addon.id,
        name: addon.name,
        heroku_resource_id: addon.id,
        created_at: dataTime(new Date(addon.created_at)),
        plan: addon.plan_name.replace(/^heroku-postgresql:/, ""),
        resource_url: databaseUrl(db),
        following: null,
        leader: null,
        forks: [],
        followers: [],
        info,
        num_bytes: size,
        num_tables: stats.tables,
        num_connections: stats.conns,
        postgres_version: stats.version.split(" ")[0],
        "waiting?": false,
    };
}

function credentialJson(addon: AddonRecord): Record<string, unknown> {
    const db = addon.db!;
    return {
        uuid: addon.id,
        name: "default",
        state: "active",
        database: db.database,
        host: db.host,
        port: db.port,
        credentials: [{ user: db.user, password: db.password, state: "active", connections: null }],
    };
}

export function pgInfoRoutes(core: EmulatorCore): Route[] {
    return [
        { method: "GET", path: "/client/v11/databases/:addon", handler: async ({ params }) => ({ status: 200, body: await databaseInfo(core, available(core, params.addon)) }) },
        { method: "GET", path: "/postgres/v0/databases/:addon/credentials", handler: ({ params }) => ({ status: 200, body: [credentialJson(available(core, params.addon))] }) },
        {
            method: "GET",
            path: "/postgres/v0/databases/:addon/credentials/:name",
            handler: ({ params }) => {
                const addon = available(core, params.addon);
                if (params.name !== "default") throw notFound(`Couldn't find credential ${params.name}.`, "credential");
                return { status: 200, body: credentialJson(addon) };
            },
        },
        {
            method: "GET",
            path: "/client/v11/databases/:addon/transfer-schedules",
            handler: ({ params }) => {
                findDatabase(core, params.addon);
                return { status: 200, body: [] };
            },
        },
        {
            method: "POST",
            path: "/client/v11/databases/:addon/backups",
            handler: ({ params }) => {
                const addon = findDatabase(core, params.addon);
                if (addon.state !== "provisioned" || !addon.db) {
                    throw new ApiError(422, "unprocessable_entity", "The database is not available yet. Wait for it with `heroku pg:wait` and try again.");
                }
                const running = core.state.transfers.find((t) => t.addon_id === addon.id && t.from_type === "pg_dump" && !t.finished_at);
                if (running) throw new ApiError(422, "unprocessable_entity", `A backup of ${addon.name} is already running (b${String(running.num).padStart(3, "0")}).`);
                const t = core.startBackup(addon);
                core.log(`backup b${String(t.num).padStart(3, "0")} (${t.uuid}) of ${addon.name} started`);
                return { status: 201, body: core.transferJson(t, false) };
            },
        },
        {
            method: "POST",
            path: "/client/v11/apps/:app/transfers/:id/actions/public-url",
            handler: ({ params }) => {
                const app = core.findApp(params.app);
                const t = core.state.transfers.find((x) => x.app_id === app.id && !x.deleted_at && (x.uuid === params.id || (/^\d+$/.test(params.id) && x.num === Number(params.id))));
                if (!t) throw notFound("Couldn't find that transfer.", "transfer");
                if (t.to_type !== "gof3r" || !t.succeeded || !core.backups) throw new ApiError(422, "unprocessable_entity", "Only a completed backup has a download URL.");
                const signed = core.backups.signedUrl(t.uuid, PUBLIC_URL_TTL_S);
                return { status: 201, body: { expires_at: dataTime(signed.expires), url: signed.url } };
            },
        },
    ];
}
