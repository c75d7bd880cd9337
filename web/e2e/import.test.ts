// The vault's Import screen in Chromium, against the real binary, with the CLI reading the vault: at a
// phone's width and a desktop's, a Bitwarden JSON export (chosen with the keyboard, or dropped) and the
// generic CSV sample with its column mapping are previewed, and the preview creates nothing (the record list
// says so); the CSV file's item that cannot be imported is shown and nothing is created until the user
// chooses to import the others; the records created are exactly the samples' expected bodies. An export
// made by the vault's own Export screen (age, with a passphrase) is imported into a second account, which
// then holds the same records. Every screen fits the window and the audit finds nothing serious.
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseExport } from "../src/client/export";
import type { RecordBody } from "../src/protocol/record";
import { launchChromium, Sender, Server } from "./harness";
import { accessibilityProblems, layoutProblems, newPage, screenshot, VIEWPORTS, type ViewportName } from "./pages";

let server: Server;
let browser: Browser;

const PASSWORD = "correct horse battery staple";
const EXPORT_PASSPHRASE = "a long export passphrase";
const SAMPLES = resolve(import.meta.dirname, "../../protocol/import");

interface Expected {
  options: { map?: string };
  result: { items: { title: string; body: RecordBody | null; error: string | null }[] };
}

const sample = (name: string): Buffer => readFileSync(join(SAMPLES, name));
const expected = (name: string): Expected => JSON.parse(readFileSync(join(SAMPLES, `${name}.expected.json`), "utf8")) as Expected;

beforeAll(async () => {
  server = await Server.start();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

/** JSON with every object's keys in order, so that equal values give equal text. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** Bodies in a stable order, to compare two vaults or a vault and a sample. */
function sorted(bodies: RecordBody[]): string[] {
  return bodies.map(canonical).sort();
}

/** Every record body of the sender's vault, read by the CLI's plain export. */
async function vaultBodies(sender: Sender, name: string): Promise<RecordBody[]> {
  const path = join(sender.home, `${name}.json`);
  await sender.json(["export", "--plain", "json", "--i-understand-this-is-unencrypted", "--output", path]);
  return parseExport(readFileSync(path, "utf8")).records.map((r) => r.body);
}

async function recordCount(sender: Sender): Promise<number> {
  return (await sender.json<{ records: unknown[] }>(["record", "list"])).records.length;
}

async function logIn(page: Page, email: string, path = "/"): Promise<void> {
  await page.goto(`${server.url}/#${path}`);
  await page.getByTestId("email").fill(email);
  await page.getByTestId("password").fill(PASSWORD);
  await page.getByTestId("auth-submit").click();
}

async function checkPage(page: Page, name: string): Promise<void> {
  expect(await layoutProblems(page), name).toEqual([]);
  expect(await accessibilityProblems(page), name).toEqual([]);
  await screenshot(page, "import", name);
}

/** Drops a file on the Import screen's drop zone, as a file manager would. */
async function dropFile(page: Page, name: string, bytes: Buffer): Promise<void> {
  const files = await page.evaluateHandle(
    ({ name, data }) => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(data)], name));
      return dt;
    },
    { name, data: [...bytes] },
  );
  const zone = page.getByTestId("import-drop");
  await zone.dispatchEvent("dragenter", { dataTransfer: files });
  expect(await zone.getAttribute("class")).toContain("dropping");
  await zone.dispatchEvent("drop", { dataTransfer: files });
}

/** Chooses a file with the keyboard: the file button takes the focus and Enter opens the browser's chooser. */
async function chooseFile(page: Page, name: string, bytes: Buffer): Promise<void> {
  const chooser = page.waitForEvent("filechooser");
  await page.getByTestId("import-file-button").focus();
  await page.keyboard.press("Enter");
  await (await chooser).setFiles({ name, mimeType: "application/octet-stream", buffer: bytes });
}

describe("import", () => {
  for (const viewport of ["desktop", "phone"] as ViewportName[]) {
    it(`previews and imports a Bitwarden export and a CSV file with a column mapping (${viewport})`, async () => {
      const email = `import-${viewport}@example.org`;
      const sender = new Sender(server, PASSWORD);
      await sender.register(email);
      const context = await browser.newContext({ viewport: VIEWPORTS[viewport] });
      const { page, problems } = await newPage(context);
      await logIn(page, email);

      // The empty list leads to the Import screen.
      await page.getByTestId("empty-import").click({ timeout: 60_000 });
      await expect.poll(() => new URL(page.url()).hash).toBe("#/import");
      await checkPage(page, `${viewport}-start`);

      // Bitwarden JSON: detected; the preview lists every item and its warnings, and creates nothing.
      const bitwarden = sample("bitwarden.json");
      if (viewport === "desktop") await dropFile(page, "bitwarden.json", bitwarden);
      else await chooseFile(page, "bitwarden.json", bitwarden);
      await expect.poll(() => page.getByTestId("import-format").inputValue()).toBe("bitwarden-json");
      expect(await page.getByTestId("import-format-hint").textContent()).toContain("Detected: Bitwarden (JSON)");
      expect(await page.getByTestId("import-file-status").textContent()).toContain("bitwarden.json");
      await page.getByTestId("import-preview").click();
      await page.getByTestId("import-counts").waitFor();
      const items = expected("bitwarden.json").result.items;
      expect(await page.getByTestId("import-counts").textContent()).toContain(`${items.length} records would be created.`);
      expect(await page.getByTestId("import-item").count()).toBe(items.length);
      expect(await page.getByTestId("import-item-invalid").count()).toBe(0);
      const preview = (await page.getByTestId("import-items").textContent()) ?? "";
      for (const item of items) expect(preview).toContain(item.title);
      expect(preview).toContain("Passkey not imported");
      expect(preview).toContain("Field with no equivalent, not imported: “Username field”");
      expect(preview).toContain("Earlier passwords not imported");
      expect(await page.getByTestId("import-invalid-choice").count()).toBe(0);
      await checkPage(page, `${viewport}-bitwarden-preview`);
      // The preview is a dry run.
      expect(await recordCount(sender)).toBe(0);

      await page.getByTestId("import-submit").click();
      await page.getByTestId("import-done").waitFor({ timeout: 60_000 });
      expect(await page.getByTestId("import-created").textContent()).toBe(`${items.length} records created.`);
      expect(await page.getByTestId("import-progress-text").textContent()).toBe(`${items.length} of ${items.length}`);
      expect(await page.getByTestId("import-not-created").count()).toBe(0);
      expect(await page.getByTestId("import-submit").isDisabled()).toBe(true);
      await checkPage(page, `${viewport}-bitwarden-done`);
      const bitwardenBodies = items.map((i) => i.body!);
      expect(sorted(await vaultBodies(sender, "after-bitwarden"))).toEqual(sorted(bitwardenBodies));

      // A CSV file: the format must be chosen, then what each column holds.
      await page.getByTestId("import-again").click();
      const generic = sample("generic.csv");
      await chooseFile(page, "generic.csv", generic);
      await expect.poll(() => page.getByTestId("import-format-hint").textContent()).toContain("cannot be told");
      expect(await page.getByTestId("import-format").inputValue()).toBe("");
      await page.getByTestId("import-preview").click();
      expect(await page.getByTestId("import-error").textContent()).toBe("Choose the file's format.");
      await page.getByTestId("import-format").selectOption("csv");
      await page.getByTestId("import-map-box").waitFor();
      expect(await page.getByTestId("import-map-select").count()).toBe(8);
      expect(await page.getByTestId("import-map-error").textContent()).toContain("title");
      await page.getByTestId("import-preview").click();
      expect(await page.getByTestId("import-error").textContent()).toBe("Correct the column choices first.");
      const mapping: Record<string, string> = { Name: "title", Login: "username", Secret: "password", Site: "url", Kind: "type", Comments: "notes", Group: "folder" };
      for (const [column, target] of Object.entries(mapping)) await page.locator(`[data-testid="import-map-select"][data-column="${column}"]`).selectOption(target);
      // A target chosen twice is refused, then put right.
      await page.locator('[data-testid="import-map-select"][data-column="Owner"]').selectOption("folder");
      expect(await page.getByTestId("import-map-error").textContent()).toContain("Folder is chosen for more than one column.");
      await page.locator('[data-testid="import-map-select"][data-column="Owner"]').selectOption({ index: 0 });
      expect(await page.getByTestId("import-map-error").textContent()).toBe("");
      await checkPage(page, `${viewport}-csv-mapping`);

      // One item cannot be imported: it is shown, and nothing is created until the user chooses.
      await page.getByTestId("import-preview").click();
      await page.getByTestId("import-counts").waitFor();
      const csv = expected("generic.csv").result.items;
      const valid = csv.filter((i) => i.body !== null);
      expect(await page.getByTestId("import-counts").textContent()).toContain(`${valid.length} records would be created. 1 item cannot be imported.`);
      expect(await page.getByTestId("import-item-invalid").count()).toBe(1);
      expect(await page.getByTestId("import-item-invalid").textContent()).toContain("Cannot be imported: the value is too long.");
      expect(await page.getByTestId("import-items").textContent()).toContain("Type with no equivalent, imported as a general record: “keypad”");
      expect(await page.getByTestId("import-submit").isDisabled()).toBe(true);
      await checkPage(page, `${viewport}-csv-preview`);
      expect(await recordCount(sender)).toBe(items.length);
      await page.getByTestId("import-others").check();
      await page.getByTestId("import-submit").click();
      await page.getByTestId("import-done").waitFor({ timeout: 60_000 });
      expect(await page.getByTestId("import-created").textContent()).toBe(`${valid.length} records created.`);
      expect(await page.getByTestId("import-skipped").textContent()).toBe("1 item that cannot be imported was left out.");
      expect(sorted(await vaultBodies(sender, "after-csv"))).toEqual(sorted([...bitwardenBodies, ...valid.map((i) => i.body!)]));

      // The record list shows them all.
      await page.getByTestId("import-show-records").click();
      await page.getByTestId("record-list").waitFor();
      await expect.poll(() => page.getByTestId("record-row").count()).toBe(items.length + valid.length);
      expect(problems).toEqual([]);
      await context.close();
    });
  }

  it("imports an export made by the vault's Export screen into another account: the same records", async () => {
    const first = new Sender(server, PASSWORD);
    await first.register("export-first@example.org");
    await first.json(["record", "add", "--type", "login", "--title", "Mail", "--field", "username=ada", "--field", "password==1+2", "--field", "url=https://mail.example.org"]);
    await first.json(["record", "add", "--type", "note", "--title", "Safe combo", "--notes", "12-34-56\nturn left twice"]);
    const scan = join(first.home, "scan.pdf");
    writeFileSync(scan, "%PDF not really");
    await first.json(["record", "add", "--type", "file", "--title", "Passport", "--file", scan]);
    const original = await vaultBodies(first, "first");

    // Exported in the browser, encrypted.
    const context = await browser.newContext({ viewport: VIEWPORTS.desktop, acceptDownloads: true });
    const { page, problems } = await newPage(context);
    await logIn(page, "export-first@example.org", "/export");
    await page.getByTestId("export-passphrase").fill(EXPORT_PASSPHRASE, { timeout: 60_000 });
    await page.getByTestId("export-passphrase-again").fill(EXPORT_PASSPHRASE);
    const started = page.waitForEvent("download", { timeout: 120_000 });
    await page.getByTestId("export-submit").click();
    const saved = await started;
    const exported = readFileSync((await saved.path())!);
    await page.getByTestId("export-done").waitFor({ timeout: 60_000 });
    await page.getByTestId("logout").click();
    await page.getByTestId("auth-submit").waitFor();

    // Imported into a second account, through Settings.
    const second = new Sender(server, PASSWORD);
    await second.register("export-second@example.org");
    await logIn(page, "export-second@example.org", "/settings");
    await page.getByTestId("settings-import").click({ timeout: 60_000 });
    await expect.poll(() => new URL(page.url()).hash).toBe("#/import");
    await chooseFile(page, saved.suggestedFilename(), exported);
    await page.getByTestId("import-passphrase-box").waitFor();
    expect(await page.getByTestId("import-format").inputValue()).toBe("sharelock");
    await page.getByTestId("import-preview").click();
    expect(await page.getByTestId("import-error").textContent()).toBe("This export is encrypted: type its passphrase.");
    await page.getByTestId("import-passphrase").fill("not the passphrase");
    await page.getByTestId("import-preview").click();
    await expect.poll(() => page.getByTestId("import-error").textContent(), { timeout: 60_000 }).toBe("The passphrase does not open this export.");
    await page.getByTestId("import-passphrase").fill(EXPORT_PASSPHRASE);
    await page.getByTestId("import-preview").click();
    await page.getByTestId("import-counts").waitFor({ timeout: 60_000 });
    expect(await page.getByTestId("import-counts").textContent()).toContain("3 records would be created.");
    // The file's contents are not in an export: the preview says so.
    expect(await page.getByTestId("import-items").textContent()).toContain("Attachment not imported (file contents are not read from the export): “scan.pdf”");
    await checkPage(page, "desktop-sharelock-preview");
    expect(await recordCount(second)).toBe(0);
    await page.getByTestId("import-submit").click();
    await page.getByTestId("import-done").waitFor({ timeout: 60_000 });
    expect(await page.getByTestId("import-created").textContent()).toBe("3 records created.");
    expect(sorted(await vaultBodies(second, "second"))).toEqual(sorted(original.map((b) => ({ ...b, files: [] }))));
    expect(problems).toEqual([]);
    await context.close();
  });
});
