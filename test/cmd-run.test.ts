/**
 * The program runs under Pulumi's real entry point, `@pulumi/pulumi/cmd/run`, started as the Node
 * language host starts it, against the rehearsal's gRPC ResourceMonitor and Engine
 * (local/monitorServer.ts). A tiny program (test/fixtures/cmd-run) checks what crosses the wire:
 * outputs, secrets, dependencies, logs, and an unknown in preview that fails the way it does under
 * the CLI. The protocol surface the server implements is compared with the installed SDK's, so an
 * SDK upgrade that adds or drops an RPC, a feature or a cmd/run flag fails here loudly.
 * Run: node --require ts-node/register/transpile-only --test test/cmd-run.test.ts
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import PULUMI_PACKAGE from "@pulumi/pulumi/package.json";
import * as resourceGrpc from "@pulumi/pulumi/proto/resource_grpc_pb";
import * as engineGrpc from "@pulumi/pulumi/proto/engine_grpc_pb";
import { RehearsalEngine } from "../local/engine";
import { ENGINE_FEATURES, ENGINE_METHODS, MONITOR_METHODS, PINNED_CLI_VERSION, REFUSED_METHODS, resourceUrn } from "../local/monitorServer";
import { CMD_RUN, cmdRunInvocation, runProgram } from "../local/rehearse";
import { StateFile, isSecret, unwrapSecrets } from "../local/state";

const FIXTURE = path.join(__dirname, "fixtures", "cmd-run");
const PROJECT = "cmd-run-fixture";
const SDK = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
const PASSWORD = "fixture-Pw/%@-" + process.pid;

function engineFor(dir: string, preview: boolean, lines: string[]): RehearsalEngine {
    return new RehearsalEngine({
        project: PROJECT,
        stack: "test",
        preview,
        config: {},
        secretKeys: [],
        stateFile: new StateFile(path.join(dir, "state.json"), path.join(dir, "secrets.key")),
        azurite: { accountName: "unused", accountKey: "unused", blobEndpoint: "http://127.0.0.1:1/unused" },
        log: (l) => lines.push(l),
    });
}

/**
 * cmd/run type-checks the program as under `pulumi up` unless PULUMI_NODEJS_TRANSPILE_ONLY is set
 * (the CLI honours it too); the first `up` below type-checks, the other runs only transpile.
 */
async function runFixture(dir: string, preview: boolean, config: Record<string, string> = {}, typeCheck = false) {
    const lines: string[] = [];
    const engine = engineFor(dir, preview, lines);
    const full: Record<string, string> = { [`${PROJECT}:password`]: PASSWORD };
    for (const [k, v] of Object.entries(config)) full[`${PROJECT}:${k}`] = v;
    const program = runProgram(engine, { root: FIXTURE, project: PROJECT, stack: "test", preview, config: full, secretKeys: [`${PROJECT}:password`], env: typeCheck ? {} : { PULUMI_NODEJS_TRANSPILE_ONLY: "true" } }, (l) => lines.push(l));
    try {
        const outputs = await program.outputs;
        if (!preview) await engine.finishUpdate(outputs);
        return { outputs, engine, lines, error: undefined as Error | undefined, pid: program.pid };
    } catch (err) {
        return { outputs: {}, engine, lines, error: err as Error, pid: program.pid };
    } finally {
        // The run's dynamic provider host, as rehearse() stops it: nothing is left running.
        await engine.close();
    }
}

test("cmd/run is started with the language host's arguments and environment", () => {
    const { args, env } = cmdRunInvocation({ root: "/p", project: "proj", stack: "dev", preview: true, config: { "proj:a": "1", "aws:region": "x" }, secretKeys: ["proj:a"], monitorAddress: "127.0.0.1:5" });
    assert.equal(args[0], CMD_RUN);
    assert.equal(CMD_RUN, require.resolve("@pulumi/pulumi/cmd/run"));
    const parallel = args[args.indexOf("--parallel") + 1];
    assert.deepEqual(args.slice(1), ["--monitor", "127.0.0.1:5", "--engine", "127.0.0.1:5", "--organization", "organization", "--project", "proj", "--root-directory", "/p", "--stack", "dev", "--pwd", "/p", "--dry-run", "--parallel", parallel, "."]);
    assert.ok(Number(parallel) >= 4);
    assert.deepEqual(JSON.parse(env.PULUMI_CONFIG), { "proj:config:a": "1", "aws:config:region": "x" });
    assert.deepEqual(JSON.parse(env.PULUMI_CONFIG_SECRET_KEYS), ["proj:a"]);
    assert.equal(env.PULUMI_NODEJS_TYPESCRIPT, "true");
    // cmd/run knows every flag passed (minimist would otherwise treat it as the program).
    const runIndex = fs.readFileSync(path.join(SDK, "cmd", "run", "index.js"), "utf8");
    for (const flag of args.filter((a) => a.startsWith("--"))) {
        assert.ok(runIndex.includes(`"${flag.slice(2)}"`), `cmd/run accepts ${flag}`);
    }
});

test("the protocol the server implements is the installed SDK's: every RPC served or deliberately refused, every feature answered", () => {
    assert.equal(PULUMI_PACKAGE.version, PINNED_CLI_VERSION, "the server answers as the engine of the pinned version; re-read source_eval.go when the SDK changes");
    const monitor = Object.keys(resourceGrpc.ResourceMonitorService);
    const engine = Object.keys(engineGrpc.EngineService);
    const known = new Set<string>([...MONITOR_METHODS, ...ENGINE_METHODS, ...Object.keys(REFUSED_METHODS)]);
    const unknown = [...monitor, ...engine].filter((m) => !known.has(m));
    assert.deepEqual(unknown, [], `RPCs of the installed SDK the rehearsal's monitor neither serves nor refuses: ${unknown.join(", ")}`);
    const stale = [...known].filter((m) => !monitor.includes(m) && !engine.includes(m));
    assert.deepEqual(stale, [], `RPCs the monitor implements that the installed SDK no longer has: ${stale.join(", ")}`);
    for (const m of MONITOR_METHODS) assert.ok(monitor.includes(m), `ResourceMonitor.${m}`);
    for (const m of ENGINE_METHODS) assert.ok(engine.includes(m), `Engine.${m}`);

    // The feature ids the SDK asks for at startup (settings.awaitFeatureSupport) all have the engine's answer.
    const settings = fs.readFileSync(path.join(SDK, "runtime", "settings.js"), "utf8");
    const block = settings.slice(settings.indexOf("function awaitFeatureSupport"), settings.indexOf("].map((feature) => monitorSupportsFeature"));
    const asked = [...block.matchAll(/^\s*"(\w+)",$/gm)].map((m) => m[1]);
    assert.ok(asked.length >= 10, `found the SDK's feature list (${asked.join(", ")})`);
    const unanswered = asked.filter((f) => !(f in ENGINE_FEATURES));
    assert.deepEqual(unanswered, [], `features the SDK asks that the monitor does not know: ${unanswered.join(", ")}`);

    // --sync is not passed: the SDK never opens the language host's synchronous invoke pipes.
    const callers = fs.readdirSync(path.join(SDK, "runtime")).filter((f) => f.endsWith(".js"))
        .filter((f) => fs.readFileSync(path.join(SDK, "runtime", f), "utf8").includes("tryGetSyncInvokes("))
        .filter((f) => f !== "settings.js" || (fs.readFileSync(path.join(SDK, "runtime", f), "utf8").match(/tryGetSyncInvokes\(/g) ?? []).length > 1);
    assert.deepEqual(callers, [], "an SDK that uses synchronous invokes needs --sync and the pipes");
});

test("URNs are built as the engine builds them", () => {
    const stack = resourceUrn("dev", "p", "", "pulumi:pulumi:Stack", "p-dev");
    assert.equal(stack, "urn:pulumi:dev::p::pulumi:pulumi:Stack::p-dev");
    const comp = resourceUrn("dev", "p", stack, "a:b:C", "c");
    assert.equal(comp, "urn:pulumi:dev::p::a:b:C::c");
    const child = resourceUrn("dev", "p", comp, "x:y:Z", "z");
    assert.equal(child, "urn:pulumi:dev::p::a:b:C$x:y:Z::z");
    assert.equal(resourceUrn("dev", "p", child, "q:r:S", "s"), "urn:pulumi:dev::p::a:b:C$x:y:Z$q:r:S::s");
});

test("up through cmd/run: outputs, secrets, dependencies and logs cross the wire; preview sees unknowns", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cmd-run-"));
    try {
        const up = await runFixture(dir, false, {}, true);
        assert.equal(up.error, undefined, `${up.error?.stack}\n${up.lines.join("\n")}`);
        const o = up.outputs;
        assert.ok(isSecret(o.aToken), "an additionalSecretOutputs output is a secret stack output");
        assert.equal(unwrapSecrets(o.aToken), "token-of-a");
        assert.equal(o.aLabel, "a");
        assert.equal(o.bId, "item-b");
        assert.equal(o.bUpstream, "token-of-b after a");
        assert.deepEqual(o.plain, { count: 2, names: ["a", "b"] });
        assert.ok(up.lines.includes("info: [runtime] dry run: false"), up.lines.join("\n"));
        assert.ok(up.lines.some((l) => /^\+ {2}create {3}pulumi-nodejs:dynamic:Resource a$/.test(l)), up.lines.join("\n"));

        const stackUrn = `urn:pulumi:test::${PROJECT}::pulumi:pulumi:Stack::${PROJECT}-test`;
        const byName = new Map(up.engine.resources.map((r) => [r.name, r]));
        const a = byName.get("a")!;
        const b = byName.get("group-item")!;
        const group = byName.get("group")!;
        assert.equal(a.urn, `urn:pulumi:test::${PROJECT}::pulumi-nodejs:dynamic:Resource::a`);
        assert.equal(group.urn, `urn:pulumi:test::${PROJECT}::fixture:index:Group::group`);
        assert.equal(b.urn, `urn:pulumi:test::${PROJECT}::fixture:index:Group$pulumi-nodejs:dynamic:Resource::group-item`);
        assert.equal(a.parent, stackUrn);
        assert.equal(b.parent, group.urn);
        assert.deepEqual(b.dependencies, [a.urn], "the dependency on a travelled with the registration");
        assert.ok(isSecret(a.inputs.password), "the secret config value arrives as a secret input");
        assert.ok(isSecret(a.outputs.token) && isSecret(a.outputs.password));
        const stateText = fs.readFileSync(path.join(dir, "state.json"), "utf8");
        assert.ok(!stateText.includes(PASSWORD) && !stateText.includes("token-of-a"), "secrets are encrypted in state");
        assert.ok(stateText.includes("token-of-b"), "plain outputs are stored in plain");

        // Preview against that state: nothing changes, everything is known.
        const again = await runFixture(dir, true);
        assert.equal(again.error, undefined, again.error?.message);
        assert.equal(again.outputs.bId, "item-b");
        assert.deepEqual(again.engine.steps.map((s) => s.op), ["same", "same"]);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

test("preview of a new stack: outputs of resources to be created are unknown, and a check that needs them fails as under the CLI", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cmd-run-preview-"));
    try {
        const lenient = await runFixture(dir, true);
        assert.equal(lenient.error, undefined, lenient.error?.message);
        // Inputs stay known; outputs only the provider computes are unknown (undefined in the plan).
        assert.equal(lenient.outputs.aLabel, "a");
        assert.equal(lenient.outputs.aToken, undefined);
        assert.equal(lenient.outputs.bId, undefined);
        assert.equal(lenient.outputs.bUpstream, undefined);
        assert.deepEqual(lenient.engine.steps.map((s) => [s.op, s.name]), [["create", "a"], ["create", "group-item"]]);
        assert.ok(lenient.lines.includes("info: [runtime] dry run: true"));
        assert.equal(fs.existsSync(path.join(dir, "state.json")), false, "preview writes no state");

        // b's check sees a's id as the unknown value, as a provider's check does in `pulumi preview`.
        const strict = await runFixture(dir, true, { strict: "true" });
        assert.ok(strict.error, "the preview fails");
        assert.equal(strict.error!.message, 'pulumi-nodejs:dynamic:Resource group-item: upstream: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" is not an item id');
        // With a known id (up), the same check passes.
        const up = await runFixture(dir, false, { strict: "true" });
        assert.equal(up.error, undefined, up.error?.message);
        assert.equal(up.outputs.bId, "item-b");
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

function running(pid: number | undefined): boolean {
    assert.ok(pid && pid > 0, "the program ran in its own process");
    try {
        return !/^\d+ \(.*\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
    } catch {
        return false;
    }
}

test("a failed resource ends the update with its error, the program is stopped, and what was done stays in state", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cmd-run-fail-"));
    try {
        const run = await runFixture(dir, false, { fail: "true" });
        assert.equal(run.error?.message, "pulumi-nodejs:dynamic:Resource group-item: create of b refused (config fail)");
        assert.equal(running(run.pid), false, "cmd/run was stopped");
        assert.deepEqual(run.engine.resources.filter((r) => r.custom).map((r) => r.name), ["a"]);
        assert.ok(!run.lines.some((l) => /^error:/.test(l)), `the program's own reports of the failure are not repeated:\n${run.lines.join("\n")}`);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

test("a program that throws ends the run with its error, and no cmd/run process is left", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cmd-run-throw-"));
    try {
        const run = await runFixture(dir, false, { throw: "true" });
        assert.equal(run.error?.message, "the program was told to throw (config throw)");
        assert.equal(running(run.pid), false, "cmd/run has exited");
        assert.ok(run.lines.includes("error: [runtime] the program was told to throw (config throw)"), "the program's error is logged through Engine.Log, without a stack");
        assert.deepEqual(run.engine.resources.filter((r) => r.custom), [], "nothing was registered");
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});
