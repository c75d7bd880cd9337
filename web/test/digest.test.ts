// digest.json: RFC 9530 Content-Digest as signed requests use it (§5.2). Only sha-256 is used; other
// algorithms may be listed and are ignored.
import { describe, expect, it } from "vitest";
import { fromHex, utf8 } from "../src/protocol/bytes";
import { contentDigest, verifyContentDigest } from "../src/protocol/httpsig";
import { expectKind, loadVectors, str } from "./vectors";


const cases = loadVectors("digest");
let positive = 0;
let negative = 0;

describe("digest.json", () => {
  for (const c of cases) {
    it(c.name, async () => {
      const body = fromHex(str(c, "body"));
      const header = str(c, "header");
      if (!c.valid) {
        await expectKind(() => verifyContentDigest(header, body), str(c, "error"));
        negative++;
        return;
      }
      await verifyContentDigest(header, body);
      // `generated`: the header is exactly what a sender writes.
      expect((await contentDigest(body)) === header).toBe(c.generated);
      positive++;
    });
  }

  it("checked every case", () => {
    expect(positive).toBe(cases.filter((c) => c.valid).length);
    expect(negative).toBe(cases.filter((c) => !c.valid).length);
    expect([positive, negative]).toEqual([6, 9]);
  });
});

describe("Content-Digest beyond the vectors", () => {
  const hello = utf8('{"hello": "world"}');

  it("writes the RFC 9530 example and tolerates header whitespace, parameters and unpadded base64", async () => {
    expect(await contentDigest(hello)).toBe("sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:");
    await verifyContentDigest("  sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:\t", hello);
    await verifyContentDigest("sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:;x=1", hello);
    await verifyContentDigest("sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE:", hello);
  });

  it("refuses what RFC 8941 refuses", async () => {
    for (const header of [
      "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:,",
      "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=: x",
      "sha-256=(:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:)",
      "sha-256=:X48E9qOokq=qrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",
      "sha-256=:AAAA:, sha-256=@1",
    ]) {
      await expectKind(() => verifyContentDigest(header, hello), "malformed");
    }
  });
});
