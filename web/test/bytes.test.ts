import { describe, expect, it } from "vitest";
import { fromB64, fromB64u, fromHex, toB64, toB64u, toHex, u64, uuidToBytes, bytesToUuid } from "../src/protocol/bytes";
import { hkdf } from "../src/protocol/crypto";

describe("encodings", () => {
  it("round-trips base64url for every length up to 40", () => {
    for (let n = 0; n <= 40; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 255);
      const text = toB64u(bytes);
      expect(text).not.toMatch(/[=+/]/);
      expect(fromB64u(text)).toEqual(bytes);
      expect(fromB64(toB64(bytes))).toEqual(bytes);
    }
  });

  it("refuses padding, foreign characters and non-canonical bits", () => {
    expect(() => fromB64u("AA==")).toThrow();
    expect(() => fromB64u("A+")).toThrow();
    expect(() => fromB64u("AB")).toThrow(); // unused bits set
    expect(() => fromB64u("A")).toThrow(); // impossible length
    expect(fromB64u("AA")).toEqual(new Uint8Array([0]));
    expect(() => fromB64("AA")).toThrow();
  });

  it("writes u64 big-endian and UUIDs in lowercase", () => {
    expect(toHex(u64(258))).toBe("0000000000000102");
    const id = "0123abcd-4567-89ef-0123-456789abcdef";
    expect(bytesToUuid(uuidToBytes(id))).toBe(id);
    expect(() => uuidToBytes(id.toUpperCase())).toThrow();
  });
});

describe("HKDF", () => {
  // RFC 5869 Appendix A.1 (with salt) and A.3 (empty salt, empty info).
  it("matches RFC 5869 test case 1", async () => {
    const ikm = fromHex("0b".repeat(22));
    const salt = fromHex("000102030405060708090a0b0c");
    const info = fromHex("f0f1f2f3f4f5f6f7f8f9");
    const okm = await hkdf(ikm, info, salt, 42);
    expect(toHex(okm)).toBe("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
  });

  it("matches RFC 5869 test case 3 (empty salt)", async () => {
    const okm = await hkdf(fromHex("0b".repeat(22)), new Uint8Array(0), undefined, 42);
    expect(toHex(okm)).toBe("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
  });
});
