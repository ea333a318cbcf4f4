/**
 * `heroku pg:backups:capture`, `pg:backups:url`, `pg:backups:download` and `pg:backups:restore
 * b001`: backups taken for real with `pg_dump --format=custom --verbose` of the add-on's database,
 * kept by the emulator in a private "bucket" (a folder served over HTTP(S)), as Heroku's transfer
 * service keeps them in S3.
 *
 * - `POST /client/v11/databases/{addon}/backups` starts a transfer `pg_dump` -> `gof3r` named
 *   `b<num>` (from_name the attachment, e.g. DATABASE; to_name BACKUP); pg_dump's stderr lines
 *   are its logs, source_bytes the database size, processed_bytes the archive size.
 * - the transfer's `to_url` is the object's address; reading it needs a signature, like S3.
 *   `POST /client/v11/apps/{app}/transfers/{num}/actions/public-url` answers `{url, expires_at}`:
 *   the address signed for 10 minutes (HMAC, `expires` and `sig` query parameters; an expired or
 *   wrong signature is 403 with an S3-style XML error).
 * - a restore whose backup_url is a backup's unsigned `to_url` (what the CLI sends for
 *   `pg:backups:restore b001`) reads it through the bucket's internal plain-HTTP listener with an
 *   internal signature, as transferatu reads S3 with its own credentials.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import { spawn, ChildProcess } from "child_process";
import type { AddressInfo } from "net";
import type { EmulatorCore } from "./core";
import type { AdminTarget } from "./db";
import type { AddonRecord, TransferRecord } from "./state";
import type { EmulatorTls } from "./tls";
import { withAdmin } from "./db";
import { dataTime } from "./util";

export const PUBLIC_URL_TTL_S = 600;
const OBJECT_PREFIX = "/xfrtu/";

export interface BackupStoreOptions {
    /** where archives are kept; default: a temporary folder removed at stop */
    dir?: string;
    tls?: EmulatorTls;
    log: (line: string) => void;
}

/** The private bucket: one public listener (HTTPS when the emulator is), one internal plain-HTTP listener. */
export class BackupStore {
    readonly dir: string;
    private readonly ownDir: boolean;
    private readonly key = crypto.randomBytes(32);
    private publicServer?: http.Server;
    private internalServer?: http.Server;
    publicBase = "";
    private internalBase = "";

    constructor(private readonly opts: BackupStoreOptions) {
        this.ownDir = !opts.dir;
        this.dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "heroku-emulator-backups-"));
        fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    }

    async start(): Promise<void> {
        const handler = (req: http.IncomingMessage, res: http.ServerResponse) => this.serve(req, res);
        this.publicServer = this.opts.tls ? https.createServer({ key: this.opts.tls.key, cert: this.opts.tls.cert }, handler) : http.createServer(handler);
        this.internalServer = http.createServer(handler);
        const listen = (s: http.Server) =>
            new Promise<number>((resolve, reject) => {
                s.once("error", reject);
                s.listen(0, "127.0.0.1", () => resolve((s.address() as AddressInfo).port));
            });
        this.publicBase = `${this.opts.tls ? "https" : "http"}://127.0.0.1:${await listen(this.publicServer)}`;
        this.internalBase = `http://127.0.0.1:${await listen(this.internalServer)}`;
    }

    async stop(): Promise<void> {
        for (const s of [this.publicServer, this.internalServer]) {
            if (!s) continue;
            await new Promise<void>((r) => {
                s.close(() => r());
                s.closeAllConnections();
            });
        }
        if (this.ownDir) fs.rmSync(this.dir, { recursive: true, force: true });
    }

    file(transferUuid: string): string {
        return path.join(this.dir, `${transferUuid}.dump`);
    }

    /** The object's unsigned address, what the transfer shows as to_url. */
    objectUrl(transferUuid: string): string {
        return `${this.publicBase}${OBJECT_PREFIX}${transferUuid}`;
    }

    private sign(p: string, expires: number): string {
        return crypto.createHmac("sha256", this.key).update(`${p}\n${expires}`).digest("hex");
    }

    signedUrl(transferUuid: string, ttlSeconds: number, internal = false): { url: string; expires: Date } {
        const expires = Math.floor(Date.now() / 1000) + ttlSeconds;
        const p = `${OBJECT_PREFIX}${transferUuid}`;
        return { url: `${internal ? this.internalBase : this.publicBase}${p}?expires=${expires}&sig=${this.sign(p, expires)}`, expires: new Date(expires * 1000) };
    }

    /** The transfer uuid when `url` is the unsigned address of a backup kept here. */
    ownObject(url: string): string | undefined {
        let u: URL;
        try {
            u = new URL(url);
        } catch {
            return undefined;
        }
        if (`${u.protocol}//${u.host}` !== this.publicBase || !u.pathname.startsWith(OBJECT_PREFIX)) return undefined;
        const id = u.pathname.slice(OBJECT_PREFIX.length);
        return /^[0-9a-f-]{36}$/.test(id) && fs.existsSync(this.file(id)) ? id : undefined;
    }

    remove(transferUuid: string): void {
        fs.rmSync(this.file(transferUuid), { force: true });
    }

    private serve(req: http.IncomingMessage, res: http.ServerResponse): void {
        const u = new URL(req.url ?? "/", "http://bucket.local");
        const xml = (status: number, code: string, message: string) => {
            const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
            res.writeHead(status, { "Content-Type": "application/xml", "Content-Length": Buffer.byteLength(body) });
            res.end(body);
        };
        if (req.method !== "GET" && req.method !== "HEAD") return xml(405, "MethodNotAllowed", "The specified method is not allowed against this resource.");
        const expires = Number(u.searchParams.get("expires"));
        const sig = u.searchParams.get("sig") ?? "";
        if (!u.pathname.startsWith(OBJECT_PREFIX) || !sig || !Number.isInteger(expires)) return xml(403, "AccessDenied", "Access Denied");
        const want = this.sign(u.pathname, expires);
        if (sig.length !== want.length || !crypto.timingSafeEqual(Buffer.from(sig), Buffer.from(want))) {
            return xml(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.");
        }
        if (expires * 1000 < Date.now()) return xml(403, "AccessDenied", "Request has expired");
        const id = u.pathname.slice(OBJECT_PREFIX.length);
        const file = this.file(id);
        if (!/^[0-9a-f-]{36}$/.test(id) || !fs.existsSync(file)) return xml(404, "NoSuchKey", "The specified key does not exist.");
        const size = fs.statSync(file).size;
        res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": size });
        if (req.method === "HEAD") return void res.end();
        fs.createReadStream(file).pipe(res);
    }
}

/** A running capture: pg_dump into the bucket. */
export interface RunningCapture {
    abort(reason: string): void;
    cancel(): void;
    done: Promise<void>;
}

export function newBackupTransfer(core: EmulatorCore, store: BackupStore, addon: AddonRecord): TransferRecord {
    const t = core.newTransfer(addon, (attachment) => ({
        from_name: attachment,
        from_type: "pg_dump",
        from_url: addon.db ? `postgres:///${addon.db.database}` : "",
        to_name: "BACKUP",
        to_type: "gof3r",
        to_url: "",
    }));
    // The backup's object is named by the transfer's uuid.
    t.to_url = store.objectUrl(t.uuid);
    return t;
}

export function startCapture(t: TransferRecord, addon: AddonRecord, deps: { admin: AdminTarget; pgDumpPath: string; store: BackupStore; save: () => void; log: (l: string) => void }): RunningCapture {
    let child: ChildProcess | undefined;
    let stopReason: string | undefined;
    const db = addon.db!;
    const file = deps.store.file(t.uuid);
    const addLog = (message: string) => {
        t.logs.push({ created_at: dataTime(), level: "info", message });
        t.updated_at = dataTime();
    };
    const finish = (ok: boolean) => {
        const now = dataTime();
        t.succeeded = ok;
        t.finished_at = now;
        t.updated_at = now;
        if (!ok) deps.store.remove(t.uuid);
        deps.save();
    };
    const done = (async () => {
        t.started_at = dataTime();
        try {
            const size = await withAdmin(deps.admin, db.database, async (c) => (await c.query<{ n: string }>("SELECT pg_database_size(current_database())::text AS n")).rows[0].n);
            t.source_bytes = Number(size);
        } catch (err) {
            addLog(`could not connect to the database: ${(err as Error).message}`);
            finish(false);
            return;
        }
        deps.save();
        const code = await new Promise<number>((resolve) => {
            child = spawn(
                deps.pgDumpPath,
                ["--format=custom", "--verbose", `--file=${file}`, `--host=${db.host}`, `--port=${db.port}`, `--username=${deps.admin.user}`, db.database],
                {
                    env: { ...process.env, PGPASSWORD: deps.admin.password, PGSSLMODE: deps.admin.sslmode === "disable" ? "disable" : "prefer", PGAPPNAME: "heroku-emulator-backup", LC_ALL: "C", LC_MESSAGES: "C" },
                    stdio: ["ignore", "ignore", "pipe"],
                },
            );
            let pending = "";
            child.stderr!.setEncoding("utf8");
            child.stderr!.on("data", (d: string) => {
                pending += d;
                const lines = pending.split("\n");
                pending = lines.pop() ?? "";
                for (const l of lines) if (l.trim()) addLog(l.trim());
            });
            child.on("error", (err) => {
                addLog(`pg_dump could not start: ${err.message}`);
                resolve(-1);
            });
            child.on("close", (c) => {
                if (pending.trim()) addLog(pending.trim());
                resolve(c ?? -1);
            });
        });
        if (stopReason) {
            addLog(stopReason);
            finish(false);
            return;
        }
        if (code !== 0) {
            addLog(`pg_dump exited with code ${code}`);
            finish(false);
            return;
        }
        t.processed_bytes = fs.statSync(file).size;
        addLog("backup done");
        finish(true);
        deps.log(`backup b${String(t.num).padStart(3, "0")} of ${addon.name}: ${t.processed_bytes} bytes`);
    })();
    return {
        done,
        abort(reason) {
            stopReason = reason;
            child?.kill("SIGINT");
        },
        cancel() {
            stopReason = "canceled";
            t.canceled_at = dataTime();
            child?.kill("SIGINT");
        },
    };
}
