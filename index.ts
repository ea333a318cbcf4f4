/**
 * azure-to-heroku-pg: config in, preflight, one Migration, outputs out.
 * `pulumi preview` plans the cutover, `pulumi up` runs it, `pulumi destroy` deletes the dump.
 */
import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import { Migration } from "./components/migration";
import { checkKnownKeys, readSettings } from "./lib/config";
import { checkDumpCompression, localCompressionOffer } from "./lib/compression";
import { azureServerName, findingKey, formatFindings, herokuAppsToCheck, preflightJson, runPreflight } from "./lib/preflight";
import { armEndpointForHost, checkAzureBackups, noCredentials, type AzureBackupCheck } from "./lib/azureBackup";
import * as heroku from "./lib/heroku";
import { MigrationError, isMigrationError } from "./lib/errors";
import { registerSecret } from "./lib/redact";
import { reportFromOutputs, resolveReportDir, writePreflightFiles, writeReport } from "./lib/reportFiles";
import { ROLLBACK_ACK_CODE } from "./lib/rollback";

/**
 * Errors a user can meet (MigrationError, ConfigError) end the program as a `pulumi.RunError`: the
 * CLI then shows the message alone, not "unhandled exception" with a colored stack trace.
 */
export = async () => {
    try {
        return await migrate();
    } catch (err) {
        if (!isMigrationError(err)) throw err;
        const runError = new pulumi.RunError(err.message);
        // The CLI never shows a RunError's stack, but cmd/run still util.inspect()s the error for
        // its trace; with the stack's node_modules frames that took 47 s (118 s on a busier
        // machine) under ts-node here, with the message alone 63 ms (measured).
        runError.stack = `RunError: ${err.message}`;
        throw runError;
    }
};

async function migrate() {
    const config = new pulumi.Config();
    const prefix = `${pulumi.getProject()}:`;
    checkKnownKeys(Object.keys(pulumi.runtime.allConfig()).filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length)));
    const settings = readSettings((key) => (key === "sourcePassword" ? undefined : config.get(key)));
    const password = await new Promise<string>((resolve) => config.requireSecret("sourcePassword").apply(resolve));
    registerSecret(password);
    // lz4/zstd need a pg_dump that offers them: refused before anything is created.
    checkDumpCompression(settings.dump.compression, localCompressionOffer());

    // The Heroku apps the configuration relies on (read-only Platform API lookups).
    const ep = heroku.herokuEndpointsFromEnv();
    const herokuApps = await Promise.all(herokuAppsToCheck(settings).map(async (a) => ({ ...a, exists: (await heroku.getApp(ep, a.name)) !== undefined })));

    // Azure's backups of an Azure source, read with azure-native's credentials (never invoked for
    // other hosts: the local rehearsal's engine cannot answer these invokes).
    const server = azureServerName(settings.source.host);
    const azureBackup = server ? await sourceBackups(server, settings.source.host, settings.sourceResourceGroup) : undefined;

    // Preflight runs in preview and in up, before anything is created or frozen.
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

    // Where the Azure server lives, recorded for `retireSourceServer` (pulumi destroy cannot run the program).
    const sourceServer = server && settings.retireSource.enabled ? await azureServerLocation(settings.source.host, settings.sourceResourceGroup, azureBackup) : undefined;
    const migration = new Migration("migration", { settings, preflight, reportDir, sourceServer });
    const outputs = {
        herokuAppName: migration.appName,
        herokuAppUrl: migration.appUrl,
        addonName: migration.addonName,
        targetServerVersion: migration.targetServerVersion,
        restoreId: migration.restoreId,
        restoreLogs: migration.restoreLogs,
        dumpBytes: migration.dumpBytes,
        verification: migration.verification,
        tables: migration.tables,
        verificationResult: migration.verificationResult,
        settingsApplied: migration.settingsApplied,
        sourceServerVersion: preflight.serverVersion,
        preflight: JSON.parse(preflightJson(preflight)),
        databaseUrl: migration.databaseUrl,
        ...(migration.rolledBackAt ? { rolledBackAt: migration.rolledBackAt } : {}),
    };
    // After a verified cutover the outputs resolve: the migration report is written beside the
    // preflight's. (A failed run leaves verification.json there; `npm run report` renders it.)
    if (!pulumi.runtime.isDryRun()) {
        const startedAt = new Date().toISOString();
        pulumi.all(outputs).apply((o) => {
            try {
                const file = writeReport(reportDir, reportFromOutputs(o, { command: "up", startedAt, database: settings.source.database }));
                pulumi.log.info(`migration report: ${file} (and .md, .html)`);
            } catch (err) {
                pulumi.log.warn(`could not write the migration report to ${reportDir}: ${err instanceof Error ? err.message : String(err)}`);
            }
        });
    }
    return outputs;
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

/** Subscription, resource group (config, else where the backup check found the server) and ARM endpoint of the source server. */
async function azureServerLocation(sourceHost: string, resourceGroup: string | undefined, backup: AzureBackupCheck | undefined): Promise<{ resourceGroup?: string; subscriptionId?: string; armEndpoint: string }> {
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
