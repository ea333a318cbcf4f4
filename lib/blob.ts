/**
 * The dump blob: a private container, `pg_dump -Fc` streamed straight into a block blob (no temp
 * file, bounded memory), and a read-only, blob-scoped, short-lived SAS URL for the Heroku restore.
 *
 * Plain functions only, no module-level state: dynamic providers capture this module.
 */
import { spawn } from "child_process";
import { createHash } from "crypto";
import { Transform } from "stream";
import {
    BlobSASPermissions,
    BlobServiceClient,
    ContainerClient,
    generateBlobSASQueryParameters,
    SASProtocol,
    StorageSharedKeyCredential,
} from "@azure/storage-blob";
import { ConfigError, isMigrationError, MigrationError } from "./errors";
import { pgEnv } from "./pg";
import { pgBin, pgToolVersion } from "./pgbin";
import { LIVE_INTERVAL_MS, progressThrottle } from "./progress";
import { redact, registerSecret } from "./redact";
import { BlobTarget, PgConnection } from "./types";

/** `pg_dump` arguments of Heroku's migration guide; `--no-password` so it never prompts. */
export const DEFAULT_PG_DUMP_ARGS: readonly string[] = ["-Fc", "-b", "-v", "--no-password"];
/**
 * Upload buffers, measured (bench/dump-stream.ts, README "Speed"): 8 MiB blocks with 4 buffers (3
 * uploads in flight) keep up with an uncompressed pg_dump as well as 16 MiB blocks or 8 buffers,
 * and better than 4 MiB blocks; the Buffer memory held stays below 4 x 8 MiB whatever the size.
 */
export const DEFAULT_BLOCK_SIZE_BYTES = 8 * 1024 * 1024;
export const DEFAULT_UPLOAD_CONCURRENCY = 4;
/** A block blob holds at most 50,000 committed blocks. */
export const MAX_BLOCKS_PER_BLOB = 50_000;
/** Azure's largest block (4000 MiB). */
export const MAX_BLOCK_SIZE_BYTES = 4000 * 1024 * 1024;
export const SAS_MIN_MINUTES = 5;
export const SAS_MAX_MINUTES = 7 * 24 * 60;
/** Value of the `createdby` metadata on every dump blob. */
export const CREATED_BY = "azure-to-heroku-pg";

const LOG_HEAD_LINES = 200;
const LOG_TAIL_LINES = 200;
const ERROR_TAIL_LINES = 3;
const ERROR_MAX_LINES = 6;
const SAS_CLOCK_SKEW_MS = 5 * 60 * 1000;

export function containerClient(target: BlobTarget): ContainerClient {
    // Every use of the account key passes here (dumps, deletes, SAS): from now on no text shows it.
    registerSecret(target.accountKey);
    const endpoint = target.blobEndpoint.replace(/\/+$/, "");
    const credential = new StorageSharedKeyCredential(target.accountName, target.accountKey);
    const service = new BlobServiceClient(endpoint, credential, { retryOptions: { maxTries: 4 } });
    return service.getContainerClient(target.container);
}

/**
 * Creates the container if it does not exist, without public access. An existing container that
 * allows anonymous reads is refused rather than changed: it may serve something else.
 */
export async function ensureContainer(target: BlobTarget): Promise<void> {
    const container = containerClient(target);
    try {
        await container.createIfNotExists();
        const policy = await container.getAccessPolicy();
        if (policy.blobPublicAccess) {
            throw new MigrationError(
                "DumpToBlob",
                `container "${target.container}" in storage account "${target.accountName}" allows anonymous (public) ${policy.blobPublicAccess} access, so a database dump stored there would be readable by anyone.`,
                "Use a private container (public access level \"Private\"), or set its access level to private before running the migration.",
            );
        }
    } catch (err) {
        if (isMigrationError(err)) throw err;
        throw new MigrationError(
            "DumpToBlob",
            `could not create or inspect container "${target.container}" at ${target.blobEndpoint}: ${restMessage(err)}.`,
            "Check the storage account name, key and blob endpoint, and that this machine can reach the endpoint.",
        );
    }
}

export interface DumpProgress {
    bytes: number;
    elapsedMs: number;
    bytesPerSec: number;
    /** The expected size passed in (an estimate), when there was one. */
    expectedBytes?: number;
    /** The last report, once the dump is committed. */
    final: boolean;
}

export interface DumpToBlobOptions {
    source: PgConnection;
    target: BlobTarget;
    blobName: string;
    /** @default ["-Fc", "-b", "-v", "--no-password"] */
    pgDumpArgs?: string[];
    /** Called while bytes flow as the shared progress rule allows (lib/progress.ts progressThrottle), and once at the end. */
    onProgress?: (p: DumpProgress) => void;
    /** Called at most every 250 ms (LIVE_INTERVAL_MS) while bytes flow, for a live bar in a terminal; never with final. */
    onTick?: (p: DumpProgress) => void;
    /** Expected dump size (preflight's estimate), for percentages: the throttle allows a line per 10% of it. */
    expectedBytes?: number;
    /** Size of each staged block and of each upload buffer. @default 8 MiB (max blob: 50,000 blocks) */
    blockSizeBytes?: number;
    /** Blocks uploaded in parallel (buffers held). @default 4 */
    concurrency?: number;
    signal?: AbortSignal;
}

export interface DumpToBlobResult {
    bytes: number;
    sha256: string;
    durationMs: number;
    /** pg_dump's stderr (its -v log), redacted; the first and last 200 lines. */
    log: string[];
    pgDumpVersion: string;
    etag: string;
}

/**
 * Runs pg_dump against `source` and streams its stdout into the block blob `blobName`, hashing and
 * counting on the way. Memory is bounded by about (concurrency + 1) × blockSizeBytes.
 *
 * The blob is committed only after pg_dump has exited with code 0, so a failed or cancelled dump
 * never leaves a truncated blob that looks complete: on any failure the blob name is cleared
 * (including a blob that was there before) and a MigrationError is thrown.
 */
export async function dumpToBlob(opts: DumpToBlobOptions): Promise<DumpToBlobResult> {
    const { source, target, blobName, onProgress, signal } = opts;
    const args = [...(opts.pgDumpArgs ?? DEFAULT_PG_DUMP_ARGS)];
    const blockSize = opts.blockSizeBytes ?? DEFAULT_BLOCK_SIZE_BYTES;
    const concurrency = opts.concurrency ?? DEFAULT_UPLOAD_CONCURRENCY;
    if (!Number.isInteger(blockSize) || blockSize < 1 || blockSize > MAX_BLOCK_SIZE_BYTES) {
        throw new MigrationError("DumpToBlob", `blockSizeBytes must be an integer from 1 to ${MAX_BLOCK_SIZE_BYTES}; got ${blockSize}.`, "Pass a block size such as 8388608 (8 MiB).");
    }
    if (!Number.isInteger(concurrency) || concurrency < 1) {
        throw new MigrationError("DumpToBlob", `concurrency must be a positive integer; got ${concurrency}.`, "Pass a concurrency such as 4.");
    }
    const where = `blob "${target.container}/${blobName}" in storage account "${target.accountName}"`;
    const what = `database "${source.database}" on ${source.host}:${source.port}`;
    const cancelled = () =>
        new MigrationError("DumpToBlob", `the dump of ${what} to ${where} was cancelled; the partial blob was deleted.`, "Run the migration again to start a new dump.");
    if (signal?.aborted) throw cancelled();

    const pgDump = pgBin("pg_dump");
    const pgDumpVersion = pgToolVersion("pg_dump").text;
    // The first failure wins; everything after it is a consequence.
    let failure: MigrationError | undefined;
    const fail = (err: MigrationError) => {
        if (!failure) failure = err;
        return failure;
    };

    const blob = containerClient(target).getBlockBlobClient(blobName);
    // uploadStream stages blocks through this instance's stageBlock, and when it fails it neither
    // waits for the blocks in flight nor stops queued ones. Wrap it (this instance only): after a
    // failure no new block starts, and the cleanup waits until the blocks in flight have landed,
    // so that none is stored after the cleanup. (Aborting them client-side would not do: the
    // service may still store a block whose body it had fully received.)
    const inFlight = new Set<Promise<unknown>>();
    const stageBlock = blob.stageBlock.bind(blob);
    blob.stageBlock = (blockId, body, contentLength, options) => {
        if (failure) return Promise.reject(failure);
        const p = stageBlock(blockId, body, contentLength, options);
        inFlight.add(p);
        const settled = () => void inFlight.delete(p);
        p.then(settled, settled);
        return p;
    };
    const maxBytes = blockSize * MAX_BLOCKS_PER_BLOB;
    const started = Date.now();

    // pg_dump's -v log: keep the first and last lines, redacted.
    const head: string[] = [];
    const tail: string[] = [];
    let omitted = 0;
    let partial = "";
    const addLine = (raw: string) => {
        const line = redact(raw.replace(/\r$/, ""));
        if (!line.trim()) return;
        if (head.length < LOG_HEAD_LINES) return void head.push(line);
        tail.push(line);
        if (tail.length > LOG_TAIL_LINES) {
            tail.shift();
            omitted++;
        }
    };
    const logLines = (): string[] =>
        omitted > 0 ? [...head, `... ${omitted} lines omitted ...`, ...tail] : [...head, ...tail];

    const child = spawn(pgDump, args, {
        env: { ...process.env, ...pgEnv(source) },
        stdio: ["ignore", "pipe", "pipe"],
    });
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (chunk: string) => {
        const parts = (partial + chunk).split("\n");
        partial = parts.pop() ?? "";
        parts.forEach(addLine);
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
        child.on("error", (error) => resolve({ code: null, signal: null, error }));
        child.once("close", (code, sig) => {
            if (partial) addLine(partial);
            partial = "";
            resolve({ code, signal: sig });
        });
    });

    // Declared before the streams that call it: Pulumi's closure serializer cannot capture a
    // const that is used (in a callback) above its declaration.
    const dumpFailure = (exit: { code: number | null; signal: NodeJS.Signals | null; error?: Error }): MigrationError | undefined => {
        if (exit.error) {
            return new MigrationError(
                "DumpToBlob",
                `could not run pg_dump (${pgDump}): ${exit.error.message}.`,
                "Install the PostgreSQL client tools (e.g. `apt-get install postgresql-client`) or set PG_BIN_DIR to the directory that holds pg_dump.",
            );
        }
        if (exit.code === 0) return undefined;
        const last = errorLines([...head, ...tail]).join(" | ") || "(no output)";
        const how = exit.code !== null ? `exited with code ${exit.code}` : `was killed by signal ${exit.signal}`;
        return new MigrationError("DumpToBlob", `pg_dump ${how}: ${last}.`, dumpHint(last, pgDumpVersion));
    };

    let bytes = 0;
    const hash = createHash("sha256");
    const throttle = progressThrottle();
    const expectedBytes = opts.expectedBytes && opts.expectedBytes > 0 ? opts.expectedBytes : undefined;
    const report = (final: boolean, to: ((p: DumpProgress) => void) | undefined = onProgress) => {
        if (!to) return;
        const elapsedMs = Date.now() - started;
        try {
            to({ bytes, elapsedMs, bytesPerSec: elapsedMs > 0 ? Math.round((bytes * 1000) / elapsedMs) : 0, expectedBytes, final });
        } catch {
            // A progress callback must not break the dump.
        }
    };
    const onTick = opts.onTick;
    let lastTick = started;
    const counter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
            bytes += chunk.length;
            if (bytes > maxBytes) {
                return cb(fail(new MigrationError(
                    "DumpToBlob",
                    `the dump of ${what} is larger than ${maxBytes} bytes, the most a block blob holds with ${blockSize}-byte blocks (50,000 blocks); the partial blob was deleted.`,
                    "Raise the upload block size (blockSizeBytes) so that 50,000 blocks hold the whole dump.",
                )));
            }
            hash.update(chunk);
            if (onProgress && throttle.due(bytes, expectedBytes)) report(false);
            if (onTick && Date.now() - lastTick >= LIVE_INTERVAL_MS) {
                lastTick = Date.now();
                report(false, onTick);
            }
            cb(null, chunk);
        },
        // End the upload (which commits the block list) only once pg_dump has exited cleanly.
        flush(cb) {
            void exited.then((exit) => {
                const err = dumpFailure(exit);
                cb(err ? fail(err) : null);
            });
        },
    });
    const abortAll = () => {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
        child.stdout!.destroy();
        counter.destroy(failure);
    };
    const onAbort = () => {
        fail(cancelled());
        abortAll();
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    // pg_dump could not be started at all: its stdout may never end, so end the upload here.
    void exited.then((exit) => {
        if (exit.error) {
            fail(dumpFailure(exit)!);
            abortAll();
        }
    });
    child.stdout!.on("error", () => undefined); // destroyed on abort; the exit status tells what happened
    child.stdout!.pipe(counter);

    let etag = "";
    try {
        try {
            await blob.uploadStream(counter, blockSize, concurrency, {
                blobHTTPHeaders: { blobContentType: "application/octet-stream" },
                metadata: { createdby: CREATED_BY },
            });
        } catch (err) {
            fail(new MigrationError(
                "DumpToBlob",
                `upload of the dump of ${what} to ${where} at ${target.blobEndpoint} failed after ${bytes} bytes: ${restMessage(err)}; the partial blob was deleted.`,
                "Check that the storage account and container exist, that the account key is valid and that this machine can reach the blob endpoint, then run the migration again.",
            ));
            abortAll();
        }
        const exit = await exited;
        if (!failure) {
            const err = dumpFailure(exit);
            if (err) fail(err);
        }
        if (!failure && signal?.aborted) fail(cancelled());
        if (!failure && bytes === 0) {
            fail(new MigrationError(
                "DumpToBlob",
                `pg_dump wrote nothing to its standard output for ${what}.`,
                "Do not pass -f/--file in pgDumpArgs: the dump is streamed from pg_dump's standard output.",
            ));
        }
        const sha256 = hash.digest("hex");
        if (!failure) {
            try {
                const res = await blob.setMetadata({
                    sha256,
                    bytes: String(bytes),
                    pgdumpversion: headerSafe(pgDumpVersion),
                    createdby: CREATED_BY,
                });
                etag = res.etag ?? "";
            } catch (err) {
                fail(new MigrationError(
                    "DumpToBlob",
                    `could not set the metadata of ${where}: ${restMessage(err)}; the blob was deleted.`,
                    "Check that the account key allows writes, then run the migration again.",
                ));
            }
        }
        if (failure) {
            while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
            if (!(await discardBlob(target, blobName))) {
                // Say what is true: storage did not answer the clean-up either.
                failure.message = failure.message.replace(/; the (partial )?blob was deleted\./,
                    "; the partial upload could not be discarded now (storage did not answer): no complete dump was stored, and staged blocks expire on their own within 7 days.");
            }
            throw failure;
        }
        report(true);
        return { bytes, sha256, durationMs: Date.now() - started, log: logLines(), pgDumpVersion, etag };
    } finally {
        signal?.removeEventListener("abort", onAbort);
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
}

/** pg_dump's last `error:` line and its details, else its last lines; trimmed. */
function errorLines(lines: string[]): string[] {
    let start = -1;
    for (let i = lines.length - 1; i >= 0; i--) {
        if (/^pg_dump: error:/.test(lines[i])) {
            start = i;
            break;
        }
    }
    const picked = start >= 0 ? lines.slice(start, start + ERROR_MAX_LINES) : lines.slice(-ERROR_TAIL_LINES);
    return picked.map((l) => l.trim()).filter(Boolean);
}

function dumpHint(lastLines: string, pgDumpVersion: string): string {
    if (/server version mismatch/i.test(lastLines)) {
        return `The local pg_dump (${pgDumpVersion}) is older than the source server: install a pg_dump of the server's major version or newer and point PG_BIN_DIR at its bin directory.`;
    }
    if (/server closed the connection|terminating connection|connection to server was lost|SSL SYSCALL error/i.test(lastLines)) {
        return "The connection to the source server was lost during the dump (a restart, a failover, a timeout or a terminated session): check the server, then run the migration again.";
    }
    if (/connection to server|could not connect|authentication failed|no password supplied|does not exist/i.test(lastLines)) {
        return "Check the source host, port, database name, user, password and sslmode, and that this machine can reach the server.";
    }
    return "Check that the source user can read every object in the database (see the pg_dump log), then run the migration again.";
}

/**
 * Deletes whatever is stored under `blobName`, including snapshots and staged-but-uncommitted
 * blocks. Best effort: false when storage did not answer the delete.
 */
async function discardBlob(target: BlobTarget, blobName: string): Promise<boolean> {
    const blob = containerClient(target).getBlockBlobClient(blobName);
    try {
        await blob.deleteIfExists({ deleteSnapshots: "include" });
    } catch (err) {
        // A missing container holds nothing to discard; anything else (storage down) is reported.
        return (err as { statusCode?: number }).statusCode === 404;
    }
    try {
        // Blocks staged by a failed upload are invisible and expire after 7 days; committing an
        // empty block list and deleting the result discards them now.
        const list = await blob.getBlockList("uncommitted");
        if ((list.uncommittedBlocks?.length ?? 0) > 0) {
            await blob.commitBlockList([]);
            await blob.deleteIfExists({ deleteSnapshots: "include" });
        }
    } catch {
        // 404 when nothing was staged
    }
    return true;
}

/** Size, recorded sha256 and etag of a blob; undefined when it does not exist. */
export async function blobInfo(
    target: BlobTarget,
    blobName: string,
): Promise<{ bytes: number; sha256?: string; etag: string } | undefined> {
    try {
        const p = await containerClient(target).getBlobClient(blobName).getProperties();
        return { bytes: p.contentLength ?? 0, sha256: p.metadata?.sha256, etag: p.etag ?? "" };
    } catch (err) {
        if (statusCode(err) === 404) return undefined;
        throw new MigrationError(
            "DumpToBlob",
            `could not read the properties of blob "${target.container}/${blobName}" in storage account "${target.accountName}": ${restMessage(err)}.`,
            "Check the storage account name, key and blob endpoint, and that this machine can reach the endpoint.",
        );
    }
}

/** Deletes the blob and its snapshots. Returns false when it (or its container) is already gone. */
export async function deleteBlob(target: BlobTarget, blobName: string): Promise<boolean> {
    try {
        await containerClient(target).getBlobClient(blobName).delete({ deleteSnapshots: "include" });
        return true;
    } catch (err) {
        if (statusCode(err) === 404) return false;
        throw new MigrationError(
            "DumpToBlob",
            `could not delete blob "${target.container}/${blobName}" in storage account "${target.accountName}": ${restMessage(err)}.`,
            "Check the storage account key and that no lease is held on the blob, then run `pulumi destroy` again, or delete the blob in the Azure portal.",
        );
    }
}

/**
 * A read-only SAS URL for one blob. Valid from 5 minutes before `now` (clock skew) until
 * `now + expiresInMinutes`. HTTPS only, unless the endpoint itself is plain http (local
 * Azurite): then `protocol` is "https,http" and callers should warn.
 */
export function makeReadSas(opts: {
    target: BlobTarget;
    blobName: string;
    expiresInMinutes: number;
    now?: Date;
}): { url: string; expiresOn: string; permissions: "r"; protocol: string } {
    const { target, blobName, expiresInMinutes } = opts;
    if (!Number.isFinite(expiresInMinutes) || expiresInMinutes < SAS_MIN_MINUTES || expiresInMinutes > SAS_MAX_MINUTES) {
        throw new ConfigError(
            "sasExpiryMinutes",
            `must be between ${SAS_MIN_MINUTES} and ${SAS_MAX_MINUTES} minutes (7 days); got ${expiresInMinutes}.`,
            `Set \`sasExpiryMinutes\` to a value in that range, long enough for Heroku to download the dump (for example 120).`,
        );
    }
    const endpoint = new URL(target.blobEndpoint);
    let protocol: SASProtocol;
    if (endpoint.protocol === "https:") protocol = SASProtocol.Https;
    else if (endpoint.protocol === "http:") protocol = SASProtocol.HttpsAndHttp;
    else {
        throw new MigrationError(
            "ReadGrant",
            `the blob endpoint ${target.blobEndpoint} is neither https nor http.`,
            "Use the storage account's https blob endpoint, e.g. https://<account>.blob.core.windows.net.",
        );
    }
    const nowMs = (opts.now ?? new Date()).getTime();
    // SAS times have second precision: report exactly what the token says.
    const startsOn = new Date(Math.floor((nowMs - SAS_CLOCK_SKEW_MS) / 1000) * 1000);
    const expiresOn = new Date(Math.floor((nowMs + expiresInMinutes * 60_000) / 1000) * 1000);
    const credential = new StorageSharedKeyCredential(target.accountName, target.accountKey);
    const sas = generateBlobSASQueryParameters(
        {
            containerName: target.container,
            blobName,
            permissions: BlobSASPermissions.parse("r"),
            startsOn,
            expiresOn,
            protocol,
        },
        credential,
    ).toString();
    const blobUrl = containerClient(target).getBlobClient(blobName).url;
    // Its signature, wherever it is printed (alone, decoded or encoded), is removed from now on.
    registerSecret(`${blobUrl}?${sas}`);
    return { url: `${blobUrl}?${sas}`, expiresOn: expiresOn.toISOString(), permissions: "r", protocol };
}

function statusCode(err: unknown): number | undefined {
    const s = (err as { statusCode?: unknown } | null)?.statusCode;
    return typeof s === "number" ? s : undefined;
}

/** First line of a storage error, with its HTTP status and error code when known. */
function restMessage(err: unknown): string {
    const e = err as { message?: string; statusCode?: number; code?: string } | null;
    const first = String(e?.message ?? err).split("\n")[0].trim().replace(/\.$/, "");
    const extra = [e?.statusCode ? `HTTP ${e.statusCode}` : "", e?.code ?? ""].filter(Boolean).join(" ");
    return redact(extra ? `${first} (${extra})` : first);
}

/** Metadata values travel as HTTP headers: printable ASCII only. */
function headerSafe(s: string): string {
    return s.replace(/[^\x20-\x7e]/g, "?").trim();
}
