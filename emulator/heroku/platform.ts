/**
 * The Platform API subset (https://devcenter.heroku.com/articles/platform-api-reference) that
 * our Heroku client and the Heroku CLI commands of test/conformance.test.ts use (apps, addons,
 * config, maintenance, ps:scale/ps:type); releases.ts and dynos.ts hold the rest.
 */
import type { EmulatorCore } from "./core";
import type { Route } from "./router";
import type { AddonRecord, AppRecord, AttachmentRecord, FormationRecord } from "./state";
import { ADDON_SERVICE, findEmulatedPlan } from "./plans";
import { databaseUrl } from "./db";
import { configChangeDescription, recordRelease } from "./releases";
import { ApiError, POSTGRES_COLORS, dataTime, generatedAddonName, generatedAppName, invalidParams, notFound, platformTime, randomHex, uuid } from "./util";

const APP_NAME_RULE = "Name must start with a letter, end with a letter or digit and can only contain lowercase letters, digits, and dashes.";

function validateAppName(core: EmulatorCore, name: unknown, except?: AppRecord): string {
    if (typeof name !== "string" || name.length === 0) throw invalidParams(APP_NAME_RULE);
    if (name.length > 30) throw invalidParams("Name is too long (maximum is 30 characters)");
    if (name.length < 3) throw invalidParams("Name is too short (minimum is 3 characters)");
    if (!/^[a-z][a-z0-9-]*[a-z0-9]$/.test(name)) throw invalidParams(APP_NAME_RULE);
    if (core.state.apps.some((a) => a.name === name && a !== except)) throw invalidParams("Name is already taken");
    return name;
}

function planNameOf(body: Record<string, unknown>): string {
    const plan = body.plan;
    if (typeof plan === "string") return plan;
    if (plan && typeof plan === "object") {
        const p = plan as { name?: unknown; id?: unknown };
        if (typeof p.name === "string") return p.name;
        if (typeof p.id === "string") return p.id;
    }
    throw invalidParams("Missing required params: plan.");
}

function defaultAttachmentName(core: EmulatorCore, app: AppRecord): string {
    const taken = new Set(core.state.attachments.filter((t) => t.app_id === app.id).map((t) => t.name));
    if (!taken.has("DATABASE") && !("DATABASE_URL" in core.configVars(app.id))) return "DATABASE";
    const free = POSTGRES_COLORS.filter((c) => !taken.has(`HEROKU_POSTGRESQL_${c}`));
    const color = free.length > 0 ? free[Math.floor(Math.random() * free.length)] : `${POSTGRES_COLORS[0]}_${randomHex(2).toUpperCase()}`;
    return `HEROKU_POSTGRESQL_${color}`;
}

function validateAttachmentName(core: EmulatorCore, app: AppRecord, raw: unknown): string {
    if (typeof raw !== "string" || !/^[A-Za-z][A-Za-z0-9_]*$/.test(raw)) {
        throw invalidParams("Attachment name must start with a letter and can only contain letters, digits, and underscores.");
    }
    const name = raw.toUpperCase();
    if (core.state.attachments.some((t) => t.app_id === app.id && t.name === name)) {
        throw invalidParams(`Attachment name ${name} is already used by another add-on attachment on ${app.name}; choose another name.`);
    }
    return name;
}

function newAttachment(core: EmulatorCore, addon: AddonRecord, app: AppRecord, name: string): AttachmentRecord {
    const now = platformTime();
    const att: AttachmentRecord = { id: uuid(), name, addon_id: addon.id, app_id: app.id, created_at: now, updated_at: now };
    core.state.attachments.push(att);
    if (addon.state === "provisioned" && addon.db) core.configVars(app.id)[`${name}_URL`] = databaseUrl(addon.db);
    return att;
}

function findAttachment(core: EmulatorCore, idOrName: string, app?: AppRecord): AttachmentRecord {
    const att = core.state.attachments.find(
        (t) => (t.id === idOrName || (app && t.name === idOrName.toUpperCase())) && (!app || t.app_id === app.id),
    );
    if (!att) throw notFound("Couldn't find that add on attachment.", "addon_attachment");
    return att;
}

/** What `POST /actions/addon-attachments/resolve` matches: attachment id, name, `<NAME>_URL`, or the add-on's id/name. */
function resolveAttachments(core: EmulatorCore, app: AppRecord | undefined, ref: string): AttachmentRecord[] {
    const upper = ref.toUpperCase();
    const scope = core.state.attachments.filter((t) => !app || t.app_id === app.id);
    const byAttachment = scope.filter((t) => t.id === ref || t.name === upper || `${t.name}_URL` === upper);
    if (byAttachment.length > 0) return byAttachment;
    const addon = core.state.addons.find((a) => a.id === ref || a.name === ref);
    return addon ? scope.filter((t) => t.addon_id === addon.id) : [];
}

export function platformRoutes(core: EmulatorCore): Route[] {
    const save = () => core.save();
    return [
        {
            method: "GET",
            path: "/account",
            handler: () => {
                const a = core.state.account;
                return {
                    status: 200,
                    body: {
                        allow_tracking: false,
                        beta: false,
                        created_at: a.created_at,
                        default_organization: null,
                        default_team: null,
                        delinquent_at: null,
                        email: a.email,
                        federated: false,
                        id: a.id,
                        identity_provider: null,
                        last_login: platformTime(),
                        name: a.name,
                        sms_number: null,
                        suspended_at: null,
                        two_factor_authentication: false,
                        updated_at: a.created_at,
                        verified: true,
                    },
                };
            },
        },

        // ---- apps -------------------------------------------------------------------------
        { method: "GET", path: "/apps", handler: () => ({ status: 200, body: core.state.apps.map((a) => core.appJson(a)) }) },
        {
            method: "POST",
            path: "/apps",
            handler: ({ body }) => {
                const name = body.name === undefined || body.name === null ? uniqueGeneratedName(core) : validateAppName(core, body.name);
                const region = body.region === undefined || body.region === null ? "us" : String(body.region);
                if (!["us", "eu"].includes(region)) throw notFound("Couldn't find that region.", "region");
                const stack = body.stack === undefined || body.stack === null ? "heroku-24" : String(body.stack);
                if (!/^heroku-\d\d$|^container$/.test(stack)) throw notFound("Couldn't find that stack.", "stack");
                const now = platformTime();
                const app: AppRecord = {
                    id: uuid(),
                    name,
                    created_at: now,
                    updated_at: now,
                    released_at: now,
                    maintenance: false,
                    region,
                    stack,
                    web_url: `https://${name}-${randomHex(6)}.herokuapp.com/`,
                };
                core.state.apps.push(app);
                core.state.config_vars[app.id] = {};
                recordRelease(core, app, "Initial release");
                recordRelease(core, app, "Enable Logplex");
                save();
                core.log(`app ${name} created`);
                return { status: 201, body: core.appJson(app) };
            },
        },
        { method: "GET", path: "/apps/:app", handler: ({ params }) => ({ status: 200, body: core.appJson(core.findApp(params.app)) }) },
        {
            method: "PATCH",
            path: "/apps/:app",
            handler: ({ params, body }) => {
                const app = core.findApp(params.app);
                if (body.maintenance !== undefined) {
                    if (typeof body.maintenance !== "boolean") throw invalidParams("maintenance must be a boolean.");
                    app.maintenance = body.maintenance;
                }
                if (body.name !== undefined && body.name !== app.name) {
                    app.name = validateAppName(core, body.name, app);
                    app.web_url = `https://${app.name}-${randomHex(6)}.herokuapp.com/`; // the herokuapp.com address follows the name
                }
                if (body.build_stack !== undefined) app.stack = String(body.build_stack);
                app.updated_at = platformTime();
                save();
                return { status: 200, body: core.appJson(app) };
            },
        },
        {
            method: "DELETE",
            path: "/apps/:app",
            handler: async ({ params }) => {
                const app = core.findApp(params.app);
                for (const addon of core.state.addons.filter((a) => a.app_id === app.id)) await core.deprovision(addon);
                const shared = core.state.attachments.filter((t) => t.app_id === app.id);
                core.state.attachments = core.state.attachments.filter((t) => !shared.includes(t));
                core.state.apps = core.state.apps.filter((a) => a !== app);
                delete core.state.config_vars[app.id];
                core.state.releases = core.state.releases.filter((r) => r.app_id !== app.id);
                core.state.formation = core.state.formation.filter((f) => f.app_id !== app.id);
                const now = dataTime();
                for (const t of core.state.transfers.filter((x) => x.app_id === app.id)) {
                    t.deleted_at = t.deleted_at ?? now;
                    if (t.to_type === "gof3r") core.backups?.remove(t.uuid);
                }
                save();
                core.log(`app ${app.name} destroyed`);
                return { status: 200, body: core.appJson(app) };
            },
        },

        // ---- config vars ------------------------------------------------------------------
        { method: "GET", path: "/apps/:app/config-vars", handler: ({ params }) => ({ status: 200, body: { ...core.configVars(core.findApp(params.app).id) } }) },
        {
            method: "PATCH",
            path: "/apps/:app/config-vars",
            handler: ({ params, body }) => {
                const app = core.findApp(params.app);
                const owned = core.attachmentVarNames(app.id);
                const clash = Object.keys(body).filter((k) => owned.has(k));
                if (clash.length > 0) throw invalidParams(`Cannot overwrite attachment values ${clash.join(", ")}.`);
                const vars = core.configVars(app.id);
                for (const [k, v] of Object.entries(body)) {
                    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw invalidParams(`Invalid config var name: ${k}`);
                    if (v !== null && typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") throw invalidParams(`Config var ${k} must be a string.`);
                }
                const set: string[] = [];
                const removed: string[] = [];
                for (const [k, v] of Object.entries(body)) {
                    if (v === null) {
                        delete vars[k];
                        removed.push(k);
                    } else {
                        vars[k] = String(v);
                        set.push(k);
                    }
                }
                if (set.length + removed.length > 0) recordRelease(core, app, configChangeDescription(set, removed));
                save();
                return { status: 200, body: { ...vars } };
            },
        },

        // ---- formation --------------------------------------------------------------------
        {
            method: "GET",
            path: "/apps/:app/formation",
            handler: ({ params }) => {
                const app = core.findApp(params.app);
                return { status: 200, body: core.state.formation.filter((f) => f.app_id === app.id).map((f) => core.formationJson(f)) };
            },
        },
        {
            method: "GET",
            path: "/apps/:app/formation/:type",
            handler: ({ params }) => ({ status: 200, body: core.formationJson(findFormation(core, core.findApp(params.app), params.type)) }),
        },
        {
            method: "PATCH",
            path: "/apps/:app/formation",
            handler: ({ params, body }) => {
                const app = core.findApp(params.app);
                if (!Array.isArray(body.updates)) throw invalidParams("Missing required params: updates.");
                const updates = body.updates as Array<Record<string, unknown>>;
                const targets = updates.map((u) => {
                    if (typeof u.type !== "string") throw invalidParams("Each update needs a process type.");
                    return { f: findFormation(core, app, u.type), u };
                });
                const changed = targets.map(({ f, u }) => applyFormationUpdate(f, u));
                save();
                return { status: 200, body: changed.map((f) => core.formationJson(f)) };
            },
        },
        {
            method: "PATCH",
            path: "/apps/:app/formation/:type",
            handler: ({ params, body }) => {
                const f = applyFormationUpdate(findFormation(core, core.findApp(params.app), params.type), body);
                save();
                return { status: 200, body: core.formationJson(f) };
            },
        },

        // ---- add-ons ----------------------------------------------------------------------
        {
            method: "POST",
            path: "/apps/:app/addons",
            handler: ({ params, body, x }) => {
                const app = core.findApp(params.app);
                const wanted = planNameOf(body);
                const plan = findEmulatedPlan(wanted);
                if (!plan) throw invalidParams(`Couldn't find either the add-on service or the add-on plan of "${wanted}".`);
                let name: string;
                if (body.name !== undefined && body.name !== null) {
                    if (typeof body.name !== "string" || !/^[a-zA-Z][A-Za-z0-9_-]{2,}$/.test(body.name)) {
                        throw invalidParams("Name must start with a letter and can only contain letters, digits, underscores and dashes.");
                    }
                    if (core.state.addons.some((a) => a.name === body.name)) throw invalidParams("Name is already taken");
                    name = body.name;
                } else {
                    do name = generatedAddonName();
                    while (core.state.addons.some((a) => a.name === name));
                }
                const attRaw = (body.attachment as { name?: unknown } | undefined)?.name;
                const attName = attRaw === undefined || attRaw === null ? defaultAttachmentName(core, app) : validateAttachmentName(core, app, attRaw);
                const now = platformTime();
                const addon: AddonRecord = {
                    id: uuid(),
                    name,
                    app_id: app.id,
                    plan_name: plan.name,
                    state: "provisioning",
                    created_at: now,
                    updated_at: now,
                    config: body.config && typeof body.config === "object" ? (body.config as Record<string, unknown>) : {},
                };
                core.state.addons.push(addon);
                newAttachment(core, addon, app, attName);
                recordRelease(core, app, `Attach ${attName} (@ref:${name})`);
                save();
                core.scheduleProvisioning(addon);
                core.log(`add-on ${name} (${plan.name}) created on ${app.name} as ${attName}, provisioning`);
                return { status: 201, body: core.addonJson(addon, x, { provision_message: "Database should be available soon" }) };
            },
        },
        {
            method: "GET",
            path: "/apps/:app/addons",
            handler: ({ params, x }) => {
                const app = core.findApp(params.app);
                const ids = new Set(core.state.attachments.filter((t) => t.app_id === app.id).map((t) => t.addon_id));
                const addons = core.state.addons.filter((a) => a.app_id === app.id || ids.has(a.id));
                return { status: 200, body: addons.map((a) => core.addonJson(a, x)) };
            },
        },
        {
            method: "GET",
            path: "/apps/:app/addons/:addon",
            handler: ({ params, x }) => {
                const app = core.findApp(params.app);
                return { status: 200, body: core.addonJson(core.findAddon(params.addon, app), x) };
            },
        },
        {
            method: "DELETE",
            path: "/apps/:app/addons/:addon",
            handler: async ({ params, x }) => {
                const app = core.findApp(params.app);
                const addon = core.findAddon(params.addon, app);
                if (addon.app_id !== app.id) {
                    throw new ApiError(422, "invalid_params", `${addon.name} is billed to another app; destroy it from that app or detach it instead.`);
                }
                const body = core.addonJson(addon, x);
                await core.deprovision(addon);
                return { status: 200, body: { ...body, state: "deprovisioned", config_vars: [] } };
            },
        },
        { method: "GET", path: "/addons", handler: ({ x }) => ({ status: 200, body: core.state.addons.map((a) => core.addonJson(a, x)) }) },
        { method: "GET", path: "/addons/:addon", handler: ({ params, x }) => ({ status: 200, body: core.addonJson(core.findAddon(params.addon), x) }) },
        {
            method: "POST",
            path: "/actions/addons/resolve",
            handler: ({ body, x }) => {
                if (typeof body.addon !== "string") throw invalidParams("Missing required params: addon.");
                const app = typeof body.app === "string" && body.app ? core.findApp(body.app) : undefined;
                const addon = core.findAddon(body.addon, app);
                if (typeof body.addon_service === "string" && body.addon_service !== ADDON_SERVICE) throw notFound("Couldn't find that add on.", "addon");
                return { status: 200, body: [core.addonJson(addon, x)] };
            },
        },

        // ---- add-on attachments -----------------------------------------------------------
        {
            method: "GET",
            path: "/apps/:app/addon-attachments",
            handler: ({ params, x }) => {
                const app = core.findApp(params.app);
                return { status: 200, body: core.state.attachments.filter((t) => t.app_id === app.id).map((t) => core.attachmentJson(t, x)) };
            },
        },
        {
            method: "GET",
            path: "/apps/:app/addon-attachments/:attachment",
            handler: ({ params, x }) => {
                const app = core.findApp(params.app);
                return { status: 200, body: core.attachmentJson(findAttachment(core, params.attachment, app), x) };
            },
        },
        { method: "GET", path: "/addon-attachments", handler: ({ x }) => ({ status: 200, body: core.state.attachments.map((t) => core.attachmentJson(t, x)) }) },
        { method: "GET", path: "/addon-attachments/:attachment", handler: ({ params, x }) => ({ status: 200, body: core.attachmentJson(findAttachment(core, params.attachment), x) }) },
        {
            method: "GET",
            path: "/addons/:addon/addon-attachments",
            handler: ({ params, x }) => {
                const addon = core.findAddon(params.addon);
                return { status: 200, body: core.attachmentsOf(addon.id).map((t) => core.attachmentJson(t, x)) };
            },
        },
        {
            method: "POST",
            path: "/addon-attachments",
            handler: ({ body, x }) => {
                // The schema says strings; the Heroku CLI (addons:attach) sends {addon: {name}, app: {name}}.
                const ref = (v: unknown): string | undefined => {
                    if (typeof v === "string" && v) return v;
                    const o = v as { id?: unknown; name?: unknown } | null | undefined;
                    if (o && typeof o === "object") return typeof o.id === "string" && o.id ? o.id : typeof o.name === "string" && o.name ? o.name : undefined;
                    return undefined;
                };
                const addonRef = ref(body.addon);
                const appRef = ref(body.app);
                if (!addonRef || !appRef) throw invalidParams("Missing required params: addon, app.");
                const app = core.findApp(appRef);
                const addon = core.findAddon(addonRef);
                const name = body.name === undefined || body.name === null ? defaultAttachmentName(core, app) : validateAttachmentName(core, app, body.name);
                const att = newAttachment(core, addon, app, name);
                recordRelease(core, app, `Attach ${name} (@ref:${addon.name})`);
                save();
                return { status: 201, body: core.attachmentJson(att, x) };
            },
        },
        {
            method: "DELETE",
            path: "/addon-attachments/:attachment",
            handler: ({ params, x }) => {
                const att = findAttachment(core, params.attachment);
                const out = core.attachmentJson(att, x);
                delete core.configVars(att.app_id)[`${att.name}_URL`];
                core.state.attachments = core.state.attachments.filter((t) => t !== att);
                const addon = core.state.addons.find((a) => a.id === att.addon_id);
                recordRelease(core, core.findApp(att.app_id), `Detach ${att.name} (@ref:${addon?.name ?? att.addon_id})`);
                save();
                return { status: 200, body: out };
            },
        },
        {
            method: "POST",
            path: "/actions/addon-attachments/resolve",
            handler: ({ body, x }) => {
                if (typeof body.addon_attachment !== "string") throw invalidParams("Missing required params: addon_attachment.");
                const app = typeof body.app === "string" && body.app ? core.findApp(body.app) : undefined;
                let found = resolveAttachments(core, app, body.addon_attachment);
                if (typeof body.addon_service === "string") {
                    found = found.filter(() => body.addon_service === ADDON_SERVICE);
                }
                if (found.length === 0) throw notFound("Couldn't find that add on attachment.", "addon_attachment");
                return { status: 200, body: found.map((t) => core.attachmentJson(t, x)) };
            },
        },
    ];
}

function uniqueGeneratedName(core: EmulatorCore): string {
    let name: string;
    do name = generatedAppName();
    while (core.state.apps.some((a) => a.name === name));
    return name;
}

function findFormation(core: EmulatorCore, app: AppRecord, typeOrId: string): FormationRecord {
    const f = core.state.formation.find((x) => x.app_id === app.id && (x.type === typeOrId || x.id === typeOrId));
    if (!f) throw notFound(`Couldn't find that process type (${typeOrId}).`, "formation");
    return f;
}

/** Heroku's dyno sizes (Common Runtime and Private Spaces), as the API names them; sizes are matched case-insensitively. */
const DYNO_SIZES = [
    "Eco", "Basic", "Standard-1X", "Standard-2X", "Performance-M", "Performance-L", "Performance-L-RAM", "Performance-XL", "Performance-2XL",
    "Private-S", "Private-M", "Private-L", "Private-L-RAM", "Private-XL", "Private-2XL", "Shield-S", "Shield-M", "Shield-L", "Shield-L-RAM", "Shield-XL", "Shield-2XL",
];

function applyFormationUpdate(f: FormationRecord, u: Record<string, unknown>): FormationRecord {
    if (u.quantity !== undefined) {
        const q = typeof u.quantity === "string" ? Number(u.quantity) : u.quantity;
        if (typeof q !== "number" || !Number.isInteger(q) || q < 0) throw invalidParams("Quantity must be a non-negative integer.");
        f.quantity = q;
    }
    if (u.size !== undefined) {
        const size = typeof u.size === "string" ? DYNO_SIZES.find((d) => d.toLowerCase() === u.size!.toString().toLowerCase()) : undefined;
        if (!size) throw invalidParams(`Invalid dyno size ${JSON.stringify(u.size)}. Sizes: ${DYNO_SIZES.join(", ")}.`);
        f.size = size;
    }
    f.updated_at = platformTime();
    return f;
}

/** Emulator-only: gives an app process types, as a deploy with a Procfile would on Heroku. */
export function seedFormation(core: EmulatorCore, appIdOrName: string, entries: Array<{ type: string; quantity: number; size?: string; command?: string }>): void {
    const app = core.findApp(appIdOrName);
    const now = platformTime();
    for (const e of entries) {
        const existing = core.state.formation.find((f) => f.app_id === app.id && f.type === e.type);
        if (existing) {
            existing.quantity = e.quantity;
            if (e.size) existing.size = e.size;
            if (e.command) existing.command = e.command;
            existing.updated_at = now;
        } else {
            core.state.formation.push({
                id: uuid(),
                app_id: app.id,
                type: e.type,
                quantity: e.quantity,
                size: e.size ?? "Basic",
                command: e.command ?? (e.type === "web" ? "npm start" : `npm run ${e.type}`),
                created_at: now,
                updated_at: now,
            });
        }
    }
    core.save();
}
