/**
 * The read-rate sample: a bounded read of the largest readable table (a few MiB, at most 15 s),
 * timed as text, as pg_dump reads it (COPY TO STDOUT) and as verification checksums it. The
 * freeze estimate (estimate.ts) turns it into rates. Runs inside the inspection's READ ONLY
 * transaction, in savepoints, so a refused or slow sample never ends the inspection.
 */
import type { Client } from "pg";
import { quoteIdent } from "../pg";
import { redact } from "../redact";
import type { RelRow } from "./inspection";

const MiB = 1024 ** 2;
/** Upper bound of the text sample (PreflightOptions.sampleBytes). */
export const DEFAULT_SAMPLE_BYTES = 4 * MiB;
/** The COPY sample reads this many times the text sample's rows (it keeps nothing in memory). */
const COPY_SAMPLE_FACTOR = 4;

/**
 * The bounded sample of the largest table preflight reads (measureReadRate): `ms` for the rows
 * read as text by node-postgres, `copyMs` for `copyTableBytes` of the table (COPY_SAMPLE_FACTOR
 * times as many rows) sent by `COPY ... TO STDOUT` (what pg_dump runs; 0 when it could not run),
 * `scanMs` for the server hashing `scanTableBytes` (as many rows as COPY) the way verification does.
 */
export interface ReadSample { table: string; rows: number; wireBytes: number; tableBytes: number; ms: number; copyMs: number; copyTableBytes: number; scanMs: number; scanTableBytes: number; error?: string }

/**
 * Reads a bounded sample (about `sampleBytes` of table data, at most 15 s) of the largest readable
 * table as text and (4x as many rows) by COPY TO STDOUT, the way pg_dump reads them, and times both;
 * then has the server checksum the COPY sample's rows the way verification does (without the
 * network), for the verification estimate.
 */
export async function measureReadRate(c: Client, relations: RelRow[], sampleBytes: number): Promise<ReadSample> {
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
        // Verification's per-row work (lib/verify/: a hash of each row as text, summed), on the server.
        // Twice, keeping the faster: one short timing on a busy server strays by half (bench/run.ts).
        const scanSql = `SELECT count(*) AS n, sum(hashtext(x::text)::bigint) AS s FROM (SELECT x FROM ONLY ${table} x LIMIT ${limit * COPY_SAMPLE_FACTOR}) x`;
        let scanMs = Infinity;
        let counted = { rows: [{ n: "0" }] as Array<{ n: string }> };
        for (let i = 0; i < 2; i++) {
            const scanStarted = process.hrtime.bigint();
            counted = await c.query(scanSql);
            scanMs = Math.min(scanMs, Number(process.hrtime.bigint() - scanStarted) / 1e6);
        }
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
