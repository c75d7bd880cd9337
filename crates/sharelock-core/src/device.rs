//! The recipient's per-share device key: ECDSA P-256 with SHA-256, signatures in the 64-byte `r ‖ s` form
//! WebCrypto produces, public keys as 65-byte uncompressed SEC1 points.

use crate::crypto::sha256;
use crate::encoding::b64u;
use crate::error::{Error, Result};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair,
    ParsedPublicKey,
};
use data_encoding::BASE32_NOPAD;

/// Length of an uncompressed SEC1 P-256 point.
pub const PUBLIC_KEY_LEN: usize = 65;
/// Length of a fixed-size P-256 signature (`r ‖ s`).
pub const SIGNATURE_LEN: usize = 64;

/// A device's signing key. Holds private key material: no Clone, no Debug that prints it.
pub struct DeviceKey {
    pair: EcdsaKeyPair,
    public: [u8; PUBLIC_KEY_LEN],
}

impl std::fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DeviceKey({})", fingerprint(&self.public))
    }
}

impl DeviceKey {
    /// A fresh key pair, made at "Click to Open".
    pub fn generate() -> Result<Self> {
        let pair =
            EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(|_| Error::Random)?;
        Self::from_pair(pair)
    }

    /// Loads a key saved with [`DeviceKey::to_pkcs8`].
    pub fn from_pkcs8(der: &[u8]) -> Result<Self> {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
            .map_err(|_| Error::malformed("device key", "not a P-256 PKCS#8 private key"))?;
        Self::from_pair(pair)
    }

    fn from_pair(pair: EcdsaKeyPair) -> Result<Self> {
        let public: [u8; PUBLIC_KEY_LEN] = pair.public_key().as_ref().try_into().map_err(|_| {
            Error::malformed("device key", "public key is not an uncompressed point")
        })?;
        Ok(DeviceKey { pair, public })
    }

    /// PKCS#8 (RFC 5208) DER of the private key, for a file readable by its owner only.
    pub fn to_pkcs8(&self) -> Result<Vec<u8>> {
        self.pair
            .to_pkcs8v1()
            .map(|d| d.as_ref().to_vec())
            .map_err(|_| Error::malformed("device key", "cannot serialise"))
    }

    /// The 65-byte uncompressed public point.
    pub fn public_key(&self) -> &[u8; PUBLIC_KEY_LEN] {
        &self.public
    }

    /// `b64u(H(public key))`, the RFC 9421 `keyid`.
    pub fn keyid(&self) -> String {
        keyid(&self.public)
    }

    /// Signs `message`, returning `r ‖ s`.
    pub fn sign(&self, message: &[u8]) -> Result<[u8; SIGNATURE_LEN]> {
        let sig = self
            .pair
            .sign(&SystemRandom::new(), message)
            .map_err(|_| Error::Random)?;
        sig.as_ref()
            .try_into()
            .map_err(|_| Error::malformed("signature", "unexpected length"))
    }
}

/// A validated device public key, parsed once so repeated verification is cheap (the server caches these).
#[derive(Clone)]
pub struct DevicePublicKey {
    parsed: ParsedPublicKey,
    bytes: [u8; PUBLIC_KEY_LEN],
}

impl std::fmt::Debug for DevicePublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DevicePublicKey({})", fingerprint(&self.bytes))
    }
}

impl DevicePublicKey {
    /// Parses and validates an uncompressed P-256 point (on the curve, not the identity).
    pub fn from_sec1(bytes: &[u8]) -> Result<Self> {
        let arr: [u8; PUBLIC_KEY_LEN] = bytes.try_into().map_err(|_| {
            Error::malformed(
                "device public key",
                format!("expected 65 bytes, got {}", bytes.len()),
            )
        })?;
        if arr[0] != 0x04 {
            return Err(Error::malformed(
                "device public key",
                "not an uncompressed point",
            ));
        }
        let parsed = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, arr)
            .map_err(|_| Error::malformed("device public key", "not a valid P-256 point"))?;
        Ok(DevicePublicKey { parsed, bytes: arr })
    }

    /// The 65-byte point.
    pub fn as_bytes(&self) -> &[u8; PUBLIC_KEY_LEN] {
        &self.bytes
    }

    /// `b64u(H(point))`.
    pub fn keyid(&self) -> String {
        keyid(&self.bytes)
    }

    /// Verifies a 64-byte `r ‖ s` signature over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<()> {
        if signature.len() != SIGNATURE_LEN {
            return Err(Error::Verify("device signature"));
        }
        self.parsed
            .verify_sig(message, signature)
            .map_err(|_| Error::Verify("device signature"))
    }
}

/// `b64u(H(point))`.
pub fn keyid(public: &[u8]) -> String {
    b64u(&sha256(public))
}

/// The first 80 bits of `H(point)` as 16 lowercase base32 characters in groups of four, for checking a
/// device by voice: both sides show it.
pub fn fingerprint(public: &[u8]) -> String {
    let h = sha256(public);
    let text = BASE32_NOPAD.encode(&h[..10]).to_ascii_lowercase();
    let chars: Vec<char> = text.chars().collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_round_trip_and_pkcs8_reload() -> Result<()> {
        let key = DeviceKey::generate()?;
        let sig = key.sign(b"message")?;
        let public = DevicePublicKey::from_sec1(key.public_key())?;
        public.verify(b"message", &sig)?;
        assert!(public.verify(b"messagf", &sig).is_err());
        let mut bad = sig;
        bad[10] ^= 1;
        assert!(public.verify(b"message", &bad).is_err());
        let again = DeviceKey::from_pkcs8(&key.to_pkcs8()?)?;
        assert_eq!(again.public_key(), key.public_key());
        assert_eq!(fingerprint(key.public_key()).len(), 19);
        Ok(())
    }

    #[test]
    fn rejects_invalid_points() {
        assert!(DevicePublicKey::from_sec1(&[4u8; 65]).is_err());
        assert!(DevicePublicKey::from_sec1(&[4u8; 33]).is_err());
    }
}
