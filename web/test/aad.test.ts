// aad.json: the associated data of every kind, against aad.ts (§1).
import { describe, expect, it } from "vitest";
import { aad, recordKeyAad, shareGrantAad, shareRecordKeyAad, type AadKind } from "../src/protocol/aad";
import { concat, fromHex, readU64, toHex, utf8 } from "../src/protocol/bytes";
import { loadVectors, str } from "./vectors";

const KINDS: readonly AadKind[] = ["data-key", "record-key", "share-record-key", "share-secret", "share-grant", "share-label", "share-request", "share-preface", "record", "record-summary"];

function isKind(text: string): text is AadKind {
  return (KINDS as readonly string[]).includes(text);
}

const cases = loadVectors("aad");
let checked = 0;

describe("aad.json", () => {
  for (const c of cases) {
    it(c.name, () => {
      expect(c.valid).toBe(true);
      const kind = str(c, "kind");
      if (!isKind(kind)) throw new Error(`unknown kind ${kind}`);
      const fields = (c.fields as { name: string; hex: string }[]).map((f) => fromHex(f.hex));
      const expected = str(c, "aad");
      expect(toHex(aad(kind, ...fields))).toBe(expected);
      // The layout, spelled out: prefix, kind, one zero byte, then the fields.
      expect(toHex(concat(utf8(`sharelock/v1/${kind}`), new Uint8Array([0]), ...fields))).toBe(expected);
      // The typed helpers build the same bytes from ids and generations.
      if (kind === "record-key") {
        expect(toHex(recordKeyAad(fields[0]!, readU64(fields[1]!, 0)))).toBe(expected);
      }
      if (kind === "share-grant") {
        expect(toHex(shareGrantAad(fields[0]!, fields[1]!, fields[2]![0] === 1))).toBe(expected);
      }
      if (kind === "share-record-key") {
        expect(toHex(shareRecordKeyAad(fields[0]!, fields[1]!, readU64(fields[2]!, 0)))).toBe(expected);
      }
      checked++;
    });
  }

  it("checked every case, one per kind", () => {
    expect(cases.length).toBe(10);
    expect(checked).toBe(cases.length);
    expect(new Set(cases.map((c) => c.kind))).toEqual(new Set(KINDS));
  });
});
