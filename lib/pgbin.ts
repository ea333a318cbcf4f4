/**
 * Finds the PostgreSQL binaries this program runs (pg_dump, pg_restore, psql, and for the local
 * rehearsal initdb, pg_ctl, postgres).
 *
 * Search order, first hit wins:
 *   1. the directory in the `PG_BIN_DIR` environment variable;
 *   2. the newest `/usr/lib/postgresql/<N>/bin` that holds the binary (Debian/Ubuntu layout,
 *      several majors can be installed side by side);
 *   3. the `PATH`.
 *
 * Plain functions only: no caching at module level (dynamic providers capture this file).
 */
import * as fs from "fs";
import * as path from "path";
import { execFileSync } from "child_process";
import { MigrationError } from "./errors";

export type PgBinaryName = "pg_dump" | "pg_restore" | "psql" | "initdb" | "pg_ctl" | "postgres";

const DEBIAN_PG_ROOT = "/usr/lib/postgresql";

function isExecutableFile(file: string): boolean {
    try {
        const st = fs.statSync(file);
        if (!st.isFile()) return false;
        fs.accessSync(file, fs.constants.X_OK);
        return true;
    } catch {
        return false;
    }
}

/** The first executable file `name` in the PATH's directories, then in `extraDirs`; undefined when there is none. */
export function findOnPath(name: string, opts: { env?: NodeJS.ProcessEnv; extraDirs?: string[] } = {}): string | undefined {
    const dirs = [...((opts.env ?? process.env).PATH ?? "").split(path.delimiter), ...(opts.extraDirs ?? [])].filter(Boolean);
    for (const dir of dirs) {
        const candidate = path.join(dir, name);
        if (isExecutableFile(candidate)) return candidate;
    }
    return undefined;
}

/** `/usr/lib/postgresql/<N>/bin` directories, newest major first. */
function debianBinDirs(): string[] {
    let entries: string[];
    try {
        entries = fs.readdirSync(DEBIAN_PG_ROOT);
    } catch {
        return [];
    }
    return entries
        .filter((e) => /^\d+(\.\d+)?$/.test(e))
        .sort((a, b) => parseFloat(b) - parseFloat(a))
        .map((e) => path.join(DEBIAN_PG_ROOT, e, "bin"));
}

/** Absolute path of a PostgreSQL binary; throws a MigrationError that says how to install it. */
export function pgBin(name: PgBinaryName): string {
    const looked: string[] = [];
    const envDir = process.env.PG_BIN_DIR;
    if (envDir) {
        const candidate = path.join(envDir, name);
        if (isExecutableFile(candidate)) return candidate;
        looked.push(`PG_BIN_DIR=${envDir}`);
    }
    for (const dir of debianBinDirs()) {
        const candidate = path.join(dir, name);
        if (isExecutableFile(candidate)) return candidate;
    }
    looked.push(`${DEBIAN_PG_ROOT}/<N>/bin`);
    for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
        if (!dir) continue;
        const candidate = path.join(dir, name);
        if (isExecutableFile(candidate)) return candidate;
    }
    looked.push("PATH");

    const server = name === "initdb" || name === "pg_ctl" || name === "postgres";
    const pkg = server ? "postgresql-<N>" : "postgresql-client-<N>";
    const apt = server ? "apt-get install postgresql" : "apt-get install postgresql-client";
    throw new MigrationError(
        "PostgreSQL tools",
        `${name} not found (looked in ${looked.join(", ")}).`,
        `Install ${pkg} with <N> at least the source server's major version (${apt}), or set PG_BIN_DIR to the directory that holds ${name}.`,
    );
}

/** Parses the output of `pg_dump --version`, e.g. `pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)`. */
export function parsePgToolVersion(output: string): { major: number; minor: number; text: string } | undefined {
    const text = output.trim().split("\n")[0].trim();
    const m = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(text) ?? /\b(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(text);
    if (!m) return undefined;
    const first = Number(m[1]);
    if (first < 10 && m[2] !== undefined) {
        // 9.6.24: the major version is "9.6"; report major 9, minor 6 (patch dropped).
        return { major: first, minor: Number(m[2]), text };
    }
    return { major: first, minor: m[2] !== undefined ? Number(m[2]) : 0, text };
}

/** Version of the pg_dump / pg_restore that `pgBin` finds. */
export function pgToolVersion(name: "pg_dump" | "pg_restore"): { major: number; minor: number; text: string } {
    const bin = pgBin(name);
    let out: string;
    try {
        out = execFileSync(bin, ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 15000 });
    } catch (err) {
        throw new MigrationError(
            "PostgreSQL tools",
            `\`${bin} --version\` failed: ${(err as Error).message}.`,
            `Check that ${bin} is a working ${name}, or set PG_BIN_DIR to a directory with a working one.`,
        );
    }
    const v = parsePgToolVersion(out);
    if (!v) {
        throw new MigrationError(
            "PostgreSQL tools",
            `could not read a version from \`${bin} --version\` (output: ${JSON.stringify(out.trim())}).`,
            `Set PG_BIN_DIR to the bin directory of a PostgreSQL client installation.`,
        );
    }
    return v;
}
