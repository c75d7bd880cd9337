// preface.json: the share preface shown before Click to Open (§4.6): PK, preface_json, the sealed box and
// every refusal, against preface.ts.
import { describe, expect, it } from "vitest";
import { aad } from "../src/protocol/aad";
import { fromUtf8, toHex, utf8 } from "../src/protocol/bytes";
import { hkdf } from "../src/protocol/crypto";
import { deriveShareKeys } from "../src/protocol/share";
import { checkFrom, isValidFrom, openPreface, prefaceFromJson, prefaceKey, prefaceToJson, sealPreface, type SharePreface } from "../src/protocol/preface";
import { isRecordType } from "../src/protocol/record";
import { expectKind, expectKindSync, hex, loadVectors, str, type VectorCase } from "./vectors";

function typeOf(c: VectorCase): SharePreface["type"] {
  const t = str(c, "type");
  if (!isRecordType(t)) throw new Error(`case ${c.name}: unknown type ${t}`);
  return t;
}

const cases = loadVectors("preface");
const ops = new Map<string, number>();

describe("preface.json", () => {
  for (const c of cases) {
    it(c.name, async () => {
      switch (c.op) {
        case "derive": {
          expect(toHex(await prefaceKey(hex(c, "root")))).toBe(str(c, "pk"));
          // Spelled out: its own HKDF label, never one of SK, T or BK.
          expect(toHex(await hkdf(hex(c, "root"), "sharelock/v1/share-preface"))).toBe(str(c, "pk"));
          break;
        }
        case "seal": {
          const preface = { from: str(c, "from"), type: typeOf(c) };
          const run = () => sealPreface(hex(c, "pk"), hex(c, "share_id"), preface, hex(c, "nonce"));
          if (!c.valid) {
            await expectKind(run, c.error!);
            break;
          }
          expect(fromUtf8(prefaceToJson(preface))).toBe(str(c, "json"));
          expect(toHex(aad("share-preface", hex(c, "share_id")))).toBe(str(c, "aad"));
          const sealed = await run();
          expect(toHex(sealed)).toBe(str(c, "sealed"));
          expect(await openPreface(hex(c, "pk"), hex(c, "share_id"), sealed)).toEqual(preface);
          break;
        }
        case "open": {
          const run = () => openPreface(hex(c, "pk"), hex(c, "share_id"), hex(c, "sealed"));
          if (!c.valid) {
            await expectKind(run, c.error!);
            break;
          }
          expect(await run()).toEqual({ from: str(c, "from"), type: str(c, "type") });
          break;
        }
        case "decode": {
          const run = () => prefaceFromJson(utf8(str(c, "json")));
          if (!c.valid) {
            expectKindSync(run, c.error!);
            break;
          }
          expect(run()).toEqual({ from: str(c, "from"), type: str(c, "type") });
          break;
        }
        default:
          throw new Error(`unknown op ${String(c.op)}`);
      }
      ops.set(c.op!, (ops.get(c.op!) ?? 0) + 1);
    });
  }

  it("checked every case of every op", () => {
    expect([...ops.values()].reduce((a, b) => a + b, 0)).toBe(cases.length);
    expect([...ops.keys()].sort()).toEqual(["decode", "derive", "open", "seal"]);
  });
});

describe("prefaces beyond the vectors", () => {
  it("reads what it seals under keys derived from a link, and only for that share", async () => {
    const keys = await deriveShareKeys(new Uint8Array(32).fill(9));
    const other = await deriveShareKeys(new Uint8Array(32).fill(10));
    const pk = await prefaceKey(keys.root);
    const sealed = await sealPreface(pk, keys.shareId, { from: "Ada", type: "login" });
    expect(sealed.length).toBe(284);
    expect(await openPreface(pk, keys.shareId, sealed)).toEqual({ from: "Ada", type: "login" });
    await expectKind(() => openPreface(pk, other.shareId, sealed), "decrypt");
    await expectKind(() => openPreface(keys.shareKey, keys.shareId, sealed), "decrypt");
  });

  it("judges names for the form as the writer does", () => {
    expect(isValidFrom("Ada Lovelace")).toBe(true);
    expect(isValidFrom("")).toBe(true);
    expect(isValidFrom("a".repeat(129))).toBe(false);
    expect(isValidFrom("\u202eadA")).toBe(false);
    expectKindSync(() => checkFrom("x\ny"), "from_control");
  });
});
