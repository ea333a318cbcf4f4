/**
 * The user's `verifyQueries`: how one is opened (the rule verification and preflight share) and
 * the preflight check that refuses an entry verification would refuse, before anything changes.
 *
 * Verification runs each entry on both databases as a cursor in a READ ONLY, REPEATABLE READ
 * transaction. An entry that is not a query (INSERT, UPDATE, DELETE, DDL, several statements),
 * that writes (a data-modifying WITH, a function that writes), or that fails (a missing table, a
 * syntax error) would therefore only fail at verification: after the freeze, the dump and the
 * restore. Preflight opens each entry the same way on the source, fetches its first row under a
 * statement timeout, and always rolls back.
 *
 * Plain exported functions, no module-level state (dynamic providers capture lib/).
 */
import type { Client } from "pg";
import { errorMessage } from "./errors";
import { redact } from "./redact";
import type { Finding } from "./preflight";

/** Verification and preflight open a user query in this transaction... */
export const USER_QUERY_BEGIN = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
/** ...as this cursor: a named statement goes through the extended protocol, which accepts one statement only. */
export function userQueryCursor(sql: string, index: number): { name: string; text: string } {
    return { name: `a2h_verify_q${index}`, text: `DECLARE a2h_verify_q NO SCROLL CURSOR FOR ${sql.trim().replace(/;+\s*$/, "")}` };
}

/** Statements a cursor can be declared for. */
const QUERY_KEYWORDS = ["select", "with", "values", "table"];

/** The query on one line, at most `max` characters, without credentials: for messages. */
export function shortQuery(sql: string, max = 60): string {
    const line = sql.replace(/\s+/g, " ").trim();
    return redact(line.length > max ? `${line.slice(0, max - 1)}…` : line);
}

/** The statement's first keyword, after comments and opening parentheses (lower case), or "". */
export function firstKeyword(sql: string): string {
    const rest = sql.replace(/^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/|\()*/, "");
    return (/^[a-z_]+/i.exec(rest)?.[0] ?? "").toLowerCase();
}

/** @default 10 s: long enough for a count on an index, short enough for `pulumi preview`. */
export const DEFAULT_QUERY_CHECK_TIMEOUT_MS = 10_000;

/**
 * One finding per `verifyQueries` entry that verification would refuse or that is slow, code
 * `verify_query`, subject `verifyQueries[i]`; none for a good entry. Runs on `c` (the source),
 * each entry in its own read-only transaction that is rolled back. Not acknowledgeable: an entry
 * verification refuses fails the migration whatever preflight says.
 */
export async function checkUserQueries(c: Client, queries: string[], opts: { timeoutMs?: number; user: string; database: string }): Promise<Finding[]> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_QUERY_CHECK_TIMEOUT_MS;
    const findings: Finding[] = [];
    const later = "Verification runs each entry as a cursor in a read-only transaction on both databases, so it would fail after the freeze, the dump and the restore.";
    for (const [i, sql] of queries.entries()) {
        const subject = `verifyQueries[${i}]`;
        const label = `config \`${subject}\` (${shortQuery(sql)})`;
        const example = `\`pulumi config set --path '${subject}' 'SELECT count(*) FROM orders'\``;
        const readOnly = `Give a SELECT (or WITH ... SELECT, VALUES, TABLE) that only reads, e.g. ${example}, or remove the entry.`;
        const block = (message: string, action: string) => findings.push({ level: "blocking", code: "verify_query", subject, message, action });
        const keyword = firstKeyword(sql);
        if (!QUERY_KEYWORDS.includes(keyword)) {
            block(`${label} is not a read-only query: it starts with ${keyword ? keyword.toUpperCase() : "no SQL keyword"}. ${later}`, readOnly);
            continue;
        }
        try {
            await c.query(USER_QUERY_BEGIN);
            await c.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.round(timeoutMs))}`);
            await c.query(userQueryCursor(sql, i));
            await c.query("FETCH 1 FROM a2h_verify_q");
        } catch (err) {
            const e = err as { code?: string; message?: string };
            const what = redact(errorMessage(err));
            if (e.code === "25006" || (e.code === "0A000" && /data-modifying/i.test(String(e.message)))) {
                block(`${label} writes: ${what}. ${later}`, readOnly);
            } else if (/multiple commands/i.test(String(e.message))) {
                block(`${label} holds more than one statement (${what}). ${later}`, `Give one query per entry: split it into verifyQueries[${i}], verifyQueries[${queries.length}], ...`);
            } else if (e.code === "57014") {
                findings.push({
                    level: "warning", code: "verify_query", subject,
                    message: `${label} returned no row within ${timeoutMs / 1000}s in preflight (statement_timeout); verification runs it on both databases while writes are frozen, so it lengthens the freeze.`,
                    action: "Make it cheaper (for example a count or an aggregate an index can answer), or accept the longer freeze.",
                });
            } else {
                block(`${label} fails on the source: ${what}. ${later}`, `Fix the query (it runs as ${opts.user} on database ${opts.database}), or remove the entry: ${example}.`);
            }
        } finally {
            await c.query("ROLLBACK").catch(() => undefined);
        }
    }
    return findings;
}
