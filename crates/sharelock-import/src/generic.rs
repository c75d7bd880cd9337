//! Any CSV file with a header row, read through a column mapping: `title=Name,username=Login,…` says
//! which column fills what. Targets: `title` (required), `notes`, `type` (a Sharelock record type name
//! per row; login when empty), `folder`, or any field name (a standard name gets its kind, the row's
//! type's or else the first type's that has it; another name is a text field). A column whose header is a target's name maps itself unless the
//! mapping says otherwise; every column left unmapped becomes a text field named by its header.

use crate::csvfile::{Table, cell, normal};
use crate::draft::Draft;
use crate::{Format, Import, ImportError, WarningCode};
use sharelock_core::record::{FieldKind as K, RecordType as T};

const F: Format = Format::GenericCsv;

/// A column mapping: `(target, column header)` pairs in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnMap {
    pairs: Vec<(String, String)>,
}

impl ColumnMap {
    /// Parses `target=Column,target=Column,…` (targets in lower case; a column is named exactly as in
    /// the header, surrounding spaces ignored).
    pub fn parse(text: &str) -> Result<Self, ImportError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for part in text.split(',') {
            if part.trim().is_empty() {
                continue;
            }
            let Some((target, column)) = part.split_once('=') else {
                return Err(ImportError::BadMapping(format!(
                    "{:?} is not target=Column",
                    part.trim()
                )));
            };
            let (target, column) = (target.trim().to_lowercase(), column.trim().to_owned());
            if target.is_empty() || column.is_empty() {
                return Err(ImportError::BadMapping(format!(
                    "{:?} is not target=Column",
                    part.trim()
                )));
            }
            if pairs.iter().any(|(t, _)| *t == target) {
                return Err(ImportError::BadMapping(format!(
                    "{target:?} is mapped twice"
                )));
            }
            pairs.push((target, column));
        }
        Ok(ColumnMap { pairs })
    }

    /// The pairs, in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }
}

/// Targets a header maps to by its own name.
const SELF_TARGETS: &[&str] = &["title", "notes", "type", "folder"];

fn is_standard_name(name: &str) -> bool {
    T::ALL.iter().any(|t| t.standard_kind(name).is_some())
}

/// A mapped field's kind: the row's type's for a standard name of it, else the kind the first type
/// having that standard name gives it (a `password` stays secret on a general record), else text.
fn kind_for(record_type: T, name: &str) -> K {
    record_type
        .standard_kind(name)
        .or_else(|| T::ALL.iter().find_map(|t| t.standard_kind(name)))
        .unwrap_or(K::Text)
}

pub(crate) fn parse(text: &str, map: Option<&ColumnMap>) -> Result<Import, ImportError> {
    let table = Table::read(F, text)?;
    // target → column, the explicit mapping first.
    let mut targets: Vec<(String, usize)> = Vec::new();
    let empty = ColumnMap::default();
    for (target, column) in map.unwrap_or(&empty).pairs() {
        let Some(c) = table.names.iter().position(|n| n.trim() == column) else {
            return Err(ImportError::BadMapping(format!(
                "the header row has no column {column:?}"
            )));
        };
        if targets.iter().any(|(_, used)| *used == c) {
            return Err(ImportError::BadMapping(format!(
                "the column {column:?} is mapped twice"
            )));
        }
        targets.push((target.clone(), c));
    }
    for (c, name) in table.names.iter().enumerate() {
        let target = normal(name);
        let mappable = SELF_TARGETS.contains(&target.as_str()) || is_standard_name(&target);
        if mappable && !targets.iter().any(|(t, used)| *t == target || *used == c) {
            targets.push((target, c));
        }
    }
    let column = |target: &str| targets.iter().find(|(t, _)| t == target).map(|(_, c)| *c);
    let Some(title) = column("title") else {
        return Err(ImportError::BadMapping(
            "no column is mapped to the title: give one, e.g. --map title=Name".into(),
        ));
    };
    let mut items = Vec::new();
    for (i, row) in table.rows.iter().enumerate() {
        let type_name = cell(row, column("type")).trim().to_lowercase();
        let record_type = if type_name.is_empty() {
            T::Login
        } else {
            T::parse(&type_name).unwrap_or(T::General)
        };
        let mut d = Draft::new(record_type, cell(row, Some(title)));
        if !type_name.is_empty() && T::parse(&type_name).is_none() {
            d.warn(WarningCode::UnknownType, Some(&type_name));
        }
        for (target, c) in &targets {
            if SELF_TARGETS.contains(&target.as_str()) {
                continue;
            }
            d.field(target, kind_for(record_type, target), cell(row, Some(*c)));
        }
        for (c, name) in table.names.iter().enumerate() {
            if !targets.iter().any(|(_, used)| *used == c) {
                d.field(name, K::Text, cell(row, Some(c)));
            }
        }
        d.field("folder", K::Text, cell(row, column("folder")));
        d.notes(cell(row, column("notes")));
        items.push(d.finish(i));
    }
    Ok(Import {
        format: F,
        items,
        warnings: Vec::new(),
    })
}
