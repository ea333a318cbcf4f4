/** Shared by test/retire.unit.test.ts and test/retire.test.ts: a verified Azure record, and the provider's progress lines. */
import type { RetirementRecord } from "../lib/retire";
import { sourceRetirementProvider } from "../providers/sourceRetirement";

/** The progress lines (stderr) written while fn runs. */
export async function progressOf(fn: () => Promise<unknown>): Promise<string[]> {
    const lines: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    (process.stderr as unknown as { write: (s: string) => boolean }).write = (s: string) => {
        lines.push(...String(s).split("\n").filter(Boolean));
        return true;
    };
    try {
        await fn();
    } finally {
        (process.stderr as unknown as { write: typeof write }).write = write;
    }
    return lines;
}

export const VERIFIED: RetirementRecord = {
    retire: true, confirm: "myserver", serverName: "myserver", host: "myserver.postgres.database.azure.com", port: 5432, kind: "azure",
    resourceGroup: "rg-db", subscriptionId: "00000000-0000-0000-0000-000000000001",
    cutoverId: "cutover-v1", cutoverAt: "2026-12-01T01:00:00.000Z", verificationId: "v1", verifiedAt: "2026-12-01T00:59:00.000Z",
};

/** The stack configuration the provider is configured with when it runs (destroy, or an up). */
export async function configureNow(values: Record<string, string>): Promise<void> {
    await sourceRetirementProvider.configure!({ config: { get: (k: string) => values[k] } } as any);
}
