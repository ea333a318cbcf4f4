/** Shared by test/report.unit.test.ts and test/report.test.ts: a verification result (matching or not) and the report around it. */
import type { MigrationReport } from "../lib/report";
import type { VerificationResult } from "../lib/verify";

const EVIL = "<script>alert(1)</script>";

export function sampleResult(mismatch: boolean): VerificationResult {
    const table = (schema: string, name: string, rows: number, extra: Partial<VerificationResult["tables"][number]> = {}) => ({
        schema, name, kind: "table" as const, key: ["id"], sourceRows: rows, targetRows: rows, match: true,
        sourceChecksum: "123456789", targetChecksum: "123456789", countMatch: true, checksumMatch: true, sourceMs: 12, targetMs: 14, ...extra,
    });
    const tables = [
        table("public", "customers", 500),
        table("public", `weird|${EVIL}`, 3),
        mismatch
            ? table("reporting", "daily_sales", 188, { targetRows: 187, match: false, countMatch: false, checksumMatch: false, targetChecksum: "-42", rows: [{ key: "(day)=(2024-01-10)", change: "missing on target" }] })
            : table("reporting", "daily_sales", 188),
    ];
    const problems = mismatch
        ? ["table reporting.daily_sales: 188 rows on the source, 187 on the target; row (day)=(2024-01-10) is missing on the target", "index public.orders_customer_id_idx is missing on the target"]
        : [];
    return {
        ok: !mismatch,
        verdict: mismatch ? "mismatch" : "match",
        summary: mismatch ? `2 differences: ${problems.join("; ")}` : "3 tables, 691 rows match (counts and checksums)",
        problems,
        problemCount: problems.length,
        notes: ["1 settings that change query behaviour or performance differ (reported, not required): work_mem"],
        startedAt: "2025-01-01T00:00:00.000Z",
        finishedAt: "2025-01-01T00:00:02.000Z",
        durationMs: 2000,
        servers: { source: { version: "15.18", versionNum: 150018, encoding: "UTF8" }, target: { version: "16.4", versionNum: 160004, encoding: "UTF8" } },
        rendering: { hash: "hashtextextended", extraFloatDigits: 3, utf8: false },
        schema: {
            ok: !mismatch,
            counts: { table: { source: 3, target: 3 }, index: { source: 4, target: mismatch ? 3 : 4 } },
            differences: mismatch ? [{ kind: "index", name: "public.orders_customer_id_idx", change: "missing on target", source: "CREATE INDEX orders_customer_id_idx ON public.orders USING btree (customer_id)" }] : [],
            more: 0,
            notes: [],
        },
        tables,
        excluded: ["public.sessions"],
        sequences: [{ schema: "public", name: "invoice_number_seq", source: { lastValue: "100002", isCalled: true }, target: { lastValue: "100002", isCalled: true }, match: true }],
        largeObjects: { ok: true, source: { count: 1, bytes: 28, checksum: "77" }, target: { count: 1, bytes: 28, checksum: "77" }, differences: [], more: 0 },
        extensions: [{ name: "citext", source: { version: "1.6", schema: "public" }, target: { version: "1.6", schema: "public" }, match: true }],
        settings: {
            ok: true,
            differences: [{ name: "work_mem", category: "performance", source: "4MB", target: "64MB", sourceOrigin: "default", targetOrigin: "database", required: false }],
            ignored: ["port", "data_directory"],
            compared: 333,
            databaseSettings: { source: [], target: ["work_mem=64MB"] },
            database: { source: { encoding: "UTF8" }, target: { encoding: "UTF8" } },
            csv: { source: "name,setting,unit,source,category\n", target: "name,setting,unit,source,category\n" },
        },
        queries: [{ index: 0, sql: "SELECT count(*) FROM public.orders", match: true, sourceRows: 1, targetRows: 1, sourceHash: "ab", targetHash: "ab", columns: { source: ["count"], target: ["count"] } }],
        restore: { errors: ["pg_restore: error: could not execute query: ERROR:  must be owner of extension plpgsql"], warnings: ["pg_restore: warning: errors ignored on restore: 1"] },
        timings: [{ stage: "settings", ms: 120 }, { stage: "schema", ms: 300 }, { stage: "tables", ms: 1400 }, { stage: "sequences", ms: 40 }, { stage: "large objects", ms: 60 }, { stage: "queries", ms: 80 }],
    };
}

export function baseReport(failed: boolean): MigrationReport {
    return {
        status: failed ? "failed" : "verified",
        command: "up",
        startedAt: "2025-01-01T00:00:00.000Z",
        finishedAt: "2025-01-01T00:05:00.000Z",
        error: failed ? "pulumi-nodejs:dynamic/migration:Verification migration-verify: Verification: the target does not match the source: ..." : undefined,
        source: { serverVersion: "15.18", database: "appdb" },
        target: { app: "a2h-rehearsal", addon: "a2h-rehearsal-postgres" },
        tables: failed ? [] : [{ schema: "public", name: "customers", sourceRows: 500, targetRows: 500, match: true }],
        restore: { id: "r001", logs: [{ created_at: "t", message: "pg_restore: creating TABLE" }] },
        dump: { bytes: 123456 },
        steps: [{ op: "create", type: "pulumi-nodejs:dynamic/migration:DumpToBlob", name: "migration-dump" }],
        timings: [{ stage: "HerokuPostgres", ms: 60000 }, { stage: "DumpToBlob", ms: 90000 }, { stage: "HerokuRestore", ms: 120000 }, { stage: "Verification", ms: 2000 }],
    };
}
