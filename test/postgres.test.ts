/**
 * Real local PostgreSQL clusters: local/postgres.ts, local/demo.ts (lib/pgbin.ts alone is in
 * test/pgbin.unit.test.ts).
 * Run: node --require ts-node/register/transpile-only --test test/postgres.test.ts
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as net from "net";
import { Client } from "pg";
import { startCluster, LocalCluster } from "../local/postgres";
import { seedDemoSource, listTables, DEMO_ROW_COUNTS } from "../local/demo";
import { pgClientConfig, withClient } from "../lib/pg";
import { exactRowCounts } from "./row-counts";
import { isMigrationError } from "../lib/errors";
import type { PgConnection } from "../lib/types";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pg-cluster-test-"));
const started: LocalCluster[] = [];

after(async () => {
    for (const c of started) await c.stop().catch(() => undefined);
    fs.rmSync(tmp, { recursive: true, force: true });
});

async function start(opts: Parameters<typeof startCluster>[0]): Promise<LocalCluster> {
    const c = await startCluster(opts);
    started.push(c);
    return c;
}

async function query<T extends Record<string, unknown>>(conn: PgConnection, sql: string): Promise<T[]> {
    return withClient(conn, async (c) => (await c.query<T>(sql)).rows);
}

test("startCluster with ssl: TLS and plain connections on 127.0.0.1, verify-full against its own certificate; restart reuses port, password and data", async () => {
    const dataDir = path.join(tmp, "ssl", "data");
    const c = await start({ dataDir, ssl: true });
    assert.equal(c.host, "127.0.0.1");
    assert.equal(c.ssl, true);
    assert.equal(c.superuser, "postgres");
    assert.ok(c.password.length >= 16);
    assert.equal(c.url("x y"), `postgres://postgres:${encodeURIComponent(c.password)}@127.0.0.1:${c.port}/x%20y?sslmode=require`);
    assert.deepEqual(c.connection("appdb"), {
        host: "127.0.0.1", port: c.port, database: "appdb", user: "postgres", password: c.password, sslmode: "require",
    });

    // sslmode=require: encrypted
    const tls = await query<{ ssl: boolean; addr: string }>(c.connection(), "SELECT ssl, inet_server_addr()::text AS addr FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
    assert.deepEqual(tls, [{ ssl: true, addr: "127.0.0.1/32" }]);
    // sslmode=disable: accepted too (pg_hba has `hostssl` and `host` lines), not encrypted
    const plain = await query<{ ssl: boolean }>({ ...c.connection(), sslmode: "disable" }, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
    assert.deepEqual(plain, [{ ssl: false }]);
    // verify-full with the generated self-signed certificate as the root
    const full = await query<{ ok: number }>({ ...c.connection(), sslmode: "verify-full", sslrootcert: path.join(dataDir, "server.crt") }, "SELECT 1 AS ok");
    assert.deepEqual(full, [{ ok: 1 }]);
    // the key is private to the postgres user
    assert.equal(fs.statSync(path.join(dataDir, "server.key")).mode & 0o777, 0o600);
    // no unix socket, TCP on 127.0.0.1 only
    const settings = await query<{ name: string; setting: string }>(
        c.connection(),
        "SELECT name, setting FROM pg_settings WHERE name IN ('listen_addresses', 'unix_socket_directories', 'ssl', 'password_encryption', 'server_encoding') ORDER BY name",
    );
    assert.deepEqual(settings, [
        { name: "listen_addresses", setting: "127.0.0.1" },
        { name: "password_encryption", setting: "scram-sha-256" },
        { name: "server_encoding", setting: "UTF8" },
        { name: "ssl", setting: "on" },
        { name: "unix_socket_directories", setting: "" },
    ]);

    // starting again while it runs: the same cluster
    const again = await start({ dataDir });
    assert.equal(again.port, c.port);
    assert.equal(again.password, c.password);

    await query(c.connection(), "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)");
    await c.stop();
    await c.stop(); // idempotent
    await assert.rejects(query(c.connection(), "SELECT 1"), /could not connect/);

    const restarted = await start({ dataDir });
    assert.equal(restarted.port, c.port);
    assert.equal(restarted.password, c.password);
    assert.equal(restarted.ssl, true);
    assert.deepEqual(await query(restarted.connection(), "SELECT v FROM kept"), [{ v: 42 }]);
    const info = JSON.parse(fs.readFileSync(`${dataDir}.cluster.json`, "utf8"));
    assert.equal(info.port, c.port);
    assert.equal(fs.statSync(`${dataDir}.cluster.json`).mode & 0o777, 0o600);
    await restarted.stop();
});

test("startCluster without ssl: given superuser and password, ssl off; a busy port and a broken config give clear errors", async () => {
    const c = await start({ dataDir: path.join(tmp, "plain", "data"), superuser: "admin", password: "Plain-Pass-123" });
    assert.equal(c.ssl, false);
    assert.equal(c.url(), `postgres://admin:Plain-Pass-123@127.0.0.1:${c.port}/postgres?sslmode=disable`);
    assert.deepEqual(await query(c.connection(), "SELECT current_user AS u, current_setting('ssl') AS ssl"), [{ u: "admin", ssl: "off" }]);
    // a client that insists on TLS is told the server does not support it
    await assert.rejects(query({ ...c.connection(), sslmode: "require" }, "SELECT 1"), /does not support SSL/);
    await c.stop();

    // a port taken by someone else: a clear error before pg_ctl runs
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(c.port, "127.0.0.1", resolve));
    try {
        await assert.rejects(startCluster({ dataDir: path.join(tmp, "plain", "data") }), (err: unknown) => {
            assert.ok(isMigrationError(err), String(err));
            assert.equal(
                err.message,
                `local PostgreSQL: port ${c.port} on 127.0.0.1 (the port of the cluster in ${path.join(tmp, "plain", "data")}) is in use by another process. ` +
                    "Stop that process, or start the cluster with another `port`.",
            );
            return true;
        });
    } finally {
        await new Promise((resolve) => blocker.close(resolve));
    }

    // a broken configuration: the error carries the server log tail
    const conf = path.join(tmp, "plain", "data", "postgresql.conf");
    const original = fs.readFileSync(conf, "utf8");
    fs.appendFileSync(conf, "\nshared_buffers = 'not-a-size'\n");
    try {
        await assert.rejects(startCluster({ dataDir: path.join(tmp, "plain", "data") }), (err: unknown) => {
            assert.ok(isMigrationError(err), String(err));
            assert.match(err.message, /^local PostgreSQL: could not start the cluster in .* on 127\.0\.0\.1:\d+: /);
            assert.match(err.message, /invalid value for parameter "shared_buffers": "not-a-size"/);
            assert.doesNotMatch(err.message, /Plain-Pass-123/);
            return true;
        });
    } finally {
        fs.writeFileSync(conf, original);
    }
    const back = await start({ dataDir: path.join(tmp, "plain", "data") });
    assert.equal(back.port, c.port);
    await back.stop();
});

test("seedDemoSource builds the Azure-shaped appdb as a non-superuser admin, idempotently", async () => {
    const c = await start({ dataDir: path.join(tmp, "demo", "data"), ssl: true });
    const first = await seedDemoSource(c);
    assert.equal(first.database, "appdb");
    assert.deepEqual(first.tables, Object.keys(DEMO_ROW_COUNTS));
    assert.deepEqual(first.tables, [
        "public.audit_log", "public.audit_log_2024", "public.audit_log_2025", "public.customers",
        "public.order_items", "public.orders", "public.products", "reporting.daily_sales",
    ]);
    const { password, ...rest } = first.connection;
    assert.deepEqual(rest, { host: "127.0.0.1", port: c.port, database: "appdb", user: "azureadmin", sslmode: "require" });
    assert.ok(password && password.length >= 16 && password !== c.password);

    const counts1 = await exactRowCounts(first.connection, await listTables(first.connection));
    assert.deepEqual(Object.fromEntries(counts1), DEMO_ROW_COUNTS);

    const second = await seedDemoSource(c);
    assert.deepEqual(second, first);
    const counts2 = await exactRowCounts(second.connection, await listTables(second.connection));
    assert.deepEqual(counts2, counts1);

    // Azure-like roles: the admin is not a superuser, belongs to azure_pg_admin and the owner roles
    const roles = await query<{ rolname: string; rolsuper: boolean; rolcanlogin: boolean; rolcreatedb: boolean; rolcreaterole: boolean }>(
        c.connection(),
        "SELECT rolname, rolsuper, rolcanlogin, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname IN ('azure_pg_admin','azureadmin','app_owner','reporting_owner') ORDER BY rolname",
    );
    assert.deepEqual(roles, [
        { rolname: "app_owner", rolsuper: false, rolcanlogin: false, rolcreatedb: false, rolcreaterole: false },
        { rolname: "azure_pg_admin", rolsuper: false, rolcanlogin: false, rolcreatedb: false, rolcreaterole: false },
        { rolname: "azureadmin", rolsuper: false, rolcanlogin: true, rolcreatedb: true, rolcreaterole: true },
        { rolname: "reporting_owner", rolsuper: false, rolcanlogin: false, rolcreatedb: false, rolcreaterole: false },
    ]);
    const member = await query<{ m: string }>(
        c.connection(),
        "SELECT string_agg(r.rolname, ',' ORDER BY r.rolname) AS m FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid WHERE a.member = 'azureadmin'::regrole",
    );
    assert.deepEqual(member, [{ m: "app_owner,azure_pg_admin,reporting_owner" }]);

    // as azureadmin: owners, sequences, view, extensions, large object, comment
    const facts = await query<Record<string, unknown>>(
        first.connection,
        `SELECT
           (SELECT string_agg(format('%s.%s=%s', schemaname, tablename, tableowner), ',' ORDER BY schemaname, tablename) FROM pg_tables WHERE schemaname IN ('public','reporting')) AS owners,
           (SELECT last_value FROM public.invoice_number_seq)::int AS invoice_seq,
           (SELECT last_value FROM public.orders_id_seq)::int AS orders_seq,
           (SELECT count(*) FROM reporting.customer_order_totals)::int AS view_rows,
           (SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension) AS extensions,
           (SELECT count(*) FROM pg_largeobject_metadata WHERE lomowner = 'azureadmin'::regrole)::int AS large_objects,
           (SELECT convert_from(lo_get(oid), 'UTF8') FROM pg_largeobject_metadata LIMIT 1) AS lo_text,
           obj_description('public.orders'::regclass, 'pg_class') AS orders_comment,
           (SELECT count(*) FROM public.customers WHERE email = 'customer1@example.com')::int AS citext_match,
           current_setting('is_superuser') AS is_superuser`,
    );
    assert.deepEqual(facts, [{
        owners: "public.audit_log=azureadmin,public.audit_log_2024=azureadmin,public.audit_log_2025=azureadmin,public.customers=app_owner,public.order_items=app_owner,public.orders=app_owner,public.products=app_owner,reporting.daily_sales=reporting_owner",
        invoice_seq: 100002,
        orders_seq: 1500,
        view_rows: 500,
        extensions: "citext,pgcrypto,plpgsql",
        large_objects: 1,
        lo_text: "%PDF-1.4 demo invoice 100000",
        orders_comment: "Customer orders, one row per checkout",
        citext_match: 1,
        is_superuser: "off",
    }]);

    // pg_dump needs no superuser: the admin can read every table
    await withClient(first.connection, async (cl) => {
        for (const t of first.tables) await cl.query(`SELECT * FROM ${t} LIMIT 1`);
    });
    // the pg client settings map sslmode=require to TLS without verification
    assert.deepEqual(pgClientConfig(first.connection).ssl, { rejectUnauthorized: false });
    await c.stop();
});

test("a fresh pg.Client with the cluster's connection settings really connects over TLS", async () => {
    const c = await start({ dataDir: path.join(tmp, "ssl", "data") });
    const client = new Client(pgClientConfig(c.connection()));
    await client.connect();
    try {
        const r = await client.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
        assert.deepEqual(r.rows, [{ ssl: true }]);
    } finally {
        await client.end();
    }
    await c.stop();
});
