//! Import: other password managers' exports, a CSV file with a column mapping, and Sharelock's own
//! export, read into validated record bodies (docs/import.md). No I/O: every function takes the file's
//! bytes and returns what would be created, item by item, with what could not be carried over.
//!
//! The mapping rules are shared with the web app (`web/src/import/`); `protocol/import/` holds sample
//! exports of every format and the exact result both implementations must produce from them.
//!
//! Error messages name items by position and keys by name, never a value: a value may be a password.

mod bitwarden;
mod csvfile;
mod draft;
mod generic;
mod json;
mod keepass;
mod keeper;
mod lastpass;
mod onepassword;
mod sharelock;

use serde_json::{Value, json};
use sharelock_core::record::RecordBody;

pub use generic::ColumnMap;

/// The largest input file: a 1PUX archive carries attachments, so it may be large; only its
/// `export.data` is read.
pub const MAX_FILE_BYTES: usize = 256 * 1024 * 1024;
/// The largest text document read: a CSV, JSON or XML file, a 1PUX `export.data`, a decrypted export.
pub const MAX_TEXT_BYTES: usize = 32 * 1024 * 1024;
/// The most items one file may hold.
pub const MAX_ITEMS: usize = 50_000;
/// The largest scrypt work factor (log2 N) an encrypted Sharelock export may ask for: more is refused
/// rather than tying up the machine (2^20 takes 1 GiB). The web app's age library accepts no more
/// either; exports are written with 18.
pub const MAX_SCRYPT_LOG_N: u8 = 20;

/// The formats read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Bitwarden's unencrypted JSON export.
    BitwardenJson,
    /// Bitwarden's CSV export (logins and notes).
    BitwardenCsv,
    /// 1Password's 1PUX export (a zip archive with `export.data`).
    OnePassword1pux,
    /// 1Password 8's CSV export.
    OnePasswordCsv,
    /// KeePass 2.x's XML export (also KeePassXC's).
    KeepassXml,
    /// LastPass's CSV export.
    LastpassCsv,
    /// Keeper's JSON export.
    KeeperJson,
    /// Keeper's CSV export (no header row).
    KeeperCsv,
    /// Any CSV file with a header row, read through a column mapping.
    GenericCsv,
    /// Sharelock's export: the JSON document, or an age file encrypted with a passphrase holding it.
    Sharelock,
}

impl Format {
    /// Every format, in the order of the docs.
    pub const ALL: [Format; 10] = [
        Format::BitwardenJson,
        Format::BitwardenCsv,
        Format::OnePassword1pux,
        Format::OnePasswordCsv,
        Format::KeepassXml,
        Format::LastpassCsv,
        Format::KeeperJson,
        Format::KeeperCsv,
        Format::GenericCsv,
        Format::Sharelock,
    ];

    /// The name used on the command line, in reports and in the sample files.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::BitwardenJson => "bitwarden-json",
            Format::BitwardenCsv => "bitwarden-csv",
            Format::OnePassword1pux => "1password-1pux",
            Format::OnePasswordCsv => "1password-csv",
            Format::KeepassXml => "keepass-xml",
            Format::LastpassCsv => "lastpass-csv",
            Format::KeeperJson => "keeper-json",
            Format::KeeperCsv => "keeper-csv",
            Format::GenericCsv => "csv",
            Format::Sharelock => "sharelock",
        }
    }

    /// Parses a name of [`Format::as_str`].
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == name)
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a file was not read at all. [`ImportError::kind`] is the stable name the sample files use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// Larger than [`MAX_FILE_BYTES`] (or a part of it larger than [`MAX_TEXT_BYTES`]), or more than
    /// [`MAX_ITEMS`] items.
    #[error("{0}")]
    TooLarge(String),
    /// A text format whose bytes are not UTF-8.
    #[error("the file is not UTF-8 text")]
    NotUtf8,
    /// Not a file of the format asked for, or damaged; the message says where, never a value.
    #[error("not a valid {format} file: {detail}")]
    Malformed {
        /// The format asked for.
        format: Format,
        /// Where and what.
        detail: String,
    },
    /// An export that its own application encrypted (Bitwarden's encrypted JSON).
    #[error("{0}")]
    Encrypted(String),
    /// A Sharelock export of a version this client does not know.
    #[error("a Sharelock export of version {0}, which this version of Sharelock does not read")]
    UnsupportedVersion(u64),
    /// An encrypted Sharelock export and no passphrase.
    #[error("the export is encrypted: a passphrase is needed")]
    PassphraseRequired,
    /// An encrypted Sharelock export that this passphrase does not open.
    #[error("the passphrase does not open this export")]
    WrongPassphrase,
    /// An encrypted Sharelock export asking for more scrypt work than [`MAX_SCRYPT_LOG_N`].
    #[error(
        "the export asks for too much work to open (scrypt work factor {0}, at most {MAX_SCRYPT_LOG_N} is accepted)"
    )]
    ExcessiveWork(u8),
    /// The column mapping of a CSV import is not usable.
    #[error("{0}")]
    BadMapping(String),
}

impl ImportError {
    /// The stable name of this error in the sample files.
    pub fn kind(&self) -> &'static str {
        match self {
            ImportError::TooLarge(_) => "too_large",
            ImportError::NotUtf8 => "not_utf8",
            ImportError::Malformed { .. } => "malformed",
            ImportError::Encrypted(_) => "encrypted",
            ImportError::UnsupportedVersion(_) => "unsupported_version",
            ImportError::PassphraseRequired => "passphrase_required",
            ImportError::WrongPassphrase => "wrong_passphrase",
            ImportError::ExcessiveWork(_) => "excessive_work",
            ImportError::BadMapping(_) => "bad_mapping",
        }
    }

    pub(crate) fn malformed(format: Format, detail: impl Into<String>) -> Self {
        ImportError::Malformed {
            format,
            detail: detail.into(),
        }
    }
}

/// What could not be carried over, or was changed on the way. Codes are stable (docs/import.md);
/// `name` is a field, attachment or item name when the code concerns one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The stable code.
    pub code: WarningCode,
    /// The field, file or entry it concerns.
    pub name: Option<String>,
}

/// The warnings an import reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WarningCode {
    /// An attachment: file contents are never in the source's export (or not read from it).
    AttachmentNotImported,
    /// Earlier passwords of a login.
    PasswordHistoryNotImported,
    /// Earlier versions of an entry (KeePass).
    HistoryNotImported,
    /// A passkey (FIDO2 credential).
    PasskeyNotImported,
    /// A field whose value has no equivalent (a linked field, a reference to another item, an
    /// encrypted value, a value of an unknown shape).
    FieldNotImported,
    /// A value that does not fit its field's kind was kept with another kind (text, secret, multiline).
    KindChanged,
    /// A field name was empty, too long, had control characters, or repeated another: renamed.
    FieldRenamed,
    /// The title was empty, too long or had control characters.
    TitleChanged,
    /// Control characters were removed from a value or the notes.
    ControlRemoved,
    /// An item of a type with no Sharelock equivalent: imported as a general record.
    UnknownType,
    /// An entry in the source's recycle bin: not imported.
    DeletedEntrySkipped,
}

impl WarningCode {
    /// Every code.
    pub const ALL: [WarningCode; 11] = [
        WarningCode::AttachmentNotImported,
        WarningCode::PasswordHistoryNotImported,
        WarningCode::HistoryNotImported,
        WarningCode::PasskeyNotImported,
        WarningCode::FieldNotImported,
        WarningCode::KindChanged,
        WarningCode::FieldRenamed,
        WarningCode::TitleChanged,
        WarningCode::ControlRemoved,
        WarningCode::UnknownType,
        WarningCode::DeletedEntrySkipped,
    ];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            WarningCode::AttachmentNotImported => "attachment_not_imported",
            WarningCode::PasswordHistoryNotImported => "password_history_not_imported",
            WarningCode::HistoryNotImported => "history_not_imported",
            WarningCode::PasskeyNotImported => "passkey_not_imported",
            WarningCode::FieldNotImported => "field_not_imported",
            WarningCode::KindChanged => "kind_changed",
            WarningCode::FieldRenamed => "field_renamed",
            WarningCode::TitleChanged => "title_changed",
            WarningCode::ControlRemoved => "control_removed",
            WarningCode::UnknownType => "unknown_type",
            WarningCode::DeletedEntrySkipped => "deleted_entry_skipped",
        }
    }

    /// What it means, in one English sentence fragment (the CLI's wording).
    pub fn describe(self) -> &'static str {
        match self {
            WarningCode::AttachmentNotImported => "attachment not imported",
            WarningCode::PasswordHistoryNotImported => "password history not imported",
            WarningCode::HistoryNotImported => "earlier versions not imported",
            WarningCode::PasskeyNotImported => "passkey not imported",
            WarningCode::FieldNotImported => "field not imported",
            WarningCode::KindChanged => "value kept with another kind",
            WarningCode::FieldRenamed => "field renamed",
            WarningCode::TitleChanged => "title changed",
            WarningCode::ControlRemoved => "control characters removed",
            WarningCode::UnknownType => "unknown item type, imported as general",
            WarningCode::DeletedEntrySkipped => "deleted entry skipped",
        }
    }
}

/// One item of the source and what becomes of it.
#[derive(Debug)]
pub struct Item {
    /// Its position among the source's items (0-based, in file order).
    pub source: usize,
    /// The title it has (or would have).
    pub title: String,
    /// The record to create, or `None` when it cannot be imported (`error` says why).
    pub body: Option<RecordBody>,
    /// What was not carried over or was changed.
    pub warnings: Vec<Warning>,
    /// Why it cannot be imported: a record rule it breaks (the core's error kind, e.g. `too_large`).
    pub error: Option<String>,
}

/// The result of reading a file: every item, and warnings about the file as a whole.
#[derive(Debug)]
pub struct Import {
    /// The format read.
    pub format: Format,
    /// The items in file order.
    pub items: Vec<Item>,
    /// Warnings that concern no created item (entries skipped as deleted).
    pub warnings: Vec<Warning>,
}

impl Import {
    /// The items that would be created.
    pub fn valid(&self) -> impl Iterator<Item = (&Item, &RecordBody)> {
        self.items
            .iter()
            .filter_map(|i| i.body.as_ref().map(|b| (i, b)))
    }

    /// How many items cannot be imported.
    pub fn invalid_count(&self) -> usize {
        self.items.iter().filter(|i| i.body.is_none()).count()
    }

    /// The result as JSON: the shape of `result` in the sample files (docs/import.md), also printed by
    /// `sharelock import --dry-run --json`. Bodies are the record JSON of docs/protocol.md §3.3.
    pub fn to_json(&self) -> Value {
        json!({
            "format": self.format.as_str(),
            "items": self.items.iter().map(item_json).collect::<Vec<_>>(),
            "warnings": self.warnings.iter().map(warning_json).collect::<Vec<_>>(),
        })
    }
}

/// A warning as JSON: `{"code": …, "name": … | null}`.
pub fn warning_json(w: &Warning) -> Value {
    json!({"code": w.code.as_str(), "name": w.name})
}

fn item_json(item: &Item) -> Value {
    let body = item.body.as_ref().map(|b| {
        b.to_json()
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            .unwrap_or(Value::Null)
    });
    json!({
        "source": item.source,
        "title": item.title,
        "body": body,
        "warnings": item.warnings.iter().map(warning_json).collect::<Vec<_>>(),
        "error": item.error,
    })
}

/// What a parse needs besides the bytes.
#[derive(Debug, Default)]
pub struct Options<'a> {
    /// The column mapping of a generic CSV import.
    pub map: Option<&'a ColumnMap>,
    /// The passphrase of an encrypted Sharelock export.
    pub passphrase: Option<&'a str>,
}

/// Reads `bytes` as `format`.
pub fn parse(format: Format, bytes: &[u8], options: &Options<'_>) -> Result<Import, ImportError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(ImportError::TooLarge(format!(
            "the file is larger than {} MiB",
            MAX_FILE_BYTES >> 20
        )));
    }
    if format != Format::OnePassword1pux
        && format != Format::Sharelock
        && bytes.len() > MAX_TEXT_BYTES
    {
        return Err(too_large_text());
    }
    let mut import = match format {
        Format::BitwardenJson => bitwarden::parse_json(text(bytes)?)?,
        Format::BitwardenCsv => bitwarden::parse_csv(text(bytes)?)?,
        Format::OnePassword1pux => onepassword::parse_1pux(bytes)?,
        Format::OnePasswordCsv => onepassword::parse_csv(text(bytes)?)?,
        Format::KeepassXml => keepass::parse(text(bytes)?)?,
        Format::LastpassCsv => lastpass::parse(text(bytes)?)?,
        Format::KeeperJson => keeper::parse_json(text(bytes)?)?,
        Format::KeeperCsv => keeper::parse_csv(text(bytes)?)?,
        Format::GenericCsv => generic::parse(text(bytes)?, options.map)?,
        Format::Sharelock => sharelock::parse(bytes, options.passphrase)?,
    };
    import.format = format;
    if import.items.len() > MAX_ITEMS {
        return Err(ImportError::TooLarge(format!(
            "the file holds more than {MAX_ITEMS} items"
        )));
    }
    Ok(import)
}

pub(crate) fn too_large_text() -> ImportError {
    ImportError::TooLarge(format!(
        "the document is larger than {} MiB",
        MAX_TEXT_BYTES >> 20
    ))
}

/// The bytes as UTF-8 text, without a byte-order mark.
pub(crate) fn text(bytes: &[u8]) -> Result<&str, ImportError> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|_| ImportError::NotUtf8)
}

/// Whether these bytes are an age file (binary or ASCII-armored).
pub fn is_age(bytes: &[u8]) -> bool {
    sharelock::is_age(bytes)
}

/// The format of a file, when its content says so unambiguously: Keeper's CSV (no header row) and a
/// generic CSV are never detected.
pub fn detect(bytes: &[u8]) -> Option<Format> {
    if sharelock::is_age(bytes) {
        return Some(Format::Sharelock);
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return Some(Format::OnePassword1pux);
    }
    let head = &bytes[..bytes.len().min(MAX_TEXT_BYTES)];
    let text = text(head).ok()?;
    let start = text.trim_start_matches([' ', '\t', '\r', '\n']);
    if start.starts_with('<') {
        return start.contains("<KeePassFile").then_some(Format::KeepassXml);
    }
    if start.starts_with('{') {
        let value: Value = serde_json::from_str(text).ok()?;
        let object = value.as_object()?;
        if object.get("format").and_then(Value::as_str) == Some(sharelock::FORMAT) {
            return Some(Format::Sharelock);
        }
        if object.get("items").is_some_and(Value::is_array)
            || object.get("encrypted") == Some(&Value::Bool(true))
        {
            return Some(Format::BitwardenJson);
        }
        if object.get("records").is_some_and(Value::is_array) {
            return Some(Format::KeeperJson);
        }
        return None;
    }
    let header = csvfile::header(text)?;
    let has = |name: &str| header.iter().any(|h| h == name);
    if has("login_uri") && has("login_username") {
        Some(Format::BitwardenCsv)
    } else if has("url") && has("extra") && has("grouping") {
        Some(Format::LastpassCsv)
    } else if has("title") && has("otpauth") {
        Some(Format::OnePasswordCsv)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::io::Write;

    fn read(format: Format, bytes: &[u8]) -> Result<Import, ImportError> {
        parse(format, bytes, &Options::default())
    }

    #[test]
    fn malformed_input_of_each_format_is_refused() {
        let cases: &[(Format, &[u8])] = &[
            (Format::BitwardenJson, b"[1, 2]"),
            (
                Format::BitwardenJson,
                br#"{"items": [{"name": "a", "type": 1}, 5]}"#,
            ),
            (Format::BitwardenCsv, b"name,password\nMail,pw\n"),
            (Format::OnePasswordCsv, b"Name,Secret\nMail,pw\n"),
            (Format::OnePassword1pux, b"PK\x03\x04 not really a zip"),
            (Format::KeepassXml, b"<KeePassFile><Root><Group>"),
            (Format::KeepassXml, b"<KeePassFile><Meta/></KeePassFile>"),
            (Format::LastpassCsv, b""),
            (
                Format::KeeperJson,
                br#"{"records": [{"title": ["not", "text"]}]}"#,
            ),
            (Format::KeeperCsv, b"Folder,Title\n"),
            (
                Format::Sharelock,
                br#"{"format": "something-else", "version": 1, "records": []}"#,
            ),
            (
                Format::Sharelock,
                br#"{"format": "sharelock-export", "version": 1, "records": [{}]}"#,
            ),
        ];
        for (format, bytes) in cases {
            let e = read(*format, bytes).expect_err(&String::from_utf8_lossy(bytes));
            assert_eq!(e.kind(), "malformed", "{format}: {e}");
        }
        let e = read(
            Format::BitwardenJson,
            br#"{"items": [{"name": "a", "type": 1}, 5]}"#,
        )
        .expect_err("item 1");
        assert!(e.to_string().contains("item 1"), "{e}");
    }

    #[test]
    fn messages_never_quote_a_value() {
        let json = br#"{"items": [{"name": "Mail", "type": 1, "login": {"password": 918273645}}]}"#;
        let e = read(Format::BitwardenJson, json).expect_err("a number is not a password");
        assert!(e.to_string().contains("`password`"), "{e}");
        assert!(!e.to_string().contains("918273645"), "{e}");
        let e = read(Format::BitwardenJson, b"{\"items\": [\"hunter2\" ").expect_err("truncated");
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn oversized_input_is_refused_before_it_is_read() {
        let big = vec![b' '; MAX_TEXT_BYTES + 1];
        assert_eq!(
            read(Format::LastpassCsv, &big)
                .map(drop)
                .unwrap_err()
                .kind(),
            "too_large"
        );
        // A small archive whose export.data inflates past the limit (a zip bomb) stops at the limit.
        let mut archive = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        archive.start_file("export.data", options).expect("start");
        let chunk = vec![b' '; 1 << 20];
        for _ in 0..(MAX_TEXT_BYTES >> 20) + 1 {
            archive.write_all(&chunk).expect("write");
        }
        let bytes = archive.finish().expect("finish").into_inner();
        assert!(bytes.len() < 1 << 20, "{} bytes", bytes.len());
        assert_eq!(
            read(Format::OnePassword1pux, &bytes)
                .map(drop)
                .unwrap_err()
                .kind(),
            "too_large"
        );
        assert_eq!(
            read(Format::KeepassXml, b"\xff\xfe<")
                .map(drop)
                .unwrap_err()
                .kind(),
            "not_utf8"
        );
    }

    #[test]
    fn an_encrypted_export_opens_with_its_passphrase_only() {
        let plain = br#"{"format":"sharelock-export","version":1,"exported_at":"2026-01-01T00:00:00Z","records":[{"id":"7d1f4c2a-9b3e-4f60-a1c2-3d4e5f607182","version":1,"updated_at":"2026-01-01T00:00:00Z","body":{"type":"note","title":"N","fields":[],"notes":"x","files":[]},"files":[]}]}"#;
        let mut recipient =
            age::scrypt::Recipient::new(age::secrecy::SecretString::from("right".to_owned()));
        recipient.set_work_factor(10);
        let encryptor =
            age::Encryptor::with_recipients(std::iter::once(&recipient as _)).expect("encryptor");
        let mut file = Vec::new();
        let mut writer = encryptor.wrap_output(&mut file).expect("wrap");
        writer.write_all(plain).expect("write");
        writer.finish().expect("finish");
        assert_eq!(detect(&file), Some(Format::Sharelock));
        let open = |passphrase: Option<&str>| {
            parse(
                Format::Sharelock,
                &file,
                &Options {
                    map: None,
                    passphrase,
                },
            )
        };
        let import = open(Some("right")).expect("opens");
        assert_eq!(import.items.len(), 1);
        assert_eq!(import.items[0].title, "N");
        assert_eq!(
            open(Some("wrong")).map(drop).unwrap_err(),
            ImportError::WrongPassphrase
        );
        assert_eq!(
            open(None).map(drop).unwrap_err(),
            ImportError::PassphraseRequired
        );
    }

    #[test]
    fn column_maps() {
        let map = ColumnMap::parse(" Title = Name , username=Login,").expect("valid");
        assert_eq!(
            map.pairs(),
            [
                ("title".to_owned(), "Name".to_owned()),
                ("username".to_owned(), "Login".to_owned())
            ]
        );
        for bad in ["title", "=Name", "title=", "title=A,title=B"] {
            assert_eq!(
                ColumnMap::parse(bad).map(drop).unwrap_err().kind(),
                "bad_mapping",
                "{bad}"
            );
        }
        let csv = b"Name,Login,Login\nMail,a,b\n";
        let e = parse(
            Format::GenericCsv,
            csv,
            &Options {
                map: Some(&ColumnMap::parse("title=Name,username=Name").expect("map")),
                passphrase: None,
            },
        )
        .map(drop)
        .unwrap_err();
        assert_eq!(e.kind(), "bad_mapping", "one column, two targets: {e}");
    }
}
