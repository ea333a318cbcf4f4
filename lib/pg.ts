/**
 * PostgreSQL connections used by preflight, the stages and verification: connection settings
 * (for the `pg` client and for spawned libpq tools), database URLs, connection errors that say
 * what to check, the server version, and the user's tables (lib/catalog.ts decides which).
 *
 * Plain exported functions, no module-level state (dynamic providers capture this file).
 * Every connection error names host:port/database and the user, never the password.
 */
import * as fs from "fs";
import { Client, ClientConfig } from "pg";
import { MigrationError } from "./errors";
import { redact, registerSecret } from "./redact";
import type { PgConnection } from "./types";

type SslMode = NonNullable<PgConnection["sslmode"]>;
const SSL_MODES: SslMode[] = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"];

/** "user@host:port/database", for messages. */
export function describeConnection(conn: PgConnection): string {
    const host = conn.host.includes(":") ? `[${conn.host}]` : conn.host;
    return `${conn.user}@${host}:${conn.port}/${conn.database}`;
}

/** `pg` client settings; SSL follows libpq's sslmode (default `require`, as Azure and Heroku need). */
export function pgClientConfig(conn: PgConnection): ClientConfig {
    const mode: SslMode = conn.sslmode ?? "require";
    let ssl: ClientConfig["ssl"];
    if (mode === "disable") {
        ssl = false;
    } else if (mode === "verify-ca" || mode === "verify-full") {
        let ca: string | undefined;
        if (conn.sslrootcert) {
            try {
                ca = fs.readFileSync(conn.sslrootcert, "utf8");
            } catch (err) {
                throw new MigrationError(
                    `PostgreSQL ${describeConnection(conn)}`,
                    `sslrootcert ${conn.sslrootcert} cannot be read (${(err as Error).message}).`,
                    "Point sslrootcert at a readable PEM file with the server's CA certificate, or use sslmode=require.",
                );
            }
        }
        ssl = {
            rejectUnauthorized: true,
            ...(ca ? { ca } : {}),
            // verify-ca checks the chain only, not the host name (libpq semantics).
            ...(mode === "verify-ca" ? { checkServerIdentity: () => undefined } : {}),
        };
    } else {
        // require / prefer / allow: encrypted, certificate not verified (libpq semantics for require).
        ssl = { rejectUnauthorized: false };
    }
    return {
        host: conn.host,
        port: conn.port,
        database: conn.database,
        user: conn.user,
        password: conn.password,
        ssl,
        connectionTimeoutMillis: 20000,
        keepAlive: true,
        application_name: "azure-to-heroku-pg",
    };
}

/** libpq environment for spawning pg_dump / pg_restore / psql (no password on the command line). */
export function pgEnv(conn: PgConnection): Record<string, string> {
    const env: Record<string, string> = {
        PGHOST: conn.host,
        PGPORT: String(conn.port),
        PGDATABASE: conn.database,
        PGUSER: conn.user,
        PGSSLMODE: conn.sslmode ?? "require",
    };
    if (conn.password !== undefined && conn.password !== "") env.PGPASSWORD = conn.password;
    if (conn.sslrootcert) env.PGSSLROOTCERT = conn.sslrootcert;
    return env;
}

/**
 * Parses postgres:// and postgresql:// URLs (like Heroku's DATABASE_URL); sslmode and sslrootcert
 * from the query. `name` is the setting the URL came from (e.g. `SOURCE_DATABASE_URL`): every
 * error names it. The URL's credentials are registered for redaction before anything can print.
 */
export function parseDatabaseUrl(url: string, name = "database URL"): PgConnection {
    registerSecret(url);
    const fix = "Give a postgres:// or postgresql:// URL with user, password, host, port and database (and ?sslmode=require for Azure and Heroku); percent-encode special characters in the user name and password (/ is %2F, @ is %40, % is %25).";
    const bad = (what: string, hint = fix): MigrationError => new MigrationError(name, `${redact(url)} ${what}`, hint);
    let u: URL;
    try {
        u = new URL(url);
    } catch {
        throw bad("is not a valid URL.");
    }
    if (u.protocol !== "postgres:" && u.protocol !== "postgresql:") throw bad(`has scheme ${u.protocol.replace(/:$/, "")}, expected postgres or postgresql.`);
    const decode = (part: string, raw: string, show: boolean): string => {
        try {
            return decodeURIComponent(raw);
        } catch {
            const escape = /%(?![0-9a-f]{2})..?/i.exec(raw)?.[0] ?? "%";
            throw bad(`has a bad percent escape in the ${part}${show ? ` (${JSON.stringify(escape)})` : ""}: a % must be followed by two hex digits.`);
        }
    };
    let host = decode("host", u.hostname, true);
    if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
    if (!host) throw bad("has no host.");
    const port = u.port ? Number(u.port) : 5432;
    if (!Number.isInteger(port) || port <= 0 || port > 65535) throw bad("has an invalid port.");
    const user = decode("user name", u.username, true);
    if (!user) throw bad("has no user name.");
    const path = decode("database name", u.pathname.replace(/^\//, ""), true);
    const database = path || user;
    const conn: PgConnection = { host, port, database, user };
    // Never shown: the escape is part of the password.
    if (u.password) conn.password = decode("password", u.password, false);
    const sslmode = u.searchParams.get("sslmode");
    if (sslmode !== null) {
        if (!SSL_MODES.includes(sslmode as SslMode)) throw bad(`has sslmode=${sslmode}; expected one of ${SSL_MODES.join(", ")}.`, `Set ?sslmode= to one of them: require for Azure and Heroku, verify-full with &sslrootcert=/path/to/ca.pem to check the server's certificate, disable only for a local server without SSL.`);
        conn.sslmode = sslmode as SslMode;
    }
    const rootcert = u.searchParams.get("sslrootcert");
    if (rootcert) conn.sslrootcert = rootcert;
    return conn;
}

const SSL_SETTING = "sslmode (config `sourceSslMode`, or ?sslmode= in a database URL)";

/** What to do about a failed connection; SSL refusals first, since they can carry an authentication code (28000). */
export function connectHint(err: NodeJS.ErrnoException & { code?: string }, conn: PgConnection): string {
    const msg = String(err.message ?? "");
    const mode = conn.sslmode ?? "require";
    if (/does not support SSL/i.test(msg)) return `The server does not accept SSL connections (sslmode=${mode} asks for SSL): set ${SSL_SETTING} to disable for it (only for a local server; Azure and Heroku need require).`;
    if (/no encryption|SSL off|SSL connection is required|requires? (an )?SSL/i.test(msg)) return `The server requires SSL for this client and sslmode=${mode} did not use it: set ${SSL_SETTING} to require (or verify-full with sslrootcert).`;
    if (/self[- ]signed|certificate|unable to verify|altnames/i.test(msg)) return `The server's certificate was refused under sslmode=${mode}: verify-ca/verify-full need the server's CA in sslrootcert (config \`sourceSslRootCert\`, or &sslrootcert= in a database URL); require encrypts without verifying.`;
    switch (err.code) {
        case "28P01":
        case "28000":
            return `Check the user name and password for ${conn.user} (and, on Azure Single Server, the user@servername form), and that pg_hba/firewall rules allow this client.`;
        case "3D000":
            return `Check the database name; \`${conn.database}\` does not exist on this server.`;
        case "ECONNREFUSED":
            return "Check that the server is running and that host and port are right.";
        case "ENOTFOUND":
        case "EAI_AGAIN":
            return "Check the host name (DNS lookup failed).";
        case "ETIMEDOUT":
            return "Check the host and port, and that the server's firewall allows this machine's IP address.";
        case "53300":
            return "The server has no free connection slots; lower the concurrency or close other sessions.";
    }
    if (/timeout/i.test(msg)) return "Check the host and port, and that the server's firewall allows this machine's IP address.";
    return "Check the host, port, database, user, password and sslmode.";
}

/** Opens a connection, runs fn, always closes. Connection failures become MigrationErrors. */
export async function withClient<T>(conn: PgConnection, fn: (c: Client) => Promise<T>): Promise<T> {
    const client = new Client(pgClientConfig(conn));
    // An idle client whose server goes away emits 'error'; without a listener that would crash the process.
    client.on("error", () => undefined);
    try {
        await client.connect();
    } catch (err) {
        await client.end().catch(() => undefined);
        const e = err as NodeJS.ErrnoException;
        throw new MigrationError(
            `PostgreSQL ${describeConnection(conn)}`,
            `could not connect (sslmode=${conn.sslmode ?? "require"}): ${redact(String(e.message || e.code || err))}.`,
            connectHint(e, conn),
        );
    }
    try {
        return await fn(client);
    } finally {
        await client.end().catch(() => undefined);
    }
}

/** The major version of a server_version_num: 150004 -> 15 (10 and later), 90624 -> 9.6 (before 10). */
export function majorVersion(versionNum: number): number {
    return versionNum >= 100000 ? Math.floor(versionNum / 10000) : Math.floor(versionNum / 10000) + Math.floor((versionNum % 10000) / 100) / 10;
}

export async function serverVersion(conn: PgConnection): Promise<{ num: number; major: number; text: string }> {
    return withClient(conn, async (c) => {
        const r = await c.query<{ num: string; text: string }>(
            "SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS text",
        );
        const num = Number(r.rows[0].num);
        return { num, major: majorVersion(num), text: r.rows[0].text };
    });
}

export function quoteIdent(s: string): string {
    return `"${s.replace(/"/g, '""')}"`;
}
