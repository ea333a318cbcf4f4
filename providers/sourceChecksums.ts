/**
 * SourceChecksums: the source side of verification's table checksums, computed while the
 * restore runs. It depends on the dump (the source is frozen from then on), not on the restore,
 * so Pulumi runs it beside ReadGrant and HerokuRestore; Verification waits for both and then
 * reads only the target's tables. Verification uses these checksums only when the source
 * cluster's transaction horizon has not moved since they were taken (lib/verify/sourceChecksums.ts
 * SourceChecksums); otherwise it reads the source again, as it would without them.
 *
 * An optimisation, never a gate: a failure here is reported and leaves no checksums, and
 * verification reads the source itself. Replaced when the dump (its ETag) changes. The outputs
 * hold sums of row hashes and table names, nothing that is secret.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ArgsOf } from "./args";
import { parseDatabaseUrl } from "../lib/pg";
import { errorMessage } from "../lib/errors";
import { progress } from "../lib/progress";
import { redact } from "../lib/redact";
import { precomputeSourceChecksums, type SourceChecksums as Checksums } from "../lib/verify";
import { configureSource, sourceConnection, type SourceAware } from "./configured";
import type { SourceSettings } from "../lib/config";

/** What the provider receives; SourceChecksumsArgs is the same with each field accepting an Output. */
export interface SourceChecksumsInputs {
    source: SourceSettings;
    /** Secret. The target database (only its version and encoding are read: they decide the row rendering). */
    targetUrl: string;
    /** The dump these checksums stand beside; a new dump computes them again. */
    dumpEtag: string;
    excludeTables: { table: string; reason: string }[];
    /** Tables read at the same time (config `verifyConcurrency`). @default 4 */
    concurrency?: number;
}
export type SourceChecksumsArgs = ArgsOf<SourceChecksumsInputs>;

type Inputs = SourceChecksumsInputs;
interface Outputs extends Inputs {
    /** null when they could not be computed (`error` says why). */
    checksums: Checksums | null;
    error: string | null;
}

export const sourceChecksumsProvider: pulumi.dynamic.ResourceProvider<Inputs, Outputs> & SourceAware = {
    async configure(req) {
        configureSource(this, req);
    },

    async diff(_id: string, olds: Outputs, news: Inputs) {
        const replaces: string[] = [];
        if (olds.dumpEtag !== news.dumpEtag) replaces.push("dumpEtag");
        if (JSON.stringify(olds.excludeTables) !== JSON.stringify(news.excludeTables)) replaces.push("excludeTables");
        return { changes: replaces.length > 0, replaces, deleteBeforeReplace: true };
    },

    async create(inputs: Inputs) {
        const source = sourceConnection(inputs.source, this.sourcePassword);
        let checksums: Checksums | null = null;
        let error: string | null = null;
        try {
            const target = parseDatabaseUrl(inputs.targetUrl, "DATABASE_URL");
            checksums = await precomputeSourceChecksums(source, target, {
                excludeTables: inputs.excludeTables.map((e) => e.table),
                concurrency: inputs.concurrency ?? 4,
                onProgress: (m) => progress("SourceChecksums", m),
            });
        } catch (err) {
            error = redact(errorMessage(err));
            progress("SourceChecksums", `could not compute the source checksums ahead (${error}); verification will read the source itself`);
        }
        const outs: Outputs = { ...inputs, checksums, error };
        return { id: `source-checksums-${inputs.dumpEtag}`.replace(/[^A-Za-z0-9._-]/g, ""), outs };
    },

    async delete() {
        // Nothing is left behind.
    },
};

export class SourceChecksums extends pulumi.dynamic.Resource {
    declare readonly checksums: pulumi.Output<Checksums | null>;
    declare readonly error: pulumi.Output<string | null>;

    constructor(name: string, args: SourceChecksumsArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            sourceChecksumsProvider,
            name,
            { ...args, targetUrl: pulumi.secret(args.targetUrl), checksums: undefined, error: undefined },
            { ...opts, additionalSecretOutputs: ["targetUrl"] },
            "migration",
            "SourceChecksums",
        );
    }
}
