/**
 * One rehearsal at a time per directory: `up`, `preview` and `destroy` take `<dir>/lock`
 * (created exclusively, holding the pid, the command and the start time) and remove it when
 * they end. A second run on a directory in use is refused at once, naming the run that holds it.
 *
 * A stale lock (the run was killed with kill -9 or the machine restarted) is detected by its
 * pid: when no process with that pid runs, or the one that does is not a rehearsal (the pid
 * was reused), the lock is removed with a message and the run goes on. Real stacks need none
 * of this: the Pulumi service and the self-managed backends lock a stack during an update.
 */
import * as fs from "fs";
import * as path from "path";
import { MigrationError } from "../lib/errors";

export interface LockInfo {
    pid: number;
    command: string;
    startedAt: string;
}

export interface RunLock {
    file: string;
    /** Set when an earlier run's lock was found stale and removed. */
    staleRemoved?: LockInfo;
    release(): void;
}

/** Whether `pid` is a live rehearsal process (Linux: its command line names rehearse). */
function isRehearsal(pid: number): boolean {
    try {
        process.kill(pid, 0);
    } catch (err) {
        return (err as NodeJS.ErrnoException).code === "EPERM";
    }
    try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("rehearse");
    } catch {
        return true; // no /proc: a live pid is taken at its word
    }
}

function readLock(file: string): LockInfo | undefined {
    try {
        const info = JSON.parse(fs.readFileSync(file, "utf8")) as LockInfo;
        return Number.isInteger(info.pid) ? info : undefined;
    } catch {
        return undefined;
    }
}

export function acquireLock(dir: string, command: string): RunLock {
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, "lock");
    const mine: LockInfo = { pid: process.pid, command, startedAt: new Date().toISOString() };
    let staleRemoved: LockInfo | undefined;
    for (let attempt = 0; attempt < 2; attempt++) {
        try {
            fs.writeFileSync(file, JSON.stringify(mine) + "\n", { flag: "wx", mode: 0o644 });
            return {
                file,
                staleRemoved,
                release: () => {
                    if (readLock(file)?.pid === process.pid) fs.rmSync(file, { force: true });
                },
            };
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        }
        const held = readLock(file);
        if (held && held.pid !== process.pid && isRehearsal(held.pid)) {
            throw new MigrationError("rehearsal", `${dir} is in use by another rehearsal (\`${held.command}\`, pid ${held.pid}, started ${held.startedAt}); nothing was started or changed.`,
                `Wait for it to finish, or stop it (Ctrl-C in its terminal, or \`kill ${held.pid}\`), then run again. To rehearse in parallel, give each run its own REHEARSAL_DIR.`);
        }
        // The run that held it is gone (or the file is unreadable): a stale lock.
        staleRemoved = held ?? { pid: 0, command: "unknown", startedAt: "unknown" };
        fs.rmSync(file, { force: true });
    }
    throw new MigrationError("rehearsal", `could not take the lock ${file}.`, "Another run may be starting at the same moment; run again.");
}
