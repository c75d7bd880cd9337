//! The PostgreSQL backend: any number of stateless server nodes over one database, through an sqlx
//! connection pool.
//!
//! # How concurrent writes stay correct
//!
//! Every transaction runs at PostgreSQL's default isolation, READ COMMITTED: each statement sees what
//! was committed before it started, and an `UPDATE … WHERE …` that meets a row another transaction is
//! changing waits for it, then re-checks its `WHERE` against the committed row. On top of that:
//!
//! - **Single conditional statements** need nothing more: the bind (`UPDATE shares … WHERE device_key
//!   IS NULL AND ended_at IS NULL AND expires_at > now`; of racing devices exactly one matches, the
//!   others re-check and match nothing), login and access-token failure counts (`SET n = n + 1 …
//!   RETURNING n`), password changes guarded by the old auth hash, file completion, replay nonces (a
//!   primary key).
//! - **A record's row is its lock.** Every transaction that reads a record's head (version, key
//!   generation) to append a version, or that changes which of its shares are live, first locks the
//!   record row (`SELECT … FOR NO KEY UPDATE`) and only then reads the head and the shares. That covers
//!   owner updates, rotations and share creation (the new key must be wrapped for exactly the live
//!   shares: the set cannot change while the lock is held), recipient edits (the share's liveness is
//!   re-read under the lock, so an edit never lands after its share ended), every way a share ends
//!   (owner, recipient, record deletion, sweeper) and record deletion. Because the head is re-read
//!   after the lock is granted, a racing writer sees the winner's version and gets `VersionConflict`.
//! - **Lock order** is always: record row, then share rows, then the account's event lock. No
//!   transaction waits for a record while holding a share, so these transactions cannot deadlock.
//! - **Events** are inserted last in their transaction, after the account's event lock
//!   (`pg_advisory_xact_lock`, held until commit; accounts in ascending key order when one transaction
//!   writes for several). Event ids come from one sequence, so a sequence alone would let a
//!   transaction that drew id 7 commit after one that drew id 8, and a stream resuming after 8 would
//!   never see 7. Under the lock, an account's ids are drawn and committed in the same order.
//! - **The sweeper runs on every node.** Each step claims its rows with `FOR UPDATE SKIP LOCKED` (a row
//!   another node is working on is left to it) and every change it makes is conditional (`ended_at IS
//!   NULL`), so no row is handled twice and none is left behind: a skipped row is either being handled
//!   or comes up again in the next round.
//!
//! Live events reach every node's streams through `LISTEN sharelock_events`: a trigger on the events
//! table notifies with the account id, and PostgreSQL delivers a notification only once its
//! transaction has committed.

mod accounts;
mod admin;
mod events;
mod files;
mod listen;
mod records;
mod rows;
mod shares;
mod sweep;
#[cfg(feature = "testing")]
#[allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]
pub mod test_cluster;
mod webhooks;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, Postgres, Transaction};

use crate::model::*;
use crate::{Result, Store, StoreError, SweepPace};
use events::Pending;

pub use listen::Wakeups;

/// The schema, applied at open by every node. sqlx's migrator holds a session advisory lock (keyed by
/// the database name) while it checks and applies migrations, so nodes starting together apply each
/// step once and the others wait for it.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// How often a refused reservation is retried when the re-read finds no wait (a success cleared the
/// count in between) before it answers a one-second wait.
const RESERVE_TRIES: usize = 3;

/// Tuning knobs.
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    /// Connections this node keeps at most.
    pub max_connections: u32,
    /// Connections kept open while idle.
    pub min_connections: u32,
    /// How long a request waits for a free connection before it fails.
    pub acquire_timeout: Duration,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            min_connections: 2,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

/// The PostgreSQL [`Store`].
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// For connections outside the pool (the event listener).
    connect: PgConnectOptions,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PostgresStore")
    }
}

/// Parses a `postgres://user:password@host:port/db?sslmode=…` URL. The error never repeats the URL,
/// which holds a password.
pub fn connect_options(url: &str) -> Result<PgConnectOptions> {
    let options = PgConnectOptions::from_str(url).map_err(|_| {
        StoreError::Backend(
            "the PostgreSQL URL is not valid (postgres://user:password@host:port/database)".into(),
        )
    })?;
    Ok(options.application_name("sharelock"))
}

impl PostgresStore {
    /// Connects to the database at `url`, creates or upgrades its schema, and opens the pool.
    pub async fn open(url: &str, options: PostgresOptions) -> Result<Self> {
        Self::open_with(connect_options(url)?, options).await
    }

    pub async fn open_with(connect: PgConnectOptions, options: PostgresOptions) -> Result<Self> {
        migrate(&connect).await?;
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .min_connections(options.min_connections.min(options.max_connections))
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect.clone())
            .await
            .map_err(|e| backend("connecting", &e))?;
        Ok(Self { pool, connect })
    }

    /// The pool, for tools that work on the database as a whole (the SQLite copy, tests).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn begin(&self, op: &'static str) -> Result<Transaction<'static, Postgres>> {
        self.pool.begin().await.map_err(|e| backend(op, &e))
    }

    /// Commits a transaction that raises no events.
    async fn commit<T>(
        &self,
        op: &'static str,
        tx: Transaction<'static, Postgres>,
        result: Result<T>,
    ) -> Result<T> {
        let (value, _) = self
            .commit_raising(op, tx, Pending::default(), result)
            .await?;
        Ok(value)
    }

    /// Inserts the transaction's events (under their accounts' event locks), then commits; returns
    /// the committed events beside the value.
    async fn commit_raising<T>(
        &self,
        op: &'static str,
        mut tx: Transaction<'static, Postgres>,
        events: Pending,
        result: Result<T>,
    ) -> Result<(T, Vec<Event>)> {
        // On error the transaction is rolled back when dropped.
        let value = result.map_err(|e| with_op(op, e))?;
        let raised = events.insert(&mut tx).await.map_err(|e| with_op(op, e))?;
        tx.commit().await.map_err(|e| backend(op, &e))?;
        Ok((value, raised))
    }

    async fn conn(&self, op: &'static str) -> Result<sqlx::pool::PoolConnection<Postgres>> {
        self.pool.acquire().await.map_err(|e| backend(op, &e))
    }
}

/// Applies the migrations on a connection of its own, closed afterwards: the migrator's advisory lock
/// is held by that session, so it ends with it even if a migration fails half-way.
async fn migrate(connect: &PgConnectOptions) -> Result<()> {
    let mut conn = connect
        .connect()
        .await
        .map_err(|e| backend("connecting", &e))?;
    let result = MIGRATOR
        .run(&mut conn)
        .await
        .map_err(|e| StoreError::Backend(format!("migrating the schema: {e}")));
    let _ = conn.close().await;
    result
}

fn with_op(op: &'static str, error: StoreError) -> StoreError {
    match error {
        StoreError::Backend(message) => StoreError::Backend(format!("{op}: {message}")),
        other => other,
    }
}

/// Describes an sqlx error for the logs. Database errors carry PostgreSQL's primary message (which
/// names a constraint or a table, never a value: every value is a bound parameter) and SQLSTATE;
/// the message's DETAIL, which can quote a key, is left out.
pub(crate) fn describe(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => match db.code() {
            Some(code) => format!("{} (SQLSTATE {code})", db.message()),
            None => db.message().to_owned(),
        },
        sqlx::Error::Configuration(_) => "invalid connection settings".to_owned(),
        other => other.to_string(),
    }
}

fn backend(op: &str, e: &sqlx::Error) -> StoreError {
    StoreError::Backend(format!("{op}: {}", describe(e)))
}

impl From<sqlx::Error> for StoreError {
    /// Unique-key violations become `AlreadyExists` and foreign-key violations `NotFound` (the row
    /// referred to is missing); statements that expect them map them sooner (nonces: `Replay`).
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            match db.code().as_deref() {
                Some("23505") => return StoreError::AlreadyExists,
                Some("23503") => return StoreError::NotFound,
                _ => {}
            }
        }
        StoreError::Backend(describe(&e))
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(|e| backend("ping", &e))?;
        Ok(())
    }

    async fn create_account(&self, account: NewAccount) -> Result<()> {
        let mut conn = self.conn("create_account").await?;
        accounts::create(&mut conn, &account)
            .await
            .map_err(|e| with_op("create_account", e))
    }

    async fn account_by_email(&self, email: &str) -> Result<Option<Account>> {
        let mut conn = self.conn("account_by_email").await?;
        accounts::by_email(&mut conn, email)
            .await
            .map_err(|e| with_op("account_by_email", e))
    }

    async fn account_by_id(&self, id: Id) -> Result<Option<Account>> {
        let mut conn = self.conn("account_by_id").await?;
        accounts::by_id(&mut conn, id)
            .await
            .map_err(|e| with_op("account_by_id", e))
    }

    async fn reserve_login_attempt(&self, key: &[u8; 32], now: UnixTime) -> Result<Attempt> {
        let op = "reserve_login_attempt";
        let mut conn = self.conn(op).await?;
        for _ in 0..RESERVE_TRIES {
            let granted = accounts::reserve_login_attempt(&mut conn, key, now)
                .await
                .map_err(|e| with_op(op, e))?;
            if let Some(n) = granted {
                return Ok(Attempt::Granted { n });
            }
            let seen = accounts::login_attempts(&mut conn, key)
                .await
                .map_err(|e| with_op(op, e))?;
            let wait = seen.and_then(|(n, last)| Backoff::LOGIN.retry_after(n, Some(last), now));
            if let Some(retry_after) = wait {
                return Ok(Attempt::Wait { retry_after });
            }
            // A success cleared the count between the two statements: try again.
        }
        Ok(Attempt::Wait { retry_after: 1 })
    }

    async fn clear_login_attempts(&self, key: &[u8; 32]) -> Result<()> {
        let mut conn = self.conn("clear_login_attempts").await?;
        accounts::clear_login_attempts(&mut conn, key)
            .await
            .map_err(|e| with_op("clear_login_attempts", e))
    }

    async fn create_session(&self, session: NewSession) -> Result<()> {
        let mut tx = self.begin("create_session").await?;
        let result = accounts::create_session(&mut tx, &session).await;
        self.commit("create_session", tx, result).await
    }

    async fn session(&self, token_hash: &[u8; 32], now: UnixTime) -> Result<Option<Session>> {
        let mut conn = self.conn("session").await?;
        accounts::session(&mut conn, token_hash, now)
            .await
            .map_err(|e| with_op("session", e))
    }

    async fn delete_session(&self, token_hash: &[u8; 32]) -> Result<()> {
        let mut conn = self.conn("delete_session").await?;
        accounts::delete_session(&mut conn, token_hash)
            .await
            .map_err(|e| with_op("delete_session", e))
    }

    async fn delete_sessions(&self, account: Id) -> Result<()> {
        let mut conn = self.conn("delete_sessions").await?;
        accounts::delete_sessions(&mut conn, account)
            .await
            .map_err(|e| with_op("delete_sessions", e))
    }

    async fn change_credentials(
        &self,
        account: Id,
        expected_auth_hash: &[u8; 32],
        new: NewCredentials,
    ) -> Result<bool> {
        let mut tx = self.begin("change_credentials").await?;
        let result = accounts::change_credentials(&mut tx, account, expected_auth_hash, &new).await;
        self.commit("change_credentials", tx, result).await
    }

    async fn create_record(&self, account: Id, record: NewRecord) -> Result<()> {
        let mut tx = self.begin("create_record").await?;
        let result = records::create(&mut tx, account, &record).await;
        self.commit("create_record", tx, result).await
    }

    async fn list_records(&self, account: Id, envelope_limit: usize) -> Result<Vec<ListedRecord>> {
        let mut conn = self.conn("list_records").await?;
        records::list(&mut conn, account, envelope_limit)
            .await
            .map_err(|e| with_op("list_records", e))
    }

    async fn record(&self, account: Id, record: Id) -> Result<Option<RecordCurrent>> {
        let mut conn = self.conn("record").await?;
        records::current(&mut conn, account, record)
            .await
            .map_err(|e| with_op("record", e))
    }

    async fn update_record(
        &self,
        account: Id,
        record: Id,
        base_version: u64,
        version: NewVersion,
    ) -> Result<()> {
        let mut tx = self.begin("update_record").await?;
        let result = records::update(&mut tx, account, record, base_version, &version).await;
        self.commit("update_record", tx, result).await
    }

    async fn rotate_record(&self, account: Id, record: Id, rotation: Rotation) -> Result<()> {
        let mut tx = self.begin("rotate_record").await?;
        let result = records::rotate(&mut tx, account, record, &rotation).await;
        self.commit("rotate_record", tx, result).await
    }

    async fn delete_record(
        &self,
        account: Id,
        record: Id,
        now: UnixTime,
    ) -> Result<(Vec<Id>, Vec<Event>)> {
        let mut tx = self.begin("delete_record").await?;
        let mut events = Pending::default();
        let result = records::delete(&mut tx, &mut events, account, record, now).await;
        self.commit_raising("delete_record", tx, events, result)
            .await
    }

    async fn destroy_due_records(
        &self,
        now: UnixTime,
        limit: u32,
    ) -> Result<(Vec<DestroyedRecord>, Vec<Event>)> {
        let due = {
            let mut conn = self.conn("destroy_due_records").await?;
            records::due_for_destruction(&mut conn, now, limit)
                .await
                .map_err(|e| with_op("destroy_due_records", e))?
        };
        let mut destroyed = Vec::new();
        let mut raised = Vec::new();
        for (_, record, _) in due {
            if destroyed
                .iter()
                .any(|d: &DestroyedRecord| d.record == record)
            {
                continue;
            }
            let mut tx = self.begin("destroy_due_records").await?;
            let mut events = Pending::default();
            let result = records::destroy_if_due(&mut tx, &mut events, record, now).await;
            let (done, committed) = self
                .commit_raising("destroy_due_records", tx, events, result)
                .await?;
            destroyed.extend(done);
            raised.extend(committed);
        }
        Ok((destroyed, raised))
    }

    async fn history(&self, account: Id, record: Id) -> Result<Option<History>> {
        // One snapshot for the versions and the keys.
        let mut tx = self.begin("history").await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(|e| backend("history", &e))?;
        let result = records::history(&mut tx, account, record).await;
        self.commit("history", tx, result).await
    }

    async fn create_share(
        &self,
        account: Id,
        record: Id,
        rotation: Rotation,
        share: NewShare,
        max_live_shares: u32,
    ) -> Result<()> {
        let mut tx = self.begin("create_share").await?;
        let result =
            shares::create(&mut tx, account, record, &rotation, &share, max_live_shares).await;
        self.commit("create_share", tx, result).await
    }

    async fn list_shares(&self, account: Id, record: Option<Id>) -> Result<Vec<ShareRow>> {
        let mut conn = self.conn("list_shares").await?;
        shares::list(&mut conn, account, record)
            .await
            .map_err(|e| with_op("list_shares", e))
    }

    async fn share(&self, account: Id, handle: Id) -> Result<Option<ShareRow>> {
        let mut conn = self.conn("share").await?;
        shares::owned(&mut conn, account, handle)
            .await
            .map_err(|e| with_op("share", e))
    }

    async fn end_share(
        &self,
        account: Id,
        handle: Id,
        now: UnixTime,
    ) -> Result<(ShareRow, Vec<Event>)> {
        let mut tx = self.begin("end_share").await?;
        let mut events = Pending::default();
        let result = shares::end_by_owner(&mut tx, &mut events, account, handle, now).await;
        self.commit_raising("end_share", tx, events, result).await
    }

    async fn share_by_id(&self, share_id: &ShareId) -> Result<Option<ShareRow>> {
        let mut conn = self.conn("share_by_id").await?;
        shares::by_share_id(&mut conn, share_id)
            .await
            .map_err(|e| with_op("share_by_id", e))
    }

    async fn reserve_access_attempt(&self, share_id: &ShareId, now: UnixTime) -> Result<Attempt> {
        let op = "reserve_access_attempt";
        let mut conn = self.conn(op).await?;
        for _ in 0..RESERVE_TRIES {
            let granted = shares::reserve_access_attempt(&mut conn, share_id, now)
                .await
                .map_err(|e| with_op(op, e))?;
            if let Some(n) = granted {
                return Ok(Attempt::Granted { n });
            }
            let (n, last) = shares::access_attempts(&mut conn, share_id)
                .await
                .map_err(|e| with_op(op, e))?;
            if let Some(retry_after) = Backoff::ACCESS.retry_after(n, last, now) {
                return Ok(Attempt::Wait { retry_after });
            }
            // A success cleared the count between the two statements: try again.
        }
        Ok(Attempt::Wait { retry_after: 1 })
    }

    async fn access_attempt_judged(
        &self,
        share_id: &ShareId,
        n: u32,
        correct: bool,
        now: UnixTime,
    ) -> Result<Vec<Event>> {
        // Every wrong attempt adds to the share's total (never cleared, for the shared records report),
        // so each judgement writes, even one that raises no event.
        let op = "access_attempt_judged";
        let mut tx = self.begin(op).await?;
        let mut events = Pending::default();
        let result =
            shares::access_attempt_judged(&mut tx, &mut events, share_id, n, correct, now).await;
        let ((), raised) = self.commit_raising(op, tx, events, result).await?;
        Ok(raised)
    }

    async fn access_attempt(
        &self,
        share_id: &ShareId,
        correct: bool,
        now: UnixTime,
    ) -> Result<(Attempt, Vec<Event>)> {
        let op = "access_attempt";
        for _ in 0..RESERVE_TRIES {
            let mut tx = self.begin(op).await?;
            let mut events = Pending::default();
            let result = async {
                let granted = shares::reserve_access_attempt(&mut tx, share_id, now).await?;
                if let Some(n) = granted {
                    shares::access_attempt_judged(&mut tx, &mut events, share_id, n, correct, now)
                        .await?;
                }
                Ok(granted)
            }
            .await;
            let (granted, raised) = self.commit_raising(op, tx, events, result).await?;
            if let Some(n) = granted {
                return Ok((Attempt::Granted { n }, raised));
            }
            let mut conn = self.conn(op).await?;
            let (n, last) = shares::access_attempts(&mut conn, share_id)
                .await
                .map_err(|e| with_op(op, e))?;
            if let Some(retry_after) = Backoff::ACCESS.retry_after(n, last, now) {
                return Ok((Attempt::Wait { retry_after }, Vec::new()));
            }
            // A success cleared the count between the two statements: try again.
        }
        Ok((Attempt::Wait { retry_after: 1 }, Vec::new()))
    }

    async fn bind_with_attempt(
        &self,
        share_id: &ShareId,
        correct: bool,
        token_hash: &[u8; 32],
        device_key: &[u8],
        bind_tag: &[u8],
        now: UnixTime,
    ) -> Result<(Attempt, Option<BindOutcome>, Vec<Event>)> {
        let op = "bind_with_attempt";
        let bind = shares::Bind {
            share_id,
            token_hash,
            device_key,
            bind_tag,
            now,
        };
        for _ in 0..RESERVE_TRIES {
            let mut tx = self.begin(op).await?;
            let mut events = Pending::default();
            let result = async {
                let Some(n) = shares::reserve_access_attempt(&mut tx, share_id, now).await? else {
                    return Ok(None);
                };
                shares::access_attempt_judged(&mut tx, &mut events, share_id, n, correct, now)
                    .await?;
                if !correct {
                    return Ok(Some((n, None)));
                }
                let outcome = shares::bind(&mut tx, &mut events, &bind).await?;
                Ok(Some((n, Some(outcome))))
            }
            .await;
            let (granted, raised) = self.commit_raising(op, tx, events, result).await?;
            if let Some((n, outcome)) = granted {
                return Ok((Attempt::Granted { n }, outcome, raised));
            }
            let mut conn = self.conn(op).await?;
            let (n, last) = shares::access_attempts(&mut conn, share_id)
                .await
                .map_err(|e| with_op(op, e))?;
            if let Some(retry_after) = Backoff::ACCESS.retry_after(n, last, now) {
                return Ok((Attempt::Wait { retry_after }, None, Vec::new()));
            }
            // A success cleared the count between the two statements: try again.
        }
        Ok((Attempt::Wait { retry_after: 1 }, None, Vec::new()))
    }

    async fn bind(
        &self,
        share_id: &ShareId,
        token_hash: &[u8; 32],
        device_key: &[u8],
        bind_tag: &[u8],
        now: UnixTime,
    ) -> Result<(BindOutcome, Vec<Event>)> {
        let bind = shares::Bind {
            share_id,
            token_hash,
            device_key,
            bind_tag,
            now,
        };
        let mut tx = self.begin("bind").await?;
        let mut events = Pending::default();
        let result = shares::bind(&mut tx, &mut events, &bind).await;
        self.commit_raising("bind", tx, events, result).await
    }

    async fn recipient_view(
        &self,
        share_id: &ShareId,
        now: UnixTime,
    ) -> Result<Option<RecipientView>> {
        let mut conn = self.conn("recipient_view").await?;
        shares::recipient_view(&mut conn, share_id, now)
            .await
            .map_err(|e| with_op("recipient_view", e))
    }

    async fn touch_share(&self, share_id: &ShareId, now: UnixTime) -> Result<()> {
        let mut conn = self.conn("touch_share").await?;
        shares::touch(&mut conn, share_id, now)
            .await
            .map_err(|e| with_op("touch_share", e))
    }

    async fn recipient_edit(
        &self,
        change: SignedChange,
        base_version: u64,
        version: NewVersion,
    ) -> Result<Vec<Event>> {
        let mut tx = self.begin("recipient_edit").await?;
        let mut events = Pending::default();
        let result =
            shares::recipient_edit(&mut tx, &mut events, &change, base_version, &version).await;
        let ((), raised) = self
            .commit_raising("recipient_edit", tx, events, result)
            .await?;
        Ok(raised)
    }

    async fn recipient_view_once(
        &self,
        share_id: &ShareId,
        device_key: &[u8],
        now: UnixTime,
    ) -> Result<(RecipientView, Vec<Event>)> {
        let mut tx = self.begin("recipient_view_once").await?;
        let mut events = Pending::default();
        let result =
            shares::recipient_view_once(&mut tx, &mut events, share_id, device_key, now).await;
        self.commit_raising("recipient_view_once", tx, events, result)
            .await
    }

    async fn recipient_end(&self, change: SignedChange) -> Result<(ShareRow, Vec<Event>)> {
        let mut tx = self.begin("recipient_end").await?;
        let mut events = Pending::default();
        let result = shares::recipient_end(&mut tx, &mut events, &change).await;
        self.commit_raising("recipient_end", tx, events, result)
            .await
    }

    async fn use_nonce(&self, change: SignedChange) -> Result<()> {
        let mut tx = self.begin("use_nonce").await?;
        let result = shares::use_nonce(&mut tx, &change).await;
        self.commit("use_nonce", tx, result).await
    }

    async fn reserve_part(
        &self,
        write: PartBlob,
        size: u64,
        by: Author,
        limits: UploadLimits,
        now: UnixTime,
    ) -> Result<()> {
        let mut tx = self.begin("reserve_part").await?;
        let result = files::reserve(&mut tx, &write, size, by, limits, now).await;
        self.commit("reserve_part", tx, result).await
    }

    async fn attach_part(&self, write: PartBlob, now: UnixTime) -> Result<Option<PartBlob>> {
        let mut tx = self.begin("attach_part").await?;
        let result = files::attach(&mut tx, &write, now).await;
        self.commit("attach_part", tx, result).await?.into_result()
    }

    async fn discard_part(&self, write: PartBlob, now: UnixTime) -> Result<()> {
        let mut tx = self.begin("discard_part").await?;
        let result = files::discard(&mut tx, &write, now).await;
        self.commit("discard_part", tx, result).await
    }

    async fn complete_file(
        &self,
        record: Id,
        file: Id,
        by: Author,
        parts: u32,
        size: u64,
        now: UnixTime,
    ) -> Result<Vec<Event>> {
        let mut tx = self.begin("complete_file").await?;
        let mut events = Pending::default();
        let result =
            files::complete(&mut tx, &mut events, record, file, by, parts, size, now).await;
        let ((), raised) = self
            .commit_raising("complete_file", tx, events, result)
            .await?;
        Ok(raised)
    }

    async fn file(&self, record: Id, file: Id) -> Result<Option<FileRow>> {
        let mut conn = self.conn("file").await?;
        files::one(&mut conn, record, file)
            .await
            .map_err(|e| with_op("file", e))
    }

    async fn files(&self, record: Id) -> Result<Vec<FileRow>> {
        let mut conn = self.conn("files").await?;
        files::of_record(&mut conn, record)
            .await
            .map_err(|e| with_op("files", e))
    }

    async fn file_parts(&self, record: Id, file: Id) -> Result<Vec<PartBlob>> {
        let mut conn = self.conn("file_parts").await?;
        files::attached_parts(&mut conn, record, file)
            .await
            .map_err(|e| with_op("file_parts", e))
    }

    async fn sweep_uploads(&self, now: UnixTime, upload_ttl: i64) -> Result<u64> {
        let before = now.saturating_sub(upload_ttl);
        // Dropping an upload raises no event.
        self.repeat("sweep_uploads", &mut SweepPace::new(), &|_| {}, |tx, _| {
            Box::pin(files::sweep_unfinished(tx, before, now, sweep::BATCH))
        })
        .await
    }

    async fn blob_garbage(&self, limit: u32, now: UnixTime) -> Result<Vec<PartBlob>> {
        let mut conn = self.conn("blob_garbage").await?;
        files::garbage(&mut conn, limit, now)
            .await
            .map_err(|e| with_op("blob_garbage", e))
    }

    async fn forget_garbage(&self, blobs: Vec<PartBlob>) -> Result<()> {
        let mut conn = self.conn("forget_garbage").await?;
        files::forget(&mut conn, &blobs)
            .await
            .map_err(|e| with_op("forget_garbage", e))
    }

    async fn postpone_garbage(&self, blobs: Vec<PartBlob>, now: UnixTime) -> Result<()> {
        let mut conn = self.conn("postpone_garbage").await?;
        files::postpone(&mut conn, &blobs, now)
            .await
            .map_err(|e| with_op("postpone_garbage", e))
    }

    async fn events_since(&self, account: Id, after: i64, limit: u32) -> Result<Vec<Event>> {
        let mut conn = self.conn("events_since").await?;
        events::since(&mut conn, account, after, limit)
            .await
            .map_err(|e| with_op("events_since", e))
    }

    async fn last_event_id(&self, account: Id) -> Result<i64> {
        let mut conn = self.conn("last_event_id").await?;
        events::last_id(&mut conn, account)
            .await
            .map_err(|e| with_op("last_event_id", e))
    }

    fn event_wakeups(&self) -> Option<BoxStream<'static, Wakeup>> {
        Some(Wakeups::new(&self.connect).into_stream())
    }

    async fn create_webhook(&self, webhook: NewWebhook, max_per_account: u32) -> Result<()> {
        let mut tx = self.begin("create_webhook").await?;
        let result = webhooks::create(&mut tx, &webhook, max_per_account).await;
        self.commit("create_webhook", tx, result).await
    }

    async fn webhooks(&self, account: Id) -> Result<Vec<Webhook>> {
        let mut conn = self.conn("webhooks").await?;
        webhooks::list(&mut conn, account)
            .await
            .map_err(|e| with_op("webhooks", e))
    }

    async fn delete_webhook(&self, account: Id, endpoint: Id) -> Result<()> {
        let mut conn = self.conn("delete_webhook").await?;
        webhooks::delete(&mut conn, account, endpoint)
            .await
            .map_err(|e| with_op("delete_webhook", e))
    }

    async fn ping_webhook(&self, account: Id, endpoint: Id, now: UnixTime) -> Result<i64> {
        let mut conn = self.conn("ping_webhook").await?;
        webhooks::ping(&mut conn, account, endpoint, now)
            .await
            .map_err(|e| with_op("ping_webhook", e))
    }

    async fn webhook_deliveries(
        &self,
        account: Id,
        endpoint: Id,
        limit: u32,
    ) -> Result<Option<Vec<WebhookDelivery>>> {
        let mut conn = self.conn("webhook_deliveries").await?;
        webhooks::deliveries(&mut conn, account, endpoint, limit)
            .await
            .map_err(|e| with_op("webhook_deliveries", e))
    }

    async fn claim_webhook_deliveries(
        &self,
        now: UnixTime,
        lease: i64,
        limit: u32,
        max_attempts: u32,
    ) -> Result<Vec<ClaimedDelivery>> {
        let mut tx = self.begin("claim_webhook_deliveries").await?;
        let result = webhooks::claim(&mut tx, now, lease, limit, max_attempts).await;
        self.commit("claim_webhook_deliveries", tx, result).await
    }

    async fn finish_webhook_attempt(&self, outcome: AttemptOutcome) -> Result<()> {
        let mut tx = self.begin("finish_webhook_attempt").await?;
        let result = webhooks::finish(&mut tx, &outcome).await;
        self.commit("finish_webhook_attempt", tx, result).await
    }

    async fn purge_webhook_deliveries(&self, before: UnixTime) -> Result<u64> {
        let mut pace = SweepPace::new();
        let mut total = 0;
        loop {
            let mut tx = self.begin("purge_webhook_deliveries").await?;
            let result = webhooks::purge(&mut tx, before, sweep::BATCH).await;
            let n = self.commit("purge_webhook_deliveries", tx, result).await?;
            total += n;
            if n < sweep::BATCH || !pace.rest().await {
                return Ok(total);
            }
        }
    }

    async fn sweep(
        &self,
        now: UnixTime,
        retention: i64,
        nonce_ttl: i64,
        event_ttl: i64,
        publish: &(dyn Fn(Vec<Event>) + Send + Sync),
    ) -> Result<SweepReport> {
        let mut pace = SweepPace::new();
        let expired = self
            .repeat("sweep_expire", &mut pace, publish, |tx, events| {
                Box::pin(sweep::expire(tx, events, now, sweep::BATCH))
            })
            .await?;
        let shredded = self
            .repeat("sweep_shred", &mut pace, publish, |tx, _| {
                Box::pin(sweep::shred(tx, sweep::BATCH))
            })
            .await?;
        let purge_before = now.saturating_sub(retention);
        let purged = self
            .repeat("sweep_purge", &mut pace, publish, |tx, _| {
                Box::pin(sweep::purge(tx, purge_before, sweep::BATCH))
            })
            .await?;
        let nonces_before = now.saturating_sub(nonce_ttl);
        let nonces = self
            .repeat("sweep_nonces", &mut pace, publish, |tx, _| {
                Box::pin(sweep::nonces(tx, nonces_before, sweep::BATCH))
            })
            .await?;
        let sessions = self
            .repeat("sweep_sessions", &mut pace, publish, |tx, _| {
                Box::pin(sweep::sessions(tx, now, sweep::BATCH))
            })
            .await?;
        let events_before = now.saturating_sub(event_ttl);
        let events = self
            .repeat("sweep_events", &mut pace, publish, |tx, _| {
                Box::pin(sweep::events(tx, events_before, sweep::BATCH))
            })
            .await?;
        let attempts_before = now.saturating_sub(LOGIN_ATTEMPTS_TTL);
        let login_attempts = self
            .repeat("sweep_login_attempts", &mut pace, publish, |tx, _| {
                Box::pin(sweep::login_attempts(tx, attempts_before, sweep::BATCH))
            })
            .await?;
        let report = SweepReport {
            login_attempts,
            expired,
            // Expiring a share drops its key too.
            shredded: expired + shredded,
            purged,
            nonces,
            sessions,
            events,
            unfinished: pace.unfinished(),
        };
        Ok(report)
    }

    async fn account_usage(&self, now: UnixTime) -> Result<Vec<AccountUsage>> {
        let mut conn = self.conn("account_usage").await?;
        admin::account_usage(&mut conn, now)
            .await
            .map_err(|e| with_op("account_usage", e))
    }

    async fn set_account_disabled(&self, account: Id, disabled: Option<UnixTime>) -> Result<bool> {
        let mut tx = self.begin("set_account_disabled").await?;
        let result = admin::set_disabled(&mut tx, account, disabled).await;
        self.commit("set_account_disabled", tx, result).await
    }

    async fn delete_account(&self, account: Id, now: UnixTime) -> Result<AccountDeletion> {
        let mut tx = self.begin("delete_account").await?;
        let result = admin::delete_account(&mut tx, account, now).await;
        self.commit("delete_account", tx, result).await
    }

    async fn create_invite(&self, invite: NewInvite) -> Result<()> {
        let mut conn = self.conn("create_invite").await?;
        admin::create_invite(&mut conn, &invite)
            .await
            .map_err(|e| with_op("create_invite", e))
    }

    async fn invites(&self) -> Result<Vec<Invite>> {
        let mut conn = self.conn("invites").await?;
        admin::invites(&mut conn)
            .await
            .map_err(|e| with_op("invites", e))
    }

    async fn invite(&self, id: Id) -> Result<Option<Invite>> {
        let mut conn = self.conn("invite").await?;
        admin::invite(&mut conn, id)
            .await
            .map_err(|e| with_op("invite", e))
    }

    async fn revoke_invite(&self, id: Id, now: UnixTime) -> Result<bool> {
        let mut conn = self.conn("revoke_invite").await?;
        admin::revoke_invite(&mut conn, id, now)
            .await
            .map_err(|e| with_op("revoke_invite", e))
    }

    async fn create_account_invited(
        &self,
        account: NewAccount,
        invite: Id,
        code_hash: &[u8; 32],
    ) -> Result<()> {
        let mut tx = self.begin("create_account_invited").await?;
        let result = admin::create_account_invited(&mut tx, &account, invite, code_hash).await;
        self.commit("create_account_invited", tx, result).await
    }
}

impl PostgresStore {
    /// Repeats a bounded sweep step, one transaction each, until it claims less than a full batch.
    /// Returns the rows it changed; hands the events each transaction committed to `publish`.
    async fn repeat<F>(
        &self,
        op: &'static str,
        pace: &mut SweepPace,
        publish: &(dyn Fn(Vec<Event>) + Send + Sync),
        step: F,
    ) -> Result<u64>
    where
        F: for<'a> Fn(
            &'a mut PgConnection,
            &'a mut Pending,
        ) -> futures::future::BoxFuture<'a, Result<sweep::Claimed>>,
    {
        pace.begin_kind();
        let mut total = 0;
        loop {
            let mut tx = self.begin(op).await?;
            let mut events = Pending::default();
            let result = step(&mut tx, &mut events).await;
            let (claimed, events) = self.commit_raising(op, tx, events, result).await?;
            // Each batch's events leave as soon as it is committed: a pass holds one batch's worth.
            if !events.is_empty() {
                publish(events);
            }
            total += claimed.changed;
            if claimed.claimed < sweep::BATCH || !pace.rest().await {
                return Ok(total);
            }
        }
    }
}
