//! Byte encodings used on the wire: strict base64url without padding, and ids.

use crate::error::{Error, Result};
use data_encoding::{BASE64, BASE64URL_NOPAD};

/// base64url without padding (RFC 4648 §5).
pub fn b64u(bytes: &[u8]) -> String {
    BASE64URL_NOPAD.encode(bytes)
}

/// Decodes base64url without padding, refusing padding, foreign characters and non-canonical trailing bits.
///
/// `data_encoding`'s `BASE64URL_NOPAD` is strict by default: `check_trailing_bits` is on.
pub fn b64u_decode(what: &'static str, text: &str) -> Result<Vec<u8>> {
    BASE64URL_NOPAD
        .decode(text.as_bytes())
        .map_err(|e| Error::malformed(what, format!("not canonical base64url: {e}")))
}

/// Decodes base64url into exactly `N` bytes.
pub fn b64u_decode_array<const N: usize>(what: &'static str, text: &str) -> Result<[u8; N]> {
    let bytes = b64u_decode(what, text)?;
    <[u8; N]>::try_from(bytes.as_slice())
        .map_err(|_| Error::malformed(what, format!("expected {N} bytes, got {}", bytes.len())))
}

/// Standard base64 with padding, as RFC 8941 byte sequences use.
pub fn b64(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

/// Decodes standard padded base64 strictly.
pub fn b64_decode(what: &'static str, text: &str) -> Result<Vec<u8>> {
    BASE64
        .decode(text.as_bytes())
        .map_err(|e| Error::malformed(what, format!("not canonical base64: {e}")))
}

/// A 16-byte identifier (record id, share handle, account id, file id), written as hyphenated UUID text.
pub type Id = uuid::Uuid;

/// Writes an unsigned big-endian integer; the protocol's only integer encoding.
pub(crate) fn put_u64(out: &mut Vec<u8>, x: u64) {
    out.extend_from_slice(&x.to_be_bytes());
}

pub(crate) fn put_u32(out: &mut Vec<u8>, x: u32) {
    out.extend_from_slice(&x.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b64u_refuses_non_canonical_and_padding() {
        assert_eq!(b64u(&[0xff]), "_w");
        assert_eq!(b64u_decode("x", "_w").ok(), Some(vec![0xff]));
        assert!(
            b64u_decode("x", "_x").is_err(),
            "non-zero trailing bits must be refused"
        );
        assert!(b64u_decode("x", "_w==").is_err(), "padding must be refused");
        assert!(
            b64u_decode("x", "/w").is_err(),
            "standard alphabet must be refused"
        );
        assert!(b64u_decode_array::<2>("x", "_w").is_err());
    }
}
