//! The SQLite backend: one process, one database file, durable at `synchronous=FULL`.
//!
//! One writer thread owns the only write connection and commits whatever is queued as one
//! transaction (group commit: one fsync covers many requests), running each job in its own savepoint
//! so a failing job rolls back only itself; a caller hears back only after the commit, so an answer
//! always means durable. Reads go to a small pool of read-only connections on their own threads. WAL
//! checkpoints run on a third connection, off the commit path.

mod accounts;
mod admin;
mod engine;
mod events;
mod files;
mod records;
mod rows;
mod shares;
mod sweep;
mod webhooks;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;
use rusqlite::{Connection, OpenFlags, Transaction};
use rusqlite_migration::{M, Migrations};

use crate::model::*;
use crate::{Result, Store, StoreError, SweepPace};
use engine::{Checkpointer, InlineReaders, Readers, Writer};

/// The schema, one embedded SQL file per step, applied in order at open.
const MIGRATIONS: &[M<'static>] = &[
    M::up(include_str!("../../migrations/sqlite/0001_initial.sql")),
    M::up(include_str!(
        "../../migrations/sqlite/0004_device_refused.sql"
    )),
    M::up(include_str!(
        "../../migrations/sqlite/0005_login_attempts.sql"
    )),
    M::up(include_str!("../../migrations/sqlite/0006_file_parts.sql")),
    M::up(include_str!(
        "../../migrations/sqlite/0007_legacy_file_parts.sql"
    )),
    M::up(include_str!("../../migrations/sqlite/0013_view_once.sql")),
    M::up(include_str!(
        "../../migrations/sqlite/0010_shares_unshredded.sql"
    )),
    // After 0013 and 0010, which were applied first: the list's order is the order databases were migrated in.
    M::up(include_str!("../../migrations/sqlite/0008_admin.sql")),
    M::up(include_str!(
        "../../migrations/sqlite/0018_sweep_at_scale.sql"
    )),
    M::up(include_str!("../../migrations/sqlite/0015_requests.sql")),
    M::up(include_str!("../../migrations/sqlite/0014_webhooks.sql")),
    M::up(include_str!(
        "../../migrations/sqlite/0019_share_counts.sql"
    )),
    M::up(include_str!(
        "../../migrations/sqlite/0016_self_destruct.sql"
    )),
    M::up(include_str!(
        "../../migrations/sqlite/0017_share_preface.sql"
    )),
];

/// The schema version (`PRAGMA user_version`) a database has once every migration above is applied.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// The part writes the files of the database open on `conn` are made of, each with its size in bytes
/// (see [`crate::backup`]).
pub fn referenced_blobs(conn: &Connection) -> Result<Vec<(PartBlob, u64)>> {
    files::all_attached_parts(conn)
}

/// Tuning knobs. The defaults suit the embedded single-node deployment.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// Read-only connections, each on its own thread (at least 1).
    pub readers: usize,
    /// Read-only connections for reads of a row by key (a share, a session), used on the calling thread
    /// without a hand-off; 0 sends those reads to the reader threads too.
    pub inline_readers: usize,
    /// How long a connection waits on a lock held by another process before failing.
    pub busy_timeout: Duration,
    /// Page cache of the writer, in KiB (readers get a quarter each).
    pub cache_kib: u32,
    /// The most jobs one group commit takes.
    pub batch_limit: usize,
    /// `Some(interval)`: checkpoint the WAL from a separate thread at most this often, with the
    /// writer's automatic checkpoints off. `None`: SQLite's automatic checkpoint on the writer's commit
    /// path (every 1000 pages). See docs/benchmarks.md for the measurement behind the default.
    pub checkpoint_interval: Option<Duration>,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            readers: 2,
            inline_readers: 2,
            busy_timeout: Duration::from_secs(5),
            cache_kib: 16 * 1024,
            batch_limit: 256,
            checkpoint_interval: Some(Duration::from_millis(500)),
        }
    }
}

/// Once the WAL has been checkpointed and restarted, SQLite truncates the file back to this size.
const WAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// The SQLite [`Store`]. Dropping it finishes the queued writes, then closes every connection.
pub struct SqliteStore {
    // Field order is drop order: the writer drains its queue before the other connections close.
    writer: Writer,
    readers: Readers,
    inline: InlineReaders,
    _checkpointer: Option<Checkpointer>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteStore")
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    /// Blocks while it migrates: call it at startup, not on a request path.
    pub fn open(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self> {
        let path = path.as_ref();
        create_owner_only(path)
            .map_err(|e| StoreError::Backend(format!("creating the database file: {e}")))?;
        let mut writer = open_writer(path, &options).map_err(|e| opening("the writer", &e))?;
        Migrations::from_slice(MIGRATIONS)
            .to_latest(&mut writer)
            .map_err(|e| StoreError::Backend(format!("migrating the schema: {e}")))?;
        writer
            .execute_batch(shares::OPEN_SHARE_COUNTS)
            .map_err(|e| opening("the writer's share counts", &e))?;

        let readers = (0..options.readers.max(1))
            .map(|_| open_reader(path, &options).map_err(|e| opening("a reader", &e)))
            .collect::<Result<Vec<_>>>()?;
        let inline = (0..options.inline_readers)
            .map(|_| open_reader(path, &options).map_err(|e| opening("a reader", &e)))
            .collect::<Result<Vec<_>>>()?;
        let commits = Arc::new(AtomicU64::new(0));
        let checkpointer = match options.checkpoint_interval {
            Some(interval) => {
                let conn = open_checkpointer(path, &options)
                    .map_err(|e| opening("the checkpointer", &e))?;
                Some(Checkpointer::spawn(conn, interval, Arc::clone(&commits))?)
            }
            None => None,
        };
        Ok(Self {
            writer: Writer::spawn(writer, options.batch_limit, commits)?,
            readers: Readers::spawn(readers)?,
            inline: InlineReaders::new(inline),
            _checkpointer: checkpointer,
        })
    }

    async fn write<T, F>(&self, op: &'static str, work: F) -> Result<T>
    where
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.writer.run(op, work).await
    }

    /// A write that may raise events: they come back with its value once the transaction has committed.
    async fn write_raising<T, F>(&self, op: &'static str, work: F) -> Result<(T, Vec<Event>)>
    where
        F: FnOnce(&Transaction<'_>, &mut Vec<Event>) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.writer
            .run(op, move |tx| {
                let mut raised = Vec::new();
                let value = work(tx, &mut raised)?;
                Ok((value, raised))
            })
            .await
    }

    async fn read<T, F>(&self, op: &'static str, work: F) -> Result<T>
    where
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.readers.run(op, work).await
    }

    /// A read of a row or two by key: on this thread when an inline connection is free (microseconds from
    /// the page cache, less than handing it to a reader thread costs), else on a reader thread.
    async fn read_point<T, F>(&self, op: &'static str, work: F) -> Result<T>
    where
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        match self.inline.take() {
            Some(conn) => self.inline.run(conn, op, work),
            None => self.readers.run(op, work).await,
        }
    }

    /// Repeats a bounded sweep step until it comes back short, so no single commit holds the writer
    /// long, resting between steps and stopping at the budget as `pace` says. Returns the rows it handled.
    async fn repeat_step<F>(&self, op: &'static str, pace: &mut SweepPace, step: F) -> Result<u64>
    where
        F: Fn(&Transaction<'_>, u64) -> Result<u64> + Clone + Send + 'static,
    {
        pace.begin_kind();
        let mut total = 0;
        loop {
            let step = step.clone();
            let rows = self.write(op, move |tx| step(tx, sweep::BATCH)).await?;
            total += rows;
            if rows < sweep::BATCH || !pace.rest().await {
                return Ok(total);
            }
        }
    }
}

/// Creates an empty database file readable by its owner only (0600), unless one exists. SQLite gives the
/// `-wal` and `-shm` files it creates beside it the database file's mode, so they are private too.
fn create_owner_only(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

fn opening(what: &str, e: &rusqlite::Error) -> StoreError {
    StoreError::Backend(format!("opening {what}: {}", describe(e)))
}

fn open_writer(path: &Path, options: &SqliteOptions) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(options.busy_timeout)?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(rusqlite::Error::InvalidQuery);
    }
    // FULL: the WAL is fsynced at every commit, so an acknowledged write survives power loss.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    // Crypto-shredding drops wrapped keys: zero what a change frees inside a page instead of leaving it
    // readable in free space. FAST adds no I/O (freed whole pages are not rewritten).
    conn.pragma_update(None, "secure_delete", "FAST")?;
    conn.pragma_update(None, "cache_size", -i64::from(options.cache_kib))?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
    let auto_checkpoint_pages = if options.checkpoint_interval.is_some() {
        0
    } else {
        1000
    };
    conn.pragma_update(None, "wal_autocheckpoint", auto_checkpoint_pages)?;
    plan_once(&conn)?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}

fn open_reader(path: &Path, options: &SqliteOptions) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(options.busy_timeout)?;
    conn.pragma_update(None, "cache_size", -i64::from(options.cache_kib / 4))?;
    plan_once(&conn)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// Turns on SQLite's query planner stability guarantee: a cached statement keeps the plan it was prepared
/// with, whatever values are bound to it. Without it, once the database has `sqlite_stat4` statistics
/// (any `ANALYZE`, by an operator or `PRAGMA optimize`), SQLite marks every statement whose plan it
/// estimated from a bound value (a lookup by key in a join, the live-share count) to be prepared again
/// whenever that value changes: the statement cache then saved nothing, and the signed fetch paid a
/// parse and a plan on every request (docs/benchmarks.md §7). The statements here read rows by key or
/// through the one index that fits, so planning from the bound values has nothing to win.
fn plan_once(conn: &Connection) -> rusqlite::Result<()> {
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(())
}

fn open_checkpointer(path: &Path, options: &SqliteOptions) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(options.busy_timeout)?;
    // A checkpoint fsyncs the database file before the WAL may be reused.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
    Ok(conn)
}

/// Describes a SQLite error for the logs. SQLite's own messages name tables, columns and constraints
/// (every value in our SQL is a bound parameter, so none can appear); rusqlite's conversion errors
/// carry the offending value, so those are described by column only.
pub(crate) fn describe(e: &rusqlite::Error) -> String {
    use rusqlite::Error as E;
    match e {
        E::SqliteFailure(code, Some(message)) => format!("{code} ({message})"),
        E::SqliteFailure(code, None) => code.to_string(),
        E::FromSqlConversionFailure(column, kind, _) => {
            format!("column {column}: cannot read {kind}")
        }
        E::IntegralValueOutOfRange(column, _) => format!("column {column}: integer out of range"),
        E::ToSqlConversionFailure(_) => "a parameter is out of range".into(),
        E::InvalidColumnType(column, name, kind) => {
            format!("column {column} ({name}): unexpected {kind}")
        }
        other => other.to_string(),
    }
}

impl From<rusqlite::Error> for StoreError {
    /// Unique-key violations become `AlreadyExists` and foreign-key violations `NotFound` (the row
    /// referred to is missing); statements that expect them map them sooner (nonces: `Replay`).
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ffi;
        match e.sqlite_error().map(|f| f.extended_code) {
            Some(ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY) => {
                StoreError::AlreadyExists
            }
            Some(ffi::SQLITE_CONSTRAINT_FOREIGNKEY) => StoreError::NotFound,
            _ => StoreError::Backend(describe(&e)),
        }
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<()> {
        self.read("ping", |conn| {
            conn.prepare_cached("SELECT 1")?.query_row([], |_| Ok(()))?;
            Ok(())
        })
        .await
    }

    async fn create_account(&self, account: NewAccount) -> Result<()> {
        self.write("create_account", move |tx| accounts::create(tx, &account))
            .await
    }

    async fn account_by_email(&self, email: &str) -> Result<Option<Account>> {
        let email = email.to_owned();
        self.read("account_by_email", move |conn| {
            accounts::by_email(conn, &email)
        })
        .await
    }

    async fn account_by_id(&self, id: Id) -> Result<Option<Account>> {
        self.read_point("account_by_id", move |conn| accounts::by_id(conn, id))
            .await
    }

    async fn reserve_login_attempt(&self, key: &[u8; 32], now: UnixTime) -> Result<Attempt> {
        let key = *key;
        self.write("reserve_login_attempt", move |tx| {
            accounts::reserve_login_attempt(tx, &key, now)
        })
        .await
    }

    async fn clear_login_attempts(&self, key: &[u8; 32]) -> Result<()> {
        let key = *key;
        self.write("clear_login_attempts", move |tx| {
            accounts::clear_login_attempts(tx, &key)
        })
        .await
    }

    async fn create_session(&self, session: NewSession) -> Result<()> {
        self.write("create_session", move |tx| {
            accounts::create_session(tx, &session)
        })
        .await
    }

    async fn session(&self, token_hash: &[u8; 32], now: UnixTime) -> Result<Option<Session>> {
        let token_hash = *token_hash;
        self.read_point("session", move |conn| {
            accounts::session(conn, &token_hash, now)
        })
        .await
    }

    async fn delete_session(&self, token_hash: &[u8; 32]) -> Result<()> {
        let token_hash = *token_hash;
        self.write("delete_session", move |tx| {
            accounts::delete_session(tx, &token_hash)
        })
        .await
    }

    async fn delete_sessions(&self, account: Id) -> Result<()> {
        self.write("delete_sessions", move |tx| {
            accounts::delete_sessions(tx, account)
        })
        .await
    }

    async fn change_credentials(
        &self,
        account: Id,
        expected_auth_hash: &[u8; 32],
        new: NewCredentials,
    ) -> Result<bool> {
        let expected = *expected_auth_hash;
        self.write("change_credentials", move |tx| {
            accounts::change_credentials(tx, account, &expected, &new)
        })
        .await
    }

    async fn create_record(&self, account: Id, record: NewRecord) -> Result<()> {
        self.write("create_record", move |tx| {
            records::create(tx, account, &record)
        })
        .await
    }

    async fn list_records(&self, account: Id, envelope_limit: usize) -> Result<Vec<ListedRecord>> {
        self.read("list_records", move |conn| {
            records::list(conn, account, envelope_limit)
        })
        .await
    }

    async fn record(&self, account: Id, record: Id) -> Result<Option<RecordCurrent>> {
        self.read_point("record", move |conn| {
            records::current(conn, account, record)
        })
        .await
    }

    async fn update_record(
        &self,
        account: Id,
        record: Id,
        base_version: u64,
        version: NewVersion,
    ) -> Result<()> {
        self.write("update_record", move |tx| {
            records::update(tx, account, record, base_version, &version)
        })
        .await
    }

    async fn rotate_record(&self, account: Id, record: Id, rotation: Rotation) -> Result<()> {
        self.write("rotate_record", move |tx| {
            records::rotate(tx, account, record, &rotation)
        })
        .await
    }

    async fn delete_record(
        &self,
        account: Id,
        record: Id,
        now: UnixTime,
    ) -> Result<(Vec<Id>, Vec<Event>)> {
        self.write_raising("delete_record", move |tx, raised| {
            records::delete(tx, raised, account, record, now)
        })
        .await
    }

    async fn destroy_due_records(
        &self,
        now: UnixTime,
        limit: u32,
    ) -> Result<(Vec<DestroyedRecord>, Vec<Event>)> {
        self.write_raising("destroy_due_records", move |tx, raised| {
            records::destroy_due(tx, raised, now, limit)
        })
        .await
    }

    async fn history(&self, account: Id, record: Id) -> Result<Option<History>> {
        self.read("history", move |conn| {
            records::history(conn, account, record)
        })
        .await
    }

    async fn create_share(
        &self,
        account: Id,
        record: Id,
        rotation: Rotation,
        share: NewShare,
        max_live_shares: u32,
    ) -> Result<()> {
        self.write("create_share", move |tx| {
            shares::create(tx, account, record, &rotation, &share, max_live_shares)
        })
        .await
    }

    async fn list_shares(&self, account: Id, record: Option<Id>) -> Result<Vec<ShareRow>> {
        self.read("list_shares", move |conn| {
            shares::list(conn, account, record)
        })
        .await
    }

    async fn share(&self, account: Id, handle: Id) -> Result<Option<ShareRow>> {
        self.read("share", move |conn| shares::owned(conn, account, handle))
            .await
    }

    async fn end_share(
        &self,
        account: Id,
        handle: Id,
        now: UnixTime,
    ) -> Result<(ShareRow, Vec<Event>)> {
        self.write_raising("end_share", move |tx, raised| {
            shares::end_by_owner(tx, raised, account, handle, now)
        })
        .await
    }

    async fn share_by_id(&self, share_id: &ShareId) -> Result<Option<ShareRow>> {
        let share_id = *share_id;
        self.read_point("share_by_id", move |conn| {
            shares::by_share_id(conn, &share_id)
        })
        .await
    }

    async fn reserve_access_attempt(&self, share_id: &ShareId, now: UnixTime) -> Result<Attempt> {
        let share_id = *share_id;
        self.write("reserve_access_attempt", move |tx| {
            shares::reserve_access_attempt(tx, &share_id, now)
        })
        .await
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
        let share_id = *share_id;
        let ((), raised) = self
            .write_raising("access_attempt_judged", move |tx, raised| {
                shares::access_attempt_judged(tx, raised, &share_id, n, correct, now)
            })
            .await?;
        Ok(raised)
    }

    async fn access_attempt(
        &self,
        share_id: &ShareId,
        correct: bool,
        now: UnixTime,
    ) -> Result<(Attempt, Vec<Event>)> {
        let share_id = *share_id;
        self.write_raising("access_attempt", move |tx, raised| {
            shares::access_attempt(tx, raised, &share_id, correct, now)
        })
        .await
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
        let bind = shares::Bind {
            share_id: *share_id,
            token_hash: *token_hash,
            device_key: device_key.to_vec(),
            bind_tag: bind_tag.to_vec(),
            now,
        };
        let ((attempt, outcome), raised) = self
            .write_raising("bind_with_attempt", move |tx, raised| {
                let attempt = shares::access_attempt(tx, raised, &bind.share_id, correct, now)?;
                if !correct || !matches!(attempt, Attempt::Granted { .. }) {
                    return Ok((attempt, None));
                }
                Ok((attempt, Some(shares::bind(tx, raised, &bind)?)))
            })
            .await?;
        Ok((attempt, outcome, raised))
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
            share_id: *share_id,
            token_hash: *token_hash,
            device_key: device_key.to_vec(),
            bind_tag: bind_tag.to_vec(),
            now,
        };
        self.write_raising("bind", move |tx, raised| shares::bind(tx, raised, &bind))
            .await
    }

    async fn recipient_view(
        &self,
        share_id: &ShareId,
        now: UnixTime,
    ) -> Result<Option<RecipientView>> {
        let share_id = *share_id;
        self.read_point("recipient_view", move |conn| {
            shares::recipient_view(conn, &share_id, now)
        })
        .await
    }

    async fn touch_share(&self, share_id: &ShareId, now: UnixTime) -> Result<()> {
        let share_id = *share_id;
        self.writer
            .detach("touch_share", move |tx| shares::touch(tx, &share_id, now))
            .await
    }

    async fn recipient_edit(
        &self,
        change: SignedChange,
        base_version: u64,
        version: NewVersion,
    ) -> Result<Vec<Event>> {
        let ((), raised) = self
            .write_raising("recipient_edit", move |tx, raised| {
                shares::recipient_edit(tx, raised, &change, base_version, &version)
            })
            .await?;
        Ok(raised)
    }

    async fn recipient_view_once(
        &self,
        share_id: &ShareId,
        device_key: &[u8],
        now: UnixTime,
    ) -> Result<(RecipientView, Vec<Event>)> {
        let share_id = *share_id;
        let device_key = device_key.to_vec();
        self.write_raising("recipient_view_once", move |tx, raised| {
            shares::recipient_view_once(tx, raised, &share_id, &device_key, now)
        })
        .await
    }

    async fn recipient_end(&self, change: SignedChange) -> Result<(ShareRow, Vec<Event>)> {
        self.write_raising("recipient_end", move |tx, raised| {
            shares::recipient_end(tx, raised, &change)
        })
        .await
    }

    async fn use_nonce(&self, change: SignedChange) -> Result<()> {
        self.write("use_nonce", move |tx| shares::use_nonce(tx, &change))
            .await
    }

    async fn reserve_part(
        &self,
        write: PartBlob,
        size: u64,
        by: Author,
        limits: UploadLimits,
        now: UnixTime,
    ) -> Result<()> {
        self.write("reserve_part", move |tx| {
            files::reserve(tx, &write, size, by, limits, now)
        })
        .await
    }

    async fn attach_part(&self, write: PartBlob, now: UnixTime) -> Result<Option<PartBlob>> {
        self.write("attach_part", move |tx| files::attach(tx, &write, now))
            .await?
            .into_result()
    }

    async fn discard_part(&self, write: PartBlob, now: UnixTime) -> Result<()> {
        self.write("discard_part", move |tx| files::discard(tx, &write, now))
            .await
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
        let ((), events) = self
            .write_raising("complete_file", move |tx, raised| {
                files::complete(tx, raised, record, file, by, parts, size, now)
            })
            .await?;
        Ok(events)
    }

    async fn file(&self, record: Id, file: Id) -> Result<Option<FileRow>> {
        self.read("file", move |conn| files::one(conn, record, file))
            .await
    }

    async fn files(&self, record: Id) -> Result<Vec<FileRow>> {
        self.read("files", move |conn| files::of_record(conn, record))
            .await
    }

    async fn file_parts(&self, record: Id, file: Id) -> Result<Vec<PartBlob>> {
        self.read("file_parts", move |conn| {
            files::attached_parts(conn, record, file)
        })
        .await
    }

    async fn sweep_uploads(&self, now: UnixTime, upload_ttl: i64) -> Result<u64> {
        let before = now.saturating_sub(upload_ttl);
        self.repeat_step("sweep_uploads", &mut SweepPace::new(), move |tx, limit| {
            files::sweep_unfinished(tx, before, now, limit)
        })
        .await
    }

    async fn blob_garbage(&self, limit: u32, now: UnixTime) -> Result<Vec<PartBlob>> {
        self.read("blob_garbage", move |conn| files::garbage(conn, limit, now))
            .await
    }

    async fn forget_garbage(&self, blobs: Vec<PartBlob>) -> Result<()> {
        self.write("forget_garbage", move |tx| files::forget(tx, &blobs))
            .await
    }

    async fn postpone_garbage(&self, blobs: Vec<PartBlob>, now: UnixTime) -> Result<()> {
        self.write("postpone_garbage", move |tx| {
            files::postpone(tx, &blobs, now)
        })
        .await
    }

    async fn events_since(&self, account: Id, after: i64, limit: u32) -> Result<Vec<Event>> {
        self.read("events_since", move |conn| {
            events::since(conn, account, after, limit)
        })
        .await
    }

    async fn last_event_id(&self, account: Id) -> Result<i64> {
        self.read("last_event_id", move |conn| events::last_id(conn, account))
            .await
    }

    /// One process writes this database: the events its writes return are all there are.
    fn event_wakeups(&self) -> Option<BoxStream<'static, Wakeup>> {
        None
    }

    async fn create_webhook(&self, webhook: NewWebhook, max_per_account: u32) -> Result<()> {
        self.write("create_webhook", move |tx| {
            webhooks::create(tx, &webhook, max_per_account)
        })
        .await
    }

    async fn webhooks(&self, account: Id) -> Result<Vec<Webhook>> {
        self.read("webhooks", move |conn| webhooks::list(conn, account))
            .await
    }

    async fn delete_webhook(&self, account: Id, endpoint: Id) -> Result<()> {
        self.write("delete_webhook", move |tx| {
            webhooks::delete(tx, account, endpoint)
        })
        .await
    }

    async fn ping_webhook(&self, account: Id, endpoint: Id, now: UnixTime) -> Result<i64> {
        self.write("ping_webhook", move |tx| {
            webhooks::ping(tx, account, endpoint, now)
        })
        .await
    }

    async fn webhook_deliveries(
        &self,
        account: Id,
        endpoint: Id,
        limit: u32,
    ) -> Result<Option<Vec<WebhookDelivery>>> {
        self.read("webhook_deliveries", move |conn| {
            webhooks::deliveries(conn, account, endpoint, limit)
        })
        .await
    }

    async fn claim_webhook_deliveries(
        &self,
        now: UnixTime,
        lease: i64,
        limit: u32,
        max_attempts: u32,
    ) -> Result<Vec<ClaimedDelivery>> {
        self.write("claim_webhook_deliveries", move |tx| {
            webhooks::claim(tx, now, lease, limit, max_attempts)
        })
        .await
    }

    async fn finish_webhook_attempt(&self, outcome: AttemptOutcome) -> Result<()> {
        self.write("finish_webhook_attempt", move |tx| {
            webhooks::finish(tx, &outcome)
        })
        .await
    }

    async fn purge_webhook_deliveries(&self, before: UnixTime) -> Result<u64> {
        self.repeat_step(
            "purge_webhook_deliveries",
            &mut SweepPace::new(),
            move |tx, limit| webhooks::purge(tx, before, limit),
        )
        .await
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
        let mut expired = 0;
        loop {
            let (rows, events) = self
                .write_raising("sweep_expire", move |tx, raised| {
                    sweep::expire(tx, raised, now, sweep::EXPIRE_BATCH)
                })
                .await?;
            expired += rows;
            // Each batch's events leave as soon as it is committed: a pass holds one batch's worth.
            if !events.is_empty() {
                publish(events);
            }
            if rows < sweep::EXPIRE_BATCH || !pace.rest().await {
                break;
            }
        }
        let shredded = self
            .repeat_step("sweep_shred", &mut pace, sweep::shred)
            .await?;
        let purge_before = now.saturating_sub(retention);
        let purged = self
            .repeat_step("sweep_purge", &mut pace, move |tx, limit| {
                sweep::purge(tx, purge_before, limit)
            })
            .await?;
        let nonces_before = now.saturating_sub(nonce_ttl);
        let nonces = self
            .repeat_step("sweep_nonces", &mut pace, move |tx, limit| {
                sweep::nonces(tx, nonces_before, limit)
            })
            .await?;
        let sessions = self
            .repeat_step("sweep_sessions", &mut pace, move |tx, limit| {
                sweep::sessions(tx, now, limit)
            })
            .await?;
        let events_before = now.saturating_sub(event_ttl);
        let events = self
            .repeat_step("sweep_events", &mut pace, move |tx, limit| {
                sweep::events(tx, events_before, limit)
            })
            .await?;
        let attempts_before = now.saturating_sub(LOGIN_ATTEMPTS_TTL);
        let login_attempts = self
            .repeat_step("sweep_login_attempts", &mut pace, move |tx, limit| {
                sweep::login_attempts(tx, attempts_before, limit)
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
        self.read("account_usage", move |conn| admin::account_usage(conn, now))
            .await
    }

    async fn set_account_disabled(&self, account: Id, disabled: Option<UnixTime>) -> Result<bool> {
        self.write("set_account_disabled", move |tx| {
            admin::set_disabled(tx, account, disabled)
        })
        .await
    }

    async fn delete_account(&self, account: Id, now: UnixTime) -> Result<AccountDeletion> {
        self.write("delete_account", move |tx| {
            admin::delete_account(tx, account, now)
        })
        .await
    }

    async fn create_invite(&self, invite: NewInvite) -> Result<()> {
        self.write("create_invite", move |tx| admin::create_invite(tx, &invite))
            .await
    }

    async fn invites(&self) -> Result<Vec<Invite>> {
        self.read("invites", admin::invites).await
    }

    async fn invite(&self, id: Id) -> Result<Option<Invite>> {
        self.read("invite", move |conn| admin::invite(conn, id))
            .await
    }

    async fn revoke_invite(&self, id: Id, now: UnixTime) -> Result<bool> {
        self.write("revoke_invite", move |tx| admin::revoke_invite(tx, id, now))
            .await
    }

    async fn create_account_invited(
        &self,
        account: NewAccount,
        invite: Id,
        code_hash: &[u8; 32],
    ) -> Result<()> {
        let code_hash = *code_hash;
        self.write("create_account_invited", move |tx| {
            admin::create_account_invited(tx, &account, invite, &code_hash)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use rusqlite::{StatementStatus, params};

    /// A join read by a bound key, the shape of the signed fetch's read.
    const BY_KEY: &str = "SELECT v.version FROM records r
         JOIN versions v ON v.record_id = r.id AND v.version = r.version WHERE r.id = ?1";

    /// Runs the cached [`BY_KEY`] for each of `ids` and returns how often SQLite prepared it again.
    fn reprepared(conn: &Connection, ids: &[Id]) -> i32 {
        let mut statement = conn.prepare_cached(BY_KEY).expect("prepare");
        for id in ids {
            let version: i64 = statement.query_row([id], |row| row.get(0)).expect("read");
            assert_eq!(version, 1);
        }
        statement.get_status(StatementStatus::RePrepare)
    }

    /// With `sqlite_stat4` statistics in the database, a plain connection prepares a cached statement
    /// again whenever its key changes; the store's connections keep the plan they prepared.
    #[test]
    fn an_analyzed_database_does_not_make_cached_statements_prepare_again() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("sharelock.db");
        drop(SqliteStore::open(&path, SqliteOptions::default()).expect("open"));
        let mut conn = Connection::open(&path).expect("open");
        let account = Id::new_v4();
        let tx = conn.transaction().expect("transaction");
        tx.execute(
            "INSERT INTO accounts (id, email, kdf_m, kdf_t, kdf_p, kdf_salt, auth_hash, wrapped_data_key,
                                   created_at)
             VALUES (?1, 'owner@example.org', 65536, 3, 4, x'00', x'00', x'00', 0)",
            [account],
        )
        .expect("account");
        let ids: Vec<Id> = (0..500).map(|_| Id::new_v4()).collect();
        for id in &ids {
            tx.execute(
                "INSERT INTO records (id, account_id, version, key_gen, created_at, updated_at)
                 VALUES (?1, ?2, 1, 1, 0, 0)",
                params![id, account],
            )
            .expect("record");
            tx.execute(
                "INSERT INTO versions (record_id, version, key_gen, envelope, summary, proof, created_at)
                 VALUES (?1, 1, 1, x'00', x'00', x'00', 0)",
                [id],
            )
            .expect("version");
        }
        tx.commit().expect("commit");
        conn.execute_batch("ANALYZE").expect("analyze");
        let stat4: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_stat4", [], |row| row.get(0))
            .expect("stat4");
        assert!(stat4 > 0, "ANALYZE wrote no samples");
        let keys = &ids[..20];
        assert!(
            reprepared(&conn, keys) > 0,
            "a plain connection no longer prepares the statement again: the check proves nothing"
        );
        let options = SqliteOptions::default();
        let reader = open_reader(&path, &options).expect("reader");
        assert_eq!(reprepared(&reader, keys), 0, "a reader prepared it again");
        let writer = open_writer(&path, &options).expect("writer");
        assert_eq!(reprepared(&writer, keys), 0, "the writer prepared it again");
    }
}
