/**
 * Verification of a restored copy: proves that the target holds what the frozen source holds,
 * before DATABASE_URL is published. Every comparison runs on both servers and only small
 * results travel to the client:
 *
 * - schema: schemas, tables (kind, persistence, partition key and bound, inheritance, row
 *   security, options), columns (position, type, collation, default, NOT NULL, generated,
 *   identity), constraints (pk, unique, fk, check, exclusion; table and domain), indexes (with
 *   validity), views and materialized views, sequences (definition), functions, procedures and
 *   aggregates, triggers (with enabled state), row-security policies, enums, domains, range and
 *   composite types - each as the server deparses it (pg_get_*def), so differences are listed
 *   object by object. Owners, grants and policy roles are not compared (Heroku restores with
 *   --no-owner --no-acl). Extension members are left to the extension comparison.
 * - data: per table an exact row count and an order-independent checksum, in one scan, on each
 *   server: `count(*)` and `sum(hash(row text))` (O(1) memory server-side; sum, not xor, so
 *   duplicate rows count). The row text is rendered with the same session settings on both
 *   sides. When a table with a primary key differs, the differing rows are located by hash
 *   buckets of the key (a few more scans, bounded client memory) and named by key.
 *   Partitioned tables are the sum of their partitions.
 * - sequences (last_value, is_called), large objects (count, bytes, checksum, per object),
 *   extensions (name, version, schema), settings (pg_settings and ALTER DATABASE SET, as CSV for
 *   both sides and a classified diff), the user's queries (read-only, hash of the ordered
 *   result, first differing row), and the restore log's error and warning lines.
 *
 * Time: settings and schema are read at the same time; then tables (largest first,
 * `concurrency` at a time), sequences, large objects and the user's queries run beside one
 * another. The source side of the table checksums can be computed earlier, during the restore
 * (precomputeSourceChecksums), and is used only while the source provably has not changed.
 * Modules (one concept each): session.ts (identical rendering, the source/target session pair),
 * schema.ts, data.ts, tableProgress.ts (the data comparison's progress numbers and lines), sequences.ts, largeObjects.ts, extensions.ts, settings.ts, queries.ts,
 * sourceChecksums.ts, verifyDatabases.ts (the orchestration and the verdict); the restore log's
 * lines are classified by lib/restoreLog.ts and "the user's objects" are lib/catalog.ts's.
 * This index re-exports the public API, so `import ... from "../lib/verify"` is unchanged.
 *
 * Plain exported functions, no module-level mutable state (dynamic providers capture these files).
 */
export { verifyDatabases, type VerifyOptions, type VerificationResult } from "./verifyDatabases";
export { precomputeSourceChecksums, transactionHorizon, type SourceChecksums } from "./sourceChecksums";
export { chooseRendering, renderingSettings, type Rendering, type ServerInfo, type Side } from "./session";
export {
    inspectSchema, diffSchema, normalizeAcrossVersions, differenceSnippet, describeSchemaDifference,
    type SchemaObjectKind, type SchemaObject, type SchemaSnapshot, type SchemaDifference, type SchemaComparison, type RelationInfo,
} from "./schema";
export { compareTableData, locateRowDifferences, largestFirst, describeTableCheck, type TableCheck, type RowDifference, type SideChecksum, type CompareTableDataOptions } from "./data";
export { tableProgress, scanBytes, DIFFERENCE_LINES, type TableProgress, type TableProgressTracker } from "./tableProgress";
export { readSequences, type SequenceCheck, type SequenceValue } from "./sequences";
export { compareLargeObjects, describeLargeObjectDifference, type LargeObjectComparison, type LargeObjectSummary } from "./largeObjects";
export { type ExtensionCheck } from "./extensions";
export {
    classifySetting, settingsCsv, readServerSettings, diffSettings, describeSettingDifference,
    type SettingCategory, type SettingDifference, type SettingsComparison, type SettingRow, type SettingsSnapshot,
} from "./settings";
export { compareQuery, describeQueryCheck, type QueryCheck } from "./queries";
export { scanRestoreLogs } from "../restoreLog";
export { mapLimit } from "./util";
