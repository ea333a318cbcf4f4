/**
 * How a preflight plan is shown: one log line per finding (preview and up), preflight.md for
 * people, and preflight.json (also the stack output `preflight`), plain JSON with no credentials.
 */
import { HEROKU_EXTENSIONS_SOURCE } from "../extensions";
import { formatBytes, formatDuration } from "../progress";
import { findingKey, sortFindings, type Finding, type FindingLevel } from "./finding";
import type { PreflightPlan } from "./plan";
import { plural } from "./text";

/** One line per finding, blocking first: `BLOCKING code[:subject]: message action`. */
export function formatFindings(findings: Finding[]): string[] {
    return sortFindings(findings).map((f) => {
        const ack = f.acknowledged ? ` (acknowledged: ${f.acknowledged.reason})` : "";
        return `${f.level.toUpperCase()} ${findingKey(f)}${ack}: ${f.message}${f.action ? ` ${f.action}` : ""}`;
    });
}

function mdEscape(s: string): string {
    return s.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** preflight.md: the plan for people, findings first. */
export function renderPreflightMarkdown(p: PreflightPlan): string {
    const lines: string[] = [];
    const verdict = p.counts.blocking > 0
        ? `**Not ready: ${plural(p.counts.blocking, "blocking finding")}.** \`pulumi up\` stops before anything is created or frozen.`
        : `**Ready to migrate** (${plural(p.counts.warning, "warning")}).`;
    lines.push(`# Preflight: ${p.source.database} on ${p.source.host}:${p.source.port} -> Heroku Postgres ${p.target.plan}`, "");
    lines.push(verdict, "", `Generated ${p.generatedAt} as ${p.source.user}${p.source.superuser ? " (superuser)" : ""}. Nothing on the source was changed.`, "");
    const groups: Array<[FindingLevel, string]> = [["blocking", "Blocking"], ["warning", "Warnings"], ["info", "Info"]];
    for (const [level, title] of groups) {
        const fs = p.findings.filter((f) => f.level === level);
        if (fs.length === 0) continue;
        lines.push(`## ${title}`, "");
        for (const f of fs) {
            lines.push(`- **${findingKey(f)}**${f.acknowledged ? ` _(acknowledged: ${f.acknowledged.reason})_` : ""}: ${f.message}`);
            if (f.action) lines.push(`  - What to do: ${f.action}`);
        }
        lines.push("");
    }
    const e = p.estimate;
    lines.push("## Write freeze", "", p.freeze.what, "");
    lines.push("| phase | estimate |", "| --- | --- |");
    lines.push(`| dump + upload (streamed, compression ${e.compression}, about ${formatBytes(e.archiveBytes)}: dump ${formatDuration(e.dumpSeconds * 1000)}, upload ${formatDuration(e.uploadSeconds * 1000)}, the slower counts) | ${formatDuration(e.dumpUploadSeconds * 1000)} |`);
    lines.push(`| restore (pg_restore) | ${formatDuration(e.restoreSeconds * 1000)} |`);
    lines.push(`| Heroku's own overhead, not measured here (assumed) | ${formatDuration(e.herokuOverheadSeconds * 1000)} |`);
    lines.push(`| verification | ${formatDuration(e.verifySeconds * 1000)} |`);
    lines.push(`| cutover | ${formatDuration(e.cutoverSeconds * 1000)} |`);
    lines.push(`| **total** | **${formatDuration(e.totalSeconds * 1000)}** |`, "");
    lines.push("Assumptions:", "", ...e.assumptions.map((a) => `- ${a}`), "");
    lines.push("## Size", "");
    lines.push(`Target: Heroku Postgres ${p.target.plan} (${p.target.planStorageBytes === null ? "unknown storage" : formatBytes(p.target.planStorageBytes)}), PostgreSQL ${p.target.postgresMajor}${p.target.suggestedPlan ? `; smallest plan that fits: ${p.target.suggestedPlan}` : ""}. Source PostgreSQL ${p.serverVersion}, pg_dump ${p.pgDumpVersion}.`, "");
    lines.push("| database | owner | size |", "| --- | --- | --- |");
    for (const d of p.databases) lines.push(`| ${mdEscape(d.name)}${d.name === p.source.database ? " (migrated)" : ""} | ${mdEscape(d.owner)} | ${d.bytes === null ? "no access" : formatBytes(d.bytes)} |`);
    lines.push("");
    lines.push(`${p.source.database}: tables ${formatBytes(p.size.tableBytes)}, TOAST ${formatBytes(p.size.toastBytes)}, indexes ${formatBytes(p.size.indexBytes)}, ${plural(p.size.largeObjects.count, "large object")} (${formatBytes(p.size.largeObjects.bytes)}).`, "");
    if (p.size.largestTables.length) {
        lines.push("| largest tables | rows (est.) | table | TOAST | indexes | total |", "| --- | ---: | ---: | ---: | ---: | ---: |");
        for (const t of p.size.largestTables) {
            lines.push(`| ${mdEscape(`${t.schema}.${t.name}`)} | ${t.rows} | ${formatBytes(t.heapBytes)} | ${formatBytes(t.toastBytes)} | ${formatBytes(t.indexBytes)} | ${formatBytes(t.totalBytes)} |`);
        }
        lines.push("");
    }
    if (p.extensionReport.length) {
        lines.push("## Extensions", "", "| extension | version | schema | status | note |", "| --- | --- | --- | --- | --- |");
        for (const x of p.extensionReport) lines.push(`| ${mdEscape(x.name)} | ${mdEscape(x.version)} | ${mdEscape(x.schema)} | ${x.status} | ${mdEscape(x.note)}${x.dependents.length ? ` Depends on it: ${mdEscape(x.dependents.join(", "))}.` : ""} |`);
        lines.push("", `Restore asks Heroku for: ${p.extensions.map((x) => x.name).join(", ") || "(none)"}. Source of the supported list: ${HEROKU_EXTENSIONS_SOURCE}.`, "");
    }
    return lines.join("\n");
}

/** preflight.json / the stack output: the whole plan, plain JSON (no credentials in it). */
export function preflightJson(p: PreflightPlan): string {
    return JSON.stringify(p, null, 2) + "\n";
}
