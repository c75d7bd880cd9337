//! Backups of a SQLite deployment (`sharelock backup`, `sharelock restore`): the database and the local
//! blobs its files are made of, taken while the server runs, and put back into an empty data directory
//! after checking them.
//!
//! A backup is a directory laid out like a data directory: `sharelock.db` (one file, no WAL), `blobs/`
//! (the part writes the copied database names, at the same keys) and `prelogin.key` when the deployment
//! has one. The database is copied with `VACUUM INTO`, one read transaction: a consistent snapshot that
//! waits for no writer and makes none wait. The blobs it names are copied afterwards. Part writes are
//! never changed once written, so a blob present now is the one the snapshot names; one the server
//! deleted in between (its record deleted, then swept) makes the copy start again with a newer snapshot,
//! keeping the blobs already copied, until a snapshot finds every blob it names. Extra blobs are never
//! copied; none is ever missing. A blob still named by the snapshot after the one that missed it was
//! not deleted by the server (it deletes blobs only once no row names them): the deployment has lost
//! it, and the backup fails saying so.
//!
//! A restore checks the backup before the server could ever see it: SQLite's `integrity_check`, a schema
//! version this build knows (older ones are brought up to date, as `serve` would), and every blob the
//! database names present with the size the database records. Only then is anything written, into a
//! data directory that must be empty or absent; a failure part-way removes what it wrote.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::blob::{create_owner_only_dir, local_part_path};
use crate::model::PartBlob;
use crate::sqlite::{self, SqliteOptions, SqliteStore};

/// The database file of a backup and of a data directory.
pub const DATABASE: &str = "sharelock.db";
/// The blob directory of a backup and of a data directory.
pub const BLOBS: &str = "blobs";
/// The pre-login key of a data directory without a configured `prelogin_secret`.
pub const PRELOGIN_KEY: &str = "prelogin.key";

/// Snapshots taken before giving up when the server keeps deleting blobs the last one named.
const MAX_ATTEMPTS: u32 = 8;
/// How long the snapshot waits for a lock the server holds (a checkpoint truncating the WAL).
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a backup or restore did not happen. Whatever the reason, the target holds nothing of it.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The deployment to back up, or the backup to restore, is missing or unreadable.
    #[error("{0}")]
    Source(String),
    /// The target directory already holds something.
    #[error("{0}")]
    TargetNotEmpty(String),
    /// The backup fails a check: not a sound SQLite database, or a blob it names missing or cut short.
    #[error("{0}")]
    Damaged(String),
    /// The backup was made by a newer Sharelock, whose schema this build does not know.
    #[error("{0}")]
    Newer(String),
    /// Reading or writing failed part-way (and what was written is gone again).
    #[error("{0}")]
    Failed(String),
}

type Result<T, E = BackupError> = std::result::Result<T, E>;

/// What a backup or restore copied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackupReport {
    /// The database's schema version (`PRAGMA user_version`; after a restore, this build's).
    pub schema_version: u32,
    /// Part writes copied, and their bytes.
    pub blobs: u64,
    pub blob_bytes: u64,
    /// Snapshots of the database taken (more than one when blobs were deleted under the backup).
    pub snapshots: u32,
    /// Whether `prelogin.key` was copied.
    pub prelogin_key: bool,
}

/// Where a SQLite deployment keeps its data.
#[derive(Debug, Clone)]
pub struct Deployment {
    /// The SQLite database (its `-wal` file beside it).
    pub database: PathBuf,
    /// The local blob directory.
    pub blobs: PathBuf,
    /// The pre-login key, if the deployment keeps one.
    pub prelogin_key: Option<PathBuf>,
}

impl Deployment {
    /// The layout `serve` uses in `data_dir` by default.
    pub fn in_data_dir(data_dir: &Path) -> Self {
        Deployment {
            database: data_dir.join(DATABASE),
            blobs: data_dir.join(BLOBS),
            prelogin_key: Some(data_dir.join(PRELOGIN_KEY)),
        }
    }
}

/// Copies the deployment (which may be serving) into `to`, a directory that must be empty or absent.
pub fn backup(from: &Deployment, to: &Path) -> Result<BackupReport> {
    if !from.database.is_file() {
        return Err(BackupError::Source(format!(
            "there is no SQLite database at {}",
            from.database.display()
        )));
    }
    let target = Target::prepare(to)?;
    let outcome = write_backup(from, to);
    target.finish(outcome)
}

fn write_backup(from: &Deployment, to: &Path) -> Result<BackupReport> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let source = Connection::open_with_flags(&from.database, flags).map_err(|e| {
        BackupError::Source(format!(
            "cannot open the database {}: {}",
            from.database.display(),
            sqlite::describe(&e)
        ))
    })?;
    source
        .busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| failed("setting up the database connection", &e))?;
    let database = to.join(DATABASE);
    let blob_dir = to.join(BLOBS);
    create_owner_only_dir(&blob_dir).map_err(|e| io_failed("creating the blob directory", &e))?;
    let mut report = BackupReport::default();
    // Blobs the previous snapshot named and the blob directory lacked.
    let mut missed: Vec<PartBlob> = Vec::new();
    for attempt in 1..=MAX_ATTEMPTS {
        report.snapshots = attempt;
        snapshot(&source, &database)?;
        let copy =
            Connection::open(&database).map_err(|e| failed("opening the copied database", &e))?;
        report.schema_version = schema_version(&copy)?;
        let named = sqlite::referenced_blobs(&copy)
            .map_err(|e| BackupError::Failed(format!("reading the copied database: {e}")))?;
        drop(copy);
        let mut missing: Vec<PartBlob> = Vec::new();
        let (mut count, mut bytes) = (0u64, 0u64);
        for (blob, size) in &named {
            match copy_blob(&from.blobs, &blob_dir, blob, *size)? {
                true => {
                    count += 1;
                    bytes += size;
                }
                false => missing.push(*blob),
            }
        }
        // The server deletes a blob only once no row names it, so a blob missing while a snapshot taken
        // after it was first missed still names it was never deleted by the server: it is lost.
        let lost = missing.iter().filter(|blob| missed.contains(blob)).count();
        if lost > 0 {
            return Err(BackupError::Failed(format!(
                "{lost} file parts the database names are missing from the blob directory {}: the \
                 deployment's blobs are damaged",
                from.blobs.display()
            )));
        }
        if missing.is_empty() {
            report.blobs = count;
            report.blob_bytes = bytes;
            if let Some(key) = &from.prelogin_key
                && key.is_file()
            {
                copy_file(key, &to.join(PRELOGIN_KEY))
                    .map_err(|e| io_failed("copying the pre-login key", &e))?;
                report.prelogin_key = true;
            }
            sync_dir(to)?;
            return Ok(report);
        }
        tracing::info!(
            missing = missing.len(),
            attempt,
            "blobs were deleted under the backup: taking a newer snapshot"
        );
        missed = missing;
    }
    Err(BackupError::Failed(format!(
        "the server deleted blobs faster than {MAX_ATTEMPTS} snapshots could be copied"
    )))
}

/// `VACUUM INTO` a fresh file (mode 0600), then turned into a single file with no WAL.
fn snapshot(source: &Connection, database: &Path) -> Result<()> {
    match fs::remove_file(database) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_failed("removing the previous snapshot", &e)),
    }
    // VACUUM INTO writes into an empty file, which keeps the mode it was created with.
    private_file(database).map_err(|e| io_failed("creating the database copy", &e))?;
    let name = database
        .to_str()
        .ok_or_else(|| BackupError::Source("the backup's path is not UTF-8".into()))?;
    source
        .execute("VACUUM INTO ?1", [name])
        .map_err(|e| failed("copying the database", &e))?;
    let copy = Connection::open(database).map_err(|e| failed("opening the copied database", &e))?;
    let mode: String = copy
        .query_row("PRAGMA journal_mode = DELETE", [], |row| row.get(0))
        .map_err(|e| failed("setting up the copied database", &e))?;
    if !mode.eq_ignore_ascii_case("delete") {
        return Err(BackupError::Failed(format!(
            "the copied database stayed in journal mode {mode}"
        )));
    }
    drop(copy);
    fs::File::open(database)
        .and_then(|f| f.sync_all())
        .map_err(|e| io_failed("syncing the database copy", &e))
}

/// Copies one part write unless an earlier snapshot's pass already did; `false` if the server deleted
/// it meanwhile.
fn copy_blob(from: &Path, to: &Path, blob: &PartBlob, size: u64) -> Result<bool> {
    let target = local_part_path(to, blob);
    if fs::metadata(&target).is_ok_and(|m| m.len() == size) {
        return Ok(true);
    }
    let source = local_part_path(from, blob);
    if let Some(dir) = target.parent() {
        create_owner_only_dir(dir).map_err(|e| io_failed("creating a blob directory", &e))?;
    }
    match copy_file(&source, &target) {
        Ok(copied) if copied == size => Ok(true),
        Ok(copied) => Err(BackupError::Failed(format!(
            "a blob holds {copied} bytes where the database says {size}: the deployment's blob \
             directory is damaged"
        ))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let _ = fs::remove_file(&target);
            Ok(false)
        }
        Err(e) => Err(io_failed("copying a blob", &e)),
    }
}

/// Restores the backup in `from` into `to`, a data directory that must be empty or absent, after
/// checking it.
pub fn restore(from: &Path, to: &Path) -> Result<BackupReport> {
    let database = from.join(DATABASE);
    if !database.is_file() {
        return Err(BackupError::Source(format!(
            "{} is not a backup (it has no {DATABASE})",
            from.display()
        )));
    }
    let target = Target::prepare(to)?;
    let outcome = write_restore(from, to);
    target.finish(outcome)
}

fn write_restore(from: &Path, to: &Path) -> Result<BackupReport> {
    let database = to.join(DATABASE);
    copy_file(&from.join(DATABASE), &database)
        .map_err(|e| io_failed("copying the database", &e))?;
    let mut report = BackupReport::default();
    {
        let conn = Connection::open(&database)
            .map_err(|e| damaged(&format!("the database cannot be opened: {}", describe(&e))))?;
        let verdict: String = conn
            .query_row("PRAGMA integrity_check(1)", [], |row| row.get(0))
            .map_err(|e| damaged(&format!("the database cannot be read: {}", describe(&e))))?;
        if verdict != "ok" {
            return Err(damaged(&format!(
                "the database fails SQLite's integrity check ({verdict})"
            )));
        }
        let version = schema_version(&conn)?;
        if version == 0 {
            return Err(damaged("the database holds no Sharelock schema"));
        }
        if version > sqlite::SCHEMA_VERSION {
            return Err(BackupError::Newer(format!(
                "the backup has schema version {version}, newer than this build's {}: restore it \
                 with the Sharelock version that made it, or a newer one",
                sqlite::SCHEMA_VERSION
            )));
        }
    }
    // An older schema is brought up to date, as `serve` would at its first start.
    SqliteStore::open(&database, SqliteOptions::default())
        .map_err(|e| damaged(&format!("the database cannot be brought up to date: {e}")))?;
    let conn = Connection::open_with_flags(&database, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| failed("opening the restored database", &e))?;
    report.schema_version = schema_version(&conn)?;
    let named = sqlite::referenced_blobs(&conn)
        .map_err(|e| damaged(&format!("the database cannot be read: {e}")))?;
    drop(conn);

    let backup_blobs = from.join(BLOBS);
    let wrong = named
        .iter()
        .filter(|(blob, size)| {
            fs::metadata(local_part_path(&backup_blobs, blob)).map_or(true, |m| m.len() != *size)
        })
        .count();
    if wrong > 0 {
        return Err(damaged(&format!(
            "{wrong} of the {} file parts the database names are missing from the backup or have \
             the wrong size",
            named.len()
        )));
    }
    let blob_dir = to.join(BLOBS);
    create_owner_only_dir(&blob_dir).map_err(|e| io_failed("creating the blob directory", &e))?;
    for (blob, size) in &named {
        if !copy_blob(&backup_blobs, &blob_dir, blob, *size)? {
            return Err(damaged(
                "a blob vanished from the backup while it was restored",
            ));
        }
        report.blobs += 1;
        report.blob_bytes += size;
    }
    let key = from.join(PRELOGIN_KEY);
    if key.is_file() {
        copy_file(&key, &to.join(PRELOGIN_KEY))
            .map_err(|e| io_failed("copying the pre-login key", &e))?;
        report.prelogin_key = true;
    }
    sync_dir(to)?;
    report.snapshots = 1;
    Ok(report)
}

fn schema_version(conn: &Connection) -> Result<u32> {
    conn.query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(|e| damaged(&format!("the database cannot be read: {}", describe(&e))))
}

/// The directory a backup or restore writes into: empty or absent before, and empty or absent again if
/// the work fails.
struct Target {
    dir: PathBuf,
    created: bool,
}

impl Target {
    fn prepare(dir: &Path) -> Result<Self> {
        match fs::read_dir(dir) {
            Ok(mut entries) => {
                if entries.next().is_some() {
                    return Err(BackupError::TargetNotEmpty(format!(
                        "{} is not empty",
                        dir.display()
                    )));
                }
                Ok(Target {
                    dir: dir.to_path_buf(),
                    created: false,
                })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                create_owner_only_dir(dir).map_err(|e| {
                    BackupError::Failed(format!("cannot create {}: {e}", dir.display()))
                })?;
                Ok(Target {
                    dir: dir.to_path_buf(),
                    created: true,
                })
            }
            Err(e) if e.kind() == io::ErrorKind::NotADirectory => Err(BackupError::TargetNotEmpty(
                format!("{} is a file", dir.display()),
            )),
            Err(e) => Err(BackupError::Failed(format!(
                "cannot read {}: {e}",
                dir.display()
            ))),
        }
    }

    /// Keeps the work if it succeeded, else removes everything it wrote.
    fn finish(self, outcome: Result<BackupReport>) -> Result<BackupReport> {
        if outcome.is_err() {
            if self.created {
                let _ = fs::remove_dir_all(&self.dir);
            } else if let Ok(entries) = fs::read_dir(&self.dir) {
                for entry in entries.flatten() {
                    let path = entry.path();
                    let _ = if path.is_dir() {
                        fs::remove_dir_all(&path)
                    } else {
                        fs::remove_file(&path)
                    };
                }
            }
        }
        outcome
    }
}

/// An empty new file readable by its owner only.
fn private_file(path: &Path) -> io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Copies `from` into a new private file `to` (replacing a partial one), synced; the bytes copied.
fn copy_file(from: &Path, to: &Path) -> io::Result<u64> {
    let mut source = fs::File::open(from)?;
    match fs::remove_file(to) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut target = private_file(to)?;
    let copied = io::copy(&mut source, &mut target)?;
    target.sync_all()?;
    Ok(copied)
}

fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_failed("syncing the directory", &e))
}

fn describe(e: &rusqlite::Error) -> String {
    sqlite::describe(e)
}

fn failed(op: &str, e: &rusqlite::Error) -> BackupError {
    BackupError::Failed(format!("{op}: {}", describe(e)))
}

fn io_failed(op: &str, e: &io::Error) -> BackupError {
    BackupError::Failed(format!("{op}: {e}"))
}

fn damaged(message: &str) -> BackupError {
    BackupError::Damaged(message.to_owned())
}
