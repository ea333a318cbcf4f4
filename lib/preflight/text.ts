/** Wording helpers shared by the findings, the estimate's assumptions and preflight.md. */

/** "a, b, c" or, past `max` items, "a, ..., h and 3 more". */
export function list(items: string[], max = 8): string {
    if (items.length <= max) return items.join(", ");
    return `${items.slice(0, max).join(", ")} and ${items.length - max} more`;
}

/** "1 table", "2 tables". */
export function plural(n: number, one: string, many = `${one}s`): string {
    return `${n} ${n === 1 ? one : many}`;
}
