//! `sharelock record …`: the owner's vault.

use super::home::Context;
use super::output::{
    Bar, Inputs, human_time, parse_assignment, print_json, print_record, record_json, resolve_id,
    rfc3339, short_ids, table,
};
use super::{CliResult, Failure};
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use sharelock_client::api::records::Author as ApiAuthor;
use sharelock_client::{ClientError, OwnerSession, Verification};
use sharelock_core::record::{FieldKind, RecordBody, RecordType};
use std::path::PathBuf;
use uuid::Uuid;
use zeroize::Zeroizing;

fn record_type(text: &str) -> Result<RecordType, String> {
    RecordType::parse(text).ok_or_else(|| {
        let all: Vec<&str> = RecordType::ALL.iter().map(|t| t.as_str()).collect();
        format!("unknown record type; one of: {}", all.join(", "))
    })
}

#[derive(Debug, Subcommand)]
pub enum RecordCommand {
    /// Add a record; prints its id.
    Add(AddArgs),
    /// List your records.
    List,
    /// Show a record's current version.
    Show(ShowArgs),
    /// Change a record (a new version).
    Edit(EditArgs),
    /// Delete a record, its history and files; its shares end.
    Delete {
        /// The record id (or an unambiguous prefix).
        id: String,
    },
    /// Every version of a record: who wrote it, whether that is verified, what changed.
    History {
        /// The record id (or an unambiguous prefix).
        id: String,
    },
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// login, card, bank, wifi, server, database, ssh, note, file or general.
    #[arg(long = "type", value_name = "TYPE", value_parser = record_type)]
    record_type: RecordType,
    /// The title.
    #[arg(long)]
    title: String,
    /// A field; standard names of the type get their kind (password: secret, totp: one-time code, …),
    /// other names are text. VALUE `-` reads standard input, `@PATH` a file (keep secrets off the command
    /// line), `@@…` is a literal `@…`.
    #[arg(long = "field", value_name = "NAME=VALUE", value_parser = parse_assignment)]
    fields: Vec<(String, String)>,
    /// A field of kind secret (hidden on screen, never in the record list), e.g. an API key; VALUE as for
    /// --field.
    #[arg(long = "secret-field", value_name = "NAME=VALUE", value_parser = parse_assignment)]
    secret_fields: Vec<(String, String)>,
    /// Free text (`-` or `@PATH` as for --field).
    #[arg(long)]
    notes: Option<String>,
    /// Attach a file (encrypted before upload).
    #[arg(long = "file", value_name = "PATH")]
    files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The record id (or an unambiguous prefix).
    id: String,
    /// Download and decrypt the record's files into this directory.
    #[arg(long, value_name = "DIR")]
    save_files: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct EditArgs {
    /// The record id (or an unambiguous prefix).
    id: String,
    /// A new title.
    #[arg(long)]
    title: Option<String>,
    /// Set a field (an empty value blanks it). VALUE `-` reads standard input, `@PATH` a file, `@@…` is a
    /// literal `@…`.
    #[arg(long = "field", value_name = "NAME=VALUE", value_parser = parse_assignment)]
    fields: Vec<(String, String)>,
    /// Set a field and make it a secret (hidden on screen, never in the record list); VALUE as for --field.
    #[arg(long = "secret-field", value_name = "NAME=VALUE", value_parser = parse_assignment)]
    secret_fields: Vec<(String, String)>,
    /// Remove a field.
    #[arg(long = "remove-field", value_name = "NAME")]
    remove_fields: Vec<String>,
    /// New notes (`-` or `@PATH` as for --field).
    #[arg(long)]
    notes: Option<String>,
    /// Attach a file.
    #[arg(long = "file", value_name = "PATH")]
    files: Vec<PathBuf>,
    /// Change nothing unless the record is still at this version (exit 6 otherwise).
    #[arg(long, value_name = "VERSION")]
    if_version: Option<u64>,
}

pub async fn run(ctx: &Context, command: RecordCommand) -> CliResult {
    let mut session = ctx.session()?;
    let result = dispatch(ctx, &mut session, command).await;
    ctx.save_versions(&session)?;
    result
}

async fn dispatch(ctx: &Context, session: &mut OwnerSession, command: RecordCommand) -> CliResult {
    match command {
        RecordCommand::Add(args) => add(ctx, session, args).await,
        RecordCommand::List => list(ctx, session).await,
        RecordCommand::Show(args) => show(ctx, session, args).await,
        RecordCommand::Edit(args) => edit(ctx, session, args).await,
        RecordCommand::Delete { id } => delete(ctx, session, &id).await,
        RecordCommand::History { id } => history(ctx, session, &id).await,
    }
}

/// Resolves a record id or prefix (a full id needs no request).
pub async fn resolve_record(session: &OwnerSession, input: &str) -> CliResult<Uuid> {
    if let Ok(id) = Uuid::parse_str(input) {
        return Ok(id);
    }
    let ids = session.record_ids().await?;
    resolve_id("record", input, &ids)
}

/// Field values, resolved from the command line, standard input or files, with whether each is a secret.
type FieldValues = Vec<(String, Zeroizing<String>, bool)>;

fn field_values(
    inputs: &Inputs,
    fields: &[(String, String)],
    secrets: &[(String, String)],
) -> CliResult<FieldValues> {
    let mut out = Vec::new();
    for (pairs, secret) in [(fields, false), (secrets, true)] {
        for (name, value) in inputs.assignments(pairs)? {
            out.push((name, value, secret));
        }
    }
    Ok(out)
}

fn set_fields(body: &mut RecordBody, fields: &FieldValues) -> Result<(), ClientError> {
    for (name, value, secret) in fields {
        let result = if *secret {
            body.set_field_with_kind(name, FieldKind::Secret, value.as_str())
        } else {
            body.set_field(name, value.as_str())
        };
        result.map_err(|e| ClientError::Invalid(e.to_string()))?;
    }
    Ok(())
}

async fn add(ctx: &Context, session: &mut OwnerSession, args: AddArgs) -> CliResult {
    let inputs = Inputs::new();
    let fields = field_values(&inputs, &args.fields, &args.secret_fields)?;
    let notes = match &args.notes {
        Some(spec) => Some(inputs.value("notes", spec)?),
        None => None,
    };
    let mut body = RecordBody::new(args.record_type, args.title);
    set_fields(&mut body, &fields).map_err(|e| Failure::usage(e.to_string()))?;
    body.notes = notes.map(|n| n.to_string()).unwrap_or_default();
    body.validate()
        .map_err(|e| Failure::usage(format!("invalid record: {e}")))?;
    let id = session.create_record(&body).await?;
    if !args.files.is_empty() {
        session
            .attach_files(id, &args.files, &Bar::new(ctx.global.quiet))
            .await?;
    }
    if ctx.json() {
        print_json(&json!({"id": id}));
    } else {
        println!("{id}");
    }
    Ok(())
}

/// What a reader is told when a version's sealed list line is not its body's (docs/protocol.md §3.2).
pub const SUMMARY_WARNING: &str = "WARNING: this version's entry in the record list (its title or detail line) does not match its content: whoever wrote it made the list say something else. What is shown above is the content.";

fn author_json(v: &Verification) -> Value {
    match v {
        Verification::Owner => json!("owner"),
        Verification::Recipient {
            handle,
            fingerprint,
        } => json!({"share": handle, "device_fingerprint": fingerprint}),
        Verification::Unverified(why) => json!({"unverified": why}),
    }
}

fn author_text(v: &Verification, short: impl Fn(&Uuid) -> String) -> String {
    match v {
        Verification::Owner => "you".to_owned(),
        Verification::Recipient {
            handle,
            fingerprint,
        } => {
            format!(
                "recipient of share {} (device {fingerprint})",
                short(handle)
            )
        }
        Verification::Unverified(why) => format!("UNVERIFIED: {why}"),
    }
}

async fn list(ctx: &Context, session: &mut OwnerSession) -> CliResult {
    let records = session.list_records().await?;
    if ctx.json() {
        let items: Vec<Value> = records
            .iter()
            .map(|r| {
                let (kind, title, subtitle) = match &r.summary {
                    Ok(s) => (json!(s.record_type.as_str()), json!(s.title), json!(s.subtitle)),
                    Err(_) => (Value::Null, Value::Null, Value::Null),
                };
                json!({
                    "id": r.id, "type": kind, "title": title, "subtitle": subtitle, "version": r.version,
                    "updated_at": rfc3339(r.updated_at), "verified": r.verification.is_verified(),
                    "summary_mismatch": r.summary_mismatch,
                })
            })
            .collect();
        print_json(&json!({"records": items}));
        return Ok(());
    }
    if records.is_empty() {
        println!("No records yet: add one with `sharelock record add --type TYPE --title TITLE`.");
        return Ok(());
    }
    let ids: Vec<Uuid> = records.iter().map(|r| r.id).collect();
    let short = short_ids(&ids);
    let mut t = table(&["ID", "TYPE", "TITLE", "DETAIL", "VERSION", "UPDATED"]);
    for (r, id) in records.iter().zip(short) {
        let (kind, title, subtitle) = match &r.summary {
            Ok(s) => (
                s.record_type.as_str().to_owned(),
                s.title.clone(),
                s.subtitle.clone(),
            ),
            Err(e) => ("?".into(), format!("(unreadable: {e})"), String::new()),
        };
        let mut title = if r.verification.is_verified() {
            title
        } else {
            format!("{title} [UNVERIFIED]")
        };
        if r.summary_mismatch {
            // The title shown is the record's own; the list line its writer sealed says something else.
            title.push_str(" [LIST ENTRY DIFFERS]");
        }
        t.add_row(vec![
            id,
            kind,
            title,
            subtitle,
            r.version.to_string(),
            human_time(r.updated_at),
        ]);
    }
    println!("{t}");
    Ok(())
}

async fn show(ctx: &Context, session: &mut OwnerSession, args: ShowArgs) -> CliResult {
    let id = resolve_record(session, &args.id).await?;
    let view = session.show_record(id).await?;
    let mut saved = Vec::new();
    if let Some(dir) = &args.save_files {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::other(format!("cannot create {}: {e}", dir.display())))?;
        for file in &view.body.files {
            let path = session
                .download_file(id, file, dir, &Bar::new(ctx.global.quiet))
                .await?;
            saved.push((file.id, path));
        }
    }
    if ctx.json() {
        print_json(&json!({
            "id": view.id,
            "version": view.version,
            "record": record_json(&view.body, &saved),
            "author": author_json(&view.verification),
            "updated_at": rfc3339(view.updated_at),
            "summary_mismatch": view.summary_mismatch,
        }));
        return Ok(());
    }
    print_record(&view.body, session.server_now(), &saved);
    if view.summary_mismatch {
        println!("{SUMMARY_WARNING}");
    }
    println!(
        "version {} · last changed {} by {}",
        view.version,
        human_time(view.updated_at),
        author_text(&view.verification, |h| h.to_string()[..8].to_owned())
    );
    Ok(())
}

async fn edit(ctx: &Context, session: &mut OwnerSession, args: EditArgs) -> CliResult {
    if args.title.is_none()
        && args.fields.is_empty()
        && args.secret_fields.is_empty()
        && args.remove_fields.is_empty()
        && args.notes.is_none()
        && args.files.is_empty()
    {
        return Err(Failure::usage(
            "nothing to change: give --title, --field, --secret-field, --remove-field, --notes or --file",
        ));
    }
    let inputs = Inputs::new();
    let fields = field_values(&inputs, &args.fields, &args.secret_fields)?;
    let notes = match &args.notes {
        Some(spec) => Some(inputs.value("notes", spec)?),
        None => None,
    };
    let id = resolve_record(session, &args.id).await?;
    let (title, removed) = (args.title, args.remove_fields);
    let written = session
        .edit_record(id, args.if_version, move |body| {
            if let Some(title) = title {
                body.title = title;
            }
            for name in &removed {
                if body.remove_field(name).is_none() {
                    return Err(ClientError::Invalid(format!(
                        "the record has no field {name:?}"
                    )));
                }
            }
            set_fields(body, &fields)?;
            if let Some(notes) = notes {
                body.notes = notes.to_string();
            }
            Ok(())
        })
        .await
        .map_err(|e| match e {
            ClientError::Invalid(m) => Failure::usage(m),
            ClientError::Protocol(sharelock_core::Error::Record(r)) => {
                Failure::usage(format!("invalid record: {r}"))
            }
            other => other.into(),
        })?;
    let mut version = written.version;
    if !args.files.is_empty() {
        version = session
            .attach_files(id, &args.files, &Bar::new(ctx.global.quiet))
            .await?;
    }
    if ctx.json() {
        print_json(&json!({"id": id, "version": version}));
    } else {
        println!("Saved as version {version}.");
    }
    Ok(())
}

async fn delete(ctx: &Context, session: &mut OwnerSession, input: &str) -> CliResult {
    let id = resolve_record(session, input).await?;
    session.delete_record(id).await?;
    if ctx.json() {
        print_json(&json!({"id": id, "deleted": true}));
    } else {
        println!("Deleted record {id}; its shares have ended.");
    }
    Ok(())
}

/// What changed between two bodies, by name (values are not printed: `record show` shows them).
fn changes(before: Option<&RecordBody>, after: &RecordBody) -> Vec<String> {
    let Some(before) = before else {
        return vec!["created".to_owned()];
    };
    let mut out = Vec::new();
    if before.title != after.title {
        out.push("~ title".to_owned());
    }
    for f in &after.fields {
        match before.field(&f.name) {
            None => out.push(format!("+ {}", f.name)),
            Some(old) if old.value != f.value || old.kind != f.kind => {
                out.push(format!("~ {}", f.name))
            }
            _ => {}
        }
    }
    for f in &before.fields {
        if after.field(&f.name).is_none() {
            out.push(format!("- {}", f.name));
        }
    }
    if before.notes != after.notes {
        out.push("~ notes".to_owned());
    }
    for f in &after.files {
        if !before.files.iter().any(|b| b.id == f.id) {
            out.push(format!("+ file {}", f.name));
        }
    }
    for f in &before.files {
        if !after.files.iter().any(|a| a.id == f.id) {
            out.push(format!("- file {}", f.name));
        }
    }
    if out.is_empty() {
        out.push("no change (key rotation)".to_owned());
    }
    out
}

async fn history(ctx: &Context, session: &mut OwnerSession, input: &str) -> CliResult {
    let id = resolve_record(session, input).await?;
    let entries = session.record_history(id).await?;
    if ctx.json() {
        let items: Vec<Value> = entries
            .iter()
            .map(|e| {
                let author = match e.author {
                    ApiAuthor::Owner => json!("owner"),
                    ApiAuthor::Share { share } => json!({"share": share}),
                };
                json!({
                    "version": e.version,
                    "key_gen": e.key_gen,
                    "created_at": rfc3339(e.created_at),
                    "author": author,
                    "verified": e.verification.is_verified(),
                    "verification": author_json(&e.verification),
                    "record": e.body.as_ref().ok().map(|b| record_json(b, &[])),
                })
            })
            .collect();
        print_json(&json!({"id": id, "versions": items}));
        return Ok(());
    }
    let mut previous: Option<&RecordBody> = None;
    for e in &entries {
        let who = author_text(&e.verification, |h| h.to_string()[..8].to_owned());
        println!("version {}  {}  {who}", e.version, human_time(e.created_at));
        match &e.body {
            Ok(body) => {
                for change in changes(previous, body) {
                    println!("    {change}");
                }
                previous = Some(body);
            }
            Err(why) => println!("    (unreadable: {why})"),
        }
    }
    Ok(())
}
