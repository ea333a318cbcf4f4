/**
 * Which objects in a database are the user's: the one definition that preflight, verification
 * and the table listing share, so that what preflight plans for and what verification compares
 * cannot disagree. An object is the user's when its schema is not PostgreSQL's own (pg_catalog,
 * information_schema, the TOAST schemas pg_toast and pg_toast_temp_N, the temporary schemas
 * pg_temp_N) and it is not a member of an extension (pg_depend deptype 'e': pg_dump leaves
 * members to CREATE EXTENSION, so the restore recreates them from the target's own extension).
 * Objects without a pg_depend entry of their own (columns, constraints, indexes, triggers,
 * policies) are the user's when the relation or type they belong to is.
 *
 * Before this module the predicate was spelled three times: lib/verify.ts
 * (`nspname !~ '^pg_(toast|temp_|toast_temp_)'`), lib/preflight.ts (`NOT LIKE 'pg\_toast%'`,
 * `'pg\_temp\_%'` and `'pg\_toast\_temp\_%'`) and lib/pg.ts listTables (the same LIKEs without the
 * toast_temp one, which 'pg\_toast%' covers). They exclude the same schemas; the regular
 * expression is kept because it has no backslash, so it means the same whatever the session's
 * standard_conforming_strings (with it off, 'pg\_temp\_%' loses its escapes and its `_` matches
 * any character). Extension members: all three exclude them the same way; preflight also
 * applies it to event triggers, which this predicate covers (pass pg_event_trigger).
 *
 * SQL fragments only, no state (dynamic providers capture this file).
 */

/** System catalogs whose rows can be extension members (pg_depend.classid). */
export type MemberCatalog = "pg_namespace" | "pg_class" | "pg_type" | "pg_proc" | "pg_event_trigger" | "pg_collation" | "pg_operator";

/** SQL condition: `<alias>.nspname` is a user's schema (not PostgreSQL's own, TOAST or temporary). */
export function userSchema(alias = "n"): string {
    return `${alias}.nspname NOT IN ('pg_catalog', 'information_schema') AND ${alias}.nspname !~ '^pg_(toast|temp_|toast_temp_)'`;
}

/** SQL condition: the object `oidExpr` of `catalog` is not a member of an extension. */
export function notExtensionMember(catalog: MemberCatalog, oidExpr: string): string {
    return `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend dep WHERE dep.classid = 'pg_catalog.${catalog}'::regclass AND dep.objid = ${oidExpr} AND dep.deptype = 'e')`;
}

/** SQL condition: the object is the user's: in a user's schema (alias `nsAlias`) and not an extension member. */
export function userObject(nsAlias: string, catalog: MemberCatalog, oidExpr: string): string {
    return `${userSchema(nsAlias)} AND ${notExtensionMember(catalog, oidExpr)}`;
}
