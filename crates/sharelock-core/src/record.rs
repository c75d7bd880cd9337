//! The record model (docs/protocol.md §3.3): typed fields, notes and file references, as strict JSON.
//!
//! Every client validates every body it decodes, its own and a recipient's alike, because an editable
//! share lets a recipient write the whole record: a body is untrusted input in the owner's vault. The limits
//! keep a body under the 512 KiB the version envelope allows and keep single-line values single-line, so
//! nothing a recipient writes can spoof another line of a list or a terminal (control characters are
//! refused; only TAB anywhere, and line breaks where a kind allows them).
//!
//! Bodies and summaries are padded to a multiple of 256 bytes before sealing (ISO/IEC 7816-4: `0x80` then
//! zeros), so a ciphertext's length says little about what it holds.

use crate::account::key_type;
use crate::crypto::{self, Key32};
use crate::encoding::{Id, b64u, b64u_decode_array};
use crate::error::Result;
use serde::{Deserialize, Serialize};

/// Longest title, in bytes.
pub const MAX_TITLE_LEN: usize = 256;
/// Longest field name, in bytes.
pub const MAX_FIELD_NAME_LEN: usize = 64;
/// Longest field value, in bytes.
pub const MAX_VALUE_LEN: usize = 65_536;
/// Most fields in one record.
pub const MAX_FIELDS: usize = 128;
/// Longest notes, in bytes.
pub const MAX_NOTES_LEN: usize = 262_144;
/// Most file references in one record.
pub const MAX_FILES: usize = 64;
/// Longest file name, in bytes.
pub const MAX_FILE_NAME_LEN: usize = 255;
/// Longest MIME type, in bytes.
pub const MAX_MIME_LEN: usize = 127;
/// Largest file size: 2^53 − 1, the largest integer every JSON implementation represents exactly.
pub const MAX_FILE_SIZE: u64 = (1 << 53) - 1;
/// Largest padded body plaintext: 512 KiB.
pub const MAX_BODY_PADDED: usize = 512 * 1024;
/// Largest padded summary plaintext: 1 KiB.
pub const MAX_SUMMARY_PADDED: usize = 1024;
/// A summary's subtitle holds at most this many Unicode scalar values.
pub const SUBTITLE_CHARS: usize = 64;
/// Padding block size.
pub const PAD_BLOCK: usize = 256;

/// Why a record body or summary was refused. Each variant names the item (a field by name once its name is
/// valid, otherwise by position; a file by position) and never a value. [`RecordError::kind`] gives the
/// stable name the test vectors use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// Not JSON of the required shape: syntax, a missing, unknown or repeated key, or a wrong type.
    #[error("not a valid record JSON document: {0}")]
    Json(String),
    /// The `type` is not one of the record types.
    #[error("unknown record type")]
    UnknownType,
    /// A field's `kind` is not one of the field kinds.
    #[error("field {index} has an unknown kind")]
    UnknownKind {
        /// Position of the field.
        index: usize,
    },
    /// The title is empty or longer than 256 bytes.
    #[error("title must be 1 to 256 bytes")]
    TitleLength,
    /// The title contains a control character or a line separator.
    #[error("title contains a control character")]
    TitleControl,
    /// More than 128 fields.
    #[error("more than 128 fields")]
    TooManyFields,
    /// A field name is empty or longer than 64 bytes.
    #[error("field {index}: name must be 1 to 64 bytes")]
    FieldNameLength {
        /// Position of the field.
        index: usize,
    },
    /// A field name contains a control character or a line separator.
    #[error("field {index}: name contains a control character")]
    FieldNameControl {
        /// Position of the field.
        index: usize,
    },
    /// Two fields have the same name.
    #[error("field {name:?} appears more than once")]
    DuplicateField {
        /// The repeated name.
        name: String,
    },
    /// A field value is longer than 65 536 bytes.
    #[error("field {field:?}: value is longer than 65536 bytes")]
    ValueTooLong {
        /// The field's name.
        field: String,
    },
    /// A single-line value contains a line break.
    #[error("field {field:?}: value must be a single line")]
    LineBreak {
        /// The field's name.
        field: String,
    },
    /// A value contains a control character other than TAB (or CR/LF where line breaks are allowed).
    #[error("field {field:?}: value contains a control character")]
    ValueControl {
        /// The field's name.
        field: String,
    },
    /// A `date` value is not a valid `YYYY-MM-DD` or `YYYY-MM`.
    #[error("field {field:?}: not a date (YYYY-MM-DD or YYYY-MM)")]
    Date {
        /// The field's name.
        field: String,
    },
    /// An `otp` value is neither an `otpauth://totp/` URI with a base32 secret nor a base32 secret.
    #[error("field {field:?}: not an otpauth://totp/ URI or base32 secret")]
    Otp {
        /// The field's name.
        field: String,
    },
    /// An `email` value does not contain exactly one `@`.
    #[error("field {field:?}: an email address has exactly one @")]
    Email {
        /// The field's name.
        field: String,
    },
    /// A `phone` value uses characters other than digits, space and `+ - ( ) .`.
    #[error("field {field:?}: a phone number uses only digits, space and + - ( ) .")]
    Phone {
        /// The field's name.
        field: String,
    },
    /// The notes are longer than 262 144 bytes.
    #[error("notes are longer than 262144 bytes")]
    NotesTooLong,
    /// The notes contain a control character other than TAB, CR and LF.
    #[error("notes contain a control character")]
    NotesControl,
    /// More than 64 file references.
    #[error("more than 64 files")]
    TooManyFiles,
    /// A file id is not a lowercase hyphenated UUID.
    #[error("file {index}: id is not a lowercase hyphenated UUID")]
    FileId {
        /// Position of the file.
        index: usize,
    },
    /// Two file references have the same id.
    #[error("file {index}: id appears more than once")]
    DuplicateFileId {
        /// Position of the second occurrence.
        index: usize,
    },
    /// A file name is empty, longer than 255 bytes, or contains `/`, `\`, a control character or a line
    /// separator.
    #[error("file {index}: name must be 1 to 255 bytes without / \\ or control characters")]
    FileName {
        /// Position of the file.
        index: usize,
    },
    /// A MIME type is longer than 127 bytes or not printable ASCII.
    #[error("file {index}: MIME type must be at most 127 bytes of printable ASCII")]
    FileMime {
        /// Position of the file.
        index: usize,
    },
    /// A file size is above 2^53 − 1.
    #[error("file {index}: size is above 2^53 - 1")]
    FileSize {
        /// Position of the file.
        index: usize,
    },
    /// A file key is not canonical b64u of exactly 32 bytes.
    #[error("file {index}: key is not 32 bytes of base64url")]
    FileKey {
        /// Position of the file.
        index: usize,
    },
    /// A file hash is not canonical b64u of exactly 32 bytes.
    #[error("file {index}: sha256 is not 32 bytes of base64url")]
    FileHash {
        /// Position of the file.
        index: usize,
    },
    /// The encoded body (or summary) does not fit its padded limit.
    #[error("encoded record is too large ({size} bytes, limit {limit})")]
    TooLarge {
        /// Encoded size.
        size: usize,
        /// Largest encoded size allowed.
        limit: usize,
    },
    /// A summary's subtitle is longer than 64 characters or not a single line of text.
    #[error("summary subtitle must be one line of at most 64 characters")]
    Subtitle,
    /// Padded data is empty or not a multiple of 256 bytes.
    #[error("padded data is not a positive multiple of 256 bytes")]
    PaddingLength,
    /// The last non-zero byte of padded data is not the 0x80 marker.
    #[error("padding marker is missing")]
    Padding,
}

impl RecordError {
    /// The stable name of this error in the test vectors.
    pub fn kind(&self) -> &'static str {
        match self {
            RecordError::Json(_) => "json",
            RecordError::UnknownType => "unknown_type",
            RecordError::UnknownKind { .. } => "unknown_kind",
            RecordError::TitleLength => "title_length",
            RecordError::TitleControl => "title_control",
            RecordError::TooManyFields => "too_many_fields",
            RecordError::FieldNameLength { .. } => "field_name_length",
            RecordError::FieldNameControl { .. } => "field_name_control",
            RecordError::DuplicateField { .. } => "duplicate_field",
            RecordError::ValueTooLong { .. } => "value_too_long",
            RecordError::LineBreak { .. } => "line_break",
            RecordError::ValueControl { .. } => "value_control",
            RecordError::Date { .. } => "bad_date",
            RecordError::Otp { .. } => "bad_otp",
            RecordError::Email { .. } => "bad_email",
            RecordError::Phone { .. } => "bad_phone",
            RecordError::NotesTooLong => "notes_too_long",
            RecordError::NotesControl => "notes_control",
            RecordError::TooManyFiles => "too_many_files",
            RecordError::FileId { .. } => "bad_file_id",
            RecordError::DuplicateFileId { .. } => "duplicate_file_id",
            RecordError::FileName { .. } => "bad_file_name",
            RecordError::FileMime { .. } => "bad_file_mime",
            RecordError::FileSize { .. } => "bad_file_size",
            RecordError::FileKey { .. } => "bad_file_key",
            RecordError::FileHash { .. } => "bad_file_hash",
            RecordError::TooLarge { .. } => "too_large",
            RecordError::Subtitle => "bad_subtitle",
            RecordError::PaddingLength => "padding_length",
            RecordError::Padding => "bad_padding",
        }
    }
}

type RResult<T> = std::result::Result<T, RecordError>;

/// What a record is; decides its standard fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordType {
    /// A website or application login.
    Login,
    /// A payment card.
    Card,
    /// A bank account.
    Bank,
    /// A wireless network.
    Wifi,
    /// A server login.
    Server,
    /// A database login.
    Database,
    /// An SSH key.
    Ssh,
    /// Free text: the notes are the content.
    Note,
    /// Files: the attachments are the content.
    File,
    /// Anything else.
    General,
}

use FieldKind as K;

impl RecordType {
    /// Every type, in the order of docs/protocol.md.
    pub const ALL: [RecordType; 10] = [
        RecordType::Login,
        RecordType::Card,
        RecordType::Bank,
        RecordType::Wifi,
        RecordType::Server,
        RecordType::Database,
        RecordType::Ssh,
        RecordType::Note,
        RecordType::File,
        RecordType::General,
    ];

    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::Login => "login",
            RecordType::Card => "card",
            RecordType::Bank => "bank",
            RecordType::Wifi => "wifi",
            RecordType::Server => "server",
            RecordType::Database => "database",
            RecordType::Ssh => "ssh",
            RecordType::Note => "note",
            RecordType::File => "file",
            RecordType::General => "general",
        }
    }

    /// Parses a JSON name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// The standard fields of this type, in display order, with their kinds.
    pub fn template(self) -> &'static [(&'static str, FieldKind)] {
        match self {
            RecordType::Login => &[
                ("username", K::Text),
                ("password", K::Secret),
                ("url", K::Url),
                ("totp", K::Otp),
            ],
            RecordType::Card => &[
                ("cardholder", K::Text),
                ("number", K::Secret),
                ("expiry", K::Date),
                ("cvv", K::Secret),
                ("pin", K::Secret),
            ],
            RecordType::Bank => &[
                ("bank", K::Text),
                ("holder", K::Text),
                ("account_number", K::Secret),
                ("routing_number", K::Text),
                ("iban", K::Secret),
                ("swift", K::Text),
                ("pin", K::Secret),
            ],
            RecordType::Wifi => &[
                ("ssid", K::Text),
                ("password", K::Secret),
                ("security", K::Text),
            ],
            RecordType::Server => &[
                ("hostname", K::Text),
                ("port", K::Text),
                ("username", K::Text),
                ("password", K::Secret),
            ],
            RecordType::Database => &[
                ("engine", K::Text),
                ("hostname", K::Text),
                ("port", K::Text),
                ("database", K::Text),
                ("username", K::Text),
                ("password", K::Secret),
            ],
            RecordType::Ssh => &[
                ("hostname", K::Text),
                ("username", K::Text),
                ("private_key", K::Secret),
                ("public_key", K::Multiline),
                ("passphrase", K::Secret),
            ],
            RecordType::Note | RecordType::File | RecordType::General => &[],
        }
    }

    /// The kind of a standard field of this type, or `None` for a custom name.
    pub fn standard_kind(self, name: &str) -> Option<FieldKind> {
        self.template()
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, k)| *k)
    }
}

/// How a field's value is shown and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldKind {
    /// One line of text.
    Text,
    /// Hidden until revealed; may span lines (keys do).
    Secret,
    /// A URL, one line (linked only for http and https).
    Url,
    /// An email address: exactly one `@`.
    Email,
    /// A phone number: digits, space and `+ - ( ) .`.
    Phone,
    /// A TOTP seed: an `otpauth://totp/` URI or a base32 secret (docs/protocol.md §8).
    Otp,
    /// `YYYY-MM-DD` or `YYYY-MM`.
    Date,
    /// Several lines of text.
    Multiline,
}

impl FieldKind {
    /// Every kind.
    pub const ALL: [FieldKind; 8] = [
        FieldKind::Text,
        FieldKind::Secret,
        FieldKind::Url,
        FieldKind::Email,
        FieldKind::Phone,
        FieldKind::Otp,
        FieldKind::Date,
        FieldKind::Multiline,
    ];

    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::Secret => "secret",
            FieldKind::Url => "url",
            FieldKind::Email => "email",
            FieldKind::Phone => "phone",
            FieldKind::Otp => "otp",
            FieldKind::Date => "date",
            FieldKind::Multiline => "multiline",
        }
    }

    /// Parses a JSON name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Whether values of this kind may contain CR and LF.
    pub fn allows_line_breaks(self) -> bool {
        matches!(self, FieldKind::Secret | FieldKind::Multiline)
    }
}

/// One named, typed value. Debug shows the name and kind, never the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Field {
    /// Unique within the record; a standard name of the record's type, or custom.
    pub name: String,
    /// How the value is shown and checked.
    pub kind: FieldKind,
    /// The value; empty means the field is blank.
    pub value: String,
}

impl std::fmt::Debug for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Field")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("value_len", &self.value.len())
            .finish()
    }
}

key_type!(
    /// FK: the random key of one uploaded file's stream. It lives only inside the record body (so it is
    /// serialised there, as b64u, and nowhere else).
    FileKey
);

impl FileKey {
    /// A fresh random file key, made for every upload.
    pub fn generate() -> Result<Self> {
        Key32::random().map(FileKey)
    }
}

impl AsRef<Key32> for FileKey {
    fn as_ref(&self) -> &Key32 {
        &self.0
    }
}

impl PartialEq for FileKey {
    fn eq(&self, other: &Self) -> bool {
        crypto::ct_eq(self.expose(), other.expose())
    }
}

impl Eq for FileKey {}

/// A reference to an encrypted file stream (docs/protocol.md §6). Debug leaves out the name and the key.
#[derive(PartialEq, Eq)]
pub struct FileRef {
    /// The file id (chosen by the uploader, part of the stream's key derivation).
    pub id: Id,
    /// The file's name, for display and download.
    pub name: String,
    /// MIME type; may be empty.
    pub mime: String,
    /// Plaintext size in bytes.
    pub size: u64,
    /// FK.
    pub key: FileKey,
    /// SHA-256 of the whole blob (header and chunks).
    pub sha256: [u8; 32],
}

impl std::fmt::Debug for FileRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileRef")
            .field("id", &self.id)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// A decoded, validated record body. Debug shows the type, field names and kinds and sizes only.
#[derive(PartialEq, Eq)]
pub struct RecordBody {
    /// The record type (`"type"` in JSON).
    pub record_type: RecordType,
    /// The title.
    pub title: String,
    /// Fields in display order.
    pub fields: Vec<Field>,
    /// Free text.
    pub notes: String,
    /// Attached files.
    pub files: Vec<FileRef>,
}

impl std::fmt::Debug for RecordBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordBody")
            .field("type", &self.record_type)
            .field("title_len", &self.title.len())
            .field("fields", &self.fields)
            .field("notes_len", &self.notes.len())
            .field("files", &self.files)
            .finish()
    }
}

/// The list-view summary sealed next to each version: type, title and one non-secret line.
#[derive(Clone, PartialEq, Eq)]
pub struct Summary {
    /// The record type.
    pub record_type: RecordType,
    /// The title.
    pub title: String,
    /// The first non-empty `text`, `url`, `email`, `phone` or `date` value, cut to 64 characters; or `""`.
    pub subtitle: String,
}

impl std::fmt::Debug for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Summary")
            .field("type", &self.record_type)
            .field("title_len", &self.title.len())
            .field("subtitle_len", &self.subtitle.len())
            .finish()
    }
}

// ---- JSON shapes. Decoding goes through owned raw structs; encoding borrows, so values are not copied.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBody {
    #[serde(rename = "type")]
    record_type: String,
    title: String,
    fields: Vec<RawField>,
    notes: String,
    files: Vec<RawFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    name: String,
    kind: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    id: String,
    name: String,
    mime: String,
    size: u64,
    key: String,
    sha256: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSummary {
    #[serde(rename = "type")]
    record_type: String,
    title: String,
    subtitle: String,
}

#[derive(Serialize)]
struct BodyOut<'a> {
    #[serde(rename = "type")]
    record_type: &'a str,
    title: &'a str,
    fields: Vec<FieldOut<'a>>,
    notes: &'a str,
    files: Vec<FileOut<'a>>,
}

#[derive(Serialize)]
struct FieldOut<'a> {
    name: &'a str,
    kind: &'a str,
    value: &'a str,
}

#[derive(Serialize)]
struct FileOut<'a> {
    id: String,
    name: &'a str,
    mime: &'a str,
    size: u64,
    key: KeyText<'a>,
    sha256: String,
}

/// Serialises a file key as b64u through a buffer that is wiped afterwards.
struct KeyText<'a>(&'a FileKey);

impl Serialize for KeyText<'_> {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        let text = zeroize::Zeroizing::new(b64u(self.0.expose()));
        serializer.serialize_str(&text)
    }
}

#[derive(Serialize)]
struct SummaryOut<'a> {
    #[serde(rename = "type")]
    record_type: &'a str,
    title: &'a str,
    subtitle: &'a str,
}

// ---- Character rules.

/// Line breaks for single-line values: CR, LF, NEL, LINE SEPARATOR, PARAGRAPH SEPARATOR.
fn is_line_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// Single-line text (titles, names): no control character (Unicode Cc) and no line or paragraph separator.
fn is_single_line_text(s: &str) -> bool {
    !s.chars()
        .any(|c| c.is_control() || c == '\u{2028}' || c == '\u{2029}')
}

fn check_title(title: &str) -> RResult<()> {
    if title.is_empty() || title.len() > MAX_TITLE_LEN {
        return Err(RecordError::TitleLength);
    }
    if !is_single_line_text(title) {
        return Err(RecordError::TitleControl);
    }
    Ok(())
}

fn check_field_name(index: usize, name: &str) -> RResult<()> {
    if name.is_empty() || name.len() > MAX_FIELD_NAME_LEN {
        return Err(RecordError::FieldNameLength { index });
    }
    if !is_single_line_text(name) {
        return Err(RecordError::FieldNameControl { index });
    }
    Ok(())
}

fn check_value(name: &str, kind: FieldKind, value: &str) -> RResult<()> {
    let field = || name.to_owned();
    if value.len() > MAX_VALUE_LEN {
        return Err(RecordError::ValueTooLong { field: field() });
    }
    let single_line = !kind.allows_line_breaks();
    for c in value.chars() {
        if single_line && is_line_break(c) {
            return Err(RecordError::LineBreak { field: field() });
        }
        if c.is_control() && !matches!(c, '\t' | '\n' | '\r') {
            return Err(RecordError::ValueControl { field: field() });
        }
    }
    if value.is_empty() {
        return Ok(());
    }
    let ok = match kind {
        FieldKind::Text | FieldKind::Secret | FieldKind::Url | FieldKind::Multiline => true,
        FieldKind::Email => value.matches('@').count() == 1,
        FieldKind::Phone => value
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c)),
        FieldKind::Date => is_valid_date(value),
        FieldKind::Otp => is_valid_otp(value),
    };
    if ok {
        return Ok(());
    }
    Err(match kind {
        FieldKind::Email => RecordError::Email { field: field() },
        FieldKind::Phone => RecordError::Phone { field: field() },
        FieldKind::Date => RecordError::Date { field: field() },
        _ => RecordError::Otp { field: field() },
    })
}

/// `YYYY-MM-DD` or `YYYY-MM`, a real date of the proleptic Gregorian calendar (`2024-02-29` yes,
/// `2023-02-29` no).
pub fn is_valid_date(value: &str) -> bool {
    let b = value.as_bytes();
    if !(b.len() == 7 || b.len() == 10) || b[4] != b'-' || (b.len() == 10 && b[7] != b'-') {
        return false;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let s = &b[r];
        s.iter()
            .all(u8::is_ascii_digit)
            .then(|| s.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0')))
    };
    let (Some(year), Some(month)) = (num(0..4), num(5..7)) else {
        return false;
    };
    if !(1..=12).contains(&month) {
        return false;
    }
    if b.len() == 7 {
        return true;
    }
    let Some(day) = num(8..10) else {
        return false;
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    (1..=days).contains(&day)
}

/// The check of an `otp` value: an `otpauth://totp/` URI or a bare base32 secret, exactly as
/// docs/protocol.md §8 defines them. It is the one-time code parser itself ([`crate::totp::Totp::parse`],
/// which only parses: no code is computed), so every value a record accepts yields codes.
pub fn is_valid_otp(value: &str) -> bool {
    crate::totp::Totp::parse(value).is_ok()
}

fn parse_file_id(index: usize, text: &str) -> RResult<Id> {
    let id = Id::try_parse(text).map_err(|_| RecordError::FileId { index })?;
    if id.hyphenated().to_string() != text {
        return Err(RecordError::FileId { index });
    }
    Ok(id)
}

fn check_file(index: usize, f: &FileRef) -> RResult<()> {
    if f.name.is_empty()
        || f.name.len() > MAX_FILE_NAME_LEN
        || f.name.contains(['/', '\\'])
        || !is_single_line_text(&f.name)
    {
        return Err(RecordError::FileName { index });
    }
    if f.mime.len() > MAX_MIME_LEN || !f.mime.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        return Err(RecordError::FileMime { index });
    }
    if f.size > MAX_FILE_SIZE {
        return Err(RecordError::FileSize { index });
    }
    Ok(())
}

/// serde reads a struct from a positional JSON array as well as from an object; the format has objects only.
/// Checks the shape (the top level, and every element of the `lists` named) before the strict typed parse.
fn require_objects(json: &[u8], lists: &[&str]) -> RResult<()> {
    let value: serde_json::Value = serde_json::from_slice(json).map_err(json_error)?;
    let object = value
        .as_object()
        .ok_or_else(|| RecordError::Json("expected a JSON object".into()))?;
    for list in lists {
        if let Some(items) = object.get(*list).and_then(|v| v.as_array())
            && items.iter().any(|item| !item.is_object())
        {
            return Err(RecordError::Json(format!(
                "every item of `{list}` must be an object"
            )));
        }
    }
    Ok(())
}

fn json_error(e: serde_json::Error) -> RecordError {
    // serde_json's messages name keys and types, never the values themselves.
    RecordError::Json(e.to_string())
}

impl RecordBody {
    /// An empty record of `record_type`: no fields, notes or files.
    pub fn new(record_type: RecordType, title: impl Into<String>) -> Self {
        RecordBody {
            record_type,
            title: title.into(),
            fields: Vec::new(),
            notes: String::new(),
            files: Vec::new(),
        }
    }

    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Sets the value of the field `name`. An existing field keeps its kind and position; a new one takes
    /// the kind of the type's standard field of that name, or `text` for a custom name, and goes last.
    /// The field is checked first; on error nothing changes.
    pub fn set_field(&mut self, name: &str, value: impl Into<String>) -> RResult<()> {
        let kind = self
            .field(name)
            .map(|f| f.kind)
            .or_else(|| self.record_type.standard_kind(name))
            .unwrap_or(FieldKind::Text);
        self.set_field_with_kind(name, kind, value)
    }

    /// Sets the field `name` to `kind` and `value`, replacing any field of that name in place.
    pub fn set_field_with_kind(
        &mut self,
        name: &str,
        kind: FieldKind,
        value: impl Into<String>,
    ) -> RResult<()> {
        let value = value.into();
        let position = self.fields.iter().position(|f| f.name == name);
        check_field_name(position.unwrap_or(self.fields.len()), name)?;
        check_value(name, kind, &value)?;
        match position {
            Some(i) => {
                self.fields[i].kind = kind;
                self.fields[i].value = value;
            }
            None if self.fields.len() >= MAX_FIELDS => return Err(RecordError::TooManyFields),
            None => self.fields.push(Field {
                name: name.to_owned(),
                kind,
                value,
            }),
        }
        Ok(())
    }

    /// Removes the field `name`, returning it.
    pub fn remove_field(&mut self, name: &str) -> Option<Field> {
        let i = self.fields.iter().position(|f| f.name == name)?;
        Some(self.fields.remove(i))
    }

    /// Checks every rule of docs/protocol.md §3.3 except the encoded size ([`RecordBody::to_json`] checks
    /// that too). Rules run in document order; the first failure is returned.
    pub fn validate(&self) -> RResult<()> {
        check_title(&self.title)?;
        if self.fields.len() > MAX_FIELDS {
            return Err(RecordError::TooManyFields);
        }
        let mut names = std::collections::HashSet::with_capacity(self.fields.len());
        for (i, f) in self.fields.iter().enumerate() {
            check_field_name(i, &f.name)?;
            if !names.insert(f.name.as_str()) {
                return Err(RecordError::DuplicateField {
                    name: f.name.clone(),
                });
            }
            check_value(&f.name, f.kind, &f.value)?;
        }
        if self.notes.len() > MAX_NOTES_LEN {
            return Err(RecordError::NotesTooLong);
        }
        if self
            .notes
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        {
            return Err(RecordError::NotesControl);
        }
        if self.files.len() > MAX_FILES {
            return Err(RecordError::TooManyFiles);
        }
        let mut ids = std::collections::HashSet::with_capacity(self.files.len());
        for (i, f) in self.files.iter().enumerate() {
            check_file(i, f)?;
            if !ids.insert(f.id) {
                return Err(RecordError::DuplicateFileId { index: i });
            }
        }
        Ok(())
    }

    /// Validates and encodes the body as `body_json` (UTF-8 JSON, keys in the order of the spec). Fails if
    /// the padded result would exceed 512 KiB.
    pub fn to_json(&self) -> RResult<Vec<u8>> {
        self.validate()?;
        let out = BodyOut {
            record_type: self.record_type.as_str(),
            title: &self.title,
            fields: self
                .fields
                .iter()
                .map(|f| FieldOut {
                    name: &f.name,
                    kind: f.kind.as_str(),
                    value: &f.value,
                })
                .collect(),
            notes: &self.notes,
            files: self
                .files
                .iter()
                .map(|f| FileOut {
                    id: f.id.hyphenated().to_string(),
                    name: &f.name,
                    mime: &f.mime,
                    size: f.size,
                    key: KeyText(&f.key),
                    sha256: b64u(&f.sha256),
                })
                .collect(),
        };
        let json = serde_json::to_vec(&out).map_err(json_error)?;
        if json.len() >= MAX_BODY_PADDED {
            return Err(RecordError::TooLarge {
                size: json.len(),
                limit: MAX_BODY_PADDED - 1,
            });
        }
        Ok(json)
    }

    /// Decodes and validates `body_json`: strict JSON (no unknown, missing or repeated keys; no byte-order
    /// mark), then every rule of [`RecordBody::validate`].
    pub fn from_json(json: &[u8]) -> RResult<Self> {
        if json.len() >= MAX_BODY_PADDED {
            return Err(RecordError::TooLarge {
                size: json.len(),
                limit: MAX_BODY_PADDED - 1,
            });
        }
        require_objects(json, &["fields", "files"])?;
        let raw: RawBody = serde_json::from_slice(json).map_err(json_error)?;
        let record_type = RecordType::parse(&raw.record_type).ok_or(RecordError::UnknownType)?;
        // Limits on counts are checked before the per-item work.
        if raw.fields.len() > MAX_FIELDS {
            return Err(RecordError::TooManyFields);
        }
        if raw.files.len() > MAX_FILES {
            return Err(RecordError::TooManyFiles);
        }
        let mut fields = Vec::with_capacity(raw.fields.len());
        for (index, f) in raw.fields.into_iter().enumerate() {
            let kind = FieldKind::parse(&f.kind).ok_or(RecordError::UnknownKind { index })?;
            fields.push(Field {
                name: f.name,
                kind,
                value: f.value,
            });
        }
        let mut files = Vec::with_capacity(raw.files.len());
        for (index, f) in raw.files.into_iter().enumerate() {
            let id = parse_file_id(index, &f.id)?;
            let key = b64u_decode_array::<32>("file key", &f.key)
                .map_err(|_| RecordError::FileKey { index })?;
            let sha256 = b64u_decode_array::<32>("file hash", &f.sha256)
                .map_err(|_| RecordError::FileHash { index })?;
            files.push(FileRef {
                id,
                name: f.name,
                mime: f.mime,
                size: f.size,
                key: FileKey::from_bytes(key),
                sha256,
            });
        }
        let body = RecordBody {
            record_type,
            title: raw.title,
            fields,
            notes: raw.notes,
            files,
        };
        body.validate()?;
        Ok(body)
    }

    /// The list-view summary: type, title and the first non-empty value of kind `text`, `url`, `email`,
    /// `phone` or `date`, cut to its first 64 Unicode scalar values (secrets, one-time code seeds and
    /// multi-line text never appear in a list).
    pub fn summary(&self) -> Summary {
        let subtitle = self
            .fields
            .iter()
            .find(|f| {
                !f.value.is_empty()
                    && matches!(
                        f.kind,
                        FieldKind::Text
                            | FieldKind::Url
                            | FieldKind::Email
                            | FieldKind::Phone
                            | FieldKind::Date
                    )
            })
            .map(|f| f.value.chars().take(SUBTITLE_CHARS).collect())
            .unwrap_or_default();
        Summary {
            record_type: self.record_type,
            title: self.title.clone(),
            subtitle,
        }
    }
}

impl Summary {
    /// Checks the title rule, and that the subtitle is one line of at most 64 characters without control
    /// characters other than TAB.
    pub fn validate(&self) -> RResult<()> {
        check_title(&self.title)?;
        if self.subtitle.chars().count() > SUBTITLE_CHARS
            || self
                .subtitle
                .chars()
                .any(|c| is_line_break(c) || (c.is_control() && c != '\t'))
        {
            return Err(RecordError::Subtitle);
        }
        Ok(())
    }

    /// Validates and encodes `summary_json`.
    pub fn to_json(&self) -> RResult<Vec<u8>> {
        self.validate()?;
        let out = SummaryOut {
            record_type: self.record_type.as_str(),
            title: &self.title,
            subtitle: &self.subtitle,
        };
        let json = serde_json::to_vec(&out).map_err(json_error)?;
        if json.len() >= MAX_SUMMARY_PADDED {
            return Err(RecordError::TooLarge {
                size: json.len(),
                limit: MAX_SUMMARY_PADDED - 1,
            });
        }
        Ok(json)
    }

    /// Decodes and validates `summary_json`, as strictly as a body.
    pub fn from_json(json: &[u8]) -> RResult<Self> {
        if json.len() >= MAX_SUMMARY_PADDED {
            return Err(RecordError::TooLarge {
                size: json.len(),
                limit: MAX_SUMMARY_PADDED - 1,
            });
        }
        require_objects(json, &[])?;
        let raw: RawSummary = serde_json::from_slice(json).map_err(json_error)?;
        let record_type = RecordType::parse(&raw.record_type).ok_or(RecordError::UnknownType)?;
        let summary = Summary {
            record_type,
            title: raw.title,
            subtitle: raw.subtitle,
        };
        summary.validate()?;
        Ok(summary)
    }
}

/// `x ‖ 0x80 ‖ 0x00…` up to the next multiple of 256 bytes (ISO/IEC 7816-4); always adds at least one byte.
pub fn pad256(data: &[u8]) -> Vec<u8> {
    let len = (data.len() / PAD_BLOCK + 1) * PAD_BLOCK;
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(data);
    out.push(0x80);
    out.resize(len, 0);
    out
}

/// Removes [`pad256`] padding: the length must be a positive multiple of 256 and the last non-zero byte
/// must be the 0x80 marker.
pub fn unpad256(padded: &[u8]) -> RResult<&[u8]> {
    if padded.is_empty() || !padded.len().is_multiple_of(PAD_BLOCK) {
        return Err(RecordError::PaddingLength);
    }
    match padded.iter().rposition(|b| *b != 0) {
        Some(i) if padded[i] == 0x80 => Ok(&padded[..i]),
        _ => Err(RecordError::Padding),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use proptest::prelude::*;

    fn login() -> RecordBody {
        let mut b = RecordBody::new(RecordType::Login, "Mail");
        b.set_field("username", "ada").unwrap();
        b.set_field("password", "pa ss\nword").unwrap();
        b.set_field("url", "https://mail.example").unwrap();
        b.set_field(
            "totp",
            "otpauth://totp/Mail:ada?secret=JBSWY3DPEHPK3PXP&issuer=Mail",
        )
        .unwrap();
        b.set_field("recovery", "words").unwrap();
        b.notes = "line 1\nline 2\t".into();
        b.files.push(FileRef {
            id: Id::from_bytes([1; 16]),
            name: "scan.pdf".into(),
            mime: "application/pdf".into(),
            size: 12_345,
            key: FileKey::from_bytes([2; 32]),
            sha256: [3; 32],
        });
        b
    }

    #[test]
    fn set_field_uses_template_kinds_and_replaces() {
        let mut b = login();
        assert_eq!(b.field("password").unwrap().kind, FieldKind::Secret);
        assert_eq!(b.field("totp").unwrap().kind, FieldKind::Otp);
        assert_eq!(b.field("recovery").unwrap().kind, FieldKind::Text);
        b.set_field_with_kind("recovery", FieldKind::Secret, "a")
            .unwrap();
        b.set_field("recovery", "b").unwrap();
        assert_eq!(
            b.field("recovery").unwrap().kind,
            FieldKind::Secret,
            "an existing field keeps its kind"
        );
        assert_eq!(b.fields.len(), 5);
        assert!(matches!(
            b.set_field("url", "a\nb"),
            Err(RecordError::LineBreak { .. })
        ));
        assert_eq!(
            b.field("url").unwrap().value,
            "https://mail.example",
            "unchanged on error"
        );
        assert!(b.remove_field("url").is_some());
        assert!(b.field("url").is_none());
    }

    #[test]
    fn json_round_trip_and_exact_encoding() {
        let b = login();
        let json = b.to_json().unwrap();
        let text = String::from_utf8(json.clone()).unwrap();
        assert!(text.starts_with(r#"{"type":"login","title":"Mail","fields":[{"name":"username","kind":"text","value":"ada"}"#));
        assert!(text.contains(r#""files":[{"id":"01010101-0101-0101-0101-010101010101","name":"scan.pdf","mime":"application/pdf","size":12345,"key":"AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI","sha256":"#));
        assert_eq!(RecordBody::from_json(&json).unwrap(), b);
        let dbg = format!("{b:?}");
        assert!(
            !dbg.contains("ada")
                && !dbg.contains("JBSW")
                && !dbg.contains("Mail")
                && !dbg.contains("scan")
        );
    }

    #[test]
    fn strict_json() {
        let ok = br#"{"type":"note","title":"t","fields":[],"notes":"","files":[]}"#;
        assert!(RecordBody::from_json(ok).is_ok());
        for bad in [
            &br#"{"type":"note","title":"t","fields":[],"notes":"","files":[],"x":1}"#[..],
            br#"{"type":"note","title":"t","fields":[],"notes":""}"#,
            br#"{"type":"note","type":"note","title":"t","fields":[],"notes":"","files":[]}"#,
            b"\xef\xbb\xbf{\"type\":\"note\",\"title\":\"t\",\"fields\":[],\"notes\":\"\",\"files\":[]}",
            br#"{"type":"note","title":"t","fields":[{"name":"a","kind":"text","value":"v","x":0}],"notes":"","files":[]}"#,
            br#"{"type":"note","title":"t","fields":[],"notes":"","files":[{"id":"01010101-0101-0101-0101-010101010101","name":"a","mime":"","size":1.5,"key":"","sha256":""}]}"#,
        ] {
            assert!(matches!(RecordBody::from_json(bad), Err(RecordError::Json(_))), "{}", String::from_utf8_lossy(bad));
        }
        let t = br#"{"type":"Note","title":"t","fields":[],"notes":"","files":[]}"#;
        assert_eq!(RecordBody::from_json(t), Err(RecordError::UnknownType));
        let k = br#"{"type":"note","title":"t","fields":[{"name":"a","kind":"pin","value":""}],"notes":"","files":[]}"#;
        assert_eq!(
            RecordBody::from_json(k),
            Err(RecordError::UnknownKind { index: 0 })
        );
    }

    #[test]
    fn each_rule_fails() {
        type Mutation = Box<dyn Fn(&mut RecordBody)>;
        let cases: Vec<(Mutation, &str)> = vec![
            (Box::new(|b| b.title.clear()), "title_length"),
            (Box::new(|b| b.title = "x".repeat(257)), "title_length"),
            (Box::new(|b| b.title = "a\u{7}".into()), "title_control"),
            (Box::new(|b| b.title = "a\u{2028}b".into()), "title_control"),
            (Box::new(|b| b.fields[0].name.clear()), "field_name_length"),
            (
                Box::new(|b| b.fields[0].name = "n".repeat(65)),
                "field_name_length",
            ),
            (
                Box::new(|b| b.fields[0].name = "a\tb".into()),
                "field_name_control",
            ),
            (
                Box::new(|b| b.fields[1].name = "username".into()),
                "duplicate_field",
            ),
            (
                Box::new(|b| b.fields[0].value = "v".repeat(65_537)),
                "value_too_long",
            ),
            (
                Box::new(|b| b.fields[0].value = "a\rb".into()),
                "line_break",
            ),
            (
                Box::new(|b| b.fields[0].value = "a\u{1b}[2Jb".into()),
                "value_control",
            ),
            (
                Box::new(|b| b.fields[1].value = "a\u{0}".into()),
                "value_control",
            ),
            (
                Box::new(|b| {
                    b.fields.push(Field {
                        name: "d".into(),
                        kind: FieldKind::Date,
                        value: "2023-02-29".into(),
                    })
                }),
                "bad_date",
            ),
            (
                Box::new(|b| b.fields[3].value = "otpauth://hotp/x?secret=JBSW".into()),
                "bad_otp",
            ),
            (
                Box::new(|b| {
                    b.fields.push(Field {
                        name: "e".into(),
                        kind: FieldKind::Email,
                        value: "a@b@c".into(),
                    })
                }),
                "bad_email",
            ),
            (
                Box::new(|b| {
                    b.fields.push(Field {
                        name: "p".into(),
                        kind: FieldKind::Phone,
                        value: "+1 555 CALL".into(),
                    })
                }),
                "bad_phone",
            ),
            (
                Box::new(|b| {
                    b.fields = (0..129)
                        .map(|i| Field {
                            name: format!("f{i}"),
                            kind: FieldKind::Text,
                            value: String::new(),
                        })
                        .collect()
                }),
                "too_many_fields",
            ),
            (
                Box::new(|b| b.notes = "n".repeat(262_145)),
                "notes_too_long",
            ),
            (Box::new(|b| b.notes = "\u{7f}".into()), "notes_control"),
            (
                Box::new(|b| b.files[0].name = "a/b".into()),
                "bad_file_name",
            ),
            (
                Box::new(|b| b.files[0].name = "a\\b".into()),
                "bad_file_name",
            ),
            (Box::new(|b| b.files[0].name.clear()), "bad_file_name"),
            (
                Box::new(|b| b.files[0].name = "n".repeat(256)),
                "bad_file_name",
            ),
            (
                Box::new(|b| b.files[0].mime = "m".repeat(128)),
                "bad_file_mime",
            ),
            (
                Box::new(|b| b.files[0].mime = "text/\u{e9}".into()),
                "bad_file_mime",
            ),
            (
                Box::new(|b| b.files[0].size = MAX_FILE_SIZE + 1),
                "bad_file_size",
            ),
        ];
        for (i, (mutate, kind)) in cases.iter().enumerate() {
            let mut b = login();
            mutate(&mut b);
            assert_eq!(b.validate().map_err(|e| e.kind()), Err(*kind), "case {i}");
        }
        let mut b = login();
        let dup = FileRef {
            id: b.files[0].id,
            name: "b".into(),
            mime: String::new(),
            size: 0,
            key: FileKey::from_bytes([0; 32]),
            sha256: [0; 32],
        };
        b.files.push(dup);
        assert_eq!(b.validate(), Err(RecordError::DuplicateFileId { index: 1 }));
    }

    #[test]
    fn file_reference_encodings() {
        let base = |id: &str, key: &str, hash: &str| {
            format!(
                r#"{{"type":"file","title":"t","fields":[],"notes":"","files":[{{"id":"{id}","name":"a","mime":"","size":1,"key":"{key}","sha256":"{hash}"}}]}}"#
            )
        };
        let k = b64u(&[1; 32]);
        let id = "0a0b0c0d-0101-4101-8101-010101010101";
        assert!(RecordBody::from_json(base(id, &k, &k).as_bytes()).is_ok());
        assert_eq!(
            RecordBody::from_json(base(&id.to_uppercase(), &k, &k).as_bytes())
                .map_err(|e| e.kind())
                .err(),
            Some("bad_file_id")
        );
        assert_eq!(
            RecordBody::from_json(base(&id.replace('-', ""), &k, &k).as_bytes())
                .map_err(|e| e.kind())
                .err(),
            Some("bad_file_id")
        );
        assert_eq!(
            RecordBody::from_json(base(id, &k[..42], &k).as_bytes())
                .map_err(|e| e.kind())
                .err(),
            Some("bad_file_key")
        );
        assert_eq!(
            RecordBody::from_json(base(id, &k, &b64u(&[1; 31])).as_bytes())
                .map_err(|e| e.kind())
                .err(),
            Some("bad_file_hash")
        );
    }

    #[test]
    fn dates_and_otps() {
        for ok in [
            "2024-02-29",
            "2000-02-29",
            "2023-12",
            "0001-01-01",
            "2023-04-30",
        ] {
            assert!(is_valid_date(ok), "{ok}");
        }
        for bad in [
            "2023-02-29",
            "1900-02-29",
            "2023-13",
            "2023-00",
            "2023-04-31",
            "23-04-01",
            "2023/04/01",
            "2023-4-1",
            "２０２３-01",
        ] {
            assert!(!is_valid_date(bad), "{bad}");
        }
        for ok in [
            "JBSWY3DPEHPK3PXP",
            "jbsw y3dp ehpk 3pxp",
            "JBSWY3DPEHPK3PXP====",
            "otpauth://totp/Example:alice@example.com?secret=JBSWY3DPEHPK3PXP&issuer=Example",
            "otpauth://totp/x?secret=jbswy3dpehpk3pxp&algorithm=sha256&digits=8&period=60",
            "otpauth://totp/?issuer=a&secret=JBSWY3DP",
        ] {
            assert!(is_valid_otp(ok), "{ok}");
        }
        for bad in [
            "",
            "JBSWY3DPEHPK3PX1",
            "JBSWY3",
            "otpauth://hotp/x?secret=JBSWY3DP",
            "otpauth://totp/x",
            "otpauth://totp/x?issuer=a",
            "otpauth://totp/x?secret=JBSWY3DP&secret=JBSWY3DP",
            "otpauth://totp/x?secret=JBSWY3DP&digits=9",
            "otpauth://totp/x?secret=JBSWY3DP&period=10",
            "otpauth://totp/x?secret=JBSWY3DP&period=+30",
            "otpauth://totp/x?secret=JBSWY3DP&algorithm=MD5",
        ] {
            assert!(!is_valid_otp(bad), "{bad}");
        }
    }

    #[test]
    fn summary_skips_secrets_and_truncates() {
        let mut b = RecordBody::new(RecordType::Login, "T");
        b.set_field("password", "hunter2").unwrap();
        b.set_field("totp", "JBSWY3DPEHPK3PXP").unwrap();
        b.set_field("username", "").unwrap();
        assert_eq!(b.summary().subtitle, "");
        b.set_field("url", "é".repeat(70)).unwrap();
        let s = b.summary();
        assert_eq!(s.subtitle.chars().count(), 64);
        let json = s.to_json().unwrap();
        assert_eq!(Summary::from_json(&json).unwrap(), s);
        assert!(Summary::from_json(br#"{"type":"login","title":"T","subtitle":"a\nb"}"#).is_err());
        assert!(
            Summary::from_json(br#"{"type":"login","title":"T","subtitle":"","x":0}"#).is_err()
        );
    }

    #[test]
    fn padding() {
        assert_eq!(pad256(b"").len(), 256);
        assert_eq!(pad256(&[1; 255]).len(), 256);
        assert_eq!(pad256(&[1; 256]).len(), 512);
        assert_eq!(unpad256(&pad256(b"abc")).unwrap(), b"abc");
        assert_eq!(unpad256(&[0; 256]), Err(RecordError::Padding));
        let mut p = pad256(b"abc");
        p[200] = 1;
        assert_eq!(unpad256(&p), Err(RecordError::Padding));
        assert_eq!(unpad256(&p[..255]), Err(RecordError::PaddingLength));
        assert_eq!(unpad256(&[]), Err(RecordError::PaddingLength));
    }

    #[test]
    fn body_size_limit() {
        let mut b = RecordBody::new(RecordType::Note, "big");
        for i in 0..9 {
            b.set_field_with_kind(&format!("f{i}"), FieldKind::Multiline, "x".repeat(60_000))
                .unwrap();
        }
        assert!(matches!(b.to_json(), Err(RecordError::TooLarge { .. })));
    }

    fn value_for(kind: FieldKind) -> BoxedStrategy<String> {
        match kind {
            FieldKind::Text | FieldKind::Url => {
                "[a-zA-Z0-9 :/.\u{e9}\u{1f600}\"\\\\\t]{0,40}".boxed()
            }
            FieldKind::Secret | FieldKind::Multiline => "[ -~\n\r\t\u{e9}]{0,80}".boxed(),
            FieldKind::Email => "[a-z]{1,8}@[a-z]{1,8}\\.[a-z]{2,3}".boxed(),
            FieldKind::Phone => "[0-9 +()\\-.]{0,20}".boxed(),
            FieldKind::Otp => "[A-Z2-7]{16}".boxed(),
            FieldKind::Date => (1u32..9999, 1u32..13, 1u32..29)
                .prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}"))
                .boxed(),
        }
    }

    pub(crate) fn arb_body() -> impl Strategy<Value = RecordBody> {
        let field = proptest::sample::select(FieldKind::ALL.to_vec())
            .prop_flat_map(|k| value_for(k).prop_map(move |v| (k, v)));
        (
            proptest::sample::select(RecordType::ALL.to_vec()),
            "[a-zA-Z0-9 \u{e9}]{1,30}",
            proptest::collection::vec(("[a-z_]{1,10}", field), 0..8),
            "[ -~\n\t]{0,100}",
            proptest::collection::vec(
                (
                    "[a-zA-Z0-9 ._-]{1,20}",
                    any::<[u8; 16]>(),
                    0u64..=MAX_FILE_SIZE,
                    any::<[u8; 32]>(),
                ),
                0..3,
            ),
        )
            .prop_map(|(t, title, fields, notes, files)| {
                let mut b = RecordBody::new(t, title);
                for (i, (name, (kind, value))) in fields.into_iter().enumerate() {
                    b.fields.push(Field {
                        name: format!("{name}{i}"),
                        kind,
                        value,
                    });
                }
                b.notes = notes;
                for (i, (name, id, size, key)) in files.into_iter().enumerate() {
                    let mut id = id;
                    id[0] = i as u8;
                    b.files.push(FileRef {
                        id: Id::from_bytes(id),
                        name,
                        mime: "text/plain".into(),
                        size,
                        key: FileKey::from_bytes(key),
                        sha256: key,
                    });
                }
                b
            })
    }

    proptest! {
        #[test]
        fn body_json_round_trip(b in arb_body()) {
            prop_assert_eq!(b.validate(), Ok(()));
            let json = b.to_json().unwrap();
            prop_assert_eq!(RecordBody::from_json(&json).unwrap(), b);
        }

        #[test]
        fn pad_round_trip(data in proptest::collection::vec(any::<u8>(), 0..700)) {
            let p = pad256(&data);
            prop_assert_eq!(p.len() % 256, 0);
            prop_assert!(p.len() > data.len());
            prop_assert_eq!(unpad256(&p).unwrap(), &data[..]);
        }
    }
}
