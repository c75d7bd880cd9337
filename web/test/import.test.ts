// Every sample export under protocol/import/ read as its expected-result file says, compared with that
// result (the detected format, then every item or the whole file's error). The Rust crate
// sharelock-import checks the same files against the same results, so the two implementations of each
// format cannot drift apart.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { detect, FORMATS, ImportError, parseImport, resultJson, type Format } from "../src/import";

const root = resolve(import.meta.dirname, "../../protocol/import");

function expectedFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return expectedFiles(path);
      return name.endsWith(".expected.json") ? [path] : [];
    });
}

interface Case {
  file: string;
  format: Format;
  options: { map?: string; passphrase?: string };
  detected: Format | null;
  result?: unknown;
  error?: string;
}

const cases = expectedFiles(root).map((path) => ({ path: path.slice(root.length + 1), c: JSON.parse(readFileSync(path, "utf8")) as Case }));

describe("import samples", () => {
  it("has samples of every format", () => {
    expect(cases.length).toBeGreaterThanOrEqual(20);
    const read = new Set(cases.filter(({ c }) => c.result !== undefined).map(({ c }) => c.format));
    for (const f of FORMATS) expect(read.has(f), f).toBe(true);
  });

  for (const { path, c } of cases) {
    it(path, async () => {
      const bytes = new Uint8Array(readFileSync(join(root, c.file)));
      expect(detect(bytes)).toBe(c.detected);
      let got: { result?: unknown; error?: string };
      try {
        got = { result: JSON.parse(JSON.stringify(resultJson(await parseImport(c.format, bytes, c.options)))) };
      } catch (e) {
        if (!(e instanceof ImportError)) throw e;
        got = { error: e.kind };
      }
      if (c.error !== undefined) expect(got).toEqual({ error: c.error });
      else expect(got).toEqual({ result: c.result });
    });
  }
});
