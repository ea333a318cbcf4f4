/**
 * Errors a user can meet. Every message says what happened, to what, and what to do next
 * (DESIGN.md style rule 7). Messages pass through `redact` so that no credential can leak
 * through an error, whatever the caller put in it.
 *
 * Why not `class MigrationError extends Error`: dynamic providers are serialized by Pulumi's
 * closure serializer, which rewrites `super(message)` into `Error.call(this, message)`; that
 * does not set `message`, so every error thrown inside a provider would arrive empty. These
 * constructors therefore build a plain `Error` and return it (callable with or without `new`);
 * test for them with `isMigrationError`, not `instanceof`.
 */
import { redact } from "./redact";

export interface MigrationError extends Error {
    /** The stage or setting the error is about, e.g. `HerokuRestore` or config `sourceHost`. */
    subject: string;
    /** What the user should do next. */
    hint: string;
}

function makeError(name: string, subject: string, what: string, hint: string): MigrationError {
    const err = new Error(redact(`${subject}: ${what}${hint ? ` ${hint}` : ""}`)) as MigrationError;
    err.name = name;
    err.subject = subject;
    err.hint = redact(hint);
    return err;
}

type ErrorCtor = { new (subject: string, what: string, hint: string): MigrationError; (subject: string, what: string, hint: string): MigrationError };

/** `new MigrationError("HerokuRestore", "the transfer failed: ...", "Fix X, then run `pulumi up` again.")` */
export const MigrationError = function (subject: string, what: string, hint: string): MigrationError {
    return makeError("MigrationError", subject, what, hint);
} as unknown as ErrorCtor;

/** A configuration value is missing or invalid: `new ConfigError("sourceHost", "is required.", "Set it with ...")`. */
export const ConfigError = function (key: string, what: string, hint: string): MigrationError {
    return makeError("ConfigError", `config \`${key}\``, what, hint);
} as unknown as ErrorCtor;

export function isMigrationError(err: unknown): err is MigrationError {
    return err instanceof Error && (err.name === "MigrationError" || err.name === "ConfigError");
}

/** Turns anything thrown into a redacted one-line message. */
export function errorMessage(err: unknown): string {
    if (err instanceof Error) return redact(err.message);
    return redact(String(err));
}
