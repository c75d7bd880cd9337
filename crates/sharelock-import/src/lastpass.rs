//! LastPass's CSV export: `url,username,password,totp,extra,name,grouping,fav`. A secure note has the
//! URL `http://sn`; a typed one (card, bank account, server…) holds `Key:Value` lines in `extra`,
//! starting with `NoteType:`, and its `Notes:` line runs to the end.

use crate::bitwarden::other_columns;
use crate::csvfile::{Table, cell};
use crate::draft::Draft;
use crate::{Format, Import, ImportError, WarningCode};
use sharelock_core::record::{FieldKind as K, RecordType as T};

const F: Format = Format::LastpassCsv;
const USED: &[&str] = &[
    "url", "username", "password", "totp", "extra", "name", "grouping",
];
const IGNORED: &[&str] = &["fav"];

/// A typed note's keys and where each goes: a standard field, or a custom field of a kind.
struct NoteType {
    name: &'static str,
    record_type: T,
    keys: &'static [(&'static str, &'static str, K)],
}

const NOTE_TYPES: &[NoteType] = &[
    NoteType {
        name: "Credit Card",
        record_type: T::Card,
        keys: &[
            ("Name on Card", "cardholder", K::Text),
            ("Type", "card type", K::Text),
            ("Number", "number", K::Secret),
            ("Security Code", "cvv", K::Secret),
            ("Start Date", "start date", K::Date),
            ("Expiration Date", "expiry", K::Date),
        ],
    },
    NoteType {
        name: "Bank Account",
        record_type: T::Bank,
        keys: &[
            ("Bank Name", "bank", K::Text),
            ("Account Type", "account type", K::Text),
            ("Routing Number", "routing_number", K::Text),
            ("Account Number", "account_number", K::Secret),
            ("SWIFT Code", "swift", K::Text),
            ("IBAN Number", "iban", K::Secret),
            ("Pin", "pin", K::Secret),
            ("Branch Address", "branch address", K::Text),
            ("Branch Phone", "branch phone", K::Phone),
        ],
    },
    NoteType {
        name: "Server",
        record_type: T::Server,
        keys: &[
            ("Hostname", "hostname", K::Text),
            ("Username", "username", K::Text),
            ("Password", "password", K::Secret),
        ],
    },
    NoteType {
        name: "Database",
        record_type: T::Database,
        keys: &[
            ("Type", "engine", K::Text),
            ("Hostname", "hostname", K::Text),
            ("Port", "port", K::Text),
            ("Database", "database", K::Text),
            ("Username", "username", K::Text),
            ("Password", "password", K::Secret),
            ("SID", "sid", K::Text),
            ("Alias", "alias", K::Text),
        ],
    },
    NoteType {
        name: "Wi-Fi Password",
        record_type: T::Wifi,
        keys: &[
            ("SSID", "ssid", K::Text),
            ("Password", "password", K::Secret),
            ("Connection Type", "connection type", K::Text),
            ("Connection Mode", "connection mode", K::Text),
            ("Authentication", "security", K::Text),
            ("Encryption", "encryption", K::Text),
            ("Use 802.1X", "use 802.1x", K::Text),
            ("FIPS Mode", "fips mode", K::Text),
            ("Key Type", "key type", K::Text),
            ("Protected", "protected", K::Text),
            ("Key Index", "key index", K::Text),
        ],
    },
    NoteType {
        name: "SSH Key",
        record_type: T::Ssh,
        keys: &[
            ("Bit Strength", "bit strength", K::Text),
            ("Format", "format", K::Text),
            ("Passphrase", "passphrase", K::Secret),
            ("Private Key", "private_key", K::Secret),
            ("Public Key", "public_key", K::Multiline),
            ("Hostname", "hostname", K::Text),
            ("Date", "date", K::Text),
        ],
    },
];

/// Month names as LastPass writes dates (`January,2027`).
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

pub(crate) fn parse(text: &str) -> Result<Import, ImportError> {
    let table = Table::read(F, text)?;
    table.require(
        F,
        &["url", "username", "password", "extra", "name", "grouping"],
    )?;
    let col = |name: &str| table.column(name);
    let mut items = Vec::new();
    for (i, row) in table.rows.iter().enumerate() {
        let url = cell(row, col("url"));
        let extra = cell(row, col("extra"));
        let title = cell(row, col("name"));
        let mut d = if url == "http://sn" {
            match extra.strip_prefix("NoteType:") {
                Some(rest) => typed_note(title, rest),
                None => {
                    let mut d = Draft::new(T::Note, title);
                    d.notes(extra);
                    d
                }
            }
        } else {
            let mut d = Draft::new(T::Login, title);
            d.standard("username", cell(row, col("username")));
            d.standard("password", cell(row, col("password")));
            d.standard("url", url);
            d.standard("totp", cell(row, col("totp")));
            d.notes(extra);
            d
        };
        if url == "http://sn" {
            // A secure note's login columns are empty; kept if not.
            d.field("username", K::Text, cell(row, col("username")));
            d.field("password", K::Secret, cell(row, col("password")));
            d.field("totp", K::Otp, cell(row, col("totp")));
        }
        d.field("folder", K::Text, cell(row, col("grouping")));
        other_columns(&mut d, &table, row, USED, IGNORED);
        items.push(d.finish(i));
    }
    Ok(Import {
        format: F,
        items,
        warnings: Vec::new(),
    })
}

/// A typed secure note: `rest` is what follows `NoteType:`.
fn typed_note(title: &str, rest: &str) -> Draft {
    let (type_name, body) = match rest.split_once('\n') {
        Some((first, body)) => (first.strip_suffix('\r').unwrap_or(first), body),
        None => (rest, ""),
    };
    let known = NOTE_TYPES.iter().find(|t| t.name == type_name);
    let mut d = Draft::new(known.map_or(T::General, |t| t.record_type), title);
    if known.is_none() {
        d.warn(WarningCode::UnknownType, Some(type_name));
    }
    // Entries in order: a line starting with a key of this type (or, for an unknown type, any
    // `Key:`) starts an entry; other lines continue the one before; `Notes:` takes the rest.
    let mut entries: Vec<(String, String)> = Vec::new();
    let mut notes: Option<String> = None;
    for line in body.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if let Some(n) = notes.as_mut() {
            n.push('\n');
            n.push_str(line);
            continue;
        }
        if let Some(text) = line.strip_prefix("Notes:") {
            notes = Some(text.to_owned());
            continue;
        }
        let starts = line.split_once(':').filter(|(key, _)| match known {
            Some(t) => t.keys.iter().any(|(k, _, _)| k == key) || *key == "Language",
            None => !key.is_empty(),
        });
        match (starts, entries.last_mut()) {
            (Some((key, value)), _) => entries.push((key.to_owned(), value.to_owned())),
            (None, Some((_, value))) => {
                value.push('\n');
                value.push_str(line);
            }
            (None, None) if line.is_empty() => {}
            (None, None) => entries.push((String::new(), line.to_owned())),
        }
    }
    for (key, value) in &entries {
        let mapped = known.and_then(|t| t.keys.iter().find(|(k, _, _)| k == key));
        match mapped {
            Some((_, name, kind)) => {
                let value = if *kind == K::Date {
                    month_name_date(value)
                } else {
                    value.clone()
                };
                d.field(name, *kind, &value);
            }
            None => {
                let kind = if value.contains('\n') {
                    K::Multiline
                } else {
                    K::Text
                };
                let name = if key == "Language" { "language" } else { key };
                d.field(name, kind, value);
            }
        }
    }
    if let Some(notes) = notes {
        d.notes(&notes);
    }
    d
}

/// `January,2027` → `2027-01`; anything else as it is.
fn month_name_date(value: &str) -> String {
    if let Some((month, year)) = value.split_once(',')
        && let Some(m) = MONTHS.iter().position(|name| *name == month)
        && year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
    {
        return format!("{year}-{:02}", m + 1);
    }
    value.to_owned()
}
