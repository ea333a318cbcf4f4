import { test } from "node:test";
import assert from "node:assert/strict";
import { PROGRESS_MIN_INTERVAL_MS, formatRate, progressThrottle } from "../lib/progress";

/** A throttle on a clock the test moves. */
function clocked() {
    let t = 1_000_000;
    const throttle = progressThrottle({ now: () => t });
    return { throttle, advance: (ms: number) => (t += ms) };
}

test("progress throttle: never twice within the interval, whatever the progress", () => {
    const { throttle, advance } = clocked();
    advance(PROGRESS_MIN_INTERVAL_MS - 1);
    assert.equal(throttle.due(90, 100), false, "not before the interval, even at 90%");
    advance(1);
    assert.equal(throttle.due(90, 100), true);
    advance(1000);
    assert.equal(throttle.due(100, 100), false);
});

test("progress throttle: with a known total, at most one line per 10% (the rarer rule wins)", () => {
    const { throttle, advance } = clocked();
    const lines: number[] = [];
    // A slow 1 GB transfer: 1 MB per second for 1000 seconds, asked every second.
    for (let s = 1; s <= 1000; s++) {
        advance(1000);
        if (throttle.due(s, 1000)) lines.push(s);
    }
    assert.deepEqual(lines, [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
});

test("progress throttle: a fast transfer is bounded by the interval, an unknown total only by the interval", () => {
    const { throttle, advance } = clocked();
    const lines: number[] = [];
    // 10% per second: the interval decides.
    for (let s = 1; s <= 10; s++) {
        advance(1000);
        if (throttle.due(s, 10)) lines.push(s);
    }
    assert.deepEqual(lines, [5, 10]);

    const unknown = clocked();
    const seen: number[] = [];
    for (let s = 1; s <= 20; s++) {
        unknown.advance(1000);
        if (unknown.throttle.due(s * 1e6)) seen.push(s);
    }
    assert.deepEqual(seen, [5, 10, 15, 20]);
});

test("formatRate: bytes, share of the total, rate and ETA; past an estimated total only bytes and rate", () => {
    const MiB = 1024 * 1024;
    assert.equal(formatRate(300 * MiB, 10_000, 1000 * MiB), "300.0 MiB of 1000.0 MiB (30%) in 10s at 30.0 MiB/s, ETA 23s");
    assert.equal(formatRate(1000 * MiB, 20_000, 1000 * MiB), "1000.0 MiB of 1000.0 MiB (100%) in 20s at 50.0 MiB/s");
    assert.equal(formatRate(1200 * MiB, 20_000, 1000 * MiB), "1.2 GiB in 20s at 60.0 MiB/s");
    assert.equal(formatRate(5 * MiB, 0), "5.0 MiB in 0s at 0 B/s");
});

test("liveProgressWanted: a terminal only, and neither quiet nor A2H_PROGRESS=lines", async () => {
    const { liveProgressWanted } = await import("../lib/progress");
    assert.equal(liveProgressWanted({ isTTY: true }, {}), true);
    assert.equal(liveProgressWanted({ isTTY: false }, {}), false, "Pulumi, CI, a redirect: lines");
    assert.equal(liveProgressWanted({}, {}), false);
    assert.equal(liveProgressWanted({ isTTY: true }, { A2H_QUIET: "1" }), false);
    assert.equal(liveProgressWanted({ isTTY: true }, { A2H_PROGRESS: "lines" }), false);
});

test("renderBar: stage, bar, percentage, bytes against the total, rate and ETA, fitted to the terminal", async () => {
    const { renderBar } = await import("../lib/progress");
    const MiB = 1024 * 1024;
    assert.equal(
        renderBar("DumpToBlob", "dump+upload", 300 * MiB, 10_000, 1000 * MiB, 120),
        "[DumpToBlob] dump+upload [=========>                    ]  30% 300.0 MiB/1000.0 MiB 30.0 MiB/s ETA 23s",
    );
    assert.equal(
        renderBar("DumpToBlob", "dump+upload", 1000 * MiB, 20_000, 1000 * MiB, 120),
        "[DumpToBlob] dump+upload [==============================] 100% 1000.0 MiB/1000.0 MiB 50.0 MiB/s",
    );
    // Past an estimated total (preflight's guess was low) and without one: no bar, no ETA, the time so far.
    assert.equal(renderBar("DumpToBlob", "dump+upload", 1200 * MiB, 20_000, 1000 * MiB, 100), "[DumpToBlob] dump+upload 1.2 GiB 60.0 MiB/s, 20s");
    assert.equal(renderBar("HerokuRestore", "r001", 5 * MiB, 1000, undefined, 100), "[HerokuRestore] r001 5.0 MiB 5.0 MiB/s, 1s");
    // An 80-column terminal shows it whole with a shorter bar; a narrower one cuts it, and a line never wraps
    // (a wrapped line cannot be redrawn with \r).
    assert.equal(
        renderBar("DumpToBlob", "dump+upload", 300 * MiB, 10_000, 1000 * MiB, 80),
        "[DumpToBlob] dump+upload [==>    ]  30% 300.0 MiB/1000.0 MiB 30.0 MiB/s ETA 23s",
    );
    const narrow = renderBar("DumpToBlob", "dump+upload", 300 * MiB, 10_000, 1000 * MiB, 40);
    assert.equal(narrow.length, 39);
    assert.match(narrow, /^\[DumpToBlob\] dump\+upload \[=> {3}\] {2}30% .*…$/);
});

test("liveBar: redraws one line in place at most every 250 ms; a plain progress line clears it first", async () => {
    const { liveBar, progress, LIVE_INTERVAL_MS } = await import("../lib/progress");
    const out: string[] = [];
    const stream = { columns: 100, write: (s: string) => void out.push(s) } as unknown as NodeJS.WritableStream & { columns: number };
    let t = 0;
    const bar = liveBar("DumpToBlob", "dump+upload", { stream, now: () => t });
    t = 1000;
    bar.update(10, 100);
    t += LIVE_INTERVAL_MS - 1;
    bar.update(20, 100);
    assert.equal(out.length, 1, "not again within the interval");
    t += 1;
    bar.update(30, 100);
    assert.equal(out.length, 2);
    assert.ok(out.every((l) => l.startsWith("\r[DumpToBlob] dump+upload [") && l.endsWith("\x1b[K") && !l.includes("\n")), JSON.stringify(out));
    assert.ok(out[1].endsWith(" 30% 30 B/100 B 24 B/s ETA 3s\x1b[K"), out[1]);
    bar.update(40, 100, true);
    assert.equal(out.length, 3, "force draws at once");
    bar.clear();
    assert.equal(out[3], "\r\x1b[K");
    bar.clear();
    assert.equal(out.length, 4, "nothing to clear twice");

    // On stderr: a progress() line while the bar shows starts by erasing it.
    const written: string[] = [];
    const real = process.stderr.write;
    const quiet = process.env.A2H_QUIET;
    delete process.env.A2H_QUIET;
    process.stderr.write = ((s: string) => (written.push(String(s)), true)) as typeof process.stderr.write;
    try {
        const onStderr = liveBar("HerokuRestore", "r001", { now: () => t });
        onStderr.update(50, 100, true);
        progress("HerokuRestore", "r001: running");
        progress("HerokuRestore", "r001 succeeded");
    } finally {
        process.stderr.write = real;
        if (quiet !== undefined) process.env.A2H_QUIET = quiet;
    }
    assert.equal(written.length, 3);
    assert.equal(written[1], "\r\x1b[K[HerokuRestore] r001: running\n");
    assert.equal(written[2], "[HerokuRestore] r001 succeeded\n");
});

test("liveBar: work that keeps its own clock and count passes them with each draw", async () => {
    const { liveBar } = await import("../lib/progress");
    const out: string[] = [];
    const stream = { columns: 100, write: (s: string) => void out.push(s) } as unknown as NodeJS.WritableStream & { columns: number };
    const MiB = 1024 * 1024;
    // The bar was made long before the work began (verification: settings and schema come first).
    const bar = liveBar("Verification", "data", { stream, now: () => 60_000 });
    bar.update(30 * MiB, 100 * MiB, true, { elapsedMs: 10_000, label: "data 12/340" });
    assert.equal(out[0], "\r[Verification] data 12/340 [========>                   ]  30% 30.0 MiB/100.0 MiB 3.0 MiB/s ETA 23s\x1b[K");
    bar.update(40 * MiB, 100 * MiB, true);
    assert.ok(out[1].startsWith("\r[Verification] data [") && out[1].includes(" 0 B/s"), `without them, the bar's own label and clock: ${out[1]}`);
});

test("withLiveBar: a bar only on a terminal (not quiet, not A2H_PROGRESS=lines), removed when the work ends, failed or not", async () => {
    const { withLiveBar } = await import("../lib/progress");
    const fake = (isTTY: boolean) => {
        const out: string[] = [];
        return { out, stream: { isTTY, columns: 100, write: (s: string) => void out.push(s) } as unknown as NodeJS.WritableStream & { columns: number; isTTY: boolean } };
    };
    const t = fake(true);
    const value = await withLiveBar("DumpToBlob", "dump+upload", async (bar) => {
        assert.ok(bar, "a terminal gets a bar");
        bar.update(5, 10, true);
        return 42;
    }, { stream: t.stream, env: {}, now: () => 0 });
    assert.equal(value, 42);
    assert.equal(t.out.length, 2);
    assert.equal(t.out[1], "\r\x1b[K", "the bar is gone when the work returns");

    const failing = fake(true);
    await assert.rejects(withLiveBar("HerokuRestore", "r001", async (bar) => {
        bar?.update(1, 10, true);
        throw new Error("transfer failed");
    }, { stream: failing.stream, env: {}, now: () => 0 }), /transfer failed/);
    assert.equal(failing.out.at(-1), "\r\x1b[K", "and when it throws");

    for (const [what, f, env] of [["a pipe", fake(false), {}], ["A2H_PROGRESS=lines", fake(true), { A2H_PROGRESS: "lines" }], ["A2H_QUIET=1", fake(true), { A2H_QUIET: "1" }]] as const) {
        const got = await withLiveBar("Verification", "data", async (bar) => bar, { stream: f.stream, env });
        assert.equal(got, undefined, what);
        assert.deepEqual(f.out, [], `${what}: nothing drawn`);
    }
});

test("liveRelay: a child's stderr relayed as a terminal shows it: lines whole, bar frames as frames, a bar erased by the next line", async () => {
    const { liveRelay, liveProgressWanted, LIVE_RELAY_ENV } = await import("../lib/progress");
    const got: string[] = [];
    const relay = liveRelay((l) => got.push(`line ${l}`), (f) => got.push(`frame ${f}`));
    relay.write("[DumpToBlob] pg_dump of appdb\n\r[DumpToBlob] dump+upload [=>  ]  10% 1 B/10 B\x1b[K");
    relay.write("\r[DumpToBlob] dump+upload [==> ]  20%");
    relay.write(" 2 B/10 B\x1b"); // a frame split across chunks waits for its end
    relay.write("[K");
    relay.write("\r\x1b[K"); // the bar cleared
    relay.write("[DumpToBlob] done: 10 B\n\r[Verification] data 1/2 [=> ]\x1b[K\r\x1b[K[Verif");
    relay.write("ication] settings: 3 compared\n");
    relay.write("Error: a stack without its newline");
    relay.end();
    assert.deepEqual(got, [
        "line [DumpToBlob] pg_dump of appdb",
        "frame [DumpToBlob] dump+upload [=>  ]  10% 1 B/10 B",
        "frame [DumpToBlob] dump+upload [==> ]  20% 2 B/10 B",
        "frame ",
        "line [DumpToBlob] done: 10 B",
        // A frame erased within the same chunk by a line still coming is never drawn: the line is.
        "line [Verification] settings: 3 compared",
        "line Error: a stack without its newline",
    ]);
    // The rehearsal tells its provider host that its stderr pipe ends on a terminal.
    assert.equal(liveProgressWanted({ isTTY: false }, { [LIVE_RELAY_ENV]: "1" }), true);
    assert.equal(liveProgressWanted({ isTTY: false }, { [LIVE_RELAY_ENV]: "1", A2H_PROGRESS: "lines" }), false);
});

test("drawLiveLine: draws in place, and erases only what it drew", async () => {
    const { drawLiveLine } = await import("../lib/progress");
    const out: string[] = [];
    const stream = { write: (s: string) => void out.push(s) } as unknown as NodeJS.WritableStream;
    drawLiveLine("", stream);
    assert.deepEqual(out, [], "nothing drawn, nothing to erase");
    drawLiveLine("[HerokuRestore] r001 [=> ]", stream);
    drawLiveLine("", stream);
    assert.deepEqual(out, ["\r[HerokuRestore] r001 [=> ]\x1b[K", "\r\x1b[K"]);
});
