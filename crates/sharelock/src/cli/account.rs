//! `register`, `login`, `password`, `logout`, and reading secrets (password, passphrase) without echoing
//! them.

use super::home::Context;
use super::output::print_json;
use super::{CliResult, Failure};
use clap::Args;
use serde_json::json;
use std::io::BufRead;
use zeroize::Zeroizing;

#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// The account's email (its identifier; nothing is ever sent to it).
    #[arg(long)]
    email: String,
    /// The one-time invitation code the server's operator gave you (needed where sign-ups are
    /// invite-only).
    #[arg(
        long,
        value_name = "CODE",
        env = "SHARELOCK_INVITE",
        hide_env_values = true
    )]
    invite: Option<String>,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The account's email.
    #[arg(long)]
    email: String,
}

/// Reads one line from standard input, without its line ending (the rest is the secret, never trimmed).
fn read_stdin_line() -> CliResult<Zeroizing<String>> {
    let mut line = Zeroizing::new(String::new());
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Failure::other(format!("cannot read standard input: {e}")))?;
    if line.ends_with('\n') {
        line.pop();
        if line.ends_with('\r') {
            line.pop();
        }
    }
    Ok(line)
}

fn prompt(text: &str) -> CliResult<Zeroizing<String>> {
    rpassword::prompt_password(text).map(Zeroizing::new).map_err(|_| {
        Failure::usage("cannot prompt for a secret here (no terminal): use the environment variable or --password-stdin")
    })
}

/// A secret from an environment variable or a prompt (asked twice when `confirm`).
pub fn secret_from_env_or_prompt(
    var: &str,
    label: &str,
    confirm: bool,
) -> CliResult<Zeroizing<String>> {
    if let Ok(value) = std::env::var(var) {
        return Ok(Zeroizing::new(value));
    }
    let first = prompt(&format!("{label}: "))?;
    if confirm {
        let second = prompt(&format!("{label} (again): "))?;
        if *first != *second {
            return Err(Failure::usage(format!(
                "the two {} entries differ",
                label.to_lowercase()
            )));
        }
    }
    Ok(first)
}

/// The most a passphrase file may hold.
const MAX_PASSPHRASE_FILE: u64 = 4096;

/// A passphrase from a file: its first line (without the line break), refused if the file is larger than
/// a passphrase file can be or not UTF-8.
pub fn passphrase_from_file(path: &std::path::Path) -> CliResult<Zeroizing<String>> {
    use std::io::Read;
    let cannot = |e: std::io::Error| Failure::usage(format!("cannot read {}: {e}", path.display()));
    let file = std::fs::File::open(path).map_err(cannot)?;
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(MAX_PASSPHRASE_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_PASSPHRASE_FILE {
        return Err(Failure::usage(format!(
            "{} is too large for a passphrase file",
            path.display()
        )));
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Failure::usage(format!("{} is not UTF-8 text", path.display())))?;
    let line = text.split(['\n', '\r']).next().unwrap_or_default();
    Ok(Zeroizing::new(line.to_owned()))
}

/// The master password: `--password-stdin`, else `SHARELOCK_PASSWORD`, else a prompt.
fn password(ctx: &Context, confirm: bool) -> CliResult<Zeroizing<String>> {
    let password = if ctx.global.password_stdin {
        read_stdin_line()?
    } else {
        secret_from_env_or_prompt("SHARELOCK_PASSWORD", "Master password", confirm)?
    };
    if password.is_empty() {
        return Err(Failure::usage("the master password is empty"));
    }
    Ok(password)
}

/// The current and the new master password for `password`: with `--password-stdin` the first two lines
/// of standard input; else `SHARELOCK_PASSWORD` and `SHARELOCK_NEW_PASSWORD`, each else a prompt (the new
/// one asked twice).
fn password_change(ctx: &Context) -> CliResult<(Zeroizing<String>, Zeroizing<String>)> {
    let (current, new) = if ctx.global.password_stdin {
        (read_stdin_line()?, read_stdin_line()?)
    } else {
        (
            secret_from_env_or_prompt("SHARELOCK_PASSWORD", "Current master password", false)?,
            secret_from_env_or_prompt("SHARELOCK_NEW_PASSWORD", "New master password", true)?,
        )
    };
    if current.is_empty() {
        return Err(Failure::usage("the current master password is empty"));
    }
    if new.is_empty() {
        return Err(Failure::usage("the new master password is empty"));
    }
    check_new_password(&new, "new")?;
    if *current == *new {
        return Err(Failure::usage(
            "the new master password is the same as the current one",
        ));
    }
    Ok((current, new))
}

/// Refuses a new master password shorter than the web app's minimum (a usage error: nothing was sent).
fn check_new_password(password: &str, what: &str) -> CliResult {
    sharelock_core::account::check_new_master_password(password).map_err(|_| {
        Failure::usage(format!(
            "the {what} master password is shorter than {} characters; a few unrelated words are strong and easy to type",
            sharelock_core::account::MIN_MASTER_PASSWORD_CHARS
        ))
    })
}

pub async fn register(ctx: &Context, args: RegisterArgs) -> CliResult {
    let server = ctx.server()?;
    let password = password(ctx, true)?;
    check_new_password(&password, "new")?;
    let session =
        sharelock_client::register_invited(&server, &args.email, &password, args.invite.as_deref())
            .await?;
    ctx.save_session(&session)?;
    ctx.remember_server(session.server())?;
    if ctx.json() {
        print_json(
            &json!({"account_id": session.account_id(), "email": session.email(), "server": session.server()}),
        );
    } else {
        println!(
            "Registered {} on {} and logged in.",
            session.email(),
            session.server()
        );
    }
    Ok(())
}

pub async fn login(ctx: &Context, args: LoginArgs) -> CliResult {
    let server = ctx.server()?;
    let password = password(ctx, false)?;
    let mut session = sharelock_client::login(&server, &args.email, &password).await?;
    if let Some(versions) = ctx_versions(ctx) {
        session.set_versions(versions);
    }
    // A share that ended while logged out leaves its record's key due for rotation: do it at unlock.
    let rotated = session.rotate_pending().await;
    ctx.save_session(&session)?;
    ctx.remember_server(session.server())?;
    let rotated = rotated?;
    if ctx.json() {
        print_json(&logged_in_json(&session));
    } else {
        println!("Logged in as {} on {}.", session.email(), session.server());
        if !rotated.is_empty() {
            eprintln!(
                "Rotated the key of {} record(s) whose share ended.",
                rotated.len()
            );
        }
    }
    Ok(())
}

/// Changes the master password. The server ends every session of the account (other machines must log in
/// again); this one logs in again at once with the new password, so the vault stays unlocked here.
pub async fn change_password(ctx: &Context) -> CliResult {
    let session = ctx.session()?;
    let (current, new) = password_change(ctx)?;
    let session = match session.change_password(&current, &new).await {
        Ok(session) => session,
        Err(e @ sharelock_client::ClientError::LoginAfterChange(_)) => {
            // The saved session was ended with the others: keep no dead one.
            ctx.forget_session()?;
            return Err(e.into());
        }
        Err(e) => return Err(e.into()),
    };
    ctx.save_session(&session)?;
    if ctx.json() {
        print_json(&logged_in_json(&session));
    } else {
        println!(
            "Changed the master password of {} on {}.",
            session.email(),
            session.server()
        );
        eprintln!(
            "Every other session of the account has ended: other devices must log in again with the new password."
        );
    }
    Ok(())
}

/// The `--json` answer of commands that leave a fresh session behind (`login`, `password`).
fn logged_in_json(session: &sharelock_client::OwnerSession) -> serde_json::Value {
    json!({
        "account_id": session.account_id(),
        "email": session.email(),
        "server": session.server(),
        "expires_at": super::output::rfc3339(session.expires_at()),
    })
}

/// The saved anti-rollback memory, if any (it outlives sessions).
fn ctx_versions(ctx: &Context) -> Option<sharelock_client::VersionMemory> {
    let bytes = std::fs::read(ctx.home.join("versions.json")).ok()?;
    sharelock_client::VersionMemory::from_bytes(&bytes).ok()
}

pub async fn logout(ctx: &Context) -> CliResult {
    let session = match ctx.session() {
        Ok(s) => s,
        Err(f) if f.status == super::ExitStatus::Auth => {
            if !ctx.json() {
                eprintln!("Not logged in.");
            } else {
                print_json(&json!({"logged_out": false}));
            }
            return Ok(());
        }
        Err(f) => return Err(f),
    };
    ctx.save_versions(&session)?;
    let remote = session.logout().await;
    ctx.forget_session()?;
    if ctx.json() {
        print_json(&json!({"logged_out": true}));
    } else {
        println!("Logged out; the vault is locked on this machine.");
    }
    match remote {
        Ok(()) => Ok(()),
        // The session is gone here either way; an already expired one is not a failure.
        Err(e) if e.is(sharelock_client::api::ErrorCode::Unauthorized) => Ok(()),
        Err(e) => {
            eprintln!(
                "sharelock: the server could not end the session ({e}); it expires on its own"
            );
            Ok(())
        }
    }
}
