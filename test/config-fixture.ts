/** The smallest valid stack configuration (every required key), for tests that read settings. */
import { readSettings, type MigrationSettings } from "../lib/config";

export const REQUIRED_CONFIG: Readonly<Record<string, string>> = Object.freeze({
    sourceHost: "myserver.postgres.database.azure.com",
    sourceDatabase: "appdb",
    sourceUser: "azureadmin",
    storageResourceGroup: "rg",
    storageAccountName: "myappmigration",
    herokuApp: "my-app",
});

/** readSettings over REQUIRED_CONFIG with some keys changed (undefined removes a key). */
export function settingsWith(overrides: Record<string, string | undefined> = {}): MigrationSettings {
    const values: Record<string, string | undefined> = { ...REQUIRED_CONFIG, ...overrides };
    return readSettings((k) => values[k]);
}
