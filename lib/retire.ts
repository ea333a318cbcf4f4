/**
 * Retiring the source server ("when you no longer need your Azure database, you can delete it"):
 * opt-in and twice confirmed (config `retireSourceServer` and `retireSourceServerConfirm`), done
 * by the delete of the SourceRetirement resource (providers/sourceRetirement.ts), that is by
 * `pulumi destroy`, from the record it keeps in state.
 *
 * Azure Database for PostgreSQL flexible server, through Azure Resource Manager
 * (api-version 2025-08-01, as lib/azureBackup.ts; azure-native 3.x uses it for dbforpostgresql):
 * - Servers - Get: GET {arm}/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.DBforPostgreSQL/flexibleServers/{server}
 *   (404: already deleted, nothing to do; makes a re-run of destroy idempotent)
 * - Backups (Automatic and On-Demand) - Create (operationId BackupsAutomaticAndOnDemand_Create):
 *   PUT .../flexibleServers/{server}/backups/{backupName}, no body; 200 (done) or 202 with
 *   Azure-AsyncOperation and Location headers (long-running operation).
 * - Servers - Delete: DELETE .../flexibleServers/{server}; 200/202 (long-running), 204 (no such server).
 * - Long-running operations: GET the Azure-AsyncOperation URL until its body's `status` is
 *   Succeeded (Failed/Canceled: `error {code, message}`); without it, GET the Location URL until
 *   it stops answering 202. Retry-After (seconds) sets the pause between polls.
 *
 * How long the on-demand backup lasts: Azure keeps on-demand backups ("Customer On-Demand") for the
 * server's backup retention period (7-35 days) unless deleted earlier, and they belong to the
 * server: deleting the server deletes its backups with it (a dropped server can only be revived
 * from them for a short time: createMode ReviveDropped, a few days per Azure's docs). The backup
 * taken here is therefore a last safety net for the revive window, not an archive: keep your own
 * copy (pg_dump) when you need the Azure data longer.
 *
 * The ARM token is never stored: `pulumi destroy` does not run the program, so it is read at
 * delete time from AZURE_ACCESS_TOKEN, else from the Azure CLI (`az account get-access-token`).
 *
 * The rehearsal: a non-Azure source host is retired only when it is the local cluster the
 * rehearsal started (REHEARSAL_SOURCE_DIR_ENV names its data directory and the port matches);
 * anything else (SOURCE_DATABASE_URL, a real non-Azure server) is refused: nothing is retired.
 */
import { execFile } from "child_process";
import { armErrorDetail, armRequest, scrubReason, ARM_API_VERSION, DEFAULT_ARM_ENDPOINT, type ArmResponse } from "./azureBackup";
import { MigrationError } from "./errors";

/** Set by the rehearsal (local/rehearse.ts) to the data directory of the source cluster it started. */
export const REHEARSAL_SOURCE_DIR_ENV = "A2H_REHEARSAL_SOURCE_DIR";
/** The environment variable a user (or CI) sets to an ARM bearer token for `pulumi destroy`. */
export const ARM_TOKEN_ENV = "AZURE_ACCESS_TOKEN";
const SUBJECT = "SourceRetirement";
const AZURE_HOST = /^([a-z0-9-]+)\.postgres\.database\.(azure\.com|chinacloudapi\.cn|usgovcloudapi\.net)$/i;

/** What SourceRetirement records at create/update time (its state); `delete` works from this alone. */
export interface RetirementRecord {
    /** config `retireSourceServer`. */
    retire: boolean;
    /** config `retireSourceServerConfirm`. */
    confirm?: string;
    /** The server's name: the first label of an Azure host, otherwise the host itself. */
    serverName: string;
    host: string;
    port: number;
    /** "azure" for an Azure flexible server host, "other" for anything else. */
    kind: "azure" | "other";
    resourceGroup?: string;
    subscriptionId?: string;
    armEndpoint?: string;
    /** Cutover's id and completedAt; the verification it ran on. */
    cutoverId?: string;
    cutoverAt?: string;
    verificationId?: string;
    verifiedAt?: string;
    /** When the cutover was rolled back (config `rollback`): the apps use the source again. */
    rolledBackAt?: string;
}

/** The name `retireSourceServerConfirm` must equal: the flexible server's name, or the host. */
export function sourceServerName(host: string): string {
    return AZURE_HOST.exec(host)?.[1] ?? host;
}

export function isAzureHost(host: string): boolean {
    return AZURE_HOST.test(host);
}

/**
 * Why the record does not allow a retirement, or undefined when it does. Not opted in is not a
 * refusal (see `retirementSkipped`).
 */
export function retirementRefusal(r: RetirementRecord): string | undefined {
    if (r.confirm !== r.serverName) {
        return `retireSourceServerConfirm is ${r.confirm ? `"${r.confirm}"` : "not set"}, not the server's name "${r.serverName}"`;
    }
    if (!r.cutoverAt || !r.cutoverId) return `the stack has no completed cutover, so the apps may still use ${r.serverName}`;
    if (!r.verificationId || !r.verifiedAt) return `the cutover of ${r.cutoverAt} has no recorded verification`;
    if (r.rolledBackAt) return `the cutover of ${r.cutoverAt} was rolled back at ${r.rolledBackAt}, so the apps use ${r.serverName} again`;
    return undefined;
}

/** The preview line that says what destroy will do to the source. */
export function retirementPlanLine(r: Pick<RetirementRecord, "retire" | "confirm" | "serverName" | "kind" | "resourceGroup" | "host">): string {
    if (!r.retire) return `retire: pulumi destroy will not delete ${r.serverName} (retireSourceServer is false)`;
    if (r.kind === "azure") {
        return `retire: pulumi destroy will delete the Azure server ${r.serverName}${r.resourceGroup ? ` (resource group ${r.resourceGroup})` : ""} after an on-demand backup, once the cutover is complete and verified; its backups are deleted with it`;
    }
    return `retire: pulumi destroy will stop and remove ${r.serverName} only if it is the local source cluster this rehearsal started; a non-Azure server is never retired outside the rehearsal`;
}

// ---------------------------------------------------------------------------------------------
// Credentials at destroy time
// ---------------------------------------------------------------------------------------------

/** Runs `az account get-access-token`; rejects when az is missing or fails. Replaceable in tests. */
export type AzTokenRunner = (resource: string) => Promise<string>;

export const azCliToken: AzTokenRunner = (resource) => new Promise((resolve, reject) => {
    execFile("az", ["account", "get-access-token", "--resource", resource, "--query", "accessToken", "-o", "tsv"], { timeout: 60_000, encoding: "utf8" }, (err, stdout, stderr) => {
        if (err) {
            const code = (err as NodeJS.ErrnoException).code;
            reject(new Error(code === "ENOENT" ? "the Azure CLI (az) is not on PATH" : `az account get-access-token failed: ${(stderr || err.message).trim().split("\n")[0]}`));
            return;
        }
        resolve(stdout.trim());
    });
});

/** The ARM token: AZURE_ACCESS_TOKEN, else the Azure CLI's; an error that says what to do otherwise. */
export async function armToken(env: NodeJS.ProcessEnv, armEndpoint: string, runAz: AzTokenRunner = azCliToken): Promise<string> {
    const fromEnv = env[ARM_TOKEN_ENV]?.trim();
    if (fromEnv) return fromEnv;
    const resource = `${armEndpoint.replace(/\/+$/, "")}/`;
    let why: string;
    try {
        const t = await runAz(resource);
        if (t) return t;
        why = "az account get-access-token returned no token";
    } catch (err) {
        why = err instanceof Error ? err.message : String(err);
    }
    throw new MigrationError(SUBJECT, `no Azure Resource Manager token to retire the source server: ${ARM_TOKEN_ENV} is not set and ${why}. Nothing was deleted.`,
        `Sign in with \`az login\` (the Azure CLI on PATH), or \`export ${ARM_TOKEN_ENV}=$(az account get-access-token --resource ${resource} --query accessToken -o tsv)\`, then run \`pulumi destroy\` again.`);
}

// ---------------------------------------------------------------------------------------------
// Azure Resource Manager: backup, delete, wait
// ---------------------------------------------------------------------------------------------

export interface ArmRetireOptions {
    token: string;
    subscriptionId: string;
    resourceGroup: string;
    serverName: string;
    /** @default "https://management.azure.com" */
    armEndpoint?: string;
    /** Backup name; @default `a2h-retire-<UTC yyyymmddThhmmss>` */
    backupName?: string;
    /** Pause between polls when Azure sends no Retry-After. @default 10000 */
    pollIntervalMs?: number;
    /** Longest pause between polls (Retry-After is capped to it). @default 60000 */
    maxPollIntervalMs?: number;
    /** Give up waiting on one operation after this long. @default 3600000 (1 h) */
    maxWaitMs?: number;
    /** Per request. @default 30000 */
    timeoutMs?: number;
    log?: (line: string) => void;
}

export interface ArmRetireResult {
    /** false: the server did not exist any more (a destroy re-run after the deletion). */
    deleted: boolean;
    backupName?: string;
    deletedAt?: string;
}

/** `a2h-retire-20261201T021530`: on-demand backup names are letters, digits, hyphens. */
export function retireBackupName(now: Date): string {
    return `a2h-retire-${now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "")}`;
}

function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}

/**
 * Takes an on-demand backup of the flexible server, waits for it, deletes the server and waits
 * for the deletion. A server already gone returns `{ deleted: false }` without a backup. Any
 * failure throws a MigrationError that says which step failed and what was (not) changed.
 */
export async function retireAzureServer(o: ArmRetireOptions): Promise<ArmRetireResult> {
    const origin = new URL(o.armEndpoint ?? DEFAULT_ARM_ENDPOINT).origin;
    const timeoutMs = o.timeoutMs ?? 30_000;
    const log = o.log ?? (() => undefined);
    const serverUrl = `${origin}/subscriptions/${encodeURIComponent(o.subscriptionId)}/resourceGroups/${encodeURIComponent(o.resourceGroup)}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${encodeURIComponent(o.serverName)}`;
    const api = `api-version=${ARM_API_VERSION}`;
    const where = `${o.serverName} (resource group ${o.resourceGroup}, subscription ${o.subscriptionId})`;
    const fail = (what: string, r: ArmResponse, hint: string) => MigrationError(SUBJECT, scrubReason(`${what} of ${where} failed: ${r.status === 0 ? r.networkError : `HTTP ${r.status} ${armErrorDetail(r.text)}`}.`, o.token), hint);

    const got = await armRequest("GET", `${serverUrl}?${api}`, o.token, timeoutMs);
    if (got.status === 404) {
        log(`no flexible server ${where}: it was deleted already, or it is not a flexible server (a Single Server is not retired by this program); nothing was retired`);
        return { deleted: false };
    }
    if (got.status !== 200) throw fail("reading the server", got, `Nothing was changed. ${permissionHint(got.status)}Then run \`pulumi destroy\` again.`);

    const backupName = o.backupName ?? retireBackupName(new Date());
    log(`on-demand backup ${backupName} of ${o.serverName}: started`);
    const put = await armRequest("PUT", `${serverUrl}/backups/${encodeURIComponent(backupName)}?${api}`, o.token, timeoutMs);
    if (put.status !== 200 && put.status !== 201 && put.status !== 202) {
        throw fail(`the on-demand backup ${backupName}`, put, `Nothing was deleted. ${permissionHint(put.status, "Microsoft.DBforPostgreSQL/flexibleServers/backups/write")}Then run \`pulumi destroy\` again.`);
    }
    if (put.status === 202) await waitForOperation(put, { ...o, origin, timeoutMs, what: `the on-demand backup ${backupName} of ${where}`, hint: "Nothing was deleted: the server is kept without a fresh backup. Check the backup in the portal, then run `pulumi destroy` again." });
    log(`on-demand backup ${backupName} of ${o.serverName}: done (kept for the server's backup retention period, and deleted with the server)`);

    log(`deleting the flexible server ${o.serverName}`);
    const del = await armRequest("DELETE", `${serverUrl}?${api}`, o.token, timeoutMs);
    if (del.status === 204) {
        log(`${where} does not exist (any more)`);
        return { deleted: false, backupName };
    }
    if (del.status !== 200 && del.status !== 202) {
        throw fail("deleting the server", del, `The server was not deleted; the on-demand backup ${backupName} exists. ${permissionHint(del.status, "Microsoft.DBforPostgreSQL/flexibleServers/delete")}Then run \`pulumi destroy\` again.`);
    }
    if (del.status === 202) await waitForOperation(del, { ...o, origin, timeoutMs, what: `deleting ${where}`, hint: "Check the server in the portal (`az postgres flexible-server show`), then run `pulumi destroy` again: a server already gone is not an error." });
    const deletedAt = new Date().toISOString();
    log(`deleted the flexible server ${o.serverName} at ${deletedAt}`);
    return { deleted: true, backupName, deletedAt };
}

function permissionHint(status: number, permission = "Microsoft.DBforPostgreSQL/flexibleServers/read"): string {
    if (status === 401) return "Sign in again (`az login`, or a fresh AZURE_ACCESS_TOKEN). ";
    if (status === 403) return `The Azure identity needs ${permission} on the server (e.g. the Contributor role). `;
    if (status === 404) return "Check the subscription and resource group (sourceResourceGroup). ";
    return "";
}

interface WaitOptions extends ArmRetireOptions { origin: string; timeoutMs: number; what: string; hint: string }

/** Polls a long-running operation (Azure-AsyncOperation, else Location) until it ends; throws when it failed. */
export async function waitForOperation(first: ArmResponse, o: WaitOptions): Promise<void> {
    const asyncUrl = first.headers["azure-asyncoperation"];
    const locationUrl = first.headers.location;
    const url = asyncUrl ?? locationUrl;
    if (!url) throw MigrationError(SUBJECT, `${o.what}: Azure accepted it (202) without an Azure-AsyncOperation or Location header to follow.`, o.hint);
    let target: URL;
    try {
        target = new URL(url, o.origin);
    } catch {
        throw MigrationError(SUBJECT, `${o.what}: the operation URL Azure answered is not a URL.`, o.hint);
    }
    if (target.origin !== o.origin) throw MigrationError(SUBJECT, `${o.what}: the operation URL points outside ${o.origin}, so it was not followed (the token is only sent to the ARM endpoint).`, o.hint);
    const started = Date.now();
    const maxWait = o.maxWaitMs ?? 3_600_000;
    const maxPoll = o.maxPollIntervalMs ?? 60_000;
    let retryAfter = first.headers["retry-after"];
    for (;;) {
        const seconds = retryAfter !== undefined ? Number(retryAfter) : NaN;
        await sleep(Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds * 1000, maxPoll) : (o.pollIntervalMs ?? 10_000));
        const r = await armRequest("GET", target.toString(), o.token, o.timeoutMs);
        retryAfter = r.headers["retry-after"];
        if (r.status === 0 || r.status >= 500 || r.status === 429) {
            // transient: keep polling until the deadline
        } else if (asyncUrl) {
            if (r.status !== 200) throw MigrationError(SUBJECT, scrubReason(`${o.what}: polling the operation answered HTTP ${r.status} ${armErrorDetail(r.text)}.`, o.token), o.hint);
            let status = "";
            let detail = "";
            try {
                const b = JSON.parse(r.text) as { status?: unknown; error?: { code?: string; message?: string } };
                status = typeof b.status === "string" ? b.status : "";
                if (b.error) detail = [b.error.code, b.error.message].filter(Boolean).join(": ");
            } catch {
                /* not JSON: keep polling until the deadline */
            }
            if (/^succeeded$/i.test(status)) return;
            if (/^(failed|canceled|cancelled)$/i.test(status)) throw MigrationError(SUBJECT, scrubReason(`${o.what} ended ${status}${detail ? ` (${detail})` : ""}.`, o.token), o.hint);
        } else {
            if (r.status === 200 || r.status === 201 || r.status === 204) return;
            if (r.status !== 202) throw MigrationError(SUBJECT, scrubReason(`${o.what}: polling the operation answered HTTP ${r.status} ${armErrorDetail(r.text)}.`, o.token), o.hint);
        }
        if (Date.now() - started > maxWait) throw MigrationError(SUBJECT, `${o.what} did not finish within ${Math.round(maxWait / 60000)} minutes.`, o.hint);
    }
}
