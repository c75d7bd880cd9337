//! `sharelock request …` (the sender) and `sharelock answer LINK` (the respondent): asking someone for a
//! secret (docs/protocol.md §4.5). A request is a blank record and a device-locked, editable share of it
//! that the server ends after a set number of answers.

use super::account::secret_from_env_or_prompt;
use super::home::Context;
use super::open::open_failure;
use super::output::{
    Bar, Inputs, human_time, parse_assignment, parse_expiry, print_json, record_json, relative,
    rfc3339, short_ids, table,
};
use super::share::{end_words, qr_text, share_passphrase};
use super::{CliResult, Failure};
use clap::{Args, Subcommand};
use serde_json::json;
use sharelock_client::api::shares::{Expiry, ShareState};
use sharelock_client::{
    ClientError, DeviceStore, OwnerSession, Recipient, RequestOptions, ShareEntry,
};
use sharelock_core::record::{FieldKind, RecordType};
use sharelock_core::share::Link;
use std::path::PathBuf;
use uuid::Uuid;

#[derive(Debug, Subcommand)]
pub enum RequestCommand {
    /// Ask someone for a secret: makes a blank record and a one-time, device-locked link through which
    /// they fill it in. Prints the link and an invitation, like `share create`.
    Create(CreateArgs),
    /// List your requests (live ones unless told otherwise), with their answers.
    List(ListArgs),
}

fn record_type(text: &str) -> Result<RecordType, String> {
    RecordType::parse(text).ok_or_else(|| {
        let all: Vec<&str> = RecordType::ALL.iter().map(|t| t.as_str()).collect();
        format!("unknown record type; one of: {}", all.join(", "))
    })
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The type of the record to fill in (its standard fields are asked for unless --fields names others).
    #[arg(long = "type", value_name = "TYPE", value_parser = record_type)]
    record_type: RecordType,
    /// The fields to ask for, comma-separated (standard names take their kind; others are text).
    #[arg(long, value_name = "NAME,…", value_delimiter = ',')]
    fields: Vec<String>,
    /// The record's title in your vault [default: "<type> (requested)"].
    #[arg(long)]
    title: Option<String>,
    /// What you ask for, shown to the person who opens the link (sealed: the server cannot read it).
    /// `-` reads standard input, `@PATH` a file.
    #[arg(long, value_name = "TEXT", default_value = "")]
    instructions: String,
    /// How many times they may send the record before the link ends.
    #[arg(
        long = "edits",
        alias = "answers",
        value_name = "N",
        default_value_t = 1
    )]
    edits: u32,
    /// The deadline: a duration (90s, 15m, 1h, 7d) or an RFC 3339 time.
    #[arg(long, alias = "expires", value_name = "DURATION|RFC3339", value_parser = parse_expiry,
          default_value = "7d")]
    deadline: Expiry,
    /// A label only you can read (who it is for).
    #[arg(long)]
    label: Option<String>,
    /// Also require a passphrase (from SHARELOCK_SHARE_PASSPHRASE or a prompt; at least 10 characters);
    /// send it by another channel.
    #[arg(long)]
    passphrase: bool,
    /// Also require a passphrase, made here of six random words and printed once.
    #[arg(long, conflicts_with = "passphrase")]
    generate_passphrase: bool,
    /// Also draw the link as a QR code.
    #[arg(long)]
    qr: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Live and ended requests.
    #[arg(long)]
    all: bool,
}

pub async fn run(ctx: &Context, command: RequestCommand) -> CliResult {
    let mut session = ctx.session()?;
    let result = match command {
        RequestCommand::Create(args) => create(ctx, &mut session, args).await,
        RequestCommand::List(args) => list(ctx, &mut session, args).await,
    };
    ctx.save_versions(&session)?;
    result
}

async fn create(ctx: &Context, session: &mut OwnerSession, args: CreateArgs) -> CliResult {
    let inputs = Inputs::new();
    let instructions = inputs.value("--instructions", &args.instructions)?;
    let (passphrase, generated) = share_passphrase(args.generate_passphrase, args.passphrase)?;
    let needs_passphrase = passphrase.is_some();
    let fields: Vec<String> = args
        .fields
        .iter()
        .map(|f| f.trim().to_owned())
        .filter(|f| !f.is_empty())
        .collect();
    let options = RequestOptions {
        record_type: args.record_type,
        title: args
            .title
            .unwrap_or_else(|| format!("{} (requested)", args.record_type.as_str())),
        fields,
        instructions: instructions.to_string(),
        max_answers: args.edits,
        expires: args.deadline,
        label: args.label,
        passphrase,
    };
    let created = session.create_request(options).await.map_err(|e| match e {
        ClientError::Invalid(m) => Failure::usage(m),
        other => other.into(),
    })?;
    let share = &created.share;
    let link = share.link.to_string();
    if ctx.json() {
        let mut out = json!({"link": link, "share": share.handle, "record_id": created.record_id,
            "expires_at": rfc3339(share.expires_at), "max_answers": args.edits});
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
    println!("Invitation (send it to the person you ask):");
    println!();
    println!("  I am asking you for something through Sharelock. Open this link and fill it in:");
    println!("  {link}");
    println!(
        "  What you write is encrypted on your device for me only. The link works only on the first device \
         that opens it, and expires {} ({}).",
        human_time(share.expires_at),
        relative(share.expires_at)
    );
    if needs_passphrase {
        println!("  You will also need the passphrase, which I am sending you separately.");
    }
    println!("  On a computer: run `sharelock answer -` and paste the link.");
    if args.qr {
        println!();
        println!("{}", qr_text(&link)?);
    }
    println!();
    println!(
        "Request: {} for record {} ({} answer{} allowed; see `sharelock request list`)",
        share.handle,
        created.record_id,
        args.edits,
        if args.edits == 1 { "" } else { "s" }
    );
    Ok(())
}

/// A request's state, in words.
fn request_state(e: &ShareEntry) -> String {
    match (e.state, e.end_reason.as_deref()) {
        (ShareState::Active, _) => "waiting to be opened".into(),
        (ShareState::Opened, _) if e.edit_count > 0 => "answered, may change".into(),
        (ShareState::Opened, _) => "opened, not answered".into(),
        (_, Some("answered")) => "answered".into(),
        (_, Some(reason)) => end_words(reason).to_owned(),
        (_, None) => "ended".into(),
    }
}

fn first_line(text: &str, max: usize) -> String {
    let line: String = text
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    if line.chars().count() > max {
        format!("{}…", line.chars().take(max - 1).collect::<String>())
    } else {
        line
    }
}

async fn list(ctx: &Context, session: &mut OwnerSession, args: ListArgs) -> CliResult {
    let mut requests: Vec<ShareEntry> = session
        .list_shares(None)
        .await?
        .into_iter()
        .filter(|s| s.request.is_some() && (args.all || s.is_live()))
        .collect();
    requests.sort_by_key(|s| std::cmp::Reverse(s.created_at));
    if ctx.json() {
        let out: Vec<_> = requests
            .iter()
            .map(|e| {
                let r = e.request.as_ref();
                json!({
                    "share": e.handle,
                    "record_id": e.record_id,
                    "state": request_state(e),
                    "end_reason": e.end_reason,
                    "answers": e.edit_count,
                    "max_answers": r.map(|r| r.max_answers),
                    "instructions": r.and_then(|r| r.instructions.as_ref().ok()),
                    "problem": r.and_then(|r| r.instructions.as_ref().err()).or(e.problem.as_ref()),
                    "label": e.label.as_ref().and_then(|l| l.as_ref().ok()),
                    "created_at": rfc3339(e.created_at),
                    "expires_at": rfc3339(e.expires_at),
                    "device_fingerprint": e.device_fingerprint,
                    "device_verified": e.device_verified,
                    "link": e.link.as_ref().map(|l| l.to_string()),
                })
            })
            .collect();
        print_json(&json!({"requests": out}));
        return Ok(());
    }
    if requests.is_empty() {
        println!("No {}requests.", if args.all { "" } else { "live " });
        return Ok(());
    }
    let handles: Vec<Uuid> = requests.iter().map(|s| s.handle).collect();
    let short = short_ids(&handles);
    let titles: std::collections::HashMap<Uuid, String> = session
        .list_records()
        .await?
        .into_iter()
        .filter_map(|r| r.summary.ok().map(|s| (r.id, first_line(&s.title, 40))))
        .collect();
    let mut t = table(&[
        "REQUEST",
        "RECORD",
        "STATE",
        "ANSWERS",
        "DEADLINE",
        "DEVICE",
        "INSTRUCTIONS",
    ]);
    for (e, h) in requests.iter().zip(short) {
        let r = e.request.as_ref();
        let instructions = match r.map(|r| &r.instructions) {
            Some(Ok(text)) => first_line(text, 40),
            Some(Err(_)) => "(do not open: changed by the server?)".into(),
            None => String::new(),
        };
        let device = match (&e.device_fingerprint, e.device_verified) {
            (Some(f), Some(true)) => f.clone(),
            (Some(f), _) => format!("{f} (NOT VERIFIED)"),
            _ => String::new(),
        };
        t.add_row(vec![
            h,
            titles
                .get(&e.record_id)
                .cloned()
                .unwrap_or_else(|| e.record_id.to_string()),
            request_state(e),
            format!("{}/{}", e.edit_count, r.map_or(0, |r| r.max_answers)),
            human_time(e.expires_at),
            device,
            instructions,
        ]);
    }
    println!("{t}");
    Ok(())
}

#[derive(Debug, Args)]
pub struct AnswerArgs {
    /// The request's link, or `-` to read it from the first line of standard input. (Quote a link given
    /// here: it contains `#`.)
    link: String,
    /// Fill in a field. VALUE `-` reads standard input (unless the link came from it), `@PATH` a file,
    /// `@@…` is a literal `@…`.
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_assignment, num_args = 1..)]
    set: Vec<(String, String)>,
    /// The record's notes (same VALUE forms as --set).
    #[arg(long, value_name = "TEXT")]
    notes: Option<String>,
    /// Attach a file.
    #[arg(long = "attach", value_name = "PATH")]
    attach: Vec<PathBuf>,
}

fn kind_name(kind: FieldKind) -> &'static str {
    kind.as_str()
}

/// The respondent's side: opens the link (binding this device on first use), shows what is asked, and
/// with `--set`, `--notes` or `--attach` sends everything as one answer.
pub async fn answer(ctx: &Context, args: AnswerArgs) -> CliResult {
    let inputs = Inputs::new();
    let link_text = if args.link == "-" {
        inputs.stdin_line("the link")?
    } else {
        zeroize::Zeroizing::new(args.link.clone())
    };
    let link = Link::parse(link_text.trim())
        .map_err(|e| Failure::usage(format!("not a share link: {e}")))?;
    let values = inputs.assignments(&args.set)?;
    let notes = match &args.notes {
        Some(spec) => Some(inputs.value("--notes", spec)?),
        None => None,
    };
    let passphrase = if link.passphrase {
        Some(secret_from_env_or_prompt(
            "SHARELOCK_SHARE_PASSPHRASE",
            "Share passphrase",
            false,
        )?)
    } else {
        None
    };
    let devices = ctx.devices();
    let mut recipient = Recipient::open(&link, passphrase.as_ref().map(|p| p.as_str()), &devices)
        .await
        .map_err(open_failure)?;
    let Some(asked) = recipient.request() else {
        return Err(Failure::usage(
            "this link is a share, not a request: open it with `sharelock open`",
        ));
    };
    let answering = !values.is_empty() || notes.is_some() || !args.attach.is_empty();
    if !answering {
        return show_request(ctx, &recipient, &asked);
    }
    let fields: Vec<(String, String)> = values
        .iter()
        .map(|(name, value)| (name.clone(), value.to_string()))
        .collect();
    let version = recipient
        .answer(
            &fields,
            notes.as_ref().map(|n| n.as_str()),
            &args.attach,
            &Bar::new(ctx.global.quiet),
        )
        .await
        .map_err(open_failure)?;
    let answers = asked.answers + 1;
    let left = u64::from(asked.max_answers).saturating_sub(answers);
    if left == 0 {
        // The server ended the share with this answer: the device key opens nothing any more.
        devices.remove(&link.secret.share_id())?;
    }
    if ctx.json() {
        print_json(&json!({"version": version, "answers": answers,
            "max_answers": asked.max_answers, "ended": left == 0}));
        return Ok(());
    }
    if left == 0 {
        println!(
            "Your answer is sent, encrypted for the sender only, and signed by this device ({}). The request \
             has ended: the link no longer opens anywhere.",
            recipient.fingerprint()
        );
    } else {
        println!(
            "Your answer is sent (version {version}), signed by this device ({}). You may change it {left} \
             more time{} until {}.",
            recipient.fingerprint(),
            if left == 1 { "" } else { "s" },
            human_time(recipient.expires_at())
        );
    }
    Ok(())
}

fn show_request(
    ctx: &Context,
    recipient: &Recipient<'_>,
    asked: &sharelock_client::RequestAsked,
) -> CliResult {
    let body = recipient.body();
    if ctx.json() {
        // The record as `record show` prints it, with each field's kind: what to type where.
        let mut record = record_json(body, &[]);
        if let Some(fields) = record["fields"].as_array_mut() {
            for (out, field) in fields.iter_mut().zip(&body.fields) {
                out["kind"] = json!(kind_name(field.kind));
            }
        }
        print_json(&json!({
            "instructions": asked.instructions,
            "max_answers": asked.max_answers,
            "answers": asked.answers,
            "expires_at": rfc3339(recipient.expires_at()),
            "record": record,
        }));
        return Ok(());
    }
    println!("You are asked for: {}", body.title);
    if !asked.instructions.is_empty() {
        println!();
        for line in asked.instructions.lines() {
            println!("  {line}");
        }
    }
    println!();
    println!("Fields to fill in:");
    let mut t = table(&["FIELD", "KIND", "FILLED"]);
    for f in &body.fields {
        t.add_row(vec![
            f.name.clone(),
            kind_name(f.kind).to_owned(),
            if f.value.is_empty() { "" } else { "yes" }.to_owned(),
        ]);
    }
    println!("{t}");
    println!();
    println!(
        "Answer with: sharelock answer - --set NAME=VALUE … [--notes TEXT] [--attach FILE] (paste the link; \
         a VALUE of @FILE reads a file). {} of {} answer{} used; the request ends {} ({}). Only this device \
         can answer: {}.",
        asked.answers,
        asked.max_answers,
        if asked.max_answers == 1 { "" } else { "s" },
        human_time(recipient.expires_at()),
        relative(recipient.expires_at()),
        recipient.fingerprint()
    );
    Ok(())
}
