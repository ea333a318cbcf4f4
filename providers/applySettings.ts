/**
 * ApplySettings: the guide's "find any configurations from your Azure setup and reapply them to
 * your Heroku Postgres instance", done after the restore and before verification. Preflight
 * planned it (lib/settings.ts): the `database` group is set with ALTER DATABASE/ROLE ... SET as
 * Heroku's credential, the `heroku` group through the Data API as `heroku pg:settings` does; the
 * settings Heroku cannot take were listed in preview and are not touched. Verification then
 * requires each applied setting to be equal on both sides.
 *
 * Runs again when the restore or the plan changes. A failure says where the freeze stands (as
 * every stage after it). Delete changes nothing: the settings stay on the kept database.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ArgsOf } from "./args";
import { progress } from "../lib/progress";
import * as heroku from "../lib/heroku";
import { applyDatabaseSettings, applyHerokuSettings, type AppliedSetting } from "../lib/settingsApply";
import { guardedStage, stageGuard, type GuardInputs } from "../lib/stage";
import { configureSource, sourceConnection, type SourceAware } from "./configured";
import type { PlannedSetting } from "../lib/settings";

/** What the provider receives; ApplySettingsArgs is the same with each field accepting an Output. */
export interface ApplySettingsInputs {
    /** Secret: the add-on's DATABASE_URL. */
    targetUrl: string;
    addonId: string;
    addonName: string;
    /** The restore this runs after: a new restore applies the settings again. */
    restoreId: string;
    /** lib/settings.ts plan.database and plan.heroku. */
    database: PlannedSetting[];
    heroku: PlannedSetting[];
    /** The source, the freeze, the dump's blob and what a failure undoes (lib/stage.ts); the account key is its own input. */
    guard: GuardInputs;
    /** Secret: the storage account key (deletes the dump after a failure). */
    accountKey: string;
}
export type ApplySettingsArgs = ArgsOf<ApplySettingsInputs>;

type Inputs = ApplySettingsInputs;
interface Outputs extends Inputs {
    applied: AppliedSetting[];
    /** Server parameters the new database refused (left out, reported). */
    notApplied: { name: string; value: string; reason: string }[];
    /** Lower-case names of the applied settings that came from the source, for verification's requireSettings (a settingsOverride differs from the source on purpose). */
    appliedNames: string[];
    appliedAt: string;
}

/** The applied settings verification requires equal to the source: all but settingsOverride's. */
export function requiredNames(inputs: Pick<Inputs, "database" | "heroku">, applied: AppliedSetting[]): string[] {
    const overridden = new Set([...inputs.database, ...inputs.heroku].filter((p) => p.origin === "override").map((p) => p.name.toLowerCase()));
    return [...new Set(applied.map((a) => a.name.toLowerCase()))].filter((n) => !overridden.has(n)).sort();
}

export const applySettingsProvider: pulumi.dynamic.ResourceProvider<Inputs, Outputs> & SourceAware = {
    async configure(req) {
        configureSource(this, req);
    },

    async diff(_id: string, olds: Outputs, news: Inputs) {
        const replaces: string[] = [];
        if (olds.restoreId !== news.restoreId) replaces.push("restoreId");
        if (JSON.stringify(olds.database) !== JSON.stringify(news.database)) replaces.push("database");
        if (JSON.stringify(olds.heroku) !== JSON.stringify(news.heroku)) replaces.push("heroku");
        if (olds.addonId !== news.addonId) replaces.push("addonId");
        return { changes: replaces.length > 0, replaces, deleteBeforeReplace: true };
    },

    async create(inputs: Inputs) {
        const source = sourceConnection(inputs.guard.source, this.sourcePassword);
        return guardedStage("ApplySettings", stageGuard(inputs.guard, inputs.accountKey), { source }, async () => {
            const db = await applyDatabaseSettings(inputs.targetUrl, inputs.database);
            const applied = [...db, ...(await applyHerokuSettings(heroku.herokuEndpointsFromEnv(), inputs.addonId, inputs.addonName, inputs.heroku))];
            const notApplied = (db.refused ?? []).map((r) => ({ ...r, reason: `${inputs.addonName} refused the source's server parameter: ${r.error}` }));
            for (const a of applied) progress("ApplySettings", `${a.name}=${a.value} (${a.via}); ${inputs.addonName} now shows ${a.result}`);
            for (const n of notApplied) progress("ApplySettings", `warning: ${n.name}=${n.value} not carried over: ${n.reason} (not required by verification; settingsSkip silences it, settingsOverride gives another value)`);
            if (applied.length === 0) progress("ApplySettings", "no source setting to carry over");
            const outs: Outputs = { ...inputs, applied, notApplied, appliedNames: requiredNames(inputs, applied), appliedAt: new Date().toISOString() };
            return { id: `settings-${inputs.restoreId}`, outs };
        });
    },

    async delete() {
        // The settings stay on the database, which is kept.
    },
};

export class ApplySettings extends pulumi.dynamic.Resource {
    declare readonly applied: pulumi.Output<AppliedSetting[]>;
    declare readonly notApplied: pulumi.Output<{ name: string; value: string; reason: string }[]>;
    declare readonly appliedNames: pulumi.Output<string[]>;
    declare readonly appliedAt: pulumi.Output<string>;

    constructor(name: string, args: ApplySettingsArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            applySettingsProvider,
            name,
            { ...args, targetUrl: pulumi.secret(args.targetUrl), accountKey: pulumi.secret(args.accountKey), applied: undefined, notApplied: undefined, appliedNames: undefined, appliedAt: undefined },
            { ...opts, additionalSecretOutputs: ["targetUrl", "accountKey"] },
            "migration",
            "ApplySettings",
        );
    }
}
