// A large file downloaded in the owner's vault: it must arrive byte for byte, and it must stream to disk
// through the download worker instead of being assembled in the tab's memory. The file is uploaded with the
// CLI (fast), then downloaded in Chromium while the browser's memory is sampled: the JS heap of the page
// (CDP Performance.getMetrics) and the resident memory of every Chromium process (/proc). The numbers are
// printed for docs/benchmarks.md ("Files"); the test asserts only a bound that holding the whole file
// would break. `E2E_BIG_FILE_MIB` sets the size (default 512, which fits the suite's time on a loaded
// machine; docs/benchmarks.md has the 1 GiB run).
import { createHash } from "node:crypto";
import { createReadStream, mkdtempSync, openSync, readdirSync, readFileSync, closeSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, Sender, Server } from "./harness";
import { newPage } from "./pages";

const MIB = 1024 * 1024;
const SIZE_MIB = Number(process.env.E2E_BIG_FILE_MIB ?? 512);
const EMAIL = "big@example.org";
const PASSWORD = "correct horse battery staple";

let server: Server;
let browser: Browser;

beforeAll(async () => {
  server = await Server.start({
    SHARELOCK_MAX_FILE_BYTES: String(4 * 1024 * MIB),
    SHARELOCK_ACCOUNT_QUOTA_BYTES: String(16 * 1024 * MIB),
  });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

/** Writes `mib` MiB of incompressible bytes (xorshift) to `path`, 1 MiB at a time. */
function writeBigFile(path: string, mib: number): void {
  const fd = openSync(path, "w");
  const block = Buffer.alloc(MIB);
  let state = 0x2545f491 | 0;
  try {
    for (let m = 0; m < mib; m++) {
      for (let i = 0; i < MIB; i += 4) {
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        block.writeInt32LE(state | 0, i);
      }
      writeSync(fd, block);
    }
  } finally {
    closeSync(fd);
  }
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * MIB })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Resident memory of every Chromium process started by this test process, in bytes (Linux /proc). */
function chromiumRss(byType?: Map<string, number>): number {
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // The process ended meanwhile.
    }
  }
  let total = 0;
  for (const pid of parents.keys()) {
    let up: number | undefined = pid;
    while (up !== undefined && up !== process.pid && up > 1) up = parents.get(up);
    if (up !== process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (!cmdline.includes("chrom")) continue;
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      const bytes = Number(rss?.[1] ?? 0) * 1024;
      total += bytes;
      if (byType) {
        const type = /--type=([a-z-]+)/.exec(cmdline)?.[1] ?? "browser";
        const kind = type === "utility" ? (/--utility-sub-type=([\w.]+)/.exec(cmdline)?.[1] ?? type) : type;
        byType.set(`${kind} ${pid}`, bytes);
      }
    } catch {
      // The process ended meanwhile.
    }
  }
  return total;
}

describe("a large file in the browser", () => {
  it(`downloads ${SIZE_MIB} MiB byte for byte, streamed to disk, without the tab holding the file`, async () => {
    const sender = new Sender(server, PASSWORD);
    await sender.register(EMAIL);
    const dir = mkdtempSync(join(server.dir, "big-"));
    const original = join(dir, "big.bin");
    writeBigFile(original, SIZE_MIB);
    const expected = await sha256Of(original);
    await sender.json(["record", "add", "--type", "file", "--title", "Big", "--file", original]);

    const context = await browser.newContext({ acceptDownloads: true });
    const { page, problems } = await newPage(context);
    await page.goto(`${server.url}/`);
    await page.getByTestId("email").fill(EMAIL);
    await page.getByTestId("password").fill(PASSWORD);
    await page.getByTestId("auth-submit").click();
    await page.getByTestId("record-row").first().click({ timeout: 60_000 });
    const button = page.getByTestId("download-big.bin");
    await button.waitFor({ timeout: 60_000 });

    const cdp = await context.newCDPSession(page);
    await cdp.send("Performance.enable");
    const heap = async (): Promise<number> => {
      const { metrics } = await cdp.send("Performance.getMetrics");
      return metrics.find((m) => m.name === "JSHeapUsedSize")?.value ?? 0;
    };
    const heapBefore = await heap();
    const rssBefore = chromiumRss();
    expect(rssBefore).toBeGreaterThan(0);
    let heapPeak = heapBefore;
    let rssPeak = rssBefore;
    const beforeTypes = new Map<string, number>();
    chromiumRss(beforeTypes);
    let peakTypes = beforeTypes;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        heapPeak = Math.max(heapPeak, await heap().catch(() => 0));
        const types = new Map<string, number>();
        const now = chromiumRss(types);
        if (now > rssPeak) {
          rssPeak = now;
          peakTypes = types;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    })();

    const started = Date.now();
    const download = page.waitForEvent("download", { timeout: 120_000 });
    await button.click();
    const saved = await download;
    // Streamed through the download worker, not saved from a Blob's object URL.
    expect(saved.url()).toMatch(/\/download\/[0-9a-f]{32}$/);
    const path = await saved.path();
    const seconds = (Date.now() - started) / 1000;
    sampling = false;
    await sampler;
    // The page says the download is done only once the stream closed, after the hash was checked.
    await expect.poll(() => button.textContent(), { timeout: 60_000 }).toBe("Download");

    expect(await sha256Of(path)).toBe(expected);
    const heapGrowth = heapPeak - heapBefore;
    const rssGrowth = rssPeak - rssBefore;
    console.log(
      `browser download of ${SIZE_MIB} MiB: ${seconds.toFixed(1)} s (${((SIZE_MIB * MIB) / 1e6 / seconds).toFixed(0)} MB/s); ` +
        `page JS heap ${(heapBefore / MIB).toFixed(1)} → peak ${(heapPeak / MIB).toFixed(1)} MiB; ` +
        `Chromium processes' RSS ${(rssBefore / MIB).toFixed(0)} → peak ${(rssPeak / MIB).toFixed(0)} MiB (growth ${(rssGrowth / MIB).toFixed(0)} MiB)`,
    );
    console.log([...peakTypes].map(([k, v]) => `${k}: ${((beforeTypes.get(k) ?? 0) / MIB).toFixed(0)} → ${(v / MIB).toFixed(0)}`).join("; "));
    // Generous bounds that only a download held whole (in the heap or in the browser's memory) breaks. The
    // growth measured is the page's garbage (decrypted pieces not yet collected): it levels off at about
    // 150 MiB whatever the file's size.
    if (SIZE_MIB >= 512) {
      expect(heapGrowth).toBeLessThan((SIZE_MIB * MIB) / 4);
      expect(rssGrowth).toBeLessThan((SIZE_MIB * MIB * 3) / 4);
    }
    expect(problems).toEqual([]);
    await context.close();
  }, 600_000);
});
