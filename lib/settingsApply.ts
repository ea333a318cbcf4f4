/**
 * Applies the settings plan (lib/settings.ts) on the new Heroku database: the `database` group
 * with `ALTER DATABASE <db> SET` / `ALTER ROLE CURRENT_USER SET` as Heroku's credential, the
 * `heroku` group through the Data API as `heroku pg:settings` does. Each value is first set in
 * the session with set_config (which parses it exactly as postgresql.conf would, lists such as
 * search_path included) and then stored with `SET ... FROM CURRENT`, so no value is re-quoted.
 */
import type { Client } from "pg";
import { MigrationError, errorMessage } from "./errors";
import { parseDatabaseUrl, withClient } from "./pg";
import * as heroku from "./heroku";
import type { PlannedSetting } from "./settings";

export interface AppliedSetting {
    name: string;
    value: string;
    /** `ALTER DATABASE`, `ALTER ROLE`, or the `heroku pg:settings:...` command. */
    via: string;
    /** What the new database reports afterwards (SHOW in a new session; for Heroku's: the API's value). */
    result: string;
}

function ident(name: string): string {
    return name.split(".").map((p) => `"${p.replace(/"/g, '""')}"`).join(".");
}

async function applyOne(c: Client, database: string, s: PlannedSetting): Promise<void> {
    await c.query("BEGIN");
    try {
        await c.query("SELECT pg_catalog.set_config($1, $2, true)", [s.name, s.value]);
        await c.query(`ALTER ${s.scope === "role" ? "ROLE CURRENT_USER" : `DATABASE ${ident(database)}`} SET ${ident(s.name)} FROM CURRENT`);
        await c.query("COMMIT");
    } catch (err) {
        await c.query("ROLLBACK").catch(() => undefined);
        throw err;
    }
}

/**
 * The `database` group, as the URL's user on the URL's database. A setting the source's database
 * or login set explicitly (or settingsOverride asked for) that the new database refuses throws,
 * naming it; a server parameter it refuses (e.g. a locale its server does not have) is left out
 * and returned in `refused` (not required by verification, reported).
 */
export async function applyDatabaseSettings(databaseUrl: string, planned: PlannedSetting[]): Promise<AppliedSetting[] & { refused?: { name: string; value: string; error: string }[] }> {
    const conn = parseDatabaseUrl(databaseUrl, "DATABASE_URL");
    const refused: { name: string; value: string; error: string }[] = [];
    await withClient(conn, async (c) => {
        for (const s of planned) {
            try {
                await applyOne(c, conn.database, s);
            } catch (err) {
                if (s.origin === "server") {
                    refused.push({ name: s.name, value: s.value, error: errorMessage(err) });
                    continue;
                }
                throw new MigrationError("ApplySettings", `could not set ${s.name}=${s.value} on the new database (${s.scope === "role" ? "ALTER ROLE CURRENT_USER" : "ALTER DATABASE"} SET): ${errorMessage(err)}.`,
                    `Leave it out with \`pulumi config set --path 'settingsSkip[0]' ${s.name}\`, or give a value the new database accepts with settingsOverride ('${s.name}=<value>'), then \`pulumi up\` again.`);
            }
        }
    });
    const done = planned.filter((s) => !refused.some((r) => r.name === s.name));
    // What a new session gets: the values verification will compare.
    const shown = await withClient(conn, async (c) => {
        const out: Record<string, string> = {};
        for (const s of done) out[s.name] = (await c.query<{ v: string }>("SELECT pg_catalog.current_setting($1, true) AS v", [s.name])).rows[0]?.v ?? "";
        return out;
    });
    const applied: AppliedSetting[] & { refused?: typeof refused } = done.map((s) => ({ name: s.name, value: s.value, via: s.scope === "role" ? "ALTER ROLE" : "ALTER DATABASE", result: shown[s.name] }));
    if (refused.length > 0) applied.refused = refused;
    return applied;
}

/** The `heroku` group: one PATCH /postgres/v0/databases/{addonId}/config with every key. */
export async function applyHerokuSettings(ep: heroku.HerokuEndpoints, addonId: string, addonName: string, planned: PlannedSetting[]): Promise<AppliedSetting[]> {
    if (planned.length === 0) return [];
    const body = Object.fromEntries(planned.map((s) => [s.heroku!.key, s.heroku!.value]));
    let answer: Record<string, heroku.HerokuPgSetting>;
    try {
        answer = await heroku.updatePgSettings(ep, addonId, body);
    } catch (err) {
        throw new MigrationError("ApplySettings", `Heroku refused the settings ${planned.map((s) => `${s.heroku!.key}=${String(s.heroku!.value)}`).join(", ")} for ${addonName} (PATCH /postgres/v0/databases/{id}/config, as heroku pg:settings): ${errorMessage(err)}.`,
            `Check with \`heroku pg:settings -a <app>\`; leave a setting out with settingsSkip, then \`pulumi up\` again.`);
    }
    return planned.map((s) => ({ name: s.name, value: s.value, via: s.heroku!.command, result: String(answer[s.heroku!.key]?.value ?? "") }));
}
