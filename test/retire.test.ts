/**
 * The rehearsal's stand-in for retiring the Azure server: the source cluster the rehearsal started
 * (a real local cluster) is stopped and its data directory removed. The rest of retiring is in
 * test/retire.unit.test.ts.
 * Run: node --require ts-node/register/transpile-only --test test/retire.test.ts
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REHEARSAL_SOURCE_DIR_ENV } from "../lib/retire";
import { sourceRetirementProvider } from "../providers/sourceRetirement";
import { startCluster } from "../local/postgres";
import { VERIFIED, configureNow, progressOf } from "./retire-fixture";

test("rehearsal stand-in: the source cluster the rehearsal started is stopped and its data directory removed", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "a2h-retire-"));
    const dataDir = path.join(dir, "source");
    const cluster = await startCluster({ dataDir });
    const prevDir = process.env[REHEARSAL_SOURCE_DIR_ENV];
    process.env[REHEARSAL_SOURCE_DIR_ENV] = dataDir;
    try {
        const record = { ...VERIFIED, kind: "other" as const, host: "127.0.0.1", serverName: "127.0.0.1", confirm: "127.0.0.1", port: cluster.port, recordedAt: "x" };
        await configureNow({ retireSourceServer: "true", retireSourceServerConfirm: "127.0.0.1" });
        // Another port on the same host (SOURCE_DATABASE_URL at another database) is refused.
        const refused = await progressOf(() => sourceRetirementProvider.delete!("id", { ...record, port: cluster.port + 1 }));
        assert.match(refused[0], /^\[SourceRetirement\] refused to retire 127\.0\.0\.1:\d+: it is not an Azure Database for PostgreSQL server and not the source cluster this rehearsal started\. /);
        assert.ok(fs.existsSync(path.join(dataDir, "PG_VERSION")) || fs.existsSync(dataDir));

        const lines = await progressOf(() => sourceRetirementProvider.delete!("id", record));
        assert.deepEqual(lines, [`[SourceRetirement] retired the rehearsal's source 127.0.0.1:${cluster.port} (stands in for the Azure server): stopped, removed ${dataDir}`]);
        assert.equal(fs.existsSync(dataDir), false);
        assert.equal(fs.existsSync(`${dataDir}.cluster.json`), false);
        // Idempotent: a second destroy finds nothing and refuses without failing.
        const again = await progressOf(() => sourceRetirementProvider.delete!("id", record));
        assert.match(again[0], /^\[SourceRetirement\] refused to retire/);
    } finally {
        if (prevDir === undefined) delete process.env[REHEARSAL_SOURCE_DIR_ENV];
        else process.env[REHEARSAL_SOURCE_DIR_ENV] = prevDir;
        await cluster.stop().catch(() => undefined);
        fs.rmSync(dir, { recursive: true, force: true });
    }
});
