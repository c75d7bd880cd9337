//! `totp.json`: one-time codes from `otp` fields (docs/protocol.md §8).
//!
//! Case: `field` (the field value). Positive: the parsed `algorithm`, `digits`, `period`, and `codes`, a list
//! of `{"time", "code", "seconds_left"}`. Negative: the error kind. The first 18 cases are RFC 6238
//! Appendix B's table (the seeds "1234567890" repeated to 20, 32 and 64 bytes, base32-encoded here).

use crate::common::{Case, error_kind, run_area};
use data_encoding::BASE32_NOPAD;
use serde_json::{Value, json};
use sharelock_core::totp::{Algorithm, Totp};

/// RFC 6238 Appendix B: time, then the SHA1, SHA256 and SHA512 codes (8 digits, 30 s).
const RFC6238: [(u64, [&str; 3]); 6] = [
    (59, ["94287082", "46119246", "90693936"]),
    (1_111_111_109, ["07081804", "68084774", "25091201"]),
    (1_111_111_111, ["14050471", "67062674", "99943326"]),
    (1_234_567_890, ["89005924", "91819424", "93441116"]),
    (2_000_000_000, ["69279037", "90698825", "38618901"]),
    (20_000_000_000, ["65353130", "77737706", "47863826"]),
];

fn seed(len: usize) -> String {
    let bytes: Vec<u8> = b"1234567890".iter().copied().cycle().take(len).collect();
    BASE32_NOPAD.encode(&bytes)
}

/// "12345678901234567890" in base32.
const S20: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

fn codes(field: &str, times: &[u64]) -> Vec<Value> {
    let g = Totp::parse(field).unwrap();
    times
        .iter()
        .map(|t| {
            let c = g.code(*t as i64).unwrap();
            json!({"time": t, "code": c.code, "seconds_left": c.seconds_left})
        })
        .collect()
}

fn generate() -> Vec<Value> {
    let mut cases = Vec::new();
    let algs = [("SHA1", 20), ("SHA256", 32), ("SHA512", 64)];
    for (t, want) in RFC6238 {
        for (i, (alg, len)) in algs.iter().enumerate() {
            let field = format!(
                "otpauth://totp/RFC6238?secret={}&algorithm={alg}&digits=8",
                seed(*len)
            );
            let got = codes(&field, &[t]);
            assert_eq!(got[0]["code"], want[i], "RFC 6238 {alg} at {t}");
            cases.push(
                json!({"name": format!("RFC 6238 {alg} at {t}"), "valid": true, "field": field,
                "algorithm": alg, "digits": 8, "period": 30, "codes": got}),
            );
        }
    }
    let ok = |name: &str, field: &str, alg: &str, digits: u32, period: u32, times: &[u64]| {
        json!({"name": name, "valid": true, "field": field, "algorithm": alg, "digits": digits, "period": period,
            "codes": codes(field, times)})
    };
    let bad = |name: &str, field: &str| json!({"name": name, "valid": false, "error": "malformed", "field": field});
    let times = [0, 29, 30, 59, 1_767_225_600];
    cases.extend([
        ok("bare secret: SHA1, 6 digits, 30 s", S20, "SHA1", 6, 30, &times),
        ok("bare secret, lower case in groups", "gezd gnbv gy3t qojq gezd gnbv gy3t qojq", "SHA1", 6, 30, &times),
        ok("bare secret with = padding and surrounding spaces", " GEZDGNBVGY3TQOJQ===== ", "SHA1", 6, 30, &[59]),
        ok(
            "bare secret whose last character has non-zero unused bits",
            "GEZDGNBVGY3TQOJQGF",
            "SHA1",
            6,
            30,
            &[59],
        ),
        ok(
            "URI with label, issuer and defaults",
            &format!("otpauth://totp/ACME%20Co:ada%40example.com?secret={S20}&issuer=ACME%20Co"),
            "SHA1",
            6,
            30,
            &times,
        ),
        ok(
            "URI: 7 digits, 60 s, SHA256, parameters in any case",
            &format!("OTPAUTH://TOTP/x?Secret={}&ALGORITHM=sha256&Digits=7&period=60", seed(32).to_lowercase()),
            "SHA256",
            7,
            60,
            &times,
        ),
        ok(
            "URI: percent-encoded padding, unknown parameters and fragment ignored",
            &format!("otpauth://totp/x?image=https%3A%2F%2Fa.example%2Fi.png&secret={S20}%3D%3D&period=15#x"),
            "SHA1",
            6,
            15,
            &times,
        ),
        ok(
            "URI: period 120, SHA512",
            &format!("otpauth://totp/?secret={}&algorithm=SHA512&period=120", seed(64)),
            "SHA512",
            6,
            120,
            &times,
        ),
        ok(
            "URI: digits with leading zeros (four characters at most)",
            &format!("otpauth://totp/x?secret={S20}&digits=0007&period=030"),
            "SHA1",
            7,
            30,
            &times,
        ),
        ok(
            "URI: + and %20 in the secret are spaces, which base32 ignores",
            "otpauth://totp/x?secret=GEZD+GNBV%20GY3T+QOJQ+GEZD+GNBV+GY3T+QOJQ",
            "SHA1",
            6,
            30,
            &times,
        ),
        ok(
            "URI: empty pieces and a parameter without a value are ignored",
            &format!("otpauth://totp/x?&&issuer&secret={S20}&"),
            "SHA1",
            6,
            30,
            &times,
        ),
        ok(
            "URI: scheme and type in any case, a label with slashes",
            &format!("OtPaUtH://ToTp/a/b?secret={S20}"),
            "SHA1",
            6,
            30,
            &times,
        ),
        ok(
            "URI: percent-encoded parameter name, lower-case hex",
            &format!("otpauth://totp/x?%73ecret={S20}&algorithm=%73ha256"),
            "SHA256",
            6,
            30,
            &times,
        ),
        bad("empty", ""),
        bad("only spaces and padding", "  == "),
        bad("digit 1 is not base32", "GEZDGNBVGY3TQOJ1"),
        bad("impossible base32 length", "GEZ"),
        bad("punctuation in the secret", "GEZDGNBV-GY3TQOJQ"),
        bad("hotp URI", &format!("otpauth://hotp/x?secret={S20}&counter=1")),
        bad("URI without secret", "otpauth://totp/x?issuer=ACME"),
        bad("URI with an empty secret", "otpauth://totp/x?secret="),
        bad("URI with a repeated secret", &format!("otpauth://totp/x?secret={S20}&secret={S20}")),
        bad("5 digits", &format!("otpauth://totp/x?secret={S20}&digits=5")),
        bad("9 digits", &format!("otpauth://totp/x?secret={S20}&digits=9")),
        bad("period 14", &format!("otpauth://totp/x?secret={S20}&period=14")),
        bad("period 121", &format!("otpauth://totp/x?secret={S20}&period=121")),
        bad("signed period", &format!("otpauth://totp/x?secret={S20}&period=%2B30")),
        bad("MD5", &format!("otpauth://totp/x?secret={S20}&algorithm=MD5")),
        bad("cut-short percent escape", &format!("otpauth://totp/x?secret={S20}%3")),
        bad("percent escape that is not UTF-8", &format!("otpauth://totp/x?secret={S20}&issuer=%FF")),
        bad("single slash after the scheme", &format!("otpauth:/totp/x?secret={S20}")),
        bad("digits of five characters", &format!("otpauth://totp/x?secret={S20}&digits=00007")),
        bad("digits with a space", &format!("otpauth://totp/x?secret={S20}&digits=%206")),
        bad("a repeated algorithm, even the same one", &format!("otpauth://totp/x?secret={S20}&algorithm=SHA1&ALGORITHM=sha1")),
        bad("secret given without =", "otpauth://totp/x?secret"),
        bad("a second ? belongs to the first parameter's name", &format!("otpauth://totp/x?c?secret={S20}")),
        bad("the secret only in the fragment", &format!("otpauth://totp/x#?secret={S20}")),
        bad("a bad escape in an ignored parameter", &format!("otpauth://totp/x?secret={S20}&issuer=%G1")),
    ]);
    cases
}

fn check(case: &Case) {
    match Totp::parse(case.str("field")) {
        Ok(g) => {
            assert!(case.valid(), "expected {:?}, parsed", case.opt_str("error"));
            let alg = match g.algorithm() {
                Algorithm::Sha1 => "SHA1",
                Algorithm::Sha256 => "SHA256",
                Algorithm::Sha512 => "SHA512",
            };
            assert_eq!(alg, case.str("algorithm"));
            assert_eq!(u64::from(g.digits()), case.u64("digits"));
            assert_eq!(u64::from(g.period()), case.u64("period"));
            for c in case.get("codes").as_array().unwrap() {
                let got = g.code(c["time"].as_i64().unwrap()).unwrap();
                assert_eq!(got.code, c["code"].as_str().unwrap());
                assert_eq!(
                    u64::from(got.seconds_left),
                    c["seconds_left"].as_u64().unwrap()
                );
            }
        }
        Err(e) => {
            assert!(!case.valid(), "valid field refused: {e}");
            assert_eq!(error_kind(&e), case.error(), "{e}");
        }
    }
}

#[test]
fn vectors() {
    run_area(
        "totp",
        "One-time codes (RFC 6238 TOTP over RFC 4226 HOTP) from otp field values: otpauth://totp/ URIs or bare \
         base32 secrets (docs/protocol.md §8). The first 18 cases are RFC 6238 Appendix B.",
        generate,
        check,
    );
}
