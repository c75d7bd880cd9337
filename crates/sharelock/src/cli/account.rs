//! `register`, `login`, `logout`, and reading secrets (password, passphrase) without echoing them.

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

pub async fn register(ctx: &Context, args: RegisterArgs) -> CliResult {
    let server = ctx.server()?;
    let password = password(ctx, true)?;
    let session = sharelock_client::register(&server, &args.email, &password).await?;
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
        print_json(&json!({
            "account_id": session.account_id(),
            "email": session.email(),
            "server": session.server(),
            "expires_at": super::output::rfc3339(session.expires_at()),
        }));
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
