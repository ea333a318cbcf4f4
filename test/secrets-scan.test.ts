/**
 * Integration: no credential, and no part of one, in anything the rehearsal writes or prints.
 *
 * The source password, the target server's admin password and the Heroku API key are chosen to
 * hold / % @ # ? and both quotes (what breaks naive URL redaction); the source URL uses
 * sslmode=verify-full with sslrootcert (which must reach the program as sourceSslRootCert).
 * Two runs: an `up` whose acceptance command prints the add-on's password (parsed out of
 * DATABASE_URL, decoded and encoded) and exits 1, then an `up` that resumes and verifies. Then
 * every file under the rehearsal directory is scanned - except the stores meant to hold secrets,
 * which must be mode 0600 - and so is everything both runs printed, for every secret value in
 * every form it takes in text (as is, percent-encoded, JSON-escaped): the passwords, the add-on
 * passwords, the API key, the storage account key and the SAS signature.
 * Run: node --require ts-node/register/transpile-only --test test/secrets-scan.test.ts
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { AZURITE_ACCOUNT_KEY } from "../local/azurite";
import { StateFile, unwrapSecrets } from "../local/state";
import { rehearsalFixture, type RehearsalFixture } from "./rehearsal-fixture";

const ROOT = path.join(__dirname, "..");
const tag = crypto.randomBytes(4).toString("hex");
const SOURCE_PASSWORD = `Src/Pw%zz@'"#?-${tag}`;
const TARGET_PASSWORD = `Tgt/Pw%41@'"-${tag}`;
const API_KEY = `HRKU-Key/%@'"-${tag}`;

/** Files that exist to hold secrets: they must be private (0600) and are not scanned. */
const STORES = ["state/secrets.key", "heroku/api-key", "heroku/state.json"];

let fx: RehearsalFixture;
let dir: string;

before(async () => {
    fx = await rehearsalFixture("secrets-scan-", { sourcePassword: SOURCE_PASSWORD, targetPassword: TARGET_PASSWORD, verifyFull: true });
    dir = fx.dir;
    // The rehearsal keeps its Heroku API key here (0600); a chosen one holds the awkward characters.
    fs.mkdirSync(path.join(dir, "heroku"), { recursive: true });
    fs.writeFileSync(path.join(dir, "heroku", "api-key"), API_KEY, { mode: 0o600 });
});

after(async () => {
    await fx?.cleanup();
});

/** The forms a value takes in text. */
function forms(value: string): string[] {
    const encoded = encodeURIComponent(value);
    const strict = encoded.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    return [...new Set([value, encoded, strict, JSON.stringify(value).slice(1, -1)])];
}

function walk(d: string): string[] {
    return fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => {
        const p = path.join(d, e.name);
        if (e.isSymbolicLink()) return [];
        return e.isDirectory() ? walk(p) : [p];
    });
}

test("no secret, nor any part of one, in what a failing and a successful rehearsal write or print", async () => {
    // 1. The acceptance command prints the add-on's password and fails.
    const leak = `node -e 'const u = new URL(process.env.DATABASE_URL); const pw = decodeURIComponent(u.password); console.log("password " + pw); console.error("password " + pw + " encoded " + u.password + " url " + process.env.DATABASE_URL); process.exit(1)'`;
    const failed = fx.rehearse("up", { acceptanceCommand: leak });
    assert.equal(failed.status, 1, failed.out);
    assert.match(failed.out, /acceptanceCommand failed: cutover did not run and DATABASE_URL was not published\./);
    assert.match(failed.out, /password \[secret\] encoded \[secret\] url postgres:\/\/\w+:\[secret\]@127\.0\.0\.1:\d+\/\w+/, "the echoed password is shown redacted");

    // 2. Fixed: the next `up` resumes and verifies.
    const ok = fx.rehearse("up", { acceptanceCommand: `node ${JSON.stringify(path.join(ROOT, "local", "acceptance-check.js"))}` });
    assert.equal(ok.status, 0, ok.out);
    assert.match(ok.out, /Migration VERIFIED: 8 tables/);

    // The secrets, from the stores that hold them.
    const emulator = fs.readFileSync(path.join(dir, "heroku", "state.json"), "utf8");
    const addonPasswords = [...new Set((emulator.match(/postgres:\/\/[^"]+/g) ?? []).map((u) => decodeURIComponent(new URL(u).password)).filter((p) => p && p !== TARGET_PASSWORD))];
    assert.ok(addonPasswords.length > 0, "the emulator knows the add-on's password");
    const state = new StateFile(path.join(dir, "state", "rehearsal.json"), path.join(dir, "state", "secrets.key")).load("azure-to-heroku-pg", "rehearsal");
    const grant = unwrapSecrets(state.resources.find((r) => r.name === "migration-grant")?.outputs ?? {});
    const sig = new URL(String(grant.url)).searchParams.get("sig") ?? "";
    assert.ok(sig.length > 20, `the state holds the SAS URL (${Object.keys(grant).join(", ")})`);
    const secrets: Record<string, string> = {
        "source password": SOURCE_PASSWORD,
        "target admin password": TARGET_PASSWORD,
        "Heroku API key": API_KEY,
        "storage account key": AZURITE_ACCOUNT_KEY,
        "SAS signature": sig,
        ...Object.fromEntries(addonPasswords.map((p, i) => [`add-on password ${i}`, p])),
    };

    const found: string[] = [];
    const scan = (where: string, text: string) => {
        for (const [name, value] of Object.entries(secrets)) {
            for (const form of forms(value)) if (text.includes(form)) found.push(`${name} (${JSON.stringify(form)}) in ${where}`);
        }
    };
    scan("the failing run's output", failed.out);
    scan("the successful run's output", ok.out);
    const files = walk(dir).map((f) => path.relative(dir, f));
    for (const store of STORES) {
        assert.ok(files.includes(store), `${store} exists (files: ${files.join(", ")})`);
        assert.equal(fs.statSync(path.join(dir, store)).mode & 0o777, 0o600, `${store} is private`);
    }
    const scanned = files.filter((f) => !STORES.includes(f));
    for (const f of scanned) scan(f, fs.readFileSync(path.join(dir, f), "latin1"));
    assert.deepEqual(found, [], `secrets found; scanned ${scanned.join(", ")}`);
    // The files that matter were among them.
    for (const f of ["state/rehearsal.json", "migration-report.json", "migration-report.md", "migration-report.html", "preflight.md", "preflight.json"]) {
        assert.ok(scanned.includes(f), `${f} was scanned`);
    }
});

test("a SOURCE_DATABASE_URL or REHEARSAL_TARGET_URL that does not parse stops the rehearsal before anything starts, naming the variable, never showing the password", () => {
    const run = (env: Record<string, string>) => {
        const r = spawnSync(process.execPath, ["--require", "ts-node/register/transpile-only", path.join(ROOT, "local", "rehearse.ts"), "preview"], {
            cwd: ROOT, encoding: "utf8", timeout: 60_000,
            env: { ...process.env, REHEARSAL_DIR: path.join(path.dirname(dir), "bad-urls"), REHEARSAL_CONFIG: "", ...env },
        });
        return { status: r.status, out: `${r.stdout}${r.stderr}` };
    };
    const fix = "Give a postgres:// or postgresql:// URL with user, password, host, port and database (and ?sslmode=require for Azure and Heroku); " +
        "percent-encode special characters in the user name and password (/ is %2F, @ is %40, % is %25).";
    // The password written raw: / and @ make it unparseable.
    const raw = run({ SOURCE_DATABASE_URL: `postgres://azureadmin:${SOURCE_PASSWORD}@db.example.com:5432/appdb?sslmode=require`, REHEARSAL_TARGET_URL: "" });
    assert.equal(raw.status, 1, raw.out);
    assert.equal(raw.out, `rehearsal preview failed: SOURCE_DATABASE_URL: postgres://azureadmin:[secret]@db.example.com:5432/appdb?sslmode=require is not a valid URL. ${fix}\n`);
    // A bad % escape in the password.
    const escape = run({ SOURCE_DATABASE_URL: `postgres://azureadmin:Pw%zz${tag}@db.example.com/appdb`, REHEARSAL_TARGET_URL: "" });
    assert.equal(escape.out, `rehearsal preview failed: SOURCE_DATABASE_URL: postgres://azureadmin:[secret]@db.example.com/appdb has a bad percent escape in the password: a % must be followed by two hex digits. ${fix}\n`);
    // The target's variable is named too.
    const targetUrl = run({ SOURCE_DATABASE_URL: `postgres://azureadmin:${encodeURIComponent(SOURCE_PASSWORD)}@db.example.com/appdb`, REHEARSAL_TARGET_URL: `postgres://postgres:${TARGET_PASSWORD}@127.0.0.1:5432/postgres` });
    assert.match(targetUrl.out, /^source: azureadmin@db\.example\.com:5432\/appdb \(SOURCE_DATABASE_URL\)\nrehearsal preview failed: REHEARSAL_TARGET_URL: postgres:\/\/postgres:\[secret\]@127\.0\.0\.1:5432\/postgres is not a valid URL\. /);
    for (const r of [raw, escape, targetUrl]) {
        for (const value of [SOURCE_PASSWORD, TARGET_PASSWORD, `Pw%zz${tag}`]) for (const form of forms(value)) assert.ok(!r.out.includes(form), r.out);
    }
});
