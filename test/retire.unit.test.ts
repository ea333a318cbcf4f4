/**
 * Retiring the source server (lib/retire.ts, providers/sourceRetirement.ts): the two config keys,
 * the refusals, and the ARM calls against an in-process server that answers with the documented
 * shapes (a test of our client: status codes, Azure-AsyncOperation/Location polling, exact
 * requests). The rehearsal's stand-in (a real local cluster) is in test/retire.test.ts.
 * Run: node --require ts-node/register/transpile-only --test test/retire.unit.test.ts
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as http from "http";
import type { AddressInfo } from "net";
import { isMigrationError } from "../lib/errors";
import { settingsWith } from "./config-fixture";
import { ARM_TOKEN_ENV, REHEARSAL_SOURCE_DIR_ENV, armToken, retireAzureServer, retirementPlanLine, retirementRefusal } from "../lib/retire";
import { sourceRetirementProvider } from "../providers/sourceRetirement";
import { VERIFIED, configureNow, progressOf } from "./retire-fixture";

function messageOf(fn: () => unknown): string {
    try {
        fn();
    } catch (err) {
        assert.ok(isMigrationError(err), "a MigrationError");
        return (err as Error).message;
    }
    assert.fail("expected an error");
}


test("config: retireSourceServer needs retireSourceServerConfirm to name the server exactly", () => {
    assert.deepEqual(settingsWith({}).retireSource, { enabled: false, confirm: undefined });
    assert.deepEqual(settingsWith({ retireSourceServer: "true", retireSourceServerConfirm: "myserver" }).retireSource, { enabled: true, confirm: "myserver" });
    // The confirmation alone deletes nothing and is accepted (it keeps an opt-out an update).
    assert.deepEqual(settingsWith({ retireSourceServerConfirm: "other" }).retireSource, { enabled: false, confirm: "other" });
    assert.equal(
        messageOf(() => settingsWith({ retireSourceServer: "true", retireSourceServerConfirm: "myserver2" })),
        'config `retireSourceServerConfirm`: is "myserver2", not the name of the source server "myserver": `pulumi destroy` deletes the server only when it is named exactly. ' +
        "To retire myserver on destroy, `pulumi config set retireSourceServerConfirm myserver`; otherwise `pulumi config set retireSourceServer false`. Nothing was changed.",
    );
    assert.equal(
        messageOf(() => settingsWith({ retireSourceServer: "true" })),
        "config `retireSourceServerConfirm`: is required with retireSourceServer true: `pulumi destroy` deletes the server only when it is named exactly. " +
        "To retire myserver on destroy, `pulumi config set retireSourceServerConfirm myserver`; otherwise `pulumi config set retireSourceServer false`. Nothing was changed.",
    );
    // Not the full host name: the server's name.
    assert.match(messageOf(() => settingsWith({ retireSourceServer: "true", retireSourceServerConfirm: "myserver.postgres.database.azure.com" })), /not the name of the source server "myserver"/);
    // A non-Azure host is named by the host itself.
    assert.equal(settingsWith({ sourceHost: "127.0.0.1", retireSourceServer: "true", retireSourceServerConfirm: "127.0.0.1" }).retireSource.enabled, true);
});

test("refusals: wrong name, no cutover, no verification, rolled back", () => {
    assert.equal(retirementRefusal(VERIFIED), undefined);
    assert.equal(retirementRefusal({ ...VERIFIED, confirm: "other" }), 'retireSourceServerConfirm is "other", not the server\'s name "myserver"');
    assert.equal(retirementRefusal({ ...VERIFIED, cutoverAt: undefined }), "the stack has no completed cutover, so the apps may still use myserver");
    assert.equal(retirementRefusal({ ...VERIFIED, verifiedAt: undefined }), "the cutover of 2026-12-01T01:00:00.000Z has no recorded verification");
    assert.equal(retirementRefusal({ ...VERIFIED, rolledBackAt: "2026-12-01T02:00:00.000Z" }), "the cutover of 2026-12-01T01:00:00.000Z was rolled back at 2026-12-01T02:00:00.000Z, so the apps use myserver again");
    assert.equal(retirementPlanLine(VERIFIED), "retire: pulumi destroy will delete the Azure server myserver (resource group rg-db) after an on-demand backup, once the cutover is complete and verified; its backups are deleted with it");
    assert.equal(retirementPlanLine({ ...VERIFIED, retire: false }), "retire: pulumi destroy will not delete myserver (retireSourceServer is false)");
});

test("delete: not opted in, or a record that does not allow it, retires nothing and does not fail destroy", async () => {
    const prev = process.env[ARM_TOKEN_ENV];
    delete process.env[ARM_TOKEN_ENV];
    try {
        const out = { ...VERIFIED, recordedAt: "x" };
        await configureNow({ retireSourceServer: "true", retireSourceServerConfirm: "myserver" });
        // No token is asked for: nothing reaches Azure.
        assert.deepEqual(await progressOf(() => sourceRetirementProvider.delete!("id", { ...out, retire: false })), ["[SourceRetirement] myserver is kept (retireSourceServer is false)"]);
        assert.deepEqual(await progressOf(() => sourceRetirementProvider.delete!("id", { ...out, cutoverAt: undefined })), [
            "[SourceRetirement] refused to retire myserver: the stack has no completed cutover, so the apps may still use myserver. Nothing was retired; the rest of destroy goes on. Delete the server yourself when the apps no longer use it.",
        ]);
        // A non-Azure host outside the rehearsal (or SOURCE_DATABASE_URL): refused.
        const prevDir = process.env[REHEARSAL_SOURCE_DIR_ENV];
        delete process.env[REHEARSAL_SOURCE_DIR_ENV];
        try {
            await configureNow({ retireSourceServer: "true", retireSourceServerConfirm: "db.example.com" });
            assert.deepEqual(await progressOf(() => sourceRetirementProvider.delete!("id", { ...out, kind: "other", host: "db.example.com", serverName: "db.example.com", confirm: "db.example.com" })), [
                "[SourceRetirement] refused to retire db.example.com:5432: it is not an Azure Database for PostgreSQL server and not the source cluster this rehearsal started (SOURCE_DATABASE_URL, or not a rehearsal). Nothing was retired; the rest of destroy goes on.",
            ]);
        } finally {
            if (prevDir !== undefined) process.env[REHEARSAL_SOURCE_DIR_ENV] = prevDir;
        }
    } finally {
        if (prev !== undefined) process.env[ARM_TOKEN_ENV] = prev;
    }
});

test("diff never replaces (a replacement would retire during up); a rollback stays recorded until a new cutover", async () => {
    const olds = { ...VERIFIED, recordedAt: "x", rolledBackAt: "2026-12-01T02:00:00.000Z" };
    const d = await sourceRetirementProvider.diff!("id", olds, { ...VERIFIED, serverName: "renamed", confirm: "renamed" });
    assert.deepEqual(d.replaces, []);
    assert.equal(d.changes, true);
    assert.equal((await sourceRetirementProvider.update!("id", olds, { ...VERIFIED })).outs!.rolledBackAt, "2026-12-01T02:00:00.000Z");
    assert.equal((await sourceRetirementProvider.update!("id", olds, { ...VERIFIED, cutoverId: "cutover-v2" })).outs!.rolledBackAt, undefined);
    // The dynamic provider host refuses an undefined value in outs (Struct.fromJavaScript), as under `pulumi up`.
    const outs = (await sourceRetirementProvider.update!("id", olds, { ...VERIFIED, cutoverId: "cutover-v2" })).outs!;
    assert.deepEqual(Object.entries(outs).filter(([, v]) => v === undefined), []);
});

test("ARM token: AZURE_ACCESS_TOKEN, else az; none says exactly what to do", async () => {
    assert.equal(await armToken({ [ARM_TOKEN_ENV]: "tok" }, "https://management.azure.com", () => Promise.reject(new Error("not called"))), "tok");
    assert.equal(await armToken({}, "https://management.azure.com", (r) => Promise.resolve(r === "https://management.azure.com/" ? "from-az" : "wrong")), "from-az");
    await assert.rejects(armToken({}, "https://management.azure.com", () => Promise.reject(new Error("the Azure CLI (az) is not on PATH"))), {
        message: "SourceRetirement: no Azure Resource Manager token to retire the source server: AZURE_ACCESS_TOKEN is not set and the Azure CLI (az) is not on PATH. Nothing was deleted. " +
            "Sign in with `az login` (the Azure CLI on PATH), or `export AZURE_ACCESS_TOKEN=$(az account get-access-token --resource https://management.azure.com/ --query accessToken -o tsv)`, then run `pulumi destroy` again.",
    });
});

// ---------------------------------------------------------------------------------------------
// A local ARM endpoint answering with the documented shapes
// ---------------------------------------------------------------------------------------------

type Handler = (req: http.IncomingMessage, url: URL, base: string) => { status: number; headers?: Record<string, string | undefined>; body?: unknown };

async function armServer(handler: Handler): Promise<{ base: string; requests: string[]; auth: Set<string>; close(): Promise<void> }> {
    const requests: string[] = [];
    const auth = new Set<string>();
    let base = "";
    const server = http.createServer((req, res) => {
        const url = new URL(req.url ?? "/", base);
        requests.push(`${req.method} ${url.pathname}${url.search}`);
        auth.add(req.headers.authorization ?? "");
        const r = handler(req, url, base);
        res.writeHead(r.status, { "Content-Type": "application/json", ...(r.headers ?? {}) });
        res.end(r.body === undefined ? "" : JSON.stringify(r.body));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return { base, requests, auth, close: () => new Promise((r) => server.close(() => r())) };
}

const SERVER_PATH = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-db/providers/Microsoft.DBforPostgreSQL/flexibleServers/myserver";
const API = "?api-version=2025-08-01";

/** Backup: 202 + Azure-AsyncOperation (InProgress, then Succeeded); delete: 202 + Location only (202, then 200). */
function happyArm(): Handler {
    let op = 0;
    let loc = 0;
    return (req, url, base) => {
        const p = url.pathname;
        if (req.method === "GET" && p === SERVER_PATH) return { status: 200, body: { id: SERVER_PATH, name: "myserver", type: "Microsoft.DBforPostgreSQL/flexibleServers", properties: { state: "Ready" } } };
        if (req.method === "PUT" && p.startsWith(`${SERVER_PATH}/backups/`)) {
            return { status: 202, headers: { "Azure-AsyncOperation": `${base}/providers/Microsoft.DBforPostgreSQL/locations/eastus/azureAsyncOperation/op-backup${API}`, Location: `${base}/providers/Microsoft.DBforPostgreSQL/locations/eastus/operationResults/op-backup${API}`, "Retry-After": "0" } };
        }
        if (req.method === "GET" && p.endsWith("/azureAsyncOperation/op-backup")) {
            op++;
            return { status: 200, headers: { "Retry-After": "0" }, body: { name: "op-backup", status: op < 2 ? "InProgress" : "Succeeded", startTime: "2026-12-01T02:00:00Z" } };
        }
        if (req.method === "DELETE" && p === SERVER_PATH) return { status: 202, headers: { Location: `${base}/providers/Microsoft.DBforPostgreSQL/locations/eastus/operationResults/op-delete${API}`, "Retry-After": "0" } };
        if (req.method === "GET" && p.endsWith("/operationResults/op-delete")) {
            loc++;
            return loc < 2 ? { status: 202, headers: { "Retry-After": "0" } } : { status: 200 };
        }
        return { status: 404, body: { error: { code: "NotFound", message: `no route ${req.method} ${p}` } } };
    };
}

test("ARM: on-demand backup (PUT, Azure-AsyncOperation polled), then the server DELETE (Location polled): exact requests", async () => {
    const arm = await armServer(happyArm());
    try {
        const log: string[] = [];
        const r = await retireAzureServer({ token: "tok-123", subscriptionId: "00000000-0000-0000-0000-000000000001", resourceGroup: "rg-db", serverName: "myserver", armEndpoint: arm.base, backupName: "a2h-retire-test", log: (l) => log.push(l) });
        assert.equal(r.deleted, true);
        assert.equal(r.backupName, "a2h-retire-test");
        assert.deepEqual(arm.requests, [
            `GET ${SERVER_PATH}${API}`,
            `PUT ${SERVER_PATH}/backups/a2h-retire-test${API}`,
            `GET /providers/Microsoft.DBforPostgreSQL/locations/eastus/azureAsyncOperation/op-backup${API}`,
            `GET /providers/Microsoft.DBforPostgreSQL/locations/eastus/azureAsyncOperation/op-backup${API}`,
            `DELETE ${SERVER_PATH}${API}`,
            `GET /providers/Microsoft.DBforPostgreSQL/locations/eastus/operationResults/op-delete${API}`,
            `GET /providers/Microsoft.DBforPostgreSQL/locations/eastus/operationResults/op-delete${API}`,
        ]);
        assert.deepEqual([...arm.auth], ["Bearer tok-123"]);
        assert.deepEqual(log.slice(0, 3), [
            "on-demand backup a2h-retire-test of myserver: started",
            "on-demand backup a2h-retire-test of myserver: done (kept for the server's backup retention period, and deleted with the server)",
            "deleting the flexible server myserver",
        ]);
        assert.match(log[3], /^deleted the flexible server myserver at \d{4}-/);
    } finally {
        await arm.close();
    }
});

test("ARM: a failed backup stops before the DELETE; a server already gone is not an error; the token never shows", async () => {
    const failing = await armServer((req, url, base) => {
        if (req.method === "GET" && url.pathname === SERVER_PATH) return { status: 200, body: { name: "myserver" } };
        if (req.method === "PUT") return { status: 202, headers: { "Azure-AsyncOperation": `${base}/op/b${API}`, "Retry-After": "0" } };
        if (req.method === "GET" && url.pathname === "/op/b") return { status: 200, body: { status: "Failed", error: { code: "BackupFailed", message: "storage busy tok-123" } } };
        return { status: 500 };
    });
    try {
        await assert.rejects(
            retireAzureServer({ token: "tok-123", subscriptionId: "00000000-0000-0000-0000-000000000001", resourceGroup: "rg-db", serverName: "myserver", armEndpoint: failing.base, backupName: "b1" }),
            { message: "SourceRetirement: the on-demand backup b1 of myserver (resource group rg-db, subscription 00000000-0000-0000-0000-000000000001) ended Failed (BackupFailed: storage busy [secret]). Nothing was deleted: the server is kept without a fresh backup. Check the backup in the portal, then run `pulumi destroy` again." },
        );
        assert.ok(!failing.requests.some((r) => r.startsWith("DELETE")), "no DELETE after a failed backup");
    } finally {
        await failing.close();
    }

    const gone = await armServer(() => ({ status: 404, body: { error: { code: "ResourceNotFound", message: "not found" } } }));
    try {
        const log: string[] = [];
        const r = await retireAzureServer({ token: "tok-456", subscriptionId: "00000000-0000-0000-0000-000000000001", resourceGroup: "rg-db", serverName: "myserver", armEndpoint: gone.base, log: (l) => log.push(l) });
        assert.deepEqual(r, { deleted: false });
        assert.deepEqual(log, ["no flexible server myserver (resource group rg-db, subscription 00000000-0000-0000-0000-000000000001): it was deleted already, or it is not a flexible server (a Single Server is not retired by this program); nothing was retired"]);
        assert.deepEqual(gone.requests, [`GET ${SERVER_PATH}${API}`]);
    } finally {
        await gone.close();
    }

    const forbidden = await armServer((req) => (req.method === "GET" ? { status: 200, body: {} } : { status: 403, body: { error: { code: "AuthorizationFailed", message: "no write" } } }));
    try {
        await assert.rejects(
            retireAzureServer({ token: "tok-456", subscriptionId: "00000000-0000-0000-0000-000000000001", resourceGroup: "rg-db", serverName: "myserver", armEndpoint: forbidden.base, backupName: "b2" }),
            { message: "SourceRetirement: the on-demand backup b2 of myserver (resource group rg-db, subscription 00000000-0000-0000-0000-000000000001) failed: HTTP 403 AuthorizationFailed: no write. Nothing was deleted. The Azure identity needs Microsoft.DBforPostgreSQL/flexibleServers/backups/write on the server (e.g. the Contributor role). Then run `pulumi destroy` again." },
        );
    } finally {
        await forbidden.close();
    }
});

test("delete through the provider: a verified Azure record is retired with the token from AZURE_ACCESS_TOKEN", async () => {
    const arm = await armServer(happyArm());
    const prev = process.env[ARM_TOKEN_ENV];
    process.env[ARM_TOKEN_ENV] = "env-token";
    try {
        await configureNow({ retireSourceServer: "true", retireSourceServerConfirm: "myserver" });
        // The provider names the backup itself; answer any backup name like happyArm does for its own.
        const lines = await progressOf(() => sourceRetirementProvider.delete!("id", { ...VERIFIED, armEndpoint: arm.base, recordedAt: "x" }).catch((e) => assert.fail(String(e))));
        const put = arm.requests.find((r) => r.startsWith("PUT "));
        assert.match(put ?? "", new RegExp(`^PUT ${SERVER_PATH}/backups/a2h-retire-\\d{8}T\\d{6}\\?api-version=2025-08-01$`));
        assert.ok(lines.some((l) => l.startsWith("[SourceRetirement] retired myserver: deleted at ")), lines.join("\n"));
        assert.deepEqual([...arm.auth], ["Bearer env-token"]);
    } finally {
        if (prev === undefined) delete process.env[ARM_TOKEN_ENV];
        else process.env[ARM_TOKEN_ENV] = prev;
        await arm.close();
    }
});

test("an up that drops the record (both keys removed at once) or a destroy whose configuration no longer asks for it retires nothing", async () => {
    const prev = process.env[ARM_TOKEN_ENV];
    delete process.env[ARM_TOKEN_ENV];
    try {
        const kept = "[SourceRetirement] myserver is kept: the stack's configuration no longer asks to retire it (retireSourceServer true and retireSourceServerConfirm myserver). Nothing was retired.";
        for (const now of [{} as Record<string, string>, { retireSourceServer: "false", retireSourceServerConfirm: "myserver" }, { retireSourceServer: "true", retireSourceServerConfirm: "myserver2" }]) {
            await configureNow(now);
            // A verified, opted-in record: without the guard this would ask for a token and call Azure.
            assert.deepEqual(await progressOf(() => sourceRetirementProvider.delete!("id", { ...VERIFIED, recordedAt: "x" })), [kept]);
        }
    } finally {
        if (prev !== undefined) process.env[ARM_TOKEN_ENV] = prev;
    }
});
