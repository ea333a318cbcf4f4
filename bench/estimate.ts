/**
 * Calibration of preflight's freeze estimate (lib/preflight/estimate.ts ESTIMATE_ASSUMPTIONS): the
 * preflight sample and the work it predicts, measured back to back and repeated, so that a busy
 * moment of a shared machine hits both sides of a ratio alike.
 *
 *   BENCH_SIZE_MB=300 BENCH_REPEAT=5 npm run bench:estimate
 *
 * On the realistic source (bench/source.ts; separate source and target clusters with SSL), each
 * round: runPreflight (its read-rate sample), then `pg_dump -Fc -Z0` to a file (what the dump
 * estimate predicts), then `pg_restore --no-owner --no-acl` from it into a fresh database (what
 * the restore estimate predicts). Prints each round's estimate / measured and the median. The
 * upload and verification are checked against the full pipeline by `npm run bench`. Asserts nothing.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { withClient } from "../lib/pg";
import { pgBin } from "../lib/pgbin";
import { runPreflight } from "../lib/preflight";
import { startCluster } from "../local/postgres";
import { freshDatabase, timed, median } from "./common";
import { buildBenchSource } from "./source";

const MiB = 1024 * 1024;

async function main(): Promise<void> {
    const sizeMb = Number(process.env.BENCH_SIZE_MB ?? 300);
    const repeat = Number(process.env.BENCH_REPEAT ?? 5);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bench-estimate-"));
    fs.chmodSync(tmp, 0o755);
    const source = await startCluster({ dataDir: path.join(tmp, "pg-source"), ssl: true });
    const target = await startCluster({ dataDir: path.join(tmp, "pg-target"), ssl: true });
    try {
        await withClient(source.connection("postgres"), (c) => c.query("CREATE DATABASE benchsrc"));
        const src = source.connection("benchsrc");
        const built = await buildBenchSource(src, sizeMb);
        console.log(`source ${(built.databaseBytes / MiB).toFixed(0)} MiB; ${os.cpus().length} cores; load average ${os.loadavg().map((x) => x.toFixed(1)).join(", ")}`);
        const rounds: { dump: number; restore: number }[] = [];
        for (let i = 0; i < repeat; i++) {
            const e = (await runPreflight(src, { plan: "essential-1" })).estimate;
            const file = path.join(tmp, "floor.dump");
            const dump = (await timed(pgBin("pg_dump"), ["-Fc", "-b", "-Z0", "--no-password", "-f", file], src)) / 1000;
            const db = await freshDatabase(target.connection("postgres"), "restored");
            const restore = (await timed(pgBin("pg_restore"), ["--no-owner", "--no-acl", "-d", db.database, file], db)) / 1000;
            fs.rmSync(file);
            rounds.push({ dump: e.dumpSeconds / dump, restore: e.restoreSeconds / restore });
            console.log(`round ${i + 1}: sample ${(e.readBytesPerSec / MiB).toFixed(1)} MiB/s by COPY (${(e.sampleCopyTableBytes / MiB).toFixed(1)} MiB in ${e.sampleCopyMs} ms), scan ${(e.scanBytesPerSec / MiB).toFixed(1)} MiB/s; ` +
                `dump est ${e.dumpSeconds} s / pg_dump ${dump.toFixed(1)} s = ${(e.dumpSeconds / dump).toFixed(2)}; restore est ${e.restoreSeconds} s / pg_restore ${restore.toFixed(1)} s = ${(e.restoreSeconds / restore).toFixed(2)}`);
        }
        console.log(`median estimate / measured over ${repeat} rounds: dump ${median(rounds.map((r) => r.dump)).toFixed(2)}, restore ${median(rounds.map((r) => r.restore)).toFixed(2)} (load average ${os.loadavg().map((x) => x.toFixed(1)).join(", ")})`);
    } finally {
        await source.stop().catch(() => undefined);
        await target.stop().catch(() => undefined);
        fs.rmSync(tmp, { recursive: true, force: true });
    }
}

if (require.main === module) {
    main().catch((err) => {
        console.error(err instanceof Error ? err.stack : err);
        process.exitCode = 1;
    });
}
