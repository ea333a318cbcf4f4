/**
 * Progress of the data comparison (data.ts), its longest part: the raw numbers (tables and bytes
 * checked of the total, tables that differ, time) for a live bar, and which per-table lines are
 * written. Lines follow the shared rule of lib/progress.ts (progressThrottle: at most one every
 * 5 seconds and one per 10% of the bytes), so a schema of hundreds of tables writes about ten;
 * the last table always gets its line, and so do the first DIFFERENCE_LINES tables that differ
 * (one more line says when there are more: they are counted in the lines, the result lists them). With a live bar, only those
 * two kinds of line are written: the bar shows the rest. Pure: the clock is passed in.
 */
import { formatRate, progressThrottle } from "../progress";

export interface TableProgress {
    /** Tables (and populated materialized views) checked so far, of tablesTotal. */
    tablesDone: number;
    tablesTotal: number;
    /** Their size (pg_table_size, with TOAST: what a scan reads), of totalBytes. */
    doneBytes: number;
    totalBytes: number;
    /** Tables checked so far whose count or checksum differs. */
    differing: number;
    /** Since the comparison began. */
    elapsedMs: number;
}

/** Differing tables named in a line of their own; the verdict and the result list every one. */
export const DIFFERENCE_LINES = 5;

export interface TableProgressTracker {
    /** Records one checked table; returns its line when one is due. */
    finished(table: { name: string; bytes: number; rows: number; match: boolean }): string | undefined;
    /** The numbers now. */
    snapshot(): TableProgress;
}

/** The bytes a table's scan reads: pg_table_size (with TOAST) when known, else its main fork. */
export function scanBytes(rel: { bytes: number; tableBytes?: number }): number {
    return rel.tableBytes ?? rel.bytes;
}

/**
 * A tracker for `tablesTotal` tables of `totalBytes` together, started now. `live`: a live bar
 * shows the progress, so only the last table's line and the first differences are written.
 */
export function tableProgress(tablesTotal: number, totalBytes: number, opts: { live?: boolean; now?: () => number } = {}): TableProgressTracker {
    const now = opts.now ?? (() => Date.now());
    const started = now();
    const throttle = progressThrottle({ now });
    let tablesDone = 0;
    let doneBytes = 0;
    let differing = 0;
    const snapshot = (): TableProgress => ({ tablesDone, tablesTotal, doneBytes, totalBytes, differing, elapsedMs: now() - started });
    return {
        snapshot,
        finished(table) {
            tablesDone++;
            doneBytes += table.bytes;
            if (!table.match) differing++;
            const last = tablesDone === tablesTotal;
            // The first DIFFERENCE_LINES differences are named; the next one says that more are not.
            const named = !table.match && differing <= DIFFERENCE_LINES + 1;
            // The throttle is asked only when nothing else gives the table a line.
            if (!last && !named && (opts.live || !throttle.due(doneBytes, totalBytes))) return undefined;
            const counts = `${tablesDone}/${tablesTotal} tables${differing ? `, ${differing} differ` : ""}`;
            const more = !table.match && differing === DIFFERENCE_LINES + 1 ? `; more than ${DIFFERENCE_LINES} tables differ: the next ones are only counted here, the result lists them all` : "";
            return `${last ? "last table " : ""}${table.name}: ${table.rows} rows ${table.match ? "match" : "DIFFER"} (${counts}, ${formatRate(doneBytes, now() - started, totalBytes)})${more}`;
        },
    };
}
