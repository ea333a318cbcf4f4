/**
 * The user's queries (verifyQueries): each runs on both sides in a read-only transaction through
 * a cursor, fetched 200 rows at a time from both at once and compared row by row as the servers
 * render them (bounded memory); the result is the row counts, a hash of the ordered result per
 * side and the first differing row. An error on either side is a failed check that names the
 * side, never a thrown exception.
 */
import * as crypto from "crypto";
import type { Client } from "pg";
import { errorMessage } from "../errors";
import { redact } from "../redact";
import { USER_QUERY_BEGIN, userQueryCursor } from "../userQueries";
import type { PgConnection } from "../types";
import { withPair, type Rendering, type Side } from "./session";
import { truncate } from "./util";

export interface QueryCheck {
    index: number;
    sql: string;
    match: boolean;
    sourceRows: number | null;
    targetRows: number | null;
    sourceHash: string | null;
    targetHash: string | null;
    columns?: { source: string[]; target: string[] };
    /** First differing row (1-based) with both renderings (JSON arrays of text values). */
    firstDifference?: { row: number; source: string | null; target: string | null };
    error?: { side: Side; message: string };
}

const FETCH_ROWS = 200;

type Row = (string | null)[];

interface QueryStream {
    columns: string[];
    next(): Promise<Row[]>;
}

function sideError(side: Side, err: unknown): Error & { side: Side } {
    const e = new Error(redact(errorMessage(err))) as Error & { side: Side };
    e.side = side;
    return e;
}

async function openQuery(c: Client, sql: string, index: number, side: Side): Promise<QueryStream> {
    try {
        await c.query(USER_QUERY_BEGIN);
        await c.query(userQueryCursor(sql, index));
    } catch (err) {
        throw sideError(side, err);
    }
    const fetch = async (): Promise<{ rows: Row[]; columns: string[] }> => {
        try {
            // Raw text values, as the server renders them under the verification session settings.
            const res = await c.query({ text: `FETCH ${FETCH_ROWS} FROM a2h_verify_q`, rowMode: "array", types: { getTypeParser: () => (v: string) => v } as any });
            return { rows: res.rows as Row[], columns: res.fields.map((f) => f.name) };
        } catch (err) {
            throw sideError(side, err);
        }
    };
    const first = await fetch();
    let pending: Row[] | undefined = first.rows;
    return {
        columns: first.columns,
        async next() {
            if (pending) {
                const p = pending;
                pending = undefined;
                return p;
            }
            return (await fetch()).rows;
        },
    };
}

/** Runs one query on both sides and compares the ordered results row by row, streaming (bounded memory). */
export async function compareQuery(src: Client, tgt: Client, sql: string, index: number): Promise<QueryCheck> {
    const check: QueryCheck = { index, sql, match: false, sourceRows: null, targetRows: null, sourceHash: null, targetHash: null };
    const shown = (row: string) => redact(truncate(row, 500) as string);
    try {
        const opened = await Promise.allSettled([openQuery(src, sql, index, "source"), openQuery(tgt, sql, index, "target")]);
        const failed = opened.find((o): o is PromiseRejectedResult => o.status === "rejected");
        if (failed) throw failed.reason;
        const [a, b] = opened.map((o) => (o as PromiseFulfilledResult<QueryStream>).value);
        check.columns = { source: a.columns, target: b.columns };
        const ha = crypto.createHash("sha256").update(JSON.stringify(a.columns) + "\n");
        const hb = crypto.createHash("sha256").update(JSON.stringify(b.columns) + "\n");
        let na = 0;
        let nb = 0;
        let bufA: Row[] = [];
        let bufB: Row[] = [];
        let endA = false;
        let endB = false;
        for (;;) {
            const [ra, rb] = await Promise.all([
                bufA.length === 0 && !endA ? a.next() : Promise.resolve(undefined),
                bufB.length === 0 && !endB ? b.next() : Promise.resolve(undefined),
            ]);
            if (ra) {
                bufA = ra;
                if (ra.length < FETCH_ROWS) endA = true;
            }
            if (rb) {
                bufB = rb;
                if (rb.length < FETCH_ROWS) endB = true;
            }
            if (bufA.length === 0 && bufB.length === 0) break;
            const pairs = Math.min(bufA.length, bufB.length);
            for (let i = 0; i < pairs; i++) {
                const x = JSON.stringify(bufA[i]);
                const y = JSON.stringify(bufB[i]);
                ha.update(x + "\n");
                hb.update(y + "\n");
                na++;
                nb++;
                if (!check.firstDifference && x !== y) check.firstDifference = { row: na, source: shown(x), target: shown(y) };
            }
            bufA = bufA.slice(pairs);
            bufB = bufB.slice(pairs);
            // One side has ended: the other side's remaining rows have no counterpart.
            if (bufA.length === 0 && endA) {
                for (const row of bufB) {
                    const y = JSON.stringify(row);
                    hb.update(y + "\n");
                    nb++;
                    if (!check.firstDifference) check.firstDifference = { row: nb, source: null, target: shown(y) };
                }
                bufB = [];
            }
            if (bufB.length === 0 && endB) {
                for (const row of bufA) {
                    const x = JSON.stringify(row);
                    ha.update(x + "\n");
                    na++;
                    if (!check.firstDifference) check.firstDifference = { row: na, source: shown(x), target: null };
                }
                bufA = [];
            }
        }
        check.sourceRows = na;
        check.targetRows = nb;
        check.sourceHash = ha.digest("hex");
        check.targetHash = hb.digest("hex");
        const sameColumns = JSON.stringify(a.columns) === JSON.stringify(b.columns);
        if (!sameColumns) check.firstDifference = { row: 0, source: JSON.stringify(a.columns), target: JSON.stringify(b.columns) };
        check.match = sameColumns && na === nb && check.sourceHash === check.targetHash;
        return check;
    } catch (err) {
        const side: Side = (err as { side?: Side }).side ?? "source";
        check.error = { side, message: redact(errorMessage(err)) };
        return check;
    } finally {
        await src.query("ROLLBACK").catch(() => undefined);
        await tgt.query("ROLLBACK").catch(() => undefined);
    }
}

export function describeQueryCheck(q: QueryCheck): string {
    const label = `query ${q.index + 1} (${truncate(q.sql.replace(/\s+/g, " "), 80)})`;
    if (q.error) return `${label} failed on the ${q.error.side}: ${q.error.message}`;
    const rows = q.sourceRows !== q.targetRows ? `${q.sourceRows} rows on the source, ${q.targetRows} on the target; ` : "";
    const d = q.firstDifference;
    if (d && d.row === 0) return `${label}: columns differ: ${d.source} on the source, ${d.target} on the target`;
    return `${label}: ${rows}results differ from row ${d?.row}: ${d?.source ?? "(no row)"} on the source, ${d?.target ?? "(no row)"} on the target`;
}

/** Every query in turn on one pair of sessions (row security on, as the application has it). */
export async function compareQueries(source: PgConnection, target: PgConnection, r: Rendering, list: string[], progress: (m: string) => void): Promise<QueryCheck[]> {
    if (list.length === 0) return [];
    return withPair(source, target, r, { catalogSearchPath: false, rowSecurity: true }, async (src, tgt) => {
        const out: QueryCheck[] = [];
        for (let i = 0; i < list.length; i++) {
            const q = await compareQuery(src, tgt, list[i], i);
            progress(`query ${i + 1}: ${q.match ? `${q.sourceRows} rows match` : "DIFFERS"}`);
            out.push(q);
        }
        return out;
    });
}
