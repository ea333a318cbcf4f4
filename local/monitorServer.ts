/**
 * The gRPC services the Pulumi CLI's engine offers a program: the ResourceMonitor (resource
 * registrations, invokes, stack outputs) and the Engine (logs, the root resource), served by the
 * rehearsal itself so that index.ts runs under `@pulumi/pulumi/cmd/run` exactly as `pulumi up`
 * runs it, and every registration, output, unknown and secret crosses the same wire.
 *
 * The answers follow the Pulumi engine of the CLI version that matches the SDK we pin
 * (`pkg/resource/deploy/source_eval.go` at v3.248.0): the same SupportsFeature answers, URNs built
 * the same way, component resources get no outputs back, unknowns and secrets kept in the
 * response. RPCs the rehearsal engine does not carry out (ReadResource, Call, transforms, hooks,
 * packages) are refused with a message that names them. test/cmd-run.test.ts checks this table
 * against the installed SDK's protocol.
 */
import * as grpc from "@grpc/grpc-js";
import { SECRET_SIG, SIG_KEY, type ResourceState } from "./state";

// eslint-disable-next-line @typescript-eslint/no-var-requires
const semver: { satisfies(version: string, range: string): boolean } = require("semver");

// eslint-disable-next-line @typescript-eslint/no-var-requires
const resrpc = require("@pulumi/pulumi/proto/resource_grpc_pb");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const resproto = require("@pulumi/pulumi/proto/resource_pb");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const engrpc = require("@pulumi/pulumi/proto/engine_grpc_pb");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const engproto = require("@pulumi/pulumi/proto/engine_pb");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const provproto = require("@pulumi/pulumi/proto/provider_pb");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const emptyproto = require("google-protobuf/google/protobuf/empty_pb");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const structproto = require("google-protobuf/google/protobuf/struct_pb");

/** The Pulumi version whose engine this server answers as (the SDK in package.json is pinned to it). */
export const PINNED_CLI_VERSION = "3.248.0";

/** The string the SDK and the engine use for a value not known until the resource exists. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/**
 * SupportsFeature, as the engine of Pulumi v3.248.0 answers it (`supportsFeatureID`): every id it
 * knows is supported (resourceReferences and outputValues unless disabled, which `pulumi up`
 * does not do); any other id is not.
 */
export const ENGINE_FEATURES: Record<string, boolean> = {
    secrets: true,
    resourceReferences: true,
    outputValues: true,
    aliasSpecs: true,
    replacementTrigger: true,
    deletedWith: true,
    replaceWith: true,
    transforms: true,
    invokeTransforms: true,
    parameterization: true,
    resourceHooks: true,
    errorHooks: true,
    sendsOptionsToHooks: true,
};

/** The ResourceMonitor methods served here (the key is the method name in resource_grpc_pb.js). */
export const MONITOR_METHODS = [
    "supportsFeature", "registerResource", "registerResourceOutputs", "invoke", "signalAndWaitForShutdown",
] as const;

/** The Engine methods served here. */
export const ENGINE_METHODS = ["log", "getRootResource", "setRootResource", "requirePulumiVersion"] as const;

/**
 * Methods deliberately refused, each with why. The program never needs them: it reads no
 * existing resource, calls no component method, registers no transform, hook or package.
 */
export const REFUSED_METHODS: Record<string, string> = {
    getDeploymentInfo: "the SDK (3.248.0) never asks for it; it reads project, stack and dry-run from cmd/run's arguments",
    call: "the program calls no methods of multi-language components",
    readResource: "the program reads no existing resource (`Resource.get`)",
    registerStackTransform: "the program registers no stack transforms",
    registerStackInvokeTransform: "the program registers no invoke transforms",
    registerResourceHook: "the program registers no resource hooks",
    registerErrorHook: "the program registers no error hooks",
    registerPackage: "the program uses no parameterized packages",
    startDebugging: "no debugger is attached to the rehearsal",
};

/**
 * A registration as the engine's planner sees it: the resource's state before any provider ran
 * (inputs as they arrive on the wire: secrets as signature objects, unknowns as UNKNOWN).
 */
export type Registration = Omit<ResourceState, "id" | "outputs">;

export interface MonitorHandlers {
    project: string;
    stack: string;
    /** Carries out a registration; a rejection fails the update (the RPC is then never answered, like the engine's after a failed step). */
    register(reg: Registration): Promise<{ id?: string; state: Record<string, unknown> }>;
    invoke(token: string, args: Record<string, unknown>): Promise<Record<string, unknown>>;
    /** Engine.Log: severity "debug" | "info" | "warning" | "error". */
    log(severity: string, message: string, urn: string): void;
}

export interface MonitorServer {
    /** host:port of both services (the engine and the monitor live in one process, as in the CLI). */
    address: string;
    /** The stack's outputs once the program registered them (RegisterResourceOutputs on the root stack resource). */
    stackOutputs(): Record<string, unknown> | undefined;
    /** The URN the SDK set as its root resource. */
    rootResource(): string;
    stop(): Promise<void>;
}

/** The URN the engine gives a resource (deployment.generateURN): the parent's qualified type, except the root stack's. */
export function resourceUrn(stack: string, project: string, parent: string, type: string, name: string): string {
    const parentType = parent ? parent.split("::")[2] : "";
    const qualified = parentType && parentType !== "pulumi:pulumi:Stack" ? `${parentType}$${type}` : type;
    return `urn:pulumi:${stack}::${project}::${qualified}::${name}`;
}

/** A Struct from the wire as plain values (secrets stay signature objects, unknowns stay UNKNOWN). */
export function fromStruct(struct: any): Record<string, unknown> {
    return struct ? (struct.toJavaScript() as Record<string, unknown>) : {};
}

/** Plain values to a Struct: undefined is dropped, as JSON would. */
export function toStruct(value: Record<string, unknown>): any {
    return structproto.Struct.fromJavaScript(JSON.parse(JSON.stringify(value ?? {})));
}

/** Stack outputs as the rehearsal keeps them: a secret is `{sig, value}`, an unknown (preview) is undefined. */
export function stackOutputsFromWire(outputs: Record<string, unknown>): Record<string, unknown> {
    const clean = (v: unknown): unknown => {
        if (v === UNKNOWN) return undefined;
        if (Array.isArray(v)) return v.map(clean);
        if (v && typeof v === "object") {
            const out: Record<string, unknown> = {};
            for (const [k, x] of Object.entries(v)) {
                const c = clean(x);
                if (c !== undefined) out[k] = c;
            }
            return out;
        }
        return v;
    };
    const result: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(outputs)) {
        const c = clean(v);
        result[k] = c && typeof c === "object" && (c as Record<string, unknown>)[SIG_KEY] === SECRET_SIG && (c as { value?: unknown }).value === undefined ? undefined : c;
    }
    return result;
}

function refuse(method: string, why: string) {
    return (_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
        callback({ code: grpc.status.UNIMPLEMENTED, details: `the rehearsal engine does not serve ResourceMonitor/Engine ${method}: ${why}. The real \`pulumi up\` does.` }, null);
    };
}

const SEVERITY: Record<number, string> = {
    [engproto.LogSeverity.DEBUG]: "debug",
    [engproto.LogSeverity.INFO]: "info",
    [engproto.LogSeverity.WARNING]: "warning",
    [engproto.LogSeverity.ERROR]: "error",
};

export async function startMonitorServer(h: MonitorHandlers): Promise<MonitorServer> {
    let stackOutputs: Record<string, unknown> | undefined;
    let root = "";
    const monitor = {
        supportsFeature(call: any, callback: grpc.sendUnaryData<unknown>) {
            const resp = new resproto.SupportsFeatureResponse();
            resp.setHassupport(ENGINE_FEATURES[call.request.getId()] === true);
            callback(null, resp);
        },
        registerResource(call: any, callback: grpc.sendUnaryData<unknown>) {
            const req = call.request;
            const parent: string = req.getParent();
            const reg: Registration = {
                urn: resourceUrn(h.stack, h.project, parent, req.getType(), req.getName()),
                type: req.getType(),
                name: req.getName(),
                custom: req.getCustom(),
                parent: parent || undefined,
                dependencies: req.getDependenciesList(),
                retainOnDelete: req.getRetainondelete() === true,
                deleteBeforeReplace: req.getDeletebeforereplace() === true,
                protect: req.getProtect() === true,
                additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
                inputs: fromStruct(req.getObject()),
            };
            h.register(reg).then(
                (result) => {
                    const resp = new resproto.RegisterResourceResponse();
                    resp.setUrn(reg.urn);
                    resp.setId(result.id ?? "");
                    // Like the engine: a component's registration hands back no outputs.
                    resp.setObject(toStruct(reg.custom ? result.state : {}));
                    resp.setResult(resproto.Result.SUCCESS);
                    callback(null, resp);
                },
                // A failed step cancels the deployment: the engine never answers this registration
                // and the program is stopped (see runProgram). Nothing to send.
                () => undefined,
            );
        },
        registerResourceOutputs(call: any, callback: grpc.sendUnaryData<unknown>) {
            const req = call.request;
            if (req.getUrn() === root || (!root && req.getUrn().includes("::pulumi:pulumi:Stack::"))) {
                stackOutputs = fromStruct(req.getOutputs());
            }
            callback(null, new emptyproto.Empty());
        },
        invoke(call: any, callback: grpc.sendUnaryData<unknown>) {
            const tok: string = call.request.getTok();
            h.invoke(tok, fromStruct(call.request.getArgs())).then(
                (ret) => {
                    const resp = new provproto.InvokeResponse();
                    resp.setReturn(toStruct(ret));
                    callback(null, resp);
                },
                (err) => callback({ code: grpc.status.UNKNOWN, details: `invocation of ${tok} returned an error: ${err instanceof Error ? err.message : String(err)}` }, null),
            );
        },
        signalAndWaitForShutdown(_call: any, callback: grpc.sendUnaryData<unknown>) {
            // The engine waits here for delete hooks; the program registers none.
            callback(null, new emptyproto.Empty());
        },
    };
    const engine = {
        log(call: any, callback: grpc.sendUnaryData<unknown>) {
            const req = call.request;
            h.log(SEVERITY[req.getSeverity()] ?? "info", req.getMessage(), req.getUrn());
            callback(null, new emptyproto.Empty());
        },
        getRootResource(_call: any, callback: grpc.sendUnaryData<unknown>) {
            const resp = new engproto.GetRootResourceResponse();
            resp.setUrn(root);
            callback(null, resp);
        },
        setRootResource(call: any, callback: grpc.sendUnaryData<unknown>) {
            root = call.request.getUrn();
            callback(null, new engproto.SetRootResourceResponse());
        },
        requirePulumiVersion(call: any, callback: grpc.sendUnaryData<unknown>) {
            // Answered for the CLI version that matches the pinned SDK.
            const range: string = call.request.getPulumiVersionRange();
            if (semver.satisfies(PINNED_CLI_VERSION, range)) callback(null, new engproto.RequirePulumiVersionResponse());
            else callback({ code: grpc.status.INVALID_ARGUMENT, details: `Pulumi CLI version ${PINNED_CLI_VERSION} does not satisfy the version range "${range}"` }, null);
        },
    };
    const refusals = (service: Record<string, unknown>) =>
        Object.fromEntries(Object.keys(service).filter((m) => REFUSED_METHODS[m]).map((m) => [m, refuse(m, REFUSED_METHODS[m])]));

    const server = new grpc.Server({ "grpc.max_receive_message_length": 400 * 1024 * 1024 });
    server.addService(resrpc.ResourceMonitorService, { ...refusals(resrpc.ResourceMonitorService), ...monitor } as any);
    server.addService(engrpc.EngineService, { ...refusals(engrpc.EngineService), ...engine } as any);
    const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
    return {
        address: `127.0.0.1:${port}`,
        stackOutputs: () => stackOutputs,
        rootResource: () => root,
        stop: () => new Promise<void>((resolve) => {
            // Registrations that are never answered (after a failure) must not hold the shutdown.
            server.forceShutdown();
            resolve();
        }),
    };
}
