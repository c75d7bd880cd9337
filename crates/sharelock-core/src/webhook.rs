//! Webhook signatures (docs/protocol.md §9.9): `HMAC-SHA256(secret, timestamp + "." + body)`, sent as
//! `Sharelock-Webhook-Signature: v1=<lowercase hex>` beside `Sharelock-Webhook-Timestamp` (Unix
//! seconds). The key is the endpoint's secret exactly as shown at creation (`whsec_…`, its UTF-8 bytes).
//! A verifier recomputes the tag over the raw body, compares in constant time and refuses a timestamp
//! outside its tolerance, so a captured delivery cannot be replayed later.

use aws_lc_rs::hmac;

/// The header with the delivery's id (the same on every attempt: receivers drop repeats by it).
pub const ID_HEADER: &str = "sharelock-webhook-id";
/// The header with the Unix time the attempt was signed at.
pub const TIMESTAMP_HEADER: &str = "sharelock-webhook-timestamp";
/// The header with the signature(s), `v1=<hex>`, several separated by spaces.
pub const SIGNATURE_HEADER: &str = "sharelock-webhook-signature";
/// The prefix of every endpoint secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// How far a timestamp may be from the verifier's clock, in seconds, by default.
pub const DEFAULT_TOLERANCE: i64 = 300;

/// Why a delivery's signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The timestamp header is not a whole number of seconds.
    #[error("the timestamp is not a number")]
    BadTimestamp,
    /// The timestamp is further from now than the tolerance (a replay, or a wrong clock).
    #[error("the timestamp is too old or too far ahead")]
    Stale,
    /// No `v1=` signature matches.
    #[error("no signature matches")]
    Mismatch,
}

fn tag(secret: &[u8], timestamp: i64, body: &[u8]) -> hmac::Tag {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(timestamp.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    ctx.sign()
}

/// The signature header's value for `body` signed at `timestamp`: `v1=<hex>`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    format!(
        "v1={}",
        data_encoding::HEXLOWER.encode(tag(secret, timestamp, body).as_ref())
    )
}

/// Checks a delivery as a receiver must: the timestamp within `tolerance` seconds of `now`, and one of
/// the header's `v1=` signatures equal (in constant time) to the tag over `timestamp + "." + body`.
pub fn verify(
    secret: &[u8],
    timestamp: &str,
    signatures: &str,
    body: &[u8],
    now: i64,
    tolerance: i64,
) -> Result<(), VerifyError> {
    let ts: i64 = timestamp.parse().map_err(|_| VerifyError::BadTimestamp)?;
    if ts.abs_diff(now) > tolerance.unsigned_abs() {
        return Err(VerifyError::Stale);
    }
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let mut message = Vec::with_capacity(body.len() + 21);
    message.extend_from_slice(ts.to_string().as_bytes());
    message.push(b'.');
    message.extend_from_slice(body);
    let matched = signatures
        .split([' ', ','])
        .filter_map(|s| s.strip_prefix("v1="))
        .filter_map(|hex| {
            data_encoding::HEXLOWER_PERMISSIVE
                .decode(hex.as_bytes())
                .ok()
        })
        // hmac::verify compares in constant time.
        .any(|sig| hmac::verify(&key, &message, &sig).is_ok());
    if matched {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec_test-secret";
    const BODY: &[u8] = br#"{"kind":"ping"}"#;

    #[test]
    fn known_answer() {
        // Computed independently: Python's hmac.new(secret, b"1767225600." + body, sha256).hexdigest().
        assert_eq!(
            sign(SECRET, 1_767_225_600, BODY),
            "v1=0df16466ac908a94baa82e055cc19e3bdb921ac89d5734518f22327d8eb4e264"
        );
    }

    #[test]
    fn verification() {
        let t = 1_767_225_600;
        let sig = sign(SECRET, t, BODY);
        assert_eq!(
            verify(SECRET, "1767225600", &sig, BODY, t + 10, 300),
            Ok(())
        );
        let both = format!("v1=00 {sig}");
        assert_eq!(verify(SECRET, "1767225600", &both, BODY, t, 300), Ok(()));
        assert_eq!(
            verify(SECRET, "1767225600", &sig, BODY, t + 301, 300),
            Err(VerifyError::Stale)
        );
        assert_eq!(
            verify(SECRET, "1767225600", &sig, BODY, t - 301, 300),
            Err(VerifyError::Stale)
        );
        assert_eq!(
            verify(SECRET, "1767225601", &sig, BODY, t, 300),
            Err(VerifyError::Mismatch),
            "the timestamp is signed"
        );
        assert_eq!(
            verify(SECRET, "1767225600", &sig, br#"{"kind":"pong"}"#, t, 300),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(b"whsec_other", "1767225600", &sig, BODY, t, 300),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, "soon", &sig, BODY, t, 300),
            Err(VerifyError::BadTimestamp)
        );
        assert_eq!(
            verify(SECRET, "1767225600", "v0=abc", BODY, t, 300),
            Err(VerifyError::Mismatch)
        );
    }
}
