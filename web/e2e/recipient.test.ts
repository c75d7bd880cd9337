// The recipient's page end to end: a real server, a share made with the real CLI, opened in Chromium.
import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toB64u } from "../src/protocol/bytes";
import { parseLink } from "../src/protocol/link";
import { shareIdOf } from "../src/protocol/share";
import { launchChromium, Sender, Server } from "./harness";
import { accessibilityProblems } from "./pages";

let server: Server;
let browser: Browser;
let sender: Sender;
let recordId: string;

interface ShareCreated {
  link: string;
  share: string;
  expires_at: string;
}

interface Shown {
  version: number;
  record: { title: string; fields: { name: string; value: string }[]; files: { name: string; size: number }[] };
}

/** A page that records every console error, page error and CSP violation, so a test can require none. */
async function newPage(context: BrowserContext): Promise<{ page: Page; problems: string[] }> {
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(e.message));
  page.on("dialog", (d) => void d.accept());
  return { page, problems };
}

beforeAll(async () => {
  server = await Server.start();
  browser = await launchChromium();
  sender = new Sender(server);
  await sender.register("ada@example.org");
  const added = await sender.json<{ id: string }>([
    "record", "add", "--type", "login", "--title", "Mail",
    "--field", "username=ada", "--field", "password=hunter2-<script>alert(1)</script>",
    "--field", "totp=JBSWY3DPEHPK3PXP", "--field", "url=https://mail.example",
  ]);
  recordId = added.id;
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe("the recipient's page", () => {
  it("is served with a strict CSP, no referrer and no caching", async () => {
    const response = await fetch(`${server.url}/s`);
    expect(response.status).toBe(200);
    const csp = response.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self' 'wasm-unsafe-eval'");
    expect(csp).toContain("require-trusted-types-for 'script'");
    expect(csp).not.toContain("unsafe-inline");
    expect(response.headers.get("referrer-policy")).toBe("no-referrer");
    expect(response.headers.get("cache-control")).toBe("no-store");
    const html = await response.text();
    const script = /src="\.\/(assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`${server.url}/${script}`);
    expect(asset.headers.get("content-type")).toContain("javascript");
    expect(asset.headers.get("cache-control")).toContain("immutable");
  });

  it("opens on the first device only, after Click to Open, and shows the record as text", async () => {
    const share = await sender.json<ShareCreated>(["share", "create", recordId, "--expires", "1h"]);
    expect(share.link).toMatch(/\/s#1\./);

    const first = await browser.newContext();
    const { page, problems } = await newPage(first);
    await page.goto(share.link);
    await page.getByTestId("open").waitFor();
    // Before the click, the recipient learns what loses the device.
    expect(await page.getByTestId("device-warning").textContent()).toMatch(/private .*window.*clear this site's data/);
    // The key left the address bar as soon as the page read it.
    expect(page.url()).not.toContain("#");
    // Nothing was bound before the click: the sender's list still says active.
    const before = await sender.json<{ shares: { share: string; state: string }[] }>(["share", "list"]);
    expect(before.shares.find((s) => s.share === share.share)?.state).toBe("active");

    await page.getByTestId("open").click();
    await expect.poll(() => page.getByTestId("record-title").textContent()).toBe("Mail");
    expect(await page.getByTestId("value-username").textContent()).toBe("ada");
    // A URL field names its site first.
    expect(await page.getByTestId("site-url").textContent()).toBe("mail.example");
    // A secret is hidden until asked for, and markup in it stays text.
    expect(await page.getByTestId("value-password").textContent()).not.toContain("hunter2");
    await page.locator('[data-field="password"] button', { hasText: "Show" }).click();
    expect(await page.getByTestId("value-password").textContent()).toBe("hunter2-<script>alert(1)</script>");
    expect(await page.locator("script:not([src])").count()).toBe(0);
    // A live one-time code.
    await expect.poll(async () => (await page.getByTestId("otp-totp").textContent()) ?? "").toMatch(/^\d{6}$/);
    const fingerprint = await page.getByTestId("fingerprint").textContent();
    expect(fingerprint).toMatch(/^[a-z2-7]{4}(-[a-z2-7]{4}){3}$/);

    // The sender sees the same device fingerprint.
    const after = await sender.json<{ shares: { share: string; state: string; device_fingerprint: string }[] }>(["share", "list"]);
    const listed = after.shares.find((s) => s.share === share.share);
    expect(listed?.state).toBe("opened");
    expect(listed?.device_fingerprint).toBe(fingerprint);

    // The same browser opens it again straight away (its key is in IndexedDB).
    const again = await first.newPage();
    await again.goto(share.link);
    await expect.poll(() => again.getByTestId("record-title").textContent()).toBe("Mail");

    // Another device (a fresh browser profile) is refused, even with the link.
    const second = await browser.newContext();
    const other = await newPage(second);
    await other.page.goto(share.link);
    await other.page.getByTestId("bound-elsewhere").waitFor();
    expect(await other.page.getByTestId("record-title").count()).toBe(0);

    // A reload after the key left the address bar explains how to get back in.
    await page.reload();
    await page.getByTestId("no-key").waitFor();

    expect(problems).toEqual([]);
    expect(other.problems.filter((p) => !p.includes("403"))).toEqual([]);
    await first.close();
    await second.close();
  });

  it("says who shared what before Click to Open, as text, in the reader's language", async () => {
    const named = await sender.json<ShareCreated>(["share", "create", recordId, "--expires", "1h", "--from", "Ada <b>Lovelace</b>"]);
    const context = await browser.newContext({ locale: "de-DE" });
    const { page, problems } = await newPage(context);
    await page.goto(named.link);
    await page.getByTestId("open").waitFor();
    expect(await page.getByTestId("open-title").textContent()).toBe("Ada <b>Lovelace</b> hat eine Anmeldung mit Ihnen geteilt");
    // The name is the sender's own word, shown as text and said to be unchecked.
    expect(await page.locator("main b").count()).toBe(0);
    expect(await page.getByTestId("from-note").textContent()).toContain("selbst gewählt");
    await page.getByTestId("language").selectOption("en");
    await expect.poll(() => page.getByTestId("open-title").textContent()).toBe("Ada <b>Lovelace</b> shared a login with you");
    await page.getByTestId("language").selectOption("ja");
    await expect.poll(() => page.getByTestId("open-title").textContent()).toBe("Ada <b>Lovelace</b> さんがログインを共有しました");
    await page.getByTestId("language").selectOption("en");
    expect(await accessibilityProblems(page)).toEqual([]);
    // Showing it bound nothing; opening still works.
    const listed = await sender.json<{ shares: { share: string; state: string }[] }>(["share", "list"]);
    expect(listed.shares.find((s) => s.share === named.share)?.state).toBe("active");
    await page.getByTestId("open").click();
    await expect.poll(() => page.getByTestId("record-title").textContent()).toBe("Mail");

    // Without a name the type is still said.
    const nameless = await sender.json<ShareCreated>(["share", "create", recordId, "--expires", "1h"]);
    await page.goto(nameless.link);
    await page.getByTestId("open").waitFor();
    expect(await page.getByTestId("open-title").textContent()).toBe("Someone shared a login with you");
    expect(await page.getByTestId("from-note").count()).toBe(0);
    expect(problems).toEqual([]);
    await context.close();
  });

  it("opens at once in the browser that holds the key, even while a link holder keeps the share in backoff", async () => {
    const share = await sender.json<ShareCreated>(["share", "create", recordId, "--expires", "1h"]);
    const context = await browser.newContext();
    const { page, problems } = await newPage(context);
    await page.goto(share.link);
    await page.getByTestId("open").click();
    await expect.poll(() => page.getByTestId("record-title").textContent()).toBe("Mail");

    // Someone who saw the share id sends wrong access tokens until the share is in backoff.
    const shareId = toB64u(await shareIdOf(parseLink(share.link).secret));
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const response = await fetch(`${server.url}/api/v1/recipient/status`, {
        headers: { "Sharelock-Share": shareId, "Sharelock-Access": toB64u(new Uint8Array(32).fill(i)) },
      });
      statuses.push(response.status);
    }
    expect(statuses.at(-1)).toBe(429);

    // A new browser has to wait...
    const stranger = await browser.newContext();
    const other = await newPage(stranger);
    await other.page.goto(share.link);
    await expect.poll(() => other.page.getByTestId("problem").textContent()).toContain("cannot be opened");
    expect(await other.page.locator("main").textContent()).toContain("Too many");
    // ...but this profile goes straight to the signed fetch with its key.
    const again = await context.newPage();
    await again.goto(share.link);
    await expect.poll(() => again.getByTestId("record-title").textContent()).toBe("Mail");
    expect(problems).toEqual([]);
    await stranger.close();
    await context.close();
  });

  it("lets the recipient of an editable share edit fields and add a file, and the sender gets both", async () => {
    const share = await sender.json<ShareCreated>(["share", "create", recordId, "--expires", "1h", "--editable"]);
    const context = await browser.newContext();
    const { page, problems } = await newPage(context);
    await page.goto(share.link);
    await page.getByTestId("open").click();
    await page.getByTestId("edit").click();
    await page.getByTestId("edit-username").fill("ada.lovelace");
    await page.getByTestId("new-field-name").fill("recovery");
    await page.getByTestId("add-field").click();
    // An invalid value is refused in the page, with the rule, before anything is sent.
    await page.getByTestId("edit-url").fill("https://mail.example\u0007");
    await page.getByTestId("save").click();
    await expect.poll(() => page.getByTestId("edit-error").textContent()).toContain("cannot be saved");
    await page.getByTestId("edit-url").fill("https://mail.example");
    await page.getByTestId("edit-recovery").fill("abcd-efgh");
    await page.getByTestId("save").click();
    await expect.poll(() => page.getByTestId("status").textContent()).toContain("Saved.");

    const shown = await sender.json<Shown>(["record", "show", recordId]);
    const value = (name: string): string | undefined => shown.record.fields.find((f) => f.name === name)?.value;
    expect(value("username")).toBe("ada.lovelace");
    expect(value("recovery")).toBe("abcd-efgh");
    expect(value("password")).toBe("hunter2-<script>alert(1)</script>");

    // A file: encrypted in the page, uploaded in signed parts, then referenced by a new version.
    const dir = mkdtempSync(join(server.dir, "files-"));
    const original = join(dir, "scan.bin");
    const bytes = Buffer.alloc(200_000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + 3) & 255;
    writeFileSync(original, bytes);
    await page.getByTestId("attach").setInputFiles(original);
    await expect.poll(() => page.getByTestId("status").textContent(), { timeout: 30_000 }).toContain("Added scan.bin");
    const saved = join(dir, "out");
    await sender.json(["record", "show", recordId, "--save-files", saved]);
    expect(readFileSync(join(saved, "scan.bin")).equals(bytes)).toBe(true);

    // And the recipient downloads it back, decrypted and checked in the page.
    const download = page.waitForEvent("download");
    await page.getByTestId("download-scan.bin").click();
    const file = await (await download).path();
    expect(readFileSync(file).equals(bytes)).toBe(true);

    expect(problems).toEqual([]);
    await context.close();
  });

  it("needs the passphrase: a wrong one finds nothing and uses nothing up", async () => {
    const share = await sender.json<ShareCreated>(["share", "create", recordId, "--expires", "1h", "--passphrase"], {
      SHARELOCK_SHARE_PASSPHRASE: "blue tractor",
    });
    const context = await browser.newContext();
    const { page } = await newPage(context);
    await page.goto(share.link);
    await page.getByTestId("passphrase").fill("red tractor");
    await page.getByTestId("passphrase").press("Enter");
    await expect.poll(() => page.getByTestId("passphrase-error").textContent(), { timeout: 30_000 }).toContain("not right");
    const listed = await sender.json<{ shares: { share: string; state: string }[] }>(["share", "list"]);
    expect(listed.shares.find((s) => s.share === share.share)?.state).toBe("active");

    await page.getByTestId("passphrase").fill("blue tractor");
    await page.getByTestId("passphrase").press("Enter");
    await page.getByTestId("open").click({ timeout: 30_000 });
    await expect.poll(() => page.getByTestId("record-title").textContent()).toBe("Mail");
    await context.close();
  });

  it("shows an ended share as ended, and refuses a damaged link with a reason", async () => {
    const share = await sender.json<ShareCreated>(["share", "create", recordId, "--expires", "1h"]);
    await sender.json(["share", "delete", share.share]);
    const context = await browser.newContext();
    const { page } = await newPage(context);
    await page.goto(share.link);
    await expect.poll(() => page.getByTestId("problem").textContent()).toContain("cannot be opened");
    expect(await page.locator("main").textContent()).toContain("ended");

    await page.goto(`${share.link.slice(0, -3)}`);
    await page.getByTestId("bad-link").waitFor();
    expect(await page.locator("main").textContent()).toContain("damaged");
    await context.close();
  });

  it("lets the recipient end the share", async () => {
    const share = await sender.json<ShareCreated>(["share", "create", recordId, "--expires", "1h"]);
    const context = await browser.newContext();
    const { page } = await newPage(context);
    await page.goto(share.link);
    await page.getByTestId("open").click();
    await page.getByTestId("end").click();
    await page.getByTestId("deleted").waitFor();
    const listed = await sender.json<{ shares: { share: string; state: string; end_reason: string | null }[] }>(["share", "list", "--all"]);
    const ended = listed.shares.find((s) => s.share === share.share);
    expect(ended?.state).toBe("deleted");
    expect(ended?.end_reason).toBe("recipient_done");
    await context.close();
  });

  it("speaks the browser's language, and the picker changes it in place, link and all", async () => {
    const share = await sender.json<ShareCreated>(["share", "create", recordId, "--expires", "1h"]);
    const context = await browser.newContext({ locale: "de-DE" });
    const { page, problems } = await newPage(context);
    await page.goto(share.link);
    await expect.poll(() => page.getByTestId("open").textContent()).toBe("Zum Öffnen klicken");
    expect(await page.evaluate(() => document.documentElement.lang)).toBe("de");
    expect(await page.getByTestId("language").inputValue()).toBe("de");
    await page.getByTestId("open").click();
    await page.getByTestId("fingerprint").waitFor();
    expect(await page.locator("dt").allTextContents()).toEqual(expect.arrayContaining(["Benutzername", "Passwort", "Einmalcode"]));
    expect(await page.getByRole("button", { name: "Passwort kopieren" }).count()).toBe(1);

    // Japanese from the picker: the open record is drawn again (the link is no longer in the address bar).
    await page.getByTestId("language").selectOption("ja");
    await expect.poll(() => page.locator("dt").allTextContents()).toEqual(expect.arrayContaining(["ユーザー名", "パスワード"]));
    expect(await page.evaluate(() => document.documentElement.lang)).toBe("ja");
    expect(await page.getByTestId("end").textContent()).toBe("受け取りました: この共有を削除");
    expect(await page.locator("main").textContent()).toContain("まで利用可能");
    expect(await accessibilityProblems(page)).toEqual([]);

    // The choice is remembered for the next share opened in this browser.
    const next = await sender.json<ShareCreated>(["share", "create", recordId, "--expires", "1h"]);
    await page.goto(next.link);
    await expect.poll(() => page.getByTestId("open").textContent()).toBe("クリックして開く");
    expect(problems).toEqual([]);
    await context.close();
  });
});
