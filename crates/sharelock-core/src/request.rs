//! Requests (docs/protocol.md §4.5): a share through which its recipient fills in a blank record. The
//! sender's instructions are sealed under the share key, with the number of answers the server lets
//! through bound into the associated data, so neither the text nor the stated limit can be changed by the
//! server without the box failing to open.

use crate::crypto::{self, AadKind};
use crate::error::{Error, Result};
use crate::record::{FieldKind, RecordBody, RecordError, RecordType, pad256, unpad256};
use crate::share::{ShareId, ShareKey};

/// The longest instructions, in bytes of UTF-8.
pub const MAX_INSTRUCTIONS_LEN: usize = 4096;
/// The most answers a request may take.
pub const MAX_ANSWERS: u32 = 100;
/// The shortest sealed request box: `28 + 256` bytes (one padded block).
pub const MIN_BOX_LEN: usize = 28 + 256;
/// The longest sealed request box: `28 + 256·17` bytes (4 096 bytes of text and its padding).
pub const MAX_BOX_LEN: usize = 28 + 256 * 17;

/// `AAD("share-request", share_id ‖ u32(max_answers))`.
pub fn request_aad(share_id: &ShareId, max_answers: u32) -> Vec<u8> {
    crypto::aad(
        AadKind::ShareRequest,
        &[share_id.as_bytes(), &max_answers.to_be_bytes()],
    )
}

/// Whether `len` is the length of a request box (what the server checks; it cannot open one).
pub fn is_box_len(len: usize) -> bool {
    (MIN_BOX_LEN..=MAX_BOX_LEN).contains(&len) && (len - 28).is_multiple_of(256)
}

/// Whether `n` is a number of answers a request may take.
pub fn is_max_answers(n: u32) -> bool {
    (1..=MAX_ANSWERS).contains(&n)
}

/// The rules of a record's notes: at most [`MAX_INSTRUCTIONS_LEN`] bytes, no control character other than
/// TAB, CR and LF.
pub fn check_instructions(text: &str) -> Result<()> {
    if text.len() > MAX_INSTRUCTIONS_LEN {
        return Err(Error::TooLarge {
            what: "request instructions",
            size: text.len(),
            limit: MAX_INSTRUCTIONS_LEN,
        });
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(Error::Record(RecordError::NotesControl));
    }
    Ok(())
}

fn check_max_answers(max_answers: u32) -> Result<()> {
    if is_max_answers(max_answers) {
        Ok(())
    } else {
        Err(Error::malformed(
            "request",
            format!("max_answers must be 1 to {MAX_ANSWERS}"),
        ))
    }
}

/// `AEAD(SK, pad256(UTF-8(instructions)), AAD("share-request", share_id ‖ u32(max_answers)))`.
pub fn seal_request(
    sk: &ShareKey,
    share_id: &ShareId,
    max_answers: u32,
    instructions: &str,
) -> Result<Vec<u8>> {
    check_max_answers(max_answers)?;
    check_instructions(instructions)?;
    crypto::seal(
        &sk.0,
        &pad256(instructions.as_bytes()),
        &request_aad(share_id, max_answers),
    )
}

/// Opens a request box with the `max_answers` the server states, and checks the text as
/// [`seal_request`] does.
pub fn open_request(
    sk: &ShareKey,
    share_id: &ShareId,
    max_answers: u32,
    sealed: &[u8],
) -> Result<String> {
    check_max_answers(max_answers)?;
    let padded = crypto::open(&sk.0, sealed, &request_aad(share_id, max_answers))?;
    let plain = unpad256(&padded)?;
    let text = String::from_utf8(plain.to_vec())
        .map_err(|_| Error::malformed("request instructions", "not UTF-8"))?;
    check_instructions(&text)?;
    Ok(text)
}

/// The blank record a request asks to have filled in: `fields` (standard names take their type's kind,
/// others are `text`), or the type's standard fields when `fields` is empty; every value empty, no
/// notes, no files. Checked as any body.
pub fn blank_body(record_type: RecordType, title: &str, fields: &[String]) -> Result<RecordBody> {
    let mut body = RecordBody::new(record_type, title);
    if fields.is_empty() {
        for (name, kind) in record_type.template() {
            body.set_field_with_kind(name, *kind, "")?;
        }
    } else {
        for name in fields {
            let kind = record_type.standard_kind(name).unwrap_or(FieldKind::Text);
            if body.field(name).is_some() {
                return Err(RecordError::DuplicateField { name: name.clone() }.into());
            }
            body.set_field_with_kind(name, kind, "")?;
        }
    }
    body.validate()?;
    Ok(body)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::share::{LinkSecret, ShareKeys};

    fn keys() -> ShareKeys {
        ShareKeys::derive(LinkSecret::from_bytes([7; 32]), None).unwrap()
    }

    #[test]
    fn seals_and_opens_with_the_stated_limit_only() {
        let k = keys();
        let sealed =
            seal_request(k.share_key(), &k.share_id(), 2, "the office Wi-Fi\nplease").unwrap();
        assert!(is_box_len(sealed.len()));
        assert_eq!(sealed.len(), MIN_BOX_LEN);
        assert_eq!(
            open_request(k.share_key(), &k.share_id(), 2, &sealed).unwrap(),
            "the office Wi-Fi\nplease"
        );
        assert_eq!(
            open_request(k.share_key(), &k.share_id(), 1, &sealed).unwrap_err(),
            Error::Decrypt
        );
        let other = ShareKeys::derive(LinkSecret::from_bytes([8; 32]), None).unwrap();
        assert_eq!(
            open_request(other.share_key(), &k.share_id(), 2, &sealed).unwrap_err(),
            Error::Decrypt
        );
    }

    #[test]
    fn refuses_what_notes_refuse() {
        let k = keys();
        let longest = "x".repeat(MAX_INSTRUCTIONS_LEN);
        let sealed = seal_request(k.share_key(), &k.share_id(), 1, &longest).unwrap();
        assert_eq!(sealed.len(), MAX_BOX_LEN);
        assert!(matches!(
            seal_request(k.share_key(), &k.share_id(), 1, &format!("{longest}x")),
            Err(Error::TooLarge { .. })
        ));
        assert_eq!(
            seal_request(k.share_key(), &k.share_id(), 1, "a\u{7}b").unwrap_err(),
            Error::Record(RecordError::NotesControl)
        );
        assert!(seal_request(k.share_key(), &k.share_id(), 0, "").is_err());
        assert!(seal_request(k.share_key(), &k.share_id(), MAX_ANSWERS + 1, "").is_err());
        assert!(!is_box_len(MIN_BOX_LEN - 1) && !is_box_len(MIN_BOX_LEN + 1));
        assert!(!is_box_len(MAX_BOX_LEN + 256));
    }

    #[test]
    fn blank_bodies() {
        let login = blank_body(RecordType::Login, "Mail", &[]).unwrap();
        assert_eq!(login.fields.len(), 4);
        assert!(login.fields.iter().all(|f| f.value.is_empty()));
        let chosen = blank_body(
            RecordType::Wifi,
            "Office",
            &["password".into(), "floor".into()],
        )
        .unwrap();
        assert_eq!(chosen.fields[0].kind, FieldKind::Secret);
        assert_eq!(chosen.fields[1].kind, FieldKind::Text);
        assert!(blank_body(RecordType::Wifi, "x", &["a".into(), "a".into()]).is_err());
        assert!(blank_body(RecordType::Wifi, "", &[]).is_err());
    }
}
