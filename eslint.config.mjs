// Lint: correctness rules only (no formatting, no style). `npm run lint`.
// ESLint's and typescript-eslint's recommended sets, without the type-aware rules (they would
// load the whole program, @pulumi/azure-native included, and take minutes), minus the rules that
// are taste rather than bugs. Plus the layer rules of ARCHITECTURE.md, as no-restricted-imports.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/** What a module in lib/ must not import: lib is plain code the providers call (ARCHITECTURE.md, "Layers"). */
const LIB_MAY_NOT_IMPORT = [
    { group: ["**/providers/**", "../providers", "**/components/**", "../components", "../index", "**/local/**", "**/emulator/**", "**/bench/**", "**/test/**"], message: "lib/ is the bottom layer: it may import lib/ and npm packages only (see ARCHITECTURE.md, \"Layers\")." },
];
/** Providers call lib/; they never reach up into components or index, nor into the rehearsal. */
const PROVIDERS_MAY_NOT_IMPORT = [
    { group: ["**/components/**", "../components", "../index", "**/local/**", "**/emulator/**", "**/bench/**", "**/test/**"], message: "providers/ may import lib/, other providers and npm packages only (see ARCHITECTURE.md, \"Layers\")." },
];
/** The program a user runs with the Pulumi CLI: nothing from the rehearsal, the emulator, benches or tests. */
const PROGRAM_MAY_NOT_IMPORT = [
    { group: ["**/local/**", "./local/*", "**/emulator/**", "./emulator/*", "**/bench/**", "**/test/**"], message: "The Pulumi program (index.ts, components/) must not depend on the local rehearsal, the emulator, benches or tests (see ARCHITECTURE.md, \"Layers\")." },
];
/** The unit tier (npm run test:unit) starts no cluster, no Azurite and no emulator. */
const UNIT_TESTS_MAY_NOT_IMPORT = ["../local/postgres", "../local/azurite", "../local/demo", "../local/rehearse", "../local/engine", "../emulator/heroku", "../emulator/heroku/index", "./rehearsal-fixture"].map((name) => ({
    name,
    message: "test/*.unit.test.ts is the unit tier: no PostgreSQL cluster, Azurite or emulator. Put this test in a test/*.test.ts file of the full tier.",
}));

export default tseslint.config(
    {
        ignores: ["node_modules/**", "bin/**", ".rehearsal/**", "reports/**", "emulator/heroku/.cli/**"],
    },
    {
        linterOptions: { reportUnusedDisableDirectives: "error" },
    },
    js.configs.recommended,
    ...tseslint.configs.recommended,
    {
        files: ["**/*.ts"],
        rules: {
            // Taste, not bugs: `any` at protocol boundaries (gRPC, JSON from APIs) is deliberate.
            "@typescript-eslint/no-explicit-any": "off",
            // An untyped require() is allowed where an import cannot work (SDK internals without
            // types, code loaded at run time), but only with a disable comment saying so.
            "@typescript-eslint/no-require-imports": "off",
            "@typescript-eslint/no-var-requires": "error",
            // `const parent = this` for the hoisted createX() stage functions is deliberate.
            "@typescript-eslint/no-this-alias": "off",
            // Our errors are MigrationError(subject, message, action) values that quote the cause's
            // text in the message on purpose (ARCHITECTURE.md, "Errors"); a `cause` adds nothing.
            "preserve-caught-error": "off",
            // Unused code is a real finding; `_x` marks a parameter kept for its position.
            "@typescript-eslint/no-unused-vars": ["error", { args: "none", caughtErrors: "none", ignoreRestSiblings: true, varsIgnorePattern: "^_" }],
        },
    },
    {
        files: ["**/*.js"],
        languageOptions: {
            sourceType: "commonjs",
            globals: { require: "readonly", module: "writable", process: "readonly", console: "readonly", __dirname: "readonly", Buffer: "readonly" },
        },
        rules: { "@typescript-eslint/no-require-imports": "off" },
    },
    { files: ["lib/**/*.ts"], rules: { "no-restricted-imports": ["error", { patterns: LIB_MAY_NOT_IMPORT }] } },
    { files: ["providers/**/*.ts"], rules: { "no-restricted-imports": ["error", { patterns: PROVIDERS_MAY_NOT_IMPORT }] } },
    { files: ["index.ts", "components/**/*.ts"], rules: { "no-restricted-imports": ["error", { patterns: PROGRAM_MAY_NOT_IMPORT }] } },
    { files: ["test/*.unit.test.ts"], rules: { "no-restricted-imports": ["error", { paths: UNIT_TESTS_MAY_NOT_IMPORT }] } },
);
