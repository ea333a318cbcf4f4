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

export function findPlan(name: string, plans: PlanInfo[] = herokuPostgresPlans()): PlanInfo | undefined {
    const bare = name.replace(/^heroku-postgresql:/, "");
    return plans.find((p) => p.name === bare);
}

/** Tiers a plan may be swapped for when it is too small: the same tier first, then the next ones up. */
const TIER_ESCALATION: Record<PlanInfo["tier"], PlanInfo["tier"][]> = {
    essential: ["essential", "standard", "premium"],
    standard: ["standard", "premium"],
    premium: ["premium"],
    private: ["private"],
    shield: ["shield"],
};

/**
 * The smallest plan whose storage holds `bytes`, preferring the tier of `current` (tiers differ in
 * availability, not only size), then the tiers above it. Undefined when nothing is big enough.
 */
export function smallestPlanThatFits(bytes: number, current: PlanInfo, plans: PlanInfo[] = herokuPostgresPlans()): PlanInfo | undefined {
    for (const tier of TIER_ESCALATION[current.tier] ?? [current.tier]) {
        const fit = plans.filter((p) => p.tier === tier && p.storageBytes >= bytes).sort((a, b) => a.storageBytes - b.storageBytes)[0];
        if (fit) return fit;
    }
    return undefined;
}

/**
 * The PostgreSQL major version Heroku gives a new heroku-postgresql add-on when no `--version` is
 * asked for (this program asks for none). Sources: Heroku Dev Center "Upgrading the Version of a
 * Heroku Postgres Database" (devcenter.heroku.com/articles/upgrading-heroku-postgres-databases,
 * May 2025: "The most recent major Postgres version supported by Heroku is 17", upgrades default
 * to the latest) and "Heroku Postgres Version Support"
 * (devcenter.heroku.com/articles/heroku-postgres-version-support, which names the default; it
 * moves to each new major about a year after release). Check `heroku pg:info` after provisioning.
 */
export const HEROKU_DEFAULT_POSTGRES_MAJOR = 17;

/**
 * "Usually, the dump and restore strategy for migration is suitable if your database size is less
 * than 100 GB." Heroku Dev Center, "Migrating to Heroku Postgres from Azure"
 * (devcenter.heroku.com/articles/migrating-from-azure). Above it, the freeze gets long and a
 * replication-based migration (Heroku Data Services / support) is the better tool.
 */
export const DUMP_RESTORE_LIMIT_BYTES = 100 * GB;
