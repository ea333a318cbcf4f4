/**
 * The findings: one small rule per topic, each reading the inspection and the plan's context and
 * adding what it finds; RULES lists them in the order findings are reported (within a level;
 * sortFindings puts blocking first). Pure: no I/O, the same context gives the same findings.
 * Acknowledgements (acknowledgements.ts), the verify queries' findings (lib/userQueries.ts) and the
 * settings' (lib/settings.ts) are added by runPreflight (plan.ts).
 */
import type { AzureBackupCheck } from "../azureBackup";
import { DEFAULT_DUMP_COMPRESSION, type CompressionOffer } from "../compression";
import type { FreezeSettings } from "../config";
import { HEROKU_EXTENSIONS_SOURCE, pgDumpCanExcludeExtensions, quoteExtName } from "../extensions";
import { DUMP_RESTORE_LIMIT_BYTES, smallestPlanThatFits, type PlanInfo } from "../plans";
import { formatBytes, formatDuration } from "../progress";
import type { PgConnection } from "../types";
import { backupFindings } from "./backup";
import type { FreezeEstimate } from "./estimate";
import type { Finding, FindingLevel } from "./finding";
import type { FreezePlan } from "./freezePlan";
import type { HerokuAppCheck } from "./herokuApps";
import { largestTables, type Inspection } from "./inspection";
import { list, plural } from "./text";

/** What the rules read: the inspection, the local tools, the target and the configuration. */
export interface RuleContext {
    source: PgConnection;
    ins: Inspection;
    dump: { major: number; minor: number; text: string };
    restore: { major: number; minor: number; text: string };
    serverMajor: number;
    plan: PlanInfo | undefined;
    plans: PlanInfo[];
    herokuMajor: number;
    freeze?: FreezeSettings;
    herokuApp?: { name: string; create: boolean };
    herokuApps?: HerokuAppCheck[];
    azureBackup?: AzureBackupCheck;
    estimate: FreezeEstimate;
    freezePlan: FreezePlan;
    compressionOffer: CompressionOffer;
}

/** Adds a finding (`subject` only when given). */
type Add = (level: FindingLevel, code: string, subject: string | undefined, message: string, action: string) => void;

/** A rule: one topic's findings. */
type Rule = (x: RuleContext, add: Add) => void;

/** Every rule, in the order their findings are reported. */
const RULES: Rule[] = [
    versions,
    sizeAndPlan,
    extensions,
    readability,
    rolesAndOwnership,
    superuserObjects,
    storage,
    herokuApps,
    freeze,
    freezeEstimate,
    dumpCompression,
    recentBackup,
];

/**
 * Runs every rule; also returns the smallest plan that holds the database when the chosen one does
 * not, and the extensions the dump leaves out (Azure-only ones).
 */
export function buildFindings(x: RuleContext): { findings: Finding[]; suggested: PlanInfo | undefined; exclude: string[] } {
    const findings: Finding[] = [];
    const add: Add = (level, code, subject, message, action) =>
        findings.push({ level, code, ...(subject !== undefined ? { subject } : {}), message, action });
    for (const rule of RULES) rule(x, add);
    return { findings, suggested: suggestedPlan(x), exclude: excludedExtensions(x.ins) };
}

/** The smallest plan that holds the database, when the chosen plan does not. */
function suggestedPlan(x: RuleContext): PlanInfo | undefined {
    return x.plan && x.ins.databaseBytes > x.plan.storageBytes ? smallestPlanThatFits(x.ins.databaseBytes, x.plan, x.plans) : undefined;
}

/** Azure-only extensions: left out of the dump when pg_dump can (otherwise the extensions rule blocks). */
function excludedExtensions(ins: Inspection): string[] {
    return ins.extensions.filter((e) => e.status === "azure_only").map((e) => e.name);
}

/** pg_dump against the source server's version, and the version Heroku creates. */
function versions(x: RuleContext, add: Add): void {
    const { ins } = x;
    if (x.dump.major < x.serverMajor) {
        add("blocking", "pg_dump_too_old", undefined,
            `pg_dump ${x.dump.major}.${x.dump.minor} is older than the source server (PostgreSQL ${ins.versionText}); pg_dump refuses to dump a newer server ("server version mismatch").`,
            `Install the PostgreSQL ${x.serverMajor} client tools (apt-get install postgresql-client-${x.serverMajor}, from apt.postgresql.org if your distribution lacks it) or set PG_BIN_DIR to the bin directory of a pg_dump ${x.serverMajor} or newer, then run \`pulumi preview\` again.`);
    }
    if (x.serverMajor > x.herokuMajor) {
        add("warning", "target_version_older", undefined,
            `The source runs PostgreSQL ${x.serverMajor}, but Heroku creates new databases on PostgreSQL ${x.herokuMajor}: SQL features, catalog changes or an archive format newer than ${x.herokuMajor} may not restore.`,
            `Rehearse the restore first (npm start runs it locally), and check \`heroku pg:info\` for the version Heroku gave the database; see devcenter.heroku.com/articles/heroku-postgres-version-support.`);
    }
    add("info", "versions", undefined,
        `Source PostgreSQL ${ins.versionText}; local pg_dump ${x.dump.major}.${x.dump.minor}, pg_restore ${x.restore.major}.${x.restore.minor}; Heroku creates PostgreSQL ${x.herokuMajor}.`, "");
}

/** The database's size (`\\l+`), the server's other databases, the plan's storage and Heroku's 100 GB guidance. */
function sizeAndPlan(x: RuleContext, add: Add): void {
    const { ins } = x;
    const tables = ins.relations.filter((r) => r.kind === "r" || r.kind === "m");
    const tableBytes = tables.reduce((n, r) => n + r.heap, 0);
    const toastBytes = tables.reduce((n, r) => n + r.toast, 0);
    const indexBytes = tables.reduce((n, r) => n + r.indexes, 0);
    const biggest = largestTables(ins, 3).map((t) => `${t.schema}.${t.name} ${formatBytes(t.totalBytes)}`);
    add("info", "size", undefined,
        `${ins.database} is ${formatBytes(ins.databaseBytes)} (\\l+): tables ${formatBytes(tableBytes)}, TOAST ${formatBytes(toastBytes)}, indexes ${formatBytes(indexBytes)}, ${plural(ins.largeObjects.count, "large object")}${ins.largeObjects.count ? ` (${formatBytes(ins.largeObjects.bytes)})` : ""}${biggest.length ? `; largest tables: ${biggest.join(", ")}` : ""}.`, "");
    const others = ins.databases.filter((d) => d.name !== ins.database && !["postgres", "azure_maintenance", "azure_sys"].includes(d.name));
    if (others.length > 0) {
        add("info", "other_databases", undefined,
            `The server has ${plural(others.length, "other database")} that this stack does not migrate: ${list(others.map((d) => `${d.name} (${d.bytes === null ? "no access" : formatBytes(d.bytes)})`))}.`,
            "Migrate each with its own stack (sourceDatabase) if the app uses it.");
    }
    if (x.plan) {
        if (ins.databaseBytes > x.plan.storageBytes) {
            const suggested = suggestedPlan(x);
            add("blocking", "plan_too_small", x.plan.name,
                `${ins.database} is ${formatBytes(ins.databaseBytes)}, more than the ${x.plan.name} plan's ${formatBytes(x.plan.storageBytes)} of storage.`,
                suggested
                    ? `Choose a plan that holds it: the smallest is ${suggested.name} (${formatBytes(suggested.storageBytes)}): \`pulumi config set herokuPlan ${suggested.name}\`.`
                    : "No Heroku Postgres plan holds it; shrink the data first (or ask Heroku about larger plans).");
        } else if (ins.databaseBytes > 0.8 * x.plan.storageBytes) {
            add("warning", "plan_nearly_full", x.plan.name,
                `${ins.database} (${formatBytes(ins.databaseBytes)}) fills ${Math.round((100 * ins.databaseBytes) / x.plan.storageBytes)}% of the ${x.plan.name} plan's ${formatBytes(x.plan.storageBytes)}; growth after the migration pushes it over.`,
                `Consider a larger herokuPlan${smallestPlanThatFits(ins.databaseBytes * 1.25, x.plan, x.plans) ? ` (e.g. ${smallestPlanThatFits(ins.databaseBytes * 1.25, x.plan, x.plans)!.name})` : ""}.`);
        } else {
            add("info", "plan_fits", x.plan.name,
                `${ins.database} (${formatBytes(ins.databaseBytes)}) fits the ${x.plan.name} plan's ${formatBytes(x.plan.storageBytes)} (${((100 * ins.databaseBytes) / x.plan.storageBytes).toFixed(1)}% used).`, "");
        }
    }
    if (ins.databaseBytes > DUMP_RESTORE_LIMIT_BYTES) {
        add("warning", "large_database", undefined,
            `${ins.database} is ${formatBytes(ins.databaseBytes)}; Heroku's migration guide says dump and restore is suitable below 100 GB, and the write freeze grows with the size (estimated ${formatDuration(x.estimate.totalSeconds * 1000)}).`,
            "Plan a long maintenance window, or ask Heroku (Data Services) about a replication-based migration.");
    }
}

/** Extensions against Heroku's allow-list, with what depends on the ones that cannot move. */
function extensions(x: RuleContext, add: Add): void {
    const { ins } = x;
    const canExclude = pgDumpCanExcludeExtensions(x.dump.major);
    const supported = ins.extensions.filter((e) => e.status === "supported");
    if (supported.length > 0) {
        add("info", "extensions", undefined,
            `Supported on Heroku and restored: ${supported.map((e) => `${e.name} ${e.version} (schema ${e.schema})`).join(", ")}.`, "");
    }
    const notOwned = ins.extensions.filter((e) => e.owner !== ins.user);
    if (notOwned.length > 0) {
        add("info", "extension_owners", undefined,
            `${notOwned.map((e) => `${e.name} (owner ${e.owner})`).join(", ")} ${notOwned.length === 1 ? "was" : "were"} created by another role than ${ins.user}; Heroku creates the supported ones itself during the restore, owned by its credential.`, "");
    }
    for (const e of ins.extensions) {
        const deps = e.dependents.length ? ` Objects that depend on it: ${list(e.dependents)}.` : " No object depends on it.";
        if (e.status === "supported_other_version") {
            add("warning", "extension_version", e.name, e.note, `Test the app against the restored database (npm start rehearses it), or bring the source up to date first: ALTER EXTENSION ${quoteExtName(e.name)} UPDATE;`);
        } else if (e.status === "azure_only") {
            if (e.dependents.length === 0 && canExclude) {
                add("warning", "extension_azure_only", e.name, `${e.note} It is left out of the dump (pg_dump --exclude-extension).${deps}`, "Nothing to do, unless the app calls it.");
            } else {
                add("blocking", "extension_azure_only", e.name, `${e.note}${deps}${e.dependents.length === 0 ? ` pg_dump ${x.dump.major} cannot leave an extension out of the dump (that needs pg_dump 17), and Heroku's restore fails on it.` : ""}`,
                    e.dependents.length === 0
                        ? `Drop it on the source before the migration (DROP EXTENSION ${quoteExtName(e.name)};), or use pg_dump 17 or newer (PG_BIN_DIR), which leaves it out.`
                        : `Remove or replace what depends on it, then DROP EXTENSION ${quoteExtName(e.name)}; on the source.`);
            }
        } else if (e.status === "unsupported") {
            add("blocking", "extension_unsupported", e.name, `${e.note}${deps} Heroku's restore fails on it (${HEROKU_EXTENSIONS_SOURCE}).`,
                e.dependents.length === 0
                    ? `Drop it on the source before the migration: DROP EXTENSION ${quoteExtName(e.name)};`
                    : `Remove or replace what depends on it, then DROP EXTENSION ${quoteExtName(e.name)}; on the source.`);
        }
    }
}

/** What pg_dump must be able to read. */
function readability(x: RuleContext, add: Add): void {
    const { ins } = x;
    // Materialized views are dumped as definitions (refreshed on restore), so only tables and sequences count.
    const unreadable = ins.relations.filter((r) => !r.readable && r.kind !== "m").map((r) => `${r.schema}.${r.name}${r.kind === "S" ? " (sequence)" : ""}`);
    if (unreadable.length > 0 || ins.largeObjects.unreadable > 0) {
        const what = [...unreadable, ...(ins.largeObjects.unreadable ? [plural(ins.largeObjects.unreadable, "large object")] : [])];
        add("blocking", "unreadable_objects", undefined,
            `${ins.user} cannot read ${list(what)}; pg_dump stops with "permission denied" on the first one.`,
            `Let ${ins.user} read them (GRANT the owning role to ${ins.user}, or GRANT SELECT ... TO ${ins.user}), or set sourceUser to a role that can read everything (Azure's admin user).`);
    }
}

/** Owners, grants, SECURITY DEFINER functions and policies naming roles that will not exist on Heroku. */
function rolesAndOwnership(x: RuleContext, add: Add): void {
    const { ins } = x;
    if (ins.owners.length > 0) {
        const byRole = new Map<string, string[]>();
        for (const o of ins.owners) byRole.set(o.role, [...(byRole.get(o.role) ?? []), plural(o.count, o.kind)]);
        add("info", "ownership", undefined,
            `Objects are owned by ${plural(byRole.size, "role")} other than ${ins.user}: ${[...byRole].map(([r, k]) => `${r} (${k.join(", ")})`).join("; ")}. The restore (pg_restore --no-owner) makes Heroku's credential the owner of everything.`,
            "Nothing to do for the migration; if the app logs in as several roles, recreate them as Heroku credentials (Standard plans and up: heroku pg:credentials:create) and grant them what they need.");
    }
    if (ins.grants.length > 0) {
        const byGrantee = new Map<string, number>();
        for (const g of ins.grants) byGrantee.set(g.grantee, (byGrantee.get(g.grantee) ?? 0) + g.objects);
        add("warning", "grants_dropped", undefined,
            `GRANTs to roles that will not exist on Heroku are not restored (pg_restore --no-acl): ${[...byGrantee].map(([r, n]) => `${r} (${plural(n, "object")})`).join(", ")}${ins.defaultAcls ? `; also ${plural(ins.defaultAcls, "ALTER DEFAULT PRIVILEGES entry", "ALTER DEFAULT PRIVILEGES entries")}` : ""}.`,
            "After the restore only Heroku's default credential can use the objects. If other logins need access, create Heroku credentials (heroku pg:credentials:create, Standard plans and up) and GRANT again.");
    }
    if (ins.securityDefiner.length > 0) {
        add("warning", "security_definer", undefined,
            `${plural(ins.securityDefiner.length, "SECURITY DEFINER function")} will run with the rights of Heroku's credential (their new owner) instead of ${list([...new Set(ins.securityDefiner.map((f) => f.owner))])}: ${list(ins.securityDefiner.map((f) => f.fn))}.`,
            "Review them; --no-acl also drops REVOKE EXECUTE ... FROM PUBLIC, so on Heroku every login may call them until you revoke it again.");
    }
    if (ins.policies.length > 0) {
        add("warning", "rls_policy_roles", undefined,
            `Row-level security policies name roles that will not exist on Heroku: ${list(ins.policies.map((p) => `${p.policy} on ${p.table} (TO ${p.roles.join(", ")})`))}. CREATE POLICY fails for them during the restore, so the tables keep RLS enabled without these policies.`,
            "Rewrite them TO PUBLIC or for current_user before the migration, or recreate them on Heroku for a Heroku credential after it.");
    }
}

/** Event triggers, publications, subscriptions and foreign servers: what Heroku's credential cannot create, or not as before. */
function superuserObjects(x: RuleContext, add: Add): void {
    const { ins } = x;
    for (const t of ins.eventTriggers) {
        add("warning", "event_trigger", t.name,
            `Event trigger ${t.name} (on ${t.event}, runs ${t.fn}) is not restored: creating event triggers needs a superuser, and Heroku's credential is not one; pg_restore reports an error and goes on.`,
            "Move what it does into the application or migrations, or drop it before the migration.");
    }
    for (const p of ins.publications) {
        add("warning", "publication", p.name,
            `Publication ${p.name}${p.allTables ? " (FOR ALL TABLES, which needs a superuser to create)" : ""} is ${p.allTables ? "not restored" : "restored, but nothing on Heroku can subscribe to it"}: logical replication out of Heroku Postgres is not available to its credential.`,
            "Drop it before the migration, or rebuild whatever consumed it against Heroku (e.g. Heroku's Change Data Capture).");
    }
    if (ins.subscriptions === undefined) {
        add("info", "subscriptions_unknown", undefined, `${ins.user} may not list subscriptions (pg_subscription); pg_dump leaves them out unless run by a superuser.`, "Check with a superuser: SELECT subname FROM pg_subscription.");
    } else {
        for (const s of ins.subscriptions) {
            add("warning", "subscription", s,
                `Subscription ${s} (logical replication into this database) is not migrated: pg_dump dumps subscriptions only for superusers, and Heroku's credential cannot create them.`,
                "Stop relying on it, or feed the data to Heroku some other way after the cutover.");
        }
    }
    for (const s of ins.foreignServers) {
        add("warning", "foreign_server", s.name,
            `Foreign server ${s.name} (${s.wrapper}${s.options ? `: ${s.options}` : ""}, ${plural(s.mappings, "user mapping")}) is restored, but user mappings lose their passwords (only their owner can read them) and Heroku must be able to reach the remote host.`,
            `After the restore, recreate the user mappings (CREATE USER MAPPING ... SERVER ${s.name} OPTIONS (user ..., password ...)) and check the remote server's firewall allows Heroku.`);
    }
}

/** Tablespaces and unlogged tables. */
function storage(x: RuleContext, add: Add): void {
    const { ins } = x;
    const spaces = ins.tablespaceObjects.filter((t) => t.tablespace !== "pg_default");
    for (const t of spaces) {
        add("warning", "tablespace", t.tablespace,
            `${plural(t.objects, "object")} live in tablespace ${t.tablespace}; Heroku has only its default tablespace, so SET default_tablespace fails during the restore and they are created in the default one.`,
            "Nothing to do unless the app names the tablespace; the restore logs one error per object.");
    }
    if (ins.databaseTablespace !== "pg_default") {
        add("warning", "tablespace", ins.databaseTablespace,
            `Database ${ins.database} lives in tablespace ${ins.databaseTablespace}; on Heroku it lives in the default one.`, "Nothing to do unless the app names the tablespace.");
    }
    const unlogged = ins.relations.filter((r) => r.persistence === "u" && r.kind !== "S");
    if (unlogged.length > 0) {
        add("info", "unlogged_tables", undefined,
            `Unlogged tables are restored unlogged: ${list(unlogged.map((r) => `${r.schema}.${r.name}`))}. Their data is lost on a crash or failover and they are empty on Heroku followers.`,
            "Make them logged (ALTER TABLE ... SET LOGGED) if their data must survive.");
    }
}

/** Heroku apps the configuration names must exist before anything is created or frozen. */
function herokuApps(x: RuleContext, add: Add): void {
    for (const app of x.herokuApps ?? []) {
        if (app.exists) continue;
        add("blocking", "heroku_app_missing", app.name,
            `Heroku app "${app.name}" (config \`${app.key}\`) does not exist, or HEROKU_API_KEY cannot see it.`,
            `Fix \`${app.key}\` (\`pulumi config set ${app.key === "dependentApps" ? "--path 'dependentApps[0]'" : app.key} <app>\`), or check the key's access with \`heroku apps:info -a ${app.name}\`.`);
    }
}

/** What the write freeze stops, and whether it can. */
function freeze(x: RuleContext, add: Add): void {
    const { ins } = x;
    const estimate = formatDuration(x.estimate.totalSeconds * 1000);
    if (x.freeze?.mode === "none") {
        add("warning", "freeze_none", undefined,
            `freezeMode is none: nothing stops writes to the source, so anything written after pg_dump takes its snapshot (about ${estimate} before cutover) is missing on Heroku.`,
            "Set freezeMode to maintenance, readonly-source or hook (`pulumi config set freezeMode maintenance`), or stop writes yourself before `pulumi up`.");
    } else if (x.freeze?.mode === "readonly-source" && !ins.superuser && !ins.ownsDatabase) {
        add("blocking", "freeze_not_permitted", undefined,
            `freezeMode readonly-source needs ALTER DATABASE ${ins.database}, but ${ins.user} neither owns it (owner ${ins.databaseOwner}) nor is a superuser.`,
            `Use freezeMode maintenance or hook, or set sourceUser to the database owner (${ins.databaseOwner}).`);
    } else if (x.freeze?.mode === "maintenance" && x.herokuApp?.create && x.freeze.app === x.herokuApp.name) {
        add("warning", "freeze_app_new", x.freeze.app,
            `freezeMode maintenance freezes Heroku app "${x.freeze.app}", which this stack creates (herokuCreateApp true): nothing that writes to the source runs there yet, so nothing is frozen.`,
            `Set freezeApp to the app that writes to the source today (\`pulumi config set freezeApp <app>\`), or use freezeMode readonly-source or hook.`);
    } else if (x.freeze) {
        add("info", "freeze_plan", undefined, x.freezePlan.what, "Announce the maintenance window; the freeze is lifted automatically if a later stage fails (unfreezeOnFailure).");
    }
}

/** The estimated write freeze, phase by phase. */
function freezeEstimate(x: RuleContext, add: Add): void {
    const { ins } = x;
    const estimate = formatDuration(x.estimate.totalSeconds * 1000);
    const e = x.estimate;
    if (ins.sample.error) {
        add("warning", "estimate_unmeasured", undefined,
            `The read rate could not be measured on ${ins.sample.table} (${ins.sample.error}), so the estimate leaves the dump out.`,
            "Check that the source answers quickly (a few MiB in 15 s), then run `pulumi preview` again.");
    }
    add("info", "freeze_estimate", undefined,
        `Estimated write freeze: ${estimate} = dump and upload ${formatDuration(e.dumpUploadSeconds * 1000)} + restore ${formatDuration(e.restoreSeconds * 1000)} + Heroku's own overhead ${formatDuration(e.herokuOverheadSeconds * 1000)} (assumed) + verification ${formatDuration(e.verifySeconds * 1000)} + cutover ${formatDuration(e.cutoverSeconds * 1000)}, for ${formatBytes(e.dataBytes)} of table data and ${formatBytes(e.indexBytes)} of indexes at a measured ${formatBytes(e.readBytesPerSec)}/s.`,
        "See the assumptions in preflight.md; a rehearsal (npm start) against a copy of the real database gives the real numbers.");
}

/** The dump's compression and the archive size it gives. */
function dumpCompression(x: RuleContext, add: Add): void {
    const e = x.estimate;
    add("info", "dump_compression", undefined,
        `pg_dump -Fc compression ${e.compression} (dumpCompression): an archive of about ${formatBytes(e.archiveBytes)}; the local pg_dump ${x.dump.major}.${x.dump.minor} offers ${x.compressionOffer.text}.`,
        e.compression === DEFAULT_DUMP_COMPRESSION
            ? "On a slow uplink to Azure, a level (`pulumi config set dumpCompression 1`) makes the upload smaller at some CPU cost."
            : "");
}

/** A recent backup of the source (backup.ts). */
function recentBackup(x: RuleContext, add: Add): void {
    for (const f of backupFindings(x.source.host, x.azureBackup, new Date())) add(f.level, f.code, f.subject, f.message, f.action);
}
