/**
 * Exact row counts for the tests' independent checks of a copy (test/postgres.test.ts,
 * test/pg.test.ts). The program itself counts and checksums with lib/verify; this was
 * lib/pg.ts's exactRowCounts, which nothing in the program called.
 */
import { withClient, quoteIdent, describeConnection } from "../lib/pg";
import { MigrationError } from "../lib/errors";
import { redact } from "../lib/redact";
import type { PgConnection } from "../lib/types";

function tableKey(t: { schema: string; name: string }): string {
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

