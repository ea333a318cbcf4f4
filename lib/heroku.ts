/**
 * Heroku Platform API and Heroku Data API (Postgres) client.
 *
 * Ground truth for paths, headers, host handling and JSON shapes is the Heroku CLI's own source
 * (npm `heroku@11.10.0`, `@heroku-cli/command@13.2.0`, `@heroku/heroku-cli-util`,
 * `@heroku-cli/schema@1.0.25`), plus the Platform API reference
 * (https://devcenter.heroku.com/articles/platform-api-reference). Each shape and path below names
 * the file it was confirmed in.
 *
 * Rules this module follows:
 * - Plain exported functions, no module-level mutable state (dynamic providers serialize it).
 * - The API key is registered with `registerSecret` and never appears in a log line or an error;
 *   every message goes through `redact`. Request bodies are never echoed (they can hold the
 *   signed backup URL or config-var values).
 * - Retries: 429, 5xx, network errors and timeouts are retried with exponential backoff
 *   (base 500 ms, factor 2, +0-25 % jitter, cap 30 s), honouring `Retry-After`, up to
 *   `maxRetries` (default 5). Other 4xx are never retried.
 * - Non-idempotent requests (POST, unless the caller says `idempotent: true`) are retried only
 *   on responses that prove Heroku did not process them: 429 (rate limited, rejected before
 *   processing) and 503 (Heroku's `unavailable`: API in maintenance / refusing requests).
 *   A timeout, a dropped connection, 500, 502 or 504 after a POST is ambiguous: the app, the
 *   add-on (a billed database) or the restore may exist anyway. Those are not retried blindly:
 *   `createApp` and `createAddon` (when given a name) look the resource up and adopt it if it
 *   exists; otherwise the error says what to check before re-running.
 */
import { ConfigError, MigrationError } from "./errors";
import { redact, registerSecret } from "./redact";

// ---------------------------------------------------------------------------------------------
// Endpoints
// ---------------------------------------------------------------------------------------------

export interface HerokuEndpoints {
    /** Secret. Sent only as `Authorization: Bearer` to Heroku domains or loopback hosts. */
    apiKey: string;
    /** Platform API base URL, e.g. https://api.heroku.com or http://127.0.0.1:5000 */
    platformUrl: string;
    /** Data API base URL, e.g. https://api.data.heroku.com */
    dataUrl: string;
}

/** Default Platform API: `@heroku-cli/command/lib/vars.js` (`https://api.${host}`, host default `heroku.com`). */
export const DEFAULT_PLATFORM_URL = "https://api.heroku.com";
/** Default Data API host: `@heroku/heroku-cli-util/dist/utils/pg/host.js` (`api.data.heroku.com`). */
export const DEFAULT_DATA_URL = "https://api.data.heroku.com";

/** `@heroku-cli/command/lib/api-client.js` ALLOWED_HEROKU_DOMAINS / LOCALHOST_DOMAINS: the CLI only
 *  sends the token to these hosts. */
const HEROKU_DOMAINS = ["heroku.com", "herokai.com", "herokuspace.com", "herokudev.com"] as const;
const LOOPBACK_HOSTS = ["localhost", "127.0.0.1", "[::1]"] as const;

function isLoopback(hostname: string): boolean {
    return (LOOPBACK_HOSTS as readonly string[]).includes(hostname.toLowerCase());
}

function isHerokuDomain(hostname: string): boolean {
    const h = hostname.toLowerCase();
    return HEROKU_DOMAINS.some((d) => h === d || h.endsWith(`.${d}`));
}

/**
 * Checks that a base URL is one the API key may be sent to, and normalizes it (no trailing slash,
 * no query). Throws ConfigError naming `key` otherwise.
 */
function checkBaseUrl(raw: string, key: string): string {
    let u: URL;
    try {
        u = new URL(raw);
    } catch {
        throw new ConfigError(key, `is \`${redact(raw)}\`, which is not a URL or host name.`,
            "Set it to a host such as `heroku.com` or a full URL such as `http://127.0.0.1:5000`, or unset it.");
    }
    if (u.protocol !== "https:" && u.protocol !== "http:") {
        throw new ConfigError(key, `has protocol \`${u.protocol}\`; only https: (and http: for localhost) is supported.`,
            "Use an https:// URL, or unset it to use Heroku's default.");
    }
    if (!isHerokuDomain(u.hostname) && !isLoopback(u.hostname)) {
        throw new ConfigError(key,
            `points at \`${u.host}\`, which is neither a Heroku domain (${HEROKU_DOMAINS.join(", ")}) nor localhost/127.0.0.1, so HEROKU_API_KEY will not be sent there.`,
            "Unset it to use Heroku's default API host, or give a local emulator's full URL such as `http://127.0.0.1:5000`.");
    }
    if (u.protocol === "http:" && !isLoopback(u.hostname)) {
        throw new ConfigError(key, `is \`${u.origin}\`: plain http would send HEROKU_API_KEY unencrypted.`,
            "Use https:// (plain http is accepted only for localhost/127.0.0.1).");
    }
    if (u.username || u.password) {
        throw new ConfigError(key, "contains credentials in the URL.", "Remove them; the API key comes from HEROKU_API_KEY.");
    }
    return `${u.origin}${u.pathname.replace(/\/+$/, "")}`;
}

/**
 * Reads the endpoints like the Heroku CLI does:
 * - `HEROKU_API_KEY` (required here; the CLI would fall back to its netrc login).
 * - `HEROKU_HOST` (`@heroku-cli/command/lib/vars.js`): a value starting with `http` is the full
 *   Platform API URL (`http://localhost:5000`); a bare host `example.com` means
 *   `https://api.example.com`. Unset: `https://api.heroku.com`. The CLI falls back to the default
 *   for a non-Heroku, non-localhost host; we refuse instead (silently talking to production when an
 *   emulator was meant is worse than an error).
 * - `HEROKU_DATA_HOST || HEROKU_POSTGRESQL_HOST` (`@heroku/heroku-cli-util/dist/utils/pg/host.js`,
 *   default `api.data.heroku.com`). The CLI passes it as the request `hostname`, so it is a bare
 *   host that inherits the protocol and port of the Platform API URL
 *   (`HEROKU_HOST=http://localhost:5000` + `HEROKU_DATA_HOST=127.0.0.1` -> `http://127.0.0.1:5000`).
 *   We do the same, and also accept (our extension) `host:port` and a full `http(s)://` URL.
 */
export function herokuEndpointsFromEnv(env: NodeJS.ProcessEnv = process.env): HerokuEndpoints {
    const apiKey = (env.HEROKU_API_KEY ?? "").trim();
    if (!apiKey) {
        const tokenHint = env.HEROKU_API_TOKEN
            ? " HEROKU_API_TOKEN is set, but the variable Heroku tools read is HEROKU_API_KEY."
            : "";
        throw new ConfigError("HEROKU_API_KEY", "is not set, so the Heroku Platform API cannot be called.",
            `Set it to a Heroku API token: run \`export HEROKU_API_KEY=$(heroku auth:token)\` (or create a long-lived token with \`heroku authorizations:create\`).${tokenHint}`);
    }
    registerSecret(apiKey);

    const hostEnv = (env.HEROKU_HOST ?? "").trim();
    let platformUrl = DEFAULT_PLATFORM_URL;
    if (hostEnv) {
        platformUrl = checkBaseUrl(hostEnv.startsWith("http") ? hostEnv : `https://api.${hostEnv}`, "HEROKU_HOST");
    }

    const dataKey = env.HEROKU_DATA_HOST ? "HEROKU_DATA_HOST" : "HEROKU_POSTGRESQL_HOST";
    const dataEnv = (env.HEROKU_DATA_HOST || env.HEROKU_POSTGRESQL_HOST || "").trim();
    let dataUrl = DEFAULT_DATA_URL;
    if (dataEnv) {
        if (/^https?:\/\//i.test(dataEnv)) {
            dataUrl = checkBaseUrl(dataEnv, dataKey);
        } else {
            const p = new URL(platformUrl);
            const hasPort = /:\d+$/.test(dataEnv);
            dataUrl = checkBaseUrl(`${p.protocol}//${dataEnv}${!hasPort && p.port ? `:${p.port}` : ""}`, dataKey);
        }
    }
    return { apiKey, platformUrl, dataUrl };
}

// ---------------------------------------------------------------------------------------------
// Shapes (exactly the JSON the APIs return)
// ---------------------------------------------------------------------------------------------

/** Platform API error body: `{id, message, url?}` (platform-api-reference "Errors";
 *  `@heroku-cli/command/lib/api-client.js` HerokuAPIError reads `id`, `message`, `url`, `app`). */
export interface HerokuErrorBody {
    id: string;
    message: string;
    url?: string;
    app?: { id?: string; name?: string } | null;
}

/** App. Source: `@heroku-cli/schema` `App`, platform-api-reference "App". */
export interface HerokuApp {
    acm: boolean;
    archived_at: string | null;
    buildpack_provided_description: string | null;
    build_stack: { id: string; name: string };
    created_at: string;
    git_url: string;
    id: string;
    internal_routing: boolean | null;
    maintenance: boolean;
    name: string;
    owner: { email: string; id: string };
    organization: { id: string; name: string } | null;
    team: { id: string; name: string } | null;
    region: { id: string; name: string };
    released_at: string | null;
    repo_size: number | null;
    slug_size: number | null;
    space: { id: string; name: string; shield?: boolean } | null;
    stack: { id: string; name: string };
    updated_at: string;
    web_url: string | null;
    /** Newer API responses only (cedar / fir). */
    generation?: { id: string; name: string };
}

/** Add-on. Source: `@heroku-cli/schema` `AddOn`; `heroku/dist/lib/addons/addons-wait.js` and
 *  `destroy-addon.js` also see `deprovisioning`; `create-addon.js` reads `provision_message`. */
export interface HerokuAddon {
    actions: unknown[];
    addon_service: { id: string; name: string };
    billing_entity: { id: string; name: string; type: "app" | "team" };
    /** Deprecated in favour of billing_entity, still returned. */
    app: { id: string; name: string };
    billed_price: { cents: number; contract: boolean; unit: string } | null;
    config_vars: string[];
    created_at: string;
    id: string;
    name: string;
    plan: { id: string; name: string };
    provider_id: string;
    state: "provisioning" | "provisioned" | "deprovisioning" | "deprovisioned";
    updated_at: string;
    web_url: string | null;
    provision_message?: string;
}

/** Formation (process type). Source: `@heroku-cli/schema` `Formation`; `heroku/dist/commands/ps/scale.js`. */
export interface HerokuFormation {
    app: { id: string; name: string };
    command: string;
    created_at: string;
    id: string;
    quantity: number;
    size: string;
    type: string;
    updated_at: string;
}

/** One entry of PATCH /apps/{app}/formation `{updates: [...]}` (`heroku/dist/commands/ps/scale.js`). */
export interface HerokuFormationUpdate {
    type: string;
    quantity: number;
    size?: string;
}

/** A transfer log line (`?verbose=true` only). Source: `heroku/dist/lib/pg/types.d.ts` BackupTransfer.logs. */
export interface HerokuTransferLog {
    created_at: string;
    level: string;
    message: string;
}

export type HerokuTransferType = "gof3r" | "htcat" | "pg_dump" | "pg_restore";

/**
 * Data API transfer (backup or restore). Source: `heroku/dist/lib/pg/types.d.ts` `BackupTransfer`
 * (read by `lib/pg/backups.js` poll/status and `commands/pg/backups/info.js`). Timestamps the CLI
 * tests for truthiness are `null` until set. `from_url` of a restore is the signed backup URL:
 * treat it as a secret.
 */
export interface HerokuTransfer {
    uuid: string;
    num: number;
    num_keep?: number;
    from_name: string;
    from_type: HerokuTransferType;
    from_url: string;
    to_name: string;
    to_type: HerokuTransferType;
    to_url: string;
    options: Record<string, unknown>;
    source_bytes: number;
    processed_bytes: number;
    succeeded: boolean;
    warnings: number;
    created_at: string;
    updated_at: string;
    started_at: string | null;
    finished_at: string | null;
    canceled_at: string | null;
    deleted_at: string | null;
    purged_at: string | null;
    schedule?: { uuid: string } | null;
    /** Present only with `?verbose=true`. */
    logs?: HerokuTransferLog[];
}

/** GET /client/v11/databases/{id}/wait_status. Source: `heroku/dist/lib/pg/types.d.ts` PgStatus,
 *  `heroku/dist/commands/pg/wait.js`. */
export interface HerokuWaitStatus {
    "waiting?": boolean;
    message: string;
    "error?"?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/**
 * A Heroku API call failed. Built like lib/errors.ts (a plain `Error` returned by a function,
 * callable with or without `new`), because Pulumi's closure serializer rewrites `super(message)`
 * in a class into `Error.call(this, message)`, which loses the message inside dynamic providers.
 * Test for it with `isHerokuApiError(err)`, not `instanceof`.
 */
export interface HerokuApiError extends Error {
    /** HTTP status; 0 when no response arrived (timeout, network error). */
    status: number;
    /** Heroku's error `id` (e.g. `invalid_params`), or `timeout` / `network_error` /
     *  `unparseable_response`; "" when the body had none. */
    id: string;
    method: string;
    /** Request path without the query string. */
    path: string;
    /** How many HTTP attempts were made. */
    attempts: number;
}

export interface HerokuApiErrorFields { status: number; id: string; method: string; path: string; message: string; attempts?: number }

type HerokuApiErrorCtor = { new (p: HerokuApiErrorFields): HerokuApiError; (p: HerokuApiErrorFields): HerokuApiError };

export const HerokuApiError = function (p: HerokuApiErrorFields): HerokuApiError {
    const err = new Error(redact(p.message)) as HerokuApiError;
    err.name = "HerokuApiError";
    err.status = p.status;
    err.id = p.id;
    err.method = p.method;
    err.path = p.path;
    err.attempts = p.attempts ?? 1;
    return err;
} as unknown as HerokuApiErrorCtor;

export function isHerokuApiError(err: unknown): err is HerokuApiError {
    return err instanceof Error && err.name === "HerokuApiError" && typeof (err as HerokuApiError).status === "number";
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

export interface RequestOptions {
    /** Per HTTP attempt. @default 30000 */
    timeoutMs?: number;
    /** Retries after the first attempt. @default 5 */
    maxRetries?: number;
    /** Injected for tests. @default setTimeout-based */
    sleep?: (ms: number) => Promise<void>;
    /** Receives retry / rate-limit notes (already redacted). @default console.error */
    log?: (msg: string) => void;
    /** Treat the request as safe to repeat after an ambiguous failure.
     *  @default true for GET/HEAD/PUT/PATCH/DELETE/OPTIONS, false for POST */
    idempotent?: boolean;
    /** Extra request headers (never logged). */
    headers?: Record<string, string>;
}

const ACCEPT = "application/vnd.heroku+json; version=3";
const USER_AGENT_PRODUCT = "azure-to-heroku-pg/0.1.0";
const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 30_000;
const RETRY_AFTER_CAP_MS = 300_000;
/** Heroku: 4,500 request tokens per account, replenished at about 75 per minute (platform-api-reference "Rate Limits"). */
const RATE_LIMIT_LOW_WATER = 10;
const MS_PER_TOKEN = Math.ceil(3_600_000 / 4_500);

function defaultSleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

function defaultLog(msg: string): void {
    console.error(msg);
}

/** Exponential backoff for attempt n (1-based): 500 ms * 2^(n-1), +0-25 % jitter, capped at 30 s. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
    const raw = BACKOFF_BASE_MS * Math.pow(2, Math.max(0, attempt - 1));
    return Math.min(BACKOFF_CAP_MS, Math.round(raw * (1 + 0.25 * random())));
}

/** `Retry-After`: delta-seconds or an HTTP date. Returns ms, or undefined when absent/invalid. */
export function parseRetryAfter(value: string | null | undefined, nowMs: number = Date.now()): number | undefined {
    if (value == null) return undefined;
    const v = value.trim();
    if (!v) return undefined;
    if (/^\d+(\.\d+)?$/.test(v)) return Math.min(RETRY_AFTER_CAP_MS, Math.round(Number(v) * 1000));
    const at = Date.parse(v);
    if (Number.isNaN(at)) return undefined;
    return Math.min(RETRY_AFTER_CAP_MS, Math.max(0, at - nowMs));
}

function seconds(ms: number): string {
    return `${(ms / 1000).toFixed(1)} s`;
}

function describeNetworkError(err: unknown, timeoutMs: number): { id: string; text: string } {
    const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
    if (e && (e.name === "TimeoutError" || e.name === "AbortError")) {
        return { id: "timeout", text: `no response within ${timeoutMs} ms` };
    }
    const cause = e?.cause;
    const detail = cause?.code ? `${cause.code}${cause.message ? `: ${cause.message}` : ""}` : (cause?.message || e?.message || String(err));
    return { id: "network_error", text: `network error (${detail})` };
}

function isIdempotent(method: string): boolean {
    return ["GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"].includes(method);
}

/** The status codes that are retried for idempotent requests. */
function retryableStatus(status: number): boolean {
    return status === 429 || (status >= 500 && status <= 599);
}

/** Statuses proving the request was not processed, so that even a POST may be repeated. */
function unprocessedStatus(status: number): boolean {
    return status === 429 || status === 503;
}

function parseErrorBody(text: string): { id: string; message: string } {
    try {
        const b = JSON.parse(text) as Partial<HerokuErrorBody>;
        if (b && typeof b === "object") {
            // Most errors carry `message`; some (400 missing_version) carry `error` instead.
            const message = typeof b.message === "string" ? b.message : typeof (b as { error?: unknown }).error === "string" ? String((b as { error?: unknown }).error) : "";
            return { id: typeof b.id === "string" ? b.id : "", message };
        }
    } catch {
        /* not JSON */
    }
    return { id: "", message: text.replace(/\s+/g, " ").trim().slice(0, 200) };
}

interface RawResult {
    body: unknown;
    nextRange: string | null;
}

async function requestOnce(api: string, ep: HerokuEndpoints, baseUrl: string, method: string, path: string,
    body: unknown, opts: RequestOptions, extraHeaders: Record<string, string>): Promise<RawResult> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const maxRetries = Math.max(0, opts.maxRetries ?? 5);
    const sleep = opts.sleep ?? defaultSleep;
    const log = (m: string) => (opts.log ?? defaultLog)(redact(m));
    const idempotent = opts.idempotent ?? isIdempotent(method);
    const shownPath = path.split("?")[0];
    const label = `${api} ${method} ${shownPath}`;
    const url = baseUrl + path;

    const headers: Record<string, string> = {
        Accept: ACCEPT,
        "User-Agent": `${USER_AGENT_PRODUCT} node-${process.version}`,
        ...(opts.headers ?? {}),
        ...extraHeaders,
        Authorization: `Bearer ${ep.apiKey}`,
    };
    let payload: string | undefined;
    if (body !== undefined) {
        headers["Content-Type"] = "application/json";
        payload = JSON.stringify(body);
    }

    let attempt = 0;
    for (;;) {
        attempt++;
        const canRetry = attempt <= maxRetries;
        let res: Response;
        let text: string;
        try {
            res = await fetch(url, { method, headers, body: payload, redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
            text = await res.text();
        } catch (err) {
            const d = describeNetworkError(err, timeoutMs);
            if (canRetry && idempotent) {
                const wait = backoffMs(attempt);
                log(`${label}: ${d.text}; retry ${attempt}/${maxRetries} in ${seconds(wait)}`);
                await sleep(wait);
                continue;
            }
            const tries = attempt > 1 ? ` (after ${attempt} attempts)` : "";
            const why = !idempotent
                ? `; not retried: a ${method} is not idempotent and Heroku may have processed it`
                : "";
            throw new HerokuApiError({ status: 0, id: d.id, method, path: shownPath, attempts: attempt, message: `${label} failed: ${d.text}${tries}${why}` });
        }

        // Slow down when the account's request tokens run low (RateLimit-Remaining header).
        let throttleMs = 0;
        const remainingHeader = res.headers.get("ratelimit-remaining");
        if (remainingHeader !== null && /^\d+$/.test(remainingHeader.trim())) {
            const remaining = Number(remainingHeader.trim());
            if (remaining < RATE_LIMIT_LOW_WATER) {
                throttleMs = (RATE_LIMIT_LOW_WATER - remaining) * MS_PER_TOKEN;
                log(`Heroku API rate limit nearly used up (RateLimit-Remaining: ${remaining}); pausing ${seconds(throttleMs)} before the next request`);
            }
        }

        if (res.status >= 200 && res.status < 300) {
            if (throttleMs > 0) await sleep(throttleMs);
            let parsed: unknown = undefined;
            if (text.trim() !== "") {
                try {
                    parsed = JSON.parse(text);
                } catch {
                    const ct = res.headers.get("content-type") ?? "no content-type";
                    throw new HerokuApiError({ status: res.status, id: "unparseable_response", method, path: shownPath, attempts: attempt,
                        message: `${label} failed: unparseable response (status ${res.status}, ${Buffer.byteLength(text)} bytes, ${ct}); expected JSON` });
                }
            }
            return { body: parsed, nextRange: res.headers.get("next-range") };
        }

        const e = parseErrorBody(text);
        const retryable = retryableStatus(res.status) && (idempotent || unprocessedStatus(res.status));
        if (retryable && canRetry) {
            const retryAfter = parseRetryAfter(res.headers.get("retry-after"));
            const wait = Math.max(retryAfter ?? backoffMs(attempt), throttleMs);
            log(`${label}: ${res.status}${e.id ? ` ${e.id}` : ""}; retry ${attempt}/${maxRetries} in ${seconds(wait)}${retryAfter !== undefined ? " (Retry-After)" : ""}`);
            await sleep(wait);
            continue;
        }
        const detail = e.message || res.statusText || "no error message";
        let message = `${label} failed with ${res.status}${e.id ? ` ${e.id}` : ""}: ${detail}`;
        if (attempt > 1) message += ` (after ${attempt} attempts)`;
        if (res.status === 401) {
            message += " Check that HEROKU_API_KEY holds a valid token (run `heroku auth:token`, or create one with `heroku authorizations:create`).";
        }
        throw new HerokuApiError({ status: res.status, id: e.id, method, path: shownPath, attempts: attempt, message });
    }
}

async function request<T>(api: string, ep: HerokuEndpoints, baseUrl: string, key: string, method: string, path: string,
    body: unknown, opts: RequestOptions = {}): Promise<T> {
    if (!ep || !ep.apiKey) {
        throw new ConfigError("HEROKU_API_KEY", "is not set, so the Heroku API cannot be called.",
            "Set it to a Heroku API token: run `export HEROKU_API_KEY=$(heroku auth:token)`.");
    }
    registerSecret(ep.apiKey);
    const base = checkBaseUrl(baseUrl, key);
    const m = method.toUpperCase();
    const p = path.startsWith("/") ? path : `/${path}`;
    let result = await requestOnce(api, ep, base, m, p, body, opts, {});
    // Pagination: like @heroku/http-call's _getNextRange, a GET returning an array with a
    // Next-Range header (206 Partial Content) is continued with `Range: <next-range>`.
    if (m === "GET" && Array.isArray(result.body)) {
        const all: unknown[] = [...result.body];
        let guard = 0;
        while (result.nextRange && guard++ < 1000) {
            result = await requestOnce(api, ep, base, m, p, body, opts, { Range: result.nextRange });
            if (!Array.isArray(result.body)) break;
            all.push(...result.body);
        }
        return all as unknown as T;
    }
    return result.body as T;
}

/** A Platform API request (`ep.platformUrl`). Throws HerokuApiError for non-2xx. */
export function platformRequest<T>(ep: HerokuEndpoints, method: string, path: string, body?: unknown, opts?: RequestOptions): Promise<T> {
    return request<T>("Heroku API", ep, ep?.platformUrl ?? "", "HEROKU_HOST", method, path, body, opts);
}

/** A Data API request (`ep.dataUrl`), same headers as the Platform API (the CLI passes only a
 *  different `hostname`: `heroku/dist/commands/pg/wait.js`, `lib/pg/backups.js`). */
export function dataRequest<T>(ep: HerokuEndpoints, method: string, path: string, body?: unknown, opts?: RequestOptions): Promise<T> {
    return request<T>("Heroku Data API", ep, ep?.dataUrl ?? "", "HEROKU_DATA_HOST", method, path, body, opts);
}

function seg(s: string): string {
    return encodeURIComponent(s);
}

async function orUndefinedOn404<T>(p: Promise<T>): Promise<T | undefined> {
    try {
        return await p;
    } catch (err) {
        if (isHerokuApiError(err) && err.status === 404) return undefined;
        throw err;
    }
}

/** Did the request fail in a way that leaves open whether Heroku processed it? */
function ambiguous(err: unknown): err is HerokuApiError {
    return isHerokuApiError(err) && (err.status === 0 || (err.status >= 500 && err.status !== 503));
}

function withHint(err: HerokuApiError, hint: string): HerokuApiError {
    return new HerokuApiError({ status: err.status, id: err.id, method: err.method, path: err.path, attempts: err.attempts, message: `${err.message}. ${hint}` });
}

// ---------------------------------------------------------------------------------------------
// Apps (GET/POST/PATCH/DELETE /apps: heroku/dist/commands/apps/create.js, apps/destroy.js,
// maintenance/on.js, maintenance/off.js)
// ---------------------------------------------------------------------------------------------

/** GET /apps/{app}; undefined when Heroku answers 404. */
export function getApp(ep: HerokuEndpoints, app: string, opts?: RequestOptions): Promise<HerokuApp | undefined> {
    return orUndefinedOn404(platformRequest<HerokuApp>(ep, "GET", `/apps/${seg(app)}`, undefined, opts));
}

/**
 * POST /apps `{name, region, stack}`, or POST /teams/apps when `team` is given (apps/create.js).
 * After an ambiguous failure (timeout, 500/502/504) it looks the app up by name and returns it if it
 * exists (the name is globally unique, and callers check it did not exist before creating).
 */
export async function createApp(ep: HerokuEndpoints, args: { name: string; region?: string; team?: string; stack?: string }, opts?: RequestOptions): Promise<HerokuApp> {
    const path = args.team ? "/teams/apps" : "/apps";
    const body = { name: args.name, region: args.region, stack: args.stack, team: args.team };
    try {
        return await platformRequest<HerokuApp>(ep, "POST", path, body, opts);
    } catch (err) {
        if (!ambiguous(err)) throw err;
        const found = await getApp(ep, args.name, opts).catch(() => undefined);
        if (found) {
            (opts?.log ?? defaultLog)(redact(`${err.message}; app ${args.name} exists now, so the request was processed: using it`));
            return found;
        }
        throw withHint(err, `The app may have been created anyway: check \`heroku apps:info -a ${args.name}\` before re-running.`);
    }
}

/** DELETE /apps/{app}; false when it was already gone (404). */
export async function deleteApp(ep: HerokuEndpoints, app: string, opts?: RequestOptions): Promise<boolean> {
    const r = await orUndefinedOn404(platformRequest<unknown>(ep, "DELETE", `/apps/${seg(app)}`, undefined, opts).then(() => true));
    return r ?? false;
}

/** PATCH /apps/{app} `{maintenance}` (maintenance/on.js, maintenance/off.js). */
export function setMaintenance(ep: HerokuEndpoints, app: string, on: boolean, opts?: RequestOptions): Promise<HerokuApp> {
    return platformRequest<HerokuApp>(ep, "PATCH", `/apps/${seg(app)}`, { maintenance: on }, opts);
}

// ---------------------------------------------------------------------------------------------
// Add-ons (heroku/dist/lib/addons/create-addon.js, destroy-addon.js, addons-wait.js)
// ---------------------------------------------------------------------------------------------

/**
 * POST /apps/{app}/addons `{plan: {name}, attachment: {name}, name, config}` (create-addon.js).
 * Not retried after an ambiguous failure (a second heroku-postgresql add-on is a second billed
 * database). When `name` is given, the add-on is looked up and adopted if it exists; without a
 * name the error tells the user what to check.
 */
export async function createAddon(ep: HerokuEndpoints, app: string,
    args: { plan: string; attachmentName?: string; name?: string; config?: Record<string, string> }, opts?: RequestOptions): Promise<HerokuAddon> {
    const body = {
        plan: { name: args.plan },
        attachment: args.attachmentName ? { name: args.attachmentName } : undefined,
        name: args.name,
        config: args.config,
    };
    try {
        return await platformRequest<HerokuAddon>(ep, "POST", `/apps/${seg(app)}/addons`, body, opts);
    } catch (err) {
        if (!ambiguous(err)) throw err;
        if (args.name) {
            const found = await getAddon(ep, app, args.name, opts).catch(() => undefined);
            if (found && found.plan?.name === args.plan) {
                (opts?.log ?? defaultLog)(redact(`${err.message}; add-on ${args.name} exists now, so the request was processed: using it`));
                return found;
            }
        }
        throw withHint(err, `The add-on may have been created anyway: run \`heroku addons -a ${app}\` and remove any duplicate before re-running${args.name ? "" : " (give the add-on a fixed name so a retry can recognise it)"}.`);
    }
}

/** GET /apps/{app}/addons/{addon}; undefined on 404. */
export function getAddon(ep: HerokuEndpoints, app: string, addon: string, opts?: RequestOptions): Promise<HerokuAddon | undefined> {
    return orUndefinedOn404(platformRequest<HerokuAddon>(ep, "GET", `/apps/${seg(app)}/addons/${seg(addon)}`, undefined, opts));
}

/** DELETE /apps/{app}/addons/{addon}; false when already gone (404). */
export async function deleteAddon(ep: HerokuEndpoints, app: string, addon: string, opts?: RequestOptions): Promise<boolean> {
    const r = await orUndefinedOn404(platformRequest<unknown>(ep, "DELETE", `/apps/${seg(app)}/addons/${seg(addon)}`, undefined, opts).then(() => true));
    return r ?? false;
}

/** Heroku Postgres Advanced-tier plans use the v1 Data API
 *  (`@heroku/heroku-cli-util/dist/utils/addons/helpers.js` isAdvancedDatabase). */
export function isAdvancedPlan(planName: string | undefined): boolean {
    const [service, plan] = (planName ?? "").split(":", 2);
    return service === "heroku-postgresql" && /^(advanced|performance)/.test(plan ?? "");
}

/**
 * GET /client/v11/databases/{addonId}/wait_status on the Data API (`heroku/dist/commands/pg/wait.js`).
 * With `advanced: true`, GET /data/postgres/v1/{addonId}/wait_status (`commands/data/pg/wait.js`,
 * body `{waiting, message}`), normalized to the same shape.
 */
export async function getWaitStatus(ep: HerokuEndpoints, addonId: string, opts?: RequestOptions & { advanced?: boolean }): Promise<HerokuWaitStatus> {
    if (opts?.advanced) {
        const s = await dataRequest<{ waiting: boolean; message: string | null }>(ep, "GET", `/data/postgres/v1/${seg(addonId)}/wait_status`, undefined, opts);
        return { "waiting?": Boolean(s?.waiting), message: s?.message ?? "" };
    }
    return dataRequest<HerokuWaitStatus>(ep, "GET", `/client/v11/databases/${seg(addonId)}/wait_status`, undefined, opts);
}

export interface WaitOptions {
    /** Overall deadline. */
    timeoutMs?: number;
    /** Interval between polls. */
    pollMs?: number;
    /** Per-request timeout. @default 30000 */
    requestTimeoutMs?: number;
    maxRetries?: number;
    sleep?: (ms: number) => Promise<void>;
    log?: (msg: string) => void;
    /** Clock, injected for tests. @default Date.now */
    now?: () => number;
}

function requestOpts(o: WaitOptions): RequestOptions {
    return { timeoutMs: o.requestTimeoutMs, maxRetries: o.maxRetries, sleep: o.sleep, log: o.log };
}

function duration(ms: number): string {
    if (ms < 1000) return `${ms} ms`;
    if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
    return `${Math.round(ms / 60_000)} min`;
}

/** The CLI tolerates this many 404s from wait_status while the database is being registered (pg:wait). */
const WAIT_STATUS_404_RETRIES = 20;

/**
 * Waits until the add-on is usable: GET /apps/{app}/addons/{id} until `state` is `provisioned`
 * (fails on `deprovisioned`, like addons-wait.js), then polls wait_status until `waiting?` is false
 * (fails on `error?`, and treats up to 20 404s as "Waiting to provision...", like pg:wait).
 * `onProgress` receives each new message (without the add-on name; callers prefix it):
 *   `state provisioning`, `state provisioned`, then the wait_status messages verbatim
 *   (`Waiting to provision...` for a 404, Heroku's text while waiting, and the final one, or
 *   `available` when Heroku sends none).
 * @default timeoutMs 3600000 (1 h), pollMs 5000 (pg:wait's default interval)
 */
export async function waitForAddon(ep: HerokuEndpoints, app: string, addonId: string,
    opts: WaitOptions & { onProgress?: (message: string) => void } = {}): Promise<HerokuAddon> {
    const timeoutMs = opts.timeoutMs ?? 3_600_000;
    const pollMs = opts.pollMs ?? 5000;
    const now = opts.now ?? (() => Date.now());
    const sleep = opts.sleep ?? defaultSleep;
    const ro = requestOpts(opts);
    const deadline = now() + timeoutMs;
    let last = "";
    let name = addonId;
    const progress = (msg: string) => {
        if (msg !== last) {
            last = msg;
            opts.onProgress?.(msg);
        }
    };
    const timedOut = () => new MigrationError(`Heroku add-on ${name}`,
        `is still not available after ${duration(timeoutMs)} (last status: ${last || "unknown"}).`,
        `Heroku keeps provisioning it in the background; re-running the update resumes waiting for this same add-on (no second database is created). Check it with \`heroku pg:wait ${name} -a ${app}\`.`);

    let addon: HerokuAddon | undefined;
    for (;;) {
        addon = await getAddon(ep, app, addonId, ro);
        if (!addon) {
            throw new MigrationError(`Heroku add-on ${name}`, `was not found on app ${app} (404).`,
                "It may have been destroyed outside this program; remove it from the stack state or re-create it, then re-run.");
        }
        name = addon.name || addonId;
        progress(`state ${addon.state}`);
        if (addon.state === "provisioned") break;
        if (addon.state === "deprovisioned" || addon.state === "deprovisioning") {
            throw new MigrationError(`Heroku add-on ${name}`, `could not be created: its state is ${addon.state}.`,
                `Check \`heroku addons:info ${name} -a ${app}\` and the plan's availability, then re-run.`);
        }
        if (now() >= deadline) throw timedOut();
        await sleep(pollMs);
    }

    const advanced = isAdvancedPlan(addon.plan?.name);
    let notFound = WAIT_STATUS_404_RETRIES;
    for (;;) {
        let status: HerokuWaitStatus;
        try {
            status = await getWaitStatus(ep, addon.id || addonId, { ...ro, advanced });
        } catch (err) {
            if (!isHerokuApiError(err) || err.status !== 404 || notFound <= 0) throw err;
            notFound--;
            status = { "waiting?": true, message: "Waiting to provision..." };
        }
        if (status["error?"]) {
            throw new MigrationError(`Heroku database ${name}`, `reported an error while becoming available: ${status.message || "no message"}.`,
                `Check \`heroku pg:info ${name} -a ${app}\`; if the database is broken, destroy it and re-run to provision a new one.`);
        }
        if (!status["waiting?"]) {
            progress(status.message || "available");
            return addon;
        }
        progress(status.message || "waiting");
        if (now() >= deadline) throw timedOut();
        await sleep(pollMs);
    }
}

// ---------------------------------------------------------------------------------------------
// Formation and config vars (ps/scale.js, config/index.js, config/set.js, config/unset.js)
// ---------------------------------------------------------------------------------------------

/** GET /apps/{app}/formation */
export function getFormation(ep: HerokuEndpoints, app: string, opts?: RequestOptions): Promise<HerokuFormation[]> {
    return platformRequest<HerokuFormation[]>(ep, "GET", `/apps/${seg(app)}/formation`, undefined, opts);
}

/** PATCH /apps/{app}/formation `{updates: [{type, quantity, size?}]}` */
export function scaleFormation(ep: HerokuEndpoints, app: string, updates: HerokuFormationUpdate[], opts?: RequestOptions): Promise<HerokuFormation[]> {
    return platformRequest<HerokuFormation[]>(ep, "PATCH", `/apps/${seg(app)}/formation`, { updates }, opts);
}

/** GET /apps/{app}/config-vars. Values are secrets (DATABASE_URL): never log them. */
export async function getConfigVars(ep: HerokuEndpoints, app: string, opts?: RequestOptions): Promise<Record<string, string>> {
    return (await platformRequest<Record<string, string>>(ep, "GET", `/apps/${seg(app)}/config-vars`, undefined, opts)) ?? {};
}

/** PATCH /apps/{app}/config-vars; a `null` value unsets the variable (config/unset.js). Returns the new config. */
export async function setConfigVars(ep: HerokuEndpoints, app: string, vars: Record<string, string | null>, opts?: RequestOptions): Promise<Record<string, string>> {
    return (await platformRequest<Record<string, string>>(ep, "PATCH", `/apps/${seg(app)}/config-vars`, vars, opts)) ?? {};
}

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

// ---------------------------------------------------------------------------------------------
// pg:settings (heroku/dist/lib/pg/setter.js, commands/pg/settings/index.js)
// ---------------------------------------------------------------------------------------------

/** One entry of GET/PATCH /postgres/v0/databases/{addonId}/config. */
export interface HerokuPgSetting {
    value: boolean | number | string;
    desc?: string;
    default?: boolean | number | string;
    /** Enumerated settings: value -> explanation. */
    values?: Record<string, string>;
}

/**
 * PATCH /postgres/v0/databases/{addonId}/config `{<key>: <value>}`, as `heroku pg:settings:<name> VALUE`
 * sends it (booleans, milliseconds as numbers, enumerations as strings); answers every setting.
 */
export function updatePgSettings(ep: HerokuEndpoints, addonId: string, settings: Record<string, boolean | number | string>, opts?: RequestOptions): Promise<Record<string, HerokuPgSetting>> {
    return dataRequest<Record<string, HerokuPgSetting>>(ep, "PATCH", `/postgres/v0/databases/${seg(addonId)}/config`, settings, opts);
}
