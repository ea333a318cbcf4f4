/**
 * Add-ons: create (adopting one an ambiguous failure may have left), look up, delete, and wait
 * until a Heroku Postgres database is available.
 */
import { MigrationError } from "../errors";
import { redact } from "../redact";
import type { HerokuEndpoints } from "./endpoints";
import type { HerokuAddon, HerokuWaitStatus } from "./types";
import { type RequestOptions, ambiguous, dataRequest, defaultLog, defaultSleep, isHerokuApiError, orUndefinedOn404, platformRequest, seg, withHint } from "./client";

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

export function requestOpts(o: WaitOptions): RequestOptions {
    return { timeoutMs: o.requestTimeoutMs, maxRetries: o.maxRetries, sleep: o.sleep, log: o.log };
}

export function duration(ms: number): string {
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
