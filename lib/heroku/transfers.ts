/**
 * Restores and transfers on the Data API (`heroku pg:backups:restore`, `pg:backups:info`): start a
 * restore from a URL, read it, and wait for it with progress.
 */
import { MigrationError } from "../errors";
import { redact, registerSecret } from "../redact";
import type { HerokuEndpoints } from "./endpoints";
import type { HerokuTransfer } from "./types";
import { type RequestOptions, ambiguous, dataRequest, defaultLog, defaultSleep, seg, withHint } from "./client";
import { type WaitOptions, duration, requestOpts } from "./addons";

// ---------------------------------------------------------------------------------------------
// Restores and transfers (heroku/dist/commands/pg/backups/restore.js, lib/pg/backups.js,
// commands/pg/backups/info.js)
// ---------------------------------------------------------------------------------------------

/**
 * POST /client/v11/databases/{addonId}/restores `{backup_url, extensions}` on the Data API.
 * Extensions are trimmed, lower-cased and sorted like restore.js `getSortedExtensions`.
 * Not retried after an ambiguous failure: two restores into one database must not run.
 */
export async function createRestore(ep: HerokuEndpoints, addonId: string, args: { backupUrl: string; extensions?: string[] }, opts?: RequestOptions): Promise<HerokuTransfer> {
    registerSecret(args.backupUrl);
    const extensions = args.extensions && args.extensions.length > 0
        ? args.extensions.map((e) => e.trim().toLowerCase()).filter((e) => e).sort()
        : undefined;
    try {
        return await dataRequest<HerokuTransfer>(ep, "POST", `/client/v11/databases/${seg(addonId)}/restores`, { backup_url: args.backupUrl, extensions }, opts);
    } catch (err) {
        if (!ambiguous(err)) throw err;
        throw withHint(err, "The restore may have started anyway: check `heroku pg:backups -a <app>` and let it finish (or cancel it with `heroku pg:backups:cancel`) before re-running, so that two restores never run into the same database.");
    }
}

/** GET /client/v11/apps/{appId}/transfers/{uuid} (`?verbose=true` adds `logs`). The CLI polls a
 *  restore by the app's id (`restore.js` passes `db.app.id`). */
export function getTransfer(ep: HerokuEndpoints, appId: string, transferUuid: string, opts?: RequestOptions & { verbose?: boolean }): Promise<HerokuTransfer> {
    const q = opts?.verbose ? "?verbose=true" : "";
    return dataRequest<HerokuTransfer>(ep, "GET", `/client/v11/apps/${seg(appId)}/transfers/${seg(transferUuid)}${q}`, undefined, opts);
}

/** Status text like `heroku pg:backups:info` (commands/pg/backups/info.js `status`). */
export function transferStatus(t: Pick<HerokuTransfer, "succeeded" | "warnings" | "canceled_at" | "finished_at" | "started_at">): string {
    if (t.succeeded) return t.warnings > 0 ? `Finished with ${t.warnings} warnings` : "Completed";
    if (t.canceled_at) return "Canceled";
    if (t.finished_at) return "Failed";
    if (t.started_at) return "Running";
    return "Pending";
}

/** The CLI's short name for a transfer, e.g. `r004` (lib/pg/backups.js `name`/`prefix`). */
export function transferName(t: Pick<HerokuTransfer, "num" | "from_type" | "to_type" | "options" | "schedule">): string {
    const old = (t.options as { pgbackups_name?: string } | undefined)?.pgbackups_name;
    if (old) return `o${old}`;
    let prefix: string;
    if (t.from_type === "pg_dump") prefix = t.to_type === "pg_restore" ? "c" : (t.schedule ? "a" : "b");
    else prefix = t.to_type === "pg_restore" ? "r" : "b";
    return `${prefix}${String(t.num ?? "").padStart(3, "0")}`;
}

export interface TransferProgress {
    processedBytes: number;
    sourceBytes: number;
    /** transferStatus(): Pending, Running, Completed, Failed, Canceled, Finished with N warnings */
    message: string;
}

/**
 * Polls the transfer (verbose=false) until `finished_at` (or `canceled_at`) is set, then fetches it
 * once more with `?verbose=true` so the result carries `logs` (like lib/pg/backups.js poll).
 * Returns the finished transfer whether it succeeded or not: the caller decides.
 *
 * Once the whole archive is downloaded (processed_bytes reached source_bytes) only pg_restore's
 * last tables and index builds remain, and the freeze waits for every second between the end and
 * the poll that sees it: the next `finishPolls` polls come every `finishPollMs`, then `pollMs`
 * again (a long index build costs at most `finishPolls` extra requests).
 * @default timeoutMs 43200000 (12 h), pollMs 3000 (pg:backups:restore's minimum interval), finishPollMs pollMs, finishPolls 20
 */
export async function waitForTransfer(ep: HerokuEndpoints, appId: string, transferUuid: string,
    opts: WaitOptions & { onProgress?: (p: TransferProgress) => void; finishPollMs?: number; finishPolls?: number } = {}): Promise<HerokuTransfer> {
    const timeoutMs = opts.timeoutMs ?? 43_200_000;
    const pollMs = opts.pollMs ?? 3000;
    const finishPollMs = opts.finishPollMs ?? pollMs;
    let finishPolls = opts.finishPolls ?? 20;
    const now = opts.now ?? (() => Date.now());
    const sleep = opts.sleep ?? defaultSleep;
    const ro = requestOpts(opts);
    const deadline = now() + timeoutMs;
    let lastKey = "";
    let t: HerokuTransfer;
    for (;;) {
        t = await getTransfer(ep, appId, transferUuid, { ...ro, verbose: false });
        const p: TransferProgress = { processedBytes: Number(t.processed_bytes ?? 0), sourceBytes: Number(t.source_bytes ?? 0), message: transferStatus(t) };
        const key = `${p.processedBytes}/${p.sourceBytes}/${p.message}`;
        if (key !== lastKey) {
            lastKey = key;
            opts.onProgress?.(p);
        }
        if (t.finished_at || t.canceled_at) break;
        if (now() >= deadline) {
            throw new MigrationError(`Heroku transfer ${transferName(t)} (${transferUuid})`,
                `has not finished after ${duration(timeoutMs)} (last status: ${p.message}, ${p.processedBytes} of ${p.sourceBytes} bytes processed).`,
                `It keeps running on Heroku; re-running the update resumes watching this same transfer. Follow it with \`heroku pg:backups:info ${transferName(t)}\`.`);
        }
        const downloaded = p.sourceBytes > 0 && p.processedBytes >= p.sourceBytes;
        if (downloaded && finishPolls > 0) {
            finishPolls--;
            await sleep(finishPollMs);
        } else {
            await sleep(pollMs);
        }
    }
    try {
        return await getTransfer(ep, appId, transferUuid, { ...ro, verbose: true });
    } catch (err) {
        (opts.log ?? defaultLog)(redact(`could not fetch the logs of transfer ${transferUuid}: ${err instanceof Error ? err.message : String(err)}`));
        return t;
    }
}
