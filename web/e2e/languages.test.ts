// The vault in every language: the language comes from the browser, the picker changes it in place and the
// choice is remembered (by the recipient's page too). With another language chosen, no screen, notice,
// confirmation or label shows a message of the English catalogue, dates are written the language's way, and
// the accessibility audit still finds nothing serious (a translated name must still contain its visible text).
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CATALOGUES, LANGUAGES, type Language } from "../src/ui/i18n";
import { en } from "../src/ui/messages/en";
import { launchChromium, Sender, Server } from "./harness";
import { accessibilityProblems, newPage } from "./pages";

let server: Server;
let browser: Browser;
let sender: Sender;
let recordId: string;

const EMAIL = "sprachen@example.org";
const PASSWORD = "correct horse battery staple";

interface Created {
  link: string;
  share: string;
}

beforeAll(async () => {
  server = await Server.start();
  browser = await launchChromium();
  sender = new Sender(server, PASSWORD);
  await sender.register(EMAIL);
  // Data with no English words in it, so whatever English the screens show is the page's own.
  const added = await sender.json<{ id: string }>(["record", "add", "--type", "login", "--title", "Zeta 42", "--field", "username=ada", "--field", "password=hunter2", "--field", "url=https://mail.example/"]);
  recordId = added.id;
  await sender.json(["record", "add", "--type", "note", "--title", "Omega 7"]);
  const ended = await sender.json<Created>(["share", "create", recordId, "--expires", "1d", "--label", "G-1"]);
  await sender.json(["share", "delete", ended.share]);
  await sender.json(["share", "create", recordId, "--expires", "1d", "--editable", "--label", "G-2"]);
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

/**
 * The English catalogue's own words: the literal parts of each message whose translation in `lang` differs,
 * without those that also occur in `lang`'s catalogue (names such as "Sharelock", "URL" or "PIN").
 */
function englishParts(lang: Language): string[] {
  const other = Object.values(CATALOGUES[lang]).join("\n");
  const parts = new Set<string>();
  for (const [key, text] of Object.entries(en)) {
    if ((CATALOGUES[lang] as Record<string, string>)[key] === text) continue;
    for (const part of text.split(/\{\w+\}/)) {
      const words = part.trim().replace(/^[^\p{L}]+|[^\p{L}]+$/gu, "");
      // A word or more with letters, not a name the other language uses too.
      if (words.length >= 4 && /\p{L}{3}/u.test(words) && !other.includes(words)) parts.add(words);
    }
  }
  return [...parts];
}

/** Everything the page shows people now: visible text, names, placeholders, tooltips, options, text boxes, the title. */
async function shownTexts(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [document.title];
    const visible = (el: Element): boolean => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const parent = node.parentElement;
      const text = node.textContent?.trim() ?? "";
      if (text !== "" && parent && parent.tagName !== "SCRIPT" && parent.tagName !== "NOSCRIPT" && (parent.tagName === "OPTION" || visible(parent))) out.push(text);
    }
    for (const el of document.body.querySelectorAll("*")) {
      if (!visible(el)) continue;
      for (const name of ["aria-label", "placeholder", "title"]) {
        const value = el.getAttribute(name);
        if (value) out.push(value);
      }
      if (el instanceof HTMLTextAreaElement) out.push(...el.value.split("\n"));
    }
    return out;
  });
}

const ENGLISH_DATE = /\b(AM|PM)\b|\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d/;

/**
 * What of `texts` is English: a phrase of the English catalogue, or (`dates`) a date written the English
 * way. Links are data (their random parts may spell anything).
 */
function english(texts: readonly string[], parts: readonly string[], dates = true): string[] {
  const found: string[] = [];
  for (const text of texts) {
    if (/^https?:\/\/\S*$/.test(text)) continue;
    if (dates && ENGLISH_DATE.test(text)) found.push(`date: ${text}`);
    for (const part of parts) {
      const at = text.indexOf(part);
      if (at < 0) continue;
      // A whole phrase, not a piece of a longer word.
      const before = text.charAt(at - 1);
      const after = text.charAt(at + part.length);
      if (!/\p{L}/u.test(before) && !/\p{L}/u.test(after)) found.push(`${part} (in: ${text})`);
    }
  }
  return found;
}

/** Waits for the screen to be drawn in `lang`'s words, then returns its English texts (none expected). */
async function screenEnglish(page: Page, lang: Language, parts: readonly string[], screen: string): Promise<string[]> {
  await page.waitForFunction((l) => document.documentElement.lang === l, lang);
  return english(await shownTexts(page), parts, lang !== "en").map((p) => `${screen}: ${p}`);
}

/** The test's own data, and the picker's languages in their own names: the same in every language. */
const DATA = new Set(["Zeta 42", "Omega 7", "ada", "hunter2", "G-1", "G-2", EMAIL, "mail.example", "https://mail.example/", "Sharelock", ...Object.values(LANGUAGES)]);

/**
 * Texts a screen shows the same in English and in `lang` that are neither data nor a message `lang`'s
 * catalogue has: words the catalogue does not know, left in English (what the phrase check cannot see).
 */
function untranslated(lang: Language, english: Map<string, Set<string>>, shown: Map<string, Set<string>>): string[] {
  const messages = Object.values(CATALOGUES[lang]).map((m) => new RegExp(`^${m.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{\w+\}/g, "[\\s\\S]*")}$`));
  const found: string[] = [];
  for (const [screen, texts] of shown) {
    for (const text of texts) {
      if (!english.get(screen)?.has(text) || DATA.has(text) || !/\p{L}{3}/u.test(text) || /^https?:\/\//.test(text)) continue;
      if (!messages.some((m) => m.test(text))) found.push(`${screen}: ${text}`);
    }
  }
  return found;
}

interface Walked {
  /** English found, and serious accessibility findings. */
  found: string[];
  /** What each screen showed. */
  shown: Map<string, Set<string>>;
}

/** Walks every screen of the unlocked vault and collects whatever English it shows. */
async function walk(page: Page, lang: Language, dialogs: string[]): Promise<Walked> {
  const parts = englishParts(lang);
  const t = CATALOGUES[lang];
  const found: string[] = [];
  const shown = new Map<string, Set<string>>();
  const look = async (screen: string): Promise<void> => {
    found.push(...(await screenEnglish(page, lang, parts, screen)));
    shown.set(screen, new Set(await shownTexts(page)));
    found.push(...(await accessibilityProblems(page)).map((p) => `${screen}, audit: ${p}`));
  };

  await page.getByTestId("nav-records").click();
  await page.getByTestId("record-row").first().waitFor();
  expect(await page.getByTestId("nav-records").textContent()).toBe(t["nav.records"]);
  await look("list");
  await page.getByTestId("search").fill("xyz");
  await page.getByTestId("no-match").waitFor();
  await look("list, no match");
  await page.getByTestId("search").fill("");

  await page.locator(`[data-testid="record-row"][data-id="${recordId}"] [data-testid="record-open"]`).click();
  await page.getByTestId("share-item").first().waitFor();
  await page.locator("details summary").click();
  await look("record");

  await page.getByTestId("edit-record").click();
  await page.getByTestId("save-record").waitFor();
  await look("edit");
  await page.getByTestId("cancel").click();

  await page.getByTestId("history").click();
  await page.getByTestId("history-entry").first().waitFor();
  await look("history");
  await page.getByTestId("back-to-record").click();

  await page.getByTestId("share-record").click();
  await page.getByTestId("share-create").waitFor();
  await page.getByTestId("share-expiry").selectOption("custom");
  await page.getByTestId("share-expiry-custom").waitFor();
  await look("share");
  // A refusal of the form, in the language too.
  await page.getByTestId("share-create").click();
  await expect.poll(() => page.getByTestId("share-error").textContent()).toBe(t["options.enterExpiry"]);
  await look("share, refused");
  await page.getByTestId("share-expiry").selectOption("1d");
  await page.getByTestId("share-create").click();
  await page.getByTestId("share-created").waitFor({ timeout: 60_000 });
  await look("share created");
  await page.getByTestId("share-done").click();
  await page.getByTestId("share-item").first().waitFor();

  // Ending the share made just now: its confirmation and its notices.
  const newest = page.locator('[data-testid="share-item"]').filter({ hasText: t["shareItem.unlabelled"] }).first();
  await newest.getByTestId("share-delete").click();
  await page.getByTestId("notice-ok").filter({ hasText: t["shareItem.ended"].replace(/\.$/, "").slice(0, 12) }).first().waitFor({ timeout: 30_000 });
  // The record is drawn again once the share ended (its button no longer says it is ending).
  await expect.poll(() => page.getByText(t["shareItem.ending"]).count()).toBe(0);
  await look("record, share ended");

  await page.getByTestId("nav-shares").click();
  await page.getByTestId("shares-list").waitFor();
  await look("shares");
  await page.getByTestId("shares-filter-ended").click();
  await page.locator('[data-testid="shares-filter-ended"][aria-pressed="true"]').waitFor();
  await look("shares, ended");

  await page.getByTestId("new-record").click();
  await page.getByTestId("new-type").waitFor();
  await page.getByTestId("save-record").click();
  await expect.poll(() => page.getByTestId("edit-error").textContent()).toBe(t["new.needTitle"]);
  await look("new");

  await page.getByTestId("nav-settings").click();
  await page.getByTestId("settings-clipboard").selectOption("30");
  await page.getByTestId("settings-saved").filter({ hasText: /./ }).waitFor();
  await look("settings");

  await page.getByTestId("nav-webhooks").click();
  await page.getByTestId("webhook-form").waitFor();
  await look("webhooks");

  await page.getByTestId("change-password").click();
  await page.getByTestId("password-submit").click();
  await expect.poll(() => page.getByTestId("password-error").textContent()).toBe(t["pw.enterCurrent"]);
  await look("password");

  const confirmations = dialogs.splice(0);
  found.push(...english(confirmations, parts, lang !== "en").map((p) => `confirmation: ${p}`));
  shown.set("confirmations", new Set(confirmations));
  return { found, shown };
}

describe("the vault's languages", () => {
  it("starts in the browser's language, and the picker's choice is remembered on both pages", async () => {
    const context = await browser.newContext({ locale: "fr-FR" });
    const { page, problems } = await newPage(context);
    await page.goto(`${server.url}/`);
    await page.getByTestId("auth-submit").waitFor();
    expect(await page.getByTestId("language").inputValue()).toBe("fr");
    expect(await page.evaluate(() => document.documentElement.lang)).toBe("fr");
    expect(await page.getByTestId("auth-submit").textContent()).toBe(CATALOGUES.fr["auth.login"]);

    // Picked in place: the login screen is drawn again, keeping what was typed.
    await page.getByTestId("email").fill(EMAIL);
    await page.getByTestId("language").selectOption("ja");
    await expect.poll(() => page.getByTestId("auth-submit").textContent()).toBe(CATALOGUES.ja["auth.login"]);
    expect(await page.getByTestId("email").inputValue()).toBe(EMAIL);

    // Remembered: after a reload, and on the recipient's page of the same browser.
    await page.reload();
    await page.getByTestId("auth-submit").waitFor();
    expect(await page.getByTestId("language").inputValue()).toBe("ja");
    const share = await sender.json<Created>(["share", "create", recordId, "--expires", "1d"]);
    await page.goto(share.link);
    await page.getByTestId("language").waitFor();
    expect(await page.getByTestId("language").inputValue()).toBe("ja");
    expect(await page.evaluate(() => document.documentElement.lang)).toBe("ja");
    expect(problems).toEqual([]);
    await context.close();
  });

  it("shows no English on any screen in German, French, Spanish or Japanese, and English in English", { timeout: 600_000 }, async () => {
    const context = await browser.newContext({ locale: "de-DE", viewport: { width: 1280, height: 900 } });
    const { page, problems } = await newPage(context);
    const dialogs: string[] = [];
    page.on("dialog", (d) => dialogs.push(d.message()));
    await page.goto(`${server.url}/`);
    await page.getByTestId("auth-submit").waitFor();
    expect(await screenEnglish(page, "de", englishParts("de"), "login")).toEqual([]);
    await page.getByTestId("switch-register").click();
    await page.getByTestId("password-again").waitFor();
    expect(await screenEnglish(page, "de", englishParts("de"), "register")).toEqual([]);
    await page.getByTestId("switch-login").click();
    await page.getByTestId("email").fill(EMAIL);
    await page.getByTestId("password").fill(PASSWORD);
    await page.getByTestId("auth-submit").click();
    await page.getByTestId("record-row").first().waitFor({ timeout: 60_000 });

    // English first: what each screen shows in English, to compare the other languages with.
    await page.getByTestId("language").selectOption("en");
    const inEnglish = await walk(page, "en", dialogs);
    expect(inEnglish.found).toEqual([]);
    // The checks see English where there is some: the English screen is full of it, to both.
    expect(english(await shownTexts(page), englishParts("de"), false).length).toBeGreaterThan(3);
    expect(untranslated("de", inEnglish.shown, inEnglish.shown).length).toBeGreaterThan(3);

    for (const lang of ["de", "fr", "es", "ja"] as const) {
      // Notices said before stay in the words they were said in: dismissed first.
      const close = page.locator('[data-testid="notices"] button');
      while ((await close.count()) > 0) await close.first().click();
      // Switched while unlocked: the navigation and the screen are drawn again in the new language.
      await page.getByTestId("language").selectOption(lang);
      const walked = await walk(page, lang, dialogs);
      expect(walked.found, lang).toEqual([]);
      expect(untranslated(lang, inEnglish.shown, walked.shown), lang).toEqual([]);
    }
    expect(problems).toEqual([]);
    await context.close();
  });
});
