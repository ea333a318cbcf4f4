/**
 * lib/pg.ts: inspection against a real local cluster seeded with the demo source. Connection
 * settings and URL parsing without a database are in test/pg.unit.test.ts.
 * Run: node --require ts-node/register/transpile-only --test test/pg.test.ts
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as net from "net";
import { parseDatabaseUrl, withClient, serverVersion } from "../lib/pg";
import { exactRowCounts } from "./row-counts";
import { isMigrationError } from "../lib/errors";
import { startCluster, LocalCluster } from "../local/postgres";
import { seedDemoSource, listTables, DEMO_ROW_COUNTS } from "../local/demo";
import type { PgConnection } from "../lib/types";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pg-lib-test-"));
let cluster: LocalCluster | undefined;
let source: PgConnection;

before(async () => {
    cluster = await startCluster({ dataDir: path.join(tmp, "data"), ssl: true });
    source = (await seedDemoSource(cluster)).connection;
});

after(async () => {
    if (cluster) await cluster.stop().catch(() => undefined);
    fs.rmSync(tmp, { recursive: true, force: true });
});

function su(database = "postgres"): PgConnection {
    return cluster!.connection(database);
}

async function exec(conn: PgConnection, sql: string): Promise<void> {
    await withClient(conn, async (c) => {
        await c.query(sql);
    });
}

function freePort(): Promise<number> {
    return new Promise((resolve) => {
        const s = net.createServer();
        s.listen(0, "127.0.0.1", () => {
            const p = (s.address() as net.AddressInfo).port;
            s.close(() => resolve(p));
        });
    });
}

test("parseDatabaseUrl round-trips the local cluster's URL", () => {
    assert.deepEqual(parseDatabaseUrl(cluster!.url("appdb")), cluster!.connection("appdb"));
});

test("serverVersion", async () => {
    const v = await serverVersion(source);
    assert.ok(v.num >= 100000, String(v.num));
    assert.equal(v.major, Math.floor(v.num / 10000));
    assert.ok(v.text.startsWith(`${v.major}.`), v.text);
});

test("listTables and exactRowCounts on the demo source (as the non-superuser admin, over TLS)", async () => {
    const tables = await listTables(source);
    assert.deepEqual(tables, [
        { schema: "public", name: "audit_log" },
        { schema: "public", name: "audit_log_2024" },
        { schema: "public", name: "audit_log_2025" },
        { schema: "public", name: "customers" },
        { schema: "public", name: "order_items" },
        { schema: "public", name: "orders" },
        { schema: "public", name: "products" },
        { schema: "reporting", name: "daily_sales" },
    ]);
    const counts = await exactRowCounts(source, tables);
    assert.deepEqual([...counts.entries()], [
        ["public.audit_log", 400],
        ["public.audit_log_2024", 366],
        ["public.audit_log_2025", 34],
        ["public.customers", 500],
        ["public.order_items", 3000],
        ["public.orders", 1500],
        ["public.products", 50],
        ["reporting.daily_sales", 188],
    ]);
    assert.deepEqual(Object.fromEntries(counts), DEMO_ROW_COUNTS);
    // one connection or many: same answer, order follows the input
    const reversed = [...tables].reverse();
    const one = await exactRowCounts(source, reversed, { concurrency: 1 });
    assert.deepEqual([...one.keys()], reversed.map((t) => `${t.schema}.${t.name}`));
    assert.deepEqual(Object.fromEntries(one), DEMO_ROW_COUNTS);
    assert.deepEqual(await exactRowCounts(source, []), new Map());
    // every pooled connection is closed afterwards
    const others = await withClient(su(), async (c) =>
        Number((await c.query("SELECT count(*) AS n FROM pg_stat_activity WHERE usename = 'azureadmin' AND application_name = 'azure-to-heroku-pg'")).rows[0].n));
    assert.equal(others, 0);
});

test("listTables skips extension-owned and temporary tables; exactRowCounts quotes identifiers; a missing table is a clear error", async () => {
    await exec(su(), "CREATE DATABASE quoting");
    const q = su("quoting");
    await exec(q, `
        CREATE SCHEMA "Odd ""Schema""";
        CREATE TABLE "Odd ""Schema"""."Mixed Case.t" (v int);
        INSERT INTO "Odd ""Schema"""."Mixed Case.t" SELECT generate_series(1, 3);
        CREATE TABLE public.plain (v int);
        CREATE EXTENSION citext;
        CREATE TABLE public.ext_owned (v int);
        ALTER EXTENSION citext ADD TABLE public.ext_owned;`);
    // Another session's temporary table (schema pg_temp_N, its TOAST table in pg_toast_temp_N) is not the user's either (lib/catalog.ts).
    const tables = await withClient(q, async (other) => {
        await other.query("CREATE TEMP TABLE scratch (v text)");
        const temp = await other.query("SELECT n.nspname AS ns FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = 'scratch'");
        assert.match(temp.rows[0].ns, /^pg_temp_\d+$/);
        return listTables(q);
    });
    assert.deepEqual(tables, [{ schema: "Odd \"Schema\"", name: "Mixed Case.t" }, { schema: "public", name: "plain" }]);
    assert.deepEqual([...(await exactRowCounts(q, tables)).entries()], [["Odd \"Schema\".Mixed Case.t", 3], ["public.plain", 0]]);

    await assert.rejects(exactRowCounts(q, [...tables, { schema: "public", name: "nope" }], { concurrency: 2 }), (err: unknown) => {
        assert.ok(isMigrationError(err));
        assert.equal(
            err.message,
            `PostgreSQL postgres@127.0.0.1:${cluster!.port}/quoting: counting rows of public.nope failed: relation "public.nope" does not exist. ` +
                "Check that the table exists and that this user may read it (SELECT privilege).",
        );
        return true;
    });
});

test("connection failures name the server and user, say what to check, and never show the password", async () => {
    const wrong = "Wr0ng-Pa55word-XYZ";
    const port = cluster!.port;
    await assert.rejects(withClient({ ...source, password: wrong }, async () => 1), (err: unknown) => {
        assert.ok(isMigrationError(err));
        assert.equal(
            err.message,
            `PostgreSQL azureadmin@127.0.0.1:${port}/appdb: could not connect (sslmode=require): password authentication failed for user "azureadmin". ` +
                "Check the user name and password for azureadmin (and, on Azure Single Server, the user@servername form), and that pg_hba/firewall rules allow this client.",
        );
        for (const text of [err.message, String(err.stack), JSON.stringify(err)]) {
            assert.ok(!text.includes(wrong), "wrong password leaked");
            assert.ok(!text.includes(source.password!), "real password leaked");
        }
        return true;
    });

    await assert.rejects(withClient({ ...source, database: "nosuchdb" }, async () => 1), (err: unknown) => {
        assert.ok(isMigrationError(err));
        assert.equal(
            err.message,
            `PostgreSQL azureadmin@127.0.0.1:${port}/nosuchdb: could not connect (sslmode=require): database "nosuchdb" does not exist. ` +
                "Check the database name; `nosuchdb` does not exist on this server.",
        );
        return true;
    });

    const closed = await freePort();
    await assert.rejects(listTables({ ...source, port: closed, password: wrong }), (err: unknown) => {
        assert.ok(isMigrationError(err));
        assert.equal(
            err.message,
            `PostgreSQL azureadmin@127.0.0.1:${closed}/appdb: could not connect (sslmode=require): connect ECONNREFUSED 127.0.0.1:${closed}. ` +
                "Check that the server is running and that host and port are right.",
        );
        assert.ok(!String(err.stack).includes(wrong));
        return true;
    });

    // verify-full against a certificate the client does not trust
    await assert.rejects(withClient({ ...source, sslmode: "verify-full" }, async () => 1), (err: unknown) => {
        assert.ok(isMigrationError(err));
        assert.match(err.message, /could not connect \(sslmode=verify-full\): self[- ]signed certificate\. The server's certificate was refused under sslmode=verify-full: verify-ca\/verify-full need the server's CA in sslrootcert \(config `sourceSslRootCert`, or &sslrootcert= in a database URL\); require encrypts without verifying\.$/);
        return true;
    });
});

test("sslrootcert in a database URL is used; SSL refusals get an SSL hint, not the password hint", async () => {
    const port = cluster!.port;
    const dataDir = fs.realpathSync(cluster!.dataDir);
    const url = `postgres://azureadmin:${encodeURIComponent(source.password!)}@127.0.0.1:${port}/appdb?sslmode=verify-full&sslrootcert=${encodeURIComponent(path.join(dataDir, "server.crt"))}`;
    const conn = parseDatabaseUrl(url, "SOURCE_DATABASE_URL");
    assert.equal(conn.sslrootcert, path.join(dataDir, "server.crt"));
    assert.equal(await withClient(conn, async (c) => (await c.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")).rows[0].ssl), true);

    const hba = path.join(dataDir, "pg_hba.conf");
    const original = fs.readFileSync(hba, "utf8");
    try {
        // The server requires SSL (hostssl only, like Azure): sslmode=disable is refused with 28000.
        fs.writeFileSync(hba, original.split("\n").filter((l) => !l.startsWith("host ")).join("\n"));
        await exec(su(), "SELECT pg_reload_conf()");
        await assert.rejects(withClient({ ...source, sslmode: "disable" }, async () => 1), (err: unknown) => {
            assert.ok(isMigrationError(err));
            assert.equal(err.message,
                `PostgreSQL azureadmin@127.0.0.1:${port}/appdb: could not connect (sslmode=disable): no pg_hba.conf entry for host "127.0.0.1", user "azureadmin", database "appdb", no encryption. ` +
                "The server requires SSL for this client and sslmode=disable did not use it: set sslmode (config `sourceSslMode`, or ?sslmode= in a database URL) to require (or verify-full with sslrootcert).");
            return true;
        });
        // The server accepts no SSL: sslmode=require is refused.
        fs.writeFileSync(hba, original);
        await exec(su(), "ALTER SYSTEM SET ssl = off");
        await exec(su(), "SELECT pg_reload_conf()");
        await assert.rejects(withClient(source, async () => 1), (err: unknown) => {
            assert.ok(isMigrationError(err));
            assert.equal(err.message,
                `PostgreSQL azureadmin@127.0.0.1:${port}/appdb: could not connect (sslmode=require): The server does not support SSL connections. ` +
                "The server does not accept SSL connections (sslmode=require asks for SSL): set sslmode (config `sourceSslMode`, or ?sslmode= in a database URL) to disable for it (only for a local server; Azure and Heroku need require).");
            return true;
        });
    } finally {
        fs.writeFileSync(hba, original);
        await exec({ ...su(), sslmode: "disable" }, "ALTER SYSTEM RESET ssl");
        await exec({ ...su(), sslmode: "disable" }, "SELECT pg_reload_conf()");
    }
});
