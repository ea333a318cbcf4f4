/**
 * A throw-away certificate authority and a server certificate for `localhost` / `127.0.0.1`,
 * made with the `openssl` command line. Clients trust the CA (the Heroku CLI through
 * NODE_EXTRA_CA_CERTS=<caCertPath>), so the emulator can be reached over real TLS.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { execFile } from "child_process";

export interface EmulatorTls {
    dir: string;
    caCertPath: string;
    cert: Buffer;
    key: Buffer;
}

function openssl(args: string[], cwd: string): Promise<void> {
    return new Promise((resolve, reject) => {
        execFile("openssl", args, { cwd, timeout: 60000 }, (err, _stdout, stderr) => {
            if (err) {
                const missing = (err as NodeJS.ErrnoException).code === "ENOENT";
                reject(
                    new Error(
                        missing
                            ? "Heroku emulator: `openssl` is not installed, so no HTTPS certificate can be made. Install it (apt-get install openssl) or start the emulator with https: false."
                            : `Heroku emulator: openssl ${args[0]} failed: ${String(stderr).trim() || err.message}`,
                    ),
                );
            } else resolve();
        });
    });
}

export async function makeLocalhostCertificate(): Promise<EmulatorTls> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "heroku-emulator-tls-"));
    fs.writeFileSync(
        path.join(dir, "server.ext"),
        [
            "basicConstraints=critical,CA:FALSE",
            "keyUsage=critical,digitalSignature,keyEncipherment",
            "extendedKeyUsage=serverAuth",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "",
        ].join("\n"),
    );
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    await openssl(
        ["req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "30", "-subj", "/CN=Heroku Emulator Local CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        dir,
    );
    await openssl(["req", ...ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"], dir);
    await openssl(
        ["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.crt",
            "-days", "30", "-sha256", "-extfile", "server.ext"],
        dir,
    );
    for (const f of ["ca.key", "server.key"]) fs.chmodSync(path.join(dir, f), 0o600);
    return {
        dir,
        caCertPath: path.join(dir, "ca.crt"),
        cert: fs.readFileSync(path.join(dir, "server.crt")),
        key: fs.readFileSync(path.join(dir, "server.key")),
    };
}
