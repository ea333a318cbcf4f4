/**
 * Migration: Heroku's "migrate from Azure" checklist as Pulumi resources, in the guide's order.
 * The constructor reads like the guide; each stage is one hoisted createX() with explicit
 * dependsOn, and each child is `${name}-<stage>` under this component.
 */
import * as pulumi from "@pulumi/pulumi";
import * as storage from "@pulumi/azure-native/storage";
import * as command from "@pulumi/command";
import { HerokuApp } from "../providers/herokuApp";
import { HerokuPostgres } from "../providers/herokuPostgres";
import { TargetCheck } from "../providers/targetCheck";
import { WriteFreeze } from "../providers/writeFreeze";
import { DumpToBlob, type BlobLocation } from "../providers/dumpToBlob";
import { ReadGrant } from "../providers/readGrant";
import { HerokuRestore } from "../providers/herokuRestore";
import { SourceChecksums } from "../providers/sourceChecksums";
import { ApplySettings } from "../providers/applySettings";
import { Verification } from "../providers/verification";
import { Cutover } from "../providers/cutover";
import { Rollback } from "../providers/rollback";
import { SourceRetirement } from "../providers/sourceRetirement";
import { isAzureHost, retirementPlanLine, sourceServerName } from "../lib/retire";
import { ROLLBACK_ACK_CODE, joinChanges, rollbackPlanLines } from "../lib/rollback";
import type { MigrationSettings } from "../lib/config";
import { freezeStatusSentence } from "../lib/freeze";
import { maskedShellCommand, shellQuote } from "../lib/maskedCommand";
import type { PreflightResult } from "../lib/preflight";
import type { FreezeState, GuardInputs } from "../lib/stage";
import type { TableRowCount } from "../lib/types";
import type { VerificationResult } from "../lib/verify";

export interface MigrationArgs {
    /** Validated stack configuration (lib/config.ts). */
    settings: MigrationSettings;
    /** The preflight that ran before anything is created (lib/preflight/). */
    preflight: PreflightResult;
    /** Absolute folder for the reports (lib/reportFiles.ts resolveReportDir). */
    reportDir?: string;
    /** Where the Azure source server lives, for `retireSourceServer` (lib/sourceServerLocation.ts reads it with azure-native's credentials). */
    sourceServer?: { resourceGroup?: string; subscriptionId?: string; armEndpoint?: string };
}

interface Storage {
    location: pulumi.Output<BlobLocation>;
    accountKey: pulumi.Output<string>;
    container: storage.BlobContainer;
}

export class Migration extends pulumi.ComponentResource {
    readonly appName: pulumi.Output<string>;
    readonly appUrl: pulumi.Output<string>;
    readonly addonName: pulumi.Output<string>;
    /** The new Heroku database's PostgreSQL version (TargetCheck). */
    readonly targetServerVersion: pulumi.Output<string>;
    readonly restoreId: pulumi.Output<string>;
    readonly restoreLogs: pulumi.Output<{ created_at: string; message: string }[]>;
    readonly dumpBytes: pulumi.Output<number>;
    readonly verification: pulumi.Output<string>;
    readonly tables: pulumi.Output<TableRowCount[]>;
    /** Everything Verification compared (schema, checksums, sequences, large objects, settings, queries, timings). */
    readonly verificationResult: pulumi.Output<VerificationResult>;
    /** The source's settings carried over to the new database (ApplySettings). */
    readonly settingsApplied: pulumi.Output<{ name: string; value: string; via: string; result: string }[]>;
    /** Secret; known only after Cutover. */
    readonly databaseUrl: pulumi.Output<string>;
    /** When the cutover was undone (config `rollback`); undefined without it. */
    readonly rolledBackAt?: pulumi.Output<string>;

    constructor(name: string, args: MigrationArgs, opts?: pulumi.ComponentResourceOptions) {
        super("azure-to-heroku-pg:index:Migration", name, {}, opts);
        const s = args.settings;
        const parent = this;
        const retainOnDelete = !s.heroku.rehearsal;
        const blobName = `azure-to-heroku-pg/${pulumi.getStack()}/${s.source.database}.dump`;

        const store = createStorage();
        const app = createHerokuApp();
        const database = createHerokuPostgres();
        const restoreExtensions = args.preflight.extensions.map((e) => (e.schema && e.schema !== "public" ? `${e.schema}.${e.name}` : e.name));
        const targetCheck = createTargetCheck();
        const freeze = createWriteFreeze();
        const freezeState: pulumi.Output<FreezeState> = pulumi.all([freeze.spec, freeze.record]).apply(([spec, record]) => ({ spec, record }));
        // The one input every stage from the dump on carries (lib/stage.ts GuardInputs), and the account key beside it.
        const guard: pulumi.Output<GuardInputs> = pulumi.output({ source: s.source, freeze: freezeState, unfreezeOnFailure: s.freeze.unfreezeOnFailure, storage: store.location, blobName });
        const dump = createDump();
        const grant = createReadGrant();
        const restore = createRestore();
        const sourceChecksums = createSourceChecksums();
        const applied = createApplySettings();
        const verification = createVerification();
        const acceptance = createAcceptance();
        const cutover = createCutover();
        const rollback = s.rollback ? createRollback() : undefined;
        // Kept while either retire key is set, so that opting out is an update, never a delete (which retires).
        if (s.retireSource.enabled || s.retireSource.confirm) createSourceRetirement();

        this.appName = app.name;
        this.appUrl = app.webUrl;
        this.addonName = database.addonName;
        this.targetServerVersion = targetCheck.serverVersion;
        this.restoreId = restore.name;
        this.restoreLogs = restore.logs;
        this.dumpBytes = dump.bytes;
        this.verification = verification.summary;
        this.tables = verification.tables;
        this.verificationResult = verification.result;
        this.settingsApplied = applied.applied;
        this.databaseUrl = pulumi.secret(pulumi.all([cutover.completedAt, database.databaseUrl]).apply(([, url]) => url));
        this.rolledBackAt = rollback?.rolledBackAt;
        this.registerOutputs({
            appName: this.appName, appUrl: this.appUrl, addonName: this.addonName, targetServerVersion: this.targetServerVersion, restoreId: this.restoreId,
            dumpBytes: this.dumpBytes, verification: this.verification, verificationResult: this.verificationResult, settingsApplied: this.settingsApplied, databaseUrl: this.databaseUrl,
        });

        // Guide: "upload the dump to a private Azure blob container".
        function createStorage(): Storage {
            const st = s.storage;
            let endpoint: pulumi.Output<string>;
            let dependsOn: pulumi.Resource[] = [];
            if (st.useExisting) {
                endpoint = storage.getStorageAccountOutput({ resourceGroupName: st.resourceGroup, accountName: st.accountName }, { parent }).primaryEndpoints.blob;
            } else {
                const account = new storage.StorageAccount(`${name}-storage`, {
                    resourceGroupName: st.resourceGroup,
                    accountName: st.accountName,
                    location: st.location,
                    kind: storage.Kind.StorageV2,
                    sku: { name: storage.SkuName.Standard_LRS },
                    allowBlobPublicAccess: false,
                    enableHttpsTrafficOnly: true,
                    minimumTlsVersion: storage.MinimumTlsVersion.TLS1_2,
                    allowSharedKeyAccess: true,
                }, { parent });
                endpoint = account.primaryEndpoints.blob;
                dependsOn = [account];
            }
            const container = new storage.BlobContainer(`${name}-container`, {
                resourceGroupName: st.resourceGroup,
                accountName: st.accountName,
                containerName: st.container,
                publicAccess: storage.PublicAccess.None,
            }, { parent, dependsOn });
            const keys = storage.listStorageAccountKeysOutput({ resourceGroupName: st.resourceGroup, accountName: st.accountName }, { parent });
            return {
                location: pulumi.all([endpoint, container.name]).apply(([blobEndpoint, containerName]) => ({
                    accountName: st.accountName,
                    blobEndpoint: blobEndpoint.replace(/\/+$/, ""),
                    container: containerName,
                })),
                accountKey: pulumi.secret(keys.keys.apply((k) => k[0].value)),
                container,
            };
        }

        // Guide: "create the Heroku app".
        function createHerokuApp(): HerokuApp {
            return new HerokuApp(`${name}-app`, {
                name: s.heroku.app,
                create: s.heroku.createApp,
                region: s.heroku.region,
                team: s.heroku.team,
            }, { parent, retainOnDelete });
        }

        // Guide: "heroku addons:create heroku-postgresql:essential-1", then wait until it is available.
        function createHerokuPostgres(): HerokuPostgres {
            return new HerokuPostgres(`${name}-database`, {
                app: app.name,
                plan: s.heroku.plan,
                allowPlanReplace: s.heroku.allowPlanReplace,
            }, { parent, dependsOn: [app], retainOnDelete });
        }

        // Guide: "extensions must be supported": the new database's own allow-list decides, before the freeze.
        function createTargetCheck(): TargetCheck {
            return new TargetCheck(`${name}-target-check`, {
                databaseUrl: database.databaseUrl,
                addonName: database.addonName,
                plan: s.heroku.plan,
                extensions: restoreExtensions,
                sourceMajor: args.preflight.serverMajor,
            }, { parent, dependsOn: [database] });
        }

        // Guide: "maintenance mode on, workers scaled to zero" - as late as possible, once the target is ready.
        function createWriteFreeze(): WriteFreeze {
            return new WriteFreeze(`${name}-freeze`, {
                spec: {
                    mode: s.freeze.mode,
                    app: s.freeze.app,
                    scaleDown: s.freeze.scaleDown,
                    command: s.freeze.command,
                    unfreezeCommand: s.freeze.unfreezeCommand,
                },
                source: s.source,
                rollbackRequested: s.rollback,
            }, { parent, dependsOn: [database, targetCheck, store.container] });
        }

        // Guide: "pg_dump -Fc -b -v", uploaded to the private container.
        function createDump(): DumpToBlob {
            return new DumpToBlob(`${name}-dump`, {
                guard,
                accountKey: store.accountKey,
                excludeExtensions: args.preflight.excludeExtensions ?? [],
                compression: s.dump.compression.text,
                expectedBytes: args.preflight.archiveBytesEstimate,
            }, { parent, dependsOn: [freeze, store.container] });
        }

        // Guide: "a read-only, blob-scoped, short-lived SAS URL".
        function createReadGrant(): ReadGrant {
            return new ReadGrant(`${name}-grant`, {
                storage: store.location,
                accountKey: store.accountKey,
                blobName: dump.blobName,
                etag: dump.etag,
                expiryMinutes: s.storage.sasExpiryMinutes,
            }, { parent, dependsOn: [dump] });
        }

        // Guide: "heroku pg:backups:restore '<SAS URL>' DATABASE_URL --confirm".
        function createRestore(): HerokuRestore {
            return new HerokuRestore(`${name}-restore`, {
                guard,
                accountKey: store.accountKey,
                app: app.name,
                appId: app.appId,
                addonId: database.addonId,
                backupUrl: grant.url,
                dumpEtag: dump.etag,
                // Heroku pre-installs a bare name into public; an extension elsewhere is schema.name.
                extensions: restoreExtensions,
            }, { parent, dependsOn: [grant, database] });
        }

        // Verification starts during the restore: the source is frozen since the dump, so its side
        // of the table checksums is read while Heroku restores (beside the grant and the restore).
        function createSourceChecksums(): SourceChecksums {
            return new SourceChecksums(`${name}-source-checksums`, {
                source: s.source,
                targetUrl: database.databaseUrl,
                dumpEtag: dump.etag,
                excludeTables: s.verify.excludeTables,
                concurrency: s.verify.concurrency,
            }, { parent, dependsOn: [dump, database] });
        }

        // Guide: "find any configurations from your Azure setup and reapply them to your Heroku Postgres instance".
        function createApplySettings(): ApplySettings {
            const plan = args.preflight.settings;
            return new ApplySettings(`${name}-settings`, {
                guard,
                accountKey: store.accountKey,
                targetUrl: database.databaseUrl,
                addonId: database.addonId,
                addonName: database.addonName,
                restoreId: restore.transferId,
                database: plan?.database ?? [],
                heroku: plan?.heroku ?? [],
            }, { parent, dependsOn: [restore] });
        }

        // Guide: "verify table counts, row counts, query results".
        function createVerification(): Verification {
            return new Verification(`${name}-verify`, {
                guard,
                accountKey: store.accountKey,
                targetUrl: database.databaseUrl,
                restoreId: restore.transferId,
                excludeTables: s.verify.excludeTables,
                queries: s.verify.queries,
                concurrency: s.verify.concurrency,
                // The settings the program carried over must be equal, besides verifyRequireSettings.
                requireSettings: applied.appliedNames.apply((names) => [...new Set([...s.verify.requireSettings, ...(names ?? [])])]),
                restoreLogs: restore.logs,
                reportDir: args.reportDir,
                sourceChecksums: sourceChecksums.checksums,
            }, { parent, dependsOn: [restore, sourceChecksums, applied] });
        }

        // Guide: "run the app's acceptance tests" against the new database.
        function createAcceptance(): command.local.Command | undefined {
            if (!s.verify.acceptanceCommand) return undefined;
            // On failure the Command's error says where the freeze stands: the freeze stays on
            // (the cutover did not run) until the user re-runs or lifts it. The user's command runs
            // in a child process, so that its own `exit` still reaches the status check.
            const freezeNote = freezeStatusSentence({ mode: s.freeze.mode, app: s.freeze.app, scaleDown: s.freeze.scaleDown }, false);
            // Its output is masked: Pulumi logs it and quotes it in the error, beyond our redaction.
            const script = `${maskedShellCommand(s.verify.acceptanceCommand)}\nstatus=$?\nif [ "$status" -ne 0 ]; then echo ${shellQuote(`acceptanceCommand failed: cutover did not run and DATABASE_URL was not published. ${freezeNote}`)} >&2; exit "$status"; fi`;
            return new command.local.Command(`${name}-acceptance`, {
                create: script,
                environment: { DATABASE_URL: database.databaseUrl },
                triggers: [restore.transferId],
            }, { parent, dependsOn: [verification], additionalSecretOutputs: ["stdout", "stderr"] });
        }

        // Guide: "get DATABASE_URL, update what depends on it, lift maintenance".
        function createCutover(): Cutover {
            return new Cutover(`${name}-cutover`, {
                app: app.name,
                addonName: database.addonName,
                databaseUrl: database.databaseUrl,
                dependentApps: s.dependentApps,
                verificationId: verification.id,
                source: s.source,
                freeze: freezeState,
                verifiedAt: verification.verifiedAt,
                rollbackRequested: s.rollback,
            }, { parent, dependsOn: acceptance ? [verification, acceptance] : [verification] });
        }

        // The way back (config `rollback`): puts back what Cutover recorded, unless the new database was written since.
        function createRollback(): Rollback {
            // The plan, in preview and up (values never shown: hosts only).
            pulumi.all([cutover.app, cutover.addonName, cutover.completedAt, cutover.changes, cutover.previousValues, freezeState]).apply(([a, addon, at, changes, previous, f]) => {
                if (!changes || !previous) return; // a cutover by an earlier version: Rollback explains
                for (const line of rollbackPlanLines({ app: a, addonName: addon, cutoverAt: at, changes: joinChanges(changes, previous), freezeApp: f.spec.mode === "maintenance" ? f.spec.app : undefined })) pulumi.log.info(line);
            });
            return new Rollback(`${name}-rollback`, {
                cutoverId: cutover.id,
                app: cutover.app,
                addonName: cutover.addonName,
                databaseUrl: cutover.databaseUrl,
                changes: cutover.changes,
                previousValues: cutover.previousValues,
                baseline: cutover.baseline,
                cutoverAt: cutover.completedAt,
                freeze: cutover.freeze,
                source: s.source,
                acknowledge: s.acknowledge.filter((a) => a.code === ROLLBACK_ACK_CODE),
            }, { parent, dependsOn: [cutover] });
        }

        // Guide: "when you no longer need your Azure database, you can delete it": opt-in, done by `pulumi destroy`.
        function createSourceRetirement(): SourceRetirement {
            const host = s.source.host;
            const kind = isAzureHost(host) ? "azure" as const : "other" as const;
            const serverName = sourceServerName(host);
            pulumi.log.info(retirementPlanLine({ retire: s.retireSource.enabled, confirm: s.retireSource.confirm, serverName, kind, host, resourceGroup: args.sourceServer?.resourceGroup }));
            return new SourceRetirement(`${name}-retire-source`, {
                retire: s.retireSource.enabled,
                confirm: s.retireSource.confirm,
                serverName,
                host,
                port: s.source.port,
                kind,
                resourceGroup: args.sourceServer?.resourceGroup,
                subscriptionId: args.sourceServer?.subscriptionId,
                armEndpoint: args.sourceServer?.armEndpoint,
                cutoverId: cutover.id,
                cutoverAt: cutover.completedAt,
                verificationId: verification.id,
                verifiedAt: verification.verifiedAt,
                rolledBackAt: rollback?.rolledBackAt,
            }, { parent, dependsOn: rollback ? [cutover, rollback] : [cutover] });
        }
    }
}
