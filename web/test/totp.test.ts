// totp.json: one-time codes from `otp` field values (§8), including RFC 6238 Appendix B.
import { describe, expect, it } from "vitest";
import { ProtocolError } from "../src/protocol/errors";
import { parseOtp, totpCode, totpRemaining } from "../src/protocol/totp";
import { expectKindSync, loadVectors, num, str } from "./vectors";


interface CodeCase {
  time: number;
  code: string;
  seconds_left: number;
}

const cases = loadVectors("totp");
let positive = 0;
let negative = 0;
let codes = 0;

describe("totp.json", () => {
  for (const c of cases) {
    it(c.name, async () => {
      const field = str(c, "field");
      if (!c.valid) {
        expectKindSync(() => parseOtp(field), str(c, "error"));
        negative++;
        return;
      }
      const otp = parseOtp(field);
      expect(otp.algorithm).toBe(str(c, "algorithm"));
      expect(otp.digits).toBe(num(c, "digits"));
      expect(otp.period).toBe(num(c, "period"));
      const expected = c.codes as CodeCase[];
      expect(expected.length).toBeGreaterThan(0);
      for (const want of expected) {
        expect(await totpCode(otp, want.time)).toBe(want.code);
        expect(totpRemaining(otp, want.time)).toBe(want.seconds_left);
        codes++;
      }
      positive++;
    });
  }

  it("checked every case", () => {
    expect(positive).toBe(cases.filter((c) => c.valid).length);
    expect(negative).toBe(cases.filter((c) => !c.valid).length);
    expect([positive, negative]).toEqual([31, 25]);
    expect(codes).toBe(cases.reduce((n, c) => n + (Array.isArray(c.codes) ? c.codes.length : 0), 0));
  });
});

describe("one-time codes beyond the vectors", () => {
  it("matches RFC 4226 Appendix D through the counter", async () => {
    const otp = parseOtp("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    const want = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"];
    for (const [i, code] of want.entries()) expect(await totpCode(otp, i * 30)).toBe(code);
  });

  it("refuses times before 1970, floors fractional times", async () => {
    const otp = parseOtp("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    await expect(totpCode(otp, -1)).rejects.toBeInstanceOf(ProtocolError);
    expect(await totpCode(otp, 59.9)).toBe("287082");
    expect(totpRemaining(otp, 59.9)).toBe(1);
  });

  it("does not echo the secret in its refusals", () => {
    for (const field of ["otpauth://totp/x?secret=SECRETSECRET1", "SECRETSECRET1"]) {
      try {
        parseOtp(field);
        throw new Error("accepted");
      } catch (e) {
        expect(e).toBeInstanceOf(ProtocolError);
        expect((e as Error).message).not.toContain("SECRET");
      }
    }
  });
});
