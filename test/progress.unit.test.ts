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
