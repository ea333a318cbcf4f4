/**
 * What every stage after the write freeze does when it fails: say where the freeze stands, and,
 * when the user asked for it (`unfreezeOnFailure`, the default), lift the freeze and delete the
 * now-stale dump so that a re-run freezes and dumps again instead of restoring old data.
 */
import { MigrationError, errorMessage, isMigrationError } from "./errors";
import { applyFreeze, freezeInEffect, freezeStatusSentence, liftFreeze, type DumpFate, type FreezeContext, type FreezeRecord, type FreezeSpec } from "./freeze";
import { deleteBlob } from "./blob";
import { progress } from "./progress";
import type { BlobTarget } from "./types";
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
 * on failure, and the dump's blob (the dump writes it; a failure deletes it). The storage account
 * key is not part of it but an input of its own: the SDK marks a whole top-level property secret
 * when anything inside it is, which would hide the source, the freeze and the blob in state and
 * turn every string in them into [secret] in logs and errors.
 */
export interface GuardInputs {
    source: SourceSettings;
    freeze: FreezeState;
    unfreezeOnFailure: boolean;
    storage: Omit<BlobTarget, "accountKey">;
    blobName: string;
}

const GUARD_KEYS = ["source", "freeze", "unfreezeOnFailure", "storage", "blobName"] as const;

/**
 * A stage's guard from its inputs or recorded outputs. State written before the guard was one
 * input holds its five parts at the top level; it is read the same way, so such a stack diffs
 * without replacing anything.
 */
export function guardOf(props: { guard?: GuardInputs } & Partial<GuardInputs>): GuardInputs {
    if (props.guard) return props.guard;
    const { source, freeze, unfreezeOnFailure, storage, blobName } = props;
    if (!source || !freeze || unfreezeOnFailure === undefined || !storage || blobName === undefined) {
        throw new Error(`the stage's inputs carry neither \`guard\` nor the inputs it replaced (${GUARD_KEYS.join(", ")})`);
    }
    return { source, freeze, unfreezeOnFailure, storage, blobName };
}

/** Outputs without the top-level keys of the old shape (an update rewrites them as `guard`). */
export function dropLegacyGuard<T extends object>(props: T): T {
    const out = { ...props } as Record<string, unknown>;
    for (const k of GUARD_KEYS) delete out[k];
    return out as T;
}

export function stageGuard(guard: GuardInputs, accountKey: string): StageGuard {
    return {
        freeze: guard.freeze,
        unfreezeOnFailure: guard.unfreezeOnFailure,
        dump: { target: { ...guard.storage, accountKey }, blobName: guard.blobName },
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
