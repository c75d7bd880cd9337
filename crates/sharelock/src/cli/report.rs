//! `sharelock share report`: every share the account made, live or ended, with its record's title and its
//! label (decrypted here), its device, its times and what happened to it: a table on a terminal, CSV
//! (docs/cli-walkthrough.md, "The shared records report") for scripts and spreadsheets.

use super::home::Context;
use super::output::{human_time, print_json, rfc3339, short_ids, table};
use super::{CliResult, Failure};
use clap::Args;
use serde_json::json;
use sharelock_client::api::shares::ShareState;
use sharelock_client::{OwnerSession, ShareEntry, write_private_file};
use std::collections::HashMap;
use std::path::PathBuf;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// CSV instead of a table (one row per share; columns in docs/cli-walkthrough.md).
    #[arg(long)]
    csv: bool,
    /// Write the CSV to this file (readable by its owner only; replaced if it exists) instead of standard
    /// output.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
}

/// The CSV header, in column order.
pub const CSV_COLUMNS: [&str; 23] = [
    "share",
    "record_id",
    "record_title",
    "label",
    "state",
    "end_reason",
    "editable",
    "passphrase",
    "view_once",
    "device_fingerprint",
    "device_verified",
    "created_at",
    "expires_at",
    "opened_at",
    "ended_at",
    "last_access_at",
    "opens",
    "edits",
    "wrong_passphrases",
    "last_wrong_passphrase_at",
    "refused_devices",
    "last_refused_at",
    "problem",
];

/// One share, as the report says it.
struct Line<'a> {
    share: &'a ShareEntry,
    title: Option<&'a str>,
}

impl Line<'_> {
    fn label(&self) -> String {
        match &self.share.label {
            Some(Ok(l)) => l.clone(),
            Some(Err(_)) => "(unreadable)".into(),
            None => String::new(),
        }
    }

    fn title(&self) -> String {
        self.title
            .map(str::to_owned)
            .unwrap_or_else(|| "(record deleted or unreadable)".into())
    }

    /// `active` or `ended`.
    fn state(&self) -> &'static str {
        if self.share.is_live() {
            "active"
        } else {
            "ended"
        }
    }

    /// Why it ended (the API's reason; `expired` also for a share past its time the sweeper has not
    /// recorded yet).
    fn end_reason(&self) -> String {
        match (self.share.is_live(), &self.share.end_reason) {
            (true, _) => String::new(),
            (false, Some(reason)) => reason.clone(),
            (false, None) if self.share.state == ShareState::Expired => "expired".into(),
            (false, None) => "ended".into(),
        }
    }

    /// The same columns as JSON: numbers and booleans as such, times RFC 3339 or null, text exact.
    fn json(&self) -> serde_json::Value {
        let s = self.share;
        let time = |t: Option<OffsetDateTime>| t.map(rfc3339);
        let text = |t: String| if t.is_empty() { None } else { Some(t) };
        json!({
            "share": s.handle,
            "record_id": s.record_id,
            "record_title": self.title,
            "label": s.label.as_ref().and_then(|l| l.as_ref().ok()),
            "state": self.state(),
            "end_reason": text(self.end_reason()),
            "editable": s.editable,
            "passphrase": s.passphrase,
            "view_once": s.view_once,
            "device_fingerprint": s.device_fingerprint,
            "device_verified": s.device_verified,
            "created_at": rfc3339(s.created_at),
            "expires_at": rfc3339(s.expires_at),
            "opened_at": time(s.opened_at),
            "ended_at": time(s.ended_at),
            "last_access_at": time(s.last_access_at),
            "opens": s.open_count,
            "edits": s.edit_count,
            "wrong_passphrases": s.failed_total,
            "last_wrong_passphrase_at": time(s.last_failed_at),
            "refused_devices": s.refused_count,
            "last_refused_at": time(s.refused_at),
            "problem": s.problem,
        })
    }

    fn csv_row(&self) -> Vec<String> {
        let s = self.share;
        let time = |t: Option<OffsetDateTime>| t.map(rfc3339).unwrap_or_default();
        vec![
            s.handle.to_string(),
            s.record_id.to_string(),
            self.title(),
            self.label(),
            self.state().into(),
            self.end_reason(),
            s.editable.to_string(),
            s.passphrase.to_string(),
            s.view_once.to_string(),
            s.device_fingerprint.clone().unwrap_or_default(),
            s.device_verified.map(|v| v.to_string()).unwrap_or_default(),
            rfc3339(s.created_at),
            rfc3339(s.expires_at),
            time(s.opened_at),
            time(s.ended_at),
            time(s.last_access_at),
            s.open_count.to_string(),
            s.edit_count.to_string(),
            s.failed_total.to_string(),
            time(s.last_failed_at),
            s.refused_count.to_string(),
            time(s.refused_at),
            s.problem.clone().unwrap_or_default(),
        ]
    }
}

/// A cell a spreadsheet will not run as a formula: text starting with `=`, `+`, `-`, `@`, a TAB or a
/// carriage return gets a leading `'` (OWASP's advice against CSV injection). Record titles and labels
/// can be written by others (a recipient's edit), so no cell is trusted.
pub fn csv_cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

/// The report as CSV (RFC 4180, CRLF line ends, the header first).
fn csv_bytes(lines: &[Line<'_>]) -> CliResult<Vec<u8>> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let failed = |e: csv::Error| Failure::other(format!("cannot write the CSV: {e}"));
    writer.write_record(CSV_COLUMNS).map_err(failed)?;
    for line in lines {
        writer
            .write_record(line.csv_row().iter().map(|c| csv_cell(c)))
            .map_err(failed)?;
    }
    writer
        .into_inner()
        .map_err(|e| Failure::other(format!("cannot write the CSV: {e}")))
}

/// Titles of the records that can be read, by id (control characters dropped).
async fn titles(session: &mut OwnerSession) -> CliResult<HashMap<Uuid, String>> {
    Ok(session
        .list_records()
        .await?
        .into_iter()
        .filter_map(|r| {
            r.summary
                .ok()
                .map(|s| (r.id, s.title.chars().filter(|c| !c.is_control()).collect()))
        })
        .collect())
}

pub async fn run(ctx: &Context, session: &mut OwnerSession, args: ReportArgs) -> CliResult {
    let shares = session.list_shares(None).await?;
    let titles = titles(session).await?;
    let lines: Vec<Line<'_>> = shares
        .iter()
        .map(|share| Line {
            share,
            title: titles.get(&share.record_id).map(String::as_str),
        })
        .collect();

    if args.csv || args.output.is_some() {
        let bytes = csv_bytes(&lines)?;
        match &args.output {
            Some(path) => {
                write_private_file(path, &bytes, true)?;
                if ctx.json() {
                    print_json(
                        &json!({"shares": lines.len(), "output": path.display().to_string()}),
                    );
                } else {
                    eprintln!(
                        "Wrote {} share{} to {}.",
                        lines.len(),
                        if lines.len() == 1 { "" } else { "s" },
                        path.display()
                    );
                }
            }
            None => {
                use std::io::Write;
                let mut out = std::io::stdout().lock();
                out.write_all(&bytes)
                    .and_then(|()| out.flush())
                    .map_err(|e| Failure::other(format!("cannot write the report: {e}")))?;
            }
        }
        return Ok(());
    }
    if ctx.json() {
        print_json(&json!({"shares": lines.iter().map(Line::json).collect::<Vec<_>>()}));
        return Ok(());
    }
    if lines.is_empty() {
        println!("No shares yet.");
        return Ok(());
    }
    let handles: Vec<Uuid> = shares.iter().map(|s| s.handle).collect();
    let short = short_ids(&handles);
    let mut t = table(&[
        "SHARE", "RECORD", "LABEL", "STATE", "DEVICE", "CREATED", "ENDS", "OPENS", "EDITS",
        "WRONG", "REFUSED",
    ]);
    for (line, handle) in lines.iter().zip(short) {
        let s = line.share;
        let state = if s.is_live() {
            if s.opened_at.is_some() {
                "active, opened".to_owned()
            } else {
                "active, waiting".to_owned()
            }
        } else {
            format!("ended: {}", line.end_reason())
        };
        let device = match (&s.device_fingerprint, s.device_verified) {
            (Some(fp), Some(true)) => format!("{fp} ✓"),
            (Some(fp), _) => format!("{fp} (UNVERIFIED)"),
            (None, _) => "—".into(),
        };
        let ends = match s.ended_at {
            Some(at) if !s.is_live() => format!("ended {}", human_time(at)),
            _ => format!("expires {}", human_time(s.expires_at)),
        };
        t.add_row(vec![
            handle,
            line.title(),
            line.label().chars().filter(|c| !c.is_control()).collect(),
            state,
            device,
            human_time(s.created_at),
            ends,
            s.open_count.to_string(),
            s.edit_count.to_string(),
            s.failed_total.to_string(),
            s.refused_count.to_string(),
        ]);
    }
    println!("{t}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_defused() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("-2"), "'-2");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("\tx"), "'\tx");
        assert_eq!(csv_cell("Mail for Ada"), "Mail for Ada");
        assert_eq!(csv_cell("a=b"), "a=b");
        assert_eq!(csv_cell(""), "");
    }
}
