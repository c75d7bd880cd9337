// What changed between two versions of a record, in words. Secrets and one-time code seeds are named,
// never quoted: the history is read on screens other people may see.
import type { Field, RecordBody } from "../protocol/record";
import { quoted, t } from "../ui/i18n";
import { fieldLabel, typeName } from "../ui/record-view";

const QUOTED_KINDS = new Set(["text", "url", "email", "phone", "date"]);

function quote(field: Field): string {
  const value = field.value.length > 80 ? `${[...field.value].slice(0, 80).join("")}…` : field.value;
  return value === "" ? t("view.empty") : quoted(value);
}

/** One line per change from `before` to `after`; `before` undefined means `after` is the first version. */
export function describeChanges(before: RecordBody | undefined, after: RecordBody): string[] {
  if (!before) return [t("changes.created")];
  const out: string[] = [];
  if (before.type !== after.type) out.push(t("changes.type", { from: typeName(before.type), to: typeName(after.type) }));
  if (before.title !== after.title) out.push(t("changes.title", { from: quoted(before.title), to: quoted(after.title) }));
  const old = new Map(before.fields.map((f) => [f.name, f]));
  const now = new Map(after.fields.map((f) => [f.name, f]));
  for (const field of after.fields) {
    const prior = old.get(field.name);
    const label = fieldLabel(field.name);
    if (!prior) {
      out.push(QUOTED_KINDS.has(field.kind) && field.value !== "" ? t("changes.fieldAddedValue", { field: label, value: quote(field) }) : t("changes.fieldAdded", { field: label }));
    } else if (prior.value !== field.value || prior.kind !== field.kind) {
      out.push(QUOTED_KINDS.has(field.kind) && QUOTED_KINDS.has(prior.kind) ? t("changes.fieldValue", { field: label, from: quote(prior), to: quote(field) }) : t("changes.field", { field: label }));
    }
  }
  for (const field of before.fields) if (!now.has(field.name)) out.push(t("changes.fieldRemoved", { field: fieldLabel(field.name) }));
  if (before.notes !== after.notes) out.push(t("changes.notes"));
  const oldFiles = new Set(before.files.map((f) => f.id));
  const newFiles = new Set(after.files.map((f) => f.id));
  for (const file of after.files) if (!oldFiles.has(file.id)) out.push(t("changes.fileAdded", { name: quoted(file.name) }));
  for (const file of before.files) if (!newFiles.has(file.id)) out.push(t("changes.fileRemoved", { name: quoted(file.name) }));
  return out;
}

/** What the history needs of a version (the client's `HistoryEntry`). */
export interface VersionOf {
  keyGen: number;
  verification: { kind: string };
  body?: RecordBody;
  problem?: unknown;
}

/** A change people made: the version that made it, and the versions after it that changed nothing. */
export interface Change<T extends VersionOf> {
  entry: T;
  /** What it changed, in words (empty when its content could not be read). */
  lines: string[];
  /** Later versions, written by this vault, whose content is the same: a new record key when a share started or ended. */
  quiet: T[];
}

/**
 * The history as people think of it, oldest first. The protocol writes a version for every key rotation
 * (each share created or ended), with the same content; those belong to no one's change, so they are
 * folded into the change before them instead of being listed as "changed by you". Only versions this vault
 * verifiably wrote are folded: a recipient's version, an unverified or unreadable one is always listed.
 */
export function historyChanges<T extends VersionOf>(entries: readonly T[]): Change<T>[] {
  const out: Change<T>[] = [];
  let previous: RecordBody | undefined;
  for (const entry of entries) {
    const last = out.at(-1);
    if (last && previous && entry.body && entry.verification.kind === "owner" && sameContent(previous, entry.body)) {
      last.quiet.push(entry);
      continue;
    }
    out.push({ entry, lines: entry.body ? describeChanges(previous, entry.body) : [], quiet: [] });
    if (entry.body) previous = entry.body;
  }
  return out;
}

function sameContent(a: RecordBody, b: RecordBody): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
