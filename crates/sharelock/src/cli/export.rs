//! `sharelock export`: the whole vault (every record's current version, decrypted here) as the Sharelock
//! export (docs/export.md), encrypted with a passphrase as an age file unless a plain export is asked for
//! explicitly. File contents are never exported.

use super::account::{passphrase_from_file, secret_from_env_or_prompt};
use super::home::Context;
use super::output::{human_size, print_json};
use super::{CliResult, Failure};
use clap::{Args, ValueEnum};
use serde_json::json;
use sharelock_client::export::{self, ExportDocument, ExportError};
use sharelock_client::write_private_file;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use zeroize::Zeroizing;

/// The shortest export passphrase accepted (in characters).
const MIN_PASSPHRASE_CHARS: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlainFormat {
    Json,
    Csv,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write the export to this file (created readable by its owner only; an existing file is not
    /// replaced). Default: standard output, when it is not a terminal.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// ASCII-armor the age file (text, `-----BEGIN AGE ENCRYPTED FILE-----`), e.g. to paste it.
    #[arg(long, conflicts_with = "plain")]
    armor: bool,
    /// Read the passphrase from the first line of this file (else SHARELOCK_EXPORT_PASSPHRASE, else a
    /// prompt, asked twice).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["plain", "generate_passphrase"])]
    passphrase_file: Option<PathBuf>,
    /// Make a passphrase of six random words (about 77 bits), printed once on standard error.
    #[arg(long, conflicts_with = "plain")]
    generate_passphrase: bool,
    /// Write the export UNENCRYPTED, as JSON or CSV: every password and secret readable by anyone who
    /// gets the file. Needs --i-understand-this-is-unencrypted.
    #[arg(long, value_enum, value_name = "json|csv")]
    plain: Option<PlainFormat>,
    /// Confirms a --plain export.
    #[arg(long, requires = "plain")]
    i_understand_this_is_unencrypted: bool,
}

const PLAIN_WARNING: &str = "WARNING: this export is NOT encrypted: every password, card number, key \
     and note in it can be read by anyone who gets the file, or a backup or sync of it. Move it where \
     it is needed, then delete it.";

/// The passphrase: generated, from a file, from SHARELOCK_EXPORT_PASSPHRASE or prompted twice; at
/// least [`MIN_PASSPHRASE_CHARS`] characters.
fn passphrase(args: &ExportArgs) -> CliResult<(Zeroizing<String>, bool)> {
    if args.generate_passphrase {
        let words =
            sharelock_core::passphrase::generate().map_err(|e| Failure::other(e.to_string()))?;
        return Ok((words, true));
    }
    let passphrase = match &args.passphrase_file {
        Some(path) => passphrase_from_file(path)?,
        None => {
            secret_from_env_or_prompt("SHARELOCK_EXPORT_PASSPHRASE", "Export passphrase", true)?
        }
    };
    if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(Failure::usage(format!(
            "the export passphrase must have at least {MIN_PASSPHRASE_CHARS} characters \
             (or use --generate-passphrase)"
        )));
    }
    Ok((passphrase, false))
}

pub async fn run(ctx: &Context, args: ExportArgs) -> CliResult {
    if args.plain.is_some() && !args.i_understand_this_is_unencrypted {
        return Err(Failure::usage(format!(
            "{PLAIN_WARNING} To write it anyway, add --i-understand-this-is-unencrypted; \
             without --plain the export is encrypted with a passphrase."
        )));
    }
    if ctx.json() && args.output.is_none() {
        return Err(Failure::usage(
            "--json prints a summary on standard output, so the export needs --output FILE",
        ));
    }
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    if to_terminal && args.plain.is_none() && !args.armor {
        return Err(Failure::usage(
            "an encrypted export is binary: give --output FILE, redirect standard output, or use --armor",
        ));
    }
    if let Some(path) = &args.output
        && path.exists()
    {
        return Err(Failure::usage(format!(
            "{} already exists: nothing was written (choose another file)",
            path.display()
        )));
    }
    // Asked first, so a mistyped confirmation costs nothing.
    let secret = match args.plain {
        Some(_) => None,
        None => Some(passphrase(&args)?),
    };

    let mut session = ctx.session()?;
    let read = session.all_records().await;
    ctx.save_versions(&session)?;
    let (records, left_out) = read?;
    let files: Vec<(String, String, u64)> = records
        .iter()
        .flat_map(|r| {
            r.body
                .files
                .iter()
                .map(|f| (r.body.title.clone(), f.name.clone(), f.size))
        })
        .collect();
    let count = records.len();
    let now = time::OffsetDateTime::now_utc();
    let doc = ExportDocument::new(records, now).map_err(|e| Failure::other(e.to_string()))?;
    let json = doc.to_json();
    let bytes: Zeroizing<Vec<u8>> = match (args.plain, &secret) {
        (Some(PlainFormat::Json), _) => json,
        (Some(PlainFormat::Csv), _) => {
            export::to_csv(&doc).map_err(|e| Failure::other(e.to_string()))?
        }
        (None, Some((passphrase, _))) => Zeroizing::new(
            export::encrypt(&json, passphrase, args.armor)
                .map_err(|e: ExportError| Failure::other(e.to_string()))?,
        ),
        (None, None) => return Err(Failure::other("no passphrase")),
    };

    match &args.output {
        Some(path) => write_private_file(path, &bytes, false)?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(&bytes)
                .and_then(|()| out.flush())
                .map_err(|e| Failure::other(format!("cannot write the export: {e}")))?;
        }
    }

    let kind = match args.plain {
        Some(PlainFormat::Json) => "plain JSON",
        Some(PlainFormat::Csv) => "plain CSV",
        None if args.armor => "age, passphrase, armored",
        None => "age, passphrase",
    };
    if ctx.json() {
        print_json(&json!({
            "records": count,
            "output": args.output.as_ref().map(|p| p.display().to_string()),
            "encrypted": args.plain.is_none(),
            "format": kind,
            "passphrase": secret.as_ref().filter(|(_, generated)| *generated).map(|(p, _)| p.as_str()),
            "files_not_exported": files.iter().map(|(record, name, size)| json!({"record": record, "name": name, "size": size})).collect::<Vec<_>>(),
            "left_out": left_out.iter().map(|(id, why)| json!({"id": id, "why": why})).collect::<Vec<_>>(),
        }));
        return Ok(());
    }
    // The report goes to standard error: standard output may be the export itself.
    let whereto = args
        .output
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "standard output".into());
    eprintln!(
        "Exported {count} record{} to {whereto} ({kind}).",
        plural(count)
    );
    if let Some((passphrase, true)) = &secret {
        eprintln!(
            "Passphrase (shown once; keep it apart from the file): {}",
            passphrase.as_str()
        );
    }
    if args.plain.is_some() {
        eprintln!("{PLAIN_WARNING}");
    }
    if files.is_empty() {
        eprintln!("File contents are never exported; no record has files.");
    } else {
        eprintln!(
            "File contents are never exported: these {} file{} stay in the vault (save them with \
             `sharelock record show ID --save-files DIR`):",
            files.len(),
            plural(files.len())
        );
        for (record, name, size) in &files {
            eprintln!(
                "  {}: {} ({})",
                clean(record),
                clean(name),
                human_size(*size)
            );
        }
    }
    if !left_out.is_empty() {
        eprintln!(
            "WARNING: {} record{} could not be read as yours and {} left out:",
            left_out.len(),
            plural(left_out.len()),
            if left_out.len() == 1 { "is" } else { "are" }
        );
        for (id, why) in &left_out {
            eprintln!("  {id}: {}", clean(why));
        }
    }
    Ok(())
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Text for one terminal line.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}
