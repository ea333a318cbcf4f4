/**
 * A restore transfer, performed for real the way Heroku's transfer service (transferatu) does it:
 * the backup URL is streamed (never written to disk) into
 * `pg_restore --verbose --no-owner --no-acl --format=custom` connected as the add-on's own
 * database user, so every object ends up owned by that user and no role from the source is
 * needed. Before that the emulator:
 *   1. streams the archive's table of contents through `pg_restore --list` and fails the transfer
 *      when it holds an extension Heroku Postgres does not allow (see extensions.ts);
 *   2. replaces the add-on database with an empty one (a restore wipes the target);
 *   3. creates, with superuser rights, the allowed extensions the database user could not create
 *      itself (Heroku's extension allow-list does the same), and the `extensions` asked for.
 *
 * Transfer bookkeeping follows transferatu: pg_restore's stderr lines become the transfer logs,
 * `processed_bytes` counts downloaded bytes, `source_bytes` is the Content-Length, and a
 * pg_restore that ran to the end with "errors ignored on restore: N" is a success with
 * `warnings = N` (the CLI shows "Finished with N warnings").
 */
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import { spawn, ChildProcess } from "child_process";
import type { IncomingMessage } from "http";
import type { AddonRecord, TransferRecord } from "./state";
import { AdminTarget, availableExtensions, preinstallExtensions, resetAddonDatabase, trustedExtensions } from "./db";
import { HEROKU_EXTENSIONS_SOURCE, isSupportedExtension } from "./extensions";
import { dataTime } from "./util";
import { findOnPath } from "../../lib/pgbin";
import { redact } from "../../lib/redact";

export interface RestoreDeps {
    admin: AdminTarget;
    pgRestorePath: string;
    /** emulator log (operator-facing) */
    log: (line: string) => void;
    /** persist the state; called after each visible change (throttled for byte counts) */
    save: () => void;
}

export interface RunningRestore {
    cancel(): void;
    /** mark as failed because the emulator is stopping, and stop the processes */
    abort(reason: string): void;
    done: Promise<void>;
}

/** Ends a transfer as failed; `logged` says the transfer logs already explain why. */
class TransferFailure extends Error {
    readonly logged: boolean;
    constructor(message: string, logged = false) {
        super(message);
        this.logged = logged;
    }
}

interface Download {
    res: IncomingMessage;
    length: number | null;
}

function download(url: string, onRequest: (req: http.ClientRequest) => void): Promise<Download> {
    return new Promise((resolve, reject) => {
        let u: URL;
        try {
            u = new URL(url);
        } catch {
            reject(new TransferFailure("backup URL is not a valid URL"));
            return;
        }
        const mod = u.protocol === "https:" ? https : http;
        const req = mod.get(u, { headers: { "user-agent": "htcat (heroku-emulator)" } }, (res) => {
            const status = res.statusCode ?? 0;
            if (status < 200 || status >= 300) {
                let body = "";
                res.setEncoding("utf8");
                res.on("data", (d: string) => {
                    if (body.length < 2000) body += d;
                });
                res.on("end", () => {
                    const code = /<Code>([^<]+)<\/Code>/.exec(body)?.[1];
                    reject(new TransferFailure(`download failed: ${u.protocol}//${u.host}${u.pathname} answered HTTP ${status} ${res.statusMessage ?? ""}${code ? ` (${code})` : ""}`.trim()));
                });
                res.on("error", () => reject(new TransferFailure(`download failed: HTTP ${status}`)));
                return;
            }
            const len = res.headers["content-length"];
            resolve({ res, length: len !== undefined && /^\d+$/.test(len) ? Number(len) : null });
        });
        req.on("error", (err) => reject(new TransferFailure(`download failed: ${err.message}`)));
        onRequest(req);
    });
}

interface ProcResult {
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
}

/**
 * Streams `url` into a process's stdin. Resolves when the process exits; the download is
 * stopped then if the process did not need all of it (e.g. `pg_restore --list`).
 */
function pipeDownloadInto(
    url: string,
    child: ChildProcess,
    track: { requests: Set<http.ClientRequest>; children: Set<ChildProcess> },
    onBytes?: (n: number) => void,
    onDownloadEnd?: () => void,
): Promise<ProcResult & { length: number | null; downloadError?: Error }> {
    track.children.add(child);
    let stdout = "";
    child.stdout?.setEncoding("utf8");
    child.stdout?.on("data", (d: string) => {
        stdout += d;
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
        child.on("close", (code, signal) => resolve({ code, signal }));
        child.on("error", () => resolve({ code: 127, signal: null }));
    });
    child.stdin?.on("error", () => undefined); // EPIPE when the process stops reading early
    let req: http.ClientRequest | undefined;
    let downloadError: Error | undefined;
    let childExited = false;
    child.on("close", () => {
        childExited = true;
    });
    let length: number | null = null;
    const downloaded = download(url, (r) => {
        req = r;
        track.requests.add(r);
    }).then(
        (d) =>
            new Promise<void>((resolve) => {
                length = d.length;
                d.res.on("data", (chunk: Buffer) => onBytes?.(chunk.length));
                d.res.on("end", () => {
                    onDownloadEnd?.();
                    resolve();
                });
                d.res.on("error", (err) => {
                    // after the process exited we stop the download ourselves: not an error
                    if (!childExited) downloadError = new TransferFailure(`download failed: ${err.message}`);
                    child.stdin?.destroy();
                    resolve();
                });
                d.res.on("close", () => resolve());
                d.res.pipe(child.stdin!);
            }),
        (err: Error) => {
            if (!childExited) downloadError = err;
            child.stdin?.end();
        },
    );
    return exited.then(async ({ code, signal }) => {
        req?.destroy();
        if (req) track.requests.delete(req);
        track.children.delete(child);
        await Promise.race([downloaded, new Promise((r) => setTimeout(r, 1000))]);
        return { code, signal, stdout, length, downloadError };
    });
}

/**
 * Heroku's transfer downloads with htcat, a process of its own piped into pg_restore: the bytes
 * never pass through the transfer service's own code. The emulator does the same with curl when it
 * is installed (the archive goes from curl's stdout straight into pg_restore's stdin, an OS pipe),
 * so that the rehearsal's restore does not also load the Node process that runs the Pulumi program.
 * `HEROKU_EMULATOR_DOWNLOADER=node` (or no curl on PATH) streams through Node instead.
 */
export function curlDownloader(env: NodeJS.ProcessEnv = process.env): string | undefined {
    if (env.HEROKU_EMULATOR_DOWNLOADER === "node") return undefined;
    return findOnPath("curl", { env });
}

/** Bytes a process has written so far (/proc/<pid>/io wchar, Linux); undefined elsewhere. */
function writtenBytes(pid: number | undefined): number | undefined {
    if (pid === undefined) return undefined;
    try {
        const m = /^wchar:\s*(\d+)$/m.exec(fs.readFileSync(`/proc/${pid}/io`, "utf8"));
        return m ? Number(m[1]) : undefined;
    } catch {
        return undefined;
    }
}

/**
 * `curl URL | child` where `child` is spawned by `spawnChild(stdin)` with curl's stdout as its
 * stdin. Resolves when both have exited. Download progress is curl's written bytes, read every
 * 500 ms; `onDownloadEnd` when curl exits cleanly.
 */
function pipeCurlInto(
    curl: string,
    url: string,
    spawnChild: (stdin: NodeJS.ReadableStream) => ChildProcess,
    track: { requests: Set<http.ClientRequest>; children: Set<ChildProcess> },
    onBytes?: (n: number) => void,
    onDownloadEnd?: () => void,
): Promise<ProcResult & { length: number | null; downloadError?: Error }> {
    const dl = spawn(curl, ["--silent", "--show-error", "--fail", "--user-agent", "htcat (heroku-emulator)", "--write-out", "%{stderr}downloaded %{size_download}\\n", "--config", "-"], { stdio: ["pipe", "pipe", "pipe"] });
    // The signed URL goes in on stdin, not in the arguments (which any local user can read).
    dl.stdin?.on("error", () => undefined);
    dl.stdin?.end(`url = "${url.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"\n`);
    let curlErr = "";
    dl.stderr?.setEncoding("utf8");
    dl.stderr?.on("data", (d: string) => {
        if (curlErr.length < 2000) curlErr += d;
    });
    const child = spawnChild(dl.stdout!);
    // The parent keeps no end of the pipe: only pg_restore reads it.
    dl.stdout!.destroy();
    track.children.add(dl);
    track.children.add(child);
    let reported = 0;
    const report = () => {
        const n = writtenBytes(dl.pid);
        if (n !== undefined && n > reported) {
            onBytes?.(n - reported);
            reported = n;
        }
    };
    const timer = setInterval(report, 500);
    const curlExit = new Promise<{ code: number | null }>((resolve) => {
        dl.on("close", (code) => resolve({ code }));
        dl.on("error", () => resolve({ code: 127 }));
    });
    let childExited = false;
    let stdout = "";
    child.stdout?.setEncoding("utf8");
    child.stdout?.on("data", (d: string) => {
        stdout += d;
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
        child.on("close", (code, signal) => {
            childExited = true;
            resolve({ code, signal });
        });
        child.on("error", () => resolve({ code: 127, signal: null }));
    });
    let downloadError: Error | undefined;
    const downloaded = curlExit.then(({ code }) => {
        report();
        // The exact count, from curl itself (the last /proc reading may predate its last write).
        const total = /^downloaded (\d+)$/m.exec(curlErr)?.[1];
        if (total !== undefined && Number(total) > reported) {
            onBytes?.(Number(total) - reported);
            reported = Number(total);
        }
        curlErr = curlErr.replace(/^downloaded \d+\n?/m, "");
        if (code === 0) onDownloadEnd?.();
        else if (!childExited) {
            const why = curlErr.trim().split("\n").pop()?.replace(/^curl: \(\d+\)\s*/, "") || `curl exited with code ${code}`;
            downloadError = new TransferFailure(`download failed: ${redact(why)}`);
        }
    });
    return exited.then(async ({ code, signal }) => {
        if (dl.exitCode === null && dl.signalCode === null) {
            // pg_restore is done (or failed) before the download: nothing reads it any more.
            await Promise.race([curlExit, new Promise((r) => setTimeout(r, 1000))]);
            if (dl.exitCode === null && dl.signalCode === null) dl.kill("SIGTERM");
        }
        await downloaded;
        clearInterval(timer);
        track.children.delete(dl);
        track.children.delete(child);
        return { code, signal, stdout, length: null, downloadError };
    });
}

/** Extensions named in a `pg_restore --list` table of contents, with their TOC line. */
export function extensionsInToc(toc: string): Array<{ name: string; line: string }> {
    const out: Array<{ name: string; line: string }> = [];
    for (const line of toc.split("\n")) {
        const m = /^\s*\d+;\s+\d+\s+\d+\s+EXTENSION\s+\S+\s+(\S+)/.exec(line);
        if (m) out.push({ name: m[1].replace(/^"|"$/g, ""), line: line.trim() });
    }
    return out;
}

/** `CREATE EXTENSION IF NOT EXISTS x WITH SCHEMA s;` statements of a pre-data script. */
export function extensionSchemas(sql: string): Map<string, string> {
    const m = new Map<string, string>();
    const re = /^CREATE EXTENSION IF NOT EXISTS ("(?:[^"]|"")+"|\S+) WITH SCHEMA ("(?:[^"]|"")+"|[^\s;]+);/gm;
    for (let x = re.exec(sql); x; x = re.exec(sql)) {
        const unq = (s: string) => (s.startsWith('"') ? s.slice(1, -1).replace(/""/g, '"') : s);
        m.set(unq(x[1]), unq(x[2]));
    }
    return m;
}

/** Parses the `extensions` request field: `hstore` or `myschema.hstore`. */
export function parseExtensionRequest(items: string[]): Array<{ name: string; schema: string }> {
    return items.map((item) => {
        const t = item.trim().toLowerCase();
        const dot = t.indexOf(".");
        return dot > 0 ? { schema: t.slice(0, dot), name: t.slice(dot + 1) } : { schema: "public", name: t };
    });
}

export function startRestore(transfer: TransferRecord, addon: AddonRecord, requested: Array<{ name: string; schema: string }>, deps: RestoreDeps): RunningRestore {
    const track = { requests: new Set<http.ClientRequest>(), children: new Set<ChildProcess>() };
    let canceled = false;
    let abortReason: string | undefined;
    let lastSave = 0;

    const addLog = (message: string, level: "info" | "internal" = "info") => {
        const now = new Date();
        transfer.logs.push({ created_at: dataTime(now), level, message: redact(message) });
        transfer.updated_at = dataTime(now);
    };
    const touch = (force = false) => {
        const now = Date.now();
        transfer.updated_at = dataTime();
        if (force || now - lastSave >= 1000) {
            lastSave = now;
            deps.save();
        }
    };
    const stopAll = () => {
        for (const r of track.requests) r.destroy();
        for (const c of track.children) c.kill("SIGINT");
    };
    const checkStopped = () => {
        if (canceled) throw new TransferFailure("canceled");
        if (abortReason) throw new TransferFailure(abortReason);
    };

    const db = addon.db!;
    const pgEnv = {
        ...process.env,
        PGPASSWORD: db.password,
        PGSSLMODE: deps.admin.sslmode === "disable" ? "disable" : "prefer",
        PGAPPNAME: "heroku-emulator-restore",
        PGCONNECT_TIMEOUT: "15",
        LC_ALL: "C",
        LC_MESSAGES: "C",
    };
    const restoreArgs = [
        "--verbose",
        "--no-owner",
        "--no-acl",
        "--format=custom",
        `--host=${db.host}`,
        `--port=${db.port}`,
        `--username=${db.user}`,
        `--dbname=${db.database}`,
    ];

    const run = async (): Promise<void> => {
        transfer.started_at = dataTime();
        addLog(`Running htcat ${new URL(transfer.from_url).protocol.replace(":", "")} ...`, "internal");
        touch(true);

        // 1. Table of contents: which extensions does the dump need?
        const list = spawn(deps.pgRestorePath, ["--list"], { env: pgEnv, stdio: ["pipe", "pipe", "pipe"] });
        let listErr = "";
        list.stderr?.setEncoding("utf8");
        list.stderr?.on("data", (d: string) => {
            listErr += d;
        });
        const toc = await pipeDownloadInto(transfer.from_url, list, track);
        checkStopped();
        if (toc.downloadError && toc.code !== 0) throw toc.downloadError;
        if (toc.code !== 0) {
            for (const line of listErr.split("\n").filter((l) => l.trim())) addLog(line.trim());
            throw new TransferFailure("pg_restore could not read the archive", true);
        }
        transfer.source_bytes = toc.length;
        const tocExtensions = extensionsInToc(toc.stdout);
        const unsupported = tocExtensions.filter((e) => !isSupportedExtension(e.name));
        if (unsupported.length > 0) {
            for (const e of unsupported) {
                addLog(`error: extension "${e.name}" is not supported by Heroku Postgres (TOC entry ${e.line})`);
            }
            addLog(`Remove ${unsupported.length === 1 ? "this extension" : "these extensions"} from the source database or exclude ${unsupported.length === 1 ? "it" : "them"} from the dump; supported extensions: ${HEROKU_EXTENSIONS_SOURCE}`);
            throw new TransferFailure(`unsupported extension(s): ${unsupported.map((e) => e.name).join(", ")}`, true);
        }
        touch(true);

        // 2. Extensions the database user cannot create itself get created as superuser,
        //    in the schema the dump puts them in.
        const trusted = await trustedExtensions(deps.admin);
        const available = await availableExtensions(deps.admin);
        const needSuper = tocExtensions.filter((e) => !trusted.has(e.name) && e.name !== "plpgsql");
        const preinstall = [...requested];
        if (needSuper.length > 0) {
            const pre = spawn(deps.pgRestorePath, ["--schema-only", "--section=pre-data", "--file=-"], { env: pgEnv, stdio: ["pipe", "pipe", "ignore"] });
            const script = await pipeDownloadInto(transfer.from_url, pre, track);
            checkStopped();
            const schemas = extensionSchemas(script.stdout);
            for (const e of needSuper) {
                if (!available.has(e.name)) {
                    deps.log(`WARNING transfer ${transfer.uuid}: extension "${e.name}" is allowed on Heroku but not installed on the local PostgreSQL server; pg_restore will report an error for it.`);
                    continue;
                }
                preinstall.push({ name: e.name, schema: schemas.get(e.name) ?? "public" });
            }
        }
        for (const e of requested) {
            if (!available.has(e.name)) throw new TransferFailure(`extension "${e.name}" is not installed on the local PostgreSQL server`);
        }

        // 3. Wipe the target, pre-install extensions.
        await resetAddonDatabase(deps.admin, db);
        await preinstallExtensions(deps.admin, db, dedupe(preinstall));
        checkStopped();

        // 4. Stream the archive into pg_restore as the database user.
        addLog(`Running pg_restore ${restoreArgs.filter((a) => !a.startsWith("--host") && !a.startsWith("--port")).join(" ")}`, "internal");
        let ignored: number | undefined;
        let pending = "";
        const onLine = (line: string) => {
            const l = line.trim();
            if (!l) return;
            const m = /errors ignored on restore: (\d+)/.exec(l);
            if (m) ignored = Number(m[1]);
            addLog(l);
        };
        const startRestoreProcess = (stdin: "pipe" | NodeJS.ReadableStream): ChildProcess => {
            const restore = spawn(deps.pgRestorePath, restoreArgs, { env: pgEnv, stdio: [stdin as "pipe", "pipe", "pipe"] });
            restore.stderr?.setEncoding("utf8");
            restore.stderr?.on("data", (d: string) => {
                pending += d;
                const lines = pending.split("\n");
                pending = lines.pop() ?? "";
                lines.forEach(onLine);
                touch();
            });
            return restore;
        };
        const onBytes = (n: number) => {
            transfer.processed_bytes += n;
            touch();
        };
        const onDownloadEnd = () => {
            addLog("waiting for download to complete");
            addLog("download done");
        };
        const curl = curlDownloader();
        const result = curl
            ? await pipeCurlInto(curl, transfer.from_url, (stdin) => startRestoreProcess(stdin), track, onBytes, onDownloadEnd)
            : await pipeDownloadInto(transfer.from_url, startRestoreProcess("pipe"), track, onBytes, onDownloadEnd);
        if (pending) onLine(pending);
        addLog("waiting for restore to complete");
        addLog("restore done");
        checkStopped();
        if (result.downloadError) throw result.downloadError;
        if (result.code === 0) {
            transfer.warnings = 0;
        } else if (result.code === 1 && ignored !== undefined && ignored > 0) {
            transfer.warnings = ignored;
        } else {
            throw new TransferFailure(`pg_restore exited with ${result.code ?? result.signal}`, true);
        }
        transfer.succeeded = true;
    };

    const done = run().then(
        () => {
            transfer.finished_at = dataTime();
            touch(true);
            deps.log(`transfer ${transfer.uuid} (r${String(transfer.num).padStart(3, "0")}) succeeded${transfer.warnings ? ` with ${transfer.warnings} warnings` : ""}`);
        },
        (err: Error) => {
            stopAll();
            const now = dataTime();
            transfer.succeeded = false;
            if (canceled) {
                transfer.canceled_at = now;
                addLog("transfer canceled");
            } else if (abortReason) {
                addLog(abortReason);
            } else if (!(err instanceof TransferFailure)) {
                addLog(`restore failed: ${err.message}`);
            } else if (!err.logged) {
                addLog(err.message);
            }
            transfer.finished_at = now;
            touch(true);
            deps.log(`transfer ${transfer.uuid} failed: ${redact(err.message)}`);
        },
    );

    return {
        cancel() {
            canceled = true;
            stopAll();
        },
        abort(reason: string) {
            abortReason = reason;
            stopAll();
        },
        done,
    };
}

function dedupe(exts: Array<{ name: string; schema: string }>): Array<{ name: string; schema: string }> {
    const seen = new Set<string>();
    return exts.filter((e) => {
        if (seen.has(e.name)) return false;
        seen.add(e.name);
        return true;
    });
}
