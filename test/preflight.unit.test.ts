/**
 * The pure parts of lib/preflight.ts, without a database: the Heroku extension list and its
 * classification, plan choice, and acknowledgements. The checks against real clusters are in
 * test/preflight.test.ts.
 * Run: node --require ts-node/register/transpile-only --test test/preflight.unit.test.ts
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { applyAcknowledgements, formatFindings, type Finding } from "../lib/preflight";
import { classifyExtension, HEROKU_SUPPORTED_EXTENSIONS, quoteExtName } from "../lib/extensions";
import { herokuPostgresPlans, findPlan, smallestPlanThatFits, HEROKU_DEFAULT_POSTGRES_MAJOR } from "../lib/plans";
import { HEROKU_SUPPORTED_EXTENSIONS as EMULATOR_EXTENSIONS } from "../emulator/heroku/extensions";
import type { AcknowledgeEntry } from "../lib/config";

test("the lists: one Heroku extension list in lib/, equal to the emulator's; plan choice; Heroku's default version", () => {
    assert.deepEqual([...HEROKU_SUPPORTED_EXTENSIONS].sort(), [...EMULATOR_EXTENSIONS].sort());
    const plans = herokuPostgresPlans();
    const GiB = 1024 ** 3;
    assert.equal(smallestPlanThatFits(5 * GiB, findPlan("essential-0")!)?.name, "essential-1");
    assert.equal(smallestPlanThatFits(40 * GiB, findPlan("essential-1")!)?.name, "standard-0", "past Essential's 32 GB: Standard");
    assert.equal(smallestPlanThatFits(300 * GiB, findPlan("premium-0")!)?.name, "premium-3");
    assert.equal(smallestPlanThatFits(20000 * GiB, findPlan("standard-0")!), undefined);
    assert.equal(plans.length, 43, "the production table is intact");
    assert.equal(HEROKU_DEFAULT_POSTGRES_MAJOR, 17);
});

test("extensions are classified as supported, supported in another version, Azure-only or unsupported", () => {
    const ext = (name: string, version = "1.0", defaultVersion?: string) => classifyExtension({ name, version, schema: "public", owner: "azureadmin", defaultVersion });
    assert.deepEqual(ext("pgcrypto", "1.3", "1.3"), { status: "supported", note: "pgcrypto 1.3 is supported on Heroku Postgres." });
    assert.deepEqual(ext("citext", "1.4", "1.6"), {
        status: "supported_other_version",
        note: "citext is at version 1.4 on the source, but this server's current version is 1.6 (ALTER EXTENSION citext UPDATE was never run); the dump does not pin a version, so Heroku creates its own current version, which may behave differently.",
    });
    assert.equal(ext("postgis", "2.5.5").status, "supported_other_version");
    assert.match(ext("postgis", "2.5.5").note, /^postgis 2\.5\.5 on the source: Heroku runs PostGIS 3, which moved raster support into the separate postgis_raster extension/);
    assert.equal(ext("postgis", "3.4.2", "3.4.2").status, "supported");
    assert.deepEqual(ext("pgaadauth"), { status: "azure_only", note: "pgaadauth (Microsoft Entra ID (Azure AD) authentication) exists only on Azure and has no meaning on Heroku." });
    assert.equal(ext("azure_storage").status, "azure_only");
    assert.deepEqual(ext("pg_cron"), {
        status: "unsupported",
        note: "pg_cron is not on Heroku Postgres' extension allow-list; Heroku Postgres has no pg_cron: move the jobs (SELECT jobname, schedule, command FROM cron.job) to Heroku Scheduler or a clock process.",
    });
    assert.deepEqual(ext("some_ext"), { status: "unsupported", note: "some_ext is not on Heroku Postgres' extension allow-list." });
    assert.equal(quoteExtName("uuid-ossp"), '"uuid-ossp"');
});

test("acknowledging: a matching blocking finding becomes a warning with the reason; others name their entry; stale entries are warned about", () => {
    const blocking = (code: string, subject?: string): Finding => ({ level: "blocking", code, ...(subject ? { subject } : {}), message: "m.", action: "Do x." });
    const acks: AcknowledgeEntry[] = [
        { code: "extension_unsupported", subject: "adminpack", reason: "we drop it before the dump", entry: "extension_unsupported:adminpack=we drop it before the dump" },
        { code: "extension_unsupported", subject: "pg_cron", reason: "gone", entry: "extension_unsupported:pg_cron=gone" },
    ];
    const out = applyAcknowledgements([blocking("extension_unsupported", "adminpack"), blocking("pg_dump_too_old"), blocking("extension_unsupported", "file_fdw"), { level: "info", code: "size", message: "s.", action: "" }], acks);
    assert.deepEqual(out, [
        { level: "warning", code: "extension_unsupported", subject: "adminpack", message: "m.", acknowledged: { entry: acks[0].entry, reason: "we drop it before the dump" }, action: 'Acknowledged ("we drop it before the dump"), so it does not stop the migration. Do x.' },
        { level: "blocking", code: "pg_dump_too_old", message: "m.", action: "Do x. To go ahead anyway: `pulumi config set --path 'acknowledge[2]' 'pg_dump_too_old=<why it is safe>'`." },
        { level: "blocking", code: "extension_unsupported", subject: "file_fdw", message: "m.", action: "Do x. To go ahead anyway: `pulumi config set --path 'acknowledge[3]' 'extension_unsupported:file_fdw=<why it is safe>'`." },
        { level: "info", code: "size", message: "s.", action: "" },
        { level: "warning", code: "acknowledge_unused", subject: "extension_unsupported:pg_cron=gone", message: 'acknowledge entry "extension_unsupported:pg_cron=gone" matches no blocking finding.', action: "Remove it (pulumi config set --path 'acknowledge[1]' ...), or fix the code/subject to the one a blocking finding names." },
    ]);
    assert.deepEqual(formatFindings(out).slice(0, 3), [
        "BLOCKING pg_dump_too_old: m. Do x. To go ahead anyway: `pulumi config set --path 'acknowledge[2]' 'pg_dump_too_old=<why it is safe>'`.",
        "BLOCKING extension_unsupported:file_fdw: m. Do x. To go ahead anyway: `pulumi config set --path 'acknowledge[3]' 'extension_unsupported:file_fdw=<why it is safe>'`.",
        'WARNING extension_unsupported:adminpack (acknowledged: we drop it before the dump): m. Acknowledged ("we drop it before the dump"), so it does not stop the migration. Do x.',
    ]);
});
