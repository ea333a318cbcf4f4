/**
 * Integration: a failure at any stage ends `npm start` at once - non-zero exit, the error, where
 * the write freeze stands (asked of the emulator, not guessed), and a `failed` report - and the
 * next run resumes. Real faults where an input can cause one (an account Azurite does not serve,
 * a region Heroku does not have, a failing freezeCommand, a table the dump role cannot read, a
 * failing acceptance command); REHEARSAL_FAULT (a test hook of the rehearsal engine) for the
 * stages no input can break. The restore and verification faults have their own tests
 * (rehearsal-failure, rehearsal-verify-failure).
 *
 * Each top-level test has its own fixture: it starts from nothing and runs alone.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { withClient } from "../lib/pg";
import type { MigrationReport } from "../lib/report";
import { assertNoStep, findStep, stepsOf, withFixture, type RehearsalFixture } from "./rehearsal-fixture";

const NOT_FROZEN = "No write freeze is in effect: the app writes to the source as before.";
const STILL_ON = 'The write freeze (maintenance mode on Heroku app "a2h-legacy-app") is STILL ON; the source is intact. Fix the cause and run `npm start` again to resume, or lift the freeze by hand with `heroku maintenance:off -a a2h-legacy-app` (and scale worker back).';

/** The run failed: its report says with what error (matched from its start) and where the freeze stands. */
function failsWith(fx: RehearsalFixture, run: { status: number; out: string }, error: RegExp, freeze: string): MigrationReport {
    assert.equal(run.status, 1, run.out);
    const report = fx.report("up");
    assert.equal(report.status, "failed");
    assert.match(report.error ?? "", new RegExp(`^${error.source}`));
    assert.equal(report.freeze, freeze);
    // The summary line the user reads, with where the report is.
    assert.match(run.out, /up FAILED\. Report: /);
    return report;
}

test("every stage's failure ends the run with the error, where the freeze stands and the report; each re-run resumes", withFixture("rehearsal-stages-", async (fx) => {
    const storage = fx.rehearse("up", { storageAccountName: "otheraccount" });
    failsWith(fx, storage, /azure-native:storage:StorageAccount migration-storage: the rehearsal's Azurite has one account, "devstoreaccount1"; set storageAccountName to it/, NOT_FROZEN);

    const app = fx.rehearse("up", { herokuRegion: "mars" });
    failsWith(fx, app, /pulumi-nodejs:dynamic\/heroku:App migration-app: .*Couldn't find that region\./, NOT_FROZEN);

    for (const stage of ["migration-database", "migration-target-check"]) {
        const run = fx.rehearse("up", {}, { REHEARSAL_FAULT: stage });
        const report = failsWith(fx, run, new RegExp(`\\S+ ${stage}: injected fault \\(REHEARSAL_FAULT=${stage}\\)`), NOT_FROZEN);
        assertNoStep(report, { type: "WriteFreeze" }, "nothing was frozen");
        assert.deepEqual(fx.legacyApp(), { maintenance: false, worker: 2 });
    }

    const hook = fx.rehearse("up", { freezeMode: "hook", freezeCommand: "echo 'cannot reach the app' >&2; exit 4", unfreezeCommand: "true" });
    failsWith(fx, hook, /pulumi-nodejs:dynamic\/migration:WriteFreeze migration-freeze: WriteFreeze: freezeCommand `echo 'cannot reach the app' >&2; exit 4` failed .*cannot reach the app/,
        "No write freeze was applied by this stack (freezeCommand did not run to completion).");

    // The dump role cannot read one table: preflight says so; acknowledged, pg_dump fails after
    // the freeze, which is lifted again.
    const superuser = fx.source.connection("appdb");
    await withClient(superuser, (c) => c.query("CREATE TABLE public.locked_away (id int); REVOKE ALL ON public.locked_away FROM PUBLIC"));
    const dump = fx.rehearse("up", { acknowledge: JSON.stringify(["unreadable_objects=testing a failing dump"]) });
    const dumpReport = failsWith(fx, dump, /pulumi-nodejs:dynamic\/migration:DumpToBlob migration-dump: DumpToBlob: .*permission denied for table locked_away/, NOT_FROZEN);
    assert.ok((dumpReport.error ?? "").includes('The write freeze (maintenance mode on Heroku app "a2h-legacy-app") was lifted (no dump was stored); the source is intact and in use.'), dumpReport.error);
    assert.deepEqual(fx.legacyApp(), { maintenance: false, worker: 2 });
    assert.deepEqual(await fx.blobs(), []);
    await withClient(superuser, (c) => c.query("DROP TABLE public.locked_away"));

    // The stages between the dump and the cutover keep the freeze on when they fail; it says so.
    const grant = fx.rehearse("up", {}, { REHEARSAL_FAULT: "migration-grant" });
    failsWith(fx, grant, /\S+ migration-grant: injected fault/, STILL_ON);
    assert.deepEqual(fx.legacyApp(), { maintenance: true, worker: 0 });

    // The restore fails with the freeze kept; by the re-run the read URL is about to expire (a
    // 5-minute SAS is always within the 15-minute renewal window): it is signed anew and the
    // restore runs from the same dump, without a second pg_dump.
    const restore = fx.rehearse("up", { sasExpiryMinutes: "5" }, { REHEARSAL_FAULT: "migration-restore" });
    failsWith(fx, restore, /\S+ migration-restore: injected fault/, STILL_ON);
    const acceptance = fx.rehearse("up", { sasExpiryMinutes: "5", acceptanceCommand: "echo 'checkout test failed' >&2; exit 3" });
    const acceptanceReport = failsWith(fx, acceptance, /command:local:Command migration-acceptance: command exited with 3: checkout test failed\nacceptanceCommand failed: cutover did not run and DATABASE_URL was not published\. The write freeze .* is STILL ON/, STILL_ON);
    findStep(acceptanceReport, { op: "replace", type: "ReadGrant", name: "migration-grant", detail: "changed: expiresOn" });
    findStep(acceptanceReport, { op: "create", type: "pulumi-nodejs:dynamic/heroku:Restore", name: "migration-restore" });
    assertNoStep(acceptanceReport, { name: "migration-dump" }, "no second dump");

    const cutover = fx.rehearse("up", {}, { REHEARSAL_FAULT: "migration-cutover" });
    failsWith(fx, cutover, /\S+ migration-cutover: injected fault/, STILL_ON);
    assert.deepEqual(fx.legacyApp(), { maintenance: true, worker: 0 });

    const preview = fx.rehearse("preview");
    assert.equal(preview.status, 0, preview.out);
    assert.equal(fx.report("preview").freeze, STILL_ON);

    // destroy after a failed up: deletes what exists, lifts the freeze it finds, and records
    // itself as a destroy.
    const destroy = fx.rehearse("destroy");
    assert.equal(destroy.status, 0, destroy.out);
    const destroyed = fx.report("destroy");
    assert.equal(destroyed.status, "destroyed");
    findStep(destroyed, { op: "delete", type: "WriteFreeze", name: "migration-freeze" });
    assert.deepEqual(fx.legacyApp(), { maintenance: false, worker: 2 });
    assert.deepEqual(await fx.blobs(), []);
    const state = JSON.parse(fs.readFileSync(path.join(fx.dir, "state", "rehearsal.json"), "utf8"));
    assert.deepEqual({ resources: state.resources, lastResult: state.lastResult }, { resources: [], lastResult: { kind: "destroy", ok: true } });

    const done = fx.rehearse("up");
    assert.equal(done.status, 0, done.out);
    const verified = fx.report("up");
    assert.equal(verified.status, "verified");
    assert.equal(verified.tables.length, 8);
    assert.deepEqual(fx.legacyApp(), { maintenance: false, worker: 2 });
}));

/** Running `@pulumi/pulumi/cmd/run` processes of this fixture's rehearsals (their environment names its REHEARSAL_DIR). */
function programProcesses(fx: RehearsalFixture): string[] {
    return fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d)).filter((pid) => {
        try {
            return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("cmd/run") && fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(`REHEARSAL_DIR=${fx.dir}`);
        } catch {
            return false;
        }
    });
}

test("one run per directory; Ctrl-C stops the services and says where the freeze stands; after kill -9 the next run clears the lock and the orphaned Azurite, and destroy cleans up", withFixture("rehearsal-stages-", async (fx) => {
    // A slow acceptance command holds the run while the write freeze is on: the most delicate
    // moment to be interrupted, and a deterministic one.
    const first = fx.start("up", { acceptanceCommand: "sleep 20" });
    let out = "";
    first.stdout!.on("data", (d) => (out += d));
    first.stderr!.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => first.on("exit", (code) => resolve(code)));
    // The run is under way: its progress (the step lines) is all there is to watch until it ends.
    for (let i = 0; i < 1200 && !/create {3}command:local:Command migration-acceptance/.test(out); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(out, /create {3}command:local:Command migration-acceptance/);

    // Refused before anything starts, so before any report: the printed refusal is what there is.
    const second = fx.rehearse("preview");
    assert.equal(second.status, 1, second.out);
    assert.match(second.out, new RegExp(`rehearsal: ${fx.dir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is in use by another rehearsal \\(\`up\`, pid ${first.pid}, started [0-9T:.Z-]+\\); nothing was started or changed\\. Wait for it to finish, or stop it \\(Ctrl-C in its terminal, or \`kill ${first.pid}\`\\), then run again\\. To rehearse in parallel, give each run its own REHEARSAL_DIR\\.`));
    assert.doesNotMatch(second.out, /azurite:|Previewing/, "the second run started nothing");
    assert.equal(fs.existsSync(path.join(fx.dir, "migration-plan.json")), false, "and wrote no report");

    // The dynamic provider host this run started (local/providerHost.ts) runs until the run ends.
    const pidFile = path.join(fx.dir, "state", "provider-host.pid");
    const hostPid = Number(JSON.parse(fs.readFileSync(pidFile, "utf8")).pid);
    assert.ok(fs.existsSync(`/proc/${hostPid}`), "the provider host runs during the update");

    first.kill("SIGINT");
    assert.equal(await exited, 130, out);
    assert.equal(fs.existsSync(`/proc/${hostPid}`), false, "Ctrl-C stopped the provider host");
    assert.equal(fs.existsSync(pidFile), false, "and removed its pid file");
    // The line printed the moment Ctrl-C is seen.
    assert.match(out, /SIGINT: stopping the up; the services this rehearsal started are being stopped/);
    const interrupted = fx.report("up");
    assert.equal(interrupted.status, "failed");
    assert.equal(interrupted.error, "rehearsal: interrupted by SIGINT during `up`. Run it again to resume from the saved state.");
    assert.equal(interrupted.freeze, STILL_ON);
    assert.deepEqual(fx.legacyApp(), { maintenance: true, worker: 0 }, "as the report's freeze says");
    assert.equal(fs.existsSync(path.join(fx.dir, "lock")), false, "the lock is released");
    assert.deepEqual(programProcesses(fx), [], "Ctrl-C stopped the program (cmd/run) too");

    // kill -9 leaves the lock and the run's Azurite behind: the next run clears both and says so;
    // destroy then deletes what exists, lifts a freeze it finds and records itself as a destroy.
    const killed = fx.start("up");
    let killedOut = "";
    killed.stdout!.on("data", (d) => (killedOut += d));
    const gone = new Promise((resolve) => killed.on("exit", resolve));
    for (let i = 0; i < 1200 && !/Updating stack/.test(killedOut); i++) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 2000));
    killed.kill("SIGKILL");
    await gone;
    // Its program loses the monitor and ends by itself, as under a killed `pulumi up`.
    for (let i = 0; i < 300 && programProcesses(fx).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(programProcesses(fx), [], "no cmd/run outlives a killed rehearsal");
    assert.equal(fs.existsSync(path.join(fx.dir, "lock")), true, "kill -9 leaves the lock");
    const destroy = fx.rehearse("destroy");
    assert.equal(destroy.status, 0, destroy.out);
    // The stale lock is only ever reported in the log.
    assert.match(destroy.out, new RegExp(`removed a stale lock of an earlier \`up\` \\(pid ${killed.pid}, started [0-9T:.Z-]+\\) that is no longer running`));
    const destroyed = fx.report("destroy");
    assert.equal(destroyed.status, "destroyed");
    assert.deepEqual(stepsOf(destroyed).filter((st) => st.op !== "delete"), [], "every step deletes; nothing is retained");
    assert.deepEqual(fx.legacyApp(), { maintenance: false, worker: 2 });
    assert.deepEqual(await fx.blobs(), []);
    const state = JSON.parse(fs.readFileSync(path.join(fx.dir, "state", "rehearsal.json"), "utf8"));
    assert.deepEqual({ resources: state.resources, lastResult: state.lastResult }, { resources: [], lastResult: { kind: "destroy", ok: true } });
    const azurites = fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d)).filter((pid) => {
        try {
            return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(path.join(fx.dir, "azurite"));
        } catch {
            return false;
        }
    });
    assert.deepEqual(azurites, [], "no Azurite is left running on the rehearsal's workspace");
}));
