/**
 * Local Azure Blob Storage for the rehearsal and the tests: the `azurite` npm package's blob
 * service (the real Azure Storage REST API, with real Shared Key and SAS validation), run as a
 * child process.
 *
 * The blob port is persisted in `<dir>/azurite-blob.port`: blob URLs end up in the rehearsal
 * state, so a second run against the same `dir` must answer on the same port.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { MigrationError } from "../lib/errors";

export interface LocalAzurite {
    /** http://127.0.0.1:<port>/devstoreaccount1 */
    blobEndpoint: string;
    accountName: string;
    accountKey: string;
    stop(): Promise<void>;
}

/** Azurite's well-known development account (published in the Azurite README). */
export const AZURITE_ACCOUNT_NAME = "devstoreaccount1";
export const AZURITE_ACCOUNT_KEY =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

const PORT_FILE = "azurite-blob.port";
// Generous: on a crowded machine (load average 20-30 on 2 cores) loading Azurite alone took over 30 s.
const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 10_000;
const OUTPUT_TAIL_LINES = 40;

/** Path of the azurite blob service entry point (the `azurite-blob` bin). */
export function azuriteBlobMain(): string {
    const pkgJson = require.resolve("azurite/package.json");
    const pkg = JSON.parse(fs.readFileSync(pkgJson, "utf8")) as { bin?: Record<string, string> };
    const rel = pkg.bin?.["azurite-blob"] ?? "./dist/src/blob/main.js";
    const main = path.resolve(path.dirname(pkgJson), rel);
    if (!fs.existsSync(main)) {
        throw new MigrationError(
            "Azurite",
            `the azurite blob service entry point ${main} does not exist.`,
            "Run `npm install` in the project directory (azurite is a dependency).",
        );
    }
    return main;
}

/**
 * Stops an Azurite left running on this workspace by a process that was killed before it could
 * stop it (kill -9 of a rehearsal): it would hold the saved port, and two Azurites must never
 * share one workspace. Linux only (/proc); elsewhere the port-in-use error says what to do.
 */
async function stopOrphans(dir: string): Promise<void> {
    let pids: number[];
    try {
        pids = fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d)).map(Number).filter((pid) => {
            try {
                const argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
                const at = argv.indexOf("--location");
                return pid !== process.pid && argv.some((a) => /azurite[\\/].*blob[\\/]main\.js$/.test(a)) && at >= 0 && argv[at + 1] === dir;
            } catch {
                return false;
            }
        });
    } catch {
        return;
    }
    for (const pid of pids) {
        try {
            process.kill(pid, "SIGKILL");
        } catch {
            continue;
        }
        for (let i = 0; i < 50 && fs.existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 100));
    }
}

/**
 * Starts the Azurite blob service with its workspace in `dir` (created if needed) on 127.0.0.1.
 * Port: `blobPort` if given, else the port persisted in `dir` by an earlier start, else a free
 * port chosen by the OS. Resolves once the service answers HTTP requests.
 */
export async function startAzurite(opts: { dir: string; blobPort?: number }): Promise<LocalAzurite> {
    const dir = path.resolve(opts.dir);
    fs.mkdirSync(dir, { recursive: true });
    await stopOrphans(dir);
    const portFile = path.join(dir, PORT_FILE);
    let port = opts.blobPort;
    if (port === undefined && fs.existsSync(portFile)) {
        const saved = Number(fs.readFileSync(portFile, "utf8").trim());
        if (Number.isInteger(saved) && saved > 0 && saved < 65536) port = saved;
    }
    const requestedPort = port ?? 0;

    const args = [
        azuriteBlobMain(),
        "--location", dir,
        "--blobHost", "127.0.0.1",
        "--blobPort", String(requestedPort),
        "--silent",
        "--skipApiVersionCheck",
        "--disableTelemetry",
    ];
    const env: NodeJS.ProcessEnv = { ...process.env };
    // Custom accounts or a SQL metadata store would change what we return: use the defaults.
    delete env.AZURITE_ACCOUNTS;
    delete env.AZURITE_DB;

    const child = spawn(process.execPath, args, { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
    const tail: string[] = [];
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const exitPromise = new Promise<void>((resolve) => {
        child.once("exit", (code, signal) => {
            exited = { code, signal };
            resolve();
        });
    });
    let spawnError: Error | undefined;
    child.once("error", (err) => {
        spawnError = err;
    });
    let listeningPort: number | undefined;
    const onOutput = (chunk: Buffer) => {
        for (const line of chunk.toString("utf8").split(/\r?\n/)) {
            if (!line.trim()) continue;
            tail.push(line);
            if (tail.length > OUTPUT_TAIL_LINES) tail.shift();
            const m = /successfully listens on https?:\/\/[^\s]*:(\d+)/.exec(line);
            if (m) listeningPort = Number(m[1]);
        }
    };
    child.stdout!.on("data", onOutput);
    child.stderr!.on("data", onOutput);

    // Do not leave an orphaned Azurite behind if our process exits without calling stop().
    const killOnExit = () => {
        if (!exited) child.kill("SIGKILL");
    };
    process.once("exit", killOnExit);

    const failStart = async (what: string): Promise<never> => {
        process.removeListener("exit", killOnExit);
        if (!exited) {
            child.kill("SIGKILL");
            await exitPromise;
        }
        const out = tail.join("\n");
        const inUse = /EADDRINUSE/.test(out);
        throw new MigrationError(
            "Azurite",
            `${what} (workspace ${dir}, port ${requestedPort || "auto"}). Output:\n${out || "(none)"}\n`,
            inUse
                ? `Port ${requestedPort} is in use by another process: stop it, or delete ${portFile} to let Azurite pick a free port (blob URLs saved in earlier state will then be stale).`
                : "Check that the azurite package is installed (`npm install`) and that the workspace directory is writable.",
        );
    };

    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
        if (spawnError) return failStart(`could not start the Azurite blob service: ${spawnError.message}`);
        if (exited) {
            return failStart(
                `the Azurite blob service exited during start with ${exited.code !== null ? `code ${exited.code}` : `signal ${exited.signal}`}`,
            );
        }
        // The service logs its real address (the OS picks the port when we pass 0); then poll it.
        if (listeningPort !== undefined && (await answers(listeningPort))) break;
        if (Date.now() > deadline) {
            return failStart(`the Azurite blob service did not answer within ${START_TIMEOUT_MS / 1000} s`);
        }
        await sleep(100);
    }
    const actualPort = listeningPort!;
    fs.writeFileSync(portFile, `${actualPort}\n`);

    const stop = async (): Promise<void> => {
        process.removeListener("exit", killOnExit);
        if (exited) return;
        child.kill("SIGTERM");
        const timer = setTimeout(() => {
            if (!exited) child.kill("SIGKILL");
        }, STOP_TIMEOUT_MS);
        await exitPromise;
        clearTimeout(timer);
    };

    return {
        blobEndpoint: `http://127.0.0.1:${actualPort}/${AZURITE_ACCOUNT_NAME}`,
        accountName: AZURITE_ACCOUNT_NAME,
        accountKey: AZURITE_ACCOUNT_KEY,
        stop,
    };
}

/** True when something answers an HTTP GET on 127.0.0.1:port (any status). */
function answers(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const req = http.get({ host: "127.0.0.1", port, path: `/${AZURITE_ACCOUNT_NAME}?comp=list`, timeout: 2000 }, (res) => {
            res.resume();
            resolve(true);
        });
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", () => resolve(false));
    });
}

function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}
