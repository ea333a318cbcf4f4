/**
 * The report files of a migration, for real runs and the rehearsal alike: where they go
 * (`reportDir`), the migration report built from the stack's outputs, and writing it as
 * migration-report.json/.md/.html plus the two sides' settings as CSV.
 *
 * - `pulumi up` (index.ts) writes them when the stack's outputs resolve, that is after a verified
 *   cutover; preview and up write preflight.md/json there too.
 * - After a failed `pulumi up`, `npm run report` renders them from `pulumi stack output --json`
 *   and the verification.json the Verification resource left in the same folder.
 * - The rehearsal calls the same functions, adding what only its engine knows (steps, timings,
 *   the error, where the freeze stands).
 */
import * as fs from "fs";
import * as path from "path";
import { redact } from "./redact";
import { preflightJson, renderPreflightMarkdown, type PreflightPlan } from "./preflight";
import { renderHtml, renderMarkdown, withVerification, type MigrationReport } from "./report";
import type { VerificationResult } from "./verify";

/** The folder for preflight and migration reports: `reportDir`, else `reports/<stack>` in the project directory. */
export function resolveReportDir(setting: string | undefined, stack: string, cwd = process.cwd()): string {
    return path.resolve(cwd, setting && setting.trim() !== "" ? setting.trim() : path.join("reports", stack));
}

/** A stack output value as `pulumi stack output --json` prints it: secrets are "[secret]" there. */
type Outputs = Record<string, any>;

export interface ReportMeta {
    command: MigrationReport["command"];
    startedAt: string;
    finishedAt?: string;
    /** The source database's name (the stack's `sourceDatabase`). */
    database?: string;
    error?: string;
    freeze?: string;
    steps?: MigrationReport["steps"];
    timings?: MigrationReport["timings"];
    /** The verification's full result when the stack has no `verificationResult` output (it failed). */
    verification?: VerificationResult;
}

/** The migration report from the stack's outputs (plain values) and what the caller knows besides. */
export function reportFromOutputs(out: Outputs, meta: ReportMeta): MigrationReport {
    const { command, error } = meta;
    const verified = command === "up" && !error && Array.isArray(out.tables);
    const base: MigrationReport = {
        status: error ? "failed" : command === "preview" ? "planned" : command === "destroy" ? "destroyed" : verified ? "verified" : "failed",
        command,
        startedAt: meta.startedAt,
        finishedAt: meta.finishedAt ?? new Date().toISOString(),
        error: error ? redact(error) : undefined,
        freeze: meta.freeze,
        source: { serverVersion: out.sourceServerVersion, database: meta.database ?? out.preflight?.database ?? "" },
        target: { app: out.herokuAppName, addon: out.addonName },
        tables: out.tables ?? [],
        restore: { id: out.restoreId, logs: out.restoreLogs ?? [] },
        dump: { bytes: out.dumpBytes },
        verification: out.verification,
        steps: meta.steps ?? [],
        timings: meta.timings,
        ...(Array.isArray(out.settingsApplied) ? { settingsApplied: out.settingsApplied } : {}),
    };
    if (command !== "up") return base;
    const result = (out.verificationResult && typeof out.verificationResult === "object" ? out.verificationResult : undefined) ?? meta.verification;
    return withVerification(base, result as VerificationResult | undefined);
}

/** The verification.json a Verification resource wrote into `dir` (after a failure), if any. */
export function readVerificationFile(dir: string): VerificationResult | undefined {
    const file = path.join(dir, "verification.json");
    return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as VerificationResult) : undefined;
}

/** The file a report of this command is written to: up's migration report never gets overwritten by preview or destroy. */
export function reportPath(dir: string, command: MigrationReport["command"]): string {
    return path.join(dir, { up: "migration-report.json", preview: "migration-plan.json", destroy: "destroy-report.json" }[command]);
}

/** Writes the report (and, for `up`, its .md, .html and the settings CSVs); returns the JSON's path. */
export function writeReport(dir: string, report: MigrationReport): string {
    fs.mkdirSync(dir, { recursive: true });
    const file = reportPath(dir, report.command);
    fs.writeFileSync(file, redact(JSON.stringify(report, null, 2)) + "\n");
    if (report.command === "up") {
        fs.writeFileSync(path.join(dir, "migration-report.md"), renderMarkdown(report));
        fs.writeFileSync(path.join(dir, "migration-report.html"), renderHtml(report));
        if (report.settings) {
            fs.writeFileSync(path.join(dir, "settings-source.csv"), redact(report.settings.csv.source));
            fs.writeFileSync(path.join(dir, "settings-target.csv"), redact(report.settings.csv.target));
        }
    }
    return file;
}

/** preflight.md and preflight.json, written by preview and up before anything is created. */
export function writePreflightFiles(dir: string, preflight: PreflightPlan): void {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "preflight.md"), renderPreflightMarkdown(preflight));
    fs.writeFileSync(path.join(dir, "preflight.json"), preflightJson(preflight));
}
