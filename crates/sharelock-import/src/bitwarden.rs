//! Bitwarden: the unencrypted JSON export (every item type) and the CSV export (logins and notes).

use crate::csvfile::{Table, cell};
use crate::draft::{Draft, month_year};
use crate::json::{self, Obj};
use crate::{Format, Import, ImportError, WarningCode};
use sharelock_core::record::{FieldKind as K, RecordType as T};
use std::collections::HashMap;

const JSON: Format = Format::BitwardenJson;
const CSV: Format = Format::BitwardenCsv;

pub(crate) fn parse_json(text: &str) -> Result<Import, ImportError> {
    let value = json::parse(JSON, text)?;
    let top = Obj::new(&value, JSON, "the document")?;
    if top.flag("encrypted") || top.flag("passwordProtected") {
        return Err(ImportError::Encrypted(
            "this Bitwarden export is encrypted: export the vault again as \"JSON\" (not \
             \"JSON (Encrypted)\")"
                .into(),
        ));
    }
    if !top.map.get("items").is_some_and(|v| v.is_array()) {
        return Err(ImportError::malformed(JSON, "no `items` array"));
    }
    let mut folders = HashMap::new();
    for (i, folder) in top.array("folders")?.iter().enumerate() {
        let f = Obj::new(folder, JSON, format!("folder {i}"))?;
        folders.insert(f.str("id")?.to_owned(), f.str("name")?.to_owned());
    }
    let mut items = Vec::new();
    for (i, value) in top.array("items")?.iter().enumerate() {
        let item = Obj::new(value, JSON, format!("item {i}"))?;
        items.push(json_item(&item, &folders)?.finish(i));
    }
    Ok(Import {
        format: JSON,
        items,
        warnings: Vec::new(),
    })
}

fn json_item(item: &Obj<'_>, folders: &HashMap<String, String>) -> Result<Draft, ImportError> {
    let kind = item.int("type")?.unwrap_or(0);
    let record_type = match kind {
        1 => T::Login,
        2 => T::Note,
        3 => T::Card,
        5 => T::Ssh,
        _ => T::General,
    };
    let mut d = Draft::new(record_type, item.str("name")?);
    match kind {
        1 => {
            if let Some(login) = item.object("login")? {
                d.standard("username", login.str("username")?);
                d.standard("password", login.str("password")?);
                for (n, uri) in login.array("uris")?.iter().enumerate() {
                    let uri = Obj::new(uri, JSON, format!("{} uri {n}", item.place))?;
                    let name = if n == 0 {
                        "url".to_owned()
                    } else {
                        format!("url {}", n + 1)
                    };
                    d.field(&name, K::Url, uri.str("uri")?);
                }
                d.standard("totp", login.str("totp")?);
                if !login.array("fido2Credentials")?.is_empty() {
                    d.warn(WarningCode::PasskeyNotImported, None);
                }
            }
        }
        2 => {}
        3 => {
            if let Some(card) = item.object("card")? {
                d.standard("cardholder", card.str("cardholderName")?);
                d.standard("number", card.str("number")?);
                d.standard(
                    "expiry",
                    &month_year(&card.text("expMonth")?, &card.text("expYear")?),
                );
                d.standard("cvv", card.str("code")?);
                d.field("brand", K::Text, card.str("brand")?);
            }
        }
        4 => {
            if let Some(identity) = item.object("identity")? {
                for (key, name, kind) in IDENTITY {
                    d.field(name, *kind, identity.str(key)?);
                }
            }
        }
        5 => {
            if let Some(key) = item.object("sshKey")? {
                d.standard("private_key", key.str("privateKey")?);
                d.standard("public_key", key.str("publicKey")?);
                d.field("fingerprint", K::Text, key.str("keyFingerprint")?);
            }
        }
        other => d.warn(WarningCode::UnknownType, Some(&other.to_string())),
    }
    for (n, field) in item.array("fields")?.iter().enumerate() {
        let f = Obj::new(field, JSON, format!("{} field {n}", item.place))?;
        let name = f.str("name")?;
        match f.int("type")?.unwrap_or(0) {
            1 => d.field(name, K::Secret, &f.text("value")?),
            3 => d.warn(WarningCode::FieldNotImported, Some(name)),
            _ => d.field(name, K::Text, &f.text("value")?),
        }
    }
    if let Some(folder) = folders.get(item.str("folderId")?) {
        d.field("folder", K::Text, folder);
    }
    d.notes(item.str("notes")?);
    if !item.array("passwordHistory")?.is_empty() {
        d.warn(WarningCode::PasswordHistoryNotImported, None);
    }
    for (n, attachment) in item.array("attachments")?.iter().enumerate() {
        let a = Obj::new(attachment, JSON, format!("{} attachment {n}", item.place))?;
        d.warn(WarningCode::AttachmentNotImported, Some(a.str("fileName")?));
    }
    Ok(d)
}

/// Bitwarden identity keys, the names they get, and their kinds.
const IDENTITY: &[(&str, &str, K)] = &[
    ("title", "title", K::Text),
    ("firstName", "first name", K::Text),
    ("middleName", "middle name", K::Text),
    ("lastName", "last name", K::Text),
    ("address1", "address 1", K::Text),
    ("address2", "address 2", K::Text),
    ("address3", "address 3", K::Text),
    ("city", "city", K::Text),
    ("state", "state", K::Text),
    ("postalCode", "postal code", K::Text),
    ("country", "country", K::Text),
    ("company", "company", K::Text),
    ("email", "email", K::Email),
    ("phone", "phone", K::Phone),
    ("ssn", "ssn", K::Secret),
    ("username", "username", K::Text),
    ("passportNumber", "passport number", K::Secret),
    ("licenseNumber", "license number", K::Secret),
];

/// Columns of the CSV export that carry nothing to keep (a mark, not data).
const CSV_IGNORED: &[&str] = &["favorite", "reprompt"];
const CSV_USED: &[&str] = &[
    "folder",
    "collections",
    "type",
    "name",
    "notes",
    "fields",
    "login_uri",
    "login_username",
    "login_password",
    "login_totp",
];

pub(crate) fn parse_csv(text: &str) -> Result<Import, ImportError> {
    let table = Table::read(CSV, text)?;
    table.require(
        CSV,
        &[
            "type",
            "name",
            "login_uri",
            "login_username",
            "login_password",
        ],
    )?;
    let col = |name: &str| table.column(name);
    let mut items = Vec::new();
    for (i, row) in table.rows.iter().enumerate() {
        let kind = cell(row, col("type"));
        let record_type = match kind {
            "login" => T::Login,
            "note" => T::Note,
            _ => T::General,
        };
        let mut d = Draft::new(record_type, cell(row, col("name")));
        if record_type == T::General {
            d.warn(WarningCode::UnknownType, Some(kind));
        }
        d.standard("username", cell(row, col("login_username")));
        d.standard("password", cell(row, col("login_password")));
        let uris = cell(row, col("login_uri"));
        if !uris.is_empty() {
            for (n, uri) in uris.split(',').enumerate() {
                let name = if n == 0 {
                    "url".to_owned()
                } else {
                    format!("url {}", n + 1)
                };
                d.field(&name, K::Url, uri);
            }
        }
        d.standard("totp", cell(row, col("login_totp")));
        for line in cell(row, col("fields")).split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.is_empty() {
                continue;
            }
            match line.split_once(": ") {
                Some((name, value)) => d.field(name, K::Text, value),
                None => d.field("field", K::Text, line),
            }
        }
        let folder = cell(row, col("folder"));
        let folder = if folder.is_empty() {
            cell(row, col("collections"))
        } else {
            folder
        };
        d.field("folder", K::Text, folder);
        other_columns(&mut d, &table, row, CSV_USED, CSV_IGNORED);
        d.notes(cell(row, col("notes")));
        items.push(d.finish(i));
    }
    Ok(Import {
        format: CSV,
        items,
        warnings: Vec::new(),
    })
}

/// Every column not `used` nor `ignored` becomes a text field named by its header: nothing a CSV file
/// holds is left behind.
pub(crate) fn other_columns(
    d: &mut Draft,
    table: &Table,
    row: &[String],
    used: &[&str],
    ignored: &[&str],
) {
    for (c, name) in table.names.iter().enumerate() {
        let normal = crate::csvfile::normal(name);
        if used.contains(&normal.as_str()) || ignored.contains(&normal.as_str()) {
            continue;
        }
        d.field(name, K::Text, cell(row, Some(c)));
    }
}
