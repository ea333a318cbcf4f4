/**
 * The inspection: everything preflight reads from the source, in one READ ONLY transaction on one
 * connection (runPreflight opens it): versions, sizes like `\l+`, relations, large objects,
 * extensions (with what depends on the ones that cannot move), owners and grants, SECURITY
 * DEFINER functions, policies, event triggers, publications, subscriptions, foreign servers,
 * tablespaces, database/role and server settings, and a bounded read-rate sample (readRate.ts).
 * The user's objects are chosen by one predicate (lib/catalog.ts, shared with verification). Never writes.
 */
import type { Client } from "pg";
import { classifyExtension, type ExtensionStatus } from "../extensions";
import { redact } from "../redact";
import { LOGIN, valueWithUnit, type SourceSetting } from "../settings";
import { measureReadRate, type ReadSample } from "./readRate";
import { notExtensionMember, userObject } from "../catalog";

/** One of the largest tables, for the size finding and preflight.md. */
export interface TableSize {
    schema: string;
    name: string;
    kind: "table" | "partitioned table" | "materialized view";
    rows: number;
    heapBytes: number;
    toastBytes: number;
    indexBytes: number;
    totalBytes: number;
}

/** An installed extension, classified against Heroku's allow-list (lib/extensions.ts). */
export interface ExtensionReport {
    name: string;
    version: string;
    schema: string;
    owner: string;
    status: ExtensionStatus;
    note: string;
    /** Objects outside the extension that depend on it (pg_depend), for those that cannot move. */
    dependents: string[];
}

/** Time zone names that all mean UTC: a server set to one of them keeps PostgreSQL's default. */
const UTC_NAMES = new Set(["utc", "etc/utc", "gmt", "etc/gmt", "zulu", "etc/zulu", "universal", "etc/universal", "uct", "etc/uct", "gmt0", "greenwich"]);

/** A table, partitioned table, materialized view or sequence of the user's. */
export interface RelRow {
    schema: string;
    name: string;
    kind: string;
    persistence: string;
    reltuples: number;
    heap: number;
    toast: number;
    indexes: number;
    owner: string;
    readable: boolean;
    tablespace: string;
}

/** What the inspection read; the findings, the estimate and the plan are computed from it. */
export interface Inspection {
    user: string;
    database: string;
    superuser: boolean;
    ownsDatabase: boolean;
    databaseOwner: string;
    versionNum: number;
    versionText: string;
    databaseBytes: number;
    databaseTablespace: string;
    databases: { name: string; owner: string; bytes: number | null }[];
    relations: RelRow[];
    largeObjects: { count: number; unreadable: number; bytes: number };
    extensions: ExtensionReport[];
    extensionRows: { oid: string; name: string; version: string; schema: string; owner: string; defaultVersion?: string }[];
    owners: { role: string; kind: string; count: number }[];
    grants: { grantee: string; kind: string; objects: number }[];
    defaultAcls: number;
    securityDefiner: { fn: string; owner: string }[];
    policies: { table: string; policy: string; roles: string[] }[];
    eventTriggers: { name: string; event: string; fn: string; owner: string }[];
    publications: { name: string; allTables: boolean }[];
    subscriptions: string[] | undefined;
    foreignServers: { name: string; wrapper: string; options: string; mappings: number }[];
    tablespaceObjects: { tablespace: string; objects: number }[];
    dbRoleSettings: { role: string; database: string; name: string; value: string; context: string }[];
    serverSettings: { name: string; setting: string; bootVal: string; context: string; value: string; defaultValue: string }[];
    settingContexts: Record<string, string>;
    sample: ReadSample;
}

/** The inspection's settings as lib/settings.ts takes them (the migrated login's own role settings marked LOGIN). */
export function sourceSettings(ins: Inspection): SourceSetting[] {
    return [
        ...ins.dbRoleSettings.map((r): SourceSetting => (r.role === ""
            ? { name: r.name, value: r.value, origin: "database", context: r.context }
            : { name: r.name, value: r.value, origin: "role", role: r.role === ins.user ? LOGIN : r.role, context: r.context })),
        ...ins.serverSettings.map((r): SourceSetting => ({ name: r.name, value: r.value, origin: "server", context: r.context, defaultValue: r.defaultValue })),
    ];
}

async function rows<T>(c: Client, sql: string, params: unknown[] = []): Promise<T[]> {
    return (await c.query(sql, params)).rows as T[];
}

/** Runs a query that may be refused (permissions differ between servers) without ending the transaction. */
async function tryRows<T>(c: Client, sql: string, params: unknown[] = []): Promise<T[] | undefined> {
    await c.query("SAVEPOINT preflight_try");
    try {
        const r = await rows<T>(c, sql, params);
        await c.query("RELEASE SAVEPOINT preflight_try");
        return r;
    } catch {
        await c.query("ROLLBACK TO SAVEPOINT preflight_try");
        return undefined;
    }
}

/** Reads everything; `c` is in a READ ONLY transaction (the caller's). */
export async function inspect(c: Client, sampleBytes: number): Promise<Inspection> {
    const [meta] = await rows<{
        user: string; db: string; super: boolean; num: number; text: string; bytes: number; owns_db: boolean; db_owner: string; lo_compat: boolean; spc: string;
    }>(c, `
        SELECT current_user AS "user", current_database() AS db, r.rolsuper AS super,
               current_setting('server_version_num')::int AS num, current_setting('server_version') AS text,
               pg_catalog.pg_database_size(d.oid)::float8 AS bytes,
               pg_catalog.pg_has_role(d.datdba, 'MEMBER') AS owns_db, pg_catalog.pg_get_userbyid(d.datdba) AS db_owner,
               current_setting('lo_compat_privileges') = 'on' AS lo_compat, t.spcname AS spc
        FROM pg_catalog.pg_roles r, pg_catalog.pg_database d JOIN pg_catalog.pg_tablespace t ON t.oid = d.dattablespace
        WHERE r.rolname = current_user AND d.datname = current_database()`);

    const databases = (await rows<{ name: string; owner: string; bytes: number | null }>(c, `
        SELECT d.datname AS name, pg_catalog.pg_get_userbyid(d.datdba) AS owner,
               CASE WHEN pg_catalog.has_database_privilege(d.oid, 'CONNECT') THEN pg_catalog.pg_database_size(d.oid)::float8 END AS bytes
        FROM pg_catalog.pg_database d WHERE NOT d.datistemplate ORDER BY d.datname COLLATE "C"`))
        .map((r) => ({ name: r.name, owner: r.owner, bytes: r.bytes === null ? null : Number(r.bytes) }));

    const relations = (await rows<RelRow>(c, `
        SELECT n.nspname AS schema, c.relname AS name, c.relkind::text AS kind, c.relpersistence::text AS persistence,
               c.reltuples::float8 AS reltuples, pg_catalog.pg_relation_size(c.oid)::float8 AS heap,
               CASE WHEN c.reltoastrelid <> 0 THEN pg_catalog.pg_total_relation_size(c.reltoastrelid)::float8 ELSE 0 END AS toast,
               pg_catalog.pg_indexes_size(c.oid)::float8 AS indexes, pg_catalog.pg_get_userbyid(c.relowner) AS owner,
               pg_catalog.has_schema_privilege(n.oid, 'USAGE') AND pg_catalog.has_table_privilege(c.oid, 'SELECT') AS readable,
               coalesce(t.spcname, '') AS tablespace
        FROM pg_catalog.pg_class c
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_catalog.pg_tablespace t ON t.oid = c.reltablespace
        WHERE c.relkind IN ('r', 'p', 'm', 'S') AND ${userObject("n", "pg_class", "c.oid")}
        ORDER BY n.nspname COLLATE "C", c.relname COLLATE "C"`))
        .map((r) => ({ ...r, reltuples: Number(r.reltuples), heap: Number(r.heap), toast: Number(r.toast), indexes: Number(r.indexes) }));

    const [lo] = await rows<{ n: number; unreadable: number; bytes: number }>(c, `
        SELECT count(*)::int AS n,
               count(*) FILTER (WHERE NOT (pg_catalog.pg_has_role(l.lomowner, 'MEMBER')
                   OR EXISTS (SELECT 1 FROM pg_catalog.aclexplode(l.lomacl) a
                              WHERE a.privilege_type = 'SELECT' AND (a.grantee = 0 OR pg_catalog.pg_has_role(a.grantee, 'MEMBER')))))::int AS unreadable,
               pg_catalog.pg_total_relation_size('pg_catalog.pg_largeobject')::float8 AS bytes
        FROM pg_catalog.pg_largeobject_metadata l`);
    const largeObjects = {
        count: lo.n,
        unreadable: meta.super || meta.lo_compat ? 0 : lo.unreadable,
        bytes: lo.n > 0 ? Number(lo.bytes) : 0,
    };

    const extensionRows = (await rows<{ oid: string; name: string; version: string; schema: string; owner: string; default_version: string | null }>(c, `
        SELECT e.oid::text AS oid, e.extname AS name, e.extversion AS version, n.nspname AS schema,
               pg_catalog.pg_get_userbyid(e.extowner) AS owner, a.default_version
        FROM pg_catalog.pg_extension e
        JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
        LEFT JOIN pg_catalog.pg_available_extensions a ON a.name = e.extname
        WHERE e.extname <> 'plpgsql'
        ORDER BY e.extname COLLATE "C"`))
        .map((r) => ({ oid: r.oid, name: r.name, version: r.version, schema: r.schema, owner: r.owner, defaultVersion: r.default_version ?? undefined }));

    const extensions: ExtensionReport[] = [];
    for (const e of extensionRows) {
        const cls = classifyExtension(e);
        let dependents: string[] = [];
        if (cls.status === "azure_only" || cls.status === "unsupported") dependents = await extensionDependents(c, e.oid);
        extensions.push({ name: e.name, version: e.version, schema: e.schema, owner: e.owner, status: cls.status, note: cls.note, dependents });
    }

    const objects = `
        SELECT 'table' AS kind, c.oid, c.relowner AS owner, c.relacl AS acl,
               CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                              WHEN 'S' THEN 'sequence' WHEN 'f' THEN 'foreign table' END AS label
        FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND ${userObject("n", "pg_class", "c.oid")}
        UNION ALL
        SELECT 'schema', n.oid, n.nspowner, n.nspacl, 'schema' FROM pg_catalog.pg_namespace n
        WHERE ${userObject("n", "pg_namespace", "n.oid")}
        UNION ALL
        SELECT 'function', p.oid, p.proowner, p.proacl, 'function' FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
        WHERE ${userObject("n", "pg_proc", "p.oid")}
        UNION ALL
        SELECT 'type', t.oid, t.typowner, t.typacl, 'type' FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
        WHERE ${userObject("n", "pg_type", "t.oid")}
          AND (t.typrelid = 0 OR (SELECT cc.relkind FROM pg_catalog.pg_class cc WHERE cc.oid = t.typrelid) = 'c')
          AND NOT (t.typelem <> 0 AND t.typlen = -1)
        UNION ALL
        SELECT 'large object', l.oid, l.lomowner, l.lomacl, 'large object' FROM pg_catalog.pg_largeobject_metadata l
        UNION ALL
        SELECT 'database', d.oid, d.datdba, d.datacl, 'database' FROM pg_catalog.pg_database d WHERE d.datname = current_database()`;

    const owners = await rows<{ role: string; kind: string; count: number }>(c, `
        SELECT pg_catalog.pg_get_userbyid(o.owner) AS role, o.label AS kind, count(*)::int AS count
        FROM (${objects}) o
        WHERE o.owner <> (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)
          AND pg_catalog.pg_get_userbyid(o.owner) <> 'pg_database_owner'
        GROUP BY 1, 2 ORDER BY pg_catalog.pg_get_userbyid(o.owner) COLLATE "C", o.label COLLATE "C"`);

    const grants = await rows<{ grantee: string; kind: string; objects: number }>(c, `
        SELECT pg_catalog.pg_get_userbyid(a.grantee) AS grantee, o.label AS kind, count(DISTINCT (o.kind, o.oid))::int AS objects
        FROM (${objects}) o, pg_catalog.aclexplode(o.acl) a
        WHERE a.grantee <> 0 AND a.grantee <> o.owner AND pg_catalog.pg_get_userbyid(a.grantee) <> 'pg_database_owner'
        GROUP BY 1, 2 ORDER BY pg_catalog.pg_get_userbyid(a.grantee) COLLATE "C", o.label COLLATE "C"`);

    const [defaultAcl] = await rows<{ n: number }>(c, "SELECT count(*)::int AS n FROM pg_catalog.pg_default_acl");

    const securityDefiner = await rows<{ fn: string; owner: string }>(c, `
        SELECT n.nspname || '.' || p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')' AS fn,
               pg_catalog.pg_get_userbyid(p.proowner) AS owner
        FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
        WHERE p.prosecdef AND ${userObject("n", "pg_proc", "p.oid")}
        ORDER BY n.nspname COLLATE "C", p.proname COLLATE "C", p.oid`);

    const policies = (await rows<{ schemaname: string; tablename: string; policyname: string; roles: string[] }>(c, `
        SELECT schemaname, tablename, policyname, roles::text[] AS roles FROM pg_catalog.pg_policies pol
        WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                      WHERE n.nspname = pol.schemaname AND c.relname = pol.tablename AND ${userObject("n", "pg_class", "c.oid")})
        ORDER BY schemaname COLLATE "C", tablename COLLATE "C", policyname COLLATE "C"`))
        .filter((p) => p.roles.some((r) => r !== "public"))
        .map((p) => ({ table: `${p.schemaname}.${p.tablename}`, policy: p.policyname, roles: p.roles.filter((r) => r !== "public") }));

    const eventTriggers = await rows<{ name: string; event: string; fn: string; owner: string }>(c, `
        SELECT e.evtname AS name, e.evtevent AS event, e.evtfoid::regproc::text AS fn, pg_catalog.pg_get_userbyid(e.evtowner) AS owner
        FROM pg_catalog.pg_event_trigger e WHERE ${notExtensionMember("pg_event_trigger", "e.oid")}
        ORDER BY e.evtname COLLATE "C"`);

    const publications = (await rows<{ name: string; all_tables: boolean }>(c, `
        SELECT pubname AS name, puballtables AS all_tables FROM pg_catalog.pg_publication ORDER BY pubname COLLATE "C"`))
        .map((p) => ({ name: p.name, allTables: p.all_tables }));

    const subscriptions = (await tryRows<{ name: string }>(c, `
        SELECT s.subname AS name FROM pg_catalog.pg_subscription s
        WHERE s.subdbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
        ORDER BY s.subname COLLATE "C"`))?.map((s) => s.name);

    const foreignServers = (await rows<{ name: string; wrapper: string; options: string; mappings: number }>(c, `
        SELECT s.srvname AS name, w.fdwname AS wrapper, coalesce(array_to_string(s.srvoptions, ', '), '') AS options,
               (SELECT count(*) FROM pg_catalog.pg_user_mappings m WHERE m.srvid = s.oid)::int AS mappings
        FROM pg_catalog.pg_foreign_server s JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = s.srvfdw
        ORDER BY s.srvname COLLATE "C"`))
        .map((s) => ({ ...s, options: redact(s.options.replace(/password=[^,]*/gi, "password=[secret]")) }));

    const tablespaceObjects = await rows<{ tablespace: string; objects: number }>(c, `
        SELECT t.spcname AS tablespace, count(*)::int AS objects
        FROM pg_catalog.pg_class c
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_catalog.pg_tablespace t ON t.oid = c.reltablespace
        WHERE ${userObject("n", "pg_class", "c.oid")} GROUP BY 1 ORDER BY t.spcname COLLATE "C"`);

    const dbRoleSettings = (await rows<{ role: string; database: string; setting: string; context: string | null }>(c, `
        SELECT coalesce(pg_catalog.pg_get_userbyid(NULLIF(s.setrole, 0)), '') AS role,
               CASE WHEN s.setdatabase = 0 THEN '' ELSE current_database() END AS database,
               cfg AS setting,
               (SELECT ps.context FROM pg_catalog.pg_settings ps WHERE lower(ps.name) = lower(split_part(cfg, '=', 1))) AS context
        FROM pg_catalog.pg_db_role_setting s, unnest(s.setconfig) AS cfg
        WHERE s.setdatabase = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
           OR (s.setdatabase = 0 AND s.setrole = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user))
        ORDER BY s.setrole, cfg COLLATE "C"`))
        .map((r) => {
            const eq = r.setting.indexOf("=");
            return { role: r.role, database: r.database, name: r.setting.slice(0, eq), value: r.setting.slice(eq + 1), context: r.context ?? "user" };
        });

    // Every server setting that differs from PostgreSQL's default (lib/settings.ts plans them).
    const serverSettings = (await rows<{ name: string; setting: string; boot_val: string; context: string; unit: string | null }>(c, `
        SELECT name, setting, coalesce(boot_val, '') AS boot_val, context, unit FROM pg_catalog.pg_settings
        WHERE source IN ('configuration file', 'command line', 'environment variable')
        ORDER BY name COLLATE "C"`))
        .filter((s) => s.setting !== s.boot_val && !(s.name.toLowerCase() === "timezone" && UTC_NAMES.has(s.setting.toLowerCase()) && UTC_NAMES.has(s.boot_val.toLowerCase())))
        .map((s) => ({ name: s.name, setting: s.setting, bootVal: s.boot_val, context: s.context, value: valueWithUnit(s.setting, s.unit), defaultValue: valueWithUnit(s.boot_val, s.unit) }));
    const settingContexts = Object.fromEntries((await rows<{ name: string; context: string }>(c, "SELECT lower(name) AS name, context FROM pg_catalog.pg_settings")).map((r) => [r.name, r.context]));

    const sample = await measureReadRate(c, relations, sampleBytes);

    return {
        user: meta.user,
        database: meta.db,
        superuser: meta.super,
        ownsDatabase: meta.owns_db,
        databaseOwner: meta.db_owner,
        versionNum: meta.num,
        versionText: meta.text,
        databaseBytes: Number(meta.bytes),
        databaseTablespace: meta.spc,
        databases,
        relations,
        largeObjects,
        extensions,
        extensionRows,
        owners,
        grants,
        defaultAcls: defaultAcl.n,
        securityDefiner,
        policies,
        eventTriggers,
        publications,
        subscriptions,
        foreignServers,
        tablespaceObjects,
        dbRoleSettings,
        serverSettings,
        settingContexts,
        sample,
    };
}

/** Objects outside an extension that depend on it or on one of its members, described for people. */
async function extensionDependents(c: Client, extOid: string): Promise<string[]> {
    const r = await rows<{ obj: string }>(c, `
        WITH members AS (
            SELECT m.classid, m.objid FROM pg_catalog.pg_depend m
            WHERE m.refclassid = 'pg_catalog.pg_extension'::regclass AND m.refobjid = $1::oid AND m.deptype = 'e'
        ), deps AS (
            SELECT d.classid, d.objid, d.objsubid FROM pg_catalog.pg_depend d
            JOIN members m ON d.refclassid = m.classid AND d.refobjid = m.objid
            WHERE d.deptype IN ('n', 'a')
            UNION
            SELECT d.classid, d.objid, d.objsubid FROM pg_catalog.pg_depend d
            WHERE d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.refobjid = $1::oid AND d.deptype IN ('n', 'a')
        )
        SELECT DISTINCT CASE
                 WHEN deps.classid = 'pg_catalog.pg_rewrite'::regclass
                 THEN (SELECT pg_catalog.pg_describe_object('pg_catalog.pg_class'::regclass, rw.ev_class, 0) FROM pg_catalog.pg_rewrite rw WHERE rw.oid = deps.objid)
                 ELSE pg_catalog.pg_describe_object(deps.classid, deps.objid, deps.objsubid)
               END AS obj
        FROM deps
        WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend x WHERE x.classid = deps.classid AND x.objid = deps.objid AND x.deptype = 'e')
        ORDER BY 1`, [extOid]);
    return r.map((x) => x.obj).filter((x) => !!x);
}

/** The `n` largest tables and materialized views by total size (table, TOAST, indexes). */
export function largestTables(ins: Inspection, n: number): TableSize[] {
    return ins.relations
        .filter((r) => r.kind === "r" || r.kind === "m")
        .map((r): TableSize => ({
            schema: r.schema,
            name: r.name,
            kind: r.kind === "m" ? "materialized view" : "table",
            rows: Math.max(0, Math.round(r.reltuples)),
            heapBytes: r.heap,
            toastBytes: r.toast,
            indexBytes: r.indexes,
            totalBytes: r.heap + r.toast + r.indexes,
        }))
        .sort((a, b) => b.totalBytes - a.totalBytes || `${a.schema}.${a.name}`.localeCompare(`${b.schema}.${b.name}`))
        .slice(0, n);
}
