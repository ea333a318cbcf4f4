/**
 * The local rehearsal: `npm start` (up), `npm run preview`, `npm run destroy`.
 *
 * Starts real services - a source PostgreSQL shaped like Azure's (or SOURCE_DATABASE_URL),
 * Azurite, and the Heroku emulator backed by its own PostgreSQL (or REHEARSAL_TARGET_URL) -
 * then runs the same index.ts a user runs with `pulumi up`, under the rehearsal engine
 * (local/engine.ts). State, keys and service data live in .rehearsal/ (REHEARSAL_DIR), so a
 * second run diffs and resumes, and destroy cleans up from state.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as os from "os";
import { spawn, type ChildProcess } from "child_process";
import { startCluster, type LocalCluster } from "./postgres";
import { seedDemoSource } from "./demo";
import { startAzurite, type LocalAzurite } from "./azurite";
import { startHerokuEmulator, type HerokuEmulatorHandle } from "../emulator/heroku";
import * as heroku from "../lib/heroku";
import { parseDatabaseUrl } from "../lib/pg";
import { REHEARSAL_SOURCE_DIR_ENV } from "../lib/retire";
import { redact, registerSecret } from "../lib/redact";
import { endLiveLine } from "../lib/progress";
import { RehearsalEngine, type Step } from "./engine";
import { startMonitorServer, stackOutputsFromWire } from "./monitorServer";
import { acquireLock } from "./lock";
import { freezeInEffect, freezeStatusSentence, type FreezeRecord, type FreezeSpec } from "../lib/freeze";
import { configFromJson, readSettings } from "../lib/config";
import { MigrationError, errorMessage } from "../lib/errors";
import { StateFile, isSecret, unwrapSecrets } from "./state";
import type { MigrationReport } from "../lib/report";
import { readVerificationFile, reportFromOutputs, writeReport } from "../lib/reportFiles";
import type { PgConnection } from "../lib/types";

export const PROJECT = "azure-to-heroku-pg";
export const STACK = "rehearsal";
export const TARGET_APP = "a2h-rehearsal";
/** Stands for the user's existing app: frozen during the migration, repointed at cutover. */
export const LEGACY_APP = "a2h-legacy-app";

type Command = "up" | "preview" | "destroy";

export interface Services {
    source: PgConnection;
    demo: boolean;
    azurite: LocalAzurite;
    emulator: HerokuEmulatorHandle;
    stop(): Promise<void>;
}

function log(line: string): void {
    endLiveLine(); // a live progress bar on the same terminal (stderr) ends first
    process.stdout.write(redact(line) + "\n");
}

function persistentSecret(file: string): string {
    if (!fs.existsSync(file)) {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, crypto.randomBytes(24).toString("hex"), { mode: 0o600 });
    }
    return fs.readFileSync(file, "utf8").trim();
}

export async function startServices(dir: string): Promise<Services> {
    const started: Array<{ stop(): Promise<void> }> = [];
    const stop = async () => {
        for (const s of started.reverse()) await s.stop().catch(() => undefined);
    };
    try {
        let source: PgConnection;
        let demo = false;
        if (process.env.SOURCE_DATABASE_URL) {
            delete process.env[REHEARSAL_SOURCE_DIR_ENV];
            source = parseDatabaseUrl(process.env.SOURCE_DATABASE_URL, "SOURCE_DATABASE_URL");
            log(`source: ${source.user}@${source.host}:${source.port}/${source.database} (SOURCE_DATABASE_URL)`);
        } else {
            const cluster: LocalCluster = await startCluster({ dataDir: path.join(dir, "pg", "source"), ssl: true });
            started.push(cluster);
            // The only source a rehearsal may retire (retireSourceServer; lib/retire.ts).
            process.env[REHEARSAL_SOURCE_DIR_ENV] = cluster.dataDir;
            const seeded = await seedDemoSource(cluster, { customSettings: true });
            source = seeded.connection;
            demo = true;
            log(`source: demo database ${seeded.database} on 127.0.0.1:${cluster.port} (SSL, Azure-style roles), ${seeded.tables.length} tables`);
        }
        registerSecret(source.password);

        let targetAdminUrl = process.env.REHEARSAL_TARGET_URL;
        if (!targetAdminUrl) {
            // SSL on, as on Heroku: clients connect to DATABASE_URL with sslmode=require.
            const target = await startCluster({ dataDir: path.join(dir, "pg", "heroku"), ssl: true });
            started.push(target);
            targetAdminUrl = target.url("postgres");
        }
        registerSecret(parseDatabaseUrl(targetAdminUrl, "REHEARSAL_TARGET_URL").password);

        const azurite = await startAzurite({ dir: path.join(dir, "azurite") });
        started.push(azurite);
        const apiKey = persistentSecret(path.join(dir, "heroku", "api-key"));
        registerSecret(apiKey);
        const emulator = await startHerokuEmulator({
            postgresAdminUrl: targetAdminUrl,
            stateFile: path.join(dir, "heroku", "state.json"),
            apiKey,
            provisionDelayMs: 1500,
            waitStatusDelayMs: 1000,
        });
        started.push(emulator);
        log(`azurite: ${azurite.blobEndpoint}; heroku emulator: ${emulator.platformUrl}`);
        return { source, demo, azurite, emulator, stop };
    } catch (err) {
        await stop();
        throw err;
    }
}

/**
 * The app that stands for the user's running app: created once, with web and worker dynos. While
 * the stack holds no cutover (a first run, or after a destroy), it points at the source: a destroy
 * deletes the rehearsal's Heroku database but does not undo a cutover (nor does Pulumi's on
 * Heroku), so without this the next run's cutover would record a deleted database as the value a
 * rollback restores.
 */
async function ensureLegacyApp(services: Services, stackHasCutover: boolean): Promise<void> {
    const ep = heroku.herokuEndpointsFromEnv();
    const source = services.source;
    // Before the migration the app points at Azure (no password here: this is only a marker).
    const sourceUrl = `postgres://${source.user}@${source.host}:${source.port}/${source.database}?sslmode=${source.sslmode ?? "require"}`;
    if (await heroku.getApp(ep, LEGACY_APP)) {
        if (stackHasCutover) return;
        const current = (await heroku.getConfigVars(ep, LEGACY_APP)).DATABASE_URL;
        if (current === sourceUrl) return;
        await heroku.setConfigVars(ep, LEGACY_APP, { DATABASE_URL: sourceUrl });
        log(`rehearsal: ${LEGACY_APP}'s DATABASE_URL pointed at a database of an earlier, destroyed run; set back to the source (the stack holds no cutover)`);
        return;
    }
    await heroku.createApp(ep, { name: LEGACY_APP, region: "us" });
    // On Heroku, process types come from a deploy's Procfile; the emulator seeds them directly.
    services.emulator.seedFormation(LEGACY_APP, [{ type: "web", quantity: 1 }, { type: "worker", quantity: 2 }]);
    await heroku.setConfigVars(ep, LEGACY_APP, { DATABASE_URL: sourceUrl });
}

/** REHEARSAL_CONFIG, checked before any service starts. */
export function rehearsalOverrides(): Record<string, string> {
    const text = process.env.REHEARSAL_CONFIG;
    return text && text.trim() !== "" ? configFromJson(text, "REHEARSAL_CONFIG") : {};
}

export function rehearsalConfig(services: Services): { config: Record<string, string>; secretKeys: string[] } {
    const s = services.source;
    const values: Record<string, string> = {
        sourceHost: s.host,
        sourcePort: String(s.port),
        sourceDatabase: s.database,
        sourceUser: s.user,
        sourcePassword: s.password ?? "",
        sourceSslMode: s.sslmode ?? "require",
        ...(s.sslrootcert ? { sourceSslRootCert: s.sslrootcert } : {}),
        storageResourceGroup: "rehearsal-rg",
        storageLocation: "eastus",
        storageAccountName: services.azurite.accountName,
        storageContainer: "pg-migration",
        sasExpiryMinutes: "60",
        herokuApp: TARGET_APP,
        herokuCreateApp: "true",
        herokuPlan: "essential-1",
        rehearsal: "true",
        freezeMode: "maintenance",
        freezeApp: LEGACY_APP,
        freezeScaleDown: JSON.stringify(["worker"]),
        dependentApps: JSON.stringify([LEGACY_APP]),
    };
    if (services.demo) values.acceptanceCommand = `node ${JSON.stringify(path.join(__dirname, "acceptance-check.js"))}`;
    // REHEARSAL_CONFIG='{"herokuPlan":"standard-0"}' overrides keys, as `pulumi config set` would.
    Object.assign(values, rehearsalOverrides());
    const config: Record<string, string> = {};
    for (const [k, v] of Object.entries(values)) config[`${PROJECT}:${k}`] = v;
    return { config, secretKeys: [`${PROJECT}:sourcePassword`] };
}

/** The program's own output, redacted: its stderr to ours, everything else to the rehearsal's log. */
function printProgramLine(line: string, stream?: "stderr"): void {
    if (stream === "stderr") process.stderr.write(redact(line) + "\n");
    else log(line);
}

/** Where cmd/run is: what the Node language host resolves from the program directory. */
export const CMD_RUN = require.resolve("@pulumi/pulumi/cmd/run", { paths: [path.join(__dirname, "..")] });

/** The project root (Pulumi.yaml), which is also the program directory. */
const PROJECT_ROOT = path.join(__dirname, "..");

export interface ProgramRun {
    /** Pulumi.yaml's directory; the program is its "." entry point (package.json `main`). */
    root: string;
    project: string;
    stack: string;
    preview: boolean;
    /** Full keys ("project:key") to string values, as `pulumi config` holds them. */
    config: Record<string, string>;
    secretKeys: string[];
    monitorAddress: string;
    /** Extra environment for the program (on top of this process's). */
    env?: Record<string, string>;
}

/**
 * The command line and environment with which the Node language host (pulumi-language-nodejs,
 * `execRuntime` and `constructArguments`) starts cmd/run: the same flags in the same order, the
 * config with keys as `<namespace>:config:<name>`, the secret keys as given, and TypeScript on
 * (Pulumi.yaml: `runtime.options.typescript: true`). The engine's gRPC address serves both the
 * ResourceMonitor and the Engine service. `--sync` is left out: the language host's synchronous
 * invoke pipes are never opened by SDK 3.248 (test/cmd-run.test.ts checks that).
 */
export function cmdRunInvocation(run: ProgramRun): { args: string[]; env: Record<string, string> } {
    const config: Record<string, string> = {};
    for (const [k, v] of Object.entries(run.config)) {
        const i = k.indexOf(":");
        config[i < 0 ? k : `${k.slice(0, i)}:config:${k.slice(i + 1)}`] = v;
    }
    const parallel = Number(process.env.PULUMI_PARALLEL) > 0 ? Number(process.env.PULUMI_PARALLEL) : os.availableParallelism() * 4;
    const args = [
        CMD_RUN,
        "--monitor", run.monitorAddress,
        "--engine", run.monitorAddress,
        // A DIY (file) backend's stacks belong to the organization "organization".
        "--organization", "organization",
        "--project", run.project,
        "--root-directory", run.root,
        "--stack", run.stack,
        "--pwd", run.root,
        ...(run.preview ? ["--dry-run"] : []),
        "--parallel", String(parallel),
        ".",
    ];
    const env: Record<string, string> = {
        ...(process.env as Record<string, string>),
        ...run.env,
        PULUMI_CONFIG: JSON.stringify(config),
        PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(run.secretKeys),
        PULUMI_NODEJS_TYPESCRIPT: "true",
        // Not the language host's: ends the program if the rehearsal is killed (local/program-watchdog.js).
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ? `${process.env.NODE_OPTIONS} ` : ""}--require ${JSON.stringify(path.join(__dirname, "program-watchdog.js"))}`,
    };
    return { args, env };
}

export interface ProgramProcess {
    /** Resolves with the stack outputs; rejects with the failed resource's or the program's error. */
    outputs: Promise<Record<string, unknown>>;
    /** Stops the program (SIGINT, then SIGKILL after 5 s, as the language host does). */
    kill(): void;
    pid?: number;
}

/**
 * Runs index.ts under `@pulumi/pulumi/cmd/run` against the rehearsal's ResourceMonitor and resolves
 * its stack outputs. Like the Pulumi engine, the update ends as soon as a resource has failed and
 * nothing is in flight: the program is stopped (its remaining outputs can never settle).
 */
export function runProgram(engine: RehearsalEngine, run: Omit<ProgramRun, "monitorAddress">, print: (line: string, stream?: "stderr") => void = printProgramLine): ProgramProcess {
    let child: ChildProcess | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const kill = () => {
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        child.kill("SIGINT");
        killTimer ??= setTimeout(() => child?.kill("SIGKILL"), 5000);
        killTimer.unref();
    };
    const onExit = () => child?.kill("SIGKILL");
    const outputs = (async () => {
        const programErrors: string[] = [];
        const server = await startMonitorServer({
            project: run.project,
            stack: run.stack,
            register: (reg) => engine.register(reg),
            invoke: (token, args) => engine.invoke(token, unwrapSecrets(args)),
            log: (severity, message) => {
                if (severity === "debug") return;
                // After a failed step the engine is shut down: what the program reports then is a
                // consequence of that failure, already recorded.
                if (engine.errors.length > 0) return;
                if (severity === "error") programErrors.push(redact(message));
                print(`${severity}: [runtime] ${message}`);
            },
        });
        try {
            const { args, env } = cmdRunInvocation({ ...run, monitorAddress: server.address });
            child = spawn(process.execPath, args, { cwd: run.root, env, stdio: ["ignore", "pipe", "pipe"] });
            process.once("exit", onExit);
            const stderrTail: string[] = [];
            const lines = (stream: NodeJS.ReadableStream, keep?: string[]) => {
                const to = keep ? "stderr" : undefined;
                let buf = "";
                stream.setEncoding("utf8");
                stream.on("data", (chunk: string) => {
                    buf += chunk;
                    let i: number;
                    while ((i = buf.indexOf("\n")) >= 0) {
                        const line = buf.slice(0, i);
                        buf = buf.slice(i + 1);
                        if (keep) {
                            keep.push(redact(line));
                            keep.splice(0, Math.max(0, keep.length - 20));
                        }
                        print(line, to);
                    }
                });
                stream.on("end", () => buf && print(buf, to));
            };
            lines(child.stdout!);
            lines(child.stderr!, stderrTail);
            const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
                child!.on("error", reject);
                child!.on("exit", (code, signal) => resolve({ code, signal }));
            });
            const failed = engine.settledAfterError().then(() => kill());
            const status = await Promise.race([exited, failed.then(() => exited)]);
            if (engine.errors.length > 0) {
                // The program may have ended first while other steps were still in flight.
                await failed;
                throw engine.errors[0];
            }
            if (status.code !== 0) {
                // cmd/run logs the error that ended the program last (earlier ones are the program's own log.error lines).
                const why = programErrors.length > 0 ? programErrors[programErrors.length - 1] : stderrTail.filter((l) => l.trim()).slice(-10).join("\n");
                if (programErrors.length > 0 && status.code === 32) throw new Error(why);
                throw new Error(`the program (index.ts under @pulumi/pulumi/cmd/run) exited with ${status.signal ? `signal ${status.signal}` : `code ${status.code}`}${why ? `: ${why}` : ""}`);
            }
            const stack = server.stackOutputs();
            if (!stack) throw new Error("the program (index.ts under @pulumi/pulumi/cmd/run) ended without registering its stack outputs");
            return stackOutputsFromWire(stack);
        } finally {
            engine.stopWaiting();
            process.off("exit", onExit);
            kill();
            await server.stop();
        }
    })();
    return {
        outputs,
        kill,
        get pid() {
            return child?.pid;
        },
    };
}

/** What only the rehearsal's engine knows of the run: the steps it took and how long each provider ran. */
function engineSteps(steps: Step[]): { steps: MigrationReport["steps"]; timings: MigrationReport["timings"] } {
    return {
        steps: steps.filter((s) => s.op !== "same").map((s) => ({ op: s.op, type: s.type, name: s.name, detail: s.detail })),
        timings: steps.filter((s) => s.ms !== undefined).map((s) => ({ stage: s.name.replace(/^migration-/, ""), ms: s.ms as number })),
    };
}

export async function rehearse(command: Command, dir: string): Promise<{ ok: boolean; reportPath: string; report: MigrationReport; signal?: NodeJS.Signals }> {
    const startedAt = new Date().toISOString();
    fs.mkdirSync(dir, { recursive: true });
    rehearsalOverrides();
    const lock = acquireLock(dir, command);
    if (lock.staleRemoved) log(`removed a stale lock of an earlier \`${lock.staleRemoved.command}\` (pid ${lock.staleRemoved.pid}, started ${lock.staleRemoved.startedAt}) that is no longer running`);
    // Like Pulumi's language host: a failed resource rejects every Output that depends on it;
    // those rejections are consequences of an error the engine already recorded.
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown) => void unhandled.push(err);
    process.on("unhandledRejection", onUnhandled);
    // Ctrl-C or kill: end the run as a failure (services stopped, where the freeze stands said).
    let signal: NodeJS.Signals | undefined;
    let interrupt: (sig: NodeJS.Signals) => void = () => undefined;
    const interrupted = new Promise<never>((_, reject) => {
        interrupt = (sig) => {
            if (signal) {
                // A second Ctrl-C: the user will not wait for the clean stop.
                process.stderr.write(`${sig} again: exiting at once; services this rehearsal started may still run (the next run stops them)\n`);
                process.exit(sig === "SIGINT" ? 130 : 143);
            }
            signal = sig;
            log(`\n${sig}: stopping the ${command}; the services this rehearsal started are being stopped`);
            reject(new MigrationError("rehearsal", `interrupted by ${sig} during \`${command}\`.`, "Run it again to resume from the saved state."));
        };
    });
    interrupted.catch(() => undefined);
    const onSignal = (sig: NodeJS.Signals) => interrupt(sig);
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    fs.rmSync(path.join(dir, "verification.json"), { force: true });
    let services: Services | undefined;
    let engine: RehearsalEngine | undefined;
    let error: string | undefined;
    let freeze: string | undefined;
    let outputs: Record<string, unknown> = {};
    let program: ProgramProcess | undefined;
    const starting = startServices(dir);
    starting.catch(() => undefined);
    try {
        services = await Promise.race([starting, interrupted]);
        process.env.HEROKU_API_KEY = services.emulator.apiKey;
        process.env.HEROKU_HOST = services.emulator.platformUrl;
        process.env.HEROKU_DATA_HOST = services.emulator.dataUrl;
        // index.ts writes preflight.md/json and Verification writes verification.json here.
        process.env.A2H_REPORT_DIR = dir;
        const stateFile = new StateFile(path.join(dir, "state", `${STACK}.json`), path.join(dir, "state", "secrets.key"));
        await ensureLegacyApp(services, stateFile.load(PROJECT, STACK).resources.some((r) => r.type === "pulumi-nodejs:dynamic/migration:Cutover"));

        const { config, secretKeys } = rehearsalConfig(services);
        engine = new RehearsalEngine({
            project: PROJECT,
            stack: STACK,
            preview: command === "preview",
            config,
            secretKeys,
            stateFile,
            azurite: services.azurite,
            log: (line) => log(line),
        });
        log(`${command === "destroy" ? "Destroying" : command === "preview" ? "Previewing" : "Updating"} stack ${PROJECT}/${STACK}`);
        if (command === "destroy") {
            await Promise.race([engine.destroy(), interrupted]);
        } else {
            // `pulumi up` lets ts-node type-check the program (11 s of CPU here, minutes on a busy
            // machine); the rehearsal only transpiles, as the CLI does with this variable set,
            // since `npm run typecheck` checks the types. PULUMI_NODEJS_TRANSPILE_ONLY=false type-checks.
            const env = { PULUMI_NODEJS_TRANSPILE_ONLY: process.env.PULUMI_NODEJS_TRANSPILE_ONLY ?? "true" };
            program = runProgram(engine, { root: PROJECT_ROOT, project: PROJECT, stack: STACK, preview: command === "preview", config, secretKeys, env });
            program.outputs.catch(() => undefined);
            outputs = await Promise.race([program.outputs, interrupted]);
            await engine.finishUpdate(outputs);
        }
    } catch (err) {
        // The SDK wraps a failed resource's error in every output that depends on it; the
        // engine's record of the failure is the readable one.
        error = signal ? errorMessage(err) : engine?.errors[0]?.message ?? errorMessage(err);
        await engine?.recordFailure(command, error).catch(() => undefined);
    } finally {
        // The program never outlives the run (Ctrl-C, kill, or a failure): stopped before the services.
        if (program) {
            program.kill();
            await program.outputs.catch(() => undefined);
        }
        // Then the dynamic provider host, like the CLI's plugins at the end of an update.
        await engine?.close().catch(() => undefined);
        if (services && engine && (error || command === "preview")) freeze = await freezeStanding(engine, services).catch((e) => `Where the write freeze stands could not be checked: ${errorMessage(e)}.`);
        // Interrupted while the services were starting: stop them once they are up.
        await (services ?? (await starting.catch(() => undefined)))?.stop();
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
        process.off("unhandledRejection", onUnhandled);
        lock.release();
    }
    if (!services) throw new Error(error ?? "the services did not start");
    // A rejection nobody handled that is not the consequence of a recorded failure is a failure too.
    if (!error && unhandled.length > 0) error = errorMessage(unhandled[0]);
    // The same report a real `pulumi up` writes (lib/reportFiles.ts), with the engine's steps.
    const report = reportFromOutputs(unwrapSecrets(outputs), {
        command, startedAt, database: services.source.database, error, freeze, ...engineSteps(engine?.steps ?? []),
        verification: readVerificationFile(dir),
    });
    const reportPath = writeReport(dir, report);
    printSummary(command, report, outputs, reportPath);
    return { ok: !error, reportPath, report, signal };
}

/**
 * Where the write freeze stands now, asked of the services themselves (not of the state, which
 * cannot know whether a failed stage lifted it): for the summary and the report after a failure
 * or an interruption, and for preview after an interrupted run.
 */
async function freezeStanding(engine: RehearsalEngine, services: Services): Promise<string> {
    const byType = (t: string) => engine.resources.find((r) => r.type === `pulumi-nodejs:dynamic/migration:${t}`);
    if (byType("Rollback")) return "Cutover rolled back: the dependent apps write to their previous database again.";
    if (byType("Cutover")) return "Cutover completed: writes go to the new database.";
    const frozen = byType("WriteFreeze");
    let spec = frozen?.outputs.spec as FreezeSpec | undefined;
    let record = frozen?.outputs.record as FreezeRecord | undefined;
    if (!spec || !record) {
        // Not in state: the freeze was never applied, or the run stopped while applying it.
        const { config } = rehearsalConfig(services);
        const f = readSettings((k) => config[`${PROJECT}:${k}`]).freeze;
        spec = { mode: f.mode, app: f.app, scaleDown: f.scaleDown, command: f.command, unfreezeCommand: f.unfreezeCommand };
        record = { mode: f.mode, app: f.app, maintenanceBefore: false, formationBefore: [], readOnlyBefore: "", appliedAt: "" };
        if (spec.mode === "hook") return "No write freeze was applied by this stack (freezeCommand did not run to completion).";
    }
    if (spec.mode === "none") return "No write freeze was configured (freezeMode none).";
    const inEffect = await freezeInEffect(record, { source: services.source });
    if (inEffect === undefined) return `The freeze made by freezeCommand may still be on (it cannot be checked): run \`npm start\` again to resume, or run your unfreezeCommand.`;
    if (!inEffect) return "No write freeze is in effect: the app writes to the source as before.";
    return freezeStatusSentence(spec, false).replace("run `pulumi up` again", "run `npm start` again");
}

function printSummary(command: Command, report: MigrationReport, outputs: Record<string, unknown>, reportPath: string): void {
    log("");
    if (report.error) {
        log(`error: ${report.error}`);
        if (report.freeze) log(`freeze: ${report.freeze}`);
        log(`${command} FAILED. Report: ${reportPath}${command === "up" ? ` (and .md, .html)` : ""}`);
        return;
    }
    if (command === "up") {
        log("Outputs:");
        for (const [k, v] of Object.entries(outputs)) {
            if (k === "restoreLogs" || k === "tables" || k === "preflight" || k === "verificationResult") continue;
            log(`    ${k}: ${isSecret(v) ? "[secret]" : JSON.stringify(v)}`);
        }
        log("");
        log(`Migration ${report.status.toUpperCase()}: ${report.verification ?? `${report.tables.length} tables`}; dump ${report.dump.bytes} bytes, restore ${report.restore.id}.`);
        const rolledBackAt = (unwrapSecrets(outputs) as Record<string, unknown>).rolledBackAt;
        if (rolledBackAt) log(`Cutover ROLLED BACK at ${rolledBackAt}: the dependent apps use their previous DATABASE_URL; the Heroku app and database are kept.`);
    } else if (command === "preview") {
        const counts = report.steps.reduce<Record<string, number>>((m, s) => ({ ...m, [s.op]: (m[s.op] ?? 0) + 1 }), {});
        if (report.freeze) log(`freeze: ${report.freeze}`);
        log(`Plan: ${Object.entries(counts).map(([op, n]) => `${n} to ${op}`).join(", ") || "no changes"}. Nothing was changed.`);
    } else {
        log(`Destroy complete: ${report.steps.filter((s) => s.op === "delete").length} deleted, ${report.steps.filter((s) => s.op === "retain").length} retained.`);
    }
    log(`Report: ${reportPath}${command === "up" ? " (and .md, .html)" : ""}`);
    if (command !== "destroy") log(`Preflight: ${path.join(path.dirname(reportPath), "preflight.md")}`);
}

if (require.main === module) {
    const command = (process.argv[2] ?? "up") as Command;
    if (!["up", "preview", "destroy"].includes(command)) {
        process.stderr.write(`usage: rehearse.ts up|preview|destroy (got "${command}")\n`);
        process.exit(2);
    }
    const dir = path.resolve(process.env.REHEARSAL_DIR ?? path.join(__dirname, "..", ".rehearsal"));
    rehearse(command, dir).then(
        (r) => process.exit(r.signal === "SIGINT" ? 130 : r.signal === "SIGTERM" ? 143 : r.ok ? 0 : 1),
        (err) => {
            process.stderr.write(`rehearsal ${command} failed: ${errorMessage(err)}\n`);
            process.exit(1);
        },
    );
}
