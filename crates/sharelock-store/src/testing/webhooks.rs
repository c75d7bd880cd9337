//! Webhooks: endpoints, the outbox the event path fills, claims under a lease, retries and their log.

use futures::future::join_all;

use super::files::put;
use super::*;

fn hook(account: Id, kinds: &[&str]) -> NewWebhook {
    NewWebhook {
        id: id(),
        account,
        url: format!("https://hooks.example.org/{}", id().simple()),
        kinds: kinds.iter().map(|k| (*k).to_owned()).collect(),
        secret: random32().to_vec(),
        created_at: T0,
    }
}

async fn deliveries(store: &impl Store, account: Id, endpoint: Id) -> Vec<WebhookDelivery> {
    store
        .webhook_deliveries(account, endpoint, 100)
        .await
        .expect("deliveries")
        .expect("the account's endpoint")
}

/// Endpoints are the account's, limited in number; every event of a subscribed kind becomes one
/// delivery per endpoint, in the event's transaction, carrying the event's fields; pings too.
pub async fn webhooks_outbox(store: &impl Store) {
    let account = account(store).await;
    let other = super::account(store).await;
    let record = record(store, account).await;
    let opens = hook(account, &["share_ended", "share_opened"]);
    let edits = hook(account, &["record_edited"]);
    let others = hook(other, &["share_opened", "share_ended"]);
    for h in [&opens, &edits, &others] {
        store.create_webhook(h.clone(), 2).await.expect("create");
    }
    assert_store_err!(
        store
            .create_webhook(hook(account, &["share_opened"]), 2)
            .await,
        StoreError::WebhookLimit
    );
    assert_store_err!(
        store.create_webhook(hook(id(), &["share_opened"]), 2).await,
        StoreError::NotFound
    );
    let listed = store.webhooks(account).await.expect("list");
    assert_eq!(
        listed.iter().map(|w| w.id).collect::<Vec<_>>().len(),
        2,
        "{listed:?}"
    );
    let first = listed.iter().find(|w| w.id == opens.id).expect("listed");
    assert_eq!(first.url, opens.url);
    assert_eq!(first.kinds, vec!["share_ended", "share_opened"]);
    assert_eq!(first.account_id, account);

    let share = self::share(store, account, record, ShareSpec::default()).await;
    bind(store, share, T0 + 1).await;
    let (_, ended) = store
        .end_share(account, share.handle, T0 + 5)
        .await
        .expect("end");
    let events = all_events(store, account).await;
    assert_eq!(
        kinds(&events),
        vec![EventKind::ShareOpened, EventKind::ShareEnded]
    );
    assert_eq!(ended.len(), 1);

    let mut got = deliveries(store, account, opens.id).await;
    got.reverse();
    assert_eq!(got.len(), 2, "{got:?}");
    for (d, e) in got.iter().zip(&events) {
        assert_eq!(d.event_id, Some(e.id));
        assert_eq!(d.kind, e.kind.as_str());
        assert_eq!(
            (d.share, d.record, d.number, d.at),
            (e.share, e.record, e.number, e.at)
        );
        assert_eq!(d.state, DeliveryState::Pending);
        assert_eq!((d.attempts, d.due_at), (0, Some(e.at)));
        assert!(d.log.is_empty());
        assert_eq!(d.endpoint, opens.id);
    }
    assert!(got[0].id < got[1].id);
    assert!(deliveries(store, account, edits.id).await.is_empty());
    assert!(deliveries(store, other, others.id).await.is_empty());
    // Another account's endpoint is not found through this account.
    assert!(
        store
            .webhook_deliveries(account, others.id, 10)
            .await
            .expect("read")
            .is_none()
    );
    assert_store_err!(
        store.ping_webhook(account, others.id, T0).await,
        StoreError::NotFound
    );
    assert_store_err!(
        store.delete_webhook(account, others.id).await,
        StoreError::NotFound
    );

    let ping = store
        .ping_webhook(account, edits.id, T0 + 6)
        .await
        .expect("ping");
    let pinged = deliveries(store, account, edits.id).await;
    assert_eq!(pinged.len(), 1);
    assert_eq!(pinged[0].id, ping);
    assert_eq!(pinged[0].kind, WEBHOOK_PING);
    assert_eq!(pinged[0].event_id, None);
    assert_eq!(pinged[0].due_at, Some(T0 + 6));

    // Deleting an endpoint takes its deliveries; its events stop becoming deliveries.
    store
        .delete_webhook(account, opens.id)
        .await
        .expect("delete");
    assert!(
        store
            .webhook_deliveries(account, opens.id, 10)
            .await
            .expect("read")
            .is_none()
    );
    assert_eq!(store.webhooks(account).await.expect("list").len(), 1);
    store
        .create_webhook(hook(account, &["share_opened"]), 2)
        .await
        .expect("room again");
    // Deleting the account takes its endpoints.
    store
        .delete_account(other, T0 + 7)
        .await
        .expect("delete account");
    assert!(store.webhooks(other).await.expect("list").is_empty());
}

/// A file's first completion raises `file_added` (with the share for a recipient's upload), a repeated
/// one nothing; subscribed endpoints get it like any other kind.
pub async fn file_added_events(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let files = hook(account, &["file_added"]);
    store
        .create_webhook(files.clone(), 5)
        .await
        .expect("create");
    let editable = ShareSpec {
        editable: true,
        ..ShareSpec::default()
    };
    let share = self::share(store, account, record, editable).await;
    bind(store, share, T0 + 1).await;

    let owners = id();
    put(store, record, owners, 0, 10, Author::Owner).await;
    let raised = store
        .complete_file(record, owners, Author::Owner, 1, 10, T0 + 2)
        .await
        .expect("complete");
    assert_eq!(kinds(&raised), vec![EventKind::FileAdded]);
    assert_eq!((raised[0].share, raised[0].record), (None, Some(record)));
    assert_eq!(raised[0].account_id, account);
    let again = store
        .complete_file(record, owners, Author::Owner, 1, 10, T0 + 3)
        .await
        .expect("complete again");
    assert!(again.is_empty(), "{again:?}");

    let theirs = id();
    put(store, record, theirs, 0, 7, Author::Share(share.handle)).await;
    let raised = store
        .complete_file(record, theirs, Author::Share(share.handle), 1, 7, T0 + 4)
        .await
        .expect("complete");
    assert_eq!(kinds(&raised), vec![EventKind::FileAdded]);
    assert_eq!(raised[0].share, Some(share.handle));
    assert_eq!(
        kinds(&all_events(store, account).await),
        vec![
            EventKind::ShareOpened,
            EventKind::FileAdded,
            EventKind::FileAdded
        ]
    );
    let got = deliveries(store, account, files.id).await;
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|d| d.kind == "file_added"));
}

/// Claims take due deliveries for one attempt under a lease; outcomes are logged; a failure is due
/// again when told, a success ends it; an attempt whose worker vanished is claimed again once its lease
/// ends, and a delivery out of attempts fails.
pub async fn webhook_claims_and_retries(store: &impl Store) {
    let account = account(store).await;
    let h = hook(account, &["share_opened"]);
    store.create_webhook(h.clone(), 5).await.expect("create");
    let ping = store.ping_webhook(account, h.id, T0).await.expect("ping");

    assert!(
        store
            .claim_webhook_deliveries(T0 - 1, 30, 10, 3)
            .await
            .expect("claim")
            .is_empty(),
        "not due yet"
    );
    let claimed = store
        .claim_webhook_deliveries(T0, 30, 10, 3)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    let c = &claimed[0];
    assert_eq!((c.id, c.endpoint, c.account), (ping, h.id, account));
    assert_eq!(
        (c.url.as_str(), c.secret.as_slice()),
        (h.url.as_str(), h.secret.as_slice())
    );
    assert_eq!(
        (c.attempt, c.lease_until, c.kind.as_str()),
        (1, T0 + 30, WEBHOOK_PING)
    );
    // Leased: nobody else claims it meanwhile.
    assert!(
        store
            .claim_webhook_deliveries(T0 + 29, 30, 10, 3)
            .await
            .expect("claim")
            .is_empty()
    );
    let running = deliveries(store, account, h.id).await;
    assert_eq!(running[0].attempts, 1);
    assert_eq!(running[0].log.len(), 1);
    assert_eq!(running[0].log[0].finished_at, None);

    store
        .finish_webhook_attempt(AttemptOutcome {
            delivery: ping,
            attempt: 1,
            now: T0 + 2,
            status: Some(500),
            error: None,
            delivered: false,
            next_at: Some(T0 + 12),
        })
        .await
        .expect("finish");
    let d = &deliveries(store, account, h.id).await[0];
    assert_eq!(
        (d.state, d.due_at, d.attempts),
        (DeliveryState::Pending, Some(T0 + 12), 1)
    );
    assert_eq!(
        d.log[0],
        WebhookAttempt {
            n: 1,
            started_at: T0,
            finished_at: Some(T0 + 2),
            status: Some(500),
            error: None,
            next_at: Some(T0 + 12),
        }
    );
    assert!(
        store
            .claim_webhook_deliveries(T0 + 11, 30, 10, 3)
            .await
            .expect("claim")
            .is_empty()
    );
    // The second attempt's worker vanishes: after its lease the third begins.
    let second = store
        .claim_webhook_deliveries(T0 + 12, 5, 10, 3)
        .await
        .expect("claim");
    assert_eq!(second[0].attempt, 2);
    let third = store
        .claim_webhook_deliveries(T0 + 17, 5, 10, 3)
        .await
        .expect("claim");
    assert_eq!(third.len(), 1);
    assert_eq!(third[0].attempt, 3);
    // The vanished attempt reports late with a failure: only its own row changes.
    store
        .finish_webhook_attempt(AttemptOutcome {
            delivery: ping,
            attempt: 2,
            now: T0 + 18,
            status: None,
            error: Some("timeout".into()),
            delivered: false,
            next_at: None,
        })
        .await
        .expect("finish late");
    let d = &deliveries(store, account, h.id).await[0];
    assert_eq!(
        (d.state, d.attempts, d.due_at),
        (DeliveryState::Pending, 3, Some(T0 + 22))
    );
    assert_eq!(d.log[1].error.as_deref(), Some("timeout"));
    assert_eq!(d.log[2].finished_at, None);
    store
        .finish_webhook_attempt(AttemptOutcome {
            delivery: ping,
            attempt: 3,
            now: T0 + 19,
            status: Some(204),
            error: None,
            delivered: true,
            next_at: None,
        })
        .await
        .expect("finish");
    let d = &deliveries(store, account, h.id).await[0];
    assert_eq!(
        (d.state, d.due_at, d.finished_at),
        (DeliveryState::Delivered, None, Some(T0 + 19))
    );
    assert_eq!(d.log[2].status, Some(204));
    assert!(
        store
            .claim_webhook_deliveries(T0 + 1000, 5, 10, 3)
            .await
            .expect("claim")
            .is_empty()
    );

    // Out of attempts: a failure with no next time fails it; a vanished last attempt fails at its
    // lease's end.
    let given_up = store
        .ping_webhook(account, h.id, T0 + 20)
        .await
        .expect("ping");
    let c = store
        .claim_webhook_deliveries(T0 + 20, 5, 10, 1)
        .await
        .expect("claim");
    assert_eq!(c.len(), 1);
    store
        .finish_webhook_attempt(AttemptOutcome {
            delivery: given_up,
            attempt: 1,
            now: T0 + 21,
            status: Some(410),
            error: None,
            delivered: false,
            next_at: None,
        })
        .await
        .expect("finish");
    let vanished = store
        .ping_webhook(account, h.id, T0 + 22)
        .await
        .expect("ping");
    assert_eq!(
        store
            .claim_webhook_deliveries(T0 + 22, 5, 10, 1)
            .await
            .expect("claim")
            .len(),
        1
    );
    assert!(
        store
            .claim_webhook_deliveries(T0 + 27, 5, 10, 1)
            .await
            .expect("claim")
            .is_empty(),
        "out of attempts"
    );
    let all = deliveries(store, account, h.id).await;
    let state = |id: i64| all.iter().find(|d| d.id == id).expect("listed").state;
    assert_eq!(state(given_up), DeliveryState::Failed);
    assert_eq!(state(vanished), DeliveryState::Failed);
    assert_eq!(state(ping), DeliveryState::Delivered);

    // Finished deliveries are purged by age; pending ones stay.
    let pending = store
        .ping_webhook(account, h.id, T0 + 30)
        .await
        .expect("ping");
    assert_eq!(
        store
            .purge_webhook_deliveries(T0 + 1000)
            .await
            .expect("purge"),
        3
    );
    let left = deliveries(store, account, h.id).await;
    assert_eq!(left.iter().map(|d| d.id).collect::<Vec<_>>(), vec![pending]);
}

/// Workers racing for due deliveries (many nodes) claim each one exactly once.
pub async fn racing_webhook_claims(store: &impl Store) {
    let account = account(store).await;
    let h = hook(account, &["share_opened"]);
    store.create_webhook(h.clone(), 5).await.expect("create");
    let mut queued = Vec::new();
    for _ in 0..40 {
        queued.push(store.ping_webhook(account, h.id, T0).await.expect("ping"));
    }
    let claims = join_all((0..8).map(|_| store.claim_webhook_deliveries(T0, 60, 7, 5))).await;
    let mut claimed: Vec<i64> = claims
        .into_iter()
        .flat_map(|c| c.expect("claim"))
        .map(|c| c.id)
        .collect();
    claimed.sort_unstable();
    let before = claimed.len();
    claimed.dedup();
    assert_eq!(before, claimed.len(), "a delivery was claimed twice");
    // Whatever the racing claims left is claimed by the next round, once.
    let rest = store
        .claim_webhook_deliveries(T0, 60, 100, 5)
        .await
        .expect("claim");
    claimed.extend(rest.iter().map(|c| c.id));
    claimed.sort_unstable();
    queued.sort_unstable();
    assert_eq!(claimed, queued);
}
