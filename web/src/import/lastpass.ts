// LastPass's CSV export: `url,username,password,totp,extra,name,grouping,fav`. A secure note has the URL
// `http://sn`; a typed one holds `Key:Value` lines in `extra`, starting with `NoteType:`, and its
// `Notes:` line runs to the end.
import type { FieldKind, RecordType } from "../protocol/record";
import { otherColumns } from "./bitwarden";
import { cell, Table } from "./csv";
import { Draft } from "./draft";
import type { ImportResult } from "./model";

const USED = ["url", "username", "password", "totp", "extra", "name", "grouping"];
const IGNORED = ["fav"];

interface NoteType {
  name: string;
  recordType: RecordType;
  keys: [string, string, FieldKind][];
}

const NOTE_TYPES: NoteType[] = [
  {
    name: "Credit Card",
    recordType: "card",
    keys: [
      ["Name on Card", "cardholder", "text"],
      ["Type", "card type", "text"],
      ["Number", "number", "secret"],
      ["Security Code", "cvv", "secret"],
      ["Start Date", "start date", "date"],
      ["Expiration Date", "expiry", "date"],
    ],
  },
  {
    name: "Bank Account",
    recordType: "bank",
    keys: [
      ["Bank Name", "bank", "text"],
      ["Account Type", "account type", "text"],
      ["Routing Number", "routing_number", "text"],
      ["Account Number", "account_number", "secret"],
      ["SWIFT Code", "swift", "text"],
      ["IBAN Number", "iban", "secret"],
      ["Pin", "pin", "secret"],
      ["Branch Address", "branch address", "text"],
      ["Branch Phone", "branch phone", "phone"],
    ],
  },
  {
    name: "Server",
    recordType: "server",
    keys: [
      ["Hostname", "hostname", "text"],
      ["Username", "username", "text"],
      ["Password", "password", "secret"],
    ],
  },
  {
    name: "Database",
    recordType: "database",
    keys: [
      ["Type", "engine", "text"],
      ["Hostname", "hostname", "text"],
      ["Port", "port", "text"],
      ["Database", "database", "text"],
      ["Username", "username", "text"],
      ["Password", "password", "secret"],
      ["SID", "sid", "text"],
      ["Alias", "alias", "text"],
    ],
  },
  {
    name: "Wi-Fi Password",
    recordType: "wifi",
    keys: [
      ["SSID", "ssid", "text"],
      ["Password", "password", "secret"],
      ["Connection Type", "connection type", "text"],
      ["Connection Mode", "connection mode", "text"],
      ["Authentication", "security", "text"],
      ["Encryption", "encryption", "text"],
      ["Use 802.1X", "use 802.1x", "text"],
      ["FIPS Mode", "fips mode", "text"],
      ["Key Type", "key type", "text"],
      ["Protected", "protected", "text"],
      ["Key Index", "key index", "text"],
    ],
  },
  {
    name: "SSH Key",
    recordType: "ssh",
    keys: [
      ["Bit Strength", "bit strength", "text"],
      ["Format", "format", "text"],
      ["Passphrase", "passphrase", "secret"],
      ["Private Key", "private_key", "secret"],
      ["Public Key", "public_key", "multiline"],
      ["Hostname", "hostname", "text"],
      ["Date", "date", "text"],
    ],
  },
];

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

export function parseLastpass(text: string): ImportResult {
  const table = Table.read("lastpass-csv", text);
  table.require("lastpass-csv", ["url", "username", "password", "extra", "name", "grouping"]);
  const col = (n: string) => table.column(n);
  const items = table.rows.map((row, i) => {
    const url = cell(row, col("url"));
    const extra = cell(row, col("extra"));
    const title = cell(row, col("name"));
    let d: Draft;
    if (url === "http://sn") {
      if (extra.startsWith("NoteType:")) d = typedNote(title, extra.slice("NoteType:".length));
      else {
        d = new Draft("note", title);
        d.notes(extra);
      }
      d.field("username", "text", cell(row, col("username")));
      d.field("password", "secret", cell(row, col("password")));
      d.field("totp", "otp", cell(row, col("totp")));
    } else {
      d = new Draft("login", title);
      d.standard("username", cell(row, col("username")));
      d.standard("password", cell(row, col("password")));
      d.standard("url", url);
      d.standard("totp", cell(row, col("totp")));
      d.notes(extra);
    }
    d.field("folder", "text", cell(row, col("grouping")));
    otherColumns(d, table, row, USED, IGNORED);
    return d.finish(i);
  });
  return { format: "lastpass-csv", items, warnings: [] };
}

function typedNote(title: string, rest: string): Draft {
  const nl = rest.indexOf("\n");
  let typeName = nl >= 0 ? rest.slice(0, nl) : rest;
  if (typeName.endsWith("\r")) typeName = typeName.slice(0, -1);
  const body = nl >= 0 ? rest.slice(nl + 1) : "";
  const known = NOTE_TYPES.find((t) => t.name === typeName);
  const d = new Draft(known?.recordType ?? "general", title);
  if (!known) d.warn("unknown_type", typeName);
  const entries: [string, string][] = [];
  let notes: string | null = null;
  for (const raw of body.split("\n")) {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (notes !== null) {
      notes += "\n" + line;
      continue;
    }
    if (line.startsWith("Notes:")) {
      notes = line.slice("Notes:".length);
      continue;
    }
    const colon = line.indexOf(":");
    const key = colon >= 0 ? line.slice(0, colon) : null;
    const starts =
      key !== null && (known ? known.keys.some(([k]) => k === key) || key === "Language" : key !== "");
    const last = entries[entries.length - 1];
    if (starts) entries.push([key, line.slice(colon + 1)]);
    else if (last) last[1] += "\n" + line;
    else if (line !== "") entries.push(["", line]);
  }
  for (const [key, value] of entries) {
    const mapped = known?.keys.find(([k]) => k === key);
    if (mapped) {
      const [, name, kind] = mapped;
      d.field(name, kind, kind === "date" ? monthNameDate(value) : value);
    } else {
      d.field(key === "Language" ? "language" : key, value.includes("\n") ? "multiline" : "text", value);
    }
  }
  if (notes !== null) d.notes(notes);
  return d;
}

function monthNameDate(value: string): string {
  const comma = value.indexOf(",");
  if (comma >= 0) {
    const m = MONTHS.indexOf(value.slice(0, comma));
    const year = value.slice(comma + 1);
    if (m >= 0 && /^[0-9]{4}$/.test(year)) return `${year}-${String(m + 1).padStart(2, "0")}`;
  }
  return value;
}
