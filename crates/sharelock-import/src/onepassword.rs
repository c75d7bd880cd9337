//! 1Password: the 1PUX export (a zip archive; `export.data` is the JSON of accounts → vaults → items,
//! attachments under `files/` are not read) and 1Password 8's CSV export.

use crate::bitwarden::other_columns;
use crate::csvfile::{Table, cell};
use crate::draft::{Draft, unix_date};
use crate::json::{self, Obj};
use crate::{Format, Import, ImportError, MAX_TEXT_BYTES, WarningCode, too_large_text};
use serde_json::Value;
use sharelock_core::record::{FieldKind as K, RecordType as T};
use std::io::Read;

const PUX: Format = Format::OnePassword1pux;
const CSV: Format = Format::OnePasswordCsv;

/// Category → record type, and the section field ids that are standard fields of it.
fn category(uuid: &str) -> (T, &'static [(&'static str, &'static str)]) {
    match uuid {
        "001" | "005" => (T::Login, &[]),
        "002" => (
            T::Card,
            &[
                ("cardholder", "cardholder"),
                ("ccnum", "number"),
                ("cvv", "cvv"),
                ("expiry", "expiry"),
                ("pin", "pin"),
            ],
        ),
        "003" => (T::Note, &[]),
        "006" => (T::File, &[]),
        "101" => (
            T::Bank,
            &[
                ("bankName", "bank"),
                ("owner", "holder"),
                ("accountNo", "account_number"),
                ("routingNo", "routing_number"),
                ("iban", "iban"),
                ("swift", "swift"),
                ("telephonePin", "pin"),
            ],
        ),
        "102" => (
            T::Database,
            &[
                ("database_type", "engine"),
                ("hostname", "hostname"),
                ("port", "port"),
                ("database", "database"),
                ("username", "username"),
                ("password", "password"),
            ],
        ),
        "109" => (
            T::Wifi,
            &[
                ("network_name", "ssid"),
                ("wireless_password", "password"),
                ("wireless_security", "security"),
            ],
        ),
        "110" => (
            T::Server,
            &[
                ("url", "hostname"),
                ("username", "username"),
                ("password", "password"),
            ],
        ),
        "114" => (T::Ssh, &[("private_key", "private_key")]),
        _ => (T::General, &[]),
    }
}

/// Reads `export.data` out of the archive, refusing more than [`MAX_TEXT_BYTES`] of it.
fn export_data(bytes: &[u8]) -> Result<String, ImportError> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|_| ImportError::malformed(PUX, "not a zip archive"))?;
    let entry = archive
        .by_name("export.data")
        .map_err(|_| ImportError::malformed(PUX, "the archive has no export.data"))?;
    let mut data = Vec::new();
    entry
        .take(MAX_TEXT_BYTES as u64 + 1)
        .read_to_end(&mut data)
        .map_err(|_| ImportError::malformed(PUX, "export.data cannot be decompressed"))?;
    if data.len() > MAX_TEXT_BYTES {
        return Err(too_large_text());
    }
    String::from_utf8(data).map_err(|_| ImportError::NotUtf8)
}

pub(crate) fn parse_1pux(bytes: &[u8]) -> Result<Import, ImportError> {
    let text = export_data(bytes)?;
    let value = json::parse(PUX, &text)?;
    let top = Obj::new(&value, PUX, "export.data")?;
    if !top.map.get("accounts").is_some_and(Value::is_array) {
        return Err(ImportError::malformed(
            PUX,
            "export.data has no `accounts` array",
        ));
    }
    let mut items = Vec::new();
    for (a, account) in top.array("accounts")?.iter().enumerate() {
        let account = Obj::new(account, PUX, format!("account {a}"))?;
        for (v, vault) in account.array("vaults")?.iter().enumerate() {
            let vault = Obj::new(vault, PUX, format!("account {a} vault {v}"))?;
            let vault_name = match vault.object("attrs")? {
                Some(attrs) => attrs.str("name")?,
                None => "",
            };
            for (n, item) in vault.array("items")?.iter().enumerate() {
                let place = format!("account {a} vault {v} item {n}");
                let item = Obj::new(item, PUX, place)?;
                let source = items.len();
                items.push(pux_item(&item, vault_name)?.finish(source));
            }
        }
    }
    Ok(Import {
        format: PUX,
        items,
        warnings: Vec::new(),
    })
}

fn pux_item(item: &Obj<'_>, vault: &str) -> Result<Draft, ImportError> {
    let (record_type, standard) = category(item.str("categoryUuid")?);
    let overview = item.object("overview")?;
    let details = item.object("details")?;
    let title = match &overview {
        Some(o) => o.str("title")?,
        None => "",
    };
    let mut d = Draft::new(record_type, title);
    if let Some(details) = &details {
        for (n, field) in details.array("loginFields")?.iter().enumerate() {
            let f = Obj::new(field, PUX, format!("{} login field {n}", item.place))?;
            let value = f.str("value")?;
            match f.str("designation")? {
                "username" => d.field("username", K::Text, value),
                "password" => d.field("password", K::Secret, value),
                _ => {
                    let name = match f.str("name")? {
                        "" => f.str("id")?,
                        name => name,
                    };
                    let kind = match f.str("fieldType")? {
                        "P" => K::Secret,
                        "E" => K::Email,
                        "U" => K::Url,
                        _ => K::Text,
                    };
                    d.field(name, kind, value);
                }
            }
        }
        d.field("password", K::Secret, details.str("password")?);
    }
    if let Some(o) = &overview {
        let main = o.str("url")?;
        d.field("url", K::Url, main);
        let mut n = 2;
        for (u, url) in o.array("urls")?.iter().enumerate() {
            let u = Obj::new(url, PUX, format!("{} url {u}", item.place))?;
            let url = u.str("url")?;
            if url.is_empty() || url == main {
                continue;
            }
            d.field(&format!("url {n}"), K::Url, url);
            n += 1;
        }
    }
    if let Some(details) = &details {
        for (s, section) in details.array("sections")?.iter().enumerate() {
            let section = Obj::new(section, PUX, format!("{} section {s}", item.place))?;
            for (n, field) in section.array("fields")?.iter().enumerate() {
                let f = Obj::new(field, PUX, format!("{} field {n}", section.place))?;
                section_field(&mut d, &f, standard)?;
            }
        }
    }
    if let Some(o) = &overview {
        let tags: Vec<&str> = o.array("tags")?.iter().filter_map(Value::as_str).collect();
        d.field("tags", K::Text, &tags.join(", "));
    }
    d.field("folder", K::Text, vault);
    if let Some(details) = &details {
        d.notes(details.str("notesPlain")?);
        if !details.array("passwordHistory")?.is_empty() {
            d.warn(WarningCode::PasswordHistoryNotImported, None);
        }
        if let Some(doc) = details.object("documentAttributes")? {
            d.warn(
                WarningCode::AttachmentNotImported,
                Some(doc.str("fileName")?),
            );
        }
    }
    Ok(d)
}

/// One field of a section: a standard field of the category when its id says so, otherwise a field
/// named by its title (or id) with the kind its value's type gives.
fn section_field(d: &mut Draft, f: &Obj<'_>, standard: &[(&str, &str)]) -> Result<(), ImportError> {
    let id = f.str("id")?;
    let name = match f.str("title")? {
        "" => id,
        title => title,
    };
    let Some(value) = f.object("value")? else {
        return Ok(());
    };
    let Some((vtype, v)) = value.map.iter().next() else {
        return Ok(());
    };
    let text = |v: &Value| v.as_str().map(str::to_owned);
    // An SSH key's public half, added after the private key.
    let mut public_key = "";
    let (kind, content): (K, Option<String>) = match vtype.as_str() {
        "string" | "menu" | "creditCardType" | "gender" => {
            let kind = if f.flag("multiline") {
                K::Multiline
            } else {
                K::Text
            };
            (kind, text(v))
        }
        "concealed" | "creditCardNumber" => (K::Secret, text(v)),
        "totp" => (K::Otp, text(v)),
        "phone" => (K::Phone, text(v)),
        "url" => (K::Url, text(v)),
        "email" => match v {
            Value::Object(m) => (
                K::Email,
                m.get("email_address")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            ),
            other => (K::Email, text(other)),
        },
        "date" => (
            K::Date,
            v.as_i64()
                .map(|s| unix_date(s).unwrap_or_else(|| s.to_string())),
        ),
        "monthYear" => (
            K::Date,
            v.as_i64().map(|n| format!("{:04}-{:02}", n / 100, n % 100)),
        ),
        "address" => match v {
            Value::Object(m) => {
                let lines: Vec<&str> = ["street", "city", "state", "zip", "country"]
                    .iter()
                    .filter_map(|k| m.get(*k).and_then(Value::as_str))
                    .filter(|s| !s.is_empty())
                    .collect();
                (K::Multiline, Some(lines.join("\n")))
            }
            _ => (K::Multiline, None),
        },
        "sshKey" => match v {
            Value::Object(m) => {
                public_key = m
                    .get("metadata")
                    .and_then(|md| md.get("publicKey"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                (
                    K::Secret,
                    m.get("privateKey")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                )
            }
            _ => (K::Secret, None),
        },
        "file" => {
            let file_name = v.get("fileName").and_then(Value::as_str).unwrap_or(name);
            d.warn(WarningCode::AttachmentNotImported, Some(file_name));
            return Ok(());
        }
        _ => (K::Text, None),
    };
    let Some(content) = content else {
        d.warn(WarningCode::FieldNotImported, Some(name));
        return Ok(());
    };
    match standard.iter().find(|(field_id, _)| *field_id == id) {
        Some((_, standard_name)) if !d.has(standard_name) => {
            let kind = d.record_type().standard_kind(standard_name).unwrap_or(kind);
            d.field(standard_name, kind, &content);
        }
        _ if kind == K::Otp && d.record_type() == T::Login && !d.has("totp") => {
            d.field("totp", K::Otp, &content);
        }
        _ => d.field(name, kind, &content),
    }
    if d.record_type() == T::Ssh {
        d.field("public_key", K::Multiline, public_key);
    } else {
        d.field(&format!("{name} public key"), K::Multiline, public_key);
    }
    Ok(())
}

const CSV_USED: &[&str] = &[
    "title", "url", "username", "password", "otpauth", "tags", "notes",
];
const CSV_IGNORED: &[&str] = &["favorite", "archived"];

pub(crate) fn parse_csv(text: &str) -> Result<Import, ImportError> {
    let table = Table::read(CSV, text)?;
    table.require(CSV, &["title", "username", "password"])?;
    let col = |name: &str| table.column(name);
    let mut items = Vec::new();
    for (i, row) in table.rows.iter().enumerate() {
        let mut d = Draft::new(T::Login, cell(row, col("title")));
        d.standard("username", cell(row, col("username")));
        d.standard("password", cell(row, col("password")));
        d.standard("url", cell(row, col("url")));
        d.standard("totp", cell(row, col("otpauth")));
        d.field("tags", K::Text, cell(row, col("tags")));
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
