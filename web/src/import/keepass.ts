// KeePass 2.x XML export (also KeePassXC's): `KeePassFile/Root/Group`, groups nested, each `Entry` a list
// of `String` (`Key`, `Value`) and `Binary` (attachments, not imported), earlier versions under
// `History`. Entries of the recycle bin group are not imported. No DTD is accepted.
import { SaxesParser } from "saxes";
import type { RecordType } from "../protocol/record";
import { Draft } from "./draft";
import { malformed, type ImportResult, type Item, type Warning } from "./model";

interface El {
  name: string;
  attrs: Record<string, string>;
  children: (El | string)[];
}

const NODES_LIMIT = 4_000_000;
const TIME_OTP_PARAMS: [string, string][] = [
  ["TimeOtp-Length", "digits"],
  ["TimeOtp-Period", "period"],
  ["TimeOtp-Algorithm", "algorithm"],
];

function parseXml(text: string): El {
  const parser = new SaxesParser({ xmlns: false });
  const root: El = { name: "", attrs: {}, children: [] };
  const stack: El[] = [root];
  let nodes = 0;
  const state: { failure: Error | null } = { failure: null };
  const fail = (e: Error) => {
    state.failure ??= e;
  };
  parser.on("error", (e) => fail(malformed("keepass-xml", `not well-formed XML (${e.message.split(":")[0] ?? "error"})`)));
  parser.on("doctype", (doctype) => {
    if (doctype.includes("[")) fail(malformed("keepass-xml", "a DTD is not accepted"));
  });
  parser.on("opentag", (tag) => {
    if (++nodes > NODES_LIMIT) fail(malformed("keepass-xml", "too many XML nodes"));
    const attrs: Record<string, string> = {};
    for (const [k, v] of Object.entries(tag.attributes)) attrs[k] = String(v);
    const el: El = { name: tag.name, attrs, children: [] };
    stack[stack.length - 1]!.children.push(el);
    stack.push(el);
  });
  parser.on("closetag", () => {
    stack.pop();
  });
  const addText = (t: string) => {
    stack[stack.length - 1]!.children.push(t);
  };
  parser.on("text", addText);
  parser.on("cdata", addText);
  try {
    parser.write(text).close();
  } catch (e) {
    fail(e instanceof Error ? e : new Error(String(e)));
  }
  const failure = state.failure;
  if (failure) throw failure.name === "ImportError" ? failure : malformed("keepass-xml", "not well-formed XML");
  const top = root.children.find((c): c is El => typeof c !== "string");
  if (!top) throw malformed("keepass-xml", "no root element");
  return top;
}

function child(el: El, name: string): El | undefined {
  return el.children.find((c): c is El => typeof c !== "string" && c.name === name);
}

function elements(el: El, name: string): El[] {
  return el.children.filter((c): c is El => typeof c !== "string" && c.name === name);
}

function textOf(el: El | undefined): string {
  if (!el) return "";
  return el.children.filter((c): c is string => typeof c === "string").join("");
}

interface StringValue {
  key: string;
  text: string;
  protectInMemory: boolean;
  protected: boolean;
}

function strings(entry: El): StringValue[] {
  return elements(entry, "String").map((s) => {
    const value = child(s, "Value");
    return {
      key: textOf(child(s, "Key")),
      text: textOf(value),
      protectInMemory: value?.attrs["ProtectInMemory"] === "True",
      protected: value?.attrs["Protected"] === "True",
    };
  });
}

export function parseKeepass(text: string): ImportResult {
  const root = parseXml(text);
  if (root.name !== "KeePassFile") throw malformed("keepass-xml", "the root element is not KeePassFile");
  const meta = child(root, "Meta");
  let recycleBin: string | null = null;
  if (meta) {
    const enabledEl = child(meta, "RecycleBinEnabled");
    const enabled = enabledEl === undefined || textOf(enabledEl) !== "False";
    const uuidEl = child(meta, "RecycleBinUUID");
    const uuid = uuidEl ? textOf(uuidEl) : "";
    if (enabled && uuid !== "" && /[^A]/.test(uuid.replace(/=+$/, ""))) recycleBin = uuid;
  }
  const rootEl = child(root, "Root");
  const top = rootEl ? child(rootEl, "Group") : undefined;
  if (!top) throw malformed("keepass-xml", "no Root/Group element");
  const items: Item[] = [];
  const warnings: Warning[] = [];
  const walk = (group: El, path: string[], deleted: boolean) => {
    for (const node of group.children) {
      if (typeof node === "string") continue;
      if (node.name === "Entry") {
        if (deleted) {
          const title = strings(node).find((s) => s.key === "Title")?.text ?? "";
          warnings.push({ code: "deleted_entry_skipped", name: title });
        } else {
          items.push(entry(node, path).finish(items.length));
        }
      } else if (node.name === "Group") {
        const name = textOf(child(node, "Name"));
        const uuid = textOf(child(node, "UUID"));
        walk(node, [...path, name], deleted || (recycleBin !== null && recycleBin === uuid));
      }
    }
  };
  walk(top, [], false);
  return { format: "keepass-xml", items, warnings };
}

function entry(node: El, path: string[]): Draft {
  const all = strings(node);
  const protectedKeys = all.filter((s) => s.protected).map((s) => s.key);
  const get = (key: string) => all.find((s) => s.key === key && !s.protected)?.text ?? "";
  const otp = get("otp");
  const base32 = get("TimeOtp-Secret-Base32");
  const isLogin = ["UserName", "Password", "URL"].some((k) => get(k) !== "") || otp !== "" || base32 !== "";
  const recordType: RecordType = isLogin ? "login" : "note";
  const d = new Draft(recordType, get("Title"));
  for (const key of protectedKeys) d.warn("field_not_imported", key);
  d.standard("username", get("UserName"));
  d.standard("password", get("Password"));
  d.standard("url", get("URL"));
  const used = ["Title", "UserName", "Password", "URL", "Notes"];
  if (otp !== "") {
    d.field("totp", "otp", otp);
    used.push("otp");
  } else if (base32 !== "") {
    const params = TIME_OTP_PARAMS.filter(([key]) => get(key) !== "").map(([key, param]) => {
      let value = get(key);
      if (value.startsWith("HMAC-")) value = value.slice("HMAC-".length);
      return `${param}=${value.replaceAll("-", "")}`;
    });
    const totp = params.length === 0 ? base32 : `otpauth://totp/?secret=${base32.replaceAll(" ", "")}&${params.join("&")}`;
    d.field("totp", "otp", totp);
    used.push("TimeOtp-Secret-Base32", ...TIME_OTP_PARAMS.map(([k]) => k));
  }
  for (const s of all) {
    if (used.includes(s.key) || s.protected) continue;
    d.field(s.key, s.protectInMemory ? "secret" : "text", s.text);
  }
  d.field("folder", "text", path.join("/"));
  d.notes(get("Notes"));
  for (const binary of elements(node, "Binary")) d.warn("attachment_not_imported", textOf(child(binary, "Key")));
  const history = child(node, "History");
  if (history && elements(history, "Entry").length > 0) d.warn("history_not_imported", null);
  return d;
}
