/**
 * The engine side of Pulumi's dynamic provider protocol: starts `@pulumi/pulumi/cmd/dynamic-provider`
 * the way the Pulumi engine starts the plugin of every `pulumi-nodejs:dynamic:*` resource, and calls
 * it over gRPC (ResourceProvider: Handshake, GetPluginInfo, Configure, Check, Diff, Create, Update,
 * Delete) with properties marshalled as the engine marshals them. Read from the Pulumi sources:
 *
 * - pkg/resource/plugin/plugin.go: the launcher `pulumi-resource-pulumi-nodejs` runs in its own
 *   process group, in the project directory, with the parent's environment, and one argument: the
 *   address of the engine's gRPC server. Its first stdout line is its port; everything after that
 *   (stdout and stderr) is shown to the user. Stopping it: SIGINT to the group, SIGKILL after 5s.
 * - pkg/resource/plugin/provider_plugin.go (NewProvider): PULUMI_NODEJS_PROJECT, PULUMI_PROJECT and
 *   PULUMI_CONFIG (the config of the `pulumi-nodejs` namespace as JSON) are added to that environment.
 *   Handshake first (the host answers UNIMPLEMENTED: the legacy protocol), then Configure with the
 *   whole stack config (pkg/resource/deploy/target.go: dynamic providers get every key, namespaced,
 *   secrets kept as secrets in `args`; `variables` as "pulumi-nodejs:config:<key>"); the host's answer
 *   (acceptSecrets, acceptResources) decides how every later request is marshalled.
 * - Check/Diff/Create/Update/Delete: secrets are sent only if the host accepts them (it does not:
 *   they arrive as plain values), unknowns only where the engine allows them (Check and Diff during
 *   a preview), and the secret bit is put back on any result property whose input was secret
 *   (annotateSecrets). Diff's DIFF_UNKNOWN makes the engine compare old and new inputs itself
 *   (step_generator.go diffResource). Check failures stop the resource. The value encoding itself
 *   is in local/providerWire.ts.
 *
 * The host never sees the rehearsal's memory: a provider whose serialized closure does not load, or
 * that depends on something the closure did not capture, fails here the way it fails under the CLI.
 */
import { spawn, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as readline from "readline";
import * as grpc from "@grpc/grpc-js";
import { LIVE_RELAY_ENV, drawLiveLine, endLiveLine, liveProgressWanted, liveRelay } from "../lib/progress";
import { redact } from "../lib/redact";
import { SECRET_SIG, SIG_KEY } from "./state";
import { annotateSecrets, marshalProps, unmarshalProps, type Props } from "./providerWire";

export { UNKNOWN } from "./providerWire";

// eslint-disable-next-line @typescript-eslint/no-var-requires
const provrpc = require("@pulumi/pulumi/proto/provider_grpc_pb");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const provproto = require("@pulumi/pulumi/proto/provider_pb");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const engrpc = require("@pulumi/pulumi/proto/engine_grpc_pb");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const engproto = require("@pulumi/pulumi/proto/engine_pb");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const emptyproto = require("google-protobuf/google/protobuf/empty_pb");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const structproto = require("google-protobuf/google/protobuf/struct_pb");

/** The package of Node.js dynamic providers, and the default provider's URN parts. */
const PACKAGE = "pulumi-nodejs";
const PROVIDER_TYPE = `pulumi:providers:${PACKAGE}`;
/** The launcher the Pulumi CLI runs for `pulumi-nodejs` (also shipped in @pulumi/pulumi). */
export const LAUNCHER = path.join(path.dirname(require.resolve("@pulumi/pulumi/package.json")), "pulumi-resource-pulumi-nodejs");
const PROJECT_DIR = path.join(__dirname, "..");
/** plugin.go: how long a plugin has to stop after SIGINT before it is killed. */
const STOP_GRACE_MS = 5000;

export interface ProviderHostOptions {
    project: string;
    stack: string;
    /** Stack config, full keys ("project:key") to values, as the engine holds it. */
    config: Record<string, string>;
    /** Full keys of the secret config values. */
    secretKeys: string[];
    /** The host's stdout lines (after the port) and the Engine.Log messages, redacted. */
    log: (line: string) => void;
    /** The host's stderr lines, redacted (the CLI shows them as the plugin's error stream). @default process.stderr */
    logError?: (line: string) => void;
    /**
     * Relay the providers' live progress bars to this process's stderr (a terminal): the host is
     * told so (LIVE_RELAY_ENV) and its frames are drawn here, between the lines.
     * @default liveProgressWanted() (stderr a terminal, not quiet, not A2H_PROGRESS=lines)
     */
    liveProgress?: boolean;
    /** @default the project directory (where Pulumi.yaml is), as the CLI runs plugins */
    cwd?: string;
    /** @default process.env at start (plugins inherit the CLI's environment) */
    env?: NodeJS.ProcessEnv;
    /**
     * Where the host's pid is kept while it runs. A host left by a parent that was killed (kill -9
     * leaves no chance to stop it) is stopped by the next start with the same file.
     */
    pidFile?: string;
}

export interface CheckResult {
    inputs: Props;
    failures: Array<{ property: string; reason: string }>;
}

/** The error for a check that failed: "property: reason" for each failure (the engine stops the resource). */
export function checkFailureMessage(failures: CheckResult["failures"]): string {
    return failures.map((f) => (f.property ? `${f.property}: ${f.reason}` : f.reason)).join("; ");
}

export type DiffChanges = "none" | "some" | "unknown";

export interface HostDiffResult {
    /** As the host answered (DIFF_NONE, DIFF_SOME, DIFF_UNKNOWN). */
    changes: DiffChanges;
    replaces: string[];
    deleteBeforeReplace: boolean;
}

function toStruct(props: Props): any {
    return structproto.Struct.fromJavaScript(props);
}

function fromStruct(s: any): Props {
    return s ? (s.toJavaScript() as Props) : {};
}

/** The message a provider error carries over gRPC (details), without grpc-js's "2 UNKNOWN: " prefix. */
function rpcMessage(err: unknown): string {
    const e = err as grpc.ServiceError;
    if (e && typeof e.details === "string" && e.details !== "") return e.details;
    return e instanceof Error ? e.message : String(err);
}

/** A process group still alive (signal 0 to its leader). */
export function processAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

/** Every started host, for the last-resort cleanup when the parent exits or is killed. */
const live = new Set<ProviderHost>();
let exitHooksInstalled = false;

function installExitHooks(): void {
    if (exitHooksInstalled) return;
    exitHooksInstalled = true;
    process.on("exit", () => {
        for (const h of live) h.killNow();
    });
    // A signal the program does not handle would end the parent without "exit": kill the hosts
    // first, then let the signal do what it would have done. When the program handles the signal
    // (the rehearsal does), it stops the host itself, gracefully.
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
        const onSignal = () => {
            if (process.listenerCount(sig) > 1) return;
            for (const h of live) h.killNow();
            process.off(sig, onSignal);
            process.kill(process.pid, sig);
        };
        process.on(sig, onSignal);
    }
}

/**
 * Stops the host recorded in `pidFile` if it still runs (its parent was killed before it could stop
 * it): only a process whose command line is the launcher or the host, and its process group.
 */
export async function stopOrphanedHost(pidFile: string): Promise<number | undefined> {
    let pid: number;
    let parent: number;
    try {
        const recorded = JSON.parse(fs.readFileSync(pidFile, "utf8"));
        pid = Number(recorded.pid);
        parent = Number(recorded.parent);
    } catch {
        return undefined;
    }
    // Its parent still runs: not an orphan (that run stops it).
    if (parent !== process.pid && Number.isInteger(parent) && parent > 1 && processAlive(parent)) return undefined;
    fs.rmSync(pidFile, { force: true });
    if (!Number.isInteger(pid) || pid <= 1) return undefined;
    let cmdline: string;
    try {
        cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
    } catch {
        return undefined; // gone (or no /proc)
    }
    if (!cmdline.includes("pulumi-resource-pulumi-nodejs") && !cmdline.includes("dynamic-provider")) return undefined;
    try {
        process.kill(-pid, "SIGKILL");
    } catch {
        return undefined;
    }
    for (let i = 0; i < 50 && processAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    return pid;
}

/** A minimal Engine service: the address the host is given, and Log for what it sends there. */
function engineService(log: (line: string) => void): grpc.UntypedServiceImplementation {
    let root = "";
    const severities = ["debug", "info", "warning", "error"];
    return {
        log: (call: any, cb: any) => {
            const req = call.request;
            log(redact(`${severities[req.getSeverity()] ?? "info"}: ${req.getUrn() ? `${req.getUrn()}: ` : ""}${req.getMessage()}`));
            cb(null, new emptyproto.Empty());
        },
        getRootResource: (_call: any, cb: any) => cb(null, new engproto.GetRootResourceResponse().setUrn(root)),
        setRootResource: (call: any, cb: any) => {
            root = call.request.getUrn();
            cb(null, new engproto.SetRootResourceResponse());
        },
        startDebugging: (_call: any, cb: any) => cb(null, new emptyproto.Empty()),
        requirePulumiVersion: (_call: any, cb: any) => cb(null, new engproto.RequirePulumiVersionResponse()),
    };
}

export class ProviderHost {
    private acceptSecrets = false;
    private acceptResources = false;
    private exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    private exitedPromise: Promise<void>;
    private stopping: Promise<void> | undefined;
    /** Last lines of stderr, for the error when the host dies. */
    private stderrTail: string[] = [];
    private readonly providerUrn: string;
    version = "";

    private constructor(
        private readonly opts: ProviderHostOptions,
        readonly child: ChildProcess,
        private readonly engineServer: grpc.Server,
        readonly engineAddress: string,
        private client: any,
    ) {
        this.providerUrn = `urn:pulumi:${opts.stack}::${opts.project}::${PROVIDER_TYPE}::default`;
        this.exitedPromise = new Promise((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) {
                this.exited = { code: child.exitCode, signal: child.signalCode };
                resolve();
            } else {
                child.once("exit", (code, signal) => {
                    this.exited = { code, signal };
                    resolve();
                });
            }
        });
    }

    /** The host's process id (the leader of its process group). */
    get pid(): number {
        return this.child.pid as number;
    }

    /**
     * Starts the host as the engine does (plugin.go newPlugin, provider_plugin.go NewProvider), waits
     * for its port, handshakes, and configures it with the stack config. One per engine run.
     */
    static async start(opts: ProviderHostOptions): Promise<ProviderHost> {
        const logError = opts.logError ?? ((line: string) => void process.stderr.write(line + "\n"));
        // The engine's own gRPC server: its address is the host's one argument.
        const server = new grpc.Server();
        server.addService(engrpc.EngineService, engineService(opts.log));
        const enginePort = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))));
        const engineAddress = `127.0.0.1:${enginePort}`;
        if (opts.pidFile) {
            const orphan = await stopOrphanedHost(opts.pidFile);
            if (orphan) opts.log(`stopped the dynamic provider host (pid ${orphan}) that a killed earlier run left behind`);
        }
        const namespaced: Record<string, string> = {};
        for (const [k, v] of Object.entries(opts.config)) if (k.startsWith(`${PACKAGE}:`)) namespaced[k.slice(PACKAGE.length + 1)] = v;
        const baseEnv = opts.env ?? process.env;
        const relayBars = opts.liveProgress ?? liveProgressWanted(process.stderr, baseEnv);
        const child = spawn(LAUNCHER, [engineAddress], {
            cwd: opts.cwd ?? PROJECT_DIR,
            env: {
                ...baseEnv,
                ...(relayBars ? { [LIVE_RELAY_ENV]: "1", COLUMNS: String(process.stderr.columns || 80) } : {}),
                PULUMI_NODEJS_PROJECT: opts.project,
                PULUMI_PROJECT: opts.project,
                PULUMI_CONFIG: JSON.stringify(namespaced),
            },
            // cmdutil.RegisterProcessGroup: the plugin and its children form their own group, so a
            // Ctrl-C in the terminal reaches the parent only, and stopping kills the whole group.
            detached: true,
            stdio: ["pipe", "pipe", "pipe"],
        });
        if (opts.pidFile && child.pid) fs.writeFileSync(opts.pidFile, JSON.stringify({ pid: child.pid, parent: process.pid, startedAt: new Date().toISOString() }) + "\n");
        const tail: string[] = [];
        // eslint-disable-next-line prefer-const -- the stderr listener reads it before it is assigned
        let host: ProviderHost | undefined;
        // Lines as they come; a provider's live bar (drawn only when `relayBars`) is redrawn here, on the terminal.
        const relay = liveRelay((line) => {
            if (line.trim() === "") return;
            const clean = redact(line);
            (host ? host.stderrTail : tail).push(clean);
            if (host && host.stderrTail.length > 20) host.stderrTail.shift();
            endLiveLine();
            logError(clean);
        }, (frame) => {
            if (relayBars) drawLiveLine(redact(frame));
        });
        child.stderr!.setEncoding("utf8");
        child.stderr!.on("data", (chunk: string) => relay.write(chunk));
        child.stderr!.on("end", () => {
            relay.end();
            endLiveLine();
        });
        let exitedEarly: { code: number | null; signal: NodeJS.Signals | null } | undefined;
        child.once("exit", (code, signal) => void (exitedEarly = { code, signal }));
        let port: number;
        try {
            port = await new Promise<number>((resolve, reject) => {
                const lines = readline.createInterface({ input: child.stdout as NodeJS.ReadableStream });
                let first = true;
                child.once("error", (err) => reject(new Error(`failed to load plugin ${LAUNCHER}: ${err.message}`)));
                lines.on("line", (line) => {
                    if (first) {
                        first = false;
                        const n = Number(line.trim());
                        if (!Number.isInteger(n) || n <= 0 || n > 65535) reject(new Error(`${PACKAGE} (resource) plugin [${LAUNCHER}] wrote an invalid port to stdout: ${redact(line.trim())}`));
                        else resolve(n);
                        return;
                    }
                    if (line.trim() !== "") opts.log(redact(line));
                });
                lines.on("close", () => {
                    if (!first) return;
                    const wait = () => new Promise<void>((r) => (exitedEarly || child.exitCode !== null ? r() : child.once("exit", () => r())));
                    void wait().then(() => {
                        const status = exitedEarly?.signal ? `signal ${exitedEarly.signal}` : `exit status ${exitedEarly?.code ?? child.exitCode}`;
                        reject(new Error(`could not read plugin [${LAUNCHER}]: ${status}${tail.length ? `\n${tail.slice(-10).join("\n")}` : ""}`));
                    });
                });
            });
        } catch (err) {
            try {
                if (child.pid && processAlive(child.pid)) process.kill(-child.pid, "SIGKILL");
            } catch {
                /* already gone */
            }
            server.forceShutdown();
            if (opts.pidFile) fs.rmSync(opts.pidFile, { force: true });
            throw err;
        }
        const client = new provrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
        host = new ProviderHost(opts, child, server, engineAddress, client);
        host.stderrTail.push(...tail);
        live.add(host);
        installExitHooks();
        try {
            await host.handshake();
            await host.configure();
        } catch (err) {
            await host.stop();
            throw err;
        }
        return host;
    }

    private call<Req, Res>(method: string, req: Req): Promise<Res> {
        if (this.stopping) return Promise.reject(new Error(`the dynamic provider host was stopped; ${method} not sent`));
        return new Promise<Res>((resolve, reject) => {
            this.client[method](req, (err: grpc.ServiceError | null, res: Res) => {
                if (!err) return resolve(res);
                if (err.code === grpc.status.UNAVAILABLE && this.exited) {
                    const how = this.exited.signal ? `signal ${this.exited.signal}` : `exit code ${this.exited.code}`;
                    return reject(new Error(`the dynamic provider host (pid ${this.pid}) exited (${how}) during ${method}${this.stderrTail.length ? `:\n${this.stderrTail.slice(-10).join("\n")}` : ""}`));
                }
                const e = new Error(rpcMessage(err)) as Error & { code?: number };
                e.code = err.code;
                reject(e);
            });
        });
    }

    /**
     * dialPlugin: wait until the connection is ready, then Handshake (retried while UNAVAILABLE);
     * UNIMPLEMENTED means the host speaks the legacy protocol (Configure decides). Then GetPluginInfo.
     */
    private async handshake(): Promise<void> {
        const deadline = Date.now() + 30_000;
        const req = new provproto.ProviderHandshakeRequest();
        req.setEngineAddress(this.engineAddress);
        req.setRootDirectory(this.opts.cwd ?? PROJECT_DIR);
        req.setProgramDirectory(this.opts.cwd ?? PROJECT_DIR);
        req.setConfigureWithUrn(true);
        req.setSupportsViews(true);
        req.setInvokeWithPreview(true);
        for (;;) {
            try {
                const res: any = await this.call("handshake", req);
                this.acceptSecrets = res.getAcceptSecrets();
                this.acceptResources = res.getAcceptResources();
                break;
            } catch (err) {
                const code = (err as { code?: number }).code;
                if (code === grpc.status.UNIMPLEMENTED) break;
                if (code === grpc.status.UNAVAILABLE && !this.exited && Date.now() < deadline) {
                    await new Promise((r) => setTimeout(r, 10));
                    continue;
                }
                throw new Error(`${PACKAGE} (resource) plugin [${LAUNCHER}] did not come alive: ${(err as Error).message}`);
            }
        }
        const info: any = await this.call("getPluginInfo", new emptyproto.Empty());
        this.version = info.getVersion();
    }

    /** Configure with the whole stack config, as the engine configures the default `pulumi-nodejs` provider. */
    private async configure(): Promise<void> {
        const secret = new Set(this.opts.secretKeys);
        const inputs: Props = {};
        const req = new provproto.ConfigureRequest();
        const variables = req.getVariablesMap();
        for (const [k, v] of Object.entries(this.opts.config)) {
            inputs[k] = secret.has(k) ? { [SIG_KEY]: SECRET_SIG, value: v } : v;
            variables.set(`${PACKAGE}:config:${k}`, v);
        }
        req.setArgs(toStruct(marshalProps(inputs, { keepSecrets: true, keepUnknowns: true })));
        req.setUrn(this.providerUrn);
        req.setName("default");
        req.setType(PROVIDER_TYPE);
        req.setId("00000000-0000-4000-8000-000000000000");
        req.setAcceptsecrets(true);
        req.setAcceptresources(true);
        req.setSendsOldInputs(true);
        req.setSendsOldInputsToDelete(true);
        const res: any = await this.call("configure", req).catch((err) => {
            throw new Error(`configuring the dynamic provider host failed: ${(err as Error).message}`);
        });
        this.acceptSecrets = res.getAcceptsecrets();
        this.acceptResources = res.getAcceptresources();
    }

    private marshal(props: Props | undefined, keepUnknowns: boolean): any {
        return toStruct(marshalProps(props, { keepSecrets: this.acceptSecrets, keepUnknowns }));
    }

    /** Check(urn, olds, news): the provider's validated inputs; failures are returned, not thrown. */
    async check(urn: string, olds: Props | undefined, news: Props, preview: boolean): Promise<CheckResult> {
        const req = new provproto.CheckRequest();
        req.setUrn(urn);
        req.setName(urnName(urn));
        req.setType(urnType(urn));
        req.setOlds(this.marshal(olds ?? {}, preview));
        req.setNews(this.marshal(news, preview));
        const res: any = await this.call("check", req);
        const inputs = unmarshalProps(fromStruct(res.getInputs()), { label: `${urn}.check`, keepUnknowns: preview, rejectUnknowns: !preview });
        if (!this.acceptSecrets) annotateSecrets(inputs, news);
        const failures = res.getFailuresList().map((f: any) => ({ property: f.getProperty(), reason: f.getReason() }));
        return { inputs, failures };
    }

    async diff(urn: string, id: string, oldInputs: Props, oldOutputs: Props, news: Props, preview: boolean): Promise<HostDiffResult> {
        const req = new provproto.DiffRequest();
        req.setUrn(urn);
        req.setName(urnName(urn));
        req.setType(urnType(urn));
        req.setId(id);
        req.setOldInputs(this.marshal(oldInputs, preview));
        req.setOlds(this.marshal(oldOutputs, preview));
        req.setNews(this.marshal(news, preview));
        const res: any = await this.call("diff", req);
        const C = provproto.DiffResponse.DiffChanges;
        const changes: DiffChanges = res.getChanges() === C.DIFF_NONE ? "none" : res.getChanges() === C.DIFF_SOME ? "some" : "unknown";
        return { changes, replaces: res.getReplacesList(), deleteBeforeReplace: res.getDeletebeforereplace() };
    }

    async create(urn: string, news: Props): Promise<{ id: string; outputs: Props }> {
        const req = new provproto.CreateRequest();
        req.setUrn(urn);
        req.setName(urnName(urn));
        req.setType(urnType(urn));
        req.setProperties(this.marshal(news, false));
        const res: any = await this.call("create", req);
        const id = res.getId();
        if (!id) throw new Error(`plugin returned empty resource.ID from create '${urn}'`);
        const outputs = unmarshalProps(fromStruct(res.getProperties()), { label: `${urn}.create`, keepUnknowns: false, rejectUnknowns: true });
        if (!this.acceptSecrets) annotateSecrets(outputs, news);
        return { id, outputs };
    }

    async update(urn: string, id: string, oldInputs: Props, oldOutputs: Props, news: Props): Promise<Props> {
        const req = new provproto.UpdateRequest();
        req.setUrn(urn);
        req.setName(urnName(urn));
        req.setType(urnType(urn));
        req.setId(id);
        req.setOldInputs(this.marshal(oldInputs, false));
        req.setOlds(this.marshal(oldOutputs, false));
        req.setNews(this.marshal(news, false));
        const res: any = await this.call("update", req);
        const outputs = unmarshalProps(fromStruct(res.getProperties()), { label: `${urn}.update`, keepUnknowns: false, rejectUnknowns: true });
        if (!this.acceptSecrets) annotateSecrets(outputs, news);
        return outputs;
    }

    async delete(urn: string, id: string, oldInputs: Props, oldOutputs: Props): Promise<void> {
        const req = new provproto.DeleteRequest();
        req.setUrn(urn);
        req.setName(urnName(urn));
        req.setType(urnType(urn));
        req.setId(id);
        req.setOldInputs(this.marshal(oldInputs, false));
        req.setProperties(this.marshal(oldOutputs, false));
        await this.call("delete", req);
    }

    /** SIGKILL to the host's process group, synchronously (the parent is exiting). */
    killNow(): void {
        live.delete(this);
        try {
            if (!this.exited && this.child.pid) process.kill(-this.child.pid, "SIGKILL");
        } catch {
            /* already gone */
        }
    }

    /** Plugin.Close: SIGINT to the group, SIGKILL after 5 seconds; resolves once the host has exited. */
    stop(): Promise<void> {
        if (!this.stopping) {
            this.stopping = (async () => {
                this.client.close();
                if (!this.exited && this.child.pid) {
                    try {
                        process.kill(-this.child.pid, "SIGINT");
                    } catch {
                        /* already gone */
                    }
                    const timer = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), STOP_GRACE_MS).unref());
                    if ((await Promise.race([this.exitedPromise.then(() => "exited" as const), timer])) === "timeout") {
                        try {
                            process.kill(-this.child.pid, "SIGKILL");
                        } catch {
                            /* already gone */
                        }
                        await this.exitedPromise;
                    }
                }
                // The launcher's children (node -e, the host) are in the same group: make sure none stays.
                try {
                    if (this.child.pid) process.kill(-this.child.pid, "SIGKILL");
                } catch {
                    /* the group is empty */
                }
                live.delete(this);
                if (this.opts.pidFile) fs.rmSync(this.opts.pidFile, { force: true });
                this.engineServer.forceShutdown();
            })();
        }
        return this.stopping;
    }
}

function urnName(urn: string): string {
    return urn.split("::").pop() ?? "";
}

function urnType(urn: string): string {
    const parts = urn.split("::");
    const qualified = parts[parts.length - 2] ?? "";
    return qualified.split("$").pop() ?? qualified;
}
