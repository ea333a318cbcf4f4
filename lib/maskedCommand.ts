/**
 * The acceptance command's wrapper. Under Pulumi, `command:local:Command` logs the command's
 * stdout and stderr as it runs and quotes them in its error when the command fails: text no
 * redaction of this program reaches. So the command runs under a small Node runner that streams
 * its output line by line with DATABASE_URL's password (as written, percent-decoded and
 * percent-encoded) replaced by `[secret]`, and exits with the command's status.
 *
 * The runner is inline (no path into this repository in the Command's inputs) and plain
 * JavaScript; `node` is on PATH wherever a Pulumi Node.js program runs.
 */

/** 'text' for POSIX sh. */
export function shellQuote(text: string): string {
    return `'${text.replace(/'/g, "'\\''")}'`;
}

const MASK_RUNNER = [
    `const u = process.env.DATABASE_URL || "";`,
    `let p = ""; try { p = new URL(u).password; } catch (e) { const m = /^[a-z][a-z0-9+.-]*:\\/\\/[^:]*:(.*)@[^@]*$/i.exec(u); p = m ? m[1] : ""; }`,
    `let d = p; try { d = decodeURIComponent(p); } catch (e) {}`,
    `const forms = [...new Set([p, d, encodeURIComponent(d)])].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);`,
    `const mask = (t) => forms.reduce((a, s) => a.split(s).join("[secret]"), t);`,
    `const child = require("child_process").spawn("/bin/sh", ["-c", process.argv[1]], { stdio: ["inherit", "pipe", "pipe"] });`,
    `const pipe = (from, to) => { let rest = ""; from.setEncoding("utf8");`,
    `  from.on("data", (b) => { rest += b; const i = rest.lastIndexOf("\\n"); if (i >= 0) { to.write(mask(rest.slice(0, i + 1))); rest = rest.slice(i + 1); } });`,
    `  from.on("end", () => { if (rest) to.write(mask(rest)); }); };`,
    `pipe(child.stdout, process.stdout); pipe(child.stderr, process.stderr);`,
    `child.on("close", (code, signal) => { process.exitCode = code === null ? 128 + (require("os").constants.signals[signal] || 0) : code; });`,
].join("\n");

/** A sh command line that runs `command` with its output masked (see above). */
export function maskedShellCommand(command: string): string {
    return `node -e ${shellQuote(MASK_RUNNER)} ${shellQuote(command)}`;
}
