/**
 * Local PostgreSQL clusters for the rehearsal and the tests: real servers, started with the
 * installed PostgreSQL binaries (found by lib/pgbin.ts), listening on 127.0.0.1 only.
 *
 * - `initdb` runs once per data directory (scram-sha-256, UTF8, superuser password from a
 *   file); an initialized directory is reused, with its port, superuser and password, which are
 *   kept in `<dataDir>.cluster.json` beside it (mode 0600).
 * - PostgreSQL refuses to run as root. When we are root, initdb/pg_ctl run as the `postgres` OS
 *   user (`runuser -u postgres --`, or `su postgres -s /bin/sh -c` without runuser) and the data
 *   directory is owned by it. If `postgres` cannot reach the requested directory (for example
 *   the repository is under /root, mode 0700), the cluster files live in
 *   /var/lib/postgresql/azure-to-heroku-pg/<name>-<hash> and dataDir becomes a symlink to it.
 * - ssl: a self-signed certificate for 127.0.0.1 is generated with openssl into the data
 *   directory; pg_hba has `hostssl` and `host` lines, both scram-sha-256 (so sslmode=disable
 *   connections are accepted too).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as net from "net";
import * as crypto from "crypto";
import { pgBin } from "../lib/pgbin";
import { MigrationError } from "../lib/errors";
import { registerSecret } from "../lib/redact";
import type { PgConnection } from "../lib/types";
import { OS_USER, infoFile, isRoot, livePostmaster, readInfo, run, runAsPostgres, writeInfo, type ClusterInfo } from "../lib/localCluster";

export interface LocalCluster {
    host: "127.0.0.1";
    port: number;
    superuser: string;
    password: string;
    dataDir: string;
    ssl: boolean;
    /** postgres://superuser:password@127.0.0.1:port/db?sslmode=... */
    url(database?: string): string;
    connection(database?: string): PgConnection; // as superuser
    stop(): Promise<void>;
}

export interface StartClusterOptions {
    dataDir: string;
    ssl?: boolean;
    port?: number;
    superuser?: string;
    password?: string;
    logFile?: string;
}

const SUBJECT = "local PostgreSQL";
const RELOCATE_ROOT = "/var/lib/postgresql/azure-to-heroku-pg";

function postgresIds(): { uid: number; gid: number } {
    let passwd: string;
    try {
        passwd = fs.readFileSync("/etc/passwd", "utf8");
    } catch {
        passwd = "";
    }
    for (const line of passwd.split("\n")) {
        const f = line.split(":");
        if (f[0] === OS_USER && f.length >= 4) return { uid: Number(f[2]), gid: Number(f[3]) };
    }
    throw new MigrationError(
        SUBJECT,
        `we run as root, and PostgreSQL refuses to run as root, but there is no \`${OS_USER}\` OS user to run it as.`,
        "Install the PostgreSQL server package (apt-get install postgresql), which creates that user, or run as a non-root user.",
    );
}

function chownToPostgres(p: string): void {
    if (!isRoot()) return;
    const { uid, gid } = postgresIds();
    fs.chownSync(p, uid, gid);
}

/** mkdir -p, remembering which directories were created so they can be made traversable. */
function mkdirp(dir: string): string[] {
    const created: string[] = [];
    let cur = path.resolve(dir);
    const missing: string[] = [];
    while (!fs.existsSync(cur)) {
        missing.unshift(cur);
        const parent = path.dirname(cur);
        if (parent === cur) break;
        cur = parent;
    }
    for (const d of missing) {
        fs.mkdirSync(d);
        created.push(d);
    }
    return created;
}

/** Can the postgres OS user reach (search) `dir`? Checked for real, as that user. */
async function postgresCanReach(dir: string): Promise<boolean> {
    if (!isRoot()) return true;
    const r = await runAsPostgres("/usr/bin/test", ["-x", dir]);
    if (r.code === 0) return true;
    // `test` may live in /bin only on some systems
    if (!fs.existsSync("/usr/bin/test")) return (await runAsPostgres("/bin/test", ["-x", dir])).code === 0;
    return false;
}

function firstUntraversable(dir: string): string | undefined {
    // Reports the first ancestor without the "other" execute bit, for the error message.
    let cur = path.resolve(dir);
    const chain: string[] = [];
    for (;;) {
        chain.unshift(cur);
        const parent = path.dirname(cur);
        if (parent === cur) break;
        cur = parent;
    }
    for (const d of chain) {
        try {
            const st = fs.statSync(d);
            if ((st.mode & 0o001) === 0) return d;
        } catch {
            return d;
        }
    }
    return undefined;
}

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.unref();
        srv.on("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const addr = srv.address();
            const port = typeof addr === "object" && addr ? addr.port : 0;
            srv.close(() => resolve(port));
        });
    });
}

function portIsFree(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const srv = net.createServer();
        srv.unref();
        srv.once("error", () => resolve(false));
        srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
    });
}

function logTail(file: string, lines = 30): string {
    try {
        const text = fs.readFileSync(file, "utf8");
        return text.split("\n").slice(-lines - 1).join("\n").trim();
    } catch {
        return "(no log file)";
    }
}

async function generateCert(realDir: string): Promise<void> {
    const crt = path.join(realDir, "server.crt");
    const key = path.join(realDir, "server.key");
    if (fs.existsSync(crt) && fs.existsSync(key)) return;
    const r = await run("openssl", [
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "3650",
        "-subj", "/CN=127.0.0.1",
        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        "-keyout", key, "-out", crt,
    ]);
    if (r.code !== 0) {
        throw new MigrationError(SUBJECT, `could not create a self-signed certificate in ${realDir} with openssl: ${r.stderr.trim()}`, "Install openssl (apt-get install openssl) or start the cluster with ssl: false.");
    }
    fs.chmodSync(key, 0o600);
    fs.chmodSync(crt, 0o644);
    chownToPostgres(key);
    chownToPostgres(crt);
}

function writeConfig(realDir: string, info: ClusterInfo): void {
    const conf = path.join(realDir, "postgresql.conf");
    const main = fs.readFileSync(conf, "utf8");
    if (!main.includes("include_if_exists = 'rehearsal.conf'")) {
        fs.appendFileSync(conf, "\n# azure-to-heroku-pg local cluster settings\ninclude_if_exists = 'rehearsal.conf'\n");
    }
    const lines = [
        "# Written by local/postgres.ts on every start; edit startCluster options instead.",
        "listen_addresses = '127.0.0.1'",
        `port = ${info.port}`,
        "unix_socket_directories = ''",
        "max_connections = 100",
        "shared_buffers = 32MB",
        "fsync = off",
        "synchronous_commit = off",
        "full_page_writes = off",
        "max_wal_size = 256MB",
        "password_encryption = 'scram-sha-256'",
        "dynamic_shared_memory_type = posix",
        `ssl = ${info.ssl ? "on" : "off"}`,
    ];
    if (info.ssl) lines.push("ssl_cert_file = 'server.crt'", "ssl_key_file = 'server.key'");
    const rc = path.join(realDir, "rehearsal.conf");
    fs.writeFileSync(rc, lines.join("\n") + "\n", { mode: 0o600 });
    chownToPostgres(rc);

    const hba = [
        "# Written by local/postgres.ts. TCP on 127.0.0.1 only, scram-sha-256 everywhere.",
        "# TYPE   DATABASE USER ADDRESS       METHOD",
        ...(info.ssl ? ["hostssl all      all  127.0.0.1/32  scram-sha-256"] : []),
        "host    all      all  127.0.0.1/32  scram-sha-256",
    ];
    const hbaFile = path.join(realDir, "pg_hba.conf");
    fs.writeFileSync(hbaFile, hba.join("\n") + "\n", { mode: 0o600 });
    chownToPostgres(hbaFile);
}

async function initdb(realDir: string, superuser: string, password: string): Promise<void> {
    // The password file must be readable by the postgres OS user; keep it in a private temp dir.
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pgpw-"));
    const pwfile = path.join(tmp, "pw");
    try {
        fs.writeFileSync(pwfile, password + "\n", { mode: 0o600 });
        chownToPostgres(tmp);
        chownToPostgres(pwfile);
        const base = ["-D", realDir, "-U", superuser, `--pwfile=${pwfile}`, "--auth=scram-sha-256", "--encoding=UTF8", "--no-sync"];
        let r = await runAsPostgres(pgBin("initdb"), [...base, "--locale=C.UTF-8"]);
        if (r.code !== 0 && /locale/i.test(r.stderr + r.stdout)) {
            // C.UTF-8 missing on this system: clean up and fall back to the C locale.
            for (const e of fs.readdirSync(realDir)) fs.rmSync(path.join(realDir, e), { recursive: true, force: true });
            r = await runAsPostgres(pgBin("initdb"), [...base, "--locale=C"]);
        }
        if (r.code !== 0) {
            throw new MigrationError(SUBJECT, `initdb failed for ${realDir}: ${(r.stderr || r.stdout).trim()}`, "Check that the directory is empty and writable by the postgres OS user, and that the PostgreSQL server package is installed.");
        }
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
}

/** Chooses where the cluster files live: dataDir itself, or a relocated directory the postgres user can reach. */
async function resolveRealDir(dataDir: string): Promise<string> {
    if (fs.existsSync(path.join(dataDir, "PG_VERSION"))) return fs.realpathSync(dataDir);
    if (fs.existsSync(dataDir)) {
        const st = fs.lstatSync(dataDir);
        if (st.isSymbolicLink()) return fs.realpathSync(dataDir);
    }
    const parent = path.dirname(dataDir);
    const created = mkdirp(parent);
    // Directories we created: make them traversable for the postgres user.
    for (const d of created) fs.chmodSync(d, 0o755);
    if (await postgresCanReach(parent)) return dataDir;

    // The postgres user cannot reach dataDir (e.g. a checkout under /root, mode 0700): keep
    // the cluster in a place it can reach and leave a symlink where the caller asked.
    const blocker = firstUntraversable(parent);
    const hash = crypto.createHash("sha256").update(dataDir).digest("hex").slice(0, 12);
    const realDir = path.join(RELOCATE_ROOT, `${path.basename(dataDir)}-${hash}`);
    try {
        const createdReloc = mkdirp(path.dirname(realDir));
        for (const d of createdReloc) fs.chmodSync(d, 0o755);
    } catch (err) {
        throw new MigrationError(
            SUBJECT,
            `the postgres OS user cannot reach ${parent} (${blocker ?? "a parent directory"} is not searchable by others), and ${RELOCATE_ROOT} could not be created instead: ${(err as Error).message}`,
            `Put the checkout in a directory the postgres user can traverse (or run chmod o+x ${blocker ?? parent}).`,
        );
    }
    if (!(await postgresCanReach(path.dirname(realDir)))) {
        throw new MigrationError(
            SUBJECT,
            `the postgres OS user can reach neither ${parent} (${blocker ?? "a parent directory"} is not searchable by others) nor ${path.dirname(realDir)}.`,
            `Put the checkout in a directory the postgres user can traverse (or run chmod o+x ${blocker ?? parent}).`,
        );
    }
    if (fs.existsSync(realDir)) {
        // Left over from an earlier cluster whose dataDir link was deleted: it is stale.
        if (livePostmaster(realDir)) await runAsPostgres(pgBin("pg_ctl"), ["-D", realDir, "-m", "immediate", "-w", "stop"]);
        fs.rmSync(realDir, { recursive: true, force: true });
    }
    if (fs.existsSync(dataDir) && fs.readdirSync(dataDir).length === 0) fs.rmdirSync(dataDir);
    if (!fs.existsSync(dataDir)) fs.symlinkSync(realDir, dataDir);
    return realDir;
}

/** Starts (initdb if needed) a cluster in dataDir; reuses an existing dataDir and its port. */
export async function startCluster(opts: StartClusterOptions): Promise<LocalCluster> {
    const dataDir = path.resolve(opts.dataDir);
    const stored = readInfo(dataDir);
    const realDir = stored && fs.existsSync(path.join(stored.realDir, "PG_VERSION")) ? stored.realDir : await resolveRealDir(dataDir);
    const initialized = fs.existsSync(path.join(realDir, "PG_VERSION"));

    if (!initialized && fs.existsSync(realDir) && fs.readdirSync(realDir).length > 0) {
        throw new MigrationError(SUBJECT, `${dataDir} exists, is not empty, and is not a PostgreSQL data directory.`, "Point dataDir at an empty or missing directory, or at an existing cluster's data directory.");
    }
    if (initialized && !stored && !opts.password) {
        throw new MigrationError(SUBJECT, `${dataDir} is an existing cluster, but ${infoFile(dataDir)} (its port and superuser password) is missing.`, "Pass `password` (and `superuser`) to startCluster, or delete the data directory to start over.");
    }

    const superuser = stored?.superuser ?? opts.superuser ?? "postgres";
    const password = stored?.password ?? opts.password ?? crypto.randomBytes(18).toString("base64url");
    const ssl = opts.ssl ?? stored?.ssl ?? false;
    registerSecret(password);

    const running = initialized ? livePostmaster(realDir) : undefined;
    let port: number;
    if (running) {
        port = running.port;
    } else {
        port = opts.port ?? stored?.port ?? (await freePort());
    }
    const info: ClusterInfo = { port, superuser, password, ssl, realDir };
    const logFile = opts.logFile ? path.resolve(opts.logFile) : path.join(realDir, "server.log");

    const cluster: LocalCluster = {
        host: "127.0.0.1",
        port,
        superuser,
        password,
        dataDir,
        ssl,
        url(database = "postgres") {
            return `postgres://${encodeURIComponent(superuser)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}?sslmode=${ssl ? "require" : "disable"}`;
        },
        connection(database = "postgres") {
            return { host: "127.0.0.1", port, database, user: superuser, password, sslmode: ssl ? "require" : "disable" };
        },
        async stop() {
            if (!livePostmaster(realDir)) return;
            const r = await runAsPostgres(pgBin("pg_ctl"), ["-D", realDir, "-m", "fast", "-w", "-t", "60", "stop"]);
            if (r.code !== 0 && livePostmaster(realDir)) {
                throw new MigrationError(SUBJECT, `could not stop the cluster in ${dataDir}: ${(r.stderr || r.stdout).trim()}`, `Stop it by hand: pg_ctl -D ${realDir} -m immediate stop`);
            }
        },
    };

    if (running) {
        if (stored && stored.ssl !== ssl) {
            throw new MigrationError(SUBJECT, `the cluster in ${dataDir} is running with ssl=${stored.ssl}, but ssl=${ssl} was asked for.`, "Stop it first (cluster.stop()), then start it with the new setting.");
        }
        writeInfo(dataDir, { ...info, ssl: stored?.ssl ?? ssl });
        return cluster;
    }

    if (!initialized) {
        if (!fs.existsSync(realDir)) fs.mkdirSync(realDir, { mode: 0o700 });
        fs.chmodSync(realDir, 0o700);
        chownToPostgres(realDir);
        await initdb(realDir, superuser, password);
    }
    if (ssl) await generateCert(realDir);
    writeConfig(realDir, info);
    writeInfo(dataDir, info);

    if (!(await portIsFree(port))) {
        throw new MigrationError(SUBJECT, `port ${port} on 127.0.0.1 (the port of the cluster in ${dataDir}) is in use by another process.`, "Stop that process, or start the cluster with another `port`.");
    }

    if (opts.logFile) {
        mkdirp(path.dirname(logFile));
        if (!fs.existsSync(logFile)) fs.writeFileSync(logFile, "");
        chownToPostgres(logFile);
    }
    const r = await runAsPostgres(pgBin("pg_ctl"), ["-D", realDir, "-l", logFile, "-w", "-t", "60", "start"]);
    if (r.code !== 0 || !livePostmaster(realDir)) {
        throw new MigrationError(
            SUBJECT,
            `could not start the cluster in ${dataDir} on 127.0.0.1:${port}: ${(r.stderr || r.stdout).trim()}\n--- ${logFile} (last lines) ---\n${logTail(logFile)}`,
            "Read the server log above; a stale postmaster.pid or a port in use are the usual causes.",
        );
    }
    return cluster;
}

