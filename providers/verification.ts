/**
 * Verification: proves the copy before cutover. Compares the frozen source with the restored
 * target (lib/verify/): schema object by object, exact row count and content checksum per
 * table, sequences, large objects, extensions, settings, the user's `verifyQueries`, and the
 * restore log. A mismatch fails the update, so Cutover never runs and DATABASE_URL is not
 * published; the message names the first differing objects. Setting differences are reported
 * and fail only for settings listed in `verifyRequireSettings`. Tables in `verifyExcludeTables`
 * are listed as excluded with their reason, never silently skipped. Re-run when the restore
 * changes (changed queries or settings take effect with the next restore).
 *
 * With A2H_REPORT_DIR set, the full structured result is also written to
 * `$A2H_REPORT_DIR/verification.json` - on success and on failure (a failed resource has no
 * outputs), for the migration report.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import type { ArgsOf } from "./args";
import { parseDatabaseUrl } from "../lib/pg";
import { MigrationError, errorMessage } from "../lib/errors";
import { progress, withLiveBar } from "../lib/progress";
import { redact } from "../lib/redact";
import { verifyDatabases, type SourceChecksums, type VerificationResult } from "../lib/verify";
import { guardedStage, stageGuard, type GuardInputs } from "../lib/stage";
import { configureSource, sourceConnection, type SourceAware } from "./configured";
import type { TableRowCount } from "../lib/types";

/** What the provider receives; VerificationArgs is the same with each field accepting an Output. */
export interface VerificationInputs {
    /** The source, the freeze, the dump's blob and what a failure undoes (lib/stage.ts); the account key is its own input. */
    guard: GuardInputs;
    /** Secret: the storage account key (deletes the dump after a failure). */
    accountKey: string;
    /** Secret. */
    targetUrl: string;
    restoreId: string;
    excludeTables: { table: string; reason: string }[];
    /** SQL queries run on both sides in read-only transactions (config `verifyQueries`). @default [] */
    queries?: string[];
    /** Tables checked at the same time, one connection per side each (config `verifyConcurrency`). @default 4 */
    concurrency?: number;
    /** Settings that must be equal on both sides (config `verifyRequireSettings`). @default [] */
    requireSettings?: string[];
    /** The restore transfer's log; its error and warning lines are listed in the result. */
    restoreLogs?: { created_at: string; message: string }[];
    /** Absolute folder for verification.json (config `reportDir`); not compared by diff. */
    reportDir?: string;
    /** Source checksums computed during the restore (SourceChecksums); used only if the source has not changed since. */
    sourceChecksums?: SourceChecksums | null;
}
export type VerificationArgs = ArgsOf<VerificationInputs>;

type Inputs = VerificationInputs;
interface Outputs extends Inputs {
    ok: boolean; tables: TableRowCount[]; excluded: { table: string; reason: string }[]; summary: string; verifiedAt: string;
    result: VerificationResult; durationMs: number;
}

/** Writes the result to `<dir>/verification.json` (dir: `reportDir`, else $A2H_REPORT_DIR); returns the path. */
export function writeVerificationResult(result: VerificationResult, reportDir?: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
    const dir = reportDir ?? env.A2H_REPORT_DIR;
    if (!dir) return undefined;
    try {
        fs.mkdirSync(dir, { recursive: true });
        const file = path.join(dir, "verification.json");
        fs.writeFileSync(file, redact(JSON.stringify(result, null, 2)) + "\n");
        return file;
    } catch (err) {
        progress("Verification", `could not write the verification result to ${dir}: ${errorMessage(err)}`);
        return undefined;
    }
}

export const verificationProvider: pulumi.dynamic.ResourceProvider<Inputs, Outputs> & SourceAware = {
    async configure(req) {
        configureSource(this, req);
    },

    async diff(_id: string, olds: Outputs, news: Inputs) {
        const replaces: string[] = [];
        if (olds.restoreId !== news.restoreId) replaces.push("restoreId");
        if (JSON.stringify(olds.excludeTables) !== JSON.stringify(news.excludeTables)) replaces.push("excludeTables");
        return { changes: replaces.length > 0, replaces, deleteBeforeReplace: true };
    },

    async create(inputs: Inputs) {
        const source = sourceConnection(inputs.guard.source, this.sourcePassword);
        return guardedStage("Verification", stageGuard(inputs.guard, inputs.accountKey), { source }, async () => {
            const target = parseDatabaseUrl(inputs.targetUrl, "DATABASE_URL");
            const expected: Record<string, string> = {};
            if (inputs.guard.freeze.spec.mode === "readonly-source") expected.default_transaction_read_only = "the source is frozen read-only (freezeMode readonly-source)";
            // In a terminal (a rehearsal) a live bar for the table checksums; otherwise (Pulumi, CI) the throttled lines.
            const result = await withLiveBar("Verification", "data", (bar) => verifyDatabases(source, target, {
                excludeTables: inputs.excludeTables.map((e) => e.table),
                concurrency: inputs.concurrency ?? 4,
                queries: inputs.queries ?? [],
                requireSettings: inputs.requireSettings ?? [],
                expectedSettingDifferences: expected,
                restoreLogs: inputs.restoreLogs ?? [],
                sourceChecksums: inputs.sourceChecksums ?? undefined,
                onProgress: (m) => progress("Verification", m),
                // Ticks come every LIVE_INTERVAL_MS already, and the last one must show the total: drawn at once.
                onTick: bar ? (p) => bar.update(p.doneBytes, p.totalBytes, true, { elapsedMs: p.elapsedMs, label: `data ${p.tablesDone}/${p.tablesTotal}` }) : undefined,
            }));
            const file = writeVerificationResult(result, inputs.reportDir);
            if (!result.ok) {
                const shown = result.problems.slice(0, 5).join("; ");
                const more = result.problemCount > 5 ? ` (and ${result.problemCount - 5} more)` : "";
                throw new MigrationError(
                    "Verification",
                    `the target does not match the source: ${shown}${more}. Cutover did not run and DATABASE_URL was not published.`,
                    `Read the restore log (\`heroku pg:backups:info\`) for the cause${file ? `; the full comparison is in ${file}` : ""}.`,
                );
            }
            progress("Verification", result.summary);
            for (const n of result.notes) progress("Verification", `note: ${n}`);
            for (const e of inputs.excludeTables) progress("Verification", `excluded ${e.table}: ${e.reason}`);
            const tables: TableRowCount[] = result.tables.map((t) => ({ schema: t.schema, name: t.name, sourceRows: t.sourceRows, targetRows: t.targetRows, match: t.match }));
            const rows = result.tables.filter((t) => t.kind !== "partitioned table").reduce((n, t) => n + t.sourceRows, 0);
            const summary = `${tables.length} tables, ${rows} rows match${inputs.excludeTables.length ? `; ${inputs.excludeTables.length} excluded` : ""}`;
            const outs: Outputs = {
                ...inputs, ok: true, tables, excluded: inputs.excludeTables, summary, verifiedAt: result.finishedAt, result, durationMs: result.durationMs,
            };
            return { id: `verified-${inputs.restoreId}`, outs };
        });
    },

    async delete() {
        // Verification leaves nothing behind.
    },
};

export class Verification extends pulumi.dynamic.Resource {
    declare readonly ok: pulumi.Output<boolean>;
    declare readonly tables: pulumi.Output<TableRowCount[]>;
    declare readonly excluded: pulumi.Output<{ table: string; reason: string }[]>;
    declare readonly summary: pulumi.Output<string>;
    declare readonly verifiedAt: pulumi.Output<string>;
    /** Everything compared, structured (lib/verify VerificationResult). */
    declare readonly result: pulumi.Output<VerificationResult>;
    declare readonly durationMs: pulumi.Output<number>;

    constructor(name: string, args: VerificationArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            verificationProvider,
            name,
            {
                ...args,
                targetUrl: pulumi.secret(args.targetUrl),
                accountKey: pulumi.secret(args.accountKey),
                ok: undefined, tables: undefined, excluded: undefined, summary: undefined, verifiedAt: undefined, result: undefined, durationMs: undefined,
            },
            { ...opts, additionalSecretOutputs: ["targetUrl", "accountKey"] },
            "migration",
            "Verification",
        );
    }
}
