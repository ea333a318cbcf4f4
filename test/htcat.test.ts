/**
 * emulator/heroku/htcat.ts: the transfer's download (concurrent ranged GETs, written in order)
 * against a local HTTP server that does ranges, one that does not, and one that refuses.
 * Run: node --require ts-node/register/transpile-only --test test/htcat.test.ts
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as crypto from "crypto";
import * as http from "http";
import type { AddressInfo } from "net";
import { htcat, HttpStatusError } from "../emulator/heroku/htcat";

const BODY = crypto.randomBytes(1000);

async function serve(handler: http.RequestListener): Promise<{ url: string; ranges: string[]; close(): Promise<void> }> {
    const ranges: string[] = [];
    const server = http.createServer((req, res) => {
        ranges.push(String(req.headers.range ?? "-"));
        handler(req, res);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/c/archive.dump?sig=x`,
        ranges,
        close: () => new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
        }),
    };
}

/** Answers `Range: bytes=a-b` with a 206, the chunks out of order (later ranges answer first). */
function rangeServer(req: http.IncomingMessage, res: http.ServerResponse): void {
    const m = /^bytes=(\d+)-(\d+)$/.exec(String(req.headers.range ?? ""));
    if (!m) {
        res.writeHead(200, { "content-length": BODY.length });
        res.end(BODY);
        return;
    }
    const [a, b] = [Number(m[1]), Math.min(Number(m[2]), BODY.length - 1)];
    setTimeout(() => {
        res.writeHead(206, { "content-range": `bytes ${a}-${b}/${BODY.length}`, "content-length": b - a + 1 });
        res.end(BODY.subarray(a, b + 1));
    }, a === 0 ? 0 : 60 - a / 20);
}

async function readAll(r: NodeJS.ReadableStream): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const c of r) parts.push(c as Buffer);
    return Buffer.concat(parts);
}

test("htcat: the size from the first range, the rest as concurrent ranged GETs, written in order", async () => {
    const s = await serve(rangeServer);
    try {
        const r = await htcat(s.url, { chunkBytes: 300, concurrency: 2 });
        assert.equal(r.length, 1000);
        assert.equal(r.requests, 4);
        assert.ok((await readAll(r.body)).equals(BODY), "the bytes, in order");
        assert.deepEqual(s.ranges, ["bytes=0-299", "bytes=300-599", "bytes=600-899", "bytes=900-999"]);
    } finally {
        await s.close();
    }
});

test("htcat: a server without ranges (200) is streamed as one response", async () => {
    const s = await serve((_req, res) => {
        res.writeHead(200, { "content-length": BODY.length });
        res.end(BODY);
    });
    try {
        const r = await htcat(s.url, { chunkBytes: 300 });
        assert.equal(r.length, 1000);
        assert.equal(r.requests, 1);
        assert.ok((await readAll(r.body)).equals(BODY));
    } finally {
        await s.close();
    }
});

test("htcat: a refusal is an HttpStatusError with the status and the body; a failed range fails the stream", async () => {
    const s = await serve((_req, res) => {
        res.writeHead(403, "Server failed to authenticate the request.");
        res.end("<?xml version=\"1.0\"?><Error><Code>AuthenticationFailed</Code></Error>");
    });
    try {
        const err = await htcat(s.url).then(() => undefined, (e: Error) => e);
        assert.ok(err instanceof HttpStatusError);
        assert.equal(err.status, 403);
        assert.equal(err.message, "HTTP 403 Server failed to authenticate the request.");
        assert.match(err.bodyText, /<Code>AuthenticationFailed<\/Code>/);
    } finally {
        await s.close();
    }
    const broken = await serve((req, res) => {
        if (String(req.headers.range).startsWith("bytes=0-")) return rangeServer(req, res);
        res.writeHead(500);
        res.end("no");
    });
    try {
        const r = await htcat(broken.url, { chunkBytes: 300, concurrency: 2 });
        await assert.rejects(readAll(r.body), { message: "range 300-599 answered HTTP 500" });
    } finally {
        await broken.close();
    }
});
