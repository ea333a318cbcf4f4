/**
 * Where the CPU goes while a benchmark runs: user+system CPU seconds of every process on the
 * machine that belongs to one of a few groups, read from /proc/<pid>/stat every 250 ms (new
 * processes looked for once a second; the sampler's own CPU is not counted):
 * - this Node process ("node (ours)": the rehearsal's engine and the Heroku emulator) and the Node
 *   processes it started: "node (program)" (index.ts under cmd/run), "node (provider host)" (the
 *   dynamic providers: the dump's upload, verification's queries...), other children as "node (ours)";
 * - Azurite, pg_dump, pg_restore, curl (the emulator's downloader);
 * - the PostgreSQL backends of the clusters whose data directories are passed (other work on the
 *   machine may run PostgreSQL too).
 * A process that lives less than a second may be missed; one that exits between two samples
 * counts up to its last sample. Linux only; elsewhere it reports nothing.
 */
import * as fs from "fs";

export type CpuGroup = string;

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function classify(pid: number, comm: string, postmasters: Map<number, string>): CpuGroup | undefined {
    if (pid === process.pid) return "node (ours)";
    if (comm === "pg_dump") return "pg_dump";
    if (comm === "pg_restore") return "pg_restore";
    if (comm === "curl") return "curl"; // the emulator's downloader
    // Only our clusters' servers: other work on the machine may run PostgreSQL too.
    if (comm === "postgres") {
        const cluster = postmasters.get(pid) ?? postmasters.get(ppid(pid));
        return cluster === undefined ? undefined : cluster ? `postgres (${cluster})` : "postgres";
    }
    if (comm === "node" || comm === "MainThread") {
        try {
            const argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
            if (/azurite/.test(argv)) return "azurite";
            // The program under cmd/run and the dynamic provider host (which does the dump's upload)
            // are children of this process, in process groups of their own.
            if (descendsFromUs(pid)) return /dynamic-provider|pulumi-resource-pulumi-nodejs/.test(argv) ? "node (provider host)" : /cmd[/\\]run/.test(argv) ? "node (program)" : "node (ours)";
        } catch {
            return undefined;
        }
        return undefined; // other helpers' Node processes are not ours to count
    }
    return undefined;
}

function descendsFromUs(pid: number): boolean {
    for (let p = ppid(pid), depth = 0; p > 1 && depth < 16; p = ppid(p), depth++) {
        if (p === process.pid) return true;
    }
    return false;
}

function ppid(pid: number): number {
    try {
        const text = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        return Number(text.slice(text.lastIndexOf(")") + 2).split(" ")[1]);
    } catch {
        return -1;
    }
}

/** The postmaster pids of the clusters in `dataDirs` (first line of postmaster.pid), with their labels. */
function postmasterPids(dataDirs: string[] | Record<string, string>): Map<number, string> {
    const pids = new Map<number, string>();
    const dirs: [string, string][] = Array.isArray(dataDirs) ? dataDirs.map((d) => ["", d]) : Object.entries(dataDirs);
    for (const [label, d] of dirs) {
        try {
            pids.set(Number(fs.readFileSync(`${d}/postmaster.pid`, "utf8").split("\n")[0]), label);
        } catch {
            // not running
        }
    }
    return pids;
}

/** utime + stime in ticks, and the comm, of one process; undefined when it is gone. */
function stat(pid: number): { comm: string; ticks: number } | undefined {
    try {
        const text = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        const close = text.lastIndexOf(")");
        const comm = text.slice(text.indexOf("(") + 1, close);
        const fields = text.slice(close + 2).split(" ");
        // fields[0] is field 3 (state); utime is field 14, stime field 15
        return { comm, ticks: Number(fields[11]) + Number(fields[12]) };
    } catch {
        return undefined;
    }
}

/**
 * Starts sampling. `stop()` returns CPU seconds per group used since the start, plus the wall
 * seconds, and the machine's CPU seconds not in any group (other helpers on a shared machine).
 */
export function cpuSampler(dataDirs: string[] | Record<string, string> = []): { stop(): { wallSeconds: number; groups: Partial<Record<CpuGroup, number>>; machineBusySeconds: number } } {
    const start = new Map<number, number>();
    const last = new Map<number, { group: CpuGroup; ticks: number }>();
    const machineTicks = (): number => {
        try {
            const cpu = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
            // user nice system idle iowait irq softirq steal: busy = all but idle and iowait
            return cpu[0] + cpu[1] + cpu[2] + cpu[5] + cpu[6] + (cpu[7] ?? 0);
        } catch {
            return 0;
        }
    };
    const m0 = machineTicks();
    const postmasters = postmasterPids(dataDirs);
    // The sampler's own CPU is this process's too: measured and taken out of "node (ours)".
    let ownMicros = 0;
    const sample = (first: boolean) => {
        const c0 = process.cpuUsage();
        try {
            scan(first);
        } finally {
            const c = process.cpuUsage(c0);
            ownMicros += c.user + c.system;
        }
    };
    let scans = 0;
    const ignored = new Set<number>();
    const scan = (first: boolean) => {
        let pids: number[];
        try {
            // A full look for new processes once a second; the known ones every time.
            pids = first || scans++ % 4 === 0 ? fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d)).map(Number) : [...last.keys()];
        } catch {
            return;
        }
        for (const pid of pids) {
            if (ignored.has(pid)) continue;
            const known = last.get(pid);
            const st = stat(pid);
            if (!st) continue;
            const group = known?.group ?? classify(pid, st.comm, postmasters);
            if (!group) {
                ignored.add(pid);
                continue;
            }
            if (first) start.set(pid, st.ticks);
            last.set(pid, { group, ticks: st.ticks });
        }
    };
    const t0 = Date.now();
    sample(true);
    const timer = setInterval(() => sample(false), 250);
    return {
        stop() {
            clearInterval(timer);
            sample(false);
            const groups: Partial<Record<CpuGroup, number>> = {};
            for (const [pid, { group, ticks }] of last) {
                const used = (ticks - (start.get(pid) ?? 0)) / TICKS_PER_SECOND;
                groups[group] = (groups[group] ?? 0) + used - (group === "node (ours)" ? ownMicros / 1e6 : 0);
            }
            for (const g of Object.keys(groups) as CpuGroup[]) groups[g] = Math.round(groups[g]! * 10) / 10;
            return { wallSeconds: (Date.now() - t0) / 1000, groups, machineBusySeconds: Math.round((machineTicks() - m0) / TICKS_PER_SECOND * 10) / 10 };
        },
    };
}

/** One line: "node (ours) 3.1 s, azurite 12.0 s, ... of 2 cores x 20.0 s wall (machine busy 35.2 s)". */
export function formatCpu(r: ReturnType<ReturnType<typeof cpuSampler>["stop"]>, cores: number): string {
    const parts = Object.entries(r.groups).sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0)).map(([g, v]) => `${g} ${v} s`);
    return `CPU: ${parts.join(", ")}; wall ${r.wallSeconds.toFixed(1)} s x ${cores} cores = ${(r.wallSeconds * cores).toFixed(1)} core-s, machine busy ${r.machineBusySeconds} s`;
}
