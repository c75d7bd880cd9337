//! Owner events: order, accounts and paging.

use super::*;

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
