// link.json: the share link format (§4.2). Positive cases parse to base, flag and secret, and formatting
// those gives the link back; negative cases are refused with the kind of the first failing step.
import { describe, expect, it } from "vitest";
import { fromHex, toHex } from "../src/protocol/bytes";
import { formatLink, parseLink } from "../src/protocol/link";
import { expectKindSync, loadVectors, str } from "./vectors";


const cases = loadVectors("link");
let positive = 0;
let negative = 0;

describe("link.json", () => {
  for (const c of cases) {
    it(c.name, () => {
      const text = str(c, "link");
      if (!c.valid) {
        expectKindSync(() => parseLink(text), str(c, "error"));
        negative++;
        return;
      }
      const link = parseLink(text);
      expect(link.base).toBe(str(c, "base"));
      expect(link.passphrase).toBe(c.passphrase);
      expect(toHex(link.secret)).toBe(str(c, "secret"));
      expect(formatLink(link.base, link.passphrase, link.secret)).toBe(text);
      expect(formatLink(str(c, "base"), c.passphrase === true, fromHex(str(c, "secret")))).toBe(text);
      positive++;
    });
  }

  it("checked every case", () => {
    expect(positive).toBe(cases.filter((c) => c.valid).length);
    expect(negative).toBe(cases.filter((c) => !c.valid).length);
    expect([positive, negative]).toEqual([4, 30]);
  });
});

describe("formatLink", () => {
  const secret = new Uint8Array(32).fill(0x42);

  it("drops one trailing slash and checks the base as parseLink does", () => {
    const link = formatLink("https://x.example/", false, secret);
    expect(link.startsWith("https://x.example/s#1.")).toBe(true);
    expect(parseLink(link).base).toBe("https://x.example");
    expectKindSync(() => formatLink("x.example", false, secret), "bad_scheme");
    expectKindSync(() => formatLink("https://x.example?q", false, secret), "bad_base");
    expectKindSync(() => formatLink("https://ada@x.example", false, secret), "bad_base");
    expectKindSync(() => formatLink("https://x.example", true, secret.subarray(1)), "secret_length");
  });
});
