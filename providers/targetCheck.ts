/**
 * TargetCheck: asks the new Heroku database itself, before anything is frozen, whether it will
 * accept the restore. Preflight judges extensions against Heroku's published list
 * (lib/extensions.ts) because in `pulumi preview` the database does not exist yet; once the
 * add-on is available, its own allow-list is the truth. Heroku documents the check as
 * `echo 'show extwlist.extensions' | heroku pg:psql`; Essential-tier databases hold the list in
 * `rds.allowed_extensions` instead (the Heroku CLI's `pg:extensions` reads that one for essential
 * plans). An extension the restore needs that the database does not allow (or does not have
 * installed at all, pg_available_extensions) fails here, so WriteFreeze, which depends on this
 * resource, never freezes the app for a restore that would fail.
 *
 * It also records the target's PostgreSQL version and warns when it is older than the source's
 * (pg_dump's archive from a newer server is not guaranteed to restore into an older one).
 *
 * Read-only on the target; nothing to delete. Re-runs when the extensions or the database change.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ArgsOf } from "./args";
import { MigrationError } from "../lib/errors";
import { assessTarget, bareName, readTargetFacts } from "../lib/targetFacts";
import { progress } from "../lib/progress";
import { quoteExtName } from "../lib/extensions";

/** What the provider receives; TargetCheckArgs is the same with each field accepting an Output. */
export interface TargetCheckInputs {
    /** Secret: the add-on's DATABASE_URL. */
    databaseUrl: string;
    /** For messages: the add-on and the plan. */
    addonName: string;
    plan: string;
    /** Extensions the restore will create: names, or `schema.name` as HerokuRestore sends them. */
    extensions: string[];
    /** The source's PostgreSQL major version (preflight). */
    sourceMajor: number;
}
export type TargetCheckArgs = ArgsOf<TargetCheckInputs>;

type Inputs = TargetCheckInputs;
interface Outputs extends Inputs {
    serverVersion: string;
    serverMajor: number;
    /** Where the allow-list came from: a setting name, or "none" when the database has neither. */
    allowListSetting: string;
    allowedCount: number;
    checkedAt: string;
}

export const targetCheckProvider: pulumi.dynamic.ResourceProvider<Inputs, Outputs> = {
    async diff(_id: string, olds: Outputs, news: Inputs) {
        const replaces: string[] = [];
        if (olds.databaseUrl !== news.databaseUrl) replaces.push("databaseUrl");
        if (JSON.stringify([...olds.extensions].sort()) !== JSON.stringify([...news.extensions].sort())) replaces.push("extensions");
        if (olds.sourceMajor !== news.sourceMajor) replaces.push("sourceMajor");
        const changes = replaces.length > 0 || olds.addonName !== news.addonName || olds.plan !== news.plan;
        return { changes, replaces, deleteBeforeReplace: true };
    },

    async create(inputs: Inputs) {
        const facts = await readTargetFacts(inputs.databaseUrl);
        const a = assessTarget(facts, inputs.extensions, inputs.sourceMajor);
        if (a.refused.length > 0) {
            const names = a.refused.map((r) => r.name);
            throw new MigrationError(
                "TargetCheck",
                `the Heroku database ${inputs.addonName} (${inputs.plan}) will not create extension${names.length > 1 ? "s" : ""} ${a.refused.map((r) => `${r.name} (${r.why})`).join(", ")}, which the restore needs, so the restore would fail. Nothing is frozen yet.`
                + (facts.allowList ? ` Its ${facts.allowList.setting}: ${facts.allowList.names.join(",")}.` : ""),
                `Either drop ${names.length > 1 ? "them" : "it"} on the source if nothing needs ${names.length > 1 ? "them" : "it"} (${names.map((n) => `DROP EXTENSION ${quoteExtName(n)}`).join("; ")}; preflight lists what depends on each), or choose a Heroku plan whose databases offer ${names.length > 1 ? "them" : "it"} (\`heroku pg:extensions -a <app>\` on a database of that plan shows its list) and set herokuPlan (with herokuAllowPlanReplace true); then run \`pulumi up\` again.`,
            );
        }
        if (a.versionWarning) progress("TargetCheck", `warning: ${a.versionWarning}`);
        const checked = [...new Set(inputs.extensions.map(bareName))];
        progress("TargetCheck", `${inputs.addonName} runs PostgreSQL ${facts.versionText}; it allows all ${checked.length} extension(s) the restore needs${facts.allowList ? ` (${facts.allowList.setting})` : " (no allow-list setting found; checked pg_available_extensions only)"}`);
        const outs: Outputs = {
            ...inputs,
            serverVersion: facts.versionText,
            serverMajor: a.targetMajor,
            allowListSetting: facts.allowList?.setting ?? "none",
            allowedCount: facts.allowList?.names.length ?? facts.available.length,
            checkedAt: new Date().toISOString(),
        };
        return { id: `${inputs.addonName}@${outs.checkedAt}`, outs };
    },

    async update(_id: string, olds: Outputs, news: Inputs) {
        return { outs: { ...olds, ...news } };
    },

    async delete() {
        // Read-only check: nothing to delete.
    },
};

export class TargetCheck extends pulumi.dynamic.Resource {
    declare readonly serverVersion: pulumi.Output<string>;
    declare readonly serverMajor: pulumi.Output<number>;
    declare readonly allowListSetting: pulumi.Output<string>;

    constructor(name: string, args: TargetCheckArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            targetCheckProvider,
            name,
            { ...args, databaseUrl: pulumi.secret(args.databaseUrl), serverVersion: undefined, serverMajor: undefined, allowListSetting: undefined, allowedCount: undefined, checkedAt: undefined },
            { ...opts, additionalSecretOutputs: ["databaseUrl"] },
            "migration",
            "TargetCheck",
        );
    }
}
