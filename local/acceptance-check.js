#!/usr/bin/env node
// The rehearsal's acceptance test: what an app's smoke test would do against the new database.
// Runs with DATABASE_URL in its environment (set by the Migration's acceptance Command); exits
// non-zero, which stops the cutover, when the demo's core queries do not answer as expected.
const { Client } = require("pg");

async function main() {
    const url = process.env.DATABASE_URL;
    if (!url) throw new Error("DATABASE_URL is not set");
    const client = new Client({ connectionString: url.replace(/[?&]sslmode=[^&]*/, ""), ssl: /sslmode=(require|verify)/.test(url) ? { rejectUnauthorized: false } : false });
    await client.connect();
    try {
        const customers = await client.query("SELECT count(*)::int AS n FROM public.customers");
        const joined = await client.query(
            "SELECT count(*)::int AS n FROM public.orders o JOIN public.customers c ON c.id = o.customer_id",
        );
        const orders = await client.query("SELECT count(*)::int AS n FROM public.orders");
        if (customers.rows[0].n === 0) throw new Error("no customers on the new database");
        if (joined.rows[0].n !== orders.rows[0].n) throw new Error(`orders without customers: ${orders.rows[0].n - joined.rows[0].n}`);
        console.log(`acceptance: ${customers.rows[0].n} customers, ${orders.rows[0].n} orders, every order has its customer`);
    } finally {
        await client.end();
    }
}

main().catch((err) => {
    console.error(`acceptance failed: ${err.message}`);
    process.exit(1);
});
