//! The share preface (docs/protocol.md §4.6): what the Click to Open page shows before the recipient binds
//! their device — the sender's chosen display name and the record's type.
//!
//! - It is sealed under `PK = HKDF(S′, "sharelock/v1/share-preface")`, a key of its own next to SK, T and
//!   BK, so it takes the link (and the passphrase, if any) to read and the server stores opaque bytes only.
//! - Its associated data is `AAD("share-preface", share_id)`: a preface cannot be moved to another share.
//! - The plaintext is strict JSON `{"from":"…","type":"…"}`, padded to 256 bytes like record bodies, so a
//!   sealed preface is 284 bytes for every name a writer makes (at most 540 for unusual encodings).
//! - The name is untrusted text shown on a page and in a terminal: at most 128 bytes of one line, without
//!   control characters or the bidirectional formatting characters that could reorder the sentence around
//!   it. An empty name means the sender gave none.

use crate::account::key_type;
use crate::crypto::{self, AadKind};
use crate::error::{Error, Result};
use crate::record::{PAD_BLOCK, RecordType, pad256, unpad256};
use crate::share::{ShareId, ShareRoot};
use serde::{Deserialize, Serialize};

/// The longest display name, in bytes of UTF-8.
pub const MAX_FROM_LEN: usize = 128;
/// The longest `preface_json`, in bytes (it pads to at most 512).
pub const MAX_PREFACE_JSON: usize = 2 * PAD_BLOCK - 1;
/// The shortest sealed preface: one padded block and the AEAD overhead.
pub const MIN_SEALED_PREFACE: usize = PAD_BLOCK + crypto::SEALED_OVERHEAD;
/// The longest sealed preface: two padded blocks and the AEAD overhead.
pub const MAX_SEALED_PREFACE: usize = 2 * PAD_BLOCK + crypto::SEALED_OVERHEAD;

key_type!(
    /// PK = HKDF(S′, "sharelock/v1/share-preface"): seals the share preface.
    PrefaceKey
);

impl ShareRoot {
    /// `PK = HKDF(S′, "sharelock/v1/share-preface")`.
    pub fn preface_key(&self) -> PrefaceKey {
        PrefaceKey(crypto::hkdf(
            self.0.expose(),
            &[b"sharelock/v1/share-preface"],
        ))
    }
}

impl crate::share::ShareKeys {
    /// PK, from S′.
    pub fn preface_key(&self) -> PrefaceKey {
        self.root().preface_key()
    }
}

/// Why a preface was refused. [`PrefaceError::kind`] gives the stable name the test vectors use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PrefaceError {
    /// Not JSON of the required shape: syntax, a missing, unknown or repeated key, or a wrong type.
    #[error("not a valid preface JSON document: {0}")]
    Json(String),
    /// `preface_json` is longer than 511 bytes.
    #[error("encoded preface is too large ({0} bytes, limit 511)")]
    TooLarge(usize),
    /// The `type` is not one of the record types.
    #[error("unknown record type")]
    UnknownType,
    /// The display name is longer than 128 bytes.
    #[error("the sender's name is longer than 128 bytes")]
    FromLength,
    /// The display name contains a control character, a line or paragraph separator, or a bidirectional
    /// formatting character.
    #[error("the sender's name contains a control or formatting character")]
    FromControl,
    /// A sealed preface whose length is not 28 + 256·n with n of 1 or 2.
    #[error("a sealed preface is 284 or 540 bytes")]
    SealedLength,
}

impl PrefaceError {
    /// The stable name of this error in the test vectors.
    pub fn kind(&self) -> &'static str {
        match self {
            PrefaceError::Json(_) => "json",
            PrefaceError::TooLarge(_) => "too_large",
            PrefaceError::UnknownType => "unknown_type",
            PrefaceError::FromLength => "from_length",
            PrefaceError::FromControl => "from_control",
            PrefaceError::SealedLength => "bad_length",
        }
    }
}

/// What the Click to Open page shows: who sent the share (as they chose to be named) and the record's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharePreface {
    /// The sender's display name; empty when they gave none.
    pub from: String,
    /// The shared record's type.
    pub record_type: RecordType,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPreface {
    from: String,
    #[serde(rename = "type")]
    record_type: String,
}

#[derive(Serialize)]
struct PrefaceOut<'a> {
    from: &'a str,
    #[serde(rename = "type")]
    record_type: &'a str,
}

/// A character a display name may not hold: Unicode Cc, the line and paragraph separators, and the
/// bidirectional marks, embeddings, overrides and isolates (which could make "Ada shared a Login with you"
/// read as something else).
fn is_forbidden_in_name(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}'
                | '\u{2029}'
                | '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// Checks a display name: at most 128 bytes (`from_length`), no forbidden character (`from_control`).
pub fn check_from(from: &str) -> Result<(), PrefaceError> {
    if from.len() > MAX_FROM_LEN {
        return Err(PrefaceError::FromLength);
    }
    if from.chars().any(is_forbidden_in_name) {
        return Err(PrefaceError::FromControl);
    }
    Ok(())
}

impl SharePreface {
    /// Validates and encodes `preface_json` (keys in the order `from`, `type`, no white space).
    pub fn to_json(&self) -> Result<Vec<u8>, PrefaceError> {
        check_from(&self.from)?;
        let out = PrefaceOut {
            from: &self.from,
            record_type: self.record_type.as_str(),
        };
        let json = serde_json::to_vec(&out).map_err(|e| PrefaceError::Json(e.to_string()))?;
        if json.len() > MAX_PREFACE_JSON {
            return Err(PrefaceError::TooLarge(json.len()));
        }
        Ok(json)
    }

    /// Decodes and validates `preface_json`: size, strict JSON, type, then the name's rules.
    pub fn from_json(json: &[u8]) -> Result<Self, PrefaceError> {
        if json.len() > MAX_PREFACE_JSON {
            return Err(PrefaceError::TooLarge(json.len()));
        }
        // serde_json refuses repeated keys (with deny_unknown_fields), lone surrogates, a byte-order mark and
        // trailing characters; parsing into a Value first refuses any non-object document the same way.
        let value: serde_json::Value =
            serde_json::from_slice(json).map_err(|e| PrefaceError::Json(e.to_string()))?;
        if !value.is_object() {
            return Err(PrefaceError::Json("expected a JSON object".into()));
        }
        let raw: RawPreface =
            serde_json::from_slice(json).map_err(|e| PrefaceError::Json(e.to_string()))?;
        let record_type = RecordType::parse(&raw.record_type).ok_or(PrefaceError::UnknownType)?;
        check_from(&raw.from)?;
        Ok(SharePreface {
            from: raw.from,
            record_type,
        })
    }
}

pub(crate) fn share_preface_aad(share_id: &ShareId) -> Vec<u8> {
    crypto::aad(AadKind::SharePreface, &[share_id.as_bytes()])
}

/// Checks the length of a sealed preface without opening it (what the server can check):
/// `28 + 256·n` bytes with n of 1 or 2.
pub fn check_sealed_len(len: usize) -> Result<(), PrefaceError> {
    if len == MIN_SEALED_PREFACE || len == MAX_SEALED_PREFACE {
        Ok(())
    } else {
        Err(PrefaceError::SealedLength)
    }
}

/// `AEAD(PK, pad256(preface_json), AAD("share-preface", share_id))`.
pub fn seal_preface(
    pk: &PrefaceKey,
    share_id: &ShareId,
    preface: &SharePreface,
) -> Result<Vec<u8>> {
    let json = preface.to_json()?;
    crypto::seal(&pk.0, &pad256(&json), &share_preface_aad(share_id))
}

/// [`seal_preface`] with a fixed nonce; only for reproducible test vectors.
#[doc(hidden)]
pub fn seal_preface_with_nonce(
    pk: &PrefaceKey,
    share_id: &ShareId,
    preface: &SharePreface,
    nonce: [u8; crypto::NONCE_LEN],
) -> Result<Vec<u8>> {
    let json = preface.to_json()?;
    crypto::seal_with_nonce(&pk.0, nonce, &pad256(&json), &share_preface_aad(share_id))
}

/// Opens a sealed preface: its length (`bad_length`), the box (`decrypt`), the padding, then
/// [`SharePreface::from_json`].
pub fn open_preface(pk: &PrefaceKey, share_id: &ShareId, sealed: &[u8]) -> Result<SharePreface> {
    check_sealed_len(sealed.len())?;
    let padded = crypto::open(&pk.0, sealed, &share_preface_aad(share_id))?;
    let json = unpad256(&padded)?;
    Ok(SharePreface::from_json(json)?)
}

impl From<PrefaceError> for Error {
    fn from(e: PrefaceError) -> Self {
        Error::Preface(e)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::share::LinkSecret;

    fn keys() -> (PrefaceKey, ShareId) {
        let s = LinkSecret::from_bytes([7; 32]);
        let root = s.share_root(None).unwrap();
        (root.preface_key(), s.share_id())
    }

    #[test]
    fn round_trip_and_fixed_size() {
        let (pk, id) = keys();
        for from in ["", "Ada", &"\u{e9}".repeat(64)] {
            let p = SharePreface {
                from: from.into(),
                record_type: RecordType::Wifi,
            };
            let sealed = seal_preface(&pk, &id, &p).unwrap();
            assert_eq!(sealed.len(), MIN_SEALED_PREFACE, "name {from:?}");
            assert_eq!(open_preface(&pk, &id, &sealed).unwrap(), p);
        }
    }

    #[test]
    fn another_share_or_key_does_not_open() {
        let (pk, id) = keys();
        let p = SharePreface {
            from: "Ada".into(),
            record_type: RecordType::Login,
        };
        let sealed = seal_preface(&pk, &id, &p).unwrap();
        let other = LinkSecret::from_bytes([8; 32]);
        assert_eq!(
            open_preface(&pk, &other.share_id(), &sealed),
            Err(Error::Decrypt)
        );
        let other_pk = other.share_root(None).unwrap().preface_key();
        assert_eq!(open_preface(&other_pk, &id, &sealed), Err(Error::Decrypt));
    }

    #[test]
    fn names_are_one_plain_line() {
        assert_eq!(check_from("Ada Lovelace"), Ok(()));
        assert_eq!(check_from("渡辺 さくら"), Ok(()));
        assert_eq!(check_from(&"a".repeat(128)), Ok(()));
        assert_eq!(check_from(&"a".repeat(129)), Err(PrefaceError::FromLength));
        for bad in [
            "a\nb",
            "a\u{7f}",
            "a\u{85}",
            "a\u{2028}",
            "\u{202e}adA",
            "a\u{2067}b",
            "\u{200f}",
        ] {
            assert_eq!(check_from(bad), Err(PrefaceError::FromControl), "{bad:?}");
        }
    }
}
