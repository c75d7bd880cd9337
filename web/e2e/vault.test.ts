// The owner's vault end to end: a real server, Chromium as the owner and as the recipient, and the CLI
// logged in to the same account.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, Sender, Server } from "./harness";

let server: Server;
let browser: Browser;

const EMAIL = "grace@example.org";
const PASSWORD = "correct horse battery staple";

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

const text = async (page: Page, testId: string): Promise<string> => (await page.getByTestId(testId).first().textContent()) ?? "";

beforeAll(async () => {
  server = await Server.start();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe("the owner's vault", () => {
  it("is served with the strict page CSP", async () => {
    const response = await fetch(`${server.url}/`);
    expect(response.status).toBe(200);
    const csp = response.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("require-trusted-types-for 'script'");
    expect(csp).toContain("trusted-types sharelock-download");
    expect(csp).not.toContain("unsafe-inline");
  });

  it("registers, stores a login, shares it editable, sees the recipient's verified edit, ends the share, and the CLI reads the same vault", async () => {
    const owner = await browser.newContext();
    const { page, problems } = await newPage(owner);
    await page.goto(`${server.url}/`);

    // Register: the form says what it is doing while Argon2id runs.
    await page.getByTestId("switch-register").click();
    await page.getByTestId("email").fill(EMAIL);
    await page.getByTestId("password").fill(PASSWORD);
    await page.getByTestId("password-again").fill(PASSWORD);
    await page.getByTestId("password-again").press("Enter");
    await page.getByTestId("records-empty").waitFor({ timeout: 60_000 });
    await expect.poll(() => text(page, "live-status")).toBe("Live");
    // Nothing secret is kept in the browser's storage.
    const stored = await page.evaluate(() => JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage } }));
    expect(stored).not.toContain(PASSWORD);
    expect(stored.toLowerCase()).not.toContain("token");

    // A login with a password and a one-time code.
    await page.getByTestId("new-record").click();
    expect(await page.getByTestId("new-type").inputValue()).toBe("login");
    await page.getByTestId("edit-title").fill("Mail");
    await page.getByTestId("edit-username").fill("ada");
    await page.getByTestId("edit-password").fill("hunter2-<b>bold</b>");
    await page.getByTestId("edit-url").fill("https://mail.example");
    await page.getByTestId("edit-totp").fill("JBSWY3DPEHPK3PXP");
    await page.getByTestId("edit-title").press("Enter");
    await expect.poll(() => text(page, "record-title")).toBe("Mail");
    await expect.poll(async () => text(page, "otp-totp")).toMatch(/^\d{6}$/);
    expect(await text(page, "record-author")).toBe("you");
    expect(await text(page, "record-verified")).toBe("verified");

    // A file of 9 MiB: encrypted in the page and uploaded in two parts, then downloaded, decrypted and checked.
    const dir = mkdtempSync(join(server.dir, "files-"));
    const original = join(dir, "scan.bin");
    const bytes = Buffer.alloc(9 * 1024 * 1024 + 123);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + 7) & 255;
    writeFileSync(original, bytes);
    await page.getByTestId("attach-files").setInputFiles(original);
    await page.getByTestId("download-scan.bin").waitFor({ timeout: 60_000 });
    const download = page.waitForEvent("download");
    await page.getByTestId("download-scan.bin").click();
    expect(readFileSync(await (await download).path()).equals(bytes)).toBe(true);

    // An edit by the owner: Enter in a field saves.
    await page.getByTestId("edit-record").click();
    await page.getByTestId("edit-url").fill("https://mail.example/login");
    await page.getByTestId("edit-url").press("Enter");
    await expect.poll(() => text(page, "value-url")).toBe("https://mail.example/login");

    // The list shows it; the search filters it.
    await page.getByTestId("nav-records").click();
    await page.getByTestId("record-row").first().waitFor();
    expect(await text(page, "record-open")).toBe("Mail");
    await page.getByTestId("search").fill("bank");
    await page.getByTestId("no-match").waitFor();
    await page.getByTestId("search").fill("mai");
    expect(await page.getByTestId("record-row").first().isVisible()).toBe(true);
    await page.getByTestId("record-open").first().click();

    // Share it, editable, from the dialog.
    await page.getByTestId("share-record").click();
    await page.getByTestId("share-expiry").selectOption("1d");
    await page.getByTestId("share-editable").check();
    await page.getByTestId("share-label").fill("for Ada");
    await page.getByTestId("share-create").click();
    await page.getByTestId("share-created").waitFor();
    const link = (await text(page, "share-link")).trim();
    expect(link.startsWith(`${server.url}/s#1.`)).toBe(true);
    const invitation = await page.getByTestId("invitation").inputValue();
    expect(invitation).toContain(link);
    expect(invitation).toContain("first device");
    expect(invitation).toContain("expires");
    expect(await page.locator('[data-testid="share-qr"] svg path').count()).toBe(1);
    await page.getByTestId("share-done").click();
    await expect.poll(() => text(page, "share-state")).toBe("waiting to be opened");
    expect(await text(page, "share-label")).toBe("for Ada");

    // The recipient, in another browser profile: open, edit a field, save.
    const recipientContext = await browser.newContext();
    const recipient = await newPage(recipientContext);
    await recipient.page.goto(link);
    await recipient.page.getByTestId("open").click();
    await expect.poll(() => text(recipient.page, "record-title")).toBe("Mail");
    const fingerprint = await text(recipient.page, "fingerprint");
    await recipient.page.getByTestId("edit").click();
    await recipient.page.getByTestId("edit-username").fill("ada.lovelace");
    await recipient.page.getByTestId("save").click();
    await expect.poll(() => text(recipient.page, "status")).toContain("Saved.");

    // The vault updates live: the new value, written by the recipient's verified device.
    await expect.poll(() => text(page, "value-username"), { timeout: 30_000 }).toBe("ada.lovelace");
    expect(await text(page, "record-author")).toContain("recipient");
    expect(await text(page, "record-author")).toContain(fingerprint);
    expect(await text(page, "record-verified")).toBe("verified");
    await expect.poll(() => text(page, "share-fingerprint")).toBe(fingerprint);
    expect(await text(page, "share-edits")).toContain("1 edit");

    // The history lists the changes people made, each attributed, the recipient's included. Sharing wrote
    // version 4 (a new record key, the same content): it is nobody's change, so it is not listed, not
    // offered for restoring, and does not say "by you".
    await page.getByTestId("history").click();
    await page.getByTestId("history-entry").first().waitFor();
    expect(await page.getByTestId("history-entry").evaluateAll((items) => items.map((i) => i.getAttribute("data-version")))).toEqual(["5", "3", "2", "1"]);
    const badges = await page.getByTestId("history-verified").allTextContents();
    expect(badges).toEqual(["verified", "verified", "verified", "verified"]);
    expect(await page.getByTestId("history-author").allTextContents()).toEqual([expect.stringContaining("recipient"), "you", "you", "you"]);
    expect(await page.getByTestId("restore-4").count()).toBe(0);
    expect(await page.getByTestId("history-list").textContent()).not.toMatch(/[Kk]ey|[Vv]ersion/);
    await page.getByTestId("back-to-record").click();

    // End the share: the record gets a new key, and the recipient's open page says at once that it ended
    // (its live channel tells it; it used to find out at its next poll, 20 s later).
    await page.getByTestId("share-delete").click();
    await recipient.page.getByTestId("ended").waitFor({ timeout: 3000 });
    expect(await recipient.page.getByTestId("record-title").count()).toBe(0);
    await expect.poll(() => page.getByTestId("notice-ok").allTextContents()).toEqual(expect.arrayContaining([expect.stringContaining("from now on is out of")]));
    await expect.poll(() => page.locator('[data-testid="share-item"].ended [data-testid="share-state"]').textContent()).toBe("ended");
    // That new key is version 6, written by this vault; the record still says whose change it shows.
    expect(await text(page, "record-author")).toContain("recipient");
    expect(await text(page, "record-meta")).not.toMatch(/[Vv]ersion/);
    await page.getByTestId("history").click();
    await page.getByTestId("history-entry").first().waitFor();
    expect(await page.getByTestId("history-entry").count()).toBe(4);
    await page.getByTestId("back-to-record").click();
    await expect.poll(() => page.locator('[data-testid="share-item"].ended [data-testid="share-state"]').textContent()).toBe("ended");
    expect(await page.getByTestId("share-delete").count()).toBe(0);
    await recipient.page.goto(link);
    await expect.poll(() => text(recipient.page, "problem")).toContain("cannot be opened");
    expect(await recipient.page.locator("main").textContent()).toContain("ended");

    // The CLI, logged in to the same account, reads what the browser wrote.
    const cli = new Sender(server, PASSWORD);
    await cli.json(["login", "--email", EMAIL]);
    const list = await cli.json<{ records: { id: string; title: string; verified: boolean }[] }>(["record", "list"]);
    expect(list.records.map((r) => r.title)).toEqual(["Mail"]);
    expect(list.records[0]?.verified).toBe(true);
    const saved = join(dir, "cli");
    const shown = await cli.json<{ version: number; record: { fields: { name: string; value: string }[] } }>(["record", "show", list.records[0]!.id, "--save-files", saved]);
    expect(readFileSync(join(saved, "scan.bin")).equals(bytes)).toBe(true);
    const value = (name: string): string | undefined => shown.record.fields.find((f) => f.name === name)?.value;
    expect(value("username")).toBe("ada.lovelace");
    expect(value("password")).toBe("hunter2-<b>bold</b>");
    expect(value("totp")).toBe("JBSWY3DPEHPK3PXP");
    expect(value("url")).toBe("https://mail.example/login");
    // Created, file added, edited, shared (rotation), edited by the recipient, rotated after the share ended.
    expect(shown.version).toBe(6);

    // Logging out locks the vault.
    await page.getByTestId("logout").click();
    await page.getByTestId("auth-message").waitFor();
    expect(await page.getByTestId("record-title").count()).toBe(0);

    expect(problems).toEqual([]);
    // The ended share answers 410 to the recipient's status request; nothing else may fail.
    expect(recipient.problems.filter((p) => !p.includes("410"))).toEqual([]);
    await recipientContext.close();
    await owner.close();
  });
  it("keeps both sides' changes when the recipient edits while the owner is editing", async () => {
    const owner = await browser.newContext();
    const { page, problems } = await newPage(owner);
    await page.goto(`${server.url}/`);
    await page.getByTestId("switch-register").click();
    await page.getByTestId("email").fill("hopper@example.org");
    await page.getByTestId("password").fill(PASSWORD);
    await page.getByTestId("password-again").fill(PASSWORD);
    await page.getByTestId("auth-submit").click();
    await page.getByTestId("records-empty").waitFor({ timeout: 60_000 });

    await page.getByTestId("new-record").click();
    await page.getByTestId("new-type").selectOption("server");
    await page.getByTestId("edit-title").fill("Build box");
    await page.getByTestId("edit-hostname").fill("build.example");
    await page.getByTestId("edit-port").fill("22");
    await page.getByTestId("save-record").click();
    await expect.poll(() => text(page, "record-title")).toBe("Build box");
    await page.getByTestId("share-record").click();
    await page.getByTestId("share-editable").check();
    await page.getByTestId("share-burn").selectOption("1h");
    // A passphrase that is too short is refused; a generated one is six words.
    await page.getByTestId("share-passphrase").fill("too short");
    await page.getByTestId("share-create").click();
    await expect.poll(() => text(page, "share-error")).toContain("at least 10 characters");
    await page.getByTestId("share-passphrase-generate").click();
    const passphrase = await page.getByTestId("share-passphrase").inputValue();
    expect(passphrase.split(" ")).toHaveLength(6);
    await page.getByTestId("share-create").click();
    const link = (await page.getByTestId("share-link").textContent({ timeout: 60_000 }))?.trim() ?? "";
    expect(link).toContain("#1p.");
    expect(await page.getByTestId("invitation").inputValue()).toContain("Once opened, it stays available for 1 h");
    await page.getByTestId("share-done").click();

    const recipientContext = await browser.newContext();
    const recipient = await newPage(recipientContext);
    await recipient.page.goto(link);
    await recipient.page.getByTestId("passphrase").fill(passphrase);
    await recipient.page.getByTestId("passphrase").press("Enter");
    await recipient.page.getByTestId("open").click({ timeout: 60_000 });
    await expect.poll(() => text(recipient.page, "record-title")).toBe("Build box");

    // The owner starts editing; the recipient saves a change meanwhile.
    await expect.poll(() => text(page, "share-state")).toBe("opened");
    await page.getByTestId("edit-record").click();
    await page.getByTestId("edit-port").fill("2222");
    await recipient.page.getByTestId("edit").click();
    await recipient.page.getByTestId("edit-hostname").fill("build2.example");
    await recipient.page.getByTestId("save").click();
    await expect.poll(() => text(recipient.page, "status")).toContain("Saved.");
    await page.getByTestId("changed-meanwhile").waitFor({ timeout: 30_000 });

    // Saving applies only the owner's change, on top of the recipient's.
    await page.getByTestId("save-record").click();
    await expect.poll(() => text(page, "value-port")).toBe("2222");
    expect(await text(page, "value-hostname")).toBe("build2.example");
    expect(await text(page, "record-author")).toBe("you");

    // Deleting the record ends its share: the recipient's next fetch finds it gone.
    await page.getByTestId("delete-record").click();
    await page.getByTestId("records-empty").waitFor();
    await recipient.page.goto(link);
    await recipient.page.getByTestId("passphrase").fill(passphrase);
    await recipient.page.getByTestId("passphrase").press("Enter");
    await expect.poll(() => text(recipient.page, "problem"), { timeout: 60_000 }).toContain("cannot be opened");

    expect(problems).toEqual([]);
    expect(recipient.problems.filter((p) => !p.includes("410"))).toEqual([]);
    await recipientContext.close();
    await owner.close();
  });

  it("changes the master password in the vault: the vault carries on, other sessions end, and only the new password logs in", async () => {
    const email = "lovelace@example.org";
    const next = "a brand new master password";
    // The account and a record, made with the CLI; a second CLI machine stays logged in across the change.
    const maker = new Sender(server, PASSWORD);
    await maker.register(email);
    const added = await maker.json<{ id: string }>(["record", "add", "--type", "login", "--title", "Bank", "--field", "username=ada", "--field", "password=s3cret-<i>"]);
    const otherMachine = new Sender(server, PASSWORD);
    await otherMachine.json(["login", "--email", email]);

    const owner = await browser.newContext();
    const { page, problems } = await newPage(owner);
    await page.goto(`${server.url}/`);
    await page.getByTestId("email").fill(email);
    await page.getByTestId("password").fill(PASSWORD);
    await page.getByTestId("auth-submit").click();
    await page.getByTestId("record-row").first().waitFor({ timeout: 60_000 });
    await expect.poll(() => text(page, "live-status")).toBe("Live");

    await page.getByTestId("change-password").click();
    expect(await page.getByTestId("password-account").inputValue()).toBe(email);
    // Checked in the page before anything is derived or sent.
    await page.getByTestId("current-password").fill(PASSWORD);
    await page.getByTestId("new-password").fill("short");
    await page.getByTestId("new-password-again").fill("short");
    await page.getByTestId("password-submit").click();
    await expect.poll(() => text(page, "password-error")).toContain("at least 10 characters");
    await page.getByTestId("new-password").fill(next);
    await page.getByTestId("new-password-again").fill(`${next}!`);
    await page.getByTestId("password-submit").click();
    await expect.poll(() => text(page, "password-error")).toContain("differ");
    // A wrong current password is refused by the page itself (it does not open the vault's key).
    await page.getByTestId("current-password").fill("not my password");
    await page.getByTestId("new-password-again").fill(next);
    await page.getByTestId("password-submit").click();
    await expect.poll(() => text(page, "password-error"), { timeout: 60_000 }).toBe("The current master password is wrong.");

    await page.getByTestId("current-password").fill(PASSWORD);
    await page.getByTestId("password-submit").press("Enter");
    await expect.poll(() => page.getByTestId("notice-ok").allTextContents(), { timeout: 60_000 }).toEqual(expect.arrayContaining([expect.stringContaining("master password was changed")]));
    // The vault logged in again with the new password and goes on: live, and the record opens.
    await expect.poll(() => text(page, "live-status")).toBe("Live");
    await page.getByTestId("record-open").first().click();
    await expect.poll(() => text(page, "record-title")).toBe("Bank");
    expect(await text(page, "record-verified")).toBe("verified");

    // The CLI machine logged in before the change is logged out.
    await expect(otherMachine.json(["record", "list"])).rejects.toMatchObject({ code: 5 });
    // The old password no longer logs in; the new one does and reads the record.
    await expect(new Sender(server, PASSWORD).json(["login", "--email", email])).rejects.toMatchObject({ code: 5 });
    const cli = new Sender(server, next);
    await cli.json(["login", "--email", email]);
    const shown = await cli.json<{ record: { fields: { name: string; value: string }[] } }>(["record", "show", added.id]);
    expect(shown.record.fields.find((f) => f.name === "password")?.value).toBe("s3cret-<i>");

    // The browser's new session is a real one: logging out and in again takes the new password only.
    await page.getByTestId("logout").click();
    await page.getByTestId("auth-message").waitFor();
    await page.getByTestId("password").fill(PASSWORD);
    await page.getByTestId("auth-submit").click();
    await expect.poll(() => text(page, "auth-error"), { timeout: 60_000 }).toContain("do not match");
    await page.getByTestId("password").fill(next);
    await page.getByTestId("auth-submit").click();
    await page.getByTestId("record-row").first().waitFor({ timeout: 60_000 });

    // The failed login with the old password answers 401, which the browser reports; nothing else may fail.
    expect(problems.filter((p) => !p.includes("401"))).toEqual([]);
    await owner.close();
  });

  it("gives every screen an address: Back and Forward move between screens, and a reload returns to the screen after logging in", async () => {
    const email = "babbage@example.org";
    const maker = new Sender(server, PASSWORD);
    await maker.register(email);
    const added = await maker.json<{ id: string }>(["record", "add", "--type", "login", "--title", "Engine", "--field", "username=charles"]);
    const owner = await browser.newContext();
    const { page, problems } = await newPage(owner);
    await page.goto(`${server.url}/`);
    await page.getByTestId("email").fill(email);
    await page.getByTestId("password").fill(PASSWORD);
    await page.getByTestId("auth-submit").click();
    await page.getByTestId("record-row").first().waitFor({ timeout: 60_000 });
    const hash = async (): Promise<string> => new URL(page.url()).hash;
    expect(await hash()).toBe("#/");

    await page.getByTestId("record-open").first().click();
    await expect.poll(() => text(page, "record-title")).toBe("Engine");
    expect(await hash()).toBe(`#/records/${added.id}`);
    await page.getByTestId("history").click();
    await page.getByTestId("history-entry").first().waitFor();
    expect(await hash()).toBe(`#/records/${added.id}/history`);

    // Back: the record, then the list; Forward: the record again. The vault stays unlocked throughout.
    await page.goBack();
    await expect.poll(() => text(page, "record-title")).toBe("Engine");
    expect(await page.getByTestId("history-list").count()).toBe(0);
    await page.goBack();
    await page.getByTestId("record-row").first().waitFor();
    expect(await hash()).toBe("#/");
    await page.goForward();
    await expect.poll(() => text(page, "record-title")).toBe("Engine");
    expect(await text(page, "live-status")).toBe("Live");

    // A reload locks the vault (its keys lived in the page), and says so; logging in returns to the record.
    await page.reload();
    await expect.poll(() => text(page, "auth-message")).toContain("reloaded");
    await page.getByTestId("email").fill(email);
    await page.getByTestId("password").fill(PASSWORD);
    await page.getByTestId("auth-submit").click();
    await expect.poll(() => text(page, "record-title"), { timeout: 60_000 }).toBe("Engine");
    expect(await hash()).toBe(`#/records/${added.id}`);

    // Logging out forgets the screen.
    await page.getByTestId("logout").click();
    await page.getByTestId("auth-message").waitFor();
    expect(await hash()).toBe("");
    expect(problems).toEqual([]);
    await owner.close();
  });
});
