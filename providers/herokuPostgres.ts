/**
 * HerokuPostgres: the `heroku-postgresql:<plan>` add-on attached as DATABASE. `create` returns
 * only when the database is available (add-on provisioned AND `pg:wait` says ready), not when
 * the add-on is merely "provisioned". A plan change replaces the database (new, empty) only
 * when `herokuAllowPlanReplace` is true; otherwise `check` refuses it before anything changes.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ArgsOf } from "./args";
import * as heroku from "../lib/heroku";
import { MigrationError } from "../lib/errors";
import { progress } from "../lib/progress";
import { registerSecret } from "../lib/redact";

/** What the provider receives; HerokuPostgresArgs is the same with each field accepting an Output. */
export interface HerokuPostgresInputs {
    app: string;
    plan: string;
    allowPlanReplace: boolean;
    /** @default "DATABASE" */
    attachmentName?: string;
    /** Minutes to wait for the database to become available. @default 30 */
    waitMinutes?: number;
}
export type HerokuPostgresArgs = ArgsOf<HerokuPostgresInputs>;

type Inputs = HerokuPostgresInputs;
interface Outputs extends Inputs { addonId: string; addonName: string; appId: string; configVar: string; databaseUrl: string }

/** The add-on's fixed name (add-on names are global on Heroku; the app name is unique). */
export function addonNameFor(app: string): string {
    return `${app}-postgres`;
}

export const herokuPostgresProvider: pulumi.dynamic.ResourceProvider<Inputs, Outputs> = {
    async check(olds: Partial<Outputs>, news: Inputs) {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        if (olds.plan && olds.plan !== news.plan && !news.allowPlanReplace) {
            failures.push({
                property: "plan",
                reason: `config \`herokuPlan\` changed from ${olds.plan} to ${news.plan}, which would replace the database with a new empty one and restore again. Set \`herokuAllowPlanReplace\` to true to allow it, or change the plan in place with \`heroku addons:upgrade\` and set herokuPlan back.`,
            });
        }
        return { inputs: news, failures };
    },

    async diff(_id: string, olds: Outputs, news: Inputs) {
        const replaces: string[] = [];
        if (olds.app !== news.app) replaces.push("app");
        if (olds.plan !== news.plan) replaces.push("plan");
        if ((olds.attachmentName ?? "DATABASE") !== (news.attachmentName ?? "DATABASE")) replaces.push("attachmentName");
        const changes = replaces.length > 0 || olds.allowPlanReplace !== news.allowPlanReplace || olds.waitMinutes !== news.waitMinutes;
        return { changes, replaces, deleteBeforeReplace: false };
    },

    async create(inputs: Inputs) {
        const ep = heroku.herokuEndpointsFromEnv();
        const attachmentName = inputs.attachmentName ?? "DATABASE";
        const plan = `heroku-postgresql:${inputs.plan}`;
        // A fixed name lets a re-run (or a retried request) find the add-on an earlier,
        // interrupted run created, instead of provisioning and billing a second database.
        const name = addonNameFor(inputs.app);
        const existing = await heroku.getAddon(ep, inputs.app, name);
        let addon: heroku.HerokuAddon;
        if (existing && existing.plan?.name === plan && existing.state !== "deprovisioned" && existing.state !== "deprovisioning") {
            addon = existing;
            progress("HerokuPostgres", `resuming: ${name} (${plan}) already exists on ${inputs.app} (state ${existing.state})`);
        } else if (existing) {
            throw new MigrationError("HerokuPostgres", `an add-on named ${name} already exists on ${inputs.app} with plan ${existing.plan?.name} (state ${existing.state}).`, `Remove it (\`heroku addons:destroy ${name} -a ${inputs.app}\`) or set herokuPlan to ${existing.plan?.name?.replace(/^heroku-postgresql:/, "")}, then run \`pulumi up\` again.`);
        } else {
            addon = await heroku.createAddon(ep, inputs.app, { plan, attachmentName, name });
            progress("HerokuPostgres", `created ${addon.name} (${plan}) on ${inputs.app}; waiting until the database is available`);
        }
        const ready = await heroku.waitForAddon(ep, inputs.app, addon.id, {
            timeoutMs: (inputs.waitMinutes ?? 30) * 60_000,
            pollMs: 2000,
            onProgress: (message: string) => progress("HerokuPostgres", `${addon.name}: ${message}`),
        });
        const configVar = `${attachmentName}_URL`;
        const vars = await heroku.getConfigVars(ep, inputs.app);
        const databaseUrl = vars[configVar];
        if (!databaseUrl) {
            throw new MigrationError("HerokuPostgres", `${addon.name} is available but app ${inputs.app} has no ${configVar} config var.`, "Check `heroku addons:info` and the app's attachments, then run `pulumi up` again.");
        }
        registerSecret(databaseUrl);
        progress("HerokuPostgres", `${addon.name} is available`);
        return {
            id: ready.id,
            outs: { ...inputs, addonId: ready.id, addonName: ready.name, appId: ready.app?.id ?? "", configVar, databaseUrl },
        };
    },

    /** Only settings that need no new physical resource change in place; keep the outputs. */
    async update(_id: string, olds: Outputs, news: Inputs) {
        return { outs: { ...olds, ...news } };
    },

    async read(id: string, props?: Outputs) {
        const ep = heroku.herokuEndpointsFromEnv();
        if (!props) return { id };
        const addon = await heroku.getAddon(ep, props.app, id);
        // A blank id tells Pulumi the add-on is gone (destroyed outside Pulumi), so refresh drops it.
        if (!addon) return { id: "" };
        return { id, props: { ...props, addonName: addon.name, plan: addon.plan.name.replace(/^heroku-postgresql:/, "") } };
    },

    async delete(id: string, props: Outputs) {
        const ep = heroku.herokuEndpointsFromEnv();
        const deleted = await heroku.deleteAddon(ep, props.app, id);
        progress("HerokuPostgres", deleted ? `deleted ${props.addonName}` : `${props.addonName} was already gone`);
    },
};

export class HerokuPostgres extends pulumi.dynamic.Resource {
    declare readonly addonId: pulumi.Output<string>;
    declare readonly addonName: pulumi.Output<string>;
    declare readonly appId: pulumi.Output<string>;
    declare readonly configVar: pulumi.Output<string>;
    /** Secret. */
    declare readonly databaseUrl: pulumi.Output<string>;

    constructor(name: string, args: HerokuPostgresArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            herokuPostgresProvider,
            name,
            { ...args, addonId: undefined, addonName: undefined, appId: undefined, configVar: undefined, databaseUrl: undefined },
            { ...opts, additionalSecretOutputs: ["databaseUrl"] },
            "heroku",
            "Postgres",
        );
    }
}
