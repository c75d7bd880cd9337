//! Webhook endpoints and their outbox (docs/protocol.md §9.9). Workers on every node claim due
//! deliveries with `FOR UPDATE SKIP LOCKED` and a lease (`due_at` moved past the attempt's time), so a
//! delivery is attempted by one node at a time, and one whose node dies is claimed again once its lease
//! ends.

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::rows::unsigned;
use crate::model::*;
use crate::{Result, StoreError};

/// Adds the deliveries of an event that was just inserted, one per endpoint of the account subscribed to
/// its kind, due at once. Runs in the event's own transaction.
pub(super) async fn fan_out(conn: &mut PgConnection, event: &Event) -> Result<()> {
    sqlx::query(
        "INSERT INTO webhook_deliveries (endpoint_id, account_id, event_id, kind, share, record, number,
                                         at, due_at)
         SELECT endpoint_id, account_id, $2, kind, $4, $5, $6, $7, $7 FROM webhook_subscriptions
         WHERE account_id = $1 AND kind = $3",
    )
    .bind(event.account_id)
    .bind(event.id)
    .bind(event.kind.as_str())
    .bind(event.share)
    .bind(event.record)
    .bind(event.number)
    .bind(event.at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(super) async fn create(conn: &mut PgConnection, webhook: &NewWebhook, max: u32) -> Result<()> {
    // The account's row orders racing creations, so together they cannot pass the limit.
    let exists = sqlx::query("SELECT 1 FROM accounts WHERE id = $1 FOR NO KEY UPDATE")
        .bind(webhook.account)
        .fetch_optional(&mut *conn)
        .await?;
    if exists.is_none() {
        return Err(StoreError::NotFound);
    }
    let count: i64 =
        sqlx::query_scalar("SELECT count(*) FROM webhook_endpoints WHERE account_id = $1")
            .bind(webhook.account)
            .fetch_one(&mut *conn)
            .await?;
    if count >= i64::from(max) {
        return Err(StoreError::WebhookLimit);
    }
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, account_id, url, secret, created_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(webhook.id)
    .bind(webhook.account)
    .bind(&webhook.url)
    .bind(&webhook.secret)
    .bind(webhook.created_at)
    .execute(&mut *conn)
    .await?;
    for kind in &webhook.kinds {
        sqlx::query(
            "INSERT INTO webhook_subscriptions (account_id, kind, endpoint_id) VALUES ($1, $2, $3)",
        )
        .bind(webhook.account)
        .bind(kind)
        .bind(webhook.id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub(super) async fn list(conn: &mut PgConnection, account: Id) -> Result<Vec<Webhook>> {
    let rows = sqlx::query(
        "SELECT e.id, e.account_id, e.url, e.created_at,
                coalesce(array_agg(s.kind ORDER BY s.kind) FILTER (WHERE s.kind IS NOT NULL), '{}')
         FROM webhook_endpoints e LEFT JOIN webhook_subscriptions s ON s.endpoint_id = e.id
         WHERE e.account_id = $1 GROUP BY e.id ORDER BY e.created_at, e.id",
    )
    .bind(account)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Webhook {
                id: row.try_get(0)?,
                account_id: row.try_get(1)?,
                url: row.try_get(2)?,
                created_at: row.try_get(3)?,
                kinds: row.try_get(4)?,
            })
        })
        .collect()
}

async fn owned(conn: &mut PgConnection, account: Id, endpoint: Id) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM webhook_endpoints WHERE id = $1 AND account_id = $2)",
    )
    .bind(endpoint)
    .bind(account)
    .fetch_one(&mut *conn)
    .await?)
}

pub(super) async fn delete(conn: &mut PgConnection, account: Id, endpoint: Id) -> Result<()> {
    let deleted = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1 AND account_id = $2")
        .bind(endpoint)
        .bind(account)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if deleted == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub(super) async fn ping(
    conn: &mut PgConnection,
    account: Id,
    endpoint: Id,
    now: UnixTime,
) -> Result<i64> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO webhook_deliveries (endpoint_id, account_id, kind, at, due_at)
         SELECT id, account_id, $3, $4, $4 FROM webhook_endpoints WHERE id = $1 AND account_id = $2
         RETURNING id",
    )
    .bind(endpoint)
    .bind(account)
    .bind(WEBHOOK_PING)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    id.ok_or(StoreError::NotFound)
}

fn state(row: &PgRow, column: usize) -> Result<DeliveryState> {
    let text: String = row.try_get(column)?;
    DeliveryState::parse(&text)
        .ok_or_else(|| StoreError::Backend(format!("column {column}: unknown delivery state")))
}

fn opt_unsigned<T: TryFrom<i64>>(row: &PgRow, column: usize) -> Result<Option<T>> {
    let value: Option<i64> = row.try_get(column)?;
    value
        .map(|v| {
            T::try_from(v)
                .map_err(|_| StoreError::Backend(format!("column {column}: integer out of range")))
        })
        .transpose()
}

pub(super) async fn deliveries(
    conn: &mut PgConnection,
    account: Id,
    endpoint: Id,
    limit: u32,
) -> Result<Option<Vec<WebhookDelivery>>> {
    if !owned(conn, account, endpoint).await? {
        return Ok(None);
    }
    let rows = sqlx::query(
        "SELECT id, endpoint_id, event_id, kind, share, record, number, at, state, attempts, due_at,
                finished_at
         FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(endpoint)
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await?;
    let mut list = rows
        .iter()
        .map(|row| {
            Ok(WebhookDelivery {
                id: row.try_get(0)?,
                endpoint: row.try_get(1)?,
                event_id: row.try_get(2)?,
                kind: row.try_get(3)?,
                share: row.try_get(4)?,
                record: row.try_get(5)?,
                number: row.try_get(6)?,
                at: row.try_get(7)?,
                state: state(row, 8)?,
                attempts: unsigned(row, 9)?,
                due_at: row.try_get(10)?,
                finished_at: row.try_get(11)?,
                log: Vec::new(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let ids: Vec<i64> = list.iter().map(|d| d.id).collect();
    let attempts = sqlx::query(
        "SELECT delivery_id, n, started_at, finished_at, status, error, next_at FROM webhook_attempts
         WHERE delivery_id = ANY($1) ORDER BY delivery_id, n",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    for row in &attempts {
        let delivery: i64 = row.try_get(0)?;
        let attempt = WebhookAttempt {
            n: unsigned(row, 1)?,
            started_at: row.try_get(2)?,
            finished_at: row.try_get(3)?,
            status: opt_unsigned(row, 4)?,
            error: row.try_get(5)?,
            next_at: row.try_get(6)?,
        };
        if let Some(d) = list.iter_mut().find(|d| d.id == delivery) {
            d.log.push(attempt);
        }
    }
    Ok(Some(list))
}

pub(super) async fn claim(
    conn: &mut PgConnection,
    now: UnixTime,
    lease: i64,
    limit: u32,
    max_attempts: u32,
) -> Result<Vec<ClaimedDelivery>> {
    // A delivery whose last allowed attempt never reported (its node died) fails here.
    sqlx::query(
        "UPDATE webhook_deliveries SET state = 'failed', due_at = NULL, finished_at = $1
         WHERE id IN (SELECT id FROM webhook_deliveries
                      WHERE state = 'pending' AND due_at <= $1 AND attempts >= $2
                      FOR UPDATE SKIP LOCKED)",
    )
    .bind(now)
    .bind(i64::from(max_attempts))
    .execute(&mut *conn)
    .await?;
    let lease_until = now + lease.max(1);
    let rows = sqlx::query(
        "WITH due AS (
             SELECT id FROM webhook_deliveries
             WHERE state = 'pending' AND due_at <= $1 AND attempts < $4
             ORDER BY due_at, id LIMIT $3 FOR UPDATE SKIP LOCKED),
         claimed AS (
             UPDATE webhook_deliveries d SET attempts = d.attempts + 1, due_at = $2
             FROM due WHERE d.id = due.id
             RETURNING d.id, d.endpoint_id, d.account_id, d.event_id, d.kind, d.share, d.record,
                       d.number, d.at, d.attempts)
         SELECT c.id, c.endpoint_id, c.account_id, c.event_id, c.kind, c.share, c.record, c.number,
                c.at, c.attempts, e.url, e.secret
         FROM claimed c JOIN webhook_endpoints e ON e.id = c.endpoint_id ORDER BY c.id",
    )
    .bind(now)
    .bind(lease_until)
    .bind(i64::from(limit))
    .bind(i64::from(max_attempts))
    .fetch_all(&mut *conn)
    .await?;
    let claimed = rows
        .iter()
        .map(|row| {
            Ok(ClaimedDelivery {
                id: row.try_get(0)?,
                endpoint: row.try_get(1)?,
                account: row.try_get(2)?,
                event_id: row.try_get(3)?,
                kind: row.try_get(4)?,
                share: row.try_get(5)?,
                record: row.try_get(6)?,
                number: row.try_get(7)?,
                at: row.try_get(8)?,
                attempt: unsigned(row, 9)?,
                url: row.try_get(10)?,
                secret: row.try_get(11)?,
                lease_until,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    for c in &claimed {
        sqlx::query(
            "INSERT INTO webhook_attempts (delivery_id, n, started_at) VALUES ($1, $2, $3)",
        )
        .bind(c.id)
        .bind(i64::from(c.attempt))
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(claimed)
}

pub(super) async fn finish(conn: &mut PgConnection, o: &AttemptOutcome) -> Result<()> {
    sqlx::query(
        "UPDATE webhook_attempts SET finished_at = $3, status = $4, error = $5, next_at = $6
         WHERE delivery_id = $1 AND n = $2",
    )
    .bind(o.delivery)
    .bind(i64::from(o.attempt))
    .bind(o.now)
    .bind(o.status.map(i64::from))
    .bind(&o.error)
    .bind(if o.delivered { None } else { o.next_at })
    .execute(&mut *conn)
    .await?;
    if o.delivered {
        sqlx::query(
            "UPDATE webhook_deliveries SET state = 'delivered', due_at = NULL, finished_at = $2
             WHERE id = $1 AND state = 'pending'",
        )
        .bind(o.delivery)
        .bind(o.now)
        .execute(&mut *conn)
        .await?;
    } else if let Some(next) = o.next_at {
        sqlx::query(
            "UPDATE webhook_deliveries SET due_at = $3
             WHERE id = $1 AND state = 'pending' AND attempts = $2",
        )
        .bind(o.delivery)
        .bind(i64::from(o.attempt))
        .bind(next)
        .execute(&mut *conn)
        .await?;
    } else {
        sqlx::query(
            "UPDATE webhook_deliveries SET state = 'failed', due_at = NULL, finished_at = $3
             WHERE id = $1 AND state = 'pending' AND attempts = $2",
        )
        .bind(o.delivery)
        .bind(i64::from(o.attempt))
        .bind(o.now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub(super) async fn purge(conn: &mut PgConnection, before: UnixTime, limit: u64) -> Result<u64> {
    Ok(sqlx::query(
        "DELETE FROM webhook_deliveries WHERE id IN (
             SELECT id FROM webhook_deliveries WHERE state <> 'pending' AND finished_at < $1
             LIMIT $2 FOR UPDATE SKIP LOCKED)",
    )
    .bind(before)
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .execute(&mut *conn)
    .await?
    .rows_affected())
}
