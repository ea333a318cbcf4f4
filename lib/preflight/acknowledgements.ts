/**
 * Acknowledgements: the `acknowledge` config key ("code[:subject]=reason") turns a blocking
 * finding into a warning that shows the reason. Every other blocking finding names the exact entry
 * that would acknowledge it, and entries that match nothing are warned about.
 */
import type { AcknowledgeEntry } from "../config";
import { findingKey, type Finding } from "./finding";

/**
 * Applies `acknowledge` entries: a matching blocking finding becomes a warning that shows the
 * reason; every other blocking finding names the exact entry that would acknowledge it; entries
 * that match no blocking finding are warned about (they are stale or mistyped).
 */
export function applyAcknowledgements(findings: Finding[], acks: AcknowledgeEntry[]): Finding[] {
    const used = new Set<AcknowledgeEntry>();
    let next = acks.length;
    const out = findings.map((f): Finding => {
        if (f.level !== "blocking") return f;
        const ack = acks.find((a) => a.code === f.code && (a.subject ?? undefined) === f.subject);
        if (ack) {
            used.add(ack);
            return { ...f, level: "warning", acknowledged: { entry: ack.entry, reason: ack.reason }, action: `Acknowledged ("${ack.reason}"), so it does not stop the migration. ${f.action}` };
        }
        const entry = `${findingKey(f)}=<why it is safe>`;
        return { ...f, action: `${f.action} To go ahead anyway: \`pulumi config set --path 'acknowledge[${next++}]' '${entry}'\`.` };
    });
    for (const a of acks) {
        if (used.has(a)) continue;
        out.push({
            level: "warning",
            code: "acknowledge_unused",
            subject: a.entry,
            message: `acknowledge entry "${a.entry}" matches no blocking finding.`,
            action: `Remove it (pulumi config set --path 'acknowledge[${acks.indexOf(a)}]' ...), or fix the code/subject to the one a blocking finding names.`,
        });
    }
    return out;
}
