/**
 * The dump's compression (`dumpCompression`): what the setting may say, the pg_dump arguments
 * it becomes, which methods the local pg_dump offers for the custom format, and what each
 * costs, for preflight's estimate.
 *
 * pg_dump up to 15 compresses the custom format with zlib only (`-Z 0..9`); 16 added
 * `-Z lz4[:N]` and `-Z zstd[:N]` when it was built with those libraries, which is checked by
 * asking pg_dump itself (it refuses a method it lacks before it connects).
 *
 * Plain functions only, no module-level state: dynamic providers capture this module.
 */
import { execFileSync } from "child_process";
import { ConfigError } from "./errors";
import { pgBin, pgToolVersion } from "./pgbin";

/**
 * The default, measured (bench/compression.ts, README "Speed"): on a poorly compressible source
 * zlib's default level (6) makes the dump CPU-bound on one core, about 7x slower than no
 * compression, while a restore from the larger uncompressed archive is not slower. Level 1
 * keeps most of the speed of level 0 and still shrinks the upload for a slow uplink.
 */
export const DEFAULT_DUMP_COMPRESSION = "0";

export type CompressionMethod = "gzip" | "lz4" | "zstd";

export interface DumpCompression {
    method: CompressionMethod;
    /** gzip 0-9 (0: none); lz4 1-12, zstd 1-22; undefined: the method's default. */
    level?: number;
    /** The setting as written, normalised ("6", "lz4", "zstd:3"). */
    text: string;
}

const LEVELS: Record<"lz4" | "zstd", [number, number]> = { lz4: [1, 12], zstd: [1, 22] };

/** What `dumpCompression` accepts, for error messages. */
export const DUMP_COMPRESSION_SYNTAX = "0 to 9 (zlib level, 0: uncompressed), lz4, lz4:1 to lz4:12, zstd or zstd:1 to zstd:22 (lz4 and zstd need pg_dump 16+)";

/** Parses a `dumpCompression` value; undefined when it is not one. */
export function parseDumpCompression(value: string): DumpCompression | undefined {
    const v = value.trim().toLowerCase();
    if (/^[0-9]$/.test(v)) return { method: "gzip", level: Number(v), text: v };
    const m = /^(lz4|zstd)(?::(\d{1,2}))?$/.exec(v);
    if (!m) return undefined;
    const method = m[1] as "lz4" | "zstd";
    if (m[2] === undefined) return { method, text: method };
    const level = Number(m[2]);
    const [lo, hi] = LEVELS[method];
    if (level < lo || level > hi) return undefined;
    return { method, level, text: `${method}:${level}` };
}

/** pg_dump arguments for a compression (added to `-Fc`). */
export function dumpCompressionArgs(c: DumpCompression): string[] {
    if (c.method === "gzip") return ["-Z", String(c.level ?? 6)];
    return ["-Z", c.level === undefined ? c.method : `${c.method}:${c.level}`];
}

/** The compression methods the local pg_dump offers for the custom format. */
export interface CompressionOffer {
    pgDumpVersion: string;
    methods: CompressionMethod[];
    /** e.g. "0-9 (zlib)", "0-9 (zlib), lz4, zstd" */
    text: string;
}

/**
 * Asks the local pg_dump which methods it offers: zlib always (0-9), lz4 and zstd from 16 on when
 * pg_dump accepts them. The probe makes pg_dump parse `-Fc -Z <method>` and then fail to connect
 * to a socket directory that does not exist: a build without the method refuses it first.
 */
export function localCompressionOffer(): CompressionOffer {
    const version = pgToolVersion("pg_dump");
    const methods: CompressionMethod[] = ["gzip"];
    if (version.major >= 16) {
        for (const method of ["lz4", "zstd"] as const) {
            if (pgDumpAccepts(method)) methods.push(method);
        }
    }
    return { pgDumpVersion: version.text, methods, text: offerText(methods) };
}

export function offerText(methods: CompressionMethod[]): string {
    return ["0-9 (zlib)", ...methods.filter((m) => m !== "gzip")].join(", ");
}

function pgDumpAccepts(method: "lz4" | "zstd"): boolean {
    let out = "";
    try {
        execFileSync(pgBin("pg_dump"), ["-Fc", "-Z", method, "-f", "/dev/null", "--no-password", "-h", "/nonexistent-azure-to-heroku-pg-probe", "-d", "probe"], {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "pipe"],
            timeout: 15000,
            env: { ...process.env, PGCONNECT_TIMEOUT: "2" },
        });
    } catch (err) {
        out = String((err as { stderr?: string }).stderr ?? "");
    }
    // "invalid compression specification: this build does not support compression with LZ4"
    return !/compress/i.test(out);
}

/**
 * Throws a ConfigError naming `dumpCompression` when the local pg_dump does not offer the method.
 */
export function checkDumpCompression(c: DumpCompression, offer: CompressionOffer): void {
    if (offer.methods.includes(c.method)) return;
    throw new ConfigError(
        "dumpCompression",
        `"${c.text}" needs a pg_dump that offers ${c.method} for the custom format (PostgreSQL 16 or newer, built with ${c.method}); the local pg_dump (${offer.pgDumpVersion}) offers ${offer.text}.`,
        `Set a level it offers, e.g. \`pulumi config set dumpCompression ${DEFAULT_DUMP_COMPRESSION}\`, or install pg_dump 16+ and point PG_BIN_DIR at its bin directory.`,
    );
}

/**
 * Speed of pg_dump's compression on one core, in bytes of table data per second, and the size of
 * the archive relative to the table data, measured on the benchmark source (bench/compression.ts
 * at 1 GiB: random bytes, hex text, jsonb, timestamps, large objects) on a 2-core machine, dump
 * streamed into Azurite. A compressible database compresses faster and smaller; these are the
 * pessimistic case. The uncompressed archive is larger than the data (bytea travels as hex text).
 * Undefined rate: no compression, pg_dump is limited by reading, not by the CPU.
 */
export function compressionCost(c: DumpCompression): { bytesPerSec?: number; ratio: number } {
    const MiB = 1024 * 1024;
    if (c.method === "gzip") {
        const level = c.level ?? 6;
        if (level === 0) return { ratio: 1.2 };
        if (level <= 1) return { bytesPerSec: 45 * MiB, ratio: 0.67 };
        if (level <= 3) return { bytesPerSec: 28 * MiB, ratio: 0.66 };
        if (level <= 6) return { bytesPerSec: 18 * MiB, ratio: 0.64 };
        return { bytesPerSec: 8 * MiB, ratio: 0.63 }; // 7-9: not measured, zlib's own figures
    }
    // lz4 and zstd (pg_dump 16+; not measured here, our machines have pg_dump 15): their
    // published single-core speeds relative to zlib, scaled to the zlib numbers above.
    if (c.method === "lz4") return { bytesPerSec: 200 * MiB, ratio: 0.75 };
    const level = c.level ?? 3;
    return level <= 3 ? { bytesPerSec: 90 * MiB, ratio: 0.62 } : { bytesPerSec: 20 * MiB, ratio: 0.6 };
}
