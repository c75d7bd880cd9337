//! `sharelock admin`: the operator's commands, run on the server's data directly with the settings
//! `serve` uses (`--config`, `--data-dir`, `--database-url` and the `SHARELOCK_*` variables), on SQLite
//! and PostgreSQL alike, whether or not the server is running. The same operations as the admin API
//! (`sharelock_server::admin`); every action is logged on stderr (target `sharelock::admin`).

use super::output::{human_size, human_time, print_json, table};
use super::{CliResult, ExitStatus, Failure};
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use sharelock_client::api::admin::{AccountState, CreateInvite, InviteState};
use sharelock_server::admin::{self as ops, AdminError, Via};
use sharelock_server::config::{Config, Overrides};
use sharelock_store::Store;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use uuid::Uuid;

#[derive(Debug, Args)]
pub struct AdminArgs {
    /// The server's TOML configuration file, as given to `serve`.
    #[arg(long, value_name = "FILE", env = "SHARELOCK_CONFIG")]
    config: Option<PathBuf>,
    /// The server's data directory [default: ./sharelock-data].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// The server's database, sqlite://PATH or postgres://… (better given as SHARELOCK_DATABASE_URL or
    /// SHARELOCK_DATABASE_URL_FILE, which keep the password off the command line).
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Accounts: list with their usage, disable, enable, delete.
    #[command(subcommand)]
    Accounts(AccountsCommand),
    /// One-time invitation codes for invite-only sign-ups (invite_only = true).
    #[command(subcommand)]
    Invite(InviteCommand),
    /// Print the effective configuration, secrets redacted.
    Config,
}

#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// Every account: state, records, live shares, file bytes, created, last login.
    List,
    /// Disable an account: its sessions end at once, login is refused and its shares stop answering
    /// (share_suspended) until it is enabled again.
    Disable {
        /// The account's id or email.
        account: String,
    },
    /// Enable a disabled account again.
    Enable {
        /// The account's id or email.
        account: String,
    },
    /// Delete an account and everything it holds, for good: its keys, records, shares and sessions go at
    /// once, its file blobs with the server's next sweep.
    Delete {
        /// The account's id or email.
        account: String,
        /// Do not ask for confirmation (needed when not on a terminal).
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum InviteCommand {
    /// Create a one-time invitation code (printed once; only its hash is kept).
    Create {
        /// How long the code stays usable: 90m, 12h, 7d … [default: 7d].
        #[arg(long, value_name = "DURATION", value_parser = super::output::parse_duration)]
        expires: Option<std::time::Duration>,
        /// A note for yourself (who it is for), shown in the list.
        #[arg(long, value_name = "TEXT")]
        note: Option<String>,
    },
    /// Every invitation with its state (never the codes).
    List,
    /// Revoke an unused invitation.
    Revoke {
        /// The invitation's id (from `invite list`).
        id: Uuid,
    },
}

/// Exit codes of `admin` beyond the client's: the configuration is unusable (2, as `serve`), a secret
/// given twice (8, as `serve`).
pub fn run(args: AdminArgs, json: bool) -> ExitCode {
    let overrides = Overrides {
        data_dir: args.data_dir,
        database_url: args.database_url,
        ..Overrides::default()
    };
    let config = match crate::operator::load_config(args.config.as_deref(), overrides) {
        Ok(config) => config,
        Err(failure) => return failure.exit(),
    };
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            return super::fail(&Failure::other(format!(
                "cannot start the async runtime: {e}"
            )));
        }
    };
    match runtime.block_on(admin(config, args.command, json)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => super::fail(&failure),
    }
}

/// Admin actions are logged to stderr (the audit trail of a command run by hand); other log lines only
/// when they are warnings.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SHARELOCK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,sharelock::admin=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

impl From<AdminError> for Failure {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::NotFound(what) => Failure::other(format!("no such {what}")),
            AdminError::Invalid(message) => Failure::usage(message),
            AdminError::Store(e) => Failure::other(format!("the database failed: {e}")),
        }
    }
}

async fn open(config: &Config) -> CliResult<Arc<dyn Store>> {
    let url = config.database_url();
    // A SQLite path that does not exist is a wrong setting, not a database to create.
    if let Some(path) = url.strip_prefix("sqlite://")
        && !std::path::Path::new(path).exists()
    {
        return Err(Failure::usage(format!(
            "no database at {path}: give the server's --data-dir, --database-url or --config"
        )));
    }
    sharelock_server::open_store(&url)
        .await
        .map_err(|e| Failure::other(format!("{e:#}")))
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

async fn admin(config: Config, command: AdminCommand, json: bool) -> CliResult {
    if let AdminCommand::Config = command {
        let shown = ops::effective_config(&config, Via::Cli)?;
        if json {
            print_json(&Value::Object(shown.settings));
        } else {
            print_settings(&shown.settings);
        }
        return Ok(());
    }
    let store = open(&config).await?;
    let store = store.as_ref();
    match command {
        AdminCommand::Accounts(AccountsCommand::List) => list_accounts(store, json).await,
        AdminCommand::Accounts(AccountsCommand::Disable { account }) => {
            let changed = ops::set_disabled(store, &account, true, now(), Via::Cli).await?;
            if json {
                print_json(&json!(changed));
            } else if changed.changed {
                println!(
                    "Disabled account {}: its sessions ended, its shares answer no more.",
                    changed.account_id
                );
            } else {
                println!("Account {} was already disabled.", changed.account_id);
            }
            Ok(())
        }
        AdminCommand::Accounts(AccountsCommand::Enable { account }) => {
            let changed = ops::set_disabled(store, &account, false, now(), Via::Cli).await?;
            if json {
                print_json(&json!(changed));
            } else if changed.changed {
                println!("Enabled account {} again.", changed.account_id);
            } else {
                println!("Account {} was not disabled.", changed.account_id);
            }
            Ok(())
        }
        AdminCommand::Accounts(AccountsCommand::Delete { account, yes }) => {
            if !yes {
                confirm_delete(store, &account).await?;
            }
            let gone = ops::delete(store, &account, now(), Via::Cli).await?;
            if json {
                print_json(&json!(gone));
            } else {
                println!(
                    "Deleted account {}: {} record(s), {} share(s); {} file blob(s) go with the server's next sweep.",
                    gone.account_id, gone.records, gone.shares, gone.blobs
                );
            }
            Ok(())
        }
        AdminCommand::Invite(InviteCommand::Create { expires, note }) => {
            let request = CreateInvite {
                expires_in_secs: expires.map(|d| d.as_secs()),
                note,
            };
            let created = ops::create_invite(store, request, now(), Via::Cli).await?;
            if json {
                print_json(&json!(created));
            } else {
                println!("{}", created.code);
                eprintln!(
                    "One-time invitation {}, usable until {}. Give the code to the person invited \
                     (sharelock register --invite CODE, or the sign-up form); it is not shown again.",
                    created.id,
                    human_time(created.expires_at)
                );
            }
            Ok(())
        }
        AdminCommand::Invite(InviteCommand::List) => {
            let invites = ops::invites(store, now()).await?;
            if json {
                print_json(&json!({ "invites": invites }));
                return Ok(());
            }
            if invites.is_empty() {
                println!("No invitations.");
                return Ok(());
            }
            let mut t = table(&["id", "state", "created", "expires", "used", "note"]);
            for i in invites {
                t.add_row(vec![
                    i.id.to_string(),
                    invite_state(i.state).to_owned(),
                    human_time(i.created_at),
                    human_time(i.expires_at),
                    i.used_at.map(human_time).unwrap_or_else(|| "-".into()),
                    i.note.unwrap_or_default(),
                ]);
            }
            println!("{t}");
            Ok(())
        }
        AdminCommand::Invite(InviteCommand::Revoke { id }) => {
            let revoked = ops::revoke_invite(store, id, now(), Via::Cli).await?;
            if json {
                print_json(&json!(revoked));
            } else if revoked.revoked {
                println!("Revoked invitation {id}.");
            } else {
                println!("Invitation {id} was already used or revoked; nothing changed.");
            }
            Ok(())
        }
        AdminCommand::Config => Ok(()),
    }
}

fn invite_state(state: InviteState) -> &'static str {
    match state {
        InviteState::Unused => "unused",
        InviteState::Used => "used",
        InviteState::Revoked => "revoked",
        InviteState::Expired => "expired",
    }
}

async fn list_accounts(store: &dyn Store, json: bool) -> CliResult {
    let accounts = ops::accounts(store, now()).await?;
    if json {
        print_json(&json!({ "accounts": accounts }));
        return Ok(());
    }
    if accounts.is_empty() {
        println!("No accounts.");
        return Ok(());
    }
    let mut t = table(&[
        "id",
        "email",
        "state",
        "records",
        "live shares",
        "files",
        "created",
        "last login",
    ]);
    for a in accounts {
        t.add_row(vec![
            a.id.to_string(),
            a.email,
            match a.state {
                AccountState::Active => "active".to_owned(),
                AccountState::Disabled => "disabled".to_owned(),
            },
            a.records.to_string(),
            a.live_shares.to_string(),
            human_size(a.file_bytes),
            human_time(a.created_at),
            a.last_login_at
                .map(human_time)
                .unwrap_or_else(|| "never".into()),
        ]);
    }
    println!("{t}");
    Ok(())
}

/// On a terminal, asks to type the account's email; elsewhere `--yes` is needed.
async fn confirm_delete(store: &dyn Store, reference: &str) -> CliResult {
    let account = ops::resolve_account(store, reference).await?;
    if !std::io::stdin().is_terminal() {
        return Err(Failure::usage(
            "deleting an account cannot be undone: add --yes to confirm",
        ));
    }
    eprintln!(
        "This deletes account {} ({}) with all its records, shares and files, for good.",
        account.id, account.email
    );
    eprint!("Type its email to confirm: ");
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| Failure::other(format!("cannot read standard input: {e}")))?;
    if line.trim() != account.email {
        return Err(Failure::new(
            ExitStatus::Usage,
            "not confirmed; nothing deleted",
        ));
    }
    Ok(())
}

/// The settings as TOML lines (`key = value`), unset ones as comments.
fn print_settings(settings: &serde_json::Map<String, Value>) {
    for (key, value) in settings {
        match value {
            Value::Null => println!("# {key} (unset)"),
            other => println!("{key} = {other}"),
        }
    }
}
