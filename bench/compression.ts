/**
 * Benchmark: which `pg_dump -Fc` compression gives the shortest freeze (dump + upload + restore)?
 *
 *   BENCH_SIZE_MB=300 BENCH_LEVELS=0,1,3,6 npm run bench:compression
 *
 * For each level, on the same realistic source (bench/source.ts) in one run: the dump streamed
 * into Azurite by lib/blob.ts dumpToBlob (dump and upload overlap), then a restore the way
 * Heroku does it (a read SAS URL streamed into `pg_restore --no-owner --no-acl` into a fresh
 * database). Prints seconds, dump size and the total relative to the fastest level. Asserts
 * nothing. Each level runs BENCH_REPEAT times (default 1); the table shows the median.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { dumpToBlob, ensureContainer, makeReadSas } from "../lib/blob";
import { dumpCompressionArgs, parseDumpCompression } from "../lib/compression";
import { withClient } from "../lib/pg";
import { pgToolVersion } from "../lib/pgbin";
import { BlobTarget } from "../lib/types";
import { startAzurite } from "../local/azurite";
import { startCluster } from "../local/postgres";
import { freshDatabase, restoreFromUrl, median } from "./common";
import { buildBenchSource } from "./source";

const MiB = 1024 * 1024;

async function main(): Promise<void> {
    const sizeMb = Number(process.env.BENCH_SIZE_MB ?? 300);
    const levels = (process.env.BENCH_LEVELS ?? "0,1,3,6").split(",").map((s) => s.trim());
    const repeat = Number(process.env.BENCH_REPEAT ?? 1);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bench-compression-"));
    fs.chmodSync(tmp, 0o755);
    const azurite = await startAzurite({ dir: path.join(tmp, "azurite") });
    const cluster = await startCluster({ dataDir: path.join(tmp, "pg") });
    try {
        const admin = cluster.connection("postgres");
        await withClient(admin, (c) => c.query("CREATE DATABASE bench"));
        const source = cluster.connection("bench");
        const built = await buildBenchSource(source, sizeMb);
        console.log(`pg_dump ${pgToolVersion("pg_dump").text}; source ${(built.databaseBytes / MiB).toFixed(0)} MiB (${built.rows} rows, ${built.largeObjects} large objects), built in ${(built.generateMs / 1000).toFixed(1)} s`);
        const target: BlobTarget = { accountName: azurite.accountName, accountKey: azurite.accountKey, blobEndpoint: azurite.blobEndpoint, container: "bench" };
        await ensureContainer(target);
        const rows: { level: string; dump: number; restore: number; total: number; bytes: number }[] = [];
        for (const level of levels) {
            const runs: { dump: number; restore: number; bytes: number }[] = [];
            for (let i = 0; i < repeat; i++) {
                const blobName = `bench-${level.replace(":", "-")}.dump`;
                const r = await dumpToBlob({ source, target, blobName, pgDumpArgs: ["-Fc", "-b", "--no-password", ...dumpCompressionArgs(parseDumpCompression(level)!)] });
                const db = await freshDatabase(admin, "restored");
                const sas = makeReadSas({ target, blobName, expiresInMinutes: 30 });
                const restoreMs = await restoreFromUrl(sas.url, db);
                runs.push({ dump: r.durationMs / 1000, restore: restoreMs / 1000, bytes: r.bytes });
                console.log(`  -Z ${level}: dump+upload ${(r.durationMs / 1000).toFixed(1)} s, ${(r.bytes / MiB).toFixed(0)} MiB; restore ${(restoreMs / 1000).toFixed(1)} s`);
            }
            const dump = median(runs.map((x) => x.dump));
            const restore = median(runs.map((x) => x.restore));
            rows.push({ level, dump, restore, total: dump + restore, bytes: runs[0].bytes });
        }
        const best = Math.min(...rows.map((r) => r.total));
        console.log("\n| level | dump + upload s | restore s | total s | dump MiB | total / best |");
        console.log("| --- | --- | --- | --- | --- | --- |");
        for (const r of rows) {
            console.log(`| ${r.level} | ${r.dump.toFixed(1)} | ${r.restore.toFixed(1)} | ${r.total.toFixed(1)} | ${(r.bytes / MiB).toFixed(0)} | ${(r.total / best).toFixed(2)} |`);
        }
    } finally {
        await azurite.stop().catch((e) => console.error(`azurite stop: ${e}`));
        await cluster.stop().catch((e) => console.error(`cluster stop: ${e}`));
        fs.rmSync(tmp, { recursive: true, force: true });
    }
}

if (require.main === module) {
    main().catch((err) => {
        console.error(err instanceof Error ? err.stack : err);
        process.exitCode = 1;
    });
}
