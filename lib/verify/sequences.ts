/**
 * Sequences: the current value of every user sequence (last_value and is_called, read in
 * batches of 100 with one UNION ALL query) on both sides at once, compared by qualified name.
 * A sequence whose value differs would hand out duplicate or skipped ids after cutover, so a
 * difference fails verification; its definition is compared with the schema.
 */
import type { Client } from "pg";
import type { PgConnection } from "../types";
import type { SchemaSnapshot } from "./schema";
import { qname, withSession, type Rendering } from "./session";

export interface SequenceValue {
    lastValue: string;
    isCalled: boolean;
}
export interface SequenceCheck {
    schema: string;
    name: string;
    source: SequenceValue | null;
    target: SequenceValue | null;
    match: boolean;
}

export async function readSequences(c: Client, names: { schema: string; name: string }[]): Promise<Map<string, SequenceValue>> {
    const out = new Map<string, SequenceValue>();
    for (let i = 0; i < names.length; i += 100) {
        const batch = names.slice(i, i + 100);
        const sql = batch.map((s, j) => `SELECT ${j} AS i, last_value::text AS v, is_called AS c FROM ${qname(s.schema, s.name)}`).join(" UNION ALL ");
        const res = await c.query<{ i: number; v: string; c: boolean }>(sql);
        for (const row of res.rows) {
            const s = batch[row.i];
            out.set(`${s.schema}.${s.name}`, { lastValue: row.v, isCalled: row.c });
        }
    }
    return out;
}

function sequenceNames(s: SchemaSnapshot): { schema: string; name: string }[] {
    return s.objects.filter((o) => o.kind === "sequence").map((o) => {
        const rel = o.name;
        const dot = rel.indexOf(".");
        return { schema: rel.slice(0, dot), name: rel.slice(dot + 1) };
    });
}

/** The value of every source sequence on both sides (one session each, at the same time). */
export async function compareSequences(source: PgConnection, target: PgConnection, r: Rendering, srcSchema: SchemaSnapshot, tgtSchema: SchemaSnapshot): Promise<SequenceCheck[]> {
    const srcSeq = sequenceNames(srcSchema);
    const tgtSeq = sequenceNames(tgtSchema);
    const opts = { catalogSearchPath: true, rowSecurity: false };
    const [a, b] = await Promise.all([
        withSession(source, r, opts, (c) => readSequences(c, srcSeq)),
        withSession(target, r, opts, (c) => readSequences(c, tgtSeq)),
    ]);
    return srcSeq.map((s): SequenceCheck => {
        const k = `${s.schema}.${s.name}`;
        const x = a.get(k) ?? null;
        const y = b.get(k) ?? null;
        return { schema: s.schema, name: s.name, source: x, target: y, match: !!x && !!y && x.lastValue === y.lastValue && x.isCalled === y.isCalled };
    });
}

export function describeSequenceCheck(s: SequenceCheck): string {
    const v = (x: SequenceValue | null) => (x ? `last_value ${x.lastValue}${x.isCalled ? "" : " (not called)"}` : "missing");
    return `sequence ${s.schema}.${s.name}: ${v(s.source)} on the source, ${v(s.target)} on the target`;
}
