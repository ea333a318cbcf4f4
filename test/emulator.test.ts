/**
 * The Heroku emulator against real PostgreSQL clusters: exact status codes and error bodies,
 * the add-on provisioning sequence, real restores (ownership moves to the add-on role, roles are
 * not imported, the target is wiped), refused extensions, persistence, HTTPS.
 *
 *   node --require ts-node/register/transpile-only --test test/emulator.test.ts
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as http from "http";
import * as https from "https";
import { execFile } from "child_process";
import { Client } from "pg";
import { startCluster, LocalCluster } from "../local/postgres";
import { pgBin } from "../lib/pgbin";
import { scenarioSteps } from "./scenario-helpers";
import { startHerokuEmulator, HerokuEmulatorHandle, HEROKU_EXTENSIONS_SOURCE } from "../emulator/heroku";

const ACCEPT = "application/vnd.heroku+json; version=3";

interface Res {
    status: number;
    headers: Headers;
    body: any;
}

function api(emu: { platformUrl: string; apiKey: string }) {
    return async (method: string, p: string, body?: unknown, headers: Record<string, string> = {}): Promise<Res> => {
        const r = await fetch(emu.platformUrl + p, {
            method,
            headers: { Accept: ACCEPT, Authorization: `Bearer ${emu.apiKey}`, "Content-Type": "application/json", ...headers },
            body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await r.text();
        return { status: r.status, headers: r.headers, body: text ? JSON.parse(text) : undefined };
    };
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 60000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const v = await fn();
        if (v) return v;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 100));
    }
}

async function sql<T = Record<string, unknown>>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
    const c = new Client({ connectionString: url });
    await c.connect();
    try {
        return (await c.query(text, params)).rows as T[];
    } finally {
        await c.end();
    }
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
    return new Promise((resolve, reject) =>
        execFile(cmd, args, { env: { ...process.env, ...env } }, (err, _o, stderr) => (err ? reject(new Error(`${cmd} failed: ${stderr}`)) : resolve())),
    );
}

/** Serves files from a directory with Content-Length, like a blob store would. */
function fileServer(dir: string): Promise<{ url: (name: string) => string; close: () => Promise<void> }> {
    const server = http.createServer((req, res) => {
        const pathname = new URL(req.url ?? "/", "http://x").pathname;
        const file = path.join(dir, path.basename(pathname));
        if (!fs.existsSync(file)) {
            res.writeHead(404, { "Content-Type": "application/xml" });
            res.end("<?xml version=\"1.0\"?><Error><Code>BlobNotFound</Code></Error>");
            return;
        }
        res.writeHead(200, { "Content-Length": fs.statSync(file).size, "Content-Type": "application/octet-stream" });
        if (!pathname.startsWith("/slow/")) {
            fs.createReadStream(file).pipe(res);
            return;
        }
        // /slow/<file>: 64 bytes every 100 ms, so a transfer is still running when the test acts
        const data = fs.readFileSync(file);
        let at = 0;
        const timer = setInterval(() => {
            if (res.destroyed || at >= data.length) {
                clearInterval(timer);
                res.end();
                return;
            }
            res.write(data.subarray(at, at + 64));
            at += 64;
        }, 100);
        res.on("close", () => clearInterval(timer));
    });
    return new Promise((resolve) =>
        server.listen(0, "127.0.0.1", () => {
            const port = (server.address() as { port: number }).port;
            resolve({
                url: (name) => `http://127.0.0.1:${port}/${name}?sv=2023-11-03&se=2099-01-01&sp=r&sig=c2VjcmV0`,
                close: () => new Promise((r) => server.close(() => r())),
            });
        }),
    );
}

describe("Heroku emulator", () => {
    let tmp: string;
    let target: LocalCluster; // where add-on databases live
    let source: LocalCluster; // where dumps come from (its roles do not exist in target)
    let emu: HerokuEmulatorHandle;
    let call: ReturnType<typeof api>;
    let files: Awaited<ReturnType<typeof fileServer>>;
    const logs: string[] = [];
    const stateFile = () => path.join(tmp, "state", "heroku.json");

    const dump = async (db: string, file: string) => {
        await run(pgBin("pg_dump"), ["-Fc", "-h", "127.0.0.1", "-p", String(source.port), "-U", source.superuser, "-f", path.join(tmp, "dumps", file), db], {
            PGPASSWORD: source.password,
            PGSSLMODE: "disable",
        });
    };

    before(async () => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "emulator-test-"));
        fs.mkdirSync(path.join(tmp, "dumps"));
        [target, source] = await Promise.all([startCluster({ dataDir: path.join(tmp, "target") }), startCluster({ dataDir: path.join(tmp, "source") })]);

        // Source: a database owned by a role that the target server does not have, objects in two
        // schemas, a trusted extension, grants (dropped by --no-acl).
        await sql(source.url(), "CREATE ROLE legacy_owner LOGIN PASSWORD 'legacy'");
        await sql(source.url(), "CREATE DATABASE shop OWNER legacy_owner");
        await sql(
            source.url("shop"),
            `CREATE EXTENSION pgcrypto;
             CREATE SCHEMA sales AUTHORIZATION legacy_owner;
             SET ROLE legacy_owner;
             CREATE TABLE public.customers (id serial PRIMARY KEY, email text NOT NULL UNIQUE, token text DEFAULT encode(gen_random_bytes(8), 'hex'));
             CREATE TABLE sales.orders (id bigserial PRIMARY KEY, customer_id int NOT NULL REFERENCES public.customers(id), total numeric(10,2) NOT NULL);
             INSERT INTO public.customers (email) SELECT 'c' || g || '@example.com' FROM generate_series(1, 50) g;
             INSERT INTO sales.orders (customer_id, total) SELECT 1 + g % 50, g * 1.5 FROM generate_series(1, 120) g;
             GRANT SELECT ON public.customers TO PUBLIC;`,
        );
        await dump("shop", "shop.dump");
        // An allowed extension the database user cannot create itself (created as superuser, like Heroku's allow-list).
        await sql(source.url(), "CREATE DATABASE stats");
        await sql(source.url("stats"), "CREATE EXTENSION pg_stat_statements; CREATE TABLE events (id int PRIMARY KEY, kind text); INSERT INTO events SELECT g, 'k' || g FROM generate_series(1, 7) g;");
        await dump("stats", "stats.dump");
        // An extension Heroku Postgres does not allow.
        await sql(source.url(), "CREATE DATABASE inspect");
        await sql(source.url("inspect"), "CREATE EXTENSION pageinspect; CREATE TABLE pages (id int);");
        await dump("inspect", "inspect.dump");
        fs.writeFileSync(path.join(tmp, "dumps", "garbage.dump"), "this is not a pg_dump archive\n".repeat(10));

        files = await fileServer(path.join(tmp, "dumps"));
        emu = await startHerokuEmulator({
            postgresAdminUrl: target.url(),
            stateFile: stateFile(),
            provisionDelayMs: 300,
            waitStatusDelayMs: 700,
            log: (l) => logs.push(l),
        });
        call = api(emu);
    });

    after(async () => {
        await emu?.stop();
        await files?.close();
        await Promise.allSettled([target?.stop(), source?.stop()]);
        if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    });

    test("requires the version=3 Accept header like Heroku (400 missing_version)", async () => {
        const r = await fetch(`${emu.platformUrl}/apps`, { headers: { Authorization: `Bearer ${emu.apiKey}` } });
        assert.equal(r.status, 400);
        assert.deepEqual(await r.json(), {
            id: "missing_version",
            error: "Please specify a version along with Heroku's API MIME type. For example, `Accept: application/vnd.heroku+json; version=3`.\n",
        });
        const variant = await call("GET", "/apps", undefined, { Accept: "application/vnd.heroku+json; version=3.sdk" });
        assert.equal(variant.status, 200);
    });

    test("401 unauthorized without a token or with a wrong one, on both APIs", async () => {
        const expected = { id: "unauthorized", message: "Invalid credentials provided." };
        const none = await fetch(`${emu.platformUrl}/apps`, { headers: { Accept: ACCEPT } });
        assert.equal(none.status, 401);
        assert.deepEqual(await none.json(), expected);
        const wrong = await call("GET", "/account", undefined, { Authorization: "Bearer not-the-key" });
        assert.equal(wrong.status, 401);
        assert.deepEqual(wrong.body, expected);
        const data = await call("GET", "/client/v11/apps/x/transfers", undefined, { Authorization: "Bearer not-the-key" });
        assert.equal(data.status, 401);
        assert.deepEqual(data.body, expected);
        const basic = await call("GET", "/account", undefined, { Authorization: `Basic ${Buffer.from(`:${emu.apiKey}`).toString("base64")}` });
        assert.equal(basic.status, 200);
        assert.equal(basic.body.email, "emulator@example.com");
    });

    test("404 for unknown apps, add-ons, transfers and routes (unknown routes are logged)", async () => {
        const app = await call("GET", "/apps/no-such-app");
        assert.equal(app.status, 404);
        assert.deepEqual(app.body, { id: "not_found", message: "Couldn't find that app.", resource: "app" });
        const addon = await call("GET", "/addons/postgresql-nope-1");
        assert.equal(addon.status, 404);
        assert.deepEqual(addon.body, { id: "not_found", message: "Couldn't find that add on.", resource: "addon" });
        const route = await call("GET", "/apps/no-such-app/builds");
        assert.equal(route.status, 404);
        assert.deepEqual(route.body, {
            id: "not_found",
            message: "The requested API endpoint was not found. Are you using the right HTTP verb (i.e. `GET` vs. `POST`), and did you specify your intended version with the `Accept` header?",
        });
        assert.ok(logs.some((l) => l.startsWith("UNKNOWN ROUTE GET /apps/no-such-app/builds -> 404")), logs.join("\n"));
        const db = await call("GET", "/client/v11/databases/6f1c1c7e-0000-4000-8000-000000000000/wait_status");
        assert.equal(db.status, 404);
        assert.deepEqual(db.body, { id: "not_found", message: "Couldn't find that database.", resource: "database" });
    });

    test("422 for invalid plans, invalid and duplicate app names", async () => {
        const created = await call("POST", "/apps", { name: "dup-app" });
        assert.equal(created.status, 201);
        const dup = await call("POST", "/apps", { name: "dup-app" });
        assert.equal(dup.status, 422);
        assert.deepEqual(dup.body, { id: "invalid_params", message: "Name is already taken" });
        const bad = await call("POST", "/apps", { name: "Bad_Name" });
        assert.equal(bad.status, 422);
        assert.deepEqual(bad.body, {
            id: "invalid_params",
            message: "Name must start with a letter, end with a letter or digit and can only contain lowercase letters, digits, and dashes.",
        });
        for (const plan of ["heroku-postgresql:hobby-dev", "heroku-postgresql:mini", "heroku-redis:mini", "heroku-postgresql:standard-1"]) {
            const r = await call("POST", "/apps/dup-app/addons", { plan });
            assert.equal(r.status, 422, plan);
            assert.deepEqual(r.body, { id: "invalid_params", message: `Couldn't find either the add-on service or the add-on plan of "${plan}".` });
        }
        assert.equal((await call("GET", "/apps/dup-app/addons")).body.length, 0);
        assert.equal((await call("DELETE", "/apps/dup-app")).status, 200);
        assert.equal((await call("GET", "/apps/dup-app")).status, 404);
    });

    test("429 rate_limit once rateLimitPerHour is used up, RateLimit-Remaining on every response", async () => {
        const limited = await startHerokuEmulator({ postgresAdminUrl: target.url(), rateLimitPerHour: 3, log: () => undefined });
        try {
            const c = api(limited);
            const seen: string[] = [];
            for (let i = 0; i < 3; i++) {
                const r = await c("GET", "/account");
                assert.equal(r.status, 200);
                seen.push(r.headers.get("ratelimit-remaining") ?? "missing");
            }
            assert.deepEqual(seen, ["2", "1", "0"]);
            const r = await c("GET", "/account");
            assert.equal(r.status, 429);
            assert.equal(r.headers.get("ratelimit-remaining"), "0");
            assert.deepEqual(r.body, { id: "rate_limit", message: "Your account reached the API rate limit\nPlease wait a few minutes before making new requests" });
            const unauth = await c("GET", "/account", undefined, { Authorization: "Bearer nope" });
            assert.equal(unauth.status, 401);
            assert.equal(unauth.headers.get("ratelimit-remaining"), "0");
        } finally {
            await limited.stop();
        }
    });

    test("apps: create (201), maintenance on/off, formation scaling", async () => {
        const r = await call("POST", "/apps", { name: "maint-app", region: "eu" });
        assert.equal(r.status, 201);
        assert.match(r.body.id, /^[0-9a-f-]{36}$/);
        assert.match(r.body.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        assert.equal(r.body.region.name, "eu");
        assert.equal(r.body.maintenance, false);
        assert.equal(r.body.git_url, "https://git.heroku.com/maint-app.git");
        assert.match(r.body.web_url, /^https:\/\/maint-app-[0-9a-f]{12}\.herokuapp\.com\/$/);

        const on = await call("PATCH", `/apps/${r.body.id}`, { maintenance: true });
        assert.equal(on.status, 200);
        assert.equal(on.body.maintenance, true);
        assert.equal((await call("GET", "/apps/maint-app")).body.maintenance, true);
        assert.equal((await call("PATCH", "/apps/maint-app", { maintenance: false })).body.maintenance, false);

        assert.deepEqual((await call("GET", "/apps/maint-app/formation")).body, []);
        const missing = await call("PATCH", "/apps/maint-app/formation/worker", { quantity: 0 });
        assert.equal(missing.status, 404);
        assert.deepEqual(missing.body, { id: "not_found", message: "Couldn't find that process type (worker).", resource: "formation" });
        emu.seedFormation("maint-app", [
            { type: "web", quantity: 2, size: "Standard-1X" },
            { type: "worker", quantity: 3 },
        ]);
        const scaled = await call("PATCH", "/apps/maint-app/formation", { updates: [{ type: "worker", quantity: 0 }, { type: "web", quantity: 0 }] });
        assert.equal(scaled.status, 200);
        assert.deepEqual(scaled.body.map((f: { type: string; quantity: number }) => [f.type, f.quantity]), [["worker", 0], ["web", 0]]);
        const one = await call("PATCH", "/apps/maint-app/formation/worker", { quantity: 3 });
        assert.equal(one.body.quantity, 3);
        assert.equal(one.body.size, "Basic");
        assert.deepEqual(
            (await call("GET", "/apps/maint-app/formation")).body.map((f: { type: string; quantity: number }) => [f.type, f.quantity]),
            [["web", 0], ["worker", 3]],
        );
        const bad = await call("PATCH", "/apps/maint-app/formation/worker", { quantity: -1 });
        assert.equal(bad.status, 422);
        assert.deepEqual(bad.body, { id: "invalid_params", message: "Quantity must be a non-negative integer." });
    });

    test("releases: one per config change, ranged lists (206 + Next-Range, 416), config vars per release, rollback", async () => {
        assert.equal((await call("POST", "/apps", { name: "release-app" })).status, 201);
        for (let i = 1; i <= 4; i++) assert.equal((await call("PATCH", "/apps/release-app/config-vars", { [`K${i}`]: String(i) })).status, 200);
        assert.equal((await call("PATCH", "/apps/release-app/config-vars", { K1: null })).status, 200);
        const all = await call("GET", "/apps/release-app/releases");
        assert.equal(all.status, 200);
        assert.deepEqual(all.body.map((r: { version: number; description: string }) => `v${r.version} ${r.description}`), [
            "v1 Initial release", "v2 Enable Logplex", "v3 Set K1 config vars", "v4 Set K2 config vars", "v5 Set K3 config vars", "v6 Set K4 config vars", "v7 Remove K1 config vars",
        ]);
        assert.deepEqual(all.body.map((r: { current: boolean }) => r.current), [false, false, false, false, false, false, true]);
        // what `heroku releases -n 2` sends
        const page = await call("GET", "/apps/release-app/releases", undefined, { Accept: "application/vnd.heroku+json; version=3.sdk", Range: "version ..; max=2, order=desc" });
        assert.equal(page.status, 206);
        assert.deepEqual(page.body.map((r: { version: number }) => r.version), [7, 6]);
        assert.equal(page.headers.get("next-range"), "version ]6..; max=2, order=desc");
        const next = await call("GET", "/apps/release-app/releases", undefined, { Range: page.headers.get("next-range")! });
        assert.deepEqual(next.body.map((r: { version: number }) => r.version), [5, 4]);
        const bad = await call("GET", "/apps/release-app/releases", undefined, { Range: "created_at ..; max=2" });
        assert.equal(bad.status, 416);
        assert.equal(bad.body.id, "requested_range_not_satisfiable");
        assert.deepEqual((await call("GET", "/apps/release-app/releases/5/config-vars")).body, { K1: "1", K2: "2", K3: "3" });
        const rollback = await call("POST", "/apps/release-app/releases", { release: all.body[3].id });
        assert.equal(rollback.status, 201);
        assert.equal(rollback.body.description, "Rollback to v4");
        assert.deepEqual((await call("GET", "/apps/release-app/config-vars")).body, { K1: "1", K2: "2" });
        assert.equal((await call("GET", "/apps/release-app/releases/v99")).status, 404);
    });

    test("add-on provisioning: 201 provisioning, then a real database owned by its own role, wait_status, config vars", async () => {
        await call("POST", "/apps", { name: "prov-app" });
        const created = await call("POST", "/apps/prov-app/addons", { plan: { name: "heroku-postgresql:essential-1" } }, { "Accept-Expansion": "plan" });
        assert.equal(created.status, 201);
        const addon = created.body;
        assert.equal(addon.state, "provisioning");
        assert.match(addon.name, /^postgresql-[a-z]+-\d{5}$/);
        assert.equal(addon.plan.name, "heroku-postgresql:essential-1");
        assert.deepEqual(addon.plan.price, { cents: 900, contract: false, metered: false, unit: "month" });
        assert.equal(addon.provision_message, "Database should be available soon");
        assert.deepEqual(addon.config_vars, ["DATABASE_URL"]);
        assert.deepEqual(addon.addon_service, { id: addon.addon_service.id, name: "heroku-postgresql" });
        assert.equal((await call("GET", "/apps/prov-app/config-vars")).body.DATABASE_URL, undefined);
        const ws0 = await call("GET", `/client/v11/databases/${addon.id}/wait_status`);
        assert.deepEqual(ws0.body, { "waiting?": true, "error?": false, message: "Provisioning" });

        const provisioned = await until("provisioned", async () => {
            const a = await call("GET", `/apps/prov-app/addons/${addon.name}`);
            return a.body.state === "provisioned" && a.body;
        });
        assert.equal(provisioned.id, addon.id);
        const ws1 = await call("GET", `/client/v11/databases/${addon.id}/wait_status`);
        assert.deepEqual(ws1.body, { "waiting?": true, "error?": false, message: "Starting" });
        await until("available", async () => !(await call("GET", `/client/v11/databases/${addon.id}/wait_status`)).body["waiting?"]);
        assert.deepEqual((await call("GET", `/client/v11/databases/${addon.id}/wait_status`)).body, { "waiting?": false, "error?": false, message: "Available" });

        const url: string = (await call("GET", "/apps/prov-app/config-vars")).body.DATABASE_URL;
        const m = new RegExp(`^postgres://(u[0-9a-f]{13}):(p[0-9a-f]{64})@127\\.0\\.0\\.1:${target.port}/(d[0-9a-f]{13})$`).exec(url);
        assert.ok(m, url);
        const [who] = await sql<{ u: string; db: string; su: boolean; owner: string }>(
            url,
            "SELECT current_user AS u, current_database() AS db, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS su, pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = current_database()",
        );
        assert.deepEqual(who, { u: m[1], db: m[3], su: false, owner: m[1] });

        // The attachment resolves as the CLI asks for it.
        const resolved = await call("POST", "/actions/addon-attachments/resolve", { addon_attachment: "DATABASE", app: "prov-app" }, { "Accept-Inclusion": "addon:plan,config_vars" });
        assert.equal(resolved.status, 200);
        assert.equal(resolved.body.length, 1);
        assert.equal(resolved.body[0].name, "DATABASE");
        assert.deepEqual(resolved.body[0].config_vars, ["DATABASE_URL"]);
        assert.deepEqual(resolved.body[0].addon.plan, { id: addon.plan.id, name: "heroku-postgresql:essential-1" });
        assert.equal(resolved.body[0].addon.app.name, "prov-app");
        assert.equal((await call("POST", "/actions/addon-attachments/resolve", { addon_attachment: "DATABASE_URL", app: "prov-app" })).body[0].id, resolved.body[0].id);
        const noMatch = await call("POST", "/actions/addon-attachments/resolve", { addon_attachment: "OTHER", app: "prov-app" });
        assert.equal(noMatch.status, 404);
        assert.deepEqual(noMatch.body, { id: "not_found", message: "Couldn't find that add on attachment.", resource: "addon_attachment" });

        // A second database gets a HEROKU_POSTGRESQL_<COLOR> attachment, like Heroku.
        const second = await call("POST", "/apps/prov-app/addons", { plan: "heroku-postgresql:standard-0" });
        assert.match(second.body.config_vars[0], /^HEROKU_POSTGRESQL_[A-Z]+_URL$/);

        // Attachment config vars belong to the add-on.
        const clash = await call("PATCH", "/apps/prov-app/config-vars", { DATABASE_URL: "postgres://elsewhere/db", OTHER: "1" });
        assert.equal(clash.status, 422);
        assert.deepEqual(clash.body, { id: "invalid_params", message: "Cannot overwrite attachment values DATABASE_URL." });
        const set = await call("PATCH", "/apps/prov-app/config-vars", { OTHER: "1" });
        assert.equal(set.body.OTHER, "1");
        assert.equal((await call("PATCH", "/apps/prov-app/config-vars", { OTHER: null })).body.OTHER, undefined);

        // Destroying the add-on drops its database and role.
        const del = await call("DELETE", `/apps/prov-app/addons/${addon.id}`);
        assert.equal(del.status, 200);
        assert.equal(del.body.state, "deprovisioned");
        const left = await sql(target.url(), "SELECT 1 FROM pg_database WHERE datname = $1 UNION ALL SELECT 1 FROM pg_roles WHERE rolname = $2", [m[3], m[1]]);
        assert.equal(left.length, 0);
        assert.equal((await call("GET", "/apps/prov-app/config-vars")).body.DATABASE_URL, undefined);
        assert.equal((await call("GET", `/addons/${addon.id}`)).status, 404);
        await until("second provisioned", async () => (await call("GET", `/addons/${second.body.id}`)).body.state === "provisioned");
        const secondDb = new URL((await call("GET", "/apps/prov-app/config-vars")).body[second.body.config_vars[0]]).pathname.slice(1);
        assert.equal((await sql(target.url(), "SELECT 1 FROM pg_database WHERE datname = $1", [secondDb])).length, 1);
        // Destroying the app destroys its add-ons and their databases.
        assert.equal((await call("DELETE", "/apps/prov-app")).status, 200);
        assert.equal((await sql(target.url(), "SELECT 1 FROM pg_database WHERE datname = $1", [secondDb])).length, 0);
        assert.equal((await call("GET", `/addons/${second.body.id}`)).status, 404);
    });

    describe("restores", () => {
        let addonId: string;
        let addonUrl: string;
        let role: string;

        before(async () => {
            await call("POST", "/apps", { name: "restore-app" });
            addonId = (await call("POST", "/apps/restore-app/addons", { plan: "heroku-postgresql:essential-0" })).body.id;
            await until("provisioned", async () => (await call("GET", `/addons/${addonId}`)).body.state === "provisioned");
            addonUrl = (await call("GET", "/apps/restore-app/config-vars")).body.DATABASE_URL;
            role = new URL(addonUrl).username;
        });

        const restore = async (file: string, extra: Record<string, unknown> = {}) => {
            const r = await call("POST", `/client/v11/databases/${addonId}/restores`, { backup_url: files.url(file), ...extra });
            assert.equal(r.status, 201, JSON.stringify(r.body));
            return until("transfer finished", async () => {
                const t = await call("GET", `/client/v11/apps/restore-app/transfers/${r.body.uuid}?verbose=true`);
                return t.body.finished_at && t.body;
            });
        };

        // One add-on, restored into in turn: transfer numbers and the target's content carry from one
        // restore to the next, so these are the steps of one test.
        test("restores in turn into one add-on: as the add-on role, a second one wiping the target first, a refused extension leaving it alone", async (ctx) => {
            const step = scenarioSteps(ctx);
            await step("restores a dump into the add-on database as the add-on role; source roles and grants are not imported", async () => {
                const size = fs.statSync(path.join(tmp, "dumps", "shop.dump")).size;
                const t = await restore("shop.dump");
                assert.equal(t.succeeded, true, JSON.stringify(t.logs, null, 1));
                assert.equal(t.warnings, 0);
                assert.equal(t.num, 1);
                assert.equal(t.from_type, "htcat");
                assert.equal(t.to_type, "pg_restore");
                assert.equal(t.to_name, "DATABASE");
                assert.equal(t.source_bytes, size);
                assert.equal(t.processed_bytes, size);
                assert.match(t.created_at, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000$/);
                assert.match(t.finished_at, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000$/);
                const messages: string[] = t.logs.map((l: { message: string }) => l.message);
                for (const expected of ["pg_restore: connecting to database for restore", 'pg_restore: processing data for table "sales.orders"', "waiting for restore to complete", "restore done"]) {
                    assert.ok(messages.includes(expected), `missing log line ${expected}:\n${messages.join("\n")}`);
                }
                assert.ok(t.logs.every((l: { created_at: string; level: string }) => /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000$/.test(l.created_at) && l.level === "info"));

                const [counts] = await sql<{ c: number; o: number; total: string }>(addonUrl, "SELECT (SELECT count(*)::int FROM customers) AS c, (SELECT count(*)::int FROM sales.orders) AS o, (SELECT sum(total)::text FROM sales.orders) AS total");
                assert.deepEqual(counts, { c: 50, o: 120, total: "10890.00" });
                const owners = await sql<{ name: string; owner: string }>(
                    addonUrl,
                    `SELECT n.nspname || '.' || c.relname AS name, pg_get_userbyid(c.relowner) AS owner FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE n.nspname IN ('public', 'sales') AND c.relkind IN ('r', 'S') ORDER BY 1`,
                );
                assert.deepEqual(owners, [
                    { name: "public.customers", owner: role },
                    { name: "public.customers_id_seq", owner: role },
                    { name: "sales.orders", owner: role },
                    { name: "sales.orders_id_seq", owner: role },
                ]);
                assert.deepEqual(await sql(addonUrl, "SELECT pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname = 'sales'"), [{ owner: role }]);
                assert.deepEqual(await sql(addonUrl, "SELECT extname, pg_get_userbyid(extowner) AS owner FROM pg_extension WHERE extname = 'pgcrypto'"), [{ extname: "pgcrypto", owner: role }]);
                assert.deepEqual(await sql(target.url(), "SELECT rolname FROM pg_roles WHERE rolname = 'legacy_owner'"), []);
                assert.deepEqual(await sql(addonUrl, "SELECT relacl FROM pg_class WHERE relname = 'customers'"), [{ relacl: null }]);
                // New rows still get their defaults (pgcrypto restored and usable by the role).
                assert.deepEqual(await sql(addonUrl, "INSERT INTO customers (email) VALUES ('new@example.com') RETURNING id, length(token) AS len"), [{ id: 51, len: 16 }]);
            });

            await step("a second restore wipes the target first; allowed superuser-only extensions become warnings like on Heroku", async () => {
                const t = await restore("stats.dump");
                assert.equal(t.num, 2);
                assert.equal(t.succeeded, true, JSON.stringify(t.logs, null, 1));
                assert.equal(t.warnings, 1);
                const messages: string[] = t.logs.map((l: { message: string }) => l.message);
                assert.ok(messages.includes("pg_restore: error: could not execute query: ERROR:  must be owner of extension pg_stat_statements"), messages.join("\n"));
                assert.ok(messages.includes("pg_restore: warning: errors ignored on restore: 1"), messages.join("\n"));
                assert.deepEqual(await sql(addonUrl, "SELECT count(*)::int AS n FROM events"), [{ n: 7 }]);
                assert.deepEqual(await sql(addonUrl, "SELECT to_regclass('public.customers') AS c, to_regnamespace('sales') AS s"), [{ c: null, s: null }]);
                assert.deepEqual(await sql(addonUrl, "SELECT extname FROM pg_extension ORDER BY 1"), [{ extname: "pg_stat_statements" }, { extname: "plpgsql" }]);

                const list = await call("GET", "/client/v11/apps/restore-app/transfers");
                assert.deepEqual(list.body.map((x: { num: number; succeeded: boolean; warnings: number }) => [x.num, x.succeeded, x.warnings]), [[1, true, 0], [2, true, 1]]);
                assert.equal(list.body[0].logs, undefined);
                const byNum = await call("GET", "/client/v11/apps/restore-app/transfers/2");
                assert.equal(byNum.body.uuid, t.uuid);
                assert.equal(byNum.body.logs, undefined);
                const appId = (await call("GET", "/apps/restore-app")).body.id;
                assert.equal((await call("GET", `/client/v11/apps/${appId}/transfers/${t.uuid}`)).body.num, 2);
            });

            await step("a dump with an extension Heroku does not allow fails, with the reason in the logs, and leaves the target alone", async () => {
                const t = await restore("inspect.dump");
                assert.equal(t.succeeded, false);
                assert.equal(t.processed_bytes, 0);
                const messages: string[] = t.logs.map((l: { message: string }) => l.message);
                assert.equal(messages.length, 2, messages.join("\n"));
                assert.match(messages[0], /^error: extension "pageinspect" is not supported by Heroku Postgres \(TOC entry \d+; 3079 \d+ EXTENSION - pageinspect\)$/);
                assert.equal(messages[1], `Remove this extension from the source database or exclude it from the dump; supported extensions: ${HEROKU_EXTENSIONS_SOURCE}`);
                assert.deepEqual(await sql(addonUrl, "SELECT count(*)::int AS n FROM events"), [{ n: 7 }]);
            });
        });

        test("download and archive errors fail the transfer with a log line; bad requests are refused", async () => {
            const missing = await restore("missing.dump");
            assert.equal(missing.succeeded, false);
            assert.equal(missing.logs.at(-1).message, `download failed: http://${new URL(files.url("x")).host}/missing.dump answered HTTP 404 Not Found (BlobNotFound)`);
            assert.ok(!JSON.stringify(missing.logs).includes("sig="), "SAS signature leaked into logs");
            const garbage = await restore("garbage.dump");
            assert.equal(garbage.succeeded, false);
            assert.ok(garbage.logs.some((l: { message: string }) => /pg_restore: error: .*(not appear to be a valid archive|too short)/.test(l.message)), JSON.stringify(garbage.logs));

            const noUrl = await call("POST", `/client/v11/databases/${addonId}/restores`, { backup_url: "ftp://example.com/x.dump" });
            assert.equal(noUrl.status, 422);
            assert.deepEqual(noUrl.body, { id: "invalid_params", message: "backup_url must be an http:// or https:// URL of a pg_dump custom-format archive." });
            const badExt = await call("POST", `/client/v11/databases/${addonId}/restores`, { backup_url: files.url("shop.dump"), extensions: ["hstore", "pageinspect"] });
            assert.equal(badExt.status, 422);
            assert.deepEqual(badExt.body, { id: "invalid_params", message: "Extension not supported on Heroku Postgres: pageinspect." });
        });

        test("a running restore can be canceled", async () => {
            const r = await call("POST", `/client/v11/databases/${addonId}/restores`, { backup_url: files.url("x").replace("/x?", "/slow/shop.dump?") });
            assert.equal(r.status, 201);
            await until("download started", async () => (await call("GET", `/client/v11/apps/restore-app/transfers/${r.body.uuid}`)).body.processed_bytes > 0);
            const c = await call("POST", `/client/v11/apps/restore-app/transfers/${r.body.uuid}/actions/cancel`);
            assert.equal(c.status, 201);
            const t = await until("canceled", async () => {
                const x = await call("GET", `/client/v11/apps/restore-app/transfers/${r.body.uuid}?verbose=true`);
                return x.body.finished_at && x.body;
            });
            assert.equal(t.succeeded, false);
            assert.match(t.canceled_at, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000$/);
            assert.ok(t.processed_bytes < fs.statSync(path.join(tmp, "dumps", "shop.dump")).size);
            assert.equal(t.logs.at(-1).message, "transfer canceled");
        });

        test("extensions asked for are pre-installed in the given schema", async () => {
            const t = await restore("stats.dump", { extensions: ["citext", "util.hstore"] });
            assert.equal(t.succeeded, true, JSON.stringify(t.logs, null, 1));
            assert.deepEqual(
                await sql(addonUrl, "SELECT e.extname, n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname IN ('citext', 'hstore') ORDER BY 1"),
                [{ extname: "citext", nspname: "public" }, { extname: "hstore", nspname: "util" }],
            );
        });
    });

    test("state survives a restart: same apps, add-ons, config vars and transfers; file is 0600 without the API key", async () => {
        // Its own app, formation, add-on, config var and restore: the test runs alone as in the file.
        await call("POST", "/apps", { name: "restart-app" });
        emu.seedFormation("restart-app", [{ type: "web", quantity: 1 }, { type: "worker", quantity: 2 }]);
        const addonId = (await call("POST", "/apps/restart-app/addons", { plan: "heroku-postgresql:essential-0" })).body.id;
        await until("provisioned", async () => (await call("GET", `/addons/${addonId}`)).body.state === "provisioned");
        assert.equal((await call("PATCH", "/apps/restart-app/config-vars", { KEPT: "across restarts" })).status, 200);
        const restore = await call("POST", `/client/v11/databases/${addonId}/restores`, { backup_url: files.url("stats.dump") });
        assert.equal(restore.status, 201, JSON.stringify(restore.body));
        await until("restored", async () => (await call("GET", `/client/v11/apps/restart-app/transfers/${restore.body.uuid}`)).body.finished_at);

        const file = stateFile();
        const mode = fs.statSync(file).mode & 0o777;
        assert.equal(mode, 0o600);
        const text = fs.readFileSync(file, "utf8");
        assert.ok(!text.includes(emu.apiKey), "API key written to the state file");
        const vars = (await call("GET", "/apps/restart-app/config-vars")).body;
        assert.equal(vars.KEPT, "across restarts");
        const transfers = (await call("GET", "/client/v11/apps/restart-app/transfers")).body.map((x: { num: number; succeeded: boolean }) => [x.num, x.succeeded]);
        assert.deepEqual(transfers, [[1, true]]);

        const again = await startHerokuEmulator({ postgresAdminUrl: target.url(), stateFile: file, apiKey: "another-key-1234", log: () => undefined });
        try {
            const c = api(again);
            assert.deepEqual((await c("GET", "/apps/restart-app/config-vars")).body, vars);
            assert.deepEqual((await c("GET", "/client/v11/apps/restart-app/transfers")).body.map((x: { num: number; succeeded: boolean }) => [x.num, x.succeeded]), transfers);
            assert.equal((await c("GET", `/addons/${addonId}`)).body.state, "provisioned");
            assert.equal((await c("GET", "/apps/restart-app/formation")).body.length, 2);
            assert.deepEqual(await sql(vars.DATABASE_URL, "SELECT count(*)::int AS n FROM events"), [{ n: 7 }]);
            assert.equal((await api({ platformUrl: again.platformUrl, apiKey: emu.apiKey })("GET", "/account")).status, 401);
        } finally {
            await again.stop();
        }
    });

    test("https: a certificate for 127.0.0.1 signed by a CA written to caCertPath, removed on stop", async () => {
        const secure = await startHerokuEmulator({ postgresAdminUrl: target.url(), https: true, log: () => undefined });
        const ca = secure.caCertPath!;
        try {
            assert.match(secure.platformUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
            assert.equal(secure.dataUrl, secure.platformUrl);
            const get = (opts: https.RequestOptions) =>
                new Promise<{ status: number; body: string }>((resolve, reject) => {
                    const req = https.get(`${secure.platformUrl}/account`, { headers: { Accept: ACCEPT, Authorization: `Bearer ${secure.apiKey}` }, ...opts }, (res) => {
                        let body = "";
                        res.on("data", (d) => (body += d));
                        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
                    });
                    req.on("error", reject);
                });
            const ok = await get({ ca: fs.readFileSync(ca) });
            assert.equal(ok.status, 200);
            assert.equal(JSON.parse(ok.body).email, "emulator@example.com");
            await assert.rejects(get({ ca: [] as unknown as string }), /self[- ]signed|unable to verify|certificate/i);
        } finally {
            await secure.stop();
        }
        assert.equal(fs.existsSync(ca), false);
    });
});

test("restore downloader: curl from PATH, like Heroku's htcat a process of its own; Node when asked or when there is no curl", async () => {
    const { curlDownloader } = await import("../emulator/heroku/restore");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "curl-bin-"));
    try {
        const fake = path.join(dir, "curl");
        fs.writeFileSync(fake, "#!/bin/sh\n", { mode: 0o755 });
        assert.equal(curlDownloader({ PATH: `/nonexistent${path.delimiter}${dir}` }), fake);
        assert.equal(curlDownloader({ PATH: dir, HEROKU_EMULATOR_DOWNLOADER: "node" }), undefined);
        assert.equal(curlDownloader({ PATH: "/nonexistent" }), undefined);
        fs.chmodSync(fake, 0o644);
        if (process.getuid?.() !== 0) assert.equal(curlDownloader({ PATH: dir }), undefined, "not executable");
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});
