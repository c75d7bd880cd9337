//! Accounts, login failures, sessions and credential changes.

use super::*;

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

/// Login attempts are counted per key (known email or not) on the schedule of [`Backoff::LOGIN`], every
/// step of it judged by the store itself; a success clears the count, and the sweeper forgets counts idle
/// for [`LOGIN_ATTEMPTS_TTL`].
pub async fn login_attempts(store: &impl Store) {
    let key = random32();
    let other = random32();
    for expected in 1..=5 {
        let n = granted(
            store
                .reserve_login_attempt(&key, T0)
                .await
                .expect("reserve"),
        );
        assert_eq!(n, expected, "the free attempts, all at once");
    }
    assert_eq!(
        refused(
            store
                .reserve_login_attempt(&key, T0)
                .await
                .expect("reserve")
        ),
        1
    );
    assert_eq!(
        granted(
            store
                .reserve_login_attempt(&other, T0)
                .await
                .expect("reserve")
        ),
        1,
        "counted per key"
    );
    // Every further step: refused a second before the wait is over (not counted), granted at its end.
    let b = Backoff::LOGIN;
    let (mut last, mut n) = (T0, 5);
    while n < 20 {
        let next = last + b.wait(n);
        assert_eq!(
            refused(
                store
                    .reserve_login_attempt(&key, next - 1)
                    .await
                    .expect("reserve")
            ),
            1,
            "after {n}"
        );
        assert_eq!(
            granted(
                store
                    .reserve_login_attempt(&key, next)
                    .await
                    .expect("reserve")
            ),
            n + 1
        );
        (last, n) = (next, n + 1);
    }
    assert_eq!(b.wait(n), b.max_secs, "the wait is capped");
    assert_eq!(
        refused(
            store
                .reserve_login_attempt(&key, last)
                .await
                .expect("reserve")
        ),
        b.max_secs
    );

    store.clear_login_attempts(&key).await.expect("clear");
    assert_eq!(
        granted(
            store
                .reserve_login_attempt(&key, last)
                .await
                .expect("reserve")
        ),
        1
    );
    store
        .clear_login_attempts(&random32())
        .await
        .expect("clearing nothing is fine");

    // Counts idle for a day are forgotten; younger ones stay.
    let (report, _) = sweep_all(store, last + LOGIN_ATTEMPTS_TTL, HOUR, 120, HOUR)
        .await
        .expect("sweep");
    assert_eq!(
        report.login_attempts, 1,
        "the other key's count, idle since T0"
    );
    assert_eq!(
        granted(
            store
                .reserve_login_attempt(&other, last + LOGIN_ATTEMPTS_TTL)
                .await
                .expect("reserve")
        ),
        1
    );
    assert_eq!(
        granted(
            store
                .reserve_login_attempt(&key, last + LOGIN_ATTEMPTS_TTL)
                .await
                .expect("reserve")
        ),
        2
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
