// The Import screen's logic without a page: the column mapping as the form holds it and as the reader takes
// it (checked against the generic CSV sample's expected result), the preview's counts, the choice to import
// the others, the report from each request's outcome, every warning and file error in words in every
// language, and `Records.createRecords` against a fake server: bodies checked before anything is sent, a
// few requests in flight, none started after the first failure, and a request without an answer marked as
// possibly stored.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ApiError, NetworkError, type Api } from "../src/client/http";
import { Records, type CreateOutcome } from "../src/client/owner";
import { OwnerTransport } from "../src/client/owner/transport";
import { VersionMemory } from "../src/client/versions";
import { headerRow, parseImport, resultJson, WARNING_CODES, type ImportErrorKind, type ImportResult, type Item } from "../src/import";
import { randomBytes } from "../src/protocol/bytes";
import type { RecordBody } from "../src/protocol/record";
import { CATALOGUES, LANGUAGES, setLanguage, type Language } from "../src/ui/i18n";
import { parseScreen, screenPath } from "../src/vault/app";
import {
  columnMapText,
  defaultChoices,
  FILE_ERRORS,
  importReport,
  itemsToCreate,
  MAP_TARGETS,
  mappableColumn,
  mappingProblems,
  needsLookup,
  previewCounts,
  WARNINGS,
} from "../src/vault/import-plan";
import { itemErrorText, warningText } from "../src/vault/import";

const samples = resolve(import.meta.dirname, "../../protocol/import");
const sample = (name: string): Uint8Array => new Uint8Array(readFileSync(resolve(samples, name)));
const expected = (name: string): { options: { map?: string }; result: unknown } => JSON.parse(readFileSync(resolve(samples, `${name}.expected.json`), "utf8")) as { options: { map?: string }; result: unknown };

afterEach(() => setLanguage("en"));

describe("the column mapping", () => {
  it("starts from the columns whose headers name a target, and leaves the others to fields of their own", () => {
    expect(defaultChoices(["Title", "username", "Site", " Notes ", "password", "title"])).toEqual(["title", "username", "", "notes", "password", ""]);
  });

  it("offers title, notes, type, folder and every standard field name once", () => {
    expect(MAP_TARGETS.slice(0, 4)).toEqual(["title", "notes", "type", "folder"]);
    expect(MAP_TARGETS).toContain("password");
    expect(MAP_TARGETS).toContain("iban");
    expect(new Set(MAP_TARGETS).size).toBe(MAP_TARGETS.length);
  });

  it("cannot name a column without a header, with a comma, or repeating an earlier header", () => {
    const names = ["Name", "", "a,b", " Name", "Other"];
    expect(names.map((_, c) => mappableColumn(names, c))).toEqual([true, false, false, false, true]);
    // Choices on such columns are not written into the mapping.
    expect(columnMapText(names, ["title", "notes", "folder", "url", "username"])).toBe("title=Name,username=Other");
  });

  it("writes the choices as the reader takes them, and reads the generic sample exactly as its expected result", async () => {
    const bytes = sample("generic.csv");
    const names = headerRow(new TextDecoder().decode(bytes))!;
    expect(names).toEqual(["Name", "Login", "Secret", "Site", "Kind", "Comments", "Group", "Owner"]);
    const choices = defaultChoices(names);
    expect(choices).toEqual(["", "", "", "", "", "", "", ""]);
    const chosen = ["title", "username", "password", "url", "type", "notes", "folder", ""];
    const map = columnMapText(names, chosen);
    expect(map).toBe(expected("generic.csv").options.map);
    expect(resultJson(await parseImport("csv", bytes, { map }))).toEqual(expected("generic.csv").result);
  });

  it("finds a target chosen twice and a missing title (a column headed title maps itself)", () => {
    expect(mappingProblems(["Name", "Login"], ["", "username"])).toEqual({ twice: [], noTitle: true });
    expect(mappingProblems(["Name", "Login", "Pass"], ["title", "password", "password"])).toEqual({ twice: ["password"], noTitle: false });
    expect(mappingProblems(["title", "Login"], ["", "username"])).toEqual({ twice: [], noTitle: false });
    // Mapped elsewhere, the title column no longer gives the title.
    expect(mappingProblems(["title", "Login"], ["notes", "username"])).toEqual({ twice: [], noTitle: true });
  });

  it("finds the header row past empty lines, and none in an empty file", () => {
    expect(headerRow("\n,,\nA,B\n1,2\n")).toEqual(["A", "B"]);
    expect(headerRow("")).toBeNull();
    expect(headerRow("\n\n")).toBeNull();
  });
});

describe("the preview", () => {
  it("counts what would be created, what cannot be, and every warning", async () => {
    const generic = await parseImport("csv", sample("generic.csv"), { map: expected("generic.csv").options.map });
    expect(previewCounts(generic)).toEqual({ valid: 4, invalid: 1, warnings: generic.items.reduce((n, i) => n + i.warnings.length, 0) });
    expect(previewCounts(generic).warnings).toBeGreaterThan(0);
    const bitwarden = await parseImport("bitwarden-json", sample("bitwarden.json"));
    expect(previewCounts(bitwarden).invalid).toBe(0);
    expect(previewCounts(bitwarden).valid).toBe(bitwarden.items.length);
  });

  it("creates nothing when an item cannot be imported, unless the user chose to import the others", async () => {
    const generic = await parseImport("csv", sample("generic.csv"), { map: expected("generic.csv").options.map });
    expect(itemsToCreate(generic, false)).toEqual([]);
    const others = itemsToCreate(generic, true);
    expect(others.map((i) => i.title)).toEqual(["Staging DB", "Team wiki", "Lobby door", "Untitled"]);
    const bitwarden = await parseImport("bitwarden-json", sample("bitwarden.json"));
    expect(itemsToCreate(bitwarden, false)).toHaveLength(bitwarden.items.length);
  });
});

describe("the words", () => {
  const languages = Object.keys(LANGUAGES) as Language[];

  it("has a sentence for every warning code and file error, in every language", () => {
    expect(Object.keys(WARNINGS).sort()).toEqual([...WARNING_CODES].sort());
    const kinds: ImportErrorKind[] = ["too_large", "not_utf8", "malformed", "encrypted", "unsupported_version", "passphrase_required", "wrong_passphrase", "excessive_work", "bad_mapping"];
    expect(Object.keys(FILE_ERRORS).sort()).toEqual([...kinds].sort());
    for (const lang of languages) {
      for (const key of [...Object.values(WARNINGS), ...Object.values(FILE_ERRORS)]) expect(CATALOGUES[lang][key], `${lang} ${key}`).toBeTruthy();
    }
  });

  it("names what a warning is about, and says why an item cannot be imported", () => {
    expect(warningText({ code: "attachment_not_imported", name: "scan.pdf" })).toBe("Attachment not imported (file contents are not read from the export): “scan.pdf”");
    expect(warningText({ code: "passkey_not_imported", name: null })).toBe("Passkey not imported");
    expect(itemErrorText("value_too_long")).toBe("Cannot be imported: the value is too long.");
    expect(itemErrorText("something_new")).toBe("Cannot be imported: something_new.");
    setLanguage("de");
    expect(warningText({ code: "deleted_entry_skipped", name: "Alt" })).toBe("Eintrag aus dem Papierkorb, nicht importiert: „Alt“");
  });

  it("has an address of its own", () => {
    expect(screenPath({ kind: "import" })).toBe("/import");
    expect(parseScreen("#/import")).toEqual({ kind: "import" });
  });
});

const item = (source: number, title: string): Item => ({ source, title, body: null, warnings: [], error: null });

describe("the report", () => {
  it("lists created, not created and unknown records exactly, looking up requests without an answer", () => {
    const items = [item(0, "a"), item(1, "b"), item(2, "c"), item(3, "d"), item(4, "e")];
    const refused = new ApiError(413, "payload_too_large", "too large");
    const lost = new NetworkError("the server could not be reached");
    const outcomes: CreateOutcome[] = [
      { id: "id-a", outcome: "created" },
      { id: "id-b", outcome: "failed", error: lost, maybeStored: true },
      { id: "id-c", outcome: "failed", error: refused, maybeStored: false },
      { id: "id-d", outcome: "failed", error: lost, maybeStored: true },
      { id: "id-e", outcome: "not_sent" },
    ];
    expect(needsLookup(outcomes)).toBe(true);
    const looked = importReport(items, outcomes, new Set(["id-a", "id-b"]));
    expect(looked.created.map((c) => [c.item.title, c.id])).toEqual([
      ["a", "id-a"],
      ["b", "id-b"],
    ]);
    expect(looked.notCreated.map((i) => i.title)).toEqual(["c", "d", "e"]);
    expect(looked.unknown).toEqual([]);
    expect(looked.failure).toBe(lost);
    // The record list could not be read: those without an answer stay unknown.
    const blind = importReport(items, outcomes, undefined);
    expect(blind.created.map((c) => c.item.title)).toEqual(["a"]);
    expect(blind.unknown.map((u) => [u.item.title, u.id])).toEqual([
      ["b", "id-b"],
      ["d", "id-d"],
    ]);
    expect(blind.notCreated.map((i) => i.title)).toEqual(["c", "e"]);
    expect(needsLookup([{ id: "x", outcome: "created" }, { id: "y", outcome: "failed", error: refused, maybeStored: false }])).toBe(false);
    expect(importReport([item(0, "a")], [{ id: "x", outcome: "created" }], undefined).failure).toBeUndefined();
  });
});

// ---- createRecords against a fake server

const login = (title: string): RecordBody => ({ type: "login", title, fields: [{ name: "username", kind: "text", value: "ada" }], notes: "", files: [] });

/** A fake API: `answer(n, body)` says what the n-th POST /records gets (0-based); tracks how many are in flight at once. */
function fakeApi(answer: (n: number, body: { id: string }) => "ok" | Error): { api: Api; posted: string[]; most: () => number } {
  const posted: string[] = [];
  let inFlight = 0;
  let most = 0;
  const api = {
    async send(path: string, init: RequestInit): Promise<Response> {
      expect(path).toBe("/records");
      expect(init.method).toBe("POST");
      const body = JSON.parse(String(init.body)) as { id: string; wrapped_key: string; envelope: string; proof: string };
      expect(body.wrapped_key && body.envelope && body.proof).toBeTruthy();
      const n = posted.length;
      posted.push(body.id);
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      const a = answer(n, body);
      if (a instanceof Error) throw a;
      return new Response(JSON.stringify({ version: 1, key_gen: 1 }), { status: 201, headers: { "Content-Type": "application/json" } });
    },
  } as unknown as Api;
  return { api, posted, most: () => most };
}

function records(api: Api): Records {
  return new Records(new OwnerTransport(api, "token", randomBytes(32), randomBytes(32), new VersionMemory()));
}

describe("creating many records", () => {
  it("creates every record with a few requests in flight, each with its own id, telling progress", async () => {
    const fake = fakeApi(() => "ok");
    const settled: number[] = [];
    const bodies = Array.from({ length: 11 }, (_, i) => login(`r${i}`));
    const outcomes = await records(fake.api).createRecords(bodies, 3, (n) => settled.push(n));
    expect(outcomes.map((o) => o.outcome)).toEqual(bodies.map(() => "created"));
    expect(new Set(outcomes.map((o) => o.id)).size).toBe(11);
    expect(fake.posted.sort()).toEqual(outcomes.map((o) => o.id).sort());
    expect(fake.most()).toBe(3);
    expect(settled).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
  });

  it("starts no request after the first failure, and says which failed and which were not sent", async () => {
    const refused = new ApiError(507, "quota_exceeded", "quota");
    const fake = fakeApi((n) => (n === 2 ? refused : "ok"));
    const outcomes = await records(fake.api).createRecords(Array.from({ length: 10 }, (_, i) => login(`r${i}`)), 2);
    const failed = outcomes.filter((o) => o.outcome === "failed");
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ error: refused, maybeStored: false });
    const sent = outcomes.filter((o) => o.outcome !== "not_sent").length;
    // At most the requests already in flight when the failure came back were sent.
    expect(fake.posted.length).toBe(sent);
    expect(sent).toBeLessThanOrEqual(4);
    expect(outcomes.filter((o) => o.outcome === "not_sent").length).toBe(10 - sent);
  });

  it("marks a request that got no answer as possibly stored", async () => {
    const fake = fakeApi((n) => (n === 0 ? new NetworkError("connection reset") : "ok"));
    const outcomes = await records(fake.api).createRecords([login("a")], 4);
    expect(outcomes).toEqual([{ id: outcomes[0]!.id, outcome: "failed", error: expect.any(NetworkError), maybeStored: true }]);
  });

  it("sends nothing when a body breaks a record rule", async () => {
    const fake = fakeApi(() => "ok");
    const bad: RecordBody = { ...login("x"), fields: [{ name: "username", kind: "text", value: "x".repeat(70_000) }] };
    await expect(records(fake.api).createRecords([login("a"), bad], 4)).rejects.toThrow();
    expect(fake.posted).toEqual([]);
  });

  it("imports the generic sample's others and only those", async () => {
    const fake = fakeApi(() => "ok");
    const result: ImportResult = await parseImport("csv", sample("generic.csv"), { map: expected("generic.csv").options.map });
    const items = itemsToCreate(result, true);
    const outcomes = await records(fake.api).createRecords(items.map((i) => i.body!), 4);
    const done = importReport(items, outcomes, undefined);
    expect(done.created.map((c) => c.item.title)).toEqual(["Staging DB", "Team wiki", "Lobby door", "Untitled"]);
    expect(fake.posted).toHaveLength(4);
  });
});
