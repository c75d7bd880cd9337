// What the recipient is told before Click to Open (the sender's name and the record type, §4.6) and
// self-destructing records (§4.7), at a phone's width and a desktop's: the share dialog's name and
// self-destruction choice with its warning, the recipient's page saying who shared what and when the record
// goes, and a record that really destroys itself (the server sweeps every second here): the owner is told
// live, the record leaves the list and the Shares screen says what happened. Nothing spills out, the audit
// finds nothing serious, nothing on the console.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, Sender, Server } from "./harness";
import { accessibilityProblems, layoutProblems, newPage, screenshot, VIEWPORTS, type ViewportName } from "./pages";

let server: Server;
let browser: Browser;

const PASSWORD = "correct horse battery staple";

beforeAll(async () => {
  server = await Server.start({ SHARELOCK_SWEEP_INTERVAL: "1s" });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function login(page: Page, email: string): Promise<void> {
  await page.goto(`${server.url}/`);
  await page.getByTestId("email").fill(email);
  await page.getByTestId("password").fill(PASSWORD);
  await page.getByTestId("auth-submit").click();
  await expect.poll(() => page.getByTestId("live-status").textContent(), { timeout: 60_000 }).toBe("Live");
}

async function fits(page: Page, what: string): Promise<void> {
  expect(await layoutProblems(page), what).toEqual([]);
  expect(await accessibilityProblems(page), what).toEqual([]);
}

describe.each(Object.keys(VIEWPORTS) as ViewportName[])("self-destructing records at %s width", (viewport) => {
  it("names the sender, warns before a record destroys itself, and tells the owner when it has", async () => {
    const email = `destroy-${viewport}@example.org`;
    const sender = new Sender(server, PASSWORD);
    await sender.register(email);
    const wifi = (await sender.json<{ id: string }>(["record", "add", "--type", "wifi", "--title", "Guest Wi-Fi", "--field", "ssid=guests", "--field", "password=k1tchen-table"])).id;
    const context = await browser.newContext({ viewport: VIEWPORTS[viewport] });
    const { page, problems } = await newPage(context);
    await login(page, email);

    // The dialog: a name for the recipient, and self-destruction with what it means spelled out.
    await page.goto(`${server.url}/#/records/${wifi}/share`);
    await page.getByTestId("share-create").waitFor();
    expect(await page.getByTestId("share-destroy-warning").textContent()).toContain("stays in your vault");
    await page.getByTestId("share-from").fill("Ada");
    await page.getByTestId("share-destroy").selectOption("10m");
    const warning = (await page.getByTestId("share-destroy-warning").textContent()) ?? "";
    expect(warning).toContain("deletes “Guest Wi-Fi” from your vault 10 min later");
    expect(warning).toContain("for good");
    await fits(page, "share dialog, self-destruction chosen");
    await screenshot(page, "self-destruct", `${viewport}-dialog`);
    await page.getByTestId("share-label").fill("for the guests");
    await page.getByTestId("share-create").click();
    await page.getByTestId("share-created").waitFor({ timeout: 60_000 });
    expect(await page.getByTestId("share-destroys").textContent()).toContain("10 min later");
    expect(await page.getByTestId("invitation").inputValue()).toContain("the original is deleted 10 min later");
    const link = (await page.getByTestId("share-link").textContent()) ?? "";
    await fits(page, "share created, self-destructing");
    await page.goto(`${server.url}/#/shares`);
    const waiting = page.locator('[data-testid="share-item"]', { hasText: "for the guests" });
    await waiting.waitFor();
    expect(await waiting.textContent()).toContain("destroys the record 10 min after opening");

    // The recipient reads who shared what, and that opening starts the clock, before anything is bound.
    const recipient = await browser.newContext({ viewport: VIEWPORTS[viewport] });
    const r = await newPage(recipient);
    await r.page.goto(link);
    await r.page.getByTestId("open").waitFor();
    expect(await r.page.getByTestId("open-title").textContent()).toBe("Ada shared a Wi-Fi network with you");
    expect(await r.page.getByTestId("destroys-warning").textContent()).toContain("10 min later");
    await fits(r.page, "recipient, before opening a self-destructing record");
    await screenshot(r.page, "self-destruct", `${viewport}-recipient`);
    await r.page.getByTestId("open").click();
    await r.page.getByTestId("destroys-at").waitFor({ timeout: 30_000 });
    expect(await r.page.getByTestId("value-password").count()).toBe(1);
    // The name is remembered for this account's next share.
    await page.goto(`${server.url}/#/records/${wifi}/share`);
    await page.getByTestId("share-create").waitFor();
    expect(await page.getByTestId("share-from").inputValue()).toBe("Ada");

    // A record that really goes: made to destroy itself 2 s after opening (the CLI's option).
    const door = (await sender.json<{ id: string }>(["record", "add", "--type", "note", "--title", "Door code", "--notes", "4711"])).id;
    const quick = await sender.json<{ link: string; share: string }>(["share", "create", door, "--expires", "1h", "--destroy-after-open", "2s", "--from", "Ada"]);
    await page.goto(`${server.url}/#/records`);
    await page.getByText("Door code").first().waitFor();
    await r.page.goto(quick.link);
    await r.page.getByTestId("open").waitFor();
    expect(await r.page.getByTestId("open-title").textContent()).toBe("Ada shared a secure note with you");
    await r.page.getByTestId("open").click();
    await r.page.getByTestId("destroys-at").waitFor({ timeout: 30_000 });
    await page.getByTestId("notice-ok").filter({ hasText: "Self-destruction" }).first().waitFor({ timeout: 30_000 });
    await expect.poll(() => page.getByText("Door code").count(), { timeout: 10_000 }).toBe(0);
    // The recipient's page learns the share ended with its record.
    await r.page.getByTestId("ended").waitFor({ timeout: 30_000 });
    await page.goto(`${server.url}/#/shares/ended`);
    const gone = page.locator('[data-testid="share-item"]', { has: page.getByText("A record that destroyed itself") });
    await gone.first().waitFor();
    await fits(page, "Shares, a record destroyed");
    await screenshot(page, "self-destruct", `${viewport}-destroyed`);
    const listed = await sender.json<{ shares: { share: string; end_reason: string; destroy_at: string | null }[] }>(["share", "list", "--all"]);
    const ended = listed.shares.find((s) => s.share === quick.share);
    expect(ended?.end_reason).toBe("record_deleted");
    expect(ended?.destroy_at).not.toBeNull();

    expect(problems).toEqual([]);
    // The recipient's page may meet the ended share (410) on its way out; nothing else may fail.
    expect(r.problems.filter((p) => !p.includes("410"))).toEqual([]);
    await Promise.all([context.close(), recipient.close()]);
  });
});
