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
