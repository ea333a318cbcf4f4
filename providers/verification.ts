/**
 * Verification: proves the copy before cutover. Compares the frozen source with the restored
 * target (same tables, exact row count per table); a mismatch fails the update, so Cutover never
 * runs and DATABASE_URL is not published. Tables in `verifyExcludeTables` are listed as excluded
 * with their reason, never silently skipped. Re-run when the restore changes.
 */
import * as pulumi from "@pulumi/pulumi";
import { compareTables, parseDatabaseUrl } from "../lib/pg";
import { MigrationError } from "../lib/errors";
import { progress } from "../lib/progress";
import { guardedStage, type FreezeState } from "../lib/stage";
import { configureSource, sourceConnection, type SourceAware } from "./configured";
import type { SourceSettings } from "../lib/config";
import type { TableRowCount } from "../lib/types";
import type { BlobLocation } from "./dumpToBlob";

export interface VerificationArgs {
    source: pulumi.Input<SourceSettings>;
    /** Secret. */
    targetUrl: pulumi.Input<string>;
    restoreId: pulumi.Input<string>;
    excludeTables: pulumi.Input<{ table: string; reason: string }[]>;
    freeze: pulumi.Input<FreezeState>;
    unfreezeOnFailure: pulumi.Input<boolean>;
    storage: pulumi.Input<BlobLocation>;
    accountKey: pulumi.Input<string>;
    blobName: pulumi.Input<string>;
}

interface Inputs {
    source: SourceSettings; targetUrl: string; restoreId: string; excludeTables: { table: string; reason: string }[];
    freeze: FreezeState; unfreezeOnFailure: boolean; storage: BlobLocation; accountKey: string; blobName: string;
}
interface Outputs extends Inputs {
    ok: boolean; tables: TableRowCount[]; excluded: { table: string; reason: string }[]; summary: string; verifiedAt: string;
}

/** One line per problem, most useful first. Exported for tests. */
export function describeMismatches(result: { tables: TableRowCount[]; missingOnTarget: string[]; extraOnTarget: string[] }): string[] {
    const lines: string[] = [];
    for (const t of result.missingOnTarget) lines.push(`table ${t} is missing on the target`);
    for (const t of result.tables.filter((x) => !x.match && x.targetRows !== null)) {
        lines.push(`table ${t.schema}.${t.name}: ${t.sourceRows} rows on the source, ${t.targetRows} on the target`);
    }
    for (const t of result.extraOnTarget) lines.push(`table ${t} exists only on the target`);
    return lines;
}

export const verificationProvider: pulumi.dynamic.ResourceProvider & SourceAware = {
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
        const source = sourceConnection(inputs.source, this.sourcePassword);
        const guard = {
            freeze: inputs.freeze,
            unfreezeOnFailure: inputs.unfreezeOnFailure,
            dump: { target: { ...inputs.storage, accountKey: inputs.accountKey }, blobName: inputs.blobName },
        };
        return guardedStage("Verification", guard, { source }, async () => {
            const target = parseDatabaseUrl(inputs.targetUrl);
            const result = await compareTables(source, target, { exclude: inputs.excludeTables.map((e) => e.table) });
            const problems = describeMismatches(result);
            const rows = result.tables.reduce((n, t) => n + t.sourceRows, 0);
            if (!result.ok || problems.length > 0) {
                const shown = problems.slice(0, 5).join("; ");
                const more = problems.length > 5 ? ` (and ${problems.length - 5} more)` : "";
                throw new MigrationError("Verification", `the target does not match the source: ${shown}${more}. Cutover did not run and DATABASE_URL was not published.`, "Read the restore log (`heroku pg:backups:info`) for the cause.");
            }
            const summary = `${result.tables.length} tables, ${rows} rows match${inputs.excludeTables.length ? `; ${inputs.excludeTables.length} excluded` : ""}`;
            progress("Verification", summary);
            for (const e of inputs.excludeTables) progress("Verification", `excluded ${e.table}: ${e.reason}`);
            const outs: Outputs = { ...inputs, ok: true, tables: result.tables, excluded: inputs.excludeTables, summary, verifiedAt: new Date().toISOString() };
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

    constructor(name: string, args: VerificationArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            verificationProvider,
            name,
            {
                ...args,
                targetUrl: pulumi.secret(args.targetUrl),
                accountKey: pulumi.secret(args.accountKey),
                ok: undefined, tables: undefined, excluded: undefined, summary: undefined, verifiedAt: undefined,
            },
            { ...opts, additionalSecretOutputs: ["targetUrl", "accountKey"] },
            "migration",
            "Verification",
        );
    }
}
