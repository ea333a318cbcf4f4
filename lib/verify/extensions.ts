/**
 * Extensions: name, version and schema on both sides, from the schema snapshots. Only an
 * extension missing on the target fails; a different version (a restore creates the target
 * server's default version), a different schema, or one the platform installed on its own are
 * reported as notes.
 */
import type { SchemaSnapshot } from "./schema";

export interface ExtensionCheck {
    name: string;
    source: { version: string; schema: string } | null;
    target: { version: string; schema: string } | null;
    /** false only when the extension is missing on the target (fails); other differences are reported. */
    match: boolean;
    note?: string;
}

export function compareExtensions(source: SchemaSnapshot["extensions"], target: SchemaSnapshot["extensions"]): ExtensionCheck[] {
    const a = new Map(source.map((e) => [e.name, e] as const));
    const b = new Map(target.map((e) => [e.name, e] as const));
    return [...new Set([...a.keys(), ...b.keys()])].sort().map((name) => {
        const x = a.get(name);
        const y = b.get(name);
        const check: ExtensionCheck = { name, source: x ? { version: x.version, schema: x.schema } : null, target: y ? { version: y.version, schema: y.schema } : null, match: !x || !!y };
        if (x && !y) check.note = "missing on the target";
        else if (!x && y) check.note = "only on the target (installed by the platform)";
        else if (x && y && x.version !== y.version) check.note = `version ${x.version} on the source, ${y.version} on the target (a restore creates the target server's default version)`;
        else if (x && y && x.schema !== y.schema) check.note = `in schema ${x.schema} on the source, ${y.schema} on the target`;
        return check;
    });
}

export function describeMissingExtension(e: ExtensionCheck): string {
    return `extension ${e.name} ${e.source?.version ?? ""} is missing on the target`.replace(/ {2}/g, " ");
}
