// CSV as every CSV format here reads it: RFC 4180 (comma, double quotes, CRLF or LF), rows of any length,
// rows of empty cells skipped. Papa Parse does the reading.
import Papa from "papaparse";
import { ImportError, malformed, MAX_ITEMS, type Format } from "./model";

export function rows(format: Format, text: string): string[][] {
  const parsed = Papa.parse<string[]>(text, { delimiter: ",", quoteChar: '"', escapeChar: '"', header: false, skipEmptyLines: false });
  const out: string[][] = [];
  for (const row of parsed.data) {
    if (!Array.isArray(row) || row.every((c) => c === "")) continue;
    if (out.length > MAX_ITEMS) throw new ImportError("too_large", `the file holds more than ${MAX_ITEMS} items`);
    out.push(row);
  }
  void format;
  return out;
}

/** The header row's names, trimmed and in lower case (for detection). */
export function header(text: string): string[] | null {
  const parsed = Papa.parse<string[]>(text, { delimiter: ",", quoteChar: '"', escapeChar: '"', header: false, preview: 1 });
  const first = parsed.data[0];
  return Array.isArray(first) ? first.map(normal) : null;
}

/** The header row as written (the first row with a cell that is not empty, as `Table.read` takes it), or null for an empty file. */
export function headerRow(text: string): string[] | null {
  let found: string[] | null = null;
  Papa.parse<string[]>(text, {
    delimiter: ",",
    quoteChar: '"',
    escapeChar: '"',
    header: false,
    step: (result, parser) => {
      const row = result.data;
      if (Array.isArray(row) && !row.every((c) => c === "")) {
        found = row;
        parser.abort();
      }
    },
  });
  return found;
}

export function normal(name: string): string {
  return name.trim().toLowerCase();
}

export class Table {
  constructor(
    readonly names: string[],
    readonly rows: string[][],
  ) {}

  static read(format: Format, text: string): Table {
    const all = rows(format, text);
    const names = all.shift();
    if (names === undefined) throw malformed(format, "the file is empty");
    return new Table(names, all);
  }

  column(name: string): number | null {
    const i = this.names.findIndex((n) => normal(n) === name);
    return i < 0 ? null : i;
  }

  require(format: Format, names: string[]): void {
    const missing = names.filter((n) => this.column(n) === null);
    if (missing.length > 0) throw malformed(format, `the header row has no column ${missing.join(", ")}`);
  }
}

export function cell(row: string[], column: number | null): string {
  return column === null ? "" : (row[column] ?? "");
}
