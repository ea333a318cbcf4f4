/**
 * Preflight (runPreflight in plan.ts): what it checks, the freeze estimate, the findings and how
 * they are shown, one concept per module. This index re-exports the public API, so
 * `import ... from "lib/preflight"` is unchanged. The Pulumi program's preflight (Heroku app
 * lookups, Azure backups, report files, logging, the blocking error) is run.ts, imported from
 * there directly: it needs the Pulumi runtime, which this API does not.
 */
export { runPreflight, type PreflightOptions, type PreflightPlan, type PreflightResult, type RestoreExtension } from "./plan";
export { findingKey, type Finding, type FindingLevel } from "./finding";
export { applyAcknowledgements } from "./acknowledgements";
export { AZURE_BACKUP_MAX_AGE_HOURS, azureServerName, backupFindings } from "./backup";
export { ESTIMATE_ASSUMPTIONS, computeEstimate, type EstimateInput, type FreezeEstimate } from "./estimate";
export type { FreezePlan } from "./freezePlan";
export { herokuAppsToCheck, type HerokuAppCheck } from "./herokuApps";
export type { ExtensionReport, TableSize } from "./inspection";
export type { ReadSample } from "./readRate";
export { formatFindings, preflightJson, renderPreflightMarkdown } from "./render";
