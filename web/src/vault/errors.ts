// Every failure as a sentence for people. Server messages are free of secrets by contract (§10), and the
// client's own refusals never include a value, only field names.
import type { ErrorCode } from "../client/api";
import { ApiError, NetworkError } from "../client/http";
import { PasswordChangedError, UnverifiedError } from "../client/owner";
import { ProtocolError } from "../protocol/errors";
import { humanDuration } from "../ui/dom";
import { MessageError, t, type MessageKey } from "../ui/i18n";
import { fieldLabel } from "../ui/record-view";

/**
 * A sentence for every error code the API has, typed by the codes the server's OpenAPI document names (a
 * code added there and not here is a type error, and test/api-contract.test.ts compares the two lists).
 */
export const API_EXPLANATIONS: Record<ErrorCode, MessageKey> = {
  malformed_request: "api.malformed_request",
  invalid_envelope: "api.invalid_envelope",
  invalid_expiry: "api.invalid_expiry",
  unauthorized: "api.unauthorized",
  invalid_credentials: "api.invalid_credentials",
  wrong_passphrase: "api.wrong_passphrase",
  invalid_signature: "api.invalid_signature",
  stale_request: "api.stale_request",
  signups_closed: "api.signups_closed",
  invite_required: "api.invite_required",
  invalid_invite: "api.invalid_invite",
  email_domain_not_allowed: "api.email_domain_not_allowed",
  account_disabled: "api.account_disabled",
  share_suspended: "api.share_suspended",
  admin_unauthorized: "api.admin_unauthorized",
  forbidden_by_policy: "api.forbidden_by_policy",
  share_bound_to_other_device: "api.share_bound_to_other_device",
  share_not_bound: "api.share_not_bound",
  share_not_editable: "api.share_not_editable",
  not_found: "api.not_found",
  email_taken: "api.email_taken",
  already_exists: "api.already_exists",
  version_conflict: "api.version_conflict",
  stale_record_key: "api.stale_record_key",
  share_set_mismatch: "api.share_set_mismatch",
  replayed_request: "api.replayed_request",
  share_ended: "api.share_ended",
  request_timeout: "api.request_timeout",
  payload_too_large: "api.payload_too_large",
  too_many_attempts: "api.too_many_attempts",
  quota_exceeded: "api.quota_exceeded",
  share_quota_exceeded: "api.share_quota_exceeded",
  share_limit_reached: "api.share_limit_reached",
  webhook_url_not_allowed: "api.webhook_url_not_allowed",
  webhook_limit_reached: "api.webhook_limit_reached",
  internal: "api.internal",
  unavailable: "api.unavailable",
  server_busy: "api.server_busy",
};

function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(API_EXPLANATIONS, code);
}

const PROTOCOL: Record<string, MessageKey> = {
  decrypt: "proto.decrypt",
  verify: "proto.verify",
  rollback: "proto.rollback",
  fork: "proto.fork",
  kdf_params: "proto.kdf_params",
};

/** The kinds of §3.3's record rules: on a save they describe the user's input. */
const RECORD_RULES = new Set([
  "unknown_type", "too_many_fields", "too_many_files", "unknown_kind", "bad_file_id", "bad_file_key", "bad_file_hash",
  "title_length", "title_control", "field_name_length", "field_name_control", "duplicate_field", "value_too_long",
  "line_break", "value_control", "bad_date", "bad_otp", "bad_email", "bad_phone", "notes_too_long", "notes_control",
  "bad_file_name", "bad_file_mime", "bad_file_size", "duplicate_file_id", "too_large", "json",
]);

/** The record rules a person can break in the editor, in words; the others (malformed files, ids) keep the protocol's text. */
const RULE_TEXT: Record<string, MessageKey> = {
  title_length: "rule.title_length",
  title_control: "rule.title_control",
  field_name_length: "rule.field_name_length",
  field_name_control: "rule.field_name_control",
  duplicate_field: "rule.duplicate_field",
  value_too_long: "rule.value_too_long",
  line_break: "rule.line_break",
  value_control: "rule.value_control",
  bad_date: "rule.bad_date",
  bad_otp: "rule.bad_otp",
  bad_email: "rule.bad_email",
  bad_phone: "rule.bad_phone",
  notes_too_long: "rule.notes_too_long",
  notes_control: "rule.notes_control",
  too_many_fields: "rule.too_many_fields",
  too_many_files: "rule.too_many_files",
  too_large: "rule.too_large",
};

/** A record rule's error kind (an imported item that breaks it) in words; undefined for a kind without a sentence. */
export function ruleKindText(kind: string): string | undefined {
  const key = RULE_TEXT[kind];
  return key ? t(key) : undefined;
}

/** Why a record rule refused the user's input, naming the field when the rule is about one. */
function ruleText(error: ProtocolError): string {
  const key = RULE_TEXT[error.kind];
  if (!key) return t("vault.cannotSave", { reason: error.message });
  // The protocol names a field by its name as JSON ("field \"pin\": …"): shown as the editor labels it.
  const named = /^field ("(?:[^"\\]|\\.)*")/.exec(error.message);
  if (named) {
    try {
      return t("vault.cannotSaveField", { field: fieldLabel(JSON.parse(named[1]!) as string), reason: t(key) });
    } catch {
      // Not JSON after all: the rule alone.
    }
  }
  return t("vault.cannotSave", { reason: t(key) });
}

/** Why a version could not be attributed, in words (the stable reason name when attribution gave one). */
export function reasonText(v: { reason: string; code?: string } | { kind: string }): string {
  if (!("reason" in v)) return "";
  const key = v.code ? REASONS[v.code] : undefined;
  return key ? t(key) : v.reason;
}

const REASONS: Record<string, MessageKey> = {
  author_mismatch: "unattributed.author_mismatch",
  owner_tag: "unattributed.owner_tag",
  unknown_share: "unattributed.unknown_share",
  wrong_share: "unattributed.wrong_share",
  share_facts: "unattributed.share_facts",
  legacy_share: "unattributed.legacy_share",
  read_only: "unattributed.read_only",
  share_ended: "unattributed.share_ended",
  not_opened: "unattributed.not_opened",
  bind_tag: "unattributed.bind_tag",
  bad_device_key: "unattributed.bad_device_key",
  edit_signature: "unattributed.edit_signature",
};

/** A sentence for `error`; `saving` says the failure came from writing what the user entered. */
export function explain(error: unknown, saving = false): string {
  if (error instanceof ApiError) {
    if (error.code === "too_many_attempts") return t("api.tooManyWait", { wait: humanDuration(error.retryAfter ?? 60) });
    return isErrorCode(error.code) ? t(API_EXPLANATIONS[error.code]) : t("error.refused", { message: error.message, code: error.code });
  }
  if (error instanceof NetworkError) return t("vault.network");
  if (error instanceof UnverifiedError) {
    return t("vault.unverifiedCurrent", { version: error.version, reason: reasonText({ reason: error.reason, code: error.code }) });
  }
  if (error instanceof PasswordChangedError) return t("client.passwordChanged", { reason: explain(error.reason) });
  if (error instanceof MessageError) return t(error.key, error.params);
  if (error instanceof ProtocolError) {
    // Record rules name the field, never its value, so their messages can be shown.
    if (PROTOCOL[error.kind]) return t(PROTOCOL[error.kind]!);
    if (saving && RECORD_RULES.has(error.kind)) return ruleText(error);
    return t("vault.check", { kind: error.kind });
  }
  if (error instanceof Error) return sentence(error.message);
  return t("vault.wrong");
}

/** A message that is not the catalogue's (a browser's own error) as a sentence. */
function sentence(text: string): string {
  const trimmed = text.trim();
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?。]$/.test(capital) ? capital : `${capital}.`;
}

/** Whether the session is over (the page goes back to the login screen). */
export function isSessionEnd(error: unknown): boolean {
  return error instanceof ApiError && error.code === "unauthorized";
}
