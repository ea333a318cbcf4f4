/**
 * runPreflight: "will this migration work, and how long will the app be frozen?", answered by
 * reading the source (never writing to it) before anything is created or frozen, and the plan it
 * returns (PreflightPlan: preview's findings, the stack output, preflight.md/json). It runs in
 * `pulumi preview` and again at the start of `pulumi up` (run.ts refuses to go on while a blocking
 * finding stands). The parts: the inspection (inspection.ts, readRate.ts), the freeze estimate
 * (estimate.ts, freezePlan.ts), the findings (findings.ts, backup.ts), the acknowledgements
 * (acknowledgements.ts), the verify queries (lib/userQueries.ts) and the settings (lib/settings.ts).
 *
 * Plain functions, no module-level mutable state (lib/ may be captured by dynamic providers).
 */
import { pgToolVersion } from "../pgbin";
import { majorVersion, withClient } from "../pg";
import { HEROKU_DEFAULT_POSTGRES_MAJOR, findPlan, herokuPostgresPlans, type PlanInfo } from "../plans";
import { pgDumpCanExcludeExtensions } from "../extensions";
import { formatDuration } from "../progress";
import { DEFAULT_DUMP_COMPRESSION, localCompressionOffer, parseDumpCompression, type DumpCompression } from "../compression";
import type { AzureBackupCheck } from "../azureBackup";
import { checkUserQueries } from "../userQueries";
import type { AcknowledgeEntry, FreezeSettings } from "../config";
import { planSettings, settingsFindings, type SettingsPlan } from "../settings";
import type { PgConnection } from "../types";
import { applyAcknowledgements } from "./acknowledgements";
import { computeEstimate, type FreezeEstimate } from "./estimate";
import { sortFindings, type Finding } from "./finding";
import { buildFindings } from "./findings";
import { freezePlan, type FreezePlan } from "./freezePlan";
import type { HerokuAppCheck } from "./herokuApps";
import { inspect, largestTables, sourceSettings, type ExtensionReport, type Inspection, type TableSize } from "./inspection";
import { DEFAULT_SAMPLE_BYTES } from "./readRate";

/** An extension the restore asks Heroku to create (only Heroku-supported ones). */
export interface RestoreExtension {
    name: string;
    version: string;
    schema?: string;
}

/** What the Migration component needs (components/migration.ts, test helpers). */
export interface PreflightResult {
    serverVersion: string;
    serverMajor: number;
    pgDumpVersion: string;
    databaseBytes: number;
    /** Only extensions Heroku supports: the restore's `extensions`. */
    extensions: RestoreExtension[];
    findings: Finding[];
    /** Extensions the dump should leave out (`pg_dump --exclude-extension`, pg_dump 17+): Azure-only ones and acknowledged unsupported ones. */
    excludeExtensions?: string[];
    /** Expected size of the dump archive (estimate.archiveBytes), for the dump's progress lines. */
    archiveBytesEstimate?: number;
    /** The source's custom settings in three groups (lib/settings.ts); ApplySettings applies database and heroku. */
    settings?: SettingsPlan;
}

/** The whole plan: PreflightResult plus everything preview shows, the stack output and preflight.md/json. */
export interface PreflightPlan extends PreflightResult {
    generatedAt: string;
    source: { host: string; port: number; database: string; user: string; superuser: boolean };
    pgDumpMajor: number;
    pgRestoreVersion: string;
    target: { postgresMajor: number; plan: string; planStorageBytes: number | null; suggestedPlan: string | null };
    databases: { name: string; owner: string; bytes: number | null }[];
    size: {
        databaseBytes: number;
        tableBytes: number;
        toastBytes: number;
        indexBytes: number;
        largeObjects: { count: number; bytes: number };
        largestTables: TableSize[];
    };
    extensionReport: ExtensionReport[];
    excludeExtensions: string[];
    dumpCanExcludeExtensions: boolean;
    freeze: FreezePlan;
    estimate: FreezeEstimate;
    counts: { blocking: number; warning: number; info: number };
}

export interface PreflightOptions {
    /** herokuPlan */
    plan: string;
    /** How writes are frozen (settings.freeze); without it the freeze is reported as unknown. */
    freeze?: FreezeSettings;
    /** settings.acknowledge */
    acknowledge?: AcknowledgeEntry[];
    /** The target app (settings.heroku.app / createApp): a maintenance freeze on an app this stack creates freezes nothing. */
    herokuApp?: { name: string; create: boolean };
    /** Plan table to size against. @default herokuPostgresPlans() */
    plans?: PlanInfo[];
    /** PostgreSQL major Heroku creates. @default HEROKU_DEFAULT_POSTGRES_MAJOR */
    herokuPostgresMajor?: number;
    /** Upper bound of the read-rate sample. @default 4 MiB */
    sampleBytes?: number;
    /** settings.dump.compression: the estimate's dump time and archive size follow it. @default DEFAULT_DUMP_COMPRESSION */
    dumpCompression?: DumpCompression;
    /** Heroku apps the configuration names, looked up by the caller (see herokuAppsToCheck). */
    herokuApps?: HerokuAppCheck[];
    /** Azure's backups of an Azure source (lib/azureBackup.ts checkAzureBackups); without it preflight says how to check. */
    azureBackup?: AzureBackupCheck;
    /** settings.verify.queries: each is opened on the source as verification will (lib/userQueries.ts). */
    verifyQueries?: string[];
    /** settingsSkip / settingsOverride (lib/settings.ts). */
    customSettings?: { skip: string[]; override: Record<string, string> };
    /** Time each verify query may take to return its first row in preflight. @default 10 s */
    verifyQueryTimeoutMs?: number;
}

/** Runs every check against the source, read-only. Throws only when the source cannot be read at all. */
export async function runPreflight(source: PgConnection, opts: PreflightOptions): Promise<PreflightPlan> {
    const dump = pgToolVersion("pg_dump");
    const restore = pgToolVersion("pg_restore");
    const plans = opts.plans ?? herokuPostgresPlans();
    const plan = findPlan(opts.plan, plans);
    const herokuMajor = opts.herokuPostgresMajor ?? HEROKU_DEFAULT_POSTGRES_MAJOR;

    const { ins, queryFindings } = await withClient(source, async (c) => {
        await c.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
        let inspected: Inspection;
        try {
            await c.query("SET LOCAL statement_timeout = '120s'");
            inspected = await inspect(c, opts.sampleBytes ?? DEFAULT_SAMPLE_BYTES);
        } finally {
            await c.query("ROLLBACK").catch(() => undefined);
        }
        const checked = await checkUserQueries(c, opts.verifyQueries ?? [], { timeoutMs: opts.verifyQueryTimeoutMs, user: inspected.user, database: inspected.database });
        return { ins: inspected, queryFindings: checked };
    });
    const serverMajor = majorVersion(ins.versionNum);
    const estimate = computeEstimate(ins, opts.dumpCompression ?? parseDumpCompression(DEFAULT_DUMP_COMPRESSION)!);
    const fp = freezePlan(opts.freeze, formatDuration(estimate.totalSeconds * 1000));
    const compressionOffer = localCompressionOffer();
    const built = buildFindings({ source, ins, dump, restore, serverMajor, plan, plans, herokuMajor, freeze: opts.freeze, herokuApp: opts.herokuApp, herokuApps: opts.herokuApps, azureBackup: opts.azureBackup, estimate, freezePlan: fp, compressionOffer });
    // A verify query verification would refuse cannot be acknowledged: it would fail there anyway.
    const settingsPlan = planSettings(sourceSettings(ins), { ...opts.customSettings, plan: opts.plan, contexts: ins.settingContexts });
    const settingFindings: Finding[] = settingsFindings(settingsPlan, { essential: /^(heroku-postgresql:)?essential-/.test(opts.plan) });
    const findings = sortFindings([...applyAcknowledgements(built.findings, opts.acknowledge ?? []), ...queryFindings, ...settingFindings]);

    const acknowledgedUnsupported = findings.filter((f) => f.code === "extension_unsupported" && f.acknowledged).map((f) => f.subject as string);
    const tables = ins.relations.filter((r) => r.kind === "r" || r.kind === "m");
    return {
        serverVersion: ins.versionText,
        serverMajor,
        pgDumpVersion: `${dump.major}.${dump.minor}`,
        databaseBytes: ins.databaseBytes,
        extensions: ins.extensions
            .filter((e) => e.status === "supported" || e.status === "supported_other_version")
            .map((e) => ({ name: e.name, version: e.version, schema: e.schema })),
        findings,
        generatedAt: new Date().toISOString(),
        source: { host: source.host, port: source.port, database: ins.database, user: ins.user, superuser: ins.superuser },
        pgDumpMajor: dump.major,
        pgRestoreVersion: `${restore.major}.${restore.minor}`,
        target: { postgresMajor: herokuMajor, plan: opts.plan, planStorageBytes: plan ? plan.storageBytes : null, suggestedPlan: built.suggested?.name ?? null },
        databases: ins.databases,
        size: {
            databaseBytes: ins.databaseBytes,
            tableBytes: tables.reduce((n, r) => n + r.heap, 0),
            toastBytes: tables.reduce((n, r) => n + r.toast, 0),
            indexBytes: tables.reduce((n, r) => n + r.indexes, 0),
            largeObjects: { count: ins.largeObjects.count, bytes: ins.largeObjects.bytes },
            largestTables: largestTables(ins, 10),
        },
        extensionReport: ins.extensions,
        excludeExtensions: [...built.exclude, ...acknowledgedUnsupported],
        archiveBytesEstimate: estimate.archiveBytes,
        settings: settingsPlan,
        dumpCanExcludeExtensions: pgDumpCanExcludeExtensions(dump.major),
        freeze: fp,
        estimate,
        counts: {
            blocking: findings.filter((f) => f.level === "blocking").length,
            warning: findings.filter((f) => f.level === "warning").length,
            info: findings.filter((f) => f.level === "info").length,
        },
    };
}
