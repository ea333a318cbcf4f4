/**
 * The rehearsal engine's own rules (local/engine.ts), one test each, against what Pulumi's
 * documentation and engine source say (ARCHITECTURE.md "The engine's rules" lists them with their
 * sources). Driven with `command:local:Command` resources, whose create/update/delete scripts
 * append to a journal, so the order of the provider calls is visible; no service is started.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { RehearsalEngine, type Planned } from "../local/engine";
import { StateFile } from "../local/state";

const PROJECT = "rules";
const STACK = "test";
const TYPE = "command:local:Command";

interface Workspace {
    dir: string;
    journal: string;
    state: StateFile;
    engine(opts?: { preview?: boolean }): { engine: RehearsalEngine; lines: string[] };
    calls(): string[];
}

const dirs: string[] = [];
after(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function workspace(): Workspace {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "engine-rules-"));
    dirs.push(dir);
    const journal = path.join(dir, "journal");
    fs.writeFileSync(journal, "");
    const state = new StateFile(path.join(dir, "state", `${STACK}.json`), path.join(dir, "state", "secrets.key"));
    return {
        dir,
        journal,
        state,
        engine(opts = {}) {
            const lines: string[] = [];
            const engine = new RehearsalEngine({
                project: PROJECT, stack: STACK, preview: opts.preview ?? false, config: {}, secretKeys: [], stateFile: state,
                azurite: { accountName: "none", accountKey: "", blobEndpoint: "http://127.0.0.1:1/none" },
                log: (l) => lines.push(l),
            });
            return { engine, lines };
        },
        calls: () => fs.readFileSync(journal, "utf8").split("\n").filter(Boolean),
    };
}

/** A command resource whose scripts write `<verb> <name> <version>` to the journal. */
function command(ws: Workspace, name: string, opts: { version?: string; env?: string; dependsOn?: string[]; retainOnDelete?: boolean; deleteBeforeReplace?: boolean; protect?: boolean; failCreate?: boolean } = {}): Planned {
    const v = opts.version ?? "v1";
    const j = JSON.stringify(ws.journal);
    return {
        urn: urn(name),
        type: TYPE,
        name,
        custom: true,
        dependencies: (opts.dependsOn ?? []).map(urn),
        retainOnDelete: opts.retainOnDelete ?? false,
        deleteBeforeReplace: opts.deleteBeforeReplace ?? false,
        ...(opts.protect ? { protect: true } : {}),
        additionalSecretOutputs: [],
        inputs: {
            create: opts.failCreate ? `echo "create ${name} ${v}" >> ${j}; exit 1` : `echo "create ${name} ${v}" >> ${j}`,
            update: `echo "update ${name} ${v}" >> ${j}`,
            delete: `echo "delete ${name} ${v}" >> ${j}`,
            environment: { SETTING: opts.env ?? "a" },
        },
    };
}

function urn(name: string): string {
    return `urn:pulumi:${STACK}::${PROJECT}::${TYPE}::${name}`;
}

/** One `pulumi up` of the given registrations, in order; then what the program no longer declares is deleted. */
async function up(ws: Workspace, resources: Planned[]): Promise<{ ops: string[]; error?: string }> {
    const { engine } = ws.engine();
    try {
        for (const r of resources) await engine.register(r);
        await engine.finishUpdate({});
    } catch (err) {
        return { ops: engine.steps.map((s) => `${s.op} ${s.name}`), error: err instanceof Error ? err.message : String(err) };
    } finally {
        await engine.close();
    }
    return { ops: engine.steps.map((s) => `${s.op} ${s.name}`) };
}

async function destroy(ws: Workspace): Promise<{ ops: string[]; error?: string }> {
    const { engine } = ws.engine();
    try {
        await engine.destroy();
    } catch (err) {
        return { ops: engine.steps.map((s) => `${s.op} ${s.name}`), error: err instanceof Error ? err.message : String(err) };
    }
    return { ops: engine.steps.map((s) => `${s.op} ${s.name}`) };
}

function saved(ws: Workspace): string[] {
    return ws.state.load(PROJECT, STACK).resources.map((r) => r.name);
}

test("unchanged inputs are a `same` step: no provider call", async () => {
    const ws = workspace();
    await up(ws, [command(ws, "a")]);
    const again = await up(ws, [command(ws, "a")]);
    assert.deepEqual(again.ops, ["same a"]);
    assert.deepEqual(ws.calls(), ["create a v1"]);
});

test("a change of a property that does not force a replacement is an update in place", async () => {
    const ws = workspace();
    await up(ws, [command(ws, "a")]);
    const changed = await up(ws, [command(ws, "a", { env: "b" })]);
    assert.deepEqual(changed.ops, ["update a"]);
    assert.deepEqual(ws.calls(), ["create a v1", "update a v1"]);
});

test("a replacement creates the new resource before deleting the old one (Pulumi's default)", async () => {
    const ws = workspace();
    await up(ws, [command(ws, "a")]);
    const replaced = await up(ws, [command(ws, "a", { version: "v2" })]);
    assert.deepEqual(replaced.ops, ["replace a"]);
    assert.deepEqual(ws.calls(), ["create a v1", "create a v2", "delete a v1"]);
});

test("deleteBeforeReplace deletes the old resource first", async () => {
    const ws = workspace();
    await up(ws, [command(ws, "a", { deleteBeforeReplace: true })]);
    await up(ws, [command(ws, "a", { version: "v2", deleteBeforeReplace: true })]);
    assert.deepEqual(ws.calls(), ["create a v1", "delete a v1", "create a v2"]);
});

test("retainOnDelete: removed from state, the provider's delete is not called", async () => {
    const ws = workspace();
    await up(ws, [command(ws, "kept", { retainOnDelete: true })]);
    const d = await destroy(ws);
    assert.deepEqual(d.ops, ["retain kept"]);
    assert.deepEqual(ws.calls(), ["create kept v1"]);
    assert.deepEqual(saved(ws), []);
});

test("protect: no delete and no replacement while protected; unprotecting by `up` then allows both", async () => {
    const ws = workspace();
    await up(ws, [command(ws, "db", { protect: true })]);
    const d = await destroy(ws);
    assert.match(d.error ?? "", /^unable to delete resource "urn:pulumi:test::rules::command:local:Command::db"\nas it is currently marked for protection\. .*`pulumi state unprotect urn:pulumi:test::rules::command:local:Command::db`$/s);
    assert.deepEqual(saved(ws), ["db"], "still in state");
    const r = await up(ws, [command(ws, "db", { version: "v2", protect: true })]);
    assert.match(r.error ?? "", /^command:local:Command db: unable to replace resource ".*::db"\nas it is currently marked for protection\./);
    // Unprotecting and replacing in one update is allowed (the engine checks old and new).
    const u = await up(ws, [command(ws, "db", { version: "v2" })]);
    assert.deepEqual(u.ops, ["replace db"]);
    assert.deepEqual((await destroy(ws)).ops, ["delete db"]);
    assert.deepEqual(ws.calls(), ["create db v1", "create db v2", "delete db v1", "delete db v2"]);
});

test("dependency order: destroy deletes what depends on a resource before the resource", async () => {
    const ws = workspace();
    await up(ws, [command(ws, "base"), command(ws, "middle", { dependsOn: ["base"] }), command(ws, "top", { dependsOn: ["middle"] })]);
    const d = await destroy(ws);
    assert.deepEqual(d.ops, ["delete top", "delete middle", "delete base"]);
    assert.deepEqual(ws.calls().slice(3), ["delete top v1", "delete middle v1", "delete base v1"]);
});

test("a resource the program no longer declares is deleted at the end of the update", async () => {
    const ws = workspace();
    await up(ws, [command(ws, "a"), command(ws, "b")]);
    const r = await up(ws, [command(ws, "a")]);
    assert.deepEqual(r.ops, ["same a", "delete b"]);
    assert.deepEqual(saved(ws), ["a"]);
});

test("state is saved after every step: a failed update keeps what completed, and the next `up` resumes", async () => {
    const ws = workspace();
    const first = await up(ws, [command(ws, "a"), command(ws, "b", { failCreate: true, dependsOn: ["a"] })]);
    assert.match(first.error ?? "", /^command:local:Command b: command exited with 1/);
    assert.deepEqual(saved(ws), ["a"], "the created resource is in state, the failed one is not");
    const second = await up(ws, [command(ws, "a"), command(ws, "b", { dependsOn: ["a"] })]);
    assert.deepEqual(second.ops, ["same a", "create b"]);
    assert.deepEqual(ws.calls(), ["create a v1", "create b v1", "create b v1"]);
});

test("after a failure no new operation starts (the update ends with the failure)", async () => {
    const ws = workspace();
    const { engine } = ws.engine();
    await assert.rejects(engine.register(command(ws, "bad", { failCreate: true })));
    await assert.rejects(engine.register(command(ws, "later")), /command:local:Command later: not started, because bad failed/);
    assert.deepEqual(ws.calls(), ["create bad v1"]);
});

test("preview plans the steps and calls no create, update or delete", async () => {
    const ws = workspace();
    await up(ws, [command(ws, "a"), command(ws, "b")]);
    const { engine } = ws.engine({ preview: true });
    await engine.register(command(ws, "a", { version: "v2" }));
    await engine.register(command(ws, "c"));
    await engine.finishUpdate({});
    assert.deepEqual(engine.steps.map((s) => `${s.op} ${s.name}`), ["replace a", "create c", "delete b"]);
    assert.deepEqual(ws.calls(), ["create a v1", "create b v1"]);
    assert.deepEqual(saved(ws), ["a", "b"], "preview changes no state");
});
