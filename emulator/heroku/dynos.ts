/**
 * What `heroku apps`, `apps:info` and `ps` / `ps:restart` / `ps:stop` read besides apps and
 * formation (heroku/dist/commands/apps/index.js, apps/info.js, ps/*.js):
 *
 * - `GET /users/~/apps` (the caller's apps), `GET /apps/{app}/collaborators` (the owner only),
 *   `GET /apps/{app}/pipeline-couplings` (404 `not_found`: no app here is in a pipeline);
 * - dynos: the emulator runs no code, so an app's dynos are what its formation says would be
 *   running (`web.1`..`web.N`, state `up`), on the app's current release. A restart (`DELETE
 *   /apps/{app}/dynos[/{dyno}]`, `/apps/{app}/formations/{type}`) or stop (`POST
 *   /apps/{app}/dynos/{dyno}/actions/stop`) starts those dynos again, as Heroku's platform would:
 *   their `updated_at` moves.
 */
import type { EmulatorCore } from "./core";
import type { Route } from "./router";
import type { AppRecord, FormationRecord } from "./state";
import { notFound, platformTime, stableUuid } from "./util";

interface Dyno {
    f: FormationRecord;
    n: number;
}

function dynosOf(core: EmulatorCore, app: AppRecord): Dyno[] {
    const out: Dyno[] = [];
    for (const f of core.state.formation.filter((x) => x.app_id === app.id)) for (let n = 1; n <= f.quantity; n++) out.push({ f, n });
    return out;
}

function dynoJson(core: EmulatorCore, app: AppRecord, d: Dyno): Record<string, unknown> {
    const releases = core.state.releases.filter((r) => r.app_id === app.id);
    const current = releases.reduce<(typeof releases)[number] | undefined>((best, r) => (!best || r.version > best.version ? r : best), undefined);
    const restarted = d.f.restarted_at && d.f.restarted_at > d.f.updated_at ? d.f.restarted_at : d.f.updated_at;
    return {
        attach_url: null,
        app: { id: app.id, name: app.name },
        command: d.f.command,
        created_at: restarted,
        id: stableUuid(`dyno:${d.f.id}:${d.n}`),
        name: `${d.f.type}.${d.n}`,
        release: current ? { id: current.id, version: current.version } : null,
        size: d.f.size,
        state: "up",
        type: d.f.type,
        updated_at: restarted,
    };
}

function findDynos(core: EmulatorCore, app: AppRecord, ref: string): Dyno[] {
    const all = dynosOf(core, app);
    const found = all.filter((d) => `${d.f.type}.${d.n}` === ref || stableUuid(`dyno:${d.f.id}:${d.n}`) === ref);
    if (found.length === 0) throw notFound("Couldn't find that dyno.", "dyno");
    return found;
}

function restart(core: EmulatorCore, formations: FormationRecord[]): void {
    const now = platformTime();
    for (const f of formations) f.restarted_at = now;
    core.save();
}

export function dynoRoutes(core: EmulatorCore): Route[] {
    const ownerCollaborator = (app: AppRecord) => ({
        app: { id: app.id, name: app.name },
        created_at: app.created_at,
        id: stableUuid(`collaborator:${app.id}`),
        permissions: [],
        role: "owner",
        updated_at: app.created_at,
        user: { email: core.state.account.email, federated: false, id: core.state.account.id },
    });
    return [
        { method: "GET", path: "/users/:user/apps", handler: ({ params }) => {
            const a = core.state.account;
            if (params.user !== "~" && params.user !== a.id && params.user !== a.email) throw notFound("Couldn't find that user.", "user");
            return { status: 200, body: core.state.apps.map((x) => core.appJson(x)) };
        } },
        { method: "GET", path: "/apps/:app/collaborators", handler: ({ params }) => ({ status: 200, body: [ownerCollaborator(core.findApp(params.app))] }) },
        {
            method: "GET",
            path: "/apps/:app/pipeline-couplings",
            handler: ({ params }) => {
                core.findApp(params.app);
                throw notFound("Couldn't find that pipeline coupling.", "pipeline_coupling");
            },
        },
        {
            method: "GET",
            path: "/apps/:app/dynos",
            handler: ({ params }) => {
                const app = core.findApp(params.app);
                return { status: 200, body: dynosOf(core, app).map((d) => dynoJson(core, app, d)) };
            },
        },
        {
            method: "GET",
            path: "/apps/:app/dynos/:dyno",
            handler: ({ params }) => {
                const app = core.findApp(params.app);
                return { status: 200, body: dynoJson(core, app, findDynos(core, app, params.dyno)[0]) };
            },
        },
        {
            method: "DELETE",
            path: "/apps/:app/dynos",
            handler: ({ params }) => {
                const app = core.findApp(params.app);
                restart(core, core.state.formation.filter((f) => f.app_id === app.id));
                return { status: 202, body: {} };
            },
        },
        {
            method: "DELETE",
            path: "/apps/:app/dynos/:dyno",
            handler: ({ params }) => {
                const app = core.findApp(params.app);
                restart(core, findDynos(core, app, params.dyno).map((d) => d.f));
                return { status: 202, body: {} };
            },
        },
        {
            method: "DELETE",
            path: "/apps/:app/formations/:type",
            handler: ({ params }) => {
                const app = core.findApp(params.app);
                const fs = core.state.formation.filter((f) => f.app_id === app.id && f.type === params.type);
                if (fs.length === 0) throw notFound(`Couldn't find that process type (${params.type}).`, "formation");
                restart(core, fs);
                return { status: 202, body: {} };
            },
        },
        {
            method: "POST",
            path: "/apps/:app/dynos/:dyno/actions/stop",
            handler: ({ params }) => {
                const app = core.findApp(params.app);
                restart(core, findDynos(core, app, params.dyno).map((d) => d.f));
                return { status: 202, body: {} };
            },
        },
    ];
}
