/**
 * The download of Heroku's transfer service: htcat (github.com/htcat/htcat, written at Heroku for
 * pg:backups), "parallel, pipelined execution of a single HTTP GET". It learns the size from a
 * first response, fetches the rest as concurrent byte ranges, and writes them out in order, so
 * a restore reads the archive as one stream while several connections download it.
 *
 * Here: a first `GET` with `Range: bytes=0-(chunk-1)`; a `206` with the total size in
 * `Content-Range` makes the remaining chunks ranged GETs, `concurrency` at a time, each held in
 * memory until its turn (at most `concurrency` chunks); a `200` (no range support) is streamed as
 * it comes. Errors are the first response's status, or a network failure, as one `Error`.
 */
import * as http from "http";
import * as https from "https";
import { PassThrough, type Readable } from "stream";

export const HTCAT_CHUNK_BYTES = 8 * 1024 * 1024;
export const HTCAT_CONCURRENCY = 4;

export interface HtcatResponse {
    /** The body, in order. Destroy it to stop the download. */
    body: Readable;
    /** Total bytes, when the server said. */
    length: number | null;
    /** Requests used (1 when the server does not do ranges). */
    requests: number;
}

export class HttpStatusError extends Error {
    constructor(readonly status: number, readonly statusMessage: string, readonly bodyText: string) {
        super(`HTTP ${status} ${statusMessage}`.trim());
    }
}

function get(u: URL, headers: Record<string, string>, onRequest: (r: http.ClientRequest) => void): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
        const mod = u.protocol === "https:" ? https : http;
        const req = mod.get(u, { headers }, resolve);
        req.on("error", reject);
        onRequest(req);
    });
}

function readAll(res: http.IncomingMessage): Promise<Buffer> {
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve(Buffer.concat(chunks)));
        res.on("error", reject);
        res.on("aborted", () => reject(new Error("the connection was closed mid-response")));
    });
}

/**
 * Starts the download. Resolves once the first response arrived (so a bad URL fails before
 * anything is written), with the body still flowing. `onRequest` sees every request (to destroy
 * them on cancel).
 */
export async function htcat(url: string, opts: { chunkBytes?: number; concurrency?: number; userAgent?: string; onRequest?: (r: http.ClientRequest) => void } = {}): Promise<HtcatResponse> {
    const u = new URL(url);
    const chunk = opts.chunkBytes ?? HTCAT_CHUNK_BYTES;
    const concurrency = Math.max(1, opts.concurrency ?? HTCAT_CONCURRENCY);
    const headers = { "user-agent": opts.userAgent ?? "htcat" };
    const requests: http.ClientRequest[] = [];
    const track = (r: http.ClientRequest) => {
        requests.push(r);
        opts.onRequest?.(r);
    };
    const first = await get(u, { ...headers, range: `bytes=0-${chunk - 1}` }, track);
    const status = first.statusCode ?? 0;
    if (status !== 200 && status !== 206) {
        const text = (await readAll(first).catch(() => Buffer.alloc(0))).toString("utf8").slice(0, 2000);
        throw new HttpStatusError(status, first.statusMessage ?? "", text);
    }
    const total = status === 206 ? Number(/\/(\d+)$/.exec(String(first.headers["content-range"] ?? ""))?.[1] ?? NaN) : NaN;
    if (status === 200 || !Number.isFinite(total)) {
        const len = first.headers["content-length"];
        return { body: first, length: len !== undefined && /^\d+$/.test(len) ? Number(len) : null, requests: 1 };
    }

    // Ranged: the first chunk streams through; the others are fetched ahead, `concurrency` in flight.
    const out = new PassThrough({ highWaterMark: chunk });
    let stopped = false;
    const stop = (err?: Error) => {
        if (stopped) return;
        stopped = true;
        for (const r of requests) r.destroy();
        if (err) out.destroy(err);
    };
    out.on("close", () => stop());
    const starts: number[] = [];
    for (let at = chunk; at < total; at += chunk) starts.push(at);
    const fetched = new Map<number, Promise<Buffer>>();
    let next = 0;
    const fetchAhead = () => {
        while (!stopped && next < starts.length && fetched.size < concurrency) {
            const at = starts[next++];
            const end = Math.min(total, at + chunk) - 1;
            const p = get(u, { ...headers, range: `bytes=${at}-${end}` }, track).then(async (res) => {
                if (res.statusCode !== 206) throw new Error(`range ${at}-${end} answered HTTP ${res.statusCode}`);
                const b = await readAll(res);
                if (b.length !== end - at + 1) throw new Error(`range ${at}-${end} returned ${b.length} bytes`);
                return b;
            });
            p.catch(() => undefined); // handled when its turn comes
            fetched.set(at, p);
        }
    };
    const write = (b: Buffer) => new Promise<void>((resolve) => (out.write(b) ? resolve() : out.once("drain", resolve)));
    (async () => {
        fetchAhead();
        for await (const c of first) {
            if (stopped) return;
            await write(c as Buffer);
        }
        for (const at of starts) {
            if (stopped) return;
            fetchAhead();
            const b = await fetched.get(at)!;
            fetched.delete(at);
            fetchAhead();
            await write(b);
        }
        out.end();
    })().catch((err: Error) => stop(err));
    return { body: out, length: total, requests: 1 + starts.length };
}
