/**
 * lib/report.ts: the report JSON sections, the Markdown, and the self-contained HTML - rendered
 * in real headless Chromium (Debian `chromium`): the DOM has the mismatch first and the
 * screenshot shows it (its red rows and banner are on screen, counted in the decoded PNG).
 * Run: node --require ts-node/register/transpile-only --test test/report.test.ts
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import { renderHtml, renderMarkdown, withVerification, type MigrationReport } from "../lib/report";
import type { VerificationResult } from "../lib/verify";
import { reportFromOutputs, resolveReportDir, writeReport } from "../lib/reportFiles";
import { renderReportFromOutputs } from "../lib/reportCli";

const EVIL = "<script>alert(1)</script>";

function sampleResult(mismatch: boolean): VerificationResult {
    const table = (schema: string, name: string, rows: number, extra: Partial<VerificationResult["tables"][number]> = {}) => ({
        schema, name, kind: "table" as const, key: ["id"], sourceRows: rows, targetRows: rows, match: true,
        sourceChecksum: "123456789", targetChecksum: "123456789", countMatch: true, checksumMatch: true, sourceMs: 12, targetMs: 14, ...extra,
    });
    const tables = [
        table("public", "customers", 500),
        table("public", `weird|${EVIL}`, 3),
        mismatch
            ? table("reporting", "daily_sales", 188, { targetRows: 187, match: false, countMatch: false, checksumMatch: false, targetChecksum: "-42", rows: [{ key: "(day)=(2024-01-10)", change: "missing on target" }] })
            : table("reporting", "daily_sales", 188),
    ];
    const problems = mismatch
        ? ["table reporting.daily_sales: 188 rows on the source, 187 on the target; row (day)=(2024-01-10) is missing on the target", "index public.orders_customer_id_idx is missing on the target"]
        : [];
    return {
        ok: !mismatch,
        verdict: mismatch ? "mismatch" : "match",
        summary: mismatch ? `2 differences: ${problems.join("; ")}` : "3 tables, 691 rows match (counts and checksums)",
        problems,
        problemCount: problems.length,
        notes: ["1 settings that change query behaviour or performance differ (reported, not required): work_mem"],
        startedAt: "2025-01-01T00:00:00.000Z",
        finishedAt: "2025-01-01T00:00:02.000Z",
        durationMs: 2000,
        servers: { source: { version: "15.18", versionNum: 150018, encoding: "UTF8" }, target: { version: "16.4", versionNum: 160004, encoding: "UTF8" } },
        rendering: { hash: "hashtextextended", extraFloatDigits: 3, utf8: false },
        schema: {
            ok: !mismatch,
            counts: { table: { source: 3, target: 3 }, index: { source: 4, target: mismatch ? 3 : 4 } },
            differences: mismatch ? [{ kind: "index", name: "public.orders_customer_id_idx", change: "missing on target", source: "CREATE INDEX orders_customer_id_idx ON public.orders USING btree (customer_id)" }] : [],
            more: 0,
            notes: [],
        },
        tables,
        excluded: ["public.sessions"],
        sequences: [{ schema: "public", name: "invoice_number_seq", source: { lastValue: "100002", isCalled: true }, target: { lastValue: "100002", isCalled: true }, match: true }],
        largeObjects: { ok: true, source: { count: 1, bytes: 28, checksum: "77" }, target: { count: 1, bytes: 28, checksum: "77" }, differences: [], more: 0 },
        extensions: [{ name: "citext", source: { version: "1.6", schema: "public" }, target: { version: "1.6", schema: "public" }, match: true }],
        settings: {
            ok: true,
            differences: [{ name: "work_mem", category: "performance", source: "4MB", target: "64MB", sourceOrigin: "default", targetOrigin: "database", required: false }],
            ignored: ["port", "data_directory"],
            compared: 333,
            databaseSettings: { source: [], target: ["work_mem=64MB"] },
            database: { source: { encoding: "UTF8" }, target: { encoding: "UTF8" } },
            csv: { source: "name,setting,unit,source,category\n", target: "name,setting,unit,source,category\n" },
        },
        queries: [{ index: 0, sql: "SELECT count(*) FROM public.orders", match: true, sourceRows: 1, targetRows: 1, sourceHash: "ab", targetHash: "ab", columns: { source: ["count"], target: ["count"] } }],
        restore: { errors: ["pg_restore: error: could not execute query: ERROR:  must be owner of extension plpgsql"], warnings: ["pg_restore: warning: errors ignored on restore: 1"] },
        timings: [{ stage: "settings", ms: 120 }, { stage: "schema", ms: 300 }, { stage: "tables", ms: 1400 }, { stage: "sequences", ms: 40 }, { stage: "large objects", ms: 60 }, { stage: "queries", ms: 80 }],
    };
}

function baseReport(failed: boolean): MigrationReport {
    return {
        status: failed ? "failed" : "verified",
        command: "up",
        startedAt: "2025-01-01T00:00:00.000Z",
        finishedAt: "2025-01-01T00:05:00.000Z",
        error: failed ? "pulumi-nodejs:dynamic/migration:Verification migration-verify: Verification: the target does not match the source: ..." : undefined,
        source: { serverVersion: "15.18", database: "appdb" },
        target: { app: "a2h-rehearsal", addon: "a2h-rehearsal-postgres" },
        tables: failed ? [] : [{ schema: "public", name: "customers", sourceRows: 500, targetRows: 500, match: true }],
        restore: { id: "r001", logs: [{ created_at: "t", message: "pg_restore: creating TABLE" }] },
        dump: { bytes: 123456 },
        steps: [{ op: "create", type: "pulumi-nodejs:dynamic/migration:DumpToBlob", name: "migration-dump" }],
        timings: [{ stage: "HerokuPostgres", ms: 60000 }, { stage: "DumpToBlob", ms: 90000 }, { stage: "HerokuRestore", ms: 120000 }, { stage: "Verification", ms: 2000 }],
    };
}

test("withVerification adds every section and keeps the report's existing names", () => {
    const failed = withVerification(baseReport(true), sampleResult(true));
    assert.equal(failed.status, "failed");
    assert.deepEqual(failed.tables.map((t) => Object.keys(t)), failed.tables.map(() => ["schema", "name", "sourceRows", "targetRows", "match"]), "tables keep their shape");
    assert.deepEqual(failed.tables[2], { schema: "reporting", name: "daily_sales", sourceRows: 188, targetRows: 187, match: false });
    assert.equal(failed.source.serverVersion, "15.18");
    assert.equal(failed.target.serverVersion, "16.4");
    assert.deepEqual(failed.restore.errors, ["pg_restore: error: could not execute query: ERROR:  must be owner of extension plpgsql"]);
    assert.equal(failed.restore.id, "r001");
    assert.equal(failed.dump.bytes, 123456);
    assert.deepEqual(failed.verdict?.problemCount, 2);
    assert.equal(failed.checksums?.length, 3);
    assert.deepEqual(failed.timings?.map((t) => t.stage), [
        "HerokuPostgres", "DumpToBlob", "HerokuRestore", "Verification",
        "verify: settings", "verify: schema", "verify: tables", "verify: sequences", "verify: large objects", "verify: queries",
    ]);
    const ok = withVerification(baseReport(false), sampleResult(false));
    assert.deepEqual(ok.tables, [{ schema: "public", name: "customers", sourceRows: 500, targetRows: 500, match: true }], "stack-output tables are kept");
    const base = baseReport(false);
    assert.equal(withVerification(base, undefined), base, "no result: the report is unchanged");
    assert.equal(ok.verdict?.ok, true);
});

test("real runs: the stack outputs (as `pulumi stack output --json` prints them) make the same report, written to reportDir", () => {
    assert.equal(resolveReportDir(undefined, "prod", "/proj"), "/proj/reports/prod");
    assert.equal(resolveReportDir("  ", "prod", "/proj"), "/proj/reports/prod");
    assert.equal(resolveReportDir("out/reports", "prod", "/proj"), "/proj/out/reports");
    assert.equal(resolveReportDir("/var/reports", "prod", "/proj"), "/var/reports");
    const result = sampleResult(false);
    const outputs = {
        herokuAppName: "my-app", addonName: "my-app-postgres", restoreId: "r001", dumpBytes: 123456, sourceServerVersion: "15.18",
        verification: "3 tables, 691 rows match", tables: [{ schema: "public", name: "customers", sourceRows: 500, targetRows: 500, match: true }],
        restoreLogs: [], verificationResult: result, databaseUrl: "[secret]",
    };
    const report = reportFromOutputs(outputs, { command: "up", startedAt: "2025-01-01T00:00:00.000Z", finishedAt: "2025-01-01T00:05:00.000Z", database: "appdb" });
    assert.equal(report.status, "verified");
    assert.deepEqual(report.target, { app: "my-app", addon: "my-app-postgres", serverVersion: "16.4" });
    assert.equal(report.verdict?.ok, true);
    assert.equal(report.checksums?.length, 3);
    assert.ok(!JSON.stringify(report).includes("databaseUrl"), "the secret output is not part of the report");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "report-files-"));
    try {
        assert.equal(writeReport(dir, report), path.join(dir, "migration-report.json"));
        assert.deepEqual(fs.readdirSync(dir).sort(), ["migration-report.html", "migration-report.json", "migration-report.md", "settings-source.csv", "settings-target.csv"]);
        assert.match(fs.readFileSync(path.join(dir, "migration-report.md"), "utf8"), /^# Migration VERIFIED/);
        assert.equal(writeReport(dir, { ...report, command: "preview", status: "planned" }), path.join(dir, "migration-plan.json"), "preview never overwrites the migration's evidence");
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

test("npm run report after a failed up: no stack outputs, the verification.json left in the folder, a failed report naming the differences", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "report-cli-"));
    try {
        fs.writeFileSync(path.join(dir, "verification.json"), JSON.stringify(sampleResult(true)));
        const done = renderReportFromOutputs(["--dir", dir], () => "{}");
        assert.deepEqual(done, { file: path.join(dir, "migration-report.json"), status: "failed" });
        const report = JSON.parse(fs.readFileSync(done.file, "utf8"));
        assert.equal(report.verdict.problems[0], "table reporting.daily_sales: 188 rows on the source, 187 on the target; row (day)=(2024-01-10) is missing on the target");
        assert.match(fs.readFileSync(path.join(dir, "migration-report.md"), "utf8"), /^# Migration FAILED/);
        const outputsFile = path.join(dir, "outputs.json");
        fs.writeFileSync(outputsFile, "not json");
        assert.throws(() => renderReportFromOutputs([outputsFile, "--dir", dir], () => ""), { message: /^npm run report: the stack outputs are not JSON \(.*\)\. Pass what `pulumi stack output --json` prints\.$/ });
        assert.throws(() => renderReportFromOutputs([], () => "{}"), { message: "npm run report: says neither which stack (--stack) nor which folder (--dir) the report is for. Give `--stack <stack>` (the folder is then `reports/<stack>`, or your `reportDir`: pass it with --dir)." });
        assert.throws(() => renderReportFromOutputs(["--stak", "prod"], () => "{}"), { message: /^npm run report: unknown option --stak\. Usage: / });
        const byStack = renderReportFromOutputs(["--stack", "prod"], () => "{}", dir);
        assert.equal(byStack.file, path.join(dir, "reports", "prod", "migration-report.json"));
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

test("Markdown: verdict, time, every section; mismatches first; table cells escaped", () => {
    const md = renderMarkdown(withVerification(baseReport(true), sampleResult(true)));
    assert.match(md, /^# Migration FAILED\n/);
    assert.match(md, /\n## Verdict: 2 differences\n\n- \*\*table reporting\.daily_sales: 188 rows on the source, 187 on the target; row \(day\)=\(2024-01-10\) is missing on the target\*\*\n- \*\*index public\.orders_customer_id_idx is missing on the target\*\*\n/);
    for (const h of ["## Where the time went", "## Tables (row counts and checksums)", "## Schema", "## Sequences", "## Large objects", "## Extensions", "## Settings", "## Queries", "## Restore log: errors and warnings", "## Steps"]) {
        assert.ok(md.includes(`\n${h}\n`), h);
    }
    const tableRows = md.split("\n").filter((l) => /^\| (public|reporting)\./.test(l));
    assert.match(tableRows[0], /^\| reporting\.daily_sales \| table \| 188 \| 187 \| 123456789 \/ -42 \| \*\*NO\*\* \| \(day\)=\(2024-01-10\) missing on target \|$/, "the mismatch comes first");
    assert.ok(md.includes("| public.weird\\|<script>alert(1)</script> |"), "a pipe in a name does not break the table");
    assert.match(md, /\| HerokuRestore \| 2 min 0 s \| 44% \|/);
    assert.match(md, /\| work_mem \| performance \| 4MB \| 64MB \(database\) \| no \|/);
});

test("HTML is one self-contained file: no scripts, no external resources, everything escaped", () => {
    const html = renderHtml(withVerification(baseReport(true), sampleResult(true)));
    assert.ok(html.startsWith("<!DOCTYPE html>"));
    assert.doesNotMatch(html, /<script|<link|<img|<iframe|\bsrc=|@import|url\(/i);
    assert.doesNotMatch(html, /https?:\/\//, "no URL at all");
    assert.ok(html.includes("weird|&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">/);
    // One table per section, and the time chart with one bar per stage.
    for (const id of ["tables", "schema-differences", "schema-counts", "sequences", "large-objects", "extensions", "settings", "queries", "restore-log", "steps"]) {
        assert.match(html, new RegExp(`<table id="${id}">`), id);
    }
    assert.equal((html.match(/<rect /g) ?? []).length, 10);
});

// ---------------------------------------------------------------------------------------------
// Real headless Chromium

function findChromium(): string | undefined {
    const candidates = [process.env.CHROMIUM_BIN, "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"].filter((x): x is string => !!x);
    for (const c of candidates) {
        const r = spawnSync(c, ["--version"], { encoding: "utf8", timeout: 30_000 });
        if (r.status === 0 && /chrom/i.test(r.stdout)) return c;
    }
    return undefined;
}

function chromium(bin: string, args: string[]): { stdout: string; stderr: string } {
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), "report-chromium-"));
    try {
        const r = spawnSync(bin, [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--hide-scrollbars", `--user-data-dir=${profile}`, ...args,
        ], { encoding: "utf8", timeout: 90_000, maxBuffer: 64 * 1024 * 1024 });
        if (r.status !== 0) throw new Error(`chromium exited with ${r.status}: ${r.stderr}`);
        return { stdout: r.stdout, stderr: r.stderr };
    } finally {
        fs.rmSync(profile, { recursive: true, force: true });
    }
}

/** Decodes an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium writes). */
function decodePng(buf: Buffer): { width: number; height: number; rgb(x: number, y: number): [number, number, number] } {
    assert.deepEqual([...buf.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], "a PNG file");
    let pos = 8;
    let width = 0;
    let height = 0;
    let colorType = 0;
    const idat: Buffer[] = [];
    while (pos < buf.length) {
        const len = buf.readUInt32BE(pos);
        const type = buf.toString("ascii", pos + 4, pos + 8);
        const data = buf.subarray(pos + 8, pos + 8 + len);
        if (type === "IHDR") {
            width = data.readUInt32BE(0);
            height = data.readUInt32BE(4);
            assert.equal(data[8], 8, "8-bit PNG");
            colorType = data[9];
            assert.equal(data[12], 0, "not interlaced");
        } else if (type === "IDAT") idat.push(data);
        else if (type === "IEND") break;
        pos += 12 + len;
    }
    const bpp = colorType === 6 ? 4 : colorType === 2 ? 3 : 0;
    assert.ok(bpp > 0, `PNG color type ${colorType}`);
    const raw = zlib.inflateSync(Buffer.concat(idat));
    const stride = width * bpp;
    const px = Buffer.alloc(height * stride);
    for (let y = 0; y < height; y++) {
        const filter = raw[y * (stride + 1)];
        const line = y * (stride + 1) + 1;
        for (let x = 0; x < stride; x++) {
            const a = x >= bpp ? px[y * stride + x - bpp] : 0;
            const b = y > 0 ? px[(y - 1) * stride + x] : 0;
            const c = x >= bpp && y > 0 ? px[(y - 1) * stride + x - bpp] : 0;
            let v = raw[line + x];
            if (filter === 1) v += a;
            else if (filter === 2) v += b;
            else if (filter === 3) v += (a + b) >> 1;
            else if (filter === 4) {
                const p = a + b - c;
                const pa = Math.abs(p - a);
                const pb = Math.abs(p - b);
                const pc = Math.abs(p - c);
                v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
            }
            px[y * stride + x] = v & 255;
        }
    }
    return { width, height, rgb: (x, y) => [px[y * stride + x * bpp], px[y * stride + x * bpp + 1], px[y * stride + x * bpp + 2]] };
}

function countColor(img: ReturnType<typeof decodePng>, [r, g, b]: [number, number, number], tolerance = 6): number {
    let n = 0;
    for (let y = 0; y < img.height; y++) {
        for (let x = 0; x < img.width; x++) {
            const [pr, pg, pb] = img.rgb(x, y);
            if (Math.abs(pr - r) <= tolerance && Math.abs(pg - g) <= tolerance && Math.abs(pb - b) <= tolerance) n++;
        }
    }
    return n;
}

const BAD = [0xb4, 0x23, 0x18] as [number, number, number]; // --bad: banner and marks
const BAD_BG = [0xfd, 0xe2, 0xe1] as [number, number, number]; // --bad-bg: mismatching rows
const OK = [0x06, 0x76, 0x47] as [number, number, number]; // --ok: banner

const chromiumBin = findChromium();
const skip = chromiumBin ? false : "chromium is not installed (Debian: `apt-get update && apt-get install -y chromium`; CI must install it in .ci/run)";

test("the HTML renders in headless Chromium and the mismatch is visible", { skip }, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "report-html-"));
    try {
        const file = path.join(dir, "migration-report.html");
        fs.writeFileSync(file, renderHtml(withVerification(baseReport(true), sampleResult(true))));

        const dom = chromium(chromiumBin as string, ["--dump-dom", `file://${file}`]).stdout;
        assert.match(dom, /<div id="verdict" class="banner bad">Migration FAILED: 2 differences between the source and the target<\/div>/);
        const firstRow = /<table id="tables">.*?<tbody>\s*<tr class="([^"]+)"><td>([^<]*)<\/td>/s.exec(dom);
        assert.deepEqual(firstRow?.slice(1), ["mismatch", "reporting.daily_sales"], "the mismatching table is the first row");
        assert.doesNotMatch(dom, /<script/i, "the name with a script tag stayed text");
        assert.equal((dom.match(/<rect /g) ?? []).length, 10, "the time chart has a bar per stage");

        const png = path.join(dir, "shot.png");
        chromium(chromiumBin as string, ["--window-size=1280,1400", `--screenshot=${png}`, `file://${file}`]);
        const img = decodePng(fs.readFileSync(png));
        assert.equal(img.width, 1280);
        const banner = countColor(img, BAD);
        const rows = countColor(img, BAD_BG);
        assert.ok(banner > 20_000, `the red verdict banner is on screen (${banner} px)`);
        assert.ok(rows > 5_000, `mismatching rows are highlighted on screen (${rows} px)`);
        assert.equal(countColor(img, OK, 2) < 2_000, true, "no green banner");
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

test("a matching report renders green in headless Chromium, with no highlighted rows", { skip }, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "report-html-"));
    try {
        const file = path.join(dir, "migration-report.html");
        fs.writeFileSync(file, renderHtml(withVerification(baseReport(false), sampleResult(false))));
        const png = path.join(dir, "shot.png");
        chromium(chromiumBin as string, ["--window-size=1280,1400", `--screenshot=${png}`, `file://${file}`]);
        const img = decodePng(fs.readFileSync(png));
        assert.ok(countColor(img, OK) > 20_000, "the green verdict banner is on screen");
        assert.equal(countColor(img, BAD_BG, 2), 0, "no row is highlighted");
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});
