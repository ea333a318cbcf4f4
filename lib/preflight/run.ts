/**
 * The Pulumi program's preflight (index.ts calls it in preview and in up, before anything is
 * created or frozen): looks up the Heroku apps the configuration relies on (read-only Platform API
 * calls), lists an Azure source's backups with azure-native's credentials, runs runPreflight,
 * writes preflight.md/json to the report folder, logs every finding, and throws a MigrationError
 * naming every blocking finding. Needs the Pulumi runtime (logs, invokes), so lib/preflight's index
 * does not re-export it.
 */
import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import { armEndpointForHost, checkAzureBackups, noCredentials, type AzureBackupCheck } from "../azureBackup";
import type { MigrationSettings } from "../config";
import { MigrationError } from "../errors";
import * as heroku from "../heroku";
import { registerSecret } from "../redact";
import { resolveReportDir, writePreflightFiles } from "../reportFiles";
import { ROLLBACK_ACK_CODE } from "../rollback";
import { azureServerName } from "./backup";
import { findingKey } from "./finding";
import { herokuAppsToCheck } from "./herokuApps";
import { runPreflight, type PreflightPlan } from "./plan";
import { formatFindings } from "./render";

export interface ProgramPreflight {
    preflight: PreflightPlan;
    /** Where preflight.md/json were written, and where the migration report goes. */
    reportDir: string;
    /** Azure's backups of an Azure source (undefined for other hosts); it also names the server's resource group. */
    azureBackup?: AzureBackupCheck;
}

/** Runs preflight for the program; throws when a blocking finding stands (nothing was created or frozen). */
export async function runProgramPreflight(settings: MigrationSettings, password: string): Promise<ProgramPreflight> {
    // The Heroku apps the configuration relies on (read-only Platform API lookups).
    const ep = heroku.herokuEndpointsFromEnv();
    const herokuApps = await Promise.all(herokuAppsToCheck(settings).map(async (a) => ({ ...a, exists: (await heroku.getApp(ep, a.name)) !== undefined })));

    // Azure's backups of an Azure source, read with azure-native's credentials (never invoked for
    // other hosts: the local rehearsal's engine cannot answer these invokes).
    const server = azureServerName(settings.source.host);
    const azureBackup = server ? await sourceBackups(server, settings.source.host, settings.sourceResourceGroup) : undefined;

    const preflight = await runPreflight({ ...settings.source, password }, {
        herokuApps,
        azureBackup,
        plan: settings.heroku.plan,
        dumpCompression: settings.dump.compression,
        freeze: settings.freeze,
        // `rollback_writes` entries are for the rollback (lib/rollback.ts), not for preflight.
        acknowledge: settings.acknowledge.filter((a) => a.code !== ROLLBACK_ACK_CODE),
        herokuApp: { name: settings.heroku.app, create: settings.heroku.createApp },
        verifyQueries: settings.verify.queries,
        customSettings: settings.customSettings,
    });
    // The reports go to `reportDir` (the rehearsal points A2H_REPORT_DIR at its own folder).
    const reportDir = process.env.A2H_REPORT_DIR ?? resolveReportDir(settings.reportDir, pulumi.getStack());
    writePreflightFiles(reportDir, preflight);
    for (const line of formatFindings(preflight.findings)) {
        if (line.startsWith("BLOCKING")) pulumi.log.error(line);
        else if (line.startsWith("WARNING")) pulumi.log.warn(line);
        else pulumi.log.info(line);
    }
    const blocking = preflight.findings.filter((f) => f.level === "blocking");
    if (blocking.length > 0) {
        throw new MigrationError("preflight", `${blocking.length} blocking finding(s): ${blocking.map(findingKey).join(", ")}. Nothing was created or frozen.`, blocking.map((f) => f.action).join(" "));
    }
    return { preflight, reportDir, azureBackup };
}

/** The flexible server's backups through Azure Resource Manager; unavailable when azure-native has no credentials. */
async function sourceBackups(server: string, host: string, resourceGroup: string | undefined): Promise<AzureBackupCheck> {
    let token: string;
    let subscriptionId: string;
    try {
        token = (await authorization.getClientToken()).token;
        registerSecret(token);
        subscriptionId = (await authorization.getClientConfig()).subscriptionId;
    } catch (err) {
        return noCredentials(err);
    }
    return checkAzureBackups({ token, subscriptionId, serverName: server, resourceGroup, armEndpoint: armEndpointForHost(host) });
}
