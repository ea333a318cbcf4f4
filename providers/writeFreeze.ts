/**
 * WriteFreeze: stops writes to the source before the dump (see lib/freeze.ts for the modes).
 * Its outputs record what was there before (maintenance flag, process quantities, read-only
 * setting) so Cutover, a failed stage, or `destroy` can restore exactly that.
 * Any change of the freeze settings replaces it (the old freeze is lifted first).
 */
import * as pulumi from "@pulumi/pulumi";
import type { ArgsOf } from "./args";
import { applyFreeze, freezeInEffect, liftFreeze, type FreezeRecord, type FreezeSpec } from "../lib/freeze";
import { progress } from "../lib/progress";
import { MigrationError } from "../lib/errors";
import { configureSource, sourceConnection, type SourceAware } from "./configured";
import type { SourceSettings } from "../lib/config";

/** What the provider receives; WriteFreezeArgs is the same with each field accepting an Output. */
export interface WriteFreezeInputs {
    spec: FreezeSpec;
    source: SourceSettings;
    /** Config `rollback`: nothing is frozen (so nothing migrated) while it is true. @default false */
    rollbackRequested?: boolean;
}
export type WriteFreezeArgs = ArgsOf<WriteFreezeInputs>;

type Inputs = WriteFreezeInputs;
interface Outputs extends Inputs { record: FreezeRecord }

export const writeFreezeProvider: pulumi.dynamic.ResourceProvider<Inputs, Outputs> & SourceAware = {
    async configure(req) {
        configureSource(this, req);
    },

    async diff(_id: string, olds: Outputs, news: Inputs) {
        const changed = JSON.stringify(olds.spec) !== JSON.stringify(news.spec) || JSON.stringify(olds.source) !== JSON.stringify(news.source);
        return { changes: changed, replaces: changed ? ["spec"] : [], deleteBeforeReplace: true };
    },

    async create(inputs: Inputs) {
        if (inputs.rollbackRequested) {
            throw new MigrationError("WriteFreeze", "config `rollback` is true, and there is no completed cutover to undo; nothing was frozen, dumped or cut over.",
                "Set it back with `pulumi config set rollback false` to migrate, then `pulumi up`.");
        }
        const record = await applyFreeze(inputs.spec, { source: sourceConnection(inputs.source, this.sourcePassword) });
        return { id: `freeze-${inputs.spec.mode}-${inputs.spec.app}`, outs: { ...inputs, record } };
    },

    async delete(_id: string, props: Outputs) {
        const ctx = { source: sourceConnection(props.source, this.sourcePassword) };
        const inEffect = await freezeInEffect(props.record, ctx);
        if (inEffect === false) {
            progress("WriteFreeze", "already lifted");
            return;
        }
        await liftFreeze(props.spec, props.record, ctx);
    },
};

export class WriteFreeze extends pulumi.dynamic.Resource {
    declare readonly spec: pulumi.Output<FreezeSpec>;
    declare readonly record: pulumi.Output<FreezeRecord>;

    constructor(name: string, args: WriteFreezeArgs, opts?: pulumi.CustomResourceOptions) {
        super(writeFreezeProvider, name, { ...args, record: undefined }, opts, "migration", "WriteFreeze");
    }
}
