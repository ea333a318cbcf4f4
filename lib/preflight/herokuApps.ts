/**
 * The Heroku apps the configuration relies on (the app frozen by maintenance mode, an adopted
 * target app, the dependent apps): which ones must exist before anything is created or frozen.
 * The lookup itself is the caller's (run.ts, read-only Platform API); the heroku_app_missing
 * rule (findings.ts) reports the missing ones.
 */


/** A Heroku app named in the configuration, and whether the Platform API found it. */
export interface HerokuAppCheck {
    name: string;
    /** The config key that names it. */
    key: string;
    exists: boolean;
}

/**
 * The existing Heroku apps the migration relies on: the app frozen by maintenance mode, an
 * adopted target app, and the dependent apps. Apps this stack creates are not expected to exist.
 */
export function herokuAppsToCheck(settings: {
    heroku: { app: string; createApp: boolean };
    freeze: { mode: string; app: string };
    dependentApps: string[];
}): { name: string; key: string }[] {
    const created = settings.heroku.createApp ? settings.heroku.app : undefined;
    const out: { name: string; key: string }[] = [];
    const push = (name: string, key: string) => {
        if (name !== created && !out.some((o) => o.name === name)) out.push({ name, key });
    };
    if (!settings.heroku.createApp) push(settings.heroku.app, "herokuApp");
    if (settings.freeze.mode === "maintenance") push(settings.freeze.app, "freezeApp");
    for (const app of settings.dependentApps) push(app, "dependentApps");
    return out;
}
