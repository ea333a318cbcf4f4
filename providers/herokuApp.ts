/**
 * HerokuApp: the Heroku app that receives the database. Created (`herokuCreateApp`, default)
 * or adopted. Replaced when its name, region or team changes. `delete` removes only an app this
 * stack created, and Migration sets `retainOnDelete` unless the stack is a rehearsal.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ArgsOf } from "./args";
import * as heroku from "../lib/heroku";
import { MigrationError } from "../lib/errors";
import { progress } from "../lib/progress";

/** What the provider receives; HerokuAppArgs is the same with each field accepting an Output. */
export interface HerokuAppInputs {
    name: string;
    /** Create the app (true) or adopt an existing one (false). */
    create: boolean;
    region?: string;
    team?: string;
}
export type HerokuAppArgs = ArgsOf<HerokuAppInputs>;

type Inputs = HerokuAppInputs;
interface Outputs extends Inputs { appId: string; webUrl: string; created: boolean }

function outputsFrom(inputs: Inputs, app: heroku.HerokuApp, created: boolean): Outputs {
    return { ...inputs, appId: app.id, webUrl: app.web_url ?? "", created };
}

export const herokuAppProvider: pulumi.dynamic.ResourceProvider<Inputs, Outputs> = {
    async check(_olds: Inputs, news: Inputs) {
        return { inputs: news };
    },

    async diff(_id: string, olds: Outputs, news: Inputs) {
        const replaces: string[] = [];
        if (olds.name !== news.name) replaces.push("name");
        if (olds.created && news.create && (olds.region ?? "") !== (news.region ?? "")) replaces.push("region");
        if (olds.created && news.create && (olds.team ?? "") !== (news.team ?? "")) replaces.push("team");
        const changes = replaces.length > 0 || olds.create !== news.create;
        return { changes, replaces, deleteBeforeReplace: replaces.includes("name") ? false : true };
    },

    async create(inputs: Inputs) {
        const ep = heroku.herokuEndpointsFromEnv();
        const existing = await heroku.getApp(ep, inputs.name);
        if (!inputs.create) {
            if (!existing) {
                throw new MigrationError("HerokuApp", `the app "${inputs.name}" does not exist or this API key cannot see it.`, "Create it (`heroku apps:create`), fix `herokuApp`, or set `herokuCreateApp` to true.");
            }
            progress("HerokuApp", `adopted existing app ${inputs.name}`);
            return { id: existing.id, outs: outputsFrom(inputs, existing, false) };
        }
        if (existing) {
            // A previous run may have created it and failed before saving state: adopt it, but
            // remember that it was not created by this run so destroy never deletes it.
            progress("HerokuApp", `app ${inputs.name} already exists: adopting it (it will not be deleted on destroy)`);
            return { id: existing.id, outs: outputsFrom(inputs, existing, false) };
        }
        // POST /teams/apps takes `region` too (Platform API "Team App Create"), so it is always passed.
        const app = await heroku.createApp(ep, { name: inputs.name, region: inputs.region, team: inputs.team });
        progress("HerokuApp", `created app ${app.name} (${app.id})`);
        return { id: app.id, outs: outputsFrom(inputs, app, true) };
    },

    /** Only settings that need no new physical resource change in place; keep the outputs. */
    async update(_id: string, olds: Outputs, news: Inputs) {
        return { outs: { ...olds, ...news } };
    },

    async read(id: string, props?: Outputs) {
        const ep = heroku.herokuEndpointsFromEnv();
        const app = await heroku.getApp(ep, id);
        // A blank id tells Pulumi the app is gone (deleted outside Pulumi), so refresh drops it.
        if (!app) return { id: "" };
        if (!props) return { id };
        return { id: app.id, props: { ...props, name: app.name, webUrl: app.web_url ?? props.webUrl } };
    },

    async delete(id: string, props: Outputs) {
        if (!props.created) {
            progress("HerokuApp", `app ${props.name} was not created by this stack: left in place`);
            return;
        }
        const ep = heroku.herokuEndpointsFromEnv();
        const deleted = await heroku.deleteApp(ep, id);
        progress("HerokuApp", deleted ? `deleted app ${props.name}` : `app ${props.name} was already gone`);
    },
};

export class HerokuApp extends pulumi.dynamic.Resource {
    declare readonly name: pulumi.Output<string>;
    declare readonly appId: pulumi.Output<string>;
    declare readonly webUrl: pulumi.Output<string>;
    declare readonly created: pulumi.Output<boolean>;

    constructor(name: string, args: HerokuAppArgs, opts?: pulumi.CustomResourceOptions) {
        super(herokuAppProvider, name, { ...args, appId: undefined, webUrl: undefined, created: undefined }, opts, "heroku", "App");
    }
}
