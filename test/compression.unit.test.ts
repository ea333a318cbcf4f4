import { test } from "node:test";
import assert from "node:assert/strict";
import { checkDumpCompression, dumpCompressionArgs, localCompressionOffer, parseDumpCompression } from "../lib/compression";
import { pgToolVersion } from "../lib/pgbin";

test("a dumpCompression value becomes pg_dump's -Z argument", () => {
    assert.deepEqual(dumpCompressionArgs(parseDumpCompression("0")!), ["-Z", "0"]);
    assert.deepEqual(dumpCompressionArgs(parseDumpCompression("9")!), ["-Z", "9"]);
    assert.deepEqual(dumpCompressionArgs(parseDumpCompression("lz4")!), ["-Z", "lz4"]);
    assert.deepEqual(dumpCompressionArgs(parseDumpCompression(" zstd:19 ")!), ["-Z", "zstd:19"]);
    assert.equal(parseDumpCompression("gzip"), undefined);
    assert.equal(parseDumpCompression("zstd:0"), undefined);
});

test("the local pg_dump is asked which methods it offers; one it lacks is refused naming the key", () => {
    const offer = localCompressionOffer();
    const major = pgToolVersion("pg_dump").major;
    assert.ok(offer.methods.includes("gzip"));
    if (major < 16) {
        assert.deepEqual(offer.methods, ["gzip"]);
        assert.equal(offer.text, "0-9 (zlib)");
        assert.throws(() => checkDumpCompression(parseDumpCompression("zstd:3")!, offer), {
            message: `config \`dumpCompression\`: "zstd:3" needs a pg_dump that offers zstd for the custom format (PostgreSQL 16 or newer, built with zstd); the local pg_dump (${offer.pgDumpVersion}) offers 0-9 (zlib). Set a level it offers, e.g. \`pulumi config set dumpCompression 0\`, or install pg_dump 16+ and point PG_BIN_DIR at its bin directory.`,
        });
    }
    checkDumpCompression(parseDumpCompression("1")!, offer);
});
