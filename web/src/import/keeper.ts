// Keeper: the JSON export and the CSV export (no header row: folder, title, login, password, website
// address, notes, shared folder, then custom field name/value pairs). Custom field names of typed
// records are `$<field type>[:<label>[:<n>]]`. Object members are read in sorted key order.
import type { RecordType } from "../protocol/record";
import { normal, rows } from "./csv";
import { Draft, monthYear, unixDate } from "./draft";
import { isObject, Obj, parseJson, scalarText, type Json } from "./json";
import { malformed, type ImportResult, type Item } from "./model";

function recordType(name: string): RecordType {
  const map: Record<string, RecordType> = {
    "": "login",
    login: "login",
    bankCard: "card",
    bankAccount: "bank",
    sshKeys: "ssh",
    databaseCredentials: "database",
    serverCredentials: "server",
    wifiCredentials: "wifi",
    encryptedNotes: "note",
    file: "file",
  };
  return Object.prototype.hasOwnProperty.call(map, name) ? map[name]! : "general";
}

/** Sorted as Rust sorts strings (by UTF-8 bytes; the same as code points). */
export function sortedKeys(o: object): string[] {
  return Object.keys(o).sort((a, b) => {
    const x = Array.from(a, (c) => c.codePointAt(0)!);
    const y = Array.from(b, (c) => c.codePointAt(0)!);
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
    return x.length - y.length;
  });
}

export function parseKeeperJson(text: string): ImportResult {
  const top = new Obj(parseJson("keeper-json", text), "keeper-json", "the document");
  if (!Array.isArray(top.raw("records"))) throw malformed("keeper-json", "no `records` array");
  const items: Item[] = top.array("records").map((value, i) => {
    const r = new Obj(value, "keeper-json", `record ${i}`);
    const d = new Draft(recordType(r.str("$type")), r.str("title"));
    loginFields(d, r.str("login"), r.str("password"), r.str("login_url"));
    const custom = r.object("custom_fields");
    if (custom) for (const key of sortedKeys(custom.map)) customField(d, key, custom.map[key]!);
    const folders: string[] = [];
    r.array("folders").forEach((folder, n) => {
      const f = new Obj(folder, "keeper-json", `record ${i} folder ${n}`);
      const name = f.str("folder") !== "" ? f.str("folder") : f.str("shared_folder");
      if (name !== "") folders.push(name);
    });
    d.field("folder", "text", folders.join(", "));
    d.notes(r.str("notes"));
    r.array("attachments").forEach((attachment, n) => {
      const a = new Obj(attachment, "keeper-json", `record ${i} attachment ${n}`);
      d.warn("attachment_not_imported", a.str("name") !== "" ? a.str("name") : a.str("title"));
    });
    return d.finish(i);
  });
  return { format: "keeper-json", items, warnings: [] };
}

function loginFields(d: Draft, login: string, password: string, url: string): void {
  d.standard("username", login);
  if (d.recordType === "ssh") d.standard("passphrase", password);
  else d.field("password", "secret", password);
  d.field("url", "url", url);
}

function splitKey(typed: string): [string, string] {
  const parts = typed.split(":");
  return [parts[0] ?? "", parts[1] ?? ""];
}

function customField(d: Draft, key: string, value: Json): void {
  const [fieldType, label] = key.startsWith("$") ? splitKey(key.slice(1)) : ["text", key];
  const nameOr = (fallback: string) => (label === "" ? fallback : label);
  if (isObject(value)) {
    const get = (k: string) => scalarText(value[k]) ?? "";
    switch (fieldType) {
      case "paymentCard":
        d.field("number", "secret", get("cardNumber"));
        d.field("expiry", "date", cardExpiry(get("cardExpirationDate")));
        d.field("cvv", "secret", get("cardSecurityCode"));
        return;
      case "bankAccount":
        d.field("account type", "text", get("accountType"));
        d.field("routing_number", "text", get("routingNumber"));
        d.field("account_number", "secret", get("accountNumber"));
        d.field("other type", "text", get("otherType"));
        return;
      case "host":
        d.field("hostname", "text", get("hostName"));
        d.field("port", "text", get("port"));
        return;
      case "keyPair":
        d.field("private_key", "secret", get("privateKey"));
        d.field("public_key", "multiline", get("publicKey"));
        return;
      case "name": {
        const full = ["first", "middle", "last"].map(get).filter((s) => s !== "");
        d.field(nameOr(d.recordType === "bank" ? "holder" : "name"), "text", full.join(" "));
        return;
      }
      case "phone":
        d.field(nameOr("phone"), "phone", get("number"));
        return;
      case "address": {
        const lines = ["street1", "street2", "city", "state", "zip", "country"].map(get).filter((s) => s !== "");
        d.field(nameOr("address"), "multiline", lines.join("\n"));
        return;
      }
      default: {
        const lines: string[] = [];
        for (const k of sortedKeys(value)) {
          const v = scalarText(value[k]);
          if (v === null) d.warn("field_not_imported", `${nameOr(fieldType)}.${k}`);
          else if (v !== "") lines.push(`${k}: ${v}`);
        }
        d.field(nameOr(fieldType), "multiline", lines.join("\n"));
        return;
      }
    }
  }
  let text: string;
  if (Array.isArray(value)) {
    const parts = value.map(scalarText);
    if (parts.some((p) => p === null)) {
      d.warn("field_not_imported", nameOr(fieldType));
      return;
    }
    text = parts.join(", ");
  } else if (value === null) {
    return;
  } else {
    const t = scalarText(value);
    if (t === null) {
      d.warn("field_not_imported", nameOr(fieldType));
      return;
    }
    text = t;
  }
  typedValue(d, fieldType, label, text);
}

function typedValue(d: Draft, fieldType: string, label: string, text: string): void {
  const nameOr = (fallback: string) => (label === "" ? fallback : label);
  const rt = d.recordType;
  if (fieldType === "oneTimeCode") d.field(nameOr("totp"), "otp", text);
  else if (fieldType === "pinCode") d.field(nameOr("pin"), "secret", text);
  else if (fieldType === "text" && label === "cardholderName" && rt === "card") d.field("cardholder", "text", text);
  else if (fieldType === "text" && label === "type" && rt === "database") d.field("engine", "text", text);
  else if (fieldType === "text" && label === "SSID" && rt === "wifi") d.field("ssid", "text", text);
  else if (fieldType === "login") d.field(nameOr("username"), "text", text);
  else if (fieldType === "password" || fieldType === "secret") d.field(nameOr(fieldType), "secret", text);
  else if (fieldType === "email") d.field(nameOr("email"), "email", text);
  else if (fieldType === "url") d.field(nameOr("url"), "url", text);
  else if (fieldType === "phone") d.field(nameOr("phone"), "phone", text);
  else if (fieldType === "multiline" || fieldType === "note") d.field(nameOr(fieldType), "multiline", text);
  else if (fieldType === "date" || fieldType === "birthDate" || fieldType === "expirationDate") {
    // Keeper writes dates as Unix milliseconds.
    const date = /^[+-]?[0-9]+$/.test(text) ? unixDate(Math.floor(Number(text) / 1000)) : null;
    d.field(nameOr(fieldType), "date", date ?? text);
  } else d.field(nameOr(fieldType), "text", text);
}

function cardExpiry(value: string): string {
  const slash = value.indexOf("/");
  return slash >= 0 ? monthYear(value.slice(0, slash), value.slice(slash + 1)) : value;
}

export function parseKeeperCsv(text: string): ImportResult {
  const all = rows("keeper-csv", text);
  const header = ["folder", "title", "login", "password", "website address", "notes"];
  const first = all[0];
  if (first && first.length >= header.length && header.every((name, i) => normal(first[i]!) === name)) all.shift();
  const items = all.map((row, i) => {
    if (row.length < 6) {
      throw malformed(
        "keeper-csv",
        `row ${i + 1} has ${row.length} columns; a Keeper CSV row has at least 6 (folder, title, login, password, website address, notes)`,
      );
    }
    const c = (n: number) => row[n] ?? "";
    const d = new Draft("login", c(1));
    loginFields(d, c(2), c(3), c(4));
    for (let n = 7; n < row.length; n += 2) {
      const name = c(n);
      const value = c(n + 1);
      if (name.startsWith("$")) {
        const [fieldType, label] = splitKey(name.slice(1));
        typedValue(d, fieldType, label, value);
      } else d.field(name, "text", value);
    }
    d.field("folder", "text", c(0));
    d.field("shared folder", "text", c(6));
    d.notes(c(5));
    return d.finish(i);
  });
  return { format: "keeper-csv", items, warnings: [] };
}
