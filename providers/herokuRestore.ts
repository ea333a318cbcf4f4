/**
 * HerokuRestore: `heroku pg:backups:restore <SAS URL> DATABASE --confirm` over the Data API:
 * POST /client/v11/databases/{addon_id}/restores, then the transfer is polled to the end and
 * its logs kept. A failed transfer fails the update with Heroku's error and the log tail;
 * "completed with warnings" is reported with the warnings listed.
 *
 * Replaced only when the dump (its ETag) or the add-on changes: a renewed SAS URL for the same
 * dump never restores again, because a second restore would wipe writes made after cutover.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ArgsOf } from "./args";
import * as heroku from "../lib/heroku";
import { MigrationError } from "../lib/errors";
import { freezeInEffect } from "../lib/freeze";
import { formatBytes, formatDuration, formatRate, progress, progressThrottle, withLiveBar } from "../lib/progress";
import { redact } from "../lib/redact";
import { CUTOVER_MARKER } from "../lib/markers";
import { restoreProblemLines } from "../lib/restoreLog";
import { guardedStage, stageGuard, type GuardInputs } from "../lib/stage";
import { configureSource, sourceConnection, type SourceAware } from "./configured";

/** What the provider receives; HerokuRestoreArgs is the same with each field accepting an Output. */
export interface HerokuRestoreInputs {
    app: string;
    appId: string;
    addonId: string;
    /** Secret: the SAS URL. */
    backupUrl: string;
    dumpEtag: string;
    extensions: string[];
    /** The source, the freeze, the dump's blob and what a failure undoes (lib/stage.ts); the account key is its own input. */
    guard: GuardInputs;
    /** Secret: the storage account key (deletes the dump after a failure). */
    accountKey: string;
    /** @default 240 */
    timeoutMinutes?: number;
}
export type HerokuRestoreArgs = ArgsOf<HerokuRestoreInputs>;

type Inputs = HerokuRestoreInputs;
interface RestoreLog { created_at: string; message: string }
interface Outputs extends Inputs {
    transferId: string; name: string; succeeded: boolean; processedBytes: number; sourceBytes: number;
    warnings: number; warningLines: string[]; logs: RestoreLog[]; startedAt: string; finishedAt: string;
}

export const herokuRestoreProvider: pulumi.dynamic.ResourceProvider<Inputs, Outputs> & SourceAware = {
    async configure(req) {
        configureSource(this, req);
    },

    async diff(_id: string, olds: Outputs, news: Inputs) {
        const replaces: string[] = [];
        if (olds.addonId !== news.addonId) replaces.push("addonId");
        if (olds.dumpEtag !== news.dumpEtag) replaces.push("dumpEtag");
        return { changes: replaces.length > 0, replaces, deleteBeforeReplace: true };
    },

    async create(inputs: Inputs) {
        const ep = heroku.herokuEndpointsFromEnv();
        const ctx = { source: sourceConnection(inputs.guard.source, this.sourcePassword) };
        return guardedStage("HerokuRestore", stageGuard(inputs.guard, inputs.accountKey), ctx, async () => {
            // A restore replaces the whole database. Once the app has been cut over to it, a new
            // dump (changed source settings, a deleted blob) must not silently wipe what was
            // written on Heroku since.
            const vars = await heroku.getConfigVars(ep, inputs.app);
            const cutoverAt = vars[CUTOVER_MARKER];
            if (cutoverAt) {
                throw new MigrationError("HerokuRestore", `${inputs.app}'s database was cut over at ${cutoverAt}; a new restore would replace everything written to it since.`, `Nothing was restored. If you really mean to overwrite it with a fresh copy of the source, unset the marker first (\`heroku config:unset ${CUTOVER_MARKER} -a ${inputs.app}\`) and run \`pulumi up\` again.`);
            }
            // A failed stage may have lifted the freeze while the dump could not be deleted
            // (storage unreachable): that dump misses the writes made since, so it is stale.
            if ((await freezeInEffect(inputs.guard.freeze.record, ctx)) === false) {
                throw new MigrationError("HerokuRestore", "the write freeze was lifted after the dump was made (by an earlier failure), so the dump misses the writes made since.", "Nothing was restored.");
            }
            const started = await heroku.createRestore(ep, inputs.addonId, { backupUrl: inputs.backupUrl, extensions: inputs.extensions });
            const name = `r${String(started.num).padStart(3, "0")}`;
            progress("HerokuRestore", `restore ${name} (${started.uuid}) started on ${inputs.app}`);
            // A line when the status changes, else as the shared progress rule allows.
            const startedAt = Date.now();
            const throttle = progressThrottle();
            let lastStatus = "";
            // In a terminal (a rehearsal) one live line between the status lines; otherwise the throttled lines.
            const done = await withLiveBar("HerokuRestore", `${name} download+pg_restore`, (bar) => heroku.waitForTransfer(ep, inputs.appId, started.uuid, {
                timeoutMs: (inputs.timeoutMinutes ?? 240) * 60_000,
                pollMs: 2000,
                // After the download only pg_restore's tail remains: notice its end within half a second.
                finishPollMs: 500,
                finishPolls: 20,
                onProgress: (p: { processedBytes: number; sourceBytes?: number; message?: string }) => {
                    const status = p.message ?? "";
                    const changed = status !== lastStatus;
                    lastStatus = status;
                    if (bar && !changed) return bar.update(p.processedBytes, p.sourceBytes, true);
                    if (!throttle.due(p.processedBytes, p.sourceBytes) && !changed) return;
                    progress("HerokuRestore", `${name}: ${status ? `${status}, ` : ""}downloaded ${formatRate(p.processedBytes, Date.now() - startedAt, p.sourceBytes)}`);
                },
            }));
            const logs: RestoreLog[] = (done.logs ?? []).map((l) => ({ created_at: l.created_at, message: redact(l.message) }));
            if (!done.succeeded) {
                const tail = logs.slice(-8).map((l) => l.message).join(" | ");
                throw new MigrationError("HerokuRestore", `restore ${name} into ${inputs.app} failed${tail ? `: ${tail}` : "."}`, `Read the full log with \`heroku pg:backups:info ${name} -a ${inputs.app}\`.`);
            }
            // Heroku counts the errors pg_restore ignored as the transfer's warnings: both are listed.
            const warningLines = restoreProblemLines(logs);
            if ((done.warnings ?? 0) > 0 || warningLines.length > 0) {
                progress("HerokuRestore", `warning: ${name} completed with ${done.warnings ?? warningLines.length} warnings:`);
                for (const w of warningLines.slice(0, 20)) progress("HerokuRestore", `  ${w}`);
            }
            progress("HerokuRestore", `${name} succeeded: ${formatBytes(done.processed_bytes ?? 0)} restored in ${formatDuration(Date.now() - startedAt)}`);
            const outs: Outputs = {
                ...inputs,
                transferId: done.uuid,
                name,
                succeeded: true,
                processedBytes: done.processed_bytes ?? 0,
                sourceBytes: done.source_bytes ?? 0,
                warnings: done.warnings ?? warningLines.length,
                warningLines,
                logs,
                startedAt: done.started_at ?? "",
                finishedAt: done.finished_at ?? "",
            };
            return { id: done.uuid, outs };
        });
    },

    async delete() {
        // A restore cannot be undone; the restored data belongs to the add-on (retained or deleted with it).
    },
};

export class HerokuRestore extends pulumi.dynamic.Resource {
    declare readonly transferId: pulumi.Output<string>;
    declare readonly name: pulumi.Output<string>;
    declare readonly succeeded: pulumi.Output<boolean>;
    declare readonly processedBytes: pulumi.Output<number>;
    declare readonly warnings: pulumi.Output<number>;
    declare readonly warningLines: pulumi.Output<string[]>;
    declare readonly logs: pulumi.Output<RestoreLog[]>;
    declare readonly startedAt: pulumi.Output<string>;
    declare readonly finishedAt: pulumi.Output<string>;

    constructor(name: string, args: HerokuRestoreArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            herokuRestoreProvider,
            name,
            {
                ...args,
                backupUrl: pulumi.secret(args.backupUrl),
                accountKey: pulumi.secret(args.accountKey),
                transferId: undefined, name: undefined, succeeded: undefined, processedBytes: undefined, sourceBytes: undefined,
                warnings: undefined, warningLines: undefined, logs: undefined, startedAt: undefined, finishedAt: undefined,
            },
            { ...opts, additionalSecretOutputs: ["backupUrl", "accountKey"] },
            "heroku",
            "Restore",
        );
    }
}
