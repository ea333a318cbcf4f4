/**
 * The write freeze estimate: dump + upload + restore + Heroku's overhead + verification + cutover,
 * from the measured size and read/scan rates (readRate.ts) and the stated ESTIMATE_ASSUMPTIONS.
 * computeEstimate is pure: the same input gives the same numbers (test/estimate.test.ts).
 */
import { compressionCost, type DumpCompression } from "../compression";
import { formatBytes } from "../progress";
import type { ReadSample } from "./readRate";
import { plural } from "./text";

const MiB = 1024 ** 2;

/** The estimate, phase by phase, with what it was computed from and its assumptions in words. */
export interface FreezeEstimate {
    /** Table the read rate was measured on, "schema.name" ("" when there was nothing to read). */
    sampleTable: string;
    sampleRows: number;
    /** Bytes received (rows as text) and the table bytes they stand for. */
    sampleWireBytes: number;
    sampleTableBytes: number;
    sampleMs: number;
    /** The (larger) sample sent by COPY TO STDOUT, as pg_dump reads it (0: COPY could not run, the text read is used). */
    sampleCopyMs: number;
    sampleCopyTableBytes: number;
    /** Table bytes read per second over this connection, as pg_dump reads them. */
    readBytesPerSec: number;
    /** Table bytes checksummed per second by the server (a hash of each row as text, as verification does, over the COPY sample's rows). */
    scanBytesPerSec: number;
    /** Table data + TOAST + large objects: what pg_dump reads and the restore writes. */
    dataBytes: number;
    indexBytes: number;
    /** The dump's compression (dumpCompression) and the archive size it is expected to give. */
    compression: string;
    archiveBytes: number;
    /** pg_dump alone: reading (and compressing) every table. */
    dumpSeconds: number;
    /** The archive carried into Azure Blob Storage, alone. */
    uploadSeconds: number;
    /** Dump and upload overlap (pg_dump streams into the blob): the slower of the two. */
    dumpUploadSeconds: number;
    /** pg_restore writing the rows and building the indexes (what the rehearsal measures). */
    restoreSeconds: number;
    /** Heroku's own overhead around the restore (transfer queueing and start-up): assumed, not measured here. */
    herokuOverheadSeconds: number;
    verifySeconds: number;
    cutoverSeconds: number;
    /** dumpUploadSeconds + restoreSeconds + herokuOverheadSeconds + verifySeconds + cutoverSeconds. */
    totalSeconds: number;
    assumptions: string[];
}

/**
 * Assumptions of the freeze estimate. The read and scan rates are measured on the source; these are
 * not, and are stated with every estimate. The rates were calibrated with `npm run bench` (the
 * benchmark source, the rehearsal's local PostgreSQL, Azurite and the Heroku emulator; see the
 * README's "Speed"): each measured component within 30%. Heroku's own overhead is the one part no
 * rehearsal measures, so it is a line of its own.
 */
export const ESTIMATE_ASSUMPTIONS = Object.freeze({
    /** pg_dump's time per table byte, relative to the COPY sample's (pg_dump copies whole tables, the sample a LIMIT query). */
    dumpReadFactor: 0.8,
    /** Archive bytes the upload into Azure Blob Storage carries per second (Azurite here: about 75 MiB/s). */
    uploadBytesPerSec: 75 * MiB,
    /** Table bytes (data, TOAST, large objects) pg_restore writes per second, with their WAL. */
    restoreWriteBytesPerSec: 55 * MiB,
    /** Index bytes CREATE INDEX builds per second. */
    indexBuildBytesPerSec: 64 * MiB,
    /** Heroku's transfer set-up (queueing, download start, pg_restore start-up) before and after pg_restore: not measured here. */
    herokuOverheadSeconds: 60,
    /** Verification's time per table byte, relative to the checksum sample's (source and target at once). */
    verifyScanFactor: 0.7,
    /** Connection set-up and per-object round trips of the verification. */
    verifyOverheadSeconds: 0.3,
    /** Config vars, maintenance off, process types scaled back (dynos restart). */
    cutoverSeconds: 30,
});

/** What the freeze estimate is computed from (a subset of the inspection, so it can be tested alone). */
export interface EstimateInput {
    relations: Array<{ kind: string; heap: number; toast: number; indexes: number }>;
    largeObjects: { bytes: number };
    sample: ReadSample;
}

/**
 * The write freeze, phase by phase, from the size and the measured rates (pure: same input, same
 * numbers). Seconds are rounded to 0.1 s; the total is the sum of the rounded phases.
 */
export function computeEstimate(ins: EstimateInput, compression: DumpCompression): FreezeEstimate {
    const a = ESTIMATE_ASSUMPTIONS;
    const tables = ins.relations.filter((r) => r.kind === "r");
    const dataBytes = tables.reduce((n, r) => n + r.heap + r.toast, 0) + ins.largeObjects.bytes;
    const indexBytes = ins.relations.filter((r) => r.kind === "r" || r.kind === "m").reduce((n, r) => n + r.indexes, 0);
    const heapBytes = tables.reduce((n, r) => n + r.heap, 0);
    const s = ins.sample;
    const measured = s.rows > 0 && !s.error;
    // pg_dump reads with COPY; when COPY could not run, the rows read as text stand in (slower:
    // node-postgres parses every row). A sub-millisecond sample says little: a floor of 1 ms.
    const copied = s.copyMs > 0 && s.copyTableBytes > 0;
    const readBytesPerSec = !measured ? 0 : copied ? s.copyTableBytes / (Math.max(s.copyMs, 1) / 1000) : s.tableBytes / (Math.max(s.ms, 1) / 1000);
    const scanBytesPerSec = measured ? s.scanTableBytes / (Math.max(s.scanMs, 1) / 1000) : 0;
    // pg_dump compresses on one core while it reads: the slower of the two sets the pace.
    const cost = compressionCost(compression);
    const compressSeconds = cost.bytesPerSec ? dataBytes / cost.bytesPerSec : 0;
    const readSeconds = readBytesPerSec > 0 ? (dataBytes / readBytesPerSec) * a.dumpReadFactor : 0;
    const dumpSeconds = readSeconds > 0 ? Math.max(readSeconds, compressSeconds) : 0;
    const archiveBytes = Math.round(dataBytes * cost.ratio);
    const uploadSeconds = archiveBytes / a.uploadBytesPerSec;
    // The restore writes what the dump read; the dump's compression does not slow it down.
    const restoreSeconds = dataBytes / a.restoreWriteBytesPerSec + indexBytes / a.indexBuildBytesPerSec;
    const verifySeconds = (scanBytesPerSec > 0 ? (heapBytes / scanBytesPerSec) * a.verifyScanFactor : 0) + a.verifyOverheadSeconds;
    const round = (x: number) => Math.round(x * 10) / 10;
    const parts = {
        dump: round(dumpSeconds),
        upload: round(uploadSeconds),
        dumpUpload: round(Math.max(dumpSeconds, uploadSeconds)),
        restore: round(restoreSeconds),
        verify: round(verifySeconds),
    };
    const assumptions = [
        measured
            ? `Read rate measured on ${s.table}: ${plural(s.rows, "row")} (${formatBytes(s.tableBytes)} of table, ${formatBytes(s.wireBytes)} as text) read as text in ${s.ms.toFixed(1)} ms${copied ? `, and ${formatBytes(s.copyTableBytes)} of it sent by COPY TO STDOUT, as pg_dump reads it, in ${s.copyMs.toFixed(1)} ms` : " (COPY could not run; a text read is slower than pg_dump)"}; pg_dump reads every table at about ${(a.dumpReadFactor as number) === 1 ? "this rate" : `${a.dumpReadFactor}x this time`} over the same network path.`
            : s.error
                ? `The read rate could not be measured (${s.error}); dump time is left out.`
                : "There is no table data to sample; dump time is taken as zero.",
        cost.bytesPerSec
            ? `pg_dump compresses (dumpCompression ${compression.text}) at about ${formatBytes(cost.bytesPerSec)}/s on one core and the archive is about ${Math.round(cost.ratio * 100)}% of the data (measured on poorly compressible data; compressible data is faster and smaller); the dump takes the longer of reading and compressing.`
            : `The dump is not compressed (dumpCompression ${compression.text}): the archive is about ${Math.round(cost.ratio * 100)}% of the data (values travel as text, bytea as hex), and pg_dump goes as fast as it reads.`,
        `The upload carries ${formatBytes(a.uploadBytesPerSec)}/s into Azure Blob Storage (assumed; the uplink of the machine running Pulumi decides). pg_dump streams straight into the blob, so dump and upload overlap and the slower of the two counts; on a slow uplink choose a dumpCompression level.`,
        `The restore writes ${formatBytes(a.restoreWriteBytesPerSec)}/s of table data and builds ${formatBytes(a.indexBuildBytesPerSec)}/s of index (measured with the rehearsal's PostgreSQL on 2 cores; Heroku's plans have their own CPUs and disks).`,
        `Heroku's own overhead around the restore (queueing the transfer, starting the download and pg_restore) is taken as ${a.herokuOverheadSeconds}s: assumed, not measured here (the rehearsal's emulator has none).`,
        `Verification checksums every table on both sides at once, taking ${a.verifyScanFactor}x as long per byte as the source took to checksum the sample (${formatBytes(scanBytesPerSec)}/s), plus ${a.verifyOverheadSeconds}s of round trips.`,
        `Cutover (config vars, maintenance off, process types scaled back) takes about ${a.cutoverSeconds}s (assumed).`,
        "The freeze starts after the Heroku database is provisioned, so provisioning time is not frozen time.",
    ];
    return {
        sampleTable: s.table,
        sampleRows: s.rows,
        sampleWireBytes: s.wireBytes,
        sampleTableBytes: Math.round(s.tableBytes),
        sampleMs: round(s.ms),
        sampleCopyMs: round(s.copyMs),
        sampleCopyTableBytes: Math.round(s.copyTableBytes),
        readBytesPerSec: Math.round(readBytesPerSec),
        scanBytesPerSec: Math.round(scanBytesPerSec),
        dataBytes,
        indexBytes,
        compression: compression.text,
        archiveBytes,
        dumpSeconds: parts.dump,
        uploadSeconds: parts.upload,
        dumpUploadSeconds: parts.dumpUpload,
        restoreSeconds: parts.restore,
        herokuOverheadSeconds: a.herokuOverheadSeconds,
        verifySeconds: parts.verify,
        cutoverSeconds: a.cutoverSeconds,
        // The sum of the rounded phases, so the table in preflight.md adds up.
        totalSeconds: round(parts.dumpUpload + parts.restore + a.herokuOverheadSeconds + parts.verify + a.cutoverSeconds),
        assumptions,
    };
}
