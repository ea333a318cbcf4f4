/**
 * The rehearsal's state file: what Pulumi's backend keeps for a stack (resources with their
 * inputs, outputs, dependencies and options, and the stack outputs), in one JSON file.
 * Secrets are stored the way Pulumi's passphrase provider stores them: encrypted
 * (AES-256-GCM, key in a separate 0600 file), never in plain text.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";

export const SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export interface Secret { [SIG_KEY]: string; value: unknown }

export function isSecret(v: unknown): v is Secret {
    return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

export function secret(value: unknown): Secret {
    return { [SIG_KEY]: SECRET_SIG, value: unwrapSecrets(value) };
}

/** Plain value with every secret wrapper removed (what a provider sees). */
export function unwrapSecrets(v: unknown): any {
    if (isSecret(v)) return unwrapSecrets(v.value);
    if (Array.isArray(v)) return v.map(unwrapSecrets);
    if (v && typeof v === "object") {
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v)) out[k] = unwrapSecrets(x);
        return out;
    }
    return v;
}

/** Every string inside a secret wrapper (for redaction: what Pulumi would mask). */
export function secretStrings(v: unknown, inSecret = false): string[] {
    if (isSecret(v)) return secretStrings(v.value, true);
    if (typeof v === "string") return inSecret ? [v] : [];
    if (Array.isArray(v)) return v.flatMap((x) => secretStrings(x, inSecret));
    if (v && typeof v === "object") return Object.values(v).flatMap((x) => secretStrings(x, inSecret));
    return [];
}

export function containsSecret(v: unknown): boolean {
    if (isSecret(v)) return true;
    if (Array.isArray(v)) return v.some(containsSecret);
    if (v && typeof v === "object") return Object.values(v).some(containsSecret);
    return false;
}

export interface ResourceState {
    urn: string;
    type: string;
    name: string;
    custom: boolean;
    id?: string;
    parent?: string;
    dependencies: string[];
    retainOnDelete: boolean;
    deleteBeforeReplace: boolean;
    /** `protect`: the engine refuses to delete it, or to replace it while the program still protects it. */
    protect?: boolean;
    additionalSecretOutputs: string[];
    /** Values may hold secret wrappers in memory. */
    inputs: Record<string, unknown>;
    outputs: Record<string, unknown>;
}

export interface StackState {
    version: 1;
    project: string;
    stack: string;
    resources: ResourceState[];
    outputs: Record<string, unknown>;
    updatedAt?: string;
    lastResult?: { kind: "up" | "destroy"; ok: boolean; error?: string };
}

function encrypt(key: Buffer, plaintext: string): string {
    const iv = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv("aes-256-gcm", key, iv);
    const data = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), data]).toString("base64");
}

function decrypt(key: Buffer, encoded: string): string {
    const raw = Buffer.from(encoded, "base64");
    const decipher = crypto.createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
}

function encode(key: Buffer, v: unknown): unknown {
    if (isSecret(v)) return { secure: encrypt(key, JSON.stringify(unwrapSecrets(v.value) ?? null)) };
    if (Array.isArray(v)) return v.map((x) => encode(key, x));
    if (v && typeof v === "object") {
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v)) out[k] = encode(key, x);
        return out;
    }
    return v;
}

function decode(key: Buffer, v: unknown): unknown {
    if (v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 1 && typeof (v as { secure?: unknown }).secure === "string") {
        return secret(JSON.parse(decrypt(key, (v as { secure: string }).secure)));
    }
    if (Array.isArray(v)) return v.map((x) => decode(key, x));
    if (v && typeof v === "object") {
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v)) out[k] = decode(key, x);
        return out;
    }
    return v;
}

export class StateFile {
    private key: Buffer;
    private writing: Promise<void> = Promise.resolve();

    constructor(readonly file: string, keyFile: string) {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        if (!fs.existsSync(keyFile)) {
            fs.writeFileSync(keyFile, crypto.randomBytes(32).toString("base64"), { mode: 0o600 });
        }
        this.key = Buffer.from(fs.readFileSync(keyFile, "utf8").trim(), "base64");
    }

    load(project: string, stack: string): StackState {
        if (!fs.existsSync(this.file)) return { version: 1, project, stack, resources: [], outputs: {} };
        const raw = JSON.parse(fs.readFileSync(this.file, "utf8"));
        return decode(this.key, raw) as StackState;
    }

    /** Writes atomically; concurrent saves are serialized. */
    save(state: StackState): Promise<void> {
        const snapshot = JSON.stringify(encode(this.key, { ...state, updatedAt: new Date().toISOString() }), null, 2);
        this.writing = this.writing.then(() => {
            const tmp = `${this.file}.tmp`;
            fs.writeFileSync(tmp, snapshot, { mode: 0o600 });
            fs.renameSync(tmp, this.file);
        });
        return this.writing;
    }
}
