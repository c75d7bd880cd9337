//! `link.json`: the share link format (docs/protocol.md §4.2).
//!
//! Case: `link` (text). Positive: `base`, `passphrase` (bool), `secret` (hex of S); formatting those three
//! gives `link` back. Negative: `error`, one kind per malformed case.

use crate::common::{Case, hex, run_area, seq};
use serde_json::{Value, json};
use sharelock_core::encoding::b64u;
use sharelock_core::share::{Link, LinkSecret};

fn generate() -> Vec<Value> {
    let s = seq::<32>(0x50);
    let t = b64u(&s);
    let ok = |name: &str, base: &str, passphrase: bool| {
        let link = Link::new(base, passphrase, LinkSecret::from_bytes(s)).unwrap();
        json!({"name": name, "valid": true, "link": link.to_string(), "base": link.base, "passphrase": passphrase,
            "secret": hex(s)})
    };
    let bad = |name: &str, link: String, error: &str| json!({"name": name, "valid": false, "error": error, "link": link});
    let head = "https://share.example/s";
    vec![
        ok("no passphrase", "https://share.example", false),
        ok("passphrase", "https://share.example", true),
        ok(
            "path prefix and port",
            "https://example.org:8443/tools/sharelock",
            true,
        ),
        ok(
            "plain http on a loopback address",
            "http://127.0.0.1:3000",
            false,
        ),
        bad("no fragment", format!("{head}1.{t}"), "missing_fragment"),
        bad(
            "ftp scheme",
            format!("ftp://share.example/s#1.{t}"),
            "bad_scheme",
        ),
        bad(
            "upper-case scheme",
            format!("HTTPS://share.example/s#1.{t}"),
            "bad_scheme",
        ),
        bad("empty host", format!("https:///s#1.{t}"), "bad_base"),
        bad(
            "user info",
            format!("https://ada@share.example/s#1.{t}"),
            "bad_base",
        ),
        bad(
            "query before the fragment",
            format!("https://share.example/s?x=1#1.{t}"),
            "bad_base",
        ),
        bad(
            "question mark in the host part",
            format!("https://share.example?/s#1.{t}"),
            "bad_base",
        ),
        bad(
            "empty path segment before /s",
            format!("https://share.example//s#1.{t}"),
            "bad_base",
        ),
        bad(
            "space in the address",
            format!("https://share example/s#1.{t}"),
            "bad_base",
        ),
        bad(
            "path not ending in /s",
            format!("https://share.example/share#1.{t}"),
            "bad_path",
        ),
        bad(
            "trailing slash after /s",
            format!("https://share.example/s/#1.{t}"),
            "bad_path",
        ),
        bad("no path at all", format!("https://s#1.{t}"), "bad_path"),
        bad("empty version", format!("{head}#.{t}"), "missing_version"),
        bad(
            "flags without version",
            format!("{head}#p.{t}"),
            "missing_version",
        ),
        bad("version 2", format!("{head}#2.{t}"), "unknown_version"),
        bad("version 10", format!("{head}#10.{t}"), "unknown_version"),
        bad("unknown flag", format!("{head}#1x.{t}"), "unknown_flag"),
        bad("upper-case flag", format!("{head}#1P.{t}"), "unknown_flag"),
        bad("repeated flag", format!("{head}#1pp.{t}"), "repeated_flag"),
        bad("no dot", format!("{head}#1{t}"), "missing_dot"),
        bad(
            "non-canonical last character",
            format!("{head}#1.{}B", &t[..42]),
            "secret_encoding",
        ),
        bad("padding", format!("{head}#1.{t}="), "secret_encoding"),
        bad(
            "standard base64 alphabet",
            format!("{head}#1.{}+A", &t[..41]),
            "secret_encoding",
        ),
        bad(
            "impossible length",
            format!("{head}#1.{t}AA"),
            "secret_encoding",
        ),
        bad(
            "31-byte secret",
            format!("{head}#1.{}", b64u(&s[..31])),
            "secret_length",
        ),
        bad(
            "33-byte secret",
            format!("{head}#1.{}", b64u(&[s.as_slice(), &[0]].concat())),
            "secret_length",
        ),
        bad("empty secret", format!("{head}#1."), "secret_length"),
        bad(
            "second fragment",
            format!("{head}#1.{t}#more"),
            "trailing_data",
        ),
        bad(
            "query after the secret",
            format!("{head}#1.{t}?utm_source=x"),
            "trailing_data",
        ),
        bad(
            "parameter after the secret",
            format!("{head}#1.{t}&x=1"),
            "trailing_data",
        ),
    ]
}

fn check(case: &Case) {
    let text = case.str("link");
    match Link::parse(text) {
        Ok(link) => {
            assert!(case.valid(), "expected {:?}, parsed", case.opt_str("error"));
            assert_eq!(link.base, case.str("base"));
            assert_eq!(link.passphrase, case.bool("passphrase"));
            assert_eq!(hex(link.secret.expose()), case.str("secret"));
            assert_eq!(link.to_string(), text);
        }
        Err(e) => {
            assert!(!case.valid(), "valid link refused: {e}");
            assert_eq!(e.kind(), case.error());
            // The same through the crate's error type.
            let err: sharelock_core::Error = e.into();
            assert_eq!(crate::common::error_kind(&err), case.error());
        }
    }
}

#[test]
fn vectors() {
    run_area(
        "link",
        "Share links <public url>/s#1<flags>.<b64u(S)> and every malformed case (docs/protocol.md §4.2).",
        generate,
        check,
    );
}
