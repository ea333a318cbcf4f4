/**
 * Removes credentials from text before it reaches a log, an error, a report or a state file:
 * passwords in connection URLs, SAS signatures, bearer tokens, and any value registered with
 * `registerSecret` (the Heroku API key, the source password) wherever it appears.
 *
 * Kept free of module-level mutable state so that dynamic providers (which are serialized with
 * their closure) can capture it: registered secrets live on `globalThis`.
 */
const REGISTRY_KEY = "__azureToHerokuPgSecrets";

function registry(): Set<string> {
    const g = globalThis as unknown as Record<string, Set<string> | undefined>;
    let set = g[REGISTRY_KEY];
    if (!set) {
        set = new Set<string>();
        g[REGISTRY_KEY] = set;
    }
    return set;
}

/** Remember a secret value so that `redact` removes it from any text, in any position. */
export function registerSecret(value: string | undefined | null): void {
    if (value && value.length >= 4) registry().add(value);
}

export function redact(text: string): string {
    let out = String(text);
    for (const secret of registry()) {
        if (out.includes(secret)) out = out.split(secret).join("[secret]");
        const encoded = encodeURIComponent(secret);
        if (encoded !== secret && out.includes(encoded)) out = out.split(encoded).join("[secret]");
    }
    return out
        // scheme://user:password@host -> scheme://user:[secret]@host
        .replace(/([a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)([^\s@/]+)(@)/gi, "$1[secret]$3")
        // SAS signature query parameter
        .replace(/([?&]sig=)[^&\s"']+/gi, "$1[secret]")
        // Authorization headers and bearer tokens
        .replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]+/g, "$1[secret]")
        // libpq keyword form: password=...
        .replace(/(\bpassword\s*=\s*)('[^']*'|\S+)/gi, "$1[secret]")
        // Azure storage connection strings / shared keys
        .replace(/(AccountKey=)[^;\s"']+/gi, "$1[secret]");
}
