/**
 * What the write freeze stops, in one sentence for preview, preflight.md and the freeze_plan
 * finding, from the freeze settings (lib/config.ts) and the estimated freeze time.
 */
import type { FreezeSettings } from "../config";

export interface FreezePlan {
    mode: FreezeSettings["mode"] | "unknown";
    /** One sentence: what stops writes, and when. */
    what: string;
}

export function freezePlan(freeze: FreezeSettings | undefined, estimate: string): FreezePlan {
    if (!freeze) return { mode: "unknown", what: "Not known here (no freeze settings were given to preflight)." };
    switch (freeze.mode) {
        case "maintenance":
            return {
                mode: "maintenance",
                what: `Heroku app "${freeze.app}" goes into maintenance mode${freeze.scaleDown.length ? ` and its ${freeze.scaleDown.join(", ")} process type${freeze.scaleDown.length === 1 ? " is" : "s are"} scaled to 0 (quantities restored at cutover)` : ""}, from after the Heroku database is provisioned until cutover: about ${estimate}.`,
            };
        case "readonly-source":
            return {
                mode: "readonly-source",
                what: `The source database is set read-only (ALTER DATABASE ... SET default_transaction_read_only = on) and its other sessions are ended, from after the Heroku database is provisioned until cutover: about ${estimate}. Reads keep working.`,
            };
        case "hook":
            return {
                mode: "hook",
                what: `freezeCommand \`${freeze.command ?? ""}\` stops writes and unfreezeCommand \`${freeze.unfreezeCommand ?? ""}\` resumes them at cutover: about ${estimate} in between.`,
            };
        case "none":
            return { mode: "none", what: "Nothing is frozen (freezeMode none)." };
    }
}
