//! Sharelock's storage: the [`Store`] trait, one implementation per database backend, [`BlobStore`]
//! for encrypted file streams, and [`copy`], which moves a SQLite deployment into PostgreSQL.
//!
//! All SQL lives in this crate, next to the method it serves. The store never reads a clock (`now` is a
//! parameter) and judges expiry on every read, so behaviour over time is testable without waiting.
//! Every conditional change (binding, versioned updates, replay nonces) is one statement or one
//! transaction, so racing requests on any number of server nodes resolve the same way.
#![forbid(unsafe_code)]

pub mod backup;
pub mod blob;
pub mod copy;
pub mod model;
pub mod postgres;
pub mod sqlite;
#[cfg(feature = "testing")]
#[allow(clippy::expect_used, clippy::unwrap_used)]
pub mod testing;

use async_trait::async_trait;
pub use blob::{BlobStore, S3Config};
use futures::stream::BoxStream;
pub use model::*;
use std::time::Instant;

/// Why a store operation failed. The HTTP layer maps each variant to one status.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The addressed object does not exist (or belongs to another account).
    #[error("not found")]
    NotFound,
    /// A unique key already exists (email, record id, share id).
    #[error("already exists")]
    AlreadyExists,
    /// A versioned write was based on an old version.
    #[error("version conflict: the current version is {current_version}")]
    VersionConflict {
        current_version: u64,
        current_key_gen: u64,
    },
    /// A write used a record key generation that is no longer current.
    #[error("stale record key: the current key generation is {current_key_gen}")]
    StaleKey {
        current_version: u64,
        current_key_gen: u64,
    },
    /// A rotation did not rewrap the key for exactly the record's live shares.
    #[error("the rotation does not cover exactly the record's live shares")]
    ShareSetMismatch,
    /// The share has ended (deleted or expired).
    #[error("share has ended")]
    ShareEnded,
    /// The share is not editable, or not bound to a device.
    #[error("operation not allowed on this share")]
    NotAllowed,
    /// A signed request's nonce was already used.
    #[error("replayed request")]
    Replay,
    /// Storing these bytes would take an account or a share over its quota; nothing was stored.
    #[error("over the {0:?} quota")]
    QuotaExceeded(Quota),
    /// The account already has as many live shares as it may.
    #[error("the account has reached its live share limit")]
    ShareLimit,
    /// The account already has as many webhook endpoints as it may.
    #[error("the account has reached its webhook endpoint limit")]
    WebhookLimit,
    /// The account is disabled: no session may be created for it.
    #[error("the account is disabled")]
    AccountDisabled,
    /// A completion whose `parts` and `size` do not match the attached parts.
    #[error("the stored parts do not match the completion")]
    PartsMismatch,
    /// The database failed; the message is for logs and carries no secrets.
    #[error("database error: {0}")]
    Backend(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What attaching a part write came to. A refusal is an outcome, not an error, so the transaction that
/// lists the refused write as garbage still commits.
pub(crate) enum Attach {
    /// Attached; the write it replaced, if any, is garbage now.
    Done(Option<PartBlob>),
    Refused(StoreError),
}

impl Attach {
    pub(crate) fn into_result(self) -> Result<Option<PartBlob>> {
        match self {
            Attach::Done(replaced) => Ok(replaced),
            Attach::Refused(e) => Err(e),
        }
    }
}

/// The attached parts `(part, size)`, sorted by part, are exactly `0..parts` and add up to `size`.
pub(crate) fn parts_match(attached: &[(u32, u64)], parts: u32, size: u64) -> bool {
    attached.len() as u64 == u64::from(parts)
        && attached
            .iter()
            .enumerate()
            .all(|(i, (n, _))| *n as usize == i)
        && attached.iter().map(|(_, s)| *s).sum::<u64>() == size
}

/// The service's database. Every write that raises owner events returns them, as committed (with their
/// ids, oldest first), so the caller can publish them; a write that fails returns none and commits
/// none. Implementations: [`sqlite::SqliteStore`] (single node, the default) and
/// [`postgres::PostgresStore`] (many stateless nodes).
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// A cheap query proving the database answers (readiness).
    async fn ping(&self) -> Result<()>;

    // --- accounts and sessions ---

    /// `AlreadyExists` if the email is taken.
    async fn create_account(&self, account: NewAccount) -> Result<()>;
    async fn account_by_email(&self, email: &str) -> Result<Option<Account>>;
    async fn account_by_id(&self, id: Id) -> Result<Option<Account>>;
    /// Counts a login attempt for `key` (a keyed hash of the normalised email, so unknown emails are
    /// counted exactly like known ones and no tried address is stored) and says whether it may be judged,
    /// in one conditional statement following [`Backoff::LOGIN`]: of any number of racing attempts, only as
    /// many as the schedule allows are granted. Call it before the proof is compared.
    async fn reserve_login_attempt(&self, key: &[u8; 32], now: UnixTime) -> Result<Attempt>;
    /// A granted login attempt was right: forgets the count for `key`.
    async fn clear_login_attempts(&self, key: &[u8; 32]) -> Result<()>;
    /// Creates a session and notes the login time on the account, in one transaction, under the
    /// account's row lock: `AccountDisabled` for a disabled account (so a login racing a disable never
    /// leaves a session behind), `NotFound` for an unknown one.
    async fn create_session(&self, session: NewSession) -> Result<()>;
    /// The live session for a token hash at `now`, or `None` (unknown or expired).
    async fn session(&self, token_hash: &[u8; 32], now: UnixTime) -> Result<Option<Session>>;
    async fn delete_session(&self, token_hash: &[u8; 32]) -> Result<()>;
    async fn delete_sessions(&self, account: Id) -> Result<()>;
    /// A password change, in one transaction: if the account's auth hash is still `expected_auth_hash`,
    /// replaces its KDF parameters, salt, auth hash and wrapped data key with `new` and deletes every one
    /// of its sessions. Returns `false`, changing nothing, when the stored
    /// hash is another (a racing change won); `NotFound` for an unknown account. The caller has already
    /// checked the proof in constant time: the guard here only orders racing changes.
    async fn change_credentials(
        &self,
        account: Id,
        expected_auth_hash: &[u8; 32],
        new: NewCredentials,
    ) -> Result<bool>;

    // --- records (owner) ---

    /// `AlreadyExists` if the record id is taken.
    async fn create_record(&self, account: Id, record: NewRecord) -> Result<()>;
    /// The account's records, most recently changed first, each with its current version's envelope and
    /// proof when the envelope is at most `envelope_limit` bytes: one query, whatever the number of records.
    async fn list_records(&self, account: Id, envelope_limit: usize) -> Result<Vec<ListedRecord>>;
    async fn record(&self, account: Id, record: Id) -> Result<Option<RecordCurrent>>;
    /// Appends an owner version if the current version is `base_version` and the key generation is
    /// unchanged (`VersionConflict` / `StaleKey` otherwise).
    async fn update_record(
        &self,
        account: Id,
        record: Id,
        base_version: u64,
        version: NewVersion,
    ) -> Result<()>;
    /// Rotates the record key (see [`Rotation`]); clears `rotate_pending`.
    async fn rotate_record(&self, account: Id, record: Id, rotation: Rotation) -> Result<()>;
    /// Deletes the record, its versions and keys, and ends its shares (`RecordDeleted`).
    /// Returns the file ids whose blobs the caller should delete, and the events committed.
    async fn delete_record(
        &self,
        account: Id,
        record: Id,
        now: UnixTime,
    ) -> Result<(Vec<Id>, Vec<Event>)>;
    async fn history(&self, account: Id, record: Id) -> Result<Option<History>>;

    // --- shares (owner) ---

    /// Rotates the record's key and inserts the share in one transaction; `ShareLimit` if the account
    /// already has `max_live_shares` shares live at the share's `created_at` (counted in the same
    /// transaction, one account at a time, so racing creations cannot pass the limit together).
    async fn create_share(
        &self,
        account: Id,
        record: Id,
        rotation: Rotation,
        share: NewShare,
        max_live_shares: u32,
    ) -> Result<()>;
    /// The account's shares, newest first, optionally for one record. Ended shares are included until purged.
    async fn list_shares(&self, account: Id, record: Option<Id>) -> Result<Vec<ShareRow>>;
    async fn share(&self, account: Id, handle: Id) -> Result<Option<ShareRow>>;
    /// Ends a share at once (idempotent: ending an ended share changes nothing), drops its wrapped key,
    /// marks its record `rotate_pending` and raises a `ShareEnded` event (none if it had ended).
    async fn end_share(
        &self,
        account: Id,
        handle: Id,
        now: UnixTime,
    ) -> Result<(ShareRow, Vec<Event>)>;

    // --- recipients ---

    /// Looks a share up by its S-derived id (ended shares included until purged).
    async fn share_by_id(&self, share_id: &ShareId) -> Result<Option<ShareRow>>;
    /// Counts an access-token attempt on a share and says whether it may be judged, in one conditional
    /// statement following [`Backoff::ACCESS`]: of any number of racing attempts, on any number of nodes,
    /// only as many as the schedule allows are granted. Call it before the token is compared; `NotFound`
    /// for an unknown share.
    async fn reserve_access_attempt(&self, share_id: &ShareId, now: UnixTime) -> Result<Attempt>;
    /// The judgement of a granted attempt `n`: a right token clears the share's count; a wrong one stays
    /// counted and raises an `AccessFailures` event when it is the 5th, or a further power of two
    /// ([`failures_raise_event`]). Returns the events committed.
    async fn access_attempt_judged(
        &self,
        share_id: &ShareId,
        n: u32,
        correct: bool,
        now: UnixTime,
    ) -> Result<Vec<Event>>;
    /// The conditional bind of docs/protocol.md §5.3, then a re-read on zero rows. On `Bound`, lowers
    /// `expires_at` to `now + burn_after` and raises `ShareOpened`.
    async fn bind(
        &self,
        share_id: &ShareId,
        token_hash: &[u8; 32],
        device_key: &[u8],
        bind_tag: &[u8],
        now: UnixTime,
    ) -> Result<(BindOutcome, Vec<Event>)>;
    /// The share and its record's current version, or `None` if unknown; `ShareEnded` if the share is
    /// not live at `now` (nothing of an ended share is served, even before the sweeper has run).
    async fn recipient_view(
        &self,
        share_id: &ShareId,
        now: UnixTime,
    ) -> Result<Option<RecipientView>>;
    /// Records a read's time. Fire-and-forget: the caller need not wait for durability.
    async fn touch_share(&self, share_id: &ShareId, now: UnixTime) -> Result<()>;
    /// A recipient's edit: checks the share is live, bound and editable, inserts the nonce, appends the
    /// version against `base_version` and the current key generation, counts the edit and raises
    /// `RecordEdited`, all in one transaction.
    async fn recipient_edit(
        &self,
        change: SignedChange,
        base_version: u64,
        version: NewVersion,
    ) -> Result<Vec<Event>>;
    /// The bound recipient ends the share (`RecipientDone`), with the nonce, in one transaction.
    async fn recipient_end(&self, change: SignedChange) -> Result<(ShareRow, Vec<Event>)>;
    /// A view-once share's one showing: in one transaction, the view [`Store::recipient_view`] reads and
    /// the share's end (`Viewed`: wrapped key dropped, record flagged for rotation, `ShareEnded` raised).
    /// The share must be live, view-once and bound to `device_key` (else `ShareEnded`, `NotAllowed`,
    /// `NotFound`). Of any number of racing calls, on any number of nodes, exactly one gets the view;
    /// the others see the share ended.
    async fn recipient_view_once(
        &self,
        share_id: &ShareId,
        device_key: &[u8],
        now: UnixTime,
    ) -> Result<(RecipientView, Vec<Event>)>;
    /// [`Store::reserve_access_attempt`] and, when granted, [`Store::access_attempt_judged`] as one durable
    /// write (one transaction): the attempt is counted and granted, or refused with its wait, by the same
    /// conditional statement, and only a granted attempt's judgement (`correct`, the caller's constant-time
    /// comparison of the token) is applied. A refused attempt's `correct` is never used, so answering from
    /// it tells the caller nothing the schedule does not allow. `NotFound` for an unknown share.
    async fn access_attempt(
        &self,
        share_id: &ShareId,
        correct: bool,
        now: UnixTime,
    ) -> Result<(Attempt, Vec<Event>)>;
    /// A first open by a new key as one durable write: the attempt at T counted and granted (or refused
    /// with its wait) and judged by `correct` as by [`Store::access_attempt`], and only a granted attempt
    /// with the right T goes on to the conditional bind of [`Store::bind`], in the same transaction. The
    /// bind's outcome is `None` when the attempt was refused or T was wrong. `NotFound` for an unknown share.
    async fn bind_with_attempt(
        &self,
        share_id: &ShareId,
        correct: bool,
        token_hash: &[u8; 32],
        device_key: &[u8],
        bind_tag: &[u8],
        now: UnixTime,
    ) -> Result<(Attempt, Option<BindOutcome>, Vec<Event>)>;
    /// Inserts a nonce for a state-changing request that has no other effect in this store (file parts).
    async fn use_nonce(&self, change: SignedChange) -> Result<()>;

    // --- files ---

    /// Reserves a part write before its bytes are stored, in one transaction: registers the upload if
    /// it is new (an upload belongs to its first author: a completed file or another author's upload is
    /// `AlreadyExists`, an unknown record `NotFound`), counts the account's stored bytes (and for a
    /// share's upload the share's) with this write against `limits` (`QuotaExceeded`, nothing stored),
    /// and records the write as in progress, counted from now on. Racing writes are counted one after
    /// another, so together they cannot pass a quota.
    async fn reserve_part(
        &self,
        write: PartBlob,
        size: u64,
        by: Author,
        limits: UploadLimits,
        now: UnixTime,
    ) -> Result<()>;
    /// Makes a reserved write, whose bytes are now stored, its part's bytes; returns the write it
    /// replaces, which becomes garbage. Exclusive with completion: once the file is completed (or
    /// swept) the write is refused (`AlreadyExists`, `NotFound`) and becomes garbage itself, so a
    /// completed file never changes.
    async fn attach_part(&self, write: PartBlob, now: UnixTime) -> Result<Option<PartBlob>>;
    /// A reserved write whose bytes could not be stored: it stops counting and becomes garbage.
    async fn discard_part(&self, write: PartBlob, now: UnixTime) -> Result<()>;
    /// Completes an upload by its author (anyone else: `NotFound`), in one transaction exclusive with
    /// part writes: the attached parts must be exactly `0..parts` adding up to `size` (`PartsMismatch`);
    /// writes still in progress become garbage. Completing again with the same totals is fine (a
    /// retried request); other totals are `AlreadyExists`.
    /// The first completion raises `FileAdded` (for the record's owner, with the share for a recipient's
    /// upload); a repeated one raises nothing.
    async fn complete_file(
        &self,
        record: Id,
        file: Id,
        by: Author,
        parts: u32,
        size: u64,
        now: UnixTime,
    ) -> Result<Vec<Event>>;
    async fn file(&self, record: Id, file: Id) -> Result<Option<FileRow>>;
    async fn files(&self, record: Id) -> Result<Vec<FileRow>>;
    /// A file's attached part writes, by part number.
    async fn file_parts(&self, record: Id, file: Id) -> Result<Vec<PartBlob>>;
    /// Drops uploads begun more than `upload_ttl` seconds before `now` and never completed, in
    /// batches: their rows go and their part writes become garbage in the same transaction. Returns the
    /// uploads dropped.
    async fn sweep_uploads(&self, now: UnixTime, upload_ttl: i64) -> Result<u64>;
    /// Part writes no row refers to any more (replaced, refused, discarded, swept) that are due at
    /// `now`, at most `limit`, oldest first: the caller deletes their blobs, then forgets them with
    /// [`Store::forget_garbage`], and hands those whose deletion failed to
    /// [`Store::postpone_garbage`]. New garbage is due at once.
    async fn blob_garbage(&self, limit: u32, now: UnixTime) -> Result<Vec<PartBlob>>;
    /// Forgets garbage whose blobs are deleted.
    async fn forget_garbage(&self, blobs: Vec<PartBlob>) -> Result<()>;
    /// Garbage whose deletion failed at `now`: listed again only after a delay that grows with how
    /// long it has been garbage (from [`GARBAGE_RETRY_MIN`] to [`GARBAGE_RETRY_MAX`] seconds), so
    /// blobs that keep failing do not fill every batch and hold back the garbage listed after them.
    async fn postpone_garbage(&self, blobs: Vec<PartBlob>, now: UnixTime) -> Result<()>;

    // --- events ---

    /// Events for an account after `after`, oldest first, at most `limit`.
    async fn events_since(&self, account: Id, after: i64, limit: u32) -> Result<Vec<Event>>;
    /// The newest event id for an account (0 if none), where a new stream starts.
    async fn last_event_id(&self, account: Id) -> Result<i64>;
    /// Wake-ups for events committed by any node sharing this database, for a server to wake its
    /// event streams with (beside the events its own writes return). `None` when no other node can
    /// write (SQLite: one process). The stream reconnects by itself and says [`Wakeup::All`] after a
    /// gap in which wake-ups may have been lost.
    fn event_wakeups(&self) -> Option<BoxStream<'static, Wakeup>>;

    // --- webhooks (docs/protocol.md §9.9) ---
    //
    // The outbox: every event insert (both backends, in the event's own transaction) adds one delivery
    // per endpoint of the account subscribed to its kind. Workers on any number of nodes claim due
    // deliveries for one attempt under a lease, so a delivery whose node dies is claimed again when the
    // lease ends (at least once, never lost).

    /// Registers an endpoint with its kinds; `WebhookLimit` if the account already has `max_per_account`
    /// (counted in the same transaction, one account at a time), `NotFound` for an unknown account.
    async fn create_webhook(&self, webhook: NewWebhook, max_per_account: u32) -> Result<()>;
    /// The account's endpoints, oldest first.
    async fn webhooks(&self, account: Id) -> Result<Vec<Webhook>>;
    /// Deletes an endpoint with its subscriptions and deliveries; `NotFound` if it is not the account's.
    async fn delete_webhook(&self, account: Id, endpoint: Id) -> Result<()>;
    /// Queues a ping ([`WEBHOOK_PING`]) for the endpoint, due at once; returns the delivery's id.
    /// `NotFound` if it is not the account's.
    async fn ping_webhook(&self, account: Id, endpoint: Id, now: UnixTime) -> Result<i64>;
    /// The endpoint's newest deliveries (at most `limit`), newest first, each with its attempts; `None`
    /// if the endpoint is not the account's.
    async fn webhook_deliveries(
        &self,
        account: Id,
        endpoint: Id,
        limit: u32,
    ) -> Result<Option<Vec<WebhookDelivery>>>;
    /// Claims up to `limit` due pending deliveries (`due_at <= now`) for one attempt each, in one
    /// transaction: each one's attempt count goes up, an attempt row without outcome is written, and
    /// `due_at` moves to `now + lease` so no other worker claims it meanwhile (PostgreSQL: rows another
    /// node is claiming are skipped, `FOR UPDATE SKIP LOCKED`). A due delivery that has already begun
    /// `max_attempts` attempts (its last node died) fails instead.
    async fn claim_webhook_deliveries(
        &self,
        now: UnixTime,
        lease: i64,
        limit: u32,
        max_attempts: u32,
    ) -> Result<Vec<ClaimedDelivery>>;
    /// Writes an attempt's outcome and moves its delivery on: delivered, due again at `next_at`, or
    /// failed. A delivery already delivered stays so; a failure of an attempt that is no longer the
    /// delivery's latest (its lease ran out and another attempt began) changes only its own row.
    async fn finish_webhook_attempt(&self, outcome: AttemptOutcome) -> Result<()>;
    /// Forgets deliveries that finished (delivered or failed) before `before`; returns how many.
    async fn purge_webhook_deliveries(&self, before: UnixTime) -> Result<u64>;

    // --- maintenance ---

    /// Ends shares whose time has passed (raising `ShareEnded`), drops wrapped keys of ended shares,
    /// purges shares ended more than `retention` seconds ago, forgets nonces older than `nonce_ttl`
    /// seconds, expired sessions, events older than `event_ttl` seconds, and login attempt counts idle for
    /// [`LOGIN_ATTEMPTS_TTL`] seconds. Works in batches of bounded size, each its own transaction, and
    /// hands the events each batch committed to `publish` right after its commit, so a pass over a
    /// million expired shares holds one batch's events at a time. It is background work: between two
    /// batches it rests twice as long as the last one took ([`SWEEP_REST`]), and a kind of step stops
    /// after [`SWEEP_STEP_BUDGET`] with the report [`SweepReport::unfinished`]. Returns what it did.
    async fn sweep(
        &self,
        now: UnixTime,
        retention: i64,
        nonce_ttl: i64,
        event_ttl: i64,
        publish: &(dyn Fn(Vec<Event>) + Send + Sync),
    ) -> Result<SweepReport>;

    /// Destroys self-destructing records whose time has come (docs/protocol.md §4.7): each record with a
    /// share whose `destroy_at` is at or before `now`, at most `limit`, soonest first, is deleted as by
    /// [`Store::delete_record`] (every share ends, wrapped keys go, files become garbage) and
    /// `RecordDestroyed` is raised, in one transaction per record. Safe on many nodes at once: the due
    /// check is made again under the record's lock, so each record is destroyed and reported once.
    async fn destroy_due_records(
        &self,
        now: UnixTime,
        limit: u32,
    ) -> Result<(Vec<DestroyedRecord>, Vec<Event>)>;

    // --- administration ---

    /// Every account with what it holds at `now`, oldest first.
    async fn account_usage(&self, now: UnixTime) -> Result<Vec<AccountUsage>>;
    /// Disables the account (`Some(when)`: in one transaction with the deletion of all its sessions) or
    /// enables it again (`None`). Returns whether it changed anything (`false`: it already was so);
    /// `NotFound` for an unknown account. A disabled account's shares read `owner_disabled`.
    async fn set_account_disabled(&self, account: Id, disabled: Option<UnixTime>) -> Result<bool>;
    /// Deletes the account and everything of it in one transaction: its wrapped data key, sessions,
    /// records with every version and wrapped record key, shares with their wrapped keys, files, events
    /// and the nonces of its shares. Its part writes become blob garbage (listed since `now`), which
    /// the sweeper deletes; the invitation it registered with forgets it. `NotFound` if unknown.
    async fn delete_account(&self, account: Id, now: UnixTime) -> Result<AccountDeletion>;
    /// `AlreadyExists` if the id is taken.
    async fn create_invite(&self, invite: NewInvite) -> Result<()>;
    /// Every invitation, newest first.
    async fn invites(&self) -> Result<Vec<Invite>>;
    async fn invite(&self, id: Id) -> Result<Option<Invite>>;
    /// Revokes an unused invitation; returns whether it did (`false`: used or revoked already).
    /// `NotFound` if unknown.
    async fn revoke_invite(&self, id: Id, now: UnixTime) -> Result<bool>;
    /// Registration with an invitation, in one transaction: uses the invitation up if it is unused,
    /// unrevoked, unexpired at the account's `created_at` and its hash is `code_hash` (else
    /// `NotFound`, nothing changed), then creates the account (`AlreadyExists` for a taken email, and
    /// the invitation stays unused). Of racing registrations with one code, one wins. The caller has
    /// already compared the code in constant time: the guard here orders racing uses.
    async fn create_account_invited(
        &self,
        account: NewAccount,
        invite: Id,
        code_hash: &[u8; 32],
    ) -> Result<()>;
}

/// The pace of a sweeper pass: between two steps of one kind it rests [`SWEEP_REST`] times as long as
/// the step took (at most [`SWEEP_REST_MAX`]), and a kind of step goes on for [`SWEEP_STEP_BUDGET`] at
/// most, after which the pass is [`SweepReport::unfinished`].
pub(crate) struct SweepPace {
    kind_began: Instant,
    step_began: Instant,
    unfinished: bool,
}

impl SweepPace {
    pub(crate) fn new() -> Self {
        let now = Instant::now();
        Self {
            kind_began: now,
            step_began: now,
            unfinished: false,
        }
    }

    /// Starts timing a kind of step (and its first step).
    pub(crate) fn begin_kind(&mut self) {
        self.kind_began = Instant::now();
        self.step_began = self.kind_began;
    }

    /// After a full step: `false` if this kind of step has used its budget (the pass is then
    /// unfinished), else rests and starts timing the next step.
    pub(crate) async fn rest(&mut self) -> bool {
        if self.kind_began.elapsed() >= SWEEP_STEP_BUDGET {
            self.unfinished = true;
            return false;
        }
        let worked = self.step_began.elapsed();
        tokio::time::sleep(worked.saturating_mul(SWEEP_REST).min(SWEEP_REST_MAX)).await;
        self.step_began = Instant::now();
        true
    }

    pub(crate) fn unfinished(&self) -> bool {
        self.unfinished
    }
}
