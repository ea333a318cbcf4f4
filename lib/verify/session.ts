/**
 * Verification sessions: every comparison reads both servers through sessions that render
 * values identically (date, float, bytea and interval formats, UTC, no statement timeouts,
 * read-only, row security off unless the user's queries need it), with the same 64-bit row hash
 * on both sides (chooseRendering picks what the older server supports). The two ways a
 * comparison holds its connections are written once here: withSession (one prepared session on
 * one server, closed when fn settles) and openPair/withPair (a prepared session on the source
 * and one on the target, opened source first; the source's is closed if the target's cannot be
 * opened, and both are closed on every path).
 */
import type { Client } from "pg";
import { withClient, quoteIdent } from "../pg";
import type { PgConnection } from "../types";

export type Side = "source" | "target";

export interface ServerInfo {
    version: string;
    versionNum: number;
    encoding: string;
}

export interface Rendering {
    hash: "hashtextextended" | "md5";
    extraFloatDigits: number;
    /** Convert row text to UTF-8 bytes before hashing (server encodings differ). */
    utf8: boolean;
}

/** Settings applied to every verification session, so that row text renders identically. */
export function renderingSettings(r: { extraFloatDigits: number }, opts: SessionOptions): string[] {
    const s = [
        "SET DateStyle = 'ISO, MDY'",
        "SET TimeZone = 'UTC'",
        "SET IntervalStyle = 'postgres'",
        `SET extra_float_digits = ${r.extraFloatDigits}`,
        "SET bytea_output = 'hex'",
        "SET lc_monetary = 'C'",
        "SET xmloption = 'content'",
        "SET standard_conforming_strings = on",
        "SET statement_timeout = 0",
        "SET lock_timeout = 0",
        "SET idle_in_transaction_session_timeout = 0",
        "SET default_transaction_read_only = on",
    ];
    // Policies must not silently filter rows: with row_security off a query that RLS would filter fails instead.
    if (!opts.rowSecurity) s.push("SET row_security = off");
    // Catalog deparsing and regclass/regtype output schema-qualify everything outside pg_catalog.
    if (opts.catalogSearchPath) s.push("SET search_path = pg_catalog, pg_temp");
    return s;
}

export async function prepareSession(c: Client, r: Rendering, opts: SessionOptions): Promise<void> {
    await c.query(renderingSettings(r, opts).join("; "));
}

export interface SessionOptions {
    /** search_path = pg_catalog, pg_temp: catalog deparsing and reg* output qualify every user object. */
    catalogSearchPath: boolean;
    /** Leave row_security on (the user's queries); off elsewhere, so that policies cannot hide rows. */
    rowSecurity: boolean;
}

/** An open, prepared session; close() ends its connection. */
export interface Session {
    client: Client;
    close(): Promise<void>;
}

/** One prepared session on `conn` for fn; closed when fn settles. */
export async function withSession<T>(conn: PgConnection, r: Rendering, opts: SessionOptions, fn: (c: Client) => Promise<T>): Promise<T> {
    return withClient(conn, async (c) => {
        await prepareSession(c, r, opts);
        return fn(c);
    });
}

/** Opens a prepared session that stays open until close() is called. */
export async function openSession(conn: PgConnection, r: Rendering, opts: SessionOptions): Promise<Session> {
    // withClient closes the connection when fn settles; keep it open until close() is called.
    let release!: () => void;
    const released = new Promise<void>((res) => (release = res));
    let ready!: (c: Client) => void;
    let fail!: (e: unknown) => void;
    const opened = new Promise<Client>((res, rej) => {
        ready = res;
        fail = rej;
    });
    const done = withClient(conn, async (c) => {
        await prepareSession(c, r, opts);
        ready(c);
        await released;
    }).catch((err) => fail(err));
    const client = await opened;
    return {
        client,
        async close() {
            release();
            await done;
        },
    };
}

/** A prepared session on each side. */
export interface SessionPair {
    source: Session;
    target: Session;
    /** Closes the target's session, then the source's. */
    close(): Promise<void>;
}

/** Opens the source's session, then the target's; if the target's fails, the source's is closed before the error is thrown. */
export async function openPair(source: PgConnection, target: PgConnection, r: Rendering, opts: SessionOptions): Promise<SessionPair> {
    const s = await openSession(source, r, opts);
    let t: Session;
    try {
        t = await openSession(target, r, opts);
    } catch (err) {
        await s.close();
        throw err;
    }
    return {
        source: s,
        target: t,
        async close() {
            try {
                await t.close();
            } finally {
                await s.close();
            }
        },
    };
}

/** fn with a prepared session on each side; both are closed when fn settles, whatever happens. */
export async function withPair<T>(source: PgConnection, target: PgConnection, r: Rendering, opts: SessionOptions, fn: (src: Client, tgt: Client) => Promise<T>): Promise<T> {
    const pair = await openPair(source, target, r, opts);
    try {
        return await fn(pair.source.client, pair.target.client);
    } finally {
        await pair.close();
    }
}

/** SQL for a 64-bit hash of a text expression, the same function on both sides. */
export function hashSql(r: Rendering, textExpr: string): string {
    const input = r.utf8 ? `convert_to(${textExpr}, 'UTF8')` : textExpr;
    if (r.hash === "hashtextextended" && !r.utf8) return `hashtextextended(${input}, 0)`;
    return `('x' || substr(md5(${input}), 1, 16))::bit(64)::bigint`;
}

export function qname(schema: string, name: string): string {
    return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

export async function serverInfo(c: Client): Promise<ServerInfo> {
    const r = await c.query<{ v: string; n: string; e: string }>(
        "SELECT current_setting('server_version') AS v, current_setting('server_version_num') AS n, current_setting('server_encoding') AS e");
    return { version: r.rows[0].v, versionNum: Number(r.rows[0].n), encoding: r.rows[0].e };
}

/** Same rendering on both sides: float digits and hash function the older server supports. */
export function chooseRendering(a: ServerInfo, b: ServerInfo): Rendering {
    const bothModernFloats = (a.versionNum >= 120000) === (b.versionNum >= 120000);
    return {
        hash: a.versionNum >= 110000 && b.versionNum >= 110000 ? "hashtextextended" : "md5",
        extraFloatDigits: bothModernFloats ? 3 : 0,
        utf8: a.encoding !== b.encoding,
    };
}
