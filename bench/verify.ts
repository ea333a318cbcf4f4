/**
 * Benchmark: where verification (lib/verify verifyDatabases) spends its time, as ratios
 * against the pg_restore of the same database measured in the same run.
 *
 *   node --require ts-node/register/transpile-only bench/verify.ts [--size-mb 500] [--runs 2]
 *        [--parts verify,hash,concurrency,overlap,precompute] [--dir /tmp/a2h-bench-verify] [--baseline <commit>]
 *
 * The source is realistic and poorly compressible (random bytes, hex text, jsonb, timestamps
 * with an index, a few large objects), in several tables of different sizes, built once into a
 * local cluster under --dir and reused while its size matches. Each run then:
 *
 * 1. dumps it with `pg_dump -Fc -Z0 -b` to a file and times `pg_restore --no-owner --no-acl`
 *    of that file into a fresh database (the restore time every ratio is against);
 * 2. `verify`: times verifyDatabases and its stages (settings, schema, tables, ...); with
 *    `--baseline <commit>`, the verification of that commit runs too, alternating with today's;
 * 3. `hash`: times the checksum query of the largest table with each candidate row hash
 *    (one side, then both sides at once as verification runs them);
 * 4. `concurrency`: times the table stage at several `concurrency` values;
 * 5. `overlap`: restores again while the source side's checksums are computed, to see what
 *    computing them during the restore would cost and save;
 * 6. `precompute`: restore + verifyDatabases one after the other, against the restore with
 *    precomputeSourceChecksums beside it + verifyDatabases given those checksums.
 *
 * Prints ratios, asserts nothing. Source and target are two clusters on this machine, so the
 * two sides compete for the same cores (on Azure and Heroku they do not).
 */
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { pgEnv, withClient, quoteIdent } from "../lib/pg";
import { pgBin, pgToolVersion } from "../lib/pgbin";
import { PgConnection } from "../lib/types";
import { startCluster } from "../local/postgres";
import * as current from "../lib/verify";
import { chooseRendering, compareTableData, inspectSchema, renderingSettings, type VerificationResult } from "../lib/verify";

/**
 * The verification as it was at `commit`, loaded beside the current one (same imports): the
 * single file lib/verify.ts of older commits, or the modules of lib/verify/, copied next to
 * the current ones so that their relative imports resolve the same way.
 */
function loadVerifyAt(commit: string): typeof current {
    const root = path.join(__dirname, "..");
    const git = (args: string[]) => execFileSync("git", args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    const at = path.join(root, "lib", `.verify-at-${commit.replace(/[^0-9a-zA-Z]/g, "")}`);
    let files: string[] = [];
    try {
        files = git(["ls-tree", "--name-only", `${commit}:lib/verify`]).toString().split("\n").filter((f) => f.endsWith(".ts"));
    } catch {
        // No lib/verify/ at that commit: the single file.
    }
    try {
        if (files.length === 0) {
            fs.writeFileSync(`${at}.ts`, git(["show", `${commit}:lib/verify.ts`]));
        } else {
            fs.mkdirSync(at, { recursive: true });
            for (const f of files) fs.writeFileSync(path.join(at, f), git(["show", `${commit}:lib/verify/${f}`]));
        }
        return require(at);
    } finally {
        fs.rmSync(`${at}.ts`, { force: true });
        fs.rmSync(at, { recursive: true, force: true });
    }
}

const MiB = 1024 * 1024;

function arg(name: string, def: string): string {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : def;
}

async function sql<T = any>(conn: PgConnection, text: string, params: unknown[] = []): Promise<T[]> {
    return withClient(conn, async (c) => (await c.query(text, params)).rows as T[]);
}

function run(cmd: "pg_dump" | "pg_restore", args: string[], conn: PgConnection, stdout: "ignore" | number = "ignore"): Promise<number> {
    return new Promise((resolve, reject) => {
        const t0 = process.hrtime.bigint();
        const child = spawn(pgBin(cmd), args, { env: { ...process.env, ...pgEnv(conn) }, stdio: ["ignore", stdout, "pipe"] });
        let err = "";
        child.stderr!.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
        child.on("error", reject);
        child.on("close", (code) => {
            const ms = Number(process.hrtime.bigint() - t0) / 1e6;
            if (code === 0) resolve(ms);
            else reject(new Error(`${cmd} exited with code ${code}: ${err}`));
        });
    });
}

/**
 * Tables (share of the size): events 70% (like bench/source.ts on branch `speed`), accounts 15%,
 * documents 10% (large jsonb, TOASTed), five small tables, and 2% in 1 MiB large objects.
 */
async function buildSource(conn: PgConnection, sizeMb: number): Promise<void> {
    const total = sizeMb * MiB;
    const eventsRows = Math.round((total * 0.7) / 450);
    const accountsRows = Math.round((total * 0.15) / 300);
    const docsRows = Math.round((total * 0.1) / 4500);
    const los = Math.max(1, Math.round((total * 0.02) / MiB));
    await withClient(conn, async (c) => {
        await c.query("CREATE EXTENSION IF NOT EXISTS pgcrypto");
        await c.query(`CREATE TABLE events (id bigint PRIMARY KEY, token bytea NOT NULL, digest text NOT NULL, doc jsonb NOT NULL, at timestamptz NOT NULL)`);
        await c.query(`CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL, balance numeric(14,2), created timestamptz, flags int[], score float8)`);
        await c.query(`CREATE TABLE documents (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body jsonb NOT NULL, note text)`);
        for (let i = 1; i <= 5; i++) await c.query(`CREATE TABLE small_${i} (id serial PRIMARY KEY, name text, v numeric, at timestamp)`);
    });
    const batch = 100_000;
    const jobs: string[] = [];
    for (let lo = 1; lo <= eventsRows; lo += batch) {
        jobs.push(`INSERT INTO events SELECT g, gen_random_bytes(96), encode(gen_random_bytes(48), 'hex'),
            jsonb_build_object('user', (random() * 1e9)::bigint, 'score', random(), 'tag', encode(gen_random_bytes(12), 'base64'),
                               'kind', (ARRAY['click','view','buy','ship'])[1 + g % 4]),
            timestamptz '2024-01-01' + random() * interval '700 days'
            FROM generate_series(${lo}::bigint, ${Math.min(eventsRows, lo + batch - 1)}::bigint) g`);
    }
    for (let lo = 1; lo <= accountsRows; lo += batch) {
        jobs.push(`INSERT INTO accounts SELECT g, encode(gen_random_bytes(10), 'hex') || '@example.com', round((random() * 1e6)::numeric, 2),
            timestamptz '2020-01-01' + random() * interval '1500 days', ARRAY[(random()*100)::int, (random()*100)::int, g % 7], random() * 1e3
            FROM generate_series(${lo}::bigint, ${Math.min(accountsRows, lo + batch - 1)}::bigint) g`);
    }
    for (let lo = 1; lo <= docsRows; lo += 5000) {
        jobs.push(`INSERT INTO documents (body, note) SELECT
            (SELECT jsonb_object_agg('k' || i, encode(gen_random_bytes(24), 'base64')) FROM generate_series(1, 100) i WHERE g > 0),
            encode(gen_random_bytes(200), 'hex')
            FROM generate_series(${lo}, ${Math.min(docsRows, lo + 4999)}) g`);
    }
    for (let i = 1; i <= 5; i++) jobs.push(`INSERT INTO small_${i} (name, v, at) SELECT md5(g::text), g * 1.5, timestamp '2024-01-01' + g * interval '1 minute' FROM generate_series(1, ${i * 2000}) g`);
    await Promise.all([0, 1].map(() => withClient(conn, async (c) => {
        await c.query("SET synchronous_commit = off");
        for (let j = jobs.shift(); j; j = jobs.shift()) await c.query(j);
    })));
    await withClient(conn, async (c) => {
        await c.query("CREATE INDEX events_at ON events (at)");
        for (let i = 0; i < los; i++) {
            await c.query(`SELECT lo_from_bytea(0, (SELECT string_agg(gen_random_bytes(1024), ''::bytea) FROM generate_series(1, 1024)))`);
        }
        await c.query("VACUUM ANALYZE");
        await c.query("CHECKPOINT");
    });
}

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const ratio = (ms: number, base: number) => `${((ms / base) * 100).toFixed(0)}%`;

function stageLine(v: VerificationResult, restoreMs: number): string {
    return [`total ${s(v.durationMs)} (${ratio(v.durationMs, restoreMs)})`, ...v.timings.map((t) => `${t.stage} ${s(t.ms)} (${ratio(t.ms, restoreMs)})`)].join(", ");
}

async function main(): Promise<void> {
    const sizeMb = Number(arg("--size-mb", "500"));
    const runs = Number(arg("--runs", "2"));
    const parts = arg("--parts", "verify,hash,concurrency,overlap,precompute").split(",");
    const dir = path.resolve(arg("--dir", path.join(os.tmpdir(), "a2h-bench-verify")));
    fs.mkdirSync(dir, { recursive: true });
    fs.chmodSync(dir, 0o755); // the postgres OS user must reach the cluster directory
    // Two clusters, as in the rehearsal (Azure-like source, the emulator's Heroku-like target):
    // writes to the target do not move the source's transaction horizon.
    const cluster = await startCluster({ dataDir: path.join(dir, "pg") });
    const targetCluster = await startCluster({ dataDir: path.join(dir, "pg-target") });
    const admin = cluster.connection("postgres");
    const targetAdmin = targetCluster.connection("postgres");
    const source = cluster.connection("bench_src");
    const target = targetCluster.connection("bench_tgt");
    const dumpFile = path.join(dir, "bench.dump");
    try {
        const tag = `size ${sizeMb} v1`;
        const have = await sql(admin, "SELECT shobj_description(oid, 'pg_database') AS tag FROM pg_database WHERE datname = 'bench_src'");
        if (have[0]?.tag !== tag) {
            const t = Date.now();
            await sql(admin, "DROP DATABASE IF EXISTS bench_src");
            await sql(admin, "CREATE DATABASE bench_src TEMPLATE template0 ENCODING 'UTF8'");
            await buildSource(source, sizeMb);
            await sql(admin, `COMMENT ON DATABASE bench_src IS '${tag}'`);
            console.log(`built the source in ${s(Date.now() - t)}`);
            fs.rmSync(dumpFile, { force: true });
        }
        const [{ size }] = await sql(source, "SELECT pg_database_size(current_database())::bigint AS size");
        const tables = await sql(source, `SELECT c.relname AS name, pg_table_size(c.oid) AS bytes, c.reltuples::bigint AS rows FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 2 DESC`);
        const [{ n: los }] = await sql(source, "SELECT count(*)::int AS n FROM pg_largeobject_metadata");
        console.log(`PostgreSQL ${pgToolVersion("pg_dump").text}; ${os.cpus().length} cores; source ${(Number(size) / MiB).toFixed(0)} MiB: ` +
            `${tables.map((t) => `${t.name} ${(Number(t.bytes) / MiB).toFixed(0)} MiB`).join(", ")}; ${los} large objects`);

        if (!fs.existsSync(dumpFile)) {
            const fd = fs.openSync(dumpFile, "w");
            const ms = await run("pg_dump", ["-Fc", "-Z0", "-b"], source, fd);
            fs.closeSync(fd);
            console.log(`pg_dump -Fc -Z0 -b: ${s(ms)}, ${(fs.statSync(dumpFile).size / MiB).toFixed(0)} MiB`);
        }
        const restore = async (db: string, beside?: () => Promise<void>): Promise<number> => {
            await sql(targetAdmin, `DROP DATABASE IF EXISTS ${quoteIdent(db)}`);
            await sql(targetAdmin, `CREATE DATABASE ${quoteIdent(db)} TEMPLATE template0 ENCODING 'UTF8'`);
            await beside?.();
            const ms = await run("pg_restore", ["--no-owner", "--no-acl", "-d", db, dumpFile], targetCluster.connection(db));
            await sql(targetCluster.connection(db), "CHECKPOINT");
            return ms;
        };
        const restoreMs = await restore("bench_tgt");
        console.log(`pg_restore (the baseline of every ratio below): ${s(restoreMs)}`);
        console.log("");

        if (parts.includes("verify")) {
            const baseline = arg("--baseline", "");
            const impls: [string, typeof current][] = baseline ? [[baseline, loadVerifyAt(baseline)], ["current", current]] : [["current", current]];
            const totals = new Map<string, number[]>();
            for (let i = 0; i < runs; i++) {
                for (const [label, impl] of impls) {
                    const v = await impl.verifyDatabases(source, target, {});
                    if (!v.ok) throw new Error(`verification failed: ${v.summary}`);
                    totals.set(label, [...(totals.get(label) ?? []), v.durationMs]);
                    console.log(`verifyDatabases (${label}) run ${i + 1}: ${stageLine(v, restoreMs)}`);
                }
            }
            for (const [label, ms] of totals) {
                const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
                console.log(`verifyDatabases (${label}): mean ${s(mean)} = ${ratio(mean, restoreMs)} of the restore (min ${ratio(Math.min(...ms), restoreMs)})`);
            }
            console.log("");
        }

        if (parts.includes("hash")) {
            const biggest = tables[0].name;
            const variants: [string, string][] = [
                ["count(*) only (scan floor)", "count(*)::text"],
                ["count + sum(hashtextextended(row::text, 0)) [today]", "count(*)::text || sum(hashtextextended(r::text, 0))::text"],
                ["count + sum(md5(row::text) as bigint) [fallback]", "count(*)::text || sum(('x' || substr(md5(r::text), 1, 16))::bit(64)::bigint)::text"],
                ["count + sum(hash_record_extended(row, 0)) [PG14+, not textual]", "count(*)::text || sum(hash_record_extended(r, 0))::text"],
                ["row::text only (rendering cost)", "sum(length(r::text))::text"],
            ];
            const time = async (conn: PgConnection, expr: string, parallel: boolean): Promise<number> => withClient(conn, async (c) => {
                await c.query(renderingSettings({ extraFloatDigits: 3 }, { catalogSearchPath: false, rowSecurity: false }).join("; "));
                if (!parallel) await c.query("SET max_parallel_workers_per_gather = 0");
                const t = process.hrtime.bigint();
                await c.query(`SELECT ${expr} FROM ONLY public.${quoteIdent(biggest)} AS r`);
                return Number(process.hrtime.bigint() - t) / 1e6;
            });
            console.log(`row hash on ${biggest} (one scan; ratios against the restore of the whole database):`);
            for (const [label, expr] of variants) {
                const out: string[] = [];
                for (const parallel of [false, true]) {
                    try {
                        const one = await time(source, expr, parallel);
                        const both = await Promise.all([time(source, expr, parallel), time(target, expr, parallel)]);
                        out.push(`${parallel ? "parallel query on" : "serial"}: one side ${s(one)} (${ratio(one, restoreMs)}), both at once ${s(Math.max(...both))} (${ratio(Math.max(...both), restoreMs)})`);
                    } catch (err) {
                        out.push(`${parallel ? "parallel" : "serial"}: fails: ${(err as Error).message}`);
                    }
                }
                console.log(`  ${label}: ${out.join("; ")}`);
            }
            console.log("");
        }

        const relations = async () => {
            const info = await sql(source, "SELECT current_setting('server_version_num')::int AS n, current_setting('server_version') AS v, current_setting('server_encoding') AS e");
            const si = { version: info[0].v, versionNum: info[0].n, encoding: info[0].e };
            const r = chooseRendering(si, si);
            const snap = async (conn: PgConnection) => withClient(conn, async (c) => {
                await c.query(renderingSettings(r, { catalogSearchPath: true, rowSecurity: false }).join("; "));
                return (await inspectSchema(c, si.versionNum)).relations;
            });
            return { r, src: await snap(source), tgt: await snap(target) };
        };

        if (parts.includes("concurrency")) {
            const { r, src, tgt } = await relations();
            // Both sides (no precomputed checksums), then the target side alone (source precomputed).
            const pre = await current.precomputeSourceChecksums(source, target);
            const sourceChecksums = new Map(pre.tables.map((t) => [t.oid, { rows: t.rows, checksum: t.checksum, ms: t.ms }] as const));
            for (const [label, given] of [["both sides", undefined], ["target side only", sourceChecksums]] as const) {
                const line: string[] = [];
                for (let round = 0; round < runs; round++) {
                    for (const concurrency of [1, 2, 3, 4, 8]) {
                        const t = process.hrtime.bigint();
                        await compareTableData(source, target, r, src, tgt, { concurrency, sourceChecksums: given });
                        const ms = Number(process.hrtime.bigint() - t) / 1e6;
                        line.push(`${concurrency}: ${s(ms)} (${ratio(ms, restoreMs)})`);
                    }
                }
                console.log(`tables stage (${label}) by concurrency, ${runs} rounds: ${line.join(", ")}`);
            }
            console.log("");
        }

        if (parts.includes("overlap")) {
            // The source side alone, then the restore while the source side runs beside it.
            const { r, src } = await relations();
            for (const serial of [false, true]) {
                // serial: one table at a time and no parallel workers, to leave the restore a core.
                if (serial) await sql(admin, "ALTER DATABASE bench_src SET max_parallel_workers_per_gather = 0");
                const srcSide = async () => {
                    const t = process.hrtime.bigint();
                    await compareTableData(source, source, r, src, [], { concurrency: serial ? 1 : 4 });
                    return Number(process.hrtime.bigint() - t) / 1e6;
                };
                try {
                    const alone = await srcSide();
                    const restoreAgain = await restore("bench_tgt2");
                    const [withSource, srcMs] = await Promise.all([restore("bench_tgt3"), srcSide()]);
                    console.log(`source side ${serial ? "serial (1 table, no parallel workers)" : "as verification runs it"}: alone ${s(alone)} (${ratio(alone, restoreAgain)} of a restore); ` +
                        `restore alone ${s(restoreAgain)}, with the source side beside it ${s(withSource)} (+${ratio(withSource - restoreAgain, restoreAgain)}), source side meanwhile ${s(srcMs)}`);
                } finally {
                    if (serial) await sql(admin, "ALTER DATABASE bench_src RESET max_parallel_workers_per_gather");
                }
            }
            await sql(targetAdmin, "DROP DATABASE IF EXISTS bench_tgt2");
            await sql(targetAdmin, "DROP DATABASE IF EXISTS bench_tgt3");
        }

        if (parts.includes("precompute")) {
            // The source side during the restore (precomputeSourceChecksums), then verification
            // with those checksums, against restore + verification one after the other.
            const lines: string[] = [];
            for (let i = 0; i < runs; i++) {
                const plainRestore = await restore("bench_tgt");
                const plain = await current.verifyDatabases(source, target, {});
                let pre: Promise<{ checksums?: current.SourceChecksums; error?: unknown; end: bigint }> | undefined;
                const overlappedRestore = await restore("bench_tgt", async () => {
                    pre = current.precomputeSourceChecksums(source, target).then((checksums) => ({ checksums, end: process.hrtime.bigint() }), (error) => ({ error, end: process.hrtime.bigint() }));
                });
                const restoreEnd = process.hrtime.bigint();
                const done = await pre!;
                if (!done.checksums) throw done.error;
                const checksums = done.checksums;
                // How long verification would wait for the source side after the restore (0 when it ended first).
                const waited = Math.max(0, Number(done.end - restoreEnd) / 1e6);
                const v = await current.verifyDatabases(source, target, { sourceChecksums: checksums });
                if (!v.ok || !plain.ok) throw new Error(`verification failed: ${v.summary} / ${plain.summary}`);
                const used = v.notes.some((n) => n.startsWith("source checksums were computed during the restore"));
                lines.push(`run ${i + 1}: restore ${s(plainRestore)} then verify ${s(plain.durationMs)} (${ratio(plain.durationMs, plainRestore)}); ` +
                    `restore with source checksums beside it ${s(overlappedRestore)} (${ratio(overlappedRestore, plainRestore)} of the plain restore; source checksums took ${s(checksums.durationMs)}${waited > 0 ? `, ended ${s(waited)} after the restore` : ", ended before it"}), ` +
                    `then verify ${s(v.durationMs)} (${ratio(v.durationMs, overlappedRestore)}; tables ${s(v.timings.find((x) => x.stage === "tables")!.ms)}; precomputed ${used ? "used" : "NOT used"}); ` +
                    `restore+verify ${ratio(overlappedRestore + waited + v.durationMs, plainRestore + plain.durationMs)} of before`);
            }
            console.log(`source checksums during the restore:\n  ${lines.join("\n  ")}`);
        }
    } finally {
        await cluster.stop().catch((e) => console.error(`cluster stop: ${e}`));
        await targetCluster.stop().catch((e) => console.error(`target cluster stop: ${e}`));
    }
}

main().catch((err) => {
    console.error(err instanceof Error ? err.stack : err);
    process.exitCode = 1;
});
