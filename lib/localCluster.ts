/**
 * A PostgreSQL cluster on this machine, run by pg_ctl: its recorded facts (`<dataDir>.cluster.json`,
 * mode 0600: port, superuser, password, where its files really are), whether its postmaster
 * runs, and stopping and removing it. PostgreSQL refuses to run as root: as root, pg_ctl runs as
 * the `postgres` OS user (`runuser -u postgres --`, or `su postgres -s /bin/sh -c`).
 *
 * In lib/ because the product uses it: in a rehearsal the local source cluster stands in for the
 * Azure server, and SourceRetirement (providers/sourceRetirement.ts) retires it on destroy.
 * local/postgres.ts starts clusters with the same helpers.
 */
import * as fs from "fs";
import * as path from "path";
import { execFile } from "child_process";
import { findOnPath, pgBin } from "./pgbin";
import { MigrationError } from "./errors";

const SUBJECT = "local PostgreSQL";

export interface ClusterInfo {
    port: number;
    superuser: string;
    password: string;
    ssl: boolean;
    /** Where the cluster files really are (differs from dataDir when relocated). */
    realDir: string;
}

export const OS_USER = "postgres";

export interface RunResult {
    code: number;
    stdout: string;
    stderr: string;
}

export function run(cmd: string, args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
    return new Promise((resolve) => {
        execFile(
            cmd,
            args,
            { cwd: "/", encoding: "utf8", timeout: opts.timeoutMs ?? 120000, maxBuffer: 16 * 1024 * 1024, env: opts.env ?? process.env },
            (err, stdout, stderr) => {
                let code = 0;
                if (err) {
                    const e = err as NodeJS.ErrnoException & { code?: number | string };
                    code = typeof e.code === "number" ? e.code : 1;
                    if (typeof e.code === "string") stderr = `${stderr}${stderr ? "\n" : ""}${e.message}`;
                }
                resolve({ code, stdout: String(stdout ?? ""), stderr: String(stderr ?? "") });
            },
        );
    });
}

export function isRoot(): boolean {
    return typeof process.getuid === "function" && process.getuid() === 0;
}

function findRunuser(): string | undefined {
    return findOnPath("runuser", { extraDirs: ["/usr/sbin", "/sbin", "/usr/bin", "/bin"] });
}

function shellQuote(s: string): string {
    return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Runs a command as the postgres OS user when we are root, else as ourselves. */
export function runAsPostgres(cmd: string, args: string[], timeoutMs?: number): Promise<RunResult> {
    if (!isRoot()) return run(cmd, args, { timeoutMs });
    const runuser = findRunuser();
    // LC_ALL/LANG: initdb picks the locale from the environment when not given; keep it neutral.
    if (runuser) return run(runuser, ["-u", OS_USER, "--", cmd, ...args], { timeoutMs });
    return run("su", [OS_USER, "-s", "/bin/sh", "-c", [cmd, ...args].map(shellQuote).join(" ")], { timeoutMs });
}

export function infoFile(dataDir: string): string {
    return `${dataDir}.cluster.json`;
}

export function readInfo(dataDir: string): ClusterInfo | undefined {
    try {
        const raw = JSON.parse(fs.readFileSync(infoFile(dataDir), "utf8")) as Partial<ClusterInfo>;
        if (typeof raw.port !== "number" || typeof raw.superuser !== "string" || typeof raw.password !== "string") return undefined;
        return { port: raw.port, superuser: raw.superuser, password: raw.password, ssl: !!raw.ssl, realDir: raw.realDir ?? dataDir };
    } catch {
        return undefined;
    }
}

export function writeInfo(dataDir: string, info: ClusterInfo): void {
    fs.writeFileSync(infoFile(dataDir), JSON.stringify(info, null, 2) + "\n", { mode: 0o600 });
    fs.chmodSync(infoFile(dataDir), 0o600);
}

/** PID of the live postmaster for this data directory, if any. */
export function livePostmaster(realDir: string): { pid: number; port: number } | undefined {
    let text: string;
    try {
        text = fs.readFileSync(path.join(realDir, "postmaster.pid"), "utf8");
    } catch {
        return undefined;
    }
    const lines = text.split("\n");
    const pid = Number(lines[0]);
    const port = Number(lines[3]);
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    try {
        process.kill(pid, 0);
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EPERM") return undefined;
    }
    // A zombie (exited, not yet reaped) still answers kill(pid, 0).
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
        if (state === "Z" || state === "X") return undefined;
    } catch {
        if (fs.existsSync("/proc/self/stat")) return undefined;
    }
    // A live pid could be a recycled one; the postmaster keeps its data directory as cwd.
    try {
        const cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
        if (path.resolve(cwd) !== path.resolve(fs.realpathSync(realDir))) return undefined;
    } catch {
        /* no /proc: trust the pid */
    }
    return { pid, port };
}

/**
 * Stops the cluster in dataDir and deletes its files (the data directory, a relocated real
 * directory, and its port/password file). Used by the rehearsal's source retirement
 * (providers/sourceRetirement.ts): the local source stands in for the Azure server. Idempotent.
 * Returns what was there: whether a postmaster was running and the directory removed.
 */
export async function removeCluster(dataDir: string): Promise<{ wasRunning: boolean; removed: string[] }> {
    const dir = path.resolve(dataDir);
    const info = readInfo(dir);
    const realDir = info?.realDir ?? dir;
    const wasRunning = !!livePostmaster(realDir);
    if (wasRunning) {
        const r = await runAsPostgres(pgBin("pg_ctl"), ["-D", realDir, "-m", "fast", "-w", "-t", "60", "stop"]);
        if (r.code !== 0 && livePostmaster(realDir)) {
            throw new MigrationError(SUBJECT, `could not stop the cluster in ${dir}: ${(r.stderr || r.stdout).trim()}`, `Stop it by hand: pg_ctl -D ${realDir} -m immediate stop`);
        }
    }
    const removed: string[] = [];
    for (const p of [realDir, dir, infoFile(dir)]) {
        let exists = false;
        try { fs.lstatSync(p); exists = true; } catch { /* gone */ }
        if (!exists) continue;
        fs.rmSync(p, { recursive: true, force: true });
        removed.push(p);
    }
    return { wasRunning, removed };
}

/** The port recorded for the cluster in dataDir, when it was started by startCluster. */
export function clusterPort(dataDir: string): number | undefined {
    return readInfo(path.resolve(dataDir))?.port;
}
