//! Webhook endpoints and their outbox (docs/protocol.md §9.9). The one writer claims deliveries, so no
//! two workers ever hold one; the lease only matters when the process dies mid-attempt.

use rusqlite::{Connection, Transaction, params};

use super::rows::parse_text;
use crate::model::*;
use crate::{Result, StoreError};

/// Adds the deliveries of an event that was just inserted, one per endpoint of the account subscribed to
/// its kind, due at once. Runs in the event's own transaction.
pub(super) fn fan_out(tx: &Transaction<'_>, event: &Event) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO webhook_deliveries (endpoint_id, account_id, event_id, kind, share, record, number,
                                         at, due_at)
         SELECT endpoint_id, account_id, ?2, kind, ?4, ?5, ?6, ?7, ?7 FROM webhook_subscriptions
         WHERE account_id = ?1 AND kind = ?3",
    )?
    .execute(params![
        event.account_id,
        event.id,
        event.kind.as_str(),
        event.share,
        event.record,
        event.number,
        event.at
    ])?;
    Ok(())
}

pub(super) fn create(tx: &Transaction<'_>, webhook: &NewWebhook, max: u32) -> Result<()> {
    let exists: bool = tx
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM accounts WHERE id = ?1)")?
        .query_row([webhook.account], |row| row.get(0))?;
    if !exists {
        return Err(StoreError::NotFound);
    }
    let count: u32 = tx
        .prepare_cached("SELECT count(*) FROM webhook_endpoints WHERE account_id = ?1")?
        .query_row([webhook.account], |row| row.get(0))?;
    if count >= max {
        return Err(StoreError::WebhookLimit);
    }
    tx.prepare_cached(
        "INSERT INTO webhook_endpoints (id, account_id, url, secret, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        webhook.id,
        webhook.account,
        webhook.url,
        webhook.secret,
        webhook.created_at
    ])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO webhook_subscriptions (account_id, kind, endpoint_id) VALUES (?1, ?2, ?3)",
    )?;
    for kind in &webhook.kinds {
        insert.execute(params![webhook.account, kind, webhook.id])?;
    }
    Ok(())
}

pub(super) fn list(conn: &Connection, account: Id) -> Result<Vec<Webhook>> {
    let mut hooks: Vec<Webhook> = conn
        .prepare_cached(
            "SELECT id, account_id, url, created_at FROM webhook_endpoints WHERE account_id = ?1
             ORDER BY created_at, id",
        )?
        .query_map([account], |row| {
            Ok(Webhook {
                id: row.get(0)?,
                account_id: row.get(1)?,
                url: row.get(2)?,
                kinds: Vec::new(),
                created_at: row.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut kinds = conn.prepare_cached(
        "SELECT kind FROM webhook_subscriptions WHERE endpoint_id = ?1 ORDER BY kind",
    )?;
    for hook in &mut hooks {
        hook.kinds = kinds
            .query_map([hook.id], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?;
    }
    Ok(hooks)
}

fn owned(conn: &Connection, account: Id, endpoint: Id) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM webhook_endpoints WHERE id = ?1 AND account_id = ?2)",
        )?
        .query_row(params![endpoint, account], |row| row.get(0))?)
}

pub(super) fn delete(tx: &Transaction<'_>, account: Id, endpoint: Id) -> Result<()> {
    let deleted = tx
        .prepare_cached("DELETE FROM webhook_endpoints WHERE id = ?1 AND account_id = ?2")?
        .execute(params![endpoint, account])?;
    if deleted == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub(super) fn ping(tx: &Transaction<'_>, account: Id, endpoint: Id, now: UnixTime) -> Result<i64> {
    if !owned(tx, account, endpoint)? {
        return Err(StoreError::NotFound);
    }
    Ok(tx
        .prepare_cached(
            "INSERT INTO webhook_deliveries (endpoint_id, account_id, kind, at, due_at)
             VALUES (?1, ?2, ?3, ?4, ?4) RETURNING id",
        )?
        .query_row(params![endpoint, account, WEBHOOK_PING, now], |row| {
            row.get(0)
        })?)
}

pub(super) fn deliveries(
    conn: &Connection,
    account: Id,
    endpoint: Id,
    limit: u32,
) -> Result<Option<Vec<WebhookDelivery>>> {
    if !owned(conn, account, endpoint)? {
        return Ok(None);
    }
    let mut list: Vec<WebhookDelivery> = conn
        .prepare_cached(
            "SELECT id, endpoint_id, event_id, kind, share, record, number, at, state, attempts, due_at,
                    finished_at
             FROM webhook_deliveries WHERE endpoint_id = ?1 ORDER BY id DESC LIMIT ?2",
        )?
        .query_map(params![endpoint, limit], |row| {
            Ok(WebhookDelivery {
                id: row.get(0)?,
                endpoint: row.get(1)?,
                event_id: row.get(2)?,
                kind: row.get(3)?,
                share: row.get(4)?,
                record: row.get(5)?,
                number: row.get(6)?,
                at: row.get(7)?,
                state: parse_text(row, 8, DeliveryState::parse)?,
                attempts: row.get(9)?,
                due_at: row.get(10)?,
                finished_at: row.get(11)?,
                log: Vec::new(),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut attempts = conn.prepare_cached(
        "SELECT n, started_at, finished_at, status, error, next_at FROM webhook_attempts
         WHERE delivery_id = ?1 ORDER BY n",
    )?;
    for delivery in &mut list {
        delivery.log = attempts
            .query_map([delivery.id], |row| {
                Ok(WebhookAttempt {
                    n: row.get(0)?,
                    started_at: row.get(1)?,
                    finished_at: row.get(2)?,
                    status: row.get(3)?,
                    error: row.get(4)?,
                    next_at: row.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
    }
    Ok(Some(list))
}

pub(super) fn claim(
    tx: &Transaction<'_>,
    now: UnixTime,
    lease: i64,
    limit: u32,
    max_attempts: u32,
) -> Result<Vec<ClaimedDelivery>> {
    // A delivery whose last allowed attempt never reported (its process died) fails here.
    tx.prepare_cached(
        "UPDATE webhook_deliveries SET state = 'failed', due_at = NULL, finished_at = ?1
         WHERE state = 'pending' AND due_at <= ?1 AND attempts >= ?2",
    )?
    .execute(params![now, max_attempts])?;
    let lease_until = now + lease.max(1);
    let mut claimed: Vec<ClaimedDelivery> = tx
        .prepare_cached(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, due_at = ?2
             WHERE id IN (SELECT id FROM webhook_deliveries WHERE state = 'pending' AND due_at <= ?1
                          ORDER BY due_at, id LIMIT ?3)
             RETURNING id, endpoint_id, account_id, event_id, kind, share, record, number, at, attempts",
        )?
        .query_map(params![now, lease_until, limit], |row| {
            Ok(ClaimedDelivery {
                id: row.get(0)?,
                endpoint: row.get(1)?,
                account: row.get(2)?,
                event_id: row.get(3)?,
                kind: row.get(4)?,
                share: row.get(5)?,
                record: row.get(6)?,
                number: row.get(7)?,
                at: row.get(8)?,
                attempt: row.get(9)?,
                url: String::new(),
                secret: Vec::new(),
                lease_until,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    claimed.sort_by_key(|c| c.id);
    let mut endpoint =
        tx.prepare_cached("SELECT url, secret FROM webhook_endpoints WHERE id = ?1")?;
    for c in &mut claimed {
        (c.url, c.secret) =
            endpoint.query_row([c.endpoint], |row| Ok((row.get(0)?, row.get(1)?)))?;
    }
    let mut begin = tx.prepare_cached(
        "INSERT INTO webhook_attempts (delivery_id, n, started_at) VALUES (?1, ?2, ?3)",
    )?;
    for c in &claimed {
        begin.execute(params![c.id, c.attempt, now])?;
    }
    Ok(claimed)
}

pub(super) fn finish(tx: &Transaction<'_>, o: &AttemptOutcome) -> Result<()> {
    tx.prepare_cached(
        "UPDATE webhook_attempts SET finished_at = ?3, status = ?4, error = ?5, next_at = ?6
         WHERE delivery_id = ?1 AND n = ?2",
    )?
    .execute(params![
        o.delivery,
        o.attempt,
        o.now,
        o.status,
        o.error,
        if o.delivered { None } else { o.next_at }
    ])?;
    if o.delivered {
        tx.prepare_cached(
            "UPDATE webhook_deliveries SET state = 'delivered', due_at = NULL, finished_at = ?2
             WHERE id = ?1 AND state = 'pending'",
        )?
        .execute(params![o.delivery, o.now])?;
    } else if let Some(next) = o.next_at {
        tx.prepare_cached(
            "UPDATE webhook_deliveries SET due_at = ?3
             WHERE id = ?1 AND state = 'pending' AND attempts = ?2",
        )?
        .execute(params![o.delivery, o.attempt, next])?;
    } else {
        tx.prepare_cached(
            "UPDATE webhook_deliveries SET state = 'failed', due_at = NULL, finished_at = ?3
             WHERE id = ?1 AND state = 'pending' AND attempts = ?2",
        )?
        .execute(params![o.delivery, o.attempt, o.now])?;
    }
    Ok(())
}

pub(super) fn purge(tx: &Transaction<'_>, before: UnixTime, limit: u64) -> Result<u64> {
    let n = tx
        .prepare_cached(
            "DELETE FROM webhook_deliveries WHERE id IN (
                 SELECT id FROM webhook_deliveries WHERE state <> 'pending' AND finished_at < ?1
                 LIMIT ?2)",
        )?
        .execute(params![before, limit])?;
    Ok(n as u64)
}
