/**
 * Benchmark: would a direct transport (no blob in between) shorten the freeze, and by how much?
 *
 *   BENCH_SIZE_MB=400 BENCH_JOBS=2 BENCH_REPEAT=2 npm run bench:direct
 *
 * On one realistic source (bench/source.ts; separate source and target clusters with SSL, as in
 * the rehearsal), in one run, each BENCH_REPEAT times, in rotating order:
 *   blob:   our default path: `pg_dump -Fc -Z0` streamed into Azurite (lib/blob.ts dumpToBlob),
 *           then the read SAS URL streamed into `pg_restore --no-owner --no-acl` (as Heroku does);
 *   pipe:   what `heroku pg:push` does: `pg_dump -Fc -Z0 | pg_restore --no-owner --no-acl -d URL`
 *           from the machine running Pulumi, one stream, dump and restore overlapping;
 *   dir-jN: `pg_dump -Fd -Z0 -j N` into a local directory, then `pg_restore -j N --no-owner
 *           --no-acl -d URL` from it (parallel per table and per index, but sequential phases).
 * Prints the seconds of each (median), and the ratio to the blob path. Verification and the rest
 * of the pipeline are the same for every transport and left out. Asserts nothing.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { dumpToBlob, ensureContainer, makeReadSas } from "../lib/blob";
import { pgEnv, withClient } from "../lib/pg";
import { pgBin, pgToolVersion } from "../lib/pgbin";
import { BlobTarget, PgConnection } from "../lib/types";
import { startAzurite } from "../local/azurite";
import { startCluster } from "../local/postgres";
import { freshDatabase, restoreFromUrl, timed, median } from "./common";
import { buildBenchSource } from "./source";

const MiB = 1024 * 1024;
const RESTORE = ["--no-owner", "--no-acl"];

/** `pg_dump -Fc -Z0 | pg_restore -d target`, as `heroku pg:push` streams it; resolves with the wall time in ms. */
function pipe(source: PgConnection, target: PgConnection): Promise<number> {
    return new Promise((resolve, reject) => {
        const t0 = Date.now();
        const dump = spawn(pgBin("pg_dump"), ["-Fc", "-b", "-Z0", "--no-password"], { env: { ...process.env, ...pgEnv(source) }, stdio: ["ignore", "pipe", "pipe"] });
        const restore = spawn(pgBin("pg_restore"), [...RESTORE, "--format=custom", "-d", target.database], { env: { ...process.env, ...pgEnv(target) }, stdio: ["pipe", "ignore", "pipe"] });
        let err = "";
        for (const p of [dump, restore]) p.stderr!.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
        dump.stdout!.pipe(restore.stdin!);
        let codes = 0;
        let failed = false;
        const done = (code: number | null) => {
            if (code !== 0) failed = true;
            if (++codes !== 2) return;
            if (failed) reject(new Error(`pg_dump | pg_restore failed: ${err}`));
            else resolve(Date.now() - t0);
        };
        dump.on("close", done);
        restore.on("close", done);
    });
}

async function main(): Promise<void> {
    const sizeMb = Number(process.env.BENCH_SIZE_MB ?? 400);
    const jobs = (process.env.BENCH_JOBS ?? "2").split(",").map((x) => Number(x.trim()));
    const repeat = Number(process.env.BENCH_REPEAT ?? 1);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bench-direct-"));
    fs.chmodSync(tmp, 0o755);
    const source = await startCluster({ dataDir: path.join(tmp, "pg-source"), ssl: true });
    const targetCluster = await startCluster({ dataDir: path.join(tmp, "pg-target"), ssl: true });
    const azurite = await startAzurite({ dir: path.join(tmp, "azurite") });
    try {
        await withClient(source.connection("postgres"), (c) => c.query("CREATE DATABASE benchsrc"));
        const src = source.connection("benchsrc");
        const built = await buildBenchSource(src, sizeMb);
        console.log(`pg_dump ${pgToolVersion("pg_dump").text}; ${os.cpus().length} cores; source ${(built.databaseBytes / MiB).toFixed(0)} MiB (${built.rows} rows, ${built.largeObjects} large objects), built in ${(built.generateMs / 1000).toFixed(1)} s`);
        const blob: BlobTarget = { accountName: azurite.accountName, accountKey: azurite.accountKey, blobEndpoint: azurite.blobEndpoint, container: "direct" };
        await ensureContainer(blob);
        const admin = targetCluster.connection("postgres");

        type Row = { name: string; dump: number; restore: number; total: number };
        const runs = new Map<string, Row[]>();
        const record = (r: Row) => {
            runs.set(r.name, [...(runs.get(r.name) ?? []), r]);
            console.log(`  ${r.name}: ${r.dump ? `dump ${(r.dump / 1000).toFixed(1)} s, restore ${(r.restore / 1000).toFixed(1)} s, ` : ""}total ${(r.total / 1000).toFixed(1)} s`);
        };
        const transports: Array<[string, () => Promise<Row>]> = [
            ["blob", async () => {
                const r = await dumpToBlob({ source: src, target: blob, blobName: "direct.dump", pgDumpArgs: ["-Fc", "-b", "--no-password", "-Z", "0"] });
                const db = await freshDatabase(admin, "restored");
                const restore = await restoreFromUrl(makeReadSas({ target: blob, blobName: "direct.dump", expiresInMinutes: 30 }).url, db);
                return { name: "blob", dump: r.durationMs, restore, total: r.durationMs + restore };
            }],
            ["pipe", async () => {
                const db = await freshDatabase(admin, "restored");
                const total = await pipe(src, db);
                return { name: "pipe", dump: 0, restore: 0, total };
            }],
            ...jobs.map((n): [string, () => Promise<Row>] => [`dir-j${n}`, async () => {
                const dir = path.join(tmp, `dir-j${n}`);
                fs.rmSync(dir, { recursive: true, force: true });
                const dump = await timed(pgBin("pg_dump"), ["-Fd", "-b", "-Z0", "-j", String(n), "--no-password", "-f", dir], src);
                const db = await freshDatabase(admin, "restored");
                const restore = await timed(pgBin("pg_restore"), [...RESTORE, "-j", String(n), "-d", db.database, dir], db);
                fs.rmSync(dir, { recursive: true, force: true });
                return { name: `dir-j${n}`, dump, restore, total: dump + restore };
            }]),
        ];
        for (let i = 0; i < repeat; i++) {
            // Rotate the order so a slow moment of the shared machine does not always hit the same transport.
            const order = transports.map((_, k) => transports[(k + i) % transports.length]);
            for (const [, run] of order) record(await run());
        }
        const med = (name: string, k: keyof Omit<Row, "name">) => median((runs.get(name) ?? []).map((r) => r[k]));
        const base = med("blob", "total");
        console.log(`\n| transport | dump s | restore s | total s | total / blob |`);
        console.log(`| --- | --- | --- | --- | --- |`);
        for (const [name] of transports) {
            const t = med(name, "total");
            const d = med(name, "dump");
            console.log(`| ${name} | ${d ? (d / 1000).toFixed(1) : "(overlapped)"} | ${d ? (med(name, "restore") / 1000).toFixed(1) : "(overlapped)"} | ${(t / 1000).toFixed(1)} | ${(t / base).toFixed(2)} |`);
        }
        console.log(`(median of ${repeat}; load average ${os.loadavg().map((x) => x.toFixed(1)).join(", ")})`);
    } finally {
        await azurite.stop().catch(() => undefined);
        await source.stop().catch(() => undefined);
        await targetCluster.stop().catch(() => undefined);
        fs.rmSync(tmp, { recursive: true, force: true });
    }
}

if (require.main === module) {
    main().catch((err) => {
        console.error(err instanceof Error ? err.stack : err);
        process.exitCode = 1;
    });
}
