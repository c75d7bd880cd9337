//! `digest.json`: RFC 9530 `Content-Digest` as signed requests use it (docs/protocol.md §5.2).
//!
//! Case: `body` (hex) and `header`. Positive cases whose `header` is what a sender writes have
//! `generated: true` (the header equals `content_digest(body)`); all positive cases verify. Negative cases give
//! the error kind. Only `sha-256` is used; other algorithms may be listed and are ignored.

use crate::common::{Case, error_kind, hex, run_area};
use serde_json::{Value, json};
use sharelock_core::encoding::b64;
use sharelock_core::httpsig::{content_digest, verify_content_digest};

/// RFC 9530 §2 and Appendix B: the body `{"hello": "world"}` and its digests.
const HELLO: &[u8] = br#"{"hello": "world"}"#;
const HELLO_SHA256: &str = "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:";
const HELLO_SHA512: &str = "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:";

fn generate() -> Vec<Value> {
    let binary: Vec<u8> = (0..=255u8).collect();
    let ok = |name: &str, body: &[u8], header: &str| {
        json!({"name": name, "valid": true, "body": hex(body), "header": header,
            "generated": header == content_digest(body)})
    };
    let bad = |name: &str, body: &[u8], header: &str, error: &str| json!({"name": name, "valid": false, "error": error, "body": hex(body), "header": header});
    let short = format!("sha-256=:{}:", b64(&[0x5f; 31]));
    vec![
        ok("RFC 9530 example", HELLO, HELLO_SHA256),
        ok("empty body", b"", &content_digest(b"")),
        ok("binary body", &binary, &content_digest(&binary)),
        ok(
            "sha-256 listed with sha-512 (RFC 9530 example)",
            HELLO,
            &format!("{HELLO_SHA256}, {HELLO_SHA512}"),
        ),
        ok(
            "sha-512 listed first",
            HELLO,
            &format!("{HELLO_SHA512}, {HELLO_SHA256}"),
        ),
        ok(
            "an unknown algorithm alongside",
            HELLO,
            &format!("md5=:AAAA:, {HELLO_SHA256}"),
        ),
        bad(
            "body changed",
            br#"{"hello": "World"}"#,
            HELLO_SHA256,
            "verify",
        ),
        bad(
            "body with a trailing newline",
            b"{\"hello\": \"world\"}\n",
            HELLO_SHA256,
            "verify",
        ),
        bad("only sha-512", HELLO, HELLO_SHA512, "malformed"),
        bad("no digest", HELLO, "", "malformed"),
        bad("31-byte digest", HELLO, &short, "malformed"),
        bad(
            "digest as a string",
            HELLO,
            "sha-256=\"X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=\"",
            "malformed",
        ),
        bad(
            "upper-case algorithm name",
            HELLO,
            "SHA-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",
            "malformed",
        ),
        bad(
            "unterminated byte sequence",
            HELLO,
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
            "malformed",
        ),
        bad(
            "legacy Digest syntax",
            HELLO,
            "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
            "malformed",
        ),
    ]
}

fn check(case: &Case) {
    let body = case.bytes("body");
    let header = case.str("header");
    match verify_content_digest(header, &body) {
        Ok(()) => {
            assert!(
                case.valid(),
                "expected {:?}, verified",
                case.opt_str("error")
            );
            assert_eq!(content_digest(&body) == header, case.bool("generated"));
        }
        Err(e) => {
            assert!(!case.valid(), "valid digest refused: {e}");
            assert_eq!(error_kind(&e), case.error(), "{e}");
        }
    }
}

#[test]
fn vectors() {
    run_area(
        "digest",
        "Content-Digest (RFC 9530) of request bodies: body (hex) and header; only sha-256 is used and it must \
         be present (docs/protocol.md §5.2).",
        generate,
        check,
    );
}
