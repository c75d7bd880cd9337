//! Record versions (docs/protocol.md §3.2): the byte envelope, sealing and opening its body and summary, the
//! owner's tag, the recipient's edit signature, and the checks a server and an owner client make.
//!
//! - The envelope is fixed-width binary with length-prefixed boxes and nothing after them, so exactly one
//!   byte string describes each version and `H(envelope)` identifies it; the parser is strict (every
//!   length, author byte and limit is checked before anything is allocated), so `parse` then `to_bytes`
//!   gives back the same bytes.
//! - Each version names its predecessor (`prev = H(envelope of v − 1)`), which makes the history a hash
//!   chain: a server can neither reorder versions nor fork a record without a client noticing.
//! - Body and summary are sealed with associated data over every header field `F`, so a box cannot be moved
//!   to another record, generation, version, predecessor or author.
//! - The server sees the header but holds no key: it checks what it can (record, generation, version,
//!   predecessor, author, sizes). Authorship is proven to the owner: an HMAC under K_own for the owner's
//!   own versions (cheap, and only the owner can make or check it), an ECDSA signature by the bound device for
//!   a recipient's (the server checks it too).
//! - [`VersionGuard`] is the owner client's memory of the highest version seen, so a malicious server cannot
//!   replay an old version (an old password) as current.

use crate::account::{OwnerKey, RecordKey};
use crate::crypto::{
    self, AadKind, NONCE_LEN, SEALED_OVERHEAD, hmac_sha256, hmac_sha256_verify, sha256,
};
use crate::device::{DeviceKey, DevicePublicKey, SIGNATURE_LEN};
use crate::encoding::{Id, put_u32, put_u64};
use crate::error::{Error, Result};
use crate::record::{
    MAX_BODY_PADDED, MAX_SUMMARY_PADDED, PAD_BLOCK, RecordBody, Summary, pad256, unpad256,
};
use crate::share::ShareId;

/// The envelope's magic and format version.
pub const MAGIC: [u8; 4] = *b"SLV1";
/// Bytes before the body length: magic, record id, k, v, prev, author.
pub const HEADER_LEN: usize = 4 + 16 + 8 + 8 + 32 + 17;
/// Largest body sealed box: 512 KiB of padded plaintext plus nonce and tag.
pub const MAX_BODY_BOX: usize = MAX_BODY_PADDED + SEALED_OVERHEAD;
/// Largest summary sealed box: 1 KiB of padded plaintext plus nonce and tag.
pub const MAX_SUMMARY_BOX: usize = MAX_SUMMARY_PADDED + SEALED_OVERHEAD;
/// Domain prefix of the recipient's edit signature.
pub const EDIT_SIGNATURE_LABEL: &[u8] = b"sharelock/v1/edit";

/// Why an envelope was refused. [`EnvelopeError::kind`] gives the stable name the test vectors use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The bytes end before the structure does.
    #[error("envelope is truncated")]
    Truncated,
    /// The first four bytes are not `SLV1`.
    #[error("not a version 1 envelope (bad magic)")]
    BadMagic,
    /// The author is neither `0x00` and 16 zero bytes nor `0x01` and a share id.
    #[error("envelope author is malformed")]
    BadAuthor,
    /// The key generation is 0.
    #[error("envelope key generation is 0")]
    BadKeyGeneration,
    /// The version number is 0.
    #[error("envelope version is 0")]
    BadVersion,
    /// `prev` is not 32 zero bytes for version 1, or is 32 zero bytes for a later version.
    #[error("envelope predecessor hash does not fit its version number")]
    BadPrev,
    /// A box's length prefix is above its limit.
    #[error("envelope {part} is too large ({size} bytes, limit {limit})")]
    TooLarge {
        /// `"body"` or `"summary"`.
        part: &'static str,
        /// The length prefix.
        size: u64,
        /// The limit.
        limit: usize,
    },
    /// A box's length is not that of a sealed, padded plaintext (`28 + 256·n`, n ≥ 1).
    #[error("envelope {part} length is not 28 + a positive multiple of 256")]
    BadLength {
        /// `"body"` or `"summary"`.
        part: &'static str,
    },
    /// Bytes follow the summary.
    #[error("envelope has bytes after its summary")]
    TrailingBytes,
    /// The envelope is for another record.
    #[error("envelope is for another record")]
    WrongRecord,
    /// The envelope is sealed under another key generation than the current one.
    #[error("envelope key generation {got} is not the current generation {expected}")]
    WrongKeyGeneration {
        /// The generation required.
        expected: u64,
        /// The envelope's generation.
        got: u64,
    },
    /// The envelope does not follow the current version.
    #[error("envelope version {got} does not follow the current version (expected {expected})")]
    WrongVersion {
        /// The version required (current + 1).
        expected: u64,
        /// The envelope's version.
        got: u64,
    },
    /// `prev` is not the hash of the current version.
    #[error("envelope predecessor is not the current version")]
    WrongPrev,
    /// The author is not the one making the request.
    #[error("envelope author is not the writer")]
    WrongAuthor,
    /// A lower version than one already seen.
    #[error("version {got} is older than version {seen} already seen")]
    Rollback {
        /// The highest version seen.
        seen: u64,
        /// The version offered.
        got: u64,
    },
    /// A different envelope for a version already seen, or a successor of it that names another predecessor.
    #[error("version {v} conflicts with the history already seen")]
    Fork {
        /// The version offered.
        v: u64,
    },
    /// A version sealed under an older key generation than one already seen: written with a key the record
    /// had already rotated away from.
    #[error("key generation {got} is older than generation {seen} already seen")]
    KeyRollback {
        /// The highest key generation seen.
        seen: u64,
        /// The version's key generation.
        got: u64,
    },
    /// The sealed summary (what the record list shows) is not the summary of the sealed body.
    #[error("the version's summary does not match its body")]
    SummaryMismatch,
}

impl EnvelopeError {
    /// The stable name of this error in the test vectors.
    pub fn kind(&self) -> &'static str {
        match self {
            EnvelopeError::Truncated => "truncated",
            EnvelopeError::BadMagic => "bad_magic",
            EnvelopeError::BadAuthor => "bad_author",
            EnvelopeError::BadKeyGeneration => "bad_key_generation",
            EnvelopeError::BadVersion => "bad_version",
            EnvelopeError::BadPrev => "bad_prev",
            EnvelopeError::TooLarge { .. } => "too_large",
            EnvelopeError::BadLength { .. } => "bad_length",
            EnvelopeError::TrailingBytes => "trailing_bytes",
            EnvelopeError::WrongRecord => "wrong_record",
            EnvelopeError::WrongKeyGeneration { .. } => "wrong_key_generation",
            EnvelopeError::WrongVersion { .. } => "wrong_version",
            EnvelopeError::WrongPrev => "wrong_prev",
            EnvelopeError::WrongAuthor => "wrong_author",
            EnvelopeError::Rollback { .. } => "rollback",
            EnvelopeError::Fork { .. } => "fork",
            EnvelopeError::KeyRollback { .. } => "key_rollback",
            EnvelopeError::SummaryMismatch => "summary_mismatch",
        }
    }
}

/// Who wrote a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Author {
    /// The record's owner: `0x00 ‖ 16 zero bytes`.
    Owner,
    /// A recipient through this share: `0x01 ‖ share_id`.
    Share(ShareId),
}

impl Author {
    /// The 17-byte encoding.
    pub fn to_bytes(&self) -> [u8; 17] {
        let mut out = [0u8; 17];
        if let Author::Share(id) = self {
            out[0] = 1;
            out[1..].copy_from_slice(id.as_bytes());
        }
        out
    }

    fn parse(bytes: &[u8; 17]) -> Result<Self, EnvelopeError> {
        let mut id = [0u8; 16];
        id.copy_from_slice(&bytes[1..]);
        match bytes[0] {
            0 if id == [0; 16] => Ok(Author::Owner),
            1 => Ok(Author::Share(ShareId::from_bytes(id))),
            _ => Err(EnvelopeError::BadAuthor),
        }
    }
}

/// The header fields of a version, `F` in the associated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionHeader {
    /// The record.
    pub record_id: Id,
    /// Key generation sealing this version (≥ 1).
    pub k: u64,
    /// Version number (≥ 1).
    pub v: u64,
    /// `H(envelope of v − 1)`, or 32 zero bytes for v = 1.
    pub prev: [u8; 32],
    /// Who wrote it.
    pub author: Author,
}

impl VersionHeader {
    /// The header of a record's first version: k = 1, v = 1, no predecessor.
    pub fn first(record_id: Id, author: Author) -> Self {
        VersionHeader {
            record_id,
            k: 1,
            v: 1,
            prev: [0; 32],
            author,
        }
    }

    /// The header of the version after `current`, sealed under generation `k`.
    pub fn next(current: &Envelope, k: u64, author: Author) -> Self {
        VersionHeader {
            record_id: current.header.record_id,
            k,
            v: current.header.v.saturating_add(1),
            prev: current.hash(),
            author,
        }
    }

    /// `F = record_id ‖ u64(k) ‖ u64(v) ‖ prev ‖ author`.
    fn fields(&self) -> Vec<u8> {
        let mut f = Vec::with_capacity(16 + 8 + 8 + 32 + 17);
        f.extend_from_slice(self.record_id.as_bytes());
        put_u64(&mut f, self.k);
        put_u64(&mut f, self.v);
        f.extend_from_slice(&self.prev);
        f.extend_from_slice(&self.author.to_bytes());
        f
    }

    fn check(&self) -> Result<(), EnvelopeError> {
        if self.k == 0 {
            return Err(EnvelopeError::BadKeyGeneration);
        }
        if self.v == 0 {
            return Err(EnvelopeError::BadVersion);
        }
        if (self.v == 1) != (self.prev == [0; 32]) {
            return Err(EnvelopeError::BadPrev);
        }
        Ok(())
    }
}

/// One version of a record: header and two sealed boxes. Holds ciphertext only.
#[derive(Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The header fields.
    pub header: VersionHeader,
    /// `AEAD(RK_k, pad256(body_json), AAD("record", F))`.
    pub body: Vec<u8>,
    /// `AEAD(RK_k, pad256(summary_json), AAD("record-summary", F))`.
    pub summary: Vec<u8>,
}

impl std::fmt::Debug for Envelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Envelope")
            .field("header", &self.header)
            .field("body_len", &self.body.len())
            .field("summary_len", &self.summary.len())
            .finish()
    }
}

/// A cursor that refuses to read past the end.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], EnvelopeError> {
        if self.0.len() < n {
            return Err(EnvelopeError::Truncated);
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], EnvelopeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// A `u32` length prefix and the box it announces, checked against `limit` and the sealed-padded shape
    /// before anything is copied.
    fn sealed_box(&mut self, part: &'static str, limit: usize) -> Result<&'a [u8], EnvelopeError> {
        let len = u32::from_be_bytes(self.array()?);
        let len64 = u64::from(len);
        if len64 > limit as u64 {
            return Err(EnvelopeError::TooLarge {
                part,
                size: len64,
                limit,
            });
        }
        let len = len as usize;
        if len < SEALED_OVERHEAD + PAD_BLOCK || !(len - SEALED_OVERHEAD).is_multiple_of(PAD_BLOCK) {
            return Err(EnvelopeError::BadLength { part });
        }
        self.take(len)
    }
}

fn body_aad(header: &VersionHeader) -> Vec<u8> {
    crypto::aad(AadKind::Record, &[&header.fields()])
}

fn summary_aad(header: &VersionHeader) -> Vec<u8> {
    crypto::aad(AadKind::RecordSummary, &[&header.fields()])
}

impl Envelope {
    /// Parses an envelope strictly: magic, author encoding, `k ≥ 1`, `v ≥ 1`, `prev` zero exactly for
    /// v = 1, each box within its limit and of a sealed-padded length, nothing after the summary.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader(bytes);
        if r.0.len() < MAGIC.len() {
            return Err(EnvelopeError::Truncated.into());
        }
        if r.take(MAGIC.len())? != MAGIC {
            return Err(EnvelopeError::BadMagic.into());
        }
        let record_id = Id::from_bytes(r.array()?);
        let k = u64::from_be_bytes(r.array()?);
        let v = u64::from_be_bytes(r.array()?);
        let prev = r.array()?;
        let author = Author::parse(&r.array()?)?;
        let header = VersionHeader {
            record_id,
            k,
            v,
            prev,
            author,
        };
        header.check()?;
        let body = r.sealed_box("body", MAX_BODY_BOX)?.to_vec();
        let summary = r.sealed_box("summary", MAX_SUMMARY_BOX)?.to_vec();
        if !r.0.is_empty() {
            return Err(EnvelopeError::TrailingBytes.into());
        }
        Ok(Envelope {
            header,
            body,
            summary,
        })
    }

    /// The envelope's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let h = &self.header;
        let mut out = Vec::with_capacity(HEADER_LEN + 8 + self.body.len() + self.summary.len());
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&h.fields());
        put_u32(&mut out, self.body.len() as u32);
        out.extend_from_slice(&self.body);
        put_u32(&mut out, self.summary.len() as u32);
        out.extend_from_slice(&self.summary);
        out
    }

    /// `E = H(envelope)`, the version's identity.
    pub fn hash(&self) -> [u8; 32] {
        sha256(&self.to_bytes())
    }

    /// Seals `body` (and its summary) as the version described by `header`, under `rk` = RK_k.
    pub fn seal(rk: &RecordKey, header: VersionHeader, body: &RecordBody) -> Result<Self> {
        Self::seal_with_nonces(
            rk,
            header,
            body,
            crypto::random_array()?,
            crypto::random_array()?,
        )
    }

    /// Sealing with caller-chosen nonces; only for reproducible test vectors.
    #[doc(hidden)]
    pub fn seal_with_nonces(
        rk: &RecordKey,
        header: VersionHeader,
        body: &RecordBody,
        body_nonce: [u8; NONCE_LEN],
        summary_nonce: [u8; NONCE_LEN],
    ) -> Result<Self> {
        header.check()?;
        let body_json = zeroize::Zeroizing::new(body.to_json()?);
        let summary_json = body.summary().to_json()?;
        let padded = zeroize::Zeroizing::new(pad256(&body_json));
        let body = crypto::seal_with_nonce(&rk.0, body_nonce, &padded, &body_aad(&header))?;
        let summary = crypto::seal_with_nonce(
            &rk.0,
            summary_nonce,
            &pad256(&summary_json),
            &summary_aad(&header),
        )?;
        Ok(Envelope {
            header,
            body,
            summary,
        })
    }

    /// Opens and validates the body. Fails with [`Error::Decrypt`] under a wrong key or on any change to the
    /// box or the header, then with a record error on bad padding or an invalid body.
    pub fn open_body(&self, rk: &RecordKey) -> Result<RecordBody> {
        let padded =
            zeroize::Zeroizing::new(crypto::open(&rk.0, &self.body, &body_aad(&self.header))?);
        Ok(RecordBody::from_json(unpad256(&padded)?)?)
    }

    /// Opens and validates the summary.
    pub fn open_summary(&self, rk: &RecordKey) -> Result<Summary> {
        let padded = crypto::open(&rk.0, &self.summary, &summary_aad(&self.header))?;
        Ok(Summary::from_json(unpad256(&padded)?)?)
    }

    /// Checks that the sealed summary is the summary of `body` (this version's opened body): type, title and
    /// subtitle compared as values. The writer chooses both boxes, so a recipient could otherwise keep an old
    /// title in the record list while changing the body ([`EnvelopeError::SummaryMismatch`]; a summary that
    /// does not open or validate fails as [`Envelope::open_summary`] does).
    pub fn check_summary(&self, rk: &RecordKey, body: &RecordBody) -> Result<()> {
        if self.open_summary(rk)? == body.summary() {
            Ok(())
        } else {
            Err(EnvelopeError::SummaryMismatch.into())
        }
    }

    /// `owner_tag = HMAC(K_own, E)`, the proof on a version the owner writes.
    pub fn owner_tag(&self, k_own: &OwnerKey) -> [u8; 32] {
        hmac_sha256(k_own.expose(), &[&self.hash()])
    }

    /// Checks an owner tag in constant time ([`Error::Verify`] if it does not match).
    pub fn verify_owner_tag(&self, k_own: &OwnerKey, tag: &[u8]) -> Result<()> {
        if hmac_sha256_verify(k_own.expose(), &[&self.hash()], tag) {
            Ok(())
        } else {
            Err(Error::Verify("owner tag"))
        }
    }

    /// The recipient's proof: the bound device key's signature over `"sharelock/v1/edit" ‖ E`.
    pub fn sign_edit(&self, device: &DeviceKey) -> Result<[u8; SIGNATURE_LEN]> {
        device.sign(&edit_message(&self.hash()))
    }

    /// Checks a recipient's edit signature ([`Error::Verify`] if it does not verify).
    pub fn verify_edit(&self, device: &DevicePublicKey, signature: &[u8]) -> Result<()> {
        device.verify(&edit_message(&self.hash()), signature)
    }

    /// The server's check of a new version against what it stores, in this order: record, author, key
    /// generation, version number, predecessor. Each mismatch has its own [`EnvelopeError`].
    pub fn check_expected(&self, expected: &Expected) -> Result<()> {
        let h = &self.header;
        let err = if h.record_id != expected.record_id {
            EnvelopeError::WrongRecord
        } else if h.author != expected.author {
            EnvelopeError::WrongAuthor
        } else if h.k != expected.k {
            EnvelopeError::WrongKeyGeneration {
                expected: expected.k,
                got: h.k,
            }
        } else if h.v != expected.v {
            EnvelopeError::WrongVersion {
                expected: expected.v,
                got: h.v,
            }
        } else if !crypto::ct_eq(&h.prev, &expected.prev) {
            EnvelopeError::WrongPrev
        } else {
            return Ok(());
        };
        Err(err.into())
    }
}

/// `"sharelock/v1/edit" ‖ E`, the message a recipient's device signs.
pub fn edit_message(envelope_hash: &[u8; 32]) -> Vec<u8> {
    let mut m = Vec::with_capacity(EDIT_SIGNATURE_LABEL.len() + 32);
    m.extend_from_slice(EDIT_SIGNATURE_LABEL);
    m.extend_from_slice(envelope_hash);
    m
}

/// What the server requires of the next version of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    /// The record being written.
    pub record_id: Id,
    /// The generation the version must be sealed under (the current one; the next one for the owner's
    /// rotation).
    pub k: u64,
    /// Current version + 1 (1 for a new record).
    pub v: u64,
    /// `H(current envelope)` (zeros for a new record).
    pub prev: [u8; 32],
    /// The writer: the owner on owner endpoints, the request's share on recipient endpoints.
    pub author: Author,
}

impl Expected {
    /// A new record's first version.
    pub fn first(record_id: Id, author: Author) -> Self {
        let h = VersionHeader::first(record_id, author);
        Expected {
            record_id,
            k: h.k,
            v: h.v,
            prev: h.prev,
            author,
        }
    }

    /// The version after `current`, under generation `k`.
    pub fn after(current: &Envelope, k: u64, author: Author) -> Self {
        let h = VersionHeader::next(current, k, author);
        Expected {
            record_id: h.record_id,
            k: h.k,
            v: h.v,
            prev: h.prev,
            author,
        }
    }
}

/// A client's anti-rollback memory for one record: the highest `(v, E)` it has accepted as current and the
/// highest key generation `k` among the versions it accepted. It refuses an older version, a different
/// envelope for the same version, a direct successor that names another predecessor, and a version sealed
/// under an older generation than one already seen (docs/protocol.md §3.2). Persist
/// [`VersionGuard::highest`] and [`VersionGuard::key_gen`] and restore them with [`VersionGuard::resume`].
/// Browsing history deliberately bypasses it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VersionGuard {
    highest: Option<(u64, [u8; 32])>,
    key_gen: u64,
}

impl VersionGuard {
    /// Nothing seen yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Resumes from a stored `(v, E)` and key generation (0 when it was not stored: no generation check
    /// until the next accepted version).
    pub fn resume(v: u64, hash: [u8; 32], key_gen: u64) -> Self {
        VersionGuard {
            highest: Some((v, hash)),
            key_gen,
        }
    }

    /// The highest `(v, E)` accepted.
    pub fn highest(&self) -> Option<(u64, [u8; 32])> {
        self.highest
    }

    /// The highest key generation accepted (0 before any).
    pub fn key_gen(&self) -> u64 {
        self.key_gen
    }

    /// Whether `envelope` may be shown as current, without remembering it.
    pub fn check(&self, envelope: &Envelope) -> Result<()> {
        self.check_parts(&envelope.header, &envelope.hash())
    }

    fn check_parts(&self, header: &VersionHeader, hash: &[u8; 32]) -> Result<()> {
        let v = header.v;
        if let Some((seen_v, seen_hash)) = self.highest {
            if v < seen_v {
                return Err(EnvelopeError::Rollback {
                    seen: seen_v,
                    got: v,
                }
                .into());
            }
            if (v == seen_v && hash != &seen_hash)
                || (Some(v) == seen_v.checked_add(1) && header.prev != seen_hash)
            {
                return Err(EnvelopeError::Fork { v }.into());
            }
        }
        if header.k < self.key_gen {
            return Err(EnvelopeError::KeyRollback {
                seen: self.key_gen,
                got: header.k,
            }
            .into());
        }
        Ok(())
    }

    /// Checks `envelope` and, if it is newer, remembers it (and its key generation, if higher).
    pub fn accept(&mut self, envelope: &Envelope) -> Result<()> {
        let hash = envelope.hash();
        let v = envelope.header.v;
        self.check_parts(&envelope.header, &hash)?;
        if self.highest.is_none_or(|(seen, _)| v > seen) {
            self.highest = Some((v, hash));
        }
        self.key_gen = self.key_gen.max(envelope.header.k);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::record::{RecordType, tests::arb_body};
    use proptest::prelude::*;

    fn rk() -> RecordKey {
        RecordKey::from_bytes([7; 32])
    }

    /// Found by fuzzing (fuzz/corpus/envelope/finding-guard-last-version-overflow): a guard that had accepted
    /// version 2^64 − 1 overflowed computing its successor when shown that version again.
    #[test]
    fn guard_at_the_last_version_number_does_not_overflow() {
        let last = Envelope {
            header: VersionHeader {
                record_id: Id::from_bytes([1; 16]),
                k: 1,
                v: u64::MAX,
                prev: [2; 32],
                author: Author::Owner,
            },
            body: vec![],
            summary: vec![],
        };
        let mut guard = VersionGuard::new();
        guard.accept(&last).unwrap();
        assert!(guard.check(&last).is_ok());
        assert!(guard.accept(&last).is_ok());
        let mut older = last.clone();
        older.header.v = u64::MAX - 1;
        assert!(guard.check(&older).is_err());
    }

    fn body() -> RecordBody {
        let mut b = RecordBody::new(RecordType::Wifi, "Home");
        b.set_field("ssid", "home-net").unwrap();
        b.set_field("password", "correct horse").unwrap();
        b
    }

    fn first() -> Envelope {
        Envelope::seal(
            &rk(),
            VersionHeader::first(Id::from_bytes([1; 16]), Author::Owner),
            &body(),
        )
        .unwrap()
    }

    #[test]
    fn seal_parse_open_round_trip() {
        let env = first();
        let bytes = env.to_bytes();
        assert_eq!(&bytes[..4], b"SLV1");
        assert_eq!(
            bytes.len(),
            HEADER_LEN + 4 + env.body.len() + 4 + env.summary.len()
        );
        let parsed = Envelope::parse(&bytes).unwrap();
        assert_eq!(parsed, env);
        assert_eq!(parsed.to_bytes(), bytes);
        assert_eq!(parsed.open_body(&rk()).unwrap(), body());
        let s = parsed.open_summary(&rk()).unwrap();
        assert_eq!(
            (s.title.as_str(), s.subtitle.as_str()),
            ("Home", "home-net")
        );
        assert_eq!(env.body.len(), 256 + 28);
        assert!(parsed.open_body(&RecordKey::from_bytes([8; 32])).is_err());
    }

    #[test]
    fn header_is_bound_to_the_boxes() {
        let env = first();
        let share = Author::Share(ShareId::from_bytes([9; 16]));
        let mut moved = env.clone();
        moved.header.author = share;
        assert_eq!(moved.open_body(&rk()), Err(Error::Decrypt));
        assert_eq!(moved.open_summary(&rk()), Err(Error::Decrypt));
        let mut swapped = env.clone();
        std::mem::swap(&mut swapped.body, &mut swapped.summary);
        assert_eq!(swapped.open_body(&rk()), Err(Error::Decrypt));
    }

    fn kind(r: Result<Envelope>) -> &'static str {
        match r {
            Err(Error::Envelope(e)) => e.kind(),
            Err(_) => "other",
            Ok(_) => "ok",
        }
    }

    #[test]
    fn parse_refusals() {
        let bytes = first().to_bytes();
        assert_eq!(kind(Envelope::parse(&bytes[..3])), "truncated");
        assert_eq!(kind(Envelope::parse(&bytes[..HEADER_LEN + 2])), "truncated");
        assert_eq!(
            kind(Envelope::parse(&bytes[..bytes.len() - 1])),
            "truncated"
        );
        let mut long = bytes.clone();
        long.push(0);
        assert_eq!(kind(Envelope::parse(&long)), "trailing_bytes");
        let mut magic = bytes.clone();
        magic[3] = b'2';
        assert_eq!(kind(Envelope::parse(&magic)), "bad_magic");
        let mut author = bytes.clone();
        author[HEADER_LEN - 17] = 2;
        assert_eq!(kind(Envelope::parse(&author)), "bad_author");
        let mut owner_with_id = bytes.clone();
        owner_with_id[HEADER_LEN - 1] = 1;
        assert_eq!(kind(Envelope::parse(&owner_with_id)), "bad_author");
        let mut k0 = bytes.clone();
        k0[20..28].copy_from_slice(&0u64.to_be_bytes());
        assert_eq!(kind(Envelope::parse(&k0)), "bad_key_generation");
        let mut v0 = bytes.clone();
        v0[28..36].copy_from_slice(&0u64.to_be_bytes());
        assert_eq!(kind(Envelope::parse(&v0)), "bad_version");
        let mut v2 = bytes.clone();
        v2[28..36].copy_from_slice(&2u64.to_be_bytes());
        assert_eq!(kind(Envelope::parse(&v2)), "bad_prev");
        let mut huge = bytes.clone();
        huge[HEADER_LEN..HEADER_LEN + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(kind(Envelope::parse(&huge)), "too_large");
        let mut odd = bytes.clone();
        odd[HEADER_LEN..HEADER_LEN + 4].copy_from_slice(&300u32.to_be_bytes());
        assert_eq!(kind(Envelope::parse(&odd)), "bad_length");
    }

    #[test]
    fn owner_tag_and_edit_signature() {
        let env = first();
        let k_own = OwnerKey::from_bytes([3; 32]);
        let tag = env.owner_tag(&k_own);
        assert!(env.verify_owner_tag(&k_own, &tag).is_ok());
        assert_eq!(
            env.verify_owner_tag(&OwnerKey::from_bytes([4; 32]), &tag),
            Err(Error::Verify("owner tag"))
        );
        let device = DeviceKey::generate().unwrap();
        let public = DevicePublicKey::from_sec1(device.public_key()).unwrap();
        let sig = env.sign_edit(&device).unwrap();
        assert!(env.verify_edit(&public, &sig).is_ok());
        let mut other = env.clone();
        other.body[40] ^= 1;
        assert!(other.verify_edit(&public, &sig).is_err());
        assert!(other.verify_owner_tag(&k_own, &tag).is_err());
    }

    #[test]
    fn server_expectations() {
        let v1 = first();
        let id = v1.header.record_id;
        let share = Author::Share(ShareId::from_bytes([9; 16]));
        assert!(
            v1.check_expected(&Expected::first(id, Author::Owner))
                .is_ok()
        );
        let v2 = Envelope::seal(&rk(), VersionHeader::next(&v1, 1, share), &body()).unwrap();
        assert!(v2.check_expected(&Expected::after(&v1, 1, share)).is_ok());
        let e = |x: Expected| match v2.check_expected(&x) {
            Err(Error::Envelope(e)) => e.kind(),
            _ => "ok",
        };
        let good = Expected::after(&v1, 1, share);
        assert_eq!(
            e(Expected {
                record_id: Id::from_bytes([2; 16]),
                ..good
            }),
            "wrong_record"
        );
        assert_eq!(
            e(Expected {
                author: Author::Owner,
                ..good
            }),
            "wrong_author"
        );
        assert_eq!(e(Expected { k: 2, ..good }), "wrong_key_generation");
        assert_eq!(e(Expected { v: 3, ..good }), "wrong_version");
        assert_eq!(
            e(Expected {
                prev: [1; 32],
                ..good
            }),
            "wrong_prev"
        );
    }

    #[test]
    fn version_guard() {
        let v1 = first();
        let v2 =
            Envelope::seal(&rk(), VersionHeader::next(&v1, 1, Author::Owner), &body()).unwrap();
        let v3 =
            Envelope::seal(&rk(), VersionHeader::next(&v2, 1, Author::Owner), &body()).unwrap();
        let mut g = VersionGuard::new();
        g.accept(&v1).unwrap();
        g.accept(&v3).unwrap();
        assert_eq!(g.highest(), Some((3, v3.hash())));
        assert!(matches!(
            g.check(&v2),
            Err(Error::Envelope(EnvelopeError::Rollback { seen: 3, got: 2 }))
        ));
        g.accept(&v3).unwrap();
        let other_v3 =
            Envelope::seal(&rk(), VersionHeader::next(&v2, 1, Author::Owner), &body()).unwrap();
        assert!(matches!(
            g.check(&other_v3),
            Err(Error::Envelope(EnvelopeError::Fork { v: 3 }))
        ));
        let forked_v4 = Envelope::seal(
            &rk(),
            VersionHeader::next(&other_v3, 1, Author::Owner),
            &body(),
        )
        .unwrap();
        assert!(matches!(
            g.check(&forked_v4),
            Err(Error::Envelope(EnvelopeError::Fork { v: 4 }))
        ));
        let v4 =
            Envelope::seal(&rk(), VersionHeader::next(&v3, 1, Author::Owner), &body()).unwrap();
        let restored = VersionGuard::resume(3, v3.hash(), 1);
        assert!(restored.check(&v4).is_ok());
    }

    #[test]
    fn version_guard_refuses_an_older_key_generation() {
        let v1 = first();
        let rk2 = RecordKey::from_bytes([8; 32]);
        let v2 = Envelope::seal(&rk2, VersionHeader::next(&v1, 2, Author::Owner), &body()).unwrap();
        // A version after the rotation, but sealed under the key the record rotated away from.
        let share = Author::Share(ShareId::from_bytes([4; 16]));
        let stale = Envelope::seal(&rk(), VersionHeader::next(&v2, 1, share), &body()).unwrap();
        let mut g = VersionGuard::new();
        g.accept(&v1).unwrap();
        g.accept(&v2).unwrap();
        assert_eq!(g.key_gen(), 2);
        assert!(matches!(
            g.check(&stale),
            Err(Error::Envelope(EnvelopeError::KeyRollback {
                seen: 2,
                got: 1
            }))
        ));
        // Also across a gap (the direct predecessor unseen), and after a restart.
        let later = Envelope::seal(&rk(), VersionHeader::next(&stale, 1, share), &body()).unwrap();
        let restored = VersionGuard::resume(2, v2.hash(), 2);
        assert_eq!(
            restored.check(&later).map_err(|e| e.to_string()),
            Err(Error::Envelope(EnvelopeError::KeyRollback { seen: 2, got: 1 }).to_string())
        );
        // Without a stored generation (saved by an older client) only the version rules apply.
        assert!(VersionGuard::resume(2, v2.hash(), 0).check(&stale).is_ok());
    }

    #[test]
    fn summary_must_be_the_bodys() {
        let env = first();
        env.check_summary(&rk(), &body()).unwrap();
        // A writer who seals another summary (here: the old title) next to a changed body is caught.
        let mut renamed = body();
        renamed.title = "Office".into();
        let lying = Envelope {
            summary: Envelope::seal(&rk(), env.header, &body()).unwrap().summary,
            ..Envelope::seal(&rk(), env.header, &renamed).unwrap()
        };
        let opened = lying.open_body(&rk()).unwrap();
        assert_eq!(
            lying.check_summary(&rk(), &opened),
            Err(Error::Envelope(EnvelopeError::SummaryMismatch))
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn envelope_round_trip(b in arb_body(), k in 1u64..5, v in 1u64..1000, prev in any::<[u8; 32]>(), share in any::<Option<[u8; 16]>>()) {
            let author = share.map_or(Author::Owner, |s| Author::Share(ShareId::from_bytes(s)));
            let prev = if v == 1 { [0; 32] } else { let mut p = prev; p[0] |= 1; p };
            let header = VersionHeader { record_id: Id::from_bytes([5; 16]), k, v, prev, author };
            let env = Envelope::seal(&rk(), header, &b).unwrap();
            let bytes = env.to_bytes();
            let parsed = Envelope::parse(&bytes).unwrap();
            prop_assert_eq!(parsed.to_bytes(), bytes);
            prop_assert_eq!(parsed.open_body(&rk()).unwrap(), b);
        }

        /// Any single-bit change of an envelope is refused: by the parser, by opening, or by the owner tag.
        #[test]
        fn any_bit_flip_is_rejected(bit in 0usize..(HEADER_LEN + 8 + 2 * (256 + 28)) * 8) {
            let env = first();
            let k_own = OwnerKey::from_bytes([3; 32]);
            let tag = env.owner_tag(&k_own);
            let mut bytes = env.to_bytes();
            prop_assume!(bit / 8 < bytes.len());
            bytes[bit / 8] ^= 1 << (bit % 8);
            match Envelope::parse(&bytes) {
                Err(_) => {}
                Ok(changed) => {
                    prop_assert!(changed.verify_owner_tag(&k_own, &tag).is_err());
                    let body_ok = changed.open_body(&rk()).is_ok();
                    let summary_ok = changed.open_summary(&rk()).is_ok();
                    prop_assert!(!(body_ok && summary_ok));
                }
            }
        }
    }
}
