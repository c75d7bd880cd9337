//! One-time codes for `otp` fields (docs/protocol.md §8): RFC 6238 TOTP over RFC 4226 HOTP.
//!
//! A field holds either an `otpauth://totp/LABEL?secret=BASE32&…` URI or a bare base32 secret (meaning SHA1,
//! 6 digits, 30 s). Time is always a parameter, so codes are testable and a client can use the server's clock.

use crate::error::{Error, Result};
use aws_lc_rs::hmac;
use data_encoding::BASE32_NOPAD;
use zeroize::Zeroizing;

const WHAT: &str = "one-time code";

/// Smallest and largest number of digits accepted.
pub const DIGITS: std::ops::RangeInclusive<u32> = 6..=8;
/// Smallest and largest period accepted, in seconds.
pub const PERIOD: std::ops::RangeInclusive<u32> = 15..=120;

/// The HMAC hash of a code generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// HMAC-SHA1, the default and by far the most common.
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

impl Algorithm {
    fn hmac(self) -> hmac::Algorithm {
        match self {
            Algorithm::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            Algorithm::Sha256 => hmac::HMAC_SHA256,
            Algorithm::Sha512 => hmac::HMAC_SHA512,
        }
    }

    /// The name used in `otpauth` URIs.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }
}

/// A current code and how long it stays valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    /// The code, zero-padded to the generator's number of digits.
    pub code: String,
    /// Seconds until the next period starts (1 to the period).
    pub seconds_left: u32,
}

/// A TOTP generator: the shared secret and its parameters. Holds the secret: no Clone, and its Debug shows the
/// parameters only.
pub struct Totp {
    secret: Zeroizing<Vec<u8>>,
    algorithm: Algorithm,
    digits: u32,
    period: u32,
}

impl std::fmt::Debug for Totp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Totp({}, {} digits, {} s)",
            self.algorithm.name(),
            self.digits,
            self.period
        )
    }
}

fn bad(why: impl Into<String>) -> Error {
    Error::malformed(WHAT, why)
}

impl Totp {
    /// A generator from a raw secret and parameters, checked against the accepted ranges.
    pub fn new(secret: Vec<u8>, algorithm: Algorithm, digits: u32, period: u32) -> Result<Self> {
        let secret = Zeroizing::new(secret);
        if secret.is_empty() {
            return Err(bad("the secret is empty"));
        }
        if !DIGITS.contains(&digits) {
            return Err(bad("digits must be 6, 7 or 8"));
        }
        if !PERIOD.contains(&period) {
            return Err(bad("period must be 15 to 120 seconds"));
        }
        Ok(Totp {
            secret,
            algorithm,
            digits,
            period,
        })
    }

    /// Parses an `otp` field value: an `otpauth://totp/` URI or a bare base32 secret.
    ///
    /// URI parameters: `secret` (required), `algorithm` (`SHA1`, `SHA256`, `SHA512`; default SHA1), `digits`
    /// (6–8, default 6), `period` (15–120, default 30); names and algorithm values are matched
    /// case-insensitively, others (`issuer`, …) are ignored, a repeated one is an error. Base32 is
    /// case-insensitive and ignores spaces and `=` padding.
    pub fn parse(field: &str) -> Result<Self> {
        let text = field.trim();
        let is_uri = text
            .get(..8)
            .is_some_and(|p| p.eq_ignore_ascii_case("otpauth:"));
        if !is_uri {
            return Totp::new(decode_base32(text)?, Algorithm::Sha1, 6, 30);
        }
        let rest = &text[8..];
        let rest = rest
            .get(..7)
            .filter(|p| p.eq_ignore_ascii_case("//totp/"))
            .map(|_| &rest[7..])
            .ok_or_else(|| {
                if rest
                    .get(..7)
                    .is_some_and(|p| p.eq_ignore_ascii_case("//hotp/"))
                {
                    bad("only time-based (totp) codes are supported")
                } else {
                    bad("expected otpauth://totp/")
                }
            })?;
        let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
        let query = rest.split_once('?').map(|(_, q)| q).unwrap_or("");

        let mut secret: Option<Zeroizing<String>> = None;
        let mut algorithm: Option<Algorithm> = None;
        let mut digits: Option<u32> = None;
        let mut period: Option<u32> = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let key = percent_decode(k)?.to_ascii_lowercase();
            let value = Zeroizing::new(percent_decode(v)?);
            let repeated = match key.as_str() {
                "secret" => secret.replace(value).is_some(),
                "algorithm" => algorithm.replace(parse_algorithm(&value)?).is_some(),
                "digits" => digits.replace(parse_number("digits", &value)?).is_some(),
                "period" => period.replace(parse_number("period", &value)?).is_some(),
                _ => false,
            };
            if repeated {
                return Err(bad(format!("parameter `{key}` is repeated")));
            }
        }
        let secret = secret.ok_or_else(|| bad("the URI has no secret"))?;
        Totp::new(
            decode_base32(&secret)?,
            algorithm.unwrap_or(Algorithm::Sha1),
            digits.unwrap_or(6),
            period.unwrap_or(30),
        )
    }

    /// The code for `unix_time` (seconds) and the seconds it has left.
    pub fn code(&self, unix_time: i64) -> Result<Code> {
        let t = u64::try_from(unix_time).map_err(|_| bad("time before 1970"))?;
        let period = u64::from(self.period);
        let counter = t / period;
        let left = period - t % period;
        Ok(Code {
            code: hotp(&self.secret, counter, self.algorithm, self.digits),
            seconds_left: u32::try_from(left).unwrap_or(self.period),
        })
    }

    /// The HMAC hash.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Digits per code.
    pub fn digits(&self) -> u32 {
        self.digits
    }

    /// Seconds per code.
    pub fn period(&self) -> u32 {
        self.period
    }
}

/// RFC 4226 HOTP: HMAC over the 8-byte big-endian counter, dynamic truncation, the low `digits` decimal
/// digits, zero-padded. `digits` is clamped to 6–9 (9 is the most 31 bits can fill).
pub fn hotp(secret: &[u8], counter: u64, algorithm: Algorithm, digits: u32) -> String {
    let digits = digits.clamp(6, 9);
    let key = hmac::Key::new(algorithm.hmac(), secret);
    let mac = hmac::sign(&key, &counter.to_be_bytes());
    let h = mac.as_ref();
    let offset = usize::from(h[h.len() - 1] & 0x0f);
    let bin = u32::from_be_bytes([
        h[offset] & 0x7f,
        h[offset + 1],
        h[offset + 2],
        h[offset + 3],
    ]);
    let code = bin % 10u32.pow(digits);
    format!("{code:0width$}", width = digits as usize)
}

fn parse_algorithm(value: &str) -> Result<Algorithm> {
    match value.to_ascii_uppercase().as_str() {
        "SHA1" => Ok(Algorithm::Sha1),
        "SHA256" => Ok(Algorithm::Sha256),
        "SHA512" => Ok(Algorithm::Sha512),
        _ => Err(bad("algorithm must be SHA1, SHA256 or SHA512")),
    }
}

fn parse_number(name: &str, value: &str) -> Result<u32> {
    if value.is_empty() || value.len() > 4 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(format!("{name} must be a small decimal number")));
    }
    value
        .parse()
        .map_err(|_| bad(format!("{name} must be a small decimal number")))
}

/// Base32 (RFC 4648, no padding required): case-insensitive, spaces and `=` ignored. Unused low bits of the
/// last character are not required to be zero, as authenticator apps accept such secrets.
fn decode_base32(text: &str) -> Result<Vec<u8>> {
    let cleaned: Zeroizing<Vec<u8>> = Zeroizing::new(
        text.bytes()
            .filter(|b| *b != b' ' && *b != b'=')
            .map(|b| b.to_ascii_uppercase())
            .collect(),
    );
    if cleaned.is_empty() {
        return Err(bad("the secret is empty"));
    }
    let mut spec = BASE32_NOPAD.specification();
    spec.check_trailing_bits = false;
    let lenient = spec
        .encoding()
        .map_err(|_| bad("base32 decoder unavailable"))?;
    // The decoder's error names positions, never secret characters; keep only a generic message anyway.
    lenient.decode(&cleaned).map_err(|e| match e.kind {
        data_encoding::DecodeKind::Length => bad("the secret has an impossible base32 length"),
        _ => bad("the secret is not base32 (letters A–Z and digits 2–7)"),
    })
}

/// Percent-decoding of one URI query component (RFC 3986 §2.1), with `+` as a space (form encoding, which
/// generators of otpauth URIs also use). `%` must be followed by two hex digits; the result must be UTF-8.
fn percent_decode(text: &str) -> Result<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .ok_or_else(|| bad("a `%` escape is cut short"))?;
                let hi = hex_value(hex[0]).ok_or_else(|| bad("a `%` escape is not hexadecimal"))?;
                let lo = hex_value(hex[1]).ok_or_else(|| bad("a `%` escape is not hexadecimal"))?;
                out.push(hi << 4 | lo);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| bad("a URI parameter is not UTF-8"))
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// RFC 6238 Appendix B. The seeds are the ASCII digits "1234567890" repeated to 20, 32 and 64 bytes for
    /// SHA1, SHA256 and SHA512 (as the RFC's reference code uses); 8 digits, 30 s.
    #[test]
    fn rfc6238_appendix_b() {
        let seed = |n: usize| {
            b"1234567890"
                .iter()
                .copied()
                .cycle()
                .take(n)
                .collect::<Vec<u8>>()
        };
        let table: [(i64, &str, &str, &str); 6] = [
            (59, "94287082", "46119246", "90693936"),
            (1_111_111_109, "07081804", "68084774", "25091201"),
            (1_111_111_111, "14050471", "67062674", "99943326"),
            (1_234_567_890, "89005924", "91819424", "93441116"),
            (2_000_000_000, "69279037", "90698825", "38618901"),
            (20_000_000_000, "65353130", "77737706", "47863826"),
        ];
        for (t, sha1, sha256, sha512) in table {
            for (alg, len, want) in [
                (Algorithm::Sha1, 20, sha1),
                (Algorithm::Sha256, 32, sha256),
                (Algorithm::Sha512, 64, sha512),
            ] {
                let g = Totp::new(seed(len), alg, 8, 30).unwrap();
                assert_eq!(g.code(t).unwrap().code, want, "{alg:?} at {t}");
            }
        }
    }

    /// RFC 4226 Appendix D: HOTP values for counters 0..9 with the 20-byte seed.
    #[test]
    fn rfc4226_appendix_d() {
        let want = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        for (c, w) in want.iter().enumerate() {
            assert_eq!(
                hotp(b"12345678901234567890", c as u64, Algorithm::Sha1, 6),
                *w
            );
        }
    }

    #[test]
    fn seconds_left_counts_down_to_the_period_boundary() {
        let g = Totp::new(b"12345678901234567890".to_vec(), Algorithm::Sha1, 6, 30).unwrap();
        assert_eq!(
            g.code(59).unwrap(),
            Code {
                code: "287082".into(),
                seconds_left: 1
            }
        );
        assert_eq!(g.code(60).unwrap().seconds_left, 30);
        assert_eq!(
            g.code(0).unwrap(),
            Code {
                code: "755224".into(),
                seconds_left: 30
            }
        );
        assert!(g.code(-1).is_err());
    }

    /// "12345678901234567890" in base32 is GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ.
    #[test]
    fn parses_uris_and_bare_secrets() {
        let b32 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
        let bare = Totp::parse(b32).unwrap();
        assert_eq!(
            (bare.algorithm(), bare.digits(), bare.period()),
            (Algorithm::Sha1, 6, 30)
        );
        assert_eq!(bare.code(59).unwrap().code, "287082");
        for variant in [
            "gezd gnbv gy3t qojq gezd gnbv gy3t qojq",
            " GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ====  ",
        ] {
            assert_eq!(
                Totp::parse(variant).unwrap().code(59).unwrap().code,
                "287082",
                "{variant}"
            );
        }
        let uri = format!(
            "otpauth://totp/ACME%20Co:ada%40example.com?secret={b32}&issuer=ACME%20Co&digits=8"
        );
        let g = Totp::parse(&uri).unwrap();
        assert_eq!(g.code(59).unwrap().code, "94287082");
        let g = Totp::parse(&format!(
            "OTPAUTH://TOTP/x?SECRET={}&Algorithm=sha1&period=60",
            b32.to_lowercase()
        ))
        .unwrap();
        assert_eq!(
            (g.period(), g.code(119).unwrap().code.as_str()),
            (60, "287082")
        );
        let g = Totp::parse(&format!(
            "otpauth://totp/?secret={b32}%3D%3D&algorithm=SHA256#frag"
        ))
        .unwrap();
        assert_eq!(g.algorithm(), Algorithm::Sha256);
    }

    #[test]
    fn refuses_bad_fields() {
        let b32 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
        let bad = [
            "".to_owned(),
            "   ".to_owned(),
            "GEZDGNBVGY3TQOJ1".to_owned(),
            "GEZ".to_owned(),
            "GEZDGNBVGY3TQOJQ!".to_owned(),
            format!("otpauth://hotp/x?secret={b32}&counter=1"),
            "otpauth://totp/x?issuer=a".to_owned(),
            format!("otpauth://totp/x?secret={b32}&digits=5"),
            format!("otpauth://totp/x?secret={b32}&digits=9"),
            format!("otpauth://totp/x?secret={b32}&period=10"),
            format!("otpauth://totp/x?secret={b32}&period=121"),
            format!("otpauth://totp/x?secret={b32}&period=-30"),
            format!("otpauth://totp/x?secret={b32}&algorithm=MD5"),
            format!("otpauth://totp/x?secret={b32}&secret={b32}"),
            format!("otpauth://totp/x?secret={b32}%2"),
            format!("otpauth://totp/x?secret={b32}%zz"),
            format!("otpauth://totp/x?secret=%FF{b32}"),
            format!("otpauth:/totp/x?secret={b32}"),
            "otpauth://totp/x?secret=".to_owned(),
        ];
        for field in bad {
            assert!(
                matches!(Totp::parse(&field), Err(Error::Malformed { .. })),
                "{field}"
            );
        }
    }

    #[test]
    fn errors_do_not_echo_the_secret() {
        let err = Totp::parse("otpauth://totp/x?secret=SECRETSECRET1")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("SECRET"), "{err}");
        let err = Totp::parse("SECRETSECRET1").unwrap_err().to_string();
        assert!(!err.contains("SECRET"), "{err}");
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b+c%2Bd%3d").unwrap(), "a b c+d=");
        assert!(percent_decode("%").is_err());
        assert!(percent_decode("%4").is_err());
        assert!(percent_decode("%g0").is_err());
        assert!(percent_decode("%C3%28").is_err());
        assert_eq!(percent_decode("%C3%A9").unwrap(), "é");
    }
}
