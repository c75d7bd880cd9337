// One HTTP contract: the wire types the web app uses are generated from the server's OpenAPI document, and
// this test fails when the checked-in types are not what the document generates (WRITE_API_TYPES=1 writes
// them instead; scripts/gen-api-types does both steps).
import { readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { components } from "../src/client/api.gen";
import { API_EXPLANATIONS } from "../src/vault/errors";
import { generateApiTypes, GENERATED } from "../scripts/api-types";

type Schemas = components["schemas"];

describe("the HTTP contract", () => {
  it("has its TypeScript types generated from the served OpenAPI document", async () => {
    const generated = await generateApiTypes();
    if (process.env.WRITE_API_TYPES) writeFileSync(GENERATED, generated);
    expect(readFileSync(GENERATED, "utf8"), "src/client/api.gen.ts is out of date: run scripts/gen-api-types").toBe(generated);
  });

  it("explains every error code the document names, and nothing else", () => {
    const document = JSON.parse(readFileSync(new URL("../openapi.json", import.meta.url), "utf8")) as { components: { schemas: { ErrorCode: { enum: string[] } } } };
    const codes: Schemas["ErrorCode"][] = document.components.schemas.ErrorCode.enum as Schemas["ErrorCode"][];
    expect(codes.length).toBeGreaterThan(20);
    expect(Object.keys(API_EXPLANATIONS).sort()).toEqual([...codes].sort());
    for (const code of codes) expect(API_EXPLANATIONS[code].length).toBeGreaterThan(10);
  });
});
