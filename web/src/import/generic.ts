// Any CSV file with a header row, read through a column mapping: `title=Name,username=Login,…` says which
// column fills what. Targets: `title` (required), `notes`, `type` (a record type name per row; login when
// empty), `folder`, or any field name (a standard name gets its kind, the row's type's or else the first
// type's that has it; another is a text field). A column whose header is a target's name maps itself unless the mapping says otherwise; every
// column left unmapped becomes a text field named by its header.
import { isRecordType, RECORD_TYPES, standardKind, type FieldKind, type RecordType } from "../protocol/record";
import { cell, normal, Table } from "./csv";
import { Draft } from "./draft";
import { ImportError, type ImportResult } from "./model";

const SELF_TARGETS = ["title", "notes", "type", "folder"];

/** Parses `target=Column,…` into pairs (targets in lower case, columns trimmed). */
export function parseColumnMap(text: string): [string, string][] {
  const pairs: [string, string][] = [];
  for (const part of text.split(",")) {
    if (part.trim() === "") continue;
    const eq = part.indexOf("=");
    const target = eq >= 0 ? part.slice(0, eq).trim().toLowerCase() : "";
    const column = eq >= 0 ? part.slice(eq + 1).trim() : "";
    if (target === "" || column === "") throw new ImportError("bad_mapping", `${JSON.stringify(part.trim())} is not target=Column`);
    if (pairs.some(([t]) => t === target)) throw new ImportError("bad_mapping", `${JSON.stringify(target)} is mapped twice`);
    pairs.push([target, column]);
  }
  return pairs;
}

function isStandardName(name: string): boolean {
  return RECORD_TYPES.some((t) => t.fields.some((f) => f.name === name));
}

/** A mapped field's kind: the row's type's for its standard name, else the first type's having it, else text. */
function kindFor(recordType: RecordType, name: string): FieldKind {
  return standardKind(recordType, name) ?? RECORD_TYPES.map((t) => standardKind(t.type, name)).find((k) => k !== undefined) ?? "text";
}

/** The columns of a header row that map themselves (for the web app's mapping form). */
export function selfMapped(names: string[]): [string, number][] {
  const out: [string, number][] = [];
  names.forEach((name, c) => {
    const target = normal(name);
    if ((SELF_TARGETS.includes(target) || isStandardName(target)) && !out.some(([t]) => t === target)) out.push([target, c]);
  });
  return out;
}

export function parseGeneric(text: string, map: string | undefined): ImportResult {
  const table = Table.read("csv", text);
  const targets: [string, number][] = [];
  for (const [target, column] of parseColumnMap(map ?? "")) {
    const c = table.names.findIndex((n) => n.trim() === column);
    if (c < 0) throw new ImportError("bad_mapping", `the header row has no column ${JSON.stringify(column)}`);
    if (targets.some(([, used]) => used === c)) throw new ImportError("bad_mapping", `the column ${JSON.stringify(column)} is mapped twice`);
    targets.push([target, c]);
  }
  table.names.forEach((name, c) => {
    const target = normal(name);
    const mappable = SELF_TARGETS.includes(target) || isStandardName(target);
    if (mappable && !targets.some(([t, used]) => t === target || used === c)) targets.push([target, c]);
  });
  const column = (target: string) => targets.find(([t]) => t === target)?.[1] ?? null;
  const title = column("title");
  if (title === null) throw new ImportError("bad_mapping", "no column is mapped to the title: give one, e.g. title=Name");
  const items = table.rows.map((row, i) => {
    const typeName = cell(row, column("type")).trim().toLowerCase();
    const recordType: RecordType = typeName === "" ? "login" : isRecordType(typeName) ? typeName : "general";
    const d = new Draft(recordType, cell(row, title));
    if (typeName !== "" && !isRecordType(typeName)) d.warn("unknown_type", typeName);
    for (const [target, c] of targets) {
      if (SELF_TARGETS.includes(target)) continue;
      d.field(target, kindFor(recordType, target), cell(row, c));
    }
    table.names.forEach((name, c) => {
      if (!targets.some(([, used]) => used === c)) d.field(name, "text", cell(row, c));
    });
    d.field("folder", "text", cell(row, column("folder")));
    d.notes(cell(row, column("notes")));
    return d.finish(i);
  });
  return { format: "csv", items, warnings: [] };
}
