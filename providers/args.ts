/**
 * A dynamic resource's Args are its provider's Inputs, each accepting an Output: written once,
 * on the Inputs, so the two cannot drift apart.
 */
import type * as pulumi from "@pulumi/pulumi";

export type ArgsOf<T> = { [K in keyof T]: pulumi.Input<T[K]> };
