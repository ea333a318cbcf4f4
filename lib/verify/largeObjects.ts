/**
 * Large objects: both sides are walked in oid order, 500 objects a page, and compared one by
 * one - size (lo_lseek64, without reading) and a content hash (1 MiB chunks hashed with their
 * position, summed) computed on the server, so only small rows travel. Totals (count, bytes,
 * checksum) are kept for the report; differences are listed by oid.
 */
import type { Client } from "pg";
import { errorMessage } from "../errors";
import { redact } from "../redact";
import { hashSql, type Rendering, type Side } from "./session";

export interface LargeObjectSummary {
    count: number;
    bytes: number;
    checksum: string;
}
export interface LargeObjectComparison {
    ok: boolean;
    source: LargeObjectSummary;
    target: LargeObjectSummary;
    differences: { oid: number; change: "missing on target" | "extra on target" | "differs"; sourceBytes?: number; targetBytes?: number }[];
    more: number;
}

const LO_CHUNK = 1024 * 1024;
const LO_PAGE = 500;

interface LoRow {
    oid: number;
    size: number;
    hash: string;
}

async function largeObjectPage(c: Client, r: Rendering, after: number): Promise<LoRow[]> {
    // lo_open/lo_lseek64 give the size without reading; the content is hashed 1 MiB at a time,
    // chunk hashes include their position; the per-object hash is their sum.
    await c.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    try {
        const res = await c.query<{ oid: string; size: string; h: string }>(`
SELECT m.oid::int8::text AS oid, s.size::text AS size,
       (SELECT coalesce(sum(${hashSql(r, `i::text || ':' || md5(lo_get(m.oid, i * ${LO_CHUNK}, ${LO_CHUNK}))`)}), 0)
          FROM generate_series(0::int8, greatest((s.size - 1) / ${LO_CHUNK}, 0)) AS i)::text AS h
FROM (SELECT oid FROM pg_catalog.pg_largeobject_metadata WHERE oid > $1::int8::oid ORDER BY oid LIMIT ${LO_PAGE}) m
CROSS JOIN LATERAL (SELECT lo_lseek64(lo_open(m.oid, 262144), 0, 2) AS size) s
ORDER BY m.oid`, [String(after)]);
        return res.rows.map((row) => ({ oid: Number(row.oid), size: Number(row.size), hash: row.h }));
    } finally {
        await c.query("COMMIT").catch(() => undefined);
    }
}

/** Walks the large objects of both sides in oid order, a page at a time, and compares them one by one. */
export async function compareLargeObjects(src: Client, tgt: Client, r: Rendering, opts: { maxListed?: number } = {}): Promise<LargeObjectComparison> {
    const max = opts.maxListed ?? 200;
    const totals = { source: { count: 0, bytes: 0, checksum: 0n }, target: { count: 0, bytes: 0, checksum: 0n } };
    const differences: LargeObjectComparison["differences"] = [];
    let more = 0;
    const note = (d: LargeObjectComparison["differences"][number]) => (differences.length < max ? differences.push(d) : more++);
    const reader = (c: Client, side: Side) => {
        let buf: LoRow[] = [];
        let pos = 0;
        let last = 0;
        let end = false;
        return {
            async peek(): Promise<LoRow | undefined> {
                if (pos >= buf.length && !end) {
                    try {
                        buf = await largeObjectPage(c, r, last);
                    } catch (err) {
                        throw new Error(`reading large objects on ${side === "source" ? "the source" : "the target"} failed: ${redact(errorMessage(err))}`);
                    }
                    pos = 0;
                    if (buf.length < LO_PAGE) end = true;
                    if (buf.length) last = buf[buf.length - 1].oid;
                }
                return buf[pos];
            },
            take(): LoRow {
                const row = buf[pos++];
                const t = totals[side];
                t.count++;
                t.bytes += row.size;
                t.checksum += BigInt(row.hash);
                return row;
            },
        };
    };
    const a = reader(src, "source");
    const b = reader(tgt, "target");
    for (;;) {
        const [x, y] = await Promise.all([a.peek(), b.peek()]);
        if (!x && !y) break;
        if (x && (!y || x.oid < y.oid)) {
            a.take();
            note({ oid: x.oid, change: "missing on target", sourceBytes: x.size });
        } else if (y && (!x || y.oid < x.oid)) {
            b.take();
            note({ oid: y.oid, change: "extra on target", targetBytes: y.size });
        } else if (x && y) {
            a.take();
            b.take();
            if (x.size !== y.size || x.hash !== y.hash) note({ oid: x.oid, change: "differs", sourceBytes: x.size, targetBytes: y.size });
        }
    }
    const summary = (t: { count: number; bytes: number; checksum: bigint }): LargeObjectSummary => ({ count: t.count, bytes: t.bytes, checksum: t.checksum.toString() });
    return { ok: differences.length === 0 && more === 0, source: summary(totals.source), target: summary(totals.target), differences, more };
}

export function describeLargeObjectDifference(d: LargeObjectComparison["differences"][number]): string {
    if (d.change === "missing on target") return `large object ${d.oid} (${d.sourceBytes} bytes) is missing on the target`;
    if (d.change === "extra on target") return `large object ${d.oid} exists only on the target`;
    return `large object ${d.oid} differs (${d.sourceBytes} bytes on the source, ${d.targetBytes} on the target)`;
}
