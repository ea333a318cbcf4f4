/**
 * Everything the emulator knows, as plain JSON: apps, add-ons (with the credentials of the real
 * database behind each), attachments, config vars, formation and transfers. Persisted to
 * `stateFile` (mode 0600, written atomically) after every change and reloaded at start, so
 * separate rehearsal processes see the same "Heroku". The API key is never part of it.
 */
import * as fs from "fs";
import * as path from "path";
import { platformTime, uuid } from "./util";

export interface AppRecord {
    id: string;
    name: string;
    created_at: string;
    updated_at: string;
    released_at: string;
    maintenance: boolean;
    region: string;
    stack: string;
    web_url: string;
}

/** The real database that backs an add-on: one role owning one database, like Heroku. */
export interface AddonDatabase {
    host: string;
    port: number;
    database: string;
    user: string;
    password: string;
    /**
     * The setting that holds the database's extension allow-list, as on Heroku: Essential-tier
     * databases expose `rds.allowed_extensions` (the Heroku CLI's `pg:extensions` reads it for
     * essential plans), the other tiers `extwlist.extensions`. @default "extwlist.extensions"
     */
    allowListSetting?: "extwlist.extensions" | "rds.allowed_extensions";
}

export interface AddonRecord {
    id: string;
    name: string;
    /** billing app */
    app_id: string;
    plan_name: string;
    state: "provisioning" | "provisioned" | "deprovisioned";
    created_at: string;
    updated_at: string;
    /** ISO time the database became available (wait_status keeps "waiting" a while after it). */
    provisioned_at?: string;
    db?: AddonDatabase;
    config: Record<string, unknown>;
}

export interface AttachmentRecord {
    id: string;
    name: string;
    addon_id: string;
    app_id: string;
    created_at: string;
    updated_at: string;
}

export interface FormationRecord {
    id: string;
    app_id: string;
    type: string;
    quantity: number;
    size: string;
    command: string;
    created_at: string;
    updated_at: string;
    /** last restart of its dynos (ps:restart), if after updated_at */
    restarted_at?: string;
}

/** A release: Heroku makes one for every change of config vars or add-on attachments. */
export interface ReleaseRecord {
    id: string;
    app_id: string;
    version: number;
    description: string;
    status: "succeeded" | "pending" | "failed";
    created_at: string;
    updated_at: string;
    /** the app's config vars as of this release (`GET /apps/{app}/releases/{version}/config-vars`) */
    config: Record<string, string>;
    addon_plan_names: string[];
}

export interface TransferLog {
    created_at: string;
    level: "info" | "internal";
    message: string;
}

export interface TransferRecord {
    uuid: string;
    num: number;
    app_id: string;
    addon_id: string;
    from_name: string | null;
    from_type: "htcat" | "pg_dump" | "gof3r";
    from_url: string;
    to_name: string | null;
    to_type: "pg_restore" | "gof3r";
    to_url: string;
    options: Record<string, unknown>;
    source_bytes: number | null;
    processed_bytes: number;
    succeeded: boolean | null;
    warnings: number;
    created_at: string;
    started_at: string | null;
    canceled_at: string | null;
    updated_at: string;
    finished_at: string | null;
    deleted_at: string | null;
    purged_at: string | null;
    num_keep: number;
    schedule: { uuid: string } | null;
    logs: TransferLog[];
}

export interface EmulatorState {
    version: 1;
    account: { id: string; email: string; name: string; created_at: string };
    apps: AppRecord[];
    addons: AddonRecord[];
    attachments: AttachmentRecord[];
    formation: FormationRecord[];
    /** app id -> config vars */
    config_vars: Record<string, Record<string, string>>;
    transfers: TransferRecord[];
    releases: ReleaseRecord[];
    /** app id -> last transfer num */
    transfer_nums: Record<string, number>;
}

export function emptyState(): EmulatorState {
    return {
        version: 1,
        account: { id: uuid(), email: "emulator@example.com", name: "Heroku Emulator", created_at: platformTime() },
        apps: [],
        addons: [],
        attachments: [],
        formation: [],
        config_vars: {},
        transfers: [],
        releases: [],
        transfer_nums: {},
    };
}

export function loadState(file: string | undefined): EmulatorState {
    if (!file || !fs.existsSync(file)) return emptyState();
    const raw = fs.readFileSync(file, "utf8");
    let parsed: EmulatorState;
    try {
        parsed = JSON.parse(raw) as EmulatorState;
    } catch (err) {
        throw new Error(`Heroku emulator: state file ${file} is not valid JSON (${(err as Error).message}); delete it to start with an empty emulator.`);
    }
    if (parsed.version !== 1) throw new Error(`Heroku emulator: state file ${file} has unknown version ${String(parsed.version)}; delete it to start over.`);
    return { ...emptyState(), ...parsed };
}

/** Writes the state atomically (temp file + rename), readable by the owner only. */
export function saveState(file: string | undefined, state: EmulatorState): void {
    if (!file) return;
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(state, null, 2), { mode: 0o600 });
    fs.chmodSync(tmp, 0o600);
    fs.renameSync(tmp, file);
}
