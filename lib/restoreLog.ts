/**
 * The one classifier for restore-log lines: pg_restore's stderr as Heroku's transfer logs carry
 * it (one line per log entry), plus the transfer's own lines. HerokuRestore lists the error and
 * warning lines of a successful restore (Heroku counts the errors pg_restore ignored as the
 * transfer's warnings); Verification reports them apart in the result and the report.
 *
 * What pg_restore prints (src/bin/pg_dump, src/common/logging.c):
 * - PostgreSQL 12 and later: `pg_restore: error: ...`, `pg_restore: warning: ...` (12-14 also
 *   `pg_restore: fatal: ...`; 16+ `pg_restore: detail: ...` and `hint:`); the context of an
 *   error is `pg_restore: while PROCESSING TOC:` and `pg_restore: from TOC entry N; ...`; the
 *   failed statement follows on lines of its own, starting with `Command was: `; the summary is
 *   `pg_restore: warning: errors ignored on restore: N`. Verbose progress is
 *   `pg_restore: creating TABLE "public.orders"` and the like, with the user's object names.
 * - PostgreSQL 11 and earlier: `pg_restore: [archiver (db)] Error while PROCESSING TOC:`,
 *   `pg_restore: [archiver (db)] Error from TOC entry N; ...`,
 *   `pg_restore: [archiver (db)] could not execute query: ERROR:  ...`, `Command was: ...`,
 *   and the summary `WARNING: errors ignored on restore: N` without a prefix.
 * - Server notices relayed by pg_restore: `pg_restore: WARNING:  ...`, `pg_restore: NOTICE:  ...`.
 *
 * Lines are classified by that structure, not by searching for words: the two regular
 * expressions this replaces (`\b(warning|error)\b` in HerokuRestore, `\b(error|fatal|failed)\b`
 * then `\bwarning\b` in Verification) also matched the user's object names in verbose lines
 * (`creating TABLE "public.error"`) and words inside the failed SQL (`Command was: ...`), and
 * HerokuRestore's missed PostgreSQL 12-14's `fatal:` lines. The transfer's own lines (not
 * pg_restore's; e.g. `restore failed: ...`) keep the word rules both used: error, fatal or
 * failed is an error, warning a warning.
 *
 * Plain functions, no module-level state (dynamic providers capture this file).
 */
import { redact } from "./redact";

/** error and warning lines are listed; detail lines belong to the error before them; info is progress. */
export type RestoreLogLevel = "error" | "warning" | "detail" | "info";

const LEVEL_PREFIX = /^pg_restore: (error|fatal|warning|detail|hint): /;
const ARCHIVER_PREFIX = /^pg_restore: \[[^\]]+\] /;
const SERVER_NOTICE = /^pg_restore: (WARNING|NOTICE|INFO|LOG|DEBUG):/;
const ERROR_CONTEXT = /^pg_restore: (while (INITIALIZING|PROCESSING TOC|FINALIZING):|from TOC entry \d+;)/;

/** The level of one line on its own (a line of a multi-line statement needs the lines before it: classifyRestoreLog). */
export function classifyRestoreLine(message: string): RestoreLogLevel {
    const m = String(message ?? "").trim();
    const level = LEVEL_PREFIX.exec(m);
    if (level) {
        if (level[1] === "error" || level[1] === "fatal") return "error";
        return level[1] === "warning" ? "warning" : "detail";
    }
    if (ERROR_CONTEXT.test(m) || m.startsWith("Command was: ")) return "detail";
    if (ARCHIVER_PREFIX.test(m)) {
        const rest = m.replace(ARCHIVER_PREFIX, "");
        if (/^Error (while (INITIALIZING|PROCESSING TOC|FINALIZING):|from TOC entry \d+;)/.test(rest)) return "detail";
        return /^WARNING:/.test(rest) ? "warning" : "error";
    }
    const notice = SERVER_NOTICE.exec(m);
    if (notice) return notice[1] === "WARNING" ? "warning" : "info";
    if (m.startsWith("pg_restore: ")) return "info";
    if (/^WARNING: errors ignored on restore: \d+/.test(m)) return "warning";
    // The transfer's own lines.
    if (/\b(error|fatal|failed)\b/i.test(m)) return "error";
    if (/\bwarning\b/i.test(m)) return "warning";
    return "info";
}

/**
 * The level of every line, in order. The failed statement after `Command was: ` can span lines
 * (a function body); those lines are its detail, up to the next line pg_restore starts itself.
 */
export function classifyRestoreLog(logs: { message: string }[]): RestoreLogLevel[] {
    let inCommand = false;
    return logs.map((l) => {
        const m = String(l.message ?? "").trim();
        if (m.startsWith("Command was: ")) {
            inCommand = true;
            return "detail";
        }
        if (inCommand && !m.startsWith("pg_restore: ") && !/^WARNING: errors ignored on restore: /.test(m)) return "detail";
        inCommand = false;
        return classifyRestoreLine(m);
    });
}

/** The error and warning lines, in log order (what HerokuRestore lists for a restore with warnings). */
export function restoreProblemLines(logs: { message: string }[]): string[] {
    const levels = classifyRestoreLog(logs);
    return logs.filter((_, i) => levels[i] === "error" || levels[i] === "warning").map((l) => String(l.message ?? ""));
}

/** Error and warning lines of a restore log (pg_restore's stderr as Heroku's transfer logs), redacted, at most 500 each. */
export function scanRestoreLogs(logs: { message: string }[]): { errors: string[]; warnings: string[] } {
    const errors: string[] = [];
    const warnings: string[] = [];
    const levels = classifyRestoreLog(logs);
    logs.forEach((l, i) => {
        const m = redact(String(l.message ?? ""));
        if (levels[i] === "error") errors.push(m);
        else if (levels[i] === "warning") warnings.push(m);
    });
    return { errors: errors.slice(0, 500), warnings: warnings.slice(0, 500) };
}
