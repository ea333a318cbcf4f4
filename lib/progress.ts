/**
 * Progress of long work (bytes, rows, rate, ETA). Dynamic providers run in Pulumi's provider
 * process, which has no engine log channel, so progress goes to stderr, which the Pulumi CLI
 * shows with the resource. Every line is redacted.
 */
import { redact } from "./redact";

export function progress(stage: string, message: string): void {
    if (process.env.A2H_QUIET === "1") return;
    process.stderr.write(clearLiveLine(process.stderr) + redact(`[${stage}] ${message}`) + "\n");
}

/**
 * The live bar (a terminal only): one line, redrawn in place with \r, for the dump and the
 * restore of a rehearsal run in a terminal. Under Pulumi, in CI or with output redirected, stderr
 * is not a terminal and the throttled lines above are all there is; `A2H_PROGRESS=lines` asks for
 * them in a terminal too.
 */
export const LIVE_INTERVAL_MS = 250;

/** A stream's state, kept on the stream object itself: providers capture no module-level state. */
interface LiveState {
    /** A bar is drawn on the current line (so a plain line must clear it first). */
    showing: boolean;
}
const LIVE_KEY = "__a2hLiveProgress";

function liveState(stream: NodeJS.WritableStream): LiveState {
    const s = stream as unknown as Record<string, LiveState | undefined>;
    return (s[LIVE_KEY] ??= { showing: false });
}

/** "\r" + erase-line when a bar is on the current line (it is then gone), else "". */
function clearLiveLine(stream: NodeJS.WritableStream): string {
    const state = (stream as unknown as Record<string, LiveState | undefined>)[LIVE_KEY];
    if (!state?.showing) return "";
    state.showing = false;
    return "\r\x1b[K";
}

/**
 * Erases a live bar from stderr's current line, if one is drawn: for writers of other lines to the
 * same terminal (the rehearsal's own log on stdout), so that a line never starts after a bar.
 */
export function endLiveLine(): void {
    const c = clearLiveLine(process.stderr);
    if (c) process.stderr.write(c);
}

/**
 * Set to "1" by the rehearsal for its dynamic provider host when the rehearsal's own stderr is a
 * terminal: the host's stderr is a pipe the rehearsal relays to that terminal (liveRelay), so the
 * host draws its bars as if it were the terminal; COLUMNS then says the terminal's width.
 */
export const LIVE_RELAY_ENV = "A2H_PROGRESS_RELAY";

/**
 * True when long work should draw a live bar on `stream`: a terminal (or a pipe the rehearsal
 * relays to one, LIVE_RELAY_ENV), not quiet, not A2H_PROGRESS=lines.
 */
export function liveProgressWanted(stream: { isTTY?: boolean } = process.stderr, env: NodeJS.ProcessEnv = process.env): boolean {
    return (stream.isTTY === true || env[LIVE_RELAY_ENV] === "1") && env.A2H_QUIET !== "1" && env.A2H_PROGRESS !== "lines";
}

/**
 * One bar line, at most `columns - 1` characters (a line that wraps cannot be redrawn with \r):
 * "[DumpToBlob] dump+upload [=======>       ]  45% 420.0 MiB/930.0 MiB 45.0 MiB/s ETA 11s".
 * Without a total, or past an estimated one, no bar, percentage or ETA: bytes, rate and time.
 */
export function renderBar(stage: string, label: string, done: number, elapsedMs: number, total?: number, columns = 80): string {
    const known = total !== undefined && total > 0 && done <= total;
    // Compact, so that an 80-column terminal shows it whole: bytes/total, rate, ETA (or elapsed).
    const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
    const text = known
        ? `${formatBytes(done)}/${formatBytes(total)} ${formatBytes(rate)}/s${rate > 0 && done < total ? ` ETA ${formatDuration(((total - done) / rate) * 1000)}` : ""}`
        : `${formatBytes(done)} ${formatBytes(rate)}/s, ${formatDuration(elapsedMs)}`;
    const head = `[${stage}] ${label} `;
    const max = Math.max(20, columns - 1);
    let line: string;
    if (known) {
        const fraction = Math.min(1, done / total);
        const pct = `${String(Math.floor(fraction * 100)).padStart(3)}% `;
        const width = Math.max(5, Math.min(30, max - head.length - pct.length - text.length - 3));
        const full = Math.floor(fraction * width);
        const bar = "=".repeat(full) + (full < width ? ">" : "") + " ".repeat(Math.max(0, width - full - 1));
        line = `${head}[${bar}] ${pct}${text}`;
    } else {
        line = `${head}${text}`;
    }
    return redact(line.length > max ? line.slice(0, max - 1) + "…" : line);
}

export interface LiveBar {
    /**
     * Redraws the bar for `done` of `total` (at most every LIVE_INTERVAL_MS unless `force`). Work
     * that keeps its own clock and count passes them in `at`: the time since the work began (else
     * since the bar was made) and the label for this draw (verification's "data 12/340").
     */
    update(done: number, total?: number, force?: boolean, at?: { elapsedMs?: number; label?: string }): void;
    /** Removes the bar from the line (the caller then writes its final line). */
    clear(): void;
}

/** A live bar for one piece of work, started now, drawn on `stream` (stderr). */
export function liveBar(stage: string, label: string, opts: { stream?: NodeJS.WritableStream & { columns?: number }; now?: () => number } = {}): LiveBar {
    const stream = opts.stream ?? process.stderr;
    const now = opts.now ?? (() => Date.now());
    const started = now();
    let lastAt = -Infinity;
    return {
        update(done: number, total?: number, force = false, at: { elapsedMs?: number; label?: string } = {}): void {
            const t = now();
            if (!force && t - lastAt < LIVE_INTERVAL_MS) return;
            lastAt = t;
            drawLiveLine(renderBar(stage, at.label ?? label, done, at.elapsedMs ?? t - started, total, stream.columns || Number(process.env.COLUMNS) || 80), stream);
        },
        clear(): void {
            const c = clearLiveLine(stream);
            if (c) stream.write(c);
        },
    };
}

/** Draws `line` as `stream`'s live line, in place of the one drawn before; erases it when `line` is empty. */
export function drawLiveLine(line: string, stream: NodeJS.WritableStream = process.stderr): void {
    if (!line) {
        const c = clearLiveLine(stream);
        if (c) stream.write(c);
        return;
    }
    stream.write(`\r${line}\x1b[K`);
    liveState(stream).showing = true;
}

export interface LiveRelay {
    write(chunk: string): void;
    /** The stream ended: a last line without its newline is passed on. */
    end(): void;
}

/**
 * Reads a child's stderr that may carry live-bar frames ("\r<bar>\x1b[K", no newline): each complete
 * line goes to `onLine` as a terminal would show it (a bar erased on that line is gone), the latest
 * frame to `onFrame` ("" when the bar was erased). A line or frame split across chunks waits for its end.
 */
export function liveRelay(onLine: (line: string) => void, onFrame: (frame: string) => void): LiveRelay {
    let pending = "";
    const visible = (s: string) => s.slice(s.lastIndexOf("\r") + 1).split("\x1b[K").join("");
    return {
        write(chunk: string): void {
            pending += chunk;
            for (let nl = pending.indexOf("\n"); nl >= 0; nl = pending.indexOf("\n")) {
                const line = visible(pending.slice(0, nl).replace(/\r$/, ""));
                pending = pending.slice(nl + 1);
                if (line) onLine(line);
            }
            if (pending.includes("\r") && pending.endsWith("\x1b[K")) {
                onFrame(visible(pending));
                pending = "";
            }
        },
        end(): void {
            const line = visible(pending);
            pending = "";
            if (line) onLine(line);
        },
    };
}

/**
 * Runs `work` with a live bar when one is wanted (liveProgressWanted: stderr a terminal, not quiet,
 * not A2H_PROGRESS=lines), else with none (`work` then writes the throttled lines), and removes the
 * bar when the work ends, failed or not, so that the caller's final line starts on a clean line.
 * The one way the dump, the restore and the verification draw their bar.
 */
export async function withLiveBar<T>(
    stage: string, label: string, work: (bar: LiveBar | undefined) => Promise<T>,
    opts: { stream?: NodeJS.WritableStream & { columns?: number; isTTY?: boolean }; env?: NodeJS.ProcessEnv; now?: () => number } = {},
): Promise<T> {
    const stream = opts.stream ?? process.stderr;
    const bar = liveProgressWanted(stream, opts.env) ? liveBar(stage, label, { stream, now: opts.now }) : undefined;
    try {
        return await work(bar);
    } finally {
        bar?.clear();
    }
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
