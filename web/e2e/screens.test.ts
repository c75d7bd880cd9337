// Every screen of both pages at a phone's width (390×844) and a desktop's, in light and dark: nothing spills
// out of the window, no control is off screen, the accessibility audit (axe-core) finds nothing serious or
// critical, nothing fails on the console. A screenshot of each screen is kept in e2e-artifacts/screens/.
// And the vault works from the keyboard alone, with every control named for what it does.
import type { Browser, FileChooser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, Sender, Server } from "./harness";
import { accessibilityProblems, layoutProblems, newPage, screenshot, VIEWPORTS, type ViewportName } from "./pages";

let server: Server;
let browser: Browser;
let sender: Sender;
let recordId: string;

const EMAIL = "screens@example.org";
const PASSWORD = "correct horse battery staple";
const SCHEMES = ["light", "dark"] as const;
/** Serious and critical findings of the accessibility audit, over every screen (reported together). */
const audits: string[] = [];

beforeAll(async () => {
  server = await Server.start();
  browser = await launchChromium();
  sender = new Sender(server, PASSWORD);
  await sender.register(EMAIL);
  // Long unbroken values are what push a narrow layout wide.
  const added = await sender.json<{ id: string }>([
    "record", "add", "--type", "login", "--title", "Mail account with a rather long title for a phone",
    "--field", "username=ada.lovelace.with.a.very.long.username@mail.example.org",
    "--field", "password=hunter2-correct-horse-battery-staple-and-more",
    "--field", "url=https://mail.example/login/with/a/very/long/path/that/does/not/break?and=query&more=1",
    "--field", "totp=JBSWY3DPEHPK3PXP",
  ]);
  recordId = added.id;
  await sender.json(["record", "add", "--type", "note", "--title", "Notes"]);
  await sender.json(["share", "create", recordId, "--expires", "1d", "--editable", "--label", "for Grace, on her new laptop at the office"]);
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

/** Checks the screen as it is now, in both colour schemes, and keeps its screenshots. */
async function check(page: Page, viewport: ViewportName, screen: string): Promise<void> {
  for (const scheme of SCHEMES) {
    await page.emulateMedia({ colorScheme: scheme });
    expect(await layoutProblems(page), `${screen} at ${viewport} (${scheme})`).toEqual([]);
    audits.push(...(await accessibilityProblems(page)).map((p) => `${screen} at ${viewport} (${scheme}): ${p}`));
    await screenshot(page, "screens", `${viewport}-${scheme}-${screen}`);
  }
  await page.emulateMedia({ colorScheme: "light" });
}

/** Clicks a control of the navigation, opening the folded menu first where there is one. */
async function navigate(page: Page, testId: string): Promise<void> {
  const menu = page.getByTestId("menu");
  if (await menu.isVisible()) {
    await menu.click();
    expect(await menu.getAttribute("aria-expanded")).toBe("true");
  }
  await page.getByTestId(testId).click();
}

describe.each(Object.keys(VIEWPORTS) as ViewportName[])("every screen at %s width", (viewport) => {
  it("fits the window and passes the accessibility audit, in light and dark, with nothing on the console", async () => {
    const context = await browser.newContext({ viewport: VIEWPORTS[viewport] });
    const { page, problems } = await newPage(context);
    await page.goto(`${server.url}/`);

    // Login and registration.
    await page.getByTestId("auth-submit").waitFor();
    await check(page, viewport, "login");
    await page.getByTestId("switch-register").click();
    await page.getByTestId("password-again").waitFor();
    await check(page, viewport, "register");
    await page.getByTestId("switch-login").click();
    await page.getByTestId("email").fill(EMAIL);
    await page.getByTestId("password").fill(PASSWORD);
    await page.getByTestId("auth-submit").click();

    // The list: rows, or cards on a phone.
    await page.getByTestId("record-row").first().waitFor({ timeout: 60_000 });
    await check(page, viewport, "list");
    const menu = page.getByTestId("menu");
    if (viewport === "phone") {
      // The navigation is folded away until asked for, and Escape folds it again.
      expect(await page.getByTestId("logout").isVisible()).toBe(false);
      await menu.click();
      expect(await page.getByTestId("logout").isVisible()).toBe(true);
      await check(page, viewport, "menu");
      await page.keyboard.press("Escape");
      expect(await page.getByTestId("logout").isVisible()).toBe(false);
      expect(await menu.getAttribute("aria-expanded")).toBe("false");
    } else {
      expect(await menu.isVisible()).toBe(false);
      expect(await page.getByTestId("logout").isVisible()).toBe(true);
    }

    // A record with a long title, long values and a share.
    await page.locator(`[data-testid="record-row"][data-id="${recordId}"] [data-testid="record-open"]`).click();
    await page.getByTestId("share-item").first().waitFor();
    await expect.poll(() => page.getByTestId("otp-totp").textContent()).toMatch(/^\d{6}$/);
    await check(page, viewport, "record");

    await page.getByTestId("edit-record").click();
    await page.getByTestId("save-record").waitFor();
    await check(page, viewport, "edit");
    await page.getByTestId("cancel").click();

    await page.getByTestId("history").click();
    await page.getByTestId("history-entry").first().waitFor();
    await check(page, viewport, "history");
    await page.getByTestId("back-to-record").click();

    await page.getByTestId("share-record").click();
    await page.getByTestId("share-create").waitFor();
    await page.getByTestId("share-passphrase-generate").click();
    await check(page, viewport, "share");
    await page.getByTestId("share-create").click();
    await page.getByTestId("share-created").waitFor({ timeout: 60_000 });
    await check(page, viewport, "share-created");
    await page.getByTestId("share-done").click();
    await page.getByTestId("share-item").first().waitFor();

    await navigate(page, "nav-shares");
    await page.getByTestId("shares-list").waitFor();
    await check(page, viewport, "shares");
    await page.getByTestId("shares-filter-ended").click();
    // Ended shares of earlier walks, or none yet.
    await page.locator('[data-testid="shares-filter-ended"][aria-pressed="true"]').waitFor();
    await check(page, viewport, "shares-ended");

    await navigate(page, "new-record");
    await page.getByTestId("new-type").waitFor();
    await check(page, viewport, "new");

    await navigate(page, "change-password");
    await page.getByTestId("password-submit").waitFor();
    await check(page, viewport, "password");

    await navigate(page, "logout");
    await page.getByTestId("auth-message").waitFor();
    await check(page, viewport, "locked");

    expect(audits.splice(0)).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  });

  it("fits the recipient's passphrase screen and an empty vault, and passes the accessibility audit", async () => {
    const share = await sender.json<{ link: string }>(["share", "create", recordId, "--expires", "1h", "--passphrase"], { SHARELOCK_SHARE_PASSPHRASE: "a passphrase of some length" });
    const context = await browser.newContext({ viewport: VIEWPORTS[viewport] });
    const { page, problems } = await newPage(context);
    await page.goto(share.link);
    await page.getByTestId("passphrase").waitFor();
    await check(page, viewport, "recipient-passphrase");
    await page.getByTestId("passphrase").fill("not the passphrase");
    await page.getByTestId("passphrase").press("Enter");
    await page.getByTestId("passphrase-error").waitFor({ timeout: 60_000 });
    // The error is tied to the box it is about.
    expect(await page.getByTestId("passphrase").getAttribute("aria-describedby")).toBe("passphrase-error");
    expect(await page.getByTestId("passphrase").getAttribute("aria-invalid")).toBe("true");
    await check(page, viewport, "recipient-passphrase-wrong");

    // A new account's empty vault.
    await page.goto(`${server.url}/`);
    await page.getByTestId("switch-register").click();
    await page.getByTestId("email").fill(`empty-${viewport}@example.org`);
    await page.getByTestId("password").fill(PASSWORD);
    await page.getByTestId("password-again").fill(PASSWORD);
    await page.getByTestId("auth-submit").click();
    await page.getByTestId("records-empty").waitFor({ timeout: 60_000 });
    await check(page, viewport, "list-empty");
    expect(audits.splice(0)).toEqual([]);
    // The wrong passphrase answers 401; nothing else may fail.
    expect(problems.filter((p) => !p.includes("401"))).toEqual([]);
    await context.close();
  });

  it("fits the recipient's page and passes the accessibility audit, in light and dark, with nothing on the console", async () => {
    const share = await sender.json<{ link: string }>(["share", "create", recordId, "--expires", "1h", "--editable"]);
    const context = await browser.newContext({ viewport: VIEWPORTS[viewport] });
    const { page, problems } = await newPage(context);
    await page.goto(share.link);
    await page.getByTestId("open").waitFor();
    await check(page, viewport, "recipient-open");
    await page.getByTestId("open").click();
    await page.getByTestId("fingerprint").waitFor();
    // The record was shared three times before (three new keys, no change of content): no version number.
    expect(await page.locator("main").textContent()).not.toMatch(/[Vv]ersion \d/);
    await check(page, viewport, "recipient-record");
    await page.getByTestId("edit").click();
    await page.getByTestId("save").waitFor();
    await check(page, viewport, "recipient-edit");
    await page.getByRole("button", { name: "Cancel" }).click();
    await page.getByTestId("end").click();
    await page.locator("main").getByText("Share deleted").waitFor();
    await check(page, viewport, "recipient-ended");
    expect(audits.splice(0)).toEqual([]);
    // The share's end answers 410 to the page's next request; nothing else may fail.
    expect(problems.filter((p) => !p.includes("410"))).toEqual([]);
    await context.close();
  });
});

/** Presses Tab until the control with this test id (or matching this selector) has the focus (at most `max` times). */
async function tabTo(page: Page, target: string, max = 60): Promise<void> {
  const selector = target.startsWith("[") ? target : `[data-testid="${target}"]`;
  for (let i = 0; i < max; i++) {
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
    await page.keyboard.press("Tab");
  }
  throw new Error(`Tab never reached ${target}`);
}

describe("the keyboard alone", () => {
  it("logs in, opens a record, reveals and copies by name, opens the file dialog, edits with labelled fields and saves", async () => {
    const context = await browser.newContext({ viewport: VIEWPORTS.phone });
    const { page, problems } = await newPage(context);
    // Set up before anything happens: the browser's file dialogs are caught instead of shown.
    const choosers: FileChooser[] = [];
    page.on("filechooser", (chooser) => choosers.push(chooser));
    await page.goto(`${server.url}/`);
    await page.getByTestId("auth-submit").waitFor();
    // The email box has the focus; Tab leads to the password; Enter logs in.
    await page.keyboard.type(EMAIL);
    await page.keyboard.press("Tab");
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press("Enter");
    await page.getByTestId("record-row").first().waitFor({ timeout: 60_000 });

    // The menu opens from the keyboard; Escape folds it and gives the focus back.
    await tabTo(page, "menu");
    await page.keyboard.press("Enter");
    expect(await page.getByTestId("logout").isVisible()).toBe(true);
    await page.keyboard.press("Escape");
    expect(await page.evaluate(() => document.activeElement?.getAttribute("data-testid"))).toBe("menu");

    await tabTo(page, `[data-id="${recordId}"] [data-testid="record-open"]`);
    await page.keyboard.press("Enter");
    await page.getByTestId("share-item").first().waitFor();

    // Show and Copy say what they show and copy.
    for (const name of ["Copy Username", "Show Password", "Copy Password", "Copy URL", "Copy One-time code"]) {
      expect(await page.getByRole("button", { name, exact: true }).count(), name).toBe(1);
    }
    await page.getByRole("button", { name: "Show Password", exact: true }).focus();
    await page.keyboard.press("Enter");
    await expect.poll(() => page.getByTestId("value-password").textContent()).toBe("hunter2-correct-horse-battery-staple-and-more");
    expect(await page.getByRole("button", { name: "Hide Password", exact: true }).count()).toBe(1);

    // The file button is a button: Tab reaches it, Enter opens the browser's file dialog.
    await tabTo(page, "attach-files-button");
    await tabTo(page, "attach-files-button");
    await page.keyboard.press("Enter");
    await expect.poll(() => choosers.length).toBe(1);
    expect(choosers[0]!.isMultiple()).toBe(true);

    // Editing: every field has its label.
    await tabTo(page, "edit-record");
    await page.keyboard.press("Enter");
    await page.getByTestId("save-record").waitFor();
    expect(await page.getByLabel("Title", { exact: true }).getAttribute("data-testid")).toBe("edit-title");
    expect(await page.getByLabel("Notes", { exact: true }).getAttribute("data-testid")).toBe("edit-notes");
    expect(await page.getByLabel("Username", { exact: true }).getAttribute("data-testid")).toBe("edit-username");
    expect(await page.getByLabel("New field name").count()).toBe(1);
    expect(await page.getByLabel("Kind of the new field").count()).toBe(1);
    // The title has the focus; a change and Enter save it.
    await page.keyboard.press("End");
    await page.keyboard.type(" (work)");
    await page.keyboard.press("Enter");
    await expect.poll(() => page.getByTestId("record-title").textContent()).toBe("Mail account with a rather long title for a phone (work)");

    expect(audits.splice(0)).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  });
});
