//! A record on its way in: every parser adds fields as the source has them, and [`Draft::finish`] makes
//! them fit the record rules (docs/protocol.md §3.3) the same way for every format, saying what it
//! changed, then validates the body with the core. The web app's `web/src/import/draft.ts` is the same
//! code; the sample files pin both.

use crate::{Item, Warning, WarningCode};
use sharelock_core::record::{
    Field, FieldKind, MAX_FIELD_NAME_LEN, MAX_TITLE_LEN, RecordBody, RecordType, is_valid_date,
    is_valid_otp,
};
use std::collections::HashSet;

/// The title given to an item that has none.
pub const UNTITLED: &str = "Untitled";
/// The name given to a field that has none.
pub const UNNAMED_FIELD: &str = "field";

#[derive(Debug)]
pub(crate) struct Draft {
    record_type: RecordType,
    title: String,
    fields: Vec<(String, FieldKind, String)>,
    notes: String,
    warnings: Vec<Warning>,
}

impl Draft {
    pub fn new(record_type: RecordType, title: &str) -> Self {
        Draft {
            record_type,
            title: title.to_owned(),
            fields: Vec::new(),
            notes: String::new(),
            warnings: Vec::new(),
        }
    }

    pub fn record_type(&self) -> RecordType {
        self.record_type
    }

    /// Adds a field; an empty value adds nothing (a blank field carries nothing over).
    pub fn field(&mut self, name: &str, kind: FieldKind, value: &str) {
        if !value.is_empty() {
            self.fields.push((name.to_owned(), kind, value.to_owned()));
        }
    }

    /// Adds a field with the kind the record type gives that name (text for a custom name).
    pub fn standard(&mut self, name: &str, value: &str) {
        let kind = self
            .record_type
            .standard_kind(name)
            .unwrap_or(FieldKind::Text);
        self.field(name, kind, value);
    }

    /// Whether a field of this name was added.
    pub fn has(&self, name: &str) -> bool {
        self.fields.iter().any(|(n, _, _)| n == name)
    }

    /// Appends to the notes, after a blank line if there are notes already.
    pub fn notes(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        if !self.notes.is_empty() {
            self.notes.push_str("\n\n");
        }
        self.notes.push_str(text);
    }

    pub fn warn(&mut self, code: WarningCode, name: Option<&str>) {
        self.warnings.push(Warning {
            code,
            name: name.map(str::to_owned),
        });
    }

    /// Makes the draft a record: cleans the title and names, fits each value to a kind it is valid
    /// for, and validates the body (an invalid one is an item with an error and no body).
    pub fn finish(self, source: usize) -> Item {
        let mut warnings = Vec::new();
        let title = clean_title(&self.title);
        if title != self.title {
            warnings.push(warning(WarningCode::TitleChanged, None));
        }
        let mut body = RecordBody::new(self.record_type, title.clone());
        let mut used: HashSet<String> = HashSet::new();
        for (name, kind, value) in self.fields {
            let final_name = unique_name(&clean_line(&name), &used);
            used.insert(final_name.clone());
            if final_name != name {
                warnings.push(warning(WarningCode::FieldRenamed, Some(&final_name)));
            }
            let cleaned = strip_controls(&value);
            if cleaned != value {
                warnings.push(warning(WarningCode::ControlRemoved, Some(&final_name)));
            }
            let fitted = fit_kind(kind, &cleaned);
            if fitted != kind {
                warnings.push(warning(WarningCode::KindChanged, Some(&final_name)));
            }
            body.fields.push(Field {
                name: final_name,
                kind: fitted,
                value: cleaned,
            });
        }
        let notes = strip_controls(&self.notes);
        if notes != self.notes {
            warnings.push(warning(WarningCode::ControlRemoved, Some("notes")));
        }
        body.notes = notes;
        let mut all = self.warnings;
        all.extend(warnings);
        let error = body
            .validate()
            .and_then(|()| body.to_json().map(drop))
            .err()
            .map(|e| e.kind().to_owned());
        Item {
            source,
            title,
            body: error.is_none().then_some(body),
            warnings: all,
            error,
        }
    }
}

fn warning(code: WarningCode, name: Option<&str>) -> Warning {
    Warning {
        code,
        name: name.map(str::to_owned),
    }
}

/// One line: every control character (Unicode Cc) and U+2028/U+2029 becomes a space.
pub(crate) fn clean_line(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// The longest prefix of `text` of at most `max` UTF-8 bytes that ends on a character boundary.
pub(crate) fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn clean_title(title: &str) -> String {
    let line = clean_line(title);
    if line.chars().all(|c| c == ' ') {
        return UNTITLED.to_owned();
    }
    truncate(&line, MAX_TITLE_LEN).to_owned()
}

/// A field name that is valid and not yet used: empty names become [`UNNAMED_FIELD`], long ones are cut,
/// a repeated one gets " 2", " 3", … (the base cut so the whole fits).
fn unique_name(name: &str, used: &HashSet<String>) -> String {
    let base = if name.is_empty() { UNNAMED_FIELD } else { name };
    let base = truncate(base, MAX_FIELD_NAME_LEN);
    if !used.contains(base) {
        return base.to_owned();
    }
    let mut n = 2usize;
    loop {
        let suffix = format!(" {n}");
        let candidate = format!(
            "{}{suffix}",
            truncate(base, MAX_FIELD_NAME_LEN - suffix.len())
        );
        if !used.contains(&candidate) {
            return candidate;
        }
        n += 1;
    }
}

/// Removes control characters other than TAB, CR and LF.
fn strip_controls(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() || matches!(c, '\t' | '\r' | '\n'))
        .collect()
}

fn has_line_break(text: &str) -> bool {
    text.contains(['\n', '\r', '\u{2028}', '\u{2029}'])
}

/// The kind a value is kept with: `kind` when the value is valid for it; otherwise a one-time code
/// seed or a multi-line secret stays secret, a multi-line value of another kind becomes multiline, and
/// a date, email or phone number in another form becomes text.
fn fit_kind(kind: FieldKind, value: &str) -> FieldKind {
    use FieldKind as K;
    if !kind.allows_line_breaks() && has_line_break(value) {
        return if kind == K::Otp {
            K::Secret
        } else {
            K::Multiline
        };
    }
    match kind {
        K::Otp if !is_valid_otp(value) => K::Secret,
        K::Date if !is_valid_date(value) => K::Text,
        K::Email if value.matches('@').count() != 1 => K::Text,
        K::Phone
            if !value
                .chars()
                .all(|c| c.is_ascii_digit() || " +-().".contains(c)) =>
        {
            K::Text
        }
        other => other,
    }
}

/// `YYYY-MM` from a month (1–12, one or two digits) and a year (four digits, or two meaning 20YY);
/// otherwise the parts joined with `/`, which the draft then keeps as text.
pub(crate) fn month_year(month: &str, year: &str) -> String {
    let (month, year) = (month.trim(), year.trim());
    let year = if year.len() == 2 && year.bytes().all(|b| b.is_ascii_digit()) {
        format!("20{year}")
    } else {
        year.to_owned()
    };
    let m = (1..=2).contains(&month.len()) && month.bytes().all(|b| b.is_ascii_digit());
    let y = year.len() == 4 && year.bytes().all(|b| b.is_ascii_digit());
    if m && y {
        let n: u32 = month.parse().unwrap_or(0);
        if (1..=12).contains(&n) {
            return format!("{year}-{n:02}");
        }
    }
    [month, year.as_str()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("/")
}

/// A date (`YYYY-MM-DD`, UTC) from Unix seconds, or `None` outside years 1–9999.
pub(crate) fn unix_date(seconds: i64) -> Option<String> {
    let t = time::OffsetDateTime::from_unix_timestamp(seconds).ok()?;
    if t.year() < 1 {
        return None;
    }
    Some(format!(
        "{:04}-{:02}-{:02}",
        t.year(),
        u8::from(t.month()),
        t.day()
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn names_are_made_unique_and_fit() {
        let mut used = HashSet::new();
        for (input, want) in [
            ("url", "url"),
            ("url", "url 2"),
            ("url", "url 3"),
            ("", "field"),
            ("", "field 2"),
        ] {
            let got = unique_name(input, &used);
            assert_eq!(got, want);
            used.insert(got);
        }
        let long = "é".repeat(40);
        let first = unique_name(&long, &used);
        assert_eq!(first.len(), 64);
        used.insert(first);
        let second = unique_name(&long, &used);
        assert!(second.len() <= 64 && second.ends_with(" 2"), "{second}");
    }

    #[test]
    fn values_keep_a_kind_they_fit() {
        use FieldKind as K;
        assert_eq!(fit_kind(K::Otp, "JBSWY3DPEHPK3PXP"), K::Otp);
        assert_eq!(fit_kind(K::Otp, "steam://ABC"), K::Secret);
        assert_eq!(fit_kind(K::Date, "2027-03"), K::Date);
        assert_eq!(fit_kind(K::Date, "March 2027"), K::Text);
        assert_eq!(fit_kind(K::Email, "a@b"), K::Email);
        assert_eq!(fit_kind(K::Email, "nobody"), K::Text);
        assert_eq!(fit_kind(K::Phone, "+1 (555) 010-0000"), K::Phone);
        assert_eq!(fit_kind(K::Phone, "ext. 5"), K::Text);
        assert_eq!(fit_kind(K::Text, "a\nb"), K::Multiline);
        assert_eq!(fit_kind(K::Secret, "a\nb"), K::Secret);
    }

    #[test]
    fn titles_and_dates() {
        assert_eq!(clean_title(""), UNTITLED);
        assert_eq!(clean_title(" \t "), UNTITLED);
        assert_eq!(clean_title("a\nb"), "a b");
        assert_eq!(clean_title(&"x".repeat(300)).len(), 256);
        assert_eq!(month_year("3", "27"), "2027-03");
        assert_eq!(month_year("12", "2030"), "2030-12");
        assert_eq!(month_year("13", "2030"), "13/2030");
        assert_eq!(month_year("", "2030"), "2030");
        assert_eq!(unix_date(0).as_deref(), Some("1970-01-01"));
        assert_eq!(unix_date(1_700_000_000).as_deref(), Some("2023-11-14"));
    }

    #[test]
    fn an_invalid_record_is_reported_not_created() {
        let mut d = Draft::new(RecordType::Note, "big");
        d.field("blob", FieldKind::Multiline, &"x".repeat(70_000));
        let item = d.finish(4);
        assert!(item.body.is_none());
        assert_eq!(item.error.as_deref(), Some("value_too_long"));
        assert_eq!(item.source, 4);
    }
}
