//! `sharelock migrate`: copies a SQLite deployment (its database and blob directory) into PostgreSQL and
//! the blob store the PostgreSQL nodes are configured with. The copy itself is
//! `sharelock_store::copy`; this is its command line.

use crate::operator::{Failure, exit, load_config};
use clap::Args;
use sharelock_server::config::{BlobBackend, Overrides};
use sharelock_store::BlobStore;
use sharelock_store::copy::{self, Blobs, CopyError, CopyReport};
use sharelock_store::postgres::{PostgresOptions, PostgresStore};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

// Exit codes (crate::operator::exit): 1 failed part-way and undone, 2 usage (the command line, the
// configuration or the SQLite source), 7 the target already holds data, 8 a secret given twice. Nothing
// is written to the target in any failure.

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The SQLite deployment's data directory: its database `sharelock.db` and its blobs under `blobs/`.
    /// Stop the server that uses it first.
    #[arg(long, value_name = "DIR")]
    from: PathBuf,
    /// The SQLite database, when it is not <from>/sharelock.db (a path or sqlite://PATH).
    #[arg(long, value_name = "PATH")]
    from_database: Option<String>,
    /// Copy no blobs: the new nodes use the bucket or directory the old server used.
    #[arg(long)]
    keep_blobs: bool,
    /// The target, configured as the PostgreSQL nodes are: their TOML file (and SHARELOCK_* variables).
    #[arg(long, value_name = "FILE", env = "SHARELOCK_CONFIG")]
    config: Option<PathBuf>,
    /// The target database, postgres://USER:PASSWORD@HOST:PORT/DB (better given as
    /// SHARELOCK_DATABASE_URL, which keeps the password off the command line).
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// The target's data directory (with blob_backend = "local" the blobs go to <data-dir>/blobs).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

fn failure(e: CopyError) -> Failure {
    let code = match &e {
        CopyError::Source(_) => exit::USAGE,
        CopyError::TargetNotEmpty(_) => exit::TARGET_NOT_EMPTY,
        CopyError::Schema(_) | CopyError::Failed(_) => exit::FAILED,
    };
    let message = match e {
        CopyError::Failed(m) => format!("{m} (nothing was copied)"),
        other => other.to_string(),
    };
    Failure { code, message }
}

pub fn run(args: MigrateArgs, json: bool) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sharelock: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(migrate(args)) {
        Ok((report, blobs_kept)) => {
            print_report(&report, blobs_kept, json);
            ExitCode::SUCCESS
        }
        Err(failure) => failure.exit(),
    }
}

async fn migrate(args: MigrateArgs) -> Result<(CopyReport, bool), Failure> {
    let overrides = Overrides {
        database_url: args.database_url,
        data_dir: args.data_dir,
        ..Overrides::default()
    };
    let config = load_config(args.config.as_deref(), overrides)?;
    let url = config.database_url();
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(Failure::usage(
            "the target must be PostgreSQL: give --database-url or SHARELOCK_DATABASE_URL \
             postgres://USER:PASSWORD@HOST:PORT/DB",
        ));
    }
    let source = match &args.from_database {
        Some(db) => PathBuf::from(db.strip_prefix("sqlite://").unwrap_or(db)),
        None => args.from.join("sharelock.db"),
    };
    let source_blob_dir = args.from.join("blobs");
    // Local blobs already where the target looks for them stay there.
    let same_directory = config.blob_backend == BlobBackend::Local
        && same_path(&source_blob_dir, &config.data_dir.join("blobs"));
    let keep_blobs = args.keep_blobs || same_directory;
    let blob_stores = if keep_blobs {
        None
    } else {
        if !source_blob_dir.is_dir() {
            return Err(Failure::usage(format!(
                "there is no blob directory at {} (use --keep-blobs if the blobs are elsewhere and \
                 the new nodes use them there)",
                source_blob_dir.display()
            )));
        }
        let from = BlobStore::local(&source_blob_dir)
            .map_err(|e| Failure::usage(format!("cannot open the source blobs: {e}")))?;
        let to =
            sharelock_server::open_blobs(&config).map_err(|e| Failure::usage(format!("{e:#}")))?;
        Some((from, to))
    };
    if !source.is_file() {
        return Err(Failure::usage(format!(
            "there is no SQLite database at {}",
            source.display()
        )));
    }
    // The error never repeats the URL (it holds the password).
    let target = PostgresStore::open(&url, PostgresOptions::default())
        .await
        .map_err(|e| Failure::failed(format!("cannot open the PostgreSQL database: {e}")))?;
    let blobs = blob_stores.as_ref().map(|(from, to)| Blobs { from, to });
    let report = copy::sqlite_to_postgres(&source, &target, blobs)
        .await
        .map_err(failure)?;
    Ok((report, keep_blobs))
}

fn same_path(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn print_report(report: &CopyReport, blobs_kept: bool, json: bool) {
    if json {
        let tables: serde_json::Map<String, serde_json::Value> = report
            .tables
            .iter()
            .map(|(name, rows)| (name.clone(), serde_json::Value::from(*rows)))
            .collect();
        let out = serde_json::json!({
            "tables": tables,
            "blobs": report.blobs,
            "blob_bytes": report.blob_bytes,
            "blobs_kept": blobs_kept,
        });
        println!("{out}");
        return;
    }
    println!("copied into PostgreSQL:");
    for (name, rows) in &report.tables {
        println!("  {name:<16} {rows:>10} rows");
    }
    if blobs_kept {
        println!("  blobs stay where they are");
    } else {
        println!(
            "  {:<16} {:>10} objects, {} bytes",
            "blobs", report.blobs, report.blob_bytes
        );
    }
}
