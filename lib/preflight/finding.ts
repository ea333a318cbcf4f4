/**
 * A preflight finding: what it says, how severe it is, the key `acknowledge` names it by, and the
 * order findings are shown in (blocking first, then warnings, then info; the rules' order within).
 */

export type FindingLevel = "blocking" | "warning" | "info";

export interface Finding {
    level: FindingLevel;
    /** Stable identifier, e.g. `extension_unsupported`; with `subject` it is what `acknowledge` names. */
    code: string;
    /** What the finding is about when a code can occur more than once (an extension, a trigger, ...). */
    subject?: string;
    message: string;
    /** What to do about it. */
    action: string;
    /** Set when an `acknowledge` entry turned this blocking finding into a warning. */
    acknowledged?: { entry: string; reason: string };
}

/** The `acknowledge` key for a finding: "code" or "code:subject". */
export function findingKey(f: Pick<Finding, "code" | "subject">): string {
    return f.subject !== undefined ? `${f.code}:${f.subject}` : f.code;
}

const LEVEL_ORDER: FindingLevel[] = ["blocking", "warning", "info"];

/** Blocking first, then warnings, then info; a stable sort, so each level keeps the rules' order. */
export function sortFindings(findings: Finding[]): Finding[] {
    return findings
        .map((f, i) => ({ f, i }))
        .sort((a, b) => LEVEL_ORDER.indexOf(a.f.level) - LEVEL_ORDER.indexOf(b.f.level) || a.i - b.i)
        .map((x) => x.f);
}
