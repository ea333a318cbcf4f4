/**
 * Apps, maintenance mode, the formation and config vars (Platform API).
 */
import { redact } from "../redact";
import type { HerokuEndpoints } from "./endpoints";
import type { HerokuApp, HerokuFormation, HerokuFormationUpdate } from "./types";
import { type RequestOptions, ambiguous, defaultLog, orUndefinedOn404, platformRequest, seg, withHint } from "./client";

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
