/**
 * Heroku Postgres plans we accept for `herokuPlan`, with their storage limits.
 * Source: Heroku Dev Center, "Heroku Postgres Plans" (devcenter.heroku.com/articles/heroku-postgres-plans),
 * Essential, Standard, Premium, Private and Shield tiers. Kept in this one place; preflight
 * (issue 5) compares the source size against `storageBytes`.
 */
const GB = 1024 ** 3;

export interface PlanInfo {
    name: string;
    tier: "essential" | "standard" | "premium" | "private" | "shield";
    storageBytes: number;
}

const SIZES: Array<[string, number]> = [
    ["0", 64], ["2", 256], ["3", 512], ["4", 768], ["5", 1024], ["6", 1536], ["7", 2048], ["8", 3072], ["9", 4096], ["10", 8192],
];

export function herokuPostgresPlans(): PlanInfo[] {
    const plans: PlanInfo[] = [
        { name: "essential-0", tier: "essential", storageBytes: 1 * GB },
        { name: "essential-1", tier: "essential", storageBytes: 10 * GB },
        { name: "essential-2", tier: "essential", storageBytes: 32 * GB },
    ];
    for (const tier of ["standard", "premium", "private", "shield"] as const) {
        for (const [suffix, gb] of SIZES) plans.push({ name: `${tier}-${suffix}`, tier, storageBytes: gb * GB });
    }
    return plans;
}

export function findPlan(name: string): PlanInfo | undefined {
    const bare = name.replace(/^heroku-postgresql:/, "");
    return herokuPostgresPlans().find((p) => p.name === bare);
}
