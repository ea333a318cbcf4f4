/** Real source and target clusters plus a rehearsal directory, for the integration tests. */
import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { spawn, spawnSync, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BlobServiceClient, StorageSharedKeyCredential } from "@azure/storage-blob";
import { startCluster, type LocalCluster } from "../local/postgres";
import { seedDemoSource } from "../local/demo";
import { startAzurite } from "../local/azurite";
import type { PgConnection } from "../lib/types";
import type { MigrationReport } from "../lib/report";
import { reportPath } from "../lib/reportFiles";

export { scenarioSteps } from "./scenario-helpers";

const ROOT = path.join(__dirname, "..");

export type RehearsalCommand = "up" | "preview" | "destroy";
/** One step the engine took, as the report records it (local/rehearse.ts `engineSteps`). */
export type ReportStep = MigrationReport["steps"][number];

export interface RehearsalFixture {
    dir: string;
    source: LocalCluster;
    target: LocalCluster;
    sourceConn: PgConnection;
    /** Runs `local/rehearse.ts <command>` in a child process; `env` adds variables (e.g. REHEARSAL_FAULT). */
    rehearse(command: RehearsalCommand, config?: Record<string, string>, env?: Record<string, string>): { status: number; out: string };
    /** Starts a rehearsal in the background (stdout and stderr piped). */
    start(command: RehearsalCommand, config?: Record<string, string>): ChildProcess;
    /** The legacy app's maintenance flag and worker quantity in the emulator. */
    legacyApp(): { maintenance: boolean; worker: number };
    /**
     * The report the last run of `command` wrote (migration-report.json for up, migration-plan.json
     * for preview, destroy-report.json for destroy). Fails when that run wrote none: a report left
     * by an earlier run is never taken for it.
     */
    report(command?: RehearsalCommand): MigrationReport;
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

/**
 * The report of `command` in a rehearsal directory, checked to be written by a run started at or
 * after `since` (ms since the epoch), so an older file is never read as the new run's.
 */
export function readReport(dir: string, command: RehearsalCommand, since?: number): MigrationReport {
    const file = reportPath(dir, command);
    assert.ok(fs.existsSync(file), `\`${command}\` wrote no report (${file} does not exist)`);
    const report = JSON.parse(fs.readFileSync(file, "utf8")) as MigrationReport;
    assert.equal(report.command, command, `${file} is the report of \`${report.command}\``);
    // startedAt has millisecond precision; the run starts after the test noted the time.
    if (since !== undefined) assert.ok(Date.parse(report.startedAt) >= since, `the last \`${command}\` wrote no report: ${file} is from an earlier run (started ${report.startedAt})`);
    return report;
}

/** What a step is looked up by: `type` is the short name (`DumpToBlob`, `Command`) or the full type token; `detail` a string or a pattern. */
export interface StepQuery {
    op?: string;
    type?: string;
    name?: string;
    detail?: string | RegExp;
}

/** A step as the engine prints it: `replace  pulumi-nodejs:dynamic/migration:DumpToBlob migration-dump (changed: etag)`. */
export function stepLine(s: ReportStep): string {
    return `${s.op.padEnd(8)} ${s.type} ${s.name}${s.detail ? ` (${s.detail})` : ""}`;
}

function stepMatches(s: ReportStep, q: StepQuery): boolean {
    const short = s.type.slice(s.type.lastIndexOf(":") + 1);
    return (q.op === undefined || s.op === q.op)
        && (q.type === undefined || s.type === q.type || short === q.type)
        && (q.name === undefined || s.name === q.name)
        && (q.detail === undefined || (typeof q.detail === "string" ? s.detail === q.detail : q.detail.test(s.detail ?? "")));
}

function describeQuery(q: StepQuery): string {
    return [q.op ?? "any op", q.type ?? "any type", q.name ?? "any name", q.detail === undefined ? "" : `(${q.detail})`].filter(Boolean).join(" ");
}

function listSteps(report: MigrationReport): string {
    return report.steps.length ? report.steps.map((s) => `    ${stepLine(s)}`).join("\n") : "    (no steps)";
}

/** The steps of a report that match `q` (every step when `q` is empty). */
export function stepsOf(report: MigrationReport, q: StepQuery = {}): ReportStep[] {
    return report.steps.filter((s) => stepMatches(s, q));
}

/** The one step of the report matching `q`; fails, listing the report's steps, when there is none or more than one. */
export function findStep(report: MigrationReport, q: StepQuery): ReportStep {
    const found = stepsOf(report, q);
    assert.equal(found.length, 1, `expected one step ${describeQuery(q)} in the \`${report.command}\` report, found ${found.length}; its steps:\n${listSteps(report)}`);
    return found[0];
}

/** Fails, listing the report's steps, when any step matches `q`. */
export function assertNoStep(report: MigrationReport, q: StepQuery, why?: string): void {
    const found = stepsOf(report, q);
    assert.equal(found.length, 0, `${why ? `${why}: ` : ""}expected no step ${describeQuery(q)} in the \`${report.command}\` report; its steps:\n${listSteps(report)}`);
}

/** How many steps of each op the report holds, e.g. { create: 14 } (what `Plan:` and `Destroy complete:` print). */
export function stepCounts(report: MigrationReport): Record<string, number> {
    return report.steps.reduce<Record<string, number>>((m, s) => ({ ...m, [s.op]: (m[s.op] ?? 0) + 1 }), {});
}

/**
 * A top-level test body with its own fixture, cleaned up after it: the test starts from nothing
 * and runs alone (`--test-name-pattern`) as it runs in the file.
 */
export function withFixture(prefix: string, fn: (fx: RehearsalFixture, t: TestContext) => Promise<void>, opts: FixtureOptions = {}): (t: TestContext) => Promise<void> {
    return async (t) => {
        const fx = await rehearsalFixture(prefix, opts);
        try {
            await fn(fx, t);
        } finally {
            await fx.cleanup();
        }
    };
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
    // When each command last started, so a report is only read as that run's.
    const startedAt: Partial<Record<RehearsalCommand, number>> = {};
    const herokuState = () => JSON.parse(fs.readFileSync(path.join(dir, "heroku", "state.json"), "utf8"));
    return {
        dir,
        source,
        target,
        sourceConn,
        rehearse(command, config = {}, extraEnv = {}) {
            startedAt[command] = Date.now();
            const r = spawnSync(process.execPath, rehearseArgs(command), { cwd: ROOT, encoding: "utf8", timeout: 240_000, env: env(config, extraEnv) });
            return { status: r.status ?? -1, out: `${r.stdout}\n${r.stderr}` };
        },
        start(command, config = {}) {
            startedAt[command] = Date.now();
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
        report(command = "up") {
            return readReport(dir, command, startedAt[command]);
        },
        async cleanup() {
            await source.stop().catch(() => undefined);
            await target.stop().catch(() => undefined);
            fs.rmSync(tmp, { recursive: true, force: true });
        },
    };
}
