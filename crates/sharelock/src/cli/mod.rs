//! The command line: global options, the command tree, and the one place where failures become an error
//! line on stderr and an exit code (the exit codes are a stable contract, see [`ExitStatus`]).

mod account;
mod admin;
mod export;
mod home;
mod import;
mod open;
mod output;
mod record;
mod report;
mod request;
mod share;
mod webhook;

use crate::{backup, migrate, serve};
use clap::{Args, CommandFactory, Parser, Subcommand};
use sharelock_client::ClientError;
use sharelock_client::api::ErrorCode;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "sharelock",
    version,
    about = "Zero-knowledge, device-locked one-time shares",
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every client command takes.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// The server's URL (remembered after login).
    #[arg(long, global = true, value_name = "URL", env = "SHARELOCK_SERVER")]
    pub server: Option<String>,
    /// Directory holding the session, the device keys and settings [default: the platform's config
    /// directory]/sharelock. Its files are readable by their owner only.
    #[arg(long, global = true, value_name = "DIR", env = "SHARELOCK_HOME")]
    pub home: Option<PathBuf>,
    /// Machine-readable JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// Read the master password from the first line of standard input (else SHARELOCK_PASSWORD, else a
    /// prompt); for `password`, the current one from the first line and the new one from the second.
    #[arg(long, global = true)]
    pub password_stdin: bool,
    /// No progress bars for file transfers (they are drawn on stderr only when it is a terminal, and only
    /// for a transfer that takes more than half a second).
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (SQLite and local blobs in a data directory unless configured otherwise).
    Serve(serve::ServeArgs),
    /// Copy a SQLite deployment (database and blobs) into an empty PostgreSQL database and the blob
    /// store the PostgreSQL nodes use. Exit codes: 1 the copy failed and was undone, 2 unusable
    /// command line, configuration or source, 7 the target is not empty, 8 a secret given both
    /// directly and as a file.
    Migrate(migrate::MigrateArgs),
    /// Copy a SQLite deployment's database and blobs into a new directory, while the server runs.
    /// Exit codes: 1 the copy failed (nothing kept), 2 unusable command line, configuration or
    /// deployment, 7 the target is not empty, 8 a secret given both directly and as a file.
    Backup(backup::BackupArgs),
    /// Check a backup and restore it into an empty data directory. Exit codes: 1 the restore failed
    /// (nothing kept), 2 unusable command line or not a backup, 7 the target is not empty, 10 the backup
    /// is damaged or incomplete, 11 the backup is from a newer Sharelock.
    Restore(backup::RestoreArgs),
    /// Administer the server's accounts, invitations and configuration, working on its database
    /// directly (the settings `serve` uses). Exit codes: 1 failed or not found, 2 unusable command line
    /// or configuration, 8 a secret given both directly and as a file.
    Admin(admin::AdminArgs),
    /// Create an account on the server and log in.
    Register(account::RegisterArgs),
    /// Log in: unlocks the vault on this machine until `logout`.
    Login(account::LoginArgs),
    /// Change the master password: asks for the current one, then the new one twice (or reads
    /// SHARELOCK_PASSWORD and SHARELOCK_NEW_PASSWORD). Every other session of the account ends.
    Password,
    /// End the session and forget the unlocked vault on this machine.
    Logout,
    /// The records in your vault.
    #[command(subcommand)]
    Record(record::RecordCommand),
    /// One-time shares of your records.
    #[command(subcommand)]
    Share(share::ShareCommand),
    /// Open a share link: binds this device on first use and prints the record.
    Open(open::OpenArgs),
    /// Ask someone for a secret: a blank record they fill in through a one-time, device-locked link.
    #[command(subcommand)]
    Request(request::RequestCommand),
    /// Answer a request link: shows what is asked; with --set, --notes or --attach sends the answer.
    Answer(request::AnswerArgs),
    /// Signed webhooks: HTTPS endpoints told when your shares are opened, refused, edited, given
    /// files, tried with wrong passphrases or ended.
    #[command(subcommand)]
    Webhook(webhook::WebhookCommand),
    /// Export every record's current version, decrypted here, as an age file encrypted with a
    /// passphrase (docs/export.md); plain JSON or CSV only with --plain and
    /// --i-understand-this-is-unencrypted. File contents are not exported (their names are listed).
    Export(export::ExportArgs),
    /// Create records from another password manager's export, a CSV file or a Sharelock export
    /// (encrypted here like every record). Exit codes: 13 the file is unreadable, not of the format,
    /// or has items that cannot be imported; 5 wrong export passphrase.
    Import(import::ImportArgs),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// The failure exit codes scripts can rely on (success is 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Other = 1,
    Usage = 2,
    ShareEnded = 3,
    OtherDevice = 4,
    Auth = 5,
    Conflict = 6,
    /// A limit of the server: a file quota is full, or the account has as many live shares as allowed.
    Limit = 9,
    /// Refused by the server's operator: the account is disabled, the share's owner account is disabled,
    /// or sign-up needs an invitation code (or an email at another domain).
    Refused = 12,
    /// An import file is unreadable, not of its format, or holds items that cannot be imported.
    ImportFile = 13,
}

/// A failed command: what to say, and how to exit.
#[derive(Debug)]
pub struct Failure {
    pub status: ExitStatus,
    pub message: String,
}

impl Failure {
    pub fn new(status: ExitStatus, message: impl Into<String>) -> Self {
        Failure {
            status,
            message: message.into(),
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(ExitStatus::Usage, message)
    }

    pub fn other(message: impl Into<String>) -> Self {
        Self::new(ExitStatus::Other, message)
    }

    pub fn auth(message: impl Into<String>) -> Self {
        Self::new(ExitStatus::Auth, message)
    }
}

/// The exit status an API error code stands for.
pub fn status_of_code(code: ErrorCode) -> ExitStatus {
    match code {
        ErrorCode::ShareEnded => ExitStatus::ShareEnded,
        ErrorCode::ShareBoundToOtherDevice => ExitStatus::OtherDevice,
        ErrorCode::InvalidCredentials | ErrorCode::Unauthorized | ErrorCode::WrongPassphrase => {
            ExitStatus::Auth
        }
        ErrorCode::VersionConflict | ErrorCode::StaleRecordKey => ExitStatus::Conflict,
        ErrorCode::QuotaExceeded
        | ErrorCode::ShareQuotaExceeded
        | ErrorCode::ShareLimitReached
        | ErrorCode::WebhookLimitReached => ExitStatus::Limit,
        ErrorCode::WebhookUrlNotAllowed => ExitStatus::Usage,
        ErrorCode::AccountDisabled
        | ErrorCode::ShareSuspended
        | ErrorCode::InviteRequired
        | ErrorCode::InvalidInvite
        | ErrorCode::EmailDomainNotAllowed => ExitStatus::Refused,
        _ => ExitStatus::Other,
    }
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        let status = match &e {
            ClientError::PassphraseRequired => ExitStatus::Auth,
            other => other.code().map_or(ExitStatus::Other, status_of_code),
        };
        let message = match &e {
            ClientError::Api {
                code: ErrorCode::Unauthorized,
                ..
            } => "the session has expired or was ended: log in again (sharelock login --email …)"
                .to_owned(),
            ClientError::Api {
                code: ErrorCode::TooManyAttempts,
                retry_after: Some(secs),
                message,
                ..
            } => {
                format!("{message} (retry in {secs} s)")
            }
            ClientError::Api {
                code: ErrorCode::QuotaExceeded,
                ..
            } => "the account's file storage on this server is full: nothing was stored (delete \
                  records with files you no longer need, or ask the server's operator)"
                .to_owned(),
            ClientError::Api {
                code: ErrorCode::ShareQuotaExceeded,
                ..
            } => {
                "this share may not upload more files: its upload allowance on this server is used \
                  up, nothing was stored"
                    .to_owned()
            }
            ClientError::Api {
                code: ErrorCode::ShareLimitReached,
                ..
            } => {
                "the account has as many live shares as this server allows: end one you no longer \
                  need (sharelock share list, then sharelock share delete …) and try again"
                    .to_owned()
            }
            ClientError::Api {
                code: ErrorCode::InviteRequired,
                ..
            } => "sign-ups on this server are invite-only: register with the code the server's \
                  operator gave you (sharelock register --invite CODE …)"
                .to_owned(),
            ClientError::Api {
                code: ErrorCode::InvalidInvite,
                ..
            } => "the invitation code is not valid: it is wrong, already used, revoked or expired \
                  (ask the server's operator for a new one)"
                .to_owned(),
            ClientError::Api {
                code: ErrorCode::EmailDomainNotAllowed,
                ..
            } => "this server takes sign-ups only for some email domains, and this email is at \
                  another"
                .to_owned(),
            ClientError::Api {
                code: ErrorCode::AccountDisabled,
                ..
            } => "this account is disabled on this server; ask the server's operator".to_owned(),
            ClientError::Api {
                code: ErrorCode::ShareSuspended,
                ..
            } => "this share is unavailable: its owner's account is disabled on this server (it \
                  may answer again if the account is enabled)"
                .to_owned(),
            ClientError::Api {
                code: ErrorCode::StaleRecordKey,
                message,
                ..
            } => {
                format!("{message}; run the command again")
            }
            other => other.to_string(),
        };
        Failure::new(status, message)
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::other(e.to_string())
    }
}

pub type CliResult<T = ()> = Result<T, Failure>;

/// Parses the command line, runs the command, prints a failure as one line, and exits with its code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let global = cli.global;
    let command = match cli.command {
        Command::Serve(args) => return serve::run(args),
        Command::Migrate(args) => return migrate::run(args, global.json),
        Command::Backup(args) => return backup::run_backup(args, global.json),
        Command::Restore(args) => return backup::run_restore(args, global.json),
        Command::Admin(args) => return admin::run(args, global.json),
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "sharelock", &mut std::io::stdout());
            return ExitCode::SUCCESS;
        }
        other => other,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            return fail(&Failure::other(format!(
                "cannot start the async runtime: {e}"
            )));
        }
    };
    match runtime.block_on(run(global, command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => fail(&failure),
    }
}

fn fail(failure: &Failure) -> ExitCode {
    eprintln!("sharelock: {}", crate::operator::one_line(&failure.message));
    ExitCode::from(failure.status as u8)
}

async fn run(global: Global, command: Command) -> CliResult {
    let ctx = home::Context::new(global)?;
    match command {
        Command::Register(args) => account::register(&ctx, args).await,
        Command::Login(args) => account::login(&ctx, args).await,
        Command::Password => account::change_password(&ctx).await,
        Command::Logout => account::logout(&ctx).await,
        Command::Record(cmd) => record::run(&ctx, cmd).await,
        Command::Share(cmd) => share::run(&ctx, cmd).await,
        Command::Open(args) => open::run(&ctx, args).await,
        Command::Request(cmd) => request::run(&ctx, cmd).await,
        Command::Answer(args) => request::answer(&ctx, args).await,
        Command::Webhook(cmd) => webhook::run(&ctx, cmd).await,
        Command::Export(args) => export::run(&ctx, args).await,
        Command::Import(args) => import::run(&ctx, args).await,
        Command::Serve(_)
        | Command::Migrate(_)
        | Command::Backup(_)
        | Command::Restore(_)
        | Command::Admin(_)
        | Command::Completions { .. } => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_tree_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn error_codes_map_to_the_documented_exit_codes() {
        assert_eq!(status_of_code(ErrorCode::ShareEnded) as u8, 3);
        assert_eq!(status_of_code(ErrorCode::ShareBoundToOtherDevice) as u8, 4);
        assert_eq!(status_of_code(ErrorCode::WrongPassphrase) as u8, 5);
        assert_eq!(status_of_code(ErrorCode::InvalidCredentials) as u8, 5);
        assert_eq!(status_of_code(ErrorCode::Unauthorized) as u8, 5);
        assert_eq!(status_of_code(ErrorCode::VersionConflict) as u8, 6);
        assert_eq!(status_of_code(ErrorCode::StaleRecordKey) as u8, 6);
        assert_eq!(status_of_code(ErrorCode::NotFound) as u8, 1);
        assert_eq!(status_of_code(ErrorCode::QuotaExceeded) as u8, 9);
        assert_eq!(status_of_code(ErrorCode::ShareQuotaExceeded) as u8, 9);
        assert_eq!(status_of_code(ErrorCode::ShareLimitReached) as u8, 9);
        assert_eq!(status_of_code(ErrorCode::WebhookLimitReached) as u8, 9);
        assert_eq!(status_of_code(ErrorCode::WebhookUrlNotAllowed) as u8, 2);
        for refused in [
            ErrorCode::AccountDisabled,
            ErrorCode::ShareSuspended,
            ErrorCode::InviteRequired,
            ErrorCode::InvalidInvite,
            ErrorCode::EmailDomainNotAllowed,
        ] {
            assert_eq!(status_of_code(refused) as u8, 12, "{refused}");
        }
        let conflict: Failure = ClientError::Conflict { current_version: 4 }.into();
        assert_eq!(conflict.status, ExitStatus::Conflict);
    }
}
