// Sign-up rules the form checks before any work (the server checks them too).
import { describe, expect, it } from "vitest";
import { domainProblem } from "../src/vault/auth";

describe("sign-up email domains", () => {
  it("accepts any email when the server names no domain", () => {
    expect(domainProblem("ada@anywhere.example", [])).toBeUndefined();
  });

  it("accepts exactly the listed domains, in any case", () => {
    const domains = ["example.org", "corp.example"];
    expect(domainProblem("ada@example.org", domains)).toBeUndefined();
    expect(domainProblem("Bob@Corp.Example", domains)).toBeUndefined();
    expect(domainProblem("eve@example.org.evil", domains)).toContain("example.org, corp.example");
    expect(domainProblem("eve@sub.example.org", domains)).toBeDefined();
    expect(domainProblem("no-at-sign", domains)).toBeDefined();
  });
});
