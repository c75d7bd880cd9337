// Messages for people, by language. The English catalogue defines the keys; every other catalogue is
// typed against it (a missing key does not compile) and a unit test checks keys and placeholders again.
// The recipient's page is translated; the vault still speaks English only (it never sets a language).
import { de } from "./messages/de";
import { en, type MessageKey } from "./messages/en";
import { es } from "./messages/es";
import { fr } from "./messages/fr";
import { ja } from "./messages/ja";

export type { MessageKey };
export type Catalogue = Record<MessageKey, string>;

/** The languages offered, each in its own name. */
export const LANGUAGES = { en: "English", de: "Deutsch", fr: "Français", es: "Español", ja: "日本語" } as const;
export type Language = keyof typeof LANGUAGES;

export const CATALOGUES: Record<Language, Catalogue> = { en, de, fr, es, ja };

let current: Language = "en";
/** Unset until a page chooses a language: dates then follow the browser's own locale, as before. */
let locale: string | undefined;

/** The first of the browser's preferred languages (`navigator.languages`) that is offered, else English. */
export function chooseLanguage(preferred: readonly string[], stored?: string | null): Language {
  if (stored && stored in LANGUAGES) return stored as Language;
  for (const tag of preferred) {
    const base = tag.toLowerCase().split("-")[0] ?? "";
    if (base in LANGUAGES) return base as Language;
  }
  return "en";
}

export function setLanguage(language: Language): void {
  current = language;
  locale = language;
}

export function language(): Language {
  return current;
}

/** The message `key` in the current language, with `{name}` placeholders filled in. */
export function t(key: MessageKey, params: Record<string, string | number> = {}): string {
  const text = CATALOGUES[current][key] ?? en[key];
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = params[name];
    if (value === undefined) return whole;
    return typeof value === "number" ? new Intl.NumberFormat(locale).format(value) : value;
  });
}

/** The placeholders a message uses (for the catalogue test). */
export function placeholders(text: string): string[] {
  return [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!).sort();
}

/** A date and time in the current language's way of writing them. */
export function formatTime(rfc3339: string): string {
  // One formatter per language: building one per call costs more than the formatting (a list of thousands).
  let cached = timeFormat;
  if (cached === undefined || cached.locale !== locale) {
    cached = { locale, format: new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" }) };
    timeFormat = cached;
  }
  return cached.format.format(new Date(rfc3339));
}

let timeFormat: { locale: string | undefined; format: Intl.DateTimeFormat } | undefined;

/** A duration ("3 d 4 h", "12 min", "40 s" in English) for a number of seconds. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s >= 86_400) return t("duration.days", { d: Math.floor(s / 86_400), h: Math.floor((s % 86_400) / 3600) });
  if (s >= 3600) return t("duration.hours", { h: Math.floor(s / 3600), m: Math.floor((s % 3600) / 60) });
  if (s >= 60) return t("duration.minutes", { m: Math.floor(s / 60) });
  return t("duration.seconds", { s });
}

/** A byte count for people, with the number written the current language's way. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${new Intl.NumberFormat(locale).format(n)} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = value < 10 ? 1 : 0;
  return `${new Intl.NumberFormat(locale, { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value)} ${units[unit]}`;
}
