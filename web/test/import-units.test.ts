// The import readers' refusals, format by format, and their limits: what the shared sample files do not
// show (web/test/import.test.ts checks those against protocol/import/).
import { Encrypter } from "age-encryption";
import { zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { detect, ImportError, MAX_TEXT_BYTES, parseColumnMap, parseImport, type Format } from "../src/import";

const enc = (s: string) => new TextEncoder().encode(s);

async function kind(format: Format, bytes: Uint8Array, options = {}): Promise<string> {
  try {
    await parseImport(format, bytes, options);
  } catch (e) {
    if (e instanceof ImportError) return e.kind;
    throw e;
  }
  return "ok";
}

describe("import refusals", () => {
  it("refuses malformed input of each format", async () => {
    const cases: [Format, string][] = [
      ["bitwarden-json", "[1, 2]"],
      ["bitwarden-json", '{"items": [{"name": "a", "type": 1}, 5]}'],
      ["bitwarden-csv", "name,password\nMail,pw\n"],
      ["1password-csv", "Name,Secret\nMail,pw\n"],
      ["1password-1pux", "PK\x03\x04 not really a zip"],
      ["keepass-xml", "<KeePassFile><Root><Group>"],
      ["keepass-xml", "<KeePassFile><Meta/></KeePassFile>"],
      ["lastpass-csv", ""],
      ["keeper-json", '{"records": [{"title": ["not", "text"]}]}'],
      ["keeper-csv", "Folder,Title\n"],
      ["sharelock", '{"format": "something-else", "version": 1, "records": []}'],
      ["sharelock", '{"format": "sharelock-export", "version": 1, "records": [{}]}'],
    ];
    for (const [format, text] of cases) expect(await kind(format, enc(text)), `${format}: ${text}`).toBe("malformed");
  });

  it("names the item, never a value", async () => {
    const e = await parseImport("bitwarden-json", enc('{"items": [{"name": "Mail", "type": 1, "login": {"password": 918273645}}]}')).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ImportError);
    expect(String((e as Error).message)).toContain("`password`");
    expect(String((e as Error).message)).not.toContain("918273645");
    const item = await parseImport("bitwarden-json", enc('{"items": [{"name": "a", "type": 1}, 5]}')).catch((x: unknown) => x);
    expect((item as Error).message).toContain("item 1");
  });

  it("stops at the size limits, zip bombs included", async () => {
    expect(await kind("lastpass-csv", new Uint8Array(MAX_TEXT_BYTES + 1).fill(0x20))).toBe("too_large");
    const bomb = zipSync({ "export.data": [new Uint8Array(MAX_TEXT_BYTES + 1).fill(0x20), { level: 9 }] });
    expect(bomb.length).toBeLessThan(1 << 20);
    expect(await kind("1password-1pux", bomb)).toBe("too_large");
    expect(await kind("keepass-xml", new Uint8Array([0xff, 0xfe, 0x3c]))).toBe("not_utf8");
  });

  it("opens an encrypted export with its passphrase only", async () => {
    const plain =
      '{"format":"sharelock-export","version":1,"exported_at":"2026-01-01T00:00:00Z","records":[{"id":"7d1f4c2a-9b3e-4f60-a1c2-3d4e5f607182","version":1,"updated_at":"2026-01-01T00:00:00Z","body":{"type":"note","title":"N","fields":[],"notes":"x","files":[]},"files":[]}]}';
    const e = new Encrypter();
    e.setPassphrase("right");
    e.setScryptWorkFactor(10);
    const file = await e.encrypt(plain);
    expect(detect(file)).toBe("sharelock");
    const read = await parseImport("sharelock", file, { passphrase: "right" });
    expect(read.items.map((i) => i.title)).toEqual(["N"]);
    expect(await kind("sharelock", file, { passphrase: "wrong" })).toBe("wrong_passphrase");
    expect(await kind("sharelock", file)).toBe("passphrase_required");
  });

  it("parses column maps and refuses bad ones", async () => {
    expect(parseColumnMap(" Title = Name , username=Login,")).toEqual([
      ["title", "Name"],
      ["username", "Login"],
    ]);
    for (const bad of ["title", "=Name", "title=", "title=A,title=B"]) expect(() => parseColumnMap(bad), bad).toThrow(ImportError);
    expect(await kind("csv", enc("Name,Login\nMail,a\n"), { map: "title=Name,username=Name" })).toBe("bad_mapping");
  });
});
