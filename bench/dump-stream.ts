/**
 * Benchmark: pg_dump streamed into a blob (lib/blob.ts dumpToBlob) against plain
 * `pg_dump -Fc > /dev/null`, measured in the same run on the same ~200 MB database.
 *
 *   node --require ts-node/register/transpile-only bench/dump-stream.ts [--rows N]
 *
 * Prints ratios, asserts nothing. Memory: peak RSS of this process while dumpToBlob runs, minus
 * its RSS just before (Azurite and pg_dump are separate processes and are not counted), and the
 * same for Node's Buffer memory (process.memoryUsage().arrayBuffers), which is where buffered
 * dump data would show even when the heap reuses pages already in the RSS. The dump must not be
 * buffered: the deltas should stay near (concurrency + 1) × block size, far below the dump size.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DEFAULT_BLOCK_SIZE_BYTES, DEFAULT_PG_DUMP_ARGS, DEFAULT_UPLOAD_CONCURRENCY, dumpToBlob, ensureContainer } from "../lib/blob";
import { pgEnv, withClient } from "../lib/pg";
import { pgBin, pgToolVersion } from "../lib/pgbin";
import { BlobTarget, PgConnection } from "../lib/types";
import { startAzurite } from "../local/azurite";
import { startCluster } from "../local/postgres";

const MiB = 1024 * 1024;

function arg(name: string, def: number): number {
    const i = process.argv.indexOf(name);
    return i >= 0 ? Number(process.argv[i + 1]) : def;
}

async function sql(conn: PgConnection, text: string): Promise<any[]> {
    return withClient(conn, async (c) => (await c.query(text)).rows);
}

/** `pg_dump <args>` with stdout to /dev/null; resolves with the wall time in ms. */
function baselineDump(conn: PgConnection): Promise<number> {
    return new Promise((resolve, reject) => {
        const devNull = fs.openSync("/dev/null", "w");
        const t0 = process.hrtime.bigint();
        const child = spawn(pgBin("pg_dump"), [...DEFAULT_PG_DUMP_ARGS], {
            env: { ...process.env, ...pgEnv(conn) },
            stdio: ["ignore", devNull, "pipe"],
        });
        let err = "";
        child.stderr!.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
        child.on("error", reject);
        child.on("close", (code) => {
            fs.closeSync(devNull);
            const ms = Number(process.hrtime.bigint() - t0) / 1e6;
            if (code === 0) resolve(ms);
            else reject(new Error(`baseline pg_dump exited with code ${code}: ${err}`));
        });
    });
}

function fmtBytes(n: number): string {
    return `${(n / MiB).toFixed(1)} MiB`;
}

async function main(): Promise<void> {
    const rows = arg("--rows", 1_200_000);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bench-dump-stream-"));
    fs.chmodSync(tmp, 0o755); // the postgres OS user must reach the cluster directory
    const t0 = Date.now();
    const azurite = await startAzurite({ dir: path.join(tmp, "azurite") });
    const cluster = await startCluster({ dataDir: path.join(tmp, "pg") });
    try {
        const admin = cluster.connection("postgres");
        await sql(admin, "CREATE DATABASE bench");
        const source = cluster.connection("bench");
        const tGen = Date.now();
        // Random-ish text: md5 hex of random values (compresses about 2:1, like real text columns).
        await sql(
            source,
            `SET synchronous_commit = off;
             CREATE TABLE events (id bigint PRIMARY KEY, kind text NOT NULL, body text NOT NULL, at timestamptz NOT NULL);
             INSERT INTO events
               SELECT g, (ARRAY['click','view','buy','ship'])[1 + g % 4],
                      md5(random()::text) || ' ' || md5(g::text) || ' ' || md5((g * random())::text),
                      now() - (g || ' seconds')::interval
               FROM generate_series(1, ${rows}) g;
             ANALYZE events;`,
        );
        const [{ size }] = await sql(source, "SELECT pg_database_size('bench')::bigint AS size");
        console.log(`pg_dump: ${pgToolVersion("pg_dump").text}; args: ${DEFAULT_PG_DUMP_ARGS.join(" ")}`);
        console.log(`database: ${rows} rows, ${fmtBytes(Number(size))} (generated in ${((Date.now() - tGen) / 1000).toFixed(1)} s)`);

        const target: BlobTarget = {
            accountName: azurite.accountName,
            accountKey: azurite.accountKey,
            blobEndpoint: azurite.blobEndpoint,
            container: "bench",
        };
        await ensureContainer(target);

        // Baseline, then dumpToBlob, then baseline again (the first run also warms the cache).
        const base1 = await baselineDump(source);
        console.log(`baseline pg_dump > /dev/null: ${(base1 / 1000).toFixed(2)} s`);

        // dumpToBlob with the default buffers, then with 1 MiB blocks: if nothing but the upload
        // buffers is held, the memory delta follows the block size, not the dump size.
        const runs: { blockSize: number; durationMs: number; bytes: number; delta: number; buffersDelta: number }[] = [];
        for (const blockSize of [DEFAULT_BLOCK_SIZE_BYTES, 1 * MiB]) {
            const m0 = process.memoryUsage();
            const rss0 = m0.rss;
            let peak = rss0;
            let peakBuffers = m0.arrayBuffers;
            const sampler = setInterval(() => {
                const m = process.memoryUsage();
                if (m.rss > peak) peak = m.rss;
                if (m.arrayBuffers > peakBuffers) peakBuffers = m.arrayBuffers;
            }, 20);
            let progressReports = 0;
            const r = await dumpToBlob({
                source,
                target,
                blobName: `bench-${blockSize}.dump`,
                blockSizeBytes: blockSize,
                onProgress: () => progressReports++,
            });
            clearInterval(sampler);
            peak = Math.max(peak, process.memoryUsage().rss);
            const buffersDelta = peakBuffers - m0.arrayBuffers;
            runs.push({ blockSize, durationMs: r.durationMs, bytes: r.bytes, delta: peak - rss0, buffersDelta });
            console.log(
                `dumpToBlob -> Azurite (block ${fmtBytes(blockSize)}, concurrency ${DEFAULT_UPLOAD_CONCURRENCY}): ` +
                    `${(r.durationMs / 1000).toFixed(2)} s, ${fmtBytes(r.bytes)}, ${fmtBytes((r.bytes * 1000) / r.durationMs)}/s, ` +
                    `${progressReports} progress reports; peak RSS delta ${fmtBytes(peak - rss0)} (RSS before ${fmtBytes(rss0)}), ` +
                    `peak Buffer memory delta ${fmtBytes(buffersDelta)}`,
            );
        }

        const base2 = await baselineDump(source);
        console.log(`baseline pg_dump > /dev/null (again): ${(base2 / 1000).toFixed(2)} s`);
        const base = (base1 + base2) / 2;
        console.log("");
        for (const run of runs) {
            const bound = (DEFAULT_UPLOAD_CONCURRENCY + 1) * run.blockSize;
            console.log(
                `block ${fmtBytes(run.blockSize)}: time dumpToBlob / baseline(mean) = ${(run.durationMs / base).toFixed(2)}; ` +
                    `peak RSS delta / dump size = ${(run.delta / run.bytes).toFixed(3)}; ` +
                    `peak RSS delta / ((concurrency+1) x block) = ${(run.delta / bound).toFixed(2)}; ` +
                    `peak Buffer delta / dump size = ${(run.buffersDelta / run.bytes).toFixed(3)}; ` +
                    `peak Buffer delta / ((concurrency+1) x block) = ${(run.buffersDelta / bound).toFixed(2)}`,
            );
        }
        console.log(`total bench time ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    } finally {
        await azurite.stop().catch((e) => console.error(`azurite stop: ${e}`));
        await cluster.stop().catch((e) => console.error(`cluster stop: ${e}`));
        fs.rmSync(tmp, { recursive: true, force: true });
    }
}

main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
});
