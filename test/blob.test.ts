/**
 * lib/blob.ts and local/azurite.ts against a real Azurite blob service and a real PostgreSQL
 * cluster (local/postgres.ts): private container, pg_dump streamed into a blob, read-only SAS.
 *
 *   node --require ts-node/register/transpile-only --test test/blob.test.ts
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { createHash } from "crypto";
import {
    blobInfo,
    containerClient,
    CREATED_BY,
    deleteBlob,
    dumpToBlob,
    type DumpProgress,
    ensureContainer,
    makeReadSas,
} from "../lib/blob";
import { PROGRESS_MIN_INTERVAL_MS } from "../lib/progress";
import { pgBin, pgToolVersion } from "../lib/pgbin";
import { pgEnv, withClient } from "../lib/pg";
import { redact, registerSecret } from "../lib/redact";
import { BlobTarget, PgConnection } from "../lib/types";
import { LocalAzurite, startAzurite } from "../local/azurite";
import { LocalCluster, startCluster } from "../local/postgres";

const DB = "blobsrc";

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
        execFile(cmd, args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
            const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : -1) : 0;
            resolve({ code, stdout, stderr });
        });
    });
}

async function sql(conn: PgConnection, text: string): Promise<unknown[]> {
    return withClient(conn, async (c) => (await c.query(text)).rows);
}

function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}

describe("blob: Azurite + pg_dump streamed into a private blob + read SAS", () => {
    let tmp = "";
    let azurite: LocalAzurite | undefined;
    let cluster: LocalCluster | undefined;
    let target: BlobTarget;
    let source: PgConnection;
    const blobName = "dumps/blobsrc.dump";
    /**
     * The dump of the source into blobName, made once, by whichever test needs it first: each
     * test runs alone (--test-name-pattern) as it runs in the file.
     */
    let dumping: Promise<{ result: Awaited<ReturnType<typeof dumpToBlob>>; progress: DumpProgress[] }> | undefined;
    function theDump() {
        dumping ??= (async () => {
            const progress: DumpProgress[] = [];
            const result = await dumpToBlob({
                source,
                target,
                blobName,
                blockSizeBytes: 256 * 1024,
                concurrency: 2,
                onProgress: (p) => progress.push(p),
            });
            return { result, progress };
        })();
        return dumping;
    }

    before(async () => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "blob-test-"));
        fs.chmodSync(tmp, 0o755); // the postgres OS user must reach the cluster directory
        azurite = await startAzurite({ dir: path.join(tmp, "azurite") });
        cluster = await startCluster({ dataDir: path.join(tmp, "pg") });
        target = {
            accountName: azurite.accountName,
            accountKey: azurite.accountKey,
            blobEndpoint: azurite.blobEndpoint,
            container: `dumps${Date.now()}`,
        };
        // The tests' container, made here with the SDK itself (ensureContainer has its own tests).
        await containerClient(target).create();
        await sql(cluster.connection("postgres"), `CREATE DATABASE ${DB}`);
        source = cluster.connection(DB);
        await sql(
            source,
            `CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, created timestamptz NOT NULL DEFAULT now());
             CREATE TABLE orders (id serial PRIMARY KEY, customer_id int NOT NULL REFERENCES customers(id), total numeric(12,2));
             CREATE TABLE bulk (id int PRIMARY KEY, payload text);
             INSERT INTO customers (name) SELECT 'customer ' || g FROM generate_series(1, 500) g;
             INSERT INTO orders (customer_id, total) SELECT 1 + (g % 500), g * 1.25 FROM generate_series(1, 2000) g;
             INSERT INTO bulk SELECT g, repeat(md5(g::text), 8) FROM generate_series(1, 80000) g;
             SELECT lo_from_bytea(0, convert_to(repeat('large object payload ', 1000), 'UTF8'));`,
        );
    });

    after(async () => {
        const errors: unknown[] = [];
        for (const step of [() => azurite?.stop(), () => cluster?.stop()]) {
            try {
                await step();
            } catch (err) {
                errors.push(err);
            }
        }
        const pgDir = path.join(tmp, "pg");
        if (tmp && fs.existsSync(pgDir) && fs.lstatSync(pgDir).isSymbolicLink()) {
            fs.rmSync(fs.realpathSync(pgDir), { recursive: true, force: true });
        }
        if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
        if (errors.length) throw errors[0];
    });

    test("ensureContainer creates a private container, idempotently", async () => {
        const fresh = { ...target, container: `${target.container}new` };
        assert.equal(await containerClient(fresh).exists(), false);
        await ensureContainer(fresh);
        await ensureContainer(fresh);
        const container = containerClient(fresh);
        assert.equal((await container.getAccessPolicy()).blobPublicAccess, undefined);
        const probe = container.getBlockBlobClient("probe.txt");
        await probe.upload("probe", 5);
        // Anonymous read of a blob in a private container: Azurite answers 403 AuthorizationFailure.
        const res = await fetch(probe.url);
        const body = await res.text();
        assert.equal(res.status, 403);
        assert.match(body, /<Code>AuthorizationFailure<\/Code>/);
        await probe.delete();
        await container.delete();
    });

    test("ensureContainer refuses an existing container with public access", async () => {
        const pub = { ...target, container: `${target.container}pub` };
        await containerClient(pub).create({ access: "blob" });
        try {
            await assert.rejects(ensureContainer(pub), {
                name: "MigrationError",
                message:
                    `DumpToBlob: container "${pub.container}" in storage account "devstoreaccount1" allows anonymous (public) blob access, ` +
                    "so a database dump stored there would be readable by anyone. " +
                    'Use a private container (public access level "Private"), or set its access level to private before running the migration.',
            });
        } finally {
            await containerClient(pub).delete();
        }
    });

    test("dumpToBlob streams pg_dump -Fc into the blob; size, sha256 and metadata match the content", async () => {
        const { result: r, progress } = await theDump();
        const blob = containerClient(target).getBlockBlobClient(blobName);
        const content = await blob.downloadToBuffer();
        assert.equal(r.bytes, content.length);
        assert.equal(r.sha256, createHash("sha256").update(content).digest("hex"));
        assert.equal(content.subarray(0, 5).toString("latin1"), "PGDMP");
        assert.ok(r.bytes > 4 * 256 * 1024, `dump of ${r.bytes} bytes should span several 256 KiB blocks`);
        const blocks = await blob.getBlockList("committed");
        assert.equal(blocks.committedBlocks!.length, Math.ceil(r.bytes / (256 * 1024)));

        const props = await blob.getProperties();
        assert.equal(props.contentType, "application/octet-stream");
        assert.deepEqual(props.metadata, {
            sha256: r.sha256,
            bytes: String(r.bytes),
            pgdumpversion: pgToolVersion("pg_dump").text,
            createdby: CREATED_BY,
        });
        assert.equal(props.etag, r.etag);
        assert.equal(r.pgDumpVersion, pgToolVersion("pg_dump").text);
        assert.deepEqual(await blobInfo(target, blobName), { bytes: r.bytes, sha256: r.sha256, etag: r.etag });

        // pg_dump -v log, collected from stderr
        assert.ok(r.log.some((l) => l === 'pg_dump: dumping contents of table "public.bulk"'), r.log.join("\n"));
        assert.ok(r.log.some((l) => l === "pg_dump: saving large objects"), r.log.join("\n"));
        // progress: the shared rule (lib/progress.ts), and the last report is the final one
        assert.ok(progress.length >= 1);
        assert.equal(progress[progress.length - 1].bytes, r.bytes);
        assert.deepEqual(progress.map((p) => p.final), progress.map((_, i) => i === progress.length - 1));
        for (let i = 1; i < progress.length - 1; i++) {
            assert.ok(progress[i].elapsedMs - progress[i - 1].elapsedMs >= PROGRESS_MIN_INTERVAL_MS, "at most one report per interval");
        }

        // pg_restore can read it: tables, data and the large object
        const file = path.join(tmp, "downloaded.dump");
        fs.writeFileSync(file, content);
        const list = await run(pgBin("pg_restore"), ["--list", file]);
        assert.equal(list.code, 0, list.stderr);
        for (const entry of [/ TABLE public customers /, / TABLE public orders /, / TABLE DATA public bulk /, / BLOB - \d+ /, / BLOBS /]) {
            assert.match(list.stdout, entry);
        }
    });

    test("dumpToBlob keeps the first and last 200 lines of pg_dump's -v log, redacted", async () => {
        const db = "manytables";
        await sql(cluster!.connection("postgres"), `CREATE DATABASE ${db}`);
        const conn = cluster!.connection(db);
        const secretName = "t_s3cr3t_table_name";
        registerSecret(secretName);
        await sql(
            conn,
            `CREATE TABLE ${secretName} (id int);
             DO $$ BEGIN FOR i IN 1..500 LOOP EXECUTE format('CREATE TABLE t%s (id int PRIMARY KEY, v text)', i); END LOOP; END $$;`,
        );
        // The same pg_dump, run directly: its full -v log.
        const direct = await new Promise<string>((resolve, reject) => {
            execFile(pgBin("pg_dump"), ["-Fc", "-b", "-v", "--no-password", "-f", path.join(tmp, "manytables.dump")], { env: { ...process.env, ...pgEnv(conn) } }, (err, _out, stderr) =>
                err ? reject(err) : resolve(stderr),
            );
        });
        const full = direct.split("\n").filter((l) => l.trim()).map(redact);
        assert.ok(full.length > 400, `${full.length} lines`);
        assert.ok(full.some((l) => l.includes("[secret]")));
        const r = await dumpToBlob({ source: conn, target, blobName: "dumps/manytables.dump" });
        assert.deepEqual(r.log, [...full.slice(0, 200), `... ${full.length - 400} lines omitted ...`, ...full.slice(-200)]);
        assert.ok(!r.log.join("\n").includes(secretName));
        assert.equal(await deleteBlob(target, "dumps/manytables.dump"), true);
    });

    test("blobInfo of a missing blob is undefined", async () => {
        assert.equal(await blobInfo(target, "dumps/missing.dump"), undefined);
    });

    test("read SAS: GET works and returns the same bytes; it is read-only and blob-scoped", async () => {
        const dumped = (await theDump()).result;
        const now = new Date();
        const sas = makeReadSas({ target, blobName, expiresInMinutes: 60, now });
        assert.equal(sas.permissions, "r");
        assert.equal(sas.protocol, "https,http"); // the endpoint is plain http (Azurite)
        assert.equal(sas.expiresOn, new Date(Math.floor(now.getTime() / 1000) * 1000 + 60 * 60_000).toISOString());
        const q = new URL(sas.url).searchParams;
        assert.equal(q.get("sp"), "r");
        assert.equal(q.get("sr"), "b");
        assert.equal(q.get("spr"), "https,http");
        assert.equal(q.get("se"), sas.expiresOn.replace(".000Z", "Z"));
        assert.equal(q.get("st"), new Date(Math.floor(now.getTime() / 1000) * 1000 - 5 * 60_000).toISOString().replace(".000Z", "Z"));

        const get = await fetch(sas.url);
        assert.equal(get.status, 200);
        const body = Buffer.from(await get.arrayBuffer());
        assert.equal(body.length, dumped.bytes);
        assert.equal(createHash("sha256").update(body).digest("hex"), dumped.sha256);

        const put = await fetch(sas.url, { method: "PUT", body: "overwrite", headers: { "x-ms-blob-type": "BlockBlob" } });
        assert.equal(put.status, 403);
        assert.match(await put.text(), /<Code>AuthorizationPermissionMismatch<\/Code>/);
        const del = await fetch(sas.url, { method: "DELETE" });
        assert.equal(del.status, 403);
        await del.text();
        assert.equal((await blobInfo(target, blobName))?.etag, dumped.etag, "the blob is unchanged");

        // A SAS signed for another blob name does not open this blob.
        const other = makeReadSas({ target, blobName: "dumps/other.dump", expiresInMinutes: 60 });
        const blobUrl = sas.url.split("?")[0];
        const cross = await fetch(`${blobUrl}?${other.url.split("?")[1]}`);
        assert.equal(cross.status, 403);
        assert.match(await cross.text(), /<Code>AuthorizationFailure<\/Code>/);
    });

    test("read SAS: an expired SAS is refused", async () => {
        const sas = makeReadSas({ target, blobName, expiresInMinutes: 60, now: new Date(Date.now() - 2 * 60 * 60_000) });
        const res = await fetch(sas.url);
        assert.equal(res.status, 403);
        assert.match(await res.text(), /<Code>AuthorizationFailure<\/Code>/);
    });

    test("read SAS: https only for an https endpoint, and redact() removes the signature", () => {
        const https: BlobTarget = { ...target, accountName: "acct", blobEndpoint: "https://acct.blob.core.windows.net" };
        const now = new Date("2030-01-02T03:04:05.678Z");
        const sas = makeReadSas({ target: https, blobName: "dumps/a b.dump", expiresInMinutes: 120, now });
        assert.equal(sas.protocol, "https");
        assert.equal(sas.expiresOn, "2030-01-02T05:04:05.000Z");
        const u = new URL(sas.url);
        assert.equal(`${u.origin}${u.pathname}`, `https://acct.blob.core.windows.net/${target.container}/dumps/a%20b.dump`);
        assert.equal(u.searchParams.get("spr"), "https");
        assert.equal(u.searchParams.get("st"), "2030-01-02T02:59:05Z");
        assert.equal(u.searchParams.get("se"), "2030-01-02T05:04:05Z");
        const sig = u.searchParams.get("sig")!;
        assert.ok(sig.length > 20);
        const red = redact(sas.url);
        assert.ok(!red.includes(sig) && !red.includes(encodeURIComponent(sig)), red);
        assert.match(red, /[?&]sig=\[secret\]/);
    });

    test("read SAS: expiry outside 5..10080 minutes is a ConfigError naming sasExpiryMinutes", () => {
        for (const bad of [4, 10081, Number.NaN]) {
            assert.throws(() => makeReadSas({ target, blobName, expiresInMinutes: bad }), {
                name: "ConfigError",
                message:
                    `config \`sasExpiryMinutes\`: must be between 5 and 10080 minutes (7 days); got ${bad}. ` +
                    "Set `sasExpiryMinutes` to a value in that range, long enough for Heroku to download the dump (for example 120).",
            });
        }
        assert.equal(makeReadSas({ target, blobName, expiresInMinutes: 5 }).permissions, "r");
        assert.equal(makeReadSas({ target, blobName, expiresInMinutes: 10080 }).permissions, "r");
    });

    test("a failing pg_dump (wrong database) throws the exact MigrationError and leaves no blob", async () => {
        const name = "dumps/failed.dump";
        await assert.rejects(dumpToBlob({ source: { ...source, database: "no_such_db" }, target, blobName: name }), {
            name: "MigrationError",
            message:
                `DumpToBlob: pg_dump exited with code 1: pg_dump: error: connection to server at "127.0.0.1", port ${source.port} failed: ` +
                'FATAL:  database "no_such_db" does not exist. ' +
                "Check the source host, port, database name, user, password and sslmode, and that this machine can reach the server.",
        });
        assert.equal(await blobInfo(target, name), undefined);
        await assert.rejects(containerClient(target).getBlockBlobClient(name).getBlockList("all"), { statusCode: 404 });
    });

    /** Starts a dump with small blocks and waits until some blocks are staged (not committed). */
    async function startSlowDump(name: string, signal?: AbortSignal): Promise<{ dump: Promise<unknown> }> {
        const dump = dumpToBlob({ source, target, blobName: name, blockSizeBytes: 64 * 1024, concurrency: 1, signal });
        dump.catch(() => undefined);
        const blob = containerClient(target).getBlockBlobClient(name);
        for (let i = 0; i < 2000; i++) {
            const staged = await blob.getBlockList("uncommitted").then((l) => l.uncommittedBlocks?.length ?? 0, () => 0);
            if (staged > 0) return { dump };
            await sleep(5);
        }
        throw new Error("no block was staged");
    }

    test("pg_dump failing mid-stream: the staged blocks are discarded, nothing is committed", async () => {
        const name = "dumps/killed.dump";
        const { dump } = await startSlowDump(name);
        const rows = (await sql(
            cluster!.connection("postgres"),
            `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = '${DB}' AND application_name = 'pg_dump'`,
        )) as { ok: boolean }[];
        assert.deepEqual(rows, [{ ok: true }]);
        await assert.rejects(dump, (err: Error) => {
            assert.equal(err.name, "MigrationError");
            // libpq reports the lost connection from PQgetCopyData() or PQgetResult(), depending on timing.
            const m = /^DumpToBlob: pg_dump exited with code 1: pg_dump: error: Dumping the contents of table "bulk" failed: (PQgetCopyData|PQgetResult)\(\) failed\. \| (.*)$/.exec(err.message);
            assert.ok(m, err.message);
            // ...and the server's FATAL message may or may not reach it before the socket closes.
            assert.match(m[2], /^pg_dump: detail: Error message from server: (FATAL: {2}terminating connection due to administrator command|server closed the connection unexpectedly) \| /);
            assert.ok(
                m[2].endsWith(
                    "pg_dump: detail: Command was: COPY public.bulk (id, payload) TO stdout;. " +
                        "The connection to the source server was lost during the dump (a restart, a failover, a timeout or a terminated session): check the server, then run the migration again.",
                ),
                err.message,
            );
            return true;
        });
        assert.equal(await blobInfo(target, name), undefined);
        await assert.rejects(containerClient(target).getBlockBlobClient(name).getBlockList("all"), { statusCode: 404 });
    });

    test("an aborted dump throws, stops pg_dump and leaves no blob or staged blocks", async () => {
        const name = "dumps/aborted.dump";
        const ac = new AbortController();
        const { dump } = await startSlowDump(name, ac.signal);
        ac.abort();
        await assert.rejects(dump, {
            name: "MigrationError",
            message:
                `DumpToBlob: the dump of database "${DB}" on 127.0.0.1:${source.port} to blob "${target.container}/${name}" in storage account "devstoreaccount1" was cancelled; the partial blob was deleted. ` +
                "Run the migration again to start a new dump.",
        });
        assert.equal(await blobInfo(target, name), undefined);
        await assert.rejects(containerClient(target).getBlockBlobClient(name).getBlockList("all"), { statusCode: 404 });
        for (let i = 0; i < 100; i++) {
            const rows = await sql(cluster!.connection("postgres"), `SELECT pid FROM pg_stat_activity WHERE application_name = 'pg_dump'`);
            if (rows.length === 0) break;
            await sleep(50);
        }
        assert.deepEqual(await sql(cluster!.connection("postgres"), `SELECT pid FROM pg_stat_activity WHERE application_name = 'pg_dump'`), []);
    });

    test("an upload to a missing container fails with a MigrationError and stops pg_dump", async () => {
        const missing = { ...target, container: "no-such-container" };
        await assert.rejects(dumpToBlob({ source, target: missing, blobName }), (err: Error) => {
            assert.equal(err.name, "MigrationError");
            assert.match(
                err.message,
                new RegExp(
                    `^DumpToBlob: upload of the dump of database "${DB}" on 127\\.0\\.0\\.1:${source.port} to blob "no-such-container/${blobName}" ` +
                        `in storage account "devstoreaccount1" at ${target.blobEndpoint.replace(/\./g, "\\.")} failed after \\d+ bytes: ` +
                        "The specified container does not exist \\(HTTP 404 ContainerNotFound\\); the partial blob was deleted\\. ",
                ),
            );
            return true;
        });
    });

    test("Azurite stopped mid-upload: pg_dump is stopped and the message says the partial upload could not be discarded", async () => {
        const own = await startAzurite({ dir: path.join(tmp, "azurite-outage") });
        const outage = { ...target, blobEndpoint: own.blobEndpoint, accountKey: own.accountKey };
        let stopped: Promise<void> | undefined;
        try {
            await ensureContainer(outage);
            const dump = dumpToBlob({
                source, target: outage, blobName, blockSizeBytes: 64 * 1024, concurrency: 1,
                // -Z0: a dump of several MiB whatever the default level, so the outage lands mid-stream.
                pgDumpArgs: ["-Fc", "-b", "-v", "-Z0"],
            });
            dump.catch(() => undefined);
            // Stop Azurite once blocks are staged: the upload is under way and not committed.
            const staged = containerClient(outage).getBlockBlobClient(blobName);
            for (let i = 0; i < 500 && !stopped; i++) {
                const list = await staged.getBlockList("uncommitted").catch(() => undefined);
                if ((list?.uncommittedBlocks?.length ?? 0) >= 4) stopped = own.stop();
                else await sleep(10);
            }
            await assert.rejects(dump, (err: Error) => {
                assert.equal(err.name, "MigrationError");
                assert.match(err.message, new RegExp(`^DumpToBlob: upload of the dump of database "${DB}" on 127\\.0\\.0\\.1:${source.port} to blob "${target.container}/${blobName}" in storage account "devstoreaccount1" at http://127\\.0\\.0\\.1:\\d+/devstoreaccount1 failed after \\d+ bytes: `));
                assert.ok(err.message.includes("; the partial upload could not be discarded now (storage did not answer): no complete dump was stored, and staged blocks expire on their own within 7 days. "), err.message);
                assert.doesNotMatch(err.message, /was deleted/);
                return true;
            });
            assert.ok(stopped, "Azurite was stopped during the upload");
        } finally {
            await stopped;
            await own.stop().catch(() => undefined);
        }
    });

    test("deleteBlob is idempotent: true, then false", async () => {
        const name = "dumps/delete-me.dump";
        await containerClient(target).getBlockBlobClient(name).upload("PGDMP", 5);
        assert.equal(await deleteBlob(target, name), true);
        assert.equal(await deleteBlob(target, name), false);
        assert.equal(await blobInfo(target, name), undefined);
        assert.equal(await deleteBlob({ ...target, container: "no-such-container" }, name), false);
    });

    test("startAzurite reuses its port on restart, and the data survives", async () => {
        const blob = containerClient(target).getBlockBlobClient("keep.txt");
        const up = await blob.upload("kept", 4);
        const endpoint = azurite!.blobEndpoint;
        await azurite!.stop();
        azurite = undefined;
        azurite = await startAzurite({ dir: path.join(tmp, "azurite") });
        assert.equal(azurite.blobEndpoint, endpoint);
        assert.equal(fs.readFileSync(path.join(tmp, "azurite", "azurite-blob.port"), "utf8"), `${new URL(endpoint).port}\n`);
        assert.equal((await blobInfo(target, "keep.txt"))?.etag, up.etag);
        assert.equal(await deleteBlob(target, "keep.txt"), true);
    });

    test("startAzurite reports a port in use with the service's output", async () => {
        const server = net.createServer();
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
        const port = (server.address() as net.AddressInfo).port;
        const dir = path.join(tmp, "azurite-busy");
        try {
            await assert.rejects(startAzurite({ dir, blobPort: port }), (err: Error) => {
                assert.equal(err.name, "MigrationError");
                assert.ok(
                    err.message.startsWith(`Azurite: the Azurite blob service exited during start with code 1 (workspace ${dir}, port ${port}). Output:\n`),
                    err.message,
                );
                assert.ok(err.message.includes(`listen EADDRINUSE: address already in use 127.0.0.1:${port}`), err.message);
                assert.ok(
                    err.message.endsWith(
                        `Port ${port} is in use by another process: stop it, or delete ${path.join(dir, "azurite-blob.port")} to let Azurite pick a free port (blob URLs saved in earlier state will then be stale).`,
                    ),
                    err.message,
                );
                return true;
            });
        } finally {
            await new Promise((r) => server.close(r));
        }
    });
});
