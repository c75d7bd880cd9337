// Every failure as a sentence for people. Server messages are free of secrets by contract (§10), and the
// client's own refusals never include a value, only field names.
import type { ErrorCode } from "../client/api";
import { ApiError, NetworkError } from "../client/http";
import { UnverifiedError, VaultError } from "../client/owner";
import { ProtocolError } from "../protocol/errors";
import { humanDuration } from "../ui/dom";

/**
 * A sentence for every error code the API has, typed by the codes the server's OpenAPI document names (a
 * code added there and not here is a type error, and test/api-contract.test.ts compares the two lists).
 */
export const API_EXPLANATIONS: Record<ErrorCode, string> = {
  malformed_request: "The server refused the request as malformed. Reload the page and try again.",
  invalid_envelope: "The server refused the new version as malformed.",
  invalid_expiry: "That expiry is not allowed: it must be in the future and within the server's longest expiry.",
  unauthorized: "Your session has ended. Log in again.",
  invalid_credentials: "That email and master password do not match an account on this server.",
  wrong_passphrase: "That passphrase is not right.",
  invalid_signature: "The server could not check this browser's signature. Reload the page and try again.",
  stale_request: "This device's clock is too far from the server's. Set the clock right and try again.",
  signups_closed: "This server does not accept new accounts.",
  invite_required: "New accounts on this server need an invitation code. Ask the server's operator for one.",
  invalid_invite: "That invitation code does not work: it is wrong, already used, revoked or expired. Ask the server's operator for a new one.",
  email_domain_not_allowed: "This server accepts new accounts only for some email domains, and this email is at another.",
  account_disabled: "This account is disabled on this server. Ask the server's operator.",
  share_suspended: "This share is unavailable: its owner's account is disabled on this server.",
  admin_unauthorized: "The server's admin API refused: the admin token is missing or wrong.",
  forbidden_by_policy: "This server's policy does not allow that kind of share.",
  share_bound_to_other_device: "That share was already opened on another device, and only that device can open it.",
  share_not_bound: "That share has not been opened on a device yet.",
  share_not_editable: "That share is read-only.",
  not_found: "It no longer exists: it may have been deleted in the meantime.",
  email_taken: "An account with this email already exists on this server. Log in instead.",
  already_exists: "The server already has an item with that id. Try again.",
  version_conflict: "The record changed while saving. Try again.",
  stale_record_key: "The record's key changed while saving. Try again.",
  share_set_mismatch: "A share ended while saving. Try again.",
  replayed_request: "The server had already received this request. Try again.",
  share_ended: "That share has ended.",
  request_timeout: "Sending took too long, so the server stopped waiting. Check your connection and try again.",
  payload_too_large: "That is larger than this server accepts.",
  too_many_attempts: "Too many attempts. Wait a moment and try again.",
  quota_exceeded: "Your file storage on this server is full, so nothing was uploaded. Delete records with files you no longer need, or ask the server's operator for more room.",
  share_quota_exceeded: "That share may not upload more files: its upload allowance on this server is used up.",
  share_limit_reached: "You have as many active shares as this server allows. End a share you no longer need, then try again.",
  internal: "The server failed unexpectedly. Try again in a moment.",
  unavailable: "The server is temporarily unavailable. Try again in a moment.",
  server_busy: "The server is busy. Try again in a moment.",
};

function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(API_EXPLANATIONS, code);
}

const PROTOCOL: Record<string, string> = {
  decrypt: "Data from the server did not decrypt with this vault's keys; it was not shown.",
  verify: "Data from the server failed an authenticity check; it was not shown.",
  rollback: "The server showed an older version than this browser has already seen. It was refused: the server may be replaying old data.",
  fork: "The server showed a version that contradicts the history this browser has already seen. It was refused.",
  kdf_params: "The server asked for key-derivation settings outside what Sharelock allows, so your password was not used.",
};

function sentence(text: string): string {
  const t = text.trim();
  const capital = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

/** The kinds of §3.3's record rules: on a save they describe the user's input. */
const RECORD_RULES = new Set([
  "unknown_type", "too_many_fields", "too_many_files", "unknown_kind", "bad_file_id", "bad_file_key", "bad_file_hash",
  "title_length", "title_control", "field_name_length", "field_name_control", "duplicate_field", "value_too_long",
  "line_break", "value_control", "bad_date", "bad_otp", "bad_email", "bad_phone", "notes_too_long", "notes_control",
  "bad_file_name", "bad_file_mime", "bad_file_size", "duplicate_file_id", "too_large", "json",
]);

/** A sentence for `error`; `saving` says the failure came from writing what the user entered. */
export function explain(error: unknown, saving = false): string {
  if (error instanceof ApiError) {
    if (error.code === "too_many_attempts") return `Too many attempts. Wait ${humanDuration(error.retryAfter ?? 60)} and try again.`;
    return isErrorCode(error.code) ? API_EXPLANATIONS[error.code] : sentence(`The server refused: ${error.message} (${error.code})`);
  }
  if (error instanceof NetworkError) return "The server could not be reached. Check your connection and try again.";
  if (error instanceof UnverifiedError) {
    return `The current version of this record (version ${error.version}) cannot be attributed to you or to a verified recipient: ${error.reason}. Nothing is built on it; restore a verified version from the history.`;
  }
  if (error instanceof VaultError) return error.message;
  if (error instanceof ProtocolError) {
    // Record rules name the field, never its value, so their messages can be shown as they are.
    if (PROTOCOL[error.kind]) return PROTOCOL[error.kind]!;
    if (saving && RECORD_RULES.has(error.kind)) return sentence(`This record cannot be saved: ${error.message}`);
    return `Data from the server failed a check (${error.kind}); it was not shown.`;
  }
  if (error instanceof Error) return sentence(error.message);
  return "Something went wrong.";
}

/** Whether the session is over (the page goes back to the login screen). */
export function isSessionEnd(error: unknown): boolean {
  return error instanceof ApiError && error.code === "unauthorized";
}
