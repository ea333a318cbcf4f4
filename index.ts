/**
 * azure-to-heroku-pg: config in, preflight, one Migration, outputs out.
 * `pulumi preview` plans the cutover, `pulumi up` runs it, `pulumi destroy` deletes the dump.
 */
import * as pulumi from "@pulumi/pulumi";
import { Migration } from "./components/migration";
import { checkKnownKeys, readSettings } from "./lib/config";
import { checkDumpCompression, localCompressionOffer } from "./lib/compression";
import { preflightJson } from "./lib/preflight";
import { runProgramPreflight } from "./lib/preflight/run";
import { sourceServerToRetire } from "./lib/sourceServerLocation";
import { isMigrationError } from "./lib/errors";
import { registerSecret } from "./lib/redact";
import { reportFromOutputs, writeReport } from "./lib/reportFiles";

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

    // Preflight runs in preview and in up, before anything is created or frozen; a blocking finding throws.
    const { preflight, reportDir, azureBackup } = await runProgramPreflight(settings, password);
    // Where the Azure server lives, recorded for `retireSourceServer` (pulumi destroy cannot run the program).
    const sourceServer = await sourceServerToRetire(settings, azureBackup);
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
