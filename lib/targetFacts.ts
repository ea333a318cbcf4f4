/**
 * What the new Heroku database will accept, asked of the database itself: its PostgreSQL
 * version, its extension allow-list (`extwlist.extensions`, or `rds.allowed_extensions` on
 * Essential plans, as `heroku pg:extensions` reads it) and its available extensions; and the
 * pure judgement of a restore's extensions against them (providers/targetCheck.ts runs both
 * before the freeze).
 */
import { majorVersion, parseDatabaseUrl, withClient } from "./pg";

/** The settings a Heroku Postgres database keeps its extension allow-list in, in the order tried. */
export const ALLOW_LIST_SETTINGS = ["extwlist.extensions", "rds.allowed_extensions"] as const;

export interface TargetFacts {
    versionNum: number;
    versionText: string;
    /** The setting the allow-list came from, and its entries; undefined when neither setting exists. */
    allowList?: { setting: string; names: string[] };
    available: string[];
}

export interface TargetAssessment {
    /** Extensions the restore needs that the target will not create, with why. */
    refused: { name: string; why: string }[];
    /** A warning line when the target's major is older than the source's. */
    versionWarning?: string;
    targetMajor: number;
}

/** The extension name of a restore entry (`schema.name` or `name`). */
export function bareName(entry: string): string {
    const dot = entry.indexOf(".");
    return (dot >= 0 ? entry.slice(dot + 1) : entry).trim().toLowerCase();
}

/**
 * Pure: which of the restore's extensions the target refuses. An allow-list of "*" (RDS's
 * "everything available") restricts nothing beyond pg_available_extensions.
 */
export function assessTarget(facts: TargetFacts, extensions: string[], sourceMajor: number): TargetAssessment {
    const available = new Set(facts.available.map((n) => n.toLowerCase()));
    const listed = facts.allowList ? new Set(facts.allowList.names.map((n) => n.trim().toLowerCase()).filter((n) => n !== "")) : undefined;
    const everything = listed?.has("*") ?? false;
    const refused: { name: string; why: string }[] = [];
    for (const name of [...new Set(extensions.map(bareName))]) {
        if (name === "plpgsql") continue; // always there
        if (facts.allowList && !everything && !listed!.has(name)) refused.push({ name, why: `not in its ${facts.allowList.setting}` });
        else if (!available.has(name)) refused.push({ name, why: "not installed on its server (pg_available_extensions)" });
    }
    const targetMajor = majorVersion(facts.versionNum);
    const versionWarning = targetMajor < sourceMajor
        ? `the Heroku database runs PostgreSQL ${facts.versionText}, older than the source's ${sourceMajor}: objects or syntax new in ${sourceMajor} may fail to restore (the restore log and verification will show it). Heroku chooses the version of a new database; ask Heroku support for a newer one if the restore fails.`
        : undefined;
    return { refused, versionWarning, targetMajor };
}

/** Reads the target's version, allow-list and available extensions (read-only). */
export async function readTargetFacts(databaseUrl: string): Promise<TargetFacts> {
    return withClient(parseDatabaseUrl(databaseUrl, "DATABASE_URL"), async (c) => {
        const v = await c.query<{ num: string; text: string }>("SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS text");
        let allowList: TargetFacts["allowList"];
        for (const setting of ALLOW_LIST_SETTINGS) {
            const r = await c.query<{ value: string | null }>("SELECT current_setting($1, true) AS value", [setting]);
            const value = r.rows[0]?.value;
            if (value !== null && value !== undefined && value !== "") {
                allowList = { setting, names: value.split(",").map((n) => n.trim()).filter((n) => n !== "") };
                break;
            }
        }
        const a = await c.query<{ name: string }>("SELECT name FROM pg_available_extensions ORDER BY name");
        return { versionNum: Number(v.rows[0].num), versionText: v.rows[0].text.split(" ")[0], allowList, available: a.rows.map((r) => r.name) };
    });
}
