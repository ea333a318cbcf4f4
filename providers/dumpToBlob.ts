/**
 * DumpToBlob: `pg_dump -Fc -b -v` of the frozen source streamed straight into a private blob
 * (no temp file). Before dumping it makes sure the freeze is in effect (re-applying it on a
 * resumed run). `diff` checks that the blob is still there with the same ETag: a deleted or
 * overwritten dump is dumped again. `delete` (pulumi destroy) deletes the blob.
 *
 * `compression` (config `dumpCompression`) only decides how the next dump is made: a change is
 * an in-place update that keeps the complete dump (restoring it needs no setting), and
 * `archiveCompression` keeps saying how the stored archive was made.
 *
 * The storage account key is a derived secret input (from listStorageAccountKeys), marked
 * secret so Pulumi encrypts it in state; it is needed by `delete`, which runs from state alone.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ArgsOf } from "./args";
import { DEFAULT_PG_DUMP_ARGS, blobInfo, deleteBlob, dumpToBlob } from "../lib/blob";
import { DEFAULT_DUMP_COMPRESSION, checkDumpCompression, dumpCompressionArgs, localCompressionOffer, parseDumpCompression } from "../lib/compression";
import { ConfigError } from "../lib/errors";
import { pgToolVersion } from "../lib/pgbin";
import { serverVersion } from "../lib/pg";
import { formatBytes, formatDuration, formatRate, progress, withLiveBar } from "../lib/progress";
import { dropLegacyGuard, ensureFrozen, guardOf, guardedStage, stageGuard, type GuardInputs } from "../lib/stage";
import { configureSource, sourceConnection, type SourceAware } from "./configured";
import type { BlobTarget } from "../lib/types";

export type BlobLocation = Omit<BlobTarget, "accountKey">;

/** What the provider receives; DumpToBlobArgs is the same with each field accepting an Output. */
export interface DumpToBlobInputs {
    /** The source dumped, the blob written, the freeze and what a failure undoes (lib/stage.ts); the account key is its own input. */
    guard: GuardInputs;
    /** Secret: the storage account key (deletes the dump after a failure). */
    accountKey: string;
    /** Extensions to leave out of the dump (preflight: Azure-only or acknowledged); needs pg_dump 17+. */
    excludeExtensions?: string[];
    /** pg_dump -Fc compression, a `dumpCompression` value ("0".."9", "lz4", "zstd:3"). @default "0" */
    compression?: string;
    /** Preflight's estimate of the archive size, for the progress lines' percentage and ETA; never a reason to update. */
    expectedBytes?: number;
}
export type DumpToBlobArgs = ArgsOf<DumpToBlobInputs>;

type Inputs = DumpToBlobInputs;
interface Outputs extends Inputs {
    /** The blob written (also in `guard`, which is secret as a whole): what ReadGrant signs. */
    blobName: string;
    /** The compression the stored archive was made with (a change of `compression` does not re-dump). */
    archiveCompression: string;
    bytes: number;
    sha256: string;
    etag: string;
    durationMs: number;
    pgDumpVersion: string;
    serverVersion: string;
    dumpedAt: string;
    logTail: string[];
}

function target(g: GuardInputs, accountKey: string): BlobTarget {
    return { ...g.storage, accountKey };
}

export const dumpToBlobProvider: pulumi.dynamic.ResourceProvider<Inputs, Outputs> & SourceAware = {
    async configure(req) {
        configureSource(this, req);
    },

    async diff(_id: string, olds: Outputs, news: Inputs) {
        const replaces: string[] = [];
        const o = guardOf(olds);
        const n = news.guard;
        // A new source, blob or kind of freeze is a new dump (the key Pulumi knows is `guard`).
        const same = (k: "source" | "storage" | "blobName") => JSON.stringify(o[k]) === JSON.stringify(n[k]);
        if (!same("source") || !same("storage") || !same("blobName") || JSON.stringify(o.freeze.spec) !== JSON.stringify(n.freeze.spec)) replaces.push("guard");
        if (replaces.length === 0) {
            const info = await blobInfo(target(o, olds.accountKey), o.blobName);
            if (!info || info.etag !== olds.etag) replaces.push("etag");
        }
        const changes = replaces.length > 0 || o.unfreezeOnFailure !== n.unfreezeOnFailure || (olds.compression ?? undefined) !== (news.compression ?? undefined);
        return { changes, replaces, deleteBeforeReplace: true };
    },

    async create(inputs: Inputs) {
        const g = inputs.guard;
        const source = sourceConnection(g.source, this.sourcePassword);
        const ctx = { source };
        const blob = target(g, inputs.accountKey);
        return guardedStage("DumpToBlob", stageGuard(g, inputs.accountKey), ctx, async () => {
            await ensureFrozen(g.freeze, ctx);
            const version = await serverVersion(source);
            const exclude = inputs.excludeExtensions ?? [];
            const compressionText = inputs.compression ?? DEFAULT_DUMP_COMPRESSION;
            const compression = parseDumpCompression(compressionText);
            if (!compression) throw new ConfigError("dumpCompression", `"${compressionText}" is not a compression pg_dump accepts.`, `Set it with \`pulumi config set dumpCompression ${DEFAULT_DUMP_COMPRESSION}\`.`);
            if (compression.method !== "gzip") checkDumpCompression(compression, localCompressionOffer());
            // `--exclude-extension` exists from pg_dump 17 on; older ones dump every extension
            // (preflight keeps such an extension blocking unless the user acknowledged it).
            const excluding = exclude.length > 0 && pgToolVersion("pg_dump").major >= 17;
            const pgDumpArgs = [...DEFAULT_PG_DUMP_ARGS, ...dumpCompressionArgs(compression), ...(excluding ? exclude.map((e) => `--exclude-extension=${e}`) : [])];
            if (excluding) progress("DumpToBlob", `leaving out extensions: ${exclude.join(", ")}`);
            progress("DumpToBlob", `pg_dump of ${g.source.database} (PostgreSQL ${version.text}) -> ${g.storage.container}/${g.blobName}, compression ${compression.text}`);
            // In a terminal (a rehearsal) one live line; otherwise (Pulumi, CI) the throttled lines.
            const result = await withLiveBar("DumpToBlob", "dump+upload", (bar) => dumpToBlob({
                source,
                target: blob,
                blobName: g.blobName,
                pgDumpArgs,
                expectedBytes: inputs.expectedBytes,
                // The final line is the "done" line below.
                onProgress: (p) => {
                    if (!p.final && !bar) progress("DumpToBlob", `dumped and uploaded ${formatRate(p.bytes, p.elapsedMs, p.expectedBytes)}${p.expectedBytes && p.bytes <= p.expectedBytes ? " (against preflight's estimate)" : ""}`);
                },
                onTick: bar ? (p) => bar.update(p.bytes, p.expectedBytes) : undefined,
            }));
            progress("DumpToBlob", `done: ${formatBytes(result.bytes)} in ${formatDuration(result.durationMs)} at ${formatBytes(result.durationMs > 0 ? (result.bytes * 1000) / result.durationMs : 0)}/s, sha256 ${result.sha256.slice(0, 12)}…`);
            const outs: Outputs = {
                ...inputs,
                blobName: g.blobName,
                archiveCompression: compression.text,
                bytes: result.bytes,
                sha256: result.sha256,
                etag: result.etag,
                durationMs: result.durationMs,
                pgDumpVersion: result.pgDumpVersion,
                serverVersion: version.text,
                dumpedAt: new Date().toISOString(),
                logTail: result.log.slice(-40),
            };
            return { id: `${g.storage.accountName}/${g.storage.container}/${g.blobName}`, outs };
        });
    },

    /**
     * Only settings that need no new physical resource change in place; keep the outputs. A dump
     * made before `compression` was an input was made at pg_dump's default level (zlib 6).
     */
    async update(_id: string, olds: Outputs, news: Inputs) {
        return { outs: { ...dropLegacyGuard(olds), ...news, blobName: news.guard.blobName, archiveCompression: olds.archiveCompression ?? "6" } };
    },

    async delete(_id: string, props: Outputs) {
        const g = guardOf(props);
        const deleted = await deleteBlob(target(g, props.accountKey), g.blobName);
        progress("DumpToBlob", deleted ? `deleted dump ${g.storage.container}/${g.blobName}` : `dump ${g.blobName} was already gone`);
    },
};

export class DumpToBlob extends pulumi.dynamic.Resource {
    declare readonly blobName: pulumi.Output<string>;
    declare readonly bytes: pulumi.Output<number>;
    declare readonly sha256: pulumi.Output<string>;
    declare readonly etag: pulumi.Output<string>;
    declare readonly durationMs: pulumi.Output<number>;
    declare readonly pgDumpVersion: pulumi.Output<string>;
    declare readonly serverVersion: pulumi.Output<string>;
    declare readonly dumpedAt: pulumi.Output<string>;
    declare readonly archiveCompression: pulumi.Output<string>;
    declare readonly logTail: pulumi.Output<string[]>;

    constructor(name: string, args: DumpToBlobArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            dumpToBlobProvider,
            name,
            {
                ...args,
                accountKey: pulumi.secret(args.accountKey),
                blobName: undefined,
                bytes: undefined, sha256: undefined, etag: undefined, durationMs: undefined,
                pgDumpVersion: undefined, serverVersion: undefined, dumpedAt: undefined, logTail: undefined, archiveCompression: undefined,
            },
            { ...opts, additionalSecretOutputs: ["accountKey"] },
            "migration",
            "DumpToBlob",
        );
    }
}
