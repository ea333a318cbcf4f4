/**
 * lib/heroku/ against a local node:http server scripted per test (fault injection: rate limits,
 * 5xx, hangs, malformed bodies). The emulator's own tests cover the happy paths end to end.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import {
    HerokuEndpoints, backoffMs, isHerokuApiError, createAddon, createApp, createRestore, dataRequest, deleteAddon, deleteApp,
    getAddon, getApp, getConfigVars, getFormation, getTransfer, herokuEndpointsFromEnv, parseRetryAfter, platformRequest,
    scaleFormation, setConfigVars, setMaintenance, transferName, transferStatus, waitForAddon, waitForTransfer,
} from "../lib/heroku";
import { isMigrationError } from "../lib/errors";

const TOKEN = "hk-test-token-5f0c1d2e-very-secret";

interface Rec { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }
type Handler = (req: Rec, res: http.ServerResponse, n: number) => void;

interface Scripted { url: string; requests: Rec[]; close(): Promise<void> }

async function startServer(handler: Handler): Promise<Scripted> {
    const requests: Rec[] = [];
    const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
            const rec: Rec = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
            requests.push(rec);
            handler(rec, res, requests.length);
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    return {
        url: `http://127.0.0.1:${port}`,
        requests,
        close: () => new Promise<void>((resolve) => {
            server.closeAllConnections();
            server.close(() => resolve());
        }),
    };
}

async function withServer(handler: Handler, fn: (s: Scripted, ep: HerokuEndpoints) => Promise<void>): Promise<void> {
    const s = await startServer(handler);
    try {
        await fn(s, { apiKey: TOKEN, platformUrl: s.url, dataUrl: s.url });
    } finally {
        await s.close();
    }
}

function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { "Content-Type": "application/json", ...headers });
    res.end(body === undefined ? "" : JSON.stringify(body));
}

/** Records sleeps and log lines without waiting. */
function observer() {
    const sleeps: number[] = [];
    const logs: string[] = [];
    return { sleeps, logs, sleep: async (ms: number) => { sleeps.push(ms); }, log: (m: string) => { logs.push(m); } };
}

async function rejection(p: Promise<unknown>): Promise<Error> {
    try {
        await p;
    } catch (err) {
        return err as Error;
    }
    assert.fail("expected a rejection");
}

function app(name: string, extra: Record<string, unknown> = {}) {
    return {
        acm: false, archived_at: null, buildpack_provided_description: null, build_stack: { id: "s1", name: "heroku-24" },
        created_at: "2024-01-01T00:00:00Z", git_url: `https://git.heroku.com/${name}.git`, id: `id-${name}`, internal_routing: null,
        maintenance: false, name, owner: { email: "me@example.com", id: "u1" }, organization: null, team: null,
        region: { id: "r1", name: "us" }, released_at: null, repo_size: null, slug_size: null, space: null,
        stack: { id: "s1", name: "heroku-24" }, updated_at: "2024-01-01T00:00:00Z", web_url: `https://${name}.herokuapp.com/`, ...extra,
    };
}

function addon(state: string, extra: Record<string, unknown> = {}) {
    return {
        actions: [], addon_service: { id: "svc", name: "heroku-postgresql" }, billing_entity: { id: "id-myapp", name: "myapp", type: "app" },
        app: { id: "id-myapp", name: "myapp" }, billed_price: null, config_vars: state === "provisioned" ? ["DATABASE_URL"] : [],
        created_at: "2024-01-01T00:00:00Z", id: "addon-1", name: "postgresql-curved-12345", plan: { id: "p1", name: "heroku-postgresql:essential-0" },
        provider_id: "resource1@heroku.com", state, updated_at: "2024-01-01T00:00:00Z", web_url: null, ...extra,
    };
}

function transfer(extra: Record<string, unknown> = {}) {
    return {
        uuid: "tr-uuid-1", num: 4, from_name: "BACKUP", from_type: "htcat", from_url: "https://acct.blob.core.windows.net/c/d.dump?sv=x&sig=SECRETSIG",
        to_name: "DATABASE", to_type: "pg_restore", to_url: "postgres://hidden", options: {}, source_bytes: 1000, processed_bytes: 0,
        succeeded: false, warnings: 0, created_at: "2024-01-01T00:00:00Z", updated_at: "2024-01-01T00:00:00Z",
        started_at: null, finished_at: null, canceled_at: null, deleted_at: null, purged_at: null, ...extra,
    };
}

// ---------------------------------------------------------------------------------------------
// Retries
// ---------------------------------------------------------------------------------------------

test("429 with Retry-After: 2 is retried after exactly 2000 ms", async () => {
    const o = observer();
    await withServer((_req, res, n) => {
        if (n === 1) json(res, 429, { id: "rate_limit", message: "Your account reached the API rate limit" }, { "Retry-After": "2" });
        else json(res, 200, app("myapp"));
    }, async (s, ep) => {
        const a = await getApp(ep, "myapp", { sleep: o.sleep, log: o.log });
        assert.equal(a?.name, "myapp");
        assert.equal(s.requests.length, 2);
        assert.deepEqual(o.sleeps, [2000]);
        assert.deepEqual(o.logs, ["Heroku API GET /apps/myapp: 429 rate_limit; retry 1/5 in 2.0 s (Retry-After)"]);
    });
});

test("Retry-After as an HTTP date is honoured", () => {
    const now = Date.parse("2024-01-01T00:00:00Z");
    assert.equal(parseRetryAfter("Mon, 01 Jan 2024 00:00:07 GMT", now), 7000);
    assert.equal(parseRetryAfter("Sun, 31 Dec 2023 23:59:00 GMT", now), 0);
    assert.equal(parseRetryAfter("3", now), 3000);
    assert.equal(parseRetryAfter("soon", now), undefined);
    assert.equal(parseRetryAfter(null, now), undefined);
});

test("backoff: base 500 ms, factor 2, up to 25 % jitter, capped at 30 s", () => {
    assert.equal(backoffMs(1, () => 0), 500);
    assert.equal(backoffMs(2, () => 0), 1000);
    assert.equal(backoffMs(3, () => 0.999), 2500);
    assert.equal(backoffMs(3, () => 0.5), 2250);
    assert.equal(backoffMs(7, () => 0), 30000);
    assert.equal(backoffMs(20, () => 0.5), 30000);
});

test("503 twice then success: 3 requests, increasing backoff sleeps", async () => {
    const o = observer();
    await withServer((_req, res, n) => {
        if (n <= 2) json(res, 503, { id: "unavailable", message: "API is in maintenance" });
        else json(res, 200, [{ type: "web", quantity: 1 }]);
    }, async (s, ep) => {
        const f = await getFormation(ep, "myapp", { sleep: o.sleep, log: o.log });
        assert.equal(f.length, 1);
        assert.equal(s.requests.length, 3);
        assert.equal(o.sleeps.length, 2);
        assert.ok(o.sleeps[0] >= 500 && o.sleeps[0] <= 625, `first sleep ${o.sleeps[0]}`);
        assert.ok(o.sleeps[1] >= 1000 && o.sleeps[1] <= 1250, `second sleep ${o.sleeps[1]}`);
        assert.ok(o.sleeps[1] > o.sleeps[0]);
        assert.match(o.logs[0], /^Heroku API GET \/apps\/myapp\/formation: 503 unavailable; retry 1\/5 in 0\.[56] s$/);
    });
});

test("5xx retries give up after maxRetries with the attempt count in the message", async () => {
    const o = observer();
    await withServer((_req, res) => json(res, 500, { id: "internal_server_error", message: "Internal server error." }), async (s, ep) => {
        const err = await rejection(getConfigVars(ep, "myapp", { sleep: o.sleep, log: o.log, maxRetries: 2 }));
        assert.ok(isHerokuApiError(err));
        assert.equal(err.message, "Heroku API GET /apps/myapp/config-vars failed with 500 internal_server_error: Internal server error. (after 3 attempts)");
        assert.equal(err.status, 500);
        assert.equal(err.attempts, 3);
        assert.equal(s.requests.length, 3);
        assert.equal(o.sleeps.length, 2);
    });
});

test("422 is not retried and the message names method, path, status, id and Heroku's message", async () => {
    const o = observer();
    await withServer((_req, res) => json(res, 422, { id: "invalid_params", message: "Couldn't find that plan." }), async (s, ep) => {
        const err = await rejection(createAddon(ep, "myapp", { plan: "heroku-postgresql:nope" }, { sleep: o.sleep, log: o.log }));
        assert.ok(isHerokuApiError(err));
        assert.equal(err.message, "Heroku API POST /apps/myapp/addons failed with 422 invalid_params: Couldn't find that plan.");
        assert.equal(err.status, 422);
        assert.equal(err.id, "invalid_params");
        assert.equal(err.method, "POST");
        assert.equal(err.path, "/apps/myapp/addons");
        assert.equal(s.requests.length, 1);
        assert.deepEqual(o.sleeps, []);
        // the request body is the CLI's (lib/addons/create-addon.js)
        assert.deepEqual(JSON.parse(s.requests[0].body), { plan: { name: "heroku-postgresql:nope" } });
    });
});

test("401 says to check HEROKU_API_KEY, not retried", async () => {
    const o = observer();
    await withServer((_req, res) => json(res, 401, { id: "unauthorized", message: "Invalid credentials provided." }), async (s, ep) => {
        const err = await rejection(getApp(ep, "myapp", { sleep: o.sleep, log: o.log }));
        assert.ok(isHerokuApiError(err));
        assert.equal(err.message, "Heroku API GET /apps/myapp failed with 401 unauthorized: Invalid credentials provided. Check that HEROKU_API_KEY holds a valid token (run `heroku auth:token`, or create one with `heroku authorizations:create`).");
        assert.equal(s.requests.length, 1);
    });
});

test("a server that never answers: timeouts are retried, then the error names the path", async () => {
    const o = observer();
    await withServer(() => { /* never answer */ }, async (s, ep) => {
        const err = await rejection(getApp(ep, "slow", { timeoutMs: 200, maxRetries: 2, sleep: o.sleep, log: o.log }));
        assert.ok(isHerokuApiError(err));
        assert.equal(err.message, "Heroku API GET /apps/slow failed: no response within 200 ms (after 3 attempts)");
        assert.equal(err.status, 0);
        assert.equal(err.id, "timeout");
        assert.equal(s.requests.length, 3);
        assert.equal(o.sleeps.length, 2);
        assert.equal(o.logs[0].startsWith("Heroku API GET /apps/slow: no response within 200 ms; retry 1/2 in "), true);
    });
});

test("a POST that times out is not retried (it may have been processed) and says what to check", async () => {
    const o = observer();
    await withServer(() => { /* never answer */ }, async (s, ep) => {
        const err = await rejection(createRestore(ep, "addon-1", { backupUrl: "https://acct.blob.core.windows.net/c/d.dump?sv=1&sig=abcd" }, { timeoutMs: 200, sleep: o.sleep, log: o.log }));
        assert.ok(isHerokuApiError(err));
        assert.equal(err.message, "Heroku Data API POST /client/v11/databases/addon-1/restores failed: no response within 200 ms; not retried: a POST is not idempotent and Heroku may have processed it. The restore may have started anyway: check `heroku pg:backups -a <app>` and let it finish (or cancel it with `heroku pg:backups:cancel`) before re-running, so that two restores never run into the same database.");
        assert.equal(s.requests.length, 1);
        assert.deepEqual(o.sleeps, []);
    });
});

test("a POST answered 503 or 429 is retried (not processed), a POST answered 502 is not", async () => {
    const o = observer();
    await withServer((req, res, n) => {
        if (n === 1) json(res, 503, { id: "unavailable", message: "maintenance" });
        else if (n === 2) json(res, 429, { id: "rate_limit", message: "slow down" });
        else json(res, 201, app("newapp"));
    }, async (s, ep) => {
        const a = await createApp(ep, { name: "newapp", region: "eu" }, { sleep: o.sleep, log: o.log });
        assert.equal(a.name, "newapp");
        assert.equal(s.requests.length, 3);
        assert.deepEqual(JSON.parse(s.requests[2].body), { name: "newapp", region: "eu" });
    });
    await withServer((req, res) => json(res, 502, { id: "bad_gateway", message: "upstream" }), async (s, ep) => {
        const err = await rejection(createRestore(ep, "addon-1", { backupUrl: "https://x.blob.core.windows.net/c/b?sig=zz" }, { sleep: o.sleep, log: o.log }));
        assert.equal(s.requests.length, 1);
        assert.match(err.message, /^Heroku Data API POST \/client\/v11\/databases\/addon-1\/restores failed with 502 bad_gateway: upstream\. The restore may have started anyway/);
    });
});

test("createApp after an ambiguous timeout adopts the app if it exists, and says so", async () => {
    const o = observer();
    await withServer((req, res) => {
        if (req.method === "POST") return; // hang
        json(res, 200, app("newapp"));
    }, async (s, ep) => {
        const a = await createApp(ep, { name: "newapp" }, { timeoutMs: 200, sleep: o.sleep, log: o.log });
        assert.equal(a.id, "id-newapp");
        assert.deepEqual(s.requests.map((r) => `${r.method} ${r.url}`), ["POST /apps", "GET /apps/newapp"]);
        assert.deepEqual(o.logs, ["Heroku API POST /apps failed: no response within 200 ms; not retried: a POST is not idempotent and Heroku may have processed it; app newapp exists now, so the request was processed: using it"]);
    });
});

test("createApp with a team posts to /teams/apps", async () => {
    await withServer((_req, res) => json(res, 201, app("teamapp", { team: { id: "t1", name: "acme" } })), async (s, ep) => {
        await createApp(ep, { name: "teamapp", team: "acme", stack: "heroku-24" }, { log: () => undefined });
        assert.equal(s.requests[0].url, "/teams/apps");
        assert.deepEqual(JSON.parse(s.requests[0].body), { name: "teamapp", stack: "heroku-24", team: "acme" });
    });
});

test("createAddon with a name adopts the add-on after a 504, without a second POST", async () => {
    const o = observer();
    await withServer((req, res) => {
        if (req.method === "POST") json(res, 504, { id: "gateway_timeout", message: "timeout" });
        else json(res, 200, addon("provisioning", { name: "my-db" }));
    }, async (s, ep) => {
        const a = await createAddon(ep, "myapp", { plan: "heroku-postgresql:essential-0", name: "my-db", attachmentName: "DATABASE" }, { sleep: o.sleep, log: o.log });
        assert.equal(a.name, "my-db");
        assert.deepEqual(s.requests.map((r) => `${r.method} ${r.url}`), ["POST /apps/myapp/addons", "GET /apps/myapp/addons/my-db"]);
        assert.deepEqual(JSON.parse(s.requests[0].body), { plan: { name: "heroku-postgresql:essential-0" }, attachment: { name: "DATABASE" }, name: "my-db" });
    });
});

test("RateLimit-Remaining below 10 slows down before the next request, and logs it", async () => {
    const o = observer();
    await withServer((_req, res) => json(res, 200, app("myapp"), { "RateLimit-Remaining": "3" }), async (_s, ep) => {
        await getApp(ep, "myapp", { sleep: o.sleep, log: o.log });
        assert.deepEqual(o.sleeps, [5600]);
        assert.deepEqual(o.logs, ["Heroku API rate limit nearly used up (RateLimit-Remaining: 3); pausing 5.6 s before the next request"]);
    });
    const o2 = observer();
    await withServer((_req, res) => json(res, 200, app("myapp"), { "RateLimit-Remaining": "2400" }), async (_s, ep) => {
        await getApp(ep, "myapp", { sleep: o2.sleep, log: o2.log });
        assert.deepEqual(o2.sleeps, []);
        assert.deepEqual(o2.logs, []);
    });
});

// ---------------------------------------------------------------------------------------------
// Bodies, headers, secrets
// ---------------------------------------------------------------------------------------------

test("malformed JSON in a 2xx body is an error naming method and path", async () => {
    await withServer((_req, res) => { res.writeHead(200, { "Content-Type": "text/html" }); res.end("<html>oops"); }, async (s, ep) => {
        const err = await rejection(getApp(ep, "myapp", { log: () => undefined }));
        assert.ok(isHerokuApiError(err));
        assert.equal(err.message, "Heroku API GET /apps/myapp failed: unparseable response (status 200, 10 bytes, text/html); expected JSON");
        assert.equal(err.id, "unparseable_response");
        assert.equal(s.requests.length, 1);
    });
});

test("headers: Accept v3, Bearer token, User-Agent, Content-Type only with a body; the token never leaks", async () => {
    const o = observer();
    const errors: string[] = [];
    await withServer((req, res) => {
        // a hostile or buggy server echoing the token back must not get it into our messages
        if (req.url.startsWith("/apps/echo")) json(res, 500, { id: "internal", message: `auth was ${req.headers.authorization} raw ${TOKEN}` });
        else if (req.url.startsWith("/apps/garbage")) { res.writeHead(200); res.end(`{${TOKEN}`); }
        else json(res, 200, { ok: true });
    }, async (s, ep) => {
        await platformRequest(ep, "GET", "/apps/x", undefined, { log: o.log, sleep: o.sleep });
        await setMaintenance(ep, "x", true, { log: o.log, sleep: o.sleep });
        errors.push((await rejection(getApp(ep, "echo", { log: o.log, sleep: o.sleep, maxRetries: 1 }))).message);
        errors.push((await rejection(getApp(ep, "garbage", { log: o.log, sleep: o.sleep }))).message);

        const [get, patch] = s.requests;
        assert.equal(get.headers.accept, "application/vnd.heroku+json; version=3");
        assert.equal(get.headers.authorization, `Bearer ${TOKEN}`);
        assert.match(String(get.headers["user-agent"]), /^azure-to-heroku-pg\/\d+\.\d+\.\d+ node-v\d+/);
        assert.equal(get.headers["content-type"], undefined);
        assert.equal(patch.method, "PATCH");
        assert.equal(patch.url, "/apps/x");
        assert.equal(patch.headers["content-type"], "application/json");
        assert.deepEqual(JSON.parse(patch.body), { maintenance: true });
    });
    assert.equal(errors[0], "Heroku API GET /apps/echo failed with 500 internal: auth was Bearer [secret] raw [secret] (after 2 attempts)");
    assert.ok(o.logs.length > 0);
    for (const line of [...errors, ...o.logs]) assert.ok(!line.includes(TOKEN), `token leaked in: ${line}`);
});

test("the token is never sent to a host that is neither Heroku nor loopback", async () => {
    const err = await rejection(getApp({ apiKey: TOKEN, platformUrl: "https://evil.example.com", dataUrl: "https://api.data.heroku.com" }, "x"));
    assert.ok(isMigrationError(err));
    assert.equal(err.name, "ConfigError");
    assert.ok(!err.message.includes(TOKEN));
    assert.match(err.message, /^config `HEROKU_HOST`: points at `evil\.example\.com`, which is neither a Heroku domain/);
});

test("404: getApp/getAddon return undefined, deleteApp/deleteAddon return false; 200 deletes return true", async () => {
    await withServer((req, res) => {
        if (req.url.includes("gone")) json(res, 404, { id: "not_found", message: "Couldn't find that app." });
        else json(res, 200, req.url.includes("addons") ? addon("deprovisioned") : app("here"));
    }, async (s, ep) => {
        assert.equal(await getApp(ep, "gone"), undefined);
        assert.equal(await deleteApp(ep, "gone"), false);
        assert.equal(await getAddon(ep, "myapp", "gone-db"), undefined);
        assert.equal(await deleteAddon(ep, "myapp", "gone-db"), false);
        assert.equal(await deleteApp(ep, "here"), true);
        assert.equal(await deleteAddon(ep, "myapp", "db"), true);
        assert.deepEqual(s.requests.map((r) => `${r.method} ${r.url}`), [
            "GET /apps/gone", "DELETE /apps/gone", "GET /apps/myapp/addons/gone-db", "DELETE /apps/myapp/addons/gone-db",
            "DELETE /apps/here", "DELETE /apps/myapp/addons/db",
        ]);
    });
});

test("formation, config vars and pagination (Next-Range)", async () => {
    await withServer((req, res) => {
        if (req.method === "GET" && req.url === "/apps/myapp/formation") {
            if (req.headers.range === "id ]web..; max=1") json(res, 200, [{ type: "worker", quantity: 2 }]);
            else json(res, 206, [{ type: "web", quantity: 1 }], { "Next-Range": "id ]web..; max=1" });
        } else if (req.method === "PATCH" && req.url === "/apps/myapp/formation") {
            json(res, 200, JSON.parse(req.body).updates);
        } else if (req.url === "/apps/myapp/config-vars") {
            json(res, 200, req.method === "GET" ? { DATABASE_URL: "postgres://u:p@h/d" } : { A: "1" });
        } else json(res, 404, { id: "not_found", message: "no" });
    }, async (s, ep) => {
        assert.deepEqual(await getFormation(ep, "myapp"), [{ type: "web", quantity: 1 }, { type: "worker", quantity: 2 }]);
        assert.deepEqual(await scaleFormation(ep, "myapp", [{ type: "worker", quantity: 0 }]), [{ type: "worker", quantity: 0 }]);
        assert.deepEqual(await getConfigVars(ep, "myapp"), { DATABASE_URL: "postgres://u:p@h/d" });
        assert.deepEqual(await setConfigVars(ep, "myapp", { A: "1", OLD: null }), { A: "1" });
        assert.deepEqual(JSON.parse(s.requests[2].body), { updates: [{ type: "worker", quantity: 0 }] });
        assert.deepEqual(JSON.parse(s.requests[4].body), { A: "1", OLD: null });
    });
});

// ---------------------------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------------------------

test("HEROKU_API_KEY missing: ConfigError saying how to get a token", () => {
    assert.throws(() => herokuEndpointsFromEnv({}), (err: unknown) => {
        assert.ok(isMigrationError(err));
        assert.equal(err.name, "ConfigError");
        assert.equal(err.message, "config `HEROKU_API_KEY`: is not set, so the Heroku Platform API cannot be called. Set it to a Heroku API token: run `export HEROKU_API_KEY=$(heroku auth:token)` (or create a long-lived token with `heroku authorizations:create`).");
        return true;
    });
    assert.throws(() => herokuEndpointsFromEnv({ HEROKU_API_TOKEN: "abcd1234" }), /HEROKU_API_TOKEN is set, but the variable Heroku tools read is HEROKU_API_KEY\.$/);
});

test("HEROKU_HOST / HEROKU_DATA_HOST like the CLI: defaults, full URL, bare host", () => {
    const key = { HEROKU_API_KEY: TOKEN };
    assert.deepEqual(herokuEndpointsFromEnv(key), { apiKey: TOKEN, platformUrl: "https://api.heroku.com", dataUrl: "https://api.data.heroku.com" });
    // full URL: used as is (vars.js apiUrl)
    assert.equal(herokuEndpointsFromEnv({ ...key, HEROKU_HOST: "http://localhost:5000" }).platformUrl, "http://localhost:5000");
    assert.equal(herokuEndpointsFromEnv({ ...key, HEROKU_HOST: "http://127.0.0.1:5000/" }).platformUrl, "http://127.0.0.1:5000");
    // bare host: https://api.<host>
    assert.equal(herokuEndpointsFromEnv({ ...key, HEROKU_HOST: "herokudev.com" }).platformUrl, "https://api.herokudev.com");
    // data host: bare host inherits protocol and port of the platform URL (the CLI passes it as `hostname`)
    assert.equal(herokuEndpointsFromEnv({ ...key, HEROKU_HOST: "http://localhost:5000", HEROKU_DATA_HOST: "127.0.0.1" }).dataUrl, "http://127.0.0.1:5000");
    assert.equal(herokuEndpointsFromEnv({ ...key, HEROKU_DATA_HOST: "api.data.herokudev.com" }).dataUrl, "https://api.data.herokudev.com");
    assert.equal(herokuEndpointsFromEnv({ ...key, HEROKU_HOST: "http://localhost:5000", HEROKU_DATA_HOST: "127.0.0.1:5001" }).dataUrl, "http://127.0.0.1:5001");
    assert.equal(herokuEndpointsFromEnv({ ...key, HEROKU_DATA_HOST: "http://127.0.0.1:6000" }).dataUrl, "http://127.0.0.1:6000");
    assert.equal(herokuEndpointsFromEnv({ ...key, HEROKU_POSTGRESQL_HOST: "https://postgres-api.heroku.com" }).dataUrl, "https://postgres-api.heroku.com");
    assert.equal(herokuEndpointsFromEnv({ ...key, HEROKU_DATA_HOST: "http://127.0.0.1:1", HEROKU_POSTGRESQL_HOST: "http://127.0.0.1:2" }).dataUrl, "http://127.0.0.1:1");
    // refusals
    assert.throws(() => herokuEndpointsFromEnv({ ...key, HEROKU_HOST: "http://evil.example.com" }), { name: "ConfigError", message: /^config `HEROKU_HOST`: points at `evil\.example\.com`/ });
    assert.throws(() => herokuEndpointsFromEnv({ ...key, HEROKU_HOST: "http://api.heroku.com" }), /plain http would send HEROKU_API_KEY unencrypted/);
    assert.throws(() => herokuEndpointsFromEnv({ ...key, HEROKU_DATA_HOST: "data.example.org" }), { name: "ConfigError", message: /^config `HEROKU_DATA_HOST`: points at `data\.example\.org`/ });
    assert.throws(() => herokuEndpointsFromEnv({ ...key, HEROKU_POSTGRESQL_HOST: "http://10.0.0.1:5000" }), { name: "ConfigError", message: /^config `HEROKU_POSTGRESQL_HOST`: points at `10\.0\.0\.1:5000`/ });
});

test("endpoints from the environment route Platform and Data API requests to their hosts", async () => {
    const platform = await startServer((_req, res) => json(res, 200, app("myapp")));
    const data = await startServer((_req, res) => json(res, 200, { "waiting?": false, message: "available" }));
    try {
        const ep = herokuEndpointsFromEnv({ HEROKU_API_KEY: TOKEN, HEROKU_HOST: platform.url, HEROKU_DATA_HOST: data.url });
        await getApp(ep, "myapp");
        await dataRequest(ep, "GET", "/client/v11/databases/a1/wait_status");
        assert.deepEqual(platform.requests.map((r) => r.url), ["/apps/myapp"]);
        assert.deepEqual(data.requests.map((r) => r.url), ["/client/v11/databases/a1/wait_status"]);
        assert.equal(data.requests[0].headers.authorization, `Bearer ${TOKEN}`);
        assert.equal(data.requests[0].headers.accept, "application/vnd.heroku+json; version=3");
    } finally {
        await platform.close();
        await data.close();
    }
});

// ---------------------------------------------------------------------------------------------
// waitForAddon
// ---------------------------------------------------------------------------------------------

test("waitForAddon: provisioning -> provisioned -> waiting -> available, exact progress messages", async () => {
    const o = observer();
    const progress: string[] = [];
    let addonGets = 0;
    let waits = 0;
    await withServer((req, res) => {
        if (req.url === "/apps/myapp/addons/addon-1") {
            addonGets++;
            json(res, 200, addon(addonGets <= 2 ? "provisioning" : "provisioned"));
        } else if (req.url === "/client/v11/databases/addon-1/wait_status") {
            waits++;
            if (waits === 1) json(res, 404, { id: "not_found", message: "not yet" });
            else if (waits <= 3) json(res, 200, { "waiting?": true, "error?": false, message: "preparing" });
            else json(res, 200, { "waiting?": false, "error?": false, message: "available" });
        } else json(res, 404, { id: "not_found", message: req.url });
    }, async (s, ep) => {
        const a = await waitForAddon(ep, "myapp", "addon-1", { pollMs: 1000, sleep: o.sleep, log: o.log, onProgress: (m) => progress.push(m) });
        assert.equal(a.state, "provisioned");
        assert.deepEqual(a.config_vars, ["DATABASE_URL"]);
        assert.deepEqual(progress, [
            "state provisioning",
            "state provisioned",
            "Waiting to provision...",
            "preparing",
            "available",
        ]);
        assert.deepEqual(o.sleeps, [1000, 1000, 1000, 1000, 1000]);
        assert.equal(s.requests.length, 7);
        assert.equal(s.requests[3].url, "/client/v11/databases/addon-1/wait_status");
    });
});

test("waitForAddon: timeout names the add-on and the last status, and says a re-run resumes", async () => {
    let clock = 0;
    await withServer((_req, res) => json(res, 200, addon("provisioning")), async (_s, ep) => {
        const err = await rejection(waitForAddon(ep, "myapp", "addon-1", {
            timeoutMs: 60_000, pollMs: 10_000, now: () => clock, sleep: async (ms) => { clock += ms; }, log: () => undefined,
        }));
        assert.ok(isMigrationError(err));
        assert.equal(err.name, "MigrationError");
        assert.equal(err.message, "Heroku add-on postgresql-curved-12345: is still not available after 60 s (last status: state provisioning). Heroku keeps provisioning it in the background; re-running the update resumes waiting for this same add-on (no second database is created). Check it with `heroku pg:wait postgresql-curved-12345 -a myapp`.");
    });
});

test("waitForAddon: deprovisioned, error? and a missing add-on fail with MigrationError", async () => {
    const quiet = { sleep: async () => undefined, log: () => undefined };
    await withServer((_req, res) => json(res, 200, addon("deprovisioned")), async (_s, ep) => {
        const err = await rejection(waitForAddon(ep, "myapp", "addon-1", quiet));
        assert.equal(err.message, "Heroku add-on postgresql-curved-12345: could not be created: its state is deprovisioned. Check `heroku addons:info postgresql-curved-12345 -a myapp` and the plan's availability, then re-run.");
    });
    await withServer((req, res) => {
        if (req.url.startsWith("/apps/")) json(res, 200, addon("provisioned"));
        else json(res, 200, { "waiting?": true, "error?": true, message: "database failed to provision" });
    }, async (_s, ep) => {
        const err = await rejection(waitForAddon(ep, "myapp", "addon-1", quiet));
        assert.ok(isMigrationError(err));
        assert.equal(err.name, "MigrationError");
        assert.match(err.message, /^Heroku database postgresql-curved-12345: reported an error while becoming available: database failed to provision\./);
    });
    await withServer((_req, res) => json(res, 404, { id: "not_found", message: "Couldn't find that add-on." }), async (_s, ep) => {
        const err = await rejection(waitForAddon(ep, "myapp", "addon-1", quiet));
        assert.match(err.message, /^Heroku add-on addon-1: was not found on app myapp \(404\)\./);
    });
});

test("waitForAddon: Advanced-tier plans poll the v1 wait_status", async () => {
    await withServer((req, res) => {
        if (req.url.startsWith("/apps/")) json(res, 200, addon("provisioned", { plan: { id: "p", name: "heroku-postgresql:advanced-beta" } }));
        else json(res, 200, { waiting: false, message: null });
    }, async (s, ep) => {
        await waitForAddon(ep, "myapp", "addon-1", { sleep: async () => undefined, log: () => undefined });
        assert.equal(s.requests[1].url, "/data/postgres/v1/addon-1/wait_status");
    });
});

// ---------------------------------------------------------------------------------------------
// Restores and transfers
// ---------------------------------------------------------------------------------------------

test("createRestore posts backup_url and sorted, lower-cased extensions to the Data API", async () => {
    await withServer((_req, res) => json(res, 201, transfer()), async (s, ep) => {
        const t = await createRestore(ep, "addon-1", { backupUrl: "https://a.blob.core.windows.net/c/d.dump?sv=1&sig=abc", extensions: [" PostGIS", "hstore", "myschema.pg_trgm"] });
        assert.equal(t.uuid, "tr-uuid-1");
        assert.equal(s.requests[0].method, "POST");
        assert.equal(s.requests[0].url, "/client/v11/databases/addon-1/restores");
        assert.deepEqual(JSON.parse(s.requests[0].body), { backup_url: "https://a.blob.core.windows.net/c/d.dump?sv=1&sig=abc", extensions: ["hstore", "myschema.pg_trgm", "postgis"] });
    });
    await withServer((_req, res) => json(res, 201, transfer()), async (s, ep) => {
        await createRestore(ep, "addon-1", { backupUrl: "https://a.blob.core.windows.net/c/d.dump" });
        assert.deepEqual(JSON.parse(s.requests[0].body), { backup_url: "https://a.blob.core.windows.net/c/d.dump" });
    });
});

test("waitForTransfer success: polls quietly, then fetches verbose logs; progress reported on change", async () => {
    const o = observer();
    const progress: unknown[] = [];
    const states = [
        transfer(),
        transfer({ started_at: "2024-01-01T00:00:01Z", processed_bytes: 400 }),
        transfer({ started_at: "2024-01-01T00:00:01Z", processed_bytes: 400 }),
        transfer({ started_at: "2024-01-01T00:00:01Z", processed_bytes: 1000, finished_at: "2024-01-01T00:00:09Z", succeeded: true }),
    ];
    let polls = 0;
    await withServer((req, res) => {
        if (req.url === "/client/v11/apps/id-myapp/transfers/tr-uuid-1") json(res, 200, states[Math.min(polls++, states.length - 1)]);
        else if (req.url === "/client/v11/apps/id-myapp/transfers/tr-uuid-1?verbose=true") {
            json(res, 200, { ...states[3], logs: [{ created_at: "2024-01-01T00:00:02Z", level: "info", message: "pg_restore: connecting to database for restore" }] });
        } else json(res, 404, { id: "not_found", message: req.url });
    }, async (s, ep) => {
        const t = await waitForTransfer(ep, "id-myapp", "tr-uuid-1", { pollMs: 3000, sleep: o.sleep, log: o.log, onProgress: (p) => progress.push(p) });
        assert.equal(t.succeeded, true);
        assert.equal(t.logs?.[0].message, "pg_restore: connecting to database for restore");
        assert.deepEqual(progress, [
            { processedBytes: 0, sourceBytes: 1000, message: "Pending" },
            { processedBytes: 400, sourceBytes: 1000, message: "Running" },
            { processedBytes: 1000, sourceBytes: 1000, message: "Completed" },
        ]);
        assert.deepEqual(s.requests.map((r) => r.url), [
            "/client/v11/apps/id-myapp/transfers/tr-uuid-1", "/client/v11/apps/id-myapp/transfers/tr-uuid-1",
            "/client/v11/apps/id-myapp/transfers/tr-uuid-1", "/client/v11/apps/id-myapp/transfers/tr-uuid-1",
            "/client/v11/apps/id-myapp/transfers/tr-uuid-1?verbose=true",
        ]);
        assert.deepEqual(o.sleeps, [3000, 3000, 3000]);
    });
});

test("waitForTransfer: once the archive is downloaded, the next finishPolls polls come every finishPollMs, then pollMs again", async () => {
    const o = observer();
    const running = transfer({ started_at: "2024-01-01T00:00:01Z", processed_bytes: 400 });
    const downloaded = transfer({ started_at: "2024-01-01T00:00:01Z", processed_bytes: 1000 });
    const done = transfer({ started_at: "2024-01-01T00:00:01Z", processed_bytes: 1000, finished_at: "2024-01-01T00:00:09Z", succeeded: true });
    // Two polls mid-download, five with the download done (pg_restore building indexes), then finished.
    const states = [running, running, downloaded, downloaded, downloaded, downloaded, downloaded, done];
    let polls = 0;
    await withServer((req, res) => {
        if (req.url.endsWith("?verbose=true")) json(res, 200, { ...done, logs: [] });
        else json(res, 200, states[Math.min(polls++, states.length - 1)]);
    }, async (s, ep) => {
        const t = await waitForTransfer(ep, "id-myapp", "tr-uuid-1", { pollMs: 2000, finishPollMs: 500, finishPolls: 3, sleep: o.sleep, log: o.log });
        assert.equal(t.succeeded, true);
        assert.deepEqual(o.sleeps, [2000, 2000, 500, 500, 500, 2000, 2000]);
        assert.equal(s.requests.length, 9, "8 polls and the verbose fetch");
    });
    // Without finishPollMs nothing changes for other callers.
    const o2 = observer();
    polls = 0;
    await withServer((req, res) => {
        if (req.url.endsWith("?verbose=true")) json(res, 200, { ...done, logs: [] });
        else json(res, 200, states[Math.min(polls++, states.length - 1)]);
    }, async (_s, ep) => {
        await waitForTransfer(ep, "id-myapp", "tr-uuid-1", { pollMs: 3000, sleep: o2.sleep, log: o2.log });
        assert.deepEqual(o2.sleeps, [3000, 3000, 3000, 3000, 3000, 3000, 3000]);
    });
});

test("waitForTransfer failure: returns the failed transfer with its logs; the caller decides", async () => {
    const failed = transfer({ started_at: "2024-01-01T00:00:01Z", finished_at: "2024-01-01T00:00:05Z", processed_bytes: 10, succeeded: false });
    await withServer((req, res) => {
        if (req.url.endsWith("?verbose=true")) json(res, 200, { ...failed, logs: [{ created_at: "2024-01-01T00:00:04Z", level: "error", message: "pg_restore: error: could not execute query" }] });
        else json(res, 200, failed);
    }, async (s, ep) => {
        const progress: string[] = [];
        const t = await waitForTransfer(ep, "id-myapp", "tr-uuid-1", { sleep: async () => undefined, log: () => undefined, onProgress: (p) => progress.push(p.message) });
        assert.equal(t.succeeded, false);
        assert.equal(transferStatus(t), "Failed");
        assert.equal(transferName(t), "r004");
        assert.deepEqual(t.logs?.map((l) => l.level), ["error"]);
        assert.deepEqual(progress, ["Failed"]);
        assert.equal(s.requests.length, 2);
    });
});

test("waitForTransfer timeout: MigrationError naming the transfer and saying it keeps running", async () => {
    let clock = 0;
    const running = transfer({ started_at: "2024-01-01T00:00:01Z", processed_bytes: 300 });
    await withServer((_req, res) => json(res, 200, running), async (_s, ep) => {
        const err = await rejection(waitForTransfer(ep, "id-myapp", "tr-uuid-1", {
            timeoutMs: 9000, pollMs: 3000, now: () => clock, sleep: async (ms) => { clock += ms; }, log: () => undefined,
        }));
        assert.ok(isMigrationError(err));
        assert.equal(err.name, "MigrationError");
        assert.equal(err.message, "Heroku transfer r004 (tr-uuid-1): has not finished after 9 s (last status: Running, 300 of 1000 bytes processed). It keeps running on Heroku; re-running the update resumes watching this same transfer. Follow it with `heroku pg:backups:info r004`.");
    });
});

test("waitForTransfer: 429 and 503 while polling are retried with backoff and polling goes on; a Data API that stays down fails clearly", async () => {
    const running = transfer({ started_at: "2024-01-01T00:00:01Z", processed_bytes: 300 });
    const done = transfer({ started_at: "2024-01-01T00:00:01Z", processed_bytes: 1000, finished_at: "2024-01-01T00:00:09Z", succeeded: true });
    const script = ["ok", "429", "503", "ok", "done"];
    let poll = 0;
    await withServer((req, res) => {
        if (req.url.endsWith("?verbose=true")) return json(res, 200, { ...done, logs: [] });
        const step = script[Math.min(poll++, script.length - 1)];
        if (step === "429") json(res, 429, { id: "rate_limit", message: "Your account reached the API rate limit" }, { "Retry-After": "3" });
        else if (step === "503") json(res, 503, { id: "unavailable", message: "Service Unavailable" });
        else json(res, 200, step === "done" ? done : running);
    }, async (s, ep) => {
        const o = observer();
        const t = await waitForTransfer(ep, "id-myapp", "tr-uuid-1", { pollMs: 2000, sleep: o.sleep, log: o.log });
        assert.equal(t.succeeded, true);
        assert.equal(s.requests.length, 6, "5 polls (2 of them retried) and the verbose read");
        assert.ok(o.sleeps.includes(3000), `Retry-After honoured: ${o.sleeps}`);
        assert.ok(o.logs.some((l) => /429/.test(l)) && o.logs.some((l) => /503/.test(l)), o.logs.join("\n"));
    });
    await withServer((_req, res) => json(res, 503, { id: "unavailable", message: "Service Unavailable" }), async (s, ep) => {
        const o = observer();
        const err = await rejection(waitForTransfer(ep, "id-myapp", "tr-uuid-1", { pollMs: 2000, sleep: o.sleep, log: o.log }));
        assert.equal(err.message, "Heroku Data API GET /client/v11/apps/id-myapp/transfers/tr-uuid-1 failed with 503 unavailable: Service Unavailable (after 6 attempts)");
        assert.equal(s.requests.length, 6, "bounded retries");
    });
});

test("getTransfer verbose flag and transfer status texts match the CLI", async () => {
    await withServer((_req, res) => json(res, 200, transfer()), async (s, ep) => {
        await getTransfer(ep, "id-myapp", "tr-uuid-1", { verbose: true });
        await getTransfer(ep, "id-myapp", "tr-uuid-1");
        assert.deepEqual(s.requests.map((r) => r.url), ["/client/v11/apps/id-myapp/transfers/tr-uuid-1?verbose=true", "/client/v11/apps/id-myapp/transfers/tr-uuid-1"]);
    });
    const base = { succeeded: false, warnings: 0, canceled_at: null, finished_at: null, started_at: null };
    assert.equal(transferStatus(base), "Pending");
    assert.equal(transferStatus({ ...base, started_at: "t" }), "Running");
    assert.equal(transferStatus({ ...base, started_at: "t", finished_at: "t" }), "Failed");
    assert.equal(transferStatus({ ...base, canceled_at: "t", finished_at: "t" }), "Canceled");
    assert.equal(transferStatus({ ...base, succeeded: true, finished_at: "t" }), "Completed");
    assert.equal(transferStatus({ ...base, succeeded: true, warnings: 2, finished_at: "t" }), "Finished with 2 warnings");
});
