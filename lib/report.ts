/**
 * The migration report: the JSON shape (`migration-report.json`), and its Markdown and
 * self-contained HTML renderings. The HTML is one file with no network access (inline CSS and
 * SVG, no scripts, a Content-Security-Policy that forbids loading anything): a verdict banner, a
 * bar chart of where the time went, and a table per section with mismatches first.
 *
 * Pure functions of the report; every string from a database or a log is escaped and redacted.
 */
import { formatBytes } from "./progress";
import { redact } from "./redact";
import type { TableRowCount } from "./types";
import type {
    ExtensionCheck, LargeObjectComparison, QueryCheck, SchemaComparison, SequenceCheck, SettingsComparison, TableCheck, VerificationResult,
} from "./verify";

export interface MigrationReport {
    status: "verified" | "failed" | "planned" | "destroyed";
    command: "up" | "preview" | "destroy";
    startedAt: string;
    finishedAt: string;
    error?: string;
    /** After a failure or an interruption (and in preview): where the write freeze stands. */
    freeze?: string;
    source: { serverVersion?: string; database: string };
    target: { app?: string; addon?: string; serverVersion?: string };
    tables: TableRowCount[];
    restore: { id?: string; logs: { created_at: string; message: string }[]; errors?: string[]; warnings?: string[] };
    dump: { bytes?: number; durationMs?: number };
    /** One-line verification summary. */
    verification?: string;
    steps: { op: string; type: string; name: string; detail?: string }[];
    /** Every stage's duration, in order (migration stages, then `verify: <part>`). */
    timings?: { stage: string; ms: number }[];
    // Sections below come from the Verification result (lib/verify), when it ran.
    verdict?: { ok: boolean; summary: string; problems: string[]; problemCount: number; notes: string[] };
    schema?: SchemaComparison;
    /** Per-table counts and content checksums (tables, partitioned tables, materialized views). */
    checksums?: TableCheck[];
    sequences?: SequenceCheck[];
    largeObjects?: LargeObjectComparison;
    extensions?: ExtensionCheck[];
    settings?: SettingsComparison;
    /** The source's settings ApplySettings set on the new database (stack output `settingsApplied`). */
    settingsApplied?: { name: string; value: string; via: string; result: string }[];
    queries?: QueryCheck[];
    excluded?: string[];
}

/**
 * Adds a verification result to a report: every section, the restore log's error and warning
 * lines, the target's server version, and the verification's own timings (`verify: tables`...).
 * `tables` keeps its shape; it is filled from the result only when empty (a failed verification
 * has no stack outputs).
 */
export function withVerification(report: MigrationReport, result: VerificationResult | undefined): MigrationReport {
    if (!result) return report;
    const tables = report.tables.length > 0
        ? report.tables
        : result.tables.map((t) => ({ schema: t.schema, name: t.name, sourceRows: t.sourceRows, targetRows: t.targetRows, match: t.match }));
    return {
        ...report,
        source: { ...report.source, serverVersion: report.source.serverVersion ?? result.servers.source.version },
        target: { ...report.target, serverVersion: result.servers.target.version },
        tables,
        restore: { ...report.restore, errors: result.restore.errors, warnings: result.restore.warnings },
        verification: report.verification ?? result.summary,
        timings: [...(report.timings ?? []).filter((t) => !t.stage.startsWith("verify: ")), ...result.timings.map((t) => ({ stage: `verify: ${t.stage}`, ms: t.ms }))],
        verdict: { ok: result.ok, summary: result.summary, problems: result.problems, problemCount: result.problemCount, notes: result.notes },
        schema: result.schema,
        checksums: result.tables,
        sequences: result.sequences,
        largeObjects: result.largeObjects,
        extensions: result.extensions,
        settings: result.settings,
        queries: result.queries,
        excluded: result.excluded,
    };
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

function fmtMs(ms: number): string {
    if (ms < 1000) return `${Math.round(ms)} ms`;
    const s = ms / 1000;
    if (s < 60) return `${s.toFixed(1)} s`;
    const m = Math.floor(s / 60);
    return `${m} min ${Math.round(s - m * 60)} s`;
}

function fmtBytes(n: number | undefined): string {
    return n === undefined || n === null ? "-" : formatBytes(n);
}

function fmtInt(n: number | null | undefined): string {
    return n === null || n === undefined ? "-" : n.toLocaleString("en-US");
}

/** Mismatches first, keeping the order otherwise. */
function mismatchesFirst<T>(rows: T[], bad: (r: T) => boolean): T[] {
    return [...rows.filter(bad), ...rows.filter((r) => !bad(r))];
}

function headline(r: MigrationReport): string {
    const word = r.status === "verified" ? "VERIFIED" : r.status === "failed" ? "FAILED" : r.status === "planned" ? "PLANNED" : "DESTROYED";
    return `Migration ${word}`;
}

function tableLabel(t: { schema: string; name: string }): string {
    return `${t.schema}.${t.name}`;
}

function tableRowsDetail(t: TableCheck): string {
    const rows = t.rows?.map((x) => `${x.key} ${x.change}`).join(", ");
    return [rows, t.note].filter(Boolean).join("; ");
}

function sequenceValue(v: SequenceCheck["source"]): string {
    return v ? `${v.lastValue}${v.isCalled ? "" : " (not called)"}` : "missing";
}

function settingValue(v: string | null, origin?: string): string {
    return v === null ? "not set" : `${v}${origin && origin !== "default" ? ` (${origin})` : ""}`;
}

// ---------------------------------------------------------------------------------------------
// Markdown

function mdCell(v: unknown): string {
    return redact(String(v ?? "")).replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\r?\n/g, " ").replace(/`/g, "\\`");
}

function mdTable(headers: string[], rows: unknown[][]): string[] {
    if (rows.length === 0) return ["(none)", ""];
    return [`| ${headers.map(mdCell).join(" | ")} |`, `| ${headers.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.map(mdCell).join(" | ")} |`), ""];
}

export function renderMarkdown(report: MigrationReport): string {
    const r = report;
    const out: string[] = [];
    out.push(`# ${headline(r)}`, "");
    out.push(`- command: \`${r.command}\`, ${r.startedAt} to ${r.finishedAt}`);
    out.push(`- source: database \`${mdCell(r.source.database)}\`${r.source.serverVersion ? `, PostgreSQL ${mdCell(r.source.serverVersion)}` : ""}`);
    out.push(`- target: app \`${mdCell(r.target.app ?? "-")}\`, add-on \`${mdCell(r.target.addon ?? "-")}\`${r.target.serverVersion ? `, PostgreSQL ${mdCell(r.target.serverVersion)}` : ""}`);
    out.push(`- dump: ${fmtBytes(r.dump.bytes)}${r.dump.durationMs !== undefined ? ` in ${fmtMs(r.dump.durationMs)}` : ""}; restore: ${mdCell(r.restore.id ?? "-")}`);
    if (r.verification) out.push(`- verification: ${mdCell(r.verification)}`);
    out.push("");
    if (r.error) out.push("## Error", "", "```", redact(r.error), "```", "");
    if (r.freeze) out.push(`**Write freeze:** ${redact(r.freeze)}`, "");

    if (r.verdict) {
        out.push(`## Verdict: ${r.verdict.ok ? "the target matches the source" : `${r.verdict.problemCount} difference${r.verdict.problemCount === 1 ? "" : "s"}`}`, "");
        for (const p of r.verdict.problems) out.push(`- **${mdCell(p)}**`);
        if (r.verdict.problemCount > r.verdict.problems.length) out.push(`- and ${r.verdict.problemCount - r.verdict.problems.length} more`);
        if (r.verdict.problems.length) out.push("");
        if (r.verdict.notes.length) {
            out.push("Notes (reported, not failing):", "");
            for (const n of r.verdict.notes) out.push(`- ${mdCell(n)}`);
            out.push("");
        }
    }

    const timings = r.timings ?? [];
    if (timings.length) {
        const total = timings.reduce((n, t) => n + t.ms, 0);
        out.push("## Where the time went", "");
        out.push(...mdTable(["stage", "time", "share"], timings.map((t) => [t.stage, fmtMs(t.ms), total ? `${Math.round((t.ms / total) * 100)}%` : "-"])));
    }

    if (r.checksums) {
        out.push("## Tables (row counts and checksums)", "");
        out.push(...mdTable(["table", "kind", "source rows", "target rows", "checksum", "match", "differences"],
            mismatchesFirst(r.checksums, (t) => !t.match).map((t) => [tableLabel(t), t.kind, fmtInt(t.sourceRows), fmtInt(t.targetRows),
                t.checksumMatch ? "same" : `${t.sourceChecksum ?? "-"} / ${t.targetChecksum ?? "-"}`, t.match ? "yes" : "**NO**", tableRowsDetail(t)])));
    } else if (r.tables.length) {
        out.push("## Tables (row counts)", "");
        out.push(...mdTable(["table", "source rows", "target rows", "match"], mismatchesFirst(r.tables, (t) => !t.match).map((t) => [tableLabel(t), fmtInt(t.sourceRows), fmtInt(t.targetRows), t.match ? "yes" : "**NO**"])));
    }
    if (r.excluded?.length) out.push(`Excluded from verification: ${r.excluded.map(mdCell).join(", ")}`, "");

    if (r.schema) {
        out.push("## Schema", "");
        out.push(...mdTable(["kind", "source", "target"], Object.entries(r.schema.counts).filter(([, v]) => v.source || v.target).map(([k, v]) => [k, v.source, v.target])));
        if (r.schema.differences.length) {
            out.push("Differences:", "");
            out.push(...mdTable(["kind", "object", "change", "source", "target"], r.schema.differences.map((d) => [d.kind, d.name, d.change, d.source ?? "", d.target ?? ""])));
            if (r.schema.more) out.push(`and ${r.schema.more} more`, "");
        }
    }

    if (r.sequences) {
        out.push("## Sequences", "");
        out.push(...mdTable(["sequence", "source", "target", "match"], mismatchesFirst(r.sequences, (s) => !s.match).map((s) => [tableLabel(s), sequenceValue(s.source), sequenceValue(s.target), s.match ? "yes" : "**NO**"])));
    }
    if (r.largeObjects) {
        const lo = r.largeObjects;
        out.push("## Large objects", "");
        out.push(...mdTable(["", "count", "bytes", "checksum"], [["source", fmtInt(lo.source.count), fmtInt(lo.source.bytes), lo.source.checksum], ["target", fmtInt(lo.target.count), fmtInt(lo.target.bytes), lo.target.checksum]]));
        if (lo.differences.length) out.push(...mdTable(["oid", "change", "source bytes", "target bytes"], lo.differences.map((d) => [d.oid, d.change, fmtInt(d.sourceBytes), fmtInt(d.targetBytes)])));
    }
    if (r.extensions) {
        out.push("## Extensions", "");
        out.push(...mdTable(["extension", "source", "target", "note"], mismatchesFirst(r.extensions, (e) => !e.match || !!e.note).map((e) => [e.name, e.source ? `${e.source.version} (${e.source.schema})` : "-", e.target ? `${e.target.version} (${e.target.schema})` : "-", e.note ?? ""])));
    }
    if (r.settings) {
        const s = r.settings;
        out.push("## Settings", "");
        out.push(`${s.compared} settings compared; ${s.differences.length} differ; ${s.ignored.length} more differ but always differ between servers (paths, ports, memory sizing, logging) and are ignored.`, "");
        out.push(...mdTable(["setting", "category", "source", "target", "required equal"], s.differences.map((d) => [d.name, d.category, settingValue(d.source, d.sourceOrigin), settingValue(d.target, d.targetOrigin), d.required ? "**yes**" : "no"])));
        if (s.databaseSettings.source.length || s.databaseSettings.target.length) {
            out.push(`ALTER DATABASE settings - source: ${s.databaseSettings.source.map(mdCell).join(", ") || "none"}; target: ${s.databaseSettings.target.map(mdCell).join(", ") || "none"}`, "");
        }    }
    if (r.settingsApplied?.length) {
        out.push("Carried over to the new database (ApplySettings); verification requires those taken from the source (not settingsOverride's) equal:", "");
        out.push(...mdTable(["setting", "value", "applied with", "new database shows"], r.settingsApplied.map((a) => [a.name, a.value, a.via, a.result])));
    }
    if (r.queries?.length) {
        out.push("## Queries", "");
        out.push(...mdTable(["#", "query", "source rows", "target rows", "match", "first difference"], mismatchesFirst(r.queries, (q) => !q.match).map((q) => [q.index + 1, q.sql, fmtInt(q.sourceRows), fmtInt(q.targetRows), q.match ? "yes" : "**NO**",
            q.error ? `failed on the ${q.error.side}: ${q.error.message}` : q.firstDifference ? `row ${q.firstDifference.row}: ${q.firstDifference.source ?? "(none)"} / ${q.firstDifference.target ?? "(none)"}` : ""])));
    }
    if (r.restore.errors?.length || r.restore.warnings?.length) {
        out.push("## Restore log: errors and warnings", "");
        for (const l of r.restore.errors ?? []) out.push(`- error: ${mdCell(l)}`);
        for (const l of r.restore.warnings ?? []) out.push(`- warning: ${mdCell(l)}`);
        out.push("");
    }
    if (r.steps.length) {
        out.push("## Steps", "");
        out.push(...mdTable(["op", "type", "name", "detail"], r.steps.map((s) => [s.op, s.type, s.name, s.detail ?? ""])));
    }
    return out.join("\n").replace(/\n{3,}/g, "\n\n").trimEnd() + "\n";
}

// ---------------------------------------------------------------------------------------------
// HTML

function esc(v: unknown): string {
    return redact(String(v ?? "")).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

interface Col<T> {
    head: string;
    cell: (row: T) => string;
    cls?: string;
}

function htmlTable<T>(id: string, cols: Col<T>[], rows: T[], bad: (r: T) => boolean): string {
    if (rows.length === 0) return `<p class="none">none</p>`;
    const sorted = mismatchesFirst(rows, bad);
    const head = `<tr>${cols.map((c) => `<th${c.cls ? ` class="${c.cls}"` : ""}>${esc(c.head)}</th>`).join("")}</tr>`;
    const body = sorted.map((r) => `<tr class="${bad(r) ? "mismatch" : "match"}">${cols.map((c) => `<td${c.cls ? ` class="${c.cls}"` : ""}>${c.cell(r)}</td>`).join("")}</tr>`).join("\n");
    return `<table id="${id}"><thead>${head}</thead><tbody>\n${body}\n</tbody></table>`;
}

function badge(ok: boolean): string {
    return ok ? `<span class="ok">match</span>` : `<span class="bad">MISMATCH</span>`;
}

/** Horizontal bar chart of the timings, inline SVG. */
function timingChart(timings: { stage: string; ms: number }[]): string {
    if (timings.length === 0) return `<p class="none">no timings recorded</p>`;
    const max = Math.max(...timings.map((t) => t.ms), 1);
    const total = timings.reduce((n, t) => n + t.ms, 0);
    const rowH = 24;
    const labelW = 210;
    const barW = 560;
    const h = timings.length * rowH + 8;
    const bars = timings.map((t, i) => {
        const y = i * rowH + 4;
        const w = Math.max(1, Math.round((t.ms / max) * barW));
        const pct = total ? Math.round((t.ms / total) * 100) : 0;
        return `<g><text x="${labelW - 8}" y="${y + 15}" text-anchor="end" class="lbl">${esc(t.stage)}</text>`
            + `<rect x="${labelW}" y="${y + 2}" width="${w}" height="${rowH - 8}" rx="3" class="${t.stage.startsWith("verify") ? "bar verify" : "bar"}"><title>${esc(t.stage)}: ${esc(fmtMs(t.ms))}</title></rect>`
            + `<text x="${labelW + w + 6}" y="${y + 15}" class="val">${esc(fmtMs(t.ms))} (${pct}%)</text></g>`;
    }).join("\n");
    return `<svg id="timing-chart" role="img" aria-label="Where the time went" width="${labelW + barW + 140}" height="${h}" viewBox="0 0 ${labelW + barW + 140} ${h}">\n${bars}\n</svg>`;
}

const CSS = `
:root { --bad: #b42318; --bad-bg: #fde2e1; --ok: #067647; --ok-bg: #dcfae6; --line: #d0d5dd; --muted: #667085; }
* { box-sizing: border-box; }
body { font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Arial, sans-serif; color: #101828; margin: 0; padding: 24px 32px 48px; background: #fff; }
h1 { font-size: 24px; margin: 0 0 8px; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
.banner { padding: 14px 18px; border-radius: 8px; font-weight: 600; font-size: 16px; margin: 12px 0 8px; }
.banner.bad { background: var(--bad); color: #fff; }
.banner.ok { background: var(--ok); color: #fff; }
.banner.neutral { background: #475467; color: #fff; }
ul.problems li { color: var(--bad); font-weight: 600; }
ul.notes li { color: #344054; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 8px 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
table { border-collapse: collapse; margin: 6px 0 12px; min-width: 50%; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f2f4f7; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12px; white-space: pre-wrap; word-break: break-all; max-width: 520px; }
tr.mismatch td { background: var(--bad-bg); }
tr.mismatch td:first-child { border-left: 4px solid var(--bad); }
span.bad { color: var(--bad); font-weight: 700; }
span.ok { color: var(--ok); }
pre.error { background: #fef3f2; border-left: 4px solid var(--bad); padding: 10px; white-space: pre-wrap; }
p.none { color: var(--muted); }
svg .lbl, svg .val { font: 12px "DejaVu Sans", Arial, sans-serif; fill: #344054; }
svg .bar { fill: #2e90fa; }
svg .bar.verify { fill: #7a5af8; }
`;

export function renderHtml(report: MigrationReport): string {
    const r = report;
    const parts: string[] = [];
    const verdictOk = r.verdict ? r.verdict.ok && !r.error : r.status === "verified";
    const bannerClass = r.status === "planned" || r.status === "destroyed" ? "neutral" : verdictOk && r.status === "verified" ? "ok" : "bad";
    const bannerText = r.verdict
        ? (r.verdict.ok ? (r.error ? `${headline(r)}: the copy matched, a later stage failed` : `${headline(r)}: the target matches the source`) : `${headline(r)}: ${r.verdict.problemCount} difference${r.verdict.problemCount === 1 ? "" : "s"} between the source and the target`)
        : headline(r);
    parts.push(`<h1>azure-to-heroku-pg migration report</h1>`);
    parts.push(`<div id="verdict" class="banner ${bannerClass}">${esc(bannerText)}</div>`);
    parts.push(`<dl class="facts">`
        + `<dt>command</dt><dd>${esc(r.command)} (${esc(r.startedAt)} to ${esc(r.finishedAt)})</dd>`
        + `<dt>source</dt><dd>${esc(r.source.database)}${r.source.serverVersion ? `, PostgreSQL ${esc(r.source.serverVersion)}` : ""}</dd>`
        + `<dt>target</dt><dd>${esc(r.target.app ?? "-")} / ${esc(r.target.addon ?? "-")}${r.target.serverVersion ? `, PostgreSQL ${esc(r.target.serverVersion)}` : ""}</dd>`
        + `<dt>dump</dt><dd>${esc(fmtBytes(r.dump.bytes))}${r.dump.durationMs !== undefined ? ` in ${esc(fmtMs(r.dump.durationMs))}` : ""}</dd>`
        + `<dt>restore</dt><dd>${esc(r.restore.id ?? "-")}</dd>`
        + (r.verification ? `<dt>verification</dt><dd>${esc(r.verification)}</dd>` : "")
        + `</dl>`);
    if (r.error) parts.push(`<h2>Error</h2><pre class="error">${esc(r.error)}</pre>`);
    if (r.freeze) parts.push(`<p class="freeze"><strong>Write freeze:</strong> ${esc(r.freeze)}</p>`);
    if (r.verdict) {
        if (r.verdict.problems.length) {
            parts.push(`<h2>Differences</h2><ul class="problems">${r.verdict.problems.map((p) => `<li>${esc(p)}</li>`).join("")}${r.verdict.problemCount > r.verdict.problems.length ? `<li>and ${r.verdict.problemCount - r.verdict.problems.length} more</li>` : ""}</ul>`);
        }
        if (r.verdict.notes.length) parts.push(`<h2>Notes (reported, not failing)</h2><ul class="notes">${r.verdict.notes.map((n) => `<li>${esc(n)}</li>`).join("")}</ul>`);
    }

    parts.push(`<h2>Where the time went</h2>${timingChart(r.timings ?? [])}`);

    if (r.checksums) {
        parts.push(`<h2>Tables: row counts and checksums</h2>`);
        parts.push(htmlTable<TableCheck>("tables", [
            { head: "table", cell: (t) => esc(tableLabel(t)) },
            { head: "kind", cell: (t) => esc(t.kind) },
            { head: "source rows", cell: (t) => esc(fmtInt(t.sourceRows)), cls: "num" },
            { head: "target rows", cell: (t) => esc(fmtInt(t.targetRows)), cls: "num" },
            { head: "checksum", cell: (t) => (t.checksumMatch ? `<span class="ok">same</span>` : `${esc(t.sourceChecksum ?? "-")} / ${esc(t.targetChecksum ?? "-")}`), cls: "code" },
            { head: "result", cell: (t) => badge(t.match) },
            { head: "differences", cell: (t) => esc(tableRowsDetail(t)) },
        ], r.checksums, (t) => !t.match));
    } else if (r.tables.length) {
        parts.push(`<h2>Tables: row counts</h2>`);
        parts.push(htmlTable<TableRowCount>("tables", [
            { head: "table", cell: (t) => esc(tableLabel(t)) },
            { head: "source rows", cell: (t) => esc(fmtInt(t.sourceRows)), cls: "num" },
            { head: "target rows", cell: (t) => esc(fmtInt(t.targetRows)), cls: "num" },
            { head: "result", cell: (t) => badge(t.match) },
        ], r.tables, (t) => !t.match));
    }
    if (r.excluded?.length) parts.push(`<p>Excluded from verification: ${r.excluded.map(esc).join(", ")}</p>`);

    if (r.schema) {
        const s = r.schema;
        parts.push(`<h2>Schema</h2>`);
        if (s.differences.length) {
            parts.push(htmlTable("schema-differences", [
                { head: "kind", cell: (d) => esc(d.kind) },
                { head: "object", cell: (d) => esc(d.name) },
                { head: "change", cell: (d) => `<span class="bad">${esc(d.change)}</span>` },
                { head: "source", cell: (d) => esc(d.source ?? ""), cls: "code" },
                { head: "target", cell: (d) => esc(d.target ?? ""), cls: "code" },
            ], s.differences, () => true));
            if (s.more) parts.push(`<p>and ${s.more} more differences</p>`);
        }
        const counts = Object.entries(s.counts).filter(([, v]) => v.source || v.target);
        parts.push(htmlTable("schema-counts", [
            { head: "objects", cell: ([k]) => esc(k) },
            { head: "source", cell: ([, v]) => esc(v.source), cls: "num" },
            { head: "target", cell: ([, v]) => esc(v.target), cls: "num" },
            { head: "result", cell: ([k]) => badge(!s.differences.some((d) => d.kind === k)) },
        ], counts, ([k]) => s.differences.some((d) => d.kind === k)));
    }

    if (r.sequences) {
        parts.push(`<h2>Sequences</h2>`);
        parts.push(htmlTable("sequences", [
            { head: "sequence", cell: (x) => esc(tableLabel(x)) },
            { head: "source last_value", cell: (x) => esc(sequenceValue(x.source)), cls: "num" },
            { head: "target last_value", cell: (x) => esc(sequenceValue(x.target)), cls: "num" },
            { head: "result", cell: (x) => badge(x.match) },
        ], r.sequences, (x) => !x.match));
    }

    if (r.largeObjects) {
        const lo = r.largeObjects;
        parts.push(`<h2>Large objects</h2>`);
        parts.push(htmlTable("large-objects", [
            { head: "", cell: (x) => esc(x[0]) },
            { head: "count", cell: (x) => esc(fmtInt(x[1].count)), cls: "num" },
            { head: "bytes", cell: (x) => esc(fmtInt(x[1].bytes)), cls: "num" },
            { head: "checksum", cell: (x) => esc(x[1].checksum), cls: "code" },
        ], [["source", lo.source], ["target", lo.target]] as [string, LargeObjectComparison["source"]][], () => !lo.ok));
        if (lo.differences.length) {
            parts.push(htmlTable("large-object-differences", [
                { head: "oid", cell: (d) => esc(d.oid), cls: "num" },
                { head: "change", cell: (d) => `<span class="bad">${esc(d.change)}</span>` },
                { head: "source bytes", cell: (d) => esc(fmtInt(d.sourceBytes)), cls: "num" },
                { head: "target bytes", cell: (d) => esc(fmtInt(d.targetBytes)), cls: "num" },
            ], lo.differences, () => true));
        }
    }

    if (r.extensions) {
        parts.push(`<h2>Extensions</h2>`);
        parts.push(htmlTable("extensions", [
            { head: "extension", cell: (e) => esc(e.name) },
            { head: "source", cell: (e) => esc(e.source ? `${e.source.version} (${e.source.schema})` : "-") },
            { head: "target", cell: (e) => esc(e.target ? `${e.target.version} (${e.target.schema})` : "-") },
            { head: "result", cell: (e) => (e.match ? (e.note ? esc(e.note) : badge(true)) : `<span class="bad">${esc(e.note ?? "missing on the target")}</span>`) },
        ], r.extensions, (e) => !e.match));
    }

    if (r.settings) {
        const s = r.settings;
        parts.push(`<h2>Settings</h2><p>${esc(s.compared)} settings compared; ${esc(s.differences.length)} differ; ${esc(s.ignored.length)} more differ but always differ between servers (paths, ports, memory sizing, logging) and are ignored. Differences are reported; only settings required equal (verifyRequireSettings) fail the verification.</p>`);
        parts.push(htmlTable("settings", [
            { head: "setting", cell: (d) => esc(d.name) },
            { head: "category", cell: (d) => esc(d.category) },
            { head: "source", cell: (d) => esc(settingValue(d.source, d.sourceOrigin)), cls: "code" },
            { head: "target", cell: (d) => esc(settingValue(d.target, d.targetOrigin)), cls: "code" },
            { head: "required equal", cell: (d) => (d.required ? `<span class="bad">yes</span>` : "no") },
            { head: "note", cell: (d) => esc(d.note ?? "") },
        ], s.differences, (d) => d.required));
        if (s.databaseSettings.source.length || s.databaseSettings.target.length) {
            parts.push(`<p>ALTER DATABASE settings - source: ${esc(s.databaseSettings.source.join(", ") || "none")}; target: ${esc(s.databaseSettings.target.join(", ") || "none")}</p>`);
        }    }
    if (r.settingsApplied?.length) {
        parts.push(`<p>Carried over to the new database (ApplySettings); verification requires those taken from the source (not settingsOverride's) equal: ${r.settingsApplied.map((a) => `<code>${esc(a.name)}=${esc(a.value)}</code> (${esc(a.via)})`).join(", ")}</p>`);
    }

    if (r.queries?.length) {
        parts.push(`<h2>Queries</h2>`);
        parts.push(htmlTable("queries", [
            { head: "#", cell: (q) => esc(q.index + 1), cls: "num" },
            { head: "query", cell: (q) => esc(q.sql), cls: "code" },
            { head: "source rows", cell: (q) => esc(fmtInt(q.sourceRows)), cls: "num" },
            { head: "target rows", cell: (q) => esc(fmtInt(q.targetRows)), cls: "num" },
            { head: "result", cell: (q) => badge(q.match) },
            { head: "first difference", cell: (q) => esc(q.error ? `failed on the ${q.error.side}: ${q.error.message}` : q.firstDifference ? `row ${q.firstDifference.row}: ${q.firstDifference.source ?? "(none)"} / ${q.firstDifference.target ?? "(none)"}` : ""), cls: "code" },
        ], r.queries, (q) => !q.match));
    }

    const logLines = [...(r.restore.errors ?? []).map((l) => ["error", l]), ...(r.restore.warnings ?? []).map((l) => ["warning", l])];
    if (logLines.length) {
        parts.push(`<h2>Restore log: errors and warnings</h2>`);
        parts.push(htmlTable("restore-log", [
            { head: "level", cell: (l) => esc(l[0]) },
            { head: "line", cell: (l) => esc(l[1]), cls: "code" },
        ], logLines, () => false));
    }

    if (r.steps.length) {
        parts.push(`<h2>Steps</h2>`);
        parts.push(htmlTable("steps", [
            { head: "op", cell: (s) => esc(s.op) },
            { head: "type", cell: (s) => esc(s.type) },
            { head: "name", cell: (s) => esc(s.name) },
            { head: "detail", cell: (s) => esc(s.detail ?? "") },
        ], r.steps, () => false));
    }

    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(headline(r))} - azure-to-heroku-pg</title>
<style>${CSS}</style>
</head>
<body>
${parts.join("\n")}
</body>
</html>
`;
}
