/**
 * Declares a Migration under Pulumi's runtime mocks and records every registration request. Several
 * declarations may run in one process, one after the other (test/migration.unit.test.ts).
 */
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import * as rpc from "@pulumi/pulumi/runtime/rpc";
import * as settings from "@pulumi/pulumi/runtime/settings";
import * as runtimeConfig from "@pulumi/pulumi/runtime/config";
import { settingsWith } from "./config-fixture";
import type { PreflightResult } from "../lib/preflight";

// eslint-disable-next-line @typescript-eslint/no-var-requires
const runtimeState = require("@pulumi/pulumi/runtime/state");

export interface Recorded {
    type: string;
    name: string;
    parent: string;
    deps: string[];
    retainOnDelete: boolean;
    secretOutputs: string[];
    inputs: Record<string, any>;
    secretInputs: string[];
}

export const SECRET_PASSWORD = "s3cr3t-source-password";

/**
 * Makes `monitor` the runtime's monitor (preview or not), once the previous declaration in this
 * process has no RPC in flight: the runtime's settings are global per process, and a late
 * registration of one declaration must not reach the next one's monitor.
 */
export async function installMocks(monitor: MockMonitor, preview: boolean): Promise<void> {
    await (settings as any).waitForRPCs();
    settings.setMockOptions(monitor, "azure-to-heroku-pg", "test", preview);
}

export async function declareForTest(overrides: Record<string, string>): Promise<Map<string, Recorded>> {
    const recorded = new Map<string, Recorded>();
    class Recording extends MockMonitor {
        async registerResource(req: any, callback: (err: any, resp: any) => void): Promise<void> {
            const inputs = rpc.deserializeProperties(req.getObject());
            const secretInputs = Object.entries(inputs).filter(([, v]) => rpc.isRpcSecret(v)).map(([k]) => k);
            recorded.set(req.getName(), {
                type: req.getType(),
                name: req.getName(),
                parent: req.getParent(),
                deps: req.getDependenciesList().map((u: string) => u.split("::").pop()),
                retainOnDelete: req.getRetainondelete(),
                secretOutputs: req.getAdditionalsecretoutputsList(),
                inputs,
                secretInputs,
            });
            return super.registerResource(req, callback);
        }
    }
    const monitor = new Recording({
        newResource: (args) => ({
            id: `${args.name}-id`,
            // What Azure returns for these: the blob endpoint and the container's name.
            state: args.type === "azure-native:storage:StorageAccount" ? { ...args.inputs, primaryEndpoints: { blob: `https://${args.inputs.accountName}.blob.core.windows.net/` } }
                : args.type === "azure-native:storage:BlobContainer" ? { ...args.inputs, name: args.inputs.containerName }
                : args.inputs,
        }),
        call: (args) => (args.token === "azure-native:storage:listStorageAccountKeys" ? { keys: [{ value: "a2V5" }] } : { primaryEndpoints: { blob: "https://x/" } }),
    });
    await installMocks(monitor, false);
    const store = runtimeState.getStore();
    store.supportsSecrets = true;
    store.supportsResourceReferences = true;
    runtimeConfig.setAllConfig({ "azure-to-heroku-pg:sourcePassword": SECRET_PASSWORD }, ["azure-to-heroku-pg:sourcePassword"]);

    const preflight: PreflightResult = {
        serverVersion: "15.18", serverMajor: 15, pgDumpVersion: "15.18", databaseBytes: 1,
        extensions: [{ name: "citext", version: "1.6" }], findings: [],
        settings: {
            database: [{ name: "statement_timeout", value: "30s", origin: "database", group: "database", scope: "database" }],
            heroku: [{ name: "log_lock_waits", value: "on", origin: "server", group: "heroku", heroku: { key: "log_lock_waits", value: true, command: "heroku pg:settings:log-lock-waits" } }],
            unavailable: [], skipped: [],
        },
    };
    const { Migration } = await import("../components/migration");
    const m = new Migration("migration", { settings: settingsWith(overrides), preflight });
    await new Promise<void>((resolve) => m.urn.apply(() => resolve()));
    await (settings as any).waitForRPCs();
    // Let dependent registrations (which wait on outputs) finish.
    for (let i = 0; i < 50 && !recorded.has("migration-cutover"); i++) await new Promise((r) => setTimeout(r, 20));
    return recorded;
}

