// The export (docs/export.md): the fixtures of protocol/export/ made by the CLI's age crate and by typage here
// all decrypt to the sample document (crates/sharelock-client/tests/export_fixtures.rs checks the same files
// the other way round); a document is built without file keys, read back strictly, and written as CSV.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import {
  csvQuote,
  decryptExport,
  encryptExport,
  exportCsv,
  exportDocument,
  exportJson,
  ExportError,
  parseExport,
  WrongExportPassphraseError,
  type ExportSource,
} from "../src/client/export";

const dir = resolve(import.meta.dirname, "../../protocol/export");
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(resolve(dir, name)));
const PASSPHRASE = "sharelock export fixture";

describe("export fixtures", () => {
  const sample = new TextDecoder().decode(fixture("sample.json"));
  for (const name of ["rust.age", "rust.age.asc", "web.age", "web.age.asc"]) {
    it(`${name} decrypts to the sample`, async () => {
      expect(await decryptExport(fixture(name), PASSPHRASE)).toBe(sample);
    });
  }
  it("a wrong passphrase is told apart", async () => {
    await expect(decryptExport(fixture("rust.age"), "another passphrase")).rejects.toBeInstanceOf(WrongExportPassphraseError);
    await expect(decryptExport(new TextEncoder().encode("{}"), PASSPHRASE)).rejects.toBeInstanceOf(ExportError);
  });
  it("the sample parses", () => {
    const doc = parseExport(sample);
    expect(doc.records.map((r) => r.body.title)).toEqual(["Mail — Café ✓", "金庫の番号", "Passport"]);
    expect(doc.records[0]?.body.fields.find((f) => f.name === "password")?.value).toBe('=1+2, "quoted"');
    expect(doc.records[2]?.files).toEqual([
      { name: "passport scan.pdf", size: 48213, content_type: "application/pdf" },
      { name: "photo.jpg", size: 0, content_type: "" },
    ]);
  });
});

const sources: ExportSource[] = [
  {
    id: "0b3c8f7e-5a41-4d1c-9f7e-2b6a4c1d8e90",
    version: 3,
    updatedAt: "2027-01-15T08:00:00Z",
    body: {
      type: "login",
      title: "Mail",
      fields: [
        { name: "username", kind: "text", value: "ada" },
        { name: "password", kind: "secret", value: "=cmd|' /C calc'!A0" },
        { name: "api key", kind: "secret", value: 'k,1"x' },
      ],
      notes: "line 1\nline 2",
      files: [],
    },
  },
  {
    id: "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
    version: 1,
    updatedAt: "2027-01-14T08:00:00Z",
    body: {
      type: "file",
      title: "Passport",
      fields: [],
      notes: "",
      files: [{ id: "11111111-2222-4333-8444-555555555555", name: "scan.pdf", mime: "application/pdf", size: 12345, key: "A".repeat(43), sha256: "B".repeat(43) }],
    },
  },
];

describe("export document", () => {
  it("lists files and carries no file key", () => {
    const doc = exportDocument(sources, new Date(Date.UTC(2027, 0, 15, 8, 1, 40, 123)));
    const text = exportJson(doc);
    expect(text).not.toContain('"key"');
    expect(text).not.toContain("sha256");
    expect(doc.exported_at).toBe("2027-01-15T08:01:40Z");
    expect(Object.keys(doc.records[0]!.body)).toEqual(["type", "title", "fields", "notes", "files"]);
    const back = parseExport(text);
    expect(back.records[1]?.files).toEqual([{ name: "scan.pdf", size: 12345, content_type: "application/pdf" }]);
    expect(back.records[1]?.body.files).toEqual([]);
    expect(back.records[0]?.body.fields[2]).toEqual({ name: "api key", kind: "secret", value: 'k,1"x' });
  });

  it("refuses other formats and versions, unknown keys and bodies with files", () => {
    const text = exportJson(exportDocument(sources, new Date()));
    for (const bad of [
      text.replace('"version": 1', '"version": 2'),
      text.replace('"sharelock-export"', '"other-export"'),
      text.replace('"format"', '"formats"'),
      text.replace('"notes": "line 1\\nline 2",', '"notes": "line 1\\nline 2", "extra": 1,'),
      text.replace('"files": []\n      },', '"files": [1]\n      },'),
      "not json",
    ]) {
      expect(bad).not.toBe(text);
      expect(() => parseExport(bad), bad.slice(0, 80)).toThrow();
    }
  });

  it("encrypts to an age file that opens with the passphrase only, binary or armored", { timeout: 240_000 }, async () => {
    const text = exportJson(exportDocument(sources, new Date()));
    // What exports use (log2 N = 18) once; a cheap work factor for the rest.
    const strong = await encryptExport(text, "correct horse battery", false);
    expect(new TextDecoder().decode(strong.subarray(0, 60))).toMatch(/^age-encryption\.org\/v1\n-> scrypt \S+ 18\n/);
    const binary = await encryptExport(text, "correct horse battery", false, 10);
    expect(new TextDecoder().decode(binary.subarray(0, 32))).toMatch(/^age-encryption\.org\/v1\n-> scrypt /);
    expect(await decryptExport(binary, "correct horse battery")).toBe(text);
    await expect(decryptExport(binary, "wrong horse battery")).rejects.toBeInstanceOf(WrongExportPassphraseError);
    const armored = await encryptExport(text, "correct horse battery", true, 10);
    expect(new TextDecoder().decode(armored)).toMatch(/^-----BEGIN AGE ENCRYPTED FILE-----\n/);
    expect(await decryptExport(armored, "correct horse battery")).toBe(text);
  });

  it("writes CSV with a triple per field, values exact", () => {
    const csv = exportCsv(exportDocument(sources, new Date()));
    const lines = csv.split("\r\n");
    expect(lines[0]).toBe(
      "id,type,title,notes,updated_at,files,field_1_name,field_1_kind,field_1_value,field_2_name,field_2_kind,field_2_value,field_3_name,field_3_kind,field_3_value",
    );
    expect(csv).toContain(`login,Mail,"line 1\nline 2",2027-01-15T08:00:00Z,,username,text,ada,password,secret,=cmd|' /C calc'!A0,api key,secret,"k,1""x"\r\n`);
    expect(csv.endsWith("file,Passport,,2027-01-14T08:00:00Z,scan.pdf,,,,,,,,,\r\n")).toBe(true);
    expect(csvQuote("a,b")).toBe('"a,b"');
    expect(csvQuote("plain")).toBe("plain");
  });
});
