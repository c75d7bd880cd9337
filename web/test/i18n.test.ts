// The message catalogues: every language has every message, with the same placeholders, and dates,
// numbers and durations follow the chosen language.
import { afterEach, describe, expect, it } from "vitest";
import { CATALOGUES, chooseLanguage, formatBytes, formatDuration, formatTime, LANGUAGES, placeholders, quoted, setLanguage, t, tn, translate, type Language } from "../src/ui/i18n";
import { en } from "../src/ui/messages/en";

const languages = Object.keys(LANGUAGES) as Language[];

afterEach(() => setLanguage("en"));

describe("message catalogues", () => {
  it.each(languages)("%s has exactly the English keys, each with the same placeholders and some text", (lang) => {
    const catalogue = CATALOGUES[lang] as Record<string, string>;
    const missing = Object.keys(en).filter((k) => !(k in catalogue));
    const extra = Object.keys(catalogue).filter((k) => !(k in en));
    expect({ missing, extra }).toEqual({ missing: [], extra: [] });
    for (const [key, english] of Object.entries(en)) {
      const text = catalogue[key]!;
      expect(text.trim(), key).not.toBe("");
      expect(placeholders(text), key).toEqual(placeholders(english));
    }
  });

  it("is really translated: most messages of every other language differ from the English", () => {
    for (const lang of languages.filter((l) => l !== "en")) {
      const catalogue = CATALOGUES[lang] as Record<string, string>;
      const same = Object.keys(en).filter((k) => catalogue[k] === (en as Record<string, string>)[k]);
      // Names like "URL", "IBAN", "PIN" or "Wi-Fi" are the same everywhere; sentences are not.
      expect(same.length, `${lang}: ${same.join(", ")}`).toBeLessThan(Object.keys(en).length / 10);
    }
  });

  it("fills placeholders and writes numbers the language's way", () => {
    setLanguage("de");
    expect(t("share.uploading", { count: 1234 })).toBe("1.234 Datei(en) werden verschlüsselt und hochgeladen …");
    setLanguage("en");
    expect(t("share.uploading", { count: 1234 })).toBe("Encrypting and uploading 1,234 file(s)…");
  });
});

describe("counts and quotes", () => {
  it("choose the plural form by the language's rules", () => {
    expect(tn("shareItem.edits", 1)).toBe("1 edit");
    expect(tn("shareItem.edits", 0)).toBe("0 edits");
    expect(tn("shareItem.edits", 1200)).toBe("1,200 edits");
    setLanguage("fr");
    // French counts 0 and 1 as one.
    expect(tn("shareItem.edits", 0)).toBe("0 modification");
    expect(tn("shareItem.edits", 2)).toBe("2 modifications");
    setLanguage("de");
    expect(tn("shareItem.edits", 1)).toBe("1 Änderung");
    expect(tn("shareItem.edits", 1200)).toBe("1.200 Änderungen");
    setLanguage("ja");
    expect(tn("shareItem.edits", 1)).toBe("編集1回");
  });

  it("every count's message has its other form (the catalogue test then holds every language to both)", () => {
    const keys = Object.keys(en);
    for (const key of keys.filter((k) => k.endsWith(".one"))) expect(keys, key).toContain(key.replace(/\.one$/, ".other"));
  });

  it("quote names the language's way, and English stays available for messages of record", () => {
    const quotes = new Map<Language, string>();
    for (const lang of languages) {
      setLanguage(lang);
      quotes.set(lang, quoted("Mail"));
    }
    expect(Object.fromEntries(quotes)).toEqual({ en: "“Mail”", de: "„Mail“", fr: "« Mail »", es: "«Mail»", ja: "「Mail」" });
    expect(translate("en", "auth.tooShort", { min: 12 })).toBe("Choose a master password of at least 12 characters.");
  });
});

describe("choosing the language", () => {
  it("takes the first of the browser's languages that is offered, or the one picked before", () => {
    expect(chooseLanguage(["pt-BR", "de-AT", "en"])).toBe("de");
    expect(chooseLanguage(["ja"])).toBe("ja");
    expect(chooseLanguage(["pt", "zh-CN"])).toBe("en");
    expect(chooseLanguage(["de"], "fr")).toBe("fr");
    expect(chooseLanguage(["de"], "xx")).toBe("de");
  });

  it("writes dates, durations and sizes per language", () => {
    const when = "2026-03-04T17:05:00Z";
    const written = new Map<Language, string>();
    for (const lang of languages) {
      setLanguage(lang);
      written.set(lang, formatTime(when));
    }
    expect(new Set(written.values()).size).toBe(languages.length);
    expect(written.get("ja")).toContain("2026/03/0");
    setLanguage("fr");
    expect(formatDuration(90_000)).toBe("1 j 1 h");
    expect(formatBytes(1536)).toBe("1,5 KiB");
    setLanguage("ja");
    expect(formatDuration(125)).toBe("2分");
    setLanguage("en");
    expect(formatDuration(3 * 86_400 + 4 * 3600)).toBe("3 d 4 h");
    expect(formatBytes(1536)).toBe("1.5 KiB");
  });
});
