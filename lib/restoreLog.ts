/**
 * Restore-log lines: pg_restore's stderr as Heroku's transfer logs carry it.
 *
 * Plain functions, no module-level state (dynamic providers capture this file).
 */
import { redact } from "./redact";


/** Error and warning lines of a restore log (pg_restore's stderr as Heroku's transfer logs). */
export function scanRestoreLogs(logs: { message: string }[]): { errors: string[]; warnings: string[] } {
    const errors: string[] = [];
    const warnings: string[] = [];
    for (const l of logs) {
        const m = redact(String(l.message ?? ""));
        if (/\b(error|fatal|failed)\b/i.test(m)) errors.push(m);
        else if (/\bwarning\b/i.test(m)) warnings.push(m);
    }
    return { errors: errors.slice(0, 500), warnings: warnings.slice(0, 500) };
}
