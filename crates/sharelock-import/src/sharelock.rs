//! Sharelock's own export (docs/export.md), version 1: `{"format":"sharelock-export","version":1,
//! "exported_at":…,"records":[{"id","version","updated_at","body":<record body>,"files":[…]}]}`,
//! plain or as the plaintext of an age file encrypted with a passphrase (binary or ASCII-armored).
//! Bodies are imported exactly as they are (they are records already); file contents are not in an
//! export, so each listed file is reported.

use crate::json::{self, Obj};
use crate::{
    Format, Import, ImportError, Item, MAX_SCRYPT_LOG_N, MAX_TEXT_BYTES, Warning, WarningCode,
    too_large_text,
};
use age::secrecy::SecretString;
use serde_json::Value;
use sharelock_core::record::RecordBody;
use std::io::Read;
use zeroize::Zeroizing;

const F: Format = Format::Sharelock;
/// The export document's `format`.
pub(crate) const FORMAT: &str = "sharelock-export";
const AGE_MAGIC: &[u8] = b"age-encryption.org/v1\n";
const ARMOR_BEGIN: &[u8] = b"-----BEGIN AGE ENCRYPTED FILE-----";

pub(crate) fn is_age(bytes: &[u8]) -> bool {
    let start = bytes
        .iter()
        .position(|b| !b" \t\r\n".contains(b))
        .map_or(&[][..], |i| &bytes[i..]);
    bytes.starts_with(AGE_MAGIC) || start.starts_with(ARMOR_BEGIN)
}

/// Opens an age file made with a passphrase: its plaintext, at most [`MAX_TEXT_BYTES`].
pub fn decrypt(bytes: &[u8], passphrase: &str) -> Result<Zeroizing<Vec<u8>>, ImportError> {
    use age::DecryptError as D;
    let not_age = |_| ImportError::malformed(F, "not a readable age file");
    let decryptor =
        age::Decryptor::new_buffered(age::armor::ArmoredReader::new(bytes)).map_err(not_age)?;
    if !decryptor.is_scrypt() {
        return Err(ImportError::malformed(
            F,
            "the age file is encrypted to keys, not with a passphrase",
        ));
    }
    let mut identity = age::scrypt::Identity::new(SecretString::from(passphrase.to_owned()));
    identity.set_max_work_factor(MAX_SCRYPT_LOG_N);
    let reader = decryptor
        .decrypt(std::iter::once(&identity as _))
        .map_err(|e| match e {
            D::DecryptionFailed | D::KeyDecryptionFailed | D::NoMatchingKeys => {
                ImportError::WrongPassphrase
            }
            D::ExcessiveWork { required, .. } => ImportError::ExcessiveWork(required),
            _ => ImportError::malformed(F, "not a readable age file"),
        })?;
    let mut out = Zeroizing::new(Vec::new());
    reader
        .take(MAX_TEXT_BYTES as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|_| ImportError::malformed(F, "the age file is damaged"))?;
    if out.len() > MAX_TEXT_BYTES {
        return Err(too_large_text());
    }
    Ok(out)
}

pub(crate) fn parse(bytes: &[u8], passphrase: Option<&str>) -> Result<Import, ImportError> {
    if is_age(bytes) {
        let passphrase = passphrase.ok_or(ImportError::PassphraseRequired)?;
        let plain = decrypt(bytes, passphrase)?;
        return parse_document(crate::text(&plain)?);
    }
    if bytes.len() > MAX_TEXT_BYTES {
        return Err(too_large_text());
    }
    parse_document(crate::text(bytes)?)
}

fn parse_document(text: &str) -> Result<Import, ImportError> {
    let value = json::parse(F, text)?;
    let top = Obj::new(&value, F, "the document")?;
    if top.str("format")? != FORMAT {
        return Err(ImportError::malformed(
            F,
            "`format` is not \"sharelock-export\"",
        ));
    }
    match top.map.get("version").and_then(Value::as_u64) {
        Some(1) => {}
        Some(other) => return Err(ImportError::UnsupportedVersion(other)),
        None => return Err(ImportError::malformed(F, "`version` is not a number")),
    }
    if !top.map.get("records").is_some_and(Value::is_array) {
        return Err(ImportError::malformed(F, "no `records` array"));
    }
    let mut items = Vec::new();
    for (i, record) in top.array("records")?.iter().enumerate() {
        let r = Obj::new(record, F, format!("record {i}"))?;
        let Some(body_value) = r.map.get("body") else {
            return Err(ImportError::malformed(
                F,
                format!("record {i} has no `body`"),
            ));
        };
        let title = body_value
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let mut warnings = Vec::new();
        // A body's own file references (none in a well-formed export) cannot come along either.
        for file in body_value
            .get("files")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice)
        {
            warnings.push(attachment(file.get("name").and_then(Value::as_str)));
        }
        for (n, file) in r.array("files")?.iter().enumerate() {
            let f = Obj::new(file, F, format!("record {i} file {n}"))?;
            warnings.push(attachment(Some(f.str("name")?)));
        }
        let json = serde_json::to_vec(body_value)
            .map_err(|_| ImportError::malformed(F, format!("record {i}: unreadable body")))?;
        let item = match RecordBody::from_json(&json) {
            Ok(mut body) => {
                body.files.clear();
                Item {
                    source: i,
                    title: body.title.clone(),
                    body: Some(body),
                    warnings,
                    error: None,
                }
            }
            Err(e) => Item {
                source: i,
                title,
                body: None,
                warnings,
                error: Some(e.kind().to_owned()),
            },
        };
        items.push(item);
    }
    Ok(Import {
        format: F,
        items,
        warnings: Vec::new(),
    })
}

fn attachment(name: Option<&str>) -> Warning {
    Warning {
        code: WarningCode::AttachmentNotImported,
        name: name.map(str::to_owned),
    }
}
