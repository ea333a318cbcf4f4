/**
 * The verification as a whole: verifyDatabases runs the comparisons of the other modules on the
 * frozen source and the restored target and turns their results into one verdict. Settings and
 * schema are read at the same time; then tables, sequences, large objects and the user's
 * queries run beside one another, each on its own sessions, and every one runs to its end
 * before an error is thrown. The verdict lists failing differences most important first
 * (missing tables, data, schema, sequences, large objects, extensions, required settings,
 * queries); everything reported but not failing goes to notes.
 */
import { majorVersion, withClient } from "../pg";
import { formatDuration } from "../progress";
import { scanRestoreLogs } from "../restoreLog";
import type { PgConnection } from "../types";
import { compareTableData, describeTableCheck, type SideChecksum, type TableCheck } from "./data";
import { compareExtensions, describeMissingExtension, type ExtensionCheck } from "./extensions";
import { compareLargeObjects, describeLargeObjectDifference, type LargeObjectComparison } from "./largeObjects";
import { compareQueries, describeQueryCheck, type QueryCheck } from "./queries";
import { describeSchemaDifference, diffSchema, inspectSchema, type SchemaComparison, type SchemaDifference } from "./schema";
import { compareSequences, describeSequenceCheck, type SequenceCheck } from "./sequences";
import { chooseRendering, prepareSession, serverInfo, withPair, type Rendering, type ServerInfo, type Side } from "./session";
import { describeSettingDifference, diffSettings, readServerSettings, type SettingsComparison } from "./settings";
import { staleSourceChecksums, type SourceChecksums } from "./sourceChecksums";
import type { TableProgress } from "./tableProgress";
import { elapsed } from "./util";

export interface VerifyOptions {
    /** "schema.name" of tables left out of every check (schema and data). */
    excludeTables?: string[];
    /** Tables checked at the same time (one connection per side each). @default 4 */
    concurrency?: number;
    /** SQL queries run on both sides in read-only transactions; ordered results compared. */
    queries?: string[];
    /** Settings (pg_settings names) that must be equal; other setting differences are only reported. */
    requireSettings?: string[];
    /** Setting differences that are expected, with the reason (e.g. the read-only freeze). */
    expectedSettingDifferences?: Record<string, string>;
    /** The restore transfer's log, scanned for error and warning lines. */
    restoreLogs?: { created_at?: string; message: string }[];
    /** Source checksums computed ahead (precomputeSourceChecksums); used only if the source has provably not changed since. */
    sourceChecksums?: SourceChecksums;
    /** Differences kept per section in the result (the rest are counted). @default 200 */
    maxListed?: number;
    /** Progress lines (each comparison's outcome; the data comparison's as lib/verify/tableProgress.ts decides). */
    onProgress?: (message: string) => void;
    /** The data comparison's numbers, for a live bar (compareTableData's onTick); given, the periodic data lines are left to the bar. */
    onTick?: (p: TableProgress) => void;
}

export interface VerificationResult {
    ok: boolean;
    verdict: "match" | "mismatch";
    summary: string;
    /** Every failing difference, one line each, most important first (capped; problemCount is the total). */
    problems: string[];
    problemCount: number;
    /** Reported, not failing (setting differences, extension versions, restore warnings...). */
    notes: string[];
    startedAt: string;
    finishedAt: string;
    durationMs: number;
    servers: { source: ServerInfo; target: ServerInfo };
    /** How rows were rendered and hashed (the same on both sides). */
    rendering: { hash: "hashtextextended" | "md5"; extraFloatDigits: number; utf8: boolean };
    schema: SchemaComparison;
    tables: TableCheck[];
    excluded: string[];
    sequences: SequenceCheck[];
    largeObjects: LargeObjectComparison;
    extensions: ExtensionCheck[];
    settings: SettingsComparison;
    queries: QueryCheck[];
    restore: { errors: string[]; warnings: string[] };
    timings: { stage: string; ms: number }[];
}

const STAGE_ORDER = ["settings", "schema", "tables", "sequences", "large objects", "queries"];

/**
 * Compares the frozen source with the restored target: schema, data, sequences, large objects,
 * extensions, settings, queries and the restore log. Never throws for a difference (the result
 * says what differs); throws for connection failures and for checks that cannot run.
 */
export async function verifyDatabases(source: PgConnection, target: PgConnection, opts: VerifyOptions = {}): Promise<VerificationResult> {
    const startedAt = new Date();
    const t0 = process.hrtime.bigint();
    const timings: { stage: string; ms: number }[] = [];
    const progress = opts.onProgress ?? (() => undefined);
    const max = opts.maxListed ?? 200;
    const exclude = opts.excludeTables ?? [];
    const timed = async <T>(stage: string, fn: () => Promise<T>): Promise<T> => {
        const s = process.hrtime.bigint();
        try {
            return await fn();
        } finally {
            timings.push({ stage, ms: elapsed(s) });
        }
    };
    const both = <T>(fn: (conn: PgConnection, side: Side) => Promise<T>) => Promise.all([fn(source, "source"), fn(target, "target")]);

    // Settings on fresh sessions (SET would show in pg_settings), with server facts. The schema is
    // read at the same time on its own sessions, as soon as both servers' facts decide the rendering.
    let gotInfo!: Record<Side, (i: ServerInfo) => void>;
    let noInfo!: (err: unknown) => void;
    const rendering = new Promise<{ r: Rendering; servers: Record<Side, ServerInfo> }>((resolve, reject) => {
        const got: Partial<Record<Side, ServerInfo>> = {};
        const one = (side: Side) => (i: ServerInfo) => {
            got[side] = i;
            if (got.source && got.target) resolve({ r: chooseRendering(got.source, got.target), servers: { source: got.source, target: got.target } });
        };
        gotInfo = { source: one("source"), target: one("target") };
        noInfo = reject;
    });
    rendering.catch(() => undefined); // a failure is thrown from the settings stage below
    const settingsRun = timed("settings", () => both((conn, side) => withClient(conn, async (c) => {
        const info = await serverInfo(c);
        gotInfo[side](info);
        return { info, settings: await readServerSettings(c) };
    }).catch((err) => {
        noInfo(err);
        throw err;
    })));
    const schemaRun = timed("schema", () => both((conn, side) => withClient(conn, async (c) => {
        // Connected while the settings are read; prepared once both servers' facts are known.
        const { r: rr, servers: ss } = await rendering;
        await prepareSession(c, rr, { catalogSearchPath: true, rowSecurity: false });
        return inspectSchema(c, ss[side].versionNum);
    })));
    const first = await Promise.allSettled([settingsRun, schemaRun]);
    const firstFailure = first.find((x): x is PromiseRejectedResult => x.status === "rejected");
    if (firstFailure) throw firstFailure.reason;
    const [[srcSettings, tgtSettings], [srcSchema, tgtSchema]] = await Promise.all([settingsRun, schemaRun]);
    const { r, servers } = await rendering;
    const notes: string[] = [];
    if (r.extraFloatDigits === 0) notes.push(`float columns are compared to 15 significant digits: the source (${servers.source.version}) and the target (${servers.target.version}) print floats differently at full precision`);
    if (r.utf8) notes.push(`row text is converted to UTF-8 before hashing: the source encoding is ${servers.source.encoding}, the target's ${servers.target.encoding}`);
    if (majorVersion(servers.source.versionNum) !== majorVersion(servers.target.versionNum)) {
        notes.push(`definitions are compared as each server prints them (PostgreSQL ${servers.source.version} and ${servers.target.version}), without the qualifiers of qualified names, which the two versions print differently`);
    }
    const settings = diffSettings(srcSettings.settings, tgtSettings.settings, { requireSettings: opts.requireSettings, expected: opts.expectedSettingDifferences });
    progress(`settings: ${settings.compared} compared, ${settings.differences.length} differ (${settings.ignored.length} more always differ and are ignored)`);

    const crossVersion = majorVersion(servers.source.versionNum) !== majorVersion(servers.target.versionNum);
    const schema = diffSchema(srcSchema, tgtSchema, { excludeTables: exclude, maxListed: max, crossVersion });
    progress(`schema: ${srcSchema.objects.length} objects on the source, ${tgtSchema.objects.length} on the target, ${schema.differences.length + schema.more} differ`);

    // Data, sequences, large objects and the user's queries need nothing from one another: they
    // run at the same time, each on its own connections, so the short ones finish while the
    // tables are still being scanned. Every one runs to its end before an error is thrown, so no
    // query is left running on a server after verification has returned.
    const tablesRun = timed("tables", async () => {
        let sourceChecksums: Map<string, SideChecksum> | undefined;
        const pre = opts.sourceChecksums;
        if (pre) {
            const stale = await staleSourceChecksums(source, pre, r, servers.source.versionNum);
            if (stale) notes.push(`the source checksums computed during the restore were not used (${stale}): the source side was read again`);
            else {
                sourceChecksums = new Map(pre.tables.map((t) => [t.oid, { rows: t.rows, checksum: t.checksum, ms: t.ms }] as const));
                notes.push(`source checksums were computed during the restore (${formatDuration(pre.durationMs)}); the source has not changed since (no transaction has ended on it)`);
            }
        }
        return compareTableData(source, target, r, srcSchema.relations, tgtSchema.relations, {
            excludeTables: exclude, concurrency: opts.concurrency, onProgress: progress, onTick: opts.onTick, sourceChecksums,
        });
    });

    const sequencesRun = timed("sequences", () => compareSequences(source, target, r, srcSchema, tgtSchema));

    const largeObjectsRun = timed("large objects", () =>
        withPair(source, target, r, { catalogSearchPath: true, rowSecurity: false }, (s, t) => compareLargeObjects(s, t, r, { maxListed: max })),
    ).then((largeObjects) => {
        progress(`large objects: ${largeObjects.source.count} on the source, ${largeObjects.target.count} on the target, ${largeObjects.differences.length + largeObjects.more} differ`);
        return largeObjects;
    });

    const extensions = compareExtensions(srcSchema.extensions, tgtSchema.extensions);

    const queriesRun = timed("queries", () => compareQueries(source, target, r, opts.queries ?? [], progress));

    const settled = await Promise.allSettled([tablesRun, sequencesRun, largeObjectsRun, queriesRun]);
    const failure = settled.find((x): x is PromiseRejectedResult => x.status === "rejected");
    if (failure) throw failure.reason;
    const [tables, sequences, largeObjects, queries] = await Promise.all([tablesRun, sequencesRun, largeObjectsRun, queriesRun]);
    // Stages overlap; their timings are listed in a fixed order, each its own wall time.
    timings.sort((a, b) => STAGE_ORDER.indexOf(a.stage) - STAGE_ORDER.indexOf(b.stage));

    const restore = scanRestoreLogs(opts.restoreLogs ?? []);

    // Verdict: failing problems, most important first.
    const problems: string[] = [];
    const missingRelation = (d: SchemaDifference) => (d.kind === "table" || d.kind === "materialized view") && d.change === "missing on target";
    const missing = new Set(schema.differences.filter(missingRelation).map((d) => d.name));
    for (const d of schema.differences) if (missingRelation(d)) problems.push(describeSchemaDifference(d));
    for (const t of tables) if (!t.match && !(t.targetRows === null && missing.has(`${t.schema}.${t.name}`))) problems.push(describeTableCheck(t));
    for (const d of schema.differences) if (!missingRelation(d)) problems.push(describeSchemaDifference(d));
    if (schema.more) problems.push(`and ${schema.more} more schema differences`);
    for (const s of sequences) if (!s.match) problems.push(describeSequenceCheck(s));
    for (const d of largeObjects.differences) problems.push(describeLargeObjectDifference(d));
    if (largeObjects.more) problems.push(`and ${largeObjects.more} more large object differences`);
    for (const e of extensions) if (!e.match) problems.push(describeMissingExtension(e));
    for (const d of settings.differences) if (d.required) problems.push(`${describeSettingDifference(d)} (required equal by verifyRequireSettings)`);
    for (const q of queries) if (!q.match) problems.push(describeQueryCheck(q));

    for (const e of extensions) if (e.match && e.note && e.source) notes.push(`extension ${e.name}: ${e.note}`);
    const reported = settings.differences.filter((d) => !d.required && d.category !== "other");
    if (reported.length) notes.push(`${reported.length} settings that change query behaviour or performance differ (reported, not required): ${reported.slice(0, 8).map((d) => d.name).join(", ")}${reported.length > 8 ? ", ..." : ""}`);
    const notCarried = settings.databaseSettings.source.filter((x) => !settings.databaseSettings.target.includes(x));
    if (notCarried.length) notes.push(`the source database has ALTER DATABASE settings the target does not have (a restore does not carry them over; ApplySettings sets those it can): ${notCarried.join(", ")}`);
    if (restore.errors.length || restore.warnings.length) notes.push(`the restore log has ${restore.errors.length} error and ${restore.warnings.length} warning lines`);
    notes.push(...schema.notes);
    if (exclude.length) notes.push(`excluded from verification: ${exclude.join(", ")}`);

    const ok = problems.length === 0;
    const rows = tables.filter((t) => t.kind !== "partitioned table").reduce((n, t) => n + t.sourceRows, 0);
    const objectCount = srcSchema.objects.length;
    const summary = ok
        ? `${tables.length} tables, ${rows} rows match (counts and checksums); ${objectCount} schema objects, ${sequences.length} sequences, ${largeObjects.source.count} large objects, ${extensions.filter((e) => e.source).length} extensions match${queries.length ? `; ${queries.length} queries match` : ""}${settings.differences.length ? `; ${settings.differences.length} settings differ (reported)` : ""}`
        : `${problems.length} difference${problems.length === 1 ? "" : "s"}: ${problems.slice(0, 3).join("; ")}${problems.length > 3 ? "; ..." : ""}`;
    const finishedAt = new Date();
    return {
        ok,
        verdict: ok ? "match" : "mismatch",
        summary,
        problems: problems.slice(0, max),
        problemCount: problems.length,
        notes,
        startedAt: startedAt.toISOString(),
        finishedAt: finishedAt.toISOString(),
        durationMs: elapsed(t0),
        servers,
        rendering: { hash: r.hash, extraFloatDigits: r.extraFloatDigits, utf8: r.utf8 },
        schema,
        tables,
        excluded: exclude,
        sequences,
        largeObjects,
        extensions,
        settings,
        queries,
        restore,
        timings,
    };
}
