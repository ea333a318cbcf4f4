/**
 * Heroku Postgres plans the emulated add-on service accepts, with the monthly list prices the
 * Platform API reports in `plan.price` (the CLI prints them on `addons:create`).
 *
 * Plan names: Heroku Dev Center, "Heroku Postgres Plans"
 * (https://devcenter.heroku.com/articles/heroku-postgres-plans): Essential, Standard, Premium,
 * Private and Shield tiers. The retired hobby-dev/hobby-basic/mini/basic plans are refused like
 * any unknown plan. Prices are approximate list prices (USD/month); they are only displayed.
 */
import { stableUuid } from "./util";

export const ADDON_SERVICE = "heroku-postgresql";
export const ADDON_SERVICE_HUMAN_NAME = "Heroku Postgres";

export interface EmulatedPlan {
    id: string;
    /** e.g. `heroku-postgresql:essential-1` */
    name: string;
    cents: number;
}

const TIER_PRICES: Record<string, number[]> = {
    // index = size suffix 0, 2, 3, ... 10 (there is no -1)
    standard: [50, 200, 400, 750, 1400, 2000, 3500, 4500, 5800, 7000],
    premium: [200, 350, 750, 1200, 2500, 3500, 6000, 8500, 11000, 13000],
    private: [300, 600, 1200, 1800, 3600, 5000, 7000, 10000, 13500, 16000],
    shield: [350, 700, 1400, 2100, 4200, 5800, 8000, 11500, 15500, 18500],
};
const SUFFIXES = ["0", "2", "3", "4", "5", "6", "7", "8", "9", "10"];

export function emulatedPlans(): EmulatedPlan[] {
    const plans: Array<[string, number]> = [
        ["essential-0", 5],
        ["essential-1", 9],
        ["essential-2", 20],
    ];
    for (const [tier, prices] of Object.entries(TIER_PRICES)) {
        SUFFIXES.forEach((s, i) => plans.push([`${tier}-${s}`, prices[i]]));
    }
    return plans.map(([short, dollars]) => {
        const name = `${ADDON_SERVICE}:${short}`;
        return { id: stableUuid(`plan:${name}`), name, cents: dollars * 100 };
    });
}

/** The plan Heroku picks when only the service is named (`heroku addons:create heroku-postgresql`). */
export const DEFAULT_PLAN = `${ADDON_SERVICE}:essential-0`;

/** Finds a plan by `heroku-postgresql:<plan>`, by the bare service name (its default plan), or by plan id. */
export function findEmulatedPlan(nameOrId: string): EmulatedPlan | undefined {
    const wanted = nameOrId.trim() === ADDON_SERVICE ? DEFAULT_PLAN : nameOrId.trim();
    return emulatedPlans().find((p) => p.name === wanted || p.id === wanted);
}
