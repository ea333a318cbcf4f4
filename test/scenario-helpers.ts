/** Helpers for tests made of steps of one scenario (both tiers: nothing here starts a service). */
import type { TestContext } from "node:test";

/**
 * The steps of one scenario (up, fail, resume...) as sub-tests of one top-level test: run in
 * order; once a step fails the later ones are skipped, since each starts from what the one
 * before it left.
 */
export function scenarioSteps(t: TestContext): (name: string, fn: () => void | Promise<void>) => Promise<void> {
    let failed: string | undefined;
    return async (name, fn) => {
        await t.test(name, { skip: failed ? `the step before failed: ${failed}` : false }, async () => {
            try {
                await fn();
            } catch (err) {
                failed = name;
                throw err;
            }
        });
    };
}
