/**
 * SourceRetirement: the opt-in retirement of the source server, done by `pulumi destroy`
 * (lib/retire.ts holds the logic and the Azure Resource Manager calls).
 *
 * create/update: change nothing; they record, from Cutover's outputs and the config, what the
 * delete needs: the server (name, resource group, subscription, ARM endpoint), the opt-in and its
 * confirmation, the cutover's completion and the verification it ran on, and a rollback.
 * diff: never replaces (a replacement would run delete, that is the retirement, during `up`).
 * A rollback stays recorded until a new cutover.
 *
 * delete (`pulumi destroy`, from state alone): not opted in: nothing. A record that does not
 * allow it (wrong confirmation, no verified cutover, rolled back): says why and retires nothing,
 * so the rest of destroy (the dump) still runs. Azure host: reads an ARM token (AZURE_ACCESS_TOKEN
 * or the Azure CLI; never stored), takes an on-demand backup, deletes the flexible server, waits,
 * reports; a failure throws (destroy stops, the server and the dump are kept). Other hosts: only
 * the local source cluster the rehearsal started is stopped and removed.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ArgsOf } from "./args";
import { progress } from "../lib/progress";
import { registerSecret } from "../lib/redact";
import { MigrationError } from "../lib/errors";
import { REHEARSAL_SOURCE_DIR_ENV, armToken, retireAzureServer, retirementRefusal, type RetirementRecord } from "../lib/retire";
// A rehearsal's source cluster stands in for the Azure server: retiring it stops and removes it.
import { clusterPort, removeCluster } from "../lib/localCluster";

/** The record (lib/retire.ts), each field accepting an Output; a retirement always names the cutover it follows. */
export type SourceRetirementArgs = ArgsOf<RetirementRecord & Required<Pick<RetirementRecord, "cutoverId" | "cutoverAt" | "verificationId">>>;

interface Outputs extends RetirementRecord {
    recordedAt: string;
}

const SUBJECT = "SourceRetirement";

/** The stack configuration in force when the provider runs (not the one recorded at create). */
interface ConfiguredNow {
    retireNow?: { retire: boolean; confirm?: string };
}

export const sourceRetirementProvider: pulumi.dynamic.ResourceProvider<RetirementRecord, Outputs> & ConfiguredNow = {
    async configure(req) {
        this.retireNow = { retire: req.config.get("retireSourceServer") === "true", confirm: req.config.get("retireSourceServerConfirm") };
    },

    async diff(_id: string, olds: Outputs, news: RetirementRecord) {
        const keys: (keyof RetirementRecord)[] = ["retire", "confirm", "serverName", "host", "port", "kind", "resourceGroup", "subscriptionId", "armEndpoint", "cutoverId", "cutoverAt", "verificationId", "verifiedAt", "rolledBackAt"];
        const changed = keys.filter((k) => JSON.stringify(olds[k] ?? null) !== JSON.stringify(news[k] ?? null) && !(k === "rolledBackAt" && !news.rolledBackAt && olds.cutoverId === news.cutoverId));
        return { changes: changed.length > 0, replaces: [], deleteBeforeReplace: false };
    },

    async create(inputs: RetirementRecord) {
        return { id: `retire-${inputs.serverName}`, outs: { ...inputs, recordedAt: new Date().toISOString() } };
    },

    async update(_id: string, olds: Outputs, news: RetirementRecord) {
        // A rollback stays recorded until a new cutover (setting `rollback` back to false does not cut over again).
        const rolledBackAt = news.rolledBackAt ?? (olds.cutoverId === news.cutoverId ? olds.rolledBackAt : undefined);
        // No undefined value in outs: the dynamic provider host's Struct.fromJavaScript refuses it
        // ("Unexpected struct type"), as under `pulumi up`.
        return { outs: { ...news, ...(rolledBackAt ? { rolledBackAt } : {}), recordedAt: new Date().toISOString() } };
    },

    async delete(_id: string, r: Outputs) {
        if (!r.retire) {
            progress(SUBJECT, `${r.serverName} is kept (retireSourceServer is false)`);
            return;
        }
        // Delete also runs when an `up` drops the resource (both keys removed at once): only a
        // configuration that still asks for it, by name, retires the server.
        const now = this.retireNow;
        if (!now?.retire || now.confirm !== r.confirm) {
            progress(SUBJECT, `${r.serverName} is kept: the stack's configuration no longer asks to retire it (retireSourceServer true and retireSourceServerConfirm ${r.confirm ?? r.serverName}). Nothing was retired.`);
            return;
        }
        const refusal = retirementRefusal(r);
        if (refusal) {
            progress(SUBJECT, `refused to retire ${r.serverName}: ${refusal}. Nothing was retired; the rest of destroy goes on. Delete the server yourself when the apps no longer use it.`);
            return;
        }
        if (r.kind === "azure") {
            if (!r.subscriptionId || !r.resourceGroup) {
                throw MigrationError(SUBJECT, `the ${!r.subscriptionId ? "subscription" : "resource group"} of ${r.serverName} was not known when the retirement was recorded, so it cannot be deleted. Nothing was deleted.`,
                    "Set `sourceResourceGroup` (and azure-native's subscription), run `pulumi up` (it records them, changing nothing else), then `pulumi destroy` again.");
            }
            const armEndpoint = r.armEndpoint ?? "https://management.azure.com";
            const token = await armToken(process.env, armEndpoint);
            registerSecret(token);
            const done = await retireAzureServer({ token, subscriptionId: r.subscriptionId, resourceGroup: r.resourceGroup, serverName: r.serverName, armEndpoint, log: (line) => progress(SUBJECT, line) });
            progress(SUBJECT, done.deleted ? `retired ${r.serverName}: deleted at ${done.deletedAt}, after the on-demand backup ${done.backupName} (it is deleted with the server; keep your own dump if you need the data later)` : `${r.serverName}: nothing was retired (see above)`);
            return;
        }
        // Not an Azure host: only the local source cluster the rehearsal started stands in for the server.
        const dir = process.env[REHEARSAL_SOURCE_DIR_ENV];
        const local = r.host === "127.0.0.1" || r.host === "localhost" || r.host === "::1";
        if (!dir || !local || clusterPort(dir) !== r.port) {
            progress(SUBJECT, `refused to retire ${r.host}:${r.port}: it is not an Azure Database for PostgreSQL server and not the source cluster this rehearsal started${dir ? "" : " (SOURCE_DATABASE_URL, or not a rehearsal)"}. Nothing was retired; the rest of destroy goes on.`);
            return;
        }
        const removed = await removeCluster(dir);
        progress(SUBJECT, `retired the rehearsal's source ${r.host}:${r.port} (stands in for the Azure server): ${removed.wasRunning ? "stopped, " : ""}removed ${dir}`);
    },
};

export class SourceRetirement extends pulumi.dynamic.Resource {
    declare readonly retire: pulumi.Output<boolean>;
    declare readonly serverName: pulumi.Output<string>;
    declare readonly recordedAt: pulumi.Output<string>;

    constructor(name: string, args: SourceRetirementArgs, opts?: pulumi.CustomResourceOptions) {
        super(sourceRetirementProvider, name, { ...args, recordedAt: undefined }, opts, "migration", "SourceRetirement");
    }
}
