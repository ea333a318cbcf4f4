/**
 * The way back after cutover (config `rollback`). Pure logic and the few PostgreSQL reads the
 * Cutover and Rollback providers call; tested without Pulumi.
 *
 * - At cutover, before any app points at the new database, `readWriteCounters` records a
 *   baseline: per-table `pg_stat_user_tables` counters (n_tup_ins/upd/del) and every sequence's
 *   last_value. Cutover also records each config var it changes (`ConfigChange`, secret in state).
 * - At rollback, the same read again; `writesSince` compares. Any difference is a write to the
 *   Heroku database since the cutover, which a rollback would strand there: the rollback refuses,
 *   naming the tables and sequences, unless acknowledged (`acknowledge` entries with the code
 *   `rollback_writes`, optionally `:schema.table` / `:schema.sequence`).
 *
 * Why the counters can be trusted after a wait: since PostgreSQL 15 each backend keeps its table
 * counters in local memory and flushes them to shared memory when it goes idle, at most once per
 * second (PGSTAT_MIN_INTERVAL), and always when it exits. So a read can miss a write committed up
 * to ~1 s earlier. `readWriteCounters` therefore reads until two reads taken more than a second
 * apart agree: every write committed before the first read is then visible in the second, and the
 * two being equal means the first already had it. (`pg_stat_force_next_flush()` only flushes the
 * calling backend, and `pg_stat_get_xact_*` only sees the caller's own transaction, so neither
 * helps for other sessions.) A transaction that has written but not ended is not in any counter
 * yet: those are counted from `pg_stat_activity` (a backend_xid in this database) and refuse too.
 * Counters that went down (or a changed `stats_reset`) mean the statistics were reset since the
 * cutover: then nothing can be concluded, and that refuses as well.
 */
import type { Client } from "pg";
import { withClient } from "./pg";
import type { AcknowledgeEntry } from "./config";
import type { PgConnection } from "./types";

/** The `acknowledge` code that lets a rollback go ahead although the Heroku database was written. */
export const ROLLBACK_ACK_CODE = "rollback_writes";
/** How long apart two reads of the counters must be to trust them (PostgreSQL flushes at most once per second). */
export const STATS_SETTLE_MS = 1100;

export interface TableCounters {
    /** schema.table */
    table: string;
    inserted: number;
    updated: number;
    deleted: number;
}

export interface SequenceValue {
    /** schema.sequence */
    sequence: string;
    /** last_value as text (bigint); null when never used or not readable. */
    lastValue: string | null;
}

/** What the new database's statistics said at one moment. */
export interface WriteCounters {
    readAt: string;
    /** pg_stat_database.stats_reset of the database ("" when never reset). */
    statsReset: string;
    tables: TableCounters[];
    sequences: SequenceValue[];
    /** Other sessions of the database inside a transaction that has written (backend_xid set). */
    openWriters: number;
}

/** One config var Cutover changed on one app: what it was before (null: unset) and what it set. Secret. */
export interface ConfigChange {
    app: string;
    name: string;
    before: string | null;
    /** The value before is not known: the var already had the new value when the cutover ran (a retried cutover). */
    beforeUnknown?: boolean;
}

/**
 * How Cutover keeps its changes in state: which var of which app (plain, so app and var names
 * stay readable in logs), and the values before in a separate secret list, in the same order.
 */
export interface RecordedChange {
    app: string;
    name: string;
    beforeUnknown?: boolean;
}

export function splitChanges(changes: ConfigChange[]): { changes: RecordedChange[]; previousValues: (string | null)[] } {
    return {
        changes: changes.map((c) => ({ app: c.app, name: c.name, ...(c.beforeUnknown ? { beforeUnknown: true } : {}) })),
        previousValues: changes.map((c) => (c.beforeUnknown ? null : c.before)),
    };
}

export function joinChanges(changes: RecordedChange[], previousValues: (string | null)[]): ConfigChange[] {
    return changes.map((c, i) => ({ ...c, before: previousValues[i] ?? null }));
}

export interface TableWrites {
    table: string;
    inserted: number;
    updated: number;
    deleted: number;
    /** "new table" or "dropped" for tables not on both sides. */
    note?: string;
}

export interface WritesSince {
    tables: TableWrites[];
    sequences: { sequence: string; before: string | null; now: string | null }[];
    openWriters: number;
    /** The statistics were reset since the cutover: no conclusion is possible. */
    statsReset: boolean;
}

async function readOnce(c: Client): Promise<WriteCounters> {
    await c.query("SELECT pg_stat_clear_snapshot()");
    const tables = await c.query(
        `SELECT schemaname || '.' || relname AS t, n_tup_ins::text AS i, n_tup_upd::text AS u, n_tup_del::text AS d
           FROM pg_stat_user_tables ORDER BY 1`,
    );
    const seqs = await c.query(`SELECT schemaname || '.' || sequencename AS s, last_value::text AS v FROM pg_sequences ORDER BY 1`);
    const db = await c.query(`SELECT coalesce(stats_reset::text, '') AS r FROM pg_stat_database WHERE datname = current_database()`);
    const open = await c.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL`,
    );
    return {
        readAt: new Date().toISOString(),
        statsReset: String(db.rows[0]?.r ?? ""),
        tables: tables.rows.map((r) => ({ table: r.t as string, inserted: Number(r.i), updated: Number(r.u), deleted: Number(r.d) })),
        sequences: seqs.rows.map((r) => ({ sequence: r.s as string, lastValue: r.v === null ? null : String(r.v) })),
        openWriters: Number(open.rows[0].n),
    };
}

function sameCounters(a: WriteCounters, b: WriteCounters): boolean {
    return JSON.stringify([a.statsReset, a.tables, a.sequences]) === JSON.stringify([b.statsReset, b.tables, b.sequences]);
}

/**
 * Reads the counters until two reads `settleMs` apart agree (at most `maxReads` reads; the last
 * read is returned either way, with the open writers of that read).
 */
export async function readWriteCounters(conn: PgConnection, opts: { settleMs?: number; maxReads?: number } = {}): Promise<WriteCounters> {
    const settleMs = opts.settleMs ?? STATS_SETTLE_MS;
    const maxReads = opts.maxReads ?? 6;
    return withClient(conn, async (c) => {
        let last = await readOnce(c);
        for (let i = 1; i < maxReads; i++) {
            await new Promise((r) => setTimeout(r, settleMs));
            const next = await readOnce(c);
            const settled = sameCounters(last, next);
            last = next;
            if (settled) break;
        }
        return last;
    });
}

/** What was written between the baseline and now. */
export function writesSince(baseline: WriteCounters, now: WriteCounters): WritesSince {
    const before = new Map(baseline.tables.map((t) => [t.table, t]));
    const after = new Map(now.tables.map((t) => [t.table, t]));
    let statsReset = baseline.statsReset !== now.statsReset;
    const tables: TableWrites[] = [];
    for (const t of now.tables) {
        const b = before.get(t.table);
        if (!b) {
            if (t.inserted + t.updated + t.deleted > 0) tables.push({ ...t, note: "new table" });
            else tables.push({ table: t.table, inserted: 0, updated: 0, deleted: 0, note: "new table" });
            continue;
        }
        const d = { table: t.table, inserted: t.inserted - b.inserted, updated: t.updated - b.updated, deleted: t.deleted - b.deleted };
        if (d.inserted < 0 || d.updated < 0 || d.deleted < 0) statsReset = true;
        else if (d.inserted + d.updated + d.deleted > 0) tables.push(d);
    }
    for (const b of baseline.tables) if (!after.has(b.table)) tables.push({ table: b.table, inserted: 0, updated: 0, deleted: 0, note: "dropped" });
    const seqBefore = new Map(baseline.sequences.map((s) => [s.sequence, s.lastValue]));
    const sequences: WritesSince["sequences"] = [];
    for (const s of now.sequences) {
        const b = seqBefore.has(s.sequence) ? (seqBefore.get(s.sequence) as string | null) : null;
        if (b !== s.lastValue) sequences.push({ sequence: s.sequence, before: b, now: s.lastValue });
    }
    return { tables, sequences, openWriters: now.openWriters, statsReset };
}

export function hasWrites(w: WritesSince): boolean {
    return w.tables.length > 0 || w.sequences.length > 0 || w.openWriters > 0 || w.statsReset;
}

/** One line per table, sequence and condition, e.g. `public.products: 1 inserted, 0 updated, 0 deleted`. */
export function describeWrites(w: WritesSince): string[] {
    const lines: string[] = [];
    if (w.statsReset) lines.push("the database's statistics were reset since the cutover, so writes since then cannot be counted");
    for (const t of w.tables) lines.push(`table ${t.table}: ${t.inserted} inserted, ${t.updated} updated, ${t.deleted} deleted${t.note ? ` (${t.note})` : ""}`);
    for (const s of w.sequences) lines.push(`sequence ${s.sequence}: last_value ${s.before ?? "unused"} -> ${s.now ?? "unused"}`);
    if (w.openWriters > 0) lines.push(`${w.openWriters} open transaction(s) that have written and not ended`);
    return lines;
}

/**
 * The `acknowledge` keys of the writes, and which of them no entry covers. `rollback_writes`
 * alone covers everything; `rollback_writes:<schema.table>` or `:<schema.sequence>` one object.
 * Open transactions and reset statistics are covered only by the bare code.
 */
export function unacknowledgedWrites(w: WritesSince, acks: AcknowledgeEntry[]): { keys: string[]; acknowledged: AcknowledgeEntry[] } {
    const mine = acks.filter((a) => a.code === ROLLBACK_ACK_CODE);
    const all = mine.find((a) => a.subject === undefined);
    const subjects: (string | undefined)[] = [
        ...w.tables.map((t) => t.table),
        ...w.sequences.map((s) => s.sequence),
        ...(w.openWriters > 0 || w.statsReset ? [undefined] : []),
    ];
    const keys: string[] = [];
    const used = new Set<AcknowledgeEntry>();
    for (const subject of [...new Set(subjects)]) {
        const ack = all ?? mine.find((a) => subject !== undefined && a.subject === subject);
        if (ack) used.add(ack);
        else keys.push(subject === undefined ? ROLLBACK_ACK_CODE : `${ROLLBACK_ACK_CODE}:${subject}`);
    }
    return { keys, acknowledged: [...used] };
}

/** host:port/database of a database URL, for plan lines (never the user or password). */
export function describeUrl(url: string | null): string {
    if (url === null) return "(unset)";
    try {
        const u = new URL(url);
        return `${u.hostname}${u.port ? `:${u.port}` : ""}${u.pathname}`;
    } catch {
        return "(a value that is not a URL)";
    }
}

/** The plan: one line per config var put back, plus the freeze and what stays. */
export function rollbackPlanLines(args: { app: string; addonName: string; cutoverAt: string; changes: ConfigChange[]; freezeApp?: string }): string[] {
    const lines = [`rollback: the cutover of ${args.cutoverAt} is undone; ${args.app} and ${args.addonName} stay (nothing is deleted)`];
    for (const c of args.changes) {
        if (c.beforeUnknown) lines.push(`rollback: ${c.app} ${c.name}: left as is (its value before the cutover is unknown: set it by hand)`);
        else if (c.name === "DATABASE_URL") lines.push(`rollback: ${c.app} DATABASE_URL -> ${describeUrl(c.before)} (its value before the cutover)`);
        else lines.push(`rollback: ${c.app} ${c.name} -> ${c.before === null ? "unset" : "its value before the cutover"}`);
    }
    if (args.freezeApp) lines.push(`rollback: the write freeze on ${args.freezeApp} is lifted if still on`);
    lines.push("rollback: first, writes to the new database since the cutover are counted (pg_stat_user_tables, sequences); any refuses the rollback unless acknowledged (rollback_writes)");
    return lines;
}
