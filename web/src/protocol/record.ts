// The record model (docs/protocol.md §3.3): typed fields, notes and file references, as strict JSON.
//
// Every client validates every body it decodes, its own and a recipient's alike: an editable share lets a
// recipient write the whole record, so a body is untrusted input in the owner's vault. The rules run in the
// order of the Rust core (crates/sharelock-core/src/record.rs), so both refuse the same input with the same
// error kind. Bodies and summaries are padded to a multiple of 256 bytes before sealing, so a ciphertext's
// length says little about what it holds.
import { fromB64u, fromUtf8, utf8, type Bytes } from "./bytes";
import { ProtocolError } from "./errors";
import { parseOtp } from "./totp";

/** What a record is; decides its standard fields. */
export type RecordType = "login" | "card" | "bank" | "wifi" | "server" | "database" | "ssh" | "note" | "file" | "general";

/** How a field's value is shown and checked. */
export type FieldKind = "text" | "secret" | "url" | "email" | "phone" | "otp" | "date" | "multiline";

/** One named, typed value; an empty value is a blank field. */
export interface Field {
  name: string;
  kind: FieldKind;
  value: string;
}

/**
 * A reference to an encrypted file stream (§6), exactly as `body_json` holds it: the key and the blob digest
 * stay canonical b64u text (`fromB64u` gives their 32 bytes), so a body is plain, cloneable data and a body
 * built by the UI is checked by the very rules that check a decoded one.
 */
export interface FileRef {
  /** File id, lowercase hyphenated UUID text (its 16 bytes are bound into the stream key). */
  id: string;
  name: string;
  /** MIME type; may be empty. */
  mime: string;
  /** Plaintext size in bytes. */
  size: number;
  /** b64u(FK), 32 bytes. */
  key: string;
  /** b64u(H(blob)), 32 bytes. */
  sha256: string;
}

/** A record body: what a version seals. */
export interface RecordBody {
  type: RecordType;
  title: string;
  fields: Field[];
  notes: string;
  files: FileRef[];
}

/** The list-view summary sealed next to each version: type, title and one non-secret line. */
export interface Summary {
  type: RecordType;
  title: string;
  subtitle: string;
}

/** A standard field of a record type. */
export interface TemplateField {
  readonly name: string;
  readonly kind: FieldKind;
}

/** Every record type with its standard fields, in the spec's order (the UI offers these when creating). */
export const RECORD_TYPES: readonly { readonly type: RecordType; readonly fields: readonly TemplateField[] }[] = [
  {
    type: "login",
    fields: [
      { name: "username", kind: "text" },
      { name: "password", kind: "secret" },
      { name: "url", kind: "url" },
      { name: "totp", kind: "otp" },
    ],
  },
  {
    type: "card",
    fields: [
      { name: "cardholder", kind: "text" },
      { name: "number", kind: "secret" },
      { name: "expiry", kind: "date" },
      { name: "cvv", kind: "secret" },
      { name: "pin", kind: "secret" },
    ],
  },
  {
    type: "bank",
    fields: [
      { name: "bank", kind: "text" },
      { name: "holder", kind: "text" },
      { name: "account_number", kind: "secret" },
      { name: "routing_number", kind: "text" },
      { name: "iban", kind: "secret" },
      { name: "swift", kind: "text" },
      { name: "pin", kind: "secret" },
    ],
  },
  {
    type: "wifi",
    fields: [
      { name: "ssid", kind: "text" },
      { name: "password", kind: "secret" },
      { name: "security", kind: "text" },
    ],
  },
  {
    type: "server",
    fields: [
      { name: "hostname", kind: "text" },
      { name: "port", kind: "text" },
      { name: "username", kind: "text" },
      { name: "password", kind: "secret" },
    ],
  },
  {
    type: "database",
    fields: [
      { name: "engine", kind: "text" },
      { name: "hostname", kind: "text" },
      { name: "port", kind: "text" },
      { name: "database", kind: "text" },
      { name: "username", kind: "text" },
      { name: "password", kind: "secret" },
    ],
  },
  {
    type: "ssh",
    fields: [
      { name: "hostname", kind: "text" },
      { name: "username", kind: "text" },
      { name: "private_key", kind: "secret" },
      { name: "public_key", kind: "multiline" },
      { name: "passphrase", kind: "secret" },
    ],
  },
  { type: "note", fields: [] },
  { type: "file", fields: [] },
  { type: "general", fields: [] },
];

/** Every field kind. */
export const FIELD_KINDS: readonly FieldKind[] = ["text", "secret", "url", "email", "phone", "otp", "date", "multiline"];

/** Longest title, in bytes. */
export const MAX_TITLE_LEN = 256;
/** Longest field name, in bytes. */
export const MAX_FIELD_NAME_LEN = 64;
/** Longest field value, in bytes. */
export const MAX_VALUE_LEN = 65_536;
/** Most fields in one record. */
export const MAX_FIELDS = 128;
/** Longest notes, in bytes. */
export const MAX_NOTES_LEN = 262_144;
/** Most file references in one record. */
export const MAX_FILES = 64;
/** Longest file name, in bytes. */
export const MAX_FILE_NAME_LEN = 255;
/** Longest MIME type, in bytes. */
export const MAX_MIME_LEN = 127;
/** Largest file size: 2^53 − 1, exact in every JSON implementation. */
export const MAX_FILE_SIZE = Number.MAX_SAFE_INTEGER;
/** Largest padded body plaintext (512 KiB); `body_json` must stay below it. */
export const MAX_BODY_PADDED = 512 * 1024;
/** Largest padded summary plaintext (1 KiB). */
export const MAX_SUMMARY_PADDED = 1024;
/** A subtitle holds at most this many Unicode scalar values. */
export const SUBTITLE_CHARS = 64;
/** Padding block size. */
export const PAD_BLOCK = 256;

const TEMPLATES = new Map(RECORD_TYPES.map((t) => [t.type, t.fields]));
const KINDS = new Set<string>(FIELD_KINDS);

/** Whether `name` is a record type (matched exactly, lower case). */
export function isRecordType(name: unknown): name is RecordType {
  return typeof name === "string" && TEMPLATES.has(name as RecordType);
}

/** Whether `name` is a field kind (matched exactly, lower case). */
export function isFieldKind(name: unknown): name is FieldKind {
  return typeof name === "string" && KINDS.has(name);
}

/** The kind of a standard field of `type`, or `undefined` for a custom name (which defaults to `text`). */
export function standardKind(type: RecordType, name: string): FieldKind | undefined {
  return TEMPLATES.get(type)?.find((f) => f.name === name)?.kind;
}

// ---- Character rules (§3.3 definitions). Strings are walked by code point, as Rust walks `char`s.

/** Unicode category Cc: U+0000–U+001F and U+007F–U+009F. */
function isControl(cp: number): boolean {
  return cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f);
}

/** LF, CR, NEL, LINE SEPARATOR, PARAGRAPH SEPARATOR. */
function isLineBreak(cp: number): boolean {
  return cp === 0x0a || cp === 0x0d || cp === 0x85 || cp === 0x2028 || cp === 0x2029;
}

/** "One line": no control character and neither U+2028 nor U+2029. */
function isSingleLine(text: string): boolean {
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (isControl(cp) || cp === 0x2028 || cp === 0x2029) return false;
  }
  return true;
}

/** Control characters other than TAB, CR and LF (refused in values and notes). */
export function hasForbiddenControl(text: string): boolean {
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (isControl(cp) && cp !== 0x09 && cp !== 0x0a && cp !== 0x0d) return true;
  }
  return false;
}

/** UTF-8 length without encoding (lengths are limits in bytes; a lone surrogate counts as its U+FFFD). */
function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** Number of code points (Unicode scalar values for well-formed strings). */
function codePointCount(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/**
 * `YYYY-MM-DD` or `YYYY-MM`, a real date of the proleptic Gregorian calendar (`2024-02-29` yes, `2023-02-29`
 * no). Year 0000 is accepted, as the Rust core does.
 */
export function isValidDate(value: string): boolean {
  if (!/^[0-9]{4}-[0-9]{2}(-[0-9]{2})?$/.test(value)) return false;
  const year = Number(value.slice(0, 4));
  const month = Number(value.slice(5, 7));
  if (month < 1 || month > 12) return false;
  if (value.length === 7) return true;
  const day = Number(value.slice(8, 10));
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
  return day >= 1 && day <= days;
}

/**
 * Whether an `otp` value is accepted by the one-time code parser of §8 (`otpauth://totp/` URI or base32
 * secret). It is the parser itself (which only parses: no code is computed), as in the Rust core, so every
 * value a record accepts yields codes.
 */
export function isValidOtp(value: string): boolean {
  try {
    parseOtp(value);
    return true;
  } catch (e) {
    if (e instanceof ProtocolError) return false;
    throw e;
  }
}

// ---- Validation, in the order of the Rust core: the checks decoding makes while building the typed body
// (type, counts, kinds, file id / key / hash per file), then the body rules (title, fields, notes, files).

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function checkTitle(title: string): void {
  const n = utf8Length(title);
  if (n === 0 || n > MAX_TITLE_LEN) throw new ProtocolError("title_length", "title must be 1 to 256 bytes");
  if (!isSingleLine(title)) throw new ProtocolError("title_control", "title contains a control character");
}

function checkFieldName(index: number, name: string): void {
  const n = utf8Length(name);
  if (n === 0 || n > MAX_FIELD_NAME_LEN) throw new ProtocolError("field_name_length", `field ${index}: name must be 1 to 64 bytes`);
  if (!isSingleLine(name)) throw new ProtocolError("field_name_control", `field ${index}: name contains a control character`);
}

/** The value rules of one field; messages name the field, never the value. */
function checkValue(name: string, kind: FieldKind, value: string): void {
  if (utf8Length(value) > MAX_VALUE_LEN) throw new ProtocolError("value_too_long", `field ${JSON.stringify(name)}: value is too long`);
  const singleLine = kind !== "secret" && kind !== "multiline";
  for (const ch of value) {
    const cp = ch.codePointAt(0)!;
    if (singleLine && isLineBreak(cp)) throw new ProtocolError("line_break", `field ${JSON.stringify(name)}: value must be one line`);
    if (isControl(cp) && cp !== 0x09 && cp !== 0x0a && cp !== 0x0d) {
      throw new ProtocolError("value_control", `field ${JSON.stringify(name)}: value contains a control character`);
    }
  }
  if (value === "") return;
  const field = JSON.stringify(name);
  switch (kind) {
    case "email":
      if (value.split("@").length !== 2) throw new ProtocolError("bad_email", `field ${field}: an email address has exactly one @`);
      break;
    case "phone":
      if (!/^[0-9 +\-().]*$/.test(value)) throw new ProtocolError("bad_phone", `field ${field}: not a phone number`);
      break;
    case "date":
      if (!isValidDate(value)) throw new ProtocolError("bad_date", `field ${field}: not a date (YYYY-MM-DD or YYYY-MM)`);
      break;
    case "otp":
      if (!isValidOtp(value)) throw new ProtocolError("bad_otp", `field ${field}: not an otpauth://totp/ URI or base32 secret`);
      break;
    default:
      break;
  }
}

function checkFile(index: number, f: FileRef): void {
  const nameLen = utf8Length(f.name);
  if (nameLen === 0 || nameLen > MAX_FILE_NAME_LEN || /[/\\]/.test(f.name) || !isSingleLine(f.name)) {
    throw new ProtocolError("bad_file_name", `file ${index}: name must be 1 to 255 bytes without / \\ or control characters`);
  }
  if (f.mime.length > MAX_MIME_LEN || !/^[\x20-\x7e]*$/.test(f.mime)) {
    throw new ProtocolError("bad_file_mime", `file ${index}: MIME type must be at most 127 bytes of printable ASCII`);
  }
  if (!Number.isInteger(f.size) || f.size < 0 || f.size > MAX_FILE_SIZE) {
    throw new ProtocolError("bad_file_size", `file ${index}: size is not an integer from 0 to 2^53 - 1`);
  }
}

/** Canonical b64u of exactly 32 bytes. */
function isKey32(text: unknown): boolean {
  if (typeof text !== "string" || text.length !== 43) return false;
  try {
    return fromB64u(text).length === 32;
  } catch {
    return false;
  }
}

/**
 * Checks every rule of §3.3 in the spec's order, which is the Rust core's: first what decoding checks
 * while building its typed body (type, counts, kinds, then id, key and hash file by file), then the body
 * rules (title, fields, notes, files). The encoded size is checked by `bodyToJson` / `bodyFromJson`. Throws
 * the first failure as a ProtocolError with the rule's kind. The type, kinds and file encodings are checked
 * at run time too, so a body from a form or from storage is judged exactly like a decoded one.
 */
export function validateBody(body: RecordBody): void {
  if (!isRecordType(body.type)) throw new ProtocolError("unknown_type", "unknown record type");
  if (body.fields.length > MAX_FIELDS) throw new ProtocolError("too_many_fields", "more than 128 fields");
  if (body.files.length > MAX_FILES) throw new ProtocolError("too_many_files", "more than 64 files");
  body.fields.forEach((f, i) => {
    if (!isFieldKind(f.kind)) throw new ProtocolError("unknown_kind", `field ${i} has an unknown kind`);
  });
  body.files.forEach((f, i) => {
    if (typeof f.id !== "string" || !UUID.test(f.id)) throw new ProtocolError("bad_file_id", `file ${i}: id is not a lowercase hyphenated UUID`);
    if (!isKey32(f.key)) throw new ProtocolError("bad_file_key", `file ${i}: key is not 32 bytes of base64url`);
    if (!isKey32(f.sha256)) throw new ProtocolError("bad_file_hash", `file ${i}: sha256 is not 32 bytes of base64url`);
  });
  checkTitle(body.title);
  const names = new Set<string>();
  body.fields.forEach((f, i) => {
    checkFieldName(i, f.name);
    if (names.has(f.name)) throw new ProtocolError("duplicate_field", `field ${JSON.stringify(f.name)} appears more than once`);
    names.add(f.name);
    checkValue(f.name, f.kind, f.value);
  });
  if (utf8Length(body.notes) > MAX_NOTES_LEN) throw new ProtocolError("notes_too_long", "notes are longer than 262144 bytes");
  if (hasForbiddenControl(body.notes)) throw new ProtocolError("notes_control", "notes contain a control character");
  const ids = new Set<string>();
  body.files.forEach((f, i) => {
    checkFile(i, f);
    if (ids.has(f.id)) throw new ProtocolError("duplicate_file_id", `file ${i}: id appears more than once`);
    ids.add(f.id);
  });
}

/** Whether a body passes `validateBody` (for form state; use `validateBody` to learn why not). */
export function isValidBody(body: RecordBody): boolean {
  try {
    validateBody(body);
    return true;
  } catch (e) {
    if (e instanceof ProtocolError) return false;
    throw e;
  }
}

/** Checks the title rule, a known type, and a subtitle of one line of at most 64 characters. */
export function validateSummary(summary: Summary): void {
  if (!isRecordType(summary.type)) throw new ProtocolError("unknown_type", "unknown record type");
  checkTitle(summary.title);
  let bad = codePointCount(summary.subtitle) > SUBTITLE_CHARS;
  for (const ch of summary.subtitle) {
    const cp = ch.codePointAt(0)!;
    if (isLineBreak(cp) || (isControl(cp) && cp !== 0x09)) bad = true;
  }
  if (bad) throw new ProtocolError("bad_subtitle", "summary subtitle must be one line of at most 64 characters");
}

// ---- JSON. Writers emit keys in spec order without whitespace (the bytes the Rust core emits, so sealed
// boxes are reproducible); readers use a strict parser, because JSON.parse accepts repeated keys, lone
// surrogates and more.

/** `JSON.stringify` of a string equals serde_json's output for well-formed text; lone surrogates have none. */
function q(text: string): string {
  if (/\p{Cs}/u.test(text)) throw new ProtocolError("json", "text with a lone surrogate has no UTF-8 form");
  return JSON.stringify(text);
}

/** Validates and encodes `body_json`; refuses (`too_large`) a body whose padding would exceed 512 KiB. */
export function bodyToJson(body: RecordBody): Bytes {
  validateBody(body);
  const fields = body.fields.map((f) => `{"name":${q(f.name)},"kind":${q(f.kind)},"value":${q(f.value)}}`);
  const files = body.files.map(
    (f) =>
      `{"id":${q(f.id)},"name":${q(f.name)},"mime":${q(f.mime)},"size":${String(f.size)},` +
      `"key":${q(f.key)},"sha256":${q(f.sha256)}}`,
  );
  const text =
    `{"type":${q(body.type)},"title":${q(body.title)},"fields":[${fields.join(",")}],` +
    `"notes":${q(body.notes)},"files":[${files.join(",")}]}`;
  const json = utf8(text);
  if (json.length >= MAX_BODY_PADDED) throw new ProtocolError("too_large", `encoded body is ${json.length} bytes, limit ${MAX_BODY_PADDED - 1}`);
  return json;
}

/**
 * Decodes and validates `body_json`: strict JSON of exactly the spec's shape (unknown, missing or repeated
 * keys, other JSON types, a byte-order mark or trailing characters: `json`), then every rule of §3.3.
 */
export function bodyFromJson(json: Uint8Array): RecordBody {
  if (json.length >= MAX_BODY_PADDED) throw new ProtocolError("too_large", `encoded body is ${json.length} bytes, limit ${MAX_BODY_PADDED - 1}`);
  const root = object(parseJson(fromUtf8(json, "json")), ["type", "title", "fields", "notes", "files"]);
  const rawFields = array(root.get("fields")).map((v) => {
    const f = object(v, ["name", "kind", "value"]);
    return { name: string(f.get("name")), kind: string(f.get("kind")), value: string(f.get("value")) };
  });
  const rawFiles = array(root.get("files")).map((v) => {
    const f = object(v, ["id", "name", "mime", "size", "key", "sha256"]);
    return {
      id: string(f.get("id")),
      name: string(f.get("name")),
      mime: string(f.get("mime")),
      size: u64(f.get("size")),
      key: string(f.get("key")),
      sha256: string(f.get("sha256")),
    };
  });
  const body = {
    type: string(root.get("type")),
    title: string(root.get("title")),
    fields: rawFields,
    notes: string(root.get("notes")),
    files: rawFiles,
  };
  // Every JSON value now has its JSON type; the record rules judge the rest (`type` and `kind` included).
  validateBody(body as RecordBody);
  return body as RecordBody;
}

/**
 * The list-view summary: type, title and the first non-empty value of kind text, url, email, phone or date,
 * cut to its first 64 code points (secrets, one-time code seeds and multi-line text never reach a list).
 */
export function summaryOf(body: RecordBody): Summary {
  const shown = body.fields.find(
    (f) => f.value !== "" && (f.kind === "text" || f.kind === "url" || f.kind === "email" || f.kind === "phone" || f.kind === "date"),
  );
  let subtitle = "";
  if (shown) {
    let n = 0;
    for (const ch of shown.value) {
      if (n++ === SUBTITLE_CHARS) break;
      subtitle += ch;
    }
  }
  return { type: body.type, title: body.title, subtitle };
}

/** Validates and encodes `summary_json`. */
export function summaryToJson(summary: Summary): Bytes {
  validateSummary(summary);
  const json = utf8(`{"type":${q(summary.type)},"title":${q(summary.title)},"subtitle":${q(summary.subtitle)}}`);
  if (json.length >= MAX_SUMMARY_PADDED) throw new ProtocolError("too_large", `encoded summary is ${json.length} bytes, limit ${MAX_SUMMARY_PADDED - 1}`);
  return json;
}

/** Decodes and validates `summary_json`, as strictly as a body. */
export function summaryFromJson(json: Uint8Array): Summary {
  if (json.length >= MAX_SUMMARY_PADDED) throw new ProtocolError("too_large", `encoded summary is ${json.length} bytes, limit ${MAX_SUMMARY_PADDED - 1}`);
  const root = object(parseJson(fromUtf8(json, "json")), ["type", "title", "subtitle"]);
  const summary = { type: string(root.get("type")), title: string(root.get("title")), subtitle: string(root.get("subtitle")) };
  if (!isRecordType(summary.type)) throw new ProtocolError("unknown_type", "unknown record type");
  const typed: Summary = { type: summary.type, title: summary.title, subtitle: summary.subtitle };
  validateSummary(typed);
  return typed;
}

// ---- Padding (ISO/IEC 7816-4).

/** `x ‖ 0x80 ‖ 0x00…` up to the next multiple of 256 bytes; always adds at least one byte. */
export function pad256(data: Uint8Array): Bytes {
  const out = new Uint8Array((Math.floor(data.length / PAD_BLOCK) + 1) * PAD_BLOCK);
  out.set(data);
  out[data.length] = 0x80;
  return out;
}

/** Removes `pad256` padding: a positive multiple of 256 bytes (`padding_length`) whose last non-zero byte is 0x80 (`bad_padding`). */
export function unpad256(padded: Uint8Array): Bytes {
  if (padded.length === 0 || padded.length % PAD_BLOCK !== 0) throw new ProtocolError("padding_length", "padded data is not a positive multiple of 256 bytes");
  let i = padded.length - 1;
  while (i >= 0 && padded[i] === 0) i--;
  if (i < 0 || padded[i] !== 0x80) throw new ProtocolError("bad_padding", "padding marker is missing");
  return padded.slice(0, i);
}

// ---- A strict JSON reader (RFC 8259, as serde_json reads it): whitespace is space, TAB, LF, CR; strings
// refuse raw control characters and unpaired surrogate escapes; objects refuse repeated keys; numbers keep
// their text so integers are judged exactly. Every failure is `json`. Nesting is capped: no valid body is
// deeper than 3, so a deep document is refused before it can exhaust the stack.

class JsonNumber {
  constructor(readonly text: string) {}
}

type JsonValue = string | boolean | null | JsonNumber | JsonValue[] | Map<string, JsonValue>;

const MAX_DEPTH = 16;

function jsonError(message: string): ProtocolError {
  return new ProtocolError("json", `not a valid record JSON document: ${message}`);
}

function parseJson(text: string): JsonValue {
  let pos = 0;
  const ws = (): void => {
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      pos++;
    }
  };
  const expect = (c: string): void => {
    if (text[pos] !== c) throw jsonError(`expected ${JSON.stringify(c)} at ${pos}`);
    pos++;
  };
  const hex4 = (): number => {
    const h = text.slice(pos, pos + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) throw jsonError(`bad \\u escape at ${pos}`);
    pos += 4;
    return parseInt(h, 16);
  };
  const str = (): string => {
    expect('"');
    let out = "";
    let start = pos;
    for (;;) {
      if (pos >= text.length) throw jsonError("unterminated string");
      const c = text.charCodeAt(pos);
      if (c === 0x22) {
        out += text.slice(start, pos);
        pos++;
        return out;
      }
      if (c < 0x20) throw jsonError(`control character in a string at ${pos}`);
      if (c !== 0x5c) {
        pos++;
        continue;
      }
      out += text.slice(start, pos);
      pos++;
      const e = text[pos++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case "\\":
          out += "\\";
          break;
        case "/":
          out += "/";
          break;
        case "b":
          out += "\b";
          break;
        case "f":
          out += "\f";
          break;
        case "n":
          out += "\n";
          break;
        case "r":
          out += "\r";
          break;
        case "t":
          out += "\t";
          break;
        case "u": {
          const n = hex4();
          if (n >= 0xdc00 && n <= 0xdfff) throw jsonError("unpaired surrogate escape");
          if (n >= 0xd800 && n <= 0xdbff) {
            if (text[pos] !== "\\" || text[pos + 1] !== "u") throw jsonError("unpaired surrogate escape");
            pos += 2;
            const low = hex4();
            if (low < 0xdc00 || low > 0xdfff) throw jsonError("unpaired surrogate escape");
            out += String.fromCharCode(n, low);
          } else out += String.fromCharCode(n);
          break;
        }
        default:
          throw jsonError(`bad escape at ${pos - 1}`);
      }
      start = pos;
    }
  };
  const value = (depth: number): JsonValue => {
    if (depth > MAX_DEPTH) throw jsonError("nested too deeply");
    ws();
    const c = text[pos];
    if (c === "{") {
      pos++;
      const map = new Map<string, JsonValue>();
      ws();
      if (text[pos] === "}") {
        pos++;
        return map;
      }
      for (;;) {
        ws();
        const key = str();
        if (map.has(key)) throw jsonError(`repeated key ${JSON.stringify(key)}`);
        ws();
        expect(":");
        map.set(key, value(depth + 1));
        ws();
        if (text[pos] === ",") {
          pos++;
          continue;
        }
        expect("}");
        return map;
      }
    }
    if (c === "[") {
      pos++;
      const list: JsonValue[] = [];
      ws();
      if (text[pos] === "]") {
        pos++;
        return list;
      }
      for (;;) {
        list.push(value(depth + 1));
        ws();
        if (text[pos] === ",") {
          pos++;
          continue;
        }
        expect("]");
        return list;
      }
    }
    if (c === '"') return str();
    for (const [word, v] of [
      ["true", true],
      ["false", false],
      ["null", null],
    ] as const) {
      if (text.startsWith(word, pos)) {
        pos += word.length;
        return v;
      }
    }
    const m = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
    m.lastIndex = pos;
    const found = m.exec(text);
    if (!found) throw jsonError(`unexpected character at ${pos}`);
    pos += found[0].length;
    return new JsonNumber(found[0]);
  };
  const root = value(0);
  ws();
  if (pos !== text.length) throw jsonError(`trailing characters at ${pos}`);
  return root;
}

/** An object with exactly `keys` (parsing already refused repeated keys). */
function object(v: JsonValue | undefined, keys: readonly string[]): Map<string, JsonValue> {
  if (!(v instanceof Map)) throw jsonError("expected an object");
  for (const key of v.keys()) if (!keys.includes(key)) throw jsonError(`unknown key ${JSON.stringify(key)}`);
  for (const key of keys) if (!v.has(key)) throw jsonError(`missing key ${JSON.stringify(key)}`);
  return v;
}

function array(v: JsonValue | undefined): JsonValue[] {
  if (!Array.isArray(v)) throw jsonError("expected an array");
  return v;
}

function string(v: JsonValue | undefined): string {
  if (typeof v !== "string") throw jsonError("expected a string");
  return v;
}

/**
 * A JSON integer that fits u64 (the Rust type of `size`): no sign, fraction or exponent. Larger values are
 * `json`; values above 2^53 − 1 come back above MAX_FILE_SIZE (rounding cannot bring them below it), so the
 * size rule refuses them in its turn (`bad_file_size`).
 */
function u64(v: JsonValue | undefined): number {
  if (!(v instanceof JsonNumber) || !/^(0|[1-9][0-9]*)$/.test(v.text)) throw jsonError("expected an unsigned integer");
  const big = BigInt(v.text);
  if (big > 0xffff_ffff_ffff_ffffn) throw jsonError("integer out of range");
  return Number(big);
}

/**
 * Strict JSON (the reading rules of §3.3) of an object with exactly `keys`, every value a string; anything
 * else is `json`. The share preface (§4.6) is read with it.
 */
export function stringObjectFromJson(json: Uint8Array, keys: readonly string[]): Map<string, string> {
  const root = object(parseJson(fromUtf8(json, "json")), keys);
  const out = new Map<string, string>();
  for (const key of keys) out.set(key, string(root.get(key)));
  return out;
}
