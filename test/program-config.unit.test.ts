import { test } from "node:test";
import assert from "node:assert/strict";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import * as settings from "@pulumi/pulumi/runtime/settings";
import * as runtimeConfig from "@pulumi/pulumi/runtime/config";
import { REQUIRED_CONFIG } from "./config-fixture";

// A separate process: Pulumi's runtime settings are global per process.
test("index.ts refuses a configuration key it does not know before anything runs (no preflight, no resource)", async () => {
    const registered: string[] = [];
    const invoked: string[] = [];
    settings.setMockOptions(new MockMonitor({
        newResource: (args) => {
            registered.push(args.name);
            return { id: args.name, state: args.inputs };
        },
        call: (args) => {
            invoked.push(args.token);
            return {};
        },
    }), "azure-to-heroku-pg", "test", true);
    const config: Record<string, string> = { "azure-to-heroku-pg:sourcePassword": "pw", "azure-to-heroku-pg:herokuPlann": "standard-0", "aws:region": "us-east-1" };
    for (const [k, v] of Object.entries(REQUIRED_CONFIG)) config[`azure-to-heroku-pg:${k}`] = v;
    runtimeConfig.setAllConfig(config, ["azure-to-heroku-pg:sourcePassword"]);
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const program: () => Promise<unknown> = require("../index");
    await assert.rejects(program(), {
        message: "config `herokuPlann`: is not a setting of this program; did you mean `herokuPlan`? Remove it with `pulumi config rm herokuPlann` and set `herokuPlan` instead. The settings are listed in Pulumi.yaml and the README.",
    });
    assert.deepEqual({ registered, invoked }, { registered: [], invoked: [] }, "another namespace's key (aws:region) is not ours to judge; nothing ran");
});
