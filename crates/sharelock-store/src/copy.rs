//! Copying a SQLite deployment into PostgreSQL (`sharelock migrate`): every row of every table and every
//! blob, with ids, event ids, the order of shares, times, nonces and device bindings as they are, so the
//! PostgreSQL nodes serve the same links, sessions and bound devices.
//!
//! The copy follows the two schemas rather than a list of tables written here: each table of the SQLite
//! database goes into the PostgreSQL table of the same name, column by column, converted by the
//! PostgreSQL column's type (16-byte blobs to `uuid`, 0/1 to `boolean`). A table or column added by a
//! later migration of both backends is copied without a change here; a difference between the schemas
//! stops the copy before anything is written. Columns PostgreSQL generates (`shares.seq`, `events.id`)
//! take the SQLite rowid, and their sequences continue after the highest id SQLite ever gave out, so an
//! event id is never reused and a client resuming its event stream misses nothing.
//!
//! Nothing is half-written: the rows go in one PostgreSQL transaction that commits only after every
//! table's row count matched and every blob was copied; on any failure it rolls back and the blobs
//! copied so far are deleted again. The target must be empty (no row in any table, no object in the
//! blob store). The SQLite database is held under its write lock (`BEGIN IMMEDIATE`) for the whole copy,
//! so a server still running on it cannot change it underneath (its writes wait, then fail).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use futures::TryStreamExt;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags};
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};
use uuid::Uuid;

use crate::StoreError;
use crate::blob::{BlobStore, blob_error};
use crate::postgres::PostgresStore;
use crate::sqlite::{SqliteOptions, SqliteStore};

/// Why a copy did not happen. Whatever the reason, the target holds nothing of it.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// The SQLite database is missing, unreadable or in use.
    #[error("{0}")]
    Source(String),
    /// The target database or blob store already holds data.
    #[error("{0}")]
    TargetNotEmpty(String),
    /// The two schemas do not correspond (a table or column one side lacks, a type with no conversion).
    #[error("{0}")]
    Schema(String),
    /// The copy failed part-way (and was undone).
    #[error("{0}")]
    Failed(String),
}

impl From<StoreError> for CopyError {
    fn from(e: StoreError) -> Self {
        CopyError::Failed(e.to_string())
    }
}

type Result<T, E = CopyError> = std::result::Result<T, E>;

/// What was copied.
#[derive(Debug, Clone, Default)]
pub struct CopyReport {
    /// Every table with its row count (in the order they were copied).
    pub tables: Vec<(String, u64)>,
    /// Objects and bytes copied from the source blob store (0 when the blobs stay where they are).
    pub blobs: u64,
    pub blob_bytes: u64,
}

/// The blob stores to copy between; `None` when the blobs stay where they are (the new nodes use the
/// same bucket or directory).
pub struct Blobs<'a> {
    pub from: &'a BlobStore,
    pub to: &'a BlobStore,
}

/// Copies the SQLite database at `source` (brought to this version's schema first) and, if given, every
/// object of one blob store into another, into `target`, which must be empty.
pub async fn sqlite_to_postgres(
    source: &Path,
    target: &PostgresStore,
    blobs: Option<Blobs<'_>>,
) -> Result<CopyReport> {
    if !source.is_file() {
        return Err(CopyError::Source(format!(
            "there is no SQLite database at {}",
            source.display()
        )));
    }
    // Bring the source to this binary's schema, as `serve` would, so both sides are at the same step.
    let path = source.to_path_buf();
    tokio::task::spawn_blocking(move || {
        SqliteStore::open(&path, SqliteOptions::default()).map(drop)
    })
    .await
    .map_err(|_| CopyError::Failed("the SQLite upgrade stopped".into()))?
    .map_err(|e| CopyError::Source(format!("cannot open the SQLite database: {e}")))?;

    let mut reader = SqliteReader::start(source.to_path_buf())?;
    let sqlite_tables = reader.schema().await?;

    let mut tx = target
        .pool()
        .begin()
        .await
        .map_err(|e| failed("starting the PostgreSQL transaction", &e))?;
    let pg_tables = postgres_schema(&mut tx).await?;
    ensure_empty(&mut tx, &pg_tables).await?;
    if let Some(blobs) = &blobs
        && has_objects(blobs.to.object_store().as_ref()).await?
    {
        return Err(CopyError::TargetNotEmpty(
            "the target blob store is not empty".into(),
        ));
    }
    let plans = plan(&sqlite_tables, &pg_tables)?;

    let mut report = CopyReport::default();
    reader.send_plan(&plans)?;
    for plan in &plans {
        let copied = copy_table(&mut reader, &mut tx, plan).await?;
        let in_target: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM \"{}\"",
            plan.table
        )))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| failed("counting rows", &e))?;
        if copied != plan.rows || u64::try_from(in_target).ok() != Some(plan.rows) {
            return Err(CopyError::Failed(format!(
                "table {}: {} rows in SQLite, {copied} read, {in_target} in PostgreSQL",
                plan.table, plan.rows
            )));
        }
        continue_sequences(&mut tx, plan).await?;
        report.tables.push((plan.table.clone(), plan.rows));
    }

    // The blobs last, while the rows wait uncommitted: a failure from here on leaves neither behind.
    let mut copied = Vec::new();
    let outcome = async {
        if let Some(blobs) = &blobs {
            let (count, bytes) = copy_objects(blobs, &mut copied).await?;
            report.blobs = count;
            report.blob_bytes = bytes;
        }
        tx.commit()
            .await
            .map_err(|e| failed("committing the copy", &e))
    }
    .await;
    reader.finish();
    match outcome {
        Ok(()) => Ok(report),
        Err(e) => {
            let Some(blobs) = &blobs else { return Err(e) };
            let store = blobs.to.object_store();
            let mut left = 0usize;
            for location in &copied {
                if store.delete(location).await.is_err() {
                    left += 1;
                }
            }
            if left == 0 {
                Err(e)
            } else {
                Err(CopyError::Failed(format!(
                    "{e}; {left} of the objects copied so far could not be deleted again: empty the \
                     target blob store before trying again"
                )))
            }
        }
    }
}

fn failed(op: &str, e: &sqlx::Error) -> CopyError {
    CopyError::Failed(format!("{op}: {}", crate::postgres::describe(e)))
}

// --- the two schemas ---

/// A table as SQLite has it.
#[derive(Debug)]
struct SqliteTable {
    name: String,
    columns: Vec<String>,
    has_rowid: bool,
    /// Tables this one refers to (copied before it).
    parents: Vec<String>,
    rows: u64,
    /// The highest rowid an AUTOINCREMENT table ever gave out (`sqlite_sequence`).
    sequence: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PgType {
    Uuid,
    Bytea,
    Text,
    Int8,
    Int4,
    Int2,
    Bool,
}

#[derive(Debug)]
struct PgColumn {
    name: String,
    ty: Option<PgType>,
    data_type: String,
    identity_always: bool,
    identity: bool,
    /// NOT NULL with no default: must be given.
    required: bool,
}

/// How one table is copied.
#[derive(Debug)]
struct TablePlan {
    table: String,
    rows: u64,
    /// The SELECT on SQLite; its columns are `targets`, in order.
    select: String,
    targets: Vec<(String, PgType)>,
    /// Whether a GENERATED ALWAYS column is given (`OVERRIDING SYSTEM VALUE`).
    overriding: bool,
    /// Identity columns given from SQLite, with the floor their sequence continues after.
    sequences: Vec<(String, Option<i64>)>,
}

fn identifier(name: &str) -> Result<&str> {
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(name)
    } else {
        Err(CopyError::Schema(format!(
            "unexpected name {name:?} in the schema"
        )))
    }
}

async fn postgres_schema(conn: &mut PgConnection) -> Result<BTreeMap<String, Vec<PgColumn>>> {
    let rows = sqlx::query(
        "SELECT c.table_name::text, c.column_name::text, c.data_type::text, c.is_identity::text, \
                coalesce(c.identity_generation::text, ''), c.is_nullable::text, \
                c.column_default IS NOT NULL \
         FROM information_schema.columns c \
         JOIN information_schema.tables t \
           ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
         WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' \
           AND c.table_name <> '_sqlx_migrations' \
         ORDER BY c.table_name, c.ordinal_position",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| failed("reading the PostgreSQL schema", &e))?;
    let mut tables: BTreeMap<String, Vec<PgColumn>> = BTreeMap::new();
    for row in rows {
        let get = |i: usize| -> Result<String> {
            row.try_get::<String, _>(i)
                .map_err(|e| failed("reading the PostgreSQL schema", &e))
        };
        let (table, name, data_type) = (get(0)?, get(1)?, get(2)?);
        let identity = get(3)? == "YES";
        let identity_always = get(4)? == "ALWAYS";
        let nullable = get(5)? == "YES";
        let has_default: bool = row
            .try_get(6)
            .map_err(|e| failed("reading the PostgreSQL schema", &e))?;
        let ty = match data_type.as_str() {
            "uuid" => Some(PgType::Uuid),
            "bytea" => Some(PgType::Bytea),
            "text" => Some(PgType::Text),
            "bigint" => Some(PgType::Int8),
            "integer" => Some(PgType::Int4),
            "smallint" => Some(PgType::Int2),
            "boolean" => Some(PgType::Bool),
            _ => None,
        };
        tables.entry(table).or_default().push(PgColumn {
            name,
            ty,
            data_type,
            identity_always,
            identity,
            required: !nullable && !has_default && !identity,
        });
    }
    Ok(tables)
}

async fn ensure_empty(
    conn: &mut PgConnection,
    tables: &BTreeMap<String, Vec<PgColumn>>,
) -> Result<()> {
    for table in tables.keys() {
        let any: bool = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT EXISTS (SELECT 1 FROM \"{}\")",
            identifier(table)?
        )))
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| failed("looking into the target", &e))?;
        if any {
            return Err(CopyError::TargetNotEmpty(format!(
                "the target database is not empty (table {table} has rows)"
            )));
        }
    }
    Ok(())
}

async fn has_objects(store: &dyn ObjectStore) -> Result<bool> {
    let first = store
        .list(None)
        .try_next()
        .await
        .map_err(|e| CopyError::from(blob_error(e)))?;
    Ok(first.is_some())
}

/// Matches every SQLite table to its PostgreSQL table and orders them parents first.
fn plan(sqlite: &[SqliteTable], pg: &BTreeMap<String, Vec<PgColumn>>) -> Result<Vec<TablePlan>> {
    let by_name: BTreeMap<&str, &SqliteTable> =
        sqlite.iter().map(|t| (t.name.as_str(), t)).collect();
    // Parents first (Kahn's algorithm over the foreign keys).
    let mut order: Vec<&SqliteTable> = Vec::new();
    let mut placed: BTreeSet<&str> = BTreeSet::new();
    while order.len() < sqlite.len() {
        let next = sqlite.iter().find(|t| {
            !placed.contains(t.name.as_str())
                && t.parents.iter().all(|p| {
                    p == &t.name || placed.contains(p.as_str()) || !by_name.contains_key(p.as_str())
                })
        });
        let Some(next) = next else {
            return Err(CopyError::Schema(
                "the SQLite tables' foreign keys form a cycle".into(),
            ));
        };
        placed.insert(&next.name);
        order.push(next);
    }

    let mut plans = Vec::new();
    for table in order {
        let name = identifier(&table.name)?;
        let Some(columns) = pg.get(name) else {
            return Err(CopyError::Schema(format!(
                "table {name} has no counterpart in PostgreSQL"
            )));
        };
        let mut select = Vec::new();
        let mut targets = Vec::new();
        let mut overriding = false;
        let mut sequences = Vec::new();
        // A column PostgreSQL generates that SQLite lacks takes the rowid (shares.seq).
        for column in columns.iter().filter(|c| c.identity) {
            if !table.columns.contains(&column.name) {
                if !table.has_rowid {
                    return Err(CopyError::Schema(format!(
                        "{name}.{} has no value to copy from SQLite",
                        column.name
                    )));
                }
                select.push("rowid".to_owned());
                targets.push((column.name.clone(), PgType::Int8));
                overriding |= column.identity_always;
                sequences.push((column.name.clone(), table.sequence));
            }
        }
        for column in &table.columns {
            let column = identifier(column)?;
            let Some(pg_column) = columns.iter().find(|c| c.name == column) else {
                return Err(CopyError::Schema(format!(
                    "column {name}.{column} has no counterpart in PostgreSQL"
                )));
            };
            let Some(ty) = pg_column.ty else {
                return Err(CopyError::Schema(format!(
                    "column {name}.{column} has PostgreSQL type {}, which the copy does not convert to",
                    pg_column.data_type
                )));
            };
            select.push(format!("\"{column}\""));
            targets.push((column.to_owned(), ty));
            if pg_column.identity {
                overriding |= pg_column.identity_always;
                sequences.push((column.to_owned(), table.sequence));
            }
        }
        if let Some(missing) = columns
            .iter()
            .find(|c| c.required && !targets.iter().any(|(t, _)| t == &c.name))
        {
            return Err(CopyError::Schema(format!(
                "column {name}.{} is required in PostgreSQL and missing in SQLite",
                missing.name
            )));
        }
        let order_by = if table.has_rowid {
            " ORDER BY rowid"
        } else {
            ""
        };
        plans.push(TablePlan {
            table: name.to_owned(),
            rows: table.rows,
            select: format!("SELECT {} FROM \"{name}\"{order_by}", select.join(", ")),
            targets,
            overriding,
            sequences,
        });
    }
    Ok(plans)
}

// --- the rows ---

/// A value bound for PostgreSQL.
enum PgValue {
    Uuid(Option<Uuid>),
    Bytes(Option<Vec<u8>>),
    Text(Option<String>),
    Int8(Option<i64>),
    Int4(Option<i32>),
    Int2(Option<i16>),
    Bool(Option<bool>),
}

impl PgValue {
    fn size(&self) -> usize {
        match self {
            PgValue::Bytes(Some(b)) => b.len(),
            PgValue::Text(Some(t)) => t.len(),
            _ => 16,
        }
    }
}

fn convert(value: Value, ty: PgType, table: &str, column: &str) -> Result<PgValue> {
    let wrong = || {
        CopyError::Schema(format!(
            "{table}.{column}: a SQLite value does not fit the PostgreSQL column"
        ))
    };
    let int = |v: i64| -> Result<PgValue> {
        Ok(match ty {
            PgType::Int8 => PgValue::Int8(Some(v)),
            PgType::Int4 => PgValue::Int4(Some(i32::try_from(v).map_err(|_| wrong())?)),
            PgType::Int2 => PgValue::Int2(Some(i16::try_from(v).map_err(|_| wrong())?)),
            PgType::Bool => PgValue::Bool(Some(match v {
                0 => false,
                1 => true,
                _ => return Err(wrong()),
            })),
            _ => return Err(wrong()),
        })
    };
    Ok(match (value, ty) {
        (Value::Null, PgType::Uuid) => PgValue::Uuid(None),
        (Value::Null, PgType::Bytea) => PgValue::Bytes(None),
        (Value::Null, PgType::Text) => PgValue::Text(None),
        (Value::Null, PgType::Int8) => PgValue::Int8(None),
        (Value::Null, PgType::Int4) => PgValue::Int4(None),
        (Value::Null, PgType::Int2) => PgValue::Int2(None),
        (Value::Null, PgType::Bool) => PgValue::Bool(None),
        (Value::Blob(b), PgType::Uuid) => {
            PgValue::Uuid(Some(Uuid::from_slice(&b).map_err(|_| wrong())?))
        }
        (Value::Blob(b), PgType::Bytea) => PgValue::Bytes(Some(b)),
        (Value::Text(t), PgType::Text) => PgValue::Text(Some(t)),
        (Value::Integer(v), _) => int(v)?,
        _ => return Err(wrong()),
    })
}

/// Most rows per INSERT, and about the most bytes (envelopes run to half a MiB).
const BATCH_ROWS: usize = 500;
const BATCH_BYTES: usize = 8 * 1024 * 1024;

async fn copy_table(
    reader: &mut SqliteReader,
    tx: &mut PgConnection,
    plan: &TablePlan,
) -> Result<u64> {
    let mut batch: Vec<Vec<PgValue>> = Vec::new();
    let mut bytes = 0usize;
    let mut copied = 0u64;
    while let Some(row) = reader.next_row().await? {
        if row.len() != plan.targets.len() {
            return Err(CopyError::Failed(format!(
                "table {}: a row has {} values, expected {}",
                plan.table,
                row.len(),
                plan.targets.len()
            )));
        }
        let values = row
            .into_iter()
            .zip(&plan.targets)
            .map(|(value, (column, ty))| convert(value, *ty, &plan.table, column))
            .collect::<Result<Vec<_>>>()?;
        bytes += values.iter().map(PgValue::size).sum::<usize>();
        batch.push(values);
        copied += 1;
        if batch.len() >= BATCH_ROWS || bytes >= BATCH_BYTES {
            insert(tx, plan, std::mem::take(&mut batch)).await?;
            bytes = 0;
        }
    }
    if !batch.is_empty() {
        insert(tx, plan, batch).await?;
    }
    Ok(copied)
}

async fn insert(tx: &mut PgConnection, plan: &TablePlan, rows: Vec<Vec<PgValue>>) -> Result<()> {
    let columns: Vec<String> = plan
        .targets
        .iter()
        .map(|(c, _)| format!("\"{c}\""))
        .collect();
    let overriding = if plan.overriding {
        " OVERRIDING SYSTEM VALUE"
    } else {
        ""
    };
    let mut query = QueryBuilder::<Postgres>::new(format!(
        "INSERT INTO \"{}\" ({}){overriding} ",
        plan.table,
        columns.join(", ")
    ));
    query.push_values(rows, |mut row, values| {
        for value in values {
            match value {
                PgValue::Uuid(v) => row.push_bind(v),
                PgValue::Bytes(v) => row.push_bind(v),
                PgValue::Text(v) => row.push_bind(v),
                PgValue::Int8(v) => row.push_bind(v),
                PgValue::Int4(v) => row.push_bind(v),
                PgValue::Int2(v) => row.push_bind(v),
                PgValue::Bool(v) => row.push_bind(v),
            };
        }
    });
    query
        .build()
        .execute(&mut *tx)
        .await
        .map_err(|e| failed(&format!("copying table {}", plan.table), &e))?;
    Ok(())
}

/// Sets each copied identity column's sequence past both the highest copied value and the highest id
/// SQLite ever gave out, so new rows never take an old id.
async fn continue_sequences(tx: &mut PgConnection, plan: &TablePlan) -> Result<()> {
    for (column, floor) in &plan.sequences {
        let highest: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT max(\"{column}\")::bigint FROM \"{}\"",
            plan.table
        )))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| failed("reading the highest id", &e))?;
        let last = highest.unwrap_or(0).max(floor.unwrap_or(0));
        if last >= 1 {
            sqlx::query("SELECT setval(pg_get_serial_sequence($1, $2), $3)")
                .bind(&plan.table)
                .bind(column)
                .bind(last)
                .execute(&mut *tx)
                .await
                .map_err(|e| failed("continuing a sequence", &e))?;
        }
    }
    Ok(())
}

// --- the blobs ---

/// Copies every object, recording each one written (to delete them again if the copy fails), then
/// checks the target holds as many objects and bytes as were copied.
async fn copy_objects(
    blobs: &Blobs<'_>,
    copied: &mut Vec<object_store::path::Path>,
) -> Result<(u64, u64)> {
    let from = blobs.from.object_store();
    let to = blobs.to.object_store();
    let mut listing = from.list(None);
    let (mut count, mut bytes) = (0u64, 0u64);
    while let Some(meta) = listing
        .try_next()
        .await
        .map_err(|e| CopyError::from(blob_error(e)))?
    {
        // One object at a time: a file part is at most 16 MiB.
        let data = from
            .get(&meta.location)
            .await
            .map_err(|e| CopyError::from(blob_error(e)))?
            .bytes()
            .await
            .map_err(|e| CopyError::from(blob_error(e)))?;
        let size = data.len() as u64;
        to.put(&meta.location, PutPayload::from_bytes(data))
            .await
            .map_err(|e| CopyError::from(blob_error(e)))?;
        copied.push(meta.location);
        count += 1;
        bytes += size;
    }
    let (mut seen, mut seen_bytes) = (0u64, 0u64);
    let mut listing = to.list(None);
    while let Some(meta) = listing
        .try_next()
        .await
        .map_err(|e| CopyError::from(blob_error(e)))?
    {
        seen += 1;
        seen_bytes += meta.size;
    }
    if (seen, seen_bytes) != (count, bytes) {
        return Err(CopyError::Failed(format!(
            "the target blob store holds {seen} objects ({seen_bytes} bytes) after copying {count} \
             ({bytes} bytes)"
        )));
    }
    Ok((count, bytes))
}

// --- reading SQLite on a thread of its own ---

enum Message {
    Schema(Vec<SqliteTable>),
    Row(Vec<Value>),
    TableDone,
    Failed(CopyError),
}

/// One connection on a thread of its own, holding the database's write lock from the schema read to
/// [`SqliteReader::finish`], so every table is read from one unchanging state.
struct SqliteReader {
    rows: tokio::sync::mpsc::Receiver<Message>,
    plan: Option<std::sync::mpsc::Sender<Vec<String>>>,
    done: Option<std::sync::mpsc::Sender<()>>,
}

impl SqliteReader {
    fn start(path: PathBuf) -> Result<Self> {
        let (tx, rows) = tokio::sync::mpsc::channel(16);
        let (plan_tx, plan_rx) = std::sync::mpsc::channel::<Vec<String>>();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("sqlite-copy".into())
            .spawn(move || {
                if let Err(e) = read_all(&path, &tx, &plan_rx, &done_rx) {
                    let _ = tx.blocking_send(Message::Failed(e));
                }
            })
            .map_err(|e| CopyError::Failed(format!("cannot start the SQLite reader: {e}")))?;
        Ok(Self {
            rows,
            plan: Some(plan_tx),
            done: Some(done_tx),
        })
    }

    async fn receive(&mut self) -> Result<Message> {
        match self.rows.recv().await {
            Some(Message::Failed(e)) => Err(e),
            Some(message) => Ok(message),
            None => Err(CopyError::Failed("the SQLite reader stopped".into())),
        }
    }

    async fn schema(&mut self) -> Result<Vec<SqliteTable>> {
        match self.receive().await? {
            Message::Schema(tables) => Ok(tables),
            _ => Err(CopyError::Failed("the SQLite reader is out of step".into())),
        }
    }

    fn send_plan(&mut self, plans: &[TablePlan]) -> Result<()> {
        let selects = plans.iter().map(|p| p.select.clone()).collect();
        self.plan
            .take()
            .and_then(|tx| tx.send(selects).ok())
            .ok_or_else(|| CopyError::Failed("the SQLite reader stopped".into()))
    }

    /// The next row of the current table, `None` at its end.
    async fn next_row(&mut self) -> Result<Option<Vec<Value>>> {
        match self.receive().await? {
            Message::Row(row) => Ok(Some(row)),
            Message::TableDone => Ok(None),
            _ => Err(CopyError::Failed("the SQLite reader is out of step".into())),
        }
    }

    /// Releases the SQLite database (the reader changed nothing in it).
    fn finish(&mut self) {
        if let Some(done) = self.done.take() {
            let _ = done.send(());
        }
    }
}

fn sqlite_error(op: &str) -> impl Fn(rusqlite::Error) -> CopyError + '_ {
    move |e| CopyError::Source(format!("{op}: {e}"))
}

fn read_all(
    path: &Path,
    tx: &tokio::sync::mpsc::Sender<Message>,
    plan: &std::sync::mpsc::Receiver<Vec<String>>,
    done: &std::sync::mpsc::Receiver<()>,
) -> Result<()> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite_error("opening the SQLite database"))?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(sqlite_error("opening the SQLite database"))?;
    conn.execute_batch("BEGIN IMMEDIATE").map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DatabaseBusy => {
            CopyError::Source(
                "the SQLite database is being written by another process: stop the server first"
                    .into(),
            )
        }
        other => CopyError::Source(format!("locking the SQLite database: {other}")),
    })?;
    let tables = sqlite_schema(&conn)?;
    if tx.blocking_send(Message::Schema(tables)).is_err() {
        return Ok(());
    }
    let Ok(selects) = plan.recv() else {
        return Ok(());
    };
    for select in selects {
        let mut statement = conn
            .prepare(&select)
            .map_err(sqlite_error("reading SQLite"))?;
        let width = statement.column_count();
        let mut rows = statement
            .query([])
            .map_err(sqlite_error("reading SQLite"))?;
        while let Some(row) = rows.next().map_err(sqlite_error("reading SQLite"))? {
            let values = (0..width)
                .map(|i| row.get::<_, Value>(i))
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sqlite_error("reading SQLite"))?;
            if tx.blocking_send(Message::Row(values)).is_err() {
                return Ok(());
            }
        }
        if tx.blocking_send(Message::TableDone).is_err() {
            return Ok(());
        }
    }
    // Hold the lock until the copy has committed or failed; the transaction changed nothing.
    let _ = done.recv();
    let _ = conn.execute_batch("ROLLBACK");
    Ok(())
}

fn sqlite_schema(conn: &Connection) -> Result<Vec<SqliteTable>> {
    let read = sqlite_error("reading the SQLite schema");
    let names: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             ORDER BY name",
        )
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(&read)?;
    let mut sequences: BTreeMap<String, i64> = BTreeMap::new();
    let has_sequences: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_sequence')",
            [],
            |r| r.get(0),
        )
        .map_err(&read)?;
    if has_sequences {
        let mut statement = conn
            .prepare("SELECT name, seq FROM sqlite_sequence")
            .map_err(&read)?;
        let pairs = statement
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(&read)?;
        for pair in pairs {
            let (name, seq) = pair.map_err(&read)?;
            sequences.insert(name, seq);
        }
    }
    let mut tables = Vec::new();
    for name in names {
        let name = identifier(&name)?.to_owned();
        let columns: Vec<String> = conn
            .prepare(&format!(
                "SELECT name FROM pragma_table_info('{name}') ORDER BY cid"
            ))
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .map_err(&read)?;
        let parents: Vec<String> = conn
            .prepare(&format!(
                "SELECT DISTINCT \"table\" FROM pragma_foreign_key_list('{name}')"
            ))
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .map_err(&read)?;
        let without_rowid: bool = conn
            .query_row(
                "SELECT sql LIKE '%WITHOUT ROWID%' FROM sqlite_schema WHERE name = ?1",
                [&name],
                |r| r.get(0),
            )
            .map_err(&read)?;
        let rows: i64 = conn
            .query_row(&format!("SELECT count(*) FROM \"{name}\""), [], |r| {
                r.get(0)
            })
            .map_err(&read)?;
        tables.push(SqliteTable {
            sequence: sequences.get(&name).copied(),
            name,
            columns,
            has_rowid: !without_rowid,
            parents,
            rows: u64::try_from(rows).unwrap_or(0),
        });
    }
    Ok(tables)
}
