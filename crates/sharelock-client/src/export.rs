//! The Sharelock export (docs/export.md): every record's current version, decrypted, as one UTF-8 JSON
//! document; by default the plaintext of an age file encrypted with a passphrase (scrypt recipient),
//! binary or ASCII-armored; or, only when asked for, plain JSON or CSV. File contents are never in it:
//! a record's files are listed by name, size and type, and no file key leaves the vault.

use crate::records::RecordView;
use age::secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sharelock_core::record::RecordBody;
use std::io::{Read, Write};
use time::OffsetDateTime;
use uuid::Uuid;
use zeroize::Zeroizing;

/// The document's `format`.
pub const FORMAT: &str = "sharelock-export";
/// The document's `version`.
pub const VERSION: u32 = 1;
/// The scrypt work factor (log2 N) of an encrypted export: the age reference clients' and typage's
/// default, so an export made anywhere opens anywhere in about a second (256 MiB of memory).
pub const SCRYPT_LOG_N: u8 = 18;
/// The largest scrypt work factor [`decrypt`] accepts: a file asking for more work is refused rather
/// than tying up the machine (an export from another age client with a measured work factor still fits).
pub const MAX_SCRYPT_LOG_N: u8 = 22;

/// The whole export.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportDocument {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`] for this layout.
    pub version: u32,
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    pub exported_at: OffsetDateTime,
    /// Every record, most recently changed first.
    pub records: Vec<ExportedRecord>,
}

/// One record's current version.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportedRecord {
    /// The record id in the vault it came from.
    pub id: Uuid,
    /// Its current version there.
    pub version: u64,
    /// When that version was written.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// The record body as docs/protocol.md §3.3 (its keys in that order), with `"files": []`.
    pub body: Box<RawValue>,
    /// The record's files, described only.
    pub files: Vec<ExportedFile>,
}

/// A file attached to a record: its contents are not exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportedFile {
    /// The file's name.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its MIME type (may be empty).
    pub content_type: String,
}

/// Why an export could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The passphrase does not open the file.
    #[error("the passphrase does not open this export")]
    WrongPassphrase,
    /// Not an age file with a passphrase, or damaged.
    #[error("not an encrypted Sharelock export: {0}")]
    NotAnExport(String),
    /// A record could not be encoded (it failed its own validation).
    #[error("record {id} cannot be exported: {why}")]
    Record {
        /// The record.
        id: Uuid,
        /// Why.
        why: String,
    },
    /// Writing the encrypted file failed.
    #[error("cannot encrypt the export: {0}")]
    Encrypt(String),
}

impl ExportDocument {
    /// The document for these records, made at `now`. Each body is written without its files (and so
    /// without their keys); the files are listed beside it.
    pub fn new(records: Vec<RecordView>, now: OffsetDateTime) -> Result<Self, ExportError> {
        let mut out = Vec::with_capacity(records.len());
        for view in records {
            let RecordView {
                id,
                version,
                updated_at,
                mut body,
                ..
            } = view;
            let files = std::mem::take(&mut body.files)
                .into_iter()
                .map(|f| ExportedFile {
                    name: f.name.clone(),
                    size: f.size,
                    content_type: f.mime.clone(),
                })
                .collect();
            let json = Zeroizing::new(body.to_json().map_err(|e| ExportError::Record {
                id,
                why: e.to_string(),
            })?);
            let text = std::str::from_utf8(&json).map_err(|e| ExportError::Record {
                id,
                why: e.to_string(),
            })?;
            let body = RawValue::from_string(text.to_owned()).map_err(|e| ExportError::Record {
                id,
                why: e.to_string(),
            })?;
            out.push(ExportedRecord {
                id,
                version,
                updated_at,
                body,
                files,
            });
        }
        Ok(ExportDocument {
            format: FORMAT.to_owned(),
            version: VERSION,
            exported_at: now,
            records: out,
        })
    }

    /// The document as UTF-8 JSON (indented, each body on its own line), ending in a newline.
    pub fn to_json(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(
            // Plain data with string keys: serialising it cannot fail.
            serde_json::to_vec_pretty(self).unwrap_or_default(),
        );
        out.push(b'\n');
        out
    }

    /// Reads a document: JSON of this layout, `format` and `version` as written here, every body a valid
    /// record body (docs/protocol.md §3.3) with no files.
    pub fn from_json(json: &[u8]) -> Result<Self, ExportError> {
        let doc: ExportDocument =
            serde_json::from_slice(json).map_err(|e| ExportError::NotAnExport(e.to_string()))?;
        if doc.format != FORMAT {
            return Err(ExportError::NotAnExport(format!(
                "format is {:?}, not {FORMAT:?}",
                doc.format
            )));
        }
        if doc.version != VERSION {
            return Err(ExportError::NotAnExport(format!(
                "version {} (this Sharelock reads version {VERSION})",
                doc.version
            )));
        }
        for r in &doc.records {
            let body = r
                .body()
                .map_err(|why| ExportError::Record { id: r.id, why })?;
            if !body.files.is_empty() {
                return Err(ExportError::Record {
                    id: r.id,
                    why: "its body lists files".into(),
                });
            }
        }
        Ok(doc)
    }
}

impl ExportedRecord {
    /// The body, decoded and validated.
    pub fn body(&self) -> Result<RecordBody, String> {
        RecordBody::from_json(self.body.get().as_bytes()).map_err(|e| e.to_string())
    }
}

/// Encrypts `plaintext` to an age file with `passphrase` (one scrypt recipient, work factor
/// [`SCRYPT_LOG_N`]), ASCII-armored if asked.
pub fn encrypt(plaintext: &[u8], passphrase: &str, armor: bool) -> Result<Vec<u8>, ExportError> {
    encrypt_with_work_factor(plaintext, passphrase, armor, SCRYPT_LOG_N)
}

/// [`encrypt`] with another scrypt work factor (tests and fixtures, which need no strength).
pub fn encrypt_with_work_factor(
    plaintext: &[u8],
    passphrase: &str,
    armor: bool,
    log_n: u8,
) -> Result<Vec<u8>, ExportError> {
    let mut recipient = age::scrypt::Recipient::new(SecretString::from(passphrase.to_owned()));
    recipient.set_work_factor(log_n);
    let encryptor = age::Encryptor::with_recipients(std::iter::once(&recipient as _))
        .map_err(|e| ExportError::Encrypt(e.to_string()))?;
    let mut out = Vec::with_capacity(plaintext.len() + 1024);
    let format = if armor {
        age::armor::Format::AsciiArmor
    } else {
        age::armor::Format::Binary
    };
    let io = |e: std::io::Error| ExportError::Encrypt(e.to_string());
    let armored = age::armor::ArmoredWriter::wrap_output(&mut out, format).map_err(io)?;
    let mut writer = encryptor.wrap_output(armored).map_err(io)?;
    writer.write_all(plaintext).map_err(io)?;
    writer.finish().and_then(|a| a.finish()).map_err(io)?;
    Ok(out)
}

/// Decrypts an age file (binary or armored) made with a passphrase. A wrong passphrase is
/// [`ExportError::WrongPassphrase`]; a file asking for more than [`MAX_SCRYPT_LOG_N`] is refused.
pub fn decrypt(file: &[u8], passphrase: &str) -> Result<Zeroizing<Vec<u8>>, ExportError> {
    use age::DecryptError as D;
    let mut identity = age::scrypt::Identity::new(SecretString::from(passphrase.to_owned()));
    identity.set_max_work_factor(MAX_SCRYPT_LOG_N);
    let not_export = |e: D| ExportError::NotAnExport(e.to_string());
    let decryptor =
        age::Decryptor::new_buffered(age::armor::ArmoredReader::new(file)).map_err(not_export)?;
    if !decryptor.is_scrypt() {
        return Err(ExportError::NotAnExport(
            "it is encrypted to keys, not with a passphrase".into(),
        ));
    }
    let mut reader = decryptor
        .decrypt(std::iter::once(&identity as _))
        .map_err(|e| match e {
            D::DecryptionFailed | D::KeyDecryptionFailed | D::NoMatchingKeys => {
                ExportError::WrongPassphrase
            }
            other => not_export(other),
        })?;
    let mut out = Zeroizing::new(Vec::new());
    reader
        .read_to_end(&mut out)
        .map_err(|e| ExportError::NotAnExport(e.to_string()))?;
    Ok(out)
}

/// The CSV form (docs/export.md): a header, then one row per record:
/// `id,type,title,notes,updated_at,files,field_1_name,field_1_kind,field_1_value,…` with as many field
/// triples as the record with the most fields has (shorter rows are padded with empty cells). `files`
/// lists the file names, one per line. Values are written exactly as they are, quoted as RFC 4180 needs.
pub fn to_csv(doc: &ExportDocument) -> Result<Zeroizing<Vec<u8>>, ExportError> {
    let mut bodies = Vec::with_capacity(doc.records.len());
    for r in &doc.records {
        bodies.push(
            r.body()
                .map_err(|why| ExportError::Record { id: r.id, why })?,
        );
    }
    let widest = bodies.iter().map(|b| b.fields.len()).max().unwrap_or(0);
    let mut header: Vec<String> = ["id", "type", "title", "notes", "updated_at", "files"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    for n in 1..=widest {
        header.push(format!("field_{n}_name"));
        header.push(format!("field_{n}_kind"));
        header.push(format!("field_{n}_value"));
    }
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let failed = |e: csv::Error| ExportError::Encrypt(e.to_string());
    writer.write_record(&header).map_err(failed)?;
    for (r, body) in doc.records.iter().zip(&bodies) {
        let updated = r
            .updated_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let files: Vec<&str> = r.files.iter().map(|f| f.name.as_str()).collect();
        let mut row: Vec<Zeroizing<String>> = vec![
            Zeroizing::new(r.id.to_string()),
            Zeroizing::new(body.record_type.as_str().to_owned()),
            Zeroizing::new(body.title.clone()),
            Zeroizing::new(body.notes.clone()),
            Zeroizing::new(updated),
            Zeroizing::new(files.join("\n")),
        ];
        for f in &body.fields {
            row.push(Zeroizing::new(f.name.clone()));
            row.push(Zeroizing::new(f.kind.as_str().to_owned()));
            row.push(Zeroizing::new(f.value.clone()));
        }
        row.resize_with(header.len(), || Zeroizing::new(String::new()));
        writer
            .write_record(row.iter().map(|c| c.as_bytes()))
            .map_err(failed)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| ExportError::Encrypt(e.to_string()))?;
    Ok(Zeroizing::new(bytes))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::records::Verification;
    use sharelock_core::record::{FieldKind, FileKey, FileRef, RecordType};

    fn view(body: RecordBody, version: u64) -> RecordView {
        RecordView {
            id: Uuid::new_v4(),
            version,
            key_gen: 1,
            body,
            verification: Verification::Owner,
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
            rotate_pending: false,
            summary_mismatch: false,
        }
    }

    fn sample() -> ExportDocument {
        let mut login = RecordBody::new(RecordType::Login, "Mail");
        login.set_field("username", "ada").unwrap();
        login.set_field("password", "=cmd|' /C calc'!A0").unwrap();
        login
            .set_field_with_kind("api key", FieldKind::Secret, "k,1\"x")
            .unwrap();
        login.notes = "line 1\nline 2".into();
        let mut scan = RecordBody::new(RecordType::File, "Passport");
        scan.files.push(FileRef {
            id: Uuid::new_v4(),
            name: "scan.pdf".into(),
            mime: "application/pdf".into(),
            size: 12345,
            key: FileKey::from_bytes([7; 32]),
            sha256: [1; 32],
        });
        ExportDocument::new(
            vec![view(login, 3), view(scan, 1)],
            OffsetDateTime::from_unix_timestamp(1_800_000_100).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn files_are_listed_and_no_file_key_is_written() {
        let doc = sample();
        let json = doc.to_json();
        let text = std::str::from_utf8(&json).unwrap();
        assert!(!text.contains("\"key\""), "{text}");
        assert!(!text.contains("sha256"), "{text}");
        let back = ExportDocument::from_json(&json).unwrap();
        assert_eq!(back.records.len(), 2);
        assert_eq!(
            back.records[1].files,
            vec![ExportedFile {
                name: "scan.pdf".into(),
                size: 12345,
                content_type: "application/pdf".into()
            }]
        );
        assert!(back.records[1].body().unwrap().files.is_empty());
        let login = back.records[0].body().unwrap();
        assert_eq!(login.field("api key").unwrap().kind, FieldKind::Secret);
        assert_eq!(back.records[0].version, 3);
        // The body keeps the protocol's key order.
        assert!(
            back.records[0]
                .body
                .get()
                .starts_with("{\"type\":\"login\",\"title\":\"Mail\",\"fields\":")
        );
        let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(value["format"], "sharelock-export");
        assert_eq!(value["version"], 1);
        assert_eq!(value["exported_at"], "2027-01-15T08:01:40Z");
        assert_eq!(value["records"][1]["body"]["files"], serde_json::json!([]));
    }

    #[test]
    fn documents_of_another_format_or_version_are_refused() {
        let json = sample().to_json();
        let text = std::str::from_utf8(&json).unwrap();
        for bad in [
            text.replace("\"version\": 1,", "\"version\": 2,"),
            text.replace("sharelock-export", "other-export"),
            text.replace("\"format\"", "\"formats\""),
            text.replace("\"files\":[]", "\"files\":[1]"),
        ] {
            assert!(
                matches!(
                    ExportDocument::from_json(bad.as_bytes()),
                    Err(ExportError::NotAnExport(_) | ExportError::Record { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn encrypted_exports_open_with_the_passphrase_only() {
        let json = sample().to_json();
        // The default work factor once (it is what exports use), a cheap one for the rest.
        let strong = encrypt(&json, "correct horse battery", false).unwrap();
        assert!(
            std::str::from_utf8(&strong[..80])
                .unwrap()
                .contains(&format!(" {SCRYPT_LOG_N}\n"))
        );
        for armor in [false, true] {
            let file = encrypt_with_work_factor(&json, "correct horse battery", armor, 10).unwrap();
            if armor {
                assert!(file.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----"));
            } else {
                assert!(file.starts_with(b"age-encryption.org/v1\n-> scrypt "));
            }
            // The age crate alone, as any age client would.
            let identity =
                age::scrypt::Identity::new(SecretString::from("correct horse battery".to_owned()));
            assert_eq!(age::decrypt(&identity, &file).unwrap(), json.to_vec());
            assert_eq!(
                decrypt(&file, "correct horse battery").unwrap().to_vec(),
                json.to_vec()
            );
            assert!(matches!(
                decrypt(&file, "wrong horse battery"),
                Err(ExportError::WrongPassphrase)
            ));
        }
        assert!(matches!(
            decrypt(b"{\"format\":\"sharelock-export\"}", "x"),
            Err(ExportError::NotAnExport(_))
        ));
    }

    #[test]
    fn csv_has_one_row_per_record_and_fields_as_triples() {
        let csv = to_csv(&sample()).unwrap();
        let mut reader = csv::Reader::from_reader(csv.as_slice());
        let header: Vec<String> = reader.headers().unwrap().iter().map(Into::into).collect();
        assert_eq!(
            header,
            [
                "id",
                "type",
                "title",
                "notes",
                "updated_at",
                "files",
                "field_1_name",
                "field_1_kind",
                "field_1_value",
                "field_2_name",
                "field_2_kind",
                "field_2_value",
                "field_3_name",
                "field_3_kind",
                "field_3_value"
            ]
        );
        let rows: Vec<Vec<String>> = reader
            .records()
            .map(|r| r.unwrap().iter().map(Into::into).collect())
            .collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0][1..5],
            ["login", "Mail", "line 1\nline 2", "2027-01-15T08:00:00Z"]
        );
        assert_eq!(rows[0][12..], ["api key", "secret", "k,1\"x"]);
        // Values are exact (an export is for moving records, not for a spreadsheet).
        assert_eq!(rows[0][9..12], ["password", "secret", "=cmd|' /C calc'!A0"]);
        assert_eq!(rows[1][5], "scan.pdf");
        assert!(rows[1][6..].iter().all(String::is_empty));
    }
}
