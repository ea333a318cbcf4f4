/**
 * PostgreSQL extensions: which ones Heroku Postgres lets a database have, which ones exist only on
 * Azure, and how preflight classifies each extension installed in the source database. This is the
 * program's ONE copy of these facts (the Heroku emulator keeps its own copy in
 * emulator/heroku/extensions.ts, because it plays Heroku; test/preflight.unit.test.ts checks that the
 * two lists agree).
 *
 * Sources:
 * - Heroku Dev Center, "Extensions, PostGIS, and Full Text Search Dictionaries on Heroku Postgres",
 *   https://devcenter.heroku.com/articles/heroku-postgres-extensions-postgis-full-text-search
 *   ("Only the following extensions in this article are supported and can be installed on Heroku
 *   Postgres"; tables Data types, Functions, Index types, Languages, Miscellaneous, PostGIS).
 *   The authoritative list for one database is `echo 'show extwlist.extensions' | heroku pg:psql`.
 * - Heroku Dev Center, "Heroku Postgres Credentials" (the default credential is "one step below
 *   the superuser" and can "install supported extensions"): anything needing superuser at restore
 *   time (unsupported extensions, event triggers) fails there.
 * - Heroku Help, "Heroku Postgres extension schema restrictions": extensions may live in any
 *   schema again (since Aug 2023); `pg:backups:restore --extensions 'schema.name'` pre-installs.
 * - Microsoft Learn, Azure Database for PostgreSQL flexible server: "Allow extensions"
 *   (azure.extensions allow-list), "Azure AI extension" (azure_ai), "Azure Storage extension"
 *   (azure_storage), "Microsoft Entra authentication" (pgaadauth), pg_cron considerations
 *   (concepts-extensions-considerations: pg_cron keeps its jobs in one database, `postgres` by
 *   default, cron.database_name).
 * - PostgreSQL 17 release notes: `pg_dump --exclude-extension` exists from pg_dump 17 on.
 *
 * Plain data and pure functions only (dynamic providers may capture lib/).
 */

export const HEROKU_EXTENSIONS_SOURCE = "https://devcenter.heroku.com/articles/heroku-postgres-extensions-postgis-full-text-search";

/** Heroku Postgres' extension allow-list (transcribed from the Dev Center article above). */
export const HEROKU_SUPPORTED_EXTENSIONS: readonly string[] = Object.freeze([
    // Data types
    "citext", "cube", "hstore", "isn", "lo", "ltree", "seg", "vector",
    // Functions
    "dict_int", "dict_xsyn", "earthdistance", "fuzzystrmatch", "intarray", "pg_trgm", "pgcrypto", "tablefunc",
    "unaccent", "uuid-ossp", "autoinc", "insert_username", "moddatetime", "refint", "intagg",
    // Index types
    "bloom", "btree_gin", "btree_gist",
    // Languages
    "plpgsql",
    // Miscellaneous
    "amcheck", "dblink", "hll", "pg_partman", "pg_stat_statements", "pgrowlocks", "pgstattuple", "postgres_fdw",
    "sslinfo", "tcn", "tsm_system_rows", "tsm_system_time",
    // PostGIS
    "address_standardizer", "address_standardizer_data_us", "pgrouting", "postgis", "postgis_raster", "postgis_sfcgal",
    "postgis_tiger_geocoder", "postgis_topology",
]);

/**
 * Extensions that exist only on Azure Database for PostgreSQL: they tie the database to Azure
 * services and have no meaning on Heroku, so they are dropped (left out of the dump, or dropped on
 * the source first) rather than migrated.
 */
export const AZURE_ONLY_EXTENSIONS: Readonly<Record<string, string>> = Object.freeze({
    azure: "Azure's internal support extension",
    azure_ai: "Azure AI extension (calls Azure OpenAI / Cognitive Services from SQL)",
    azure_local_ai: "Azure local AI extension (in-server embedding models)",
    azure_storage: "Azure Storage extension (COPY to/from Azure blobs)",
    pgaadauth: "Microsoft Entra ID (Azure AD) authentication",
    pg_diskann: "Azure's DiskANN vector index",
});

/** What to do instead, for unsupported extensions people commonly have on Azure. */
export const UNSUPPORTED_EXTENSION_HINTS: Readonly<Record<string, string>> = Object.freeze({
    adminpack: "adminpack only adds server file functions for pgAdmin; nothing on Heroku needs it.",
    pg_cron: "Heroku Postgres has no pg_cron: move the jobs (SELECT jobname, schedule, command FROM cron.job) to Heroku Scheduler or a clock process.",
    pg_buffercache: "pg_buffercache is a diagnostics view; Heroku's `heroku pg:diagnose` and pg_stat_statements cover most uses.",
    pg_prewarm: "pg_prewarm only warms caches; nothing is lost without it.",
    pg_repack: "Heroku does not offer pg_repack; use VACUUM (FULL) in a maintenance window instead.",
    pg_hint_plan: "Heroku does not offer pg_hint_plan; remove the hints from queries or rewrite them.",
    pgaudit: "Heroku does not offer pgaudit; Shield plans have their own audit logging.",
    hypopg: "hypopg is an index advisor; run it against a local copy instead.",
    timescaledb: "Heroku does not offer TimescaleDB; plain partitioned tables (with pg_partman) are the usual replacement.",
    file_fdw: "file_fdw reads server files, which Heroku does not expose.",
    pg_visibility: "pg_visibility is a diagnostics extension; nothing is lost without it.",
    pageinspect: "pageinspect is a diagnostics extension; nothing is lost without it.",
    pg_freespacemap: "pg_freespacemap is a diagnostics extension; nothing is lost without it.",
    xml2: "xml2 is deprecated in PostgreSQL itself; use the built-in XML functions (xpath, xmltable).",
    age: "Heroku does not offer Apache AGE (graph queries).",
    orafce: "Heroku does not offer orafce; port the Oracle-compatible functions the app uses to SQL/plpgsql.",
});

/** Extension versions that Heroku restores as something else, with what changes. */
const VERSION_NOTES: ReadonlyArray<{ name: string; applies: (version: string) => boolean; note: string }> = [
    {
        name: "postgis",
        applies: (v) => Number(v.split(".")[0]) < 3,
        note: "Heroku runs PostGIS 3, which moved raster support into the separate postgis_raster extension: a PostGIS 2 dump with raster columns needs `postgis_raster` too; test the restore on a copy first.",
    },
    {
        name: "pg_partman",
        applies: (v) => Number(v.split(".")[0]) < 5,
        note: "pg_partman 5 changed its configuration tables and functions (create_parent arguments, no trigger-based partitioning); check which version Heroku installs (SELECT default_version FROM pg_available_extensions WHERE name = 'pg_partman' on the Heroku database) and the partman.part_config rows after the restore.",
    },
];

export type ExtensionStatus = "supported" | "supported_other_version" | "azure_only" | "unsupported";

export interface InstalledExtension {
    name: string;
    /** extversion on the source */
    version: string;
    schema: string;
    owner: string;
    /** The version this server would install today (pg_available_extensions.default_version), if known. */
    defaultVersion?: string;
}

export interface ExtensionClassification {
    status: ExtensionStatus;
    /** One sentence: why, and what it means for the migration. */
    note: string;
}

export function isHerokuSupportedExtension(name: string): boolean {
    return HEROKU_SUPPORTED_EXTENSIONS.includes(name.trim().toLowerCase());
}

export function isAzureOnlyExtension(name: string): boolean {
    return Object.prototype.hasOwnProperty.call(AZURE_ONLY_EXTENSIONS, name.trim().toLowerCase());
}

/**
 * Classifies one installed extension:
 * - supported: on Heroku's allow-list; restored as is;
 * - supported_other_version: on the allow-list, but Heroku creates a different version than the
 *   source has (pg_dump writes `CREATE EXTENSION ... ` without a version, so the target gets the
 *   version its server ships): a known incompatible major, or a source that never ran
 *   `ALTER EXTENSION ... UPDATE` after a server upgrade;
 * - azure_only: exists only on Azure; dropped;
 * - unsupported: not on Heroku's allow-list; the restore fails on it.
 */
export function classifyExtension(ext: InstalledExtension): ExtensionClassification {
    const name = ext.name.toLowerCase();
    if (isHerokuSupportedExtension(name)) {
        const known = VERSION_NOTES.find((n) => n.name === name && n.applies(ext.version));
        if (known) return { status: "supported_other_version", note: `${ext.name} ${ext.version} on the source: ${known.note}` };
        if (ext.defaultVersion && ext.defaultVersion !== ext.version) {
            return {
                status: "supported_other_version",
                note: `${ext.name} is at version ${ext.version} on the source, but this server's current version is ${ext.defaultVersion} (ALTER EXTENSION ${quoteExtName(ext.name)} UPDATE was never run); the dump does not pin a version, so Heroku creates its own current version, which may behave differently.`,
            };
        }
        return { status: "supported", note: `${ext.name} ${ext.version} is supported on Heroku Postgres.` };
    }
    if (isAzureOnlyExtension(name)) {
        return { status: "azure_only", note: `${ext.name} (${AZURE_ONLY_EXTENSIONS[name]}) exists only on Azure and has no meaning on Heroku.` };
    }
    const hint = UNSUPPORTED_EXTENSION_HINTS[name];
    return { status: "unsupported", note: `${ext.name} is not on Heroku Postgres' extension allow-list${hint ? `; ${hint}` : "."}` };
}

/** `CREATE EXTENSION` / `DROP EXTENSION` spelling of a name (quoted when it needs it, e.g. "uuid-ossp"). */
export function quoteExtName(name: string): string {
    return /^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/** pg_dump can leave an extension out of the dump (`--exclude-extension`) from version 17 on. */
export function pgDumpCanExcludeExtensions(pgDumpMajor: number): boolean {
    return pgDumpMajor >= 17;
}
