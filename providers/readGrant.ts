/**
 * ReadGrant: the read-only, blob-scoped, short-lived SAS URL that Heroku downloads the dump
 * from. Made at create time and kept secret. `diff` checks the expiry on every run: a grant that
 * has expired or will within 15 minutes is replaced by a fresh one (HerokuRestore ignores a new
 * URL for the same dump, so a renewed grant never triggers a second restore).
 * A service SAS signed with the account key cannot be revoked individually: it expires. Rotate
 * the account key to revoke it early.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ArgsOf } from "./args";
import { makeReadSas } from "../lib/blob";
import { progress } from "../lib/progress";
import type { BlobLocation } from "./dumpToBlob";

/** What the provider receives; ReadGrantArgs is the same with each field accepting an Output. */
export interface ReadGrantInputs {
    storage: BlobLocation;
    /** Secret. */
    accountKey: string;
    blobName: string;
    /** The dump's ETag: a new dump gets a new grant. */
    etag: string;
    expiryMinutes: number;
}
export type ReadGrantArgs = ArgsOf<ReadGrantInputs>;

type Inputs = ReadGrantInputs;
interface Outputs extends Inputs { url: string; expiresOn: string; protocol: string; permissions: string }

const RENEW_MARGIN_MS = 15 * 60_000;

export const readGrantProvider: pulumi.dynamic.ResourceProvider<Inputs, Outputs> = {
    async diff(_id: string, olds: Outputs, news: Inputs) {
        const replaces: string[] = [];
        if (olds.blobName !== news.blobName) replaces.push("blobName");
        if (olds.etag !== news.etag) replaces.push("etag");
        if (JSON.stringify(olds.storage) !== JSON.stringify(news.storage)) replaces.push("storage");
        if (olds.expiryMinutes !== news.expiryMinutes) replaces.push("expiryMinutes");
        if (Date.parse(olds.expiresOn) - Date.now() < RENEW_MARGIN_MS) replaces.push("expiresOn");
        return { changes: replaces.length > 0, replaces, deleteBeforeReplace: true };
    },

    async create(inputs: Inputs) {
        const sas = makeReadSas({ target: { ...inputs.storage, accountKey: inputs.accountKey }, blobName: inputs.blobName, expiresInMinutes: inputs.expiryMinutes });
        progress("ReadGrant", `read-only SAS for ${inputs.storage.container}/${inputs.blobName}, ${sas.protocol}, expires ${sas.expiresOn}`);
        if (sas.protocol !== "https") {
            progress("ReadGrant", `warning: the blob endpoint is not https (${inputs.storage.blobEndpoint}), so the SAS allows http; only a local Azurite rehearsal should see this`);
        }
        return {
            id: `${inputs.blobName}@${sas.expiresOn}`,
            outs: { ...inputs, url: sas.url, expiresOn: sas.expiresOn, protocol: sas.protocol, permissions: sas.permissions },
        };
    },

    async delete() {
        // Nothing to revoke: the SAS expires by itself (see the file comment).
    },
};

export class ReadGrant extends pulumi.dynamic.Resource {
    /** Secret. */
    declare readonly url: pulumi.Output<string>;
    declare readonly expiresOn: pulumi.Output<string>;
    declare readonly protocol: pulumi.Output<string>;
    declare readonly permissions: pulumi.Output<string>;

    constructor(name: string, args: ReadGrantArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            readGrantProvider,
            name,
            { ...args, accountKey: pulumi.secret(args.accountKey), url: undefined, expiresOn: undefined, protocol: undefined, permissions: undefined },
            { ...opts, additionalSecretOutputs: ["url", "accountKey"] },
            "migration",
            "ReadGrant",
        );
    }
}
