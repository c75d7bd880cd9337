//! Output and argument helpers: JSON, tables, times and durations, short ids, record bodies, progress bars.

use super::{CliResult, Failure};
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};
use sharelock_client::Progress;
use sharelock_client::api::shares::Expiry;
use sharelock_core::record::{FieldKind, FileRef, RecordBody};
use sharelock_core::totp::Totp;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

/// Prints one JSON value as one line on stdout.
pub fn print_json(value: &Value) {
    println!("{value}");
}

/// RFC 3339 UTC text.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// A short human time: `2026-11-25 10:00 UTC`.
pub fn human_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// `in 3 days`, `2 hours ago`.
pub fn relative(t: OffsetDateTime) -> String {
    let secs = (t - OffsetDateTime::now_utc()).whole_seconds();
    // Rounded to the nearest unit, so a 7-day share created a second ago says "in 7 d", not "in 6 d".
    let round = |s: u64, unit: u64| (s + unit / 2) / unit;
    let (n, unit) = match secs.unsigned_abs() {
        s if s < 90 => (s, "s"),
        s if s < 90 * 60 => (round(s, 60), "min"),
        s if s < 36 * 3600 => (round(s, 3600), "h"),
        s => (round(s, 86_400), "d"),
    };
    if secs >= 0 {
        format!("in {n} {unit}")
    } else {
        format!("{n} {unit} ago")
    }
}

/// A duration: `90s`, `15m`, `1h`, `7d` (any humantime form, e.g. `1h 30m`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text.trim())
        .map_err(|e| format!("not a duration like 90s, 15m, 1h, 7d: {e}"))?;
    if d.as_secs() == 0 {
        return Err("the duration must be at least one second".into());
    }
    Ok(d)
}

/// An expiry: a duration from now, or an absolute RFC 3339 time.
pub fn parse_expiry(text: &str) -> Result<Expiry, String> {
    if let Ok(at) = OffsetDateTime::parse(text.trim(), &Rfc3339) {
        return Ok(Expiry::At(at));
    }
    parse_duration(text)
        .map(|d| Expiry::InSeconds(d.as_secs()))
        .map_err(|_| format!("not a duration (90s, 15m, 1h, 7d) or an RFC 3339 time: {text}"))
}

/// `NAME=VALUE` (the value may be empty and may contain `=`). The value is a [`ValueSource`] spec, resolved
/// later with [`Inputs::value`].
pub fn parse_assignment(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(format!("expected NAME=VALUE, got {text:?}")),
    }
}

/// The most a value read from standard input or a file may hold (a field value is at most 64 KiB; notes
/// and links are smaller than this too).
const MAX_INPUT_BYTES: u64 = 1024 * 1024;

/// Where the command line's values come from, so secrets need not be typed into it (where they would stay
/// in the shell's history and show in the process list): `-` is standard input (once per command),
/// `@PATH` a file, `@@TEXT` the literal `@TEXT`, anything else the text itself. A value read from standard
/// input or a file loses one final line ending if it is otherwise one line; text of several lines (a key)
/// is kept exactly.
pub struct Inputs {
    stdin_taken: std::cell::Cell<bool>,
}

impl Inputs {
    pub fn new() -> Self {
        Inputs {
            stdin_taken: std::cell::Cell::new(false),
        }
    }

    /// Standard input, whole; refused the second time (it can be read only once).
    pub fn stdin(&self, what: &str) -> CliResult<zeroize::Zeroizing<String>> {
        if self.stdin_taken.replace(true) {
            return Err(Failure::usage(format!(
                "{what}: standard input is already used by another value of this command; give this one as @FILE"
            )));
        }
        let mut bytes = zeroize::Zeroizing::new(Vec::new());
        std::io::Read::read_to_end(
            &mut std::io::Read::take(std::io::stdin().lock(), MAX_INPUT_BYTES + 1),
            &mut bytes,
        )
        .map_err(|e| Failure::other(format!("cannot read standard input: {e}")))?;
        text_of(what, "standard input", &bytes)
    }

    /// The first line of standard input (a link, pasted at a prompt or piped), without its line ending;
    /// refused the second time.
    pub fn stdin_line(&self, what: &str) -> CliResult<zeroize::Zeroizing<String>> {
        if self.stdin_taken.replace(true) {
            return Err(Failure::usage(format!(
                "{what}: standard input is already used by another value of this command"
            )));
        }
        let mut line = zeroize::Zeroizing::new(String::new());
        std::io::BufRead::read_line(
            &mut std::io::Read::take(std::io::stdin().lock(), MAX_INPUT_BYTES),
            &mut line,
        )
        .map_err(|e| Failure::usage(format!("{what}: cannot read standard input: {e}")))?;
        Ok(zeroize::Zeroizing::new(
            line.trim_end_matches(['\r', '\n']).to_owned(),
        ))
    }

    /// Resolves one value spec (see [`Inputs`]).
    pub fn value(&self, what: &str, spec: &str) -> CliResult<zeroize::Zeroizing<String>> {
        if spec == "-" {
            return self.stdin(what).map(without_final_newline);
        }
        if let Some(literal) = spec.strip_prefix("@@") {
            return Ok(zeroize::Zeroizing::new(format!("@{literal}")));
        }
        if let Some(path) = spec.strip_prefix('@') {
            let file = std::fs::File::open(path)
                .map_err(|e| Failure::usage(format!("{what}: cannot read {path}: {e}")))?;
            let mut bytes = zeroize::Zeroizing::new(Vec::new());
            std::io::Read::read_to_end(
                &mut std::io::Read::take(file, MAX_INPUT_BYTES + 1),
                &mut bytes,
            )
            .map_err(|e| Failure::usage(format!("{what}: cannot read {path}: {e}")))?;
            return text_of(what, path, &bytes).map(without_final_newline);
        }
        Ok(zeroize::Zeroizing::new(spec.to_owned()))
    }

    /// Resolves `NAME=SPEC` pairs.
    pub fn assignments(
        &self,
        pairs: &[(String, String)],
    ) -> CliResult<Vec<(String, zeroize::Zeroizing<String>)>> {
        pairs
            .iter()
            .map(|(name, spec)| Ok((name.clone(), self.value(name, spec)?)))
            .collect()
    }
}

fn text_of(what: &str, source: &str, bytes: &[u8]) -> CliResult<zeroize::Zeroizing<String>> {
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(Failure::usage(format!(
            "{what}: {source} holds more than {MAX_INPUT_BYTES} bytes"
        )));
    }
    std::str::from_utf8(bytes)
        .map(|t| zeroize::Zeroizing::new(t.to_owned()))
        .map_err(|_| Failure::usage(format!("{what}: {source} is not UTF-8 text")))
}

/// One final `\n` or `\r\n` removed from a text that is otherwise one line (`echo secret > file`); text of
/// several lines is kept as it is.
fn without_final_newline(text: zeroize::Zeroizing<String>) -> zeroize::Zeroizing<String> {
    let trimmed = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(&text);
    if trimmed.contains(['\n', '\r']) {
        text
    } else {
        zeroize::Zeroizing::new(trimmed.to_owned())
    }
}

/// The shortest prefix (at least 8 characters) that tells each id apart from all the others.
pub fn short_ids(ids: &[Uuid]) -> Vec<String> {
    let texts: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
    texts
        .iter()
        .map(|t| {
            let mut len = 8;
            while len < t.len()
                && (t[..len].ends_with('-')
                    || texts.iter().any(|o| o != t && o.starts_with(&t[..len])))
            {
                len += 1;
            }
            t[..len].to_owned()
        })
        .collect()
}

/// Resolves an id or an unambiguous prefix of one (hyphens optional, any case) against `candidates`.
pub fn resolve_id(what: &str, input: &str, candidates: &[Uuid]) -> CliResult<Uuid> {
    if let Ok(id) = Uuid::parse_str(input) {
        return Ok(id);
    }
    let wanted: String = input
        .chars()
        .filter(|c| *c != '-')
        .collect::<String>()
        .to_ascii_lowercase();
    if wanted.is_empty() || !wanted.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Failure::usage(format!("{input:?} is not a {what} id")));
    }
    let matches: Vec<&Uuid> = candidates
        .iter()
        .filter(|id| id.simple().to_string().starts_with(&wanted))
        .collect();
    match matches.as_slice() {
        [one] => Ok(**one),
        [] => Err(Failure::other(format!("no {what} matches {input}"))),
        many => Err(Failure::usage(format!(
            "{input} matches {} {what}s: give more of the id",
            many.len()
        ))),
    }
}

/// A table in the house style.
pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    t
}

/// A byte count for humans.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// One file reference as JSON (never its key).
pub fn file_json(file: &FileRef, saved: Option<&std::path::Path>) -> Value {
    let mut v = json!({"id": file.id, "name": file.name, "mime": file.mime, "size": file.size});
    if let Some(path) = saved {
        v["path"] = json!(path.display().to_string());
    }
    v
}

/// The contract's record shape: `{"type", "title", "fields": [{"name", "value"}], "notes", "files"}`.
pub fn record_json(body: &RecordBody, saved: &[(Uuid, std::path::PathBuf)]) -> Value {
    json!({
        "type": body.record_type.as_str(),
        "title": body.title,
        "fields": body.fields.iter().map(|f| json!({"name": f.name, "kind": f.kind.as_str(), "value": f.value})).collect::<Vec<_>>(),
        "notes": body.notes,
        "files": body.files.iter().map(|f| {
            let path = saved.iter().find(|(id, _)| *id == f.id).map(|(_, p)| p.as_path());
            file_json(f, path)
        }).collect::<Vec<_>>(),
    })
}

/// A value shown on one terminal line per line of text, control characters made visible.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

/// What a URL field points at, for people: the host it really names, and any user name written before an
/// `@`, which reads like a site but is not one (`https://bank.example@evil.example/` is `evil.example`).
#[derive(Debug, PartialEq, Eq)]
pub struct UrlSite {
    /// The host (international names in their ASCII form, which cannot imitate another), with a
    /// non-default port.
    pub host: String,
    /// The user name (and `:password`) before the `@`, if any.
    pub userinfo: Option<String>,
}

/// The site of an `http`/`https` URL, as WHATWG URL parsing (browsers) and the `url` crate read it; `None`
/// for anything else.
pub fn url_site(value: &str) -> Option<UrlSite> {
    let url = url::Url::parse(value.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let mut host = url.host_str()?.to_owned();
    if let Some(port) = url.port() {
        host.push_str(&format!(":{port}"));
    }
    let userinfo = match (url.username(), url.password()) {
        ("", None) => None,
        (user, None) => Some(user.to_owned()),
        (user, Some(password)) => Some(format!("{user}:{password}")),
    };
    Some(UrlSite { host, userinfo })
}

/// Prints a record for humans: title, fields (with a live code for one-time code fields), notes, files.
pub fn print_record(body: &RecordBody, now: i64, saved: &[(Uuid, std::path::PathBuf)]) {
    println!("{}  ({})", clean(&body.title), body.record_type.as_str());
    let width = body
        .fields
        .iter()
        .map(|f| f.name.chars().count())
        .max()
        .unwrap_or(0);
    for field in &body.fields {
        let name = clean(&field.name);
        let mut lines = field.value.lines();
        let first = lines.next().unwrap_or("");
        let mut shown = clean(first);
        if field.kind == FieldKind::Otp && !field.value.is_empty() {
            shown = match Totp::parse(&field.value).and_then(|t| t.code(now)) {
                Ok(code) => format!("{}  ({} s left)", code.code, code.seconds_left),
                Err(_) => format!("{shown}  (not a valid one-time code seed)"),
            };
        }
        let mut warning = None;
        if field.kind == FieldKind::Url && !field.value.is_empty() {
            // The host first: the rest of a URL can be made to read like another site.
            shown = match url_site(&field.value) {
                Some(site) => {
                    if let Some(user) = &site.userinfo {
                        warning = Some(format!(
                            "WARNING: the site is {}; \"{}\" before the @ is a user name, not the site",
                            clean(&site.host),
                            clean(user)
                        ));
                    }
                    format!("site {}  ·  {shown}", clean(&site.host))
                }
                None => format!("{shown}  (not a web address)"),
            };
        }
        println!("  {name:<width$}  {shown}");
        if let Some(warning) = warning {
            println!("  {:<width$}  {warning}", "");
        }
        for line in lines {
            println!("  {:<width$}  {}", "", clean(line));
        }
    }
    if !body.notes.is_empty() {
        println!("notes:");
        for line in body.notes.lines() {
            println!("  {}", clean(line));
        }
    }
    if !body.files.is_empty() {
        println!("files:");
        for f in &body.files {
            let saved_to = saved
                .iter()
                .find(|(id, _)| *id == f.id)
                .map(|(_, p)| format!("  saved to {}", p.display()))
                .unwrap_or_default();
            println!("  {}  {}{saved_to}", clean(&f.name), human_size(f.size));
        }
    }
}

/// A progress bar on stderr that appears only once a transfer has taken more than a moment, and never
/// when stderr is not a terminal or `--quiet` was given.
pub struct Bar {
    bar: Mutex<Option<ProgressBar>>,
    started: Mutex<Option<Instant>>,
    shown: AtomicBool,
    enabled: bool,
}

impl Bar {
    pub fn new(quiet: bool) -> Self {
        Bar {
            bar: Mutex::new(None),
            started: Mutex::new(None),
            shown: AtomicBool::new(false),
            enabled: !quiet && std::io::stderr().is_terminal(),
        }
    }
}

impl Progress for Bar {
    fn start(&self, total: u64) {
        if !self.enabled {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
        if let Ok(style) =
            ProgressStyle::with_template("{bar:30} {bytes}/{total_bytes} {bytes_per_sec} {eta}")
        {
            bar.set_style(style);
        }
        if let (Ok(mut b), Ok(mut s)) = (self.bar.lock(), self.started.lock()) {
            *b = Some(bar);
            *s = Some(Instant::now());
        }
        self.shown.store(false, Ordering::Relaxed);
    }

    fn advance(&self, bytes: u64) {
        let Ok(guard) = self.bar.lock() else { return };
        let Some(bar) = guard.as_ref() else { return };
        bar.inc(bytes);
        let slow = self
            .started
            .lock()
            .ok()
            .and_then(|s| *s)
            .is_some_and(|s| s.elapsed() > Duration::from_millis(500));
        if slow && !self.shown.swap(true, Ordering::Relaxed) {
            bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    }

    fn finish(&self) {
        if let Ok(mut guard) = self.bar.lock()
            && let Some(bar) = guard.take()
        {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn relative_times_round_to_the_nearest_unit() {
        let now = OffsetDateTime::now_utc();
        assert_eq!(
            relative(now + time::Duration::days(7) - time::Duration::seconds(5)),
            "in 7 d"
        );
        assert_eq!(relative(now + time::Duration::minutes(119)), "in 2 h");
        assert_eq!(relative(now - time::Duration::minutes(10)), "10 min ago");
    }

    #[test]
    fn durations_and_expiries() {
        assert_eq!(parse_duration("90s").ok(), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m").ok(), Some(Duration::from_secs(900)));
        assert_eq!(
            parse_duration("7d").ok(),
            Some(Duration::from_secs(7 * 86_400))
        );
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").is_err());
        assert_eq!(parse_expiry("1h").ok(), Some(Expiry::InSeconds(3600)));
        assert!(matches!(
            parse_expiry("2030-01-01T00:00:00Z"),
            Ok(Expiry::At(_))
        ));
        assert!(parse_expiry("2030-01-01").is_err());
    }

    #[test]
    fn url_fields_name_the_real_host() {
        let site = |v: &str| url_site(v).map(|s| (s.host, s.userinfo));
        assert_eq!(
            site("https://bank.example@evil.example/login"),
            Some(("evil.example".into(), Some("bank.example".into())))
        );
        assert_eq!(
            site("https://bank.example:pw@evil.example:8443/"),
            Some(("evil.example:8443".into(), Some("bank.example:pw".into())))
        );
        assert_eq!(
            site("https://mail.example/login?x=@y"),
            Some(("mail.example".into(), None))
        );
        assert_eq!(
            site("HTTPS://Mail.Example:443/"),
            Some(("mail.example".into(), None))
        );
        // International names in their ASCII form, which cannot pass for another script's look-alike.
        assert_eq!(
            site("https://b\u{fc}cher.example/"),
            Some(("xn--bcher-kva.example".into(), None))
        );
        assert_eq!(site("mail.example"), None);
        assert_eq!(site("javascript:alert(1)"), None);
        assert_eq!(site("ftp://files.example/"), None);
    }

    #[test]
    fn values_come_from_the_text_a_file_or_standard_input() {
        let inputs = Inputs::new();
        assert_eq!(inputs.value("x", "plain").unwrap().as_str(), "plain");
        assert_eq!(inputs.value("x", "@@at").unwrap().as_str(), "@at");
        assert_eq!(inputs.value("x", "").unwrap().as_str(), "");
        let dir = tempfile::tempdir().unwrap();
        let one = dir.path().join("one");
        std::fs::write(&one, "s3cret\n").unwrap();
        let spec = format!("@{}", one.display());
        assert_eq!(inputs.value("x", &spec).unwrap().as_str(), "s3cret");
        let key = dir.path().join("key");
        std::fs::write(&key, "line 1\nline 2\n").unwrap();
        let spec = format!("@{}", key.display());
        assert_eq!(
            inputs.value("x", &spec).unwrap().as_str(),
            "line 1\nline 2\n"
        );
        let bad = dir.path().join("bad");
        std::fs::write(&bad, [0xff, 0xfe]).unwrap();
        let spec = format!("@{}", bad.display());
        assert_eq!(
            inputs.value("x", &spec).map_err(|f| f.status).err(),
            Some(super::super::ExitStatus::Usage)
        );
        let missing = format!("@{}", dir.path().join("missing").display());
        assert!(inputs.value("x", &missing).is_err());
        // Standard input can be read once per command.
        inputs.stdin_taken.set(true);
        assert_eq!(
            inputs.value("x", "-").map_err(|f| f.status).err(),
            Some(super::super::ExitStatus::Usage)
        );
    }

    #[test]
    fn assignments() {
        assert_eq!(
            parse_assignment("a=b=c").ok(),
            Some(("a".into(), "b=c".into()))
        );
        assert_eq!(
            parse_assignment("a=").ok(),
            Some(("a".into(), String::new()))
        );
        assert!(parse_assignment("=b").is_err());
        assert!(parse_assignment("ab").is_err());
    }

    #[test]
    fn short_ids_are_unambiguous_and_prefixes_resolve() {
        let a = Uuid::parse_str("12345678-aaaa-4000-8000-000000000000").unwrap_or_default();
        let b = Uuid::parse_str("12345678-abbb-4000-8000-000000000000").unwrap_or_default();
        let c = Uuid::parse_str("99999999-0000-4000-8000-000000000000").unwrap_or_default();
        let short = short_ids(&[a, b, c]);
        assert_eq!(
            short,
            vec![
                "12345678-aa".to_owned(),
                "12345678-ab".to_owned(),
                "99999999".to_owned()
            ]
        );
        assert_eq!(resolve_id("record", "9999", &[a, b, c]).ok(), Some(c));
        assert_eq!(
            resolve_id("record", "12345678-ab", &[a, b, c]).ok(),
            Some(b)
        );
        assert_eq!(
            resolve_id("record", "12345678", &[a, b, c])
                .map_err(|f| f.status)
                .err(),
            Some(super::super::ExitStatus::Usage)
        );
        assert_eq!(
            resolve_id("record", "0000", &[a, b, c])
                .map_err(|f| f.status)
                .err(),
            Some(super::super::ExitStatus::Other)
        );
        assert!(resolve_id("record", "xyz", &[a]).is_err());
        assert_eq!(resolve_id("record", &a.to_string(), &[]).ok(), Some(a));
    }
}
