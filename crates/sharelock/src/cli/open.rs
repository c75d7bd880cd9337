//! `sharelock open LINK`: the recipient's side. The first open binds this device (its key is kept in the
//! home directory); later opens on this device read the record again; any other device is refused.

use super::account::secret_from_env_or_prompt;
use super::home::Context;
use super::output::{
    Bar, Inputs, human_time, parse_assignment, print_json, print_record, record_json, relative,
    rfc3339,
};
use super::{CliResult, ExitStatus, Failure};
use clap::Args;
use serde_json::json;
use sharelock_client::api::ErrorCode;
use sharelock_client::{ClientError, DeviceStore, Preview, Recipient, share_preview};
use sharelock_core::preface::SharePreface;
use sharelock_core::record::RecordType;
use sharelock_core::share::Link;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct OpenArgs {
    /// The share link, or `-` to read it from the first line of standard input (paste it, or pipe it): the
    /// link is the only key to the share, and on the command line it stays in the shell's history and shows
    /// in the process list. (Quote a link given here: it contains `#`.)
    link: String,
    /// Change fields of an editable share (as one new version). VALUE `-` reads standard input (unless the
    /// link came from it), `@PATH` a file, `@@…` is a literal `@…`.
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_assignment, num_args = 1..)]
    set: Vec<(String, String)>,
    /// Attach a file to an editable share.
    #[arg(long = "attach", value_name = "PATH")]
    attach: Vec<PathBuf>,
    /// Save the record's files into this directory.
    #[arg(long, value_name = "DIR")]
    save_files: Option<PathBuf>,
    /// End the share ("I have it, delete it") after reading it.
    #[arg(long)]
    done: bool,
    /// Only say who shared what, whether it was opened and when it ends, without opening it: nothing is
    /// bound to this device, so the link still opens anywhere.
    #[arg(long, conflicts_with_all = ["set", "attach", "save_files", "done"])]
    peek: bool,
}

/// A record type as a noun with its article, for "Ada shared a login with you".
pub fn type_phrase(record_type: RecordType) -> &'static str {
    match record_type {
        RecordType::Login => "a login",
        RecordType::Card => "a payment card",
        RecordType::Bank => "a bank account",
        RecordType::Wifi => "a Wi-Fi network",
        RecordType::Server => "a server",
        RecordType::Database => "a database",
        RecordType::Ssh => "an SSH key",
        RecordType::Note => "a note",
        RecordType::File => "a file",
        RecordType::General => "a record",
    }
}

/// The sentence the Click to Open page shows (docs/protocol.md §4.6): the sender's name is their own
/// choice, checked to be one line without control or direction characters, and quoted as such.
pub fn preface_sentence(preface: &SharePreface) -> String {
    let what = type_phrase(preface.record_type);
    if preface.from.is_empty() {
        format!("Someone shared {what} with you (they gave no name).")
    } else {
        format!("\"{}\" shared {what} with you.", preface.from)
    }
}

fn preview_lines(preview: &Preview) -> Vec<String> {
    let mut lines = Vec::new();
    match &preview.preface {
        Some(Ok(preface)) => lines.push(preface_sentence(preface)),
        Some(Err(_)) => lines.push(
            "The sender's name and the record type could not be read (the server may have altered them)."
                .to_owned(),
        ),
        None => lines.push("This share does not say who sent it or what it holds.".to_owned()),
    }
    let status = &preview.status;
    if status.view_once {
        lines.push("It can be viewed once: it ends as soon as it is shown.".to_owned());
    }
    if let Some(secs) = status.destroy_after_secs {
        lines.push(format!(
            "The sender's record destroys itself {} after it is opened (or when the share ends, if sooner).",
            humantime::format_duration(std::time::Duration::from_secs(secs))
        ));
    }
    lines
}

fn preview_json(preview: &Preview) -> serde_json::Value {
    let (from, record_type, readable) = match &preview.preface {
        Some(Ok(p)) => (Some(p.from.as_str()), Some(p.record_type.as_str()), true),
        Some(Err(_)) => (None, None, false),
        None => (None, None, true),
    };
    json!({
        "from": from.filter(|f| !f.is_empty()),
        "type": record_type,
        "preface_readable": readable,
        "opened": preview.status.bound,
        "editable": preview.status.editable,
        "view_once": preview.status.view_once,
        "destroy_after_secs": preview.status.destroy_after_secs,
        "expires_at": rfc3339(preview.status.expires_at),
    })
}

pub(super) fn open_failure(e: ClientError) -> Failure {
    match e {
        ClientError::Api {
            code: ErrorCode::NotFound,
            ..
        } => Failure::new(
            ExitStatus::ShareEnded,
            "this share does not exist (it was deleted long ago, or the link is wrong)",
        ),
        ClientError::Api {
            code: ErrorCode::ShareEnded,
            ..
        } => Failure::new(
            ExitStatus::ShareEnded,
            "this share has ended: it expired or was deleted",
        ),
        ClientError::Api {
            code: ErrorCode::ShareBoundToOtherDevice,
            ..
        } => Failure::new(
            ExitStatus::OtherDevice,
            "this share was already opened on another device, and only that device can open it",
        ),
        ClientError::Api {
            code: ErrorCode::WrongPassphrase,
            ..
        } => Failure::auth("wrong passphrase (the share is untouched; try again)"),
        ClientError::PassphraseRequired => Failure::auth(
            "this link needs a passphrase: set SHARELOCK_SHARE_PASSPHRASE or run in a terminal",
        ),
        ClientError::Invalid(m) => Failure::usage(m),
        ClientError::Protocol(sharelock_core::Error::Record(r)) => {
            Failure::usage(format!("invalid change: {r}"))
        }
        other => other.into(),
    }
}

pub async fn run(ctx: &Context, args: OpenArgs) -> CliResult {
    let inputs = Inputs::new();
    let link_text = if args.link == "-" {
        inputs.stdin_line("the link")?
    } else {
        zeroize::Zeroizing::new(args.link.clone())
    };
    let link = Link::parse(link_text.trim())
        .map_err(|e| Failure::usage(format!("not a share link: {e}")))?;
    let changes = inputs.assignments(&args.set)?;
    let passphrase = if link.passphrase {
        Some(secret_from_env_or_prompt(
            "SHARELOCK_SHARE_PASSPHRASE",
            "Share passphrase",
            false,
        )?)
    } else {
        None
    };
    let passphrase = passphrase.as_ref().map(|p| p.as_str());
    if args.peek {
        let preview = share_preview(&link, passphrase)
            .await
            .map_err(open_failure)?;
        if ctx.json() {
            print_json(&preview_json(&preview));
        } else {
            for line in preview_lines(&preview) {
                println!("{line}");
            }
            let opened = if preview.status.bound {
                "It was already opened on a device, and only that device can open it."
            } else {
                "Nobody has opened it yet: the first device to open it keeps it."
            };
            println!(
                "{opened} It ends {} ({}).",
                human_time(preview.status.expires_at),
                relative(preview.status.expires_at)
            );
        }
        return Ok(());
    }
    let devices = ctx.devices();
    let quiet = ctx.global.quiet || ctx.json();
    // Said before this device binds the share, as the Click to Open page does (on stdout: stderr carries
    // only the one line of a failure). Not when another device holds the share: the open fails then.
    let announced = std::sync::atomic::AtomicBool::new(false);
    let announce = |preview: &Preview| -> sharelock_client::Result<()> {
        if !quiet && !preview.status.bound {
            for line in preview_lines(preview) {
                println!("{line}");
            }
            announced.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(())
    };
    let mut recipient = Recipient::open_with_preview(&link, passphrase, &devices, &announce)
        .await
        .map_err(open_failure)?;
    let mut changed = None;
    if !args.set.is_empty() {
        if !recipient.editable() {
            return Err(Failure::usage(
                "this share is read-only: --set needs an editable share",
            ));
        }
        let fields: Vec<(String, String)> = changes
            .iter()
            .map(|(name, value)| (name.clone(), value.to_string()))
            .collect();
        changed = Some(recipient.set_fields(&fields).await.map_err(open_failure)?);
    }
    if !args.attach.is_empty() {
        if !recipient.editable() {
            return Err(Failure::usage(
                "this share is read-only: --attach needs an editable share",
            ));
        }
        changed = Some(
            recipient
                .attach_files(&args.attach, &Bar::new(ctx.global.quiet))
                .await
                .map_err(open_failure)?,
        );
    }
    let mut saved = Vec::new();
    if let Some(dir) = &args.save_files {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::other(format!("cannot create {}: {e}", dir.display())))?;
        for file in &recipient.body().files {
            let path = recipient
                .download(file, dir, &Bar::new(ctx.global.quiet))
                .await
                .map_err(open_failure)?;
            saved.push((file.id, path));
        }
    }
    if ctx.json() {
        print_json(&json!({
            "record": record_json(recipient.body(), &saved),
            "editable": recipient.editable(),
            "expires_at": rfc3339(recipient.expires_at()),
            "summary_mismatch": recipient.summary_mismatch(),
            "from": recipient.preface().map(|p| p.from).filter(|f| !f.is_empty()),
            "destroy_at": recipient.destroy_at().map(rfc3339),
        }));
    } else {
        if let Some(preface) = recipient.preface()
            && !preface.from.is_empty()
            && !announced.load(std::sync::atomic::Ordering::Relaxed)
        {
            println!("Shared by \"{}\".", preface.from);
        }
        print_record(recipient.body(), recipient.server_now(), &saved);
        if recipient.summary_mismatch() {
            println!("{}", super::record::SUMMARY_WARNING);
        }
        println!();
        if let Some(version) = changed {
            println!("Your change is saved (version {version}).");
        }
        let mode = if recipient.editable() {
            "editable"
        } else {
            "read-only"
        };
        println!(
            "This share is {mode} and ends {} ({}). Only this device can open it: {}.",
            human_time(recipient.expires_at()),
            relative(recipient.expires_at()),
            recipient.fingerprint()
        );
        if let Some(at) = recipient.destroy_at() {
            println!(
                "The sender's record destroys itself {} ({}): keep what you need before then.",
                human_time(at),
                relative(at)
            );
        }
    }
    if args.done {
        recipient.end().await.map_err(open_failure)?;
        devices.remove(&link.secret.share_id())?;
        if !ctx.json() {
            println!("The share has ended; the link no longer opens anywhere.");
        }
    }
    Ok(())
}
