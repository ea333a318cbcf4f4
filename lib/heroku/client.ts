/**
 * Heroku Platform API and Heroku Data API (Postgres) client: the request, its errors and its retries.
 * The functions for each API object are in the sibling files; lib/heroku/index.ts exports them all.
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
import { ConfigError } from "../errors";
import { redact, registerSecret } from "../redact";
import { type HerokuEndpoints, checkBaseUrl } from "./endpoints";
import type { HerokuErrorBody } from "./types";

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

export function defaultSleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

export function defaultLog(msg: string): void {
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

export function seg(s: string): string {
    return encodeURIComponent(s);
}

export async function orUndefinedOn404<T>(p: Promise<T>): Promise<T | undefined> {
    try {
        return await p;
    } catch (err) {
        if (isHerokuApiError(err) && err.status === 404) return undefined;
        throw err;
    }
}

/** Did the request fail in a way that leaves open whether Heroku processed it? */
export function ambiguous(err: unknown): err is HerokuApiError {
    return isHerokuApiError(err) && (err.status === 0 || (err.status >= 500 && err.status !== 503));
}

export function withHint(err: HerokuApiError, hint: string): HerokuApiError {
    return new HerokuApiError({ status: err.status, id: err.id, method: err.method, path: err.path, attempts: err.attempts, message: `${err.message}. ${hint}` });
}
