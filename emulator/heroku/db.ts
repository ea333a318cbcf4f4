/**
 * The real PostgreSQL work behind the emulated add-ons, done as the superuser of
 * `postgresAdminUrl`: one login role owning one database per add-on (like Heroku Postgres), a
 * reset of that database before a restore, and extension pre-installs (Heroku's allow-listed
 * extensions are created with superuser rights even when the database user asks).
 */
import { Client, ClientConfig } from "pg";
import * as fs from "fs";
import type { AddonDatabase } from "./state";
import { qi, ql, randomHex } from "./util";
import { HEROKU_SUPPORTED_EXTENSIONS } from "./extensions";

export interface AdminTarget {
    host: string;
    port: number;
    user: string;
    password: string;
    database: string;
    sslmode: string;
    sslrootcert?: string;
}

export function parseAdminUrl(url: string): AdminTarget {
    let u: URL;
    try {
        u = new URL(url);
    } catch {
        throw new Error("Heroku emulator: postgresAdminUrl is not a URL; pass postgres://superuser:password@127.0.0.1:port/postgres.");
    }
    if (u.protocol !== "postgres:" && u.protocol !== "postgresql:") {
        throw new Error(`Heroku emulator: postgresAdminUrl must start with postgres:// (got ${u.protocol}//).`);
    }
    return {
        host: decodeURIComponent(u.hostname) || "127.0.0.1",
        port: u.port ? Number(u.port) : 5432,
        user: decodeURIComponent(u.username),
        password: decodeURIComponent(u.password),
        database: decodeURIComponent(u.pathname.replace(/^\//, "")) || "postgres",
        sslmode: u.searchParams.get("sslmode") ?? "prefer",
        sslrootcert: u.searchParams.get("sslrootcert") ?? undefined,
    };
}

function sslFor(sslmode: string, sslrootcert?: string): ClientConfig["ssl"] {
    if (sslmode === "disable" || sslmode === "allow" || sslmode === "prefer") return false;
    if (sslmode === "verify-ca" || sslmode === "verify-full") {
        return { rejectUnauthorized: true, ca: sslrootcert ? fs.readFileSync(sslrootcert, "utf8") : undefined };
    }
    return { rejectUnauthorized: false };
}

export async function withAdmin<T>(admin: AdminTarget, database: string | undefined, fn: (c: Client) => Promise<T>): Promise<T> {
    const client = new Client({
        host: admin.host,
        port: admin.port,
        user: admin.user,
        password: admin.password,
        database: database ?? admin.database,
        ssl: sslFor(admin.sslmode, admin.sslrootcert),
        connectionTimeoutMillis: 15000,
        application_name: "heroku-emulator",
    });
    client.on("error", () => undefined);
    await client.connect();
    try {
        return await fn(client);
    } finally {
        await client.end().catch(() => undefined);
    }
}

/** The setting that holds a plan's extension allow-list (see AddonDatabase.allowListSetting). */
export function allowListSettingFor(planName: string): NonNullable<AddonDatabase["allowListSetting"]> {
    return /^(heroku-postgresql:)?essential-/.test(planName) ? "rds.allowed_extensions" : "extwlist.extensions";
}

/** Heroku-like credentials: database `d<13 hex>`, user `u<13 hex>`, password `p<64 hex>`. */
export function newAddonCredentials(admin: AdminTarget, planName: string): AddonDatabase {
    return {
        host: admin.host,
        port: admin.port,
        database: `d${randomHex(7).slice(0, 13)}`,
        user: `u${randomHex(7).slice(0, 13)}`,
        password: `p${randomHex(32)}`,
        allowListSetting: allowListSettingFor(planName),
    };
}

export function databaseUrl(db: AddonDatabase): string {
    return `postgres://${db.user}:${db.password}@${db.host}:${db.port}/${db.database}`;
}

async function createDatabaseOwnedBy(c: Client, db: AddonDatabase): Promise<void> {
    await c.query(`CREATE DATABASE ${qi(db.database)} OWNER ${qi(db.user)} TEMPLATE template0 ENCODING 'UTF8'`);
    // The database user can reach its own database only (the owner keeps CONNECT).
    await c.query(`REVOKE ALL ON DATABASE ${qi(db.database)} FROM PUBLIC`);
    // Like Heroku, the database tells its user which extensions it may create
    // (`show extwlist.extensions`, or rds.allowed_extensions on Essential plans).
    const setting = db.allowListSetting ?? "extwlist.extensions";
    await c.query(`ALTER DATABASE ${qi(db.database)} SET ${qi(setting)} = ${ql(HEROKU_SUPPORTED_EXTENSIONS.join(","))}`);
}

export async function createAddonDatabase(admin: AdminTarget, db: AddonDatabase): Promise<void> {
    await withAdmin(admin, undefined, async (c) => {
        await c.query(`CREATE ROLE ${qi(db.user)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD ${ql(db.password)}`);
        await createDatabaseOwnedBy(c, db);
    });
}

/** Drops the database (closing its sessions) and the role. Idempotent. */
export async function dropAddonDatabase(admin: AdminTarget, db: AddonDatabase): Promise<void> {
    await withAdmin(admin, undefined, async (c) => {
        await c.query(`DROP DATABASE IF EXISTS ${qi(db.database)} WITH (FORCE)`);
        await c.query(`DROP ROLE IF EXISTS ${qi(db.user)}`);
    });
}

/** Replaces the database with an empty one owned by the same role, as a restore does on Heroku. */
export async function resetAddonDatabase(admin: AdminTarget, db: AddonDatabase): Promise<void> {
    await withAdmin(admin, undefined, async (c) => {
        await c.query(`DROP DATABASE IF EXISTS ${qi(db.database)} WITH (FORCE)`);
        await createDatabaseOwnedBy(c, db);
    });
}

/** Extensions a non-superuser may create on this server (PostgreSQL 13+ `trusted`). */
export async function trustedExtensions(admin: AdminTarget): Promise<Set<string>> {
    return withAdmin(admin, undefined, async (c) => {
        const r = await c.query<{ name: string }>("SELECT DISTINCT name FROM pg_available_extension_versions WHERE trusted");
        return new Set(r.rows.map((row) => row.name));
    });
}

export async function availableExtensions(admin: AdminTarget): Promise<Set<string>> {
    return withAdmin(admin, undefined, async (c) => {
        const r = await c.query<{ name: string }>("SELECT name FROM pg_available_extensions");
        return new Set(r.rows.map((row) => row.name));
    });
}

/** Creates extensions as the superuser inside the add-on database; schemas are created owned by the add-on role. */
export async function preinstallExtensions(admin: AdminTarget, db: AddonDatabase, exts: Array<{ name: string; schema: string }>): Promise<void> {
    if (exts.length === 0) return;
    await withAdmin(admin, db.database, async (c) => {
        for (const e of exts) {
            if (e.schema !== "public") await c.query(`CREATE SCHEMA IF NOT EXISTS ${qi(e.schema)} AUTHORIZATION ${qi(db.user)}`);
            await c.query(`CREATE EXTENSION IF NOT EXISTS ${qi(e.name)} WITH SCHEMA ${qi(e.schema)}`);
        }
    });
}
