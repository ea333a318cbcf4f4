/**
 * Preflight's "user's objects" predicate, as SQL conditions: an object in a schema the user
 * created (not pg_catalog, information_schema, TOAST or temporary schemas) that is not a member
 * of an extension (pg_restore recreates those with the extension). Every inspection query that
 * counts the user's objects uses userObject(); the two parts are exported for the queries that
 * need only one of them (tablespaces: the schema part; event triggers, which have no schema: the
 * extension part).
 */

/** The schema part: `n` is the pg_namespace row of the object's schema. */
export const USER_SCHEMA = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%'`;

/** The extension part: the object (`oid` in catalog `catalog`) is not a member of an extension. */
export function notExtensionMember(catalog: string, oid: string): string {
    return `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend x WHERE x.classid = 'pg_catalog.${catalog}'::regclass AND x.objid = ${oid} AND x.deptype = 'e')`;
}

/** The user's object: in a user schema (alias `n`) and not an extension member. */
export function userObject(catalog: string, oid: string): string {
    return `${USER_SCHEMA} AND ${notExtensionMember(catalog, oid)}`;
}
