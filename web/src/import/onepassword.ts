// 1Password: the 1PUX export (a zip archive; `export.data` is the JSON of accounts → vaults → items;
// attachments under `files/` are not read) and 1Password 8's CSV export.
import { unzipSync } from "fflate";
import type { FieldKind, RecordType } from "../protocol/record";
import { otherColumns } from "./bitwarden";
import { cell, Table } from "./csv";
import { Draft, unixDate } from "./draft";
import { isObject, Obj, parseJson, type Json } from "./json";
import { sortedKeys } from "./keeper";
import { ImportError, malformed, MAX_TEXT_BYTES, text, tooLargeText, type ImportResult, type Item } from "./model";

function category(uuid: string): [RecordType, [string, string][]] {
  switch (uuid) {
    case "001":
    case "005":
      return ["login", []];
    case "002":
      return ["card", [["cardholder", "cardholder"], ["ccnum", "number"], ["cvv", "cvv"], ["expiry", "expiry"], ["pin", "pin"]]];
    case "003":
      return ["note", []];
    case "006":
      return ["file", []];
    case "101":
      return [
        "bank",
        [["bankName", "bank"], ["owner", "holder"], ["accountNo", "account_number"], ["routingNo", "routing_number"], ["iban", "iban"], ["swift", "swift"], ["telephonePin", "pin"]],
      ];
    case "102":
      return [
        "database",
        [["database_type", "engine"], ["hostname", "hostname"], ["port", "port"], ["database", "database"], ["username", "username"], ["password", "password"]],
      ];
    case "109":
      return ["wifi", [["network_name", "ssid"], ["wireless_password", "password"], ["wireless_security", "security"]]];
    case "110":
      return ["server", [["url", "hostname"], ["username", "username"], ["password", "password"]]];
    case "114":
      return ["ssh", [["private_key", "private_key"]]];
    default:
      return ["general", []];
  }
}

function exportData(bytes: Uint8Array): string {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes, {
      filter: (f) => {
        if (f.name !== "export.data") return false;
        if (f.originalSize > MAX_TEXT_BYTES) throw tooLargeText();
        return true;
      },
    });
  } catch (e) {
    if (e instanceof ImportError) throw e;
    throw malformed("1password-1pux", "not a zip archive");
  }
  const data = files["export.data"];
  if (!data) throw malformed("1password-1pux", "the archive has no export.data");
  if (data.length > MAX_TEXT_BYTES) throw tooLargeText();
  return text(data);
}

export function parse1pux(bytes: Uint8Array): ImportResult {
  const top = new Obj(parseJson("1password-1pux", exportData(bytes)), "1password-1pux", "export.data");
  if (!Array.isArray(top.raw("accounts"))) throw malformed("1password-1pux", "export.data has no `accounts` array");
  const items: Item[] = [];
  top.array("accounts").forEach((acc, a) => {
    const account = new Obj(acc, "1password-1pux", `account ${a}`);
    account.array("vaults").forEach((v, vi) => {
      const vault = new Obj(v, "1password-1pux", `account ${a} vault ${vi}`);
      const vaultName = vault.object("attrs")?.str("name") ?? "";
      vault.array("items").forEach((it, n) => {
        const item = new Obj(it, "1password-1pux", `account ${a} vault ${vi} item ${n}`);
        items.push(puxItem(item, vaultName).finish(items.length));
      });
    });
  });
  return { format: "1password-1pux", items, warnings: [] };
}

function puxItem(item: Obj, vault: string): Draft {
  const [recordType, standard] = category(item.str("categoryUuid"));
  const overview = item.object("overview");
  const details = item.object("details");
  const d = new Draft(recordType, overview?.str("title") ?? "");
  if (details) {
    details.array("loginFields").forEach((field, n) => {
      const f = new Obj(field, "1password-1pux", `${item.place} login field ${n}`);
      const value = f.str("value");
      const designation = f.str("designation");
      if (designation === "username") d.field("username", "text", value);
      else if (designation === "password") d.field("password", "secret", value);
      else {
        const name = f.str("name") !== "" ? f.str("name") : f.str("id");
        const kinds: Record<string, FieldKind> = { P: "secret", E: "email", U: "url" };
        d.field(name, kinds[f.str("fieldType")] ?? "text", value);
      }
    });
    d.field("password", "secret", details.str("password"));
  }
  if (overview) {
    const main = overview.str("url");
    d.field("url", "url", main);
    let n = 2;
    overview.array("urls").forEach((u, i) => {
      const url = new Obj(u, "1password-1pux", `${item.place} url ${i}`).str("url");
      if (url === "" || url === main) return;
      d.field(`url ${n}`, "url", url);
      n += 1;
    });
  }
  if (details) {
    details.array("sections").forEach((s, si) => {
      const section = new Obj(s, "1password-1pux", `${item.place} section ${si}`);
      section.array("fields").forEach((field, n) => sectionField(d, new Obj(field, "1password-1pux", `${section.place} field ${n}`), standard));
    });
  }
  if (overview) {
    const tags = overview.array("tags").filter((t): t is string => typeof t === "string");
    d.field("tags", "text", tags.join(", "));
  }
  d.field("folder", "text", vault);
  if (details) {
    d.notes(details.str("notesPlain"));
    if (details.array("passwordHistory").length > 0) d.warn("password_history_not_imported", null);
    const doc = details.object("documentAttributes");
    if (doc) d.warn("attachment_not_imported", doc.str("fileName"));
  }
  return d;
}

function str(v: Json | undefined): string | null {
  return typeof v === "string" ? v : null;
}

function int(v: Json | undefined): number | null {
  return typeof v === "number" && Number.isSafeInteger(v) ? v : null;
}

function sectionField(d: Draft, f: Obj, standard: [string, string][]): void {
  const id = f.str("id");
  const name = f.str("title") !== "" ? f.str("title") : id;
  const value = f.object("value");
  if (!value) return;
  // A value is an object of one member, its type; the first in sorted order if there are more.
  const vtype = sortedKeys(value.map)[0];
  if (vtype === undefined) return;
  const v = value.map[vtype];
  let publicKey = "";
  let kind: FieldKind = "text";
  let content: string | null = null;
  switch (vtype) {
    case "string":
    case "menu":
    case "creditCardType":
    case "gender":
      kind = f.flag("multiline") ? "multiline" : "text";
      content = str(v);
      break;
    case "concealed":
    case "creditCardNumber":
      kind = "secret";
      content = str(v);
      break;
    case "totp":
      kind = "otp";
      content = str(v);
      break;
    case "phone":
      kind = "phone";
      content = str(v);
      break;
    case "url":
      kind = "url";
      content = str(v);
      break;
    case "email":
      kind = "email";
      content = isObject(v) ? str(v["email_address"]) : str(v);
      break;
    case "date": {
      kind = "date";
      const s = int(v);
      content = s === null ? null : (unixDate(s) ?? String(s));
      break;
    }
    case "monthYear": {
      kind = "date";
      const n = int(v);
      content = n === null ? null : `${String(Math.trunc(n / 100)).padStart(4, "0")}-${String(n % 100).padStart(2, "0")}`;
      break;
    }
    case "address":
      kind = "multiline";
      content = isObject(v)
        ? ["street", "city", "state", "zip", "country"]
            .map((k) => str(v[k]))
            .filter((s): s is string => s !== null && s !== "")
            .join("\n")
        : null;
      break;
    case "sshKey":
      kind = "secret";
      if (isObject(v)) {
        const metadata = v["metadata"];
        publicKey = (isObject(metadata) ? str(metadata["publicKey"]) : null) ?? "";
        content = str(v["privateKey"]);
      }
      break;
    case "file": {
      const fileName = isObject(v) ? str(v["fileName"]) : null;
      d.warn("attachment_not_imported", fileName ?? name);
      return;
    }
    default:
      content = null;
  }
  if (content === null) {
    d.warn("field_not_imported", name);
    return;
  }
  const mapped = standard.find(([fieldId]) => fieldId === id);
  if (mapped && !d.has(mapped[1])) {
    d.standard(mapped[1], content);
  } else if (kind === "otp" && d.recordType === "login" && !d.has("totp")) {
    d.field("totp", "otp", content);
  } else {
    d.field(name, kind, content);
  }
  if (d.recordType === "ssh") d.field("public_key", "multiline", publicKey);
  else d.field(`${name} public key`, "multiline", publicKey);
}

const CSV_USED = ["title", "url", "username", "password", "otpauth", "tags", "notes"];
const CSV_IGNORED = ["favorite", "archived"];

export function parse1passwordCsv(textIn: string): ImportResult {
  const table = Table.read("1password-csv", textIn);
  table.require("1password-csv", ["title", "username", "password"]);
  const col = (n: string) => table.column(n);
  const items = table.rows.map((row, i) => {
    const d = new Draft("login", cell(row, col("title")));
    d.standard("username", cell(row, col("username")));
    d.standard("password", cell(row, col("password")));
    d.standard("url", cell(row, col("url")));
    d.standard("totp", cell(row, col("otpauth")));
    d.field("tags", "text", cell(row, col("tags")));
    otherColumns(d, table, row, CSV_USED, CSV_IGNORED);
    d.notes(cell(row, col("notes")));
    return d.finish(i);
  });
  return { format: "1password-csv", items, warnings: [] };
}
