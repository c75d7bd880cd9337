// The Sharelock export (docs/export.md): every record's current version, decrypted here, as one UTF-8 JSON
// document; by default the plaintext of an age file encrypted with a passphrase (one scrypt recipient,
// typage, the age author's TypeScript implementation), binary or ASCII-armored; plain JSON or CSV only when
// the user asked for it past a warning. File contents are never in it: files are listed by name, size and
// type, and no file key leaves the vault. The Rust CLI writes the same format with the age crate; the
// fixtures in protocol/export/ are read by both sides' tests.
import { Decrypter, Encrypter, armor } from "age-encryption";
import { bodyFromJson, bodyToJson, type RecordBody } from "../protocol/record";
import { fromUtf8, utf8 } from "../protocol/bytes";

export const EXPORT_FORMAT = "sharelock-export";
export const EXPORT_VERSION = 1;
/** scrypt's work factor, log2(N): the age clients' default, so the file opens anywhere in about a second. */
export const SCRYPT_LOG_N = 18;
/** The shortest export passphrase accepted (characters), as the CLI. */
export const MIN_EXPORT_PASSPHRASE_CHARS = 10;

/** A record's current version as the vault opened it. */
export interface ExportSource {
  id: string;
  version: number;
  updatedAt: string;
  body: RecordBody;
}

export interface ExportedFile {
  name: string;
  size: number;
  content_type: string;
}

export interface ExportedRecord {
  id: string;
  version: number;
  updated_at: string;
  /** The body of protocol §3.3 with `files: []`. */
  body: RecordBody;
  files: ExportedFile[];
}

export interface ExportDocument {
  format: typeof EXPORT_FORMAT;
  version: typeof EXPORT_VERSION;
  exported_at: string;
  records: ExportedRecord[];
}

export class ExportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ExportError";
  }
}

/** The passphrase does not open the file. */
export class WrongExportPassphraseError extends ExportError {
  constructor() {
    super("the passphrase does not open this export");
    this.name = "WrongExportPassphraseError";
  }
}

/** RFC 3339 in UTC, whole seconds (as the CLI writes it). */
export function rfc3339(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The document for these records: each body without its files (so without their keys), the files listed beside it. */
export function exportDocument(records: readonly ExportSource[], now: Date): ExportDocument {
  return {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    exported_at: rfc3339(now),
    records: records.map((r) => {
      const body: RecordBody = { type: r.body.type, title: r.body.title, fields: r.body.fields.map((f) => ({ name: f.name, kind: f.kind, value: f.value })), notes: r.body.notes, files: [] };
      // Checked by the protocol's own rules: an export never carries a body the vault would refuse.
      bodyToJson(body);
      return {
        id: r.id,
        version: r.version,
        updated_at: r.updatedAt,
        body,
        files: r.body.files.map((f) => ({ name: f.name, size: f.size, content_type: f.mime })),
      };
    }),
  };
}

/** The document as JSON text (indented), ending in a newline. */
export function exportJson(doc: ExportDocument): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function exactKeys(v: unknown, keys: readonly string[], what: string): Record<string, unknown> {
  if (!isObject(v)) throw new ExportError(`${what} is not an object`);
  const have = Object.keys(v);
  if (have.length !== keys.length || !keys.every((k) => have.includes(k))) throw new ExportError(`${what} must have exactly the keys ${keys.join(", ")}`);
  return v;
}

/** Reads a document: this layout exactly, format and version as written here, every body valid with no files. */
export function parseExport(text: string): ExportDocument {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (e) {
    throw new ExportError(`not JSON: ${(e as Error).message}`);
  }
  const doc = exactKeys(root, ["format", "version", "exported_at", "records"], "the document");
  if (doc.format !== EXPORT_FORMAT) throw new ExportError(`format is ${JSON.stringify(doc.format)}, not "${EXPORT_FORMAT}"`);
  if (doc.version !== EXPORT_VERSION) throw new ExportError(`version ${JSON.stringify(doc.version)} (this Sharelock reads version ${EXPORT_VERSION})`);
  if (typeof doc.exported_at !== "string") throw new ExportError("exported_at is not a time");
  if (!Array.isArray(doc.records)) throw new ExportError("records is not a list");
  const records = doc.records.map((v: unknown, i): ExportedRecord => {
    const r = exactKeys(v, ["id", "version", "updated_at", "body", "files"], `record ${i + 1}`);
    if (typeof r.id !== "string" || typeof r.version !== "number" || typeof r.updated_at !== "string" || !Array.isArray(r.files)) throw new ExportError(`record ${i + 1} is malformed`);
    const body = bodyFromJson(utf8(JSON.stringify(r.body)));
    if (body.files.length > 0) throw new ExportError(`record ${i + 1}: its body lists files`);
    const files = r.files.map((f: unknown, j): ExportedFile => {
      const file = exactKeys(f, ["name", "size", "content_type"], `file ${j + 1} of record ${i + 1}`);
      if (typeof file.name !== "string" || typeof file.size !== "number" || typeof file.content_type !== "string") throw new ExportError(`file ${j + 1} of record ${i + 1} is malformed`);
      return { name: file.name, size: file.size, content_type: file.content_type };
    });
    return { id: r.id, version: r.version, updated_at: r.updated_at, body, files };
  });
  return { format: EXPORT_FORMAT, version: EXPORT_VERSION, exported_at: doc.exported_at, records };
}

/** One CSV cell as RFC 4180 wants it: quoted when it holds a comma, a quote or a line break. */
export function csvQuote(cell: string): string {
  return /[",\r\n]/.test(cell) ? `"${cell.replaceAll('"', '""')}"` : cell;
}

/** CSV text: the rows joined with CRLF, a final CRLF. */
export function csvText(rows: readonly (readonly string[])[]): string {
  return rows.map((row) => row.map(csvQuote).join(",")).join("\r\n") + "\r\n";
}

/**
 * The CSV form: `id,type,title,notes,updated_at,files`, then a `field_N_name,field_N_kind,field_N_value`
 * triple per field, as many as the record with the most fields has. Values are exact (not made safe for
 * spreadsheets: this file is for moving records elsewhere).
 */
export function exportCsv(doc: ExportDocument): string {
  const widest = Math.max(0, ...doc.records.map((r) => r.body.fields.length));
  const header = ["id", "type", "title", "notes", "updated_at", "files"];
  for (let n = 1; n <= widest; n++) header.push(`field_${n}_name`, `field_${n}_kind`, `field_${n}_value`);
  const rows = doc.records.map((r) => {
    const row = [r.id, r.body.type, r.body.title, r.body.notes, r.updated_at, r.files.map((f) => f.name).join("\n")];
    for (const f of r.body.fields) row.push(f.name, f.kind, f.value);
    while (row.length < header.length) row.push("");
    return row;
  });
  return csvText([header, ...rows]);
}

/** Encrypts the export to an age file with `passphrase` (one scrypt recipient, log2 N = 18), armored if asked. */
export async function encryptExport(plaintext: string, passphrase: string, armored: boolean, logN = SCRYPT_LOG_N): Promise<Uint8Array> {
  const e = new Encrypter();
  e.setPassphrase(passphrase);
  // Another work factor only for tests, which need no strength.
  e.setScryptWorkFactor(logN);
  const file = await e.encrypt(utf8(plaintext));
  return armored ? utf8(armor.encode(file)) : file;
}

/** Decrypts an age file (binary or armored) made with a passphrase. */
export async function decryptExport(file: Uint8Array, passphrase: string): Promise<string> {
  const head = new TextDecoder().decode(file.subarray(0, 64)).trimStart();
  let raw = file;
  if (head.startsWith("-----BEGIN AGE ENCRYPTED FILE-----")) {
    try {
      raw = armor.decode(fromUtf8(file, "export"));
    } catch (e) {
      throw new ExportError(`not an encrypted export: ${(e as Error).message}`);
    }
  }
  const d = new Decrypter();
  d.addPassphrase(passphrase);
  try {
    return await d.decrypt(raw, "text");
  } catch (e) {
    const message = (e as Error).message;
    // typage's words for a passphrase that opens no stanza.
    if (/no identity matched/i.test(message)) throw new WrongExportPassphraseError();
    throw new ExportError(`not an encrypted export: ${message}`);
  }
}
