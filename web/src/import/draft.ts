// A record on its way in: every parser adds fields as the source has them, and `finish` makes them fit
// the record rules (docs/protocol.md §3.3) the same way for every format, saying what it changed, then
// validates the body. The Rust crate's `draft.rs` is the same code; the sample files pin both.
import { ProtocolError } from "../protocol/errors";
import {
  bodyToJson,
  isValidDate,
  isValidOtp,
  MAX_FIELD_NAME_LEN,
  MAX_TITLE_LEN,
  standardKind,
  type Field,
  type FieldKind,
  type RecordBody,
  type RecordType,
} from "../protocol/record";
import type { Item, Warning, WarningCode } from "./model";

export const UNTITLED = "Untitled";
export const UNNAMED_FIELD = "field";

function isControl(cp: number): boolean {
  return cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f);
}

function utf8Len(cp: number): number {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/** One line: every control character and U+2028/U+2029 becomes a space. */
export function cleanLine(text: string): string {
  let out = "";
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    out += isControl(cp) || cp === 0x2028 || cp === 0x2029 ? " " : ch;
  }
  return out;
}

/** The longest prefix of at most `max` UTF-8 bytes ending on a character boundary. */
export function truncate(text: string, max: number): string {
  let n = 0;
  let out = "";
  for (const ch of text) {
    n += utf8Len(ch.codePointAt(0)!);
    if (n > max) break;
    out += ch;
  }
  return out;
}

function cleanTitle(title: string): string {
  const line = cleanLine(title);
  if (/^ *$/.test(line)) return UNTITLED;
  return truncate(line, MAX_TITLE_LEN);
}

function uniqueName(name: string, used: Set<string>): string {
  const base = truncate(name === "" ? UNNAMED_FIELD : name, MAX_FIELD_NAME_LEN);
  if (!used.has(base)) return base;
  for (let n = 2; ; n++) {
    const suffix = ` ${n}`;
    const candidate = truncate(base, MAX_FIELD_NAME_LEN - suffix.length) + suffix;
    if (!used.has(candidate)) return candidate;
  }
}

/** Removes control characters other than TAB, CR and LF. */
function stripControls(text: string): string {
  let out = "";
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (!isControl(cp) || cp === 0x09 || cp === 0x0a || cp === 0x0d) out += ch;
  }
  return out;
}

function fitKind(kind: FieldKind, value: string): FieldKind {
  const breaks = kind !== "secret" && kind !== "multiline";
  if (breaks && /[\n\r\u2028\u2029]/.test(value)) return kind === "otp" ? "secret" : "multiline";
  switch (kind) {
    case "otp":
      return isValidOtp(value) ? kind : "secret";
    case "date":
      return isValidDate(value) ? kind : "text";
    case "email":
      return value.split("@").length === 2 ? kind : "text";
    case "phone":
      return /^[0-9 +\-().]*$/.test(value) ? kind : "text";
    default:
      return kind;
  }
}

/** `YYYY-MM` from a month and a year (two digits mean 20YY); otherwise the parts joined with `/`. */
export function monthYear(month: string, year: string): string {
  const m = month.trim();
  let y = year.trim();
  if (/^[0-9]{2}$/.test(y)) y = `20${y}`;
  if (/^[0-9]{1,2}$/.test(m) && /^[0-9]{4}$/.test(y)) {
    const n = Number(m);
    if (n >= 1 && n <= 12) return `${y}-${String(n).padStart(2, "0")}`;
  }
  return [m, y].filter((s) => s !== "").join("/");
}

/** A date (`YYYY-MM-DD`, UTC) from Unix seconds, or null outside years 1–9999. */
export function unixDate(seconds: number): string | null {
  const ms = seconds * 1000;
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return null;
  const d = new Date(ms);
  const year = d.getUTCFullYear();
  if (year < 1 || year > 9999) return null;
  const p = (n: number, w: number) => String(n).padStart(w, "0");
  return `${p(year, 4)}-${p(d.getUTCMonth() + 1, 2)}-${p(d.getUTCDate(), 2)}`;
}

export class Draft {
  private fields: [string, FieldKind, string][] = [];
  private notesText = "";
  private warnings: Warning[] = [];

  constructor(
    public recordType: RecordType,
    private title: string,
  ) {}

  /** Adds a field; an empty value adds nothing. */
  field(name: string, kind: FieldKind, value: string): void {
    if (value !== "") this.fields.push([name, kind, value]);
  }

  /** Adds a field with the kind the record type gives that name (text for a custom name). */
  standard(name: string, value: string): void {
    this.field(name, standardKind(this.recordType, name) ?? "text", value);
  }

  has(name: string): boolean {
    return this.fields.some(([n]) => n === name);
  }

  notes(text: string): void {
    if (text === "") return;
    if (this.notesText !== "") this.notesText += "\n\n";
    this.notesText += text;
  }

  warn(code: WarningCode, name: string | null): void {
    this.warnings.push({ code, name });
  }

  finish(source: number): Item {
    const warnings: Warning[] = [];
    const title = cleanTitle(this.title);
    if (title !== this.title) warnings.push({ code: "title_changed", name: null });
    const fields: Field[] = [];
    const used = new Set<string>();
    for (const [name, kind, value] of this.fields) {
      const finalName = uniqueName(cleanLine(name), used);
      used.add(finalName);
      if (finalName !== name) warnings.push({ code: "field_renamed", name: finalName });
      const cleaned = stripControls(value);
      if (cleaned !== value) warnings.push({ code: "control_removed", name: finalName });
      const fitted = fitKind(kind, cleaned);
      if (fitted !== kind) warnings.push({ code: "kind_changed", name: finalName });
      fields.push({ name: finalName, kind: fitted, value: cleaned });
    }
    const notes = stripControls(this.notesText);
    if (notes !== this.notesText) warnings.push({ code: "control_removed", name: "notes" });
    const body: RecordBody = { type: this.recordType, title, fields, notes, files: [] };
    let error: string | null = null;
    try {
      bodyToJson(body);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      error = e.kind;
    }
    return { source, title, body: error === null ? body : null, warnings: [...this.warnings, ...warnings], error };
  }
}
