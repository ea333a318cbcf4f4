/**
 * What every stage after the write freeze does when it fails: say where the freeze stands, and,
 * when the user asked for it (`unfreezeOnFailure`, the default), lift the freeze and delete the
 * now-stale dump so that a re-run freezes and dumps again instead of restoring old data.
 */
import { MigrationError, errorMessage, isMigrationError } from "./errors";
import { applyFreeze, freezeInEffect, freezeStatusSentence, liftFreeze, type DumpFate, type FreezeContext, type FreezeRecord, type FreezeSpec } from "./freeze";
import { deleteBlob } from "./blob";
import { progress } from "./progress";
import type { BlobTarget, PgConnection } from "./types";
import type { SourceSettings } from "./config";

export interface FreezeState {
    spec: FreezeSpec;
    record: FreezeRecord;
}

export interface StageGuard {
    freeze: FreezeState;
    unfreezeOnFailure: boolean;
    /** The dump to delete when the freeze is lifted after a failure. */
    dump?: { target: BlobTarget; blobName: string };
}

/**
 * The one input every stage from the dump on carries, built once by the component: the source
 * (the dump reads it; a failure lifts a read-only freeze on it), the freeze, whether to lift it
 * on failure, and the dump's blob (the dump writes it; a failure deletes it). Only its account
 * key is secret (providers/args.ts guardInput).
 */
export interface GuardInputs {
    source: SourceSettings;
    freeze: FreezeState;
    unfreezeOnFailure: boolean;
    storage: Omit<BlobTarget, "accountKey">;
    accountKey: string;
    blobName: string;
}

/**
 * A stage's guard from its inputs or recorded outputs. State written before the guard was one
 * input holds the six at the top level; it is read the same way, so such a stack diffs without
 * replacing anything.
 */
export function guardOf(props: { guard?: GuardInputs } & Partial<GuardInputs>): GuardInputs {
    if (props.guard) return props.guard;
    const { source, freeze, unfreezeOnFailure, storage, accountKey, blobName } = props;
    if (!source || !freeze || unfreezeOnFailure === undefined || !storage || accountKey === undefined || blobName === undefined) {
        throw new Error("the stage's inputs carry neither `guard` nor the six inputs it replaced (source, freeze, unfreezeOnFailure, storage, accountKey, blobName)");
    }
    return { source, freeze, unfreezeOnFailure, storage, accountKey, blobName };
}

/** Outputs without the six top-level keys of the old shape (an update rewrites them as `guard`). */
export function dropLegacyGuard<T extends object>(props: T): T {
    const out = { ...props } as Record<string, unknown>;
    for (const k of ["source", "freeze", "unfreezeOnFailure", "storage", "accountKey", "blobName"]) delete out[k];
    return out as T;
}

export function stageGuard(inputs: GuardInputs): StageGuard {
    return {
        freeze: inputs.freeze,
        unfreezeOnFailure: inputs.unfreezeOnFailure,
        dump: { target: { ...inputs.storage, accountKey: inputs.accountKey }, blobName: inputs.blobName },
    };
}

export async function guardedStage<T>(stage: string, guard: StageGuard, ctx: FreezeContext, work: () => Promise<T>): Promise<T> {
    try {
        return await work();
    } catch (err) {
        let lifted = false;
        let dump: DumpFate = "none";
        let cleanupNote = "";
        if (guard.unfreezeOnFailure && guard.freeze.spec.mode !== "none") {
            try {
                await liftFreeze(guard.freeze.spec, guard.freeze.record, ctx);
                lifted = true;
            } catch (liftErr) {
                cleanupNote = ` Lifting the freeze after the failure also failed: ${errorMessage(liftErr)}.`;
            }
            if (lifted && guard.dump) {
                try {
                    // Nothing to delete when the dump itself failed: blocks are committed only after pg_dump exits 0.
                    dump = (await deleteBlob(guard.dump.target, guard.dump.blobName)) ? "deleted" : "none";
                } catch (deleteErr) {
                    dump = "not-deleted";
                    cleanupNote = ` Deleting the stale dump failed: ${errorMessage(deleteErr)}.`;
                }
            }
        }
        const what = isMigrationError(err) ? err.message.replace(/^[^:]*: /, "") : errorMessage(err);
        const hint = isMigrationError(err) ? err.hint : "";
        const status = freezeStatusSentence(guard.freeze.spec, lifted, dump);
        throw new MigrationError(stage, `${what}${what.includes(hint) ? "" : ` ${hint}`}${cleanupNote}`.trim(), status);
    }
}

/** Before dumping on a resumed run: make sure writes are still frozen; re-apply if lifted. */
export async function ensureFrozen(freeze: FreezeState, ctx: FreezeContext): Promise<FreezeRecord> {
    const inEffect = await freezeInEffect(freeze.record, ctx);
    if (inEffect === true) return freeze.record;
    progress("WriteFreeze", inEffect === false ? "the freeze was lifted since it was applied: applying it again before the dump" : "re-running freezeCommand before the dump (hook state cannot be checked)");
    return applyFreeze(freeze.spec, ctx, freeze.record);
}

/** The source connection with the password from provider configuration. */
export function withPassword(conn: Omit<PgConnection, "password">, password: string | undefined): PgConnection {
    return { ...conn, password };
}
