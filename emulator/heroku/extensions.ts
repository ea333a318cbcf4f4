/**
 * The PostgreSQL extensions Heroku Postgres lets a database create (its `extwlist.extensions`
 * allow-list). The emulator refuses to restore a dump whose table of contents holds an extension
 * outside this list, and refuses `extensions` pre-install requests for one.
 *
 * Source: Heroku Dev Center, "Extensions, PostGIS, and Full Text Search Dictionaries on Heroku
 * Postgres", https://devcenter.heroku.com/articles/heroku-postgres-extensions-postgis-full-text-search
 * (tables "Data types", "Functions", "Index types", "Languages", "Miscellaneous", "PostGIS").
 * Transcribed by hand; the authoritative list for a given database is
 * `echo 'show extwlist.extensions' | heroku pg:psql`. Keep this the only copy in the emulator.
 */
export const HEROKU_EXTENSIONS_SOURCE = "https://devcenter.heroku.com/articles/heroku-postgres-extensions-postgis-full-text-search";

export const HEROKU_SUPPORTED_EXTENSIONS: readonly string[] = Object.freeze([
    // Data types
    "citext",
    "cube",
    "hstore",
    "isn",
    "lo",
    "ltree",
    "seg",
    "vector",
    // Functions
    "dict_int",
    "dict_xsyn",
    "earthdistance",
    "fuzzystrmatch",
    "intarray",
    "pg_trgm",
    "pgcrypto",
    "tablefunc",
    "unaccent",
    "uuid-ossp",
    "autoinc",
    "insert_username",
    "moddatetime",
    "refint",
    "intagg",
    // Index types
    "bloom",
    "btree_gin",
    "btree_gist",
    // Languages
    "plpgsql",
    // Miscellaneous
    "amcheck",
    "dblink",
    "hll",
    "pg_partman",
    "pg_stat_statements",
    "pgrowlocks",
    "pgstattuple",
    "postgres_fdw",
    "sslinfo",
    "tcn",
    "tsm_system_rows",
    "tsm_system_time",
    // PostGIS
    "address_standardizer",
    "address_standardizer_data_us",
    "pgrouting",
    "postgis",
    "postgis_raster",
    "postgis_sfcgal",
    "postgis_tiger_geocoder",
    "postgis_topology",
]);

export function isSupportedExtension(name: string): boolean {
    return HEROKU_SUPPORTED_EXTENSIONS.includes(name.trim().toLowerCase());
}
