// Messages for people, by language. The English catalogue defines the keys; every other catalogue is
// typed against it (a missing key does not compile) and a unit test checks keys and placeholders again.
// Both pages are translated: the recipient's page and the vault. A count that changes the words is a pair of
// keys `….one` / `….other`, chosen by the language's plural rules (`tn`).
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

export type Params = Record<string, string | number>;

/** The message `key` in the current language, with `{name}` placeholders filled in. */
export function t(key: MessageKey, params: Params = {}): string {
  return translate(current, key, params, locale);
}

/** The message `key` in `lang` (numbers written the way of `numberLocale`). */
export function translate(lang: Language, key: MessageKey, params: Params = {}, numberLocale: string | undefined = lang): string {
  const text = CATALOGUES[lang][key] ?? en[key];
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = params[name];
    if (value === undefined) return whole;
    return typeof value === "number" ? new Intl.NumberFormat(numberLocale).format(value) : value;
  });
}

/**
 * A failure whose sentence is a catalogue message: each page shows it in the reader's language; its own
 * `message` is the English text (for logs and tests).
 */
export class MessageError extends Error {
  constructor(
    readonly key: MessageKey,
    readonly params: Params = {},
  ) {
    super(translate("en", key, params));
    this.name = "MessageError";
  }
}

/** The message keys that come as a `….one` / `….other` pair, by their common start. */
export type PluralKey = { [K in MessageKey]: K extends `${infer B}.one` ? (`${B}.other` extends MessageKey ? B : never) : never }[MessageKey];

let plurals: { lang: Language; rules: Intl.PluralRules } | undefined;

/** The message for `count` things: `{key}.one` where the language says one (French: 0 and 1), else `{key}.other`. */
export function tn(key: PluralKey, count: number, params: Record<string, string | number> = {}): string {
  if (plurals?.lang !== current) plurals = { lang: current, rules: new Intl.PluralRules(current) };
  const form = plurals.rules.select(count) === "one" ? "one" : "other";
  return t(`${key}.${form}` as MessageKey, { count, ...params });
}

/** A title or name quoted the language's way (“…”, „…“, « … », 「…」). */
export function quoted(text: string): string {
  return t("quote", { text });
}

/** Where the picked language is remembered (not a secret); both pages share it. */
export const LANGUAGE_KEY = "sharelock:language";

/** The language picked on either page before (if storage allows), else the browser's first offered one. */
export function initialLanguage(storage: () => Pick<Storage, "getItem"> | undefined, preferred: readonly string[]): Language {
  let stored: string | null = null;
  try {
    stored = storage()?.getItem(LANGUAGE_KEY) ?? null;
  } catch {
    // Storage blocked: the browser's language it is.
  }
  return chooseLanguage(preferred, stored);
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
