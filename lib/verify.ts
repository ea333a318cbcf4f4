/**
 * Verification of a restored copy: proves that the target holds what the frozen source holds,
 * before DATABASE_URL is published. Every comparison runs on both servers and only small
 * results travel to the client:
 *
 * - schema: schemas, tables (kind, persistence, partition key and bound, inheritance, row
 *   security, options), columns (position, type, collation, default, NOT NULL, generated,
 *   identity), constraints (pk, unique, fk, check, exclusion; table and domain), indexes (with
 *   validity), views and materialized views, sequences (definition), functions, procedures and
 *   aggregates, triggers (with enabled state), row-security policies, enums, domains, range and
 *   composite types - each as the server deparses it (pg_get_*def), so differences are listed
 *   object by object. Owners, grants and policy roles are not compared (Heroku restores with
 *   --no-owner --no-acl). Extension members are left to the extension comparison.
 * - data: per table an exact row count and an order-independent checksum, in one scan, on each
 *   server: `count(*)` and `sum(hash(row text))` (O(1) memory server-side; sum, not xor, so
 *   duplicate rows count). The row text is rendered with the same session settings on both
 *   sides. When a table with a primary key differs, the differing rows are located by hash
 *   buckets of the key (a few more scans, bounded client memory) and named by key.
 *   Partitioned tables are the sum of their partitions.
 * - sequences (last_value, is_called), large objects (count, bytes, checksum, per object),
 *   extensions (name, version, schema), settings (pg_settings and ALTER DATABASE SET, as CSV for
 *   both sides and a classified diff), the user's queries (read-only, hash of the ordered
 *   result, first differing row), and the restore log's error and warning lines.
 *
 * Time: settings and schema are read at the same time; then tables (largest first,
 * `concurrency` at a time), sequences, large objects and the user's queries run beside one
 * another. The source side of the table checksums can be computed earlier, during the restore
 * (precomputeSourceChecksums), and is used only while the source provably has not changed.
 *
 * Plain exported functions, no module-level mutable state (dynamic providers capture this file).
 */
import * as crypto from "crypto";
import type { Client } from "pg";
import { majorVersion, withClient, quoteIdent } from "./pg";
import { errorMessage } from "./errors";
import { redact } from "./redact";
import { USER_QUERY_BEGIN, userQueryCursor } from "./userQueries";
import { formatBytes, formatDuration, formatRate, progressThrottle } from "./progress";
import type { PgConnection, TableRowCount } from "./types";

// ---------------------------------------------------------------------------------------------
// Types

export type Side = "source" | "target";

export interface VerifyOptions {
    /** "schema.name" of tables left out of every check (schema and data). */
    excludeTables?: string[];
    /** Tables checked at the same time (one connection per side each). @default 4 */
    concurrency?: number;
    /** SQL queries run on both sides in read-only transactions; ordered results compared. */
    queries?: string[];
    /** Settings (pg_settings names) that must be equal; other setting differences are only reported. */
    requireSettings?: string[];
    /** Setting differences that are expected, with the reason (e.g. the read-only freeze). */
    expectedSettingDifferences?: Record<string, string>;
    /** The restore transfer's log, scanned for error and warning lines. */
    restoreLogs?: { created_at?: string; message: string }[];
    /** Source checksums computed ahead (precomputeSourceChecksums); used only if the source has provably not changed since. */
    sourceChecksums?: SourceChecksums;
    /** Differences kept per section in the result (the rest are counted). @default 200 */
    maxListed?: number;
    onProgress?: (message: string) => void;
}

export interface ServerInfo {
    version: string;
    versionNum: number;
    encoding: string;
}

export type SchemaObjectKind =
    | "schema" | "table" | "column" | "constraint" | "index" | "view" | "materialized view" | "sequence"
    | "function" | "trigger" | "policy" | "enum" | "domain" | "range type" | "composite type";

export interface SchemaDifference {
    kind: SchemaObjectKind;
    /** Qualified name, e.g. `public.orders`, `public.orders.status`, `public.f(integer)`. */
    name: string;
    change: "missing on target" | "extra on target" | "differs";
    /** Definition as each server deparses it (truncated to 1000 characters). */
    source?: string;
    target?: string;
    /** Objects under this one (columns, indexes...) not listed separately. */
    dependents?: number;
}

export interface SchemaComparison {
    ok: boolean;
    /** Objects compared per kind, on each side. */
    counts: Record<string, { source: number; target: number }>;
    differences: SchemaDifference[];
    /** Differences not listed (beyond maxListed). */
    more: number;
    notes: string[];
}

export interface RowDifference {
    /** The primary key, as `(id)=(42)`. */
    key: string;
    change: "missing on target" | "extra on target" | "differs";
}

export interface TableCheck extends TableRowCount {
    kind: "table" | "partitioned table" | "materialized view";
    /** Primary key columns (rows are named by them), or null: compared over the whole row only. */
    key: string[] | null;
    /** sum of 64-bit row hashes (decimal), or null when not computed. */
    sourceChecksum: string | null;
    targetChecksum: string | null;
    countMatch: boolean;
    checksumMatch: boolean;
    /** Differing rows named by primary key (at most 5), when located. */
    rows?: RowDifference[];
    sourceMs: number;
    targetMs: number;
    note?: string;
}

export interface SequenceValue {
    lastValue: string;
    isCalled: boolean;
}
export interface SequenceCheck {
    schema: string;
    name: string;
    source: SequenceValue | null;
    target: SequenceValue | null;
    match: boolean;
}

export interface LargeObjectSummary {
    count: number;
    bytes: number;
    checksum: string;
}
export interface LargeObjectComparison {
    ok: boolean;
    source: LargeObjectSummary;
    target: LargeObjectSummary;
    differences: { oid: number; change: "missing on target" | "extra on target" | "differs"; sourceBytes?: number; targetBytes?: number }[];
    more: number;
}

export interface ExtensionCheck {
    name: string;
    source: { version: string; schema: string } | null;
    target: { version: string; schema: string } | null;
    /** false only when the extension is missing on the target (fails); other differences are reported. */
    match: boolean;
    note?: string;
}

export type SettingCategory = "behaviour" | "performance" | "other";
export interface SettingDifference {
    name: string;
    category: SettingCategory;
    /** Value as SHOW prints it, or null when the setting does not exist / is not visible. */
    source: string | null;
    target: string | null;
    /** Where the value comes from (pg_settings.source: default, configuration file, database, user...). */
    sourceOrigin?: string;
    targetOrigin?: string;
    required: boolean;
    note?: string;
}
export interface SettingsComparison {
    ok: boolean;
    differences: SettingDifference[];
    /** Names of settings that differ but always differ between servers (paths, ports, memory sizing, logging...). */
    ignored: string[];
    compared: number;
    /** ALTER DATABASE ... SET entries on each side (pg_dump does not carry these to Heroku). */
    databaseSettings: { source: string[]; target: string[] };
    /** Database properties: encoding, collation, ctype, locale provider. */
    database: { source: Record<string, string>; target: Record<string, string> };
    /** pg_settings of each side as CSV (name,setting,unit,source,category). */
    csv: { source: string; target: string };
}

export interface QueryCheck {
    index: number;
    sql: string;
    match: boolean;
    sourceRows: number | null;
    targetRows: number | null;
    sourceHash: string | null;
    targetHash: string | null;
    columns?: { source: string[]; target: string[] };
    /** First differing row (1-based) with both renderings (JSON arrays of text values). */
    firstDifference?: { row: number; source: string | null; target: string | null };
    error?: { side: Side; message: string };
}

export interface VerificationResult {
    ok: boolean;
    verdict: "match" | "mismatch";
    summary: string;
    /** Every failing difference, one line each, most important first (capped; problemCount is the total). */
    problems: string[];
    problemCount: number;
    /** Reported, not failing (setting differences, extension versions, restore warnings...). */
    notes: string[];
    startedAt: string;
    finishedAt: string;
    durationMs: number;
    servers: { source: ServerInfo; target: ServerInfo };
    /** How rows were rendered and hashed (the same on both sides). */
    rendering: { hash: "hashtextextended" | "md5"; extraFloatDigits: number; utf8: boolean };
    schema: SchemaComparison;
    tables: TableCheck[];
    excluded: string[];
    sequences: SequenceCheck[];
    largeObjects: LargeObjectComparison;
    extensions: ExtensionCheck[];
    settings: SettingsComparison;
    queries: QueryCheck[];
    restore: { errors: string[]; warnings: string[] };
    timings: { stage: string; ms: number }[];
}

// ---------------------------------------------------------------------------------------------
// Session: identical rendering on both sides

export interface Rendering {
    hash: "hashtextextended" | "md5";
    extraFloatDigits: number;
    /** Convert row text to UTF-8 bytes before hashing (server encodings differ). */
    utf8: boolean;
}

/** Settings applied to every verification session, so that row text renders identically. */
export function renderingSettings(r: { extraFloatDigits: number }, opts: { catalogSearchPath: boolean; rowSecurity: boolean }): string[] {
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

async function prepareSession(c: Client, r: Rendering, opts: { catalogSearchPath: boolean; rowSecurity: boolean }): Promise<void> {
    await c.query(renderingSettings(r, opts).join("; "));
}

/** SQL for a 64-bit hash of a text expression, the same function on both sides. */
function hashSql(r: Rendering, textExpr: string): string {
    const input = r.utf8 ? `convert_to(${textExpr}, 'UTF8')` : textExpr;
    if (r.hash === "hashtextextended" && !r.utf8) return `hashtextextended(${input}, 0)`;
    return `('x' || substr(md5(${input}), 1, 16))::bit(64)::bigint`;
}

function qname(schema: string, name: string): string {
    return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

function elapsed(start: bigint): number {
    return Number((process.hrtime.bigint() - start) / 1_000_000n);
}

function truncate(s: string | null | undefined, n = 1000): string | undefined {
    if (s === null || s === undefined) return undefined;
    return s.length > n ? `${s.slice(0, n)}…` : s;
}

/** Runs fn over items with at most `limit` at a time; the first error stops new work and is thrown. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
    const out: R[] = new Array(items.length);
    let next = 0;
    let failed: unknown;
    const worker = async (): Promise<void> => {
        while (failed === undefined && next < items.length) {
            const i = next++;
            try {
                out[i] = await fn(items[i], i);
            } catch (err) {
                if (failed === undefined) failed = err;
            }
        }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, () => worker()));
    if (failed !== undefined) throw failed;
    return out;
}

// ---------------------------------------------------------------------------------------------
// Schema inspection

export interface SchemaObject {
    kind: SchemaObjectKind;
    name: string;
    def: string;
    /** Key ("kind:name") of the object this one belongs to (a column's table...). */
    parent?: string;
}

export interface RelationInfo {
    oid: string;
    schema: string;
    name: string;
    relkind: string;
    populated: boolean;
    /** Direct parents (inheritance or partitioning), "schema.name". */
    parents: string[];
    /** Primary key columns, in key order. */
    primaryKey: string[] | null;
    /** pg_relation_size (main fork), for progress. */
    bytes: number;
    /** pg_table_size (with TOAST), what a scan reads: the largest tables are checked first. */
    tableBytes?: number;
}

export interface SchemaSnapshot {
    objects: SchemaObject[];
    relations: RelationInfo[];
    extensions: { name: string; version: string; schema: string }[];
}

const USER_NAMESPACE = (alias: string) =>
    `${alias}.nspname NOT IN ('pg_catalog', 'information_schema') AND ${alias}.nspname !~ '^pg_(toast|temp_|toast_temp_)'`;
const NOT_EXTENSION_MEMBER = (catalog: string, oidExpr: string) =>
    `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend dep WHERE dep.classid = '${catalog}'::regclass AND dep.objid = ${oidExpr} AND dep.deptype = 'e')`;

const RELKIND_NAMES: Record<string, SchemaObjectKind> = { r: "table", p: "table", f: "table", v: "view", m: "materialized view", S: "sequence", c: "composite type" };
const RELKIND_WORDS: Record<string, string> = { r: "table", p: "partitioned table", f: "foreign table", v: "view", m: "materialized view", S: "sequence", c: "composite type" };

function norm(s: string | null | undefined): string {
    return String(s ?? "").replace(/\s+/g, " ").trim();
}

/** Reads the schema of the connected database as comparable objects. The session must use renderingSettings(catalogSearchPath). */
export async function inspectSchema(c: Client, versionNum: number): Promise<SchemaSnapshot> {
    const objects: SchemaObject[] = [];
    const add = (o: SchemaObject) => objects.push({ ...o, def: norm(o.def) });

    const schemas = await c.query<{ name: string }>(
        `SELECT n.nspname AS name FROM pg_catalog.pg_namespace n WHERE ${USER_NAMESPACE("n")} AND ${NOT_EXTENSION_MEMBER("pg_catalog.pg_namespace", "n.oid")}`);
    for (const s of schemas.rows) add({ kind: "schema", name: s.name, def: "" });

    const rels = await c.query<{
        oid: string; schema: string; name: string; kind: string; persistence: string; rls: boolean; force_rls: boolean; options: string | null;
        partkey: string | null; bound: string | null; parents: [string, string][] | null; viewdef: string | null; populated: boolean; replident: string;
        seq: string | null; pk: string[] | null; bytes: string; table_bytes: string | null;
    }>(`
SELECT c.oid::int8::text AS oid, n.nspname AS schema, c.relname AS name, c.relkind AS kind, c.relpersistence AS persistence,
       c.relrowsecurity AS rls, c.relforcerowsecurity AS force_rls, array_to_string(c.reloptions, ',') AS options,
       CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END AS partkey,
       CASE WHEN c.relispartition THEN pg_catalog.pg_get_expr(c.relpartbound, c.oid) END AS bound,
       (SELECT json_agg(json_build_array(pn.nspname, p.relname) ORDER BY i.inhseqno)
          FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class p ON p.oid = i.inhparent JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace
         WHERE i.inhrelid = c.oid) AS parents,
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid, true) END AS viewdef,
       c.relispopulated AS populated, c.relreplident AS replident, pg_catalog.pg_relation_size(c.oid)::text AS bytes,
       CASE WHEN c.relkind IN ('r', 'm') THEN pg_catalog.pg_table_size(c.oid)::text END AS table_bytes,
       CASE WHEN c.relkind = 'S' THEN (
         SELECT concat_ws(' ', 'AS ' || pg_catalog.format_type(s.seqtypid, NULL), 'START ' || s.seqstart, 'INCREMENT ' || s.seqincrement,
                          'MINVALUE ' || s.seqmin, 'MAXVALUE ' || s.seqmax, 'CACHE ' || s.seqcache, CASE WHEN s.seqcycle THEN 'CYCLE' END,
                          (SELECT 'OWNED BY ' || d.refobjid::regclass::text || '.' || quote_ident(a.attname) || CASE d.deptype WHEN 'i' THEN ' (identity)' ELSE '' END
                             FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                            WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_catalog.pg_class'::regclass
                              AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0 LIMIT 1))
         FROM pg_catalog.pg_sequence s WHERE s.seqrelid = c.oid) END AS seq,
       (SELECT array_agg(a.attname::text ORDER BY k.ord)
          FROM pg_catalog.pg_constraint pk, unnest(pk.conkey) WITH ORDINALITY AS k(attnum, ord), pg_catalog.pg_attribute a
         WHERE pk.conrelid = c.oid AND pk.contype = 'p' AND a.attrelid = c.oid AND a.attnum = k.attnum) AS pk
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S', 'c') AND ${USER_NAMESPACE("n")} AND ${NOT_EXTENSION_MEMBER("pg_catalog.pg_class", "c.oid")}`);

    const relations: RelationInfo[] = [];
    const relByOid = new Map<string, { key: string; full: string }>();
    for (const r of rels.rows) {
        const kind = RELKIND_NAMES[r.kind];
        const full = `${r.schema}.${r.name}`;
        const key = `${kind}:${full}`;
        relByOid.set(r.oid, { key, full });
        const parents = (r.parents ?? []).map(([s, n]) => `${s}.${n}`);
        let def: string;
        if (r.kind === "v") def = `view: ${r.viewdef}`;
        else if (r.kind === "m") def = `materialized view${r.populated ? "" : " (not populated)"}: ${r.viewdef}`;
        else if (r.kind === "S") def = `sequence ${r.seq ?? ""}`;
        else if (r.kind === "c") def = "composite type";
        else {
            def = [
                r.persistence === "u" ? "unlogged" : r.persistence === "t" ? "temporary" : "",
                RELKIND_WORDS[r.kind],
                r.partkey ? `PARTITION BY ${r.partkey}` : "",
                r.bound ? `PARTITION OF ${parents.join(", ")} ${r.bound}` : parents.length ? `INHERITS (${parents.join(", ")})` : "",
                r.rls ? "ROW LEVEL SECURITY" : "",
                r.force_rls ? "FORCE ROW LEVEL SECURITY" : "",
                r.replident && r.replident !== "d" ? `REPLICA IDENTITY ${r.replident}` : "",
                r.options ? `WITH (${r.options})` : "",
            ].filter(Boolean).join(" ");
        }
        add({ kind, name: full, def });
        if (r.kind === "r" || r.kind === "p" || r.kind === "m" || r.kind === "f") {
            relations.push({ oid: r.oid, schema: r.schema, name: r.name, relkind: r.kind, populated: r.populated, parents, primaryKey: r.pk && r.pk.length ? r.pk : null, bytes: Number(r.bytes), tableBytes: Number(r.table_bytes ?? r.bytes) });
        }
    }

    const generated = versionNum >= 120000 ? "a.attgenerated::text" : "''";
    const cols = await c.query<{ rel: string; name: string; pos: string; type: string; notnull: boolean; def: string | null; generated: string; identity: string; collation: string | null; part: boolean }>(`
SELECT a.attrelid::int8::text AS rel, c.relispartition AS part, a.attname AS name, row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum) AS pos,
       pg_catalog.format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS notnull,
       pg_catalog.pg_get_expr(d.adbin, d.adrelid) AS def, ${generated} AS generated, a.attidentity::text AS identity,
       CASE WHEN a.attcollation <> t.typcollation THEN
         (SELECT quote_ident(cn.nspname) || '.' || quote_ident(co.collname) FROM pg_catalog.pg_collation co JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation)
       END AS collation
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'f', 'c') AND ${USER_NAMESPACE("n")}`);
    for (const col of cols.rows) {
        const rel = relByOid.get(col.rel);
        if (!rel) continue;
        const parts = [`#${col.pos}`, col.type];
        if (col.collation) parts.push(`COLLATE ${col.collation}`);
        if (col.generated === "s") parts.push(`GENERATED ALWAYS AS (${col.def}) STORED`);
        else if (col.def !== null) parts.push(`DEFAULT ${col.def}`);
        // A partition's identity is its parent's (PostgreSQL 17+ also marks it on the partition).
        if (col.identity === "a" && !col.part) parts.push("GENERATED ALWAYS AS IDENTITY");
        if (col.identity === "d" && !col.part) parts.push("GENERATED BY DEFAULT AS IDENTITY");
        if (col.notnull) parts.push("NOT NULL");
        add({ kind: "column", name: `${rel.full}.${col.name}`, def: parts.join(" "), parent: rel.key });
    }

    const cons = await c.query<{ name: string; contype: string; def: string; rel: string; typ: string }>(`
SELECT co.conname AS name, co.contype::text AS contype, pg_catalog.pg_get_constraintdef(co.oid) AS def,
       co.conrelid::int8::text AS rel, co.contypid::int8::text AS typ
FROM pg_catalog.pg_constraint co JOIN pg_catalog.pg_namespace n ON n.oid = co.connamespace
WHERE co.contype <> 'n' AND ${USER_NAMESPACE("n")}`);

    const types = await c.query<{ oid: string; schema: string; name: string; typtype: string; def: string | null }>(`
SELECT t.oid::int8::text AS oid, n.nspname AS schema, t.typname AS name, t.typtype::text AS typtype,
       CASE t.typtype
         WHEN 'e' THEN (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder) FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid)
         WHEN 'd' THEN concat_ws(' ', pg_catalog.format_type(t.typbasetype, t.typtypmod), CASE WHEN t.typnotnull THEN 'NOT NULL' END, 'DEFAULT ' || t.typdefault)
         WHEN 'r' THEN (SELECT concat_ws(' ', 'SUBTYPE ' || pg_catalog.format_type(r.rngsubtype, NULL),
                                          CASE WHEN r.rngsubdiff <> 0 THEN 'SUBTYPE_DIFF ' || r.rngsubdiff::regproc::text END)
                          FROM pg_catalog.pg_range r WHERE r.rngtypid = t.oid)
       END AS def
FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
WHERE t.typtype IN ('e', 'd', 'r') AND ${USER_NAMESPACE("n")} AND ${NOT_EXTENSION_MEMBER("pg_catalog.pg_type", "t.oid")}`);
    const typeByOid = new Map<string, string>();
    for (const t of types.rows) {
        const kind: SchemaObjectKind = t.typtype === "e" ? "enum" : t.typtype === "d" ? "domain" : "range type";
        const full = `${t.schema}.${t.name}`;
        typeByOid.set(t.oid, `${kind}:${full}`);
        add({ kind, name: full, def: t.def ?? "" });
    }
    for (const con of cons.rows) {
        const rel = con.rel !== "0" ? relByOid.get(con.rel) : undefined;
        const typKey = con.typ !== "0" ? typeByOid.get(con.typ) : undefined;
        if (rel) add({ kind: "constraint", name: `${rel.full}.${con.name}`, def: con.def, parent: rel.key });
        else if (typKey) add({ kind: "constraint", name: `${typKey.replace(/^[^:]*:/, "")}.${con.name}`, def: con.def, parent: typKey });
    }

    const idx = await c.query<{ rel: string; schema: string; name: string; def: string; valid: boolean }>(`
SELECT i.indrelid::int8::text AS rel, n.nspname AS schema, ic.relname AS name, pg_catalog.pg_get_indexdef(i.indexrelid) AS def, i.indisvalid AS valid
FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace
WHERE ${USER_NAMESPACE("n")}`);
    for (const i of idx.rows) {
        const rel = relByOid.get(i.rel);
        if (!rel) continue;
        add({ kind: "index", name: `${i.schema}.${i.name}`, def: `${i.def}${i.valid ? "" : " (INVALID)"}`, parent: rel.key });
    }

    const notClone = versionNum >= 130000 ? "AND tg.tgparentid = 0" : "";
    const trg = await c.query<{ rel: string; name: string; def: string; enabled: string }>(`
SELECT tg.tgrelid::int8::text AS rel, tg.tgname AS name, pg_catalog.pg_get_triggerdef(tg.oid) AS def, tg.tgenabled::text AS enabled
FROM pg_catalog.pg_trigger tg WHERE NOT tg.tgisinternal ${notClone}`);
    const ENABLED: Record<string, string> = { O: "", D: " (DISABLED)", R: " (ENABLE REPLICA)", A: " (ENABLE ALWAYS)" };
    for (const t of trg.rows) {
        const rel = relByOid.get(t.rel);
        if (!rel) continue;
        add({ kind: "trigger", name: `${rel.full}.${t.name}`, def: `${t.def}${ENABLED[t.enabled] ?? ` (${t.enabled})`}`, parent: rel.key });
    }

    const pol = await c.query<{ rel: string; name: string; cmd: string; permissive: boolean; qual: string | null; check: string | null }>(`
SELECT p.polrelid::int8::text AS rel, p.polname AS name, p.polcmd::text AS cmd, p.polpermissive AS permissive,
       pg_catalog.pg_get_expr(p.polqual, p.polrelid) AS qual, pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) AS check
FROM pg_catalog.pg_policy p`);
    const CMD: Record<string, string> = { "*": "ALL", r: "SELECT", a: "INSERT", w: "UPDATE", d: "DELETE" };
    for (const p of pol.rows) {
        const rel = relByOid.get(p.rel);
        if (!rel) continue;
        const def = [p.permissive ? "PERMISSIVE" : "RESTRICTIVE", `FOR ${CMD[p.cmd] ?? p.cmd}`, p.qual ? `USING (${p.qual})` : "", p.check ? `WITH CHECK (${p.check})` : ""].filter(Boolean).join(" ");
        add({ kind: "policy", name: `${rel.full}.${p.name}`, def, parent: rel.key });
    }

    const prokind = versionNum >= 110000 ? "p.prokind::text" : "CASE WHEN p.proisagg THEN 'a' WHEN p.proiswindow THEN 'w' ELSE 'f' END";
    const fns = await c.query<{ schema: string; name: string; args: string; kind: string; def: string | null }>(`
SELECT n.nspname AS schema, p.proname AS name, pg_catalog.pg_get_function_identity_arguments(p.oid) AS args, ${prokind} AS kind,
       CASE WHEN ${prokind} = 'a' THEN
         (SELECT concat_ws(' ', 'AGGREGATE SFUNC ' || a.aggtransfn::text, 'STYPE ' || pg_catalog.format_type(a.aggtranstype, NULL),
                           'FINALFUNC ' || a.aggfinalfn::text, 'INITCOND ' || quote_literal(a.agginitval), 'RETURNS ' || pg_catalog.format_type(p.prorettype, NULL))
            FROM pg_catalog.pg_aggregate a WHERE a.aggfnoid = p.oid)
       ELSE pg_catalog.pg_get_functiondef(p.oid) END AS def
FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE ${USER_NAMESPACE("n")} AND ${NOT_EXTENSION_MEMBER("pg_catalog.pg_proc", "p.oid")}`);
    for (const f of fns.rows) add({ kind: "function", name: `${f.schema}.${f.name}(${f.args})`, def: f.def ?? "" });

    const ext = await c.query<{ name: string; version: string; schema: string }>(
        "SELECT e.extname AS name, e.extversion AS version, n.nspname AS schema FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace ORDER BY 1");
    return { objects, relations, extensions: ext.rows };
}

/**
 * A definition without the qualifiers of qualified names (`"s"."t".col` -> `col`, `s.t` -> `t`),
 * string literals untouched: used only between different major versions, whose deparsers
 * qualify differently (PostgreSQL 16+ leaves columns of a single-table query unqualified).
 */
export function normalizeAcrossVersions(def: string): string {
    let out = "";
    let i = 0;
    const identAt = (j: number): number => {
        // Returns the end index of an identifier starting at j, or -1.
        if (def[j] === '"') {
            let k = j + 1;
            while (k < def.length) {
                if (def[k] === '"') {
                    if (def[k + 1] === '"') k += 2;
                    else return k + 1;
                } else k++;
            }
            return -1;
        }
        const m = /^[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/.exec(def.slice(j, j + 200));
        return m ? j + m[0].length : -1;
    };
    while (i < def.length) {
        const ch = def[i];
        if (ch === "'") {
            let k = i + 1;
            while (k < def.length) {
                if (def[k] === "'") {
                    if (def[k + 1] === "'") k += 2;
                    else break;
                } else k++;
            }
            out += def.slice(i, k + 1);
            i = k + 1;
            continue;
        }
        const prev = i > 0 ? def[i - 1] : " ";
        if (!/[A-Za-z0-9_$\u0080-\uffff]/.test(prev) || ch === '"') {
            const end = identAt(i);
            if (end > 0 && def[end] === "." && identAt(end + 1) > 0) {
                i = end + 1; // drop "qualifier."
                continue;
            }
            if (end > 0) {
                out += def.slice(i, end);
                i = end;
                continue;
            }
        }
        out += ch;
        i++;
    }
    return out;
}

const KIND_ORDER: SchemaObjectKind[] = [
    "schema", "table", "column", "constraint", "index", "view", "materialized view", "sequence",
    "function", "trigger", "policy", "enum", "domain", "range type", "composite type",
];

/** Schemas Heroku itself creates on its databases: reported as a note, not a difference. */
const PLATFORM_SCHEMAS = ["heroku_ext"];

function objectKey(o: { kind: string; name: string }): string {
    return `${o.kind}:${o.name}`;
}

function byName(a: string, b: string): number {
    return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Compares two schema snapshots object by object. Objects under an excluded table, and the
 * dependents of a missing or extra table (its columns, indexes...), are not listed separately.
 */
export function diffSchema(source: SchemaSnapshot, target: SchemaSnapshot, opts: { excludeTables?: string[]; maxListed?: number; crossVersion?: boolean } = {}): SchemaComparison {
    const same = (a: string, b: string) => a === b || (!!opts.crossVersion && normalizeAcrossVersions(a) === normalizeAcrossVersions(b));
    const excluded = new Set((opts.excludeTables ?? []).map((t) => `table:${t}`));
    const keep = (o: SchemaObject) => !excluded.has(objectKey(o)) && !(o.parent && excluded.has(o.parent));
    const src = new Map(source.objects.filter(keep).map((o) => [objectKey(o), o] as const));
    const tgt = new Map(target.objects.filter(keep).map((o) => [objectKey(o), o] as const));
    const notes: string[] = [];
    const counts: Record<string, { source: number; target: number }> = {};
    for (const k of KIND_ORDER) counts[k] = { source: 0, target: 0 };
    for (const o of src.values()) counts[o.kind].source++;
    for (const o of tgt.values()) counts[o.kind].target++;

    const all: SchemaDifference[] = [];
    const missingParents = new Set<string>();
    for (const [k, o] of src) if (!tgt.has(k) && !o.parent) missingParents.add(k);
    const extraParents = new Set<string>();
    for (const [k, o] of tgt) if (!src.has(k) && !o.parent) extraParents.add(k);
    const dependents = new Map<string, number>();

    for (const [k, o] of src) {
        const t = tgt.get(k);
        if (!t) {
            if (o.parent && missingParents.has(o.parent)) {
                dependents.set(o.parent, (dependents.get(o.parent) ?? 0) + 1);
                continue;
            }
            all.push({ kind: o.kind, name: o.name, change: "missing on target", source: truncate(o.def) });
        } else if (!same(o.def, t.def)) {
            all.push({ kind: o.kind, name: o.name, change: "differs", source: truncate(o.def), target: truncate(t.def) });
        }
    }
    for (const [k, o] of tgt) {
        if (src.has(k)) continue;
        if (o.parent && extraParents.has(o.parent)) {
            dependents.set(o.parent, (dependents.get(o.parent) ?? 0) + 1);
            continue;
        }
        if (o.kind === "schema" && PLATFORM_SCHEMAS.includes(o.name)) {
            notes.push(`schema ${o.name} exists only on the target (created by Heroku for extensions)`);
            continue;
        }
        all.push({ kind: o.kind, name: o.name, change: "extra on target", target: truncate(o.def) });
    }
    for (const d of all) {
        const n = dependents.get(objectKey(d));
        if (n) d.dependents = n;
    }
    all.sort((a, b) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) || byName(a.name, b.name) || byName(a.change, b.change));
    const max = opts.maxListed ?? 200;
    return { ok: all.length === 0, counts, differences: all.slice(0, max), more: Math.max(0, all.length - max), notes };
}

/** Both texts around their first difference (whole when short), for messages. */
export function differenceSnippet(a: string, b: string, width = 120): { source: string; target: string } {
    if (a.length <= width && b.length <= width) return { source: a, target: b };
    let i = 0;
    while (i < a.length && i < b.length && a[i] === b[i]) i++;
    const start = Math.max(0, i - 40);
    const cut = (s: string) => `${start > 0 ? "…" : ""}${s.slice(start, start + width)}${s.length > start + width ? "…" : ""}`;
    return { source: cut(a), target: cut(b) };
}

export function describeSchemaDifference(d: SchemaDifference): string {
    const deps = d.dependents ? ` (with its ${d.dependents} dependent objects)` : "";
    if (d.change === "differs") {
        const snip = differenceSnippet(d.source ?? "", d.target ?? "");
        return `${d.kind} ${d.name} differs: source ${JSON.stringify(snip.source)}, target ${JSON.stringify(snip.target)}`;
    }
    if (d.change === "missing on target") return `${d.kind} ${d.name} is missing on the target${deps}`;
    return `${d.kind} ${d.name} exists only on the target${deps}`;
}

// ---------------------------------------------------------------------------------------------
// Data: counts, checksums, locating differing rows

export interface SideChecksum {
    rows: number;
    checksum: string;
    ms: number;
}

async function tableChecksum(c: Client, r: Rendering, rel: RelationInfo): Promise<SideChecksum> {
    const start = process.hrtime.bigint();
    const only = rel.relkind === "r" ? "ONLY " : "";
    const res = await c.query<{ n: string; s: string }>(
        `SELECT count(*)::text AS n, coalesce(sum(${hashSql(r, "(r.*)::text")}), 0)::text AS s FROM ${only}${qname(rel.schema, rel.name)} AS r`);
    return { rows: Number(res.rows[0].n), checksum: res.rows[0].s, ms: elapsed(start) };
}

const BUCKET_BITS = 12;
const FINAL_BUCKET_ROWS = 2000;

/**
 * Names the rows that differ, for a table with a primary key: compares per-bucket counts and
 * checksums (buckets = bits of the key's hash), narrows to differing buckets until they are
 * small, then compares the keys of those buckets. Client memory stays bounded (4096 buckets,
 * at most a few thousand keys per side).
 */
export async function locateRowDifferences(
    src: Client, tgt: Client, r: Rendering, rel: RelationInfo, key: string[], limit = 5,
): Promise<RowDifference[]> {
    const only = rel.relkind === "r" ? "ONLY " : "";
    const from = `${only}${qname(rel.schema, rel.name)} AS r`;
    const keyText = `ROW(${key.map((k) => `r.${quoteIdent(k)}`).join(", ")})::text`;
    const kh = hashSql(r, keyText);
    const rh = hashSql(r, "(r.*)::text");
    const bucketsOf = async (c: Client, mask: bigint, prefix: bigint, shift: number) => {
        const res = await c.query<{ b: string; n: string; s: string }>(
            `SELECT ((x.kh >> ${shift}) & ${(1 << BUCKET_BITS) - 1})::text AS b, count(*)::text AS n, sum(x.rh)::text AS s
               FROM (SELECT ${kh} AS kh, ${rh} AS rh FROM ${from}) x
              WHERE (x.kh & $1::bigint) = $2::bigint GROUP BY 1`, [mask.toString(), prefix.toString()]);
        return new Map(res.rows.map((row) => [Number(row.b), { n: Number(row.n), s: row.s }]));
    };
    const ALL = BigInt((1 << BUCKET_BITS) - 1);
    let mask = 0n;
    let prefix = 0n;
    let finals: bigint[] = [];
    for (let level = 0; level < 4; level++) {
        const shift = level * BUCKET_BITS;
        const [a, b] = await Promise.all([bucketsOf(src, mask, prefix, shift), bucketsOf(tgt, mask, prefix, shift)]);
        const differing = [...new Set([...a.keys(), ...b.keys()])]
            .filter((k) => a.get(k)?.n !== b.get(k)?.n || a.get(k)?.s !== b.get(k)?.s)
            .sort((x, y) => x - y);
        if (differing.length === 0) return [];
        const size = (k: number) => Math.max(a.get(k)?.n ?? 0, b.get(k)?.n ?? 0);
        const levelMask = mask | (ALL << BigInt(shift));
        const small = differing.slice(0, limit).filter((k) => size(k) <= FINAL_BUCKET_ROWS);
        if (small.length > 0 || level === 3) {
            finals = (small.length > 0 ? small : differing.slice(0, 1)).map((k) => prefix | (BigInt(k) << BigInt(shift)));
            mask = levelMask;
            break;
        }
        // Narrow down into the first differing bucket.
        prefix = prefix | (BigInt(differing[0]) << BigInt(shift));
        mask = levelMask;
    }
    const keysOf = async (c: Client) => {
        const res = await c.query<{ k: string; h: string }>(
            `SELECT x.k, x.rh::text AS h FROM (SELECT ${keyText} AS k, ${kh} AS kh, ${rh} AS rh FROM ${from}) x
              WHERE (x.kh & $1::bigint) = ANY($2::bigint[])`, [mask.toString(), finals.map(String)]);
        return new Map(res.rows.map((row) => [row.k, row.h]));
    };
    const [a, b] = await Promise.all([keysOf(src), keysOf(tgt)]);
    const out: RowDifference[] = [];
    const label = (k: string) => `(${key.join(", ")})=${k}`;
    for (const [k, h] of a) {
        if (!b.has(k)) out.push({ key: label(k), change: "missing on target" });
        else if (b.get(k) !== h) out.push({ key: label(k), change: "differs" });
    }
    for (const k of b.keys()) if (!a.has(k)) out.push({ key: label(k), change: "extra on target" });
    out.sort((x, y) => byName(x.key, y.key));
    return out.slice(0, limit);
}

async function openSession(conn: PgConnection, r: Rendering, opts: { catalogSearchPath: boolean; rowSecurity: boolean }): Promise<{ client: Client; close(): Promise<void> }> {
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

/**
 * The order tables are checked in: the largest (pg_table_size, with TOAST) first, so that the
 * last table to finish is a small one and no connection idles while one big scan ends the
 * stage (longest-processing-time-first scheduling); ties by name, so the order is stable.
 */
export function largestFirst<T extends { schema: string; name: string; bytes: number; tableBytes?: number }>(rels: T[]): T[] {
    const size = (t: T) => t.tableBytes ?? t.bytes;
    return [...rels].sort((a, b) => size(b) - size(a) || byName(a.schema, b.schema) || byName(a.name, b.name));
}

/**
 * Counts and checksums every table on both sides, `concurrency` tables at a time (one
 * connection per side per worker). Partitioned tables are the sum of their partitions.
 */
export async function compareTableData(
    source: PgConnection, target: PgConnection, r: Rendering,
    srcRelations: RelationInfo[], tgtRelations: RelationInfo[],
    opts: { excludeTables?: string[]; concurrency?: number; onProgress?: (m: string) => void; sourceChecksums?: Map<string, SideChecksum> } = {},
): Promise<TableCheck[]> {
    const excluded = new Set(opts.excludeTables ?? []);
    const key = (t: { schema: string; name: string }) => `${t.schema}.${t.name}`;
    const tgtByKey = new Map(tgtRelations.map((t) => [key(t), t] as const));
    const considered = srcRelations.filter((t) => !excluded.has(key(t)) && t.relkind !== "f")
        .sort((a, b) => byName(a.schema, b.schema) || byName(a.name, b.name));
    const scanned = considered.filter((t) => t.relkind === "r" || (t.relkind === "m" && t.populated));
    const results = new Map<string, TableCheck>();
    const workers = Math.max(1, Math.min(opts.concurrency ?? 4, scanned.length));
    let done = 0;
    let doneBytes = 0;
    const totalBytes = scanned.reduce((n, t) => n + t.bytes, 0);
    const started = Date.now();
    const throttle = progressThrottle();
    const inFlight = new Map<string, number>();
    // Long tables: say which are still being read, every 30 seconds.
    const heartbeat = setInterval(() => {
        if (inFlight.size === 0) return;
        opts.onProgress?.(`still checking ${[...inFlight].map(([k, t]) => `${k} (${formatDuration(Date.now() - t)})`).join(", ")}; ${done}/${scanned.length} tables done`);
    }, 30_000);
    heartbeat.unref?.();

    type Worker = { src: { client: Client; close(): Promise<void> }; tgt: { client: Client; close(): Promise<void> } };
    const pool: Worker[] = [];
    const acquire = async (): Promise<Worker> => {
        const w = pool.pop();
        if (w) return w;
        const s = await openSession(source, r, { catalogSearchPath: true, rowSecurity: false });
        try {
            const t = await openSession(target, r, { catalogSearchPath: true, rowSecurity: false });
            return { src: s, tgt: t };
        } catch (err) {
            await s.close();
            throw err;
        }
    };
    const all: Worker[] = [];
    try {
        await mapLimit(largestFirst(scanned), workers, async (rel) => {
            const w = await acquire();
            if (!all.includes(w)) all.push(w);
            const k = key(rel);
            inFlight.set(k, Date.now());
            try {
                const tRel = tgtByKey.get(k);
                const kind: TableCheck["kind"] = rel.relkind === "m" ? "materialized view" : "table";
                const base = { schema: rel.schema, name: rel.name, kind, key: rel.primaryKey };
                const tgtScannable = tRel && (tRel.relkind === rel.relkind) && (tRel.relkind !== "m" || tRel.populated);
                const label = (side: Side, e: unknown) => `${side === "source" ? "the source" : "the target"}: ${redact(errorMessage(e))}`;
                const [a, b] = await Promise.all([
                    opts.sourceChecksums?.get(rel.oid) ?? tableChecksum(w.src.client, r, rel).catch((e) => { throw new Error(`checksum of ${k} failed on ${label("source", e)}`); }),
                    tgtScannable ? tableChecksum(w.tgt.client, r, rel).catch((e) => { throw new Error(`checksum of ${k} failed on ${label("target", e)}`); }) : Promise.resolve(undefined),
                ]);
                const check: TableCheck = {
                    ...base,
                    sourceRows: a.rows,
                    targetRows: b ? b.rows : null,
                    match: !!b && a.rows === b.rows && a.checksum === b.checksum,
                    sourceChecksum: a.checksum,
                    targetChecksum: b ? b.checksum : null,
                    countMatch: !!b && a.rows === b.rows,
                    checksumMatch: !!b && a.checksum === b.checksum,
                    sourceMs: a.ms,
                    targetMs: b ? b.ms : 0,
                };
                if (!tRel) check.note = "missing on the target";
                else if (!tgtScannable) check.note = tRel.relkind === "m" && !tRel.populated ? "not populated on the target" : "a different kind of relation on the target";
                if (b && !check.match) {
                    if (rel.primaryKey) {
                        try {
                            const rows = await locateRowDifferences(w.src.client, w.tgt.client, r, rel, rel.primaryKey);
                            if (rows.length) check.rows = rows;
                        } catch (err) {
                            check.note = `the differing rows could not be located: ${redact(errorMessage(err))}`;
                        }
                    } else {
                        check.note = "no primary key: the differing rows cannot be named";
                    }
                }
                results.set(k, check);
                done++;
                doneBytes += rel.bytes;
                // A difference always gets its line, and so does the last table; the others as
                // the shared progress rule allows.
                const last = done === scanned.length;
                if (!check.match || last || throttle.due(doneBytes, totalBytes)) {
                    opts.onProgress?.(`${last ? "last table " : ""}${k}: ${a.rows} rows ${check.match ? "match" : "DIFFER"} (${done}/${scanned.length} tables, ${formatRate(doneBytes, Date.now() - started, totalBytes)})`);
                }
            } finally {
                inFlight.delete(k);
                pool.push(w);
            }
        });
    } finally {
        clearInterval(heartbeat);
        for (const w of all) {
            await w.src.close();
            await w.tgt.close();
        }
    }

    // Partitioned tables: the sum of their leaf partitions (scanned once, not twice).
    const children = new Map<string, RelationInfo[]>();
    for (const t of srcRelations) for (const p of t.parents) children.set(p, [...(children.get(p) ?? []), t]);
    const leaves = (k: string, seen = new Set<string>()): RelationInfo[] => {
        if (seen.has(k)) return [];
        seen.add(k);
        return (children.get(k) ?? []).flatMap((c) => (c.relkind === "p" ? leaves(key(c), seen) : [c]));
    };
    for (const rel of considered.filter((t) => t.relkind === "p")) {
        const k = key(rel);
        const parts = leaves(k).map((l) => results.get(key(l))).filter((x): x is TableCheck => !!x);
        const skipped = leaves(k).filter((l) => !results.has(key(l))).map(key);
        const tRel = tgtByKey.get(k);
        const sum = (xs: (string | null)[]) => xs.reduce((acc: bigint | null, x) => (acc === null || x === null ? null : acc + BigInt(x)), 0n);
        const srcRows = parts.reduce((n, p) => n + p.sourceRows, 0);
        const tgtRows = tRel && parts.every((p) => p.targetRows !== null) ? parts.reduce((n, p) => n + (p.targetRows as number), 0) : null;
        const srcSum = sum(parts.map((p) => p.sourceChecksum));
        const tgtSum = tRel ? sum(parts.map((p) => p.targetChecksum)) : null;
        const check: TableCheck = {
            schema: rel.schema, name: rel.name, kind: "partitioned table", key: rel.primaryKey,
            sourceRows: srcRows, targetRows: tgtRows,
            sourceChecksum: srcSum === null ? null : srcSum.toString(), targetChecksum: tgtSum === null ? null : tgtSum.toString(),
            countMatch: tgtRows !== null && tgtRows === srcRows,
            checksumMatch: srcSum !== null && tgtSum !== null && srcSum === tgtSum,
            match: false,
            sourceMs: 0, targetMs: 0,
        };
        check.match = check.countMatch && check.checksumMatch && parts.every((p) => p.match);
        const notes = [`sum of ${parts.length} partition${parts.length === 1 ? "" : "s"}`];
        if (skipped.length) notes.push(`not included: ${skipped.join(", ")}`);
        if (!tRel) notes.push("missing on the target");
        check.note = notes.join("; ");
        results.set(k, check);
    }
    return considered.filter((t) => results.has(key(t))).map((t) => results.get(key(t)) as TableCheck);
}

export function describeTableCheck(t: TableCheck): string {
    const k = `${t.schema}.${t.name}`;
    const what = t.kind === "table" ? "table" : t.kind;
    if (t.targetRows === null) {
        return t.note === "missing on the target" || t.note?.includes("missing on the target")
            ? `${what} ${k} is missing on the target`
            : `${what} ${k}: ${t.note ?? "not comparable on the target"}`;
    }
    const rows = t.rows?.length ? `; ${t.rows.map((r) => `row ${r.key} ${r.change === "differs" ? "differs" : r.change === "missing on target" ? "is missing on the target" : "exists only on the target"}`).join(", ")}` : "";
    const note = !t.rows?.length && t.note && t.kind !== "partitioned table" ? ` (${t.note})` : "";
    if (!t.countMatch) return `${what} ${k}: ${t.sourceRows} rows on the source, ${t.targetRows} on the target${rows}${note}`;
    return `${what} ${k}: same ${t.sourceRows} rows, different content (checksum ${t.sourceChecksum} on the source, ${t.targetChecksum} on the target)${rows}${note}`;
}

// ---------------------------------------------------------------------------------------------
// Sequences

export async function readSequences(c: Client, names: { schema: string; name: string }[]): Promise<Map<string, SequenceValue>> {
    const out = new Map<string, SequenceValue>();
    for (let i = 0; i < names.length; i += 100) {
        const batch = names.slice(i, i + 100);
        const sql = batch.map((s, j) => `SELECT ${j} AS i, last_value::text AS v, is_called AS c FROM ${qname(s.schema, s.name)}`).join(" UNION ALL ");
        const res = await c.query<{ i: number; v: string; c: boolean }>(sql);
        for (const row of res.rows) {
            const s = batch[row.i];
            out.set(`${s.schema}.${s.name}`, { lastValue: row.v, isCalled: row.c });
        }
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Large objects

const LO_CHUNK = 1024 * 1024;
const LO_PAGE = 500;

interface LoRow {
    oid: number;
    size: number;
    hash: string;
}

async function largeObjectPage(c: Client, r: Rendering, after: number): Promise<LoRow[]> {
    // lo_open/lo_lseek64 give the size without reading; the content is hashed 1 MiB at a time,
    // chunk hashes include their position; the per-object hash is their sum.
    await c.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    try {
        const res = await c.query<{ oid: string; size: string; h: string }>(`
SELECT m.oid::int8::text AS oid, s.size::text AS size,
       (SELECT coalesce(sum(${hashSql(r, `i::text || ':' || md5(lo_get(m.oid, i * ${LO_CHUNK}, ${LO_CHUNK}))`)}), 0)
          FROM generate_series(0::int8, greatest((s.size - 1) / ${LO_CHUNK}, 0)) AS i)::text AS h
FROM (SELECT oid FROM pg_catalog.pg_largeobject_metadata WHERE oid > $1::int8::oid ORDER BY oid LIMIT ${LO_PAGE}) m
CROSS JOIN LATERAL (SELECT lo_lseek64(lo_open(m.oid, 262144), 0, 2) AS size) s
ORDER BY m.oid`, [String(after)]);
        return res.rows.map((row) => ({ oid: Number(row.oid), size: Number(row.size), hash: row.h }));
    } finally {
        await c.query("COMMIT").catch(() => undefined);
    }
}

/** Walks the large objects of both sides in oid order, a page at a time, and compares them one by one. */
export async function compareLargeObjects(src: Client, tgt: Client, r: Rendering, opts: { maxListed?: number } = {}): Promise<LargeObjectComparison> {
    const max = opts.maxListed ?? 200;
    const totals = { source: { count: 0, bytes: 0, checksum: 0n }, target: { count: 0, bytes: 0, checksum: 0n } };
    const differences: LargeObjectComparison["differences"] = [];
    let more = 0;
    const note = (d: LargeObjectComparison["differences"][number]) => (differences.length < max ? differences.push(d) : more++);
    const reader = (c: Client, side: Side) => {
        let buf: LoRow[] = [];
        let pos = 0;
        let last = 0;
        let end = false;
        return {
            async peek(): Promise<LoRow | undefined> {
                if (pos >= buf.length && !end) {
                    try {
                        buf = await largeObjectPage(c, r, last);
                    } catch (err) {
                        throw new Error(`reading large objects on ${side === "source" ? "the source" : "the target"} failed: ${redact(errorMessage(err))}`);
                    }
                    pos = 0;
                    if (buf.length < LO_PAGE) end = true;
                    if (buf.length) last = buf[buf.length - 1].oid;
                }
                return buf[pos];
            },
            take(): LoRow {
                const row = buf[pos++];
                const t = totals[side];
                t.count++;
                t.bytes += row.size;
                t.checksum += BigInt(row.hash);
                return row;
            },
        };
    };
    const a = reader(src, "source");
    const b = reader(tgt, "target");
    for (;;) {
        const [x, y] = await Promise.all([a.peek(), b.peek()]);
        if (!x && !y) break;
        if (x && (!y || x.oid < y.oid)) {
            a.take();
            note({ oid: x.oid, change: "missing on target", sourceBytes: x.size });
        } else if (y && (!x || y.oid < x.oid)) {
            b.take();
            note({ oid: y.oid, change: "extra on target", targetBytes: y.size });
        } else if (x && y) {
            a.take();
            b.take();
            if (x.size !== y.size || x.hash !== y.hash) note({ oid: x.oid, change: "differs", sourceBytes: x.size, targetBytes: y.size });
        }
    }
    const summary = (t: { count: number; bytes: number; checksum: bigint }): LargeObjectSummary => ({ count: t.count, bytes: t.bytes, checksum: t.checksum.toString() });
    return { ok: differences.length === 0 && more === 0, source: summary(totals.source), target: summary(totals.target), differences, more };
}

export function describeLargeObjectDifference(d: LargeObjectComparison["differences"][number]): string {
    if (d.change === "missing on target") return `large object ${d.oid} (${d.sourceBytes} bytes) is missing on the target`;
    if (d.change === "extra on target") return `large object ${d.oid} exists only on the target`;
    return `large object ${d.oid} differs (${d.sourceBytes} bytes on the source, ${d.targetBytes} on the target)`;
}

// ---------------------------------------------------------------------------------------------
// Settings

/** Settings that change what queries return or how they behave. */
const BEHAVIOUR_SETTINGS = [
    "search_path", "timezone", "datestyle", "intervalstyle", "lc_messages", "lc_monetary", "lc_numeric", "lc_time",
    "lc_collate", "lc_ctype", "server_encoding", "client_encoding", "default_transaction_isolation", "default_transaction_read_only",
    "default_transaction_deferrable", "standard_conforming_strings", "bytea_output", "extra_float_digits", "statement_timeout",
    "lock_timeout", "idle_in_transaction_session_timeout", "idle_session_timeout", "transaction_timeout", "default_text_search_config",
    "check_function_bodies", "row_security", "xmloption", "xmlbinary", "array_nulls", "backslash_quote", "escape_string_warning",
    "transform_null_equals", "quote_all_identifiers", "session_replication_role", "synchronous_commit", "default_table_access_method",
    "default_tablespace", "temp_tablespaces", "timezone_abbreviations", "gin_fuzzy_search_limit", "lo_compat_privileges",
    "default_toast_compression", "max_connections", "plpgsql.variable_conflict", "plpgsql.extra_warnings", "plpgsql.extra_errors",
    "client_min_messages", "default_with_oids", "operator_precedence_warning", "allow_system_table_mods", "shared_preload_libraries",
    "session_preload_libraries", "local_preload_libraries", "exit_on_error", "temp_file_limit", "vacuum_freeze_min_age",
    "old_snapshot_threshold", "max_locks_per_transaction", "max_pred_locks_per_transaction", "password_encryption", "integer_datetimes",
];
/** Settings that change plans and speed. */
const PERFORMANCE_SETTINGS = [
    "work_mem", "maintenance_work_mem", "hash_mem_multiplier", "temp_buffers", "effective_cache_size", "random_page_cost",
    "seq_page_cost", "cpu_tuple_cost", "cpu_index_tuple_cost", "cpu_operator_cost", "parallel_setup_cost", "parallel_tuple_cost",
    "min_parallel_table_scan_size", "min_parallel_index_scan_size", "effective_io_concurrency", "maintenance_io_concurrency",
    "default_statistics_target", "constraint_exclusion", "cursor_tuple_fraction", "from_collapse_limit", "join_collapse_limit",
    "max_parallel_workers_per_gather", "max_parallel_workers", "max_parallel_maintenance_workers", "plan_cache_mode",
    "force_parallel_mode", "debug_parallel_query", "recursive_worktree_factor", "parallel_leader_participation", "logical_decoding_work_mem",
];
const PERFORMANCE_PATTERNS = [/^enable_/, /^geqo/, /^jit/];
/** Settings that always differ between two servers: paths, ports, TLS files, memory sizing, WAL, replication, logging. */
const IGNORED_SETTINGS = [
    "application_name", "cluster_name", "session_authorization", "role", "is_superuser", "in_hot_standby", "transaction_isolation",
    "transaction_read_only", "transaction_deferrable", "shared_buffers", "huge_pages", "huge_page_size", "huge_pages_status",
    "shared_memory_type", "shared_memory_size", "shared_memory_size_in_huge_pages", "dynamic_shared_memory_type",
    "min_dynamic_shared_memory", "max_stack_depth", "max_files_per_process", "max_worker_processes", "max_prepared_transactions",
    "superuser_reserved_connections", "reserved_connections", "max_wal_size", "min_wal_size", "server_version", "server_version_num",
    "data_checksums", "data_directory_mode", "block_size", "segment_size", "wal_block_size", "wal_segment_size", "max_function_args",
    "max_identifier_length", "max_index_keys", "debug_assertions", "krb_server_keyfile", "krb_caseins_users", "dynamic_library_path",
    "port", "listen_addresses", "authentication_timeout", "db_user_namespace", "event_source", "update_process_title",
    "max_wal_senders", "max_replication_slots", "max_logical_replication_workers", "max_sync_workers_per_subscription",
    "max_parallel_apply_workers_per_subscription", "fsync", "full_page_writes", "commit_delay", "commit_siblings",
    "backend_flush_after", "bgwriter_delay", "bgwriter_lru_maxpages", "bgwriter_lru_multiplier", "bgwriter_flush_after",
    "vacuum_buffer_usage_limit", "io_combine_limit", "autovacuum_worker_slots", "restart_after_crash", "remove_temp_files_after_crash",
    "unix_socket_directories", "unix_socket_group", "unix_socket_permissions", "bonjour", "bonjour_name", "ignore_system_indexes",
    "ignore_checksum_failure", "zero_damaged_pages", "ignore_invalid_pages", "data_sync_retry", "recovery_init_sync_method",
    "shared_preload_libraries_loaded", "config_file", "hba_file", "ident_file", "data_directory", "external_pid_file",
    "stats_temp_directory", "primary_conninfo", "primary_slot_name", "restore_command", "archive_command", "archive_library",
    "archive_mode", "archive_timeout", "archive_cleanup_command", "promote_trigger_file", "synchronous_standby_names",
];
const IGNORED_PATTERNS = [
    /^ssl/, /^log_/, /^logging_/, /^syslog_/, /^wal_/, /^checkpoint_/, /^track_/, /^stats_/, /^hot_standby/, /^recovery_/,
    /^tcp_/, /^debug_(print|pretty|discard|io|logical|copy)/, /^trace_/, /^autovacuum/, /^vacuum_cost/, /^max_slot_wal/,
    /^idle_replication/, /^wal_sender/, /^wal_receiver/, /^gss/, /^krb/, /^compute_query_id$/, /^event_triggers$/,
    /^pg_stat_statements\./, /^auto_explain\./, /^azure\./, /^heroku\./, /^pgms_/, /^pg_qs\./, /^pgaudit\./, /^cron\./,
];

export function classifySetting(name: string): SettingCategory | "ignored" {
    const n = name.toLowerCase();
    if (BEHAVIOUR_SETTINGS.includes(n)) return "behaviour";
    if (PERFORMANCE_SETTINGS.includes(n) || PERFORMANCE_PATTERNS.some((re) => re.test(n))) return "performance";
    if (IGNORED_SETTINGS.includes(n) || IGNORED_PATTERNS.some((re) => re.test(n))) return "ignored";
    return "other";
}

export interface SettingRow {
    name: string;
    setting: string;
    unit: string;
    source: string;
    category: string;
    display: string;
}

export interface SettingsSnapshot {
    rows: SettingRow[];
    databaseSettings: string[];
    database: Record<string, string>;
}

function csvField(v: string): string {
    return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export function settingsCsv(rows: SettingRow[]): string {
    const lines = ["name,setting,unit,source,category"];
    for (const r of rows) lines.push([r.name, r.setting, r.unit, r.source, r.category].map(csvField).join(","));
    return lines.join("\n") + "\n";
}

/** Must run on a fresh session (before any SET), so that pg_settings shows what applications get. */
export async function readServerSettings(c: Client): Promise<SettingsSnapshot> {
    const res = await c.query<SettingRow>(
        `SELECT name, coalesce(setting, '') AS setting, coalesce(unit, '') AS unit, source, category, coalesce(current_setting(name, true), setting, '') AS display
           FROM pg_catalog.pg_settings ORDER BY name`);
    const db = await c.query<{ cfg: string }>(
        `SELECT cfg FROM pg_catalog.pg_db_role_setting s, unnest(s.setconfig) AS cfg
          WHERE s.setrole = 0 AND s.setdatabase = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()) ORDER BY 1`);
    const props = await c.query<{ j: Record<string, unknown> }>(
        "SELECT to_jsonb(d) AS j FROM pg_catalog.pg_database d WHERE d.datname = current_database()");
    const j = props.rows[0]?.j ?? {};
    const database: Record<string, string> = {};
    const enc = await c.query<{ e: string }>("SELECT pg_catalog.pg_encoding_to_char(encoding) AS e FROM pg_catalog.pg_database WHERE datname = current_database()");
    database.encoding = enc.rows[0]?.e ?? "";
    for (const [k, label] of [["datcollate", "collate"], ["datctype", "ctype"], ["datlocprovider", "locale provider"], ["daticulocale", "icu locale"], ["datlocale", "locale"], ["daticurules", "icu rules"]] as const) {
        if (j[k] !== undefined && j[k] !== null && j[k] !== "") database[label] = String(j[k]);
    }
    return {
        rows: res.rows.map((r) => ({ ...r, display: redact(r.display), setting: redact(r.setting) })),
        databaseSettings: db.rows.map((r) => redact(r.cfg)),
        database,
    };
}

export function diffSettings(
    source: SettingsSnapshot, target: SettingsSnapshot,
    opts: { requireSettings?: string[]; expected?: Record<string, string> } = {},
): SettingsComparison {
    const required = new Set((opts.requireSettings ?? []).map((s) => s.toLowerCase()));
    const expected = new Map(Object.entries(opts.expected ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    const a = new Map(source.rows.map((r) => [r.name.toLowerCase(), r] as const));
    const b = new Map(target.rows.map((r) => [r.name.toLowerCase(), r] as const));
    const names = [...new Set([...a.keys(), ...b.keys(), ...required])].sort();
    const differences: SettingDifference[] = [];
    const ignored: string[] = [];
    let compared = 0;
    for (const n of names) {
        const x = a.get(n);
        const y = b.get(n);
        const isRequired = required.has(n);
        if (x && y) compared++;
        const same = x && y && x.setting === y.setting && x.unit === y.unit;
        if (same) continue;
        const cls = classifySetting(n);
        if (cls === "ignored" && !isRequired) {
            ignored.push(x?.name ?? y?.name ?? n);
            continue;
        }
        const d: SettingDifference = {
            name: x?.name ?? y?.name ?? n,
            category: cls === "ignored" ? "other" : cls,
            source: x ? x.display : null,
            target: y ? y.display : null,
            required: isRequired,
        };
        if (x) d.sourceOrigin = x.source;
        if (y) d.targetOrigin = y.source;
        if (expected.has(n)) d.note = expected.get(n);
        else if (!x && !y) d.note = "not a setting on either server";
        differences.push(d);
    }
    // Database properties that change sorting and text handling.
    for (const k of [...new Set([...Object.keys(source.database), ...Object.keys(target.database)])].sort()) {
        const x = source.database[k];
        const y = target.database[k];
        if (x === y) continue;
        differences.push({ name: `database ${k}`, category: "behaviour", source: x ?? null, target: y ?? null, required: required.has(`database ${k}`) });
    }
    const rank: Record<SettingCategory, number> = { behaviour: 0, performance: 1, other: 2 };
    differences.sort((p, q) => Number(q.required) - Number(p.required) || rank[p.category] - rank[q.category] || byName(p.name, q.name));
    const ok = differences.every((d) => !d.required);
    return {
        ok,
        differences,
        ignored,
        compared,
        databaseSettings: { source: source.databaseSettings, target: target.databaseSettings },
        database: { source: source.database, target: target.database },
        csv: { source: settingsCsv(source.rows), target: settingsCsv(target.rows) },
    };
}

export function describeSettingDifference(d: SettingDifference): string {
    const v = (x: string | null, origin?: string) => (x === null ? "not set" : `${x}${origin && origin !== "default" ? ` (${origin})` : ""}`);
    return `setting ${d.name}: ${v(d.source, d.sourceOrigin)} on the source, ${v(d.target, d.targetOrigin)} on the target${d.note ? ` - ${d.note}` : ""}`;
}

// ---------------------------------------------------------------------------------------------
// User queries

const FETCH_ROWS = 200;

type Row = (string | null)[];

interface QueryStream {
    columns: string[];
    next(): Promise<Row[]>;
}

function sideError(side: Side, err: unknown): Error & { side: Side } {
    const e = new Error(redact(errorMessage(err))) as Error & { side: Side };
    e.side = side;
    return e;
}

async function openQuery(c: Client, sql: string, index: number, side: Side): Promise<QueryStream> {
    try {
        await c.query(USER_QUERY_BEGIN);
        await c.query(userQueryCursor(sql, index));
    } catch (err) {
        throw sideError(side, err);
    }
    const fetch = async (): Promise<{ rows: Row[]; columns: string[] }> => {
        try {
            // Raw text values, as the server renders them under the verification session settings.
            const res = await c.query({ text: `FETCH ${FETCH_ROWS} FROM a2h_verify_q`, rowMode: "array", types: { getTypeParser: () => (v: string) => v } as any });
            return { rows: res.rows as Row[], columns: res.fields.map((f) => f.name) };
        } catch (err) {
            throw sideError(side, err);
        }
    };
    const first = await fetch();
    let pending: Row[] | undefined = first.rows;
    return {
        columns: first.columns,
        async next() {
            if (pending) {
                const p = pending;
                pending = undefined;
                return p;
            }
            return (await fetch()).rows;
        },
    };
}

/** Runs one query on both sides and compares the ordered results row by row, streaming (bounded memory). */
export async function compareQuery(src: Client, tgt: Client, sql: string, index: number): Promise<QueryCheck> {
    const check: QueryCheck = { index, sql, match: false, sourceRows: null, targetRows: null, sourceHash: null, targetHash: null };
    const shown = (row: string) => redact(truncate(row, 500) as string);
    try {
        const opened = await Promise.allSettled([openQuery(src, sql, index, "source"), openQuery(tgt, sql, index, "target")]);
        const failed = opened.find((o): o is PromiseRejectedResult => o.status === "rejected");
        if (failed) throw failed.reason;
        const [a, b] = opened.map((o) => (o as PromiseFulfilledResult<QueryStream>).value);
        check.columns = { source: a.columns, target: b.columns };
        const ha = crypto.createHash("sha256").update(JSON.stringify(a.columns) + "\n");
        const hb = crypto.createHash("sha256").update(JSON.stringify(b.columns) + "\n");
        let na = 0;
        let nb = 0;
        let bufA: Row[] = [];
        let bufB: Row[] = [];
        let endA = false;
        let endB = false;
        for (;;) {
            const [ra, rb] = await Promise.all([
                bufA.length === 0 && !endA ? a.next() : Promise.resolve(undefined),
                bufB.length === 0 && !endB ? b.next() : Promise.resolve(undefined),
            ]);
            if (ra) {
                bufA = ra;
                if (ra.length < FETCH_ROWS) endA = true;
            }
            if (rb) {
                bufB = rb;
                if (rb.length < FETCH_ROWS) endB = true;
            }
            if (bufA.length === 0 && bufB.length === 0) break;
            const pairs = Math.min(bufA.length, bufB.length);
            for (let i = 0; i < pairs; i++) {
                const x = JSON.stringify(bufA[i]);
                const y = JSON.stringify(bufB[i]);
                ha.update(x + "\n");
                hb.update(y + "\n");
                na++;
                nb++;
                if (!check.firstDifference && x !== y) check.firstDifference = { row: na, source: shown(x), target: shown(y) };
            }
            bufA = bufA.slice(pairs);
            bufB = bufB.slice(pairs);
            // One side has ended: the other side's remaining rows have no counterpart.
            if (bufA.length === 0 && endA) {
                for (const row of bufB) {
                    const y = JSON.stringify(row);
                    hb.update(y + "\n");
                    nb++;
                    if (!check.firstDifference) check.firstDifference = { row: nb, source: null, target: shown(y) };
                }
                bufB = [];
            }
            if (bufB.length === 0 && endB) {
                for (const row of bufA) {
                    const x = JSON.stringify(row);
                    ha.update(x + "\n");
                    na++;
                    if (!check.firstDifference) check.firstDifference = { row: na, source: shown(x), target: null };
                }
                bufA = [];
            }
        }
        check.sourceRows = na;
        check.targetRows = nb;
        check.sourceHash = ha.digest("hex");
        check.targetHash = hb.digest("hex");
        const sameColumns = JSON.stringify(a.columns) === JSON.stringify(b.columns);
        if (!sameColumns) check.firstDifference = { row: 0, source: JSON.stringify(a.columns), target: JSON.stringify(b.columns) };
        check.match = sameColumns && na === nb && check.sourceHash === check.targetHash;
        return check;
    } catch (err) {
        const side: Side = (err as { side?: Side }).side ?? "source";
        check.error = { side, message: redact(errorMessage(err)) };
        return check;
    } finally {
        await src.query("ROLLBACK").catch(() => undefined);
        await tgt.query("ROLLBACK").catch(() => undefined);
    }
}

export function describeQueryCheck(q: QueryCheck): string {
    const label = `query ${q.index + 1} (${truncate(q.sql.replace(/\s+/g, " "), 80)})`;
    if (q.error) return `${label} failed on the ${q.error.side}: ${q.error.message}`;
    const rows = q.sourceRows !== q.targetRows ? `${q.sourceRows} rows on the source, ${q.targetRows} on the target; ` : "";
    const d = q.firstDifference;
    if (d && d.row === 0) return `${label}: columns differ: ${d.source} on the source, ${d.target} on the target`;
    return `${label}: ${rows}results differ from row ${d?.row}: ${d?.source ?? "(no row)"} on the source, ${d?.target ?? "(no row)"} on the target`;
}

// ---------------------------------------------------------------------------------------------
// Restore log

/** Error and warning lines of a restore log (pg_restore's stderr as Heroku's transfer logs). */
export function scanRestoreLogs(logs: { message: string }[]): { errors: string[]; warnings: string[] } {
    const errors: string[] = [];
    const warnings: string[] = [];
    for (const l of logs) {
        const m = redact(String(l.message ?? ""));
        if (/\b(error|fatal|failed)\b/i.test(m)) errors.push(m);
        else if (/\bwarning\b/i.test(m)) warnings.push(m);
    }
    return { errors: errors.slice(0, 500), warnings: warnings.slice(0, 500) };
}

// ---------------------------------------------------------------------------------------------
// Everything

async function serverInfo(c: Client): Promise<ServerInfo> {
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

// ---------------------------------------------------------------------------------------------
// Source checksums ahead of the comparison (during the restore)

/**
 * The source side of the table checksums, computed before the target is ready (the source is
 * frozen once the dump has been taken, so the restore's minutes can be used to read it).
 * verifyDatabases uses them only when it can prove that the source has not changed since:
 * `horizon` is the source cluster's transaction horizon (the xmax of a snapshot in which no
 * transaction was in progress) taken before the first scan; every transaction that writes
 * anything is assigned an id and moves that horizon when it ends, so an unchanged horizon at
 * verification means no write has committed or aborted anywhere in the cluster since, and the
 * tables still hold what was checksummed. A moved horizon (a write, or any other database's
 * traffic) only means the source side is scanned again, as without precomputed checksums.
 */
export interface SourceChecksums {
    /** Rendering the row text was hashed with; must equal the comparison's. */
    rendering: Rendering;
    /** Transaction horizon before the first scan, or null when a transaction was in progress then. */
    horizon: string | null;
    /** Checksums by table oid. */
    tables: { oid: string; schema: string; name: string; rows: number; checksum: string; ms: number }[];
    startedAt: string;
    durationMs: number;
}

/** The cluster's transaction horizon, or null while some transaction is in progress below it. */
export async function transactionHorizon(c: Client, versionNum: number): Promise<string | null> {
    const fn = versionNum >= 130000 ? ["pg_current_snapshot", "pg_snapshot_xmin", "pg_snapshot_xmax"] : ["txid_current_snapshot", "txid_snapshot_xmin", "txid_snapshot_xmax"];
    const res = await c.query<{ xmin: string; xmax: string }>(`SELECT ${fn[1]}(s)::text AS xmin, ${fn[2]}(s)::text AS xmax FROM ${fn[0]}() AS s`);
    const { xmin, xmax } = res.rows[0];
    return xmin === xmax ? xmax : null;
}

/**
 * Checksums every table of the source (the tables verifyDatabases would scan), `concurrency`
 * at a time, with the rendering that the comparison with `target` will use (the target
 * database must exist: only its version and encoding are read). Meant to run while the
 * restore is still going; pass the result to verifyDatabases as `sourceChecksums`.
 */
export async function precomputeSourceChecksums(
    source: PgConnection, target: PgConnection,
    opts: { excludeTables?: string[]; concurrency?: number; onProgress?: (m: string) => void } = {},
): Promise<SourceChecksums> {
    const startedAt = new Date();
    const t0 = process.hrtime.bigint();
    const [srcInfo, tgtInfo] = await Promise.all([withClient(source, serverInfo), withClient(target, serverInfo)]);
    const r = chooseRendering(srcInfo, tgtInfo);
    const excluded = new Set(opts.excludeTables ?? []);
    const { horizon, relations } = await withClient(source, async (c) => {
        await prepareSession(c, r, { catalogSearchPath: true, rowSecurity: false });
        const horizon = await transactionHorizon(c, srcInfo.versionNum);
        return { horizon, relations: (await inspectSchema(c, srcInfo.versionNum)).relations };
    });
    const scanned = relations.filter((t) => !excluded.has(`${t.schema}.${t.name}`) && (t.relkind === "r" || (t.relkind === "m" && t.populated)));
    const sessions: { client: Client; close(): Promise<void> }[] = [];
    const free: { client: Client; close(): Promise<void> }[] = [];
    try {
        const tables = await mapLimit(largestFirst(scanned), Math.max(1, opts.concurrency ?? 4), async (rel) => {
            let s = free.pop();
            if (!s) {
                s = await openSession(source, r, { catalogSearchPath: true, rowSecurity: false });
                sessions.push(s);
            }
            try {
                const k = await tableChecksum(s.client, r, rel).catch((e) => {
                    throw new Error(`checksum of ${rel.schema}.${rel.name} failed on the source: ${redact(errorMessage(e))}`);
                });
                return { oid: rel.oid, schema: rel.schema, name: rel.name, ...k };
            } finally {
                free.push(s);
            }
        });
        const durationMs = elapsed(t0);
        opts.onProgress?.(`source checksums of ${tables.length} tables computed ahead in ${formatDuration(durationMs)}${horizon === null ? " (a transaction was in progress on the source: they will be computed again)" : ""}`);
        return { rendering: r, horizon, tables, startedAt: startedAt.toISOString(), durationMs };
    } finally {
        for (const s of sessions) await s.close();
    }
}

/** Why precomputed source checksums cannot be used now, or undefined when they can. */
async function staleSourceChecksums(source: PgConnection, pre: SourceChecksums, r: Rendering, versionNum: number): Promise<string | undefined> {
    // Field by field: the object went through Pulumi state, which does not keep key order.
    const same = pre.rendering && pre.rendering.hash === r.hash && pre.rendering.extraFloatDigits === r.extraFloatDigits && pre.rendering.utf8 === r.utf8;
    if (!same) return `they were rendered differently (${JSON.stringify(pre.rendering)}, now ${JSON.stringify(r)})`;
    if (pre.horizon === null) return "a transaction was in progress on the source when they were computed";
    const now = await withClient(source, (c) => transactionHorizon(c, versionNum));
    if (now !== pre.horizon) return `the source has ended transactions since (transaction horizon ${pre.horizon} then, ${now ?? "a transaction in progress"} now)`;
    return undefined;
}

/** The stages of verifyDatabases, in the order their timings are listed. */
const STAGE_ORDER = ["settings", "schema", "tables", "sequences", "large objects", "queries"];

/**
 * Compares the frozen source with the restored target: schema, data, sequences, large objects,
 * extensions, settings, queries and the restore log. Never throws for a difference (the result
 * says what differs); throws for connection failures and for checks that cannot run.
 */
export async function verifyDatabases(source: PgConnection, target: PgConnection, opts: VerifyOptions = {}): Promise<VerificationResult> {
    const startedAt = new Date();
    const t0 = process.hrtime.bigint();
    const timings: { stage: string; ms: number }[] = [];
    const progress = opts.onProgress ?? (() => undefined);
    const max = opts.maxListed ?? 200;
    const exclude = opts.excludeTables ?? [];
    const timed = async <T>(stage: string, fn: () => Promise<T>): Promise<T> => {
        const s = process.hrtime.bigint();
        try {
            return await fn();
        } finally {
            timings.push({ stage, ms: elapsed(s) });
        }
    };
    const both = <T>(fn: (conn: PgConnection, side: Side) => Promise<T>) => Promise.all([fn(source, "source"), fn(target, "target")]);

    // Settings on fresh sessions (SET would show in pg_settings), with server facts. The schema is
    // read at the same time on its own sessions, as soon as both servers' facts decide the rendering.
    let gotInfo!: Record<Side, (i: ServerInfo) => void>;
    let noInfo!: (err: unknown) => void;
    const rendering = new Promise<{ r: Rendering; servers: Record<Side, ServerInfo> }>((resolve, reject) => {
        const got: Partial<Record<Side, ServerInfo>> = {};
        const one = (side: Side) => (i: ServerInfo) => {
            got[side] = i;
            if (got.source && got.target) resolve({ r: chooseRendering(got.source, got.target), servers: { source: got.source, target: got.target } });
        };
        gotInfo = { source: one("source"), target: one("target") };
        noInfo = reject;
    });
    rendering.catch(() => undefined); // a failure is thrown from the settings stage below
    const settingsRun = timed("settings", () => both((conn, side) => withClient(conn, async (c) => {
        const info = await serverInfo(c);
        gotInfo[side](info);
        return { info, settings: await readServerSettings(c) };
    }).catch((err) => {
        noInfo(err);
        throw err;
    })));
    const schemaRun = timed("schema", () => both((conn, side) => withClient(conn, async (c) => {
        const { r: rr, servers: ss } = await rendering;
        await prepareSession(c, rr, { catalogSearchPath: true, rowSecurity: false });
        return inspectSchema(c, ss[side].versionNum);
    })));
    const first = await Promise.allSettled([settingsRun, schemaRun]);
    const firstFailure = first.find((x): x is PromiseRejectedResult => x.status === "rejected");
    if (firstFailure) throw firstFailure.reason;
    const [[srcSettings, tgtSettings], [srcSchema, tgtSchema]] = await Promise.all([settingsRun, schemaRun]);
    const { r, servers } = await rendering;
    const notes: string[] = [];
    if (r.extraFloatDigits === 0) notes.push(`float columns are compared to 15 significant digits: the source (${servers.source.version}) and the target (${servers.target.version}) print floats differently at full precision`);
    if (r.utf8) notes.push(`row text is converted to UTF-8 before hashing: the source encoding is ${servers.source.encoding}, the target's ${servers.target.encoding}`);
    if (majorVersion(servers.source.versionNum) !== majorVersion(servers.target.versionNum)) {
        notes.push(`definitions are compared as each server prints them (PostgreSQL ${servers.source.version} and ${servers.target.version}), without the qualifiers of qualified names, which the two versions print differently`);
    }
    const settings = diffSettings(srcSettings.settings, tgtSettings.settings, { requireSettings: opts.requireSettings, expected: opts.expectedSettingDifferences });
    progress(`settings: ${settings.compared} compared, ${settings.differences.length} differ (${settings.ignored.length} more always differ and are ignored)`);

    const crossVersion = majorVersion(servers.source.versionNum) !== majorVersion(servers.target.versionNum);
    const schema = diffSchema(srcSchema, tgtSchema, { excludeTables: exclude, maxListed: max, crossVersion });
    progress(`schema: ${srcSchema.objects.length} objects on the source, ${tgtSchema.objects.length} on the target, ${schema.differences.length + schema.more} differ`);

    // Data, sequences, large objects and the user's queries need nothing from one another: they
    // run at the same time, each on its own connections, so the short ones finish while the
    // tables are still being scanned. Every one runs to its end before an error is thrown, so no
    // query is left running on a server after verification has returned.
    const tablesRun = timed("tables", async () => {
        let sourceChecksums: Map<string, SideChecksum> | undefined;
        const pre = opts.sourceChecksums;
        if (pre) {
            const stale = await staleSourceChecksums(source, pre, r, servers.source.versionNum);
            if (stale) notes.push(`the source checksums computed during the restore were not used (${stale}): the source side was read again`);
            else {
                sourceChecksums = new Map(pre.tables.map((t) => [t.oid, { rows: t.rows, checksum: t.checksum, ms: t.ms }] as const));
                notes.push(`source checksums were computed during the restore (${formatDuration(pre.durationMs)}); the source has not changed since (no transaction has ended on it)`);
            }
        }
        return compareTableData(source, target, r, srcSchema.relations, tgtSchema.relations, {
            excludeTables: exclude, concurrency: opts.concurrency, onProgress: progress, sourceChecksums,
        });
    });

    const seqNames = (s: SchemaSnapshot) => s.objects.filter((o) => o.kind === "sequence").map((o) => {
        const rel = o.name;
        const dot = rel.indexOf(".");
        return { schema: rel.slice(0, dot), name: rel.slice(dot + 1) };
    });
    const sequencesRun = timed("sequences", async () => {
        const srcSeq = seqNames(srcSchema);
        const tgtSeq = seqNames(tgtSchema);
        const [a, b] = await Promise.all([
            withClient(source, async (c) => {
                await prepareSession(c, r, { catalogSearchPath: true, rowSecurity: false });
                return readSequences(c, srcSeq);
            }),
            withClient(target, async (c) => {
                await prepareSession(c, r, { catalogSearchPath: true, rowSecurity: false });
                return readSequences(c, tgtSeq);
            }),
        ]);
        return srcSeq.map((s): SequenceCheck => {
            const k = `${s.schema}.${s.name}`;
            const x = a.get(k) ?? null;
            const y = b.get(k) ?? null;
            return { schema: s.schema, name: s.name, source: x, target: y, match: !!x && !!y && x.lastValue === y.lastValue && x.isCalled === y.isCalled };
        });
    });

    const largeObjectsRun = timed("large objects", async () => {
        const s = await openSession(source, r, { catalogSearchPath: true, rowSecurity: false });
        try {
            const t = await openSession(target, r, { catalogSearchPath: true, rowSecurity: false });
            try {
                return await compareLargeObjects(s.client, t.client, r, { maxListed: max });
            } finally {
                await t.close();
            }
        } finally {
            await s.close();
        }
    }).then((largeObjects) => {
        progress(`large objects: ${largeObjects.source.count} on the source, ${largeObjects.target.count} on the target, ${largeObjects.differences.length + largeObjects.more} differ`);
        return largeObjects;
    });

    const extensions: ExtensionCheck[] = (() => {
        const a = new Map(srcSchema.extensions.map((e) => [e.name, e] as const));
        const b = new Map(tgtSchema.extensions.map((e) => [e.name, e] as const));
        return [...new Set([...a.keys(), ...b.keys()])].sort().map((name) => {
            const x = a.get(name);
            const y = b.get(name);
            const check: ExtensionCheck = { name, source: x ? { version: x.version, schema: x.schema } : null, target: y ? { version: y.version, schema: y.schema } : null, match: !x || !!y };
            if (x && !y) check.note = "missing on the target";
            else if (!x && y) check.note = "only on the target (installed by the platform)";
            else if (x && y && x.version !== y.version) check.note = `version ${x.version} on the source, ${y.version} on the target (a restore creates the target server's default version)`;
            else if (x && y && x.schema !== y.schema) check.note = `in schema ${x.schema} on the source, ${y.schema} on the target`;
            return check;
        });
    })();

    const queriesRun = timed("queries", async () => {
        const list = opts.queries ?? [];
        if (list.length === 0) return [];
        const s = await openSession(source, r, { catalogSearchPath: false, rowSecurity: true });
        try {
            const t = await openSession(target, r, { catalogSearchPath: false, rowSecurity: true });
            try {
                const out: QueryCheck[] = [];
                for (let i = 0; i < list.length; i++) {
                    const q = await compareQuery(s.client, t.client, list[i], i);
                    progress(`query ${i + 1}: ${q.match ? `${q.sourceRows} rows match` : "DIFFERS"}`);
                    out.push(q);
                }
                return out;
            } finally {
                await t.close();
            }
        } finally {
            await s.close();
        }
    });

    const settled = await Promise.allSettled([tablesRun, sequencesRun, largeObjectsRun, queriesRun]);
    const failure = settled.find((x): x is PromiseRejectedResult => x.status === "rejected");
    if (failure) throw failure.reason;
    const [tables, sequences, largeObjects, queries] = await Promise.all([tablesRun, sequencesRun, largeObjectsRun, queriesRun]);
    // Stages overlap; their timings are listed in a fixed order, each its own wall time.
    timings.sort((a, b) => STAGE_ORDER.indexOf(a.stage) - STAGE_ORDER.indexOf(b.stage));

    const restore = scanRestoreLogs(opts.restoreLogs ?? []);

    // Verdict: failing problems, most important first.
    const problems: string[] = [];
    const missingRelation = (d: SchemaDifference) => (d.kind === "table" || d.kind === "materialized view") && d.change === "missing on target";
    const missing = new Set(schema.differences.filter(missingRelation).map((d) => d.name));
    for (const d of schema.differences) if (missingRelation(d)) problems.push(describeSchemaDifference(d));
    for (const t of tables) if (!t.match && !(t.targetRows === null && missing.has(`${t.schema}.${t.name}`))) problems.push(describeTableCheck(t));
    for (const d of schema.differences) if (!missingRelation(d)) problems.push(describeSchemaDifference(d));
    if (schema.more) problems.push(`and ${schema.more} more schema differences`);
    for (const s of sequences) {
        if (s.match) continue;
        const v = (x: SequenceValue | null) => (x ? `last_value ${x.lastValue}${x.isCalled ? "" : " (not called)"}` : "missing");
        problems.push(`sequence ${s.schema}.${s.name}: ${v(s.source)} on the source, ${v(s.target)} on the target`);
    }
    for (const d of largeObjects.differences) problems.push(describeLargeObjectDifference(d));
    if (largeObjects.more) problems.push(`and ${largeObjects.more} more large object differences`);
    for (const e of extensions) if (!e.match) problems.push(`extension ${e.name} ${e.source?.version ?? ""} is missing on the target`.replace(/ {2}/g, " "));
    for (const d of settings.differences) if (d.required) problems.push(`${describeSettingDifference(d)} (required equal by verifyRequireSettings)`);
    for (const q of queries) if (!q.match) problems.push(describeQueryCheck(q));

    for (const e of extensions) if (e.match && e.note && e.source) notes.push(`extension ${e.name}: ${e.note}`);
    const reported = settings.differences.filter((d) => !d.required && d.category !== "other");
    if (reported.length) notes.push(`${reported.length} settings that change query behaviour or performance differ (reported, not required): ${reported.slice(0, 8).map((d) => d.name).join(", ")}${reported.length > 8 ? ", ..." : ""}`);
    const notCarried = settings.databaseSettings.source.filter((x) => !settings.databaseSettings.target.includes(x));
    if (notCarried.length) notes.push(`the source database has ALTER DATABASE settings the target does not have (a restore does not carry them over; ApplySettings sets those it can): ${notCarried.join(", ")}`);
    if (restore.errors.length || restore.warnings.length) notes.push(`the restore log has ${restore.errors.length} error and ${restore.warnings.length} warning lines`);
    notes.push(...schema.notes);
    if (exclude.length) notes.push(`excluded from verification: ${exclude.join(", ")}`);

    const ok = problems.length === 0;
    const rows = tables.filter((t) => t.kind !== "partitioned table").reduce((n, t) => n + t.sourceRows, 0);
    const objectCount = srcSchema.objects.length;
    const summary = ok
        ? `${tables.length} tables, ${rows} rows match (counts and checksums); ${objectCount} schema objects, ${sequences.length} sequences, ${largeObjects.source.count} large objects, ${extensions.filter((e) => e.source).length} extensions match${queries.length ? `; ${queries.length} queries match` : ""}${settings.differences.length ? `; ${settings.differences.length} settings differ (reported)` : ""}`
        : `${problems.length} difference${problems.length === 1 ? "" : "s"}: ${problems.slice(0, 3).join("; ")}${problems.length > 3 ? "; ..." : ""}`;
    const finishedAt = new Date();
    return {
        ok,
        verdict: ok ? "match" : "mismatch",
        summary,
        problems: problems.slice(0, max),
        problemCount: problems.length,
        notes,
        startedAt: startedAt.toISOString(),
        finishedAt: finishedAt.toISOString(),
        durationMs: elapsed(t0),
        servers,
        rendering: { hash: r.hash, extraFloatDigits: r.extraFloatDigits, utf8: r.utf8 },
        schema,
        tables,
        excluded: exclude,
        sequences,
        largeObjects,
        extensions,
        settings,
        queries,
        restore,
        timings,
    };
}
