/** Small helpers shared by the emulator's Platform API and Data API handlers. */
import * as crypto from "crypto";

/** A Platform/Data API error: answered as `{id, message}` (plus any extra fields) with `status`. */
export class ApiError extends Error {
    readonly status: number;
    readonly id: string;
    readonly extra: Record<string, unknown>;
    constructor(status: number, id: string, message: string, extra: Record<string, unknown> = {}) {
        super(message);
        this.status = status;
        this.id = id;
        this.extra = extra;
    }
}

export function notFound(message: string, resource?: string): ApiError {
    return new ApiError(404, "not_found", message, resource ? { resource } : {});
}

export function invalidParams(message: string): ApiError {
    return new ApiError(422, "invalid_params", message);
}

export function uuid(): string {
    return crypto.randomUUID();
}

/** A UUID derived from a name, so plan/service/region ids stay the same across emulator restarts. */
export function stableUuid(name: string): string {
    const h = crypto.createHash("sha1").update(`heroku-emulator:${name}`).digest("hex");
    const variant = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function isUuid(s: string): boolean {
    return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);
}

/** Platform API timestamps: ISO 8601 in UTC without fractions, e.g. `2012-01-01T12:00:00Z`. */
export function platformTime(d: Date = new Date()): string {
    return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Data API (transfers) timestamps, as Heroku's Ruby services render them: `2016-10-08 00:42:54 +0000`. */
export function dataTime(d: Date = new Date()): string {
    return d.toISOString().replace("T", " ").replace(/\.\d{3}Z$/, " +0000");
}

const ADJECTIVES = [
    "agile", "amber", "ancient", "autumn", "billowing", "bitter", "black", "blue", "bold", "brave", "calm", "cold", "cool",
    "crimson", "curly", "damp", "dark", "dawn", "delicate", "divine", "dry", "empty", "falling", "fancy", "floating",
    "fragrant", "frosty", "gentle", "glacial", "green", "hidden", "holy", "icy", "jagged", "lively", "long", "misty",
    "morning", "muddy", "nameless", "old", "patient", "polished", "proud", "quiet", "rapid", "red", "rough", "shiny",
    "silent", "small", "snowy", "solitary", "sparkling", "spring", "still", "summer", "sweet", "twilight", "wandering",
    "weathered", "white", "wild", "winter", "young",
];
const NOUNS = [
    "bird", "breeze", "brook", "bush", "butterfly", "cherry", "cloud", "darkness", "dawn", "dew", "dream", "dust",
    "feather", "field", "fire", "firefly", "flower", "fog", "forest", "frog", "glade", "grass", "haze", "hill", "lake",
    "leaf", "meadow", "moon", "morning", "mountain", "night", "paper", "pine", "pond", "rain", "resonance", "river",
    "sea", "shadow", "shape", "silence", "sky", "smoke", "snow", "sound", "star", "sun", "sunset", "surf", "thunder",
    "tree", "violet", "voice", "water", "waterfall", "wave", "wildflower", "wind", "wood",
];

function pick<T>(xs: readonly T[]): T {
    return xs[crypto.randomInt(xs.length)];
}

/** A Heroku-style generated app name, e.g. `floating-dragon-42817`. */
export function generatedAppName(): string {
    return `${pick(ADJECTIVES)}-${pick(NOUNS)}-${crypto.randomInt(10000, 100000)}`;
}

/** A Heroku Postgres add-on name, e.g. `postgresql-curly-12345`. */
export function generatedAddonName(): string {
    return `postgresql-${pick(ADJECTIVES)}-${crypto.randomInt(10000, 100000)}`;
}

/** Colors Heroku Postgres uses for `HEROKU_POSTGRESQL_<COLOR>` attachment names. */
export const POSTGRES_COLORS = [
    "AMBER", "AQUA", "BLACK", "BLUE", "BRONZE", "BROWN", "CHARCOAL", "COBALT", "COPPER", "CRIMSON", "CYAN", "GOLD",
    "GRAY", "GREEN", "IVORY", "JADE", "LIME", "MAROON", "MAUVE", "NAVY", "OLIVE", "ONYX", "ORANGE", "PINK", "PUCE",
    "PURPLE", "RED", "ROSE", "SILVER", "TEAL", "WHITE", "YELLOW",
];

export function randomHex(bytes: number): string {
    return crypto.randomBytes(bytes).toString("hex");
}

/** Double-quotes a SQL identifier. */
export function qi(s: string): string {
    return `"${s.replace(/"/g, '""')}"`;
}

/** Single-quotes a SQL literal. */
export function ql(s: string): string {
    return `'${s.replace(/'/g, "''")}'`;
}

/** A parsed Platform API `Range` header, e.g. `version ..; max=10, order=desc` or `id ]abc..; max=200`. */
export interface ListRange {
    field: string;
    start?: string;
    startExclusive: boolean;
    end?: string;
    max: number;
    order: "asc" | "desc";
}

/**
 * Parses a `Range` header the way the Platform API reads it (https://devcenter.heroku.com/articles/platform-api-reference#ranges):
 * `<field> [<start>]..[<end>][; max=<n>][, order=<asc|desc>]`; `]` before start makes it exclusive
 * (that is how Next-Range continues). Unknown fields and bad values are 416
 * `requested_range_not_satisfiable`, as on Heroku. Without a header: `fields[0] ..; max=200`.
 */
export function parseRange(header: string | string[] | undefined, fields: string[]): ListRange {
    const raw = (Array.isArray(header) ? header[0] : header)?.trim();
    const bad = () => new ApiError(416, "requested_range_not_satisfiable", `Invalid Range header "${raw}". Acceptable ranges are by: ${fields.join(", ")}.`);
    if (!raw) return { field: fields[0], startExclusive: false, max: 200, order: "asc" };
    const m = /^([a-z_]+)\s*(\]?)([^.;\s]*)\.\.([^;\s]*)\s*(?:;\s*(.*))?$/i.exec(raw);
    if (!m || !fields.includes(m[1])) throw bad();
    const out: ListRange = { field: m[1], startExclusive: m[2] === "]", start: m[3] || undefined, end: m[4] || undefined, max: 200, order: "asc" };
    for (const part of (m[5] ?? "").split(/[,;]/).map((p) => p.trim()).filter(Boolean)) {
        const kv = /^(max|order)=(\S+)$/.exec(part);
        if (!kv) throw bad();
        if (kv[1] === "max") {
            const n = Number(kv[2]);
            if (!Number.isInteger(n) || n < 1 || n > 1000) throw bad();
            out.max = n;
        } else {
            if (kv[2] !== "asc" && kv[2] !== "desc") throw bad();
            out.order = kv[2];
        }
    }
    return out;
}

/**
 * Applies a range to a list: sorted by the field, cut at start/end, at most `max` items. The
 * answer is 206 with `Next-Range` when more items follow, else 200; `Content-Range` names what was sent.
 */
export function rangeList<T>(items: T[], range: ListRange, key: (item: T) => string | number): { status: number; body: T[]; headers: Record<string, string> } {
    const cmp = (a: string | number, b: string | number) => (typeof a === "number" && typeof b === "number" ? a - b : String(a).localeCompare(String(b)));
    const typed = (s: string, sample: string | number) => (typeof sample === "number" ? Number(s) : s);
    let list = [...items].sort((a, b) => cmp(key(a), key(b)));
    if (range.order === "desc") list.reverse();
    // position of v relative to a bound in the requested order: < 0 comes before it
    const pos = (v: string | number, bound: string) => (range.order === "asc" ? 1 : -1) * cmp(v, typed(bound, v));
    if (range.start !== undefined) list = list.filter((i) => (range.startExclusive ? pos(key(i), range.start!) > 0 : pos(key(i), range.start!) >= 0));
    if (range.end !== undefined) list = list.filter((i) => pos(key(i), range.end!) <= 0);
    const page = list.slice(0, range.max);
    const headers: Record<string, string> = {};
    if (page.length > 0) headers["Content-Range"] = `${range.field} ${key(page[0])}..${key(page[page.length - 1])}`;
    if (list.length > page.length) {
        headers["Next-Range"] = `${range.field} ]${key(page[page.length - 1])}..; max=${range.max}, order=${range.order}`;
        return { status: 206, body: page, headers };
    }
    return { status: 200, body: page, headers };
}
