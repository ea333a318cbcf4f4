/**
 * lib/preflight/estimate.ts computeEstimate: the freeze estimate, phase by phase, from sizes and measured
 * rates (pure, no services). Exact numbers: when ESTIMATE_ASSUMPTIONS is recalibrated
 * (`npm run bench`, `npm run bench:estimate`), these change with it, on purpose.
 * Run: node --require ts-node/register/transpile-only --test test/estimate.unit.test.ts
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { computeEstimate, ESTIMATE_ASSUMPTIONS, type EstimateInput } from "../lib/preflight";
import { parseDumpCompression } from "../lib/compression";

const MiB = 1024 * 1024;

/**
 * 900 MiB of data (800 + 64 MiB heap, 16 MiB TOAST, 20 MiB large objects), 116 MiB of indexes
 * (a materialized view's 4 MiB of index counts, its heap does not: it is rebuilt, not copied).
 * COPY sent 16 MiB in 160 ms (100 MiB/s); the server checksummed 16 MiB in 32 ms (500 MiB/s).
 */
const input: EstimateInput = {
    relations: [
        { kind: "r", heap: 800 * MiB, toast: 0, indexes: 100 * MiB },
        { kind: "r", heap: 64 * MiB, toast: 16 * MiB, indexes: 12 * MiB },
        { kind: "m", heap: 10 * MiB, toast: 0, indexes: 4 * MiB },
        { kind: "v", heap: 0, toast: 0, indexes: 0 },
    ],
    largeObjects: { bytes: 20 * MiB },
    sample: { table: "public.events", rows: 10_000, wireBytes: 5 * MiB, tableBytes: 4 * MiB, ms: 250, copyMs: 160, copyTableBytes: 16 * MiB, scanMs: 32, scanTableBytes: 16 * MiB },
};

test("the assumptions the numbers below follow", () => {
    assert.deepEqual({ ...ESTIMATE_ASSUMPTIONS }, {
        dumpReadFactor: 0.8,
        uploadBytesPerSec: 75 * MiB,
        restoreWriteBytesPerSec: 55 * MiB,
        indexBuildBytesPerSec: 64 * MiB,
        herokuOverheadSeconds: 60,
        verifyScanFactor: 0.7,
        verifyOverheadSeconds: 0.3,
        cutoverSeconds: 30,
    });
});

test("uncompressed: every phase from the sizes and rates, Heroku's overhead on a line of its own", () => {
    const e = computeEstimate(input, parseDumpCompression("0")!);
    assert.equal(e.dataBytes, 900 * MiB);
    assert.equal(e.indexBytes, 116 * MiB);
    assert.equal(e.readBytesPerSec, 100 * MiB, "COPY's rate: 16 MiB in 160 ms");
    assert.equal(e.scanBytesPerSec, 500 * MiB);
    assert.equal(e.archiveBytes, 1080 * MiB, "uncompressed: 120% of the data");
    assert.deepEqual(
        { dump: e.dumpSeconds, upload: e.uploadSeconds, dumpUpload: e.dumpUploadSeconds, restore: e.restoreSeconds, heroku: e.herokuOverheadSeconds, verify: e.verifySeconds, cutover: e.cutoverSeconds, total: e.totalSeconds },
        {
            dump: 7.2, // 900 MiB at 100 MiB/s x 0.8
            upload: 14.4, // 1080 MiB at 75 MiB/s
            dumpUpload: 14.4, // streamed: the slower of the two
            restore: 18.2, // 900 MiB at 55 MiB/s + 116 MiB of index at 64 MiB/s = 16.36 + 1.8125
            heroku: 60,
            verify: 1.5, // 864 MiB of heap at 500 MiB/s x 0.7 + 0.3 = 1.5096
            cutover: 30,
            total: 124.1, // 14.4 + 18.2 + 60 + 1.5 + 30
        });
    assert.equal(e.assumptions.length, 8);
    assert.equal(e.assumptions[0], "Read rate measured on public.events: 10000 rows (4.0 MiB of table, 5.0 MiB as text) read as text in 250.0 ms, and 16.0 MiB of it sent by COPY TO STDOUT, as pg_dump reads it, in 160.0 ms; pg_dump reads every table at about 0.8x this time over the same network path.");
    assert.equal(e.assumptions[2], "The upload carries 75.0 MiB/s into Azure Blob Storage (assumed; the uplink of the machine running Pulumi decides). pg_dump streams straight into the blob, so dump and upload overlap and the slower of the two counts; on a slow uplink choose a dumpCompression level.");
    assert.equal(e.assumptions[3], "The restore writes 55.0 MiB/s of table data and builds 64.0 MiB/s of index (measured with the rehearsal's PostgreSQL on 2 cores; Heroku's plans have their own CPUs and disks).");
    assert.equal(e.assumptions[4], "Heroku's own overhead around the restore (queueing the transfer, starting the download and pg_restore) is taken as 60s: assumed, not measured here (the rehearsal's emulator has none).");
    assert.equal(e.assumptions[5], "Verification checksums every table on both sides at once, taking 0.7x as long per byte as the source took to checksum the sample (500.0 MiB/s), plus 0.3s of round trips.");
});

test("compressed: the dump takes the longer of reading and compressing; a smaller archive uploads sooner", () => {
    const e = computeEstimate(input, parseDumpCompression("6")!);
    assert.equal(e.archiveBytes, Math.round(900 * MiB * 0.64));
    assert.equal(e.dumpSeconds, 50, "900 MiB through zlib -6 at 18 MiB/s, slower than reading");
    assert.equal(e.uploadSeconds, 7.7, "576 MiB at 75 MiB/s = 7.68");
    assert.equal(e.dumpUploadSeconds, 50);
    assert.equal(e.restoreSeconds, 18.2, "the restore does not depend on the compression");
    assert.equal(e.totalSeconds, 159.7); // 50 + 18.2 + 60 + 1.5 + 30
});

test("without COPY the text read stands in; without a sample the dump is left out but the rest stands", () => {
    const noCopy = computeEstimate({ ...input, sample: { ...input.sample, copyMs: 0, copyTableBytes: 0 } }, parseDumpCompression("0")!);
    assert.equal(noCopy.readBytesPerSec, 16 * MiB, "4 MiB in 250 ms");
    assert.equal(noCopy.dumpSeconds, 45, "900 MiB at 16 MiB/s x 0.8");
    assert.equal(noCopy.dumpUploadSeconds, 45);
    assert.match(noCopy.assumptions[0], / read as text in 250\.0 ms \(COPY could not run; a text read is slower than pg_dump\); /);

    const failed = computeEstimate({ ...input, sample: { ...input.sample, rows: 0, error: "permission denied for table events" } }, parseDumpCompression("0")!);
    assert.equal(failed.readBytesPerSec, 0);
    assert.equal(failed.dumpSeconds, 0);
    assert.equal(failed.dumpUploadSeconds, 14.4, "the upload is still known from the size");
    assert.equal(failed.verifySeconds, 0.3, "no checksum rate: only the round trips");
    assert.equal(failed.totalSeconds, 122.9); // 14.4 + 18.2 + 60 + 0.3 + 30
    assert.equal(failed.assumptions[0], "The read rate could not be measured (permission denied for table events); dump time is left out.");
});
