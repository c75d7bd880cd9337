//! Administration: account usage, disabling, deleting (crypto-shredding), invitations.

use std::collections::HashSet;

use futures::future::join_all;

use super::files::{garbage, put};
use super::*;

fn session_of(account: Id, at: UnixTime) -> NewSession {
    NewSession {
        token_hash: random32(),
        account_id: account,
        created_at: at,
        expires_at: at + HOUR,
    }
}

fn usage_of(all: &[AccountUsage], account: Id) -> AccountUsage {
    all.iter()
        .find(|u| u.id == account)
        .cloned()
        .expect("the account is listed")
}

/// Records, live shares and file bytes are counted per account; a login is noted.
pub async fn account_usage(store: &impl Store) {
    let ada = account(store).await;
    let bob = account(store).await;
    let first = record(store, ada).await;
    let second = record(store, ada).await;
    share(store, ada, first, ShareSpec::default()).await;
    share(
        store,
        ada,
        second,
        ShareSpec {
            expires_at: T0 + HOUR,
            ..ShareSpec::default()
        },
    )
    .await;
    let file = id();
    put(store, first, file, 0, 1000, Author::Owner).await;
    put(store, first, file, 1, 234, Author::Owner).await;
    store
        .create_session(session_of(ada, T0 + 60))
        .await
        .expect("login");

    let all = store.account_usage(T0).await.expect("usage");
    assert_eq!(all.len(), 2);
    let a = usage_of(&all, ada);
    assert_eq!(
        (a.records, a.live_shares, a.file_bytes),
        (2, 2, 1234),
        "{a:?}"
    );
    assert_eq!(a.last_login_at, Some(T0 + 60));
    assert_eq!(a.disabled_at, None);
    assert_eq!(a.created_at, T0);
    assert!(a.email.ends_with("@example.org"));
    let b = usage_of(&all, bob);
    assert_eq!(
        (b.records, b.live_shares, b.file_bytes, b.last_login_at),
        (0, 0, 0, None)
    );
    // Later, one share has expired (by time, the sweeper need not have run).
    let later = store.account_usage(T0 + 2 * HOUR).await.expect("usage");
    assert_eq!(usage_of(&later, ada).live_shares, 1);
}

/// Disabling ends the sessions at once, refuses new ones, and every read of the account's shares
/// says so (signed changes are refused); enabling undoes it.
pub async fn disable_account(store: &impl Store) {
    let ada = account(store).await;
    let bob = account(store).await;
    let record = record(store, ada).await;
    let shared = share(
        store,
        ada,
        record,
        ShareSpec {
            editable: true,
            ..ShareSpec::default()
        },
    )
    .await;
    bind(store, shared, T0 + 1).await;
    let session = session_of(ada, T0 + 2);
    store.create_session(session.clone()).await.expect("login");
    let bobs = session_of(bob, T0 + 2);
    store.create_session(bobs.clone()).await.expect("login");
    assert!(!by_id(store, shared).await.owner_disabled);

    assert!(
        store
            .set_account_disabled(ada, Some(T0 + 10))
            .await
            .expect("disable")
    );
    assert!(
        store
            .session(&session.token_hash, T0 + 11)
            .await
            .expect("session")
            .is_none(),
        "the account's sessions ended"
    );
    assert!(
        store
            .session(&bobs.token_hash, T0 + 11)
            .await
            .expect("session")
            .is_some(),
        "other accounts' sessions stay"
    );
    assert_store_err!(
        store.create_session(session_of(ada, T0 + 12)).await,
        StoreError::AccountDisabled
    );
    assert_store_err!(
        store.create_session(session_of(id(), T0 + 12)).await,
        StoreError::NotFound
    );
    let account = store.account_by_id(ada).await.expect("read").expect("kept");
    assert_eq!(account.disabled_at, Some(T0 + 10));
    assert!(by_id(store, shared).await.owner_disabled);
    let view = store
        .recipient_view(&shared.share_id, T0 + 12)
        .await
        .expect("view")
        .expect("exists");
    assert!(view.share.owner_disabled);
    assert_store_err!(
        store.use_nonce(change(shared, T0 + 12)).await,
        StoreError::AccountDisabled
    );
    assert_store_err!(
        store.recipient_end(change(shared, T0 + 12)).await,
        StoreError::AccountDisabled
    );
    assert!(
        !store
            .set_account_disabled(ada, Some(T0 + 20))
            .await
            .expect("disable again"),
        "already disabled"
    );
    assert_eq!(
        store
            .account_by_id(ada)
            .await
            .expect("read")
            .expect("kept")
            .disabled_at,
        Some(T0 + 10),
        "the first time is kept"
    );
    let usage = store.account_usage(T0 + 20).await.expect("usage");
    assert_eq!(usage_of(&usage, ada).disabled_at, Some(T0 + 10));
    assert_eq!(usage_of(&usage, bob).disabled_at, None);
    assert_store_err!(
        store.set_account_disabled(id(), Some(T0)).await,
        StoreError::NotFound
    );

    assert!(store.set_account_disabled(ada, None).await.expect("enable"));
    assert!(!store.set_account_disabled(ada, None).await.expect("again"));
    assert!(!by_id(store, shared).await.owner_disabled);
    store
        .create_session(session_of(ada, T0 + 30))
        .await
        .expect("login again");
    store
        .use_nonce(change(shared, T0 + 31))
        .await
        .expect("the share answers again");
    assert!(
        store
            .session(&session.token_hash, T0 + 31)
            .await
            .expect("session")
            .is_none(),
        "ended sessions stay ended"
    );
}

/// Deleting an account removes every row of it (keys, sealed content, shares, sessions, events) and
/// lists all its part writes as blob garbage; other accounts keep everything.
pub async fn delete_account(store: &impl Store) {
    let ada = account(store).await;
    let ada_email = store
        .account_by_id(ada)
        .await
        .expect("read")
        .expect("exists")
        .email;
    let bob = account(store).await;
    let first = record(store, ada).await;
    let second = record(store, ada).await;
    let bobs_record = record(store, bob).await;
    let shared = share(store, ada, first, ShareSpec::default()).await;
    share(store, ada, second, ShareSpec::default()).await;
    let bobs_share = share(store, bob, bobs_record, ShareSpec::default()).await;
    bind(store, shared, T0 + 1).await;
    store
        .use_nonce(change(shared, T0 + 2))
        .await
        .expect("nonce");
    let file = id();
    let writes: HashSet<PartBlob> = HashSet::from([
        put(store, first, file, 0, 10, Author::Owner).await,
        put(store, second, id(), 0, 10, Author::Owner).await,
        put(store, first, id(), 0, 10, Author::Share(shared.handle)).await,
    ]);
    let bobs_write = put(store, bobs_record, id(), 0, 10, Author::Owner).await;
    let session = session_of(ada, T0 + 3);
    store.create_session(session.clone()).await.expect("login");
    assert!(!all_events(store, ada).await.is_empty());

    let invite = new_invite(T0 + 3, T0 + HOUR);
    store.create_invite(invite.clone()).await.expect("invite");
    let carol = new_account("carol.deleted@example.org");
    store
        .create_account_invited(carol.clone(), invite.id, &invite.code_hash)
        .await
        .expect("register");

    let deleted = store.delete_account(ada, T0 + 5).await.expect("delete");
    assert_eq!(
        deleted,
        AccountDeletion {
            records: 2,
            shares: 2,
            blobs: 3
        }
    );
    assert!(store.account_by_id(ada).await.expect("read").is_none());
    assert!(
        store
            .account_by_email(&ada_email)
            .await
            .expect("read")
            .is_none()
    );
    assert!(
        store
            .session(&session.token_hash, T0 + 6)
            .await
            .expect("session")
            .is_none()
    );
    assert!(store.record(ada, first).await.expect("read").is_none());
    assert!(store.history(ada, second).await.expect("read").is_none());
    assert!(store.list_records(ada, 0).await.expect("list").is_empty());
    assert!(store.list_shares(ada, None).await.expect("list").is_empty());
    assert!(
        store
            .share_by_id(&shared.share_id)
            .await
            .expect("read")
            .is_none()
    );
    assert!(store.files(first).await.expect("files").is_empty());
    assert!(all_events(store, ada).await.is_empty());
    assert_eq!(garbage(store).await, writes, "every part write is garbage");
    assert_store_err!(
        store.delete_account(ada, T0 + 6).await,
        StoreError::NotFound
    );

    // Bob keeps everything.
    assert!(
        store
            .record(bob, bobs_record)
            .await
            .expect("read")
            .is_some()
    );
    assert!(by_id(store, bobs_share).await.state(T0 + 6).is_live());
    assert_eq!(
        store
            .file_parts(bobs_record, bobs_write.file)
            .await
            .expect("parts"),
        vec![bobs_write]
    );
    let usage = store.account_usage(T0 + 6).await.expect("usage");
    assert_eq!(usage.len(), 2, "bob and carol");
    assert!(usage.iter().all(|u| u.id != ada));

    // Deleting the account an invitation made forgets it there.
    store
        .delete_account(carol.id, T0 + 7)
        .await
        .expect("delete");
    let used = store.invite(invite.id).await.expect("read").expect("kept");
    assert_eq!(used.used_by, None);
    assert_eq!(used.state(T0 + 7), InviteState::Used);
}

fn new_invite(created_at: UnixTime, expires_at: UnixTime) -> NewInvite {
    NewInvite {
        id: id(),
        code_hash: random32(),
        note: Some("for a test".into()),
        created_at,
        expires_at,
    }
}

/// An invitation registers one account, once, before it expires and unless revoked; a failed
/// registration leaves it unused.
pub async fn invites(store: &impl Store) {
    let first = new_invite(T0, T0 + HOUR);
    let second = NewInvite {
        note: None,
        ..new_invite(T0 + 1, T0 + HOUR)
    };
    let expiring = new_invite(T0 + 2, T0 + 10);
    let revoked = new_invite(T0 + 3, T0 + HOUR);
    for invite in [&first, &second, &expiring, &revoked] {
        store.create_invite(invite.clone()).await.expect("create");
    }
    assert_store_err!(
        store.create_invite(first.clone()).await,
        StoreError::AlreadyExists
    );
    let listed: Vec<Id> = store
        .invites()
        .await
        .expect("list")
        .iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(
        listed,
        [revoked.id, expiring.id, second.id, first.id],
        "newest first"
    );
    let read = store.invite(first.id).await.expect("read").expect("exists");
    assert_eq!(read.code_hash, first.code_hash);
    assert_eq!(read.note.as_deref(), Some("for a test"));
    assert_eq!(read.state(T0), InviteState::Unused);
    assert!(store.invite(id()).await.expect("read").is_none());

    // A wrong code changes nothing.
    let ada = new_account("ada.invited@example.org");
    assert_store_err!(
        store
            .create_account_invited(ada.clone(), first.id, &random32())
            .await,
        StoreError::NotFound
    );
    assert!(
        store
            .account_by_email("ada.invited@example.org")
            .await
            .expect("read")
            .is_none()
    );
    // A taken email leaves the invitation unused.
    let taken = account(store).await;
    let taken_email = store
        .account_by_id(taken)
        .await
        .expect("read")
        .expect("exists")
        .email;
    assert_store_err!(
        store
            .create_account_invited(
                NewAccount {
                    email: taken_email,
                    ..new_account("x@example.org")
                },
                first.id,
                &first.code_hash
            )
            .await,
        StoreError::AlreadyExists
    );
    assert_eq!(
        store
            .invite(first.id)
            .await
            .expect("read")
            .expect("exists")
            .state(T0),
        InviteState::Unused
    );
    // Once.
    store
        .create_account_invited(ada.clone(), first.id, &first.code_hash)
        .await
        .expect("register");
    assert!(store.account_by_id(ada.id).await.expect("read").is_some());
    let used = store.invite(first.id).await.expect("read").expect("exists");
    assert_eq!(used.used_at, Some(ada.created_at));
    assert_eq!(used.used_by, Some(ada.id));
    assert_eq!(used.state(T0 + 100), InviteState::Used);
    assert_store_err!(
        store
            .create_account_invited(new_account("again@example.org"), first.id, &first.code_hash)
            .await,
        StoreError::NotFound
    );
    // Expired: judged at the account's creation time.
    let late = NewAccount {
        created_at: T0 + 10,
        ..new_account("late@example.org")
    };
    assert_store_err!(
        store
            .create_account_invited(late, expiring.id, &expiring.code_hash)
            .await,
        StoreError::NotFound
    );
    assert_eq!(
        store
            .invite(expiring.id)
            .await
            .expect("read")
            .expect("exists")
            .state(T0 + 10),
        InviteState::Expired
    );
    // Revoked.
    assert!(
        store
            .revoke_invite(revoked.id, T0 + 5)
            .await
            .expect("revoke")
    );
    assert!(
        !store
            .revoke_invite(revoked.id, T0 + 6)
            .await
            .expect("again")
    );
    assert!(
        !store.revoke_invite(first.id, T0 + 6).await.expect("used"),
        "a used invitation stays used"
    );
    assert_store_err!(
        store.revoke_invite(id(), T0 + 6).await,
        StoreError::NotFound
    );
    let gone = store
        .invite(revoked.id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(gone.revoked_at, Some(T0 + 5));
    assert_eq!(gone.state(T0 + 6), InviteState::Revoked);
    assert_store_err!(
        store
            .create_account_invited(
                new_account("revoked@example.org"),
                revoked.id,
                &revoked.code_hash
            )
            .await,
        StoreError::NotFound
    );
    // The unused one still works.
    store
        .create_account_invited(
            new_account("bob.invited@example.org"),
            second.id,
            &second.code_hash,
        )
        .await
        .expect("register with the second");
}

/// Registrations racing with one invitation: exactly one account is made.
pub async fn racing_invite_uses(store: &impl Store) {
    let invite = new_invite(T0, T0 + HOUR);
    store.create_invite(invite.clone()).await.expect("create");
    let accounts: Vec<NewAccount> = (0..8)
        .map(|i| new_account(&format!("racer{i}@example.org")))
        .collect();
    let results = join_all(accounts.iter().map(|a| {
        let invite = &invite;
        async move {
            store
                .create_account_invited(a.clone(), invite.id, &invite.code_hash)
                .await
        }
    }))
    .await;
    let won = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(won, 1, "{results:?}");
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Ok(()) | Err(StoreError::NotFound))),
        "{results:?}"
    );
    assert_eq!(store.account_usage(T0).await.expect("usage").len(), 1);
}
