//! `sharelock backup` and `sharelock restore`: a SQLite deployment's database and blobs, copied while
//! the server runs and put back after checking. The work itself is `sharelock_store::backup`; this is
//! its command line.

use crate::operator::{Failure, exit, load_config};
use clap::Args;
use sharelock_server::config::{BlobBackend, Overrides};
use sharelock_store::backup::{self, BackupError, BackupReport, Deployment};
use std::path::PathBuf;
use std::process::ExitCode;

// Exit codes (crate::operator::exit): 1 failed, 2 usage, 7 target not empty, 8 a secret given twice,
// 10 (`restore`) the backup is damaged, 11 (`restore`) made by a newer Sharelock. Nothing is left in the
// target in any failure.

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Where to write the backup: a directory that is empty or does not exist yet.
    #[arg(long, value_name = "DIR")]
    to: PathBuf,
    /// The server's data directory [default: as the server is configured, else ./sharelock-data].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// The server's database, when it is not <data-dir>/sharelock.db (sqlite://PATH).
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// The server's TOML configuration file, to find its data directory and database.
    #[arg(long, value_name = "FILE", env = "SHARELOCK_CONFIG")]
    config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup directory (written by `sharelock backup`).
    #[arg(long, value_name = "DIR")]
    from: PathBuf,
    /// The data directory to restore into: empty or not existing yet. Start the server on it afterwards.
    #[arg(long, value_name = "DIR")]
    data_dir: PathBuf,
}

fn failure(e: BackupError) -> Failure {
    let code = match &e {
        BackupError::Source(_) => exit::USAGE,
        BackupError::TargetNotEmpty(_) => exit::TARGET_NOT_EMPTY,
        BackupError::Damaged(_) => exit::DAMAGED,
        BackupError::Newer(_) => exit::NEWER,
        BackupError::Failed(_) => exit::FAILED,
    };
    let message = match e {
        BackupError::Failed(m) => format!("{m} (nothing was kept)"),
        other => other.to_string(),
    };
    Failure { code, message }
}

pub fn run_backup(args: BackupArgs, json: bool) -> ExitCode {
    finish(backup(args), "backed up", json)
}

pub fn run_restore(args: RestoreArgs, json: bool) -> ExitCode {
    finish(
        backup::restore(&args.from, &args.data_dir).map_err(failure),
        "restored",
        json,
    )
}

fn backup(args: BackupArgs) -> Result<BackupReport, Failure> {
    let overrides = Overrides {
        data_dir: args.data_dir,
        database_url: args.database_url,
        ..Overrides::default()
    };
    let config = load_config(args.config.as_deref(), overrides)?;
    let url = config.database_url();
    let Some(database) = url.strip_prefix("sqlite://") else {
        return Err(Failure::usage(
            "backup copies SQLite deployments; for PostgreSQL use pg_dump (docs/deploy.md, \
             \"Backup and restore\")",
        ));
    };
    if config.blob_backend != BlobBackend::Local {
        return Err(Failure::usage(
            "backup copies local blobs; blobs in S3 are kept by the bucket's versioning or \
             replication (docs/deploy.md, \"Backup and restore\")",
        ));
    }
    let deployment = Deployment {
        database: PathBuf::from(database),
        ..Deployment::in_data_dir(&config.data_dir)
    };
    backup::backup(&deployment, &args.to).map_err(failure)
}

fn finish(outcome: Result<BackupReport, Failure>, done: &str, json: bool) -> ExitCode {
    match outcome {
        Ok(report) => {
            if json {
                let out = serde_json::json!({
                    "schema_version": report.schema_version,
                    "blobs": report.blobs,
                    "blob_bytes": report.blob_bytes,
                    "snapshots": report.snapshots,
                    "prelogin_key": report.prelogin_key,
                });
                println!("{out}");
            } else {
                println!(
                    "{done}: the database (schema version {}), {} blobs ({} bytes){}",
                    report.schema_version,
                    report.blobs,
                    report.blob_bytes,
                    if report.prelogin_key {
                        " and the pre-login key"
                    } else {
                        ""
                    }
                );
            }
            ExitCode::SUCCESS
        }
        Err(failure) => failure.exit(),
    }
}
