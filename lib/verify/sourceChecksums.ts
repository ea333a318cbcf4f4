/**
 * The source side of the table checksums, computed ahead: once the dump has been taken the
 * source is frozen, so its tables can be checksummed while the restore is still running.
 * verifyDatabases uses these only while it can prove the source has not changed since (the
 * cluster's transaction horizon has not moved); otherwise it reads the source again.
 */
import type { Client } from "pg";
import { withClient } from "../pg";
import { errorMessage } from "../errors";
import { redact } from "../redact";
import { formatDuration } from "../progress";
import type { PgConnection } from "../types";
import { largestFirst, tableChecksum } from "./data";
import { inspectSchema } from "./schema";
import { chooseRendering, openSession, serverInfo, withSession, type Rendering, type Session } from "./session";
import { elapsed, mapLimit } from "./util";

/**
 * The source side of the table checksums, computed before the target is ready (the source is
 * frozen once the dump has been taken, so the restore's minutes can be used to read it).
 * verifyDatabases uses them only when it can prove that the source has not changed since:
 * `horizon` is the source cluster's transaction horizon (the xmax of a snapshot in which no
 * transaction was in progress) taken before the first scan; every transaction that writes
 * anything is assigned an id and moves that horizon when it ends, so an unchanged horizon at
 * verification means no write has committed or aborted anywhere in the cluster since, and the
 * tables still hold what was checksummed. A moved horizon (a write, or any other database's
 * traffic) only means the source side is scanned again, as without precomputed checksums.
 */
export interface SourceChecksums {
    /** Rendering the row text was hashed with; must equal the comparison's. */
    rendering: Rendering;
    /** Transaction horizon before the first scan, or null when a transaction was in progress then. */
    horizon: string | null;
    /** Checksums by table oid. */
    tables: { oid: string; schema: string; name: string; rows: number; checksum: string; ms: number }[];
    startedAt: string;
    durationMs: number;
}

/** The cluster's transaction horizon, or null while some transaction is in progress below it. */
export async function transactionHorizon(c: Client, versionNum: number): Promise<string | null> {
    const fn = versionNum >= 130000 ? ["pg_current_snapshot", "pg_snapshot_xmin", "pg_snapshot_xmax"] : ["txid_current_snapshot", "txid_snapshot_xmin", "txid_snapshot_xmax"];
    const res = await c.query<{ xmin: string; xmax: string }>(`SELECT ${fn[1]}(s)::text AS xmin, ${fn[2]}(s)::text AS xmax FROM ${fn[0]}() AS s`);
    const { xmin, xmax } = res.rows[0];
    return xmin === xmax ? xmax : null;
}

/**
 * Checksums every table of the source (the tables verifyDatabases would scan), `concurrency`
 * at a time, with the rendering that the comparison with `target` will use (the target
 * database must exist: only its version and encoding are read). Meant to run while the
 * restore is still going; pass the result to verifyDatabases as `sourceChecksums`.
 */
export async function precomputeSourceChecksums(
    source: PgConnection, target: PgConnection,
    opts: { excludeTables?: string[]; concurrency?: number; onProgress?: (m: string) => void } = {},
): Promise<SourceChecksums> {
    const startedAt = new Date();
    const t0 = process.hrtime.bigint();
    const [srcInfo, tgtInfo] = await Promise.all([withClient(source, serverInfo), withClient(target, serverInfo)]);
    const r = chooseRendering(srcInfo, tgtInfo);
    const excluded = new Set(opts.excludeTables ?? []);
    const { horizon, relations } = await withSession(source, r, { catalogSearchPath: true, rowSecurity: false }, async (c) => {
        const horizon = await transactionHorizon(c, srcInfo.versionNum);
        return { horizon, relations: (await inspectSchema(c, srcInfo.versionNum)).relations };
    });
    const scanned = relations.filter((t) => !excluded.has(`${t.schema}.${t.name}`) && (t.relkind === "r" || (t.relkind === "m" && t.populated)));
    const sessions: Session[] = [];
    const free: Session[] = [];
    try {
        const tables = await mapLimit(largestFirst(scanned), Math.max(1, opts.concurrency ?? 4), async (rel) => {
            let s = free.pop();
            if (!s) {
                s = await openSession(source, r, { catalogSearchPath: true, rowSecurity: false });
                sessions.push(s);
            }
            try {
                const k = await tableChecksum(s.client, r, rel).catch((e) => {
                    throw new Error(`checksum of ${rel.schema}.${rel.name} failed on the source: ${redact(errorMessage(e))}`);
                });
                return { oid: rel.oid, schema: rel.schema, name: rel.name, ...k };
            } finally {
                free.push(s);
            }
        });
        const durationMs = elapsed(t0);
        opts.onProgress?.(`source checksums of ${tables.length} tables computed ahead in ${formatDuration(durationMs)}${horizon === null ? " (a transaction was in progress on the source: they will be computed again)" : ""}`);
        return { rendering: r, horizon, tables, startedAt: startedAt.toISOString(), durationMs };
    } finally {
        for (const s of sessions) await s.close();
    }
}

/** Why precomputed source checksums cannot be used now, or undefined when they can. */
export async function staleSourceChecksums(source: PgConnection, pre: SourceChecksums, r: Rendering, versionNum: number): Promise<string | undefined> {
    // Field by field: the object went through Pulumi state, which does not keep key order.
    const same = pre.rendering && pre.rendering.hash === r.hash && pre.rendering.extraFloatDigits === r.extraFloatDigits && pre.rendering.utf8 === r.utf8;
    if (!same) return `they were rendered differently (${JSON.stringify(pre.rendering)}, now ${JSON.stringify(r)})`;
    if (pre.horizon === null) return "a transaction was in progress on the source when they were computed";
    const now = await withClient(source, (c) => transactionHorizon(c, versionNum));
    if (now !== pre.horizon) return `the source has ended transactions since (transaction horizon ${pre.horizon} then, ${now ?? "a transaction in progress"} now)`;
    return undefined;
}
