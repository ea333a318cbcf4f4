/**
 * The unit tier's TypeScript loader (`npm run test:unit`: node --require ./test/transpile-cache.js):
 * what ts-node's transpile-only mode does (the same `ts.transpileModule` with tsconfig.json's
 * options and ts-node's fixed ones), with each file's JavaScript kept on disk, keyed by a hash of
 * the source, tsconfig.json and the TypeScript version.
 *
 * Why: every test file runs in its own process, and in each one loading TypeScript and
 * transpiling cold (TypeScript's own code not yet compiled by V8) cost 1 to 4 CPU-seconds per
 * file, most of the unit tier (measured; README "Tests"). With the cache warm, TypeScript is
 * not even loaded. A change to a file, to tsconfig.json or to TypeScript misses the cache, and
 * that file alone is transpiled again. The full tier and the rehearsal keep ts-node.
 *
 * The cache is a folder of this user's in the OS temp dir (UNIT_TS_CACHE_DIR to choose another);
 * it is used only when this user owns it and nobody else may write to it, since its files run as
 * code. Stack traces point into the .ts files (inline source maps, Node's own support).
 */
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const os = require("os");
const path = require("path");

const ROOT = path.resolve(__dirname, "..");
const TSCONFIG = path.join(ROOT, "tsconfig.json");
/** Bumped when what this file emits changes, so that older entries are not reused. */
const FORMAT = "1";
/** ts-node's default ignored diagnostics (ts-node/dist/index.js DEFAULTS.ignoreDiagnostics). */
const IGNORED_DIAGNOSTICS = new Set([6059, 18002, 18003]);

const cacheDir = usableCacheDir(process.env.UNIT_TS_CACHE_DIR || path.join(os.tmpdir(), `azure-to-heroku-pg-unit-ts-${process.getuid ? process.getuid() : "user"}`));
const keyPrefix = `${FORMAT}\0${readOrEmpty(require.resolve("typescript/package.json"))}\0${readOrEmpty(TSCONFIG)}\0`;

let ts;
let compilerOptions;

function readOrEmpty(file) {
    try {
        return fs.readFileSync(file, "utf8");
    } catch {
        return "";
    }
}

/** The cache folder, created private; undefined (no cache, transpile every time) if it is not safely ours. */
function usableCacheDir(dir) {
    try {
        fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
        const st = fs.lstatSync(dir);
        const mine = !process.getuid || st.uid === process.getuid();
        if (!st.isDirectory() || !mine || (st.mode & 0o022) !== 0) return undefined;
        return dir;
    } catch {
        return undefined;
    }
}

/** tsconfig.json's compiler options with ts-node's fixed ones (ts-node/dist/configuration.js), source maps inline. */
function loadCompiler() {
    ts = require("typescript");
    const read = ts.readConfigFile(TSCONFIG, ts.sys.readFile);
    if (read.error) throw new Error(`test/transpile-cache.js: ${TSCONFIG}: ${ts.flattenDiagnosticMessageText(read.error.messageText, "\n")}`);
    const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, ROOT, undefined, TSCONFIG);
    const options = { ...parsed.options };
    for (const k of ["out", "outFile", "composite", "declarationDir", "declarationMap", "emitDeclarationOnly", "tsBuildInfoFile", "incremental"]) delete options[k];
    if (options.target === undefined) options.target = ts.ScriptTarget.ES5;
    if (options.module === undefined) options.module = ts.ModuleKind.CommonJS;
    compilerOptions = { ...options, sourceMap: false, inlineSourceMap: true, inlineSources: true, declaration: false, noEmit: false, outDir: ".ts-node" };
}

function transpile(source, fileName) {
    if (!ts) loadCompiler();
    const result = ts.transpileModule(source, { fileName, compilerOptions, reportDiagnostics: true });
    const diagnostics = (result.diagnostics || []).filter((d) => !IGNORED_DIAGNOSTICS.has(d.code));
    if (diagnostics.length) {
        const host = { getCurrentDirectory: () => ROOT, getCanonicalFileName: (f) => f, getNewLine: () => "\n" };
        throw new Error(`TypeScript could not transpile ${fileName}:\n${ts.formatDiagnostics(diagnostics, host)}`);
    }
    return result.outputText;
}

function compiled(source, fileName) {
    if (!cacheDir) return transpile(source, fileName);
    const key = crypto.createHash("sha256").update(keyPrefix).update(fileName).update("\0").update(source).digest("hex");
    const file = path.join(cacheDir, `${key}.js`);
    try {
        return fs.readFileSync(file, "utf8");
    } catch {
        // Not cached yet.
    }
    const output = transpile(source, fileName);
    // Written aside then renamed: test files run in parallel and may write the same entry.
    const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString("hex")}`;
    try {
        fs.writeFileSync(tmp, output, { mode: 0o600 });
        fs.renameSync(tmp, file);
    } catch {
        fs.rmSync(tmp, { force: true });
    }
    return output;
}

process.setSourceMapsEnabled(true);
const load = require.extensions[".js"];
require.extensions[".ts"] = function (module, fileName) {
    if (fileName.split(path.sep).includes("node_modules")) return load(module, fileName);
    module._compile(compiled(fs.readFileSync(fileName, "utf8"), fileName), fileName);
};
