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
