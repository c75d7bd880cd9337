import { describe, expect, it } from "vitest";
import type { RecordBody } from "../src/protocol/record";
import { changeBetween, isUnchanged } from "../src/ui/record-diff";

const base: RecordBody = {
  type: "login",
  title: "Mail",
  fields: [
    { name: "username", kind: "text", value: "ada" },
    { name: "password", kind: "secret", value: "old" },
    { name: "pin", kind: "text", value: "1234" },
  ],
  notes: "",
  files: [],
};

describe("re-applying an edit on a newer version", () => {
  it("keeps the other writer's changes and applies only ours", () => {
    const mine: RecordBody = {
      ...base,
      fields: [
        { name: "username", kind: "text", value: "ada" },
        { name: "password", kind: "secret", value: "mine" },
        { name: "note2", kind: "text", value: "added" },
      ],
    };
    const theirs: RecordBody = { ...base, title: "Mail (work)", fields: base.fields.map((f) => (f.name === "username" ? { ...f, value: "ada2" } : f)) };
    const result = changeBetween(base, mine)(theirs);
    expect(result.title).toBe("Mail (work)");
    expect(result.fields).toEqual([
      { name: "username", kind: "text", value: "ada2" },
      { name: "password", kind: "secret", value: "mine" },
      { name: "note2", kind: "text", value: "added" },
    ]);
  });

  it("notices an edit that changes nothing", () => {
    expect(isUnchanged(base, structuredClone(base))).toBe(true);
    expect(isUnchanged(base, { ...base, notes: "x" })).toBe(false);
  });
});
