/**
 * lib/report.ts: the self-contained HTML rendered in real headless Chromium (Debian `chromium`):
 * the DOM has the mismatch first and the screenshot shows it (its red rows and banner are on
 * screen, counted in the decoded PNG). The report's content is tested in test/report.unit.test.ts.
 * Run: node --require ts-node/register/transpile-only --test test/report.test.ts
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import { renderHtml, withVerification } from "../lib/report";
import { baseReport, sampleResult } from "./report-fixture";

function findChromium(): string | undefined {
    const candidates = [process.env.CHROMIUM_BIN, "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"].filter((x): x is string => !!x);
    for (const c of candidates) {
        const r = spawnSync(c, ["--version"], { encoding: "utf8", timeout: 30_000 });
        if (r.status === 0 && /chrom/i.test(r.stdout)) return c;
    }
    return undefined;
}

function chromium(bin: string, args: string[]): { stdout: string; stderr: string } {
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), "report-chromium-"));
    try {
        const r = spawnSync(bin, [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--hide-scrollbars", `--user-data-dir=${profile}`, ...args,
        ], { encoding: "utf8", timeout: 90_000, maxBuffer: 64 * 1024 * 1024 });
        if (r.status !== 0) throw new Error(`chromium exited with ${r.status}: ${r.stderr}`);
        return { stdout: r.stdout, stderr: r.stderr };
    } finally {
        fs.rmSync(profile, { recursive: true, force: true });
    }
}

/** Decodes an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium writes). */
function decodePng(buf: Buffer): { width: number; height: number; rgb(x: number, y: number): [number, number, number] } {
    assert.deepEqual([...buf.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], "a PNG file");
    let pos = 8;
    let width = 0;
    let height = 0;
    let colorType = 0;
    const idat: Buffer[] = [];
    while (pos < buf.length) {
        const len = buf.readUInt32BE(pos);
        const type = buf.toString("ascii", pos + 4, pos + 8);
        const data = buf.subarray(pos + 8, pos + 8 + len);
        if (type === "IHDR") {
            width = data.readUInt32BE(0);
            height = data.readUInt32BE(4);
            assert.equal(data[8], 8, "8-bit PNG");
            colorType = data[9];
            assert.equal(data[12], 0, "not interlaced");
        } else if (type === "IDAT") idat.push(data);
        else if (type === "IEND") break;
        pos += 12 + len;
    }
    const bpp = colorType === 6 ? 4 : colorType === 2 ? 3 : 0;
    assert.ok(bpp > 0, `PNG color type ${colorType}`);
    const raw = zlib.inflateSync(Buffer.concat(idat));
    const stride = width * bpp;
    const px = Buffer.alloc(height * stride);
    for (let y = 0; y < height; y++) {
        const filter = raw[y * (stride + 1)];
        const line = y * (stride + 1) + 1;
        for (let x = 0; x < stride; x++) {
            const a = x >= bpp ? px[y * stride + x - bpp] : 0;
            const b = y > 0 ? px[(y - 1) * stride + x] : 0;
            const c = x >= bpp && y > 0 ? px[(y - 1) * stride + x - bpp] : 0;
            let v = raw[line + x];
            if (filter === 1) v += a;
            else if (filter === 2) v += b;
            else if (filter === 3) v += (a + b) >> 1;
            else if (filter === 4) {
                const p = a + b - c;
                const pa = Math.abs(p - a);
                const pb = Math.abs(p - b);
                const pc = Math.abs(p - c);
                v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
            }
            px[y * stride + x] = v & 255;
        }
    }
    return { width, height, rgb: (x, y) => [px[y * stride + x * bpp], px[y * stride + x * bpp + 1], px[y * stride + x * bpp + 2]] };
}

function countColor(img: ReturnType<typeof decodePng>, [r, g, b]: [number, number, number], tolerance = 6): number {
    let n = 0;
    for (let y = 0; y < img.height; y++) {
        for (let x = 0; x < img.width; x++) {
            const [pr, pg, pb] = img.rgb(x, y);
            if (Math.abs(pr - r) <= tolerance && Math.abs(pg - g) <= tolerance && Math.abs(pb - b) <= tolerance) n++;
        }
    }
    return n;
}

const BAD = [0xb4, 0x23, 0x18] as [number, number, number]; // --bad: banner and marks
const BAD_BG = [0xfd, 0xe2, 0xe1] as [number, number, number]; // --bad-bg: mismatching rows
const OK = [0x06, 0x76, 0x47] as [number, number, number]; // --ok: banner

const chromiumBin = findChromium();
const skip = chromiumBin ? false : "chromium is not installed (Debian: `apt-get update && apt-get install -y chromium`; CI must install it in .ci/run)";

test("the HTML renders in headless Chromium and the mismatch is visible", { skip }, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "report-html-"));
    try {
        const file = path.join(dir, "migration-report.html");
        fs.writeFileSync(file, renderHtml(withVerification(baseReport(true), sampleResult(true))));

        const dom = chromium(chromiumBin as string, ["--dump-dom", `file://${file}`]).stdout;
        assert.match(dom, /<div id="verdict" class="banner bad">Migration FAILED: 2 differences between the source and the target<\/div>/);
        const firstRow = /<table id="tables">.*?<tbody>\s*<tr class="([^"]+)"><td>([^<]*)<\/td>/s.exec(dom);
        assert.deepEqual(firstRow?.slice(1), ["mismatch", "reporting.daily_sales"], "the mismatching table is the first row");
        assert.doesNotMatch(dom, /<script/i, "the name with a script tag stayed text");
        assert.equal((dom.match(/<rect /g) ?? []).length, 10, "the time chart has a bar per stage");

        const png = path.join(dir, "shot.png");
        chromium(chromiumBin as string, ["--window-size=1280,1400", `--screenshot=${png}`, `file://${file}`]);
        const img = decodePng(fs.readFileSync(png));
        assert.equal(img.width, 1280);
        const banner = countColor(img, BAD);
        const rows = countColor(img, BAD_BG);
        assert.ok(banner > 20_000, `the red verdict banner is on screen (${banner} px)`);
        assert.ok(rows > 5_000, `mismatching rows are highlighted on screen (${rows} px)`);
        assert.equal(countColor(img, OK, 2) < 2_000, true, "no green banner");
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

test("a matching report renders green in headless Chromium, with no highlighted rows", { skip }, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "report-html-"));
    try {
        const file = path.join(dir, "migration-report.html");
        fs.writeFileSync(file, renderHtml(withVerification(baseReport(false), sampleResult(false))));
        const png = path.join(dir, "shot.png");
        chromium(chromiumBin as string, ["--window-size=1280,1400", `--screenshot=${png}`, `file://${file}`]);
        const img = decodePng(fs.readFileSync(png));
        assert.ok(countColor(img, OK) > 20_000, "the green verdict banner is on screen");
        assert.equal(countColor(img, BAD_BG, 2), 0, "no row is highlighted");
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});
