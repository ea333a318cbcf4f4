/**
 * Progress of long work (bytes, rows, rate, ETA). Dynamic providers run in Pulumi's provider
 * process, which has no engine log channel, so progress goes to stderr, which the Pulumi CLI
 * shows with the resource. Every line is redacted.
 */
import { redact } from "./redact";

export function progress(stage: string, message: string): void {
    if (process.env.A2H_QUIET === "1") return;
    process.stderr.write(redact(`[${stage}] ${message}`) + "\n");
}

/**
 * The one rule for progress lines of long work (dump and upload, restore, verification): at most
 * one line every PROGRESS_MIN_INTERVAL_MS and, when the total is known, every PROGRESS_MIN_STEP
 * of it, whichever is rarer; the final line is always written (by the caller, without asking).
 * A 1 GB dump writes a handful of lines, a 100 GB one at most ten plus the final line.
 */
export const PROGRESS_MIN_INTERVAL_MS = 5000;
export const PROGRESS_MIN_STEP = 0.1;

export interface ProgressThrottle {
    /** True when a line for `done` (of `total`, when known and positive) is due now; records it. */
    due(done: number, total?: number): boolean;
}

/** A throttle for one piece of work, started now. Plain closure state: safe in dynamic providers. */
export function progressThrottle(opts: { intervalMs?: number; step?: number; now?: () => number } = {}): ProgressThrottle {
    const intervalMs = opts.intervalMs ?? PROGRESS_MIN_INTERVAL_MS;
    const step = opts.step ?? PROGRESS_MIN_STEP;
    const now = opts.now ?? (() => Date.now());
    let lastAt = now();
    let lastFraction = 0;
    return {
        due(done: number, total?: number): boolean {
            const t = now();
            if (t - lastAt < intervalMs) return false;
            const known = total !== undefined && total > 0;
            const fraction = known ? done / total : 0;
            if (known && fraction - lastFraction < step - 1e-9) return false;
            lastAt = t;
            lastFraction = fraction;
            return true;
        },
    };
}

/**
 * "1.2 GiB of 2.0 GiB (60%) in 30s at 40.0 MiB/s, ETA 20s": bytes done, against the total when
 * known (an estimate may be passed: past it, the percentage and ETA are left out), rate and ETA.
 */
export function formatRate(done: number, elapsedMs: number, total?: number): string {
    const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
    const known = total !== undefined && total > 0 && done <= total;
    const of = known ? ` of ${formatBytes(total)} (${Math.floor((done / total) * 100)}%)` : "";
    const eta = known && rate > 0 && done < total ? `, ETA ${formatDuration(((total - done) / rate) * 1000)}` : "";
    return `${formatBytes(done)}${of} in ${formatDuration(elapsedMs)} at ${formatBytes(rate)}/s${eta}`;
}

export function formatBytes(bytes: number): string {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let v = bytes;
    let i = 0;
    while (v >= 1024 && i < units.length - 1) {
        v /= 1024;
        i++;
    }
    return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export function formatDuration(ms: number): string {
    if (!Number.isFinite(ms) || ms < 0) return "?";
    const s = Math.round(ms / 1000);
    if (s < 60) return `${s}s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
    return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}
