// The owner's vault over the API (docs/protocol.md §2, §3, §4, §6, §7), split by resource like the Rust
// client (crates/sharelock-client): see session.ts.
export { Account, raisedKdf, type Stage, type StageListener } from "./account";
export { PasswordChangedError, UnverifiedError, VaultError, WrongPasswordError } from "./errors";
export { OwnerEvents } from "./events";
export { checkFileName, Files, type Progress } from "./files";
export { Records, type CreateOutcome, type HistoryEntry, type OpenedRecord, type RecordListEntry } from "./records";
export { login, OwnerSession, register } from "./session";
export { Shares, type CreatedRequest, type CreatedShare, type RequestOptions, type ShareEntry, type ShareOptions } from "./shares";
export { WEBHOOK_KINDS, Webhooks, type DeliveryInfo, type WebhookCreated, type WebhookInfo } from "./webhooks";
