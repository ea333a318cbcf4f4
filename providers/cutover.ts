/**
 * Cutover: runs only after Verification (and the acceptance command) succeeded. Sets the new
 * DATABASE_URL on the dependent apps, then lifts the write freeze (restoring the recorded
 * process quantities). `delete` changes nothing: destroy is cleanup, it does not undo a cutover.
 *
 * For the way back (config `rollback`, providers/rollback.ts) it records, before any app points
 * at the new database: the write counters of the new database (`baseline`), and every config var
 * it changes with its previous value (`changes`, secret). After a rollback it refuses to cut over
 * again on a verification older than the rollback: the Azure database has moved on since.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ArgsOf } from "./args";
import * as heroku from "../lib/heroku";
import { freezeStatusSentence, liftFreeze } from "../lib/freeze";
import { MigrationError, errorMessage } from "../lib/errors";
import { progress } from "../lib/progress";
import { registerSecret } from "../lib/redact";
import { CUTOVER_MARKER, ROLLBACK_MARKER } from "../lib/markers";
import { configureSource, sourceConnection, type SourceAware } from "./configured";
import { parseDatabaseUrl } from "../lib/pg";
import { readWriteCounters, splitChanges, type ConfigChange, type RecordedChange, type WriteCounters } from "../lib/rollback";
import type { SourceSettings } from "../lib/config";
import type { FreezeState } from "../lib/stage";

/** What the provider receives; CutoverArgs is the same with each field accepting an Output. */
export interface CutoverInputs {
    app: string;
    addonName: string;
    /** Secret. */
    databaseUrl: string;
    dependentApps: string[];
    verificationId: string;
    source: SourceSettings;
    freeze: FreezeState;
    /** When the verification finished; a cutover after a rollback needs a newer one. */
    verifiedAt?: string;
    /** Config `rollback`: while true, Cutover is held as it is (never run again). @default false */
    rollbackRequested?: boolean;
}
export type CutoverArgs = ArgsOf<CutoverInputs>;

type Inputs = CutoverInputs;
interface Outputs extends Inputs {
    completedAt: string; updatedApps: string[]; freezeLifted: boolean;
    /** Each config var set (app, name); its value before is `previousValues[i]`. */
    changes: RecordedChange[];
    /** Secret: the values before, in the order of `changes` (null: unset). */
    previousValues: (string | null)[];
    /** The new database's write counters right before the first app pointed at it. */
    baseline: WriteCounters;
}

export const cutoverProvider: pulumi.dynamic.ResourceProvider<Inputs, Outputs> & SourceAware = {
    async configure(req) {
        configureSource(this, req);
    },

    async diff(_id: string, olds: Outputs, news: Inputs) {
        // While a rollback is requested the recorded cutover is what Rollback undoes: never redone.
        if (news.rollbackRequested) return { changes: false };
        const replaces: string[] = [];
        if (olds.verificationId !== news.verificationId) replaces.push("verificationId");
        if (JSON.stringify(olds.dependentApps) !== JSON.stringify(news.dependentApps)) replaces.push("dependentApps");
        return { changes: replaces.length > 0, replaces, deleteBeforeReplace: true };
    },

    async create(inputs: Inputs) {
        // In its own process under Pulumi: its password, wherever an error or log shows it, is removed.
        registerSecret(inputs.databaseUrl);
        if (inputs.rollbackRequested) {
            throw new MigrationError("Cutover", "config `rollback` is true, and there is no completed cutover to undo; nothing was cut over.",
                `Set it back with \`pulumi config set rollback false\` to cut over, then \`pulumi up\`. ${freezeStatusSentence(inputs.freeze.spec, false)}`);
        }
        const ep = heroku.herokuEndpointsFromEnv();
        const targetVars = await heroku.getConfigVars(ep, inputs.app);
        const rolledBackAt = targetVars[ROLLBACK_MARKER];
        if (rolledBackAt && !(inputs.verifiedAt && inputs.verifiedAt > rolledBackAt)) {
            throw new MigrationError("Cutover", `${inputs.app} was rolled back at ${rolledBackAt}, after this verification (${inputs.verifiedAt ?? "time unknown"}); the dependent apps have written to the Azure database since, and ${inputs.addonName} does not have those writes.`,
                `Nothing was changed: the dependent apps stay on their previous database. To cut over again, migrate afresh: \`pulumi up --replace <the migration-dump URN>\` (dump, restore, verify, then cutover).`);
        }
        // The baseline a rollback compares with: read while nothing but the migration has used the database.
        const baseline = await readWriteCounters(parseDatabaseUrl(inputs.databaseUrl, "DATABASE_URL"));
        const changes: ConfigChange[] = [];
        const updatedApps: string[] = [];
        for (const app of inputs.dependentApps) {
            try {
                // Unreadable (the app is missing: the PATCH below says so), or already the new URL (a
                // retried cutover): then the value before is unknown, and a rollback leaves it alone.
                const vars = await heroku.getConfigVars(ep, app).catch(() => undefined);
                const before = vars?.DATABASE_URL;
                registerSecret(before);
                await heroku.setConfigVars(ep, app, { DATABASE_URL: inputs.databaseUrl });
                changes.push({ app, name: "DATABASE_URL", before: before ?? null, ...(!vars || before === inputs.databaseUrl ? { beforeUnknown: true } : {}) });
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
        changes.push({ app: inputs.app, name: CUTOVER_MARKER, before: targetVars[CUTOVER_MARKER] ?? null });
        await heroku.setConfigVars(ep, inputs.app, { [CUTOVER_MARKER]: completedAt, ...(rolledBackAt ? { [ROLLBACK_MARKER]: null } : {}) });
        await liftFreeze(inputs.freeze.spec, inputs.freeze.record, { source: sourceConnection(inputs.source, this.sourcePassword) });
        progress("Cutover", `done: ${inputs.app}'s ${inputs.addonName} is the database; writes resumed`);
        return { id: `cutover-${inputs.verificationId}`, outs: { ...inputs, completedAt, updatedApps, freezeLifted: inputs.freeze.spec.mode !== "none", ...splitChanges(changes), baseline } };
    },

    async delete() {
        // Destroy is cleanup; it never reverts the cutover.
    },
};

export class Cutover extends pulumi.dynamic.Resource {
    declare readonly completedAt: pulumi.Output<string>;
    declare readonly updatedApps: pulumi.Output<string[]>;
    declare readonly freezeLifted: pulumi.Output<boolean>;
    /** The config vars the cutover set (what a rollback puts back). */
    declare readonly changes: pulumi.Output<RecordedChange[]>;
    /** Secret: their values before, in the same order. */
    declare readonly previousValues: pulumi.Output<(string | null)[]>;
    declare readonly baseline: pulumi.Output<WriteCounters>;
    declare readonly databaseUrl: pulumi.Output<string>;
    declare readonly freeze: pulumi.Output<FreezeState>;
    declare readonly source: pulumi.Output<SourceSettings>;
    declare readonly app: pulumi.Output<string>;
    declare readonly addonName: pulumi.Output<string>;

    constructor(name: string, args: CutoverArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            cutoverProvider,
            name,
            { ...args, databaseUrl: pulumi.secret(args.databaseUrl), completedAt: undefined, updatedApps: undefined, freezeLifted: undefined, changes: undefined, previousValues: undefined, baseline: undefined },
            { ...opts, additionalSecretOutputs: ["databaseUrl", "previousValues"] },
            "migration",
            "Cutover",
        );
    }
}
