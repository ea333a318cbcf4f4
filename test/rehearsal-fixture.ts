/** Real source and target clusters plus a rehearsal directory, for the integration tests. */
import { spawn, spawnSync, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BlobServiceClient, StorageSharedKeyCredential } from "@azure/storage-blob";
import { startCluster, type LocalCluster } from "../local/postgres";
import { seedDemoSource } from "../local/demo";
import { startAzurite } from "../local/azurite";
import type { PgConnection } from "../lib/types";

const ROOT = path.join(__dirname, "..");

export interface RehearsalFixture {
    dir: string;
    source: LocalCluster;
    target: LocalCluster;
    sourceConn: PgConnection;
    /** Runs `local/rehearse.ts <command>` in a child process; `env` adds variables (e.g. REHEARSAL_FAULT). */
    rehearse(command: "up" | "preview" | "destroy", config?: Record<string, string>, env?: Record<string, string>): { status: number; out: string };
    /** Starts a rehearsal in the background (stdout and stderr piped). */
    start(command: "up" | "preview" | "destroy", config?: Record<string, string>): ChildProcess;
    /** The legacy app's maintenance flag and worker quantity in the emulator. */
    legacyApp(): { maintenance: boolean; worker: number };
    /** The saved migration report of the last `up`. */
    report(): any;
    /** Every blob in the rehearsal's Azurite, as container/name. */
    blobs(): Promise<string[]>;
    /** Deletes every blob in the rehearsal's Azurite (a dump lost or removed by hand). */
    deleteBlobs(): Promise<void>;
    /** The Heroku emulator's saved state (apps, add-ons, formation...). */
    herokuState(): any;
    cleanup(): Promise<void>;
}

async function withBlobs(dir: string, remove: boolean): Promise<string[]> {
    const azurite = await startAzurite({ dir: path.join(dir, "azurite") });
    try {
        const svc = new BlobServiceClient(azurite.blobEndpoint, new StorageSharedKeyCredential(azurite.accountName, azurite.accountKey));
        const names: string[] = [];
        for await (const c of svc.listContainers()) {
            for await (const b of svc.getContainerClient(c.name).listBlobsFlat()) {
                names.push(`${c.name}/${b.name}`);
                if (remove) await svc.getContainerClient(c.name).deleteBlob(b.name);
            }
        }
        return names;
    } finally {
        await azurite.stop();
    }
}

export interface FixtureOptions {
    /** The demo source admin's password. @default derived from the cluster's */
    sourcePassword?: string;
    /** The target server's superuser password (REHEARSAL_TARGET_URL). @default random */
    targetPassword?: string;
    /** SOURCE_DATABASE_URL asks for sslmode=verify-full with the source's certificate as sslrootcert. @default false: sslmode=require */
    verifyFull?: boolean;
}

export async function rehearsalFixture(prefix: string, opts: FixtureOptions = {}): Promise<RehearsalFixture> {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    fs.chmodSync(tmp, 0o755);
    const dir = path.join(tmp, "rehearsal");
    const source = await startCluster({ dataDir: path.join(tmp, "source"), ssl: true });
    const target = await startCluster({ dataDir: path.join(tmp, "target"), ssl: true, password: opts.targetPassword });
    const sourceConn = (await seedDemoSource(source, { password: opts.sourcePassword, customSettings: true })).connection;
    let ssl = "sslmode=require";
    if (opts.verifyFull) {
        const ca = path.join(tmp, "source-ca.pem");
        fs.copyFileSync(path.join(fs.realpathSync(source.dataDir), "server.crt"), ca);
        ssl = `sslmode=verify-full&sslrootcert=${encodeURIComponent(ca)}`;
    }
    const sourceUrl = `postgres://${encodeURIComponent(sourceConn.user)}:${encodeURIComponent(sourceConn.password ?? "")}@127.0.0.1:${sourceConn.port}/${sourceConn.database}?${ssl}`;
    const rehearseArgs = (command: string) => ["--require", "ts-node/register/transpile-only", path.join(ROOT, "local", "rehearse.ts"), command];
    const env = (config: Record<string, string>, extraEnv: Record<string, string>) => ({
        ...process.env,
        REHEARSAL_DIR: dir,
        SOURCE_DATABASE_URL: sourceUrl,
        REHEARSAL_TARGET_URL: target.url("postgres"),
        REHEARSAL_CONFIG: JSON.stringify({ acceptanceCommand: `node ${path.join(ROOT, "local", "acceptance-check.js")}`, ...config }),
        A2H_QUIET: "",
        ...extraEnv,
    });
    const herokuState = () => JSON.parse(fs.readFileSync(path.join(dir, "heroku", "state.json"), "utf8"));
    return {
        dir,
        source,
        target,
        sourceConn,
        rehearse(command, config = {}, extraEnv = {}) {
            const r = spawnSync(process.execPath, rehearseArgs(command), { cwd: ROOT, encoding: "utf8", timeout: 240_000, env: env(config, extraEnv) });
            return { status: r.status ?? -1, out: `${r.stdout}\n${r.stderr}` };
        },
        start(command, config = {}) {
            return spawn(process.execPath, rehearseArgs(command), { cwd: ROOT, env: env(config, {}), stdio: ["ignore", "pipe", "pipe"] });
        },
        blobs() {
            return withBlobs(dir, false);
        },
        async deleteBlobs() {
            await withBlobs(dir, true);
        },
        herokuState,
        legacyApp() {
            const s = herokuState();
            const app = s.apps.find((a: { name: string }) => a.name === "a2h-legacy-app");
            const worker = s.formation.find((f: { app_id: string; type: string }) => f.app_id === app.id && f.type === "worker");
            return { maintenance: app.maintenance, worker: worker.quantity };
        },
        report() {
            return JSON.parse(fs.readFileSync(path.join(dir, "migration-report.json"), "utf8"));
        },
        async cleanup() {
            await source.stop().catch(() => undefined);
            await target.stop().catch(() => undefined);
            fs.rmSync(tmp, { recursive: true, force: true });
        },
    };
}
