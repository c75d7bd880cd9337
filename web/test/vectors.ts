// Loads the shared protocol vectors (protocol/vectors/*.json) exactly as committed; the Rust core checks
// the same files, so any drift between the two implementations fails one of the suites.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { expect } from "vitest";
import { fromHex, type Bytes } from "../src/protocol/bytes";
import { ProtocolError } from "../src/protocol/errors";

export interface VectorCase {
  name: string;
  valid: boolean;
  error?: string;
  op?: string;
  [key: string]: unknown;
}

interface Fill {
  placeholder: string;
  char: string;
  count: number;
}

const root = resolve(import.meta.dirname, "../../protocol/vectors");

/** Every case of `<area>.json`, with `<key>_template` + `fill` expanded into `<key>`. */
export function loadVectors(area: string): VectorCase[] {
  const file = JSON.parse(readFileSync(resolve(root, `${area}.json`), "utf8")) as { cases: VectorCase[] };
  return file.cases.map((c) => {
    const out: VectorCase = { ...c };
    const fill = c.fill as Fill | undefined;
    for (const [key, value] of Object.entries(c)) {
      if (key.endsWith("_template") && fill && typeof value === "string") {
        out[key.slice(0, -"_template".length)] = value.replaceAll(fill.placeholder, fill.char.repeat(fill.count));
      }
    }
    return out;
  });
}

/** The cases of one operation. */
export function casesOf(area: string, op?: string): VectorCase[] {
  const cases = loadVectors(area);
  return op === undefined ? cases : cases.filter((c) => c.op === op);
}

/** A string field of a case (throws if absent, so a renamed field fails loudly). */
export function str(c: VectorCase, key: string): string {
  const v = c[key];
  if (typeof v !== "string") throw new Error(`case ${c.name}: ${key} is not a string`);
  return v;
}

/** A numeric field of a case. */
export function num(c: VectorCase, key: string): number {
  const v = c[key];
  if (typeof v !== "number") throw new Error(`case ${c.name}: ${key} is not a number`);
  return v;
}

/** A hex field of a case, as bytes. */
export function hex(c: VectorCase, key: string): Bytes {
  return fromHex(str(c, key));
}

/** Runs `run` (sync or async) and requires a `ProtocolError` of exactly `kind`, as a negative case names it. */
export async function expectKind(run: () => unknown, kind: string): Promise<void> {
  let error: unknown;
  try {
    await run();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ProtocolError);
  expect((error as ProtocolError).kind).toBe(kind);
}

/** `expectKind` for synchronous code, usable without `await`. */
export function expectKindSync(run: () => unknown, kind: string): void {
  let error: unknown;
  try {
    run();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ProtocolError);
  expect((error as ProtocolError).kind).toBe(kind);
}
