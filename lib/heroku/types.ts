/**
 * The JSON shapes the Heroku Platform and Data APIs return, exactly as they return them.
 */


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
