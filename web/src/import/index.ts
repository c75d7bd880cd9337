// The import entry points: detect a file's format, read it into what would be created.
import { parseBitwardenCsv, parseBitwardenJson } from "./bitwarden";
import { header } from "./csv";
import { parseGeneric } from "./generic";
import { isObject, type Json } from "./json";
import { parseKeepass } from "./keepass";
import { parseKeeperCsv, parseKeeperJson } from "./keeper";
import { parseLastpass } from "./lastpass";
import { ImportError, MAX_FILE_BYTES, MAX_ITEMS, MAX_TEXT_BYTES, text, tooLargeText, type Format, type ImportOptions, type ImportResult } from "./model";
import { parse1passwordCsv, parse1pux } from "./onepassword";
import { FORMAT, isAge, parseSharelock } from "./sharelock";

export * from "./model";
export { parseColumnMap, selfMapped } from "./generic";
export { isAge } from "./sharelock";
export { headerRow } from "./csv";

/** The format of a file when its content says so unambiguously (never keeper-csv nor csv). */
export function detect(bytes: Uint8Array): Format | null {
  if (isAge(bytes)) return "sharelock";
  if (bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) return "1password-1pux";
  let t: string;
  try {
    t = text(bytes.subarray(0, Math.min(bytes.length, MAX_TEXT_BYTES)));
  } catch {
    return null;
  }
  const start = t.replace(/^[ \t\r\n]+/, "");
  if (start.startsWith("<")) return start.includes("<KeePassFile") ? "keepass-xml" : null;
  if (start.startsWith("{")) {
    let value: Json;
    try {
      value = JSON.parse(t) as Json;
    } catch {
      return null;
    }
    if (!isObject(value)) return null;
    if (value["format"] === FORMAT) return "sharelock";
    if (Array.isArray(value["items"]) || value["encrypted"] === true) return "bitwarden-json";
    if (Array.isArray(value["records"])) return "keeper-json";
    return null;
  }
  const names = header(t);
  if (!names) return null;
  const has = (n: string) => names.includes(n);
  if (has("login_uri") && has("login_username")) return "bitwarden-csv";
  if (has("url") && has("extra") && has("grouping")) return "lastpass-csv";
  if (has("title") && has("otpauth")) return "1password-csv";
  return null;
}

/** Reads `bytes` as `format`. */
export async function parseImport(format: Format, bytes: Uint8Array, options: ImportOptions = {}): Promise<ImportResult> {
  if (bytes.length > MAX_FILE_BYTES) throw new ImportError("too_large", `the file is larger than ${MAX_FILE_BYTES >> 20} MiB`);
  if (format !== "1password-1pux" && format !== "sharelock" && bytes.length > MAX_TEXT_BYTES) throw tooLargeText();
  let result: ImportResult;
  switch (format) {
    case "bitwarden-json":
      result = parseBitwardenJson(text(bytes));
      break;
    case "bitwarden-csv":
      result = parseBitwardenCsv(text(bytes));
      break;
    case "1password-1pux":
      result = parse1pux(bytes);
      break;
    case "1password-csv":
      result = parse1passwordCsv(text(bytes));
      break;
    case "keepass-xml":
      result = parseKeepass(text(bytes));
      break;
    case "lastpass-csv":
      result = parseLastpass(text(bytes));
      break;
    case "keeper-json":
      result = parseKeeperJson(text(bytes));
      break;
    case "keeper-csv":
      result = parseKeeperCsv(text(bytes));
      break;
    case "csv":
      result = parseGeneric(text(bytes), options.map);
      break;
    case "sharelock":
      result = await parseSharelock(bytes, options.passphrase);
      break;
  }
  if (result.items.length > MAX_ITEMS) throw new ImportError("too_large", `the file holds more than ${MAX_ITEMS} items`);
  return result;
}

/** The result as the sample files hold it (bodies as protocol §3.3 JSON objects). */
export function resultJson(result: ImportResult): unknown {
  return {
    format: result.format,
    items: result.items.map((i) => ({ source: i.source, title: i.title, body: i.body, warnings: i.warnings, error: i.error })),
    warnings: result.warnings,
  };
}
