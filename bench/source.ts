/**
 * A realistic, poorly compressible benchmark source: random bytes (bytea), hex text, jsonb with
 * random values, a timestamp with an index, and large objects. pgbench-like data compresses
 * 50:1 and hides what compression really costs; this compresses about 1.5:1 at zlib's default
 * level, like a database of ids, hashes, tokens and JSON documents.
 *
 * About 400 bytes of table per row (heap, TOAST-free) plus its two indexes; 2% of the size in
 * large objects of random bytes.
 */
import { withClient } from "../lib/pg";
import { PgConnection } from "../lib/types";

const MiB = 1024 * 1024;
/** Bytes of database (heap + indexes) per events row, measured on PostgreSQL 15. */
const BYTES_PER_ROW = 450;
const LO_SHARE = 0.02;
const LO_BYTES = 1 * MiB;

export interface BenchSource {
    rows: number;
    largeObjects: number;
    databaseBytes: number;
    generateMs: number;
}

/**
 * Fills `conn`'s database (which must exist and be empty) with about `sizeMb` MiB. Rows are
 * inserted in batches from several sessions (`parallel`), then ANALYZEd and CHECKPOINTed so
 * the measurements after it do not pay for hint bits or dirty buffers.
 */
export async function buildBenchSource(conn: PgConnection, sizeMb: number, parallel = 2): Promise<BenchSource> {
    const t0 = Date.now();
    const total = sizeMb * MiB;
    const rows = Math.max(1000, Math.round((total * (1 - LO_SHARE)) / BYTES_PER_ROW));
    const largeObjects = Math.max(1, Math.round((total * LO_SHARE) / LO_BYTES));
    await withClient(conn, async (c) => {
        await c.query(`CREATE EXTENSION IF NOT EXISTS pgcrypto`);
        await c.query(`CREATE TABLE events (
            id bigint PRIMARY KEY,
            token bytea NOT NULL,
            digest text NOT NULL,
            doc jsonb NOT NULL,
            at timestamptz NOT NULL)`);
    });
    const batch = 100_000;
    const ranges: [number, number][] = [];
    for (let lo = 1; lo <= rows; lo += batch) ranges.push([lo, Math.min(rows, lo + batch - 1)]);
    const workers = Array.from({ length: parallel }, () =>
        withClient(conn, async (c) => {
            await c.query("SET synchronous_commit = off");
            for (let r = ranges.shift(); r; r = ranges.shift()) {
                await c.query(
                    `INSERT INTO events
                     SELECT g,
                            gen_random_bytes(96),
                            encode(gen_random_bytes(48), 'hex'),
                            jsonb_build_object('user', (random() * 1e9)::bigint, 'score', random(),
                                               'tag', encode(gen_random_bytes(12), 'base64'),
                                               'kind', (ARRAY['click','view','buy','ship'])[1 + g % 4]),
                            timestamptz '2024-01-01' + random() * interval '700 days'
                     FROM generate_series($1::bigint, $2::bigint) g`,
                    r,
                );
            }
        }),
    );
    await Promise.all(workers);
    await withClient(conn, async (c) => {
        await c.query("CREATE INDEX events_at ON events (at)");
        // Large objects of random bytes (1 MiB each, written in 64 KiB pieces).
        for (let i = 0; i < largeObjects; i++) {
            await c.query(`SELECT lo_from_bytea(0, (SELECT string_agg(gen_random_bytes(1024), ''::bytea) FROM generate_series(1, ${LO_BYTES / 1024})))`);
        }
        await c.query("VACUUM ANALYZE events");
        await c.query("CHECKPOINT");
    });
    const databaseBytes = await withClient(conn, async (c) => Number((await c.query("SELECT pg_database_size(current_database()) AS n")).rows[0].n));
    return { rows, largeObjects, databaseBytes, generateMs: Date.now() - t0 };
}
