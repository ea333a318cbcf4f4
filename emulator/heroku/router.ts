/** A tiny path router: `/apps/:app/addons/:addon` patterns, parameters URL-decoded. */
import type { IncomingHttpHeaders } from "http";
import type { Expansions } from "./core";

export interface RouteContext {
    params: Record<string, string>;
    query: URLSearchParams;
    body: Record<string, unknown>;
    x: Expansions;
    headers: IncomingHttpHeaders;
}

export interface RouteResult {
    status: number;
    body: unknown;
    /** extra response headers (e.g. Content-Range, Next-Range for ranged lists) */
    headers?: Record<string, string>;
}

export interface Route {
    method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE";
    path: string;
    handler: (ctx: RouteContext) => RouteResult | Promise<RouteResult>;
}

export function matchRoute(routes: Route[], method: string, pathname: string): { route: Route; params: Record<string, string> } | { methodMismatch: true } | undefined {
    const segs = pathname.replace(/\/+$/, "").split("/").slice(1);
    let pathMatched = false;
    for (const route of routes) {
        const pat = route.path.split("/").slice(1);
        if (pat.length !== segs.length) continue;
        const params: Record<string, string> = {};
        let ok = true;
        for (let i = 0; i < pat.length; i++) {
            if (pat[i].startsWith(":")) {
                try {
                    params[pat[i].slice(1)] = decodeURIComponent(segs[i]);
                } catch {
                    ok = false;
                }
            } else if (pat[i] !== segs[i]) ok = false;
            if (!ok) break;
        }
        if (!ok) continue;
        pathMatched = true;
        if (route.method === method) return { route, params };
    }
    return pathMatched ? { methodMismatch: true } : undefined;
}
