/**
 * Row counts for the tests (moved out of lib/pg.ts: the product verifies with lib/verify.ts
 * checksums, nothing in it counts rows this way). Used to check the demo source and restored copies.
 */
import { MigrationError } from "../lib/errors";
import { describeConnection, quoteIdent, withClient } from "../lib/pg";
import { redact } from "../lib/redact";
import type { PgConnection, TableRowCount } from "../lib/types";
import { listTables } from "../local/demo";

export function tableKey(t: { schema: string; name: string }): string {
    return `${t.schema}.${t.name}`;
}

/**
 * `SELECT count(*)` for each table (a partitioned parent counts all its partitions), over a
 * small pool of connections (default 4). Keys are "schema.name", in the order given.
 */
export async function exactRowCounts(
    conn: PgConnection,
    tables: { schema: string; name: string }[],
    opts: { concurrency?: number } = {},
): Promise<Map<string, number>> {
    const counts: (number | undefined)[] = new Array(tables.length);
    const workers = Math.max(1, Math.min(opts.concurrency ?? 4, tables.length));
    let next = 0;
    let failed = false;
    const worker = async (): Promise<void> => {
        if (next >= tables.length || failed) return;
        await withClient(conn, async (c) => {
            while (next < tables.length && !failed) {
                const i = next++;
                const t = tables[i];
                try {
                    const r = await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${quoteIdent(t.schema)}.${quoteIdent(t.name)}`);
                    counts[i] = Number(r.rows[0].n);
                } catch (err) {
                    failed = true;
                    throw new MigrationError(
                        `PostgreSQL ${describeConnection(conn)}`,
                        `counting rows of ${tableKey(t)} failed: ${redact((err as Error).message)}.`,
                        "Check that the table exists and that this user may read it (SELECT privilege).",
                    );
                }
            }
        });
    };
    if (tables.length > 0) {
        const results = await Promise.allSettled(Array.from({ length: workers }, () => worker()));
        const rejected = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
        if (rejected) throw rejected.reason;
    }
    const out = new Map<string, number>();
    tables.forEach((t, i) => out.set(tableKey(t), counts[i] as number));
    return out;
}

/** Size of every database this user can connect to, like `\l+`. */
export async function databaseSizes(conn: PgConnection): Promise<{ name: string; bytes: number }[]> {
    return withClient(conn, async (c) => {
        const r = await c.query<{ name: string; bytes: string }>(
            `SELECT datname AS name, pg_catalog.pg_database_size(oid) AS bytes
             FROM pg_catalog.pg_database
             WHERE datallowconn AND pg_catalog.has_database_privilege(oid, 'CONNECT')
             ORDER BY datname COLLATE "C"`,
        );
        return r.rows.map((row) => ({ name: row.name, bytes: Number(row.bytes) }));
    });
}

/**
 * Lists and counts tables on both sides (concurrently). `tables` has one entry per source
 * table (not excluded); `ok` is true when every one exists on the target with the same count.
 * Tables only on the target are reported in `extraOnTarget` and do not make `ok` false.
 */
export async function compareTables(
    source: PgConnection,
    target: PgConnection,
    opts: { exclude?: string[]; concurrency?: number } = {},
): Promise<{ ok: boolean; tables: TableRowCount[]; missingOnTarget: string[]; extraOnTarget: string[] }> {
    const exclude = new Set(opts.exclude ?? []);
    const side = async (conn: PgConnection) => {
        const tables = (await listTables(conn)).filter((t) => !exclude.has(tableKey(t)));
        const counts = await exactRowCounts(conn, tables, { concurrency: opts.concurrency });
        return { tables, counts };
    };
    const [src, tgt] = await Promise.all([side(source), side(target)]);
    const tables: TableRowCount[] = src.tables.map((t) => {
        const key = tableKey(t);
        const sourceRows = src.counts.get(key) as number;
        const targetRows = tgt.counts.has(key) ? (tgt.counts.get(key) as number) : null;
        return { schema: t.schema, name: t.name, sourceRows, targetRows, match: targetRows !== null && targetRows === sourceRows };
    });
    const missingOnTarget = src.tables.map(tableKey).filter((k) => !tgt.counts.has(k));
    const extraOnTarget = tgt.tables.map(tableKey).filter((k) => !src.counts.has(k));
    return { ok: tables.every((t) => t.match), tables, missingOnTarget, extraOnTarget };
}
