/**
 * Cutover: runs only after Verification (and the acceptance command) succeeded. Sets the new
 * DATABASE_URL on the dependent apps, then lifts the write freeze (restoring the recorded
 * process quantities). `delete` changes nothing: destroy is cleanup, it does not undo a cutover.
 */
import * as pulumi from "@pulumi/pulumi";
import * as heroku from "../lib/heroku";
import { freezeStatusSentence, liftFreeze } from "../lib/freeze";
import { MigrationError, errorMessage } from "../lib/errors";
import { progress } from "../lib/progress";
import { registerSecret } from "../lib/redact";
import { CUTOVER_MARKER } from "./herokuRestore";
import { configureSource, sourceConnection, type SourceAware } from "./configured";
import type { SourceSettings } from "../lib/config";
import type { FreezeState } from "../lib/stage";

export interface CutoverArgs {
    app: pulumi.Input<string>;
    addonName: pulumi.Input<string>;
    /** Secret. */
    databaseUrl: pulumi.Input<string>;
    dependentApps: pulumi.Input<string[]>;
    verificationId: pulumi.Input<string>;
    source: pulumi.Input<SourceSettings>;
    freeze: pulumi.Input<FreezeState>;
}

interface Inputs { app: string; addonName: string; databaseUrl: string; dependentApps: string[]; verificationId: string; source: SourceSettings; freeze: FreezeState }
interface Outputs extends Inputs { completedAt: string; updatedApps: string[]; freezeLifted: boolean }

export const cutoverProvider: pulumi.dynamic.ResourceProvider & SourceAware = {
    async configure(req) {
        configureSource(this, req);
    },

    async diff(_id: string, olds: Outputs, news: Inputs) {
        const replaces: string[] = [];
        if (olds.verificationId !== news.verificationId) replaces.push("verificationId");
        if (JSON.stringify(olds.dependentApps) !== JSON.stringify(news.dependentApps)) replaces.push("dependentApps");
        return { changes: replaces.length > 0, replaces, deleteBeforeReplace: true };
    },

    async create(inputs: Inputs) {
        // In its own process under Pulumi: its password, wherever an error or log shows it, is removed.
        registerSecret(inputs.databaseUrl);
        const ep = heroku.herokuEndpointsFromEnv();
        const updatedApps: string[] = [];
        for (const app of inputs.dependentApps) {
            try {
                await heroku.setConfigVars(ep, app, { DATABASE_URL: inputs.databaseUrl });
            } catch (err) {
                // The freeze stays on (the new database is verified, the dependents are not all
                // repointed yet): say so, and which apps already point at the new database.
                const done = updatedApps.length ? ` DATABASE_URL was already set on ${updatedApps.join(", ")}.` : "";
                throw new MigrationError("Cutover", `could not set DATABASE_URL on app "${app}" (from \`dependentApps\`): ${errorMessage(err)}${done}`,
                    `Fix \`dependentApps\` (or this API key's access to the app). ${freezeStatusSentence(inputs.freeze.spec, false)}`);
            }
            updatedApps.push(app);
            progress("Cutover", `DATABASE_URL of ${app} now points at ${inputs.addonName}`);
        }
        // Marks the target as live: HerokuRestore refuses to overwrite it from now on.
        const completedAt = new Date().toISOString();
        await heroku.setConfigVars(ep, inputs.app, { [CUTOVER_MARKER]: completedAt });
        await liftFreeze(inputs.freeze.spec, inputs.freeze.record, { source: sourceConnection(inputs.source, this.sourcePassword) });
        progress("Cutover", `done: ${inputs.app}'s ${inputs.addonName} is the database; writes resumed`);
        return { id: `cutover-${inputs.verificationId}`, outs: { ...inputs, completedAt, updatedApps, freezeLifted: inputs.freeze.spec.mode !== "none" } };
    },

    async delete() {
        // Destroy is cleanup; it never reverts the cutover.
    },
};

export class Cutover extends pulumi.dynamic.Resource {
    declare readonly completedAt: pulumi.Output<string>;
    declare readonly updatedApps: pulumi.Output<string[]>;
    declare readonly freezeLifted: pulumi.Output<boolean>;

    constructor(name: string, args: CutoverArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            cutoverProvider,
            name,
            { ...args, databaseUrl: pulumi.secret(args.databaseUrl), completedAt: undefined, updatedApps: undefined, freezeLifted: undefined },
            { ...opts, additionalSecretOutputs: ["databaseUrl"] },
            "migration",
            "Cutover",
        );
    }
}
