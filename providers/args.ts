/**
 * A dynamic resource's Args are its provider's Inputs, each accepting an Output: written once,
 * on the Inputs, so the two cannot drift apart.
 */
import * as pulumi from "@pulumi/pulumi";
import type { GuardInputs } from "../lib/stage";

export type ArgsOf<T> = { [K in keyof T]: pulumi.Input<T[K]> };

/**
 * The Args of a stage that carries the guard (lib/stage.ts): the guard is a plain object of
 * Inputs, not one Output, so that only its account key is secret. One secret Output for the
 * whole guard would make every string in it (app names, the source host...) a secret, which
 * then shows as [secret] wherever it is printed.
 */
export type GuardedArgsOf<T extends { guard: GuardInputs }> = Omit<ArgsOf<T>, "guard"> & { guard: ArgsOf<GuardInputs> };

/** The guard as a resource input: its account key secret, the rest readable. */
export function guardInput(guard: ArgsOf<GuardInputs>): ArgsOf<GuardInputs> {
    return { ...guard, accountKey: pulumi.secret(guard.accountKey) };
}
