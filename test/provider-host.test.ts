/**
 * A tiny dynamic provider, serialized by Pulumi's own closure serializer, driven through the real
 * dynamic provider host (`@pulumi/pulumi/cmd/dynamic-provider`, started as the Pulumi engine starts
 * it) over gRPC by local/providerHost.ts: check/diff/create/update/replace/delete, secrets and
 * unknowns as the engine puts them on the wire, check failures, a closure that does not load, and
 * the host's process group gone after stop, after a signal, and when the parent is killed.
 *
 *   node --require ts-node/register/transpile-only --test test/provider-host.test.ts
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ProviderHost, checkFailureMessage, processAlive } from "../local/providerHost";
import { UNKNOWN, annotateSecrets, marshalProps, unmarshalProps } from "../local/providerWire";
import { registerSecret } from "../lib/redact";
import { isSecret, secret } from "../local/state";

/* eslint-disable @typescript-eslint/no-var-requires -- the provider's methods require what they use: its closure captures nothing */

const PROJECT = "ph-test";
const URN = `urn:pulumi:dev::${PROJECT}::pulumi-nodejs:dynamic:Resource::thing`;

/**
 * Records every call in the file named by PH_RECORD (read from the host's inherited environment
 * inside the methods: the closure captures nothing).
 */
const tinyProvider = {
    async configure(req: any) {
        const fs = require("fs");
        fs.appendFileSync(process.env.PH_RECORD as string, JSON.stringify({ op: "configure", plain: req.config.get("plain"), password: req.config.require(`ph-test:password`) }) + "\n");
    },
    async check(olds: any, news: any) {
        const fs = require("fs");
        fs.appendFileSync(process.env.PH_RECORD as string, JSON.stringify({ op: "check", olds, news }) + "\n");
        if (typeof news.size !== "number" || news.size < 0) return { inputs: news, failures: [{ property: "size", reason: "must be a number of 0 or more" }] };
        return { inputs: { ...news, label: String(news.name).toUpperCase() } };
    },
    async diff(id: string, olds: any, news: any) {
        const fs = require("fs");
        fs.appendFileSync(process.env.PH_RECORD as string, JSON.stringify({ op: "diff", id, olds, news }) + "\n");
        const replaces = olds.name !== news.name ? ["name"] : [];
        return { changes: replaces.length > 0 || olds.size !== news.size, replaces, deleteBeforeReplace: replaces.length > 0 && news.deleteFirst === true };
    },
    async create(inputs: any) {
        const fs = require("fs");
        fs.appendFileSync(process.env.PH_RECORD as string, JSON.stringify({ op: "create", inputs }) + "\n");
        // Progress on stderr, as lib/progress.ts writes it; the token must not reach the parent's output.
        process.stderr.write(`[Tiny] creating ${inputs.name} with token ${inputs.token}\n`);
        return { id: `thing-${inputs.name}`, outs: { name: inputs.name, size: inputs.size, token: inputs.token, tokenType: typeof inputs.token } };
    },
    async update(id: string, olds: any, news: any) {
        const fs = require("fs");
        fs.appendFileSync(process.env.PH_RECORD as string, JSON.stringify({ op: "update", id, olds, news }) + "\n");
        return { outs: { ...olds, size: news.size, updates: (olds.updates ?? 0) + 1 } };
    },
    async delete(id: string, props: any) {
        const fs = require("fs");
        fs.appendFileSync(process.env.PH_RECORD as string, JSON.stringify({ op: "delete", id, props }) + "\n");
    },
};

async function serialize(provider: unknown): Promise<string> {
    // What `new dynamic.Resource(provider, ...)` puts into `__provider`.
     
    const sc = require("@pulumi/pulumi/runtime/closure/serializeClosure");
    return (await sc.serializeFunction(() => provider, { allowSecrets: true })).text;
}

function groupAlive(pid: number): boolean {
    try {
        process.kill(-pid, 0);
        return true;
    } catch {
        return false;
    }
}

/** A child process that starts a provider host and then idles: the host's pid, once it runs. */
async function hostInChild(pidFile?: string): Promise<{ child: ChildProcess; pid: number }> {
    const script = `
        const { ProviderHost } = require(${JSON.stringify(path.join(__dirname, "..", "local", "providerHost"))});
        ProviderHost.start({ project: "p", stack: "s", config: {}, secretKeys: [], log: () => {}, logError: () => {}${pidFile ? `, pidFile: ${JSON.stringify(pidFile)}` : ""} })
            .then((h) => { console.log("pid " + h.pid); setInterval(() => {}, 1000); });`;
    const child = spawn(process.execPath, ["--require", "ts-node/register/transpile-only", "-e", script], { cwd: path.join(__dirname, ".."), stdio: ["ignore", "pipe", "inherit"] });
    const pid = await new Promise<number>((resolve, reject) => {
        let text = "";
        child.stdout!.on("data", (d) => {
            text += d;
            const m = /pid (\d+)/.exec(text);
            if (m) resolve(Number(m[1]));
        });
        child.once("exit", (code) => reject(new Error(`child exited ${code} before starting the host`)));
    });
    return { child, pid };
}

describe("the real dynamic provider host over gRPC", () => {
    let tmp: string;
    let record: string;
    let host: ProviderHost;
    let providerText: string;
    const out: string[] = [];
    const err: string[] = [];
    const records = () => fs.readFileSync(record, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const last = (op: string) => records().filter((r) => r.op === op).pop();

    before(async () => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "provhost-"));
        record = path.join(tmp, "calls.jsonl");
        fs.writeFileSync(record, "");
        process.env.PH_RECORD = record;
        registerSecret("tok-0123456789-secret");
        providerText = await serialize(tinyProvider);
        host = await ProviderHost.start({
            project: PROJECT,
            stack: "dev",
            config: { [`${PROJECT}:plain`]: "visible", [`${PROJECT}:password`]: "pw-config-secret" },
            secretKeys: [`${PROJECT}:password`],
            log: (l) => out.push(l),
            logError: (l) => err.push(l),
        });
    });

    after(async () => {
        await host?.stop();
        delete process.env.PH_RECORD;
        fs.rmSync(tmp, { recursive: true, force: true });
    });

    test("create, diff, update, replace and delete go through the host; a secret input comes back secret", async () => {
        assert.ok(processAlive(host.pid), "the host runs");
        assert.match(host.version, /^\d+\.\d+\.\d+/);
        const news = { name: "alpha", size: 1, token: secret("tok-0123456789-secret"), __provider: providerText };
        const checked = await host.check(URN, undefined, news, false);
        assert.deepEqual(checked.failures, []);
        assert.equal(checked.inputs.label, "ALPHA");
        assert.ok(isSecret(checked.inputs.token), "check's result keeps the secret bit of the input");
        // The host does not accept secrets (ConfigureResponse.acceptSecrets false): the provider got a plain string.
        assert.equal(last("check").news.token, "tok-0123456789-secret");
        // Configure: the whole stack config, the secret one unwrapped by the host.
        assert.deepEqual(records().find((r) => r.op === "configure"), { op: "configure", plain: "visible", password: "pw-config-secret" });

        const created = await host.create(URN, checked.inputs);
        assert.equal(created.id, "thing-alpha");
        assert.equal(created.outputs.tokenType, "string");
        assert.ok(isSecret(created.outputs.token), "the output of a secret input is secret");
        assert.deepEqual((created.outputs.token as any).value, "tok-0123456789-secret");
        assert.equal(created.outputs.__provider, providerText, "the host keeps __provider in the outputs");
        assert.ok(err.some((l) => l === "[Tiny] creating alpha with token [secret]"), `stderr is redacted by the parent: ${JSON.stringify(err)}`);
        assert.ok(!err.join("\n").includes("tok-0123456789-secret"));

        const same = await host.diff(URN, created.id, checked.inputs, created.outputs, checked.inputs, false);
        assert.deepEqual(same, { changes: "none", replaces: [], deleteBeforeReplace: false });
        assert.equal(last("diff").olds.token, "tok-0123456789-secret", "old outputs are sent without the secret wrapper");

        const bigger = (await host.check(URN, checked.inputs, { ...news, size: 5 }, false)).inputs;
        const grow = await host.diff(URN, created.id, checked.inputs, created.outputs, bigger, false);
        assert.deepEqual(grow, { changes: "some", replaces: [], deleteBeforeReplace: false });
        const updated = await host.update(URN, created.id, checked.inputs, created.outputs, bigger);
        assert.equal(updated.size, 5);
        assert.equal(updated.updates, 1);
        assert.ok(isSecret(updated.token));

        const renamed = (await host.check(URN, bigger, { ...news, name: "beta", deleteFirst: true }, false)).inputs;
        const replace = await host.diff(URN, created.id, bigger, updated, renamed, false);
        assert.deepEqual(replace, { changes: "some", replaces: ["name"], deleteBeforeReplace: true });
        await host.delete(URN, created.id, bigger, updated);
        assert.equal(last("delete").id, "thing-alpha");
        assert.equal(last("delete").props.token, "tok-0123456789-secret");
        const replacement = await host.create(URN, renamed);
        assert.equal(replacement.id, "thing-beta");
    });

    test("during a preview, an unknown input reaches the provider as the engine's unknown sentinel", async () => {
         
        const unknown = require("@pulumi/pulumi/output").unknown;
        const r = await host.check(URN, undefined, { name: unknown, size: 2, __provider: providerText }, true);
        assert.equal(last("check").news.name, UNKNOWN);
        assert.deepEqual(r.failures, []);
        // Outside a preview the engine does not send unknowns: the property is left out.
        await host.check(URN, undefined, { name: unknown, size: 2, __provider: providerText }, false);
        assert.equal("name" in last("check").news, false);
    });

    test("the engine address the host is given serves Engine.Log, redacted", async () => {
        // The host is started with this address, as under the CLI; a provider (or a newer host) that
        // logs through the engine reaches the rehearsal's output, never with a credential in it.
         
        const grpc = require("@grpc/grpc-js");
         
        const engrpc = require("@pulumi/pulumi/proto/engine_grpc_pb");
         
        const engproto = require("@pulumi/pulumi/proto/engine_pb");
        const client = new engrpc.EngineClient(host.engineAddress, grpc.credentials.createInsecure());
        const req = new engproto.LogRequest();
        req.setSeverity(engproto.LogSeverity.WARNING);
        req.setMessage("token tok-0123456789-secret expires soon");
        await new Promise<void>((resolve, reject) => client.log(req, (e: Error | null) => (e ? reject(e) : resolve())));
        client.close();
        assert.equal(out[out.length - 1], "warning: token [secret] expires soon");
    });

    test("check failures come back as property and reason", async () => {
        const r = await host.check(URN, undefined, { name: "gamma", size: -1, __provider: providerText }, false);
        assert.deepEqual(r.failures, [{ property: "size", reason: "must be a number of 0 or more" }]);
        assert.equal(checkFailureMessage(r.failures), "size: must be a number of 0 or more");
    });

    test("a provider whose serialized closure does not load fails with the host's message", async () => {
        const broken = 'const pool = require("a2h-module-that-was-never-captured");\nexports.handler = () => ({ create: async () => ({ id: "x" }) });\n';
        await assert.rejects(host.check(URN, undefined, { name: "delta", size: 1, __provider: broken }, false), (e: Error) => {
            assert.match(e.message, /^Cannot find module 'a2h-module-that-was-never-captured'/);
            return true;
        });
        // A closure that loads but whose factory throws (e.g. it captured something it cannot rebuild).
        const throwing = 'exports.handler = () => { throw new Error("captured client is not serializable"); };\n';
        await assert.rejects(host.create(URN, { name: "delta", size: 1, __provider: throwing }), /^Error: captured client is not serializable$|^captured client is not serializable$/);
        assert.ok(processAlive(host.pid), "the host survives a broken provider");
    });
});

describe("the host's lifetime", () => {
    const opts = { project: PROJECT, stack: "dev", config: {}, secretKeys: [], log: () => undefined, logError: () => undefined };

    test("the host's process group is gone after stop", async () => {
        const host = await ProviderHost.start(opts);
        const pid = host.pid;
        assert.ok(groupAlive(pid));
        await host.stop();
        assert.equal(processAlive(pid), false);
        assert.equal(groupAlive(pid), false, "no process of the host's group is left");
        await assert.rejects(host.check(URN, undefined, { __provider: "x" }, false), /the dynamic provider host was stopped/);
    });

    test("a host left by a parent killed with SIGKILL is stopped by the next start with the same pid file", async () => {
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "provhost-pid-"));
        const pidFile = path.join(tmp, "provider-host.pid");
        const { child, pid } = await hostInChild(pidFile);
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGKILL");
        await exited;
        assert.ok(groupAlive(pid), "nothing can stop the host when its parent is killed with SIGKILL");
        const lines: string[] = [];
        const next = await ProviderHost.start({ ...opts, log: (l) => lines.push(l), pidFile });
        try {
            assert.equal(groupAlive(pid), false, "the orphaned host's group is gone");
            assert.deepEqual(lines, [`stopped the dynamic provider host (pid ${pid}) that a killed earlier run left behind`]);
            assert.equal(JSON.parse(fs.readFileSync(pidFile, "utf8")).pid, next.pid);
        } finally {
            await next.stop();
            fs.rmSync(tmp, { recursive: true, force: true });
        }
        assert.equal(fs.existsSync(pidFile), false, "stop removes the pid file");
    });

    for (const sig of ["SIGTERM", "SIGINT"] as const) {
        test(`a parent ended by ${sig} leaves no host behind`, async () => {
            const { child, pid } = await hostInChild();
            assert.ok(groupAlive(pid));
            const exited = new Promise<NodeJS.Signals | null>((r) => child.once("exit", (_c, s) => r(s)));
            child.kill(sig);
            assert.equal(await exited, sig, "the parent still ends by the signal");
            // The kill is synchronous in the parent; give the kernel a moment to reap.
            for (let i = 0; i < 50 && groupAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
            assert.equal(groupAlive(pid), false, `the host's group (pid ${pid}) is gone`);
        });
    }
});

describe("the engine's wire encoding (no process)", () => {
     
    const unknown = require("@pulumi/pulumi/output").unknown;
    const SIG = "4dabf18193072939515e22adb298388d";
    const SECRET = "1b47061264138c4ac30d75fd1eb44270";

    test("secrets are sent as signature objects only to a provider that accepts them; unknowns only where allowed", () => {
        const props = { a: secret("pw"), nested: { b: secret({ c: 1 }), list: [1, unknown, secret("x")] }, gone: undefined, u: unknown };
        assert.deepEqual(marshalProps(props, { keepSecrets: true, keepUnknowns: true }), {
            a: { [SIG]: SECRET, value: "pw" },
            nested: { b: { [SIG]: SECRET, value: { c: 1 } }, list: [1, UNKNOWN, { [SIG]: SECRET, value: "x" }] },
            u: UNKNOWN,
        });
        assert.deepEqual(marshalProps(props, { keepSecrets: false, keepUnknowns: false }), { a: "pw", nested: { b: { c: 1 }, list: [1, null, "x"] } });
    });

    test("results: secrets become secret values again; an unknown outside a preview is an error naming the property", () => {
        const wire = { s: { [SIG]: SECRET, value: "v" }, o: { u: UNKNOWN } };
        assert.deepEqual(unmarshalProps(wire, { label: "urn.check", keepUnknowns: true, rejectUnknowns: false }), { s: secret("v"), o: { u: unknown } });
        assert.throws(() => unmarshalProps(wire, { label: "urn.create", keepUnknowns: false, rejectUnknowns: true }), /^Error: urn\.create: unexpected unknown property value for "u"$/);
    });

    test("annotateSecrets marks an output secret where the input of the same key held a secret, recursively in objects", () => {
        const outs: Record<string, unknown> = { url: "postgres://u:p@h/d", meta: { key: "k", plain: 1 }, other: "o", list: ["a"] };
        annotateSecrets(outs, { url: secret("postgres://u:p@h/d"), meta: { key: secret("k"), plain: 1 }, list: ["a", secret("b")], missing: secret("m") });
        assert.deepEqual(outs, { url: secret("postgres://u:p@h/d"), meta: { key: secret("k"), plain: 1 }, other: "o", list: secret(["a"]) });
    });
});
