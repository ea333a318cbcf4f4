/**
 * pg:settings on the Data API (`heroku pg:settings:<name> <value>`).
 */
import type { HerokuEndpoints } from "./endpoints";
import { type RequestOptions, dataRequest, seg } from "./client";

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
