//! Thin, misuse-resistant wrappers over the primitives (aws-lc-rs): SHA-256, HKDF, HMAC, AES-256-GCM
//! sealed boxes, associated data, random bytes and constant-time comparison.
//!
//! Every other module builds on these; none of them calls aws-lc-rs for symmetric crypto directly.

use crate::error::{Error, Result};
use aws_lc_rs::{aead, digest, hkdf, hmac};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Length of every symmetric key in the protocol.
pub const KEY_LEN: usize = 32;
/// AES-GCM nonce length.
pub const NONCE_LEN: usize = 12;
/// AES-GCM tag length.
pub const TAG_LEN: usize = 16;
/// Bytes a sealed box adds to its plaintext: nonce and tag.
pub const SEALED_OVERHEAD: usize = NONCE_LEN + TAG_LEN;

/// A 32-byte secret key. Derives nothing that could print or copy it implicitly; wiped on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct Key32([u8; KEY_LEN]);

impl Key32 {
    /// Wraps raw key bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Key32(bytes)
    }

    /// Decodes from a slice of exactly 32 bytes.
    pub fn from_slice(what: &'static str, bytes: &[u8]) -> Result<Self> {
        let arr: [u8; KEY_LEN] = bytes.try_into().map_err(|_| {
            Error::malformed(what, format!("expected 32 bytes, got {}", bytes.len()))
        })?;
        Ok(Key32(arr))
    }

    /// A fresh random key.
    pub fn random() -> Result<Self> {
        Ok(Key32(random_array()?))
    }

    /// The raw bytes. Callers must not log or persist them outside a sealed box.
    pub fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl std::fmt::Debug for Key32 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key32(..)")
    }
}

/// Fills an array from the operating system's CSPRNG.
pub fn random_array<const N: usize>() -> Result<[u8; N]> {
    let mut out = [0u8; N];
    aws_lc_rs::rand::fill(&mut out).map_err(|_| Error::Random)?;
    Ok(out)
}

/// SHA-256.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// SHA-256 over several parts, as if concatenated.
pub fn sha256_parts(parts: &[&[u8]]) -> [u8; 32] {
    let mut ctx = digest::Context::new(&digest::SHA256);
    for p in parts {
        ctx.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// Incremental SHA-256, for hashing streams.
pub struct Sha256(digest::Context);

impl Sha256 {
    /// A hash of nothing yet.
    pub fn new() -> Self {
        Sha256(digest::Context::new(&digest::SHA256))
    }
    /// Hashes more data.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
    /// The SHA-256 of everything given.
    pub fn finish(self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(self.0.finish().as_ref());
        out
    }
}

impl Default for Sha256 {
    fn default() -> Self {
        Self::new()
    }
}

struct OutLen(usize);

impl hkdf::KeyType for OutLen {
    fn len(&self) -> usize {
        self.0
    }
}

/// HKDF-SHA256 with an explicit salt: Extract(salt, ikm) then Expand(info) to 32 bytes.
///
/// An empty salt is the RFC 5869 default (HashLen zero bytes); both steps always run, as WebCrypto does.
/// `info` is given in parts so labels and binary fields need not be concatenated by the caller.
pub fn hkdf_salted(ikm: &[u8], salt: &[u8], info: &[&[u8]]) -> Key32 {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(ikm);
    let mut out = [0u8; KEY_LEN];
    // Expand can only fail when asked for more than 255 blocks; 32 bytes is one block.
    if let Ok(okm) = prk.expand(info, OutLen(KEY_LEN)) {
        let _ = okm.fill(&mut out);
    }
    Key32(out)
}

/// HKDF-SHA256 with an empty salt, the protocol's default (`HKDF(ikm, info)` in docs/protocol.md).
pub fn hkdf(ikm: &[u8], info: &[&[u8]]) -> Key32 {
    hkdf_salted(ikm, &[], info)
}

/// HMAC-SHA256.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut ctx = hmac::Context::with_key(&key);
    for p in parts {
        ctx.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.sign().as_ref());
    out
}

/// Verifies an HMAC-SHA256 tag in constant time.
pub fn hmac_sha256_verify(key: &[u8], parts: &[&[u8]], tag: &[u8]) -> bool {
    ct_eq(&hmac_sha256(key, parts), tag)
}

/// Constant-time equality of two byte strings (lengths are not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// The kinds of associated data. Each names the object a sealed box belongs to, so a box can never be
/// moved to another object or context and still open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AadKind {
    /// DK wrapped by WK; field: the account's 16-byte KDF salt randomness.
    DataKey,
    /// RK_k wrapped by DK; fields: record id, k.
    RecordKey,
    /// RK_k wrapped by SK; fields: share id, record id, k.
    ShareRecordKey,
    /// S ‖ S′ kept by the owner, as sealed before share facts were authenticated (opened only, never
    /// written); field: share id.
    ShareSecret,
    /// S ‖ S′ kept by the owner, binding the share's facts; fields: share id, record id, editable (one byte).
    ShareGrant,
    /// The owner's label for a share; field: share id.
    ShareLabel,
    /// A request's instructions under SK; fields: share id, max answers (u32).
    ShareRequest,
    /// The share preface the recipient reads before Click to Open; field: share id.
    SharePreface,
    /// A record version's body; fields: record id, k, v, prev, author.
    Record,
    /// A record version's list-view summary; same fields as `Record`.
    RecordSummary,
}

impl AadKind {
    /// The ASCII kind string placed after `sharelock/v1/`.
    pub fn label(self) -> &'static str {
        match self {
            AadKind::DataKey => "data-key",
            AadKind::RecordKey => "record-key",
            AadKind::ShareRecordKey => "share-record-key",
            AadKind::ShareSecret => "share-secret",
            AadKind::ShareGrant => "share-grant",
            AadKind::ShareLabel => "share-label",
            AadKind::ShareRequest => "share-request",
            AadKind::SharePreface => "share-preface",
            AadKind::Record => "record",
            AadKind::RecordSummary => "record-summary",
        }
    }
}

/// Builds `"sharelock/v1/" ‖ kind ‖ 0x00 ‖ fields`. Fields are fixed-width binary, so no delimiter is needed
/// and no two distinct objects can share associated data.
pub fn aad(kind: AadKind, fields: &[&[u8]]) -> Vec<u8> {
    let label = kind.label();
    let len = 13 + label.len() + 1 + fields.iter().map(|f| f.len()).sum::<usize>();
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(b"sharelock/v1/");
    out.extend_from_slice(label.as_bytes());
    out.push(0);
    for f in fields {
        out.extend_from_slice(f);
    }
    out
}

fn gcm_key(key: &Key32) -> Result<aead::LessSafeKey> {
    let unbound =
        aead::UnboundKey::new(&aead::AES_256_GCM, key.expose()).map_err(|_| Error::Decrypt)?;
    Ok(aead::LessSafeKey::new(unbound))
}

/// AES-256-GCM with a fresh random nonce: returns the sealed box `nonce ‖ ciphertext ‖ tag`.
pub fn seal(key: &Key32, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
    seal_with_nonce(key, random_array()?, plaintext, aad)
}

/// Sealing with a caller-chosen nonce; only for reproducible test vectors.
#[doc(hidden)]
pub fn seal_with_nonce(
    key: &Key32,
    nonce: [u8; NONCE_LEN],
    plaintext: &[u8],
    aad: &[u8],
) -> Result<Vec<u8>> {
    let k = gcm_key(key)?;
    let mut out = Vec::with_capacity(SEALED_OVERHEAD + plaintext.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    let tag = k
        .seal_in_place_separate_tag(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(aad),
            &mut out[NONCE_LEN..],
        )
        .map_err(|_| Error::Decrypt)?;
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

/// Opens a sealed box made by [`seal`]. Any change to key, associated data or box fails with
/// [`Error::Decrypt`].
pub fn open(key: &Key32, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
    if sealed.len() < SEALED_OVERHEAD {
        return Err(Error::Decrypt);
    }
    let k = gcm_key(key)?;
    let (nonce, rest) = sealed.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| Error::Decrypt)?;
    let mut buf = rest.to_vec();
    let plain_len = k
        .open_in_place(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(aad),
            &mut buf,
        )
        .map_err(|_| Error::Decrypt)?
        .len();
    buf.truncate(plain_len);
    Ok(buf)
}

/// Seals a 32-byte key (key wrapping); the result is 60 bytes.
pub fn wrap_key(wrapping: &Key32, key: &Key32, aad: &[u8]) -> Result<Vec<u8>> {
    seal(wrapping, key.expose(), aad)
}

/// Opens a wrapped 32-byte key.
pub fn unwrap_key(wrapping: &Key32, wrapped: &[u8], aad: &[u8]) -> Result<Key32> {
    let mut plain = open(wrapping, wrapped, aad)?;
    let key = Key32::from_slice("wrapped key", &plain);
    plain.zeroize();
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        data_encoding::HEXLOWER_PERMISSIVE
            .decode(s.as_bytes())
            .unwrap_or_default()
    }

    /// RFC 5869 appendix A.1 (HKDF-SHA256, 42 bytes; our expand is 32, a prefix of it).
    #[test]
    fn hkdf_matches_rfc5869_case_1() {
        let ikm = hex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
        let salt = hex("000102030405060708090a0b0c");
        let info = hex("f0f1f2f3f4f5f6f7f8f9");
        let okm = hkdf_salted(&ikm, &salt, &[&info]);
        assert_eq!(
            okm.expose().to_vec(),
            hex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf")
        );
    }

    /// RFC 5869 appendix A.3: empty salt and info, which is exactly the protocol's default salt.
    #[test]
    fn hkdf_matches_rfc5869_case_3_empty_salt() {
        let ikm = hex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
        let okm = hkdf(&ikm, &[]);
        assert_eq!(
            okm.expose().to_vec(),
            hex("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d")
        );
    }

    #[test]
    fn seal_open_round_trip_and_rejects_changes() {
        let key = Key32::from_bytes([7; 32]);
        let ad = aad(AadKind::ShareLabel, &[&[1; 16]]);
        let boxed = seal(&key, b"hello", &ad).unwrap_or_default();
        assert_eq!(open(&key, &boxed, &ad).ok(), Some(b"hello".to_vec()));
        let other_ad = aad(AadKind::ShareSecret, &[&[1; 16]]);
        assert_eq!(open(&key, &boxed, &other_ad), Err(Error::Decrypt));
        let mut flipped = boxed.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert_eq!(open(&key, &flipped, &ad), Err(Error::Decrypt));
        assert_eq!(
            open(&Key32::from_bytes([8; 32]), &boxed, &ad),
            Err(Error::Decrypt)
        );
        assert_eq!(open(&key, &boxed[..20], &ad), Err(Error::Decrypt));
    }

    #[test]
    fn aad_layout() {
        assert_eq!(
            aad(AadKind::RecordKey, &[b"ab", b"c"]),
            b"sharelock/v1/record-key\0abc".to_vec()
        );
    }
}
