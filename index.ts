/**
 * azure-to-heroku-pg: config in, preflight, one Migration, outputs out.
 * `pulumi preview` plans the cutover, `pulumi up` runs it, `pulumi destroy` deletes the dump.
 */
import * as pulumi from "@pulumi/pulumi";
import { Migration } from "./components/migration";
import { readSettings } from "./lib/config";
import { formatFindings, runPreflight } from "./lib/preflight";
import { MigrationError } from "./lib/errors";
import { registerSecret } from "./lib/redact";

export = async () => {
    const config = new pulumi.Config();
    const settings = readSettings((key) => (key === "sourcePassword" ? undefined : config.get(key)));
    const password = await new Promise<string>((resolve) => config.requireSecret("sourcePassword").apply(resolve));
    registerSecret(password);

    // Preflight runs in preview and in up, before anything is created or frozen.
    const preflight = await runPreflight({ ...settings.source, password }, { plan: settings.heroku.plan });
    for (const line of formatFindings(preflight.findings)) {
        if (line.startsWith("BLOCKING")) pulumi.log.error(line);
        else if (line.startsWith("WARNING")) pulumi.log.warn(line);
        else pulumi.log.info(line);
    }
    const blocking = preflight.findings.filter((f) => f.level === "blocking");
    if (blocking.length > 0) {
        throw new MigrationError("preflight", `${blocking.length} blocking finding(s): ${blocking.map((f) => f.code).join(", ")}. Nothing was created or frozen.`, blocking.map((f) => f.action).join(" "));
    }

    const migration = new Migration("migration", { settings, preflight });
    return {
        herokuAppName: migration.appName,
        herokuAppUrl: migration.appUrl,
        addonName: migration.addonName,
        restoreId: migration.restoreId,
        restoreLogs: migration.restoreLogs,
        dumpBytes: migration.dumpBytes,
        verification: migration.verification,
        tables: migration.tables,
        sourceServerVersion: preflight.serverVersion,
        preflight: preflight.findings,
        databaseUrl: migration.databaseUrl,
    };
};
