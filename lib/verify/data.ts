/**
 * Data comparison: per table an exact row count and an order-independent checksum
 * (`count(*)` and `sum(hash(row text))`, one scan, O(1) memory on the server; a sum, not a xor,
 * so duplicate rows count), on both sides at once, `concurrency` tables at a time, largest
 * first, each worker on its own pair of sessions. When a table with a primary key differs, the
 * differing rows are located by hash buckets of the key (a few more scans, bounded client
 * memory) and named by key. Partitioned tables are the sum of their leaf partitions. The source
 * side can come from checksums computed ahead (sourceChecksums.ts).
 */
import type { Client } from "pg";
import { quoteIdent } from "../pg";
import { errorMessage } from "../errors";
import { redact } from "../redact";
import { LIVE_INTERVAL_MS, formatDuration } from "../progress";
import type { PgConnection, TableRowCount } from "../types";
import type { RelationInfo } from "./schema";
import { hashSql, openPair, qname, type Rendering, type SessionPair, type Side } from "./session";
import { scanBytes, tableProgress, type TableProgress } from "./tableProgress";
import { byName, elapsed, mapLimit } from "./util";

export interface RowDifference {
    /** The primary key, as `(id)=(42)`. */
    key: string;
    change: "missing on target" | "extra on target" | "differs";
}

export interface TableCheck extends TableRowCount {
    kind: "table" | "partitioned table" | "materialized view";
    /** Primary key columns (rows are named by them), or null: compared over the whole row only. */
    key: string[] | null;
    /** sum of 64-bit row hashes (decimal), or null when not computed. */
    sourceChecksum: string | null;
    targetChecksum: string | null;
    countMatch: boolean;
    checksumMatch: boolean;
    /** Differing rows named by primary key (at most 5), when located. */
    rows?: RowDifference[];
    sourceMs: number;
    targetMs: number;
    note?: string;
}

export interface SideChecksum {
    rows: number;
    checksum: string;
    ms: number;
}

export async function tableChecksum(c: Client, r: Rendering, rel: RelationInfo): Promise<SideChecksum> {
    const start = process.hrtime.bigint();
    const only = rel.relkind === "r" ? "ONLY " : "";
    const res = await c.query<{ n: string; s: string }>(
        `SELECT count(*)::text AS n, coalesce(sum(${hashSql(r, "(r.*)::text")}), 0)::text AS s FROM ${only}${qname(rel.schema, rel.name)} AS r`);
    return { rows: Number(res.rows[0].n), checksum: res.rows[0].s, ms: elapsed(start) };
}

const BUCKET_BITS = 12;
const FINAL_BUCKET_ROWS = 2000;

/**
 * Names the rows that differ, for a table with a primary key: compares per-bucket counts and
 * checksums (buckets = bits of the key's hash), narrows to differing buckets until they are
 * small, then compares the keys of those buckets. Client memory stays bounded (4096 buckets,
 * at most a few thousand keys per side).
 */
export async function locateRowDifferences(
    src: Client, tgt: Client, r: Rendering, rel: RelationInfo, key: string[], limit = 5,
): Promise<RowDifference[]> {
    const only = rel.relkind === "r" ? "ONLY " : "";
    const from = `${only}${qname(rel.schema, rel.name)} AS r`;
    const keyText = `ROW(${key.map((k) => `r.${quoteIdent(k)}`).join(", ")})::text`;
    const kh = hashSql(r, keyText);
    const rh = hashSql(r, "(r.*)::text");
    const bucketsOf = async (c: Client, mask: bigint, prefix: bigint, shift: number) => {
        const res = await c.query<{ b: string; n: string; s: string }>(
            `SELECT ((x.kh >> ${shift}) & ${(1 << BUCKET_BITS) - 1})::text AS b, count(*)::text AS n, sum(x.rh)::text AS s
               FROM (SELECT ${kh} AS kh, ${rh} AS rh FROM ${from}) x
              WHERE (x.kh & $1::bigint) = $2::bigint GROUP BY 1`, [mask.toString(), prefix.toString()]);
        return new Map(res.rows.map((row) => [Number(row.b), { n: Number(row.n), s: row.s }]));
    };
    const ALL = BigInt((1 << BUCKET_BITS) - 1);
    let mask = 0n;
    let prefix = 0n;
    let finals: bigint[] = [];
    for (let level = 0; level < 4; level++) {
        const shift = level * BUCKET_BITS;
        const [a, b] = await Promise.all([bucketsOf(src, mask, prefix, shift), bucketsOf(tgt, mask, prefix, shift)]);
        const differing = [...new Set([...a.keys(), ...b.keys()])]
            .filter((k) => a.get(k)?.n !== b.get(k)?.n || a.get(k)?.s !== b.get(k)?.s)
            .sort((x, y) => x - y);
        if (differing.length === 0) return [];
        const size = (k: number) => Math.max(a.get(k)?.n ?? 0, b.get(k)?.n ?? 0);
        const levelMask = mask | (ALL << BigInt(shift));
        const small = differing.slice(0, limit).filter((k) => size(k) <= FINAL_BUCKET_ROWS);
        if (small.length > 0 || level === 3) {
            finals = (small.length > 0 ? small : differing.slice(0, 1)).map((k) => prefix | (BigInt(k) << BigInt(shift)));
            mask = levelMask;
            break;
        }
        // Narrow down into the first differing bucket.
        prefix = prefix | (BigInt(differing[0]) << BigInt(shift));
        mask = levelMask;
    }
    const keysOf = async (c: Client) => {
        const res = await c.query<{ k: string; h: string }>(
            `SELECT x.k, x.rh::text AS h FROM (SELECT ${keyText} AS k, ${kh} AS kh, ${rh} AS rh FROM ${from}) x
              WHERE (x.kh & $1::bigint) = ANY($2::bigint[])`, [mask.toString(), finals.map(String)]);
        return new Map(res.rows.map((row) => [row.k, row.h]));
    };
    const [a, b] = await Promise.all([keysOf(src), keysOf(tgt)]);
    const out: RowDifference[] = [];
    const label = (k: string) => `(${key.join(", ")})=${k}`;
    for (const [k, h] of a) {
        if (!b.has(k)) out.push({ key: label(k), change: "missing on target" });
        else if (b.get(k) !== h) out.push({ key: label(k), change: "differs" });
    }
    for (const k of b.keys()) if (!a.has(k)) out.push({ key: label(k), change: "extra on target" });
    out.sort((x, y) => byName(x.key, y.key));
    return out.slice(0, limit);
}

/**
 * The order tables are checked in: the largest (pg_table_size, with TOAST) first, so that the
 * last table to finish is a small one and no connection idles while one big scan ends the
 * stage (longest-processing-time-first scheduling); ties by name, so the order is stable.
 */
export function largestFirst<T extends { schema: string; name: string; bytes: number; tableBytes?: number }>(rels: T[]): T[] {
    return [...rels].sort((a, b) => scanBytes(b) - scanBytes(a) || byName(a.schema, b.schema) || byName(a.name, b.name));
}

export interface CompareTableDataOptions {
    excludeTables?: string[];
    /** @default 4 */
    concurrency?: number;
    /** Lines as tableProgress decides (the shared throttle; the last table; the first differences), and "still checking" every 30 s. */
    onProgress?: (m: string) => void;
    /**
     * The raw numbers for a live bar: at the start, every LIVE_INTERVAL_MS (the time moves even while
     * one long table is read), and once all tables are checked (the last tick is the total). Given
     * a tick, the periodic lines are left to the bar.
     */
    onTick?: (p: TableProgress) => void;
    sourceChecksums?: Map<string, SideChecksum>;
}

/**
 * Counts and checksums every table on both sides, `concurrency` tables at a time (one
 * connection per side per worker). Partitioned tables are the sum of their partitions.
 */
export async function compareTableData(
    source: PgConnection, target: PgConnection, r: Rendering,
    srcRelations: RelationInfo[], tgtRelations: RelationInfo[],
    opts: CompareTableDataOptions = {},
): Promise<TableCheck[]> {
    const excluded = new Set(opts.excludeTables ?? []);
    const key = (t: { schema: string; name: string }) => `${t.schema}.${t.name}`;
    const tgtByKey = new Map(tgtRelations.map((t) => [key(t), t] as const));
    const considered = srcRelations.filter((t) => !excluded.has(key(t)) && t.relkind !== "f")
        .sort((a, b) => byName(a.schema, b.schema) || byName(a.name, b.name));
    const scanned = considered.filter((t) => t.relkind === "r" || (t.relkind === "m" && t.populated));
    const results = new Map<string, TableCheck>();
    const workers = Math.max(1, Math.min(opts.concurrency ?? 4, scanned.length));
    const onTick = opts.onTick;
    const tracker = tableProgress(scanned.length, scanned.reduce((n, t) => n + scanBytes(t), 0), { live: !!onTick });
    // A progress callback must not break the comparison.
    const tick = () => {
        try {
            onTick?.(tracker.snapshot());
        } catch {
            /* ignored */
        }
    };
    const inFlight = new Map<string, number>();
    // Long tables: say which are still being read, every 30 seconds.
    const heartbeat = setInterval(() => {
        if (inFlight.size === 0) return;
        opts.onProgress?.(`still checking ${[...inFlight].map(([k, t]) => `${k} (${formatDuration(Date.now() - t)})`).join(", ")}; ${tracker.snapshot().tablesDone}/${scanned.length} tables done`);
    }, 30_000);
    heartbeat.unref?.();
    const ticker = onTick && scanned.length > 0 ? setInterval(tick, LIVE_INTERVAL_MS) : undefined;
    ticker?.unref?.();
    if (ticker) tick();

    const pool: SessionPair[] = [];
    const acquire = async (): Promise<SessionPair> => pool.pop() ?? openPair(source, target, r, { catalogSearchPath: true, rowSecurity: false });
    const all: SessionPair[] = [];
    try {
        await mapLimit(largestFirst(scanned), workers, async (rel) => {
            const w = await acquire();
            if (!all.includes(w)) all.push(w);
            const k = key(rel);
            inFlight.set(k, Date.now());
            try {
                const tRel = tgtByKey.get(k);
                const kind: TableCheck["kind"] = rel.relkind === "m" ? "materialized view" : "table";
                const base = { schema: rel.schema, name: rel.name, kind, key: rel.primaryKey };
                const tgtScannable = tRel && (tRel.relkind === rel.relkind) && (tRel.relkind !== "m" || tRel.populated);
                const label = (side: Side, e: unknown) => `${side === "source" ? "the source" : "the target"}: ${redact(errorMessage(e))}`;
                const [a, b] = await Promise.all([
                    opts.sourceChecksums?.get(rel.oid) ?? tableChecksum(w.source.client, r, rel).catch((e) => { throw new Error(`checksum of ${k} failed on ${label("source", e)}`); }),
                    tgtScannable ? tableChecksum(w.target.client, r, rel).catch((e) => { throw new Error(`checksum of ${k} failed on ${label("target", e)}`); }) : Promise.resolve(undefined),
                ]);
                const check: TableCheck = {
                    ...base,
                    sourceRows: a.rows,
                    targetRows: b ? b.rows : null,
                    match: !!b && a.rows === b.rows && a.checksum === b.checksum,
                    sourceChecksum: a.checksum,
                    targetChecksum: b ? b.checksum : null,
                    countMatch: !!b && a.rows === b.rows,
                    checksumMatch: !!b && a.checksum === b.checksum,
                    sourceMs: a.ms,
                    targetMs: b ? b.ms : 0,
                };
                if (!tRel) check.note = "missing on the target";
                else if (!tgtScannable) check.note = tRel.relkind === "m" && !tRel.populated ? "not populated on the target" : "a different kind of relation on the target";
                if (b && !check.match) {
                    if (rel.primaryKey) {
                        try {
                            const rows = await locateRowDifferences(w.source.client, w.target.client, r, rel, rel.primaryKey);
                            if (rows.length) check.rows = rows;
                        } catch (err) {
                            check.note = `the differing rows could not be located: ${redact(errorMessage(err))}`;
                        }
                    } else {
                        check.note = "no primary key: the differing rows cannot be named";
                    }
                }
                results.set(k, check);
                const line = tracker.finished({ name: k, bytes: scanBytes(rel), rows: a.rows, match: check.match });
                if (line) opts.onProgress?.(line);
                // The last tick is the total, at once: the bar ends full.
                if (ticker && tracker.snapshot().tablesDone === scanned.length) tick();
            } finally {
                inFlight.delete(k);
                pool.push(w);
            }
        });
    } finally {
        clearInterval(heartbeat);
        if (ticker) clearInterval(ticker);
        for (const w of all) await w.close();
    }

    // Partitioned tables: the sum of their leaf partitions (scanned once, not twice).
    const children = new Map<string, RelationInfo[]>();
    for (const t of srcRelations) for (const p of t.parents) children.set(p, [...(children.get(p) ?? []), t]);
    const leaves = (k: string, seen = new Set<string>()): RelationInfo[] => {
        if (seen.has(k)) return [];
        seen.add(k);
        return (children.get(k) ?? []).flatMap((c) => (c.relkind === "p" ? leaves(key(c), seen) : [c]));
    };
    for (const rel of considered.filter((t) => t.relkind === "p")) {
        const k = key(rel);
        const parts = leaves(k).map((l) => results.get(key(l))).filter((x): x is TableCheck => !!x);
        const skipped = leaves(k).filter((l) => !results.has(key(l))).map(key);
        const tRel = tgtByKey.get(k);
        const sum = (xs: (string | null)[]) => xs.reduce((acc: bigint | null, x) => (acc === null || x === null ? null : acc + BigInt(x)), 0n);
        const srcRows = parts.reduce((n, p) => n + p.sourceRows, 0);
        const tgtRows = tRel && parts.every((p) => p.targetRows !== null) ? parts.reduce((n, p) => n + (p.targetRows as number), 0) : null;
        const srcSum = sum(parts.map((p) => p.sourceChecksum));
        const tgtSum = tRel ? sum(parts.map((p) => p.targetChecksum)) : null;
        const check: TableCheck = {
            schema: rel.schema, name: rel.name, kind: "partitioned table", key: rel.primaryKey,
            sourceRows: srcRows, targetRows: tgtRows,
            sourceChecksum: srcSum === null ? null : srcSum.toString(), targetChecksum: tgtSum === null ? null : tgtSum.toString(),
            countMatch: tgtRows !== null && tgtRows === srcRows,
            checksumMatch: srcSum !== null && tgtSum !== null && srcSum === tgtSum,
            match: false,
            sourceMs: 0, targetMs: 0,
        };
        check.match = check.countMatch && check.checksumMatch && parts.every((p) => p.match);
        const notes = [`sum of ${parts.length} partition${parts.length === 1 ? "" : "s"}`];
        if (skipped.length) notes.push(`not included: ${skipped.join(", ")}`);
        if (!tRel) notes.push("missing on the target");
        check.note = notes.join("; ");
        results.set(k, check);
    }
    return considered.filter((t) => results.has(key(t))).map((t) => results.get(key(t)) as TableCheck);
}

export function describeTableCheck(t: TableCheck): string {
    const k = `${t.schema}.${t.name}`;
    const what = t.kind === "table" ? "table" : t.kind;
    if (t.targetRows === null) {
        return t.note === "missing on the target" || t.note?.includes("missing on the target")
            ? `${what} ${k} is missing on the target`
            : `${what} ${k}: ${t.note ?? "not comparable on the target"}`;
    }
    const rows = t.rows?.length ? `; ${t.rows.map((r) => `row ${r.key} ${r.change === "differs" ? "differs" : r.change === "missing on target" ? "is missing on the target" : "exists only on the target"}`).join(", ")}` : "";
    const note = !t.rows?.length && t.note && t.kind !== "partitioned table" ? ` (${t.note})` : "";
    if (!t.countMatch) return `${what} ${k}: ${t.sourceRows} rows on the source, ${t.targetRows} on the target${rows}${note}`;
    return `${what} ${k}: same ${t.sourceRows} rows, different content (checksum ${t.sourceChecksum} on the source, ${t.targetChecksum} on the target)${rows}${note}`;
}
