/**
 * What the benchmarks share: a restore the way Heroku does it (a URL streamed into
 * `pg_restore --no-owner --no-acl`), a fresh database like Heroku's (from template0), and the
 * peak memory of this process.
 */
import { spawn } from "child_process";
import * as http from "http";
import { pgEnv, withClient } from "../lib/pg";
import { pgBin } from "../lib/pgbin";
import { PgConnection } from "../lib/types";

/** Streams `url` into `pg_restore --no-owner --no-acl -d <db>` as Heroku's transfer does. */
export function restoreFromUrl(url: string, db: PgConnection): Promise<number> {
    return new Promise((resolve, reject) => {
        const t0 = Date.now();
        const child = spawn(pgBin("pg_restore"), ["--no-owner", "--no-acl", "--format=custom", "-d", db.database], {
            env: { ...process.env, ...pgEnv(db) },
            stdio: ["pipe", "ignore", "pipe"],
        });
        let err = "";
        child.stderr!.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
        child.stdin!.on("error", () => undefined);
        http.get(url, (res) => {
            if (res.statusCode !== 200) return reject(new Error(`GET ${res.statusCode}`));
            res.pipe(child.stdin!);
        }).on("error", reject);
        child.on("close", (code) => (code === 0 ? resolve(Date.now() - t0) : reject(new Error(`pg_restore exited ${code}: ${err}`))));
    });
}

export async function freshDatabase(admin: PgConnection, name: string): Promise<PgConnection> {
    await withClient(admin, async (c) => {
        await c.query(`DROP DATABASE IF EXISTS ${name}`);
        await c.query(`CREATE DATABASE ${name} TEMPLATE template0`);
    });
    await withClient({ ...admin, database: name }, (c) => c.query("CREATE EXTENSION IF NOT EXISTS pgcrypto"));
    return { ...admin, database: name };
}


/** Runs `bin args`, stdout to nowhere; resolves with the wall time in ms. */
export function timed(bin: string, args: string[], conn?: PgConnection): Promise<number> {
    return new Promise((resolve, reject) => {
        const t0 = Date.now();
        const child = spawn(bin, args, { env: { ...process.env, ...(conn ? pgEnv(conn) : {}) }, stdio: ["ignore", "ignore", "pipe"] });
        let err = "";
        child.stderr!.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
        child.on("error", reject);
        child.on("close", (code) => (code === 0 ? resolve(Date.now() - t0) : reject(new Error(`${bin} ${args.join(" ")} exited ${code}: ${err}`))));
    });
}

/** Samples this process's RSS every 50 ms; `stop()` returns the peak seen in bytes. */
export function rssSampler(): { stop(): number } {
    let peak = process.memoryUsage().rss;
    const timer = setInterval(() => {
        const rss = process.memoryUsage().rss;
        if (rss > peak) peak = rss;
    }, 50);
    return {
        stop() {
            clearInterval(timer);
            return Math.max(peak, process.memoryUsage().rss);
        },
    };
}

/** The middle value (the upper one of an even count): what the bench tables show over repeated runs. */
export function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
}
