// The sharing flow at a phone's width and a desktop's: generated passwords in the editor, files dropped on a
// record, the invitation sent through the system's share sheet or by email, the warning when the sender opens
// their own link, a view-once share (shown once, then ended), and the clipboard cleared after the time chosen
// in Settings. Nothing spills out, the audit finds nothing serious, nothing on the console.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, Sender, Server } from "./harness";
import { accessibilityProblems, layoutProblems, newPage, screenshot, VIEWPORTS, type ViewportName } from "./pages";

let server: Server;
let browser: Browser;

const PASSWORD = "correct horse battery staple";

beforeAll(async () => {
  server = await Server.start();
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
  // The status is in the navigation, folded away on a phone.
  await expect.poll(() => page.getByTestId("live-status").textContent(), { timeout: 60_000 }).toBe("Live");
}

/** Clicks a control of the navigation, opening the folded menu first where there is one. */
async function navigate(page: Page, testId: string): Promise<void> {
  const menu = page.getByTestId("menu");
  if (await menu.isVisible()) await menu.click();
  await page.getByTestId(testId).click();
}

async function fits(page: Page, what: string): Promise<void> {
  expect(await layoutProblems(page), what).toEqual([]);
  expect(await accessibilityProblems(page), what).toEqual([]);
}

describe.each(Object.keys(VIEWPORTS) as ViewportName[])("sharing at %s width", (viewport) => {
  it("generates passwords, takes dropped files, sends the invitation, warns the sender, and shows a view-once share once", async () => {
    const email = `sharing-${viewport}@example.org`;
    const sender = new Sender(server, PASSWORD);
    await sender.register(email);
    const context = await browser.newContext({ viewport: VIEWPORTS[viewport] });
    // The system's share sheet, as phones offer it (this Chromium has none): it records what it was given.
    await context.addInitScript(() => {
      const w = window as unknown as { shared: unknown[] };
      w.shared = [];
      Object.assign(navigator, {
        canShare: () => true,
        share: (data: unknown) => {
          w.shared.push(data);
          return Promise.resolve();
        },
      });
    });
    const { page, problems } = await newPage(context);
    await login(page, email);

    // A new login with a generated password: 20 characters of every class, then six words.
    await navigate(page, "new-record");
    await page.getByTestId("edit-title").fill("Bank");
    await page.getByTestId("generate-password").click();
    const generated = await page.getByTestId("edit-password").inputValue();
    expect(generated).toHaveLength(20);
    for (const cls of [/[A-Z]/, /[a-z]/, /[0-9]/, /[^A-Za-z0-9]/]) expect(generated).toMatch(cls);
    expect(await page.getByTestId("edit-password").getAttribute("type")).toBe("text");
    await page.getByTestId("generator-choice").selectOption("words");
    await page.getByTestId("generate-password").click();
    expect((await page.getByTestId("edit-password").inputValue()).split(" ")).toHaveLength(6);
    await fits(page, "new record with a generated password");
    await screenshot(page, "sharing", `${viewport}-generated`);
    await page.getByTestId("generator-choice").selectOption("letters20");
    await page.getByTestId("generate-password").click();
    const kept = await page.getByTestId("edit-password").inputValue();
    expect(kept).toMatch(/^[A-Za-z0-9]{20}$/);
    await page.getByTestId("save-record").click();
    await page.getByTestId("record-title").filter({ hasText: "Bank" }).waitFor();
    const bank = new URL(page.url()).hash.split("/")[2]!;

    // A file dropped on the record is encrypted and added.
    const files = await page.evaluateHandle(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(["dropped bytes"], "dropped.txt", { type: "text/plain" }));
      return dt;
    });
    await page.getByTestId("record-panel").dispatchEvent("dragenter", { dataTransfer: files });
    expect(await page.getByTestId("record-panel").getAttribute("class")).toContain("dropping");
    await page.getByTestId("record-panel").dispatchEvent("drop", { dataTransfer: files });
    await page.getByTestId("notice-ok").filter({ hasText: "dropped.txt" }).waitFor({ timeout: 30_000 });
    await page.getByText("dropped.txt").first().waitFor();

    // A record with files cannot be shared view-once; one without can.
    await page.getByTestId("share-record").click();
    await page.getByTestId("share-create").waitFor();
    expect(await page.getByTestId("share-view-once").isDisabled()).toBe(true);
    await page.getByTestId("cancel").click();
    const note = (await sender.json<{ id: string }>(["record", "add", "--type", "note", "--title", "Door code", "--notes", "4711, then the green button"])).id;
    await page.goto(`${server.url}/#/records/${note}/share`);
    await page.getByTestId("share-create").waitFor();
    await page.getByTestId("share-view-once").check();
    expect(await page.getByTestId("share-editable").isDisabled()).toBe(true);
    expect(await page.getByTestId("share-burn").isDisabled()).toBe(true);
    await fits(page, "share dialog, view once");
    await page.getByTestId("share-label").fill("once for the plumber");
    await page.getByTestId("share-create").click();
    await page.getByTestId("share-created").waitFor({ timeout: 60_000 });
    const link = (await page.getByTestId("share-link").textContent()) ?? "";
    const invitation = await page.getByTestId("invitation").inputValue();
    expect(invitation).toContain("It can be viewed once");
    // The invitation goes out through the share sheet, or as a new email.
    await page.getByTestId("share-invitation").click();
    expect(await page.evaluate(() => (window as unknown as { shared: { text: string }[] }).shared[0]?.text)).toBe(invitation);
    const mail = (await page.getByTestId("mail-invitation").getAttribute("href")) ?? "";
    expect(mail.startsWith("mailto:?")).toBe(true);
    expect(new URL(mail).searchParams.get("body")).toBe(invitation);
    await fits(page, "share created");
    await screenshot(page, "sharing", `${viewport}-created`);

    // The sender opens their own link in the vault's browser: warned before anything is bound.
    const own = await context.newPage();
    await own.goto(link);
    await own.getByTestId("own-share-warning").waitFor();
    expect(await own.getByTestId("view-once-warning").count()).toBe(1);
    await own.close();

    // The recipient: warned it is shown once, shown it once, and the share has ended.
    const recipient = await browser.newContext({ viewport: VIEWPORTS[viewport] });
    const r = await newPage(recipient);
    await r.page.goto(link);
    await r.page.getByTestId("view-once-warning").waitFor();
    expect(await r.page.getByTestId("own-share-warning").count()).toBe(0);
    await fits(r.page, "recipient, view once");
    await r.page.getByTestId("open").click();
    await r.page.getByTestId("viewed-once").waitFor({ timeout: 30_000 });
    expect(await r.page.locator("main").textContent()).toContain("4711, then the green button");
    expect(await r.page.getByTestId("end").count()).toBe(0);
    await fits(r.page, "recipient, viewed once");
    await screenshot(r.page, "sharing", `${viewport}-viewed-once`);
    // It stays on screen (its own end is no news to it), and a reload shows nothing more.
    await r.page.waitForTimeout(2500);
    expect(await r.page.locator("main").textContent()).toContain("4711, then the green button");
    await r.page.reload();
    await r.page.getByTestId("ended").or(r.page.getByTestId("no-key")).first().waitFor();
    expect(await r.page.locator("main").textContent()).not.toContain("4711");

    // The owner is told, and the Shares screen lists it as viewed once.
    await page.getByTestId("notice-info").filter({ hasText: "ended" }).first().waitFor({ timeout: 30_000 });
    await page.goto(`${server.url}/#/shares/ended`);
    const ended = page.locator('[data-testid="share-item"]', { hasText: "once for the plumber" });
    await ended.waitFor();
    expect(await ended.textContent()).toContain("viewed once, then ended");
    const listed = await sender.json<{ shares: { label: string; end_reason: string; view_once: boolean }[] }>(["share", "list", "--all"]);
    const once = listed.shares.find((s) => s.label === "once for the plumber");
    expect(once?.end_reason).toBe("viewed");
    expect(once?.view_once).toBe(true);

    expect(problems).toEqual([]);
    // The reload of an ended share answers 410; nothing else may fail.
    expect(r.problems.filter((p) => !p.includes("410"))).toEqual([]);
    expect(bank).toMatch(/^[0-9a-f-]{36}$/);
    await Promise.all([context.close(), recipient.close()]);
  });

  it("clears the clipboard after the time chosen in Settings", async () => {
    const email = `clipboard-${viewport}@example.org`;
    const sender = new Sender(server, PASSWORD);
    await sender.register(email);
    const record = (await sender.json<{ id: string }>(["record", "add", "--type", "login", "--title", "Mail", "--field", "password=hunter2"])).id;
    const context = await browser.newContext({ viewport: VIEWPORTS[viewport] });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.url });
    const { page, problems } = await newPage(context);
    await login(page, email);
    await navigate(page, "nav-settings");
    await page.getByTestId("settings-clipboard").waitFor();
    expect(await page.getByTestId("settings-clipboard").inputValue()).toBe("60");
    await fits(page, "settings");
    await screenshot(page, "sharing", `${viewport}-settings`);
    await page.getByTestId("settings-clipboard").selectOption("15");
    await page.getByTestId("settings-saved").filter({ hasText: "15 s" }).waitFor();
    expect(await page.evaluate(() => localStorage.getItem("sharelock.clipboard-clear-secs"))).toBe("15");
    // Fifteen seconds is long for a test: the same setting, shorter.
    await page.evaluate(() => localStorage.setItem("sharelock.clipboard-clear-secs", "2"));

    await page.goto(`${server.url}/#/records/${record}`);
    await page.getByTestId("copy-password").click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe("hunter2");
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText()), { timeout: 10_000 }).toBe("");

    // Something copied since is left alone.
    await page.getByTestId("copy-password").click();
    await page.evaluate(() => navigator.clipboard.writeText("copied elsewhere"));
    await page.waitForTimeout(3000);
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe("copied elsewhere");
    expect(problems).toEqual([]);
    await context.close();
  });
});
