/**
 * lib/report.ts, lib/reportFiles.ts, lib/reportCli.ts without a browser: the report JSON sections,
 * the report from stack outputs and from a failed up's folder, the Markdown, and the self-contained
 * HTML. Its rendering in real headless Chromium is in test/report.test.ts.
 * Run: node --require ts-node/register/transpile-only --test test/report.unit.test.ts
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderHtml, renderMarkdown, withVerification } from "../lib/report";
import { reportFromOutputs, resolveReportDir, writeReport } from "../lib/reportFiles";
import { renderReportFromOutputs } from "../lib/reportCli";
import { baseReport, sampleResult } from "./report-fixture";

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
