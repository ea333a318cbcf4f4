/**
 * Settings: pg_settings of both servers (read on fresh sessions, before any SET, so they show
 * what applications get), the database's ALTER DATABASE ... SET entries and its encoding and
 * locale, as CSV for the report and as a classified diff: a setting that changes what queries
 * return is "behaviour", one that changes plans and speed "performance"; paths, ports, memory
 * sizing, WAL and logging always differ between two servers and are ignored. Differences fail
 * only for the settings the user requires equal (verifyRequireSettings).
 */
import type { Client } from "pg";
import { redact } from "../redact";
import { byName } from "./util";

export type SettingCategory = "behaviour" | "performance" | "other";
export interface SettingDifference {
    name: string;
    category: SettingCategory;
    /** Value as SHOW prints it, or null when the setting does not exist / is not visible. */
    source: string | null;
    target: string | null;
    /** Where the value comes from (pg_settings.source: default, configuration file, database, user...). */
    sourceOrigin?: string;
    targetOrigin?: string;
    required: boolean;
    note?: string;
}
export interface SettingsComparison {
    ok: boolean;
    differences: SettingDifference[];
    /** Names of settings that differ but always differ between servers (paths, ports, memory sizing, logging...). */
    ignored: string[];
    compared: number;
    /** ALTER DATABASE ... SET entries on each side (pg_dump does not carry these to Heroku). */
    databaseSettings: { source: string[]; target: string[] };
    /** Database properties: encoding, collation, ctype, locale provider. */
    database: { source: Record<string, string>; target: Record<string, string> };
    /** pg_settings of each side as CSV (name,setting,unit,source,category). */
    csv: { source: string; target: string };
}

/** Settings that change what queries return or how they behave. */
const BEHAVIOUR_SETTINGS = [
    "search_path", "timezone", "datestyle", "intervalstyle", "lc_messages", "lc_monetary", "lc_numeric", "lc_time",
    "lc_collate", "lc_ctype", "server_encoding", "client_encoding", "default_transaction_isolation", "default_transaction_read_only",
    "default_transaction_deferrable", "standard_conforming_strings", "bytea_output", "extra_float_digits", "statement_timeout",
    "lock_timeout", "idle_in_transaction_session_timeout", "idle_session_timeout", "transaction_timeout", "default_text_search_config",
    "check_function_bodies", "row_security", "xmloption", "xmlbinary", "array_nulls", "backslash_quote", "escape_string_warning",
    "transform_null_equals", "quote_all_identifiers", "session_replication_role", "synchronous_commit", "default_table_access_method",
    "default_tablespace", "temp_tablespaces", "timezone_abbreviations", "gin_fuzzy_search_limit", "lo_compat_privileges",
    "default_toast_compression", "max_connections", "plpgsql.variable_conflict", "plpgsql.extra_warnings", "plpgsql.extra_errors",
    "client_min_messages", "default_with_oids", "operator_precedence_warning", "allow_system_table_mods", "shared_preload_libraries",
    "session_preload_libraries", "local_preload_libraries", "exit_on_error", "temp_file_limit", "vacuum_freeze_min_age",
    "old_snapshot_threshold", "max_locks_per_transaction", "max_pred_locks_per_transaction", "password_encryption", "integer_datetimes",
];
/** Settings that change plans and speed. */
const PERFORMANCE_SETTINGS = [
    "work_mem", "maintenance_work_mem", "hash_mem_multiplier", "temp_buffers", "effective_cache_size", "random_page_cost",
    "seq_page_cost", "cpu_tuple_cost", "cpu_index_tuple_cost", "cpu_operator_cost", "parallel_setup_cost", "parallel_tuple_cost",
    "min_parallel_table_scan_size", "min_parallel_index_scan_size", "effective_io_concurrency", "maintenance_io_concurrency",
    "default_statistics_target", "constraint_exclusion", "cursor_tuple_fraction", "from_collapse_limit", "join_collapse_limit",
    "max_parallel_workers_per_gather", "max_parallel_workers", "max_parallel_maintenance_workers", "plan_cache_mode",
    "force_parallel_mode", "debug_parallel_query", "recursive_worktree_factor", "parallel_leader_participation", "logical_decoding_work_mem",
];
const PERFORMANCE_PATTERNS = [/^enable_/, /^geqo/, /^jit/];
/** Settings that always differ between two servers: paths, ports, TLS files, memory sizing, WAL, replication, logging. */
const IGNORED_SETTINGS = [
    "application_name", "cluster_name", "session_authorization", "role", "is_superuser", "in_hot_standby", "transaction_isolation",
    "transaction_read_only", "transaction_deferrable", "shared_buffers", "huge_pages", "huge_page_size", "huge_pages_status",
    "shared_memory_type", "shared_memory_size", "shared_memory_size_in_huge_pages", "dynamic_shared_memory_type",
    "min_dynamic_shared_memory", "max_stack_depth", "max_files_per_process", "max_worker_processes", "max_prepared_transactions",
    "superuser_reserved_connections", "reserved_connections", "max_wal_size", "min_wal_size", "server_version", "server_version_num",
    "data_checksums", "data_directory_mode", "block_size", "segment_size", "wal_block_size", "wal_segment_size", "max_function_args",
    "max_identifier_length", "max_index_keys", "debug_assertions", "krb_server_keyfile", "krb_caseins_users", "dynamic_library_path",
    "port", "listen_addresses", "authentication_timeout", "db_user_namespace", "event_source", "update_process_title",
    "max_wal_senders", "max_replication_slots", "max_logical_replication_workers", "max_sync_workers_per_subscription",
    "max_parallel_apply_workers_per_subscription", "fsync", "full_page_writes", "commit_delay", "commit_siblings",
    "backend_flush_after", "bgwriter_delay", "bgwriter_lru_maxpages", "bgwriter_lru_multiplier", "bgwriter_flush_after",
    "vacuum_buffer_usage_limit", "io_combine_limit", "autovacuum_worker_slots", "restart_after_crash", "remove_temp_files_after_crash",
    "unix_socket_directories", "unix_socket_group", "unix_socket_permissions", "bonjour", "bonjour_name", "ignore_system_indexes",
    "ignore_checksum_failure", "zero_damaged_pages", "ignore_invalid_pages", "data_sync_retry", "recovery_init_sync_method",
    "shared_preload_libraries_loaded", "config_file", "hba_file", "ident_file", "data_directory", "external_pid_file",
    "stats_temp_directory", "primary_conninfo", "primary_slot_name", "restore_command", "archive_command", "archive_library",
    "archive_mode", "archive_timeout", "archive_cleanup_command", "promote_trigger_file", "synchronous_standby_names",
];
const IGNORED_PATTERNS = [
    /^ssl/, /^log_/, /^logging_/, /^syslog_/, /^wal_/, /^checkpoint_/, /^track_/, /^stats_/, /^hot_standby/, /^recovery_/,
    /^tcp_/, /^debug_(print|pretty|discard|io|logical|copy)/, /^trace_/, /^autovacuum/, /^vacuum_cost/, /^max_slot_wal/,
    /^idle_replication/, /^wal_sender/, /^wal_receiver/, /^gss/, /^krb/, /^compute_query_id$/, /^event_triggers$/,
    /^pg_stat_statements\./, /^auto_explain\./, /^azure\./, /^heroku\./, /^pgms_/, /^pg_qs\./, /^pgaudit\./, /^cron\./,
];

export function classifySetting(name: string): SettingCategory | "ignored" {
    const n = name.toLowerCase();
    if (BEHAVIOUR_SETTINGS.includes(n)) return "behaviour";
    if (PERFORMANCE_SETTINGS.includes(n) || PERFORMANCE_PATTERNS.some((re) => re.test(n))) return "performance";
    if (IGNORED_SETTINGS.includes(n) || IGNORED_PATTERNS.some((re) => re.test(n))) return "ignored";
    return "other";
}

export interface SettingRow {
    name: string;
    setting: string;
    unit: string;
    source: string;
    category: string;
    display: string;
}

export interface SettingsSnapshot {
    rows: SettingRow[];
    databaseSettings: string[];
    database: Record<string, string>;
}

function csvField(v: string): string {
    return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export function settingsCsv(rows: SettingRow[]): string {
    const lines = ["name,setting,unit,source,category"];
    for (const r of rows) lines.push([r.name, r.setting, r.unit, r.source, r.category].map(csvField).join(","));
    return lines.join("\n") + "\n";
}

/** Must run on a fresh session (before any SET), so that pg_settings shows what applications get. */
export async function readServerSettings(c: Client): Promise<SettingsSnapshot> {
    const res = await c.query<SettingRow>(
        `SELECT name, coalesce(setting, '') AS setting, coalesce(unit, '') AS unit, source, category, coalesce(current_setting(name, true), setting, '') AS display
           FROM pg_catalog.pg_settings ORDER BY name`);
    const db = await c.query<{ cfg: string }>(
        `SELECT cfg FROM pg_catalog.pg_db_role_setting s, unnest(s.setconfig) AS cfg
          WHERE s.setrole = 0 AND s.setdatabase = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()) ORDER BY 1`);
    const props = await c.query<{ j: Record<string, unknown> }>(
        "SELECT to_jsonb(d) AS j FROM pg_catalog.pg_database d WHERE d.datname = current_database()");
    const j = props.rows[0]?.j ?? {};
    const database: Record<string, string> = {};
    const enc = await c.query<{ e: string }>("SELECT pg_catalog.pg_encoding_to_char(encoding) AS e FROM pg_catalog.pg_database WHERE datname = current_database()");
    database.encoding = enc.rows[0]?.e ?? "";
    for (const [k, label] of [["datcollate", "collate"], ["datctype", "ctype"], ["datlocprovider", "locale provider"], ["daticulocale", "icu locale"], ["datlocale", "locale"], ["daticurules", "icu rules"]] as const) {
        if (j[k] !== undefined && j[k] !== null && j[k] !== "") database[label] = String(j[k]);
    }
    return {
        rows: res.rows.map((r) => ({ ...r, display: redact(r.display), setting: redact(r.setting) })),
        databaseSettings: db.rows.map((r) => redact(r.cfg)),
        database,
    };
}

export function diffSettings(
    source: SettingsSnapshot, target: SettingsSnapshot,
    opts: { requireSettings?: string[]; expected?: Record<string, string> } = {},
): SettingsComparison {
    const required = new Set((opts.requireSettings ?? []).map((s) => s.toLowerCase()));
    const expected = new Map(Object.entries(opts.expected ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    const a = new Map(source.rows.map((r) => [r.name.toLowerCase(), r] as const));
    const b = new Map(target.rows.map((r) => [r.name.toLowerCase(), r] as const));
    const names = [...new Set([...a.keys(), ...b.keys(), ...required])].sort();
    const differences: SettingDifference[] = [];
    const ignored: string[] = [];
    let compared = 0;
    for (const n of names) {
        const x = a.get(n);
        const y = b.get(n);
        const isRequired = required.has(n);
        if (x && y) compared++;
        const same = x && y && x.setting === y.setting && x.unit === y.unit;
        if (same) continue;
        const cls = classifySetting(n);
        if (cls === "ignored" && !isRequired) {
            ignored.push(x?.name ?? y?.name ?? n);
            continue;
        }
        const d: SettingDifference = {
            name: x?.name ?? y?.name ?? n,
            category: cls === "ignored" ? "other" : cls,
            source: x ? x.display : null,
            target: y ? y.display : null,
            required: isRequired,
        };
        if (x) d.sourceOrigin = x.source;
        if (y) d.targetOrigin = y.source;
        if (expected.has(n)) d.note = expected.get(n);
        else if (!x && !y) d.note = "not a setting on either server";
        differences.push(d);
    }
    // Database properties that change sorting and text handling.
    for (const k of [...new Set([...Object.keys(source.database), ...Object.keys(target.database)])].sort()) {
        const x = source.database[k];
        const y = target.database[k];
        if (x === y) continue;
        differences.push({ name: `database ${k}`, category: "behaviour", source: x ?? null, target: y ?? null, required: required.has(`database ${k}`) });
    }
    const rank: Record<SettingCategory, number> = { behaviour: 0, performance: 1, other: 2 };
    differences.sort((p, q) => Number(q.required) - Number(p.required) || rank[p.category] - rank[q.category] || byName(p.name, q.name));
    const ok = differences.every((d) => !d.required);
    return {
        ok,
        differences,
        ignored,
        compared,
        databaseSettings: { source: source.databaseSettings, target: target.databaseSettings },
        database: { source: source.database, target: target.database },
        csv: { source: settingsCsv(source.rows), target: settingsCsv(target.rows) },
    };
}

export function describeSettingDifference(d: SettingDifference): string {
    const v = (x: string | null, origin?: string) => (x === null ? "not set" : `${x}${origin && origin !== "default" ? ` (${origin})` : ""}`);
    return `setting ${d.name}: ${v(d.source, d.sourceOrigin)} on the source, ${v(d.target, d.targetOrigin)} on the target${d.note ? ` - ${d.note}` : ""}`;
}
