// keys.json: key wrapping (§2.2, §3.1): DK under WK, RK_k under DK and under SK, K_own. Negative cases must
// fail to unwrap with `decrypt`; positive wraps are resealed with the case's nonce and compared byte for byte.
import { describe, expect, it } from "vitest";
import { aad, recordKeyAad, shareRecordKeyAad } from "../src/protocol/aad";
import { bytesToUuid, toHex, uuidToBytes } from "../src/protocol/bytes";
import { seal } from "../src/protocol/crypto";
import {
  ownerKey,
  unwrapDataKey,
  unwrapRecordKey,
  unwrapRecordKeyForShare,
  wrapDataKey,
  wrapRecordKey,
  wrapRecordKeyForShare,
} from "../src/protocol/kdf";
import { expectKind, hex, loadVectors, num, str, type VectorCase } from "./vectors";



/** Record ids travel as lowercase hyphenated UUID text and are used as their 16 raw bytes. */
function recordId(c: VectorCase): Uint8Array {
  const text = str(c, "record_id");
  const id = uuidToBytes(text);
  expect(bytesToUuid(id)).toBe(text);
  return id;
}

const cases = loadVectors("keys");
const checked = new Map<string, number>();
const count = (op: string): void => void checked.set(op, (checked.get(op) ?? 0) + 1);

describe("keys.json", () => {
  for (const c of cases) {
    it(`${c.op}: ${c.name}`, async () => {
      switch (c.op) {
        case "data_key": {
          const unwrap = () => unwrapDataKey(hex(c, "wk"), hex(c, "wrapped"), hex(c, "r16"));
          if (!c.valid) {
            await expectKind(unwrap, str(c, "error"));
            break;
          }
          expect(toHex(await unwrap())).toBe(str(c, "dk"));
          expect(toHex(aad("data-key", hex(c, "r16")))).toBe(str(c, "aad"));
          expect(toHex(await wrapDataKey(hex(c, "wk"), hex(c, "dk"), hex(c, "r16"), hex(c, "nonce")))).toBe(str(c, "wrapped"));
          expect(toHex(await seal(hex(c, "wk"), hex(c, "dk"), hex(c, "aad"), hex(c, "nonce")))).toBe(str(c, "wrapped"));
          break;
        }
        case "record_key_owner": {
          const k = num(c, "k");
          const unwrap = () => unwrapRecordKey(hex(c, "dk"), recordId(c), k, hex(c, "wrapped"));
          if (!c.valid) {
            await expectKind(unwrap, str(c, "error"));
            break;
          }
          expect(toHex(await unwrap())).toBe(str(c, "rk"));
          expect(toHex(recordKeyAad(recordId(c), k))).toBe(str(c, "aad"));
          expect(toHex(await wrapRecordKey(hex(c, "dk"), recordId(c), k, hex(c, "rk"), hex(c, "nonce")))).toBe(str(c, "wrapped"));
          break;
        }
        case "record_key_share": {
          const k = num(c, "k");
          const shareId = hex(c, "share_id");
          const unwrap = () => unwrapRecordKeyForShare(hex(c, "sk"), shareId, recordId(c), k, hex(c, "wrapped"));
          if (!c.valid) {
            await expectKind(unwrap, str(c, "error"));
            break;
          }
          expect(toHex(await unwrap())).toBe(str(c, "rk"));
          expect(toHex(shareRecordKeyAad(shareId, recordId(c), k))).toBe(str(c, "aad"));
          const again = await wrapRecordKeyForShare(hex(c, "sk"), shareId, recordId(c), k, hex(c, "rk"), hex(c, "nonce"));
          expect(toHex(again)).toBe(str(c, "wrapped"));
          break;
        }
        case "owner_key":
          expect(c.valid).toBe(true);
          expect(toHex(await ownerKey(hex(c, "dk")))).toBe(str(c, "k_own"));
          break;
        default:
          throw new Error(`unknown op ${String(c.op)}`);
      }
      count(String(c.op));
    });
  }

  it("checked every case of every op", () => {
    const inFile = (op: string): number => cases.filter((c) => c.op === op).length;
    expect(Object.fromEntries(checked)).toEqual({ data_key: 6, record_key_owner: 5, record_key_share: 5, owner_key: 1 });
    for (const [op, n] of checked) expect(n).toBe(inFile(op));
    expect(cases.length).toBe(17);
  });
});
