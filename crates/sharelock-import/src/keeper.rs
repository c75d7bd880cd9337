//! Keeper: the JSON export (`{"records":[{"title","$type","login","password","login_url","notes",
//! "custom_fields":{…},"folders":[…]}]}`) and the CSV export (no header row: folder, title, login,
//! password, website address, notes, shared folder, then custom field name/value pairs).
//!
//! Custom field names of typed records are `$<field type>[:<label>[:<n>]]`; a plain name is a text
//! field of that name. Members of an object are read in sorted key order (JSON objects have none).

use crate::csvfile::rows;
use crate::draft::{Draft, unix_date};
use crate::json::{self, Obj, scalar_text};
use crate::{Format, Import, ImportError, WarningCode};
use serde_json::Value;
use sharelock_core::record::{FieldKind as K, RecordType as T};

const JSON: Format = Format::KeeperJson;
const CSV: Format = Format::KeeperCsv;

fn record_type(name: &str) -> T {
    match name {
        "" | "login" => T::Login,
        "bankCard" => T::Card,
        "bankAccount" => T::Bank,
        "sshKeys" => T::Ssh,
        "databaseCredentials" => T::Database,
        "serverCredentials" => T::Server,
        "wifiCredentials" => T::Wifi,
        "encryptedNotes" => T::Note,
        "file" => T::File,
        _ => T::General,
    }
}

pub(crate) fn parse_json(text: &str) -> Result<Import, ImportError> {
    let value = json::parse(JSON, text)?;
    let top = Obj::new(&value, JSON, "the document")?;
    if !top.map.get("records").is_some_and(Value::is_array) {
        return Err(ImportError::malformed(JSON, "no `records` array"));
    }
    let mut items = Vec::new();
    for (i, value) in top.array("records")?.iter().enumerate() {
        let r = Obj::new(value, JSON, format!("record {i}"))?;
        let mut d = Draft::new(record_type(r.str("$type")?), r.str("title")?);
        login_fields(
            &mut d,
            r.str("login")?,
            r.str("password")?,
            r.str("login_url")?,
        );
        if let Some(custom) = r.object("custom_fields")? {
            let mut keys: Vec<&String> = custom.map.keys().collect();
            keys.sort();
            for key in keys {
                custom_field(&mut d, key, &custom.map[key]);
            }
        }
        let mut folders = Vec::new();
        for (n, folder) in r.array("folders")?.iter().enumerate() {
            let f = Obj::new(folder, JSON, format!("record {i} folder {n}"))?;
            let name = match f.str("folder")? {
                "" => f.str("shared_folder")?,
                name => name,
            };
            if !name.is_empty() {
                folders.push(name);
            }
        }
        d.field("folder", K::Text, &folders.join(", "));
        d.notes(r.str("notes")?);
        for (n, attachment) in r.array("attachments")?.iter().enumerate() {
            let a = Obj::new(attachment, JSON, format!("record {i} attachment {n}"))?;
            let name = match a.str("name")? {
                "" => a.str("title")?,
                name => name,
            };
            d.warn(WarningCode::AttachmentNotImported, Some(name));
        }
        items.push(d.finish(i));
    }
    Ok(Import {
        format: JSON,
        items,
        warnings: Vec::new(),
    })
}

/// The login, password and website of any record: standard fields where the type has them.
fn login_fields(d: &mut Draft, login: &str, password: &str, url: &str) {
    d.standard("username", login);
    if d.record_type() == T::Ssh {
        d.standard("passphrase", password);
    } else {
        d.field("password", K::Secret, password);
    }
    d.field("url", K::Url, url);
}

/// One `custom_fields` member.
fn custom_field(d: &mut Draft, key: &str, value: &Value) {
    let (field_type, label) = match key.strip_prefix('$') {
        Some(typed) => {
            let mut parts = typed.splitn(3, ':');
            let field_type = parts.next().unwrap_or("");
            (field_type, parts.next().unwrap_or(""))
        }
        None => ("text", key),
    };
    let rt = d.record_type();
    let name_or = |default: &str| -> String {
        if label.is_empty() {
            default.to_owned()
        } else {
            label.to_owned()
        }
    };
    if let Value::Object(map) = value {
        let get = |k: &str| map.get(k).and_then(scalar_text).unwrap_or_default();
        match field_type {
            "paymentCard" => {
                d.field("number", K::Secret, &get("cardNumber"));
                d.field("expiry", K::Date, &card_expiry(&get("cardExpirationDate")));
                d.field("cvv", K::Secret, &get("cardSecurityCode"));
            }
            "bankAccount" => {
                d.field("account type", K::Text, &get("accountType"));
                d.field("routing_number", K::Text, &get("routingNumber"));
                d.field("account_number", K::Secret, &get("accountNumber"));
                d.field("other type", K::Text, &get("otherType"));
            }
            "host" => {
                d.field("hostname", K::Text, &get("hostName"));
                d.field("port", K::Text, &get("port"));
            }
            "keyPair" => {
                d.field("private_key", K::Secret, &get("privateKey"));
                d.field("public_key", K::Multiline, &get("publicKey"));
            }
            "name" => {
                let full: Vec<String> = ["first", "middle", "last"]
                    .iter()
                    .map(|k| get(k))
                    .filter(|s| !s.is_empty())
                    .collect();
                let default = if rt == T::Bank { "holder" } else { "name" };
                d.field(&name_or(default), K::Text, &full.join(" "));
            }
            "phone" => d.field(&name_or("phone"), K::Phone, &get("number")),
            "address" => {
                let lines: Vec<String> = ["street1", "street2", "city", "state", "zip", "country"]
                    .iter()
                    .map(|k| get(k))
                    .filter(|s| !s.is_empty())
                    .collect();
                d.field(&name_or("address"), K::Multiline, &lines.join("\n"));
            }
            _ => {
                // An object of another field type: each member as a line `key: value`.
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                let mut lines = Vec::new();
                for k in keys {
                    match scalar_text(&map[k]) {
                        Some(v) if !v.is_empty() => lines.push(format!("{k}: {v}")),
                        Some(_) => {}
                        None => {
                            d.warn(
                                WarningCode::FieldNotImported,
                                Some(&format!("{}.{k}", name_or(field_type))),
                            );
                        }
                    }
                }
                d.field(&name_or(field_type), K::Multiline, &lines.join("\n"));
            }
        }
        return;
    }
    let text = match value {
        Value::Array(list) => {
            let parts: Option<Vec<String>> = list.iter().map(scalar_text).collect();
            match parts {
                Some(parts) => parts.join(", "),
                None => {
                    d.warn(WarningCode::FieldNotImported, Some(&name_or(field_type)));
                    return;
                }
            }
        }
        Value::Null => return,
        other => match scalar_text(other) {
            Some(t) => t,
            None => {
                d.warn(WarningCode::FieldNotImported, Some(&name_or(field_type)));
                return;
            }
        },
    };
    typed_value(d, field_type, label, &text);
}

/// A field of a Keeper field type whose value is text.
fn typed_value(d: &mut Draft, field_type: &str, label: &str, text: &str) {
    let rt = d.record_type();
    let name_or = |default: &str| -> String {
        if label.is_empty() {
            default.to_owned()
        } else {
            label.to_owned()
        }
    };
    match (field_type, label) {
        ("oneTimeCode", _) => d.field(&name_or("totp"), K::Otp, text),
        ("pinCode", _) => d.field(&name_or("pin"), K::Secret, text),
        ("text", "cardholderName") if rt == T::Card => d.field("cardholder", K::Text, text),
        ("text", "type") if rt == T::Database => d.field("engine", K::Text, text),
        ("text", "SSID") if rt == T::Wifi => d.field("ssid", K::Text, text),
        ("login", _) => d.field(&name_or("username"), K::Text, text),
        ("password" | "secret", _) => d.field(&name_or(field_type), K::Secret, text),
        ("email", _) => d.field(&name_or("email"), K::Email, text),
        ("url", _) => d.field(&name_or("url"), K::Url, text),
        ("phone", _) => d.field(&name_or("phone"), K::Phone, text),
        ("multiline" | "note", _) => d.field(&name_or(field_type), K::Multiline, text),
        ("date" | "birthDate" | "expirationDate", _) => {
            // Keeper writes dates as Unix milliseconds.
            let date = text
                .parse::<i64>()
                .ok()
                .and_then(|ms| unix_date(ms.div_euclid(1000)))
                .unwrap_or_else(|| text.to_owned());
            d.field(&name_or(field_type), K::Date, &date);
        }
        _ => d.field(&name_or(field_type), K::Text, text),
    }
}

/// `MM/YYYY` → `YYYY-MM`; anything else as it is.
fn card_expiry(value: &str) -> String {
    match value.split_once('/') {
        Some((m, y)) => crate::draft::month_year(m, y),
        None => value.to_owned(),
    }
}

pub(crate) fn parse_csv(text: &str) -> Result<Import, ImportError> {
    let mut rows = rows(CSV, text)?;
    let header = [
        "folder",
        "title",
        "login",
        "password",
        "website address",
        "notes",
    ];
    if rows.first().is_some_and(|r| {
        r.len() >= header.len()
            && r.iter()
                .zip(header)
                .all(|(cell, name)| crate::csvfile::normal(cell) == name)
    }) {
        rows.remove(0);
    }
    let mut items = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        if row.len() < 6 {
            return Err(ImportError::malformed(
                CSV,
                format!(
                    "row {} has {} columns; a Keeper CSV row has at least 6 (folder, title, login, \
                     password, website address, notes)",
                    i + 1,
                    row.len()
                ),
            ));
        }
        let c = |n: usize| row.get(n).map_or("", String::as_str);
        let mut d = Draft::new(T::Login, c(1));
        login_fields(&mut d, c(2), c(3), c(4));
        let mut n = 7;
        while n < row.len() {
            let (name, value) = (c(n), c(n + 1));
            match name.strip_prefix('$') {
                Some(typed) => {
                    let mut parts = typed.splitn(3, ':');
                    let field_type = parts.next().unwrap_or("");
                    typed_value(&mut d, field_type, parts.next().unwrap_or(""), value);
                }
                None => d.field(name, K::Text, value),
            }
            n += 2;
        }
        d.field("folder", K::Text, c(0));
        d.field("shared folder", K::Text, c(6));
        d.notes(c(5));
        items.push(d.finish(i));
    }
    Ok(Import {
        format: CSV,
        items,
        warnings: Vec::new(),
    })
}
