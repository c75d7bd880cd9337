// record.json (docs/protocol.md §3.3), every case, as crates/sharelock-core/tests/vectors/record.rs checks it:
// - body: body_json decodes, re-encodes byte for byte, its summary encodes to summary_json (which decodes to
//   the same summary), and padded = pad256(body_json) unpads back;
// - read_body: valid JSON no writer emits decodes, and re-encodes to canonical_json;
// - decode_body / decode_summary: refused with the stated error kind;
// - unpad: padded → data, or refused with the stated kind.
import { describe, expect, it } from "vitest";
import { fromHex, toHex, utf8 } from "../src/protocol/bytes";
import { ProtocolError } from "../src/protocol/errors";
import {
  bodyFromJson,
  bodyToJson,
  isValidDate,
  isValidOtp,
  pad256,
  RECORD_TYPES,
  standardKind,
  summaryFromJson,
  summaryOf,
  summaryToJson,
  unpad256,
  validateBody,
  type RecordBody,
} from "../src/protocol/record";
import { loadVectors, str, type VectorCase } from "./vectors";

const cases = loadVectors("record");
const OPS = ["body", "read_body", "decode_body", "decode_summary", "unpad"] as const;
const checked = new Map<string, number>();

function done(c: VectorCase): void {
  checked.set(c.op!, (checked.get(c.op!) ?? 0) + 1);
}

/** The ProtocolError kind `f` throws (and fails if it returns). */
function kindOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof ProtocolError) return e.kind;
    throw e;
  }
  throw new Error("expected a ProtocolError, got a result");
}

const checks: Record<(typeof OPS)[number], (c: VectorCase) => void> = {
  body(c) {
    const json = utf8(str(c, "body_json"));
    const body = bodyFromJson(json);
    expect(toHex(bodyToJson(body))).toBe(toHex(json));
    const summary = summaryOf(body);
    expect(toHex(summaryToJson(summary))).toBe(toHex(utf8(str(c, "summary_json"))));
    expect(summaryFromJson(utf8(str(c, "summary_json")))).toEqual(summary);
    expect(toHex(pad256(json))).toBe(str(c, "padded"));
    expect(toHex(unpad256(fromHex(str(c, "padded"))))).toBe(toHex(json));
    validateBody(structuredClone(body));
  },
  read_body(c) {
    const body = bodyFromJson(utf8(str(c, "body_json")));
    expect(toHex(bodyToJson(body))).toBe(toHex(utf8(str(c, "canonical_json"))));
  },
  decode_body(c) {
    expect(kindOf(() => bodyFromJson(utf8(str(c, "body_json"))))).toBe(c.error);
  },
  decode_summary(c) {
    expect(kindOf(() => summaryFromJson(utf8(str(c, "summary_json"))))).toBe(c.error);
  },
  unpad(c) {
    const padded = fromHex(str(c, "padded"));
    if (c.valid) expect(toHex(unpad256(padded))).toBe(str(c, "data"));
    else expect(kindOf(() => unpad256(padded))).toBe(c.error);
  },
};

describe("record.json", () => {
  it.each(cases.map((c) => [c.name, c] as const))("%s", (_, c) => {
    expect(OPS).toContain(c.op);
    if (!c.valid) expect(typeof c.error).toBe("string");
    checks[c.op as (typeof OPS)[number]](c);
    done(c);
  });

  it("checked every case of every op", () => {
    for (const op of OPS) expect(checked.get(op) ?? 0, op).toBe(cases.filter((c) => c.op === op).length);
    expect([...checked.values()].reduce((a, b) => a + b, 0)).toBe(cases.length);
    expect(cases.length).toBeGreaterThan(0);
  });
});

function login(): RecordBody {
  return {
    type: "login",
    title: "Mail",
    fields: [
      { name: "username", kind: "text", value: "ada" },
      { name: "password", kind: "secret", value: "pa ss\nword" },
      { name: "url", kind: "url", value: "https://mail.example" },
      { name: "totp", kind: "otp", value: "otpauth://totp/Mail:ada?secret=JBSWY3DPEHPK3PXP&issuer=Mail" },
      { name: "recovery", kind: "text", value: "words" },
    ],
    notes: "line 1\nline 2\t",
    files: [
      {
        id: "01010101-0101-0101-0101-010101010101",
        name: "scan.pdf",
        mime: "application/pdf",
        size: 12_345,
        key: "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI",
        sha256: "AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM",
      },
    ],
  };
}

describe("record rules beyond the vectors (the Rust core's unit tests)", () => {
  it("encodes with keys in spec order and decodes back", () => {
    const text = new TextDecoder().decode(bodyToJson(login()));
    expect(text.startsWith('{"type":"login","title":"Mail","fields":[{"name":"username","kind":"text","value":"ada"}')).toBe(true);
    expect(text).toContain(
      '"files":[{"id":"01010101-0101-0101-0101-010101010101","name":"scan.pdf","mime":"application/pdf","size":12345,"key":"AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI","sha256":"',
    );
    expect(bodyFromJson(utf8(text))).toEqual(login());
  });

  it("reads keys in any order and JSON whitespace, refuses what JSON.parse would let through", () => {
    const ok = '{"files":[],"notes":"","fields":[],"title":"t","type":"note"}';
    expect(bodyFromJson(utf8(ok)).title).toBe("t");
    expect(bodyFromJson(utf8(` \n${ok}\t`)).type).toBe("note");
    for (const bad of [
      '{"type":"note","type":"note","title":"t","fields":[],"notes":"","files":[]}',
      '{"type":"note","title":"t","fields":[],"notes":"","files":[]} x',
      '{"type":"note","title":"\\ud800","fields":[],"notes":"","files":[]}',
      '{"type":"note","title":"a\u0001","fields":[],"notes":"","files":[]}', // a raw control character
      '["note","t",[],"",[]]',
      '{"type":"note","title":"t","fields":[],"notes":"","files":[],}',
      '{"type":"note","title":"t","fields":null,"notes":"","files":[]}',
      '{"type":"general","title":"T","fields":[],"notes":"","files":[{"id":"01010101-0101-0101-0101-010101010101","name":"a","mime":"","size":-0,"key":"","sha256":""}]}',
      '{"type":"general","title":"T","fields":[],"notes":"","files":[{"id":"01010101-0101-0101-0101-010101010101","name":"a","mime":"","size":1e2,"key":"","sha256":""}]}',
      '{"type":"general","title":"T","fields":[],"notes":"","files":[{"id":"01010101-0101-0101-0101-010101010101","name":"a","mime":"","size":18446744073709551616,"key":"","sha256":""}]}',
      "[".repeat(100_000),
    ]) {
      expect(kindOf(() => bodyFromJson(utf8(bad))), bad.slice(0, 80)).toBe("json");
    }
    const raw = new Uint8Array([...utf8('{"type":"note","title":"'), 0xff, ...utf8('","fields":[],"notes":"","files":[]}')]);
    expect(kindOf(() => bodyFromJson(raw))).toBe("json");
    // A u64 size above 2^53 - 1 is JSON of the right type, refused by the size rule.
    const big = '{"type":"general","title":"T","fields":[],"notes":"","files":[{"id":"01010101-0101-0101-0101-010101010101","name":"a","mime":"","size":18446744073709551615,"key":"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE","sha256":"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE"}]}';
    expect(kindOf(() => bodyFromJson(utf8(big)))).toBe("bad_file_size");
    // Escaped keys are the same keys.
    expect(bodyFromJson(utf8('{"\\u0074ype":"note","title":"t","fields":[],"notes":"","files":[]}')).type).toBe("note");
  });

  it("fails each rule once, in order", () => {
    const mutations: [(b: RecordBody) => void, string][] = [
      [(b) => (b.title = ""), "title_length"],
      [(b) => (b.title = "x".repeat(257)), "title_length"],
      [(b) => (b.title = "a\u0007"), "title_control"],
      [(b) => (b.title = "a\u2028b"), "title_control"],
      [(b) => (b.fields[0]!.name = ""), "field_name_length"],
      [(b) => (b.fields[0]!.name = "n".repeat(65)), "field_name_length"],
      [(b) => (b.fields[0]!.name = "a\tb"), "field_name_control"],
      [(b) => (b.fields[1]!.name = "username"), "duplicate_field"],
      [(b) => (b.fields[0]!.value = "v".repeat(65_537)), "value_too_long"],
      [(b) => (b.fields[0]!.value = "a\rb"), "line_break"],
      [(b) => (b.fields[0]!.value = "a\u0085b"), "line_break"],
      [(b) => (b.fields[0]!.value = "a\u001b[2Jb"), "value_control"],
      [(b) => (b.fields[1]!.value = "a\u0000"), "value_control"],
      [(b) => b.fields.push({ name: "d", kind: "date", value: "2023-02-29" }), "bad_date"],
      [(b) => (b.fields[3]!.value = "otpauth://hotp/x?secret=JBSW"), "bad_otp"],
      [(b) => b.fields.push({ name: "e", kind: "email", value: "a@b@c" }), "bad_email"],
      [(b) => b.fields.push({ name: "p", kind: "phone", value: "+1 555 CALL" }), "bad_phone"],
      [(b) => (b.fields = Array.from({ length: 129 }, (_, i) => ({ name: `f${i}`, kind: "text" as const, value: "" }))), "too_many_fields"],
      [(b) => (b.notes = "n".repeat(262_145)), "notes_too_long"],
      [(b) => (b.notes = "\u007f"), "notes_control"],
      [(b) => (b.files[0]!.name = "a/b"), "bad_file_name"],
      [(b) => (b.files[0]!.name = "a\\b"), "bad_file_name"],
      [(b) => (b.files[0]!.name = ""), "bad_file_name"],
      [(b) => (b.files[0]!.name = "n".repeat(256)), "bad_file_name"],
      [(b) => (b.files[0]!.mime = "m".repeat(128)), "bad_file_mime"],
      [(b) => (b.files[0]!.mime = "text/\u00e9"), "bad_file_mime"],
      [(b) => (b.files[0]!.size = Number.MAX_SAFE_INTEGER + 1), "bad_file_size"],
      [(b) => b.files.push({ ...b.files[0]!, name: "b" }), "duplicate_file_id"],
      [(b) => (b.files[0]!.key = b.files[0]!.key.slice(0, 42)), "bad_file_key"],
      [(b) => (b.files[0]!.sha256 = `${b.files[0]!.sha256}=`), "bad_file_hash"],
      [(b) => (b.files[0]!.id = b.files[0]!.id.toUpperCase().replaceAll("0", "A")), "bad_file_id"],
      [(b) => ((b as { type: string }).type = "Note"), "unknown_type"],
      [(b) => ((b.fields[0] as { kind: string }).kind = "pin"), "unknown_kind"],
    ];
    for (const [mutate, kind] of mutations) {
      const b = login();
      mutate(b);
      expect(kindOf(() => validateBody(b)), kind).toBe(kind);
      expect(kindOf(() => bodyToJson(b)), kind).toBe(kind);
    }
    // On decode, kinds and file encodings are judged before the title.
    const both = '{"type":"note","title":"","fields":[{"name":"a","kind":"pin","value":""}],"notes":"","files":[]}';
    expect(kindOf(() => bodyFromJson(utf8(both)))).toBe("unknown_kind");
  });

  it("refuses a body whose padding would exceed 512 KiB", () => {
    const b: RecordBody = { type: "note", title: "big", fields: [], notes: "", files: [] };
    for (let i = 0; i < 9; i++) b.fields.push({ name: `f${i}`, kind: "multiline", value: "x".repeat(60_000) });
    expect(kindOf(() => bodyToJson(b))).toBe("too_large");
  });

  it("checks dates and one-time code seeds like the Rust core", () => {
    for (const ok of ["2024-02-29", "2000-02-29", "2023-12", "0001-01-01", "2023-04-30"]) expect(isValidDate(ok), ok).toBe(true);
    for (const bad of ["2023-02-29", "1900-02-29", "2023-13", "2023-00", "2023-04-31", "23-04-01", "2023/04/01", "2023-4-1", "２０２３-01"]) {
      expect(isValidDate(bad), bad).toBe(false);
    }
    for (const ok of [
      "JBSWY3DPEHPK3PXP",
      "jbsw y3dp ehpk 3pxp",
      "JBSWY3DPEHPK3PXP====",
      " JBSWY3DPEHPK3PXP\u3000",
      "otpauth://totp/Example:alice@example.com?secret=JBSWY3DPEHPK3PXP&issuer=Example",
      "otpauth://totp/x?secret=jbswy3dpehpk3pxp&algorithm=sha256&digits=8&period=60",
      "otpauth://totp/?issuer=a&secret=JBSWY3DP",
      "OTPAUTH://TOTP/x?SECRET=JBSW%59%33DP&Period=15#frag",
      "otpauth://totp/x?secret=JBSW+Y3DP&issuer=a&issuer=b",
      "otpauth://totp/x?secret=JBSWY3DP#&secret=x",
    ]) {
      expect(isValidOtp(ok), ok).toBe(true);
    }
    for (const bad of [
      "",
      "\ufeffJBSWY3DPEHPK3PXP",
      "JBSWY3DPEHPK3PX1",
      "JBSWY3",
      "otpauth://hotp/x?secret=JBSWY3DP",
      "otpauth://totp/x",
      "otpauth://totp/x?issuer=a",
      "otpauth://totp/x?secret=JBSWY3DP&secret=JBSWY3DP",
      "otpauth://totp/x?secret=JBSWY3DP&digits=9",
      "otpauth://totp/x?secret=JBSWY3DP&period=10",
      "otpauth://totp/x?secret=JBSWY3DP&period=+30",
      "otpauth://totp/x?secret=JBSWY3DP&algorithm=MD5",
      "otpauth://totp/x?secret=JBSWY3DP&x=%zz",
      "otpauth://totp/x?secret=JBSWY3DP&x=%ff",
    ]) {
      expect(isValidOtp(bad), bad).toBe(false);
    }
  });

  it("summarises without secrets, seeds or multi-line text, cut to 64 code points", () => {
    const b: RecordBody = { type: "login", title: "T", fields: [], notes: "", files: [] };
    b.fields.push({ name: "password", kind: "secret", value: "hunter2" }, { name: "totp", kind: "otp", value: "JBSWY3DPEHPK3PXP" });
    b.fields.push({ name: "username", kind: "text", value: "" }, { name: "key", kind: "multiline", value: "k" });
    expect(summaryOf(b).subtitle).toBe("");
    b.fields.push({ name: "url", kind: "url", value: "\u{1f600}".repeat(70) });
    const s = summaryOf(b);
    expect([...s.subtitle].length).toBe(64);
    expect(summaryFromJson(summaryToJson(s))).toEqual(s);
    expect(kindOf(() => summaryFromJson(utf8('{"type":"login","title":"T","subtitle":"a\\nb"}')))).toBe("bad_subtitle");
    expect(kindOf(() => summaryFromJson(utf8('{"type":"login","title":"T","subtitle":"","x":0}')))).toBe("json");
    expect(kindOf(() => summaryFromJson(utf8('{"type":"Login","title":"T","subtitle":""}')))).toBe("unknown_type");
    expect(kindOf(() => summaryFromJson(new Uint8Array(1024)))).toBe("too_large");
  });

  it("pads to 256-byte blocks and unpads strictly", () => {
    expect(pad256(new Uint8Array(0)).length).toBe(256);
    expect(pad256(new Uint8Array(255).fill(1)).length).toBe(256);
    expect(pad256(new Uint8Array(256).fill(1)).length).toBe(512);
    for (let n = 0; n < 700; n += 37) {
      const data = Uint8Array.from({ length: n }, (_, i) => (i * 7) & 0xff);
      expect(unpad256(pad256(data))).toEqual(data);
    }
  });

  it("knows the standard fields of every type", () => {
    expect(RECORD_TYPES.map((t) => t.type)).toEqual(["login", "card", "bank", "wifi", "server", "database", "ssh", "note", "file", "general"]);
    expect(standardKind("login", "totp")).toBe("otp");
    expect(standardKind("card", "expiry")).toBe("date");
    expect(standardKind("ssh", "public_key")).toBe("multiline");
    expect(standardKind("login", "recovery")).toBeUndefined();
    expect(standardKind("note", "password")).toBeUndefined();
  });
});
