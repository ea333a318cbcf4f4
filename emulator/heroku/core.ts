/**
 * The emulator's model: lookups by id or name (as Heroku accepts both in paths), the JSON shapes
 * the Platform and Data APIs return, and the add-on lifecycle (provisioning a real database,
 * deprovisioning it, restores).
 */
import type { AddonRecord, AppRecord, AttachmentRecord, EmulatorState, FormationRecord, TransferRecord } from "./state";
import { saveState } from "./state";
import { ADDON_SERVICE, ADDON_SERVICE_HUMAN_NAME, EmulatedPlan, emulatedPlans } from "./plans";
import { AdminTarget, createAddonDatabase, databaseUrl, dropAddonDatabase, newAddonCredentials } from "./db";
import { RunningRestore, startRestore } from "./restore";
import { notFound, platformTime, stableUuid, dataTime, uuid } from "./util";
import { recordRelease } from "./releases";
import { BackupStore, RunningCapture, newBackupTransfer, startCapture } from "./backups";
import { redact } from "../../lib/redact";

export interface CoreOptions {
    admin: AdminTarget;
    stateFile?: string;
    provisionDelayMs: number;
    waitStatusDelayMs: number;
    pgRestorePath: () => string;
    pgDumpPath: () => string;
    log: (line: string) => void;
}

export interface Expansions {
    /** Accept-Expansion, e.g. `addon_service,plan` */
    expand: Set<string>;
    /** Accept-Inclusion, e.g. `addon:plan,config_vars` */
    include: Set<string>;
}

export class EmulatorCore {
    readonly state: EmulatorState;
    readonly opts: CoreOptions;
    private readonly timers = new Set<NodeJS.Timeout>();
    private readonly inflight = new Set<Promise<unknown>>();
    private readonly restores = new Map<string, RunningRestore>();
    private readonly captures = new Map<string, RunningCapture>();
    /** where pg:backups:capture keeps archives (set by startHerokuEmulator) */
    backups?: BackupStore;
    private readonly queues = new Map<string, Promise<void>>();
    private stopping = false;

    constructor(state: EmulatorState, opts: CoreOptions) {
        this.state = state;
        this.opts = opts;
    }

    save(): void {
        saveState(this.opts.stateFile, this.state);
    }

    log(line: string): void {
        this.opts.log(redact(line));
    }

    // ---- lookups -------------------------------------------------------------------------

    /**
     * A new transfer of `addon` as the Data API shows one before it starts: the next number of its
     * app, no bytes, no result. `ends` gives the from/to sides from the add-on's attachment name.
     */
    newTransfer(addon: AddonRecord, ends: (attachmentName: string) => Pick<TransferRecord, "from_name" | "from_type" | "from_url" | "to_name" | "to_type" | "to_url">): TransferRecord {
        const app = this.findApp(addon.app_id);
        const num = (this.state.transfer_nums[app.id] ?? 0) + 1;
        this.state.transfer_nums[app.id] = num;
        const primary = this.state.attachments.find((t) => t.addon_id === addon.id && t.app_id === app.id);
        const now = dataTime();
        return {
            uuid: uuid(),
            num,
            app_id: app.id,
            addon_id: addon.id,
            ...ends(primary?.name ?? addon.name),
            options: {},
            source_bytes: null,
            processed_bytes: 0,
            succeeded: null,
            warnings: 0,
            created_at: now,
            started_at: null,
            canceled_at: null,
            updated_at: now,
            finished_at: null,
            deleted_at: null,
            purged_at: null,
            num_keep: 2,
            schedule: null,
            logs: [],
        };
    }

    findApp(idOrName: string): AppRecord {
        const app = this.state.apps.find((a) => a.id === idOrName || a.name === idOrName);
        if (!app) throw notFound("Couldn't find that app.", "app");
        return app;
    }

    appRef(appId: string): { id: string; name: string } {
        const app = this.state.apps.find((a) => a.id === appId);
        return { id: appId, name: app?.name ?? "" };
    }

    /** An add-on by id or name, optionally through an app (where an attachment name works too). */
    findAddon(idOrName: string, app?: AppRecord): AddonRecord {
        let addon = this.state.addons.find((a) => a.id === idOrName || a.name === idOrName);
        if (!addon && app) {
            const att = this.state.attachments.find((t) => t.app_id === app.id && t.name === idOrName.toUpperCase());
            if (att) addon = this.state.addons.find((a) => a.id === att.addon_id);
        }
        if (!addon || (app && addon.app_id !== app.id && !this.state.attachments.some((t) => t.app_id === app.id && t.addon_id === addon!.id))) {
            throw notFound("Couldn't find that add on.", "addon");
        }
        return addon;
    }

    plan(addon: AddonRecord): EmulatedPlan {
        return emulatedPlans().find((p) => p.name === addon.plan_name)!;
    }

    attachmentsOf(addonId: string): AttachmentRecord[] {
        return this.state.attachments.filter((t) => t.addon_id === addonId);
    }

    configVars(appId: string): Record<string, string> {
        if (!this.state.config_vars[appId]) this.state.config_vars[appId] = {};
        return this.state.config_vars[appId];
    }

    /** Config var names owned by attachments on an app (they cannot be set by hand). */
    attachmentVarNames(appId: string): Set<string> {
        return new Set(this.state.attachments.filter((t) => t.app_id === appId).map((t) => `${t.name}_URL`));
    }

    // ---- JSON shapes ---------------------------------------------------------------------

    appJson(app: AppRecord): Record<string, unknown> {
        const stack = { id: stableUuid(`stack:${app.stack}`), name: app.stack };
        return {
            acm: false,
            archived_at: null,
            buildpack_provided_description: null,
            build_stack: stack,
            created_at: app.created_at,
            generation: { id: stableUuid("generation:cedar"), name: "cedar" },
            git_url: `https://git.heroku.com/${app.name}.git`,
            id: app.id,
            internal_routing: null,
            maintenance: app.maintenance,
            name: app.name,
            owner: { email: this.state.account.email, id: this.state.account.id },
            organization: null,
            team: null,
            region: { id: stableUuid(`region:${app.region}`), name: app.region },
            released_at: app.released_at,
            repo_size: null,
            slug_size: null,
            space: null,
            stack,
            updated_at: app.updated_at,
            web_url: app.web_url,
        };
    }

    planJson(plan: EmulatedPlan, expanded: boolean): Record<string, unknown> {
        if (!expanded) return { id: plan.id, name: plan.name };
        const short = plan.name.split(":")[1];
        return {
            addon_service: { id: stableUuid(`service:${ADDON_SERVICE}`), name: ADDON_SERVICE },
            compliance: null,
            created_at: "2012-01-01T12:00:00Z",
            default: short === "essential-0",
            description: `${ADDON_SERVICE_HUMAN_NAME} ${short}`,
            human_name: short.replace(/(^|-)([a-z])/g, (_m, p: string, c: string) => `${p ? " " : ""}${c.toUpperCase()}`),
            id: plan.id,
            installable_inside_private_network: !short.startsWith("essential"),
            installable_outside_private_network: !short.startsWith("private") && !short.startsWith("shield"),
            name: plan.name,
            price: { cents: plan.cents, contract: false, metered: false, unit: "month" },
            space_default: false,
            state: "public",
            updated_at: "2012-01-01T12:00:00Z",
            visible: true,
        };
    }

    serviceJson(expanded: boolean): Record<string, unknown> {
        const base = { id: stableUuid(`service:${ADDON_SERVICE}`), name: ADDON_SERVICE };
        if (!expanded) return base;
        return {
            ...base,
            cli_plugin_name: null,
            created_at: "2012-01-01T12:00:00Z",
            human_name: ADDON_SERVICE_HUMAN_NAME,
            state: "ga",
            supports_multiple_installations: true,
            supports_sharing: true,
            updated_at: "2012-01-01T12:00:00Z",
        };
    }

    addonConfigVarNames(addon: AddonRecord): string[] {
        return this.state.attachments.filter((t) => t.addon_id === addon.id && t.app_id === addon.app_id).map((t) => `${t.name}_URL`);
    }

    addonJson(addon: AddonRecord, x: Expansions, extra: Record<string, unknown> = {}): Record<string, unknown> {
        const plan = this.plan(addon);
        const app = this.appRef(addon.app_id);
        return {
            actions: [],
            addon_service: this.serviceJson(x.expand.has("addon_service")),
            app,
            billed_price: { cents: plan.cents, contract: false, unit: "month" },
            billing_entity: { id: app.id, name: app.name, type: "app" },
            config_vars: this.addonConfigVarNames(addon),
            created_at: addon.created_at,
            id: addon.id,
            name: addon.name,
            plan: this.planJson(plan, x.expand.has("plan")),
            provider_id: `resource${addon.id.replace(/-/g, "").slice(0, 12)}@heroku.com`,
            state: addon.state,
            updated_at: addon.updated_at,
            web_url: `https://data.heroku.com/datastores/${addon.id}`,
            ...extra,
        };
    }

    attachmentJson(att: AttachmentRecord, x: Expansions): Record<string, unknown> {
        const addon = this.state.addons.find((a) => a.id === att.addon_id)!;
        const addonRef: Record<string, unknown> = { id: addon.id, name: addon.name, app: this.appRef(addon.app_id) };
        if (x.include.has("addon:plan")) addonRef.plan = { id: this.plan(addon).id, name: addon.plan_name };
        const out: Record<string, unknown> = {
            addon: addonRef,
            app: this.appRef(att.app_id),
            created_at: att.created_at,
            id: att.id,
            log_input_url: null,
            name: att.name,
            namespace: null,
            updated_at: att.updated_at,
            web_url: `https://data.heroku.com/datastores/${addon.id}`,
        };
        if (x.include.has("config_vars")) out.config_vars = [`${att.name}_URL`];
        return out;
    }

    formationJson(f: FormationRecord): Record<string, unknown> {
        return {
            app: this.appRef(f.app_id),
            command: f.command,
            created_at: f.created_at,
            dyno_size: { id: stableUuid(`dyno-size:${f.size}`), name: f.size },
            id: f.id,
            quantity: f.quantity,
            size: f.size,
            type: f.type,
            updated_at: f.updated_at,
        };
    }

    transferJson(t: TransferRecord, verbose: boolean): Record<string, unknown> {
        // a backup's address follows the bucket (its port changes when the emulator restarts)
        const toUrl = t.to_type === "gof3r" && this.backups ? this.backups.objectUrl(t.uuid) : t.to_url;
        const out: Record<string, unknown> = {
            uuid: t.uuid,
            num: t.num,
            from_name: t.from_name,
            from_type: t.from_type,
            from_url: t.from_url,
            to_name: t.to_name,
            to_type: t.to_type,
            to_url: toUrl,
            options: t.options,
            source_bytes: t.source_bytes,
            processed_bytes: t.processed_bytes,
            succeeded: t.succeeded,
            warnings: t.warnings,
            created_at: t.created_at,
            started_at: t.started_at,
            canceled_at: t.canceled_at,
            updated_at: t.updated_at,
            finished_at: t.finished_at,
            deleted_at: t.deleted_at,
            purged_at: t.purged_at,
            num_keep: t.num_keep,
            schedule: t.schedule,
        };
        if (verbose) out.logs = t.logs.filter((l) => l.level !== "internal").map((l) => ({ created_at: l.created_at, level: l.level, message: l.message }));
        return out;
    }

    // ---- add-on lifecycle ----------------------------------------------------------------

    private track<T>(p: Promise<T>): Promise<T> {
        this.inflight.add(p);
        const done = () => this.inflight.delete(p);
        p.then(done, done);
        return p;
    }

    /** After provisionDelayMs: a real role + database, the config vars, state `provisioned`. */
    scheduleProvisioning(addon: AddonRecord, delayMs = this.opts.provisionDelayMs): void {
        const timer = setTimeout(() => {
            this.timers.delete(timer);
            if (this.stopping) return;
            void this.track(this.provision(addon.id));
        }, Math.max(0, delayMs));
        this.timers.add(timer);
    }

    private async provision(addonId: string): Promise<void> {
        const addon = this.state.addons.find((a) => a.id === addonId);
        if (!addon || addon.state !== "provisioning") return;
        const db = addon.db ?? newAddonCredentials(this.opts.admin, addon.plan_name);
        addon.db = db; // remembered before creation, so a crash leaves something to clean up
        this.save();
        try {
            await createAddonDatabase(this.opts.admin, db);
        } catch (err) {
            addon.state = "deprovisioned";
            addon.updated_at = platformTime();
            this.save();
            this.log(`ERROR provisioning add-on ${addon.name}: could not create role/database on the local PostgreSQL server: ${(err as Error).message}`);
            return;
        }
        if (!this.state.addons.includes(addon)) {
            // destroyed while we were creating it
            await dropAddonDatabase(this.opts.admin, db).catch(() => undefined);
            return;
        }
        const url = databaseUrl(db);
        addon.state = "provisioned";
        for (const att of this.attachmentsOf(addon.id)) {
            this.configVars(att.app_id)[`${att.name}_URL`] = url;
            const app = this.state.apps.find((a) => a.id === att.app_id);
            if (app) recordRelease(this, app, `Update ${att.name} by heroku-postgresql`);
        }
        addon.provisioned_at = new Date().toISOString();
        addon.updated_at = platformTime();
        this.save();
        this.log(`add-on ${addon.name} provisioned: database ${db.database} owned by ${db.user}`);
    }

    /** Removes an add-on: stops its transfers, removes attachments and their config vars, drops the database and role. */
    async deprovision(addon: AddonRecord): Promise<void> {
        for (const t of this.state.transfers.filter((x) => x.addon_id === addon.id && !x.finished_at)) {
            this.restores.get(t.uuid)?.cancel();
            this.captures.get(t.uuid)?.cancel();
        }
        await Promise.all(this.state.transfers.filter((x) => x.addon_id === addon.id).map((t) => this.captures.get(t.uuid)?.done));
        await Promise.all(this.state.transfers.filter((x) => x.addon_id === addon.id).map((t) => this.restores.get(t.uuid)?.done));
        const attachments = this.attachmentsOf(addon.id);
        for (const att of attachments) {
            const vars = this.configVars(att.app_id);
            delete vars[`${att.name}_URL`];
        }
        this.state.attachments = this.state.attachments.filter((t) => t.addon_id !== addon.id);
        for (const att of attachments) {
            const app = this.state.apps.find((a) => a.id === att.app_id);
            if (app) recordRelease(this, app, `Detach ${att.name} (@ref:${addon.name})`);
        }
        this.state.addons = this.state.addons.filter((a) => a !== addon);
        addon.state = "deprovisioned";
        addon.updated_at = platformTime();
        this.save();
        if (addon.db) {
            try {
                await this.track(dropAddonDatabase(this.opts.admin, addon.db));
                this.log(`add-on ${addon.name} deprovisioned: dropped database ${addon.db.database} and role ${addon.db.user}`);
            } catch (err) {
                this.log(`ERROR deprovisioning add-on ${addon.name}: could not drop database ${addon.db.database} / role ${addon.db.user}: ${(err as Error).message}`);
            }
        }
    }

    /** Queues a restore (one at a time per add-on, like Heroku). */
    queueRestore(t: TransferRecord, addon: AddonRecord, extensions: Array<{ name: string; schema: string }>): void {
        const prev = this.queues.get(addon.id) ?? Promise.resolve();
        const next = prev.then(async () => {
            if (this.stopping || t.finished_at) return;
            const current = this.state.addons.find((a) => a.id === addon.id);
            if (!current || !current.db) {
                t.succeeded = false;
                t.finished_at = dataTime();
                t.logs.push({ created_at: dataTime(), level: "info", message: "the target database no longer exists" });
                this.save();
                return;
            }
            let pgRestorePath: string;
            try {
                pgRestorePath = this.opts.pgRestorePath();
            } catch (err) {
                t.succeeded = false;
                t.started_at = dataTime();
                t.finished_at = dataTime();
                t.logs.push({ created_at: dataTime(), level: "info", message: `pg_restore is not available: ${(err as Error).message}` });
                this.save();
                this.log(`ERROR transfer ${t.uuid}: ${(err as Error).message}`);
                return;
            }
            const running = startRestore(t, current, extensions, {
                admin: this.opts.admin,
                pgRestorePath,
                log: (l) => this.log(l),
                save: () => this.save(),
            });
            this.restores.set(t.uuid, running);
            await running.done;
            this.restores.delete(t.uuid);
        });
        this.queues.set(addon.id, next);
        void this.track(next);
    }

    /** pg:backups:capture: a pg_dump of the add-on's database into the bucket. */
    startBackup(addon: AddonRecord): TransferRecord {
        if (!this.backups) throw new Error("the emulator has no backup store");
        const t = newBackupTransfer(this, this.backups, addon);
        this.state.transfers.push(t);
        this.save();
        let pgDumpPath: string;
        try {
            pgDumpPath = this.opts.pgDumpPath();
        } catch (err) {
            const now = dataTime();
            Object.assign(t, { started_at: now, finished_at: now, updated_at: now, succeeded: false });
            t.logs.push({ created_at: now, level: "info", message: `pg_dump is not available: ${(err as Error).message}` });
            this.save();
            return t;
        }
        const running = startCapture(t, addon, { admin: this.opts.admin, pgDumpPath, store: this.backups, save: () => this.save(), log: (l) => this.log(l) });
        this.captures.set(t.uuid, running);
        void this.track(running.done.finally(() => this.captures.delete(t.uuid)));
        return t;
    }

    cancelTransfer(t: TransferRecord): void {
        const capture = this.captures.get(t.uuid);
        if (capture) {
            capture.cancel();
            return;
        }
        const running = this.restores.get(t.uuid);
        if (running) {
            running.cancel();
            return;
        }
        if (!t.finished_at) {
            const now = dataTime();
            t.canceled_at = now;
            t.finished_at = now;
            t.succeeded = false;
            t.updated_at = now;
            this.save();
        }
    }

    waitRestoresOf(addonId: string): Promise<void> {
        return this.queues.get(addonId) ?? Promise.resolve();
    }

    /** Resumes what a previous emulator process left unfinished. */
    resumeAfterRestart(): void {
        for (const addon of this.state.addons) {
            if (addon.state !== "provisioning") continue;
            const age = Date.now() - Date.parse(addon.created_at);
            this.scheduleProvisioning(addon, this.opts.provisionDelayMs - age);
        }
        for (const t of this.state.transfers) {
            if (t.finished_at) continue;
            const now = dataTime();
            t.logs.push({ created_at: now, level: "info", message: "transfer interrupted: the Heroku emulator was restarted" });
            t.succeeded = false;
            t.finished_at = now;
            t.updated_at = now;
        }
        this.save();
    }

    async stop(): Promise<void> {
        this.stopping = true;
        for (const t of this.timers) clearTimeout(t);
        this.timers.clear();
        for (const r of this.restores.values()) r.abort("transfer interrupted: the Heroku emulator was stopped");
        for (const c of this.captures.values()) c.abort("transfer interrupted: the Heroku emulator was stopped");
        while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
        this.save();
    }
}
