//! The owner's live events as server-sent events, and the recipient's (its share's version and end).
//!
//! Events are rows written in the same transaction as their cause, so every node can stream every event.
//! A stream reads them from the database, in id order, whenever it is woken for its account: by
//! [`AppState::publish`] for this node's writes, and by the store's wake-ups (PostgreSQL `LISTEN`) for
//! other nodes'. Waking only says "look"; the rows are the truth, so a wake-up that comes twice or
//! early costs one query and nothing else. [`SAFETY_NET`] is a slow re-check for a wake-up that never
//! came (a notification lost in a way the listener did not notice). Clients resume with
//! `Last-Event-ID`. A stream ends when its session does (expiry, logout, a password change): it looks
//! each time it wakes, so a revoked session is not kept informed.

use crate::error::ApiResult;
use crate::extract::Owner;
use crate::handlers::to_time;
use crate::signed::DeviceSigned;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures::Stream;
use sharelock_api::events::{Event, EventKind as ApiKind};
use sharelock_store::{EventKind, ShareRow, StoreError, Wakeup};
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::broadcast::{Receiver, error::RecvError};
use uuid::Uuid;

/// An event stream's response. `X-Accel-Buffering: no` tells nginx not to buffer it, whatever its
/// configuration says for the route (docs/deploy.md): a buffered stream holds events back.
type Unbuffered<S> = ([(HeaderName, &'static str); 1], Sse<S>);

fn unbuffered<S>(sse: Sse<S>) -> Unbuffered<S> {
    ([(HeaderName::from_static("x-accel-buffering"), "no")], sse)
}

/// How often an owner's stream looks without being woken. Not how events are delivered (wake-ups are):
/// only a bound on how late an event whose wake-up was lost arrives, and on how long a stream outlives
/// an expired session.
const SAFETY_NET: Duration = Duration::from_secs(30);
/// How often a recipient's stream looks at its share without being woken (its expiry, and owner
/// writes, which raise no event).
const RECIPIENT_LOOK: Duration = Duration::from_secs(2);
const BATCH: u32 = 100;
/// A recipient's stream reads the record's version on every this many timed looks (10 s): the owner's
/// writes raise no event, so one made through another node wakes nothing here. The share's end it looks
/// for every time.
const VERSION_EVERY: u32 = 5;

fn api_kind(kind: EventKind) -> ApiKind {
    match kind {
        EventKind::ShareOpened => ApiKind::ShareOpened,
        EventKind::RecordEdited => ApiKind::RecordEdited,
        EventKind::ShareEnded => ApiKind::ShareEnded,
        EventKind::AccessFailures => ApiKind::AccessFailures,
        EventKind::DeviceRefused => ApiKind::DeviceRefused,
        EventKind::FileAdded => ApiKind::FileAdded,
        EventKind::RecordDestroyed => ApiKind::RecordDestroyed,
    }
}

fn sse_event(e: sharelock_store::Event) -> SseEvent {
    let kind = api_kind(e.kind);
    let data = Event {
        id: e.id,
        kind,
        share: e.share,
        record: e.record,
        number: e.number,
        at: to_time(e.at),
    };
    let event = SseEvent::default()
        .id(e.id.to_string())
        .event(e.kind.as_str());
    event
        .json_data(&data)
        .unwrap_or_else(|_| SseEvent::default().comment("unserialisable event"))
}

#[utoipa::path(get, path = "/api/v1/events", tag = "events",
    params(("last-event-id" = Option<String>, Header, description = "resume after this event id")),
    responses((status = 200, description = "text/event-stream of share_opened, record_edited, share_ended, access_failures, device_refused and file_added events"),
              (status = 401, body = sharelock_api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn stream(
    State(state): State<AppState>,
    owner: Owner,
    headers: HeaderMap,
) -> ApiResult<Unbuffered<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    let account = owner.account_id;
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|id| *id >= 0);
    let start = match resume {
        Some(id) => id,
        None => state.store.last_event_id(account).await?,
    };
    let mut wake = state.wakeups.subscribe();
    let mut shutdown = state.shutdown.clone();
    let stream = async_stream::stream! {
        let mut after = start;
        loop {
            match state.store.events_since(account, after, BATCH).await {
                Ok(events) => {
                    let full = events.len() as u32 == BATCH;
                    for e in events {
                        after = e.id;
                        yield Ok(sse_event(e));
                    }
                    if full {
                        continue;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "event stream could not read events"),
            }
            tokio::select! {
                _ = shutdown.changed() => break,
                _ = tokio::time::sleep(SAFETY_NET) => {}
                woke = woken(&mut wake, account) => if !woke { break },
            }
            if *shutdown.borrow() {
                break;
            }
            match state.store.session(&owner.token_hash, state.now()).await {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => tracing::warn!(error = %e, "event stream could not check its session"),
            }
        }
    };
    Ok(unbuffered(Sse::new(stream).keep_alive(
        KeepAlive::new().interval(Duration::from_secs(15)),
    )))
}

/// Waits until a wake-up for `account` (or for every stream) comes (true), or the wake-ups stop (false).
async fn woken(wake: &mut Receiver<Wakeup>, account: Uuid) -> bool {
    loop {
        match wake.recv().await {
            Ok(Wakeup::Account(id)) if id == account => return true,
            Ok(Wakeup::All) => return true,
            Ok(Wakeup::Account(_)) => continue,
            // Missed announcements may have been this account's.
            Err(RecvError::Lagged(_)) => return true,
            Err(RecvError::Closed) => return false,
        }
    }
}

/// The recipient's live channel (docs/protocol.md §9.5): a `version` event with the record's current
/// version number when the stream starts and whenever it changes, and an `ended` event, after which the
/// stream closes, as soon as the share ends. The stream looks at the share whenever it is woken for the
/// share's owner (ending a share raises an event, on any node), and every [`RECIPIENT_LOOK`] otherwise
/// (expiry). It carries numbers only: the content is fetched, signed, with `GET
/// /recipient/share`.
#[utoipa::path(get, path = "/api/v1/recipient/events", tag = "recipient",
    params(("sharelock-share" = String, Header, description = "b64u share id")),
    responses((status = 200, description = "text/event-stream of `version` events (`{\"version\": n}`) and a last `ended` event"),
              (status = 401, body = sharelock_api::ErrorBody), (status = 403, body = sharelock_api::ErrorBody),
              (status = 410, body = sharelock_api::ErrorBody)))]
pub async fn recipient_stream(
    State(state): State<AppState>,
    signed: DeviceSigned<ShareRow>,
) -> ApiResult<Unbuffered<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    let share_id = *signed.share_id().as_bytes();
    let account = signed.share().account_id;
    let mut wake = state.wakeups.subscribe();
    let mut shutdown = state.shutdown.clone();
    let stream = async_stream::stream! {
        let mut sent: Option<u64> = None;
        // The version is read (with the envelope) at the start, after a wake and every
        // VERSION_EVERY-th timed look (writes on other nodes); other timed looks read the share's row.
        let mut read_version = true;
        let mut looks: u32 = 0;
        loop {
            let now = state.now();
            let mut suspended = false;
            let live = if read_version {
                match state.store.recipient_view(&share_id, now).await {
                    Ok(Some(view)) if view.share.owner_disabled => {
                        suspended = true;
                        true
                    }
                    Ok(Some(view)) if view.share.state(now).is_live() => {
                        if sent != Some(view.version) {
                            sent = Some(view.version);
                            yield Ok(SseEvent::default().event("version").data(format!("{{\"version\":{}}}", view.version)));
                        }
                        true
                    }
                    Ok(_) | Err(StoreError::ShareEnded) => false,
                    Err(e) => {
                        tracing::warn!(error = %e, "recipient stream could not read its share");
                        true
                    }
                }
            } else {
                match state.store.share_by_id(&share_id).await {
                    Ok(Some(share)) => {
                        suspended = share.owner_disabled;
                        share.state(now).is_live()
                    }
                    Ok(None) => false,
                    Err(e) => {
                        tracing::warn!(error = %e, "recipient stream could not read its share");
                        true
                    }
                }
            };
            if !live {
                yield Ok(SseEvent::default().event("ended").data("{}"));
                break;
            }
            // The owner's account was disabled: the stream closes without an event (the share has not
            // ended); reconnecting answers `share_suspended`.
            if suspended {
                break;
            }
            tokio::select! {
                _ = shutdown.changed() => break,
                _ = tokio::time::sleep(RECIPIENT_LOOK) => {
                    looks = looks.wrapping_add(1);
                    read_version = looks.is_multiple_of(VERSION_EVERY);
                }
                woke = woken(&mut wake, account) => {
                    if !woke {
                        break;
                    }
                    read_version = true;
                }
            }
            if *shutdown.borrow() {
                break;
            }
        }
    };
    Ok(unbuffered(Sse::new(stream).keep_alive(
        KeepAlive::new().interval(Duration::from_secs(15)),
    )))
}
