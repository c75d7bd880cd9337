// Import (docs/import.md): other password managers' exports, a CSV file with a column mapping, and
// Sharelock's own export, read into validated record bodies. No I/O: every function takes the file's
// bytes. The Rust crate `sharelock-import` is the same code; `protocol/import/` holds sample exports and
// the exact result both must produce from them.
//
// Error messages name items by position and keys by name, never a value: a value may be a password.
import type { RecordBody } from "../protocol/record";

/** The formats read, by the names the CLI, the reports and the sample files use. */
export type Format =
  | "bitwarden-json"
  | "bitwarden-csv"
  | "1password-1pux"
  | "1password-csv"
  | "keepass-xml"
  | "lastpass-csv"
  | "keeper-json"
  | "keeper-csv"
  | "csv"
  | "sharelock";

export const FORMATS: readonly Format[] = [
  "bitwarden-json",
  "bitwarden-csv",
  "1password-1pux",
  "1password-csv",
  "keepass-xml",
  "lastpass-csv",
  "keeper-json",
  "keeper-csv",
  "csv",
  "sharelock",
];

/** The largest input file (a 1PUX archive carries attachments; only its `export.data` is read). */
export const MAX_FILE_BYTES = 256 * 1024 * 1024;
/** The largest text document read: a CSV, JSON or XML file, a 1PUX `export.data`, a decrypted export. */
export const MAX_TEXT_BYTES = 32 * 1024 * 1024;
/** The most items one file may hold. */
export const MAX_ITEMS = 50_000;
/** The largest scrypt work factor (log2 N) an encrypted export may ask for. */
export const MAX_SCRYPT_LOG_N = 20;

/** Why a file was not read at all; `kind` is the stable name the sample files use. */
export type ImportErrorKind =
  | "too_large"
  | "not_utf8"
  | "malformed"
  | "encrypted"
  | "unsupported_version"
  | "passphrase_required"
  | "wrong_passphrase"
  | "excessive_work"
  | "bad_mapping";

export class ImportError extends Error {
  constructor(
    readonly kind: ImportErrorKind,
    message: string,
  ) {
    super(message);
    this.name = "ImportError";
  }
}

export function malformed(format: Format, detail: string): ImportError {
  return new ImportError("malformed", `not a valid ${format} file: ${detail}`);
}

export function tooLargeText(): ImportError {
  return new ImportError("too_large", `the document is larger than ${MAX_TEXT_BYTES >> 20} MiB`);
}

export type WarningCode =
  | "attachment_not_imported"
  | "password_history_not_imported"
  | "history_not_imported"
  | "passkey_not_imported"
  | "field_not_imported"
  | "kind_changed"
  | "field_renamed"
  | "title_changed"
  | "control_removed"
  | "unknown_type"
  | "deleted_entry_skipped";

export const WARNING_CODES: readonly WarningCode[] = [
  "attachment_not_imported",
  "password_history_not_imported",
  "history_not_imported",
  "passkey_not_imported",
  "field_not_imported",
  "kind_changed",
  "field_renamed",
  "title_changed",
  "control_removed",
  "unknown_type",
  "deleted_entry_skipped",
];

/** What could not be carried over, or was changed on the way; `name` is the field, file or entry. */
export interface Warning {
  code: WarningCode;
  name: string | null;
}

/** One item of the source and what becomes of it. */
export interface Item {
  /** Its position among the source's items (0-based, in file order). */
  source: number;
  title: string;
  /** The record to create, or null when it cannot be imported (`error` says why). */
  body: RecordBody | null;
  warnings: Warning[];
  /** A record rule it breaks (the protocol's error kind, e.g. `too_large`). */
  error: string | null;
}

export interface ImportResult {
  format: Format;
  items: Item[];
  /** Warnings that concern no created item (entries skipped as deleted). */
  warnings: Warning[];
}

export interface ImportOptions {
  /** The column mapping of a generic CSV import: `title=Name,username=Login,…`. */
  map?: string;
  /** The passphrase of an encrypted Sharelock export. */
  passphrase?: string;
}

/** The bytes as UTF-8 text, without a byte-order mark. */
export function text(bytes: Uint8Array): string {
  let start = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes.subarray(start));
  } catch {
    throw new ImportError("not_utf8", "the file is not UTF-8 text");
  }
}
