/**
 * The rehearsal engine: what the Pulumi engine and the providers do with each resource the real
 * program (index.ts, run by Pulumi's own `cmd/run`) registers through local/monitorServer.ts:
 *
 * - dynamic resources: driven through Pulumi's real dynamic provider host (the
 *   `@pulumi/pulumi/cmd/dynamic-provider` process the CLI starts), over gRPC, with properties
 *   marshalled as the engine marshals them (local/providerHost.ts); one host per run, stopped by
 *   close();
 * - azure-native storage resources and invokes: real containers and keys in Azurite;
 * - command:local:Command: the command runs;
 * - state is a file (local/state.ts), saved after every step, so a second `up` diffs against it
 *   and resumes after a failure, and `destroy` deletes in reverse dependency order from state.
 */
import { execFile } from "child_process";
import * as path from "path";
import { containerClient } from "../lib/blob";
import { errorMessage } from "../lib/errors";
import { redact, registerSecret } from "../lib/redact";
import { ProviderHost, checkFailureMessage } from "./providerHost";
import { containsSecret, isSecret, secret, secretStrings, unwrapSecrets, type ResourceState, type StackState, StateFile } from "./state";

export interface AzuriteAccount {
    accountName: string;
    accountKey: string;
    /** e.g. http://127.0.0.1:10000/devstoreaccount1 */
    blobEndpoint: string;
}

export interface EngineOptions {
    project: string;
    stack: string;
    preview: boolean;
    /** Full keys ("project:key") to string values, as Pulumi passes config. */
    config: Record<string, string>;
    secretKeys: string[];
    stateFile: StateFile;
    azurite: AzuriteAccount;
    log: (line: string) => void;
}

export type StepOp = "create" | "update" | "replace" | "delete" | "same" | "retain";

export interface Step {
    op: StepOp;
    urn: string;
    type: string;
    name: string;
    detail?: string;
    /** How long the provider took (creates, updates, replaces, deletes that ran). */
    ms?: number;
}

/** A registration request: the resource's state before any provider has run. */
export type Planned = Omit<ResourceState, "id" | "outputs">;

interface DiffResult {
    changes: boolean;
    replaces: string[];
    deleteBeforeReplace?: boolean;
}

interface Handler {
    check?(olds: Record<string, unknown> | undefined, news: Record<string, unknown>): Promise<Record<string, unknown>>;
    diff(old: ResourceState, news: Record<string, unknown>): Promise<DiffResult>;
    create(news: Record<string, unknown>): Promise<{ id: string; outputs: Record<string, unknown> }>;
    update(old: ResourceState, news: Record<string, unknown>): Promise<Record<string, unknown>>;
    delete(old: ResourceState): Promise<void>;
}

const DYNAMIC_PREFIX = "pulumi-nodejs:dynamic";

function deepEqual(a: unknown, b: unknown): boolean {
    return JSON.stringify(unwrapSecrets(a)) === JSON.stringify(unwrapSecrets(b));
}

function run(command: string, env: Record<string, string>): Promise<{ stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
        execFile("/bin/sh", ["-c", command], { env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
            if (err) reject(new Error(redact(`command exited with ${(err as NodeJS.ErrnoException & { code?: number }).code ?? "an error"}: ${String(stderr).trim().split("\n").slice(-10).join("\n")}`)));
            else resolve({ stdout: String(stdout), stderr: String(stderr) });
        });
    });
}

export class RehearsalEngine {
    readonly steps: Step[] = [];
    readonly errors: Error[] = [];
    private old: Map<string, ResourceState>;
    private current: Map<string, ResourceState>;
    private registered = new Set<string>();
    private inFlight = 0;
    private stopped = false;
    /** Names of the resources that failed, in order (errors[i] is failed[i]'s). */
    private failed: string[] = [];
    private host: Promise<ProviderHost> | undefined;
    private stack: StackState;

    constructor(private opts: EngineOptions) {
        this.stack = opts.stateFile.load(opts.project, opts.stack);
        this.old = new Map(this.stack.resources.map((r) => [r.urn, r]));
        this.current = new Map(this.old);
    }

    get state(): StackState {
        return this.stack;
    }

    private record(step: Step): Step {
        this.steps.push(step);
        const sym = { create: "+", update: "~", replace: "+-", delete: "-", same: " ", retain: "=" }[step.op];
        if (step.op !== "same") this.opts.log(`${sym.padEnd(2)} ${step.op.padEnd(8)} ${step.type} ${step.name}${step.detail ? ` (${step.detail})` : ""}`);
        return step;
    }

    /** Runs a provider operation and records its duration on the step. */
    private async timed<T>(step: Step, work: () => Promise<T>): Promise<T> {
        const started = Date.now();
        try {
            return await work();
        } finally {
            step.ms = Date.now() - started;
        }
    }

    private async persist(): Promise<void> {
        this.stack.resources = [...this.current.values()];
        await this.opts.stateFile.save(this.stack);
    }

    // ---- handlers ------------------------------------------------------------------------

    /** The dynamic provider host of this run: started on first use, stopped by close(). */
    private providerHost(): Promise<ProviderHost> {
        if (!this.host) {
            this.host = ProviderHost.start({
                project: this.opts.project,
                stack: this.opts.stack,
                config: this.opts.config,
                secretKeys: this.opts.secretKeys,
                log: (line) => this.opts.log(line),
                // Beside the state: a host left by a killed run is stopped by the next one.
                pidFile: path.join(path.dirname(this.opts.stateFile.file), "provider-host.pid"),
            });
            this.host.catch(() => undefined);
        }
        return this.host;
    }

    /** Stops the dynamic provider host (at the end of a run, after a failure, on a signal). */
    async close(): Promise<void> {
        const host = this.host;
        this.host = undefined;
        if (host) await (await host.catch(() => undefined))?.stop();
    }

    private handlerFor(type: string, urn: string): Handler {
        if (type.startsWith(DYNAMIC_PREFIX)) {
            // Every call goes to the real dynamic provider host (cmd/dynamic-provider) over gRPC,
            // marshalled as the Pulumi engine marshals it (local/providerHost.ts).
            const preview = this.opts.preview;
            const requireProvider = (props: Record<string, unknown>, what: string) => {
                if (typeof unwrapSecrets(props).__provider !== "string") throw new Error(`${type}: no __provider in ${what}`);
            };
            return {
                check: async (olds, news) => {
                    requireProvider(news, "its inputs");
                    const r = await (await this.providerHost()).check(urn, olds, news, preview);
                    if (r.failures.length > 0) throw new Error(checkFailureMessage(r.failures));
                    return r.inputs;
                },
                diff: async (old, news) => {
                    const r = await (await this.providerHost()).diff(urn, String(old.id), old.inputs, old.outputs, news, preview);
                    // step_generator.go diffResource: DIFF_UNKNOWN (no diff method) -> the engine compares the inputs.
                    const changes = r.changes === "unknown" ? !deepEqual(old.inputs, news) : r.changes === "some";
                    return { changes, replaces: r.replaces, deleteBeforeReplace: r.deleteBeforeReplace };
                },
                create: async (news) => {
                    requireProvider(news, "its inputs");
                    return (await this.providerHost()).create(urn, news);
                },
                update: async (old, news) => (await this.providerHost()).update(urn, String(old.id), old.inputs, old.outputs, news),
                delete: async (old) => {
                    // Like Pulumi: delete uses the provider with which the resource was created (in its outputs).
                    requireProvider(old.outputs, "state");
                    await (await this.providerHost()).delete(urn, String(old.id), old.inputs, old.outputs);
                },
            };
        }
        const az = this.opts.azurite;
        const inputDiff = (replaceKeys: string[]) => async (old: ResourceState, news: Record<string, unknown>): Promise<DiffResult> => {
            const olds = unwrapSecrets(old.inputs);
            const changed = [...new Set([...Object.keys(olds), ...Object.keys(news)])].filter((k) => !deepEqual(olds[k], news[k]));
            return { changes: changed.length > 0, replaces: changed.filter((k) => replaceKeys.includes(k)) };
        };
        switch (type) {
            case "azure-native:storage:StorageAccount":
                return {
                    diff: inputDiff(["accountName", "resourceGroupName", "location", "kind"]),
                    create: async (news) => {
                        if (news.accountName !== az.accountName) {
                            throw new Error(`the rehearsal's Azurite has one account, "${az.accountName}"; set storageAccountName to it`);
                        }
                        return { id: `/subscriptions/rehearsal/resourceGroups/${news.resourceGroupName}/providers/Microsoft.Storage/storageAccounts/${news.accountName}`, outputs: { ...news, name: news.accountName, primaryEndpoints: { blob: `${az.blobEndpoint}/` }, provisioningState: "Succeeded" } };
                    },
                    update: async (old, news) => ({ ...old.outputs, ...news }),
                    delete: async () => undefined,
                };
            case "azure-native:storage:BlobContainer":
                return {
                    diff: inputDiff(["accountName", "resourceGroupName", "containerName"]),
                    create: async (news) => {
                        const name = String(news.containerName);
                        // publicAccess None: created without any public access level.
                        await containerClient({ ...az, container: name }).createIfNotExists();
                        return { id: `/subscriptions/rehearsal/resourceGroups/${news.resourceGroupName}/providers/Microsoft.Storage/storageAccounts/${news.accountName}/blobServices/default/containers/${name}`, outputs: { ...news, name, publicAccess: news.publicAccess ?? "None" } };
                    },
                    update: async (old, news) => ({ ...old.outputs, ...news }),
                    delete: async (old) => {
                        await containerClient({ ...az, container: String(old.outputs.name) }).deleteIfExists();
                    },
                };
            case "command:local:Command":
                return {
                    diff: async (old, news) => {
                        const d = await inputDiff(["create", "triggers", "dir", "interpreter"])(old, news);
                        return { ...d, replaces: d.changes ? d.replaces : [] };
                    },
                    create: async (news) => {
                        const env = (news.environment ?? {}) as Record<string, string>;
                        const out = news.create ? await run(String(news.create), env) : { stdout: "", stderr: "" };
                        return { id: `command-${Date.now()}`, outputs: { ...news, stdout: out.stdout.trim(), stderr: out.stderr.trim() } };
                    },
                    update: async (old, news) => {
                        const env = (news.environment ?? {}) as Record<string, string>;
                        const out = news.update ? await run(String(news.update), env) : { stdout: String(old.outputs.stdout ?? ""), stderr: String(old.outputs.stderr ?? "") };
                        return { ...news, stdout: out.stdout.trim(), stderr: out.stderr.trim() };
                    },
                    delete: async (old) => {
                        const o = unwrapSecrets(old.outputs);
                        if (o.delete) await run(String(o.delete), (o.environment ?? {}) as Record<string, string>);
                    },
                };
            default:
                throw new Error(`the rehearsal engine cannot run resources of type ${type}`);
        }
    }

    async invoke(token: string, inputs: Record<string, unknown>): Promise<Record<string, unknown>> {
        const az = this.opts.azurite;
        switch (token) {
            case "azure-native:storage:listStorageAccountKeys":
                return { keys: [secret({ keyName: "key1", permissions: "FULL", value: az.accountKey, creationTime: "" }).value] };
            case "azure-native:storage:getStorageAccount":
                if (inputs.accountName !== az.accountName) throw new Error(`storage account ${inputs.accountName} not found (the rehearsal's Azurite has "${az.accountName}")`);
                return { name: az.accountName, primaryEndpoints: { blob: `${az.blobEndpoint}/` }, allowBlobPublicAccess: false };
            default:
                throw new Error(`the rehearsal engine cannot answer invoke ${token}`);
        }
    }

    // ---- steps ---------------------------------------------------------------------------

    /** Marks outputs secret as Pulumi does: additionalSecretOutputs, and outputs of secret inputs. */
    private secretOutputs(planned: Planned, outputs: Record<string, unknown>): Record<string, unknown> {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(outputs)) {
            const secretInput = containsSecret(planned.inputs[k]);
            out[k] = planned.additionalSecretOutputs.includes(k) || secretInput ? (isSecret(v) ? v : secret(v)) : v;
        }
        return out;
    }

    private stateFor(planned: Planned, id: string | undefined, outputs: Record<string, unknown>): ResourceState {
        return {
            urn: planned.urn,
            type: planned.type,
            name: planned.name,
            custom: planned.custom,
            id,
            parent: planned.parent,
            dependencies: planned.dependencies,
            retainOnDelete: planned.retainOnDelete,
            deleteBeforeReplace: planned.deleteBeforeReplace,
            ...(planned.protect ? { protect: true } : {}),
            additionalSecretOutputs: planned.additionalSecretOutputs,
            inputs: planned.inputs,
            outputs,
        };
    }

    async register(planned: Planned): Promise<{ id?: string; state: Record<string, unknown> }> {
        this.registered.add(planned.urn);
        if (!planned.custom) {
            this.current.set(planned.urn, this.stateFor(planned, undefined, {}));
            return { state: {} };
        }
        if (this.errors.length > 0 && !this.opts.preview) {
            // Like the Pulumi engine: after a failure, operations in flight finish but no new
            // one starts, so nothing is created, frozen or dumped after the update has failed.
            throw new Error(`${planned.type} ${planned.name}: not started, because ${this.failed[0]} failed`);
        }
        this.inFlight++;
        try {
            return await this.registerCustom(planned);
        } catch (err) {
            const e = new Error(redact(`${planned.type} ${planned.name}: ${errorMessage(err)}`));
            this.errors.push(e);
            this.failed.push(planned.name);
            throw e;
        } finally {
            this.inFlight--;
        }
    }

    private async registerCustom(planned: Planned): Promise<{ id?: string; state: Record<string, unknown> }> {
        const preview = this.opts.preview;
        const old = this.old.get(planned.urn);
        const handler = this.handlerFor(planned.type, planned.urn);
        // A secret input (DATABASE_URL in the acceptance command's environment...) never shows in a log, an error or a report.
        for (const s of secretStrings(planned.inputs)) registerSecret(s);
        const news = unwrapSecrets(planned.inputs) as Record<string, unknown>;
        // Like the engine, Check runs in preview too, with the inputs not known yet (outputs of
        // resources still to be created or changed) passed as the unknown value.
        const checked = handler.check ? await handler.check(old ? unwrapSecrets(old.inputs) : undefined, news) : news;
        // Tests only: REHEARSAL_FAULT=<resource name> makes that resource's provider fail, for
        // stages no real input can break (the engine's handling of a failure is the same).
        if (!preview && process.env.REHEARSAL_FAULT === planned.name) {
            this.record({ op: old ? "update" : "create", urn: planned.urn, type: planned.type, name: planned.name });
            throw new Error(`injected fault (REHEARSAL_FAULT=${planned.name})`);
        }
        // In preview a provider that does not preview (dynamic providers, and here every one)
        // hands back its checked inputs as the state: every output that is not an input is
        // unknown to the program until the resource has been created or changed.
        const previewState = () => this.secretOutputs(planned, checked);

        if (!old) {
            const step = this.record({ op: "create", urn: planned.urn, type: planned.type, name: planned.name });
            if (preview) return { state: previewState() };
            const created = await this.timed(step, () => handler.create(checked));
            const outputs = this.secretOutputs(planned, created.outputs);
            this.current.set(planned.urn, this.stateFor(planned, created.id, outputs));
            await this.persist();
            return { id: created.id, state: outputs };
        }

        const diff = await handler.diff(old, checked);
        if (!diff.changes) {
            this.record({ op: "same", urn: planned.urn, type: planned.type, name: planned.name });
            const kept = { ...this.stateFor(planned, old.id, old.outputs) };
            this.current.set(planned.urn, kept);
            if (!preview) await this.persist();
            return { id: old.id, state: old.outputs };
        }
        if (diff.replaces.length > 0) {
            // step_generator.go: a replace entails a delete; refused while both the state and the
            // program protect the resource (unprotecting and replacing in one update is allowed).
            if (old.protect && planned.protect) {
                throw new Error(`unable to replace resource "${planned.urn}"\nas it is currently marked for protection. To unprotect the resource, remove the \`protect\` flag from the resource in your Pulumi program and run \`pulumi up\``);
            }
            const step = this.record({ op: "replace", urn: planned.urn, type: planned.type, name: planned.name, detail: `changed: ${diff.replaces.join(", ")}` });
            if (preview) return { id: old.id, state: previewState() };
            const deleteFirst = diff.deleteBeforeReplace || planned.deleteBeforeReplace;
            const created = await this.timed(step, async () => {
                if (deleteFirst) {
                    await handler.delete(old);
                    this.current.delete(planned.urn);
                    await this.persist();
                }
                return handler.create(checked);
            });
            const outputs = this.secretOutputs(planned, created.outputs);
            this.current.set(planned.urn, this.stateFor(planned, created.id, outputs));
            await this.persist();
            if (!deleteFirst) await handler.delete(old);
            return { id: created.id, state: outputs };
        }
        const step = this.record({ op: "update", urn: planned.urn, type: planned.type, name: planned.name });
        if (preview) return { id: old.id, state: previewState() };
        const updated = this.secretOutputs(planned, await this.timed(step, () => handler.update(old, checked)));
        this.current.set(planned.urn, this.stateFor(planned, old.id, updated));
        await this.persist();
        return { id: old.id, state: updated };
    }

    /** Reverse dependency order: a resource is deleted only after everything that depends on it. */
    private deletionOrder(resources: ResourceState[]): ResourceState[] {
        const remaining = new Map(resources.map((r) => [r.urn, r]));
        const order: ResourceState[] = [];
        while (remaining.size > 0) {
            const leaves = [...remaining.values()].filter((r) => ![...remaining.values()].some((o) => o !== r && (o.dependencies.includes(r.urn) || o.parent === r.urn)));
            const batch = leaves.length > 0 ? leaves : [...remaining.values()].slice(-1);
            for (const r of batch.reverse()) {
                order.push(r);
                remaining.delete(r.urn);
            }
        }
        return order;
    }

    private async deleteResources(resources: ResourceState[], destroying: boolean): Promise<void> {
        for (const r of this.deletionOrder(resources)) {
            if (!r.custom) {
                this.current.delete(r.urn);
                continue;
            }
            if (r.protect) {
                // step.go DeleteStep.Apply: a protected resource is never deleted, in preview either.
                throw new Error(`unable to delete resource "${r.urn}"\nas it is currently marked for protection. To unprotect the resource, either remove the \`protect\` flag from the resource in your Pulumi program or use the command:\n\`pulumi state unprotect ${r.urn}\``);
            }
            if (r.retainOnDelete) {
                this.record({ op: "retain", urn: r.urn, type: r.type, name: r.name, detail: "retainOnDelete: left in place" });
            } else {
                const step = this.record({ op: "delete", urn: r.urn, type: r.type, name: r.name });
                if (this.opts.preview) continue;
                await this.timed(step, () => this.handlerFor(r.type, r.urn).delete(r));
            }
            if (this.opts.preview) continue;
            this.current.delete(r.urn);
            await this.persist();
        }
        if (destroying && !this.opts.preview) {
            this.stack.outputs = {};
            await this.persist();
        }
    }

    /**
     * Resolves once a resource has failed and no registration has been in flight for a second.
     * After a failure, resources that depend on the failed one never register and the SDK's RPC
     * queue may never drain; like the Pulumi engine, the update ends with the failure.
     */
    settledAfterError(): Promise<void> {
        return new Promise((resolve) => {
            let quietSince = 0;
            const timer = setInterval(() => {
                if (this.stopped) {
                    clearInterval(timer);
                    return;
                }
                if (this.errors.length === 0 || this.inFlight > 0) {
                    quietSince = 0;
                    return;
                }
                if (!quietSince) quietSince = Date.now();
                if (Date.now() - quietSince >= 1000) {
                    clearInterval(timer);
                    resolve();
                }
            }, 100);
        });
    }

    /** Ends the wait of settledAfterError (the program finished first). */
    stopWaiting(): void {
        this.stopped = true;
    }

    /** After a successful program run: delete what the program no longer declares. */
    async finishUpdate(outputs: Record<string, unknown>): Promise<void> {
        const stale = [...this.old.values()].filter((r) => !this.registered.has(r.urn));
        await this.deleteResources(stale, false);
        if (!this.opts.preview) {
            this.stack.outputs = outputs;
            this.stack.lastResult = { kind: "up", ok: true };
            await this.persist();
        }
    }

    /** Resources as they stand now (state after every completed step). */
    get resources(): ResourceState[] {
        return [...this.current.values()];
    }

    async recordFailure(kind: "up" | "preview" | "destroy", error: string): Promise<void> {
        if (this.opts.preview || kind === "preview") return;
        this.stack.lastResult = { kind, ok: false, error: redact(error) };
        await this.persist();
    }

    async destroy(): Promise<void> {
        try {
            await this.deleteResources([...this.current.values()], true);
            if (!this.opts.preview) this.stack.lastResult = { kind: "destroy", ok: true };
        } catch (err) {
            this.stack.lastResult = { kind: "destroy", ok: false, error: errorMessage(err) };
            throw err;
        } finally {
            if (!this.opts.preview) await this.persist();
        }
    }
}
