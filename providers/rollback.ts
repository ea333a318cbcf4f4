/**
 * Rollback: the way back after cutover. Exists only while config `rollback` is true, after
 * Cutover, from Cutover's recorded outputs (lib/rollback.ts holds the logic).
 *
 * create: with freezeMode maintenance, freezes the app again (so no write lands between the count
 * and the switch); counts writes to the new database since the cutover; refuses, naming the tables
 * and sequences, unless each is acknowledged (`rollback_writes`), and then lifts that freeze again,
 * so the app stays on Heroku. Otherwise it puts back every config var Cutover changed (the
 * dependent apps' DATABASE_URL; the target's cutover marker is unset, so a fresh restore may be
 * made later), marks the target app as rolled back, and lifts the write freeze (the migration's
 * own, restoring the quantities from before the migration). Nothing is deleted.
 *
 * diff: replaced only when Cutover is (a new cutover, rolled back again while `rollback` stays
 * true). delete (`rollback: false` again, or destroy): changes nothing. The apps stay where the
 * rollback put them and Cutover does not run again by itself; it refuses a re-run on a
 * verification older than the rollback.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ArgsOf } from "./args";
import * as heroku from "../lib/heroku";
import { applyFreeze, freezeInEffect, freezeStatusSentence, liftFreeze } from "../lib/freeze";
import { MigrationError, errorMessage } from "../lib/errors";
import { parseDatabaseUrl } from "../lib/pg";
import { progress } from "../lib/progress";
import { registerSecret } from "../lib/redact";
import { ROLLBACK_MARKER } from "../lib/markers";
import {
    ROLLBACK_ACK_CODE, describeWrites, hasWrites, readWriteCounters, unacknowledgedWrites,
    joinChanges, writesSince, type ConfigChange, type RecordedChange, type WriteCounters, type WritesSince,
} from "../lib/rollback";
import { configureSource, sourceConnection, type SourceAware } from "./configured";
import type { AcknowledgeEntry, SourceSettings } from "../lib/config";
import type { FreezeState } from "../lib/stage";

/** What the provider receives; RollbackArgs is the same with each field accepting an Output. */
export interface RollbackInputs {
    cutoverId: string;
    app: string;
    addonName: string;
    /** Secret: the new database, where writes since the cutover are counted. */
    databaseUrl: string;
    /** Cutover's `changes`: which config vars of which apps. */
    changes: RecordedChange[];
    /** Secret: Cutover's `previousValues`, in the order of `changes`. */
    previousValues: (string | null)[];
    baseline: WriteCounters;
    cutoverAt: string;
    freeze: FreezeState;
    source: SourceSettings;
    /** The `acknowledge` entries with the code `rollback_writes`. @default [] */
    acknowledge?: AcknowledgeEntry[];
}
export type RollbackArgs = ArgsOf<RollbackInputs>;

type Inputs = RollbackInputs;
interface Outputs extends Inputs {
    rolledBackAt: string;
    /** app: config var names put back (values are in `changes`). */
    restored: { app: string; names: string[] }[];
    /** The writes found and acknowledged (lost to the rollback unless copied back by hand). */
    writes: WritesSince;
    acknowledgedBy: string[];
    freezeLifted: boolean;
}

export const rollbackProvider: pulumi.dynamic.ResourceProvider<Inputs, Outputs> & SourceAware = {
    async configure(req) {
        configureSource(this, req);
    },

    async check(olds: Partial<Inputs> | undefined, news: Inputs) {
        // Before a rollback is made (preview and up; `olds` are the inputs of one already made):
        // say whether it would go ahead. Counting only reads; create decides.
        if (olds?.cutoverId || !news.databaseUrl || !news.baseline) return { inputs: news };
        try {
            registerSecret(news.databaseUrl);
            const writes = writesSince(news.baseline, await readWriteCounters(parseDatabaseUrl(news.databaseUrl, "DATABASE_URL")));
            const { keys } = unacknowledgedWrites(writes, news.acknowledge ?? []);
            progress("Rollback", !hasWrites(writes) ? `writes to ${news.addonName} since the cutover so far: none`
                : `writes to ${news.addonName} since the cutover so far: ${describeWrites(writes).join("; ")}${keys.length ? `; the rollback refuses unless acknowledged (${keys.join(", ")})` : " (acknowledged)"}`);
        } catch (err) {
            progress("Rollback", `writes to ${news.addonName} since the cutover could not be counted yet: ${errorMessage(err)}`);
        }
        return { inputs: news };
    },

    async diff(_id: string, olds: Outputs, news: Inputs) {
        const replace = olds.cutoverId !== news.cutoverId;
        return { changes: replace, replaces: replace ? ["cutoverId"] : [], deleteBeforeReplace: true };
    },

    async create(inputs: Inputs) {
        if (!inputs.changes || !inputs.previousValues || !inputs.baseline) {
            throw new MigrationError("Rollback", `the cutover of ${inputs.cutoverAt} was made by an earlier version of this program, which did not record the previous config vars or the write counters; nothing was changed.`,
                `Roll back by hand: \`heroku config:set DATABASE_URL=<the previous URL> -a <app>\` on each of \`dependentApps\`, after checking ${inputs.addonName} for writes since the cutover. Then set \`rollback\` back to false.`);
        }
        registerSecret(inputs.databaseUrl);
        for (const v of inputs.previousValues) registerSecret(v);
        const recorded = joinChanges(inputs.changes, inputs.previousValues);
        const ep = heroku.herokuEndpointsFromEnv();
        const ctx = { source: sourceConnection(inputs.source, this.sourcePassword) };
        const spec = inputs.freeze.spec;
        // Maintenance mode stops the app's writes to the new database while they are counted and
        // until DATABASE_URL points back; other freeze modes act on the source, not on Heroku.
        const holdApp = spec.mode === "maintenance";
        if (holdApp) await applyFreeze(spec, ctx, inputs.freeze.record);

        let writes: WritesSince;
        let acknowledgedBy: string[];
        try {
            const now = await readWriteCounters(parseDatabaseUrl(inputs.databaseUrl, "DATABASE_URL"));
            writes = writesSince(inputs.baseline, now);
            const { keys, acknowledged } = unacknowledgedWrites(writes, inputs.acknowledge ?? []);
            acknowledgedBy = acknowledged.map((a) => a.entry);
            if (keys.length > 0) {
                const found = describeWrites(writes);
                throw new MigrationError("Rollback", `refused: ${inputs.addonName} was written since the cutover at ${inputs.cutoverAt}: ${found.join("; ")}. A rollback would leave these writes behind on Heroku.`,
                    `Nothing was changed: the apps still use ${inputs.addonName}${holdApp ? ` (the maintenance freeze applied for the count was lifted again)` : ""}. Copy those rows to the Azure database by hand first, then acknowledge; or acknowledge to lose them: ${keys.map((k, i) => `\`pulumi config set --path 'acknowledge[${(inputs.acknowledge ?? []).length + i}]' '${k}=<why>'\``).join(", ")} (\`${ROLLBACK_ACK_CODE}=<why>\` covers all), then \`pulumi up\` again.`);
            }
            if (hasWrites(writes)) progress("Rollback", `warning: acknowledged writes since the cutover stay on ${inputs.addonName} only: ${describeWrites(writes).join("; ")}`);
            else progress("Rollback", `no writes to ${inputs.addonName} since the cutover at ${inputs.cutoverAt}`);
        } catch (err) {
            if (holdApp) await liftFreeze(spec, inputs.freeze.record, ctx).catch((e) => progress("Rollback", `lifting the freeze again failed: ${errorMessage(e)}`));
            throw err;
        }

        const restored: { app: string; names: string[] }[] = [];
        const byApp = new Map<string, ConfigChange[]>();
        for (const c of recorded) byApp.set(c.app, [...(byApp.get(c.app) ?? []), c]);
        const rolledBackAt = new Date().toISOString();
        for (const [app, changes] of byApp) {
            const vars: Record<string, string | null> = {};
            for (const c of changes) {
                if (c.beforeUnknown) progress("Rollback", `warning: ${app} ${c.name} left as is: its value before the cutover is unknown (it already had the new value when the cutover ran); set it by hand`);
                else vars[c.name] = c.before;
            }
            if (app === inputs.app) vars[ROLLBACK_MARKER] = rolledBackAt;
            try {
                await heroku.setConfigVars(ep, app, vars);
            } catch (err) {
                const done = restored.length ? ` Already put back on ${restored.map((r) => r.app).join(", ")}.` : "";
                throw new MigrationError("Rollback", `could not put back ${Object.keys(vars).join(", ")} on app "${app}": ${errorMessage(err)}.${done}`,
                    `Fix the cause (this API key's access to the app) and run \`pulumi up\` again: the rollback is repeated from the start. ${freezeStatusSentence(spec, false)}`);
            }
            const names = Object.keys(vars).filter((n) => n !== ROLLBACK_MARKER);
            restored.push({ app, names });
            for (const c of changes.filter((x) => names.includes(x.name))) {
                progress("Rollback", c.name === "DATABASE_URL" ? `DATABASE_URL of ${app} points back at its previous database` : `${app} ${c.name} ${c.before === null ? "unset" : "put back"}`);
            }
        }
        // Lift any freeze still on: the one applied above, or the migration's own.
        const inEffect = await freezeInEffect(inputs.freeze.record, ctx);
        if (inEffect !== false && spec.mode !== "none") await liftFreeze(spec, inputs.freeze.record, ctx);
        progress("Rollback", `done: the dependent apps use their previous database again; ${inputs.app} and ${inputs.addonName} are kept`);
        return {
            id: `rollback-${inputs.cutoverId}`,
            outs: { ...inputs, rolledBackAt, restored, writes, acknowledgedBy, freezeLifted: inEffect !== false && spec.mode !== "none" },
        };
    },

    async delete(_id: string, props: Outputs) {
        // `rollback: false` again, or destroy: the rollback stays. Cutover does not run again by itself.
        progress("Rollback", `the rollback of ${props.rolledBackAt} stays in effect: the dependent apps keep their previous DATABASE_URL. To migrate again, run a fresh dump and restore (\`pulumi up --replace <the migration-dump URN>\`).`);
    },
};

export class Rollback extends pulumi.dynamic.Resource {
    declare readonly rolledBackAt: pulumi.Output<string>;
    declare readonly restored: pulumi.Output<{ app: string; names: string[] }[]>;
    declare readonly writes: pulumi.Output<WritesSince>;
    declare readonly acknowledgedBy: pulumi.Output<string[]>;
    declare readonly freezeLifted: pulumi.Output<boolean>;

    constructor(name: string, args: RollbackArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            rollbackProvider,
            name,
            {
                ...args, databaseUrl: pulumi.secret(args.databaseUrl), previousValues: pulumi.secret(args.previousValues),
                rolledBackAt: undefined, restored: undefined, writes: undefined, acknowledgedBy: undefined, freezeLifted: undefined,
            },
            { ...opts, additionalSecretOutputs: ["databaseUrl", "previousValues"] },
            "migration",
            "Rollback",
        );
    }
}
