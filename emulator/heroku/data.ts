/**
 * The Heroku Postgres Data API subset (host `api.data.heroku.com`, paths `/client/v11/...`) that
 * `heroku pg:wait`, `pg:backups:restore`, `pg:backups`, `pg:backups:info` and
 * `pg:backups:cancel` call, as read from the Heroku CLI's source (heroku/dist/commands/pg,
 * heroku/dist/lib/pg). Transfers have the fields of transferatu's serializer plus `warnings`.
 */
import type { EmulatorCore } from "./core";
import type { Route } from "./router";
import type { AddonRecord, TransferRecord } from "./state";
import { databaseUrl } from "./db";
import { isSupportedExtension } from "./extensions";
import { parseExtensionRequest } from "./restore";
import { ApiError, dataTime, invalidParams, notFound } from "./util";

function findDatabase(core: EmulatorCore, id: string): AddonRecord {
    const addon = core.state.addons.find((a) => a.id === id || a.name === id);
    if (!addon) throw notFound("Couldn't find that database.", "database");
    return addon;
}

function findTransfer(core: EmulatorCore, appRef: string, id: string): TransferRecord {
    const app = core.findApp(appRef);
    const t = core.state.transfers.find(
        (x) => x.app_id === app.id && !x.deleted_at && (x.uuid === id || (/^\d+$/.test(id) && x.num === Number(id))),
    );
    if (!t) throw notFound("Couldn't find that transfer.", "transfer");
    return t;
}

export function dataRoutes(core: EmulatorCore): Route[] {
    return [
        {
            method: "GET",
            path: "/client/v11/databases/:addon/wait_status",
            handler: ({ params }) => {
                const addon = findDatabase(core, params.addon);
                if (addon.state === "deprovisioned") return { status: 200, body: { "waiting?": false, "error?": true, message: "Provisioning failed" } };
                if (addon.state === "provisioning") return { status: 200, body: { "waiting?": true, "error?": false, message: "Provisioning" } };
                const readyAt = Date.parse(addon.provisioned_at ?? addon.updated_at) + core.opts.waitStatusDelayMs;
                if (Date.now() < readyAt) return { status: 200, body: { "waiting?": true, "error?": false, message: "Starting" } };
                return { status: 200, body: { "waiting?": false, "error?": false, message: "Available" } };
            },
        },
        {
            method: "POST",
            path: "/client/v11/databases/:addon/restores",
            handler: ({ params, body }) => {
                const addon = findDatabase(core, params.addon);
                if (addon.state !== "provisioned" || !addon.db) {
                    throw new ApiError(422, "unprocessable_entity", "The database is not available yet. Wait for it with `heroku pg:wait` and try again.");
                }
                const backupUrl = body.backup_url;
                if (typeof backupUrl !== "string" || !/^https?:\/\/[^\s]+$/i.test(backupUrl)) {
                    throw invalidParams("backup_url must be an http:// or https:// URL of a pg_dump custom-format archive.");
                }
                let extensions: Array<{ name: string; schema: string }> = [];
                if (body.extensions !== undefined && body.extensions !== null) {
                    if (!Array.isArray(body.extensions) || body.extensions.some((e) => typeof e !== "string")) {
                        throw invalidParams("extensions must be a list of extension names (name or schema.name).");
                    }
                    extensions = parseExtensionRequest(body.extensions as string[]);
                    const bad = extensions.filter((e) => !isSupportedExtension(e.name)).map((e) => e.name);
                    if (bad.length > 0) throw invalidParams(`Extension${bad.length > 1 ? "s" : ""} not supported on Heroku Postgres: ${bad.join(", ")}.`);
                }
                // `pg:backups:restore b001` sends the backup's to_url: read it as transferatu reads its own bucket
                const ownBackup = core.backups?.ownObject(backupUrl);
                const readUrl = ownBackup ? core.backups!.signedUrl(ownBackup, 3600, true).url : backupUrl;
                const toUrl = databaseUrl(addon.db);
                const transfer: TransferRecord = core.newTransfer(addon, (attachment) => ({
                    from_name: "BACKUP",
                    from_type: "htcat",
                    from_url: readUrl,
                    to_name: attachment,
                    to_type: "pg_restore",
                    to_url: toUrl,
                }));
                core.state.transfers.push(transfer);
                core.save();
                core.queueRestore(transfer, addon, extensions);
                core.log(`restore r${String(transfer.num).padStart(3, "0")} (${transfer.uuid}) into ${addon.name} queued`);
                return { status: 201, body: core.transferJson(transfer, false) };
            },
        },
        {
            method: "GET",
            path: "/client/v11/apps/:app/transfers",
            handler: ({ params }) => {
                const app = core.findApp(params.app);
                const list = core.state.transfers.filter((t) => t.app_id === app.id && !t.deleted_at).sort((a, b) => a.num - b.num);
                return { status: 200, body: list.map((t) => core.transferJson(t, false)) };
            },
        },
        {
            method: "GET",
            path: "/client/v11/apps/:app/transfers/:id",
            handler: ({ params, query }) => ({ status: 200, body: core.transferJson(findTransfer(core, params.app, params.id), query.get("verbose") === "true") }),
        },
        {
            method: "POST",
            path: "/client/v11/apps/:app/transfers/:id/actions/cancel",
            handler: ({ params }) => {
                const t = findTransfer(core, params.app, params.id);
                core.cancelTransfer(t);
                if (!t.canceled_at) t.canceled_at = dataTime();
                core.save();
                return { status: 201, body: core.transferJson(t, false) };
            },
        },
        {
            method: "DELETE",
            path: "/client/v11/apps/:app/transfers/:id",
            handler: ({ params }) => {
                const t = findTransfer(core, params.app, params.id);
                if (!t.finished_at) throw new ApiError(422, "unprocessable_entity", "The transfer is still running; cancel it first.");
                t.deleted_at = dataTime();
                if (t.to_type === "gof3r") core.backups?.remove(t.uuid);
                core.save();
                return { status: 200, body: core.transferJson(t, false) };
            },
        },
    ];
}
