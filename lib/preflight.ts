/**
 * Preflight: "will this migration work, and how long will the app be frozen?", answered by reading
 * the source (never writing to it) before anything is created or frozen. It runs in
 * `pulumi preview` and again at the start of `pulumi up`; index.ts refuses to go on while a
 * blocking finding stands. Every blocking finding can be acknowledged with the `acknowledge` config
 * key ("code[:subject]=reason"), which turns it into a warning that shows the reason.
 *
 * What it inspects, all in one READ ONLY transaction on one connection:
 * - versions: the server vs the local pg_dump (pg_dump refuses newer servers) and pg_restore, and
 *   the PostgreSQL version Heroku will create (lib/plans.ts);
 * - size: every database like `\l+`, the migrated one in detail (tables, TOAST, indexes, large
 *   objects, largest tables) against the plan's storage (lib/plans.ts), the smallest plan that
 *   fits, and Heroku's 100 GB guidance for dump and restore;
 * - extensions against Heroku's allow-list (lib/extensions.ts), with the objects that depend on
 *   each one that cannot move (pg_depend);
 * - roles and ownership: objects owned by other roles, grants to roles that will not exist on
 *   Heroku, SECURITY DEFINER functions, row-level security policies naming roles, and objects the
 *   connecting user cannot read (pg_dump would fail on them);
 * - what does not survive dump/restore or Heroku: event triggers, publications, subscriptions,
 *   foreign servers, tablespaces, unlogged tables, database/role settings and server settings;
 * - the write freeze: what is frozen (freeze settings), and an estimate of dump + upload +
 *   restore + verification from the measured size and a measured read rate (a bounded sample of
 *   the largest table, a few MiB), with the assumptions stated;
 * - a recent Azure backup (backupFindings): for an Azure host, index.ts lists the flexible server's
 *   backups through Azure Resource Manager with azure-native's credentials (lib/azureBackup.ts);
 *   the newest completed one is info within AZURE_BACKUP_MAX_AGE_HOURS, a warning when older,
 *   blocking when there is none; without credentials or permission, a warning that says how to check.
 *
 * Plain functions, no module-level mutable state (lib/ may be captured by dynamic providers).
 */
import type { Client } from "pg";
import { pgToolVersion } from "./pgbin";
import { majorVersion, quoteIdent, withClient } from "./pg";
import {
    DUMP_RESTORE_LIMIT_BYTES, HEROKU_DEFAULT_POSTGRES_MAJOR, findPlan, herokuPostgresPlans, smallestPlanThatFits, type PlanInfo,
} from "./plans";
import {
    HEROKU_EXTENSIONS_SOURCE, classifyExtension, pgDumpCanExcludeExtensions, quoteExtName, type ExtensionStatus,
} from "./extensions";
import { formatBytes, formatDuration } from "./progress";
import { DEFAULT_DUMP_COMPRESSION, compressionCost, localCompressionOffer, parseDumpCompression, type CompressionOffer, type DumpCompression } from "./compression";
import { redact } from "./redact";
import { assessBackups, type AzureBackupCheck } from "./azureBackup";
import { checkUserQueries } from "./userQueries";
import type { AcknowledgeEntry, FreezeSettings } from "./config";
import { LOGIN, planSettings, settingsFindings, valueWithUnit, type SettingsPlan, type SourceSetting } from "./settings";
import type { PgConnection } from "./types";

export type FindingLevel = "blocking" | "warning" | "info";

export interface Finding {
    level: FindingLevel;
    /** Stable identifier, e.g. `extension_unsupported`; with `subject` it is what `acknowledge` names. */
    code: string;
    /** What the finding is about when a code can occur more than once (an extension, a trigger, ...). */
    subject?: string;
    message: string;
    /** What to do about it. */
    action: string;
    /** Set when an `acknowledge` entry turned this blocking finding into a warning. */
    acknowledged?: { entry: string; reason: string };
}

/** An extension the restore asks Heroku to create (only Heroku-supported ones). */
export interface RestoreExtension {
    name: string;
    version: string;
    schema?: string;
}

/** What the Migration component needs (components/migration.ts, test helpers). */
export interface PreflightResult {
    serverVersion: string;
    serverMajor: number;
    pgDumpVersion: string;
    databaseBytes: number;
    /** Only extensions Heroku supports: the restore's `extensions`. */
    extensions: RestoreExtension[];
    findings: Finding[];
    /** Extensions the dump should leave out (`pg_dump --exclude-extension`, pg_dump 17+): Azure-only ones and acknowledged unsupported ones. */
    excludeExtensions?: string[];
    /** Expected size of the dump archive (estimate.archiveBytes), for the dump's progress lines. */
    archiveBytesEstimate?: number;
    /** The source's custom settings in three groups (lib/settings.ts); ApplySettings applies database and heroku. */
    settings?: SettingsPlan;
}

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

export interface FreezeEstimate {
    /** Table the read rate was measured on, "schema.name" ("" when there was nothing to read). */
    sampleTable: string;
    sampleRows: number;
    /** Bytes received (rows as text) and the table bytes they stand for. */
    sampleWireBytes: number;
    sampleTableBytes: number;
    sampleMs: number;
    /** The (larger) sample sent by COPY TO STDOUT, as pg_dump reads it (0: COPY could not run, the text read is used). */
    sampleCopyMs: number;
    sampleCopyTableBytes: number;
    /** Table bytes read per second over this connection, as pg_dump reads them. */
    readBytesPerSec: number;
    /** Table bytes checksummed per second by the server (a hash of each row as text, as verification does, over the COPY sample's rows). */
    scanBytesPerSec: number;
    /** Table data + TOAST + large objects: what pg_dump reads and the restore writes. */
    dataBytes: number;
    indexBytes: number;
    /** The dump's compression (dumpCompression) and the archive size it is expected to give. */
    compression: string;
    archiveBytes: number;
    /** pg_dump alone: reading (and compressing) every table. */
    dumpSeconds: number;
    /** The archive carried into Azure Blob Storage, alone. */
    uploadSeconds: number;
    /** Dump and upload overlap (pg_dump streams into the blob): the slower of the two. */
    dumpUploadSeconds: number;
    /** pg_restore writing the rows and building the indexes (what the rehearsal measures). */
    restoreSeconds: number;
    /** Heroku's own overhead around the restore (transfer queueing and start-up): assumed, not measured here. */
    herokuOverheadSeconds: number;
    verifySeconds: number;
    cutoverSeconds: number;
    /** dumpUploadSeconds + restoreSeconds + herokuOverheadSeconds + verifySeconds + cutoverSeconds. */
    totalSeconds: number;
    assumptions: string[];
}

export interface FreezePlan {
    mode: FreezeSettings["mode"] | "unknown";
    /** One sentence: what stops writes, and when. */
    what: string;
}

/** The whole plan: PreflightResult plus everything preview shows, the stack output and preflight.md/json. */
export interface PreflightPlan extends PreflightResult {
    generatedAt: string;
    source: { host: string; port: number; database: string; user: string; superuser: boolean };
    pgDumpMajor: number;
    pgRestoreVersion: string;
    target: { postgresMajor: number; plan: string; planStorageBytes: number | null; suggestedPlan: string | null };
    databases: { name: string; owner: string; bytes: number | null }[];
    size: {
        databaseBytes: number;
        tableBytes: number;
        toastBytes: number;
        indexBytes: number;
        largeObjects: { count: number; bytes: number };
        largestTables: TableSize[];
    };
    extensionReport: ExtensionReport[];
    excludeExtensions: string[];
    dumpCanExcludeExtensions: boolean;
    freeze: FreezePlan;
    estimate: FreezeEstimate;
    counts: { blocking: number; warning: number; info: number };
}

export interface PreflightOptions {
    /** herokuPlan */
    plan: string;
    /** How writes are frozen (settings.freeze); without it the freeze is reported as unknown. */
    freeze?: FreezeSettings;
    /** settings.acknowledge */
    acknowledge?: AcknowledgeEntry[];
    /** The target app (settings.heroku.app / createApp): a maintenance freeze on an app this stack creates freezes nothing. */
    herokuApp?: { name: string; create: boolean };
    /** Plan table to size against. @default herokuPostgresPlans() */
    plans?: PlanInfo[];
    /** PostgreSQL major Heroku creates. @default HEROKU_DEFAULT_POSTGRES_MAJOR */
    herokuPostgresMajor?: number;
    /** Upper bound of the read-rate sample. @default 4 MiB */
    sampleBytes?: number;
    /** settings.dump.compression: the estimate's dump time and archive size follow it. @default DEFAULT_DUMP_COMPRESSION */
    dumpCompression?: DumpCompression;
    /** Heroku apps the configuration names, looked up by the caller (see herokuAppsToCheck). */
    herokuApps?: HerokuAppCheck[];
    /** Azure's backups of an Azure source (lib/azureBackup.ts checkAzureBackups); without it preflight says how to check. */
    azureBackup?: AzureBackupCheck;
    /** settings.verify.queries: each is opened on the source as verification will (lib/userQueries.ts). */
    verifyQueries?: string[];
    /** settingsSkip / settingsOverride (lib/settings.ts). */
    customSettings?: { skip: string[]; override: Record<string, string> };
    /** Time each verify query may take to return its first row in preflight. @default 10 s */
    verifyQueryTimeoutMs?: number;
}

/** A Heroku app named in the configuration, and whether the Platform API found it. */
export interface HerokuAppCheck {
    name: string;
    /** The config key that names it. */
    key: string;
    exists: boolean;
}

/**
 * The existing Heroku apps the migration relies on: the app frozen by maintenance mode, an
 * adopted target app, and the dependent apps. Apps this stack creates are not expected to exist.
 */
export function herokuAppsToCheck(settings: {
    heroku: { app: string; createApp: boolean };
    freeze: { mode: string; app: string };
    dependentApps: string[];
}): { name: string; key: string }[] {
    const created = settings.heroku.createApp ? settings.heroku.app : undefined;
    const out: { name: string; key: string }[] = [];
    const push = (name: string, key: string) => {
        if (name !== created && !out.some((o) => o.name === name)) out.push({ name, key });
    };
    if (!settings.heroku.createApp) push(settings.heroku.app, "herokuApp");
    if (settings.freeze.mode === "maintenance") push(settings.freeze.app, "freezeApp");
    for (const app of settings.dependentApps) push(app, "dependentApps");
    return out;
}

const MiB = 1024 ** 2;
const DEFAULT_SAMPLE_BYTES = 4 * MiB;
/** The COPY sample reads this many times the text sample's rows (it keeps nothing in memory). */
const COPY_SAMPLE_FACTOR = 4;

/**
 * Assumptions of the freeze estimate. The read and scan rates are measured on the source; these are
 * not, and are stated with every estimate. The rates were calibrated with `npm run bench` (the
 * benchmark source, the rehearsal's local PostgreSQL, Azurite and the Heroku emulator; see the
 * README's "Speed"): each measured component within 30%. Heroku's own overhead is the one part no
 * rehearsal measures, so it is a line of its own.
 */
export const ESTIMATE_ASSUMPTIONS = Object.freeze({
    /** pg_dump's time per table byte, relative to the COPY sample's (pg_dump copies whole tables, the sample a LIMIT query). */
    dumpReadFactor: 0.8,
    /** Archive bytes the upload into Azure Blob Storage carries per second (Azurite here: about 50 MiB/s). */
    uploadBytesPerSec: 50 * MiB,
    /** Table bytes (data, TOAST, large objects) pg_restore writes per second, with their WAL. */
    restoreWriteBytesPerSec: 30 * MiB,
    /** Index bytes CREATE INDEX builds per second. */
    indexBuildBytesPerSec: 64 * MiB,
    /** Heroku's transfer set-up (queueing, download start, pg_restore start-up) before and after pg_restore: not measured here. */
    herokuOverheadSeconds: 60,
    /** Verification's time per table byte, relative to the checksum sample's (source and target at once). */
    verifyScanFactor: 0.75,
    /** Connection set-up and per-object round trips of the verification. */
    verifyOverheadSeconds: 1,
    /** Config vars, maintenance off, process types scaled back (dynos restart). */
    cutoverSeconds: 30,
});

const AZURE_HOST = /^([a-z0-9-]+)\.postgres\.database\.(azure\.com|chinacloudapi\.cn|usgovcloudapi\.net)$/i;

const UTC_NAMES = new Set(["utc", "etc/utc", "gmt", "etc/gmt", "zulu", "etc/zulu", "universal", "etc/universal", "uct", "etc/uct", "gmt0", "greenwich"]);

// ---------------------------------------------------------------------------------------------
// Inspection (read-only SQL)
// ---------------------------------------------------------------------------------------------

const USER_NS = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%'`;

function notExtensionMember(catalog: string, oid: string): string {
    return `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend x WHERE x.classid = 'pg_catalog.${catalog}'::regclass AND x.objid = ${oid} AND x.deptype = 'e')`;
}

interface RelRow {
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

interface Inspection {
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

/**
 * The bounded sample of the largest table preflight reads (measureReadRate): `ms` for the rows
 * read as text by node-postgres, `copyMs` for `copyTableBytes` of the table (COPY_SAMPLE_FACTOR
 * times as many rows) sent by `COPY ... TO STDOUT` (what pg_dump runs; 0 when it could not run),
 * `scanMs` for the server hashing `scanTableBytes` (as many rows as COPY) the way verification does.
 */
export interface ReadSample { table: string; rows: number; wireBytes: number; tableBytes: number; ms: number; copyMs: number; copyTableBytes: number; scanMs: number; scanTableBytes: number; error?: string }

/** What the freeze estimate is computed from (a subset of the inspection, so it can be tested alone). */
export interface EstimateInput {
    relations: Array<{ kind: string; heap: number; toast: number; indexes: number }>;
    largeObjects: { bytes: number };
    sample: ReadSample;
}

/** The inspection's settings as lib/settings.ts takes them (the migrated login's own role settings marked LOGIN). */
function sourceSettings(ins: Inspection): SourceSetting[] {
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

async function inspect(c: Client, sampleBytes: number): Promise<Inspection> {
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
        WHERE c.relkind IN ('r', 'p', 'm', 'S') AND ${USER_NS} AND ${notExtensionMember("pg_class", "c.oid")}
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
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND ${USER_NS} AND ${notExtensionMember("pg_class", "c.oid")}
        UNION ALL
        SELECT 'schema', n.oid, n.nspowner, n.nspacl, 'schema' FROM pg_catalog.pg_namespace n
        WHERE ${USER_NS} AND ${notExtensionMember("pg_namespace", "n.oid")}
        UNION ALL
        SELECT 'function', p.oid, p.proowner, p.proacl, 'function' FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
        WHERE ${USER_NS} AND ${notExtensionMember("pg_proc", "p.oid")}
        UNION ALL
        SELECT 'type', t.oid, t.typowner, t.typacl, 'type' FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
        WHERE ${USER_NS} AND ${notExtensionMember("pg_type", "t.oid")}
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
        WHERE p.prosecdef AND ${USER_NS} AND ${notExtensionMember("pg_proc", "p.oid")}
        ORDER BY n.nspname COLLATE "C", p.proname COLLATE "C", p.oid`);

    const policies = (await rows<{ schemaname: string; tablename: string; policyname: string; roles: string[] }>(c, `
        SELECT schemaname, tablename, policyname, roles::text[] AS roles FROM pg_catalog.pg_policies
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
        WHERE ${USER_NS} GROUP BY 1 ORDER BY t.spcname COLLATE "C"`);

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

/**
 * Reads a bounded sample (about `sampleBytes` of table data, at most 15 s) of the largest readable
 * table as text and (4x as many rows) by COPY TO STDOUT, the way pg_dump reads them, and times both;
 * then has the server checksum the COPY sample's rows the way verification does (without the
 * network), for the verification estimate.
 */
async function measureReadRate(c: Client, relations: RelRow[], sampleBytes: number): Promise<ReadSample> {
    const candidates = relations
        .filter((r) => r.kind === "r" && r.readable && r.heap + r.toast > 0)
        .sort((a, b) => b.heap + b.toast - (a.heap + a.toast));
    const t = candidates[0];
    if (!t) return { table: "", rows: 0, wireBytes: 0, tableBytes: 0, ms: 0, copyMs: 0, copyTableBytes: 0, scanMs: 0, scanTableBytes: 0 };
    const bytesPerRow = t.reltuples > 0 ? (t.heap + t.toast) / t.reltuples : 0;
    const limit = Math.max(1, Math.min(1_000_000, Math.ceil(sampleBytes / (bytesPerRow > 0 ? bytesPerRow : 100))));
    const table = `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;
    await c.query("SET LOCAL statement_timeout = '15s'");
    await c.query("SAVEPOINT preflight_sample");
    try {
        // Warm-up: the first query on a table also loads its catalog entries; keep that out of the timing.
        await c.query(`SELECT x::text FROM ONLY ${table} x LIMIT 1`);
        const started = process.hrtime.bigint();
        const r = await c.query({ text: `SELECT x::text FROM ONLY ${table} x LIMIT ${limit}`, rowMode: "array" });
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        let wireBytes = 0;
        for (const row of r.rows as string[][]) wireBytes += Buffer.byteLength(row[0] ?? "") + 1;
        const rowsRead = r.rows.length;
        const tableBytes = bytesPerRow > 0 ? rowsRead * bytesPerRow : wireBytes;
        const scanStarted = process.hrtime.bigint();
        // Verification's per-row work (lib/verify.ts: a hash of each row as text, summed), on the server.
        const counted = await c.query(`SELECT count(*) AS n, sum(hashtext(x::text)::bigint) AS s FROM (SELECT x FROM ONLY ${table} x LIMIT ${limit * COPY_SAMPLE_FACTOR}) x`);
        const scanMs = Number(process.hrtime.bigint() - scanStarted) / 1e6;
        const scannedRows = Number(counted.rows[0].n);
        const scanTableBytes = bytesPerRow > 0 ? scannedRows * bytesPerRow : wireBytes * (scannedRows / Math.max(1, rowsRead));
        await c.query("RELEASE SAVEPOINT preflight_sample");
        // The table's first rows the way pg_dump reads them: COPY ... TO STDOUT, text encoded by the server
        // and sent in CopyData messages (node-postgres reads and drops them without parsing rows).
        // Nothing is kept on this side, so it reads COPY_SAMPLE_FACTOR times as many rows: a
        // longer sample is steadier on a busy server.
        let copyMs = 0;
        let copyTableBytes = 0;
        await c.query("SAVEPOINT preflight_copy");
        try {
            const copyStarted = process.hrtime.bigint();
            const copied = await c.query(`COPY (SELECT * FROM ONLY ${table} LIMIT ${limit * COPY_SAMPLE_FACTOR}) TO STDOUT`);
            copyMs = Number(process.hrtime.bigint() - copyStarted) / 1e6;
            const copiedRows = copied.rowCount ?? 0;
            copyTableBytes = bytesPerRow > 0 ? copiedRows * bytesPerRow : wireBytes * (copiedRows / Math.max(1, rowsRead));
            await c.query("RELEASE SAVEPOINT preflight_copy");
        } catch {
            await c.query("ROLLBACK TO SAVEPOINT preflight_copy");
        }
        return { table: `${t.schema}.${t.name}`, rows: rowsRead, wireBytes, tableBytes, ms, copyMs, copyTableBytes, scanMs, scanTableBytes };
    } catch (err) {
        await c.query("ROLLBACK TO SAVEPOINT preflight_sample");
        return { table: `${t.schema}.${t.name}`, rows: 0, wireBytes: 0, tableBytes: 0, ms: 0, copyMs: 0, copyTableBytes: 0, scanMs: 0, scanTableBytes: 0, error: redact((err as Error).message) };
    } finally {
        await c.query("SET LOCAL statement_timeout = '120s'");
    }
}

// ---------------------------------------------------------------------------------------------
// Findings
// ---------------------------------------------------------------------------------------------

function list(items: string[], max = 8): string {
    if (items.length <= max) return items.join(", ");
    return `${items.slice(0, max).join(", ")} and ${items.length - max} more`;
}

function plural(n: number, one: string, many = `${one}s`): string {
    return `${n} ${n === 1 ? one : many}`;
}

function freezePlan(freeze: FreezeSettings | undefined, estimate: string): FreezePlan {
    if (!freeze) return { mode: "unknown", what: "Not known here (no freeze settings were given to preflight)." };
    switch (freeze.mode) {
        case "maintenance":
            return {
                mode: "maintenance",
                what: `Heroku app "${freeze.app}" goes into maintenance mode${freeze.scaleDown.length ? ` and its ${freeze.scaleDown.join(", ")} process type${freeze.scaleDown.length === 1 ? " is" : "s are"} scaled to 0 (quantities restored at cutover)` : ""}, from after the Heroku database is provisioned until cutover: about ${estimate}.`,
            };
        case "readonly-source":
            return {
                mode: "readonly-source",
                what: `The source database is set read-only (ALTER DATABASE ... SET default_transaction_read_only = on) and its other sessions are ended, from after the Heroku database is provisioned until cutover: about ${estimate}. Reads keep working.`,
            };
        case "hook":
            return {
                mode: "hook",
                what: `freezeCommand \`${freeze.command ?? ""}\` stops writes and unfreezeCommand \`${freeze.unfreezeCommand ?? ""}\` resumes them at cutover: about ${estimate} in between.`,
            };
        case "none":
            return { mode: "none", what: "Nothing is frozen (freezeMode none)." };
    }
}

/**
 * The write freeze, phase by phase, from the size and the measured rates (pure: same input, same
 * numbers). Seconds are rounded to 0.1 s; the total is the sum of the rounded phases.
 */
export function computeEstimate(ins: EstimateInput, compression: DumpCompression): FreezeEstimate {
    const a = ESTIMATE_ASSUMPTIONS;
    const tables = ins.relations.filter((r) => r.kind === "r");
    const dataBytes = tables.reduce((n, r) => n + r.heap + r.toast, 0) + ins.largeObjects.bytes;
    const indexBytes = ins.relations.filter((r) => r.kind === "r" || r.kind === "m").reduce((n, r) => n + r.indexes, 0);
    const heapBytes = tables.reduce((n, r) => n + r.heap, 0);
    const s = ins.sample;
    const measured = s.rows > 0 && !s.error;
    // pg_dump reads with COPY; when COPY could not run, the rows read as text stand in (slower:
    // node-postgres parses every row). A sub-millisecond sample says little: a floor of 1 ms.
    const copied = s.copyMs > 0 && s.copyTableBytes > 0;
    const readBytesPerSec = !measured ? 0 : copied ? s.copyTableBytes / (Math.max(s.copyMs, 1) / 1000) : s.tableBytes / (Math.max(s.ms, 1) / 1000);
    const scanBytesPerSec = measured ? s.scanTableBytes / (Math.max(s.scanMs, 1) / 1000) : 0;
    // pg_dump compresses on one core while it reads: the slower of the two sets the pace.
    const cost = compressionCost(compression);
    const compressSeconds = cost.bytesPerSec ? dataBytes / cost.bytesPerSec : 0;
    const readSeconds = readBytesPerSec > 0 ? (dataBytes / readBytesPerSec) * a.dumpReadFactor : 0;
    const dumpSeconds = readSeconds > 0 ? Math.max(readSeconds, compressSeconds) : 0;
    const archiveBytes = Math.round(dataBytes * cost.ratio);
    const uploadSeconds = archiveBytes / a.uploadBytesPerSec;
    // The restore writes what the dump read; the dump's compression does not slow it down.
    const restoreSeconds = dataBytes / a.restoreWriteBytesPerSec + indexBytes / a.indexBuildBytesPerSec;
    const verifySeconds = (scanBytesPerSec > 0 ? (heapBytes / scanBytesPerSec) * a.verifyScanFactor : 0) + a.verifyOverheadSeconds;
    const round = (x: number) => Math.round(x * 10) / 10;
    const parts = {
        dump: round(dumpSeconds),
        upload: round(uploadSeconds),
        dumpUpload: round(Math.max(dumpSeconds, uploadSeconds)),
        restore: round(restoreSeconds),
        verify: round(verifySeconds),
    };
    const assumptions = [
        measured
            ? `Read rate measured on ${s.table}: ${plural(s.rows, "row")} (${formatBytes(s.tableBytes)} of table, ${formatBytes(s.wireBytes)} as text) read as text in ${s.ms.toFixed(1)} ms${copied ? `, and ${formatBytes(s.copyTableBytes)} of it sent by COPY TO STDOUT, as pg_dump reads it, in ${s.copyMs.toFixed(1)} ms` : " (COPY could not run; a text read is slower than pg_dump)"}; pg_dump reads every table at about ${(a.dumpReadFactor as number) === 1 ? "this rate" : `${a.dumpReadFactor}x this time`} over the same network path.`
            : s.error
                ? `The read rate could not be measured (${s.error}); dump time is left out.`
                : "There is no table data to sample; dump time is taken as zero.",
        cost.bytesPerSec
            ? `pg_dump compresses (dumpCompression ${compression.text}) at about ${formatBytes(cost.bytesPerSec)}/s on one core and the archive is about ${Math.round(cost.ratio * 100)}% of the data (measured on poorly compressible data; compressible data is faster and smaller); the dump takes the longer of reading and compressing.`
            : `The dump is not compressed (dumpCompression ${compression.text}): the archive is about ${Math.round(cost.ratio * 100)}% of the data (values travel as text, bytea as hex), and pg_dump goes as fast as it reads.`,
        `The upload carries ${formatBytes(a.uploadBytesPerSec)}/s into Azure Blob Storage (assumed; the uplink of the machine running Pulumi decides). pg_dump streams straight into the blob, so dump and upload overlap and the slower of the two counts; on a slow uplink choose a dumpCompression level.`,
        `The restore writes ${formatBytes(a.restoreWriteBytesPerSec)}/s of table data and builds ${formatBytes(a.indexBuildBytesPerSec)}/s of index (measured with the rehearsal's PostgreSQL on 2 cores; Heroku's plans have their own CPUs and disks).`,
        `Heroku's own overhead around the restore (queueing the transfer, starting the download and pg_restore) is taken as ${a.herokuOverheadSeconds}s: assumed, not measured here (the rehearsal's emulator has none).`,
        `Verification checksums every table on both sides at once, taking ${a.verifyScanFactor}x as long per byte as the source took to checksum the sample (${formatBytes(scanBytesPerSec)}/s), plus ${a.verifyOverheadSeconds}s of round trips.`,
        `Cutover (config vars, maintenance off, process types scaled back) takes about ${a.cutoverSeconds}s (assumed).`,
        "The freeze starts after the Heroku database is provisioned, so provisioning time is not frozen time.",
    ];
    return {
        sampleTable: s.table,
        sampleRows: s.rows,
        sampleWireBytes: s.wireBytes,
        sampleTableBytes: Math.round(s.tableBytes),
        sampleMs: round(s.ms),
        sampleCopyMs: round(s.copyMs),
        sampleCopyTableBytes: Math.round(s.copyTableBytes),
        readBytesPerSec: Math.round(readBytesPerSec),
        scanBytesPerSec: Math.round(scanBytesPerSec),
        dataBytes,
        indexBytes,
        compression: compression.text,
        archiveBytes,
        dumpSeconds: parts.dump,
        uploadSeconds: parts.upload,
        dumpUploadSeconds: parts.dumpUpload,
        restoreSeconds: parts.restore,
        herokuOverheadSeconds: a.herokuOverheadSeconds,
        verifySeconds: parts.verify,
        cutoverSeconds: a.cutoverSeconds,
        // The sum of the rounded phases, so the table in preflight.md adds up.
        totalSeconds: round(parts.dumpUpload + parts.restore + a.herokuOverheadSeconds + parts.verify + a.cutoverSeconds),
        assumptions,
    };
}

/** The server name of an Azure Database for PostgreSQL host (`myserver` of myserver.postgres.database.azure.com), else undefined. */
export function azureServerName(host: string): string | undefined {
    return AZURE_HOST.exec(host)?.[1];
}

interface Context {
    source: PgConnection;
    ins: Inspection;
    dump: { major: number; minor: number; text: string };
    restore: { major: number; minor: number; text: string };
    serverMajor: number;
    plan: PlanInfo | undefined;
    plans: PlanInfo[];
    herokuMajor: number;
    freeze?: FreezeSettings;
    herokuApp?: { name: string; create: boolean };
    herokuApps?: HerokuAppCheck[];
    azureBackup?: AzureBackupCheck;
    estimate: FreezeEstimate;
    freezePlan: FreezePlan;
    compressionOffer: CompressionOffer;
}

function buildFindings(x: Context): { findings: Finding[]; suggested: PlanInfo | undefined; exclude: string[] } {
    const { ins } = x;
    const out: Finding[] = [];
    const add = (level: FindingLevel, code: string, subject: string | undefined, message: string, action: string) =>
        out.push({ level, code, ...(subject !== undefined ? { subject } : {}), message, action });

    // Versions.
    if (x.dump.major < x.serverMajor) {
        add("blocking", "pg_dump_too_old", undefined,
            `pg_dump ${x.dump.major}.${x.dump.minor} is older than the source server (PostgreSQL ${ins.versionText}); pg_dump refuses to dump a newer server ("server version mismatch").`,
            `Install the PostgreSQL ${x.serverMajor} client tools (apt-get install postgresql-client-${x.serverMajor}, from apt.postgresql.org if your distribution lacks it) or set PG_BIN_DIR to the bin directory of a pg_dump ${x.serverMajor} or newer, then run \`pulumi preview\` again.`);
    }
    if (x.serverMajor > x.herokuMajor) {
        add("warning", "target_version_older", undefined,
            `The source runs PostgreSQL ${x.serverMajor}, but Heroku creates new databases on PostgreSQL ${x.herokuMajor}: SQL features, catalog changes or an archive format newer than ${x.herokuMajor} may not restore.`,
            `Rehearse the restore first (npm start runs it locally), and check \`heroku pg:info\` for the version Heroku gave the database; see devcenter.heroku.com/articles/heroku-postgres-version-support.`);
    }
    add("info", "versions", undefined,
        `Source PostgreSQL ${ins.versionText}; local pg_dump ${x.dump.major}.${x.dump.minor}, pg_restore ${x.restore.major}.${x.restore.minor}; Heroku creates PostgreSQL ${x.herokuMajor}.`, "");

    // Size and plan.
    const tables = ins.relations.filter((r) => r.kind === "r" || r.kind === "m");
    const tableBytes = tables.reduce((n, r) => n + r.heap, 0);
    const toastBytes = tables.reduce((n, r) => n + r.toast, 0);
    const indexBytes = tables.reduce((n, r) => n + r.indexes, 0);
    const biggest = largestTables(ins, 3).map((t) => `${t.schema}.${t.name} ${formatBytes(t.totalBytes)}`);
    add("info", "size", undefined,
        `${ins.database} is ${formatBytes(ins.databaseBytes)} (\\l+): tables ${formatBytes(tableBytes)}, TOAST ${formatBytes(toastBytes)}, indexes ${formatBytes(indexBytes)}, ${plural(ins.largeObjects.count, "large object")}${ins.largeObjects.count ? ` (${formatBytes(ins.largeObjects.bytes)})` : ""}${biggest.length ? `; largest tables: ${biggest.join(", ")}` : ""}.`, "");
    const others = ins.databases.filter((d) => d.name !== ins.database && !["postgres", "azure_maintenance", "azure_sys"].includes(d.name));
    if (others.length > 0) {
        add("info", "other_databases", undefined,
            `The server has ${plural(others.length, "other database")} that this stack does not migrate: ${list(others.map((d) => `${d.name} (${d.bytes === null ? "no access" : formatBytes(d.bytes)})`))}.`,
            "Migrate each with its own stack (sourceDatabase) if the app uses it.");
    }
    let suggested: PlanInfo | undefined;
    if (x.plan) {
        if (ins.databaseBytes > x.plan.storageBytes) {
            suggested = smallestPlanThatFits(ins.databaseBytes, x.plan, x.plans);
            add("blocking", "plan_too_small", x.plan.name,
                `${ins.database} is ${formatBytes(ins.databaseBytes)}, more than the ${x.plan.name} plan's ${formatBytes(x.plan.storageBytes)} of storage.`,
                suggested
                    ? `Choose a plan that holds it: the smallest is ${suggested.name} (${formatBytes(suggested.storageBytes)}): \`pulumi config set herokuPlan ${suggested.name}\`.`
                    : "No Heroku Postgres plan holds it; shrink the data first (or ask Heroku about larger plans).");
        } else if (ins.databaseBytes > 0.8 * x.plan.storageBytes) {
            add("warning", "plan_nearly_full", x.plan.name,
                `${ins.database} (${formatBytes(ins.databaseBytes)}) fills ${Math.round((100 * ins.databaseBytes) / x.plan.storageBytes)}% of the ${x.plan.name} plan's ${formatBytes(x.plan.storageBytes)}; growth after the migration pushes it over.`,
                `Consider a larger herokuPlan${smallestPlanThatFits(ins.databaseBytes * 1.25, x.plan, x.plans) ? ` (e.g. ${smallestPlanThatFits(ins.databaseBytes * 1.25, x.plan, x.plans)!.name})` : ""}.`);
        } else {
            add("info", "plan_fits", x.plan.name,
                `${ins.database} (${formatBytes(ins.databaseBytes)}) fits the ${x.plan.name} plan's ${formatBytes(x.plan.storageBytes)} (${((100 * ins.databaseBytes) / x.plan.storageBytes).toFixed(1)}% used).`, "");
        }
    }
    if (ins.databaseBytes > DUMP_RESTORE_LIMIT_BYTES) {
        add("warning", "large_database", undefined,
            `${ins.database} is ${formatBytes(ins.databaseBytes)}; Heroku's migration guide says dump and restore is suitable below 100 GB, and the write freeze grows with the size (estimated ${formatDuration(x.estimate.totalSeconds * 1000)}).`,
            "Plan a long maintenance window, or ask Heroku (Data Services) about a replication-based migration.");
    }

    // Extensions.
    const canExclude = pgDumpCanExcludeExtensions(x.dump.major);
    const exclude: string[] = [];
    const supported = ins.extensions.filter((e) => e.status === "supported");
    if (supported.length > 0) {
        add("info", "extensions", undefined,
            `Supported on Heroku and restored: ${supported.map((e) => `${e.name} ${e.version} (schema ${e.schema})`).join(", ")}.`, "");
    }
    const notOwned = ins.extensions.filter((e) => e.owner !== ins.user);
    if (notOwned.length > 0) {
        add("info", "extension_owners", undefined,
            `${notOwned.map((e) => `${e.name} (owner ${e.owner})`).join(", ")} ${notOwned.length === 1 ? "was" : "were"} created by another role than ${ins.user}; Heroku creates the supported ones itself during the restore, owned by its credential.`, "");
    }
    for (const e of ins.extensions) {
        const deps = e.dependents.length ? ` Objects that depend on it: ${list(e.dependents)}.` : " No object depends on it.";
        if (e.status === "supported_other_version") {
            add("warning", "extension_version", e.name, e.note, `Test the app against the restored database (npm start rehearses it), or bring the source up to date first: ALTER EXTENSION ${quoteExtName(e.name)} UPDATE;`);
        } else if (e.status === "azure_only") {
            exclude.push(e.name);
            if (e.dependents.length === 0 && canExclude) {
                add("warning", "extension_azure_only", e.name, `${e.note} It is left out of the dump (pg_dump --exclude-extension).${deps}`, "Nothing to do, unless the app calls it.");
            } else {
                add("blocking", "extension_azure_only", e.name, `${e.note}${deps}${e.dependents.length === 0 ? ` pg_dump ${x.dump.major} cannot leave an extension out of the dump (that needs pg_dump 17), and Heroku's restore fails on it.` : ""}`,
                    e.dependents.length === 0
                        ? `Drop it on the source before the migration (DROP EXTENSION ${quoteExtName(e.name)};), or use pg_dump 17 or newer (PG_BIN_DIR), which leaves it out.`
                        : `Remove or replace what depends on it, then DROP EXTENSION ${quoteExtName(e.name)}; on the source.`);
            }
        } else if (e.status === "unsupported") {
            add("blocking", "extension_unsupported", e.name, `${e.note}${deps} Heroku's restore fails on it (${HEROKU_EXTENSIONS_SOURCE}).`,
                e.dependents.length === 0
                    ? `Drop it on the source before the migration: DROP EXTENSION ${quoteExtName(e.name)};`
                    : `Remove or replace what depends on it, then DROP EXTENSION ${quoteExtName(e.name)}; on the source.`);
        }
    }

    // What pg_dump must be able to read.
    // Materialized views are dumped as definitions (refreshed on restore), so only tables and sequences count.
    const unreadable = ins.relations.filter((r) => !r.readable && r.kind !== "m").map((r) => `${r.schema}.${r.name}${r.kind === "S" ? " (sequence)" : ""}`);
    if (unreadable.length > 0 || ins.largeObjects.unreadable > 0) {
        const what = [...unreadable, ...(ins.largeObjects.unreadable ? [plural(ins.largeObjects.unreadable, "large object")] : [])];
        add("blocking", "unreadable_objects", undefined,
            `${ins.user} cannot read ${list(what)}; pg_dump stops with "permission denied" on the first one.`,
            `Let ${ins.user} read them (GRANT the owning role to ${ins.user}, or GRANT SELECT ... TO ${ins.user}), or set sourceUser to a role that can read everything (Azure's admin user).`);
    }

    // Roles and ownership.
    if (ins.owners.length > 0) {
        const byRole = new Map<string, string[]>();
        for (const o of ins.owners) byRole.set(o.role, [...(byRole.get(o.role) ?? []), plural(o.count, o.kind)]);
        add("info", "ownership", undefined,
            `Objects are owned by ${plural(byRole.size, "role")} other than ${ins.user}: ${[...byRole].map(([r, k]) => `${r} (${k.join(", ")})`).join("; ")}. The restore (pg_restore --no-owner) makes Heroku's credential the owner of everything.`,
            "Nothing to do for the migration; if the app logs in as several roles, recreate them as Heroku credentials (Standard plans and up: heroku pg:credentials:create) and grant them what they need.");
    }
    if (ins.grants.length > 0) {
        const byGrantee = new Map<string, number>();
        for (const g of ins.grants) byGrantee.set(g.grantee, (byGrantee.get(g.grantee) ?? 0) + g.objects);
        add("warning", "grants_dropped", undefined,
            `GRANTs to roles that will not exist on Heroku are not restored (pg_restore --no-acl): ${[...byGrantee].map(([r, n]) => `${r} (${plural(n, "object")})`).join(", ")}${ins.defaultAcls ? `; also ${plural(ins.defaultAcls, "ALTER DEFAULT PRIVILEGES entry", "ALTER DEFAULT PRIVILEGES entries")}` : ""}.`,
            "After the restore only Heroku's default credential can use the objects. If other logins need access, create Heroku credentials (heroku pg:credentials:create, Standard plans and up) and GRANT again.");
    }
    if (ins.securityDefiner.length > 0) {
        add("warning", "security_definer", undefined,
            `${plural(ins.securityDefiner.length, "SECURITY DEFINER function")} will run with the rights of Heroku's credential (their new owner) instead of ${list([...new Set(ins.securityDefiner.map((f) => f.owner))])}: ${list(ins.securityDefiner.map((f) => f.fn))}.`,
            "Review them; --no-acl also drops REVOKE EXECUTE ... FROM PUBLIC, so on Heroku every login may call them until you revoke it again.");
    }
    if (ins.policies.length > 0) {
        add("warning", "rls_policy_roles", undefined,
            `Row-level security policies name roles that will not exist on Heroku: ${list(ins.policies.map((p) => `${p.policy} on ${p.table} (TO ${p.roles.join(", ")})`))}. CREATE POLICY fails for them during the restore, so the tables keep RLS enabled without these policies.`,
            "Rewrite them TO PUBLIC or for current_user before the migration, or recreate them on Heroku for a Heroku credential after it.");
    }

    // What does not survive dump/restore or Heroku.
    for (const t of ins.eventTriggers) {
        add("warning", "event_trigger", t.name,
            `Event trigger ${t.name} (on ${t.event}, runs ${t.fn}) is not restored: creating event triggers needs a superuser, and Heroku's credential is not one; pg_restore reports an error and goes on.`,
            "Move what it does into the application or migrations, or drop it before the migration.");
    }
    for (const p of ins.publications) {
        add("warning", "publication", p.name,
            `Publication ${p.name}${p.allTables ? " (FOR ALL TABLES, which needs a superuser to create)" : ""} is ${p.allTables ? "not restored" : "restored, but nothing on Heroku can subscribe to it"}: logical replication out of Heroku Postgres is not available to its credential.`,
            "Drop it before the migration, or rebuild whatever consumed it against Heroku (e.g. Heroku's Change Data Capture).");
    }
    if (ins.subscriptions === undefined) {
        add("info", "subscriptions_unknown", undefined, `${ins.user} may not list subscriptions (pg_subscription); pg_dump leaves them out unless run by a superuser.`, "Check with a superuser: SELECT subname FROM pg_subscription.");
    } else {
        for (const s of ins.subscriptions) {
            add("warning", "subscription", s,
                `Subscription ${s} (logical replication into this database) is not migrated: pg_dump dumps subscriptions only for superusers, and Heroku's credential cannot create them.`,
                "Stop relying on it, or feed the data to Heroku some other way after the cutover.");
        }
    }
    for (const s of ins.foreignServers) {
        add("warning", "foreign_server", s.name,
            `Foreign server ${s.name} (${s.wrapper}${s.options ? `: ${s.options}` : ""}, ${plural(s.mappings, "user mapping")}) is restored, but user mappings lose their passwords (only their owner can read them) and Heroku must be able to reach the remote host.`,
            `After the restore, recreate the user mappings (CREATE USER MAPPING ... SERVER ${s.name} OPTIONS (user ..., password ...)) and check the remote server's firewall allows Heroku.`);
    }
    const spaces = ins.tablespaceObjects.filter((t) => t.tablespace !== "pg_default");
    for (const t of spaces) {
        add("warning", "tablespace", t.tablespace,
            `${plural(t.objects, "object")} live in tablespace ${t.tablespace}; Heroku has only its default tablespace, so SET default_tablespace fails during the restore and they are created in the default one.`,
            "Nothing to do unless the app names the tablespace; the restore logs one error per object.");
    }
    if (ins.databaseTablespace !== "pg_default") {
        add("warning", "tablespace", ins.databaseTablespace,
            `Database ${ins.database} lives in tablespace ${ins.databaseTablespace}; on Heroku it lives in the default one.`, "Nothing to do unless the app names the tablespace.");
    }
    const unlogged = ins.relations.filter((r) => r.persistence === "u" && r.kind !== "S");
    if (unlogged.length > 0) {
        add("info", "unlogged_tables", undefined,
            `Unlogged tables are restored unlogged: ${list(unlogged.map((r) => `${r.schema}.${r.name}`))}. Their data is lost on a crash or failover and they are empty on Heroku followers.`,
            "Make them logged (ALTER TABLE ... SET LOGGED) if their data must survive.");
    }
    // Heroku apps the configuration names must exist before anything is created or frozen.
    for (const app of x.herokuApps ?? []) {
        if (app.exists) continue;
        add("blocking", "heroku_app_missing", app.name,
            `Heroku app "${app.name}" (config \`${app.key}\`) does not exist, or HEROKU_API_KEY cannot see it.`,
            `Fix \`${app.key}\` (\`pulumi config set ${app.key === "dependentApps" ? "--path 'dependentApps[0]'" : app.key} <app>\`), or check the key's access with \`heroku apps:info -a ${app.name}\`.`);
    }

    // The write freeze and its estimate.
    const estimate = formatDuration(x.estimate.totalSeconds * 1000);
    if (x.freeze?.mode === "none") {
        add("warning", "freeze_none", undefined,
            `freezeMode is none: nothing stops writes to the source, so anything written after pg_dump takes its snapshot (about ${estimate} before cutover) is missing on Heroku.`,
            "Set freezeMode to maintenance, readonly-source or hook (`pulumi config set freezeMode maintenance`), or stop writes yourself before `pulumi up`.");
    } else if (x.freeze?.mode === "readonly-source" && !ins.superuser && !ins.ownsDatabase) {
        add("blocking", "freeze_not_permitted", undefined,
            `freezeMode readonly-source needs ALTER DATABASE ${ins.database}, but ${ins.user} neither owns it (owner ${ins.databaseOwner}) nor is a superuser.`,
            `Use freezeMode maintenance or hook, or set sourceUser to the database owner (${ins.databaseOwner}).`);
    } else if (x.freeze?.mode === "maintenance" && x.herokuApp?.create && x.freeze.app === x.herokuApp.name) {
        add("warning", "freeze_app_new", x.freeze.app,
            `freezeMode maintenance freezes Heroku app "${x.freeze.app}", which this stack creates (herokuCreateApp true): nothing that writes to the source runs there yet, so nothing is frozen.`,
            `Set freezeApp to the app that writes to the source today (\`pulumi config set freezeApp <app>\`), or use freezeMode readonly-source or hook.`);
    } else if (x.freeze) {
        add("info", "freeze_plan", undefined, x.freezePlan.what, "Announce the maintenance window; the freeze is lifted automatically if a later stage fails (unfreezeOnFailure).");
    }
    const e = x.estimate;
    if (ins.sample.error) {
        add("warning", "estimate_unmeasured", undefined,
            `The read rate could not be measured on ${ins.sample.table} (${ins.sample.error}), so the estimate leaves the dump out.`,
            "Check that the source answers quickly (a few MiB in 15 s), then run `pulumi preview` again.");
    }
    add("info", "freeze_estimate", undefined,
        `Estimated write freeze: ${estimate} = dump and upload ${formatDuration(e.dumpUploadSeconds * 1000)} + restore ${formatDuration(e.restoreSeconds * 1000)} + Heroku's own overhead ${formatDuration(e.herokuOverheadSeconds * 1000)} (assumed) + verification ${formatDuration(e.verifySeconds * 1000)} + cutover ${formatDuration(e.cutoverSeconds * 1000)}, for ${formatBytes(e.dataBytes)} of table data and ${formatBytes(e.indexBytes)} of indexes at a measured ${formatBytes(e.readBytesPerSec)}/s.`,
        "See the assumptions in preflight.md; a rehearsal (npm start) against a copy of the real database gives the real numbers.");

    add("info", "dump_compression", undefined,
        `pg_dump -Fc compression ${e.compression} (dumpCompression): an archive of about ${formatBytes(e.archiveBytes)}; the local pg_dump ${x.dump.major}.${x.dump.minor} offers ${x.compressionOffer.text}.`,
        e.compression === DEFAULT_DUMP_COMPRESSION
            ? "On a slow uplink to Azure, a level (`pulumi config set dumpCompression 1`) makes the upload smaller at some CPU cost."
            : "");

    // A recent backup of the source.
    out.push(...backupFindings(x.source.host, x.azureBackup, new Date()));

    return { findings: out, suggested, exclude };
}

/**
 * Azure flexible server takes a snapshot backup once a day, so on a server in use the newest
 * completed backup is at most about 24 hours old; the extra hour covers the snapshot's own run
 * time and the drift of its schedule. Older means a daily snapshot was missed (or skipped: Azure
 * skips it while no database changed, and a stopped server takes none).
 */
export const AZURE_BACKUP_MAX_AGE_HOURS = 25;

/** How to make a backup now, in the CLI's current spelling and the one from Azure CLI 2.86. */
function backupCreateCommand(resourceGroup: string, server: string): string {
    return `\`az postgres flexible-server backup create --resource-group ${resourceGroup} --name ${server} --backup-name pre-heroku-migration\` (Azure CLI 2.86 and later: \`--server-name ${server} --name pre-heroku-migration\`)`;
}

/** "5h03m", or "3.2 days" from two days on. */
function formatAge(ms: number): string {
    return ms < 48 * 3600_000 ? formatDuration(ms) : `${(ms / 86_400_000).toFixed(1)} days`;
}

/**
 * The backup findings for the source host, from Azure's backup list when it was read (pure).
 * - not an Azure host: info `backup_unverified`;
 * - no check, or unavailable: warning `azure_backup_unverified` with the reason and how to check;
 * - newest completed backup within AZURE_BACKUP_MAX_AGE_HOURS: info `azure_backup_recent`;
 * - older: warning `azure_backup_old`; none completed: blocking `azure_backup_missing` (acknowledgeable).
 */
export function backupFindings(host: string, check: AzureBackupCheck | undefined, now: Date): Finding[] {
    const finding = (level: FindingLevel, code: string, message: string, action: string): Finding => ({ level, code, message, action });
    const server = azureServerName(host);
    if (!server) {
        return [finding("info", "backup_unverified",
            `${host} is not an Azure Database for PostgreSQL host; preflight does not check its backups.`, "Make sure a recent backup of the source exists before the freeze.")];
    }
    if (!check || check.state === "unavailable") {
        const why = check ? check.reason.replace(/\.$/, "") : "no Azure backup check was run (no Azure credentials were given to preflight)";
        return [finding("warning", "azure_backup_unverified",
            `Preflight could not read Azure's backups of ${server}: ${why}. Heroku's guide asks for a recent backup before migrating.`,
            `Check that one finished recently: \`az postgres flexible-server backup list --resource-group <resource group of ${server}> --name ${server} --output table\` (Azure CLI 2.86 and later: \`--server-name ${server}\`); make one now with \`az postgres flexible-server backup create\` if the newest is too old.`)];
    }
    const a = assessBackups(check.backups, now);
    const counts = `${plural(a.total, "backup")} listed (${a.automatic} automatic, ${a.onDemand} on-demand${a.total > a.completed ? `, ${a.total - a.completed} without a completion time` : ""})`;
    const create = backupCreateCommand(check.resourceGroup, check.server);
    if (!a.newest) {
        return [finding("blocking", "azure_backup_missing",
            `Azure has no completed backup of ${check.server} (resource group ${check.resourceGroup}; ${counts}): if the migration goes wrong there is no backup to go back to. Heroku's guide asks for a recent backup before migrating.`,
            `Make one now: ${create}, then run \`pulumi preview\` again.`)];
    }
    const n = a.newest;
    const newest = `${n.name} (${n.automatic ? "automatic" : "on-demand"}), completed ${n.completedTime}, ${formatAge(n.ageMs)} ago`;
    if (n.ageMs <= AZURE_BACKUP_MAX_AGE_HOURS * 3600_000) {
        return [finding("info", "azure_backup_recent",
            `Newest Azure backup of ${check.server}: ${newest}; ${counts}.`, "Nothing to do: Azure can restore the source from it (or to any point within its retention) if the migration goes wrong.")];
    }
    return [finding("warning", "azure_backup_old",
        `The newest Azure backup of ${check.server} is ${newest}: older than ${AZURE_BACKUP_MAX_AGE_HOURS} hours, although Azure takes one daily (it skips days on which no database changed, and a stopped server takes none); ${counts}. Heroku's guide asks for a recent backup before migrating.`,
        `Make one now: ${create}, then run \`pulumi preview\` again.`)];
}

function largestTables(ins: Inspection, n: number): TableSize[] {
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

/** The `acknowledge` key for a finding: "code" or "code:subject". */
export function findingKey(f: Pick<Finding, "code" | "subject">): string {
    return f.subject !== undefined ? `${f.code}:${f.subject}` : f.code;
}

/**
 * Applies `acknowledge` entries: a matching blocking finding becomes a warning that shows the
 * reason; every other blocking finding names the exact entry that would acknowledge it; entries
 * that match no blocking finding are warned about (they are stale or mistyped).
 */
export function applyAcknowledgements(findings: Finding[], acks: AcknowledgeEntry[]): Finding[] {
    const used = new Set<AcknowledgeEntry>();
    let next = acks.length;
    const out = findings.map((f): Finding => {
        if (f.level !== "blocking") return f;
        const ack = acks.find((a) => a.code === f.code && (a.subject ?? undefined) === f.subject);
        if (ack) {
            used.add(ack);
            return { ...f, level: "warning", acknowledged: { entry: ack.entry, reason: ack.reason }, action: `Acknowledged ("${ack.reason}"), so it does not stop the migration. ${f.action}` };
        }
        const entry = `${findingKey(f)}=<why it is safe>`;
        return { ...f, action: `${f.action} To go ahead anyway: \`pulumi config set --path 'acknowledge[${next++}]' '${entry}'\`.` };
    });
    for (const a of acks) {
        if (used.has(a)) continue;
        out.push({
            level: "warning",
            code: "acknowledge_unused",
            subject: a.entry,
            message: `acknowledge entry "${a.entry}" matches no blocking finding.`,
            action: `Remove it (pulumi config set --path 'acknowledge[${acks.indexOf(a)}]' ...), or fix the code/subject to the one a blocking finding names.`,
        });
    }
    return out;
}

const LEVEL_ORDER: FindingLevel[] = ["blocking", "warning", "info"];

function sortFindings(findings: Finding[]): Finding[] {
    return findings
        .map((f, i) => ({ f, i }))
        .sort((a, b) => LEVEL_ORDER.indexOf(a.f.level) - LEVEL_ORDER.indexOf(b.f.level) || a.i - b.i)
        .map((x) => x.f);
}

// ---------------------------------------------------------------------------------------------
// Entry point and output
// ---------------------------------------------------------------------------------------------

/** Runs every check against the source, read-only. Throws only when the source cannot be read at all. */
export async function runPreflight(source: PgConnection, opts: PreflightOptions): Promise<PreflightPlan> {
    const dump = pgToolVersion("pg_dump");
    const restore = pgToolVersion("pg_restore");
    const plans = opts.plans ?? herokuPostgresPlans();
    const plan = findPlan(opts.plan, plans);
    const herokuMajor = opts.herokuPostgresMajor ?? HEROKU_DEFAULT_POSTGRES_MAJOR;

    const { ins, queryFindings } = await withClient(source, async (c) => {
        await c.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
        let inspected: Inspection;
        try {
            await c.query("SET LOCAL statement_timeout = '120s'");
            inspected = await inspect(c, opts.sampleBytes ?? DEFAULT_SAMPLE_BYTES);
        } finally {
            await c.query("ROLLBACK").catch(() => undefined);
        }
        const checked = await checkUserQueries(c, opts.verifyQueries ?? [], { timeoutMs: opts.verifyQueryTimeoutMs, user: inspected.user, database: inspected.database });
        return { ins: inspected, queryFindings: checked };
    });
    const serverMajor = majorVersion(ins.versionNum);
    const estimate = computeEstimate(ins, opts.dumpCompression ?? parseDumpCompression(DEFAULT_DUMP_COMPRESSION)!);
    const fp = freezePlan(opts.freeze, formatDuration(estimate.totalSeconds * 1000));
    const compressionOffer = localCompressionOffer();
    const built = buildFindings({ source, ins, dump, restore, serverMajor, plan, plans, herokuMajor, freeze: opts.freeze, herokuApp: opts.herokuApp, herokuApps: opts.herokuApps, azureBackup: opts.azureBackup, estimate, freezePlan: fp, compressionOffer });
    // A verify query verification would refuse cannot be acknowledged: it would fail there anyway.
    const settingsPlan = planSettings(sourceSettings(ins), { ...opts.customSettings, plan: opts.plan, contexts: ins.settingContexts });
    const settingFindings: Finding[] = settingsFindings(settingsPlan, { essential: /^(heroku-postgresql:)?essential-/.test(opts.plan) });
    const findings = sortFindings([...applyAcknowledgements(built.findings, opts.acknowledge ?? []), ...queryFindings, ...settingFindings]);

    const acknowledgedUnsupported = findings.filter((f) => f.code === "extension_unsupported" && f.acknowledged).map((f) => f.subject as string);
    const tables = ins.relations.filter((r) => r.kind === "r" || r.kind === "m");
    return {
        serverVersion: ins.versionText,
        serverMajor,
        pgDumpVersion: `${dump.major}.${dump.minor}`,
        databaseBytes: ins.databaseBytes,
        extensions: ins.extensions
            .filter((e) => e.status === "supported" || e.status === "supported_other_version")
            .map((e) => ({ name: e.name, version: e.version, schema: e.schema })),
        findings,
        generatedAt: new Date().toISOString(),
        source: { host: source.host, port: source.port, database: ins.database, user: ins.user, superuser: ins.superuser },
        pgDumpMajor: dump.major,
        pgRestoreVersion: `${restore.major}.${restore.minor}`,
        target: { postgresMajor: herokuMajor, plan: opts.plan, planStorageBytes: plan ? plan.storageBytes : null, suggestedPlan: built.suggested?.name ?? null },
        databases: ins.databases,
        size: {
            databaseBytes: ins.databaseBytes,
            tableBytes: tables.reduce((n, r) => n + r.heap, 0),
            toastBytes: tables.reduce((n, r) => n + r.toast, 0),
            indexBytes: tables.reduce((n, r) => n + r.indexes, 0),
            largeObjects: { count: ins.largeObjects.count, bytes: ins.largeObjects.bytes },
            largestTables: largestTables(ins, 10),
        },
        extensionReport: ins.extensions,
        excludeExtensions: [...built.exclude, ...acknowledgedUnsupported],
        archiveBytesEstimate: estimate.archiveBytes,
        settings: settingsPlan,
        dumpCanExcludeExtensions: pgDumpCanExcludeExtensions(dump.major),
        freeze: fp,
        estimate,
        counts: {
            blocking: findings.filter((f) => f.level === "blocking").length,
            warning: findings.filter((f) => f.level === "warning").length,
            info: findings.filter((f) => f.level === "info").length,
        },
    };
}

/** One line per finding, blocking first: `BLOCKING code[:subject]: message action`. */
export function formatFindings(findings: Finding[]): string[] {
    return sortFindings(findings).map((f) => {
        const ack = f.acknowledged ? ` (acknowledged: ${f.acknowledged.reason})` : "";
        return `${f.level.toUpperCase()} ${findingKey(f)}${ack}: ${f.message}${f.action ? ` ${f.action}` : ""}`;
    });
}

function mdEscape(s: string): string {
    return s.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** preflight.md: the plan for people, findings first. */
export function renderPreflightMarkdown(p: PreflightPlan): string {
    const lines: string[] = [];
    const verdict = p.counts.blocking > 0
        ? `**Not ready: ${plural(p.counts.blocking, "blocking finding")}.** \`pulumi up\` stops before anything is created or frozen.`
        : `**Ready to migrate** (${plural(p.counts.warning, "warning")}).`;
    lines.push(`# Preflight: ${p.source.database} on ${p.source.host}:${p.source.port} -> Heroku Postgres ${p.target.plan}`, "");
    lines.push(verdict, "", `Generated ${p.generatedAt} as ${p.source.user}${p.source.superuser ? " (superuser)" : ""}. Nothing on the source was changed.`, "");
    const groups: Array<[FindingLevel, string]> = [["blocking", "Blocking"], ["warning", "Warnings"], ["info", "Info"]];
    for (const [level, title] of groups) {
        const fs = p.findings.filter((f) => f.level === level);
        if (fs.length === 0) continue;
        lines.push(`## ${title}`, "");
        for (const f of fs) {
            lines.push(`- **${findingKey(f)}**${f.acknowledged ? ` _(acknowledged: ${f.acknowledged.reason})_` : ""}: ${f.message}`);
            if (f.action) lines.push(`  - What to do: ${f.action}`);
        }
        lines.push("");
    }
    const e = p.estimate;
    lines.push("## Write freeze", "", p.freeze.what, "");
    lines.push("| phase | estimate |", "| --- | --- |");
    lines.push(`| dump + upload (streamed, compression ${e.compression}, about ${formatBytes(e.archiveBytes)}: dump ${formatDuration(e.dumpSeconds * 1000)}, upload ${formatDuration(e.uploadSeconds * 1000)}, the slower counts) | ${formatDuration(e.dumpUploadSeconds * 1000)} |`);
    lines.push(`| restore (pg_restore) | ${formatDuration(e.restoreSeconds * 1000)} |`);
    lines.push(`| Heroku's own overhead, not measured here (assumed) | ${formatDuration(e.herokuOverheadSeconds * 1000)} |`);
    lines.push(`| verification | ${formatDuration(e.verifySeconds * 1000)} |`);
    lines.push(`| cutover | ${formatDuration(e.cutoverSeconds * 1000)} |`);
    lines.push(`| **total** | **${formatDuration(e.totalSeconds * 1000)}** |`, "");
    lines.push("Assumptions:", "", ...e.assumptions.map((a) => `- ${a}`), "");
    lines.push("## Size", "");
    lines.push(`Target: Heroku Postgres ${p.target.plan} (${p.target.planStorageBytes === null ? "unknown storage" : formatBytes(p.target.planStorageBytes)}), PostgreSQL ${p.target.postgresMajor}${p.target.suggestedPlan ? `; smallest plan that fits: ${p.target.suggestedPlan}` : ""}. Source PostgreSQL ${p.serverVersion}, pg_dump ${p.pgDumpVersion}.`, "");
    lines.push("| database | owner | size |", "| --- | --- | --- |");
    for (const d of p.databases) lines.push(`| ${mdEscape(d.name)}${d.name === p.source.database ? " (migrated)" : ""} | ${mdEscape(d.owner)} | ${d.bytes === null ? "no access" : formatBytes(d.bytes)} |`);
    lines.push("");
    lines.push(`${p.source.database}: tables ${formatBytes(p.size.tableBytes)}, TOAST ${formatBytes(p.size.toastBytes)}, indexes ${formatBytes(p.size.indexBytes)}, ${plural(p.size.largeObjects.count, "large object")} (${formatBytes(p.size.largeObjects.bytes)}).`, "");
    if (p.size.largestTables.length) {
        lines.push("| largest tables | rows (est.) | table | TOAST | indexes | total |", "| --- | ---: | ---: | ---: | ---: | ---: |");
        for (const t of p.size.largestTables) {
            lines.push(`| ${mdEscape(`${t.schema}.${t.name}`)} | ${t.rows} | ${formatBytes(t.heapBytes)} | ${formatBytes(t.toastBytes)} | ${formatBytes(t.indexBytes)} | ${formatBytes(t.totalBytes)} |`);
        }
        lines.push("");
    }
    if (p.extensionReport.length) {
        lines.push("## Extensions", "", "| extension | version | schema | status | note |", "| --- | --- | --- | --- | --- |");
        for (const x of p.extensionReport) lines.push(`| ${mdEscape(x.name)} | ${mdEscape(x.version)} | ${mdEscape(x.schema)} | ${x.status} | ${mdEscape(x.note)}${x.dependents.length ? ` Depends on it: ${mdEscape(x.dependents.join(", "))}.` : ""} |`);
        lines.push("", `Restore asks Heroku for: ${p.extensions.map((x) => x.name).join(", ") || "(none)"}. Source of the supported list: ${HEROKU_EXTENSIONS_SOURCE}.`, "");
    }
    return lines.join("\n");
}

/** preflight.json / the stack output: the whole plan, plain JSON (no credentials in it). */
export function preflightJson(p: PreflightPlan): string {
    return JSON.stringify(p, null, 2) + "\n";
}
