// Sharelock's own export (docs/export.md), version 1, plain or as the plaintext of an age file encrypted
// with a passphrase (binary or ASCII-armored). Bodies are imported exactly as they are (they are records
// already); file contents are not in an export, so each listed file is reported.
import { armor, Decrypter } from "age-encryption";
import { ProtocolError } from "../protocol/errors";
import { bodyFromJson } from "../protocol/record";
import { Obj, parseJson, type Json } from "./json";
import { ImportError, malformed, MAX_TEXT_BYTES, text, tooLargeText, type ImportResult, type Item, type Warning } from "./model";

export const FORMAT = "sharelock-export";
const AGE_MAGIC = "age-encryption.org/v1\n";
const ARMOR_BEGIN = "-----BEGIN AGE ENCRYPTED FILE-----";

function startsWith(bytes: Uint8Array, prefix: string): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix.charCodeAt(i)) return false;
  return true;
}

export function isAge(bytes: Uint8Array): boolean {
  let i = 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0d || bytes[i] === 0x0a)) i++;
  return startsWith(bytes, AGE_MAGIC) || startsWith(bytes.subarray(i), ARMOR_BEGIN);
}

/** Opens an age file made with a passphrase: its plaintext, at most MAX_TEXT_BYTES. */
export async function decrypt(bytes: Uint8Array, passphrase: string): Promise<Uint8Array> {
  let binary = bytes;
  if (!startsWith(bytes, AGE_MAGIC)) {
    try {
      binary = armor.decode(new TextDecoder().decode(bytes));
    } catch {
      throw malformed("sharelock", "not a readable age file");
    }
  }
  // The first stanza says how the file key is wrapped: a passphrase is the scrypt recipient.
  if (!startsWith(binary.subarray(AGE_MAGIC.length), "-> scrypt ")) {
    throw malformed("sharelock", "the age file is encrypted to keys, not with a passphrase");
  }
  const decrypter = new Decrypter();
  decrypter.addPassphrase(passphrase);
  let plain: Uint8Array;
  try {
    plain = await decrypter.decrypt(binary);
  } catch (e) {
    const message = e instanceof Error ? e.message : "";
    if (message.includes("work factor")) {
      const logN = /-> scrypt \S+ ([0-9]+)\n/.exec(new TextDecoder().decode(binary.subarray(0, 200)))?.[1] ?? "?";
      throw new ImportError("excessive_work", `the export asks for too much work to open (scrypt work factor ${logN}, at most 20 is accepted)`);
    }
    if (message.includes("no identity matched")) throw new ImportError("wrong_passphrase", "the passphrase does not open this export");
    throw malformed("sharelock", "not a readable age file");
  }
  if (plain.length > MAX_TEXT_BYTES) throw tooLargeText();
  return plain;
}

export async function parseSharelock(bytes: Uint8Array, passphrase: string | undefined): Promise<ImportResult> {
  if (isAge(bytes)) {
    if (passphrase === undefined) throw new ImportError("passphrase_required", "the export is encrypted: a passphrase is needed");
    return parseDocument(text(await decrypt(bytes, passphrase)));
  }
  if (bytes.length > MAX_TEXT_BYTES) throw tooLargeText();
  return parseDocument(text(bytes));
}

function attachment(name: Json | undefined): Warning {
  return { code: "attachment_not_imported", name: typeof name === "string" ? name : null };
}

function parseDocument(doc: string): ImportResult {
  const top = new Obj(parseJson("sharelock", doc), "sharelock", "the document");
  if (top.str("format") !== FORMAT) throw malformed("sharelock", '`format` is not "sharelock-export"');
  const version = top.raw("version");
  if (typeof version !== "number" || !Number.isSafeInteger(version) || version < 0) throw malformed("sharelock", "`version` is not a number");
  if (version !== 1) throw new ImportError("unsupported_version", `a Sharelock export of version ${version}, which this version of Sharelock does not read`);
  if (!Array.isArray(top.raw("records"))) throw malformed("sharelock", "no `records` array");
  const items: Item[] = top.array("records").map((record, i) => {
    const r = new Obj(record, "sharelock", `record ${i}`);
    const bodyValue = r.raw("body");
    if (bodyValue === undefined) throw malformed("sharelock", `record ${i} has no \`body\``);
    const asObject = typeof bodyValue === "object" && bodyValue !== null && !Array.isArray(bodyValue) ? bodyValue : null;
    const title = asObject && typeof asObject["title"] === "string" ? asObject["title"] : "";
    const warnings: Warning[] = [];
    const bodyFiles = asObject?.["files"];
    if (Array.isArray(bodyFiles)) {
      for (const f of bodyFiles) warnings.push(attachment(typeof f === "object" && f !== null && !Array.isArray(f) ? f["name"] : undefined));
    }
    r.array("files").forEach((file, n) => {
      warnings.push(attachment(new Obj(file, "sharelock", `record ${i} file ${n}`).str("name")));
    });
    try {
      const body = bodyFromJson(new TextEncoder().encode(JSON.stringify(bodyValue)));
      body.files = [];
      return { source: i, title: body.title, body, warnings, error: null };
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      return { source: i, title, body: null, warnings, error: e.kind };
    }
  });
  return { format: "sharelock", items, warnings: [] };
}
