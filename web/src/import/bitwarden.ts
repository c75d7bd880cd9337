// Bitwarden: the unencrypted JSON export (every item type) and the CSV export (logins and notes).
import type { FieldKind, RecordType } from "../protocol/record";
import { cell, normal, Table } from "./csv";
import { Draft, monthYear } from "./draft";
import { Obj, parseJson } from "./json";
import { ImportError, malformed, type ImportResult, type Item } from "./model";

const IDENTITY: [string, string, FieldKind][] = [
  ["title", "title", "text"],
  ["firstName", "first name", "text"],
  ["middleName", "middle name", "text"],
  ["lastName", "last name", "text"],
  ["address1", "address 1", "text"],
  ["address2", "address 2", "text"],
  ["address3", "address 3", "text"],
  ["city", "city", "text"],
  ["state", "state", "text"],
  ["postalCode", "postal code", "text"],
  ["country", "country", "text"],
  ["company", "company", "text"],
  ["email", "email", "email"],
  ["phone", "phone", "phone"],
  ["ssn", "ssn", "secret"],
  ["username", "username", "text"],
  ["passportNumber", "passport number", "secret"],
  ["licenseNumber", "license number", "secret"],
];

export function parseBitwardenJson(text: string): ImportResult {
  const top = new Obj(parseJson("bitwarden-json", text), "bitwarden-json", "the document");
  if (top.flag("encrypted") || top.flag("passwordProtected")) {
    throw new ImportError(
      "encrypted",
      'this Bitwarden export is encrypted: export the vault again as "JSON" (not "JSON (Encrypted)")',
    );
  }
  if (!Array.isArray(top.raw("items"))) throw malformed("bitwarden-json", "no `items` array");
  const folders = new Map<string, string>();
  top.array("folders").forEach((folder, i) => {
    const f = new Obj(folder, "bitwarden-json", `folder ${i}`);
    folders.set(f.str("id"), f.str("name"));
  });
  const items: Item[] = top.array("items").map((value, i) => jsonItem(new Obj(value, "bitwarden-json", `item ${i}`), folders).finish(i));
  return { format: "bitwarden-json", items, warnings: [] };
}

function jsonItem(item: Obj, folders: Map<string, string>): Draft {
  const kind = item.int("type") ?? 0;
  const types: Record<number, RecordType> = { 1: "login", 2: "note", 3: "card", 5: "ssh" };
  const d = new Draft(types[kind] ?? "general", item.str("name"));
  switch (kind) {
    case 1: {
      const login = item.object("login");
      if (login) {
        d.standard("username", login.str("username"));
        d.standard("password", login.str("password"));
        login.array("uris").forEach((u, n) => {
          const uri = new Obj(u, "bitwarden-json", `${item.place} uri ${n}`);
          d.field(n === 0 ? "url" : `url ${n + 1}`, "url", uri.str("uri"));
        });
        d.standard("totp", login.str("totp"));
        if (login.array("fido2Credentials").length > 0) d.warn("passkey_not_imported", null);
      }
      break;
    }
    case 2:
      break;
    case 3: {
      const card = item.object("card");
      if (card) {
        d.standard("cardholder", card.str("cardholderName"));
        d.standard("number", card.str("number"));
        d.standard("expiry", monthYear(card.text("expMonth"), card.text("expYear")));
        d.standard("cvv", card.str("code"));
        d.field("brand", "text", card.str("brand"));
      }
      break;
    }
    case 4: {
      const identity = item.object("identity");
      if (identity) for (const [key, name, k] of IDENTITY) d.field(name, k, identity.str(key));
      break;
    }
    case 5: {
      const key = item.object("sshKey");
      if (key) {
        d.standard("private_key", key.str("privateKey"));
        d.standard("public_key", key.str("publicKey"));
        d.field("fingerprint", "text", key.str("keyFingerprint"));
      }
      break;
    }
    default:
      d.warn("unknown_type", String(kind));
  }
  item.array("fields").forEach((field, n) => {
    const f = new Obj(field, "bitwarden-json", `${item.place} field ${n}`);
    const name = f.str("name");
    const type = f.int("type") ?? 0;
    if (type === 1) d.field(name, "secret", f.text("value"));
    else if (type === 3) d.warn("field_not_imported", name);
    else d.field(name, "text", f.text("value"));
  });
  const folder = folders.get(item.str("folderId"));
  if (folder !== undefined) d.field("folder", "text", folder);
  d.notes(item.str("notes"));
  if (item.array("passwordHistory").length > 0) d.warn("password_history_not_imported", null);
  item.array("attachments").forEach((a, n) => {
    d.warn("attachment_not_imported", new Obj(a, "bitwarden-json", `${item.place} attachment ${n}`).str("fileName"));
  });
  return d;
}

const CSV_IGNORED = ["favorite", "reprompt"];
const CSV_USED = ["folder", "collections", "type", "name", "notes", "fields", "login_uri", "login_username", "login_password", "login_totp"];

export function parseBitwardenCsv(text: string): ImportResult {
  const table = Table.read("bitwarden-csv", text);
  table.require("bitwarden-csv", ["type", "name", "login_uri", "login_username", "login_password"]);
  const col = (n: string) => table.column(n);
  const items = table.rows.map((row, i) => {
    const kind = cell(row, col("type"));
    const recordType: RecordType = kind === "login" ? "login" : kind === "note" ? "note" : "general";
    const d = new Draft(recordType, cell(row, col("name")));
    if (recordType === "general") d.warn("unknown_type", kind);
    d.standard("username", cell(row, col("login_username")));
    d.standard("password", cell(row, col("login_password")));
    const uris = cell(row, col("login_uri"));
    if (uris !== "") uris.split(",").forEach((uri, n) => d.field(n === 0 ? "url" : `url ${n + 1}`, "url", uri));
    d.standard("totp", cell(row, col("login_totp")));
    for (const raw of cell(row, col("fields")).split("\n")) {
      const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      if (line === "") continue;
      const at = line.indexOf(": ");
      if (at >= 0) d.field(line.slice(0, at), "text", line.slice(at + 2));
      else d.field("field", "text", line);
    }
    const folder = cell(row, col("folder"));
    d.field("folder", "text", folder !== "" ? folder : cell(row, col("collections")));
    otherColumns(d, table, row, CSV_USED, CSV_IGNORED);
    d.notes(cell(row, col("notes")));
    return d.finish(i);
  });
  return { format: "bitwarden-csv", items, warnings: [] };
}

/** Every column not used nor ignored becomes a text field named by its header. */
export function otherColumns(d: Draft, table: Table, row: string[], used: string[], ignored: string[]): void {
  table.names.forEach((name, c) => {
    const n = normal(name);
    if (used.includes(n) || ignored.includes(n)) return;
    d.field(name, "text", cell(row, c));
  });
}
