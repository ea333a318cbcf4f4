/**
 * lib/pgbin.ts without a cluster: reading the tools' version lines, and finding the installed
 * pg_dump/pg_restore (PG_BIN_DIR first), with the install hint when one is missing. Needs the
 * PostgreSQL client tools installed, nothing running. Clusters are in test/postgres.test.ts.
 * Run: node --require ts-node/register/transpile-only --test test/pgbin.unit.test.ts
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { pgBin, pgToolVersion, parsePgToolVersion } from "../lib/pgbin";
import { isMigrationError } from "../lib/errors";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pgbin-unit-test-"));

after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
});

test("parsePgToolVersion reads Debian, plain, beta and 9.x version lines", () => {
    assert.deepEqual(parsePgToolVersion("pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n"), {
        major: 15, minor: 18, text: "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)",
    });
    assert.deepEqual(parsePgToolVersion("pg_restore (PostgreSQL) 17.2"), { major: 17, minor: 2, text: "pg_restore (PostgreSQL) 17.2" });
    assert.deepEqual(parsePgToolVersion("pg_dump (PostgreSQL) 18beta1"), { major: 18, minor: 0, text: "pg_dump (PostgreSQL) 18beta1" });
    assert.deepEqual(parsePgToolVersion("pg_dump (PostgreSQL) 9.6.24"), { major: 9, minor: 6, text: "pg_dump (PostgreSQL) 9.6.24" });
    assert.equal(parsePgToolVersion("no version here"), undefined);
});

test("pgBin finds the installed tools; PG_BIN_DIR wins; a missing tool says how to install it", () => {
    const dump = pgBin("pg_dump");
    assert.ok(path.isAbsolute(dump) && fs.existsSync(dump), dump);
    const v = pgToolVersion("pg_dump");
    assert.ok(v.major >= 10, JSON.stringify(v));
    assert.match(v.text, /^pg_dump \(PostgreSQL\) \d+/);

    const fake = fs.mkdtempSync(path.join(tmp, "bin-"));
    fs.writeFileSync(path.join(fake, "pg_dump"), "#!/bin/sh\necho 'pg_dump (PostgreSQL) 17.2'\n", { mode: 0o755 });
    const saved = process.env.PG_BIN_DIR;
    process.env.PG_BIN_DIR = fake;
    try {
        assert.equal(pgBin("pg_dump"), path.join(fake, "pg_dump"));
        assert.deepEqual(pgToolVersion("pg_dump"), { major: 17, minor: 2, text: "pg_dump (PostgreSQL) 17.2" });
        // not in PG_BIN_DIR: falls through to the next places
        assert.notEqual(pgBin("pg_restore"), path.join(fake, "pg_restore"));
        assert.throws(
            () => pgBin("pg_nosuchtool" as "pg_dump"),
            (err: unknown) => {
                assert.ok(isMigrationError(err), String(err));
                assert.equal(
                    err.message,
                    `PostgreSQL tools: pg_nosuchtool not found (looked in PG_BIN_DIR=${fake}, /usr/lib/postgresql/<N>/bin, PATH). ` +
                        "Install postgresql-client-<N> with <N> at least the source server's major version (apt-get install postgresql-client), " +
                        "or set PG_BIN_DIR to the directory that holds pg_nosuchtool.",
                );
                return true;
            },
        );
    } finally {
        if (saved === undefined) delete process.env.PG_BIN_DIR;
        else process.env.PG_BIN_DIR = saved;
    }
});
