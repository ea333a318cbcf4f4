/**
 * A Heroku Platform API + Heroku Postgres Data API emulator, backed by a real PostgreSQL server.
 *
 * One HTTP(S) server answers both APIs (the Data API lives under `/client/v11/`), because the
 * Heroku CLI sends Data API requests to HEROKU_DATA_HOST with HEROKU_HOST's protocol and port:
 * point the CLI at it with
 *     HEROKU_HOST=<platformUrl>  HEROKU_DATA_HOST=127.0.0.1  HEROKU_API_KEY=<apiKey>
 *     NODE_EXTRA_CA_CERTS=<caCertPath>   (when started with https: true)
 *
 * Behaviour copied from Heroku: `Accept: application/vnd.heroku+json; version=3` required on the
 * Platform API (400 `missing_version` otherwise), Bearer token auth (401 `unauthorized`), errors
 * as `{id, message}`, a per-account token bucket (`RateLimit-Remaining` on every response, 429
 * `rate_limit` when empty), `Request-Id` headers, add-ons that provision in the background, and
 * restores that really run pg_restore (see restore.ts). Unknown routes are logged loudly and
 * answered 404 `not_found`.
 */
import * as http from "http";
import * as https from "https";
import * as fs from "fs";
import type { AddressInfo } from "net";
import { EmulatorCore, Expansions } from "./core";
import { parseAdminUrl, withAdmin } from "./db";
import { platformRoutes, seedFormation } from "./platform";
import { releaseRoutes } from "./releases";
import { dynoRoutes } from "./dynos";
import { dataRoutes } from "./data";
import { pgSettingsRoutes } from "./pgSettings";
import { pgInfoRoutes } from "./pgInfo";
import { matchRoute, Route } from "./router";
import { loadState } from "./state";
import { makeLocalhostCertificate, EmulatorTls } from "./tls";
import { BackupStore } from "./backups";
import { ApiError, randomHex, uuid } from "./util";
import { pgBin } from "../../lib/pgbin";
import { redact, registerSecret } from "../../lib/redact";

export { HEROKU_SUPPORTED_EXTENSIONS, HEROKU_EXTENSIONS_SOURCE, isSupportedExtension } from "./extensions";

export interface HerokuEmulator {
    platformUrl: string;
    dataUrl: string;
    caCertPath?: string;
    apiKey: string;
    stop(): Promise<void>;
}

export interface HerokuEmulatorOptions {
    /** superuser URL of a real local PostgreSQL where add-on databases are created and restores happen */
    postgresAdminUrl: string;
    /** persist apps/add-ons/transfers/config vars across restarts (rehearsal runs are separate processes) */
    stateFile?: string;
    port?: number;
    /** https: generate a self-signed cert (openssl) and expose caCertPath */
    https?: boolean;
    /** the only accepted token; default: a random one, returned */
    apiKey?: string;
    /** @default 1000 */
    provisionDelayMs?: number;
    /** @default 500 */
    waitStatusDelayMs?: number;
    /** where pg:backups:capture keeps archives; default `<stateFile>.backups`, or a temporary folder removed at stop */
    backupsDir?: string;
    /** @default 4500 (Heroku's limit per account) */
    rateLimitPerHour?: number;
    log?: (line: string) => void;
}

/** The emulator, with emulator-only controls beyond the shared contract. */
export interface HerokuEmulatorHandle extends HerokuEmulator {
    /** Gives an app process types (Heroku gets them from a deploy's Procfile, which we do not emulate). */
    seedFormation(app: string, entries: Array<{ type: string; quantity: number; size?: string; command?: string }>): void;
}

const VERSION_RE = /application\/vnd\.heroku\+json;\s*version=3(\.[A-Za-z0-9_-]+)?(\s*[;,]|\s*$)/i;

const MISSING_VERSION = {
    id: "missing_version",
    error: "Please specify a version along with Heroku's API MIME type. For example, `Accept: application/vnd.heroku+json; version=3`.\n",
};

const ENDPOINT_NOT_FOUND =
    "The requested API endpoint was not found. Are you using the right HTTP verb (i.e. `GET` vs. `POST`), and did you specify your intended version with the `Accept` header?";

function headerList(v: string | string[] | undefined): Set<string> {
    const s = Array.isArray(v) ? v.join(",") : v ?? "";
    return new Set(s.split(",").map((x) => x.trim()).filter(Boolean));
}

function authorized(req: http.IncomingMessage, apiKey: string): boolean {
    const h = req.headers.authorization ?? "";
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(h);
    if (bearer) return bearer[1] === apiKey;
    const basic = /^Basic\s+(\S+)\s*$/i.exec(h);
    if (basic) {
        const decoded = Buffer.from(basic[1], "base64").toString("utf8");
        return decoded.slice(decoded.indexOf(":") + 1) === apiKey;
    }
    return false;
}

function readBody(req: http.IncomingMessage, limit = 1024 * 1024): Promise<string> {
    return new Promise((resolve, reject) => {
        let size = 0;
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => {
            size += c.length;
            if (size > limit) {
                reject(new ApiError(413, "request_entity_too_large", "Request body is too large."));
                req.destroy();
                return;
            }
            chunks.push(c);
        });
        req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
        req.on("error", reject);
    });
}

export async function startHerokuEmulator(opts: HerokuEmulatorOptions): Promise<HerokuEmulatorHandle> {
    const log = opts.log ?? ((line: string) => process.stderr.write(`[heroku-emulator] ${line}\n`));
    const apiKey = opts.apiKey ?? `HRKU-${randomHex(24)}`;
    registerSecret(apiKey);
    const admin = parseAdminUrl(opts.postgresAdminUrl);
    registerSecret(admin.password);

    // Fail now, with a clear message, rather than at the first add-on.
    try {
        const isSuper = await withAdmin(admin, undefined, async (c) => (await c.query<{ s: boolean }>("SELECT rolsuper AS s FROM pg_roles WHERE rolname = current_user")).rows[0]?.s);
        if (!isSuper) throw new Error(`role ${admin.user} is not a superuser`);
    } catch (err) {
        throw new Error(
            `Heroku emulator: cannot use postgresAdminUrl (${redact(opts.postgresAdminUrl)}): ${(err as Error).message}. It must be the URL of a superuser of a running local PostgreSQL.`,
        );
    }

    const state = loadState(opts.stateFile);
    const core = new EmulatorCore(state, {
        admin,
        stateFile: opts.stateFile,
        provisionDelayMs: opts.provisionDelayMs ?? 1000,
        waitStatusDelayMs: opts.waitStatusDelayMs ?? 500,
        pgRestorePath: () => pgBin("pg_restore"),
        pgDumpPath: () => pgBin("pg_dump"),
        log,
    });
    core.resumeAfterRestart();

    const platform = [...platformRoutes(core), ...releaseRoutes(core), ...dynoRoutes(core)];
    const data = [...dataRoutes(core), ...pgSettingsRoutes(core), ...pgInfoRoutes(core)];

    const limit = opts.rateLimitPerHour ?? 4500;
    let tokens = limit;
    let refilledAt = Date.now();
    const takeToken = (): boolean => {
        const now = Date.now();
        tokens = Math.min(limit, tokens + ((now - refilledAt) * limit) / 3_600_000);
        refilledAt = now;
        if (tokens < 1) return false;
        tokens -= 1;
        return true;
    };

    const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
        const started = Date.now();
        const method = (req.method ?? "GET").toUpperCase();
        const url = new URL(req.url ?? "/", "http://emulator.local");
        const send = (status: number, body: unknown, extra: Record<string, string> = {}) => {
            const payload = JSON.stringify(body);
            res.writeHead(status, {
                ...extra,
                "Content-Type": "application/json; charset=utf-8",
                "Content-Length": Buffer.byteLength(payload),
                "Request-Id": uuid(),
                "RateLimit-Remaining": String(Math.floor(tokens)),
            });
            res.end(payload);
            if (status >= 500) log(`${method} ${url.pathname} -> ${status} in ${Date.now() - started}ms`);
        };
        try {
            const isData = url.pathname.startsWith("/client/") || url.pathname.startsWith("/postgres/");
            if (!isData && !VERSION_RE.test(String(req.headers.accept ?? ""))) {
                send(400, MISSING_VERSION);
                return;
            }
            if (!authorized(req, apiKey)) {
                send(401, { id: "unauthorized", message: "Invalid credentials provided." });
                return;
            }
            if (!takeToken()) {
                send(429, { id: "rate_limit", message: "Your account reached the API rate limit\nPlease wait a few minutes before making new requests" });
                return;
            }
            const routes: Route[] = isData ? data : platform;
            const match = matchRoute(routes, method, url.pathname);
            if (!match || "methodMismatch" in match) {
                log(`UNKNOWN ROUTE ${method} ${url.pathname}${url.search ? redact(url.search) : ""} -> 404 (the emulator does not implement it; add it to emulator/heroku if a client needs it)`);
                send(404, { id: "not_found", message: ENDPOINT_NOT_FOUND });
                return;
            }
            const raw = method === "GET" || method === "HEAD" ? "" : await readBody(req);
            let body: Record<string, unknown> = {};
            if (raw.trim()) {
                try {
                    const parsed: unknown = JSON.parse(raw);
                    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not an object");
                    body = parsed as Record<string, unknown>;
                } catch {
                    send(400, { id: "bad_request", message: "Request body is not a valid JSON object." });
                    return;
                }
            }
            const x: Expansions = { expand: headerList(req.headers["accept-expansion"]), include: headerList(req.headers["accept-inclusion"]) };
            const result = await match.route.handler({ params: match.params, query: url.searchParams, body, x, headers: req.headers });
            send(result.status, result.body, result.headers);
        } catch (err) {
            if (err instanceof ApiError) {
                send(err.status, { ...err.extra, id: err.id, message: err.message });
            } else {
                log(`ERROR ${method} ${url.pathname}: ${redact((err as Error).stack ?? String(err))}`);
                send(500, { id: "internal_server_error", message: `Internal server error: ${redact((err as Error).message)}` });
            }
        }
    };

    let tls: EmulatorTls | undefined;
    if (opts.https) tls = await makeLocalhostCertificate();
    const backups = new BackupStore({ dir: opts.backupsDir ?? (opts.stateFile ? `${opts.stateFile}.backups` : undefined), tls, log });
    await backups.start();
    core.backups = backups;
    const listener = (req: http.IncomingMessage, res: http.ServerResponse) => {
        void handle(req, res);
    };
    const server = tls ? https.createServer({ key: tls.key, cert: tls.cert }, listener) : http.createServer(listener);
    // Node's 5 s default closes idle keep-alive sockets while a client (fetch keeps them 4 s
    // after the server's hint) may just be reusing one on a loaded machine: ECONNRESET and a
    // retry in every rehearsal. A longer idle timeout, announced in the Keep-Alive header.
    server.keepAliveTimeout = 30_000;
    server.headersTimeout = 35_000;
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(opts.port ?? 0, "127.0.0.1", () => {
            server.off("error", reject);
            resolve();
        });
    });
    const port = (server.address() as AddressInfo).port;
    const base = `${tls ? "https" : "http"}://127.0.0.1:${port}`;
    log(`listening on ${base} (Platform API and Data API; CLI: HEROKU_HOST=${base} HEROKU_DATA_HOST=127.0.0.1${tls ? ` NODE_EXTRA_CA_CERTS=${tls.caCertPath}` : ""})`);

    let stopped: Promise<void> | undefined;
    return {
        platformUrl: base,
        dataUrl: base,
        caCertPath: tls?.caCertPath,
        apiKey,
        seedFormation: (app, entries) => seedFormation(core, app, entries),
        stop() {
            stopped ??= (async () => {
                await new Promise<void>((resolve) => {
                    server.close(() => resolve());
                    server.closeAllConnections();
                });
                await core.stop();
                await backups.stop();
                if (tls) fs.rmSync(tls.dir, { recursive: true, force: true });
            })();
            return stopped;
        },
    };
}
