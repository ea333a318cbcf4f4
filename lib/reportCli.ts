/**
 * `npm run report`: the migration report of a real stack, rendered from its outputs.
 *
 *   pulumi stack output --json | npm run --silent report -- --stack prod
 *   npm run report -- outputs.json --dir reports/prod
 *
 * Reads the outputs (a file, or standard input), adds the verification.json that a failed
 * Verification left in the report folder, and writes migration-report.json/.md/.html and the
 * settings CSVs there: the same files, made by the same code, as `pulumi up` and the rehearsal
 * write. Secrets stay "[secret]" as `pulumi stack output` prints them.
 */
import * as fs from "fs";
import { MigrationError, errorMessage } from "./errors";
import { readVerificationFile, reportFromOutputs, resolveReportDir, writeReport } from "./reportFiles";

export function renderReportFromOutputs(argv: string[], stdin: () => string, cwd = process.cwd()): { file: string; status: string } {
    let input: string | undefined;
    let dir: string | undefined;
    let stack: string | undefined;
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "--dir" || a === "--stack") {
            const v = argv[++i];
            if (!v) throw new MigrationError("npm run report", `${a} needs a value.`, "For example `--stack prod` or `--dir reports/prod`.");
            if (a === "--dir") dir = v;
            else stack = v;
        } else if (a.startsWith("--")) {
            throw new MigrationError("npm run report", `unknown option ${a}.`, "Usage: `pulumi stack output --json | npm run --silent report -- --stack <stack>` or `npm run report -- <outputs.json> --dir <folder>`.");
        } else input = a;
    }
    if (!dir && !stack) throw new MigrationError("npm run report", "says neither which stack (--stack) nor which folder (--dir) the report is for.", "Give `--stack <stack>` (the folder is then `reports/<stack>`, or your `reportDir`: pass it with --dir).");
    const text = input && input !== "-" ? fs.readFileSync(input, "utf8") : stdin();
    let outputs: Record<string, unknown>;
    try {
        outputs = JSON.parse(text);
    } catch (err) {
        throw new MigrationError("npm run report", `the stack outputs are not JSON (${errorMessage(err)}).`, "Pass what `pulumi stack output --json` prints.");
    }
    const folder = dir ? resolveReportDir(dir, "", cwd) : resolveReportDir(undefined, stack as string, cwd);
    const now = new Date().toISOString();
    const report = reportFromOutputs(outputs, { command: "up", startedAt: now, finishedAt: now, verification: readVerificationFile(folder) });
    return { file: writeReport(folder, report), status: report.status };
}

if (require.main === module) {
    try {
        const { file, status } = renderReportFromOutputs(process.argv.slice(2), () => fs.readFileSync(0, "utf8"));
        process.stdout.write(`Migration ${status.toUpperCase()}. Report: ${file} (and .md, .html)\n`);
    } catch (err) {
        process.stderr.write(`${errorMessage(err)}\n`);
        process.exit(1);
    }
}
