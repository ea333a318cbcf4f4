/**
 * Where the Heroku Platform and Data APIs are (HEROKU_HOST, HEROKU_DATA_HOST) and the checks on
 * those addresses: https to a Heroku domain, or http to this machine (the emulator).
 */
import { ConfigError } from "../errors";
import { redact, registerSecret } from "../redact";

// ---------------------------------------------------------------------------------------------
// Endpoints
// ---------------------------------------------------------------------------------------------

export interface HerokuEndpoints {
    /** Secret. Sent only as `Authorization: Bearer` to Heroku domains or loopback hosts. */
    apiKey: string;
    /** Platform API base URL, e.g. https://api.heroku.com or http://127.0.0.1:5000 */
    platformUrl: string;
    /** Data API base URL, e.g. https://api.data.heroku.com */
    dataUrl: string;
}

/** Default Platform API: `@heroku-cli/command/lib/vars.js` (`https://api.${host}`, host default `heroku.com`). */
export const DEFAULT_PLATFORM_URL = "https://api.heroku.com";
/** Default Data API host: `@heroku/heroku-cli-util/dist/utils/pg/host.js` (`api.data.heroku.com`). */
export const DEFAULT_DATA_URL = "https://api.data.heroku.com";

/** `@heroku-cli/command/lib/api-client.js` ALLOWED_HEROKU_DOMAINS / LOCALHOST_DOMAINS: the CLI only
 *  sends the token to these hosts. */
const HEROKU_DOMAINS = ["heroku.com", "herokai.com", "herokuspace.com", "herokudev.com"] as const;
const LOOPBACK_HOSTS = ["localhost", "127.0.0.1", "[::1]"] as const;

function isLoopback(hostname: string): boolean {
    return (LOOPBACK_HOSTS as readonly string[]).includes(hostname.toLowerCase());
}

function isHerokuDomain(hostname: string): boolean {
    const h = hostname.toLowerCase();
    return HEROKU_DOMAINS.some((d) => h === d || h.endsWith(`.${d}`));
}

/**
 * Checks that a base URL is one the API key may be sent to, and normalizes it (no trailing slash,
 * no query). Throws ConfigError naming `key` otherwise.
 */
export function checkBaseUrl(raw: string, key: string): string {
    let u: URL;
    try {
        u = new URL(raw);
    } catch {
        throw new ConfigError(key, `is \`${redact(raw)}\`, which is not a URL or host name.`,
            "Set it to a host such as `heroku.com` or a full URL such as `http://127.0.0.1:5000`, or unset it.");
    }
    if (u.protocol !== "https:" && u.protocol !== "http:") {
        throw new ConfigError(key, `has protocol \`${u.protocol}\`; only https: (and http: for localhost) is supported.`,
            "Use an https:// URL, or unset it to use Heroku's default.");
    }
    if (!isHerokuDomain(u.hostname) && !isLoopback(u.hostname)) {
        throw new ConfigError(key,
            `points at \`${u.host}\`, which is neither a Heroku domain (${HEROKU_DOMAINS.join(", ")}) nor localhost/127.0.0.1, so HEROKU_API_KEY will not be sent there.`,
            "Unset it to use Heroku's default API host, or give a local emulator's full URL such as `http://127.0.0.1:5000`.");
    }
    if (u.protocol === "http:" && !isLoopback(u.hostname)) {
        throw new ConfigError(key, `is \`${u.origin}\`: plain http would send HEROKU_API_KEY unencrypted.`,
            "Use https:// (plain http is accepted only for localhost/127.0.0.1).");
    }
    if (u.username || u.password) {
        throw new ConfigError(key, "contains credentials in the URL.", "Remove them; the API key comes from HEROKU_API_KEY.");
    }
    return `${u.origin}${u.pathname.replace(/\/+$/, "")}`;
}

/**
 * Reads the endpoints like the Heroku CLI does:
 * - `HEROKU_API_KEY` (required here; the CLI would fall back to its netrc login).
 * - `HEROKU_HOST` (`@heroku-cli/command/lib/vars.js`): a value starting with `http` is the full
 *   Platform API URL (`http://localhost:5000`); a bare host `example.com` means
 *   `https://api.example.com`. Unset: `https://api.heroku.com`. The CLI falls back to the default
 *   for a non-Heroku, non-localhost host; we refuse instead (silently talking to production when an
 *   emulator was meant is worse than an error).
 * - `HEROKU_DATA_HOST || HEROKU_POSTGRESQL_HOST` (`@heroku/heroku-cli-util/dist/utils/pg/host.js`,
 *   default `api.data.heroku.com`). The CLI passes it as the request `hostname`, so it is a bare
 *   host that inherits the protocol and port of the Platform API URL
 *   (`HEROKU_HOST=http://localhost:5000` + `HEROKU_DATA_HOST=127.0.0.1` -> `http://127.0.0.1:5000`).
 *   We do the same, and also accept (our extension) `host:port` and a full `http(s)://` URL.
 */
export function herokuEndpointsFromEnv(env: NodeJS.ProcessEnv = process.env): HerokuEndpoints {
    const apiKey = (env.HEROKU_API_KEY ?? "").trim();
    if (!apiKey) {
        const tokenHint = env.HEROKU_API_TOKEN
            ? " HEROKU_API_TOKEN is set, but the variable Heroku tools read is HEROKU_API_KEY."
            : "";
        throw new ConfigError("HEROKU_API_KEY", "is not set, so the Heroku Platform API cannot be called.",
            `Set it to a Heroku API token: run \`export HEROKU_API_KEY=$(heroku auth:token)\` (or create a long-lived token with \`heroku authorizations:create\`).${tokenHint}`);
    }
    registerSecret(apiKey);

    const hostEnv = (env.HEROKU_HOST ?? "").trim();
    let platformUrl = DEFAULT_PLATFORM_URL;
    if (hostEnv) {
        platformUrl = checkBaseUrl(hostEnv.startsWith("http") ? hostEnv : `https://api.${hostEnv}`, "HEROKU_HOST");
    }

    const dataKey = env.HEROKU_DATA_HOST ? "HEROKU_DATA_HOST" : "HEROKU_POSTGRESQL_HOST";
    const dataEnv = (env.HEROKU_DATA_HOST || env.HEROKU_POSTGRESQL_HOST || "").trim();
    let dataUrl = DEFAULT_DATA_URL;
    if (dataEnv) {
        if (/^https?:\/\//i.test(dataEnv)) {
            dataUrl = checkBaseUrl(dataEnv, dataKey);
        } else {
            const p = new URL(platformUrl);
            const hasPort = /:\d+$/.test(dataEnv);
            dataUrl = checkBaseUrl(`${p.protocol}//${dataEnv}${!hasPort && p.port ? `:${p.port}` : ""}`, dataKey);
        }
    }
    return { apiKey, platformUrl, dataUrl };
}
