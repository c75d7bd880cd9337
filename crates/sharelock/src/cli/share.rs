//! `sharelock share …`: one-time shares of the owner's records, and the owner's live events.

use super::account::secret_from_env_or_prompt;
use super::home::Context;
use super::output::{
    human_time, parse_duration, parse_expiry, print_json, relative, resolve_id, rfc3339, short_ids,
    table,
};
use super::record::resolve_record;
use super::{CliResult, Failure};
use clap::{Args, Subcommand};
use futures::StreamExt;
use serde_json::{Value, json};
use sharelock_client::api::events::{Event, EventKind};
use sharelock_client::api::shares::{Expiry, ShareState};
use sharelock_client::{ClientError, OwnerSession, ShareEntry, ShareOptions};
use std::time::Duration;
use uuid::Uuid;
use zeroize::Zeroizing;

#[derive(Debug, Subcommand)]
pub enum ShareCommand {
    /// Share a record as a one-time, device-locked link.
    Create(CreateArgs),
    /// List shares (live ones unless told otherwise).
    List(ListArgs),
    /// End a share at once.
    Delete {
        /// The share's handle (or an unambiguous prefix), as `share list` shows it.
        share: String,
    },
    /// Follow your shares' live events (opened, edited, ended) until interrupted.
    Watch,
    /// The shared records report: every share you made, live or ended, with its record, label, device,
    /// times, opens, edits, wrong passphrases and refused devices; a table, or CSV with --csv/--output.
    Report(super::report::ReportArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The record to share (id or unambiguous prefix).
    record_id: String,
    /// When the link expires: a duration (90s, 15m, 1h, 7d) or an RFC 3339 time.
    #[arg(long, value_name = "DURATION|RFC3339", value_parser = parse_expiry)]
    expires: Expiry,
    /// Let the recipient edit the record (their changes are signed by their device).
    #[arg(long)]
    editable: bool,
    /// End the share this long after it is first opened.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    burn_after_open: Option<Duration>,
    /// End the share as soon as the recipient's device has fetched the record: it is shown once.
    #[arg(long, conflicts_with = "editable")]
    view_once: bool,
    /// A label only you can read (who it is for).
    #[arg(long)]
    label: Option<String>,
    /// Also require a passphrase (from SHARELOCK_SHARE_PASSPHRASE or a prompt; at least 10 characters);
    /// send it by another channel.
    #[arg(long)]
    passphrase: bool,
    /// Also require a passphrase, made here of six random words (about 77 bits) and printed once; send it
    /// by another channel.
    #[arg(long, conflicts_with = "passphrase")]
    generate_passphrase: bool,
    /// Make the record self-destruct: once the share is opened, the server deletes the record itself
    /// (every version, key and file, for good) this long afterwards, or when the share ends if sooner.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    destroy_after_open: Option<Duration>,
    /// Your name as the recipient sees it before opening ("Ada shared a login with you"): at most 128
    /// bytes, one line. Set SHARELOCK_FROM to use the same name for every share; `--from ""` gives none.
    #[arg(long, value_name = "NAME", env = "SHARELOCK_FROM")]
    from: Option<String>,
    /// Also draw the link as a QR code.
    #[arg(long)]
    qr: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only the shares of this record.
    record_id: Option<String>,
    /// Only shares that have ended.
    #[arg(long, conflicts_with = "all")]
    expired: bool,
    /// Live and ended shares.
    #[arg(long)]
    all: bool,
}

pub async fn run(ctx: &Context, command: ShareCommand) -> CliResult {
    let mut session = ctx.session()?;
    let result = match command {
        ShareCommand::Create(args) => create(ctx, &mut session, args).await,
        ShareCommand::List(args) => list(ctx, &mut session, args).await,
        ShareCommand::Delete { share } => delete(ctx, &mut session, &share).await,
        ShareCommand::Watch => watch(ctx, &mut session).await,
        ShareCommand::Report(args) => super::report::run(ctx, &mut session, args).await,
    };
    ctx.save_versions(&session)?;
    result
}

fn state_name(state: ShareState) -> &'static str {
    match state {
        ShareState::Active => "active",
        ShareState::Opened => "opened",
        ShareState::Expired => "expired",
        ShareState::Deleted => "deleted",
    }
}

/// The state as the table says it, in words.
fn state_words(state: ShareState) -> &'static str {
    match state {
        ShareState::Active => "waiting to be opened",
        ShareState::Opened => "opened",
        ShareState::Expired => "expired",
        ShareState::Deleted => "ended",
    }
}

/// Why a share ended, in words.
pub(super) fn end_words(reason: &str) -> &str {
    match reason {
        "deleted" => "ended by you",
        "recipient_done" => "ended by the recipient",
        "record_deleted" => "ended with its record",
        "viewed" => "viewed once, then ended",
        "answered" => "answered, then ended",
        "expired" => "expired",
        other => other,
    }
}

/// What the owner should know about attempts on a share: wrong passphrases, refused devices.
fn alerts(s: &ShareEntry) -> String {
    let mut out = Vec::new();
    if s.failed_attempts > 0 {
        out.push(format!(
            "{} wrong passphrase{}{}",
            s.failed_attempts,
            if s.failed_attempts == 1 { "" } else { "s" },
            s.last_failed_at
                .map(|t| format!(", last {}", human_time(t)))
                .unwrap_or_default()
        ));
    }
    if let Some(at) = s.refused_at {
        out.push(format!("another device refused {}", human_time(at)));
    }
    out.join("; ")
}

pub(super) fn qr_text(link: &str) -> CliResult<String> {
    use qrcode::render::unicode::Dense1x2;
    let code = qrcode::QrCode::new(link.as_bytes())
        .map_err(|e| Failure::other(format!("cannot draw a QR code: {e}")))?;
    Ok(code
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .quiet_zone(true)
        .build())
}

/// A share passphrase, if the share has one.
pub(super) type Passphrase = Option<Zeroizing<String>>;

/// The share passphrase `--generate-passphrase` or `--passphrase` asks for (generated six words, or typed
/// and checked), and the same again when it was generated, for showing to the sender once.
pub(super) fn share_passphrase(generate: bool, ask: bool) -> CliResult<(Passphrase, Passphrase)> {
    if generate {
        let p =
            sharelock_core::passphrase::generate().map_err(|e| Failure::other(e.to_string()))?;
        return Ok((Some(p.clone()), Some(p)));
    }
    if !ask {
        return Ok((None, None));
    }
    let p = secret_from_env_or_prompt("SHARELOCK_SHARE_PASSPHRASE", "Share passphrase", true)?;
    sharelock_core::passphrase::check_new(&p).map_err(|e| {
        Failure::usage(format!(
            "{e}: choose a longer one, or --generate-passphrase for six random words"
        ))
    })?;
    Ok((Some(p), None))
}

async fn create(ctx: &Context, session: &mut OwnerSession, args: CreateArgs) -> CliResult {
    if let Some(from) = &args.from {
        sharelock_core::preface::check_from(from)
            .map_err(|e| Failure::usage(format!("--from: {e}")))?;
    }
    let record = resolve_record(session, &args.record_id).await?;
    let (passphrase, generated) = share_passphrase(args.generate_passphrase, args.passphrase)?;
    let options = ShareOptions {
        expires: args.expires,
        editable: args.editable,
        burn_after_secs: args.burn_after_open.map(|d| d.as_secs()),
        label: args.label,
        passphrase,
        view_once: args.view_once,
        from: args.from,
        destroy_after_secs: args.destroy_after_open.map(|d| d.as_secs()),
    };
    let needs_passphrase = options.passphrase.is_some();
    let created = session
        .create_share(record, options)
        .await
        .map_err(|e| match e {
            ClientError::Invalid(m) => Failure::usage(m),
            other => other.into(),
        })?;
    let link = created.link.to_string();
    if let Some(after) = args.destroy_after_open {
        // Said on standard error, even with --json: this is the one share option that loses data.
        eprintln!(
            "Warning: this record destroys itself {} after the share is opened (or when the share ends, if sooner): \
             the server deletes it from your vault with its history and files, for good.",
            humantime::format_duration(after)
        );
    }
    if ctx.json() {
        let mut out = json!({"link": link, "share": created.handle, "expires_at": rfc3339(created.expires_at)});
        if let Some(p) = &generated {
            out["passphrase"] = json!(p.as_str());
        }
        print_json(&out);
        return Ok(());
    }
    println!("{link}");
    if let Some(p) = &generated {
        println!();
        println!(
            "Passphrase (send it by another channel than the link, e.g. say it on the phone):"
        );
        println!("  {}", p.as_str());
    }
    println!();
    println!("Invitation (send it to the recipient):");
    println!();
    println!("  I am sharing something with you through Sharelock. Open this link:");
    println!("  {link}");
    println!(
        "  It works only on the first device that opens it, and expires {} ({}).",
        human_time(created.expires_at),
        relative(created.expires_at)
    );
    if args.view_once {
        println!(
            "  It can be viewed once: it ends as soon as it is opened, so keep the page open while you need it."
        );
    } else if args.burn_after_open.is_some() {
        println!("  Once opened, it ends by itself shortly after.");
    }
    if let Some(after) = args.destroy_after_open {
        println!(
            "  Once opened, the record is deleted for good {} later: keep what you need.",
            humantime::format_duration(after)
        );
    }
    if needs_passphrase {
        println!("  You will also need the passphrase, which I am sending you separately.");
    }
    println!("  On a computer: run `sharelock open -` and paste the link.");
    if args.qr {
        println!();
        println!("{}", qr_text(&link)?);
    }
    println!();
    println!(
        "Share: {} (see `sharelock share list`, end it with `sharelock share delete`)",
        created.handle
    );
    Ok(())
}

fn entry_json(e: &ShareEntry) -> Value {
    json!({
        "share": e.handle,
        "record_id": e.record_id,
        "state": state_name(e.state),
        "label": e.label.as_ref().and_then(|l| l.as_ref().ok()),
        "editable": e.editable,
        "legacy": e.legacy,
        "problem": e.problem,
        "passphrase": e.passphrase,
        "created_at": rfc3339(e.created_at),
        "expires_at": rfc3339(e.expires_at),
        "burn_after_secs": e.burn_after_secs,
        "opened_at": e.opened_at.map(rfc3339),
        "device_fingerprint": e.device_fingerprint,
        "device_verified": e.device_verified,
        "ended_at": e.ended_at.map(rfc3339),
        "end_reason": e.end_reason,
        "last_access_at": e.last_access_at.map(rfc3339),
        "edit_count": e.edit_count,
        "failed_attempts": e.failed_attempts,
        "last_failed_at": e.last_failed_at.map(rfc3339),
        "refused_at": e.refused_at.map(rfc3339),
        "view_once": e.view_once,
        "open_count": e.open_count,
        "refused_count": e.refused_count,
        "failed_total": e.failed_total,
        "destroy_after_secs": e.destroy_after_secs,
        "destroy_at": e.destroy_at.map(rfc3339),
    })
}

async fn list(ctx: &Context, session: &mut OwnerSession, args: ListArgs) -> CliResult {
    let record = match &args.record_id {
        Some(input) => Some(resolve_record(session, input).await?),
        None => None,
    };
    let mut shares = session.list_shares(record).await?;
    shares.retain(|s| args.all || (args.expired != s.is_live()));
    if ctx.json() {
        print_json(&json!({"shares": shares.iter().map(entry_json).collect::<Vec<_>>()}));
        return Ok(());
    }
    if shares.is_empty() {
        println!(
            "No {}shares.",
            if args.expired {
                "ended "
            } else if args.all {
                ""
            } else {
                "live "
            }
        );
        return Ok(());
    }
    let handles: Vec<Uuid> = shares.iter().map(|s| s.handle).collect();
    let records: Vec<Uuid> = shares.iter().map(|s| s.record_id).collect();
    let short_handles = short_ids(&handles);
    let short_records = short_ids(&records);
    // Records are named by their titles (decrypted here); a record that cannot be read keeps its id.
    let titles: std::collections::HashMap<Uuid, String> = session
        .list_records()
        .await?
        .into_iter()
        .filter_map(|r| {
            r.summary
                .ok()
                .map(|s| (r.id, s.title.chars().filter(|c| !c.is_control()).collect()))
        })
        .collect();
    let mut t = table(&[
        "SHARE",
        "RECORD",
        "STATE",
        "LABEL",
        "EXPIRES",
        "OPENED BY",
        "EDITS",
        "ATTEMPTS",
    ]);
    for ((s, h), r) in shares.iter().zip(short_handles).zip(short_records) {
        let label = match &s.label {
            Some(Ok(l)) => l.clone(),
            Some(Err(_)) => "(unreadable)".into(),
            None => String::new(),
        };
        let destroys =
            s.destroy_after_secs
                .map(|_| match (s.destroy_at, s.end_reason.as_deref()) {
                    (Some(at), Some("record_deleted")) => {
                        format!("the record destroyed itself {}", human_time(at))
                    }
                    (Some(at), _) => format!("destroys the record {}", human_time(at)),
                    (None, _) => "destroys the record once opened".to_owned(),
                });
        let mut flags: Vec<&str> = Vec::new();
        if s.editable {
            flags.push("editable");
        }
        if s.request.is_some() {
            flags.push("request");
        }
        if s.legacy {
            flags.push("created before sealed share facts");
        }
        if s.problem.is_some() {
            flags.push("PROBLEM: see --json");
        }
        if s.passphrase {
            flags.push("passphrase");
        }
        if s.view_once {
            flags.push("view once");
        }
        if let Some(destroys) = &destroys {
            flags.push(destroys);
        }
        let state = if flags.is_empty() {
            state_words(s.state).to_owned()
        } else {
            format!("{} ({})", state_words(s.state), flags.join(", "))
        };
        let record = match titles.get(&s.record_id) {
            Some(title) => format!("{title} ({r})"),
            None => r,
        };
        let expires = match (s.ended_at, s.is_live()) {
            (Some(ended), false) => format!(
                "{} {}",
                end_words(s.end_reason.as_deref().unwrap_or("ended")),
                human_time(ended)
            ),
            _ => format!("{} ({})", human_time(s.expires_at), relative(s.expires_at)),
        };
        let opened = match (&s.device_fingerprint, s.device_verified) {
            (Some(fp), Some(true)) => format!("{fp} ✓"),
            (Some(fp), _) => format!("{fp} (UNVERIFIED)"),
            (None, _) => "—".into(),
        };
        t.add_row(vec![
            h,
            record,
            state,
            label,
            expires,
            opened,
            s.edit_count.to_string(),
            alerts(s),
        ]);
    }
    println!("{t}");
    Ok(())
}

async fn resolve_share(session: &OwnerSession, input: &str) -> CliResult<Uuid> {
    if let Ok(id) = Uuid::parse_str(input) {
        return Ok(id);
    }
    let handles = session.share_handles().await?;
    resolve_id("share", input, &handles)
}

async fn delete(ctx: &Context, session: &mut OwnerSession, input: &str) -> CliResult {
    let handle = resolve_share(session, input).await?;
    let entry = session.delete_share(handle).await?;
    if ctx.json() {
        print_json(&json!({"share": handle, "state": state_name(entry.state)}));
    } else {
        println!("Share {handle} has ended; its link no longer opens.");
    }
    Ok(())
}

fn event_text(event: &Event, share: Option<&ShareEntry>) -> String {
    let short = |id: Option<Uuid>| {
        id.map(|i| i.to_string()[..8].to_owned())
            .unwrap_or_else(|| "?".into())
    };
    let label = share
        .and_then(|s| s.label.as_ref())
        .and_then(|l| l.as_ref().ok())
        .map(|l| {
            format!(
                " “{}”",
                l.chars().filter(|c| !c.is_control()).collect::<String>()
            )
        })
        .unwrap_or_default();
    let what = match event.kind {
        EventKind::ShareOpened => {
            let device = share
                .and_then(|s| {
                    s.device_fingerprint
                        .clone()
                        .map(|fp| (fp, s.device_verified == Some(true)))
                })
                .map(|(fp, ok)| format!(" by device {fp}{}", if ok { "" } else { " (UNVERIFIED)" }))
                .unwrap_or_default();
            format!("share {}{label} opened{device}", short(event.share))
        }
        EventKind::RecordEdited => format!(
            "record {} edited through share {}{label}{}",
            short(event.record),
            short(event.share),
            event
                .number
                .map(|n| format!(" (now version {n})"))
                .unwrap_or_default()
        ),
        EventKind::ShareEnded => format!("share {}{label} ended", short(event.share)),
        EventKind::AccessFailures => format!(
            "share {}{label}: {} wrong passphrase attempts",
            short(event.share),
            event.number.unwrap_or_default()
        ),
        EventKind::DeviceRefused => format!(
            "share {}{label}: another device with the link was refused (the share stays with its device)",
            short(event.share)
        ),
        EventKind::FileAdded => match event.share {
            Some(_) => format!(
                "record {}: a file was added through share {}{label}",
                short(event.record),
                short(event.share)
            ),
            None => format!("record {}: a file was added", short(event.record)),
        },
        EventKind::RecordDestroyed => format!(
            "record {} destroyed itself after share {}{label} was opened: it is deleted, with its keys and files",
            short(event.record),
            short(event.share)
        ),
    };
    format!("{}  {what}", human_time(event.at))
}

async fn watch(ctx: &Context, session: &mut OwnerSession) -> CliResult {
    if !ctx.json() {
        eprintln!("Watching your shares (Ctrl-C to stop)…");
    }
    let mut events = Box::pin(session.events(None));
    loop {
        let next = tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            next = events.next() => next,
        };
        let event = match next {
            None => return Ok(()),
            Some(Ok(event)) => event,
            Some(Err(e @ ClientError::Http(_))) => {
                eprintln!("sharelock: {e}; reconnecting…");
                continue;
            }
            Some(Err(e)) => return Err(e.into()),
        };
        if ctx.json() {
            print_json(&serde_json::to_value(&event).map_err(|e| Failure::other(e.to_string()))?);
        } else {
            let share = match event.share {
                Some(handle) => session
                    .list_shares(event.record)
                    .await
                    .ok()
                    .and_then(|list| list.into_iter().find(|s| s.handle == handle)),
                None => None,
            };
            println!("{}", event_text(&event, share.as_ref()));
        }
        // A share that ended leaves its record's key to rotate, so its recipient cannot read what follows.
        if event.kind == EventKind::ShareEnded
            && let Some(record) = event.record
        {
            match session.rotate_pending().await {
                Ok(rotated) if rotated.contains(&record) && !ctx.json() => {
                    println!(
                        "{}  record {} key rotated",
                        human_time(time::OffsetDateTime::now_utc()),
                        &record.to_string()[..8]
                    );
                }
                Ok(_) => {}
                Err(e) => eprintln!("sharelock: could not rotate the record key: {e}"),
            }
            ctx.save_versions(session)?;
        }
    }
}
