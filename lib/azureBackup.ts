/**
 * A recent Azure backup of the source: the backups Azure Database for PostgreSQL flexible server
 * keeps (automatic daily snapshots and on-demand ones), read from Azure Resource Manager with the
 * credentials the azure-native provider already uses (lib/preflight/run.ts obtains the token). Preflight turns
 * the result into findings (lib/preflight/backup.ts, backupFindings).
 *
 * REST operations (api-version 2025-08-01, the version @pulumi/azure-native 3.x uses for
 * dbforpostgresql getServer and getBackupsAutomaticAndOnDemand):
 * - Servers - List By Subscription:
 *   GET {arm}/subscriptions/{sub}/providers/Microsoft.DBforPostgreSQL/flexibleServers
 *   https://learn.microsoft.com/en-us/rest/api/postgresql/servers/list
 * - Backups (Automatic and On-Demand) - List By Server (operationId BackupsAutomaticAndOnDemand_ListByServer):
 *   GET {arm}/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.DBforPostgreSQL/flexibleServers/{server}/backups
 *   https://learn.microsoft.com/en-us/rest/api/postgresql/backups(automatic-and-on-demand)/list-by-server?view=rest-postgresql-2024-08-01
 *   (same path and shape in 2025-08-01; its example response:
 *   https://github.com/Azure/azure-rest-api-specs/blob/main/specification/postgresql/DBforPostgreSQL.Management/examples/2025-08-01/BackupsAutomaticAndOnDemandListByServer.json)
 * Both answer `{ value: [...], nextLink? }`; errors are `{ error: { code, message } }`.
 *
 * Backup frequency: "Snapshot backups are currently taken once daily", and skipped while no
 * database changed since the last one; a stopped server takes none
 * (https://learn.microsoft.com/en-us/azure/postgresql/flexible-server/concepts-backup-restore).
 *
 * The bearer token never leaves this module except in the Authorization header of requests to
 * the ARM endpoint (a nextLink to another origin is not followed), and every reason is scrubbed
 * of it and redacted. Plain functions and data, no module-level mutable state.
 */
import { redact } from "./redact";

/** api-version of both list operations. */
export const ARM_API_VERSION = "2025-08-01";
export const DEFAULT_ARM_ENDPOINT = "https://management.azure.com";
/** Upper bound of pages followed through nextLink, per list. */
export const MAX_LIST_PAGES = 50;
/** The permission the backup list needs; the built-in Reader role (`*\/read`) includes it. */
export const BACKUP_READ_PERMISSION = "Microsoft.DBforPostgreSQL/flexibleServers/backups/read";

/** One item of the backup list, as ARM returns it (fields ARM left out are "" / undefined). */
export interface ArmBackup {
    id: string;
    name: string;
    /** "Microsoft.DBforPostgreSQL/flexibleServers/backups" */
    type: string;
    properties: {
        /** "Full" (automatic) or "Customer On-Demand". */
        backupType?: string;
        /** ISO 8601, e.g. "2025-06-01T14:30:22.123456+00:00". */
        completedTime?: string;
        /** "Automatic" or "Customer Initiated". */
        source?: string;
    };
}

/** The newest completed backup and what the list holds. */
export interface BackupAssessment {
    /** Backups listed. */
    total: number;
    /** Listed with a completion time. */
    completed: number;
    automatic: number;
    onDemand: number;
    newest?: {
        name: string;
        /** completedTime normalised to ISO 8601 UTC. */
        completedTime: string;
        automatic: boolean;
        backupType: string;
        source: string;
        /** now - completedTime, never negative (clock skew). */
        ageMs: number;
    };
}

/** What checkAzureBackups found out. */
export type AzureBackupCheck =
    | {
        state: "checked";
        /** The server name as Azure spells it. */
        server: string;
        resourceGroup: string;
        /** When the list was read (ISO 8601). */
        checkedAt: string;
        backups: ArmBackup[];
    }
    | {
        state: "unavailable";
        /** Why not, one sentence, without credentials. */
        reason: string;
    };

export interface CheckAzureBackupsOptions {
    /** ARM bearer token (azure-native's getClientToken). Never appears in a reason. */
    token: string;
    subscriptionId: string;
    /** Flexible server name: the first label of its host name. */
    serverName: string;
    /** sourceResourceGroup; when unset the server is looked up by name in the subscription. */
    resourceGroup?: string;
    /** @default "https://management.azure.com" */
    armEndpoint?: string;
    /** Per request. @default 15000 */
    timeoutMs?: number;
    /** @default MAX_LIST_PAGES */
    maxPages?: number;
}

// ---------------------------------------------------------------------------------------------
// Parsing and assessment (pure)
// ---------------------------------------------------------------------------------------------

function isObject(x: unknown): x is Record<string, unknown> {
    return typeof x === "object" && x !== null && !Array.isArray(x);
}

function str(x: unknown): string | undefined {
    return typeof x === "string" ? x : undefined;
}

/** `{ value: [...], nextLink? }`, or an Error that says what was wrong with it. */
function parseArmList(json: unknown, what: string): { items: Record<string, unknown>[]; nextLink?: string } {
    if (!isObject(json) || !Array.isArray(json.value)) {
        const got = json === null ? "null" : Array.isArray(json) ? "an array" : typeof json === "object" ? `an object with keys ${Object.keys(json as object).slice(0, 5).join(", ") || "(none)"}` : typeof json;
        throw new Error(`${what} is not an Azure Resource Manager list: expected an object with a "value" array, got ${got}.`);
    }
    const items = json.value.map((item, i) => {
        if (!isObject(item)) throw new Error(`${what}: item ${i} is not an object (${item === null ? "null" : typeof item}).`);
        return item;
    });
    const nextLink = str(json.nextLink);
    return { items, ...(nextLink ? { nextLink } : {}) };
}

function toBackup(item: Record<string, unknown>): ArmBackup {
    const id = str(item.id) ?? "";
    const props = isObject(item.properties) ? item.properties : {};
    const properties: ArmBackup["properties"] = {};
    const backupType = str(props.backupType);
    const completedTime = str(props.completedTime);
    const source = str(props.source);
    if (backupType !== undefined) properties.backupType = backupType;
    if (completedTime !== undefined) properties.completedTime = completedTime;
    if (source !== undefined) properties.source = source;
    return {
        id,
        name: str(item.name) ?? id.split("/").filter(Boolean).pop() ?? "",
        type: str(item.type) ?? "",
        properties,
    };
}

/**
 * One page of "Backups (Automatic and On-Demand) - List By Server". Missing fields are tolerated
 * (a backup without completedTime is counted but never the newest); anything that is not such a
 * list throws an Error that says what it got.
 */
export function parseBackupList(json: unknown): ArmBackup[] {
    return parseArmList(json, "The backup list").items.map(toBackup);
}

/** completedTime in ms since the epoch; a time without a zone is UTC. undefined when missing or unparsable. */
export function completedAt(b: ArmBackup): number | undefined {
    const t = b.properties.completedTime?.trim();
    if (!t) return undefined;
    const zoned = /(Z|[+-]\d{2}:?\d{2})$/i.test(t) || !/T\d/.test(t) ? t : `${t}Z`;
    const ms = Date.parse(zoned);
    return Number.isNaN(ms) ? undefined : ms;
}

/** Azure's daily snapshot ("source": "Automatic"; "backupType": "Full" when the source is missing). */
export function isAutomaticBackup(b: ArmBackup): boolean {
    const source = b.properties.source?.trim().toLowerCase();
    if (source) return source === "automatic";
    return b.properties.backupType?.trim().toLowerCase() === "full";
}

/** The backup that completed last, automatic or on-demand; undefined when none has completed. */
export function newestBackup(backups: ArmBackup[]): ArmBackup | undefined {
    let best: { b: ArmBackup; at: number } | undefined;
    for (const b of backups) {
        const at = completedAt(b);
        if (at === undefined) continue;
        if (!best || at > best.at || (at === best.at && b.name > best.b.name)) best = { b, at };
    }
    return best?.b;
}

/** The newest completed backup, its age at `now`, and counts. */
export function assessBackups(backups: ArmBackup[], now: Date): BackupAssessment {
    const newest = newestBackup(backups);
    const automatic = backups.filter(isAutomaticBackup).length;
    const out: BackupAssessment = {
        total: backups.length,
        completed: backups.filter((b) => completedAt(b) !== undefined).length,
        automatic,
        onDemand: backups.length - automatic,
    };
    if (newest) {
        const at = completedAt(newest) as number;
        out.newest = {
            name: newest.name,
            completedTime: new Date(at).toISOString(),
            automatic: isAutomaticBackup(newest),
            backupType: newest.properties.backupType ?? "",
            source: newest.properties.source ?? "",
            ageMs: Math.max(0, now.getTime() - at),
        };
    }
    return out;
}

/**
 * The server in a "Servers - List By Subscription" page set, by name (case-insensitive), with the
 * resource group taken from its id. undefined when it is not there.
 */
export function findServer(items: Record<string, unknown>[], serverName: string): { server: string; resourceGroup: string } | undefined {
    const want = serverName.toLowerCase();
    for (const item of items) {
        const name = str(item.name);
        if (!name || name.toLowerCase() !== want) continue;
        const rg = /\/resourceGroups\/([^/]+)\//i.exec(str(item.id) ?? "")?.[1];
        if (rg) return { server: name, resourceGroup: decodeURIComponent(rg) };
    }
    return undefined;
}

/** The ARM endpoint of the cloud a server's host name belongs to (public, China, US Government). */
export function armEndpointForHost(host: string): string {
    const h = host.toLowerCase();
    if (h.endsWith(".postgres.database.chinacloudapi.cn")) return "https://management.chinacloudapi.cn";
    if (h.endsWith(".postgres.database.usgovcloudapi.net")) return "https://management.usgovcloudapi.net";
    return DEFAULT_ARM_ENDPOINT;
}

/** Shortens and redacts an error for a reason: first line, at most 200 characters. */
export function shortReason(err: unknown, token?: string): string {
    const raw = err instanceof Error ? err.message : String(err);
    return scrubReason(raw.split("\n")[0], token, 200) || "unknown error";
}

/** The unavailable result for when azure-native's credentials could not be obtained. */
export function noCredentials(err: unknown): AzureBackupCheck {
    return { state: "unavailable", reason: `no Azure credentials: ${shortReason(err)}` };
}

/** `code: message` of an ARM error body `{ error: { code, message } }`, or the start of the text. */
export function armErrorDetail(body: string): string {
    try {
        const b = JSON.parse(body) as unknown;
        const e = isObject(b) && isObject(b.error) ? b.error : undefined;
        if (e) {
            const code = str(e.code) ?? "";
            const message = str(e.message) ?? "";
            if (code || message) return [code, message].filter(Boolean).join(": ");
        }
    } catch {
        /* not JSON */
    }
    const text = body.replace(/\s+/g, " ").trim();
    return text ? (text.length > 200 ? `${text.slice(0, 197)}...` : text) : "no details";
}

/** Which list failed. */
export type ArmStep =
    | { kind: "servers"; subscriptionId: string; serverName: string }
    | { kind: "backups"; subscriptionId: string; serverName: string; resourceGroup: string; resourceGroupFromConfig: boolean };

/** The reason for an HTTP failure of a list request; `detail` is armErrorDetail of the body. */
export function armFailureReason(step: ArmStep, status: number, detail: string): string {
    const what = step.kind === "servers"
        ? `listing the flexible servers of subscription ${step.subscriptionId}`
        : `listing the backups of ${step.serverName} in resource group ${step.resourceGroup}`;
    const permission = step.kind === "servers"
        ? `it needs Microsoft.DBforPostgreSQL/flexibleServers/read on the subscription to find ${step.serverName}, or set sourceResourceGroup to skip the search; reading the backups needs ${BACKUP_READ_PERMISSION} (Reader role on the server is enough)`
        : `it needs ${BACKUP_READ_PERMISSION} (Reader role on the server is enough)`;
    if (status === 401) {
        return `Azure Resource Manager rejected the credentials while ${what} (401 ${detail}): sign in again (az login) or fix azure-native's credentials; ${permission}.`;
    }
    if (status === 403) {
        return `the Azure identity may not read ${step.kind === "servers" ? "the subscription's flexible servers" : `the backups of ${step.serverName}`} (403 ${detail}): ${permission}.`;
    }
    if (status === 404) {
        if (step.kind === "servers") {
            return `subscription ${step.subscriptionId} was not found while ${what} (404 ${detail}): point azure-native at the server's subscription (azure-native:subscriptionId).`;
        }
        const fix = step.resourceGroupFromConfig
            ? "check sourceResourceGroup (`pulumi config set sourceResourceGroup <resource group>`), or unset it to find the server by name"
            : "set sourceResourceGroup to its resource group (`pulumi config set sourceResourceGroup <resource group>`)";
        return `flexible server ${step.serverName} was not found in resource group ${step.resourceGroup} of subscription ${step.subscriptionId} (404 ${detail}): ${fix}.`;
    }
    return `${what} failed with HTTP ${status} (${detail}).`;
}

// ---------------------------------------------------------------------------------------------
// Azure Resource Manager requests
// ---------------------------------------------------------------------------------------------

type ArmResult = { ok: true; body: unknown } | { ok: false; status: number; detail: string };

function describeNetworkError(err: unknown, timeoutMs: number): string {
    const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
    if (e && (e.name === "TimeoutError" || e.name === "AbortError")) return `no answer within ${timeoutMs} ms`;
    const cause = e?.cause;
    const detail = cause?.code ? `${cause.code}${cause.message ? `: ${cause.message}` : ""}` : (cause?.message || e?.message || String(err));
    return `network error (${detail})`;
}

async function armGet(url: string, token: string, timeoutMs: number): Promise<ArmResult> {
    let res: Response;
    let text: string;
    try {
        // redirect "manual": a redirect is a failure, so the token is never sent anywhere else.
        res = await fetch(url, {
            method: "GET",
            headers: { Authorization: `Bearer ${token}`, Accept: "application/json" },
            redirect: "manual",
            signal: AbortSignal.timeout(timeoutMs),
        });
        text = await res.text();
    } catch (err) {
        return { ok: false, status: 0, detail: describeNetworkError(err, timeoutMs) };
    }
    if (res.status < 200 || res.status > 299) return { ok: false, status: res.status, detail: armErrorDetail(text) };
    try {
        return { ok: true, body: JSON.parse(text) as unknown };
    } catch {
        return { ok: false, status: res.status, detail: `the answer is not JSON: ${armErrorDetail(text)}` };
    }
}

/** One ARM answer: status (0 for a network failure), the headers that drive long-running operations, the body text. */
export interface ArmResponse {
    status: number;
    /** Lower-case header names: azure-asyncoperation, location, retry-after. */
    headers: Record<string, string>;
    text: string;
    /** For status 0: what went wrong on the network. */
    networkError?: string;
}

/**
 * One request to the ARM endpoint with the bearer token (used by lib/retire.ts for the backup
 * PUT, the server DELETE and their long-running-operation polls). Redirects are not followed, so
 * the token goes to no other origin. Never throws: a network failure is status 0.
 */
export async function armRequest(method: "GET" | "PUT" | "DELETE", url: string, token: string, timeoutMs: number, body?: unknown): Promise<ArmResponse> {
    try {
        const res = await fetch(url, {
            method,
            headers: { Authorization: `Bearer ${token}`, Accept: "application/json", ...(body !== undefined ? { "Content-Type": "application/json" } : {}) },
            ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
            redirect: "manual",
            signal: AbortSignal.timeout(timeoutMs),
        });
        const text = await res.text();
        const headers: Record<string, string> = {};
        for (const h of ["azure-asyncoperation", "location", "retry-after"]) {
            const v = res.headers.get(h);
            if (v) headers[h] = v;
        }
        return { status: res.status, headers, text };
    } catch (err) {
        return { status: 0, headers: {}, text: "", networkError: describeNetworkError(err, timeoutMs) };
    }
}

/** Every item of a paged list (nextLink), or the reason it could not be read. */
async function listAll(firstUrl: string, o: { token: string; timeoutMs: number; maxPages: number; origin: string; step: ArmStep; what: string }): Promise<{ items: Record<string, unknown>[] } | { reason: string }> {
    const items: Record<string, unknown>[] = [];
    let url = firstUrl;
    for (let page = 1; ; page++) {
        const r = await armGet(url, o.token, o.timeoutMs);
        if (!r.ok) {
            return { reason: r.status === 0 ? `${o.what} at ${o.origin} failed: ${r.detail}.` : armFailureReason(o.step, r.status, r.detail) };
        }
        const parsed = parseArmList(r.body, `The answer to ${o.what}`);
        items.push(...parsed.items);
        if (!parsed.nextLink) return { items };
        let next: URL;
        try {
            next = new URL(parsed.nextLink, url);
        } catch {
            return { reason: `${o.what}: Azure Resource Manager answered with an unusable nextLink.` };
        }
        if (next.origin !== o.origin) return { reason: `${o.what}: the nextLink points outside ${o.origin}, so it was not followed (the token is only sent to the ARM endpoint).` };
        if (page >= o.maxPages) return { reason: `${o.what}: more than ${o.maxPages} pages; stopped.` };
        url = next.toString();
    }
}

/**
 * Lists the flexible server's backups through Azure Resource Manager. Never throws: anything
 * that stops the check (credentials, permissions, a wrong resource group, the network) becomes
 * `{ state: "unavailable", reason }`, and no reason contains the token.
 */
export async function checkAzureBackups(opts: CheckAzureBackupsOptions): Promise<AzureBackupCheck> {
    const token = opts.token ?? "";
    const unavailable = (reason: string): AzureBackupCheck => ({ state: "unavailable", reason: scrubReason(reason, token) });
    try {
        if (!token.trim()) return unavailable("no Azure access token.");
        if (!opts.subscriptionId?.trim()) return unavailable("no Azure subscription id (set azure-native:subscriptionId or ARM_SUBSCRIPTION_ID).");
        if (!opts.serverName?.trim()) return unavailable("no Azure server name.");
        let base: URL;
        try {
            base = new URL(opts.armEndpoint ?? DEFAULT_ARM_ENDPOINT);
        } catch {
            return unavailable(`the ARM endpoint "${opts.armEndpoint}" is not a URL.`);
        }
        const origin = base.origin;
        const timeoutMs = opts.timeoutMs ?? 15_000;
        const maxPages = Math.max(1, opts.maxPages ?? MAX_LIST_PAGES);
        const sub = opts.subscriptionId.trim();
        const provider = "providers/Microsoft.DBforPostgreSQL/flexibleServers";
        const api = `api-version=${ARM_API_VERSION}`;
        const common = { token, timeoutMs, maxPages, origin };

        let server = opts.serverName.trim();
        let resourceGroup = opts.resourceGroup?.trim() ?? "";
        const fromConfig = resourceGroup !== "";
        if (!fromConfig) {
            const step: ArmStep = { kind: "servers", subscriptionId: sub, serverName: server };
            const listed = await listAll(`${origin}/subscriptions/${encodeURIComponent(sub)}/${provider}?${api}`, { ...common, step, what: `listing the flexible servers of subscription ${sub}` });
            if ("reason" in listed) return unavailable(listed.reason);
            const found = findServer(listed.items, server);
            if (!found) {
                return unavailable(`no flexible server named ${server} in subscription ${sub} (${listed.items.length} listed): point azure-native at the server's subscription (azure-native:subscriptionId), or set sourceResourceGroup (\`pulumi config set sourceResourceGroup <resource group>\`).`);
            }
            server = found.server;
            resourceGroup = found.resourceGroup;
        }
        const step: ArmStep = { kind: "backups", subscriptionId: sub, serverName: server, resourceGroup, resourceGroupFromConfig: fromConfig };
        const url = `${origin}/subscriptions/${encodeURIComponent(sub)}/resourceGroups/${encodeURIComponent(resourceGroup)}/${provider}/${encodeURIComponent(server)}/backups?${api}`;
        const listed = await listAll(url, { ...common, step, what: `listing the backups of ${server} in resource group ${resourceGroup}` });
        if ("reason" in listed) return unavailable(listed.reason);
        return { state: "checked", server, resourceGroup, checkedAt: new Date().toISOString(), backups: listed.items.map(toBackup) };
    } catch (err) {
        return unavailable(err instanceof Error ? err.message : String(err));
    }
}

/** Removes the token (and any registered secret), on one line, at most `max` characters. */
export function scrubReason(text: string, token: string | undefined, max = 600): string {
    const scrubbed = redact(token ? text.split(token).join("[secret]") : text).replace(/\s+/g, " ").trim();
    return scrubbed.length > max ? `${scrubbed.slice(0, max - 3)}...` : scrubbed;
}
