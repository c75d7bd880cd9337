// The Shares screen at a phone's width and a desktop's: every share of every record with its record's
// title, state, label, device, reads and edits; Active and Ended filters with addresses of their own; what
// other people tried (wrong passphrases, a refused device) on the cards and as live notices; ending a share
// and copying a link from there. Nothing spills out, the audit finds nothing serious, nothing on the console.
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, Sender, Server } from "./harness";
import { accessibilityProblems, layoutProblems, newPage, screenshot, VIEWPORTS, type ViewportName } from "./pages";

let server: Server;
let browser: Browser;

const PASSWORD = "correct horse battery staple";
const PASSPHRASE = "a passphrase of some length";

interface Created {
  link: string;
  share: string;
}

beforeAll(async () => {
  server = await Server.start();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

/** Opens a link with the CLI from a home of its own (another device); resolves whether it opened. */
async function openElsewhere(link: string, passphrase?: string): Promise<boolean> {
  const device = new Sender(server);
  try {
    await device.json(["open", link], passphrase ? { SHARELOCK_SHARE_PASSPHRASE: passphrase } : {});
    return true;
  } catch {
    return false;
  }
}

describe.each(Object.keys(VIEWPORTS) as ViewportName[])("the Shares screen at %s width", (viewport) => {
  it("lists every share across records, filters Active and Ended, shows refused devices and wrong passphrases, live too, and ends a share", async () => {
    const email = `shares-${viewport}@example.org`;
    const sender = new Sender(server, PASSWORD);
    await sender.register(email);
    const mail = (await sender.json<{ id: string }>(["record", "add", "--type", "login", "--title", "Mail", "--field", "username=ada"])).id;
    const wifi = (await sender.json<{ id: string }>(["record", "add", "--type", "wifi", "--title", "Office Wi-Fi with a long name for a narrow screen", "--field", "password=hunter2"])).id;
    const opened = await sender.json<Created>(["share", "create", mail, "--expires", "1d", "--editable", "--label", "for Grace"]);
    const guarded = await sender.json<Created>(["share", "create", wifi, "--expires", "1d", "--passphrase", "--label", "for the new colleague"], { SHARELOCK_SHARE_PASSPHRASE: PASSPHRASE });
    const ended = await sender.json<Created>(["share", "create", wifi, "--expires", "1h", "--label", "old one"]);
    await sender.json(["share", "delete", ended.share]);
    const later = await sender.json<Created>(["share", "create", mail, "--expires", "1d", "--label", "for Bob"]);

    // Grace opens hers in a browser; another device with her link is refused; someone guesses the passphrase.
    const recipient = await browser.newContext();
    const grace = await newPage(recipient);
    await grace.page.goto(opened.link);
    await grace.page.getByTestId("open").click();
    const fingerprint = (await grace.page.getByTestId("fingerprint").textContent()) ?? "";
    expect(fingerprint).toMatch(/^[a-z2-7]{4}(-[a-z2-7]{4}){3}$/);
    expect(await openElsewhere(opened.link)).toBe(false);
    expect(await openElsewhere(guarded.link, "not the passphrase at all")).toBe(false);

    const context = await browser.newContext({ viewport: VIEWPORTS[viewport] });
    const { page, problems } = await newPage(context);
    await page.goto(`${server.url}/#/shares`);
    await page.getByTestId("email").fill(email);
    await page.getByTestId("password").fill(PASSWORD);
    await page.getByTestId("auth-submit").click();
    // Logging in opens the screen the address names.
    await page.getByTestId("shares-list").waitFor({ timeout: 60_000 });
    expect(new URL(page.url()).hash).toBe("#/shares");
    await expect.poll(() => page.getByTestId("live-status").textContent()).toBe("Live");

    const card = (handle: string) => page.locator(`[data-testid="share-item"][data-handle="${handle}"]`);
    expect(await page.getByTestId("share-item").count()).toBe(3);
    expect(await page.getByTestId("shares-filter-active").getAttribute("aria-pressed")).toBe("true");
    expect(await page.getByTestId("shares-filter-active").textContent()).toBe("Active (3)");
    expect(await page.getByTestId("shares-filter-ended").textContent()).toBe("Ended (1)");
    // Grace's: its record, opened on her device (the same code her screen shows), read, refused elsewhere.
    expect(await card(opened.share).getByTestId("share-record-title").textContent()).toBe("Mail");
    expect(await card(opened.share).getByTestId("share-state").textContent()).toBe("opened");
    expect(await card(opened.share).getByTestId("share-label").textContent()).toBe("for Grace");
    expect(await card(opened.share).getByTestId("share-fingerprint").textContent()).toBe(fingerprint);
    expect(await card(opened.share).getByTestId("share-last-read").textContent()).toContain("last read");
    expect(await card(opened.share).getByTestId("share-edits").textContent()).toContain("0 edits");
    expect(await card(opened.share).getByTestId("share-attempts").textContent()).toContain("Another device with the link was refused");
    // The guarded one: waiting, with the wrong passphrase counted; its link can be copied again.
    expect(await card(guarded.share).getByTestId("share-record-title").textContent()).toBe("Office Wi-Fi with a long name for a narrow screen");
    expect(await card(guarded.share).getByTestId("share-state").textContent()).toBe("waiting to be opened");
    expect(await card(guarded.share).getByTestId("share-attempts").textContent()).toContain("1 wrong passphrase");
    expect(await card(guarded.share).getByTestId("share-copy-link").count()).toBe(1);
    expect(await card(opened.share).getByTestId("share-copy-link").count()).toBe(0);
    expect(await page.getByTestId("shares-warning").textContent()).toContain("2 live shares");
    expect(await layoutProblems(page)).toEqual([]);
    expect(await accessibilityProblems(page)).toEqual([]);
    await screenshot(page, "shares", `${viewport}-active`);

    // Live: another device tries Bob's link while the screen is open: a notice, and the card says so.
    const bob = await browser.newContext();
    const bobPage = await newPage(bob);
    await bobPage.page.goto(later.link);
    await bobPage.page.getByTestId("open").click();
    await bobPage.page.getByTestId("fingerprint").waitFor();
    await page.getByTestId("notice-info").filter({ hasText: "just opened" }).waitFor();
    expect(await openElsewhere(later.link)).toBe(false);
    await page.getByTestId("notice-error").filter({ hasText: "Another device tried to open a share of “Mail”" }).waitFor();
    await expect.poll(() => card(later.share).getByTestId("share-attempts").count()).toBe(1);
    expect(await card(later.share).getByTestId("share-state").textContent()).toBe("opened");

    // Ended: the filter has an address, Back returns to the live ones.
    await page.getByTestId("shares-filter-ended").click();
    await expect.poll(() => new URL(page.url()).hash).toBe("#/shares/ended");
    await card(ended.share).waitFor();
    expect(await page.getByTestId("share-item").count()).toBe(1);
    expect(await card(ended.share).textContent()).toContain("ended by you");
    expect(await card(ended.share).getByTestId("share-delete").count()).toBe(0);
    expect(await layoutProblems(page)).toEqual([]);
    expect(await accessibilityProblems(page)).toEqual([]);
    await screenshot(page, "shares", `${viewport}-ended`);
    await page.goBack();
    await card(guarded.share).waitFor();

    // Ending the guarded share from here: it moves to Ended, and its record gets a new key.
    await card(guarded.share).getByTestId("share-delete").click();
    await page.getByTestId("notice-ok").filter({ hasText: /^Share ended\./ }).waitFor({ timeout: 30_000 });
    await expect.poll(() => card(guarded.share).count()).toBe(0);
    expect(await page.getByTestId("shares-filter-ended").textContent()).toBe("Ended (2)");
    expect(await openElsewhere(guarded.link, PASSPHRASE)).toBe(false);

    // The record's title opens the record.
    await card(opened.share).getByTestId("share-record-title").click();
    await expect.poll(() => page.getByTestId("record-title").textContent()).toBe("Mail");
    expect(new URL(page.url()).hash).toBe(`#/records/${mail}`);

    // The wrong passphrase and the refused devices answered 401/403 to the CLI, not to this page.
    expect(problems).toEqual([]);
    expect(grace.problems).toEqual([]);
    await Promise.all([context.close(), recipient.close(), bob.close()]);
  });
});
