/**
 * Preflight: read-only checks of the source that run in `pulumi preview` and again at the start
 * of `pulumi up`, before anything is created or frozen. A blocking finding stops the program.
 * (Issue 5 grows this into the full cutover plan; the findings' shape stays.)
 */
import { pgToolVersion } from "./pgbin";
import { databaseSizes, serverVersion, withClient } from "./pg";
import { findPlan } from "./plans";
import { formatBytes } from "./progress";
import type { PgConnection } from "./types";

export type FindingLevel = "blocking" | "warning" | "info";

export interface Finding {
    level: FindingLevel;
    code: string;
    message: string;
    /** What to do about it. */
    action: string;
}

export interface PreflightResult {
    serverVersion: string;
    serverMajor: number;
    pgDumpVersion: string;
    databaseBytes: number;
    extensions: { name: string; version: string }[];
    findings: Finding[];
}

export async function runPreflight(source: PgConnection, opts: { plan: string }): Promise<PreflightResult> {
    const version = await serverVersion(source);
    const dump = pgToolVersion("pg_dump");
    const sizes = await databaseSizes(source);
    const databaseBytes = sizes.find((s) => s.name === source.database)?.bytes ?? 0;
    const extensions = await withClient(source, async (c) => {
        const r = await c.query("SELECT extname AS name, extversion AS version FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY extname");
        return r.rows.map((row: { name: string; version: string }) => ({ name: row.name, version: row.version }));
    });

    const findings: Finding[] = [];
    if (dump.major < version.major) {
        findings.push({
            level: "blocking",
            code: "pg_dump_too_old",
            message: `pg_dump ${dump.text} is older than the source server (PostgreSQL ${version.text}); it cannot dump it.`,
            action: `Install the PostgreSQL ${version.major} client (apt-get install postgresql-client-${version.major}) or set PG_BIN_DIR to its bin directory.`,
        });
    }
    const plan = findPlan(opts.plan);
    if (plan && databaseBytes > plan.storageBytes) {
        findings.push({
            level: "blocking",
            code: "plan_too_small",
            message: `the database is ${formatBytes(databaseBytes)}, more than the ${plan.name} plan's ${formatBytes(plan.storageBytes)}.`,
            action: "Choose a larger `herokuPlan`.",
        });
    }
    findings.push({
        level: "info",
        code: "size",
        message: `source ${source.database} on PostgreSQL ${version.text}: ${formatBytes(databaseBytes)}; ${extensions.length} extensions (${extensions.map((e) => e.name).join(", ") || "none"}).`,
        action: "",
    });
    return { serverVersion: version.text, serverMajor: version.major, pgDumpVersion: dump.text, databaseBytes, extensions, findings };
}

export function formatFindings(findings: Finding[]): string[] {
    const order: FindingLevel[] = ["blocking", "warning", "info"];
    return [...findings]
        .sort((a, b) => order.indexOf(a.level) - order.indexOf(b.level))
        .map((f) => `${f.level.toUpperCase()} ${f.code}: ${f.message}${f.action ? ` ${f.action}` : ""}`);
}
