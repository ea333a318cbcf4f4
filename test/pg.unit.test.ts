/**
 * lib/pg.ts without a database: connection settings for node-postgres and for libpq tools, URL
 * parsing and its errors (which never show the password), and server version numbers. The
 * inspection against a real cluster is in test/pg.test.ts.
 * Run: node --require ts-node/register/transpile-only --test test/pg.unit.test.ts
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { pgClientConfig, pgEnv, parseDatabaseUrl, majorVersion } from "../lib/pg";
import { isMigrationError } from "../lib/errors";
import type { PgConnection } from "../lib/types";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pg-unit-test-"));

after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
});

const base: PgConnection = { host: "db.example.com", port: 5432, database: "appdb", user: "azureadmin", password: "p@ss:w/rd" };

test("pgClientConfig maps sslmode like libpq", () => {
    const caFile = path.join(tmp, "ca.pem");
    fs.writeFileSync(caFile, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    const cfg = pgClientConfig({ ...base, sslmode: "disable" });
    assert.deepEqual(cfg, {
        host: "db.example.com", port: 5432, database: "appdb", user: "azureadmin", password: "p@ss:w/rd", ssl: false,
        connectionTimeoutMillis: 20000, keepAlive: true, application_name: "azure-to-heroku-pg",
    });
    assert.deepEqual(pgClientConfig(base).ssl, { rejectUnauthorized: false }); // default: require
    for (const mode of ["require", "prefer", "allow"] as const) {
        assert.deepEqual(pgClientConfig({ ...base, sslmode: mode }).ssl, { rejectUnauthorized: false }, mode);
    }
    assert.deepEqual(pgClientConfig({ ...base, sslmode: "verify-full", sslrootcert: caFile }).ssl, {
        rejectUnauthorized: true, ca: fs.readFileSync(caFile, "utf8"),
    });
    assert.deepEqual(pgClientConfig({ ...base, sslmode: "verify-full" }).ssl, { rejectUnauthorized: true });
    const verifyCa = pgClientConfig({ ...base, sslmode: "verify-ca", sslrootcert: caFile }).ssl as Record<string, unknown>;
    assert.equal(verifyCa.rejectUnauthorized, true);
    assert.equal(verifyCa.ca, fs.readFileSync(caFile, "utf8"));
    assert.equal((verifyCa.checkServerIdentity as () => unknown)(), undefined); // chain only, not the host name
    assert.throws(() => pgClientConfig({ ...base, sslmode: "verify-full", sslrootcert: path.join(tmp, "missing.pem") }), (err: unknown) => {
        assert.ok(isMigrationError(err));
        assert.match(err.message, /^PostgreSQL azureadmin@db\.example\.com:5432\/appdb: sslrootcert .*missing\.pem cannot be read \(ENOENT/);
        return true;
    });
});

test("pgEnv gives libpq variables for spawned tools", () => {
    assert.deepEqual(pgEnv(base), {
        PGHOST: "db.example.com", PGPORT: "5432", PGDATABASE: "appdb", PGUSER: "azureadmin", PGPASSWORD: "p@ss:w/rd", PGSSLMODE: "require",
    });
    assert.deepEqual(pgEnv({ host: "h", port: 6543, database: "d", user: "u", sslmode: "verify-full", sslrootcert: "/etc/ca.pem" }), {
        PGHOST: "h", PGPORT: "6543", PGDATABASE: "d", PGUSER: "u", PGSSLMODE: "verify-full", PGSSLROOTCERT: "/etc/ca.pem",
    });
});

const FIX = "Give a postgres:// or postgresql:// URL with user, password, host, port and database (and ?sslmode=require for Azure and Heroku); " +
    "percent-encode special characters in the user name and password (/ is %2F, @ is %40, % is %25).";

test("parseDatabaseUrl reads Heroku and Azure style URLs", () => {
    assert.deepEqual(parseDatabaseUrl("postgres://u1abc:s3cr%40t%2Fx@ec2-1-2-3-4.compute-1.amazonaws.com:5432/d9xyz"), {
        host: "ec2-1-2-3-4.compute-1.amazonaws.com", port: 5432, database: "d9xyz", user: "u1abc", password: "s3cr@t/x",
    });
    assert.deepEqual(parseDatabaseUrl("postgresql://azureadmin%40myserver:pw@myserver.postgres.database.azure.com/app%20db?sslmode=verify-full&sslrootcert=/etc/ssl/azure.pem"), {
        host: "myserver.postgres.database.azure.com", port: 5432, database: "app db", user: "azureadmin@myserver", password: "pw",
        sslmode: "verify-full", sslrootcert: "/etc/ssl/azure.pem",
    });
    assert.deepEqual(parseDatabaseUrl("postgres://bob@[::1]:6000"), { host: "::1", port: 6000, database: "bob", user: "bob" });
    assert.throws(() => parseDatabaseUrl("mysql://u:hunter2@h/d"), (err: unknown) => {
        assert.ok(isMigrationError(err));
        assert.equal(err.message, "database URL: mysql://u:[secret]@h/d has scheme mysql, expected postgres or postgresql. " + FIX);
        return true;
    });
    assert.throws(() => parseDatabaseUrl("postgres://u:hunter2@h/d?sslmode=sometimes", "SOURCE_DATABASE_URL"), (err: unknown) => {
        assert.ok(isMigrationError(err));
        assert.equal(err.message, "SOURCE_DATABASE_URL: postgres://u:[secret]@h/d?sslmode=sometimes has sslmode=sometimes; expected one of disable, allow, prefer, require, verify-ca, verify-full. " +
            "Set ?sslmode= to one of them: require for Azure and Heroku, verify-full with &sslrootcert=/path/to/ca.pem to check the server's certificate, disable only for a local server without SSL.");
        return true;
    });
    // Not URL-shaped: nothing tells where a credential would be, so none of it is shown.
    assert.throws(() => parseDatabaseUrl("not a url hunter2"), /^MigrationError: database URL: \[secret\] is not a valid URL\./);
    // The caller names the variable; a password with / (unparseable) or a bad % escape is never shown.
    assert.throws(() => parseDatabaseUrl("postgres://azureadmin:Sl/ash%zz@h.example.com:5432/appdb?sslmode=require", "SOURCE_DATABASE_URL"), (err: unknown) => {
        assert.ok(isMigrationError(err));
        assert.equal(err.message, "SOURCE_DATABASE_URL: postgres://azureadmin:[secret]@h.example.com:5432/appdb?sslmode=require is not a valid URL. " + FIX);
        return true;
    });
    assert.throws(() => parseDatabaseUrl("postgres://azureadmin:Pct%zz9@h.example.com/appdb", "SOURCE_DATABASE_URL"), (err: unknown) => {
        assert.ok(isMigrationError(err));
        assert.equal(err.message, "SOURCE_DATABASE_URL: postgres://azureadmin:[secret]@h.example.com/appdb has a bad percent escape in the password: a % must be followed by two hex digits. " + FIX);
        assert.ok(!err.message.includes("Pct"));
        return true;
    });
    assert.throws(() => parseDatabaseUrl("postgres://azureadmin:hunter2@h.example.com/app%zzdb", "REHEARSAL_TARGET_URL"), (err: unknown) => {
        assert.ok(isMigrationError(err));
        assert.equal(err.message, "REHEARSAL_TARGET_URL: postgres://azureadmin:[secret]@h.example.com/app%zzdb has a bad percent escape in the database name (\"%zz\"): a % must be followed by two hex digits. " + FIX);
        return true;
    });
});

test("majorVersion: 10 and later by the first two digits, before 10 by the first two parts", () => {
    assert.equal(majorVersion(180001), 18);
    assert.equal(majorVersion(150004), 15);
    assert.equal(majorVersion(100023), 10);
    assert.equal(majorVersion(90624), 9.6);
    assert.equal(majorVersion(90500), 9.5);
    assert.equal(majorVersion(80423), 8.4);
});
