//! Shares: the link secret S and everything derived from it (docs/protocol.md §4).
//!
//! - S is 32 random bytes, the only key of a share; it travels in the link's fragment, which browsers never
//!   send to a server.
//! - The share id is `HKDF(S, "sharelock/v1/share-id")[0..16]`: 128 bits are enough for a lookup key that
//!   nobody can guess, and it depends on S alone, so the server can count wrong passphrases per share.
//! - With a passphrase, `S′ = HKDF(ikm = A, salt = S, "sharelock/v1/share-root")` where A is Argon2id of the
//!   passphrase with the link-v1 parameters (64 MiB, t = 3, p = 4, the account default) and a salt derived
//!   from S. Both S and A feed S′, so neither the link alone nor the passphrase alone yields any key; without a
//!   passphrase `S′ = S`.
//! - SK (wraps record keys), T (the access token; the server stores `H(T)`) and BK (the bind-tag key) are
//!   separate HKDF outputs of S′: a wrong passphrase gives a wrong T, so it can neither bind nor use up the
//!   share, and the server, which sees T, learns nothing about SK or BK.
//! - The owner keeps `S ‖ S′` sealed under DK, so they can show the link again, verify bind tags and rewrap
//!   record keys on rotation without the passphrase. The box's associated data binds the share's record and
//!   whether it may edit ([`ShareGrant`]), so a server cannot pass a read-only share, or a share of another
//!   record, off as an editable share of this one.

use crate::account::{DataKey, RecordKey, argon2id, key_type, normalize_secret_text};
use crate::crypto::{self, AadKind, KEY_LEN, Key32, hmac_sha256, hmac_sha256_verify, sha256};
use crate::encoding::{Id, b64u, b64u_decode_array};
use crate::error::{Error, Result};
use zeroize::Zeroize;

pub use crate::account::KdfParams;

/// The fixed Argon2id parameters of a link passphrase in link version 1.
pub const LINK_V1_PASSPHRASE_PARAMS: KdfParams = KdfParams::DEFAULT;

/// The longest share label, in bytes of UTF-8.
pub const MAX_LABEL_LEN: usize = 256;

/// A share id: `HKDF(S, "sharelock/v1/share-id")[0..16]`. Sent in the `Sharelock-Share` header as
/// b64u; never in a path, query or log line, so its Debug output shows only its first two bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShareId([u8; 16]);

impl ShareId {
    /// From the 16 raw bytes.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        ShareId(bytes)
    }

    /// The 16 raw bytes, as used in associated data and tags.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// `b64u(share_id)`, the `Sharelock-Share` header value.
    pub fn to_b64u(&self) -> String {
        b64u(&self.0)
    }

    /// Parses a `Sharelock-Share` header value (canonical b64u of exactly 16 bytes).
    pub fn from_b64u(text: &str) -> Result<Self> {
        b64u_decode_array("share id", text).map(ShareId)
    }
}

impl std::fmt::Debug for ShareId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ShareId({:02x}{:02x}..)", self.0[0], self.0[1])
    }
}

key_type!(
    /// S: the link secret, 32 random bytes carried in the link's fragment.
    LinkSecret
);
key_type!(
    /// S′: the share root. Equal to S without a passphrase; mixes in the passphrase otherwise.
    ShareRoot
);
key_type!(
    /// SK = HKDF(S′, "sharelock/v1/share-key"): wraps the record key for this share.
    ShareKey
);
key_type!(
    /// T = HKDF(S′, "sharelock/v1/share-access"): proves knowledge of S′ to the server, which stores H(T).
    AccessToken
);
key_type!(
    /// BK = HKDF(S′, "sharelock/v1/bind"): the key of bind_tag.
    BindKey
);

impl LinkSecret {
    /// A fresh random link secret, made when a share is created.
    pub fn generate() -> Result<Self> {
        Key32::random().map(LinkSecret)
    }

    /// `share_id = HKDF(S, "sharelock/v1/share-id")[0..16]`.
    pub fn share_id(&self) -> ShareId {
        let okm = crypto::hkdf(self.0.expose(), &[b"sharelock/v1/share-id"]);
        let mut id = [0u8; 16];
        id.copy_from_slice(&okm.expose()[..16]);
        ShareId(id)
    }

    /// The Argon2id salt of the passphrase: `HKDF(S, "sharelock/v1/pass-salt")[0..16]`.
    pub fn passphrase_salt(&self) -> [u8; 16] {
        let okm = crypto::hkdf(self.0.expose(), &[b"sharelock/v1/pass-salt"]);
        let mut salt = [0u8; 16];
        salt.copy_from_slice(&okm.expose()[..16]);
        salt
    }

    /// S′: S itself without a passphrase; with one, `HKDF(ikm = A, salt = S, "sharelock/v1/share-root")`
    /// where `A = Argon2id(NFC(passphrase), passphrase_salt)` with [`LINK_V1_PASSPHRASE_PARAMS`] (one
    /// Argon2id run). An empty passphrase is refused: a link marked `p` always needs one.
    pub fn share_root(&self, passphrase: Option<&str>) -> Result<ShareRoot> {
        let Some(passphrase) = passphrase else {
            return Ok(ShareRoot(Key32::from_bytes(*self.0.expose())));
        };
        if passphrase.is_empty() {
            return Err(Error::malformed("passphrase", "empty"));
        }
        let text = normalize_secret_text(passphrase);
        let a = argon2id(
            text.as_bytes(),
            &self.passphrase_salt(),
            &LINK_V1_PASSPHRASE_PARAMS,
        )?;
        Ok(ShareRoot(crypto::hkdf_salted(
            a.expose(),
            self.0.expose(),
            &[b"sharelock/v1/share-root"],
        )))
    }
}

impl ShareRoot {
    /// `SK = HKDF(S′, "sharelock/v1/share-key")`.
    pub fn share_key(&self) -> ShareKey {
        ShareKey(crypto::hkdf(self.0.expose(), &[b"sharelock/v1/share-key"]))
    }

    /// `T = HKDF(S′, "sharelock/v1/share-access")`.
    pub fn access_token(&self) -> AccessToken {
        AccessToken(crypto::hkdf(
            self.0.expose(),
            &[b"sharelock/v1/share-access"],
        ))
    }

    /// `BK = HKDF(S′, "sharelock/v1/bind")`.
    pub fn bind_key(&self) -> BindKey {
        BindKey(crypto::hkdf(self.0.expose(), &[b"sharelock/v1/bind"]))
    }
}

/// The facts of a share that the owner's sealed copy of its secrets authenticates (docs/protocol.md §4.1):
/// the record it gives access to and whether it may write that record. The server states both in the clear;
/// the owner's client believes only what the owner secret opens under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShareGrant {
    /// The shared record.
    pub record_id: Id,
    /// Whether the recipient may write the record.
    pub editable: bool,
}

/// What an opened owner secret authenticates about its share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareFacts {
    /// Sealed with its grant: the record and the editability are the owner's own.
    Granted(ShareGrant),
    /// Sealed before share facts were authenticated (`share-secret`): its record and editability are only
    /// the server's word, so the owner's client verifies none of its recipient's versions and ends it before
    /// rotating its record (docs/protocol.md §4.1).
    Legacy,
}

/// Every value a client derives from a link (and its passphrase), computed once.
pub struct ShareKeys {
    share_id: ShareId,
    secret: LinkSecret,
    root: ShareRoot,
    share_key: ShareKey,
    access: AccessToken,
    bind: BindKey,
}

impl std::fmt::Debug for ShareKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShareKeys")
            .field("share_id", &self.share_id)
            .field("passphrase", &self.has_passphrase())
            .finish_non_exhaustive()
    }
}

impl ShareKeys {
    /// Derives everything from S and the passphrase, if the link needs one (one Argon2id run then).
    pub fn derive(secret: LinkSecret, passphrase: Option<&str>) -> Result<Self> {
        let root = secret.share_root(passphrase)?;
        Ok(Self::from_parts(secret, root))
    }

    fn from_parts(secret: LinkSecret, root: ShareRoot) -> Self {
        ShareKeys {
            share_id: secret.share_id(),
            share_key: root.share_key(),
            access: root.access_token(),
            bind: root.bind_key(),
            secret,
            root,
        }
    }

    /// The share id.
    pub fn share_id(&self) -> ShareId {
        self.share_id
    }

    /// S.
    pub fn secret(&self) -> &LinkSecret {
        &self.secret
    }

    /// S′.
    pub fn root(&self) -> &ShareRoot {
        &self.root
    }

    /// SK.
    pub fn share_key(&self) -> &ShareKey {
        &self.share_key
    }

    /// T.
    pub fn access_token(&self) -> &AccessToken {
        &self.access
    }

    /// BK.
    pub fn bind_key(&self) -> &BindKey {
        &self.bind
    }

    /// Whether the share needs a passphrase, i.e. `S′ ≠ S` (the link flag `p`).
    pub fn has_passphrase(&self) -> bool {
        !crypto::ct_eq(self.secret.expose(), self.root.expose())
    }

    /// The owner's copy of the share's secrets, bound to the share's facts:
    /// `AEAD(DK, S ‖ S′, AAD("share-grant", share_id ‖ record_id ‖ u8(editable)))`. The server stores it
    /// and states the same facts in the clear, but only what this box opens under counts for the owner.
    pub fn seal_owner_secret(&self, dk: &DataKey, grant: &ShareGrant) -> Result<Vec<u8>> {
        let mut plain = [0u8; 2 * KEY_LEN];
        plain[..KEY_LEN].copy_from_slice(self.secret.expose());
        plain[KEY_LEN..].copy_from_slice(self.root.expose());
        let sealed = crypto::seal(&dk.0, &plain, &share_grant_aad(&self.share_id, grant));
        plain.zeroize();
        sealed
    }

    /// Opens the owner's copy of a share's secrets sealed with exactly `grant`, and rebuilds every derived
    /// value without the passphrase. Fails ([`Error::Decrypt`]) if the box does not open under DK for
    /// `share_id` and `grant`, and ([`Error::Malformed`]) if S does not derive `share_id`.
    pub fn open_owner_secret(
        dk: &DataKey,
        sealed: &[u8],
        share_id: &ShareId,
        grant: &ShareGrant,
    ) -> Result<Self> {
        Self::open_sealed(dk, sealed, share_id, &share_grant_aad(share_id, grant))
    }

    /// Opens an owner secret sealed before share facts were authenticated
    /// (`AAD("share-secret", share_id)`). Clients only read this form; they never write it.
    pub fn open_legacy_owner_secret(
        dk: &DataKey,
        sealed: &[u8],
        share_id: &ShareId,
    ) -> Result<Self> {
        Self::open_sealed(dk, sealed, share_id, &share_secret_aad(share_id))
    }

    /// Opens the owner secret of a share the server lists as a share of `record_id` with editability
    /// `claimed_editable`, and says what the box authenticates: it tries the grant with the claimed
    /// editability, then with the other one, then the legacy form (docs/protocol.md §4.1). A share of another
    /// record, or a box of another share, opens under none of them ([`Error::Decrypt`]).
    pub fn open_owner_secret_of(
        dk: &DataKey,
        sealed: &[u8],
        share_id: &ShareId,
        record_id: &Id,
        claimed_editable: bool,
    ) -> Result<(Self, ShareFacts)> {
        for editable in [claimed_editable, !claimed_editable] {
            let grant = ShareGrant {
                record_id: *record_id,
                editable,
            };
            match Self::open_owner_secret(dk, sealed, share_id, &grant) {
                Ok(keys) => return Ok((keys, ShareFacts::Granted(grant))),
                Err(Error::Decrypt) => {}
                Err(e) => return Err(e),
            }
        }
        Self::open_legacy_owner_secret(dk, sealed, share_id).map(|keys| (keys, ShareFacts::Legacy))
    }

    fn open_sealed(dk: &DataKey, sealed: &[u8], share_id: &ShareId, aad: &[u8]) -> Result<Self> {
        let mut plain = crypto::open(&dk.0, sealed, aad)?;
        if plain.len() != 2 * KEY_LEN {
            plain.zeroize();
            return Err(Error::malformed("owner secret", "expected 64 bytes"));
        }
        let secret = LinkSecret(Key32::from_slice("owner secret", &plain[..KEY_LEN])?);
        let root = ShareRoot(Key32::from_slice("owner secret", &plain[KEY_LEN..])?);
        plain.zeroize();
        if secret.share_id() != *share_id {
            return Err(Error::malformed(
                "owner secret",
                "S does not derive this share id",
            ));
        }
        Ok(Self::from_parts(secret, root))
    }

    /// The link for this share on a server whose public URL is `base`.
    pub fn link(&self, base: &str) -> Result<Link, LinkError> {
        let secret = LinkSecret::from_bytes(*self.secret.expose());
        Link::new(base, self.has_passphrase(), secret)
    }
}

pub(crate) fn share_secret_aad(share_id: &ShareId) -> Vec<u8> {
    crypto::aad(AadKind::ShareSecret, &[share_id.as_bytes()])
}

pub(crate) fn share_grant_aad(share_id: &ShareId, grant: &ShareGrant) -> Vec<u8> {
    crypto::aad(
        AadKind::ShareGrant,
        &[
            share_id.as_bytes(),
            grant.record_id.as_bytes(),
            &[u8::from(grant.editable)],
        ],
    )
}

pub(crate) fn share_label_aad(share_id: &ShareId) -> Vec<u8> {
    crypto::aad(AadKind::ShareLabel, &[share_id.as_bytes()])
}

pub(crate) fn share_record_key_aad(share_id: &ShareId, record_id: &Id, k: u64) -> Vec<u8> {
    crypto::aad(
        AadKind::ShareRecordKey,
        &[share_id.as_bytes(), record_id.as_bytes(), &k.to_be_bytes()],
    )
}

/// The owner's label for a share: `AEAD(DK, UTF-8(label), AAD("share-label", share_id))`, at most
/// [`MAX_LABEL_LEN`] bytes.
pub fn seal_label(dk: &DataKey, share_id: &ShareId, label: &str) -> Result<Vec<u8>> {
    if label.len() > MAX_LABEL_LEN {
        return Err(Error::TooLarge {
            what: "share label",
            size: label.len(),
            limit: MAX_LABEL_LEN,
        });
    }
    crypto::seal(&dk.0, label.as_bytes(), &share_label_aad(share_id))
}

/// Opens a share label sealed by [`seal_label`].
pub fn open_label(dk: &DataKey, share_id: &ShareId, sealed: &[u8]) -> Result<String> {
    let plain = crypto::open(&dk.0, sealed, &share_label_aad(share_id))?;
    if plain.len() > MAX_LABEL_LEN {
        return Err(Error::TooLarge {
            what: "share label",
            size: plain.len(),
            limit: MAX_LABEL_LEN,
        });
    }
    String::from_utf8(plain).map_err(|_| Error::malformed("share label", "not UTF-8"))
}

impl RecordKey {
    /// `AEAD(SK, RK_k, AAD("share-record-key", share_id ‖ record_id ‖ u64(k)))`: the recipient's copy.
    pub fn wrap_for_share(
        &self,
        sk: &ShareKey,
        share_id: &ShareId,
        record_id: &Id,
        k: u64,
    ) -> Result<Vec<u8>> {
        crypto::wrap_key(
            &sk.0,
            &self.0,
            &share_record_key_aad(share_id, record_id, k),
        )
    }

    /// Opens the recipient's copy of `RK_k`.
    pub fn unwrap_for_share(
        sk: &ShareKey,
        wrapped: &[u8],
        share_id: &ShareId,
        record_id: &Id,
        k: u64,
    ) -> Result<Self> {
        crypto::unwrap_key(
            &sk.0,
            wrapped,
            &share_record_key_aad(share_id, record_id, k),
        )
        .map(RecordKey)
    }
}

impl AccessToken {
    /// `H(T)`, what the server stores.
    pub fn access_hash(&self) -> [u8; 32] {
        sha256(self.0.expose())
    }

    /// `b64u(T)`, as sent in `Sharelock-Access` and the bind body.
    pub fn to_b64u(&self) -> String {
        b64u(self.0.expose())
    }
}

/// Checks a received access token against the stored `H(T)` in constant time. A token that is not 32 bytes
/// never matches.
pub fn verify_access_token(token: &[u8], stored_hash: &[u8]) -> bool {
    token.len() == KEY_LEN && crypto::ct_eq(&sha256(token), stored_hash)
}

impl BindKey {
    /// `bind_tag = HMAC(BK, share_id ‖ device_key)`, device_key the 65-byte SEC1 point.
    pub fn bind_tag(&self, share_id: &ShareId, device_key: &[u8]) -> [u8; 32] {
        hmac_sha256(self.0.expose(), &[share_id.as_bytes(), device_key])
    }

    /// Verifies a bind tag in constant time ([`Error::Verify`] if it does not match).
    pub fn verify_bind_tag(&self, share_id: &ShareId, device_key: &[u8], tag: &[u8]) -> Result<()> {
        if hmac_sha256_verify(self.0.expose(), &[share_id.as_bytes(), device_key], tag) {
            Ok(())
        } else {
            Err(Error::Verify("bind tag"))
        }
    }
}

/// Why a share link was refused. One variant per malformed case of docs/protocol.md §4.2; [`LinkError::kind`]
/// gives the stable name the test vectors use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// The text has no `#`, so there is no fragment and no secret.
    #[error("the link has no '#' fragment")]
    MissingFragment,
    /// The scheme is not `https://` or `http://` (lower case).
    #[error("the link's scheme is not http or https")]
    Scheme,
    /// The part before the fragment is not a plain public URL: empty host, user info, a query, a trailing
    /// slash before `/s`, or characters other than printable ASCII.
    #[error("the link's address is not a plain public URL")]
    Base,
    /// The path does not end in `/s`.
    #[error("the link's path does not end in /s")]
    Path,
    /// The fragment does not start with a version number.
    #[error("the link has no version")]
    MissingVersion,
    /// The version is not `1`.
    #[error("the link's version is not supported")]
    UnknownVersion,
    /// A flag other than `p`.
    #[error("the link has an unknown flag")]
    UnknownFlag,
    /// A flag appears twice.
    #[error("the link repeats a flag")]
    RepeatedFlag,
    /// No `.` separates the flags from the secret.
    #[error("the link has no '.' before its secret")]
    MissingDot,
    /// The secret is not canonical base64url without padding (padding, `+`, `/`, spaces, non-zero unused
    /// bits, an impossible length).
    #[error("the link's secret is not canonical base64url")]
    SecretEncoding,
    /// The secret does not decode to exactly 32 bytes.
    #[error("the link's secret is not 32 bytes")]
    SecretLength,
    /// Something follows the secret: the fragment contains a second `#`, a `?` or a `&` after the `.`.
    #[error("the link has data after its secret")]
    TrailingData,
}

impl LinkError {
    /// The stable name of this error in the test vectors.
    pub fn kind(&self) -> &'static str {
        match self {
            LinkError::MissingFragment => "missing_fragment",
            LinkError::Scheme => "bad_scheme",
            LinkError::Base => "bad_base",
            LinkError::Path => "bad_path",
            LinkError::MissingVersion => "missing_version",
            LinkError::UnknownVersion => "unknown_version",
            LinkError::UnknownFlag => "unknown_flag",
            LinkError::RepeatedFlag => "repeated_flag",
            LinkError::MissingDot => "missing_dot",
            LinkError::SecretEncoding => "secret_encoding",
            LinkError::SecretLength => "secret_length",
            LinkError::TrailingData => "trailing_data",
        }
    }
}

/// A share link: `<base>/s#1<flags>.<b64u(S)>`. `Display` writes the whole link, secret included; Debug
/// leaves the secret out.
pub struct Link {
    /// The server's public URL (origin and optional path prefix), without a trailing slash.
    pub base: String,
    /// Whether the share needs a passphrase (flag `p`).
    pub passphrase: bool,
    /// S.
    pub secret: LinkSecret,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("base", &self.base)
            .field("passphrase", &self.passphrase)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Display for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let flags = if self.passphrase { "p" } else { "" };
        write!(
            f,
            "{}/s#1{}.{}",
            self.base,
            flags,
            b64u(self.secret.expose())
        )
    }
}

impl std::str::FromStr for Link {
    type Err = LinkError;

    fn from_str(s: &str) -> Result<Self, LinkError> {
        Link::parse(s)
    }
}

/// Checks `scheme://authority[/prefix]` (no trailing slash) and returns nothing: the part of a link before
/// `/s`.
fn check_base(base: &str) -> Result<(), LinkError> {
    let rest = base
        .strip_prefix("https://")
        .or_else(|| base.strip_prefix("http://"))
        .ok_or(LinkError::Scheme)?;
    if !rest.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(LinkError::Base);
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if authority.is_empty() || authority.contains(['@', '?', '\\']) {
        return Err(LinkError::Base);
    }
    if path.contains(['?', '\\']) || path.ends_with('/') || path.contains("//") {
        return Err(LinkError::Base);
    }
    Ok(())
}

impl Link {
    /// A link for `base` (a trailing slash is removed), checked as [`Link::parse`] checks it.
    pub fn new(base: &str, passphrase: bool, secret: LinkSecret) -> Result<Self, LinkError> {
        let base = base.strip_suffix('/').unwrap_or(base);
        check_base(base)?;
        Ok(Link {
            base: base.to_owned(),
            passphrase,
            secret,
        })
    }

    /// Parses a link strictly, in the order of docs/protocol.md §4.2: fragment, scheme, query, path, base,
    /// version, dot, flags, trailing data, secret encoding, secret length.
    pub fn parse(text: &str) -> Result<Self, LinkError> {
        let (before, fragment) = text.split_once('#').ok_or(LinkError::MissingFragment)?;
        if !(before.starts_with("https://") || before.starts_with("http://")) {
            return Err(LinkError::Scheme);
        }
        if before.contains('?') {
            return Err(LinkError::Base);
        }
        let scheme_len = if before.starts_with("https://") { 8 } else { 7 };
        // The path starts at the first '/' after the authority; it must end in "/s".
        let after_scheme = &before[scheme_len..];
        let path = after_scheme.find('/').map_or("", |i| &after_scheme[i..]);
        if !path.ends_with("/s") {
            return Err(LinkError::Path);
        }
        let base = &before[..before.len() - 2];
        check_base(base)?;

        let digits = fragment.bytes().take_while(u8::is_ascii_digit).count();
        let (version, rest) = fragment.split_at(digits);
        if version.is_empty() {
            return Err(LinkError::MissingVersion);
        }
        if version != "1" {
            return Err(LinkError::UnknownVersion);
        }
        let (flags, secret_text) = rest.split_once('.').ok_or(LinkError::MissingDot)?;
        let mut passphrase = false;
        for c in flags.chars() {
            match c {
                'p' if passphrase => return Err(LinkError::RepeatedFlag),
                'p' => passphrase = true,
                _ => return Err(LinkError::UnknownFlag),
            }
        }
        // The secret runs to the end of the fragment; a '#', '?' or '&' means something follows it.
        if secret_text.contains(['#', '?', '&']) {
            return Err(LinkError::TrailingData);
        }
        let bytes = data_encoding::BASE64URL_NOPAD
            .decode(secret_text.as_bytes())
            .map_err(|_| LinkError::SecretEncoding)?;
        let secret =
            Key32::from_slice("link secret", &bytes).map_err(|_| LinkError::SecretLength)?;
        let mut bytes = bytes;
        bytes.zeroize();
        Ok(Link {
            base: base.to_owned(),
            passphrase,
            secret: LinkSecret(secret),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const S: [u8; 32] = [0x42; 32];

    #[test]
    fn derivations_without_passphrase() {
        let keys = ShareKeys::derive(LinkSecret::from_bytes(S), None).unwrap();
        assert!(!keys.has_passphrase());
        assert_eq!(keys.root().expose(), &S);
        let okm = crypto::hkdf(&S, &[b"sharelock/v1/share-id"]);
        assert_eq!(keys.share_id().as_bytes(), &okm.expose()[..16]);
        let all = [
            keys.share_key().expose(),
            keys.access_token().expose(),
            keys.bind_key().expose(),
            &S,
        ];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(
            keys.access_token().access_hash(),
            sha256(keys.access_token().expose())
        );
        assert!(verify_access_token(
            keys.access_token().expose(),
            &keys.access_token().access_hash()
        ));
        assert!(!verify_access_token(
            keys.share_key().expose(),
            &keys.access_token().access_hash()
        ));
        assert!(!format!("{keys:?}").contains("42"));
    }

    #[test]
    fn passphrase_changes_everything_but_the_share_id() {
        let plain = ShareKeys::derive(LinkSecret::from_bytes(S), None).unwrap();
        let right = ShareKeys::derive(LinkSecret::from_bytes(S), Some("correct horse")).unwrap();
        let wrong = ShareKeys::derive(LinkSecret::from_bytes(S), Some("correct horse ")).unwrap();
        assert!(right.has_passphrase());
        assert_eq!(plain.share_id(), right.share_id());
        assert_eq!(right.share_id(), wrong.share_id());
        assert_ne!(plain.access_token().expose(), right.access_token().expose());
        assert_ne!(right.access_token().expose(), wrong.access_token().expose());
        assert!(ShareKeys::derive(LinkSecret::from_bytes(S), Some("")).is_err());
        // NFC: the decomposed and composed forms are the same passphrase.
        let nfd = LinkSecret::from_bytes(S)
            .share_root(Some("cafe\u{301}"))
            .unwrap();
        let nfc = LinkSecret::from_bytes(S)
            .share_root(Some("caf\u{e9}"))
            .unwrap();
        assert_eq!(nfd.expose(), nfc.expose());
    }

    #[test]
    fn owner_secret_round_trip_keeps_passphrase_state() {
        let dk = DataKey::from_bytes([9; 32]);
        let keys = ShareKeys::derive(LinkSecret::from_bytes(S), Some("pw")).unwrap();
        let grant = ShareGrant {
            record_id: Id::from_bytes([5; 16]),
            editable: true,
        };
        let sealed = keys.seal_owner_secret(&dk, &grant).unwrap();
        assert_eq!(sealed.len(), 64 + 28);
        let back = ShareKeys::open_owner_secret(&dk, &sealed, &keys.share_id(), &grant).unwrap();
        assert!(back.has_passphrase());
        assert_eq!(back.access_token().expose(), keys.access_token().expose());
        assert_eq!(
            back.link("https://x.example").unwrap().to_string(),
            keys.link("https://x.example/").unwrap().to_string()
        );
        let other = ShareId::from_bytes([1; 16]);
        assert_eq!(
            ShareKeys::open_owner_secret(&dk, &sealed, &other, &grant).unwrap_err(),
            Error::Decrypt
        );
        // The grant's facts are bound: another record or another editability does not open it.
        for lie in [
            ShareGrant {
                editable: false,
                ..grant
            },
            ShareGrant {
                record_id: Id::from_bytes([6; 16]),
                ..grant
            },
        ] {
            assert_eq!(
                ShareKeys::open_owner_secret(&dk, &sealed, &keys.share_id(), &lie).unwrap_err(),
                Error::Decrypt
            );
        }
        assert_eq!(
            ShareKeys::open_legacy_owner_secret(&dk, &sealed, &keys.share_id()).unwrap_err(),
            Error::Decrypt
        );
        // A box sealed for a share id that S does not derive is refused even though it opens.
        let forged = crypto::seal(&dk.0, &[0u8; 64], &share_grant_aad(&other, &grant)).unwrap();
        assert!(matches!(
            ShareKeys::open_owner_secret(&dk, &forged, &other, &grant),
            Err(Error::Malformed { .. })
        ));
    }

    #[test]
    fn owner_secret_of_a_listed_share_says_what_it_authenticates() {
        let dk = DataKey::from_bytes([9; 32]);
        let keys = ShareKeys::derive(LinkSecret::from_bytes(S), None).unwrap();
        let id = keys.share_id();
        let record = Id::from_bytes([5; 16]);
        let read_only = ShareGrant {
            record_id: record,
            editable: false,
        };
        let sealed = keys.seal_owner_secret(&dk, &read_only).unwrap();
        // Whatever the server claims about editability, the box says read-only.
        for claimed in [false, true] {
            let (_, facts) =
                ShareKeys::open_owner_secret_of(&dk, &sealed, &id, &record, claimed).unwrap();
            assert_eq!(facts, ShareFacts::Granted(read_only));
        }
        // Listed under another record, it does not open at all.
        assert_eq!(
            ShareKeys::open_owner_secret_of(&dk, &sealed, &id, &Id::from_bytes([6; 16]), false)
                .unwrap_err(),
            Error::Decrypt
        );
        // A box of the earlier form opens as legacy, whatever record it is listed under.
        let mut plain = keys.secret().expose().to_vec();
        plain.extend_from_slice(keys.root().expose());
        let legacy = crypto::seal(&dk.0, &plain, &share_secret_aad(&id)).unwrap();
        let (opened, facts) =
            ShareKeys::open_owner_secret_of(&dk, &legacy, &id, &record, true).unwrap();
        assert_eq!(facts, ShareFacts::Legacy);
        assert_eq!(opened.access_token().expose(), keys.access_token().expose());
    }

    #[test]
    fn labels_and_share_wraps() {
        let dk = DataKey::from_bytes([9; 32]);
        let id = ShareId::from_bytes([1; 16]);
        let sealed = seal_label(&dk, &id, "for Ada").unwrap();
        assert_eq!(open_label(&dk, &id, &sealed).unwrap(), "for Ada");
        assert!(open_label(&dk, &ShareId::from_bytes([2; 16]), &sealed).is_err());
        assert!(seal_label(&dk, &id, &"x".repeat(256)).is_ok());
        assert!(matches!(
            seal_label(&dk, &id, &"x".repeat(257)),
            Err(Error::TooLarge { .. })
        ));

        let sk = ShareKey::from_bytes([3; 32]);
        let rk = RecordKey::from_bytes([4; 32]);
        let rid = Id::from_bytes([5; 16]);
        let w = rk.wrap_for_share(&sk, &id, &rid, 7).unwrap();
        assert_eq!(
            RecordKey::unwrap_for_share(&sk, &w, &id, &rid, 7)
                .unwrap()
                .expose(),
            rk.expose()
        );
        assert!(RecordKey::unwrap_for_share(&sk, &w, &id, &rid, 8).is_err());
        assert!(
            RecordKey::unwrap_for_share(&sk, &w, &ShareId::from_bytes([2; 16]), &rid, 7).is_err()
        );
        // The owner's wrap of the same key under the same bytes is not interchangeable.
        let as_dk = DataKey::from_bytes([3; 32]);
        assert!(RecordKey::unwrap_for_owner(&as_dk, &w, &rid, 7).is_err());
    }

    #[test]
    fn bind_tag_verifies_only_for_its_inputs() {
        let bk = BindKey::from_bytes([6; 32]);
        let id = ShareId::from_bytes([1; 16]);
        let point = [4u8; 65];
        let tag = bk.bind_tag(&id, &point);
        assert!(bk.verify_bind_tag(&id, &point, &tag).is_ok());
        let mut other = point;
        other[64] ^= 1;
        assert_eq!(
            bk.verify_bind_tag(&id, &other, &tag),
            Err(Error::Verify("bind tag"))
        );
        assert!(
            bk.verify_bind_tag(&ShareId::from_bytes([2; 16]), &point, &tag)
                .is_err()
        );
        assert!(bk.verify_bind_tag(&id, &point, &tag[..31]).is_err());
    }

    proptest::proptest! {
        /// Any single-bit change of the owner's secret box, a label box or a share's record-key wrap is refused.
        #[test]
        fn sealed_share_boxes_refuse_any_bit_flip(bit in 0usize..(64 + 28) * 8) {
            let dk = DataKey::from_bytes([9; 32]);
            let keys = ShareKeys::derive(LinkSecret::from_bytes(S), None).unwrap();
            let grant = ShareGrant { record_id: Id::from_bytes([5; 16]), editable: true };
            let mut sealed = keys.seal_owner_secret(&dk, &grant).unwrap();
            sealed[bit / 8] ^= 1 << (bit % 8);
            proptest::prop_assert_eq!(
                ShareKeys::open_owner_secret(&dk, &sealed, &keys.share_id(), &grant).unwrap_err(),
                Error::Decrypt
            );

            let mut label = seal_label(&dk, &keys.share_id(), "a label that is long enough for every bit").unwrap();
            let i = bit % (label.len() * 8);
            label[i / 8] ^= 1 << (i % 8);
            proptest::prop_assert_eq!(open_label(&dk, &keys.share_id(), &label).unwrap_err(), Error::Decrypt);

            let rid = Id::from_bytes([5; 16]);
            let mut w = RecordKey::from_bytes([4; 32]).wrap_for_share(keys.share_key(), &keys.share_id(), &rid, 1).unwrap();
            let i = bit % (w.len() * 8);
            w[i / 8] ^= 1 << (i % 8);
            proptest::prop_assert_eq!(
                RecordKey::unwrap_for_share(keys.share_key(), &w, &keys.share_id(), &rid, 1).unwrap_err(),
                Error::Decrypt
            );
        }
    }

    #[test]
    fn link_round_trip_and_display() {
        let secret_text = b64u(&S);
        for (text, base, pass) in [
            (
                format!("https://share.example/s#1.{secret_text}"),
                "https://share.example",
                false,
            ),
            (
                format!("https://share.example:8443/vault/s#1p.{secret_text}"),
                "https://share.example:8443/vault",
                true,
            ),
            (
                format!("http://127.0.0.1:3000/s#1.{secret_text}"),
                "http://127.0.0.1:3000",
                false,
            ),
        ] {
            let link = Link::parse(&text).unwrap();
            assert_eq!(link.base, base);
            assert_eq!(link.passphrase, pass);
            assert_eq!(link.secret.expose(), &S);
            assert_eq!(link.to_string(), text);
            assert!(!format!("{link:?}").contains(&secret_text));
        }
    }

    #[test]
    fn link_errors_each_case() {
        let s = b64u(&S);
        let cases: Vec<(String, LinkError)> = vec![
            (
                format!("https://x.example/s1.{s}"),
                LinkError::MissingFragment,
            ),
            (format!("ftp://x.example/s#1.{s}"), LinkError::Scheme),
            (format!("HTTPS://x.example/s#1.{s}"), LinkError::Scheme),
            (format!("https:///s#1.{s}"), LinkError::Base),
            (format!("https://u@x.example/s#1.{s}"), LinkError::Base),
            (format!("https://x.example/s?a=b#1.{s}"), LinkError::Base),
            (format!("https://x.example//s#1.{s}"), LinkError::Base),
            (format!("https://x.exa mple/s#1.{s}"), LinkError::Base),
            (format!("https://x.example/share#1.{s}"), LinkError::Path),
            (format!("https://s#1.{s}"), LinkError::Path),
            (format!("https://x.example/s/#1.{s}"), LinkError::Path),
            (
                format!("https://x.example/s#.{s}"),
                LinkError::MissingVersion,
            ),
            (
                format!("https://x.example/s#p.{s}"),
                LinkError::MissingVersion,
            ),
            (
                format!("https://x.example/s#2.{s}"),
                LinkError::UnknownVersion,
            ),
            (
                format!("https://x.example/s#10.{s}"),
                LinkError::UnknownVersion,
            ),
            (
                format!("https://x.example/s#1x.{s}"),
                LinkError::UnknownFlag,
            ),
            (
                format!("https://x.example/s#1P.{s}"),
                LinkError::UnknownFlag,
            ),
            (
                format!("https://x.example/s#1pp.{s}"),
                LinkError::RepeatedFlag,
            ),
            (format!("https://x.example/s#1{s}"), LinkError::MissingDot),
            (
                format!("https://x.example/s#1.{s}#x"),
                LinkError::TrailingData,
            ),
            (
                format!("https://x.example/s#1.{s}?a"),
                LinkError::TrailingData,
            ),
            (
                format!("https://x.example/s#1.{s}&a"),
                LinkError::TrailingData,
            ),
            (
                format!("https://x.example/s#1.{s}="),
                LinkError::SecretEncoding,
            ),
            (
                format!("https://x.example/s#1.{s} "),
                LinkError::SecretEncoding,
            ),
            (
                format!("https://x.example/s#1.{}+A", &s[..41]),
                LinkError::SecretEncoding,
            ),
            (
                format!("https://x.example/s#1.{}B", &s[..42]),
                LinkError::SecretEncoding,
            ),
            (
                format!("https://x.example/s#1.{s}AA"),
                LinkError::SecretEncoding,
            ),
            (
                format!("https://x.example/s#1.{}", &s[..40]),
                LinkError::SecretLength,
            ),
            (
                format!("https://x.example/s#1.{s}AAA"),
                LinkError::SecretLength,
            ),
        ];
        for (text, want) in cases {
            assert_eq!(Link::parse(&text).err(), Some(want), "{text}");
        }
    }

    #[test]
    fn link_new_checks_base() {
        assert_eq!(
            Link::new("https://x.example/", false, LinkSecret::from_bytes(S))
                .unwrap()
                .base,
            "https://x.example"
        );
        assert_eq!(
            Link::new("x.example", false, LinkSecret::from_bytes(S)).err(),
            Some(LinkError::Scheme)
        );
        assert_eq!(
            Link::new("https://x.example?q", false, LinkSecret::from_bytes(S)).err(),
            Some(LinkError::Base)
        );
    }
}
