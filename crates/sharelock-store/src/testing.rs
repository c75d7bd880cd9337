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

use std::collections::HashSet;
use std::time::Duration;

use futures::future::join_all;
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
            login_failures,
            sessions,
            change_credentials,
            records_create_read_list,
            records_update,
            records_history,
            records_delete,
            rotation,
            share_create_and_list,
            share_states_over_time,
            end_share,
            bind_race,
            bind_refusals,
            recipient_view,
            touch_share,
            recipient_edit,
            recipient_end,
            use_nonce,
            access_failures,
            events_in_order,
            sweep,
            files,
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

async fn account(store: &impl Store) -> Id {
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

async fn record(store: &impl Store, account: Id) -> Id {
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
}

impl Default for ShareSpec {
    fn default() -> Self {
        Self {
            editable: false,
            burn_after: None,
            created_at: T0,
            expires_at: T0 + 24 * HOUR,
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
        .create_share(account, record, rotation, share)
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
    }
}

/// Binds a fresh device key at `at`; returns the key.
async fn bind(store: &impl Store, share: TestShare, at: UnixTime) -> Vec<u8> {
    let key = device_key();
    let outcome = store
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

// --- the checks ---

pub async fn ping(store: &impl Store) {
    store.ping().await.expect("ping");
}

/// Create, duplicate email or id, lookup by email and id.
pub async fn accounts(store: &impl Store) {
    let ada = new_account("ada@example.org");
    store.create_account(ada.clone()).await.expect("create");

    let mut same_email = new_account("ada@example.org");
    same_email.id = id();
    assert_store_err!(
        store.create_account(same_email).await,
        StoreError::AlreadyExists
    );
    let mut same_id = new_account("other@example.org");
    same_id.id = ada.id;
    assert_store_err!(
        store.create_account(same_id).await,
        StoreError::AlreadyExists
    );

    let found = store
        .account_by_email("ada@example.org")
        .await
        .expect("by email")
        .expect("found");
    assert_eq!(found.id, ada.id);
    assert_eq!(found.email, ada.email);
    assert_eq!(found.kdf, ada.kdf);
    assert_eq!(found.kdf_salt, ada.kdf_salt);
    assert_eq!(found.auth_hash, ada.auth_hash);
    assert_eq!(found.wrapped_data_key, ada.wrapped_data_key);
    assert_eq!(found.created_at, ada.created_at);
    assert_eq!(found.failed_logins, 0);
    assert_eq!(found.last_failed_login, None);

    let by_id = store
        .account_by_id(ada.id)
        .await
        .expect("by id")
        .expect("found");
    assert_eq!(by_id.email, "ada@example.org");
    assert!(
        store
            .account_by_email("nobody@example.org")
            .await
            .expect("lookup")
            .is_none()
    );
    assert!(store.account_by_id(id()).await.expect("lookup").is_none());
}

pub async fn login_failures(store: &impl Store) {
    let account = account(store).await;
    for expected in 1..=3 {
        let count = store
            .note_login_failure(account, T0 + expected)
            .await
            .expect("note");
        assert_eq!(count, expected as u32);
    }
    let found = store
        .account_by_id(account)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(found.failed_logins, 3);
    assert_eq!(found.last_failed_login, Some(T0 + 3));

    store.clear_login_failures(account).await.expect("clear");
    let found = store
        .account_by_id(account)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(found.failed_logins, 0);
    assert_eq!(found.last_failed_login, None);
    assert_eq!(
        store
            .note_login_failure(account, T0 + 9)
            .await
            .expect("note"),
        1
    );

    assert_store_err!(
        store.note_login_failure(id(), T0).await,
        StoreError::NotFound
    );
}

/// Sessions live until (not at) their expiry, judged by the `now` passed in.
pub async fn sessions(store: &impl Store) {
    let ada = account(store).await;
    let bob = account(store).await;
    let session = |account_id, expires_at| NewSession {
        token_hash: random32(),
        account_id,
        created_at: T0,
        expires_at,
    };
    let first = session(ada, T0 + HOUR);
    let second = session(ada, T0 + 2 * HOUR);
    let bobs = session(bob, T0 + HOUR);
    for s in [&first, &second, &bobs] {
        store
            .create_session(s.clone())
            .await
            .expect("create session");
    }
    assert_store_err!(
        store.create_session(first.clone()).await,
        StoreError::AlreadyExists
    );
    assert!(
        store
            .create_session(session(id(), T0 + HOUR))
            .await
            .is_err(),
        "session of an unknown account"
    );

    let live = store
        .session(&first.token_hash, T0)
        .await
        .expect("session")
        .expect("live");
    assert_eq!(live.account_id, ada);
    assert_eq!(live.created_at, T0);
    assert_eq!(live.expires_at, T0 + HOUR);
    assert!(
        store
            .session(&first.token_hash, T0 + HOUR - 1)
            .await
            .expect("session")
            .is_some()
    );
    assert!(
        store
            .session(&first.token_hash, T0 + HOUR)
            .await
            .expect("session")
            .is_none(),
        "expired at expires_at"
    );
    assert!(
        store
            .session(&random32(), T0)
            .await
            .expect("session")
            .is_none()
    );

    store
        .delete_session(&first.token_hash)
        .await
        .expect("delete");
    assert!(
        store
            .session(&first.token_hash, T0)
            .await
            .expect("session")
            .is_none()
    );
    assert!(
        store
            .session(&second.token_hash, T0)
            .await
            .expect("session")
            .is_some()
    );

    store.delete_sessions(ada).await.expect("delete all");
    assert!(
        store
            .session(&second.token_hash, T0)
            .await
            .expect("session")
            .is_none()
    );
    assert!(
        store
            .session(&bobs.token_hash, T0)
            .await
            .expect("session")
            .is_some(),
        "another account's session stays"
    );
}

/// A password change replaces the credentials, clears the login failures and ends every session of the
/// account at once; one based on a hash that is no longer current changes nothing.
pub async fn change_credentials(store: &impl Store) {
    let ada = new_account(&format!("{}@example.org", id().simple()));
    store.create_account(ada.clone()).await.expect("create");
    let bob = account(store).await;
    let session = |account_id| NewSession {
        token_hash: random32(),
        account_id,
        created_at: T0,
        expires_at: T0 + HOUR,
    };
    let (first, second, bobs) = (session(ada.id), session(ada.id), session(bob));
    for s in [&first, &second, &bobs] {
        store.create_session(s.clone()).await.expect("session");
    }
    store.note_login_failure(ada.id, T0).await.expect("failure");
    let live = |token: [u8; 32]| async move {
        store.session(&token, T0).await.expect("session").is_some()
    };

    let new = NewCredentials {
        kdf: KdfParams {
            m: 131_072,
            t: 4,
            p: 2,
        },
        kdf_salt: random16().to_vec(),
        auth_hash: random32(),
        wrapped_data_key: b"dk under the new wk".to_vec(),
    };
    // Another hash than the stored one: nothing changes.
    assert!(
        !store
            .change_credentials(ada.id, &random32(), new.clone())
            .await
            .expect("stale change")
    );
    let found = store
        .account_by_id(ada.id)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(found.auth_hash, ada.auth_hash);
    assert_eq!(found.kdf, ada.kdf);
    assert_eq!(found.kdf_salt, ada.kdf_salt);
    assert_eq!(found.wrapped_data_key, ada.wrapped_data_key);
    assert_eq!(found.failed_logins, 1);
    assert!(live(first.token_hash).await && live(second.token_hash).await);

    assert!(
        store
            .change_credentials(ada.id, &ada.auth_hash, new.clone())
            .await
            .expect("change")
    );
    let found = store
        .account_by_email(&ada.email)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(found.id, ada.id);
    assert_eq!(found.kdf, new.kdf);
    assert_eq!(found.kdf_salt, new.kdf_salt);
    assert_eq!(found.auth_hash, new.auth_hash);
    assert_eq!(found.wrapped_data_key, new.wrapped_data_key);
    assert_eq!((found.failed_logins, found.last_failed_login), (0, None));
    assert_eq!(found.created_at, ada.created_at);
    assert!(!live(first.token_hash).await, "every session ends");
    assert!(!live(second.token_hash).await, "every session ends");
    assert!(
        live(bobs.token_hash).await,
        "another account's session stays"
    );

    // The old hash is stale now: a second change based on it (a racing one) loses.
    let mut other = new.clone();
    other.auth_hash = random32();
    assert!(
        !store
            .change_credentials(ada.id, &ada.auth_hash, other)
            .await
            .expect("stale change")
    );
    let found = store
        .account_by_id(ada.id)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(found.auth_hash, new.auth_hash);
    assert_store_err!(
        store.change_credentials(id(), &random32(), new).await,
        StoreError::NotFound
    );
}

pub async fn records_create_read_list(store: &impl Store) {
    let account = account(store).await;
    let first = record(store, account).await;

    let duplicate = NewRecord {
        id: first,
        wrapped_key: b"other".to_vec(),
        first: version(1, 1, Author::Owner, T0),
    };
    assert_store_err!(
        store.create_record(account, duplicate).await,
        StoreError::AlreadyExists
    );

    let current = store
        .record(account, first)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(current.head.id, first);
    assert_eq!((current.head.version, current.head.key_gen), (1, 1));
    assert_eq!(current.head.wrapped_key, b"rk1 under dk");
    assert_eq!(current.head.summary, b"summary v1");
    assert_eq!(current.head.author, Author::Owner);
    assert_eq!((current.head.created_at, current.head.updated_at), (T0, T0));
    assert!(!current.head.rotate_pending);
    assert_eq!(current.envelope, b"envelope v1 k1");
    assert_eq!(current.proof, b"proof v1");

    let second = record(store, account).await;
    store
        .update_record(account, second, 1, version(2, 1, Author::Owner, T0 + 60))
        .await
        .expect("update");
    let list = store.list_records(account).await.expect("list");
    let ids: Vec<Id> = list.iter().map(|h| h.id).collect();
    assert_eq!(ids, vec![second, first], "most recently changed first");
    assert_eq!(list[0].version, 2);
    assert_eq!(list[0].summary, b"summary v2");

    let stranger = self::account(store).await;
    assert!(store.list_records(stranger).await.expect("list").is_empty());
    assert!(
        store.record(stranger, first).await.expect("read").is_none(),
        "another account's record is invisible"
    );
    assert!(store.record(account, id()).await.expect("read").is_none());
}

/// Versioned owner writes: next version only, current key generation only.
pub async fn records_update(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;

    store
        .update_record(account, record, 1, version(2, 1, Author::Owner, T0 + 1))
        .await
        .expect("update");
    let current = store
        .record(account, record)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(current.envelope, b"envelope v2 k1");
    assert_eq!(current.head.updated_at, T0 + 1);

    let conflict = store
        .update_record(account, record, 1, version(2, 1, Author::Owner, T0 + 2))
        .await;
    assert_store_err!(
        conflict,
        StoreError::VersionConflict {
            current_version: 2,
            current_key_gen: 1
        }
    );
    let stale = store
        .update_record(account, record, 2, version(3, 2, Author::Owner, T0 + 2))
        .await;
    assert_store_err!(
        stale,
        StoreError::StaleKey {
            current_version: 2,
            current_key_gen: 1
        }
    );
    let skipping = store
        .update_record(account, record, 2, version(4, 1, Author::Owner, T0 + 2))
        .await;
    assert_store_err!(skipping, StoreError::VersionConflict { .. });

    let stranger = self::account(store).await;
    let foreign = store
        .update_record(stranger, record, 2, version(3, 1, Author::Owner, T0 + 2))
        .await;
    assert_store_err!(foreign, StoreError::NotFound);
    let unknown = store
        .update_record(account, id(), 1, version(2, 1, Author::Owner, T0 + 2))
        .await;
    assert_store_err!(unknown, StoreError::NotFound);

    let current = store
        .record(account, record)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(current.head.version, 2, "failed writes changed nothing");
}

pub async fn records_history(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    store
        .update_record(account, record, 1, version(2, 1, Author::Owner, T0 + 1))
        .await
        .expect("update");
    let rotation = honest_rotation(store, account, record, T0 + 2).await;
    store
        .rotate_record(account, record, rotation)
        .await
        .expect("rotate");

    let history = store
        .history(account, record)
        .await
        .expect("history")
        .expect("found");
    let numbers: Vec<(u64, u64)> = history
        .versions
        .iter()
        .map(|v| (v.version, v.key_gen))
        .collect();
    assert_eq!(numbers, vec![(1, 1), (2, 1), (3, 2)]);
    assert_eq!(history.versions[2].envelope, b"envelope v3 k2");
    assert_eq!(history.versions[2].proof, b"proof v3");
    assert_eq!(history.versions[2].created_at, T0 + 2);
    assert!(history.versions.iter().all(|v| v.author == Author::Owner));
    assert_eq!(
        history.keys,
        vec![(1, b"rk1 under dk".to_vec()), (2, b"rk2 under dk".to_vec())]
    );

    let stranger = self::account(store).await;
    assert!(
        store
            .history(stranger, record)
            .await
            .expect("history")
            .is_none()
    );
    assert!(
        store
            .history(account, id())
            .await
            .expect("history")
            .is_none()
    );
}

/// Deleting a record ends its shares, drops their keys, and hands back its files for deletion.
pub async fn records_delete(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let share = share(store, account, record, ShareSpec::default()).await;
    let (file_a, file_b) = (id(), id());
    for file in [file_a, file_b] {
        store
            .begin_file(record, file, Author::Owner, T0)
            .await
            .expect("begin file");
    }

    let stranger = self::account(store).await;
    assert_store_err!(
        store.delete_record(stranger, record, T0 + 10).await,
        StoreError::NotFound
    );

    let mut files = store
        .delete_record(account, record, T0 + 10)
        .await
        .expect("delete");
    files.sort();
    let mut expected = vec![file_a, file_b];
    expected.sort();
    assert_eq!(files, expected);

    assert!(store.record(account, record).await.expect("read").is_none());
    assert!(
        store
            .history(account, record)
            .await
            .expect("history")
            .is_none()
    );
    assert!(store.list_records(account).await.expect("list").is_empty());
    assert!(store.files(record).await.expect("files").is_empty());
    let ended = store
        .share(account, share.handle)
        .await
        .expect("share")
        .expect("still listed");
    assert_eq!(ended.end_reason, Some(EndReason::RecordDeleted));
    assert_eq!(ended.ended_at, Some(T0 + 10));
    assert_eq!(ended.wrapped_key, None);
    assert_eq!(ended.state(T0 + 10), ShareState::Deleted);
    assert_store_err!(
        store.recipient_view(&share.share_id, T0 + 10).await,
        StoreError::ShareEnded
    );
    let outcome = store
        .bind(
            &share.share_id,
            &share.token_hash,
            &device_key(),
            b"tag",
            T0 + 11,
        )
        .await
        .expect("bind");
    assert_eq!(outcome, BindOutcome::Ended);
    assert_store_err!(
        store.delete_record(account, record, T0 + 12).await,
        StoreError::NotFound
    );
}

/// Rotation: generation k + 1 only, and the new key for exactly the live shares.
pub async fn rotation(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let at = T0 + 10;

    let alone = honest_rotation(store, account, record, at).await;
    assert!(alone.share_keys.is_empty());
    store
        .rotate_record(account, record, alone)
        .await
        .expect("rotate without shares");
    let after = head(store, account, record).await;
    assert_eq!((after.version, after.key_gen), (2, 2));
    assert_eq!(after.wrapped_key, b"rk2 under dk");

    let kept = share(
        store,
        account,
        record,
        ShareSpec {
            created_at: at,
            ..ShareSpec::default()
        },
    )
    .await;
    let ending = share(
        store,
        account,
        record,
        ShareSpec {
            created_at: at,
            ..ShareSpec::default()
        },
    )
    .await;
    let brief = ShareSpec {
        created_at: at,
        expires_at: at + 60,
        ..ShareSpec::default()
    };
    let timed_out = share(store, account, record, brief).await;
    let head_now = head(store, account, record).await;
    assert_eq!(
        (head_now.version, head_now.key_gen),
        (5, 5),
        "each share rotated once"
    );

    store
        .end_share(account, ending.handle, at + 100)
        .await
        .expect("end");
    assert!(
        head(store, account, record).await.rotate_pending,
        "an ended share asks for rotation"
    );

    let later = at + 200;
    let key = |h: Id| (h, b"rk6 under sk".to_vec());
    let head_now = head(store, account, record).await;
    for wrong in [
        vec![],
        vec![key(kept.handle), key(ending.handle)],
        vec![key(kept.handle), key(timed_out.handle)],
        vec![key(kept.handle), key(id())],
        vec![key(kept.handle), key(kept.handle)],
    ] {
        let result = store
            .rotate_record(account, record, rotation_from(&head_now, wrong, later))
            .await;
        assert_store_err!(result, StoreError::ShareSetMismatch);
    }

    let mut skipping = rotation_from(&head_now, vec![key(kept.handle)], later);
    skipping.version.key_gen += 1;
    assert_store_err!(
        store.rotate_record(account, record, skipping).await,
        StoreError::StaleKey {
            current_version: 5,
            current_key_gen: 5
        }
    );
    let mut behind = rotation_from(&head_now, vec![key(kept.handle)], later);
    behind.base_version -= 1;
    behind.version.version -= 1;
    assert_store_err!(
        store.rotate_record(account, record, behind).await,
        StoreError::VersionConflict { .. }
    );
    let stranger = self::account(store).await;
    let foreign = rotation_from(&head_now, vec![key(kept.handle)], later);
    assert_store_err!(
        store.rotate_record(stranger, record, foreign).await,
        StoreError::NotFound
    );

    let right = rotation_from(&head_now, vec![key(kept.handle)], later);
    store
        .rotate_record(account, record, right)
        .await
        .expect("rotate");
    let after = head(store, account, record).await;
    assert_eq!((after.version, after.key_gen), (6, 6));
    assert!(!after.rotate_pending, "rotation clears rotate_pending");
    let kept_row = by_id(store, kept).await;
    assert_eq!(kept_row.key_gen, 6);
    assert_eq!(kept_row.wrapped_key.as_deref(), Some(&b"rk6 under sk"[..]));
    let timed_out_row = by_id(store, timed_out).await;
    assert_eq!(timed_out_row.key_gen, 5, "an expired share gets no new key");
}

pub async fn share_create_and_list(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let other_record = self::record(store, account).await;

    let rotation = honest_rotation(store, account, record, T0).await;
    let spec = ShareSpec {
        editable: true,
        burn_after: Some(600),
        ..ShareSpec::default()
    };
    let new = new_share(&rotation, &spec);
    store
        .create_share(account, record, rotation, new.clone())
        .await
        .expect("create share");

    let row = store
        .share(account, new.handle)
        .await
        .expect("share")
        .expect("found");
    assert_eq!(row.handle, new.handle);
    assert_eq!(row.share_id, new.share_id);
    assert_eq!(row.account_id, account);
    assert_eq!(row.record_id, record);
    assert_eq!(row.token_hash, new.token_hash);
    assert_eq!(row.wrapped_key.as_deref(), Some(&new.wrapped_key[..]));
    assert_eq!(
        row.key_gen, 2,
        "the share holds the rotation's new generation"
    );
    assert_eq!(row.owner_secret, new.owner_secret);
    assert_eq!(row.label, new.label);
    assert!(row.editable);
    assert_eq!(row.burn_after, Some(600));
    assert!(!row.passphrase);
    assert_eq!((row.created_at, row.expires_at), (T0, T0 + 24 * HOUR));
    assert_eq!(
        (row.bound_at, row.device_key.clone(), row.bind_tag.clone()),
        (None, None, None)
    );
    assert_eq!(
        (row.ended_at, row.end_reason, row.last_access_at),
        (None, None, None)
    );
    assert_eq!(
        (row.edit_count, row.failed_attempts, row.last_failed_at),
        (0, 0, None)
    );
    assert_eq!(row.state(T0), ShareState::Active);
    let head = head(store, account, record).await;
    assert_eq!((head.version, head.key_gen), (2, 2));

    let by_id = store
        .share_by_id(&new.share_id)
        .await
        .expect("by id")
        .expect("found");
    assert_eq!(by_id.handle, new.handle);
    assert!(
        store
            .share_by_id(&random16())
            .await
            .expect("by id")
            .is_none()
    );

    // A duplicate share id fails the whole transaction: the rotation before it is undone too.
    let rotation = honest_rotation(store, account, record, T0 + 1).await;
    let mut duplicate = new_share(&rotation, &ShareSpec::default());
    duplicate.share_id = new.share_id;
    assert_store_err!(
        store
            .create_share(account, record, rotation, duplicate)
            .await,
        StoreError::AlreadyExists
    );
    let unchanged = self::head(store, account, record).await;
    assert_eq!((unchanged.version, unchanged.key_gen), (2, 2));

    let newer = share(
        store,
        account,
        record,
        ShareSpec {
            created_at: T0 + 5,
            ..ShareSpec::default()
        },
    )
    .await;
    let elsewhere = share(
        store,
        account,
        other_record,
        ShareSpec {
            created_at: T0 + 9,
            ..ShareSpec::default()
        },
    )
    .await;
    let all: Vec<Id> = store
        .list_shares(account, None)
        .await
        .expect("list")
        .iter()
        .map(|s| s.handle)
        .collect();
    assert_eq!(
        all,
        vec![elsewhere.handle, newer.handle, new.handle],
        "newest first"
    );
    let of_record: Vec<Id> = store
        .list_shares(account, Some(record))
        .await
        .expect("list")
        .iter()
        .map(|s| s.handle)
        .collect();
    assert_eq!(of_record, vec![newer.handle, new.handle]);

    let stranger = self::account(store).await;
    assert!(
        store
            .share(stranger, new.handle)
            .await
            .expect("share")
            .is_none()
    );
    assert!(
        store
            .list_shares(stranger, None)
            .await
            .expect("list")
            .is_empty()
    );
    let foreign_rotation = honest_rotation(store, account, record, T0 + 20).await;
    let foreign = new_share(&foreign_rotation, &ShareSpec::default());
    assert_store_err!(
        store
            .create_share(stranger, record, foreign_rotation, foreign)
            .await,
        StoreError::NotFound
    );
}

/// Active → opened → expired by time alone, with no sweep; burn-after-open lowers expiry at bind.
pub async fn share_states_over_time(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let spec = ShareSpec {
        burn_after: Some(60),
        expires_at: T0 + 1000,
        ..ShareSpec::default()
    };
    let share = share(store, account, record, spec).await;
    assert_eq!(by_id(store, share).await.state(T0 + 5), ShareState::Active);

    bind(store, share, T0 + 10).await;
    let opened = by_id(store, share).await;
    assert_eq!(opened.state(T0 + 10), ShareState::Opened);
    assert_eq!(opened.bound_at, Some(T0 + 10));
    assert_eq!(
        opened.expires_at,
        T0 + 70,
        "burn after open: bound_at + burn_after"
    );
    assert_eq!(opened.bind_tag.as_deref(), Some(&b"bind tag"[..]));
    assert!(
        store
            .recipient_view(&share.share_id, T0 + 69)
            .await
            .expect("view")
            .is_some()
    );

    assert_eq!(opened.state(T0 + 70), ShareState::Expired);
    assert_eq!(opened.ended_at(T0 + 70), Some(T0 + 70));
    assert_store_err!(
        store.recipient_view(&share.share_id, T0 + 70).await,
        StoreError::ShareEnded
    );
    assert_store_err!(
        store.recipient_end(change(share, T0 + 71)).await,
        StoreError::ShareEnded
    );
    assert!(
        !live_shares(store, account, record, T0 + 70)
            .await
            .contains(&share.handle)
    );

    // A burn time longer than what is left never extends the share.
    let spec = ShareSpec {
        burn_after: Some(10_000),
        expires_at: T0 + 1000,
        ..ShareSpec::default()
    };
    let long_burn = self::share(store, account, record, spec).await;
    bind(store, long_burn, T0 + 500).await;
    assert_eq!(by_id(store, long_burn).await.expires_at, T0 + 1000);

    // Without burn-after-open, binding leaves the expiry alone.
    let plain = self::share(store, account, record, ShareSpec::default()).await;
    bind(store, plain, T0 + 500).await;
    assert_eq!(by_id(store, plain).await.expires_at, T0 + 24 * HOUR);
}

/// Delete ends a share at once, drops its key, asks for rotation and tells the owner; once.
pub async fn end_share(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let share = share(store, account, record, ShareSpec::default()).await;
    bind(store, share, T0 + 5).await;

    let stranger = self::account(store).await;
    assert_store_err!(
        store.end_share(stranger, share.handle, T0 + 10).await,
        StoreError::NotFound
    );
    assert_store_err!(
        store.end_share(account, id(), T0 + 10).await,
        StoreError::NotFound
    );

    let ended = store
        .end_share(account, share.handle, T0 + 10)
        .await
        .expect("end");
    assert_eq!(ended.ended_at, Some(T0 + 10));
    assert_eq!(ended.end_reason, Some(EndReason::Deleted));
    assert_eq!(ended.wrapped_key, None, "crypto-shredded at once");
    assert_eq!(ended.state(T0 + 10), ShareState::Deleted);
    assert!(
        ended.device_key.is_some(),
        "the owner still sees which device opened it"
    );
    assert!(head(store, account, record).await.rotate_pending);
    assert_store_err!(
        store.recipient_view(&share.share_id, T0 + 10).await,
        StoreError::ShareEnded
    );

    let again = store
        .end_share(account, share.handle, T0 + 20)
        .await
        .expect("end again");
    assert_eq!(
        again.ended_at,
        Some(T0 + 10),
        "ending an ended share changes nothing"
    );
    let ends = all_events(store, account)
        .await
        .into_iter()
        .filter(|e| e.kind == EventKind::ShareEnded)
        .collect::<Vec<_>>();
    assert_eq!(ends.len(), 1);
    assert_eq!(
        (ends[0].share, ends[0].record, ends[0].at),
        (Some(share.handle), Some(record), T0 + 10)
    );

    // A share whose time had already passed is recorded as expired, at its expiry.
    let brief = ShareSpec {
        expires_at: T0 + 100,
        ..ShareSpec::default()
    };
    let lapsed = self::share(store, account, record, brief).await;
    let ended = store
        .end_share(account, lapsed.handle, T0 + 500)
        .await
        .expect("end");
    assert_eq!(
        (ended.end_reason, ended.ended_at),
        (Some(EndReason::Expired), Some(T0 + 100))
    );
    assert_eq!(ended.wrapped_key, None);
}

/// 50 devices open one link at once: exactly one wins, every other is told another device holds it.
pub async fn bind_race(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let share = share(store, account, record, ShareSpec::default()).await;

    let keys: Vec<Vec<u8>> = (0..50).map(|_| device_key()).collect();
    let outcomes = join_all(
        keys.iter()
            .map(|key| store.bind(&share.share_id, &share.token_hash, key, b"tag", T0 + 1)),
    )
    .await
    .into_iter()
    .collect::<Result<Vec<_>, _>>()
    .expect("binds");
    let winners: Vec<usize> = (0..outcomes.len())
        .filter(|&i| outcomes[i] == BindOutcome::Bound)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one bind wins: {outcomes:?}");
    let losers = outcomes
        .iter()
        .filter(|&o| *o == BindOutcome::OtherDevice)
        .count();
    assert_eq!(losers, 49);

    let winner = &keys[winners[0]];
    let row = by_id(store, share).await;
    assert_eq!(row.device_key.as_ref(), Some(winner));
    let again = store
        .bind(&share.share_id, &share.token_hash, winner, b"tag", T0 + 2)
        .await
        .expect("bind again");
    assert_eq!(again, BindOutcome::AlreadyBound);
    let newcomer = store
        .bind(
            &share.share_id,
            &share.token_hash,
            &device_key(),
            b"tag",
            T0 + 2,
        )
        .await
        .expect("bind");
    assert_eq!(newcomer, BindOutcome::OtherDevice);
    assert_eq!(
        by_id(store, share).await.bound_at,
        Some(T0 + 1),
        "later binds change nothing"
    );

    let opened = all_events(store, account)
        .await
        .into_iter()
        .filter(|e| e.kind == EventKind::ShareOpened)
        .count();
    assert_eq!(opened, 1);
}

/// Wrong token or unknown id → `NotFound`; ended by the owner or by time → `Ended`.
pub async fn bind_refusals(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let share = share(store, account, record, ShareSpec::default()).await;

    let wrong_token = store
        .bind(&share.share_id, &random32(), &device_key(), b"tag", T0 + 1)
        .await
        .expect("bind");
    assert_eq!(wrong_token, BindOutcome::NotFound);
    assert!(
        by_id(store, share).await.device_key.is_none(),
        "a wrong token binds nothing"
    );
    let unknown = store
        .bind(
            &random16(),
            &share.token_hash,
            &device_key(),
            b"tag",
            T0 + 1,
        )
        .await
        .expect("bind");
    assert_eq!(unknown, BindOutcome::NotFound);

    store
        .end_share(account, share.handle, T0 + 2)
        .await
        .expect("end");
    let after_delete = store
        .bind(
            &share.share_id,
            &share.token_hash,
            &device_key(),
            b"tag",
            T0 + 3,
        )
        .await
        .expect("bind");
    assert_eq!(after_delete, BindOutcome::Ended);

    let brief = ShareSpec {
        expires_at: T0 + 100,
        ..ShareSpec::default()
    };
    let lapsing = self::share(store, account, record, brief).await;
    let at_expiry = store
        .bind(
            &lapsing.share_id,
            &lapsing.token_hash,
            &device_key(),
            b"tag",
            T0 + 100,
        )
        .await
        .expect("bind");
    assert_eq!(
        at_expiry,
        BindOutcome::Ended,
        "expired by time, no sweep needed"
    );
    let wrong_token_on_ended = store
        .bind(
            &lapsing.share_id,
            &random32(),
            &device_key(),
            b"tag",
            T0 + 100,
        )
        .await
        .expect("bind");
    assert_eq!(wrong_token_on_ended, BindOutcome::NotFound);
}

/// The recipient's view follows the record's current version and key generation.
pub async fn recipient_view(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let share = share(store, account, record, ShareSpec::default()).await;
    assert!(
        store
            .recipient_view(&random16(), T0)
            .await
            .expect("view")
            .is_none()
    );

    let view = store
        .recipient_view(&share.share_id, T0 + 1)
        .await
        .expect("view")
        .expect("found");
    assert_eq!(view.share.handle, share.handle);
    assert_eq!((view.version, view.key_gen), (2, 2));
    assert_eq!(view.envelope, b"envelope v2 k2");
    assert_eq!(view.proof, b"proof v2");
    assert_eq!(
        view.share.wrapped_key.as_deref(),
        Some(&b"rk2 under sk"[..])
    );

    store
        .update_record(account, record, 2, version(3, 2, Author::Owner, T0 + 2))
        .await
        .expect("update");
    let view = store
        .recipient_view(&share.share_id, T0 + 3)
        .await
        .expect("view")
        .expect("found");
    assert_eq!(view.envelope, b"envelope v3 k2");

    let rotation = honest_rotation(store, account, record, T0 + 4).await;
    store
        .rotate_record(account, record, rotation)
        .await
        .expect("rotate");
    let view = store
        .recipient_view(&share.share_id, T0 + 5)
        .await
        .expect("view")
        .expect("found");
    assert_eq!((view.version, view.key_gen, view.share.key_gen), (4, 3, 3));
    assert_eq!(
        view.share.wrapped_key.as_deref(),
        Some(&b"rk3 under sk"[..])
    );

    store
        .end_share(account, share.handle, T0 + 6)
        .await
        .expect("end");
    assert_store_err!(
        store.recipient_view(&share.share_id, T0 + 6).await,
        StoreError::ShareEnded
    );
}

/// A read's time is recorded without the caller waiting; it never moves back.
pub async fn touch_share(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let share = share(store, account, record, ShareSpec::default()).await;
    store
        .touch_share(&share.share_id, T0 + 50)
        .await
        .expect("touch");
    store
        .touch_share(&share.share_id, T0 + 40)
        .await
        .expect("touch");
    // Fire-and-forget: poll until it lands.
    let mut seen = None;
    for _ in 0..200 {
        seen = by_id(store, share).await.last_access_at;
        if seen == Some(T0 + 50) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(seen, Some(T0 + 50));
    store
        .touch_share(&random16(), T0)
        .await
        .expect("touching an unknown share is harmless");
}

pub async fn recipient_edit(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let editable = ShareSpec {
        editable: true,
        ..ShareSpec::default()
    };
    let share = self::share(store, account, record, editable).await;
    let by_share = Author::Share(share.handle);

    let unbound = store
        .recipient_edit(change(share, T0 + 1), 2, version(3, 2, by_share, T0 + 1))
        .await;
    assert_store_err!(unbound, StoreError::NotAllowed);
    bind(store, share, T0 + 2).await;

    let first = change(share, T0 + 3);
    store
        .recipient_edit(first.clone(), 2, version(3, 2, by_share, T0 + 3))
        .await
        .expect("edit");
    let current = store
        .record(account, record)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(current.head.version, 3);
    assert_eq!(current.head.author, by_share);
    assert_eq!(current.envelope, b"envelope v3 k2");
    assert_eq!(by_id(store, share).await.edit_count, 1);

    let replay = store
        .recipient_edit(first, 3, version(4, 2, by_share, T0 + 4))
        .await;
    assert_store_err!(replay, StoreError::Replay);

    let conflict = store
        .recipient_edit(change(share, T0 + 4), 2, version(3, 2, by_share, T0 + 4))
        .await;
    assert_store_err!(
        conflict,
        StoreError::VersionConflict {
            current_version: 3,
            current_key_gen: 2
        }
    );
    // A refused edit leaves nothing behind, not even its nonce: the corrected retry goes through.
    let retry = change(share, T0 + 5);
    let refused = store
        .recipient_edit(retry.clone(), 2, version(3, 2, by_share, T0 + 5))
        .await;
    assert_store_err!(refused, StoreError::VersionConflict { .. });
    store
        .recipient_edit(retry, 3, version(4, 2, by_share, T0 + 5))
        .await
        .expect("retry with the same nonce");

    let impostor = store
        .recipient_edit(
            change(share, T0 + 6),
            4,
            version(5, 2, Author::Owner, T0 + 6),
        )
        .await;
    assert_store_err!(impostor, StoreError::NotAllowed);

    let rotation = honest_rotation(store, account, record, T0 + 7).await;
    store
        .rotate_record(account, record, rotation)
        .await
        .expect("rotate");
    let stale = store
        .recipient_edit(change(share, T0 + 8), 5, version(6, 2, by_share, T0 + 8))
        .await;
    assert_store_err!(
        stale,
        StoreError::StaleKey {
            current_version: 5,
            current_key_gen: 3
        }
    );
    store
        .recipient_edit(change(share, T0 + 9), 5, version(6, 3, by_share, T0 + 9))
        .await
        .expect("edit under the new key");
    assert_eq!(by_id(store, share).await.edit_count, 3);

    let read_only = self::share(store, account, record, ShareSpec::default()).await;
    bind(store, read_only, T0 + 10).await;
    let head = head(store, account, record).await;
    let not_editable = store
        .recipient_edit(
            change(read_only, T0 + 11),
            head.version,
            version(
                head.version + 1,
                head.key_gen,
                Author::Share(read_only.handle),
                T0 + 11,
            ),
        )
        .await;
    assert_store_err!(not_editable, StoreError::NotAllowed);

    store
        .end_share(account, share.handle, T0 + 12)
        .await
        .expect("end");
    let head = self::head(store, account, record).await;
    let ended = store
        .recipient_edit(
            change(share, T0 + 13),
            head.version,
            version(head.version + 1, head.key_gen, by_share, T0 + 13),
        )
        .await;
    assert_store_err!(ended, StoreError::ShareEnded);
    let unknown = SignedChange {
        share_id: random16(),
        nonce: random16(),
        now: T0 + 13,
    };
    let unknown = store
        .recipient_edit(
            unknown,
            head.version,
            version(head.version + 1, head.key_gen, by_share, T0 + 13),
        )
        .await;
    assert_store_err!(unknown, StoreError::NotFound);

    let history = store
        .history(account, record)
        .await
        .expect("history")
        .expect("found");
    let authors: Vec<Author> = history.versions.iter().map(|v| v.author).collect();
    let expected_authors = vec![
        Author::Owner,
        Author::Owner,
        by_share,
        by_share,
        Author::Owner,
        by_share,
        Author::Owner,
    ];
    assert_eq!(authors, expected_authors);
}

/// "I have it, delete it": only the bound device, once, and its nonce counts.
pub async fn recipient_end(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let share = share(store, account, record, ShareSpec::default()).await;

    assert_store_err!(
        store.recipient_end(change(share, T0 + 1)).await,
        StoreError::NotAllowed
    );
    bind(store, share, T0 + 2).await;

    let used = change(share, T0 + 3);
    store.use_nonce(used.clone()).await.expect("nonce");
    assert_store_err!(store.recipient_end(used).await, StoreError::Replay);
    assert!(
        by_id(store, share).await.ended_at.is_none(),
        "a replayed end ends nothing"
    );

    let ended = store
        .recipient_end(change(share, T0 + 4))
        .await
        .expect("end");
    assert_eq!(ended.end_reason, Some(EndReason::RecipientDone));
    assert_eq!(ended.ended_at, Some(T0 + 4));
    assert_eq!(ended.wrapped_key, None);
    assert_eq!(ended.state(T0 + 4), ShareState::Deleted);
    assert!(head(store, account, record).await.rotate_pending);
    assert_store_err!(
        store.recipient_end(change(share, T0 + 5)).await,
        StoreError::ShareEnded
    );
    let unknown = SignedChange {
        share_id: random16(),
        nonce: random16(),
        now: T0,
    };
    assert_store_err!(store.recipient_end(unknown).await, StoreError::NotFound);
}

/// Nonces are unique per share.
pub async fn use_nonce(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let first = share(store, account, record, ShareSpec::default()).await;
    let second = share(store, account, record, ShareSpec::default()).await;
    bind(store, first, T0 + 1).await;
    bind(store, second, T0 + 1).await;

    let nonce = change(first, T0 + 2);
    store.use_nonce(nonce.clone()).await.expect("first use");
    assert_store_err!(store.use_nonce(nonce.clone()).await, StoreError::Replay);
    let elsewhere = SignedChange {
        share_id: second.share_id,
        ..nonce
    };
    store
        .use_nonce(elsewhere)
        .await
        .expect("the same nonce on another share");

    let unknown = SignedChange {
        share_id: random16(),
        nonce: random16(),
        now: T0,
    };
    assert_store_err!(store.use_nonce(unknown).await, StoreError::NotFound);
    store
        .end_share(account, first.handle, T0 + 3)
        .await
        .expect("end");
    assert_store_err!(
        store.use_nonce(change(first, T0 + 4)).await,
        StoreError::ShareEnded
    );
}

/// Wrong access tokens are counted per share; the owner hears at 5, 8, 16, … (see
/// [`failures_raise_event`]).
pub async fn access_failures(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let share = share(store, account, record, ShareSpec::default()).await;
    let other = self::share(store, account, record, ShareSpec::default()).await;

    for n in 1..=16u32 {
        let count = store
            .note_access_failure(&share.share_id, T0 + i64::from(n))
            .await
            .expect("note");
        assert_eq!(count, n);
    }
    let row = by_id(store, share).await;
    assert_eq!(
        (row.failed_attempts, row.last_failed_at),
        (16, Some(T0 + 16))
    );
    assert_eq!(
        by_id(store, other).await.failed_attempts,
        0,
        "counted per share"
    );

    let bursts: Vec<(Option<i64>, UnixTime)> = all_events(store, account)
        .await
        .into_iter()
        .filter(|e| e.kind == EventKind::AccessFailures)
        .map(|e| (e.number, e.at))
        .collect();
    assert_eq!(
        bursts,
        vec![(Some(5), T0 + 5), (Some(8), T0 + 8), (Some(16), T0 + 16)]
    );
    assert!(
        (1..=64)
            .filter(|&n| failures_raise_event(n))
            .eq([5, 8, 16, 32, 64])
    );

    assert_store_err!(
        store.note_access_failure(&random16(), T0).await,
        StoreError::NotFound
    );
}

/// Events are written with their cause, in order, per account, and page by id.
pub async fn events_in_order(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let editable = ShareSpec {
        editable: true,
        ..ShareSpec::default()
    };
    let share = self::share(store, account, record, editable).await;
    assert_eq!(store.last_event_id(account).await.expect("last id"), 0);

    bind(store, share, T0 + 1).await;
    store
        .recipient_edit(
            change(share, T0 + 2),
            2,
            version(3, 2, Author::Share(share.handle), T0 + 2),
        )
        .await
        .expect("edit");
    for n in 1..=5 {
        store
            .note_access_failure(&share.share_id, T0 + 2 + n)
            .await
            .expect("note");
    }
    store
        .end_share(account, share.handle, T0 + 10)
        .await
        .expect("end");

    let events = all_events(store, account).await;
    assert_eq!(
        kinds(&events),
        vec![
            EventKind::ShareOpened,
            EventKind::RecordEdited,
            EventKind::AccessFailures,
            EventKind::ShareEnded
        ]
    );
    assert!(events.windows(2).all(|w| w[0].id < w[1].id), "ids increase");
    assert!(
        events
            .iter()
            .all(|e| e.account_id == account && e.share == Some(share.handle))
    );
    assert!(events.iter().all(|e| e.record == Some(record)));
    let numbers: Vec<Option<i64>> = events.iter().map(|e| e.number).collect();
    assert_eq!(numbers, vec![None, Some(3), Some(5), None]);
    let times: Vec<UnixTime> = events.iter().map(|e| e.at).collect();
    assert_eq!(times, vec![T0 + 1, T0 + 2, T0 + 7, T0 + 10]);

    assert_eq!(
        store.last_event_id(account).await.expect("last id"),
        events[3].id
    );
    let page = store
        .events_since(account, events[0].id, 2)
        .await
        .expect("page");
    assert_eq!(page, events[1..3].to_vec());
    assert!(
        store
            .events_since(account, events[3].id, 10)
            .await
            .expect("page")
            .is_empty()
    );

    let stranger = self::account(store).await;
    assert!(all_events(store, stranger).await.is_empty());
    assert_eq!(store.last_event_id(stranger).await.expect("last id"), 0);
}

/// The sweeper expires, shreds and purges shares, and forgets old nonces, sessions and events.
pub async fn sweep(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let brief = ShareSpec {
        editable: true,
        expires_at: T0 + 100,
        ..ShareSpec::default()
    };
    let lapsing = share(store, account, record, brief).await;
    let deleted = self::share(store, account, record, ShareSpec::default()).await;
    let live = self::share(
        store,
        account,
        record,
        ShareSpec {
            expires_at: T0 + 10 * HOUR,
            ..ShareSpec::default()
        },
    )
    .await;
    bind(store, lapsing, T0 + 5).await;
    let head = self::head(store, account, record).await;
    store
        .recipient_edit(
            change(lapsing, T0 + 6),
            head.version,
            version(
                head.version + 1,
                head.key_gen,
                Author::Share(lapsing.handle),
                T0 + 6,
            ),
        )
        .await
        .expect("edit");
    store
        .end_share(account, deleted.handle, T0 + 10)
        .await
        .expect("end");
    let session = NewSession {
        token_hash: random32(),
        account_id: account,
        created_at: T0,
        expires_at: T0 + 50,
    };
    store
        .create_session(session.clone())
        .await
        .expect("session");
    let lasting = NewSession {
        token_hash: random32(),
        expires_at: T0 + 10 * HOUR,
        ..session.clone()
    };
    store
        .create_session(lasting.clone())
        .await
        .expect("session");
    let rotation = honest_rotation(store, account, record, T0 + 20).await;
    store
        .rotate_record(account, record, rotation)
        .await
        .expect("rotate");
    let events_before = all_events(store, account).await.len();

    let report = store
        .sweep(T0 + 200, 1000, 60, 10 * HOUR)
        .await
        .expect("sweep");
    assert_eq!(
        report,
        SweepReport {
            expired: 1,
            shredded: 1,
            purged: 0,
            nonces: 1,
            sessions: 1,
            events: 0,
        }
    );
    let expired = by_id(store, lapsing).await;
    assert_eq!(
        (expired.end_reason, expired.ended_at),
        (Some(EndReason::Expired), Some(T0 + 100))
    );
    assert_eq!(expired.wrapped_key, None);
    assert!(
        by_id(store, live).await.wrapped_key.is_some(),
        "live shares keep their key"
    );
    assert!(self::head(store, account, record).await.rotate_pending);
    let events = all_events(store, account).await;
    assert_eq!(events.len(), events_before + 1);
    let last = events.last().expect("an event");
    assert_eq!(
        (last.kind, last.share, last.at),
        (EventKind::ShareEnded, Some(lapsing.handle), T0 + 100)
    );
    assert!(
        store
            .session(&session.token_hash, T0)
            .await
            .expect("session")
            .is_none(),
        "swept"
    );
    assert!(
        store
            .session(&lasting.token_hash, T0)
            .await
            .expect("session")
            .is_some()
    );

    let again = store
        .sweep(T0 + 200, 1000, 60, 10 * HOUR)
        .await
        .expect("sweep");
    assert_eq!(
        again,
        SweepReport::default(),
        "a second sweep finds nothing"
    );

    // Ended at T0 + 10 and T0 + 100; with a retention of 1000 s both go by T0 + 1101.
    let report = store
        .sweep(T0 + 1050, 1000, 60, 10 * HOUR)
        .await
        .expect("sweep");
    assert_eq!(report.purged, 1);
    assert!(
        store
            .share(account, deleted.handle)
            .await
            .expect("share")
            .is_none(),
        "purged"
    );
    assert!(
        store
            .share(account, lapsing.handle)
            .await
            .expect("share")
            .is_some(),
        "not yet"
    );
    let report = store
        .sweep(T0 + 1101, 1000, 60, 10 * HOUR)
        .await
        .expect("sweep");
    assert_eq!(report.purged, 1);
    assert!(
        store
            .share_by_id(&lapsing.share_id)
            .await
            .expect("share")
            .is_none()
    );
    let listed: Vec<Id> = store
        .list_shares(account, None)
        .await
        .expect("list")
        .iter()
        .map(|s| s.handle)
        .collect();
    assert_eq!(listed, vec![live.handle]);
    let history = store
        .history(account, record)
        .await
        .expect("history")
        .expect("found");
    assert!(
        history
            .versions
            .iter()
            .any(|v| v.author == Author::Share(lapsing.handle)),
        "a version keeps naming its author after the share is purged"
    );

    let report = store
        .sweep(T0 + 20 * HOUR, 1000, 60, HOUR)
        .await
        .expect("sweep");
    assert_eq!(report.expired, 1, "the last share lapses too");
    assert_eq!(report.sessions, 1);
    // Every event is older than an hour by now, including the one this sweep raised for the lapse.
    assert_eq!(
        report.events,
        events.len() as u64 + 1,
        "events older than the TTL go"
    );
    assert!(all_events(store, account).await.is_empty());
}

/// File rows: begin (idempotent for the same uploader), complete once, list.
pub async fn files(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let share = share(store, account, record, ShareSpec::default()).await;
    let (owners, recipients) = (id(), id());

    store
        .begin_file(record, owners, Author::Owner, T0)
        .await
        .expect("begin");
    store
        .begin_file(record, owners, Author::Owner, T0 + 1)
        .await
        .expect("begin again");
    assert_store_err!(
        store
            .begin_file(record, owners, Author::Share(share.handle), T0 + 1)
            .await,
        StoreError::AlreadyExists
    );
    let row = store
        .file(record, owners)
        .await
        .expect("file")
        .expect("found");
    assert_eq!(
        (row.record_id, row.file_id, row.uploaded_by),
        (record, owners, Author::Owner)
    );
    assert_eq!(
        (row.complete, row.parts, row.size, row.created_at),
        (false, 0, 0, T0)
    );

    store
        .complete_file(record, owners, 3, 1_000_000)
        .await
        .expect("complete");
    store
        .complete_file(record, owners, 3, 1_000_000)
        .await
        .expect("complete again, same totals");
    assert_store_err!(
        store.complete_file(record, owners, 4, 1_000_000).await,
        StoreError::AlreadyExists
    );
    assert_store_err!(
        store
            .begin_file(record, owners, Author::Owner, T0 + 2)
            .await,
        StoreError::AlreadyExists
    );
    let row = store
        .file(record, owners)
        .await
        .expect("file")
        .expect("found");
    assert_eq!((row.complete, row.parts, row.size), (true, 3, 1_000_000));

    store
        .begin_file(record, recipients, Author::Share(share.handle), T0 + 5)
        .await
        .expect("begin");
    let listed: Vec<(Id, Author, bool)> = store
        .files(record)
        .await
        .expect("files")
        .iter()
        .map(|f| (f.file_id, f.uploaded_by, f.complete))
        .collect();
    assert_eq!(
        listed,
        vec![
            (owners, Author::Owner, true),
            (recipients, Author::Share(share.handle), false)
        ]
    );

    assert!(store.file(record, id()).await.expect("file").is_none());
    assert!(store.files(id()).await.expect("files").is_empty());
    assert_store_err!(
        store.begin_file(id(), id(), Author::Owner, T0).await,
        StoreError::NotFound
    );
    assert_store_err!(
        store.complete_file(record, id(), 1, 1).await,
        StoreError::NotFound
    );
    let distinct: HashSet<Id> = store
        .files(record)
        .await
        .expect("files")
        .iter()
        .map(|f| f.file_id)
        .collect();
    assert_eq!(distinct.len(), 2);
}

/// For backend-specific crypto-shredding tests: makes a share whose SK-wrapped record key is a unique
/// 60-byte marker, ends it, and returns the marker. After this, the backend's files should no longer
/// contain it (once the backend has flushed).
pub async fn ended_share_key_marker(store: &impl Store) -> Vec<u8> {
    let account = account(store).await;
    let record = record(store, account).await;
    let rotation = honest_rotation(store, account, record, T0).await;
    let mut share = new_share(&rotation, &ShareSpec::default());
    let mut marker = b"shred-me:".to_vec();
    while marker.len() < 60 {
        marker.extend_from_slice(&random16());
    }
    marker.truncate(60);
    share.wrapped_key = marker.clone();
    let handle = share.handle;
    store
        .create_share(account, record, rotation, share)
        .await
        .expect("create share");
    let ended = store
        .end_share(account, handle, T0 + 10)
        .await
        .expect("end share");
    assert_eq!(ended.wrapped_key, None);
    marker
}
