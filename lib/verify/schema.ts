/**
 * Schema comparison: inspectSchema reads the user's objects (lib/catalog.ts decides which are
 * the user's) as the server deparses them - schemas, tables with kind, persistence, partition
 * key and bound, inheritance, row security and options; columns; table and domain constraints;
 * indexes with validity; views and materialized views; sequence definitions; functions,
 * procedures and aggregates; triggers with their enabled state; policies; enums, domains, range
 * and composite types - plus the installed extensions and the relations the data checks scan.
 * diffSchema compares two snapshots object by object (between major versions without the
 * qualifiers the deparsers print differently), and describeSchemaDifference words a difference
 * for the verdict. Owners and grants are not compared (Heroku restores with --no-owner --no-acl).
 */
import type { Client } from "pg";
import { notExtensionMember, userSchema } from "../catalog";
import { byName, truncate } from "./util";

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
    /** pg_relation_size (main fork). */
    bytes: number;
    /** pg_table_size (with TOAST), what a scan reads: the largest tables are checked first, and progress counts these bytes. */
    tableBytes?: number;
}

export interface SchemaSnapshot {
    objects: SchemaObject[];
    relations: RelationInfo[];
    extensions: { name: string; version: string; schema: string }[];
}

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
        `SELECT n.nspname AS name FROM pg_catalog.pg_namespace n WHERE ${userSchema("n")} AND ${notExtensionMember("pg_namespace", "n.oid")}`);
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
WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S', 'c') AND ${userSchema("n")} AND ${notExtensionMember("pg_class", "c.oid")}`);

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
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'f', 'c') AND ${userSchema("n")}`);
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
WHERE co.contype <> 'n' AND ${userSchema("n")}`);

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
WHERE t.typtype IN ('e', 'd', 'r') AND ${userSchema("n")} AND ${notExtensionMember("pg_type", "t.oid")}`);
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
WHERE ${userSchema("n")}`);
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
WHERE ${userSchema("n")} AND ${notExtensionMember("pg_proc", "p.oid")}`);
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
