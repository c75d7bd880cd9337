//! What the store keeps. Everything here is ciphertext or metadata: no field of these types ever holds a
//! password, key, link secret or plaintext record content.

use uuid::Uuid;

/// Unix time in seconds. The store never reads a clock: every operation that depends on time takes `now`.
pub type UnixTime = i64;

/// A 16-byte id (account, record, share handle, file), written as UUID text on the wire.
pub type Id = Uuid;

/// The S-derived share id recipients use (16 bytes). Never an owner-side handle.
pub type ShareId = [u8; 16];

/// Argon2id parameters stored per account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

#[derive(Debug, Clone)]
pub struct NewAccount {
    pub id: Id,
    /// Normalised email (NFC, ASCII lower case); unique.
    pub email: String,
    pub kdf: KdfParams,
    /// The 16 random bytes of the account's KDF salt.
    pub kdf_salt: Vec<u8>,
    /// SHA-256 of the client's auth key.
    pub auth_hash: [u8; 32],
    /// The data key sealed under the wrapping key.
    pub wrapped_data_key: Vec<u8>,
    pub created_at: UnixTime,
}

#[derive(Debug, Clone)]
pub struct Account {
    pub id: Id,
    pub email: String,
    pub kdf: KdfParams,
    pub kdf_salt: Vec<u8>,
    pub auth_hash: [u8; 32],
    pub wrapped_data_key: Vec<u8>,
    pub created_at: UnixTime,
    /// When an administrator disabled the account; `None` while it is enabled.
    pub disabled_at: Option<UnixTime>,
}

/// What a password change replaces: everything the server keeps that was derived from the password.
#[derive(Debug, Clone)]
pub struct NewCredentials {
    pub kdf: KdfParams,
    /// The new 16 random bytes of the KDF salt.
    pub kdf_salt: Vec<u8>,
    /// SHA-256 of the new auth key.
    pub auth_hash: [u8; 32],
    /// The same data key, sealed under the new wrapping key.
    pub wrapped_data_key: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct NewSession {
    /// SHA-256 of the bearer token; the token itself is never stored.
    pub token_hash: [u8; 32],
    pub account_id: Id,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub account_id: Id,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

/// Who wrote a record version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Author {
    Owner,
    /// A recipient, through the share with this owner-side handle.
    Share(Id),
}

/// A version to append. The server has already parsed the envelope and checked what it can see
/// (ids, numbers, `prev`, sizes, and for recipients the device signature).
#[derive(Debug, Clone)]
pub struct NewVersion {
    pub version: u64,
    pub key_gen: u64,
    /// The whole envelope bytes (docs/protocol.md §3.2).
    pub envelope: Vec<u8>,
    /// The sealed summary, copied out of the envelope for the list view.
    pub summary: Vec<u8>,
    /// Owner tag (32 bytes) or device signature (64 bytes).
    pub proof: Vec<u8>,
    pub author: Author,
    pub created_at: UnixTime,
}

#[derive(Debug, Clone)]
pub struct NewRecord {
    pub id: Id,
    /// RK_1 wrapped by the data key.
    pub wrapped_key: Vec<u8>,
    /// Version 1 under key generation 1.
    pub first: NewVersion,
}

/// One row of the owner's record list.
#[derive(Debug, Clone)]
pub struct RecordHead {
    pub id: Id,
    pub version: u64,
    pub key_gen: u64,
    /// RK for `key_gen`, wrapped by the data key.
    pub wrapped_key: Vec<u8>,
    pub summary: Vec<u8>,
    pub author: Author,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
    /// A share of this record ended since the key was last rotated; the owner's client should rotate.
    pub rotate_pending: bool,
}

/// A record as its owner's list shows it: the head and, when the current envelope is at most the limit
/// the caller gave, that envelope and its proof (both `None` otherwise, so a list never carries a
/// half-MiB body per record).
#[derive(Debug, Clone)]
pub struct ListedRecord {
    pub head: RecordHead,
    pub envelope: Option<Vec<u8>>,
    pub proof: Option<Vec<u8>>,
}

/// A record's current version in full.
#[derive(Debug, Clone)]
pub struct RecordCurrent {
    pub head: RecordHead,
    pub envelope: Vec<u8>,
    pub proof: Vec<u8>,
}

/// A stored version, for history.
#[derive(Debug, Clone)]
pub struct VersionRow {
    pub version: u64,
    pub key_gen: u64,
    pub envelope: Vec<u8>,
    pub proof: Vec<u8>,
    pub author: Author,
    pub created_at: UnixTime,
}

#[derive(Debug, Clone)]
pub struct History {
    pub versions: Vec<VersionRow>,
    /// Every key generation's RK wrapped by the data key, oldest first.
    pub keys: Vec<(u64, Vec<u8>)>,
}

/// A key rotation: the current body resealed under `RK_{k+1}` as a new version, the new key wrapped by
/// the data key, and wrapped again for every share of the record that has not ended.
#[derive(Debug, Clone)]
pub struct Rotation {
    pub base_version: u64,
    /// Must be the current key generation + 1 (carried in `version.key_gen`).
    pub version: NewVersion,
    pub wrapped_key: Vec<u8>,
    /// (share handle, RK_{k+1} wrapped by that share's SK) for exactly the record's live shares.
    pub share_keys: Vec<(Id, Vec<u8>)>,
}

#[derive(Debug, Clone)]
pub struct NewShare {
    pub handle: Id,
    pub share_id: ShareId,
    /// SHA-256 of the access token T.
    pub token_hash: [u8; 32],
    /// RK for the rotation's new key generation, wrapped by SK.
    pub wrapped_key: Vec<u8>,
    /// AEAD(DK, S ‖ S′).
    pub owner_secret: Vec<u8>,
    /// AEAD(DK, label), if any.
    pub label: Option<Vec<u8>>,
    pub editable: bool,
    /// Seconds after binding at which the share ends ("burn after open").
    pub burn_after: Option<i64>,
    /// The link needs a passphrase (display only; the server cannot check it).
    pub passphrase: bool,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    /// The share ends at its first fetch (see [`crate::Store::recipient_view_once`]).
    pub view_once: bool,
    /// The sealed share preface (docs/protocol.md §4.6), opaque to the server.
    pub preface: Option<Vec<u8>>,
    /// Seconds after binding at which the record itself is destroyed (docs/protocol.md §4.7).
    pub destroy_after: Option<i64>,
    /// A request: the share ends with the version that reaches its number of answers.
    pub request: Option<ShareRequest>,
}

/// What the server keeps of a request (docs/protocol.md §4.5): the number of recipient versions after
/// which the share ends, and the sealed instructions it passes on without being able to read them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareRequest {
    pub max_answers: u32,
    pub instructions: Vec<u8>,
}

/// Why a share ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// The owner deleted it.
    Deleted,
    /// The bound recipient ended it ("I have it, delete it").
    RecipientDone,
    /// Its record was deleted.
    RecordDeleted,
    /// Its expiry time passed (including burn-after-open).
    Expired,
    /// A view-once share was shown to its device once.
    Viewed,
    /// A request took its last answer.
    Answered,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Deleted => "deleted",
            EndReason::RecipientDone => "recipient_done",
            EndReason::RecordDeleted => "record_deleted",
            EndReason::Expired => "expired",
            EndReason::Viewed => "viewed",
            EndReason::Answered => "answered",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "deleted" => EndReason::Deleted,
            "recipient_done" => EndReason::RecipientDone,
            "record_deleted" => EndReason::RecordDeleted,
            "expired" => EndReason::Expired,
            "viewed" => EndReason::Viewed,
            "answered" => EndReason::Answered,
            _ => return None,
        })
    }
}

/// A share's state at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareState {
    /// Live, no device bound yet.
    Active,
    /// Live and bound to a device.
    Opened,
    /// Ended by time (expiry or burn-after-open).
    Expired,
    /// Ended by the owner, the recipient, or the record's deletion.
    Deleted,
}

impl ShareState {
    pub fn as_str(self) -> &'static str {
        match self {
            ShareState::Active => "active",
            ShareState::Opened => "opened",
            ShareState::Expired => "expired",
            ShareState::Deleted => "deleted",
        }
    }

    pub fn is_live(self) -> bool {
        matches!(self, ShareState::Active | ShareState::Opened)
    }
}

#[derive(Debug, Clone)]
pub struct ShareRow {
    pub handle: Id,
    pub share_id: ShareId,
    pub account_id: Id,
    pub record_id: Id,
    pub token_hash: [u8; 32],
    /// RK wrapped by SK; `None` once crypto-shredded after the share ended.
    pub wrapped_key: Option<Vec<u8>>,
    /// The key generation `wrapped_key` is for.
    pub key_gen: u64,
    pub owner_secret: Vec<u8>,
    pub label: Option<Vec<u8>>,
    pub editable: bool,
    pub burn_after: Option<i64>,
    pub passphrase: bool,
    pub created_at: UnixTime,
    /// Already lowered to `bound_at + burn_after` once bound.
    pub expires_at: UnixTime,
    pub bound_at: Option<UnixTime>,
    /// SEC1 point of the bound device.
    pub device_key: Option<Vec<u8>>,
    pub bind_tag: Option<Vec<u8>>,
    pub ended_at: Option<UnixTime>,
    pub end_reason: Option<EndReason>,
    pub last_access_at: Option<UnixTime>,
    pub edit_count: u64,
    pub failed_attempts: u32,
    pub last_failed_at: Option<UnixTime>,
    /// When another device holding the link was last reported refused (the `device_refused` event's
    /// time; at most one a [`DEVICE_REFUSED_EVENT_GAP`]).
    pub refused_at: Option<UnixTime>,
    /// The share ends at its first fetch.
    pub view_once: bool,
    /// A request, whose answers are `edit_count`.
    pub request: Option<ShareRequest>,
    /// Opens: the bound device's fetches of the record, at most one per [`OPEN_GAP_SECS`] (counted with
    /// `last_access_at`).
    pub open_count: u64,
    /// Every bind refused because the share is bound to another device.
    pub refused_count: u64,
    /// Every wrong access token judged, never cleared (unlike `failed_attempts`).
    pub failed_total: u64,
    /// The sealed share preface, if the sender made one.
    pub preface: Option<Vec<u8>>,
    /// Seconds after binding at which the record is destroyed.
    pub destroy_after: Option<i64>,
    /// When the record is destroyed: `min(bound_at + destroy_after, expires_at)`, set by the bind.
    pub destroy_at: Option<UnixTime>,
    /// The owner's account is disabled: the share answers nothing until it is enabled again (read
    /// with the share, so every read of a share sees it).
    pub owner_disabled: bool,
}

impl ShareRow {
    /// The state at `now`: expiry is judged here on every read, not only by the sweeper.
    pub fn state(&self, now: UnixTime) -> ShareState {
        match self.end_reason {
            Some(EndReason::Expired) => ShareState::Expired,
            Some(_) => ShareState::Deleted,
            None if self.ended_at.is_some() || self.expires_at <= now => ShareState::Expired,
            None if self.device_key.is_some() => ShareState::Opened,
            None => ShareState::Active,
        }
    }

    /// When it ended, or would have by time.
    pub fn ended_at(&self, now: UnixTime) -> Option<UnixTime> {
        self.ended_at
            .or((self.expires_at <= now).then_some(self.expires_at))
    }
}

/// A fetch of the record counts as a new open, and writes the last-access time, only this long after the
/// last recorded access: within it, the same visit (a reload, the page and the CLI polling), and the hot
/// read path stays free of writes.
pub const OPEN_GAP_SECS: i64 = 60;

/// Whether the `count`-th wrong access token of a share raises an [`EventKind::AccessFailures`] event:
/// at the 5th (the last free attempt) and then at every power of two (8, 16, 32, …). Past the 5th,
/// attempts are spaced out (docs/protocol.md §5.4), so these events come ever more rarely and never
/// flood the owner, yet a guesser who keeps going is reported again. Every backend follows this rule.
pub fn failures_raise_event(count: u32) -> bool {
    count == 5 || (count > 5 && count.is_power_of_two())
}

/// Seconds after a share's `device_refused` event before a refused bind raises another: a device
/// retrying (or a flood of them) tells the owner once a minute, not once a request. Every backend
/// decides it in the same conditional update that records the event's time.
pub const DEVICE_REFUSED_EVENT_GAP: i64 = 60;
/// An attempt schedule (docs/protocol.md §5.4, §7.1): `free` attempts go through at once; past them, the
/// next attempt waits `unit_secs × 2^(n − free)` seconds after the last one (n = attempts counted so far),
/// at most `max_secs`. Never a hard lock: a guesser must not be able to lock the real user out.
///
/// Both backends count an attempt and decide whether it may be judged in one conditional statement that
/// follows this schedule; [`Backoff::retry_after`] is the same rule, for the answer to a refused attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub free: u32,
    pub unit_secs: i64,
    pub max_secs: i64,
}

impl Backoff {
    /// Access tokens of a share: 5 free, then one per 2^(n−5) minutes, at most one per hour.
    pub const ACCESS: Backoff = Backoff {
        free: 5,
        unit_secs: 60,
        max_secs: 3600,
    };
    /// Login proofs (login and password change) per email: 5 free, then one per 2^(n−5) seconds, at
    /// most one per 15 minutes.
    pub const LOGIN: Backoff = Backoff {
        free: 5,
        unit_secs: 1,
        max_secs: 15 * 60,
    };
    /// The largest shift the schedule uses: past it the wait is `max_secs` for any sane unit.
    pub const MAX_SHIFT: u32 = 30;

    /// How long after the last attempt the next one may come, once `attempts` have been counted.
    pub fn wait(&self, attempts: u32) -> i64 {
        if attempts < self.free {
            return 0;
        }
        let shift = (attempts - self.free).min(Self::MAX_SHIFT);
        (self.unit_secs << shift).min(self.max_secs)
    }

    /// Seconds until the next attempt may be judged, or `None` if it may be now.
    pub fn retry_after(&self, attempts: u32, last: Option<UnixTime>, now: UnixTime) -> Option<i64> {
        let until = last? + self.wait(attempts);
        (until > now).then_some(until - now)
    }
}

/// How long a login attempt count is kept after its last attempt: a day, far beyond the longest wait, so
/// the schedule holds for anyone who keeps guessing, while the table does not grow with every address
/// ever tried.
pub const LOGIN_ATTEMPTS_TTL: i64 = 24 * 3600;

/// Rows the sweeper handles per step, each step its own transaction: it never holds the writer (or
/// row locks) for long, and the events of one step are all it holds at a time.
pub const SWEEP_BATCH: u64 = 500;

/// How long the sweeper rests after each full step before the next, as a multiple of the time that step
/// took (its wait for the database and its commit included). The sweeper is background work: over a
/// long pass (a million shares lapsing together) it takes at most `1 / (1 + SWEEP_REST)` of the wall
/// time, so live requests keep the writer and the cores for the rest, and it slows down further when live
/// writes make its steps wait. Its rate is thus at least `1 / (1 + SWEEP_REST)` of what the database
/// allows it flat out (docs/benchmarks.md §7 gives the measured rate).
pub const SWEEP_REST: u32 = 2;

/// The longest rest after one step: a step that waited long (a stalled disk) does not stop the pass.
pub const SWEEP_REST_MAX: std::time::Duration = std::time::Duration::from_secs(1);

/// How long one kind of step (expiry, shredding, purging …) may go on in one pass, rests included. A step
/// with rows left after that stops, the pass goes on to the other kinds and says it is
/// [`SweepReport::unfinished`], and the next pass starts at once: a backlog of a million lapsed shares
/// does not hold back the rest of the sweeper's work (self-destructing records, uploads) for its length.
pub const SWEEP_STEP_BUDGET: std::time::Duration = std::time::Duration::from_secs(10);

/// The shortest delay, in seconds, before garbage whose blob could not be deleted is listed again.
pub const GARBAGE_RETRY_MIN: i64 = 60;
/// The longest such delay: a blob failing for days is still tried a few times a day.
pub const GARBAGE_RETRY_MAX: i64 = 6 * 3600;

/// What a reservation of an attempt answered (`reserve_access_attempt`, `reserve_login_attempt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Counted: this is attempt number `n` since the last success, and it may be judged now. A correct
    /// attempt is then cleared; a wrong one stays counted.
    Granted { n: u32 },
    /// Not counted and not to be judged: the schedule allows the next attempt in `retry_after` seconds.
    Wait { retry_after: i64 },
}

/// The outcome of a bind attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindOutcome {
    /// This device is now bound (it won).
    Bound,
    /// The same device key was already bound: fine, idempotent.
    AlreadyBound,
    /// Another device holds the share.
    OtherDevice,
    /// The share has ended (deleted or expired).
    Ended,
    /// No share with this id and access token hash.
    NotFound,
}

/// The recipient's view: the share and its record's current version.
#[derive(Debug, Clone)]
pub struct RecipientView {
    pub share: ShareRow,
    pub version: u64,
    pub key_gen: u64,
    pub envelope: Vec<u8>,
    pub proof: Vec<u8>,
}

/// A recipient's signed, state-changing request: the nonce goes in under a unique key in the same
/// transaction as the change.
#[derive(Debug, Clone)]
pub struct SignedChange {
    pub share_id: ShareId,
    pub nonce: [u8; 16],
    pub now: UnixTime,
}

/// A live event for an owner, kept in the database so every node can stream it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Increasing per store; clients resume with `Last-Event-ID`.
    pub id: i64,
    pub account_id: Id,
    pub kind: EventKind,
    pub share: Option<Id>,
    pub record: Option<Id>,
    /// Record version for edits; failure count for access failures.
    pub number: Option<i64>,
    pub at: UnixTime,
}

/// What a wake-up from another node asks of this node's event streams ([`crate::Store::event_wakeups`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wakeup {
    /// New events of this account have committed (or its sessions changed).
    Account(Id),
    /// Wake-ups may have been missed (the listener reconnected): every stream should look.
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A device bound the share.
    ShareOpened,
    /// A recipient wrote a new version.
    RecordEdited,
    /// The share ended (any reason).
    ShareEnded,
    /// Wrong access tokens (e.g. passphrases) are being tried.
    AccessFailures,
    /// A second device, holding the link, was refused because another device holds the share (at
    /// most one a minute per share: [`DEVICE_REFUSED_EVENT_GAP`]).
    DeviceRefused,
    /// A file was added to the record (by its owner, or by a recipient through the share).
    FileAdded,
    /// A self-destructing record was deleted (`share`: the share whose opening set it off).
    RecordDestroyed,
}

impl EventKind {
    /// Every kind, for those who choose among them (webhook subscriptions).
    pub const ALL: &'static [EventKind] = &[
        EventKind::ShareOpened,
        EventKind::RecordEdited,
        EventKind::ShareEnded,
        EventKind::AccessFailures,
        EventKind::DeviceRefused,
        EventKind::FileAdded,
        EventKind::RecordDestroyed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::ShareOpened => "share_opened",
            EventKind::RecordEdited => "record_edited",
            EventKind::ShareEnded => "share_ended",
            EventKind::AccessFailures => "access_failures",
            EventKind::DeviceRefused => "device_refused",
            EventKind::FileAdded => "file_added",
            EventKind::RecordDestroyed => "record_destroyed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "share_opened" => EventKind::ShareOpened,
            "record_edited" => EventKind::RecordEdited,
            "share_ended" => EventKind::ShareEnded,
            "access_failures" => EventKind::AccessFailures,
            "device_refused" => EventKind::DeviceRefused,
            "file_added" => EventKind::FileAdded,
            "record_destroyed" => EventKind::RecordDestroyed,
            _ => return None,
        })
    }
}

/// A stored, encrypted file stream attached to a record.
#[derive(Debug, Clone)]
pub struct FileRow {
    pub record_id: Id,
    pub file_id: Id,
    /// Bytes of the encrypted blob.
    pub size: u64,
    pub parts: u32,
    pub uploaded_by: Author,
    pub complete: bool,
    pub created_at: UnixTime,
}

/// One write of one part of a file. Every write has a blob key of its own (the write id), so bytes
/// written after a file's completion can never replace the bytes it was completed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartBlob {
    pub record: Id,
    pub file: Id,
    pub part: u32,
    /// Fresh per write, chosen by the server; or [`PartBlob::legacy_write`] for a part stored before
    /// part writes had ids of their own.
    pub write: Id,
}

impl PartBlob {
    /// The write id of a part stored before every write had a key of its own (schema 0006): the part
    /// number as a UUID (`00000000-0000-0000-0000-0000000000ff` for part 255). A random (v4) write id
    /// never has twelve zero bytes in front, so the two cannot meet. Migration 0007 gives the parts of
    /// files completed before 0006 rows with this id, and the blob store maps it to the part's old key
    /// (`files/<record>/<file>/<part:08>`, no write id), so downloads, deletes and the sweeper's
    /// garbage find those parts like any other.
    pub fn legacy_write(part: u32) -> Id {
        Id::from_u128(u128::from(part))
    }

    /// Whether this is a part stored before 0006, under its old key.
    pub fn is_legacy(&self) -> bool {
        self.write == Self::legacy_write(self.part)
    }
}

/// The byte quotas a part write must fit in, from the server's settings. Stored bytes are counted over
/// every part write an account's records hold (attached or still being written), and for a share over
/// the files its recipient uploaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadLimits {
    /// File bytes one account's records may hold.
    pub account_bytes: u64,
    /// File bytes the recipient of one editable share may upload (also counted against the account).
    pub share_bytes: u64,
}

/// Which quota a write would have exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quota {
    Account,
    Share,
}

/// A self-destructing record the server deleted (docs/protocol.md §4.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestroyedRecord {
    pub account: Id,
    pub record: Id,
    /// The share whose opening set it off.
    pub share: Id,
    /// Its files, whose blobs the caller deletes (they are listed as garbage too).
    pub files: Vec<Id>,
}

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Shares newly marked ended by time.
    pub expired: u64,
    /// Wrapped keys dropped.
    pub shredded: u64,
    /// Ended shares removed after the retention time.
    pub purged: u64,
    /// Replay nonces forgotten.
    pub nonces: u64,
    /// Expired sessions removed.
    pub sessions: u64,
    /// Old events removed.
    pub events: u64,
    /// Login attempt counts forgotten after [`LOGIN_ATTEMPTS_TTL`] without an attempt.
    pub login_attempts: u64,
    /// A kind of step stopped at [`SWEEP_STEP_BUDGET`] with rows left: the next pass should start at once.
    pub unfinished: bool,
}

/// One account as the operator sees it: who, when, and how much it holds. Never any key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountUsage {
    pub id: Id,
    pub email: String,
    pub created_at: UnixTime,
    /// When its last session was created.
    pub last_login_at: Option<UnixTime>,
    pub disabled_at: Option<UnixTime>,
    pub records: u64,
    /// Shares live at the time asked about.
    pub live_shares: u64,
    /// File bytes its records hold (part writes, finished or in progress), as the quota counts them.
    pub file_bytes: u64,
}

/// What deleting an account removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountDeletion {
    pub records: u64,
    pub shares: u64,
    /// Part writes listed as blob garbage, deleted by the sweeper.
    pub blobs: u64,
}

/// A one-time invitation to register.
#[derive(Debug, Clone)]
pub struct NewInvite {
    pub id: Id,
    /// SHA-256 of the code's secret; the code itself is never stored.
    pub code_hash: [u8; 32],
    /// The operator's note (who it is for), shown in the list.
    pub note: Option<String>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    pub id: Id,
    pub code_hash: [u8; 32],
    pub note: Option<String>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub used_at: Option<UnixTime>,
    /// The account it made (cleared when that account is deleted).
    pub used_by: Option<Id>,
    pub revoked_at: Option<UnixTime>,
}

/// An invitation's state at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteState {
    Unused,
    Used,
    Revoked,
    Expired,
}

impl InviteState {
    pub fn as_str(self) -> &'static str {
        match self {
            InviteState::Unused => "unused",
            InviteState::Used => "used",
            InviteState::Revoked => "revoked",
            InviteState::Expired => "expired",
        }
    }
}

impl Invite {
    pub fn state(&self, now: UnixTime) -> InviteState {
        if self.used_at.is_some() {
            InviteState::Used
        } else if self.revoked_at.is_some() {
            InviteState::Revoked
        } else if self.expires_at <= now {
            InviteState::Expired
        } else {
            InviteState::Unused
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_backoff_is_never_a_lock() {
        let b = Backoff::ACCESS;
        assert_eq!(b.retry_after(4, Some(0), 0), None);
        assert_eq!(b.retry_after(5, Some(0), 0), Some(60));
        assert_eq!(b.retry_after(6, Some(0), 0), Some(120));
        assert_eq!(b.retry_after(6, Some(0), 120), None);
        assert_eq!(b.retry_after(100, Some(0), 0), Some(3600));
        assert_eq!(
            b.retry_after(100, Some(0), 3600),
            None,
            "one attempt per hour stays possible"
        );
        assert_eq!(b.retry_after(u32::MAX, Some(0), 0), Some(3600));
    }

    #[test]
    fn login_backoff_grows_and_is_capped() {
        let b = Backoff::LOGIN;
        assert_eq!(b.retry_after(4, Some(100), 100), None);
        assert_eq!(b.retry_after(5, Some(100), 100), Some(1));
        assert_eq!(b.retry_after(8, Some(100), 100), Some(8));
        assert_eq!(b.retry_after(8, Some(100), 108), None);
        assert_eq!(b.retry_after(40, Some(100), 100), Some(15 * 60));
    }
}

/// A webhook endpoint to register (docs/protocol.md §9.9). The server has checked the URL and the kinds.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub id: Id,
    pub account: Id,
    pub url: String,
    /// Event kinds (their text, so kinds added later need nothing here), without duplicates.
    pub kinds: Vec<String>,
    /// The signing secret, kept to sign every delivery; shown to the owner once.
    pub secret: Vec<u8>,
    pub created_at: UnixTime,
}

/// A registered endpoint, without its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: Id,
    pub account_id: Id,
    pub url: String,
    /// Sorted.
    pub kinds: Vec<String>,
    pub created_at: UnixTime,
}

/// The kind of a delivery that carries no event: the owner's test ping.
pub const WEBHOOK_PING: &str = "ping";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Waiting for its next attempt, or being attempted.
    Pending,
    /// An attempt got a 2xx answer.
    Delivered,
    /// Every attempt failed.
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => DeliveryState::Pending,
            "delivered" => DeliveryState::Delivered,
            "failed" => DeliveryState::Failed,
            _ => return None,
        })
    }
}

/// One event (or ping) for one endpoint, with its attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDelivery {
    /// Also the `Sharelock-Webhook-Id` of every attempt, so a receiver can drop repeats.
    pub id: i64,
    pub endpoint: Id,
    /// The event's id; `None` for a ping.
    pub event_id: Option<i64>,
    pub kind: String,
    pub share: Option<Id>,
    pub record: Option<Id>,
    pub number: Option<i64>,
    pub at: UnixTime,
    pub state: DeliveryState,
    /// Attempts begun (one whose node died counts too).
    pub attempts: u32,
    /// When a pending delivery is next tried (or its running attempt's lease ends).
    pub due_at: Option<UnixTime>,
    pub finished_at: Option<UnixTime>,
    /// Oldest first.
    pub log: Vec<WebhookAttempt>,
}

/// One attempt at a delivery. No outcome: still running, or its node died during it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookAttempt {
    pub n: u32,
    pub started_at: UnixTime,
    pub finished_at: Option<UnixTime>,
    /// The receiver's HTTP status.
    pub status: Option<u16>,
    /// Why no status came (an error class such as `timeout`, never a message with addresses).
    pub error: Option<String>,
    /// When the next attempt was planned, after a failure.
    pub next_at: Option<UnixTime>,
}

/// A delivery claimed for one attempt ([`crate::Store::claim_webhook_deliveries`]): what the worker needs
/// to send it. Until `lease_until` no other node claims it.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub id: i64,
    pub endpoint: Id,
    pub account: Id,
    pub url: String,
    pub secret: Vec<u8>,
    pub event_id: Option<i64>,
    pub kind: String,
    pub share: Option<Id>,
    pub record: Option<Id>,
    pub number: Option<i64>,
    pub at: UnixTime,
    /// This attempt's number (1 for the first).
    pub attempt: u32,
    pub lease_until: UnixTime,
}

/// How an attempt ended ([`crate::Store::finish_webhook_attempt`]).
#[derive(Debug, Clone)]
pub struct AttemptOutcome {
    pub delivery: i64,
    pub attempt: u32,
    pub now: UnixTime,
    pub status: Option<u16>,
    pub error: Option<String>,
    /// A 2xx answer: the delivery is done.
    pub delivered: bool,
    /// After a failure: when to try again; `None` gives up (the delivery fails).
    pub next_at: Option<UnixTime>,
}
