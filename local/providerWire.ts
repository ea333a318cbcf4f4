/**
 * Property values on the wire between the Pulumi engine and a provider, as the engine marshals
 * them (sdk/go/common/resource/plugin/rpc.go MarshalProperties/UnmarshalProperties, and
 * provider_plugin.go annotateSecrets): secrets as `{"4dabf18193072939515e22adb298388d":
 * "1b47061264138c4ac30d75fd1eb44270", value}` objects when the provider accepts them and plain
 * values otherwise; unknowns as the "04da6b54-..." string where the engine allows them, left out
 * where it does not. In the rehearsal's memory a secret is the same wrapper (local/state.ts) and
 * an unknown is @pulumi/pulumi's `unknown` (what the SDK's deserializer makes of the marker).
 */
import { isSecret, SECRET_SIG, SIG_KEY } from "./state";

// eslint-disable-next-line @typescript-eslint/no-var-requires
const pulumiOutput = require("@pulumi/pulumi/output");

/** The engine's wire form of a value not known yet (a preview). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export type Props = Record<string, unknown>;

function isUnknownValue(v: unknown): boolean {
    return v === UNKNOWN || pulumiOutput.isUnknown(v);
}

const SKIP = Symbol("skip");

export interface MarshalOptions {
    keepSecrets: boolean;
    keepUnknowns: boolean;
}

/** MarshalPropertyValue: what the engine puts on the wire for a property value. */
function marshalValue(v: unknown, opts: MarshalOptions): unknown {
    if (v === undefined) return SKIP;
    if (isUnknownValue(v)) return opts.keepUnknowns ? UNKNOWN : SKIP;
    if (isSecret(v)) {
        const inner = marshalValue(v.value, opts);
        if (inner === SKIP) return SKIP;
        return opts.keepSecrets ? { [SIG_KEY]: SECRET_SIG, value: inner } : inner;
    }
    if (Array.isArray(v)) return v.map((x) => {
        const m = marshalValue(x, opts);
        return m === SKIP ? null : m;
    });
    if (v !== null && typeof v === "object") return marshalProps(v as Props, opts);
    return v;
}

/** MarshalProperties: a property map as a protobuf Struct's JavaScript form. */
export function marshalProps(props: Props | undefined, opts: MarshalOptions): Props {
    const out: Props = {};
    for (const [k, v] of Object.entries(props ?? {})) {
        const m = marshalValue(v, opts);
        if (m !== SKIP) out[k] = m;
    }
    return out;
}

export interface UnmarshalOptions {
    label: string;
    keepUnknowns: boolean;
    rejectUnknowns: boolean;
}

function unmarshalValue(v: unknown, key: string, opts: UnmarshalOptions): unknown {
    if (v === UNKNOWN) {
        if (opts.rejectUnknowns) throw new Error(`${opts.label}: unexpected unknown property value for "${key}"`);
        return opts.keepUnknowns ? pulumiOutput.unknown : SKIP;
    }
    if (Array.isArray(v)) return v.map((x) => {
        const u = unmarshalValue(x, key, opts);
        return u === SKIP ? null : u;
    });
    if (v !== null && typeof v === "object") {
        const o = v as Props;
        if (o[SIG_KEY] === SECRET_SIG) {
            const inner = unmarshalValue(o.value, key, opts);
            return inner === SKIP ? SKIP : { [SIG_KEY]: SECRET_SIG, value: inner };
        }
        return unmarshalProps(o, opts);
    }
    return v;
}

/** UnmarshalProperties with KeepSecrets: secrets from the wire become secret values again. */
export function unmarshalProps(props: Props, opts: UnmarshalOptions): Props {
    const out: Props = {};
    for (const [k, v] of Object.entries(props)) {
        const u = unmarshalValue(v, k, opts);
        if (u !== SKIP) out[k] = u;
    }
    return out;
}

function containsSecrets(v: unknown): boolean {
    if (isSecret(v)) return true;
    if (Array.isArray(v)) return v.some(containsSecrets);
    if (v !== null && typeof v === "object") return Object.values(v).some(containsSecrets);
    return false;
}

/**
 * provider_plugin.go annotateSecrets: a host that does not accept secrets returns plain values;
 * the engine marks secret every result property whose input (same key, recursively in objects) was.
 */
export function annotateSecrets(outs: Props, ins: Props): void {
    for (const [key, inValue] of Object.entries(ins)) {
        if (!(key in outs)) continue;
        const outValue = outs[key];
        const isObj = (x: unknown) => x !== null && typeof x === "object" && !Array.isArray(x) && !isSecret(x) && !isUnknownValue(x);
        if (isObj(outValue) && isObj(inValue)) annotateSecrets(outValue as Props, inValue as Props);
        else if (!isSecret(outValue) && containsSecrets(inValue)) outs[key] = { [SIG_KEY]: SECRET_SIG, value: outValue };
    }
}
