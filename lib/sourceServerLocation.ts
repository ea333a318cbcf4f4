/**
 * Where the Azure source server lives (subscription, resource group, ARM endpoint), read by the
 * program at `pulumi up` with azure-native's credentials and recorded for `retireSourceServer`:
 * `pulumi destroy` cannot run the program, so it deletes the server from what was recorded.
 * Needs the Pulumi runtime (logs, invokes).
 */
import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import { armEndpointForHost, type AzureBackupCheck } from "./azureBackup";
import type { MigrationSettings } from "./config";
import { azureServerName } from "./preflight";

export interface SourceServerLocation {
    resourceGroup?: string;
    subscriptionId?: string;
    armEndpoint: string;
}

/**
 * The source server's location when the stack retires it (retireSourceServer) and the source is an
 * Azure host; undefined otherwise. `backup` is preflight's backup check, which found the server's
 * resource group when `sourceResourceGroup` is not set.
 */
export async function sourceServerToRetire(settings: MigrationSettings, backup: AzureBackupCheck | undefined): Promise<SourceServerLocation | undefined> {
    if (!azureServerName(settings.source.host) || !settings.retireSource.enabled) return undefined;
    return azureServerLocation(settings.source.host, settings.sourceResourceGroup, backup);
}

/** Subscription, resource group (config, else where the backup check found the server) and ARM endpoint of the source server. */
async function azureServerLocation(sourceHost: string, resourceGroup: string | undefined, backup: AzureBackupCheck | undefined): Promise<SourceServerLocation> {
    let subscriptionId: string | undefined;
    try {
        subscriptionId = (await authorization.getClientConfig()).subscriptionId;
    } catch (err) {
        pulumi.log.warn(`retire: the Azure subscription of the source server could not be read (${err instanceof Error ? err.message : String(err)}); pulumi destroy will refuse to delete it until \`pulumi up\` records it.`);
    }
    const group = resourceGroup ?? (backup?.state === "checked" ? backup.resourceGroup : undefined);
    if (!group) pulumi.log.warn(`retire: the resource group of the source server is unknown (${backup?.state === "unavailable" ? backup.reason.replace(/\.$/, "") : "not found"}); pulumi destroy will refuse to delete it: set \`sourceResourceGroup\` and run \`pulumi up\` again.`);
    return { resourceGroup: group, subscriptionId, armEndpoint: armEndpointForHost(sourceHost) };
}
