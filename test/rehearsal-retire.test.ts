/**
 * Integration: retiring the source on `destroy` (retireSourceServer), end to end in the rehearsal.
 * - a wrong confirmation stops `up` before anything is created, naming the setting;
 * - with SOURCE_DATABASE_URL (a database the rehearsal did not start): a cutover that did not
 *   happen leaves no retirement record, and destroy deletes the dump and leaves the source; after a
 *   verified cutover, destroy refuses to retire it, says why, and still deletes the dump;
 * - opting in is an update of the inert record kept while only the confirmation is set;
 * - a cutover rolled back (config `rollback`): destroy refuses to retire, says why, deletes the dump;
 * - the demo source the rehearsal started: destroy stops the cluster and removes its data directory.
 *
 * Each top-level test has its own fixture (or directory): it starts from nothing and runs alone.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { withClient } from "../lib/pg";
import { assertNoStep, findStep, readReport, withFixture, type RehearsalFixture } from "./rehearsal-fixture";

const RETIRE = { retireSourceServer: "true", retireSourceServerConfirm: "127.0.0.1" };

function state(dir: string): { name: string; type: string; outputs: Record<string, unknown> }[] {
    const file = path.join(dir, "state", "rehearsal.json");
    return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")).resources : [];
}

async function sourceAnswers(fx: RehearsalFixture): Promise<boolean> {
    return withClient(fx.sourceConn, async (c) => (await c.query("SELECT 1 AS one")).rows[0].one === 1);
}

test("SOURCE_DATABASE_URL: no cutover, no retirement; after a verified cutover destroy refuses to retire and still deletes the dump", withFixture("rehearsal-retire-", async (fx) => {
    // The cutover does not happen (the acceptance command fails): no retirement is recorded.
    const failed = fx.rehearse("up", { ...RETIRE, acceptanceCommand: "exit 3" });
    assert.notEqual(failed.status, 0, failed.out);
    assert.equal(fx.report("up").status, "failed");
    assertNoStep(fx.report("up"), { type: "SourceRetirement" });
    // The program's own plan line, as the user reads it in preview and up.
    assert.match(failed.out, /retire: pulumi destroy will stop and remove 127\.0\.0\.1 only if it is the local source cluster this rehearsal started; a non-Azure server is never retired outside the rehearsal/);
    assert.ok(!state(fx.dir).some((r) => r.name === "migration-retire-source"));
    const d1 = fx.rehearse("destroy", RETIRE);
    assert.equal(d1.status, 0, d1.out);
    assertNoStep(fx.report("destroy"), { type: "SourceRetirement" });
    findStep(fx.report("destroy"), { op: "delete", type: "DumpToBlob", name: "migration-dump" });
    assert.deepEqual(await fx.blobs(), []);
    assert.equal(await sourceAnswers(fx), true);

    // Only the confirmation set: an inert record (retire false); opting in updates it, never replaces it.
    const inert = fx.rehearse("up", { retireSourceServerConfirm: "127.0.0.1" });
    assert.equal(inert.status, 0, inert.out);
    // The program's own plan line.
    assert.match(inert.out, /retire: pulumi destroy will not delete 127\.0\.0\.1 \(retireSourceServer is false\)/);
    assert.equal(state(fx.dir).find((r) => r.name === "migration-retire-source")?.outputs.retire, false);
    const up = fx.rehearse("up", RETIRE);
    assert.equal(up.status, 0, up.out);
    findStep(fx.report("up"), { op: "update", type: "SourceRetirement", name: "migration-retire-source" });
    const rec = state(fx.dir).find((r) => r.name === "migration-retire-source")!.outputs;
    assert.equal(rec.retire, true);
    assert.equal(rec.confirm, "127.0.0.1");
    assert.match(String(rec.cutoverAt), /^\d{4}-\d\d-\d\dT/);
    assert.match(String(rec.verifiedAt), /^\d{4}-\d\d-\d\dT/);
    assert.ok((await fx.blobs()).length === 1);

    const d2 = fx.rehearse("destroy", RETIRE);
    assert.equal(d2.status, 0, d2.out);
    findStep(fx.report("destroy"), { op: "delete", type: "DumpToBlob", name: "migration-dump" });
    // SourceRetirement's own line: why it retired nothing.
    assert.match(d2.out, new RegExp(`\\[SourceRetirement\\] refused to retire 127\\.0\\.0\\.1:${fx.sourceConn.port}: it is not an Azure Database for PostgreSQL server and not the source cluster this rehearsal started \\(SOURCE_DATABASE_URL, or not a rehearsal\\)\\. Nothing was retired; the rest of destroy goes on\\.`));
    assert.deepEqual(await fx.blobs(), []);
    assert.equal(await sourceAnswers(fx), true);
}));

test("a rolled-back cutover: destroy refuses to retire the source, says why, and still deletes the dump", withFixture("rehearsal-retire-", async (fx) => {
    const up = fx.rehearse("up", RETIRE);
    assert.equal(up.status, 0, up.out);
    const rb = fx.rehearse("up", { ...RETIRE, rollback: "true" });
    assert.equal(rb.status, 0, rb.out);
    findStep(fx.report("up"), { op: "update", type: "SourceRetirement", name: "migration-retire-source" });
    const d = fx.rehearse("destroy", { ...RETIRE, rollback: "true" });
    assert.equal(d.status, 0, d.out);
    findStep(fx.report("destroy"), { op: "delete", type: "DumpToBlob", name: "migration-dump" });
    // SourceRetirement's own line: why it retired nothing.
    assert.match(d.out, /\[SourceRetirement\] refused to retire 127\.0\.0\.1: the cutover of [0-9T:.Z-]+ was rolled back at [0-9T:.Z-]+, so the apps use 127\.0\.0\.1 again\. Nothing was retired; the rest of destroy goes on\./);
    assert.deepEqual(await fx.blobs(), []);
    assert.equal(await sourceAnswers(fx), true);
}));

function portOpen(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const s = net.connect({ host: "127.0.0.1", port }, () => { s.destroy(); resolve(true); });
        s.on("error", () => resolve(false));
    });
}

test("the demo source: a wrong name stops up before anything; opted in, destroy stops the cluster and removes its data directory", async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rehearsal-retire-demo-"));
    fs.chmodSync(tmp, 0o755);
    const dir = path.join(tmp, "rehearsal");
    const run = (command: "up" | "destroy", config: Record<string, string>) => {
        const env: NodeJS.ProcessEnv = { ...process.env, REHEARSAL_DIR: dir, REHEARSAL_CONFIG: JSON.stringify(config), A2H_QUIET: "" };
        delete env.SOURCE_DATABASE_URL;
        delete env.REHEARSAL_TARGET_URL;
        const since = Date.now();
        const r = spawnSync(process.execPath, ["--require", "ts-node/register/transpile-only", path.join(__dirname, "..", "local", "rehearse.ts"), command], { cwd: path.join(__dirname, ".."), encoding: "utf8", timeout: 240_000, env });
        return { status: r.status ?? -1, out: `${r.stdout}\n${r.stderr}`, report: () => readReport(dir, command, since) };
    };
    try {
        const wrong = run("up", { retireSourceServer: "true", retireSourceServerConfirm: "myserver" });
        assert.notEqual(wrong.status, 0);
        assert.match(wrong.report().error ?? "", /config `retireSourceServerConfirm`: is "myserver", not the name of the source server "127\.0\.0\.1": `pulumi destroy` deletes the server only when it is named exactly\. To retire 127\.0\.0\.1 on destroy, `pulumi config set retireSourceServerConfirm 127\.0\.0\.1`; otherwise `pulumi config set retireSourceServer false`\. Nothing was changed\./);
        // As under `pulumi up`, the program registered its stack (a component) before preflight stopped it.
        assert.deepEqual(state(dir).filter((r) => r.type !== "pulumi:pulumi:Stack"), [], "nothing was created");

        const up = run("up", RETIRE);
        assert.equal(up.status, 0, up.out);
        const sourceDir = path.join(dir, "pg", "source");
        const port = JSON.parse(fs.readFileSync(`${sourceDir}.cluster.json`, "utf8")).port as number;
        const destroy = run("destroy", RETIRE);
        assert.equal(destroy.status, 0, destroy.out);
        findStep(destroy.report(), { op: "delete", type: "DumpToBlob", name: "migration-dump" });
        // SourceRetirement's own line: what it stopped and removed.
        assert.match(destroy.out, new RegExp(`\\[SourceRetirement\\] retired the rehearsal's source 127\\.0\\.0\\.1:${port} \\(stands in for the Azure server\\): stopped, removed ${sourceDir.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}`));
        assert.equal(fs.existsSync(sourceDir), false);
        assert.equal(fs.existsSync(`${sourceDir}.cluster.json`), false);
        assert.equal(await portOpen(port), false, "the source cluster is stopped");
    } finally {
        // Stop whatever a failed assertion left running (the rehearsal stops its services itself).
        for (const d of ["source", "heroku"]) {
            const real = path.join(dir, "pg", d);
            if (fs.existsSync(path.join(real, "postmaster.pid"))) spawnSync("pg_ctl", ["-D", fs.realpathSync(real), "-m", "immediate", "stop"]);
        }
        fs.rmSync(tmp, { recursive: true, force: true });
    }
});
