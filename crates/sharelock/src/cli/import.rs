//! `sharelock import`: records from another password manager's export, a CSV file with a column
//! mapping, or a Sharelock export (docs/import.md). The file is read and every record checked against
//! the record rules before anything is created; each record is encrypted here, as `record add` does.
//!
//! Exit codes: 13 the file is unreadable, not of the format, or holds items that cannot be imported
//! (without `--skip-invalid`); 5 the passphrase does not open an encrypted export; 2 an unusable
//! command line or column mapping; a failure while creating exits as that failure does, after saying
//! which records were created.

use super::account::{passphrase_from_file, secret_from_env_or_prompt};
use super::home::Context;
use super::output::{print_json, table};
use super::{CliResult, ExitStatus, Failure};
use clap::Args;
use serde_json::{Value, json};
use sharelock_client::{CreateOutcome, OwnerSession};
use sharelock_core::record::RecordBody;
use sharelock_import::{
    ColumnMap, Format, Import, ImportError, Item, MAX_FILE_BYTES, Options, Warning, detect, is_age,
    parse, warning_json,
};
use std::io::Read;
use std::path::PathBuf;
use uuid::Uuid;
use zeroize::Zeroizing;

/// Requests in flight at once while creating: enough to hide the round trip, few enough not to
/// crowd the server.
const IN_FLIGHT: usize = 4;

fn format_name(text: &str) -> Result<Format, String> {
    Format::parse(text).ok_or_else(|| {
        let all: Vec<&str> = Format::ALL.iter().map(|f| f.as_str()).collect();
        format!("unknown format; one of: {}", all.join(", "))
    })
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The export file.
    file: PathBuf,
    /// bitwarden-json, bitwarden-csv, 1password-1pux, 1password-csv, keepass-xml, lastpass-csv,
    /// keeper-json, keeper-csv, csv (any CSV with a header row, see --map) or sharelock (plain or
    /// encrypted). Detected from the content when left out, except keeper-csv and csv.
    #[arg(long, value_name = "FORMAT", value_parser = format_name)]
    format: Option<Format>,
    /// Show what would be created, and what would not come along, without creating anything.
    #[arg(long)]
    dry_run: bool,
    /// For --format csv: which column fills what, as target=Column pairs separated by commas, e.g.
    /// `title=Name,username=Login,password=Pass,url=Site,notes=Comments`. Targets: title, notes,
    /// type (a record type name per row; login when empty), folder, or a field name. A column named
    /// like a target maps itself; other columns become text fields named by their header.
    #[arg(long, value_name = "TARGET=COLUMN,…")]
    map: Option<String>,
    /// Create the records that can be imported even if some items cannot (they are listed).
    #[arg(long)]
    skip_invalid: bool,
    /// An encrypted Sharelock export's passphrase: the first line of this file (else
    /// SHARELOCK_EXPORT_PASSPHRASE, else a prompt).
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
}

fn unreadable(message: impl Into<String>) -> Failure {
    Failure::new(ExitStatus::ImportFile, message)
}

fn failure_of(e: ImportError) -> Failure {
    match e {
        ImportError::WrongPassphrase => Failure::auth(e.to_string()),
        ImportError::BadMapping(m) => Failure::usage(format!("column mapping: {m}")),
        other => unreadable(other.to_string()),
    }
}

/// The file's bytes, refusing one larger than the import limit before reading it.
fn read_file(path: &PathBuf) -> CliResult<Vec<u8>> {
    let file = std::fs::File::open(path)
        .map_err(|e| unreadable(format!("cannot read {}: {e}", path.display())))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| unreadable(format!("cannot read {}: {e}", path.display())))?;
    if bytes.len() > MAX_FILE_BYTES {
        return Err(unreadable(format!(
            "{} is larger than {} MiB, the most an import reads",
            path.display(),
            MAX_FILE_BYTES >> 20
        )));
    }
    Ok(bytes)
}

fn passphrase(args: &ImportArgs) -> CliResult<Zeroizing<String>> {
    let Some(path) = &args.passphrase_file else {
        return secret_from_env_or_prompt(
            "SHARELOCK_EXPORT_PASSPHRASE",
            "Export passphrase",
            false,
        );
    };
    passphrase_from_file(path)
}

/// Text from the file shown on a terminal: one line, no control characters.
fn shown(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn warning_text(w: &Warning) -> String {
    match &w.name {
        Some(name) => format!("{}: {}", w.code.describe(), shown(name)),
        None => w.code.describe().to_owned(),
    }
}

/// What a record rule's error kind means, for people.
fn error_text(kind: &str) -> String {
    let why = match kind {
        "value_too_long" => "a value is longer than 65536 bytes",
        "too_many_fields" => "more than 128 fields",
        "notes_too_long" => "the notes are longer than 262144 bytes",
        "too_large" => "the record is larger than 512 KiB",
        "too_many_files" => "more than 64 files",
        other => other,
    };
    format!("cannot be imported: {why}")
}

pub async fn run(ctx: &Context, args: ImportArgs) -> CliResult {
    let bytes = read_file(&args.file)?;
    let format = match args.format {
        Some(f) => f,
        None => detect(&bytes).ok_or_else(|| {
            unreadable(format!(
                "cannot tell the format of {}: give --format (keeper-csv and csv are never \
                 detected)",
                args.file.display()
            ))
        })?,
    };
    let map = match &args.map {
        Some(_) if format != Format::GenericCsv => {
            return Err(Failure::usage("--map is for --format csv only"));
        }
        Some(text) => Some(ColumnMap::parse(text).map_err(failure_of)?),
        None => None,
    };
    let secret = if format == Format::Sharelock && is_age(&bytes) {
        Some(passphrase(&args)?)
    } else {
        None
    };
    let import = parse(
        format,
        &bytes,
        &Options {
            map: map.as_ref(),
            passphrase: secret.as_deref().map(String::as_str),
        },
    )
    .map_err(failure_of)?;
    drop(bytes);
    let invalid = import.invalid_count();
    if args.dry_run {
        report_plan(ctx, &import);
        return Ok(());
    }
    if invalid > 0 && !args.skip_invalid {
        if !ctx.json() {
            report_plan(ctx, &import);
        }
        return Err(unreadable(format!(
            "{invalid} of {} items cannot be imported, so nothing was created: import the others \
             with --skip-invalid",
            import.items.len()
        )));
    }
    let mut session = ctx.session()?;
    let result = create(ctx, &mut session, &import).await;
    ctx.save_versions(&session)?;
    result
}

fn report_plan(ctx: &Context, import: &Import) {
    if ctx.json() {
        let mut value = import.to_json();
        value["dry_run"] = json!(true);
        print_json(&value);
        return;
    }
    let mut t = table(&["#", "TYPE", "TITLE", "FIELDS", "NOTES"]);
    for item in &import.items {
        let (kind, fields, notes) = match &item.body {
            Some(b) => (
                b.record_type.as_str().to_owned(),
                b.fields.len().to_string(),
                if b.notes.is_empty() { "" } else { "yes" }.to_owned(),
            ),
            None => ("-".into(), "-".into(), "-".into()),
        };
        t.add_row(vec![
            (item.source + 1).to_string(),
            kind,
            shown(&item.title),
            fields,
            notes,
        ]);
    }
    if !import.items.is_empty() {
        println!("{t}");
    }
    print_notices(import);
    let valid = import.items.len() - import.invalid_count();
    println!(
        "Would create {valid} record{} from this {} file{}.",
        if valid == 1 { "" } else { "s" },
        import.format,
        match import.invalid_count() {
            0 => String::new(),
            n => format!(
                "; {n} item{} cannot be imported",
                if n == 1 { "" } else { "s" }
            ),
        }
    );
}

/// Every warning and error, one line each, naming the item.
fn print_notices(import: &Import) {
    for item in &import.items {
        let label = format!("#{} {}", item.source + 1, shown(&item.title));
        if let Some(kind) = &item.error {
            println!("{label}: {}", error_text(kind));
        }
        for w in &item.warnings {
            println!("{label}: {}", warning_text(w));
        }
    }
    for w in &import.warnings {
        println!("{}", warning_text(w));
    }
}

async fn create(ctx: &Context, session: &mut OwnerSession, import: &Import) -> CliResult {
    let valid: Vec<(&Item, &RecordBody)> = import.valid().collect();
    let bodies: Vec<&RecordBody> = valid.iter().map(|(_, b)| *b).collect();
    let outcomes = session.create_records(&bodies, IN_FLIGHT).await?;
    // A request that got no answer may have been stored: the record list says.
    let unanswered = outcomes
        .iter()
        .any(|(_, o)| matches!(o, CreateOutcome::Failed(e) if e.code().is_none()));
    let existing: Option<Vec<Uuid>> = if unanswered {
        session.record_ids().await.ok()
    } else {
        None
    };
    let mut created = Vec::new();
    let mut unknown = Vec::new();
    let mut failure = None;
    for ((item, _), (id, outcome)) in valid.iter().zip(outcomes) {
        match outcome {
            CreateOutcome::Created => created.push((*item, id)),
            CreateOutcome::NotSent => {}
            CreateOutcome::Failed(e) => {
                if e.code().is_none() {
                    match existing.as_ref().map(|ids| ids.contains(&id)) {
                        Some(true) => created.push((*item, id)),
                        Some(false) => {}
                        None => unknown.push((*item, id)),
                    }
                }
                failure.get_or_insert(e);
            }
        }
    }
    if ctx.json() {
        let list = |l: &[(&Item, Uuid)]| -> Vec<Value> {
            l.iter()
                .map(|(item, id)| json!({"source": item.source, "title": item.title, "id": id}))
                .collect()
        };
        let skipped: Vec<Value> = import
            .items
            .iter()
            .filter(|i| i.body.is_none())
            .map(|i| json!({"source": i.source, "title": i.title, "error": i.error}))
            .collect();
        let warnings: Vec<Value> = import
            .items
            .iter()
            .flat_map(|i| {
                i.warnings.iter().map(move |w| {
                    let mut v = warning_json(w);
                    v["source"] = json!(i.source);
                    v
                })
            })
            .chain(import.warnings.iter().map(warning_json))
            .collect();
        print_json(&json!({
            "format": import.format.as_str(),
            "created": list(&created),
            "unknown": list(&unknown),
            "skipped": skipped,
            "warnings": warnings,
            "complete": failure.is_none(),
        }));
    } else {
        print_notices(import);
        for (item, id) in &created {
            println!("created {id}  #{} {}", item.source + 1, shown(&item.title));
        }
        for (item, id) in &unknown {
            println!(
                "unknown {id}  #{} {} (the request got no answer; check with `sharelock record list`)",
                item.source + 1,
                shown(&item.title)
            );
        }
        if failure.is_none() {
            println!(
                "Created {} record{}.",
                created.len(),
                if created.len() == 1 { "" } else { "s" }
            );
        }
    }
    match failure {
        None => Ok(()),
        Some(e) => {
            let f = Failure::from(e);
            Err(Failure::new(
                f.status,
                format!(
                    "import stopped after {} of {} records were created (listed above); the \
                     others were not: {}",
                    created.len(),
                    valid.len(),
                    f.message
                ),
            ))
        }
    }
}
