// The vault's export and the shared records report in Chromium, against the real binary with the CLI as the
// other parties: the encrypted export is downloaded and decrypts (age, with the passphrase typed twice)
// to every record with its files listed and no file key; a plain export only after the warning dialog's
// box is ticked (cancelling writes nothing); the Shares screen's Export CSV holds every share with its
// counts. The export screen and its dialog fit a phone's width, and the audit finds nothing serious.
import { readFileSync, writeFileSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decryptExport, parseExport } from "../src/client/export";
import { launchChromium, Sender, Server } from "./harness";
import { accessibilityProblems, layoutProblems, newPage, screenshot, VIEWPORTS } from "./pages";

let server: Server;
let browser: Browser;

const PASSWORD = "correct horse battery staple";
const EXPORT_PASSPHRASE = "a long export passphrase";

beforeAll(async () => {
  server = await Server.start();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function download(page: Page, click: () => Promise<void>): Promise<{ name: string; bytes: Uint8Array }> {
  const started = page.waitForEvent("download", { timeout: 120_000 });
  await click();
  const saved = await started;
  const path = await saved.path();
  return { name: saved.suggestedFilename(), bytes: new Uint8Array(readFileSync(path)) };
}

/** Parses CSV text (RFC 4180: quoted cells may hold commas, quotes and line breaks). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(cell);
      cell = "";
    } else if (c === "\r" && text[i + 1] === "\n") {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
      i++;
    } else cell += c;
  }
  return rows;
}

describe("export and the shared records report", () => {
  it("exports the vault encrypted and, past the warning, plain; the Shares screen exports its report", async () => {
    const email = "export@example.org";
    const sender = new Sender(server, PASSWORD);
    await sender.register(email);
    const mail = (await sender.json<{ id: string }>(["record", "add", "--type", "login", "--title", "Mail", "--field", "username=ada", "--field", "password==1+2"])).id;
    await sender.json(["record", "add", "--type", "note", "--title", "Safe combo", "--notes", "12-34-56"]);
    const scan = `${server.dir}/passport scan.pdf`;
    writeFileSync(scan, "%PDF not really");
    await sender.json(["record", "add", "--type", "file", "--title", "Passport", "--file", scan]);
    // A share opened on another device, then refused to a third.
    const share = await sender.json<{ link: string; share: string }>(["share", "create", mail, "--expires", "1d", "--label", "=for Grace"]);
    const grace = new Sender(server);
    await grace.json(["open", share.link]);
    await expect(new Sender(server).json(["open", share.link])).rejects.toThrow();

    const context = await browser.newContext({ viewport: VIEWPORTS.phone, acceptDownloads: true });
    const { page, problems } = await newPage(context);
    await page.goto(`${server.url}/#/settings`);
    await page.getByTestId("email").fill(email);
    await page.getByTestId("password").fill(PASSWORD);
    await page.getByTestId("auth-submit").click();
    await page.getByTestId("settings-export").click({ timeout: 60_000 });
    await expect.poll(() => new URL(page.url()).hash).toBe("#/export");
    expect(await layoutProblems(page)).toEqual([]);
    expect(await accessibilityProblems(page)).toEqual([]);
    await screenshot(page, "export", "phone-form");

    // Encrypted: the two passphrases must match and be long enough.
    await page.getByTestId("export-passphrase").fill(EXPORT_PASSPHRASE);
    await page.getByTestId("export-passphrase-again").fill("something else entirely");
    await page.getByTestId("export-submit").click();
    expect(await page.getByTestId("export-error").textContent()).toContain("differ");
    await page.getByTestId("export-passphrase-again").fill(EXPORT_PASSPHRASE);
    const encrypted = await download(page, () => page.getByTestId("export-submit").click());
    expect(encrypted.name).toMatch(/^sharelock-export-\d{4}-\d{2}-\d{2}\.age$/);
    expect(new TextDecoder().decode(encrypted.bytes.subarray(0, 40))).toMatch(/^age-encryption\.org\/v1\n-> scrypt /);
    await page.getByTestId("export-done").waitFor({ timeout: 60_000 });
    expect(await page.getByTestId("export-done").textContent()).toContain("3 records");
    expect(await page.getByTestId("export-files-left").textContent()).toContain("passport scan.pdf");
    const text = await decryptExport(encrypted.bytes, EXPORT_PASSPHRASE);
    expect(text).not.toContain('"key"');
    const doc = parseExport(text);
    expect(doc.records.map((r) => r.body.title).sort()).toEqual(["Mail", "Passport", "Safe combo"]);
    expect(doc.records.find((r) => r.id === mail)?.body.fields).toEqual([
      { name: "username", kind: "text", value: "ada" },
      { name: "password", kind: "secret", value: "=1+2" },
    ]);
    expect(doc.records.find((r) => r.body.title === "Passport")?.files).toEqual([{ name: "passport scan.pdf", size: 15, content_type: "application/pdf" }]);
    await expect(decryptExport(encrypted.bytes, "not the passphrase")).rejects.toThrow();

    // Plain CSV: the dialog first; cancelling writes nothing.
    await page.getByTestId("export-kind-csv").check();
    expect(await page.getByTestId("export-passphrase-box").isHidden()).toBe(true);
    await page.getByTestId("export-submit").click();
    const dialog = page.getByTestId("plain-warning");
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain("clear text");
    expect(await page.getByTestId("plain-confirm").isDisabled()).toBe(true);
    expect(await layoutProblems(page)).toEqual([]);
    expect(await accessibilityProblems(page)).toEqual([]);
    await screenshot(page, "export", "phone-plain-warning");
    let downloads = 0;
    page.on("download", () => downloads++);
    await page.getByTestId("plain-cancel").click();
    await dialog.waitFor({ state: "detached" });
    expect(await page.getByTestId("export-progress").textContent()).toBe("Nothing was exported.");
    expect(downloads).toBe(0);
    await page.getByTestId("export-submit").click();
    await page.getByTestId("plain-understood").check();
    const plain = await download(page, () => page.getByTestId("plain-confirm").click());
    expect(plain.name).toMatch(/^sharelock-export-\d{4}-\d{2}-\d{2}-UNENCRYPTED\.csv$/);
    const rows = parseCsv(new TextDecoder().decode(plain.bytes));
    expect(rows[0]?.slice(0, 6)).toEqual(["id", "type", "title", "notes", "updated_at", "files"]);
    expect(rows.length).toBe(4);
    expect(rows.find((r) => r[2] === "Mail")?.slice(6, 12)).toEqual(["username", "text", "ada", "password", "secret", "=1+2"]);
    expect(rows.find((r) => r[2] === "Passport")?.[5]).toBe("passport scan.pdf");
    await page.getByTestId("export-plain-reminder").waitFor();

    // The shared records report from the Shares screen.
    await page.goto(`${server.url}/#/shares`);
    await page.getByTestId("shares-list").waitFor({ timeout: 60_000 });
    const report = await download(page, () => page.getByTestId("shares-export-csv").click());
    expect(report.name).toMatch(/^sharelock-shares-\d{4}-\d{2}-\d{2}\.csv$/);
    const lines = parseCsv(new TextDecoder().decode(report.bytes));
    const header = lines[0]!;
    expect(header.slice(0, 6)).toEqual(["share", "record_id", "record_title", "label", "state", "end_reason"]);
    expect(lines.length).toBe(2);
    const cell = (name: string): string => lines[1]![header.indexOf(name)]!;
    expect(cell("share")).toBe(share.share);
    expect(cell("record_title")).toBe("Mail");
    expect(cell("label")).toBe("'=for Grace");
    expect(cell("state")).toBe("active");
    expect(cell("opens")).toBe("1");
    expect(cell("refused_devices")).toBe("1");
    expect(cell("device_verified")).toBe("true");
    await page.getByTestId("notice-ok").filter({ hasText: "1 share" }).waitFor();
    expect(problems).toEqual([]);
    await context.close();
  });
});
