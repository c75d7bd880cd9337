// What the Import screen decides without the page: the column mapping of a generic CSV file as the form
// holds it (one choice per column) and as the reader takes it (`title=Name,…`, docs/import.md), what a
// preview counts, and which records an import created, from the outcome of each request and, for a request
// that got no answer, the record list. Every warning code and file error code has its sentence here.
import type { CreateOutcome } from "../client/owner";
import { selfMapped, type Format, type ImportErrorKind, type ImportResult, type Item, type WarningCode } from "../import";
import { RECORD_TYPES } from "../protocol/record";
import type { MessageKey } from "../ui/i18n";

/** The requests an import keeps in flight at once (as the CLI does). */
export const IMPORT_IN_FLIGHT = 4;

/** Each format's name in the format menu. */
export const FORMAT_NAMES: Record<Format, MessageKey> = {
  "bitwarden-json": "import.format.bitwarden-json",
  "bitwarden-csv": "import.format.bitwarden-csv",
  "1password-1pux": "import.format.1password-1pux",
  "1password-csv": "import.format.1password-csv",
  "keepass-xml": "import.format.keepass-xml",
  "lastpass-csv": "import.format.lastpass-csv",
  "keeper-json": "import.format.keeper-json",
  "keeper-csv": "import.format.keeper-csv",
  csv: "import.format.csv",
  sharelock: "import.format.sharelock",
};

/** Why a file was not read, for people (typed by the reader's error kinds: a new kind without a sentence does not compile). */
export const FILE_ERRORS: Record<ImportErrorKind, MessageKey> = {
  too_large: "import.error.too_large",
  not_utf8: "import.error.not_utf8",
  malformed: "import.error.malformed",
  encrypted: "import.error.encrypted",
  unsupported_version: "import.error.unsupported_version",
  passphrase_required: "import.error.passphrase_required",
  wrong_passphrase: "import.error.wrong_passphrase",
  excessive_work: "import.error.excessive_work",
  bad_mapping: "import.error.bad_mapping",
};

/** What each warning means, for people; the warning's name (a field, file or entry) follows it. */
export const WARNINGS: Record<WarningCode, MessageKey> = {
  attachment_not_imported: "import.warn.attachment_not_imported",
  password_history_not_imported: "import.warn.password_history_not_imported",
  history_not_imported: "import.warn.history_not_imported",
  passkey_not_imported: "import.warn.passkey_not_imported",
  field_not_imported: "import.warn.field_not_imported",
  kind_changed: "import.warn.kind_changed",
  field_renamed: "import.warn.field_renamed",
  title_changed: "import.warn.title_changed",
  control_removed: "import.warn.control_removed",
  unknown_type: "import.warn.unknown_type",
  deleted_entry_skipped: "import.warn.deleted_entry_skipped",
};

// ---- The column mapping of a generic CSV file

/** Targets with a meaning of their own (the others are field names). */
const SPECIAL_TARGETS = ["title", "notes", "type", "folder"] as const;

/** Every target a column can be mapped to: the special ones, then each standard field name once, in the spec's order. */
export const MAP_TARGETS: readonly string[] = [...SPECIAL_TARGETS, ...new Set(RECORD_TYPES.flatMap((t) => t.fields.map((f) => f.name)))];

/** Whether a target is one of title, notes, type and folder (not a field name). */
export function isSpecialTarget(target: string): boolean {
  return (SPECIAL_TARGETS as readonly string[]).includes(target);
}

/**
 * Whether the mapping can name column `c`: its header, trimmed, is not empty, has no comma (the mapping's
 * separator) and is the first column of that name (a name is matched to the first column having it).
 * Another column stays unmapped: a text field named by its header.
 */
export function mappableColumn(names: readonly string[], c: number): boolean {
  const name = names[c]?.trim() ?? "";
  return name !== "" && !name.includes(",") && names.findIndex((n) => n.trim() === name) === c;
}

/**
 * The form's first choices, one per column: the target a column maps by its header (`Title`, `password`),
 * else "" (not mapped: a field named by its header).
 */
export function defaultChoices(names: readonly string[]): string[] {
  const choices = names.map(() => "");
  for (const [target, c] of selfMapped([...names])) if (mappableColumn(names, c)) choices[c] = target;
  return choices;
}

/** The mapping text the reader takes (`title=Name,username=Login`), from one choice per column ("" for none). */
export function columnMapText(names: readonly string[], choices: readonly string[]): string {
  return names
    .map((name, c) => [choices[c] ?? "", name.trim()] as const)
    .filter(([target], c) => target !== "" && mappableColumn(names, c))
    .map(([target, name]) => `${target}=${name}`)
    .join(",");
}

/** What is wrong with the choices: targets chosen for more than one column, and whether no column gives the title. */
export interface MappingProblems {
  twice: string[];
  noTitle: boolean;
}

/**
 * Checks the choices as the reader will: a target may be chosen once; the title comes from the column
 * chosen for it, else from an unmapped column whose header is `title` (it maps itself).
 */
export function mappingProblems(names: readonly string[], choices: readonly string[]): MappingProblems {
  const chosen = choices.filter((target, c) => target !== "" && mappableColumn(names, c));
  const twice = [...new Set(chosen.filter((target, i) => chosen.indexOf(target) !== i))];
  const titleChosen = chosen.includes("title");
  const titleByHeader = names.some((name, c) => (choices[c] ?? "") === "" && name.trim().toLowerCase() === "title");
  return { twice, noTitle: !titleChosen && !titleByHeader };
}

// ---- The preview

/** The counts a preview shows. */
export interface PreviewCounts {
  /** Items that become records. */
  valid: number;
  /** Items that cannot be imported. */
  invalid: number;
  /** Warnings of every item and of the file. */
  warnings: number;
}

export function previewCounts(result: ImportResult): PreviewCounts {
  const invalid = result.items.filter((i) => i.body === null).length;
  const warnings = result.items.reduce((n, i) => n + i.warnings.length, result.warnings.length);
  return { valid: result.items.length - invalid, invalid, warnings };
}

/** The items that would be created: all of them when none is invalid; with some invalid, only if the user chose to leave those out. */
export function itemsToCreate(result: ImportResult, importOthers: boolean): Item[] {
  const valid = result.items.filter((i) => i.body !== null);
  if (valid.length < result.items.length && !importOthers) return [];
  return valid;
}

// ---- The report

/** What an import did, item by item. */
export interface ImportReport {
  created: { item: Item; id: string }[];
  /** Not created: refused by the server, failed before being sent, or never sent after a failure. */
  notCreated: Item[];
  /** The request got no answer and the record list could not be read to tell. */
  unknown: { item: Item; id: string }[];
  /** The first failure, if any. */
  failure: unknown;
}

/**
 * Sorts each item by its outcome. A request that got no answer is looked up in `existing` (the vault's
 * record ids, fetched after the import), or reported unknown when the list could not be read (undefined).
 */
export function importReport(items: readonly Item[], outcomes: readonly CreateOutcome[], existing: ReadonlySet<string> | undefined): ImportReport {
  const report: ImportReport = { created: [], notCreated: [], unknown: [], failure: undefined };
  items.forEach((item, i) => {
    const o = outcomes[i];
    if (o === undefined || o.outcome === "not_sent") {
      report.notCreated.push(item);
      return;
    }
    if (o.outcome === "created") {
      report.created.push({ item, id: o.id });
      return;
    }
    if (report.failure === undefined) report.failure = o.error;
    if (!o.maybeStored) report.notCreated.push(item);
    else if (existing === undefined) report.unknown.push({ item, id: o.id });
    else if (existing.has(o.id)) report.created.push({ item, id: o.id });
    else report.notCreated.push(item);
  });
  return report;
}

/** Whether any request got no answer (the record list must then be read to tell what was stored). */
export function needsLookup(outcomes: readonly CreateOutcome[]): boolean {
  return outcomes.some((o) => o.outcome === "failed" && o.maybeStored);
}
