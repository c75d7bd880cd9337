// The shared records report as CSV (the same columns as `sharelock share report --csv`, docs/cli-walkthrough.md):
// one row per share the account made, live or ended, with its record's title and its label decrypted here.
// Every cell that a spreadsheet would run as a formula is defused with a leading `'`.
import type { ShareEntry } from "../client/owner";
import { isLive } from "../client/owner-api";
import { csvText } from "../client/export";

export const REPORT_COLUMNS = [
  "share",
  "record_id",
  "record_title",
  "label",
  "state",
  "end_reason",
  "editable",
  "passphrase",
  "view_once",
  "device_fingerprint",
  "device_verified",
  "created_at",
  "expires_at",
  "opened_at",
  "ended_at",
  "last_access_at",
  "opens",
  "edits",
  "wrong_passphrases",
  "last_wrong_passphrase_at",
  "refused_devices",
  "last_refused_at",
  "problem",
] as const;

/** Text a spreadsheet shows rather than runs: a leading `=`, `+`, `-`, `@`, TAB or CR gets a `'` (OWASP's advice). */
export function defuseCell(text: string): string {
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

/** RFC 3339 in UTC, whole seconds, as the CLI writes times; empty for none. */
function time(at: string | null): string {
  if (at === null) return "";
  const d = new Date(at);
  return Number.isNaN(d.getTime()) ? at : d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** One share's cells, in column order (not yet defused). */
export function reportRow(entry: ShareEntry, title: string | undefined): string[] {
  const s = entry.info;
  const live = isLive(s);
  const endReason = live ? "" : (s.end_reason ?? (s.state === "expired" ? "expired" : "ended"));
  return [
    s.handle,
    s.record_id,
    title ?? "(record deleted or unreadable)",
    entry.label ?? (s.label !== null ? "(unreadable)" : ""),
    live ? "active" : "ended",
    endReason,
    String(entry.editable),
    String(s.passphrase),
    String(s.view_once),
    entry.fingerprint ?? "",
    entry.deviceVerified === undefined ? "" : String(entry.deviceVerified),
    time(s.created_at),
    time(s.expires_at),
    time(s.opened_at),
    time(s.ended_at),
    time(s.last_access_at),
    String(s.open_count ?? 0),
    String(s.edit_count),
    String(s.failed_total ?? 0),
    time(s.last_failed_at),
    String(s.refused_count ?? 0),
    time(s.refused_at),
    entry.problem ?? "",
  ];
}

/** The report as CSV text (RFC 4180, CRLF, the header first). */
export function reportCsv(entries: readonly ShareEntry[], titles: ReadonlyMap<string, string>): string {
  return csvText([[...REPORT_COLUMNS], ...entries.map((e) => reportRow(e, titles.get(e.info.record_id)).map(defuseCell))]);
}
