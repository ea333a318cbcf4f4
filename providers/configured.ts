/**
 * Credentials reach dynamic providers through provider configuration (Pulumi passes the whole
 * stack config, secrets decrypted, to `configure`), never through resource inputs, so they never
 * land in state. Each provider that needs the source password stores it on itself in `configure`.
 */
import * as pulumi from "@pulumi/pulumi";
import { registerSecret } from "../lib/redact";
import type { SourceSettings } from "../lib/config";
import type { PgConnection } from "../lib/types";

export interface SourceAware {
    sourcePassword?: string;
}

export function configureSource(target: SourceAware, req: pulumi.dynamic.ConfigureRequest): void {
    const password = req.config.get("sourcePassword");
    registerSecret(password);
    target.sourcePassword = password;
}

export function sourceConnection(settings: SourceSettings, password: string | undefined): PgConnection {
    return { ...settings, password };
}
