/**
 * Small helpers the verification modules share: timing (elapsed milliseconds of an hrtime
 * start), truncating long definitions and rows for messages, a locale-independent name order
 * (so results are listed the same on every machine), and mapLimit, the bounded-concurrency map
 * the table checks run on. Plain functions, no module-level state.
 */

export function elapsed(start: bigint): number {
    return Number((process.hrtime.bigint() - start) / 1_000_000n);
}

export function truncate(s: string | null | undefined, n = 1000): string | undefined {
    if (s === null || s === undefined) return undefined;
    return s.length > n ? `${s.slice(0, n)}…` : s;
}

/** Code-point order (not the locale's), so that every listing is stable. */
export function byName(a: string, b: string): number {
    return a < b ? -1 : a > b ? 1 : 0;
}

/** Runs fn over items with at most `limit` at a time; the first error stops new work and is thrown. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
    const out: R[] = new Array(items.length);
    let next = 0;
    let failed: unknown;
    const worker = async (): Promise<void> => {
        while (failed === undefined && next < items.length) {
            const i = next++;
            try {
                out[i] = await fn(items[i], i);
            } catch (err) {
                if (failed === undefined) failed = err;
            }
        }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, () => worker()));
    if (failed !== undefined) throw failed;
    return out;
}
