/**
 * lib/redact.ts: credentials are removed from any text, also when the URL holding them does not
 * parse, and every part of a registered credential (password, SAS signature) is removed in the
 * forms it takes in text (as is, percent-encoded, JSON-escaped).
 * Run: node --require ts-node/register/transpile-only --test test/redact.unit.test.ts
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { redact, registerSecret, secretParts } from "../lib/redact";

test("an unparseable URL's password is removed up to the last @ before the host", () => {
    assert.equal(redact("SOURCE_DATABASE_URL: postgres://azureadmin:pa/ss@w%zz#x?y@h.example.com:5432/db?sslmode=require is not a valid URL."),
        "SOURCE_DATABASE_URL: postgres://azureadmin:[secret]@h.example.com:5432/db?sslmode=require is not a valid URL.");
    // Azure Single Server's user@server form
    assert.equal(redact("postgres://azureadmin@myserver:pw@h/db"), "postgres://azureadmin@myserver:[secret]@h/db");
    // Two URLs in one word: the first does not swallow the second.
    assert.equal(redact('{"a":"https://x.blob/c?sv=1&sig=abc%2F","b":"postgres://u:p@h"}'), '{"a":"https://x.blob/c?sv=1&sig=[secret]","b":"postgres://u:[secret]@h"}');
    // No userinfo, no change.
    assert.equal(redact("see https://devcenter.heroku.com/articles/heroku-postgresql"), "see https://devcenter.heroku.com/articles/heroku-postgresql");
});

test("a registered database URL's password is removed alone, percent-encoded and JSON-escaped; host and user stay", () => {
    const password = `Zq/9@x'y"%k`;
    const url = `postgres://u1abc:${encodeURIComponent(password)}@ec2-1-2-3-4.compute-1.amazonaws.com:5432/d9xyz?sslmode=require`;
    assert.deepEqual(secretParts(url), [encodeURIComponent(password), password]);
    registerSecret(url);
    assert.equal(redact(`the password is ${password}.`), "the password is [secret].");
    assert.equal(redact(`encoded ${encodeURIComponent(password)} lower ${encodeURIComponent(password).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase())}`), "encoded [secret] lower [secret]");
    assert.equal(redact(JSON.stringify({ out: `pw=${password}` })), '{"out":"pw=[secret]"}');
    assert.equal(redact(`DATABASE_URL=${url}`), "DATABASE_URL=postgres://u1abc:[secret]@ec2-1-2-3-4.compute-1.amazonaws.com:5432/d9xyz?sslmode=require");
});

test("a registered SAS URL's signature is removed alone, decoded or encoded", () => {
    const sig = "AbC+d/e9Xyz=";
    registerSecret(`https://acct.blob.core.windows.net/c/b.dump?sv=2022-11-02&se=2026-12-01T00%3A00%3A00Z&sr=b&sp=r&sig=${encodeURIComponent(sig)}`);
    assert.equal(redact(`signature ${sig} / ${encodeURIComponent(sig)}`), "signature [secret] / [secret]");
});

test("a value that is not a URL is registered whole", () => {
    registerSecret("HRKU-0123456789abcdef");
    assert.equal(redact("Authorization: token HRKU-0123456789abcdef"), "Authorization: token [secret]");
});
