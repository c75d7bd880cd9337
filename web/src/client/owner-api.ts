// The owner's side of the HTTP contract (docs/protocol.md §9.3), as the server sends and expects it:
// bytes are b64u strings, ids UUID text, times RFC 3339 strings, versions JSON numbers.
import type { KdfParams } from "../protocol/kdf";
// Unions the server's OpenAPI document defines: generated, never written here (api.ts).
import type { EventKind, ShareState } from "./api";

export interface PreloginResponse {
  kdf: KdfParams;
  kdf_salt: string;
}

export interface LoginResponse {
  token: string;
  expires_at: string;
  account_id: string;
  kdf: KdfParams;
  kdf_salt: string;
  wrapped_data_key: string;
}

/** Who the server says wrote a version. */
export type ApiAuthor = { kind: "owner" } | { kind: "share"; share: string };

export interface RecordHead {
  id: string;
  version: number;
  key_gen: number;
  wrapped_key: string;
  summary: string;
  author: ApiAuthor;
  created_at: string;
  updated_at: string;
  rotate_pending: boolean;
}

/**
 * A list entry: the head, and the current version's envelope and proof unless the envelope is larger than
 * 8 KiB (both null then, or absent from a server older than these fields).
 */
export interface ListedRecordJson extends RecordHead {
  envelope?: string | null;
  proof?: string | null;
}

export interface RecordList {
  records: ListedRecordJson[];
}

export interface RecordJson extends RecordHead {
  envelope: string;
  proof: string;
}

export interface VersionWritten {
  version: number;
  key_gen: number;
}

export interface ShareKeyJson {
  share: string;
  wrapped_key: string;
}

export interface RotationJson {
  base_version: number;
  envelope: string;
  proof: string;
  wrapped_key: string;
  share_keys: ShareKeyJson[];
}

export interface VersionEntryJson {
  version: number;
  key_gen: number;
  envelope: string;
  proof: string;
  author: ApiAuthor;
  created_at: string;
}

export interface HistoryJson {
  versions: VersionEntryJson[];
  keys: { key_gen: number; wrapped_key: string }[];
}

/** `{"in_seconds": n}` or `{"at": "<RFC 3339>"}`. */
export type ExpiryJson = { in_seconds: number } | { at: string };

export type { ShareState };

export interface ShareInfo {
  handle: string;
  share_id: string;
  record_id: string;
  state: ShareState;
  editable: boolean;
  passphrase: boolean;
  burn_after_secs: number | null;
  created_at: string;
  expires_at: string;
  opened_at: string | null;
  device_fingerprint: string | null;
  device_key: string | null;
  bind_tag: string | null;
  ended_at: string | null;
  end_reason: "deleted" | "recipient_done" | "record_deleted" | "expired" | "viewed" | "answered" | null;
  last_access_at: string | null;
  edit_count: number;
  key_gen: number;
  owner_secret: string;
  label: string | null;
  /** Wrong access tokens (wrong passphrases) since the last right one (§5.4). */
  failed_attempts: number;
  last_failed_at: string | null;
  /** When another device with the link was last refused (the last `device_refused` event). */
  refused_at: string | null;
  /** The share ends at its first fetch (§4.4). */
  view_once: boolean;
  /** A request (§4.5): its number of answers and sealed instructions; its answers so far are `edit_count`. */
  request: { max_answers: number; instructions: string } | null;
  /** Opens: the bound device's reads of the record, one within a minute of the last counted once (§9.3). */
  open_count: number;
  /** Every time another device with the link was refused. */
  refused_count: number;
  /** Every wrong access token (wrong passphrase) ever counted; `failed_attempts` restarts at a right one. */
  failed_total: number;
  /** The record destroys itself this long after the share is opened (§4.7). */
  destroy_after_secs: number | null;
  /** When the record is destroyed, once the share was opened. */
  destroy_at: string | null;
}

export interface ShareCreatedJson {
  handle: string;
  expires_at: string;
  version: number;
  key_gen: number;
}

export interface Policy {
  one_time_share: boolean;
  max_expiry_secs: number;
  editable_shares: boolean;
  /** Requests (§4.5) may be created. */
  requests: boolean;
  signups: boolean;
  /** Registration needs a one-time invitation code from the server's operator (§7.1). */
  invite_required?: boolean;
  /** When not empty, only emails at these domains may register. */
  signup_email_domains?: string[];
  max_envelope_bytes: number;
  max_file_bytes: number;
  max_part_bytes: number;
  /** File bytes the account's records may hold, recipients' uploads included (§9.7). */
  account_quota_bytes: number;
  /** File bytes the recipient of one editable share may upload. */
  share_quota_bytes: number;
  /** Live shares the account may have at once. */
  max_live_shares: number;
  /** Seconds an upload may stay unfinished before the server deletes it. */
  upload_ttl_secs: number;
}

export type { EventKind };

/** One live event (§9.5). */
export interface OwnerEvent {
  id: number;
  kind: EventKind;
  share: string | null;
  record: string | null;
  number: number | null;
  at: string;
}

/** Whether the server counts a share as live: its key is rewrapped at every rotation. */
export function isLive(share: ShareInfo): boolean {
  return share.state === "active" || share.state === "opened";
}
