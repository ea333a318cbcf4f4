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

function decoded(s: string): string | undefined {
    try {
        return decodeURIComponent(s);
    } catch {
        return undefined;
    }
}

/**
 * The secret parts of a credential-shaped value, found by string operations only (it may not
 * parse): a URL's password (`scheme://user:password@host`, up to the last
 * `@` before the host, so a password holding `/`, `@`, `#`, `?` or a bad `%` escape still counts),
 * and a SAS URL's `sig=` signature; each as written and percent-decoded.
 */
export function secretParts(value: string): string[] {
    const parts: string[] = [];
    const add = (s: string | undefined) => {
        if (s) parts.push(s, ...(decoded(s) !== undefined && decoded(s) !== s ? [decoded(s) as string] : []));
    };
    const url = /^\s*[a-z][a-z0-9+.-]*:\/\/((?:(?!:\/\/)\S)*)@/i.exec(value);
    if (url) {
        const userinfo = url[1];
        const colon = userinfo.indexOf(":");
        // Every occurrence of `user:password` holds the password; the pair itself only when the
        // password is too short to be registered alone (the user name stays readable otherwise).
        if (colon >= 0) add(userinfo.length - colon - 1 >= 4 ? userinfo.slice(colon + 1) : userinfo);
    }
    for (const m of value.matchAll(/[?&]sig=([^&\s"']+)/gi)) add(m[1]);
    return parts;
}

/**
 * Remember a secret value so that `redact` removes it from any text, in any position. Of a URL
 * (a database URL, a SAS URL) its secret parts are registered instead, so its password or
 * signature is removed wherever it appears, alone or in another form of the URL, while the host
 * and path stay readable.
 */
export function registerSecret(value: string | undefined | null): void {
    if (!value) return;
    const secrets = /^\s*[a-z][a-z0-9+.-]*:\/\//i.test(value) ? secretParts(value) : [value];
    for (const s of secrets) if (s.length >= 4) registry().add(s);
}

/** The forms a secret takes in text: as is, percent-encoded (either case of hex), JSON-escaped. */
function forms(secret: string): string[] {
    const encoded = encodeURIComponent(secret);
    const strict = encoded.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    const lower = (e: string) => e.replace(/%[0-9A-F]{2}/g, (x) => x.toLowerCase());
    const json = JSON.stringify(secret).slice(1, -1);
    return [...new Set([secret, encoded, strict, lower(encoded), lower(strict), json])];
}

export function redact(text: string): string {
    let out = String(text);
    // Longest first, so that a URL goes before its password.
    const secrets = [...registry()].sort((a, b) => b.length - a.length);
    for (const secret of secrets) {
        for (const form of forms(secret)) if (out.includes(form)) out = out.split(form).join("[secret]");
    }
    return out
        // scheme://user:password@host -> scheme://user:[secret]@host; the userinfo runs to the
        // last @ of the word (not into a next URL), so a password with /, @, #, ? or % is covered even when unparseable.
        .replace(/([a-z][a-z0-9+.-]*:\/\/)((?:(?!:\/\/)\S)*)@/gi, (all, scheme: string, userinfo: string) => {
            const colon = userinfo.indexOf(":");
            return colon < 0 || userinfo.slice(colon + 1) === "[secret]" ? all : `${scheme}${userinfo.slice(0, colon)}:[secret]@`;
        })
        // SAS signature query parameter
        .replace(/([?&]sig=)[^&\s"']+/gi, "$1[secret]")
        // Authorization headers and bearer tokens
        .replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]+/g, "$1[secret]")
        // libpq keyword form: password=...
        .replace(/(\bpassword\s*=\s*)('[^']*'|\S+)/gi, "$1[secret]")
        // Azure storage connection strings / shared keys
        .replace(/(AccountKey=)[^;\s"']+/gi, "$1[secret]");
}
