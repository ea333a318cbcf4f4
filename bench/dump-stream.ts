/**
 * Benchmark: pg_dump streamed into a blob (lib/blob.ts dumpToBlob) against plain
 * `pg_dump -Fc -Z<default dumpCompression> > /dev/null`, measured in the same run on the same
 * realistic database (bench/source.ts, BENCH_SIZE_MB, default 300), for several block sizes and
 * upload concurrencies (BENCH_BLOCKS_MB=4,8,16, BENCH_CONCURRENCY=2,4,8).
 *
 *   npm run bench:dump-stream
 *
 * Prints ratios, asserts nothing. Memory: peak RSS of this process while dumpToBlob runs, minus
 * its RSS just before (Azurite and pg_dump are separate processes and are not counted), and the
 * same for Node's Buffer memory (process.memoryUsage().arrayBuffers), which is where buffered
 * dump data would show even when the heap reuses pages already in the RSS. The dump must not be
 * buffered: the deltas should stay near concurrency x block size, far below the dump size.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DEFAULT_BLOCK_SIZE_BYTES, DEFAULT_PG_DUMP_ARGS, DEFAULT_UPLOAD_CONCURRENCY, deleteBlob, dumpToBlob, ensureContainer } from "../lib/blob";
import { DEFAULT_DUMP_COMPRESSION, dumpCompressionArgs, parseDumpCompression } from "../lib/compression";
import { withClient } from "../lib/pg";
import { pgBin, pgToolVersion } from "../lib/pgbin";
import { BlobTarget } from "../lib/types";
import { startAzurite } from "../local/azurite";
import { startCluster } from "../local/postgres";
import { timed } from "./common";
import { cpuSampler, formatCpu } from "./cpu";
import { buildBenchSource } from "./source";

const MiB = 1024 * 1024;
const list = (v: string | undefined, def: number[]) => (v ? v.split(",").map((x) => Number(x.trim())) : def);

async function main(): Promise<void> {
    const sizeMb = Number(process.env.BENCH_SIZE_MB ?? 300);
    const blocks = list(process.env.BENCH_BLOCKS_MB, [4, 8, 16]).map((m) => m * MiB);
    const concurrencies = list(process.env.BENCH_CONCURRENCY, [2, 4, 8]);
    const args = [...DEFAULT_PG_DUMP_ARGS, ...dumpCompressionArgs(parseDumpCompression(DEFAULT_DUMP_COMPRESSION)!)];
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bench-dump-stream-"));
    fs.chmodSync(tmp, 0o755); // the postgres OS user must reach the cluster directory
    const t0 = Date.now();
    const azurite = await startAzurite({ dir: path.join(tmp, "azurite") });
    const cluster = await startCluster({ dataDir: path.join(tmp, "pg") });
    try {
        await withClient(cluster.connection("postgres"), (c) => c.query("CREATE DATABASE bench"));
        const source = cluster.connection("bench");
        const built = await buildBenchSource(source, sizeMb);
        console.log(`pg_dump: ${pgToolVersion("pg_dump").text}; args: ${args.join(" ")}`);
        console.log(`database: ${(built.databaseBytes / MiB).toFixed(0)} MiB (generated in ${(built.generateMs / 1000).toFixed(1)} s)`);
        const target: BlobTarget = { accountName: azurite.accountName, accountKey: azurite.accountKey, blobEndpoint: azurite.blobEndpoint, container: "bench" };
        await ensureContainer(target);

        const dataDir = path.join(tmp, "pg");
        const devNull = () => timed("/bin/sh", ["-c", `exec "$0" "$@" > /dev/null`, pgBin("pg_dump"), ...args], source);
        const base: number[] = [await devNull()]; // also warms the cache
        console.log(`baseline pg_dump > /dev/null: ${(base[0] / 1000).toFixed(2)} s`);
        const cpu0 = cpuSampler([dataDir]);
        base.push(await devNull());
        console.log(`baseline pg_dump > /dev/null again: ${(base[1] / 1000).toFixed(2)} s; ${formatCpu(cpu0.stop(), os.cpus().length)}`);
        const runs: { blockSize: number; concurrency: number; ms: number; bytes: number; rss: number; buffers: number }[] = [];
        for (const blockSize of blocks) {
            for (const concurrency of concurrencies) {
                const m0 = process.memoryUsage();
                let peak = m0.rss;
                let peakBuffers = m0.arrayBuffers;
                const sampler = setInterval(() => {
                    const m = process.memoryUsage();
                    peak = Math.max(peak, m.rss);
                    peakBuffers = Math.max(peakBuffers, m.arrayBuffers);
                }, 20);
                const cpu = cpuSampler([dataDir]);
                const r = await dumpToBlob({ source, target, blobName: `bench-${blockSize}-${concurrency}.dump`, pgDumpArgs: args, blockSizeBytes: blockSize, concurrency });
                clearInterval(sampler);
                console.log(`dumpToBlob ${blockSize / MiB} MiB x ${concurrency}: ${(r.durationMs / 1000).toFixed(2)} s; ${formatCpu(cpu.stop(), os.cpus().length)}`);
                runs.push({ blockSize, concurrency, ms: r.durationMs, bytes: r.bytes, rss: Math.max(peak, process.memoryUsage().rss) - m0.rss, buffers: peakBuffers - m0.arrayBuffers });
                await deleteBlob(target, `bench-${blockSize}-${concurrency}.dump`); // keep Azurite's disk small
            }
            base.push(await devNull());
        }
        const b = base.reduce((n, x) => n + x, 0) / base.length;
        console.log(`baseline pg_dump > /dev/null, mean of ${base.length}: ${(b / 1000).toFixed(2)} s (${base.map((x) => (x / 1000).toFixed(1)).join(", ")})`);
        console.log("\n| block MiB | concurrency | dumpToBlob s | / baseline | MiB/s | peak RSS delta MiB | peak Buffer delta MiB | Buffer delta / (concurrency x block) |");
        console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
        for (const r of runs) {
            console.log(`| ${r.blockSize / MiB} | ${r.concurrency}${r.blockSize === DEFAULT_BLOCK_SIZE_BYTES && r.concurrency === DEFAULT_UPLOAD_CONCURRENCY ? " (default)" : ""} | ${(r.ms / 1000).toFixed(2)} | ${(r.ms / b).toFixed(2)} | ${((r.bytes / MiB) / (r.ms / 1000)).toFixed(0)} | ${(r.rss / MiB).toFixed(0)} | ${(r.buffers / MiB).toFixed(0)} | ${(r.buffers / (r.concurrency * r.blockSize)).toFixed(2)} |`);
        }
        console.log(`\ntotal bench time ${((Date.now() - t0) / 1000).toFixed(1)} s`);
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
