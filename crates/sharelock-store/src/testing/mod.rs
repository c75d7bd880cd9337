//! The backend-neutral conformance suite: every [`Store`] implementation must pass every check here.
//!
//! Each check takes a fresh, empty store and asserts real behaviour through the trait only. A backend's
//! test file runs them all, one test per check, with [`conformance_tests!`](crate::conformance_tests):
//!
//! ```ignore
//! async fn fresh() -> (tempfile::TempDir, SqliteStore) { /* a new database */ }
//! sharelock_store::conformance_tests!(fresh);
//! ```
//!
//! `fresh` returns a guard (dropped after the store) and the store. The calling crate needs tokio with
//! the `macros` and `rt-multi-thread` features as a dev-dependency.
//!
//! The checks live in one module per area (accounts, records, shares, recipient, files, events, sweep,
//! and races of them all in concurrency);
//! this module holds the shared helpers and the macro. A new check goes in its area's module and in the
//! macro's list.

use uuid::Uuid;

use crate::model::*;
use crate::{Store, StoreError};

/// Runs every conformance check as its own `#[tokio::test]`, each on a store from `$setup().await`,
/// an async fn returning `(guard, store)`.
#[macro_export]
macro_rules! conformance_tests {
    ($setup:path) => {
        $crate::conformance_tests!(@each $setup;
            ping,
            accounts,
            login_attempts,
            sessions,
            change_credentials,
            records_create_read_list,
            records_list_carries_current,
            records_update,
            records_history,
            records_delete,
            rotation,
            share_create_and_list,
            share_preface_kept,
            share_states_over_time,
            end_share,
            bind_race,
            bind_refusals,
            bind_with_attempt_in_one_write,
            recipient_view,
            touch_share,
            recipient_edit,
            recipient_end,
            view_once,
            request_answers,
            use_nonce,
            access_attempts,
            access_attempt_in_one_write,
            events_in_order,
            writes_return_their_events,
            device_refused_events,
            sweep,
            sweep_publishes_per_batch,
            self_destructing_records,
            self_destruction_once_on_many_nodes,
            files,
            garbage_retries_back_off,
            completed_file_never_changes,
            part_writes_racing_completion,
            upload_quotas,
            share_limit,
            unfinished_uploads_swept,
            events_resume_under_load,
            racing_writes_one_wins,
            rotation_racing_share_end,
            edit_racing_share_end,
            racing_request_answers,
            racing_access_attempts,
            racing_access_attempts_in_one_write,
            racing_login_attempts,
            sweeps_at_once,
            account_usage,
            disable_account,
            delete_account,
            invites,
            racing_invite_uses,
            webhooks_outbox,
            file_added_events,
            webhook_claims_and_retries,
            racing_webhook_claims,
        );
    };
    (@each $setup:path; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let (_guard, store) = $setup().await;
                $crate::testing::$check(&store).await;
            }
        )*
    };
}

/// The checks' clock: 2026-01-01T00:00:00Z. Every time is an offset from it; nothing reads a clock.
pub const T0: UnixTime = 1_767_225_600;
const HOUR: i64 = 3600;
/// A live-share limit no check reaches unless it tests the limit.
const NO_SHARE_LIMIT: u32 = 10_000;

/// A sweep with the events of each committed batch, in the order they were handed over.
async fn sweep_batches(
    store: &impl Store,
    now: UnixTime,
    retention: i64,
    nonce_ttl: i64,
    event_ttl: i64,
) -> crate::Result<(SweepReport, Vec<Vec<Event>>)> {
    let batches = std::sync::Mutex::new(Vec::new());
    let publish = |events: Vec<Event>| batches.lock().expect("batches").push(events);
    let report = store
        .sweep(now, retention, nonce_ttl, event_ttl, &publish)
        .await?;
    Ok((report, batches.into_inner().expect("batches")))
}

/// A sweep with all the events it committed.
async fn sweep_all(
    store: &impl Store,
    now: UnixTime,
    retention: i64,
    nonce_ttl: i64,
    event_ttl: i64,
) -> crate::Result<(SweepReport, Vec<Event>)> {
    let (report, batches) = sweep_batches(store, now, retention, nonce_ttl, event_ttl).await?;
    Ok((report, batches.into_iter().flatten().collect()))
}

fn id() -> Id {
    Uuid::new_v4()
}

fn random16() -> [u8; 16] {
    *Uuid::new_v4().as_bytes()
}

fn random32() -> [u8; 32] {
    let mut out = [0u8; 32];
    out[..16].copy_from_slice(&random16());
    out[16..].copy_from_slice(&random16());
    out
}

/// A device public key stand-in (SEC1 uncompressed points are 65 bytes).
fn device_key() -> Vec<u8> {
    let mut key = vec![4u8];
    key.extend_from_slice(&random32());
    key.extend_from_slice(&random32());
    key
}

fn new_account(email: &str) -> NewAccount {
    NewAccount {
        id: id(),
        email: email.to_owned(),
        kdf: KdfParams {
            m: 65536,
            t: 3,
            p: 4,
        },
        kdf_salt: random16().to_vec(),
        auth_hash: random32(),
        wrapped_data_key: b"wrapped data key".to_vec(),
        created_at: T0,
    }
}

/// A new account with a random email (also for other crates' tests that need rows to hang data on).
pub async fn account(store: &impl Store) -> Id {
    let account = new_account(&format!("{}@example.org", id().simple()));
    let account_id = account.id;
    store.create_account(account).await.expect("create account");
    account_id
}

/// A version whose bytes name its coordinates, so reads can be checked against what was written.
fn version(v: u64, k: u64, author: Author, at: UnixTime) -> NewVersion {
    NewVersion {
        version: v,
        key_gen: k,
        envelope: format!("envelope v{v} k{k}").into_bytes(),
        summary: format!("summary v{v}").into_bytes(),
        proof: format!("proof v{v}").into_bytes(),
        author,
        created_at: at,
    }
}

/// A wrong access token at `now` that the schedule lets through: reserved, then judged wrong. Its number.
async fn wrong_attempt(store: &impl Store, share_id: &ShareId, now: UnixTime) -> u32 {
    let n = granted(
        store
            .reserve_access_attempt(share_id, now)
            .await
            .expect("reserve"),
    );
    store
        .access_attempt_judged(share_id, n, false, now)
        .await
        .expect("judged");
    n
}

#[track_caller]
fn granted(attempt: Attempt) -> u32 {
    match attempt {
        Attempt::Granted { n } => n,
        Attempt::Wait { retry_after } => panic!("refused, retry after {retry_after} s"),
    }
}

#[track_caller]
fn refused(attempt: Attempt) -> i64 {
    match attempt {
        Attempt::Wait { retry_after } => retry_after,
        Attempt::Granted { n } => panic!("granted as attempt {n}"),
    }
}

/// A new record of `account` at version 1 (also for other crates' tests).
pub async fn record(store: &impl Store, account: Id) -> Id {
    let record = id();
    store
        .create_record(
            account,
            NewRecord {
                id: record,
                wrapped_key: b"rk1 under dk".to_vec(),
                first: version(1, 1, Author::Owner, T0),
            },
        )
        .await
        .expect("create record");
    record
}

async fn head(store: &impl Store, account: Id, record: Id) -> RecordHead {
    store
        .record(account, record)
        .await
        .expect("read record")
        .expect("record exists")
        .head
}

/// The rotation an honest owner client would send at `at`: next version and generation, the new key
/// rewrapped for every share live at `at`.
async fn honest_rotation(store: &impl Store, account: Id, record: Id, at: UnixTime) -> Rotation {
    let head = head(store, account, record).await;
    let share_keys = live_shares(store, account, record, at)
        .await
        .into_iter()
        .map(|handle| {
            (
                handle,
                format!("rk{} under sk", head.key_gen + 1).into_bytes(),
            )
        })
        .collect();
    rotation_from(&head, share_keys, at)
}

fn rotation_from(head: &RecordHead, share_keys: Vec<(Id, Vec<u8>)>, at: UnixTime) -> Rotation {
    let next = head.key_gen + 1;
    Rotation {
        base_version: head.version,
        version: version(head.version + 1, next, Author::Owner, at),
        wrapped_key: format!("rk{next} under dk").into_bytes(),
        share_keys,
    }
}

async fn live_shares(store: &impl Store, account: Id, record: Id, at: UnixTime) -> Vec<Id> {
    let shares = store
        .list_shares(account, Some(record))
        .await
        .expect("list shares");
    shares
        .iter()
        .filter(|s| s.state(at).is_live())
        .map(|s| s.handle)
        .collect()
}

/// What a test keeps of a share: the owner's handle and the recipient's view of it.
#[derive(Clone, Copy)]
struct TestShare {
    handle: Id,
    share_id: ShareId,
    token_hash: [u8; 32],
}

struct ShareSpec {
    editable: bool,
    burn_after: Option<i64>,
    created_at: UnixTime,
    expires_at: UnixTime,
    view_once: bool,
    request: Option<ShareRequest>,
    destroy_after: Option<i64>,
}

impl Default for ShareSpec {
    fn default() -> Self {
        Self {
            editable: false,
            burn_after: None,
            created_at: T0,
            expires_at: T0 + 24 * HOUR,
            view_once: false,
            request: None,
            destroy_after: None,
        }
    }
}

async fn share(store: &impl Store, account: Id, record: Id, spec: ShareSpec) -> TestShare {
    let rotation = honest_rotation(store, account, record, spec.created_at).await;
    let share = new_share(&rotation, &spec);
    let made = TestShare {
        handle: share.handle,
        share_id: share.share_id,
        token_hash: share.token_hash,
    };
    store
        .create_share(account, record, rotation, share, NO_SHARE_LIMIT)
        .await
        .expect("create share");
    made
}

fn new_share(rotation: &Rotation, spec: &ShareSpec) -> NewShare {
    NewShare {
        handle: id(),
        share_id: random16(),
        token_hash: random32(),
        wrapped_key: format!("rk{} under sk", rotation.version.key_gen).into_bytes(),
        owner_secret: b"s and s' under dk".to_vec(),
        label: Some(b"label under dk".to_vec()),
        editable: spec.editable,
        burn_after: spec.burn_after,
        passphrase: false,
        created_at: spec.created_at,
        expires_at: spec.expires_at,
        view_once: spec.view_once,
        request: spec.request.clone(),
        preface: Some(vec![0x5a; 284]),
        destroy_after: spec.destroy_after,
    }
}

/// Binds a fresh device key at `at`; returns the key.
async fn bind(store: &impl Store, share: TestShare, at: UnixTime) -> Vec<u8> {
    let key = device_key();
    let (outcome, _) = store
        .bind(&share.share_id, &share.token_hash, &key, b"bind tag", at)
        .await
        .expect("bind");
    assert_eq!(outcome, BindOutcome::Bound);
    key
}

fn change(share: TestShare, at: UnixTime) -> SignedChange {
    SignedChange {
        share_id: share.share_id,
        nonce: random16(),
        now: at,
    }
}

async fn by_id(store: &impl Store, share: TestShare) -> ShareRow {
    store
        .share_by_id(&share.share_id)
        .await
        .expect("share by id")
        .expect("share exists")
}

async fn all_events(store: &impl Store, account: Id) -> Vec<Event> {
    store.events_since(account, 0, 1000).await.expect("events")
}

fn kinds(events: &[Event]) -> Vec<EventKind> {
    events.iter().map(|e| e.kind).collect()
}

fn assert_err<T: std::fmt::Debug>(
    result: crate::Result<T>,
    expected: &str,
    matches: fn(&StoreError) -> bool,
) {
    match result {
        Err(e) if matches(&e) => {}
        other => panic!("expected {expected}, got {other:?}"),
    }
}

macro_rules! assert_store_err {
    ($result:expr, $pattern:pat) => {
        assert_err($result, stringify!($pattern), |e| matches!(e, $pattern))
    };
}

// --- the checks, by area ---

mod accounts;
mod admin;
pub mod blobs;
mod concurrency;
mod events;
mod files;
mod recipient;
mod records;
pub mod s3;
mod shares;
mod sweep;
mod webhooks;

pub use accounts::*;
pub use admin::*;
pub use concurrency::*;
pub use events::*;
pub use files::*;
pub use recipient::*;
pub use records::*;
pub use shares::*;
pub use sweep::*;
pub use webhooks::*;

pub async fn ping(store: &impl Store) {
    store.ping().await.expect("ping");
}
