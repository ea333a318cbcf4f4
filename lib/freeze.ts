/**
 * The write freeze: what stops writes to the source between the dump and the cutover.
 *
 * - maintenance: Heroku maintenance mode on `app` and the listed process types scaled to zero
 *   (the guide's `heroku maintenance:on` + `heroku ps:scale worker=0`); the previous
 *   quantities are recorded and restored when the freeze is lifted.
 * - readonly-source: `ALTER DATABASE ... SET default_transaction_read_only = on` on the source,
 *   and other sessions of that database are ended so they reconnect read-only.
 * - hook: the user's freezeCommand / unfreezeCommand (must be idempotent).
 * - none: nothing is frozen; writes during the migration are lost (warned in preflight).
 */
import { execFile } from "child_process";
import { MigrationError, errorMessage } from "./errors";
import * as heroku from "./heroku";
import { withClient } from "./pg";
import { progress } from "./progress";
import type { FreezeMode } from "./config";
import type { PgConnection } from "./types";

export interface FreezeSpec {
    mode: FreezeMode;
    /** Heroku app for maintenance mode. */
    app: string;
    scaleDown: string[];
    command?: string;
    unfreezeCommand?: string;
}

export interface FreezeRecord {
    mode: FreezeMode;
    app: string;
    /** Maintenance was already on before we froze: then we leave it on when lifting. */
    maintenanceBefore: boolean;
    /** Quantities of the scaled-down process types before the freeze. */
    formationBefore: { type: string; quantity: number }[];
    /** Source database's default_transaction_read_only before the freeze ("" = not set). */
    readOnlyBefore: string;
    appliedAt: string;
}

export interface FreezeContext {
    /** Needed for readonly-source. Password comes from provider configuration, never state. */
    source?: PgConnection;
}

function runShell(command: string, what: string): Promise<string> {
    return new Promise((resolve, reject) => {
        execFile("/bin/sh", ["-c", command], { timeout: 10 * 60 * 1000, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
            if (err) {
                reject(new MigrationError("WriteFreeze", `${what} \`${command}\` failed (${errorMessage(err)}): ${String(stderr).trim().split("\n").slice(-5).join(" | ")}`, "Fix the command (it must exit 0 and be safe to run twice), then run `pulumi up` again."));
            } else resolve(String(stdout));
        });
    });
}

function quoteIdent(name: string): string {
    return `"${name.replace(/"/g, '""')}"`;
}

/** Ends the other client sessions of the current database (those this role may end). */
async function endOtherSessions(c: import("pg").Client): Promise<{ ended: number; total: number }> {
    const r = await c.query(
        `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS ended, count(*) AS total
           FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
    );
    return { ended: Number(r.rows[0].ended), total: Number(r.rows[0].total) };
}

async function readOnlySetting(conn: PgConnection): Promise<string> {
    return withClient(conn, async (c) => {
        const r = await c.query(
            `SELECT coalesce((SELECT s FROM pg_db_role_setting d, unnest(d.setconfig) s
                              WHERE d.setrole = 0 AND d.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
                                AND s LIKE 'default_transaction_read_only=%'), '') AS v`,
        );
        return String(r.rows[0].v).replace(/^default_transaction_read_only=/, "");
    });
}

/**
 * Applies the freeze. Idempotent: with `previous` (a resumed run), the "before" values are kept
 * from the first application, so lifting restores the state from before the migration.
 */
export async function applyFreeze(spec: FreezeSpec, ctx: FreezeContext, previous?: FreezeRecord): Promise<FreezeRecord> {
    const record: FreezeRecord = previous ?? {
        mode: spec.mode,
        app: spec.app,
        maintenanceBefore: false,
        formationBefore: [],
        readOnlyBefore: "",
        appliedAt: new Date().toISOString(),
    };
    switch (spec.mode) {
        case "maintenance": {
            const ep = heroku.herokuEndpointsFromEnv();
            const app = await heroku.getApp(ep, spec.app);
            if (!app) {
                throw new MigrationError("WriteFreeze", `the Heroku app "${spec.app}" to put in maintenance mode does not exist.`, "Set `freezeApp` to the app that writes to the source database, or use freezeMode readonly-source or hook.");
            }
            if (!previous) {
                record.maintenanceBefore = app.maintenance === true;
                const formation = await heroku.getFormation(ep, spec.app);
                record.formationBefore = formation
                    .filter((f) => spec.scaleDown.includes(f.type))
                    .map((f) => ({ type: f.type, quantity: f.quantity }));
            }
            if (!app.maintenance) await heroku.setMaintenance(ep, spec.app, true);
            const toScale = record.formationBefore.filter((f) => f.quantity > 0).map((f) => ({ type: f.type, quantity: 0 }));
            try {
                if (toScale.length > 0) await heroku.scaleFormation(ep, spec.app, toScale);
            } catch (err) {
                // A failed create leaves no state behind: the retry would record "maintenance was
                // on before" and leave the app in maintenance after the cutover. Undo it now.
                if (!previous && !app.maintenance) await heroku.setMaintenance(ep, spec.app, false).catch(() => undefined);
                throw err;
            }
            progress("WriteFreeze", `app ${spec.app}: maintenance on${toScale.length ? `, scaled to 0: ${toScale.map((f) => f.type).join(", ")}` : ""}`);
            break;
        }
        case "readonly-source": {
            const conn = ctx.source;
            if (!conn) throw new MigrationError("WriteFreeze", "readonly-source needs the source connection.", "Set sourcePassword in the stack config.");
            if (!previous) record.readOnlyBefore = await readOnlySetting(conn);
            const ended = await withClient(conn, async (c) => {
                // On a resumed run this session itself starts read-only (the database default).
                await c.query("SET default_transaction_read_only = off");
                await c.query(`ALTER DATABASE ${quoteIdent(conn.database)} SET default_transaction_read_only = on`);
                return endOtherSessions(c);
            });
            progress("WriteFreeze", `source database ${conn.database} set read-only; ended ${ended.ended} of ${ended.total} other sessions`);
            if (ended.ended < ended.total) {
                progress("WriteFreeze", `warning: ${ended.total - ended.ended} sessions could not be ended (no permission) and may still write until they reconnect`);
            }
            break;
        }
        case "hook":
            await runShell(spec.command ?? "", "freezeCommand");
            progress("WriteFreeze", "freezeCommand succeeded");
            break;
        case "none":
            progress("WriteFreeze", "warning: freezeMode none: writes to the source during the migration will not reach Heroku");
            break;
    }
    return record;
}

/** Lifts the freeze, restoring what was there before. Idempotent. */
export async function liftFreeze(spec: FreezeSpec, record: FreezeRecord, ctx: FreezeContext): Promise<void> {
    switch (record.mode) {
        case "maintenance": {
            const ep = heroku.herokuEndpointsFromEnv();
            const app = await heroku.getApp(ep, record.app);
            if (!app) return;
            const restore = record.formationBefore.filter((f) => f.quantity > 0);
            if (restore.length > 0) await heroku.scaleFormation(ep, record.app, restore);
            if (!record.maintenanceBefore && app.maintenance) await heroku.setMaintenance(ep, record.app, false);
            progress("WriteFreeze", `app ${record.app}: maintenance ${record.maintenanceBefore ? "left on (it was on before)" : "off"}${restore.length ? `, scaled back: ${restore.map((f) => `${f.type}=${f.quantity}`).join(", ")}` : ""}`);
            break;
        }
        case "readonly-source": {
            const conn = ctx.source;
            if (!conn) throw new MigrationError("WriteFreeze", "lifting readonly-source needs the source connection.", "Set sourcePassword in the stack config.");
            const ended = await withClient(conn, async (c) => {
                const db = quoteIdent(conn.database);
                // This session started read-only (the database default set by the freeze), and
                // ALTER DATABASE is refused in a read-only transaction.
                await c.query("SET default_transaction_read_only = off");
                if (record.readOnlyBefore === "") await c.query(`ALTER DATABASE ${db} RESET default_transaction_read_only`);
                else await c.query(`ALTER DATABASE ${db} SET default_transaction_read_only = ${record.readOnlyBefore === "on" ? "on" : "off"}`);
                // Sessions opened during the freeze keep their read-only default until they
                // reconnect: end them so that writes really resume.
                return record.readOnlyBefore === "on" ? undefined : endOtherSessions(c);
            });
            progress("WriteFreeze", `source database ${conn.database} writable again${ended ? `; ended ${ended.ended} of ${ended.total} sessions opened while it was read-only` : ""}`);
            break;
        }
        case "hook":
            await runShell(spec.unfreezeCommand ?? "", "unfreezeCommand");
            progress("WriteFreeze", "unfreezeCommand succeeded");
            break;
        case "none":
            break;
    }
}

/** Whether the freeze is still in effect; undefined when it cannot be known (hook). */
export async function freezeInEffect(record: FreezeRecord, ctx: FreezeContext): Promise<boolean | undefined> {
    switch (record.mode) {
        case "maintenance": {
            const app = await heroku.getApp(heroku.herokuEndpointsFromEnv(), record.app);
            return app?.maintenance === true;
        }
        case "readonly-source":
            return ctx.source ? (await readOnlySetting(ctx.source)) === "on" : undefined;
        case "hook":
            return undefined;
        case "none":
            return true;
    }
}

/**
 * What became of the dump when a failed stage lifted the freeze: deleted (the default), not
 * deleted (storage unreachable: HerokuRestore refuses a dump made before the freeze was lifted,
 * so it is never restored), or none stored (the dump itself failed; blocks are committed only
 * after pg_dump succeeds).
 */
export type DumpFate = "deleted" | "not-deleted" | "none";

/** One sentence for error messages: where the freeze stands after a failure. */
export function freezeStatusSentence(spec: FreezeSpec, lifted: boolean, dump: DumpFate = "deleted"): string {
    const what = spec.mode === "maintenance" ? `maintenance mode on Heroku app "${spec.app}"`
        : spec.mode === "readonly-source" ? "the read-only setting on the source database"
        : spec.mode === "hook" ? "the freeze made by freezeCommand" : "";
    if (!what) return "No write freeze was configured (freezeMode none).";
    if (lifted) {
        const fate = { deleted: " and the stale dump deleted", "not-deleted": " (the stale dump could not be deleted; it will not be restored)", none: " (no dump was stored)" }[dump];
        return `The write freeze (${what}) was lifted${fate}; the source is intact and in use. Fix the cause and run \`pulumi up\` again: it freezes writes and dumps again.`;
    }
    const how = spec.mode === "maintenance" ? `\`heroku maintenance:off -a ${spec.app}\` (and scale ${spec.scaleDown.join(", ")} back)`
        : spec.mode === "readonly-source" ? "`SET default_transaction_read_only = off; ALTER DATABASE ... RESET default_transaction_read_only` on the source"
        : "your unfreezeCommand";
    return `The write freeze (${what}) is STILL ON; the source is intact. Fix the cause and run \`pulumi up\` again to resume, or lift the freeze by hand with ${how}.`;
}
