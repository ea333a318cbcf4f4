/**
 * The backup findings: a recent Azure backup of the source before the freeze, as Heroku's guide
 * asks. Pure: the caller (run.ts) lists the flexible server's backups through Azure Resource
 * Manager (lib/azureBackup.ts); this turns that list, or its absence, into one finding:
 * info within AZURE_BACKUP_MAX_AGE_HOURS, a warning when older, blocking when there is none,
 * and without credentials or permission a warning that says how to check.
 */
import { assessBackups, type AzureBackupCheck } from "../azureBackup";
import { formatDuration } from "../progress";
import type { Finding, FindingLevel } from "./finding";
import { plural } from "./text";

const AZURE_HOST = /^([a-z0-9-]+)\.postgres\.database\.(azure\.com|chinacloudapi\.cn|usgovcloudapi\.net)$/i;

/** The server name of an Azure Database for PostgreSQL host (`myserver` of myserver.postgres.database.azure.com), else undefined. */
export function azureServerName(host: string): string | undefined {
    return AZURE_HOST.exec(host)?.[1];
}

/**
 * Azure flexible server takes a snapshot backup once a day, so on a server in use the newest
 * completed backup is at most about 24 hours old; the extra hour covers the snapshot's own run
 * time and the drift of its schedule. Older means a daily snapshot was missed (or skipped: Azure
 * skips it while no database changed, and a stopped server takes none).
 */
export const AZURE_BACKUP_MAX_AGE_HOURS = 25;

/** How to make a backup now, in the CLI's current spelling and the one from Azure CLI 2.86. */
function backupCreateCommand(resourceGroup: string, server: string): string {
    return `\`az postgres flexible-server backup create --resource-group ${resourceGroup} --name ${server} --backup-name pre-heroku-migration\` (Azure CLI 2.86 and later: \`--server-name ${server} --name pre-heroku-migration\`)`;
}

/** "5h03m", or "3.2 days" from two days on. */
function formatAge(ms: number): string {
    return ms < 48 * 3600_000 ? formatDuration(ms) : `${(ms / 86_400_000).toFixed(1)} days`;
}

/**
 * The backup findings for the source host, from Azure's backup list when it was read (pure).
 * - not an Azure host: info `backup_unverified`;
 * - no check, or unavailable: warning `azure_backup_unverified` with the reason and how to check;
 * - newest completed backup within AZURE_BACKUP_MAX_AGE_HOURS: info `azure_backup_recent`;
 * - older: warning `azure_backup_old`; none completed: blocking `azure_backup_missing` (acknowledgeable).
 */
export function backupFindings(host: string, check: AzureBackupCheck | undefined, now: Date): Finding[] {
    const finding = (level: FindingLevel, code: string, message: string, action: string): Finding => ({ level, code, message, action });
    const server = azureServerName(host);
    if (!server) {
        return [finding("info", "backup_unverified",
            `${host} is not an Azure Database for PostgreSQL host; preflight does not check its backups.`, "Make sure a recent backup of the source exists before the freeze.")];
    }
    if (!check || check.state === "unavailable") {
        const why = check ? check.reason.replace(/\.$/, "") : "no Azure backup check was run (no Azure credentials were given to preflight)";
        return [finding("warning", "azure_backup_unverified",
            `Preflight could not read Azure's backups of ${server}: ${why}. Heroku's guide asks for a recent backup before migrating.`,
            `Check that one finished recently: \`az postgres flexible-server backup list --resource-group <resource group of ${server}> --name ${server} --output table\` (Azure CLI 2.86 and later: \`--server-name ${server}\`); make one now with \`az postgres flexible-server backup create\` if the newest is too old.`)];
    }
    const a = assessBackups(check.backups, now);
    const counts = `${plural(a.total, "backup")} listed (${a.automatic} automatic, ${a.onDemand} on-demand${a.total > a.completed ? `, ${a.total - a.completed} without a completion time` : ""})`;
    const create = backupCreateCommand(check.resourceGroup, check.server);
    if (!a.newest) {
        return [finding("blocking", "azure_backup_missing",
            `Azure has no completed backup of ${check.server} (resource group ${check.resourceGroup}; ${counts}): if the migration goes wrong there is no backup to go back to. Heroku's guide asks for a recent backup before migrating.`,
            `Make one now: ${create}, then run \`pulumi preview\` again.`)];
    }
    const n = a.newest;
    const newest = `${n.name} (${n.automatic ? "automatic" : "on-demand"}), completed ${n.completedTime}, ${formatAge(n.ageMs)} ago`;
    if (n.ageMs <= AZURE_BACKUP_MAX_AGE_HOURS * 3600_000) {
        return [finding("info", "azure_backup_recent",
            `Newest Azure backup of ${check.server}: ${newest}; ${counts}.`, "Nothing to do: Azure can restore the source from it (or to any point within its retention) if the migration goes wrong.")];
    }
    return [finding("warning", "azure_backup_old",
        `The newest Azure backup of ${check.server} is ${newest}: older than ${AZURE_BACKUP_MAX_AGE_HOURS} hours, although Azure takes one daily (it skips days on which no database changed, and a stopped server takes none); ${counts}. Heroku's guide asks for a recent backup before migrating.`,
        `Make one now: ${create}, then run \`pulumi preview\` again.`)];
}
