/**
 * lib/azureBackup.ts and the backup findings of lib/preflight/backup.ts (backupFindings), without a
 * database and without Azure: the ARM list parsing against Microsoft's documented example
 * responses, the newest-backup choice, the four findings and their acknowledgement, the reasons
 * for ARM errors, and checkAzureBackups against an endpoint that refuses connections. Nothing here
 * imitates Azure, so the live ARM requests stay untested against Azure.
 * Run: node --require ts-node/register/transpile-only --test test/azure-backup.unit.test.ts
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "net";
import {
    ARM_API_VERSION, armEndpointForHost, armErrorDetail, armFailureReason, assessBackups, checkAzureBackups, completedAt, findServer,
    newestBackup, noCredentials, parseBackupList, type ArmBackup, type AzureBackupCheck,
} from "../lib/azureBackup";
import {
    AZURE_BACKUP_MAX_AGE_HOURS, applyAcknowledgements, azureServerName, backupFindings, findingKey, formatFindings, renderPreflightMarkdown,
    type Finding, type PreflightPlan,
} from "../lib/preflight";
import { registerSecret } from "../lib/redact";

const HOST = "exampleserver.postgres.database.azure.com";
const HOUR = 3600_000;

/**
 * The 200 body of "Backups (Automatic and On-Demand) - List By Server", api-version 2025-08-01:
 * https://github.com/Azure/azure-rest-api-specs/blob/main/specification/postgresql/DBforPostgreSQL.Management/examples/2025-08-01/BackupsAutomaticAndOnDemandListByServer.json
 * (rendered at https://learn.microsoft.com/en-us/rest/api/postgresql/backups(automatic-and-on-demand)/list-by-server).
 */
const DOCS_BACKUP_LIST = {
    value: [
        {
            name: "backup_638830782181266873",
            type: "Microsoft.DBforPostgreSQL/flexibleServers/backups",
            id: "/subscriptions/ffffffff-ffff-ffff-ffff-ffffffffffff/resourceGroups/exampleresourcegroup/providers/Microsoft.DBforPostgreSQL/flexibleServers/exampleserver/backups/backup_638830782181266873",
            properties: { backupType: "Full", completedTime: "2025-06-01T14:30:22.123456+00:00", source: "Automatic" },
        },
        {
            name: "ondemandbackup-20250601T183022",
            type: "Microsoft.DBforPostgreSQL/flexibleServers/backups",
            id: "/subscriptions/ffffffff-ffff-ffff-ffff-ffffffffffff/resourceGroups/exampleresourcegroup/providers/Microsoft.DBforPostgreSQL/flexibleServers/exampleserver/backups/ondemandbackup-20250601T183022",
            properties: { backupType: "Customer On-Demand", completedTime: "2025-06-01T18:30:22.123456+00:00", source: "Customer Initiated" },
        },
    ],
};

/**
 * Name and id of each server in the 200 body of "Servers - List By Subscription", api-version 2025-08-01
 * (the other properties left out):
 * https://github.com/Azure/azure-rest-api-specs/blob/main/specification/postgresql/DBforPostgreSQL.Management/examples/2025-08-01/ServersListBySubscription.json
 * (rendered at https://learn.microsoft.com/en-us/rest/api/postgresql/servers/list).
 */
const DOCS_SERVER_LIST = [1, 2, 3, 4].map((i) => ({
    name: `exampleserver${i}`,
    type: "Microsoft.DBforPostgreSQL/flexibleServers",
    id: `/subscriptions/ffffffff-ffff-ffff-ffff-ffffffffffff/resourceGroups/exampleresourcegroup${i}/providers/Microsoft.DBforPostgreSQL/flexibleServers/exampleserver${i}`,
    location: "eastus",
}));

function backup(name: string, completedTime: string | undefined, source = "Automatic"): ArmBackup {
    return {
        id: `/subscriptions/s/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/exampleserver/backups/${name}`,
        name,
        type: "Microsoft.DBforPostgreSQL/flexibleServers/backups",
        properties: {
            backupType: source === "Automatic" ? "Full" : "Customer On-Demand",
            ...(completedTime !== undefined ? { completedTime } : {}),
            source,
        },
    };
}

function checked(backups: ArmBackup[]): AzureBackupCheck {
    return { state: "checked", server: "exampleserver", resourceGroup: "exampleresourcegroup", checkedAt: "2025-06-02T12:00:00.000Z", backups };
}

function only(findings: Finding[]): Finding {
    assert.equal(findings.length, 1, JSON.stringify(findings));
    return findings[0];
}

const CREATE = "`az postgres flexible-server backup create --resource-group exampleresourcegroup --name exampleserver --backup-name pre-heroku-migration` (Azure CLI 2.86 and later: `--server-name exampleserver --name pre-heroku-migration`)";

test("parses Microsoft's example backup list (2025-08-01)", () => {
    assert.equal(ARM_API_VERSION, "2025-08-01");
    const backups = parseBackupList(DOCS_BACKUP_LIST);
    assert.deepEqual(backups, DOCS_BACKUP_LIST.value);
    assert.equal(newestBackup(backups)?.name, "ondemandbackup-20250601T183022");
    const a = assessBackups(backups, new Date("2025-06-01T20:30:22.123Z"));
    assert.deepEqual(a, {
        total: 2,
        completed: 2,
        automatic: 1,
        onDemand: 1,
        newest: {
            name: "ondemandbackup-20250601T183022",
            completedTime: "2025-06-01T18:30:22.123Z",
            automatic: false,
            backupType: "Customer On-Demand",
            source: "Customer Initiated",
            ageMs: 2 * HOUR,
        },
    });
});

test("missing fields are tolerated; a backup without a completion time is never the newest", () => {
    const backups = parseBackupList({
        value: [
            { id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/x/backups/from_id_only" },
            { name: "no-time", properties: { source: "Automatic", completedTime: 1748788222 } },
            { name: "bad-time", properties: { completedTime: "yesterday", backupType: "Full" } },
            { name: "no-zone", properties: { completedTime: "2025-06-01T10:00:00" } },
        ],
        nextLink: "https://management.azure.com/next",
    });
    assert.deepEqual(backups.map((b) => b.name), ["from_id_only", "no-time", "bad-time", "no-zone"]);
    assert.deepEqual(backups[0], { id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/x/backups/from_id_only", name: "from_id_only", type: "", properties: {} });
    assert.deepEqual(backups[1].properties, { source: "Automatic" });
    assert.equal(completedAt(backups[2]), undefined);
    // A time without a zone is UTC, whatever the local time zone.
    assert.equal(completedAt(backups[3]), Date.UTC(2025, 5, 1, 10));
    const a = assessBackups(backups, new Date("2025-06-01T11:00:00Z"));
    assert.equal(a.total, 4);
    assert.equal(a.completed, 1);
    assert.equal(a.newest?.name, "no-zone");
    assert.equal(a.newest?.ageMs, HOUR);
    // "Full" counts as automatic when the source is missing.
    assert.deepEqual([a.automatic, a.onDemand], [2, 2]);
});

test("garbage is rejected with a clear error", () => {
    const cases: Array<[unknown, string]> = [
        [null, 'The backup list is not an Azure Resource Manager list: expected an object with a "value" array, got null.'],
        ["<html>Service Unavailable</html>", 'The backup list is not an Azure Resource Manager list: expected an object with a "value" array, got string.'],
        [[DOCS_BACKUP_LIST.value[0]], 'The backup list is not an Azure Resource Manager list: expected an object with a "value" array, got an array.'],
        [{ error: { code: "x" } }, 'The backup list is not an Azure Resource Manager list: expected an object with a "value" array, got an object with keys error.'],
        [{ value: "none" }, 'The backup list is not an Azure Resource Manager list: expected an object with a "value" array, got an object with keys value.'],
        [{ value: [DOCS_BACKUP_LIST.value[0], 42] }, "The backup list: item 1 is not an object (number)."],
        [{ value: [null] }, "The backup list: item 0 is not an object (null)."],
    ];
    for (const [json, message] of cases) assert.throws(() => parseBackupList(json), { message });
});

test("the newest completed backup wins, automatic or on-demand, in any order and time zone", () => {
    const list = [
        backup("auto-0530", "2025-05-30T03:00:00Z"),
        backup("ondemand-0531", "2025-05-31T09:00:00+02:00", "Customer Initiated"), // 07:00Z
        backup("auto-0531", "2025-05-31T06:30:00.1234567Z"),
        backup("running", undefined, "Customer Initiated"),
        backup("auto-0529", "2025-05-29T03:00:00Z"),
    ];
    assert.equal(newestBackup(list)?.name, "ondemand-0531");
    assert.equal(newestBackup([...list].reverse())?.name, "ondemand-0531");
    const later = [...list, backup("auto-0601", "2025-06-01T03:00:00.000+00:00")];
    assert.equal(newestBackup(later)?.name, "auto-0601");
    assert.equal(newestBackup([backup("running", undefined)]), undefined);
    assert.equal(newestBackup([]), undefined);

    const a = assessBackups(list, new Date("2025-05-31T10:00:00Z"));
    assert.deepEqual({ ...a, newest: undefined }, { total: 5, completed: 4, automatic: 3, onDemand: 2, newest: undefined });
    assert.equal(a.newest?.completedTime, "2025-05-31T07:00:00.000Z");
    assert.equal(a.newest?.ageMs, 3 * HOUR);
    // A completion time ahead of the local clock is 0 old, not negative.
    assert.equal(assessBackups(list, new Date("2025-05-31T06:00:00Z")).newest?.ageMs, 0);
});

test("a recent backup is info, with its name, time, age and the counts", () => {
    const now = new Date("2025-06-01T20:30:22.123Z");
    const f = only(backupFindings(HOST, checked(parseBackupList(DOCS_BACKUP_LIST)), now));
    assert.deepEqual(f, {
        level: "info",
        code: "azure_backup_recent",
        message: "Newest Azure backup of exampleserver: ondemandbackup-20250601T183022 (on-demand), completed 2025-06-01T18:30:22.123Z, 2h00m ago; 2 backups listed (1 automatic, 1 on-demand).",
        action: "Nothing to do: Azure can restore the source from it (or to any point within its retention) if the migration goes wrong.",
    });
    // The threshold is inclusive.
    const edge = backupFindings(HOST, checked([backup("auto", "2025-06-01T00:00:00Z")]), new Date(Date.UTC(2025, 5, 1) + AZURE_BACKUP_MAX_AGE_HOURS * HOUR));
    assert.equal(only(edge).code, "azure_backup_recent");
    assert.match(only(edge).message, /, 25h00m ago; 1 backup listed \(1 automatic, 0 on-demand\)\.$/);
});

test("a backup older than 25 hours is a warning with the command that makes one", () => {
    assert.equal(AZURE_BACKUP_MAX_AGE_HOURS, 25);
    const list = [backup("auto-0601", "2025-06-01T00:00:00Z"), backup("running", undefined, "Customer Initiated")];
    const justOver = only(backupFindings(HOST, checked(list), new Date(Date.UTC(2025, 5, 1) + 25 * HOUR + 1000)));
    assert.equal(justOver.level, "warning");
    assert.equal(justOver.code, "azure_backup_old");
    const f = only(backupFindings(HOST, checked(list), new Date("2025-06-04T12:00:00Z")));
    assert.deepEqual(f, {
        level: "warning",
        code: "azure_backup_old",
        message: "The newest Azure backup of exampleserver is auto-0601 (automatic), completed 2025-06-01T00:00:00.000Z, 3.5 days ago: older than 25 hours, although Azure takes one daily (it skips days on which no database changed, and a stopped server takes none); 2 backups listed (1 automatic, 1 on-demand, 1 without a completion time). Heroku's guide asks for a recent backup before migrating.",
        action: `Make one now: ${CREATE}, then run \`pulumi preview\` again.`,
    });
});

test("no completed backup is blocking, and acknowledging it turns it into a warning", () => {
    const now = new Date("2025-06-01T12:00:00Z");
    const none = only(backupFindings(HOST, checked([]), now));
    assert.deepEqual(none, {
        level: "blocking",
        code: "azure_backup_missing",
        message: "Azure has no completed backup of exampleserver (resource group exampleresourcegroup; 0 backups listed (0 automatic, 0 on-demand)): if the migration goes wrong there is no backup to go back to. Heroku's guide asks for a recent backup before migrating.",
        action: `Make one now: ${CREATE}, then run \`pulumi preview\` again.`,
    });
    const running = only(backupFindings(HOST, checked([backup("ondemand", undefined, "Customer Initiated")]), now));
    assert.equal(running.code, "azure_backup_missing");
    assert.match(running.message, /; 1 backup listed \(0 automatic, 1 on-demand, 1 without a completion time\)\): /);

    // Not acknowledged: still blocking, and the action names the exact entry.
    const [open] = applyAcknowledgements([none], []);
    assert.equal(open.level, "blocking");
    assert.equal(open.action, `Make one now: ${CREATE}, then run \`pulumi preview\` again. To go ahead anyway: \`pulumi config set --path 'acknowledge[0]' 'azure_backup_missing=<why it is safe>'\`.`);

    const entry = { code: "azure_backup_missing", reason: "the source stays read-only until we switch back", entry: "azure_backup_missing=the source stays read-only until we switch back" };
    const acked = applyAcknowledgements([none], [entry]);
    assert.equal(acked.length, 1, "the entry is used, so no acknowledge_unused");
    assert.equal(acked[0].level, "warning");
    assert.deepEqual(acked[0].acknowledged, { entry: entry.entry, reason: entry.reason });
    assert.equal(acked[0].action, `Acknowledged ("the source stays read-only until we switch back"), so it does not stop the migration. Make one now: ${CREATE}, then run \`pulumi preview\` again.`);
    assert.match(formatFindings(acked)[0], /^WARNING azure_backup_missing \(acknowledged: the source stays read-only until we switch back\): Azure has no completed backup of exampleserver /);
    // The same entry does not match a backup that is merely old: it is reported as unused.
    const old = backupFindings(HOST, checked([backup("auto", "2025-05-01T00:00:00Z")]), now);
    assert.deepEqual(applyAcknowledgements(old, [entry]).map(findingKey), ["azure_backup_old", `acknowledge_unused:${entry.entry}`]);
});

test("without a check, or when it was unavailable, a warning says why and how to check", () => {
    const how = "Check that one finished recently: `az postgres flexible-server backup list --resource-group <resource group of exampleserver> --name exampleserver --output table` (Azure CLI 2.86 and later: `--server-name exampleserver`); make one now with `az postgres flexible-server backup create` if the newest is too old.";
    const now = new Date();
    assert.deepEqual(only(backupFindings(HOST, undefined, now)), {
        level: "warning",
        code: "azure_backup_unverified",
        message: "Preflight could not read Azure's backups of exampleserver: no Azure backup check was run (no Azure credentials were given to preflight). Heroku's guide asks for a recent backup before migrating.",
        action: how,
    });
    const f = only(backupFindings(HOST, { state: "unavailable", reason: "no Azure credentials: could not find any Azure credentials." }, now));
    assert.equal(f.level, "warning");
    assert.equal(f.code, "azure_backup_unverified");
    assert.equal(f.message, "Preflight could not read Azure's backups of exampleserver: no Azure credentials: could not find any Azure credentials. Heroku's guide asks for a recent backup before migrating.");
    assert.equal(f.action, how);
});

test("a host that is not Azure's gets the plain reminder, and Azure's clouds are recognised", () => {
    assert.deepEqual(backupFindings("127.0.0.1", checked([]), new Date()), [{
        level: "info",
        code: "backup_unverified",
        message: "127.0.0.1 is not an Azure Database for PostgreSQL host; preflight does not check its backups.",
        action: "Make sure a recent backup of the source exists before the freeze.",
    }]);
    assert.equal(azureServerName(HOST), "exampleserver");
    assert.equal(azureServerName("localhost"), undefined);
    assert.equal(armEndpointForHost(HOST), "https://management.azure.com");
    assert.equal(armEndpointForHost("db1.postgres.database.chinacloudapi.cn"), "https://management.chinacloudapi.cn");
    assert.equal(armEndpointForHost("DB1.postgres.database.usgovcloudapi.net"), "https://management.usgovcloudapi.net");
});

test("the server is found by name in Microsoft's example server list, case-insensitively", () => {
    assert.deepEqual(findServer(DOCS_SERVER_LIST, "ExampleServer2"), { server: "exampleserver2", resourceGroup: "exampleresourcegroup2" });
    assert.equal(findServer(DOCS_SERVER_LIST, "exampleserver"), undefined);
    assert.equal(findServer([{ name: "exampleserver2" }], "exampleserver2"), undefined, "no id, no resource group");
});

test("ARM errors become reasons that name the missing permission or the config key", () => {
    const forbidden = armErrorDetail(JSON.stringify({ error: { code: "AuthorizationFailed", message: "The client 'ops@example.com' with object id '0000' does not have authorization to perform action 'Microsoft.DBforPostgreSQL/flexibleServers/backups/read' over scope '/subscriptions/s/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/exampleserver' or the scope is invalid." } }));
    assert.match(forbidden, /^AuthorizationFailed: The client 'ops@example\.com' /);
    assert.equal(armErrorDetail("<html>Bad Gateway</html>\n"), "<html>Bad Gateway</html>");
    assert.equal(armErrorDetail(""), "no details");

    const backups = { kind: "backups", subscriptionId: "sub-1", serverName: "exampleserver", resourceGroup: "rg", resourceGroupFromConfig: true } as const;
    const servers = { kind: "servers", subscriptionId: "sub-1", serverName: "exampleserver" } as const;
    assert.equal(armFailureReason(backups, 403, "AuthorizationFailed: denied"),
        "the Azure identity may not read the backups of exampleserver (403 AuthorizationFailed: denied): it needs Microsoft.DBforPostgreSQL/flexibleServers/backups/read (Reader role on the server is enough).");
    assert.equal(armFailureReason(backups, 401, "ExpiredAuthenticationToken: The access token expiry UTC time is earlier than current UTC time."),
        "Azure Resource Manager rejected the credentials while listing the backups of exampleserver in resource group rg (401 ExpiredAuthenticationToken: The access token expiry UTC time is earlier than current UTC time.): sign in again (az login) or fix azure-native's credentials; it needs Microsoft.DBforPostgreSQL/flexibleServers/backups/read (Reader role on the server is enough).");
    assert.equal(armFailureReason(backups, 404, "ResourceNotFound: not found"),
        "flexible server exampleserver was not found in resource group rg of subscription sub-1 (404 ResourceNotFound: not found): check sourceResourceGroup (`pulumi config set sourceResourceGroup <resource group>`), or unset it to find the server by name.");
    assert.match(armFailureReason({ ...backups, resourceGroupFromConfig: false }, 404, "ResourceNotFound"), /: set sourceResourceGroup to its resource group \(`pulumi config set sourceResourceGroup <resource group>`\)\.$/);
    assert.equal(armFailureReason(servers, 403, "AuthorizationFailed: denied"),
        "the Azure identity may not read the subscription's flexible servers (403 AuthorizationFailed: denied): it needs Microsoft.DBforPostgreSQL/flexibleServers/read on the subscription to find exampleserver, or set sourceResourceGroup to skip the search; reading the backups needs Microsoft.DBforPostgreSQL/flexibleServers/backups/read (Reader role on the server is enough).");
    assert.equal(armFailureReason(servers, 404, "SubscriptionNotFound: The subscription 'sub-1' could not be found."),
        "subscription sub-1 was not found while listing the flexible servers of subscription sub-1 (404 SubscriptionNotFound: The subscription 'sub-1' could not be found.): point azure-native at the server's subscription (azure-native:subscriptionId).");
    assert.equal(armFailureReason(servers, 503, "ServiceUnavailable: try later"), "listing the flexible servers of subscription sub-1 failed with HTTP 503 (ServiceUnavailable: try later).");
});

/** A local port nothing listens on: bound, then closed again (nothing answers on it, nothing imitates Azure). */
async function closedPort(): Promise<number> {
    const srv = net.createServer();
    await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => srv.close(() => resolve()));
    return port;
}

test("checkAzureBackups against an unreachable endpoint is unavailable, without the token", async () => {
    const token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.test-arm-token-must-not-leak.signature";
    const sub = "ffffffff-ffff-ffff-ffff-ffffffffffff";
    // Port 9 (discard): fetch refuses it outright ("bad port"), no packet is sent.
    const byName = await checkAzureBackups({ token, subscriptionId: sub, serverName: "exampleserver", armEndpoint: "http://127.0.0.1:9", timeoutMs: 5000 });
    assert.deepEqual(byName, { state: "unavailable", reason: `listing the flexible servers of subscription ${sub} at http://127.0.0.1:9 failed: network error (bad port).` });

    // A closed port: connection refused.
    const port = await closedPort();
    const inGroup = await checkAzureBackups({ token, subscriptionId: sub, serverName: "exampleserver", resourceGroup: "exampleresourcegroup", armEndpoint: `http://127.0.0.1:${port}`, timeoutMs: 5000 });
    assert.equal(inGroup.state, "unavailable");
    const r2 = (inGroup as { reason: string }).reason;
    assert.match(r2, new RegExp(`^listing the backups of exampleserver in resource group exampleresourcegroup at http://127\\.0\\.0\\.1:${port} failed: network error \\(ECONNREFUSED`));
    const bySearch = await checkAzureBackups({ token, subscriptionId: sub, serverName: "exampleserver", armEndpoint: `http://127.0.0.1:${port}`, timeoutMs: 5000 });
    const r3 = (bySearch as { reason: string }).reason;
    assert.match(r3, new RegExp(`^listing the flexible servers of subscription ${sub} at http://127\\.0\\.0\\.1:${port} failed: network error \\(ECONNREFUSED`));
    for (const r of [r2, r3]) assert.ok(!r.includes(token) && !r.includes("test-arm-token"), r);

    // Nothing is requested without what the request needs.
    assert.deepEqual(await checkAzureBackups({ token: "", subscriptionId: "s", serverName: "x" }), { state: "unavailable", reason: "no Azure access token." });
    assert.deepEqual(await checkAzureBackups({ token, subscriptionId: " ", serverName: "x" }), { state: "unavailable", reason: "no Azure subscription id (set azure-native:subscriptionId or ARM_SUBSCRIPTION_ID)." });
    assert.deepEqual(await checkAzureBackups({ token, subscriptionId: "s", serverName: "x", armEndpoint: "not a url" }), { state: "unavailable", reason: 'the ARM endpoint "not a url" is not a URL.' });
});

test("a credential failure is a short, redacted reason", () => {
    const secret = "registered-arm-token-123456";
    registerSecret(secret);
    const err = new Error(`invocation of azure-native:authorization:getClientToken returned an error: Authorization: Bearer abc.def.ghi failed (${secret})\n    at stack line`);
    const r = noCredentials(err);
    assert.equal(r.state, "unavailable");
    const reason = (r as { reason: string }).reason;
    assert.equal(reason, "no Azure credentials: invocation of azure-native:authorization:getClientToken returned an error: Authorization: Bearer [secret] failed ([secret])");
    assert.ok(noCredentials(new Error("x".repeat(500))).state === "unavailable");
    assert.equal((noCredentials(new Error("x".repeat(500))) as { reason: string }).reason.length, "no Azure credentials: ".length + 200);
});

test("preflight.md lists a blocking backup finding with what to do", () => {
    const findings = applyAcknowledgements(backupFindings(HOST, checked([]), new Date("2025-06-01T12:00:00Z")), []);
    const plan = {
        findings,
        counts: { blocking: 1, warning: 0, info: 0 },
        generatedAt: "2025-06-01T12:00:00.000Z",
        source: { host: HOST, port: 5432, database: "appdb", user: "azureadmin", superuser: false },
        target: { postgresMajor: 17, plan: "essential-1", planStorageBytes: null, suggestedPlan: null },
        serverVersion: "16.4", pgDumpVersion: "17.2",
        freeze: { mode: "maintenance", what: "Heroku app frozen." },
        estimate: { dumpSeconds: 0, restoreSeconds: 0, verifySeconds: 0, cutoverSeconds: 30, totalSeconds: 30, assumptions: [], compression: "0", archiveBytes: 0 },
        databases: [], size: { databaseBytes: 0, tableBytes: 0, toastBytes: 0, indexBytes: 0, largeObjects: { count: 0, bytes: 0 }, largestTables: [] },
        extensionReport: [], extensions: [],
    } as unknown as PreflightPlan;
    const md = renderPreflightMarkdown(plan);
    assert.match(md, /\*\*Not ready: 1 blocking finding\.\*\*/);
    assert.match(md, /## Blocking\n\n- \*\*azure_backup_missing\*\*: Azure has no completed backup of exampleserver \(resource group exampleresourcegroup; /);
    assert.ok(md.includes(`  - What to do: Make one now: ${CREATE}, then run \`pulumi preview\` again. To go ahead anyway: \`pulumi config set --path 'acknowledge[0]' 'azure_backup_missing=<why it is safe>'\`.`));
});
