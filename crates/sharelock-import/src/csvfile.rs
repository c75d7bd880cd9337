//! CSV as every CSV format here reads it: RFC 4180 (comma, double quotes, CRLF or LF), rows of any
//! length, blank lines skipped.

use crate::{Format, ImportError, MAX_ITEMS};

/// Every row of `text`, as strings.
pub(crate) fn rows(format: Format, text: &str) -> Result<Vec<Vec<String>>, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| {
            ImportError::malformed(
                format,
                format!(
                    "CSV row {}: {}",
                    i + 1,
                    e.position().map_or(0, |p| p.line())
                ),
            )
        })?;
        let row: Vec<String> = record.iter().map(str::to_owned).collect();
        if row.iter().all(String::is_empty) {
            continue;
        }
        if out.len() > MAX_ITEMS {
            return Err(ImportError::TooLarge(format!(
                "the file holds more than {MAX_ITEMS} items"
            )));
        }
        out.push(row);
    }
    Ok(out)
}

/// The header row's names, trimmed and in lower case (for detection).
pub(crate) fn header(text: &str) -> Option<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let record = reader.records().next()?.ok()?;
    Some(record.iter().map(normal).collect())
}

/// A header name as compared: trimmed, lower case.
pub(crate) fn normal(name: &str) -> String {
    name.trim().to_lowercase()
}

/// A CSV file with a header row: rows as maps from the header's (normalised) names to cells.
pub(crate) struct Table {
    /// The header's names as written.
    pub names: Vec<String>,
    /// The rows after the header.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn read(format: Format, text: &str) -> Result<Self, ImportError> {
        let mut rows = rows(format, text)?;
        if rows.is_empty() {
            return Err(ImportError::malformed(format, "the file is empty"));
        }
        let names = rows.remove(0);
        Ok(Table { names, rows })
    }

    /// The column of a normalised name.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| normal(n) == name)
    }

    /// Fails unless every one of `names` is a column.
    pub fn require(&self, format: Format, names: &[&str]) -> Result<(), ImportError> {
        let missing: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| self.column(n).is_none())
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(ImportError::malformed(
                format,
                format!("the header row has no column {}", missing.join(", ")),
            ))
        }
    }
}

/// A row's cell, "" past its end.
pub(crate) fn cell(row: &[String], column: Option<usize>) -> &str {
    column.and_then(|c| row.get(c)).map_or("", String::as_str)
}
