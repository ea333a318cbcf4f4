/** Types shared by lib/, providers/, local/ and the emulator. Plain data only. */

/** How to reach a PostgreSQL server. `password` is a secret: never log it, never put it in state. */
export interface PgConnection {
    host: string;
    port: number;
    database: string;
    user: string;
    password?: string;
    /** libpq sslmode. Azure requires `require` or stricter. @default "require" */
    sslmode?: "disable" | "allow" | "prefer" | "require" | "verify-ca" | "verify-full";
    /** Path to a CA bundle for verify-ca / verify-full. */
    sslrootcert?: string;
}

/** Where the dump blob lives. `accountKey` is a secret. */
export interface BlobTarget {
    accountName: string;
    accountKey: string;
    /** e.g. https://acct.blob.core.windows.net, or Azurite's http://127.0.0.1:10000/devstoreaccount1 */
    blobEndpoint: string;
    container: string;
}

export interface TableRowCount {
    schema: string;
    name: string;
    sourceRows: number;
    targetRows: number | null;
    match: boolean;
}
