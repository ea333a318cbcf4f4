/**
 * `npm run bench`: how long the app is frozen with our pipeline, against the guide done by hand
 * and against the floor of any dump -> blob -> restore design, measured in one run on one
 * machine on a realistic, poorly compressible source (bench/source.ts).
 *
 *   npm run bench                              # about 1 GiB
 *   BENCH_SIZE_MB=100 npm run bench            # quick
 *   BENCH_SIZES=500,1000 npm run bench         # two sizes: time should grow linearly, memory stay flat
 *
 * For each size, in a child process of its own (so its peak memory is its own):
 *   (1) the guide by hand: `pg_dump -Fc -b` to a file, upload of the file to Azurite, restore
 *       from a read SAS URL streamed into `pg_restore --no-owner --no-acl` into a fresh database;
 *   (2) our pipeline end to end: the rehearsal (`rehearse("up")` with SOURCE_DATABASE_URL at the
 *       bench source, the same target cluster), per-stage times from the report's timings; the
 *       freeze is the stages from WriteFreeze to Cutover; then `rehearse("destroy")`;
 *   (3) the floor: `pg_dump -Fc -Z0` to a file, `pg_restore` from that file.
 * Source and target are separate local clusters with SSL, as in the rehearsal. Prints seconds,
 * MB/s, peak RSS of this Node process (it runs the Pulumi program, the providers and the Heroku
 * emulator; pg_dump, pg_restore, PostgreSQL and Azurite are other processes) and the ratios
 * (2)/(1) and (2)/(3), and writes bench/results.json. Asserts nothing.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { containerClient, ensureContainer, makeReadSas } from "../lib/blob";
import { DEFAULT_DUMP_COMPRESSION } from "../lib/compression";
import { withClient } from "../lib/pg";
import { pgBin, pgToolVersion } from "../lib/pgbin";
import { ESTIMATE_ASSUMPTIONS } from "../lib/preflight";
import { BlobTarget } from "../lib/types";
import { startAzurite } from "../local/azurite";
import { startCluster } from "../local/postgres";
import { freshDatabase, restoreFromUrl, rssSampler, timed } from "./common";
import { cpuSampler, formatCpu } from "./cpu";
import { buildBenchSource } from "./source";

const MiB = 1024 * 1024;
/** The stages of the rehearsal report that the app is frozen for (WriteFreeze to Cutover). */
const FROZEN_STAGES = ["freeze", "dump", "grant", "restore", "verify", "acceptance", "cutover"];

interface SizeResult {
    sizeMb: number;
    databaseBytes: number;
    rows: number;
    largeObjects: number;
    generateSeconds: number;
    guide: { dump: number; upload: number; restore: number; total: number; dumpBytes: number; peakRssBytes: number };
    ours: { stages: Record<string, number>; dump: number; restore: number; verify: number; freeze: number; dumpBytes: number; peakRssBytes: number; progressLines: number; status: string; compression: string };
    /** Preflight's estimate for the same run (seconds, bytes), to see how far off it is, component by component. */
    estimate?: { dump: number; upload: number; dumpUpload: number; restore: number; herokuOverhead: number; verify: number; cutover: number; total: number; archiveBytes: number; uploadBytesPerSec: number; readBytesPerSec: number; scanBytesPerSec: number; dataBytes: number; indexBytes: number };
    /** Where the emulator's restore stage went, from the transfer log's timestamps (1 s resolution) and the stage time. */
    restorePhases?: { pgRestore: number; download: number; afterDownload: number; stage: number; other: number };
    floor: { dump: number; restore: number; total: number; dumpBytes: number };
    /** CPU seconds per process group (bench/cpu.ts) during our dump stage, our restore stage and the floor's dump and restore. */
    cpu?: Record<string, { wallSeconds: number; groups: Record<string, number>; machineBusySeconds: number }>;
}

const s = (ms: number) => Math.round(ms / 100) / 10;

/**
 * The emulator's restore, from its transfer log (timestamps to the second; the CLI does not see
 * the emulator's internal lines): pg_restore until the download is done, pg_restore after the
 * download, and what the stage took beyond that (archive check, database reset, extensions,
 * starting the transfer, polling, fetching the logs).
 */
function phasesOf(logs: { created_at: string; message: string }[], stageMs: number): SizeResult["restorePhases"] {
    const time = (l?: { created_at: string }) => (l ? Date.parse(l.created_at.replace(" +0000", "Z").replace(" ", "T")) : NaN);
    const first = time(logs.find((x) => /^pg_restore: /.test(x.message)));
    const downloaded = time(logs.find((x) => /^download done/.test(x.message)));
    const last = time(logs[logs.length - 1]);
    if ([first, last, downloaded].some((x) => Number.isNaN(x))) return undefined;
    return { pgRestore: s(last - first), download: s(downloaded - first), afterDownload: s(last - downloaded), stage: s(stageMs), other: s(stageMs - (last - first)) };
}

/** One size, in this process. */
async function runOne(sizeMb: number): Promise<SizeResult> {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bench-"));
    fs.chmodSync(tmp, 0o755); // the postgres OS user must reach the cluster directories
    const say = (line: string) => process.stdout.write(`[bench ${sizeMb} MB] ${line}\n`);
    const source = await startCluster({ dataDir: path.join(tmp, "pg-source"), ssl: true });
    const target = await startCluster({ dataDir: path.join(tmp, "pg-target"), ssl: true });
    const azurite = await startAzurite({ dir: path.join(tmp, "azurite") });
    try {
        await withClient(source.connection("postgres"), (c) => c.query("CREATE DATABASE benchsrc"));
        const src = source.connection("benchsrc");
        const built = await buildBenchSource(src, sizeMb);
        say(`source: ${(built.databaseBytes / MiB).toFixed(0)} MiB, ${built.rows} rows, ${built.largeObjects} large objects, built in ${s(built.generateMs)} s`);

        // (1) The guide by hand.
        const file = path.join(tmp, "guide.dump");
        const guideDump = await timed(pgBin("pg_dump"), ["-Fc", "-b", "--no-password", "-f", file], src);
        const blob: BlobTarget = { accountName: azurite.accountName, accountKey: azurite.accountKey, blobEndpoint: azurite.blobEndpoint, container: "guide" };
        await ensureContainer(blob);
        const mem1 = rssSampler();
        const t0 = Date.now();
        await containerClient(blob).getBlockBlobClient("guide.dump").uploadFile(file);
        const guideUpload = Date.now() - t0;
        const guidePeak = mem1.stop();
        const guideBytes = fs.statSync(file).size;
        fs.rmSync(file);
        const guideDb = await freshDatabase(target.connection("postgres"), "guide");
        const guideRestore = await restoreFromUrl(makeReadSas({ target: blob, blobName: "guide.dump", expiresInMinutes: 60 }).url, guideDb);
        await withClient(target.connection("postgres"), (c) => c.query("DROP DATABASE guide"));
        say(`(1) guide: dump ${s(guideDump)} s, upload ${s(guideUpload)} s, restore ${s(guideRestore)} s`);

        // (2) Our pipeline, through the rehearsal.
        const dir = path.join(tmp, "rehearsal");
        process.env.SOURCE_DATABASE_URL = source.url("benchsrc");
        process.env.REHEARSAL_TARGET_URL = target.url("postgres");
        // Count the progress lines the providers write (they go to stderr, as in Pulumi).
        let progressLines = 0;
        const write = process.stderr.write.bind(process.stderr);
        // CPU per process group during our dump stage and our restore stage, from their first to their last line.
        const clusters = { source: path.join(tmp, "pg-source"), target: path.join(tmp, "pg-target") };
        const cpu: NonNullable<SizeResult["cpu"]> = {};
        // CPU windows, each from the line that starts it to the line that ends it: the dump stage, the
        // restore stage, and the whole frozen pipeline from the dump to the end of the cutover.
        const windows: Array<{ name: string; start: RegExp; end: RegExp }> = [
            { name: "ours: dump stage", start: /^\[DumpToBlob\] pg_dump of /, end: /^\[DumpToBlob\] done:/ },
            { name: "ours: restore stage", start: /^\[HerokuRestore\] restore r\d+ \(.*\) started/, end: /^\[HerokuRestore\] r\d+ succeeded/ },
            { name: "ours: dump to cutover", start: /^\[DumpToBlob\] pg_dump of /, end: /^\[Cutover\] done:/ },
        ];
        const sampling = new Map<string, ReturnType<typeof cpuSampler>>();
        const mark = (line: string) => {
            for (const w of windows) {
                const running = sampling.get(w.name);
                if (!running && !cpu[w.name] && w.start.test(line)) sampling.set(w.name, cpuSampler(clusters));
                else if (running && w.end.test(line)) {
                    cpu[w.name] = running.stop() as never;
                    sampling.delete(w.name);
                }
            }
        };
        process.stderr.write = ((chunk: any, ...rest: any[]) => {
            progressLines += (String(chunk).match(/^\[(DumpToBlob|HerokuRestore|Verification)\] /gm) ?? []).length;
            for (const line of String(chunk).split("\n")) mark(line);
            return (write as any)(chunk, ...rest);
        }) as typeof process.stderr.write;
        // eslint-disable-next-line @typescript-eslint/no-var-requires
        const { rehearse } = require("../local/rehearse") as typeof import("../local/rehearse");
        const mem2 = rssSampler();
        const up = await rehearse("up", dir);
        const oursPeak = mem2.stop();
        process.stderr.write = write;
        const stages: Record<string, number> = {};
        for (const t of up.report.timings ?? []) stages[t.stage] = (stages[t.stage] ?? 0) + t.ms;
        const frozen = FROZEN_STAGES.reduce((n, k) => n + (stages[k] ?? 0), 0);
        say(`(2) ours (${up.report.status}): ${FROZEN_STAGES.filter((k) => k in stages).map((k) => `${k} ${s(stages[k])} s`).join(", ")}; frozen ${s(frozen)} s`);
        const plan = JSON.parse(fs.readFileSync(path.join(dir, "preflight.json"), "utf8"));
        const e = plan.estimate;
        const estimate = e ? {
            dump: e.dumpSeconds, upload: e.uploadSeconds, dumpUpload: e.dumpUploadSeconds, restore: e.restoreSeconds, herokuOverhead: e.herokuOverheadSeconds,
            verify: e.verifySeconds, cutover: e.cutoverSeconds, total: e.totalSeconds, archiveBytes: e.archiveBytes, uploadBytesPerSec: ESTIMATE_ASSUMPTIONS.uploadBytesPerSec,
            readBytesPerSec: e.readBytesPerSec, scanBytesPerSec: e.scanBytesPerSec, dataBytes: e.dataBytes, indexBytes: e.indexBytes,
        } : undefined;
        const restorePhases = phasesOf(up.report.restore.logs, stages.restore ?? 0);
        const down = await rehearse("destroy", dir);
        if (!up.ok || !down.ok) throw new Error(`the rehearsal failed: ${up.report.error ?? down.report.error}`);

        // (3) The floor.
        const floorFile = path.join(tmp, "floor.dump");
        let floorCpu = cpuSampler(clusters);
        const floorDump = await timed(pgBin("pg_dump"), ["-Fc", "-Z0", "--no-password", "-f", floorFile], src);
        cpu["floor: dump"] = floorCpu.stop() as never;
        const floorBytes = fs.statSync(floorFile).size;
        const floorDb = await freshDatabase(target.connection("postgres"), "floor");
        floorCpu = cpuSampler(clusters);
        const floorRestore = await timed(pgBin("pg_restore"), ["--no-owner", "--no-acl", "-d", "floor", floorFile], floorDb);
        cpu["floor: restore"] = floorCpu.stop() as never;
        for (const [name, c] of Object.entries(cpu)) say(`${name}: ${formatCpu(c, os.cpus().length)}`);
        fs.rmSync(floorFile);
        say(`(3) floor: dump ${s(floorDump)} s, restore ${s(floorRestore)} s`);

        return {
            sizeMb,
            databaseBytes: built.databaseBytes,
            rows: built.rows,
            largeObjects: built.largeObjects,
            generateSeconds: s(built.generateMs),
            guide: { dump: s(guideDump), upload: s(guideUpload), restore: s(guideRestore), total: s(guideDump + guideUpload + guideRestore), dumpBytes: guideBytes, peakRssBytes: guidePeak },
            ours: {
                stages: Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, s(v)])),
                dump: s(stages.dump ?? 0),
                restore: s(stages.restore ?? 0),
                verify: s(stages.verify ?? 0),
                freeze: s(frozen),
                dumpBytes: Number(up.report.dump.bytes ?? 0),
                peakRssBytes: oursPeak,
                progressLines,
                status: up.report.status,
                compression: DEFAULT_DUMP_COMPRESSION,
            },
            floor: { dump: s(floorDump), restore: s(floorRestore), total: s(floorDump + floorRestore), dumpBytes: floorBytes },
            estimate,
            restorePhases,
            cpu,
        };
    } finally {
        await azurite.stop().catch(() => undefined);
        await source.stop().catch(() => undefined);
        await target.stop().catch(() => undefined);
        fs.rmSync(tmp, { recursive: true, force: true });
    }
}

function runChild(sizeMb: number): Promise<SizeResult> {
    return new Promise((resolve, reject) => {
        const out = path.join(os.tmpdir(), `bench-result-${process.pid}-${sizeMb}.json`);
        const child = spawn(process.execPath, [...process.execArgv, __filename, "--one", String(sizeMb), out], { stdio: "inherit", env: { ...process.env, A2H_QUIET: process.env.A2H_QUIET ?? "0" } });
        child.on("error", reject);
        child.on("close", (code) => {
            if (code !== 0) return reject(new Error(`the bench at ${sizeMb} MB exited with code ${code}`));
            const r = JSON.parse(fs.readFileSync(out, "utf8")) as SizeResult;
            fs.rmSync(out, { force: true });
            resolve(r);
        });
    });
}

function report(results: SizeResult[], totalSeconds: number): void {
    const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 100) / 100 : 0);
    const mbps = (bytes: number, sec: number) => (sec > 0 ? (bytes / MiB / sec).toFixed(1) : "-");
    const lines: string[] = [];
    lines.push("", `pg_dump ${pgToolVersion("pg_dump").text}; ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), ${Math.round(os.totalmem() / 1024 ** 3)} GiB RAM; our dumpCompression default ${DEFAULT_DUMP_COMPRESSION}`);
    lines.push("", "| size | path | dump s | upload s | restore s | verify s | frozen s | MB/s | dump MiB | peak RSS MiB |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for (const r of results) {
        const db = `${(r.databaseBytes / MiB).toFixed(0)} MiB`;
        lines.push(`| ${db} | (1) guide by hand | ${r.guide.dump} | ${r.guide.upload} | ${r.guide.restore} | - | ${r.guide.total} | ${mbps(r.databaseBytes, r.guide.total)} | ${(r.guide.dumpBytes / MiB).toFixed(0)} | ${(r.guide.peakRssBytes / MiB).toFixed(0)} (upload) |`);
        lines.push(`| ${db} | (2) ours (rehearsal) | ${r.ours.dump} | (overlapped) | ${r.ours.restore} | ${r.ours.verify} | ${r.ours.freeze} | ${mbps(r.databaseBytes, r.ours.freeze)} | ${(r.ours.dumpBytes / MiB).toFixed(0)} | ${(r.ours.peakRssBytes / MiB).toFixed(0)} |`);
        lines.push(`| ${db} | (3) floor | ${r.floor.dump} | - | ${r.floor.restore} | - | ${r.floor.total} | ${mbps(r.databaseBytes, r.floor.total)} | ${(r.floor.dumpBytes / MiB).toFixed(0)} | - |`);
    }
    lines.push("");
    for (const r of results) {
        const ours = r.ours.freeze;
        lines.push(`${(r.databaseBytes / MiB).toFixed(0)} MiB: freeze (2)/(1) = ${ratio(ours, r.guide.total)}, (2)/(3) = ${ratio(ours, r.floor.total)}; ` +
            `dump+restore only (2)/(1) = ${ratio(r.ours.dump + r.ours.restore, r.guide.total)}, (2)/(3) = ${ratio(r.ours.dump + r.ours.restore, r.floor.total)}; ` +
            `verification / restore = ${ratio(r.ours.verify, r.ours.restore)}; ${r.ours.progressLines} progress lines`);
        // What the cores allow: the CPU our frozen pipeline used, spread perfectly over every core,
        // is a lower bound on its wall time on this machine, whatever the scheduling.
        const whole = r.cpu?.["ours: dump to cutover"];
        if (whole) {
            const sum = (groups: Record<string, number | undefined>, only?: string[]) => Object.entries(groups).filter(([g]) => !only || only.includes(g)).reduce((n, [, v]) => n + (v ?? 0), 0);
            const total = sum(whole.groups);
            const standIns = sum(whole.groups, ["azurite", "curl"]);
            const cores = os.cpus().length;
            lines.push(`  dump to cutover used ${s(total * 1000)} CPU-s (Azurite and the emulator's curl, stand-ins for Azure's and Heroku's machines: ${s(standIns * 1000)}): ` +
                `at least ${s((total / cores) * 1000)} s on ${cores} cores, ${ratio(total / cores, r.floor.total)}x the floor (${s(((total - standIns) / cores) * 1000)} s, ${ratio((total - standIns) / cores, r.floor.total)}x, without the stand-ins)`);
        }
    }
    for (const r of results) {
        const e = r.estimate;
        if (!e) continue;
        // Each component against the run that measures it alone: pg_dump to a file (the floor,
        // same compression when ours is 0), the guide's upload of its file (same rate assumption,
        // its own archive size), our streamed dump stage, our restore stage, our verification.
        const guideUploadEstimate = r.guide.dumpBytes / e.uploadBytesPerSec;
        const measured = r.ours.dump + r.ours.restore + r.ours.verify;
        const estimated = e.dumpUpload + e.restore + e.verify;
        lines.push(`${(r.databaseBytes / MiB).toFixed(0)} MiB: preflight's estimate / measured (1.0 is exact; goal 0.7-1.3 each):`,
            `  dump (pg_dump alone, vs (3)'s dump${r.ours.compression === "0" ? "" : `; ours compresses at ${r.ours.compression}, (3) does not`}): ${e.dump} / ${r.floor.dump} s = ${ratio(e.dump, r.floor.dump)}`,
            `  upload (rate, vs (1)'s upload of its ${(r.guide.dumpBytes / MiB).toFixed(0)} MiB file): ${s(guideUploadEstimate * 1000)} / ${r.guide.upload} s = ${ratio(guideUploadEstimate, r.guide.upload)}`,
            `  dump + upload streamed (vs (2)'s dump stage): ${e.dumpUpload} / ${r.ours.dump} s = ${ratio(e.dumpUpload, r.ours.dump)}`,
            `  restore (vs (2)'s restore stage): ${e.restore} / ${r.ours.restore} s = ${ratio(e.restore, r.ours.restore)}; vs (3)'s pg_restore: ${ratio(e.restore, r.floor.restore)}`,
            `  verification (vs (2)'s verify stage): ${e.verify} / ${r.ours.verify} s = ${ratio(e.verify, r.ours.verify)}`,
            `  measured components together: ${s(estimated * 1000)} / ${s(measured * 1000)} s = ${ratio(estimated, measured)}; archive size ${ratio(e.archiveBytes, r.ours.dumpBytes)}`,
            `  not measured here, in the estimate's total of ${e.total} s: Heroku's own overhead ${e.herokuOverhead} s, cutover ${e.cutover} s`);
        const p = r.restorePhases;
        for (const [name, c] of Object.entries(r.cpu ?? {})) lines.push(`  ${name}: ${formatCpu(c, os.cpus().length)}`);
        if (p) lines.push(`  (2)'s restore stage ${p.stage} s: pg_restore ${p.pgRestore} s (${p.download} s until the download was done, ${p.afterDownload} s after it), everything else ${p.other} s (archive check, database reset, transfer start, polling; log timestamps are to the second)`);
    }
    if (results.length > 1) {
        const [a, b] = [results[0], results[results.length - 1]];
        lines.push(`size x${ratio(b.databaseBytes, a.databaseBytes)}: our freeze x${ratio(b.ours.freeze, a.ours.freeze)}, our peak RSS x${ratio(b.ours.peakRssBytes, a.ours.peakRssBytes)}`);
    }
    lines.push(`bench took ${Math.round(totalSeconds)} s`);
    process.stdout.write(lines.join("\n") + "\n");
}

async function main(): Promise<void> {
    const one = process.argv.indexOf("--one");
    if (one >= 0) {
        const r = await runOne(Number(process.argv[one + 1]));
        fs.writeFileSync(process.argv[one + 2], JSON.stringify(r));
        return;
    }
    const t0 = Date.now();
    const sizes = (process.env.BENCH_SIZES ?? process.env.BENCH_SIZE_MB ?? "1000").split(",").map((x) => Number(x.trim()));
    if (sizes.some((n) => !Number.isFinite(n) || n < 10)) throw new Error(`BENCH_SIZES/BENCH_SIZE_MB must be sizes in MB of at least 10, got "${process.env.BENCH_SIZES ?? process.env.BENCH_SIZE_MB}"`);
    const results: SizeResult[] = [];
    for (const size of sizes) results.push(await runChild(size));
    const totalSeconds = (Date.now() - t0) / 1000;
    report(results, totalSeconds);
    const file = path.join(__dirname, "results.json");
    fs.writeFileSync(file, JSON.stringify({
        measuredAt: new Date().toISOString(),
        machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 1024 ** 3), hostname: os.hostname(), loadAvg: os.loadavg() },
        pgDump: pgToolVersion("pg_dump").text,
        dumpCompression: DEFAULT_DUMP_COMPRESSION,
        totalSeconds: Math.round(totalSeconds),
        results,
    }, null, 2) + "\n");
    process.stdout.write(`wrote ${file}\n`);
}

main().then(
    () => process.exit(process.exitCode ?? 0),
    (err) => {
        process.stderr.write(`${err instanceof Error ? err.stack : err}\n`);
        process.exit(1);
    },
);
