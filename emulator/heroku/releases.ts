/**
 * Releases, as Heroku makes them: a new app gets v1 "Initial release" and v2 "Enable Logplex";
 * every change of config vars ("Set FOO, BAR config vars", "Remove FOO config vars") and of add-on
 * attachments ("Attach DATABASE (@ref:postgresql-...)", "Update DATABASE by heroku-postgresql"
 * when the add-on finishes provisioning, "Detach DATABASE (@ref:...)") makes the next version,
 * with a copy of the config vars. Maintenance mode and scaling make none (as on Heroku).
 *
 * Routes, as the Heroku CLI calls them (heroku/dist/commands/releases, lib/releases/releases.js,
 * commands/config/set.js): `GET /apps/{app}/releases` with `Range: version ..; max=N, order=desc`
 * (Accept `version=3.sdk`), `GET /apps/{app}/releases/{id or version}`,
 * `GET /apps/{app}/releases/{version}/config-vars`, and `POST /apps/{app}/releases {release}`
 * (rollback: "Rollback to vN", the config vars of vN).
 */
import type { EmulatorCore } from "./core";
import type { Route } from "./router";
import type { AppRecord, ReleaseRecord } from "./state";
import { invalidParams, isUuid, notFound, parseRange, platformTime, rangeList, uuid } from "./util";

export function recordRelease(core: EmulatorCore, app: AppRecord, description: string): ReleaseRecord {
    const mine = core.state.releases.filter((r) => r.app_id === app.id);
    const version = mine.reduce((n, r) => Math.max(n, r.version), 0) + 1;
    const now = platformTime();
    const addonIds = new Set(core.state.attachments.filter((t) => t.app_id === app.id).map((t) => t.addon_id));
    const release: ReleaseRecord = {
        id: uuid(),
        app_id: app.id,
        version,
        description,
        status: "succeeded",
        created_at: now,
        updated_at: now,
        config: { ...core.configVars(app.id) },
        addon_plan_names: core.state.addons.filter((a) => addonIds.has(a.id)).map((a) => a.plan_name).sort(),
    };
    core.state.releases.push(release);
    app.released_at = now;
    return release;
}

/** "Set FOO, BAR config vars" / "Remove FOO config vars", as Heroku describes a config change. */
export function configChangeDescription(set: string[], removed: string[]): string {
    const parts: string[] = [];
    if (set.length > 0) parts.push(`Set ${set.join(", ")}`);
    if (removed.length > 0) parts.push(`${parts.length ? "remove" : "Remove"} ${removed.join(", ")}`);
    return `${parts.join(" and ")} config vars`;
}

function findRelease(core: EmulatorCore, app: AppRecord, ref: string): ReleaseRecord {
    const id = ref.toLowerCase().replace(/^v(?=\d+$)/, "");
    const r = core.state.releases.find((x) => x.app_id === app.id && (isUuid(id) ? x.id === id : /^\d+$/.test(id) && x.version === Number(id)));
    if (!r) throw notFound("Couldn't find that release.", "release");
    return r;
}

export function releaseJson(core: EmulatorCore, r: ReleaseRecord): Record<string, unknown> {
    const mine = core.state.releases.filter((x) => x.app_id === r.app_id && x.status === "succeeded");
    const current = mine.reduce((n, x) => Math.max(n, x.version), 0);
    return {
        addon_plan_names: r.addon_plan_names,
        app: core.appRef(r.app_id),
        created_at: r.created_at,
        current: r.version === current,
        description: r.description,
        eligible_for_rollback: r.status === "succeeded",
        id: r.id,
        output_stream_url: null,
        slug: null,
        status: r.status,
        updated_at: r.updated_at,
        user: { email: core.state.account.email, id: core.state.account.id },
        version: r.version,
    };
}

export function releaseRoutes(core: EmulatorCore): Route[] {
    return [
        {
            method: "GET",
            path: "/apps/:app/releases",
            handler: ({ params, headers }) => {
                const app = core.findApp(params.app);
                const range = parseRange(headers.range, ["version", "id"]);
                const list = core.state.releases.filter((r) => r.app_id === app.id);
                const page = rangeList(list, range, (r) => (range.field === "id" ? r.id : r.version));
                return { ...page, body: page.body.map((r) => releaseJson(core, r)) };
            },
        },
        {
            method: "GET",
            path: "/apps/:app/releases/:release",
            handler: ({ params }) => ({ status: 200, body: releaseJson(core, findRelease(core, core.findApp(params.app), params.release)) }),
        },
        {
            method: "GET",
            path: "/apps/:app/releases/:release/config-vars",
            handler: ({ params }) => ({ status: 200, body: { ...findRelease(core, core.findApp(params.app), params.release).config } }),
        },
        {
            method: "POST",
            path: "/apps/:app/releases",
            handler: ({ params, body }) => {
                const app = core.findApp(params.app);
                if (typeof body.release !== "string") throw invalidParams("Missing required params: release.");
                const target = findRelease(core, app, body.release);
                const owned = core.attachmentVarNames(app.id);
                const vars = core.configVars(app.id);
                // add-on config vars stay as they are; the user's vars go back to the target's
                for (const k of Object.keys(vars)) if (!owned.has(k)) delete vars[k];
                for (const [k, v] of Object.entries(target.config)) if (!owned.has(k)) vars[k] = v;
                const r = recordRelease(core, app, `Rollback to v${target.version}`);
                core.save();
                return { status: 201, body: releaseJson(core, r) };
            },
        },
    ];
}
