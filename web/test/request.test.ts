// request.json: a request's sealed instructions (§4.5), against request.ts.
import { describe, expect, it } from "vitest";
import { toHex } from "../src/protocol/bytes";
import { blankBody, isBoxLen, openRequest, requestAad, sealRequest } from "../src/protocol/request";
import { deriveShareKeys } from "../src/protocol/share";
import { expectKind, hex, loadVectors, num, str } from "./vectors";

const cases = loadVectors("request");
const checked = new Map<string, number>();

describe("request.json", () => {
  for (const c of cases) {
    it(c.name, async () => {
      const op = str(c, "op");
      switch (op) {
        case "open": {
          const opened = () => openRequest(hex(c, "sk"), hex(c, "share_id"), num(c, "max_answers"), hex(c, "sealed"));
          if (!c.valid) {
            await expectKind(opened, str(c, "error"));
            break;
          }
          const keys = await deriveShareKeys(hex(c, "s"));
          expect(toHex(keys.shareKey)).toBe(str(c, "sk"));
          expect(toHex(keys.shareId)).toBe(str(c, "share_id"));
          expect(await opened()).toBe(str(c, "instructions"));
          expect(toHex(requestAad(hex(c, "share_id"), num(c, "max_answers")))).toBe(str(c, "aad"));
          const again = await sealRequest(hex(c, "sk"), hex(c, "share_id"), num(c, "max_answers"), str(c, "instructions"), hex(c, "nonce"));
          expect(toHex(again)).toBe(str(c, "sealed"));
          break;
        }
        case "seal": {
          const keys = await deriveShareKeys(new Uint8Array(32).map((_, i) => 0x60 + i));
          await expectKind(() => sealRequest(keys.shareKey, keys.shareId, num(c, "max_answers"), str(c, "instructions")), str(c, "error"));
          break;
        }
        case "box_len":
          expect(isBoxLen(num(c, "len"))).toBe(c.valid);
          if (!c.valid) expect(str(c, "error")).toBe("malformed");
          break;
        default:
          throw new Error(`unknown op ${op}`);
      }
      checked.set(op, (checked.get(op) ?? 0) + 1);
    });
  }
  it("checked every case", () => {
    expect(Object.fromEntries(checked)).toEqual({ open: 13, seal: 5, box_len: 5 });
  });
});

describe("blank bodies", () => {
  it("takes the type's fields, or the named ones with their kinds", () => {
    const login = blankBody("login", "Mail");
    expect(login.fields.map((f) => f.name)).toEqual(["username", "password", "url", "totp"]);
    expect(login.fields.every((f) => f.value === "")).toBe(true);
    const chosen = blankBody("wifi", "Office", ["password", "floor"]);
    expect(chosen.fields.map((f) => f.kind)).toEqual(["secret", "text"]);
    expect(() => blankBody("wifi", "Office", ["a", "a"])).toThrow();
    expect(() => blankBody("wifi", "")).toThrow();
  });
});
