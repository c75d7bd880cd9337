//! `preface.json`: the share preface the Click to Open page shows (docs/protocol.md §4.6).
//!
//! - `"op": "derive"`: `root` (S′) → `pk` = HKDF(S′, "sharelock/v1/share-preface").
//! - `"op": "seal"`: `pk`, `share_id`, `from`, `type`, `nonce` → `json` (the exact `preface_json` text),
//!   `aad`, `sealed`; a negative case gives the error a writer refuses the name with.
//! - `"op": "open"`: `pk`, `share_id`, `sealed` → `from`, `type`, or the error.
//! - `"op": "decode"`: `json` (text) → `from`, `type`, or the error (the JSON and value rules alone).

use crate::common::{Case, expect_error, hex, run_area, seq};
use serde_json::{Value, json};
use sharelock_core::crypto::{AadKind, Key32, aad, seal_with_nonce};
use sharelock_core::preface::{PrefaceKey, SharePreface, open_preface, seal_preface_with_nonce};
use sharelock_core::record::{RecordType, pad256};
use sharelock_core::share::{LinkSecret, ShareId};

fn preface(from: &str, record_type: &str) -> SharePreface {
    SharePreface {
        from: from.into(),
        record_type: RecordType::parse(record_type).unwrap(),
    }
}

/// A box holding exactly `plain` under the preface's key and associated data (for malformed contents).
fn raw_box(pk: &[u8; 32], share_id: &ShareId, plain: &[u8], nonce: [u8; 12]) -> Vec<u8> {
    let ad = aad(AadKind::SharePreface, &[share_id.as_bytes()]);
    seal_with_nonce(&Key32::from_bytes(*pk), nonce, plain, &ad).unwrap()
}

fn generate() -> Vec<Value> {
    // S of share.json's "no passphrase" case, and S′ of its "with passphrase" case.
    let s = LinkSecret::from_bytes(seq::<32>(0x50));
    let root = s.share_root(None).unwrap();
    let pk = root.preface_key();
    let share_id = s.share_id();
    let pass_root = sharelock_core::share::ShareRoot::from_bytes(
        crate::common::unhex("dfed8902d37cfc0c71dc6424dba736082cec194f83dc6cb0057e6f26e5788276")
            .try_into()
            .unwrap(),
    );
    let pk_bytes = *pk.expose();
    let sid = hex(share_id.as_bytes());
    let ad = aad(AadKind::SharePreface, &[share_id.as_bytes()]);

    let mut cases = vec![
        json!({"name": "derive: no passphrase (S' = S)", "valid": true, "op": "derive",
            "root": hex(root.expose()), "pk": hex(pk.expose())}),
        json!({"name": "derive: with passphrase", "valid": true, "op": "derive",
            "root": hex(pass_root.expose()), "pk": hex(pass_root.preface_key().expose())}),
    ];

    let sealed_cases: [(&str, &str, &str, u8); 4] = [
        ("seal: a name and a login", "Ada", "login", 0xa0),
        ("seal: no name", "", "note", 0xa1),
        (
            "seal: a name outside ASCII",
            "渡辺 さくら \u{e9}\u{301}",
            "wifi",
            0xa2,
        ),
        (
            "seal: a name of 128 bytes",
            &"\u{e9}".repeat(64),
            "card",
            0xa3,
        ),
    ];
    let mut first_sealed = Vec::new();
    for (name, from, record_type, n) in sealed_cases {
        let p = preface(from, record_type);
        let nonce = seq::<12>(n);
        let sealed = seal_preface_with_nonce(&pk, &share_id, &p, nonce).unwrap();
        if first_sealed.is_empty() {
            first_sealed = sealed.clone();
        }
        cases.push(json!({"name": name, "valid": true, "op": "seal", "pk": hex(pk.expose()), "share_id": sid,
            "from": from, "type": record_type, "nonce": hex(nonce),
            "json": String::from_utf8(p.to_json().unwrap()).unwrap(), "aad": hex(&ad), "sealed": hex(&sealed)}));
    }
    cases.push(json!({"name": "seal: a name of 129 bytes", "valid": false, "error": "from_length", "op": "seal",
        "pk": hex(pk.expose()), "share_id": sid, "from": "a".repeat(129), "type": "login", "nonce": hex(seq::<12>(0xa4))}));
    for (name, from) in [
        ("seal: a line break in the name", "Ada\nBank"),
        ("seal: a right-to-left override in the name", "\u{202e}adA"),
        ("seal: a directional isolate in the name", "Ada\u{2067}x"),
        ("seal: a line separator in the name", "Ada\u{2028}"),
        ("seal: DEL in the name", "Ada\u{7f}"),
    ] {
        cases.push(json!({"name": name, "valid": false, "error": "from_control", "op": "seal",
            "pk": hex(pk.expose()), "share_id": sid, "from": from, "type": "login", "nonce": hex(seq::<12>(0xa5))}));
    }

    // Opening.
    cases.push(json!({"name": "open: a sealed preface", "valid": true, "op": "open", "pk": hex(pk.expose()),
        "share_id": sid, "sealed": hex(&first_sealed), "from": "Ada", "type": "login"}));
    // A reader accepts what no writer of §4.6 emits but the rules allow: a name written with escapes, whose
    // preface_json pads to two blocks (540 bytes sealed).
    let escaped = format!(r#"{{"from":"{}","type":"login"}}"#, "\\u00e9".repeat(64));
    let two_blocks = pad256(escaped.as_bytes());
    assert_eq!(two_blocks.len(), 512);
    cases.push(
        json!({"name": "open: a two-block preface (escaped name)", "valid": true, "op": "open",
        "pk": hex(pk.expose()), "share_id": sid, "json": escaped,
        "sealed": hex(raw_box(&pk_bytes, &share_id, &two_blocks, seq::<12>(0xb3))),
        "from": "\u{e9}".repeat(64), "type": "login"}),
    );
    let mut flipped = first_sealed.clone();
    flipped[20] ^= 0x01;
    cases.push(json!({"name": "open: flipped ciphertext bit", "valid": false, "error": "decrypt", "op": "open",
        "pk": hex(pk.expose()), "share_id": sid, "sealed": hex(&flipped)}));
    let other = LinkSecret::from_bytes(seq::<32>(0x70)).share_id();
    cases.push(
        json!({"name": "open: another share's id", "valid": false, "error": "decrypt", "op": "open",
        "pk": hex(pk.expose()), "share_id": hex(other.as_bytes()), "sealed": hex(&first_sealed)}),
    );
    cases.push(json!({"name": "open: the share key instead of PK", "valid": false, "error": "decrypt", "op": "open",
        "pk": hex(root.share_key().expose()), "share_id": sid, "sealed": hex(&first_sealed)}));
    cases.push(
        json!({"name": "open: 283 bytes", "valid": false, "error": "bad_length", "op": "open",
        "pk": hex(pk.expose()), "share_id": sid, "sealed": hex(&first_sealed[..283])}),
    );
    let mut long = first_sealed.clone();
    long.extend_from_slice(&[0; 257]);
    cases.push(
        json!({"name": "open: 541 bytes", "valid": false, "error": "bad_length", "op": "open",
        "pk": hex(pk.expose()), "share_id": sid, "sealed": hex(&long)}),
    );
    let no_marker = {
        let mut p = br#"{"from":"Ada","type":"login"}"#.to_vec();
        p.resize(256, 0);
        p
    };
    cases.push(json!({"name": "open: padding without its marker", "valid": false, "error": "bad_padding", "op": "open",
        "pk": hex(pk.expose()), "share_id": sid, "sealed": hex(raw_box(&pk_bytes, &share_id, &no_marker, seq::<12>(0xb0)))}));
    let unknown = pad256(br#"{"from":"Ada","type":"car"}"#);
    cases.push(json!({"name": "open: an unknown type inside", "valid": false, "error": "unknown_type", "op": "open",
        "pk": hex(pk.expose()), "share_id": sid, "sealed": hex(raw_box(&pk_bytes, &share_id, &unknown, seq::<12>(0xb1)))}));
    let control = pad256(br#"{"from":"Ada\u0007","type":"login"}"#);
    cases.push(json!({"name": "open: an escaped control character in the name", "valid": false, "error": "from_control",
        "op": "open", "pk": hex(pk.expose()), "share_id": sid,
        "sealed": hex(raw_box(&pk_bytes, &share_id, &control, seq::<12>(0xb2)))}));

    // Decoding.
    let decode_ok: [(&str, &str, &str, &str); 3] = [
        (
            "decode: keys in the other order, white space",
            " {\"type\" : \"ssh\" ,\n\"from\":\"Bo\"}\n",
            "Bo",
            "ssh",
        ),
        (
            "decode: escaped name",
            r#"{"from":"\u00c9mile \ud83d\ude00","type":"bank"}"#,
            "\u{c9}mile \u{1f600}",
            "bank",
        ),
        (
            "decode: empty name",
            r#"{"from":"","type":"general"}"#,
            "",
            "general",
        ),
    ];
    for (name, text, from, record_type) in decode_ok {
        cases.push(json!({"name": name, "valid": true, "op": "decode", "json": text, "from": from, "type": record_type}));
    }
    let decode_bad: [(&str, &str, String); 11] = [
        ("decode: missing from", "json", r#"{"type":"login"}"#.into()),
        (
            "decode: unknown key",
            "json",
            r#"{"from":"Ada","type":"login","title":"x"}"#.into(),
        ),
        (
            "decode: repeated key",
            "json",
            r#"{"from":"Ada","from":"Eve","type":"login"}"#.into(),
        ),
        (
            "decode: name not a string",
            "json",
            r#"{"from":null,"type":"login"}"#.into(),
        ),
        ("decode: an array", "json", r#"["Ada","login"]"#.into()),
        (
            "decode: trailing characters",
            "json",
            r#"{"from":"Ada","type":"login"}x"#.into(),
        ),
        (
            "decode: lone surrogate escape",
            "json",
            r#"{"from":"\ud800","type":"login"}"#.into(),
        ),
        (
            "decode: type in upper case",
            "unknown_type",
            r#"{"from":"Ada","type":"Login"}"#.into(),
        ),
        (
            "decode: a name of 129 bytes",
            "from_length",
            format!(r#"{{"from":"{}","type":"login"}}"#, "a".repeat(129)),
        ),
        (
            "decode: a tab in the name",
            "from_control",
            r#"{"from":"Ada\tB","type":"login"}"#.into(),
        ),
        (
            "decode: 512 bytes",
            "too_large",
            format!(r#"{{"from":"","type":"login"}}{}"#, " ".repeat(512 - 26)),
        ),
    ];
    for (name, error, text) in decode_bad {
        cases.push(
            json!({"name": name, "valid": false, "error": error, "op": "decode", "json": text}),
        );
    }
    cases
}

fn check(case: &Case) {
    let op = case.str("op");
    match op {
        "derive" => {
            let root = sharelock_core::share::ShareRoot::from_bytes(case.array("root"));
            assert_eq!(hex(root.preface_key().expose()), case.str("pk"));
        }
        "seal" => {
            let pk = PrefaceKey::from_bytes(case.array("pk"));
            let share_id = ShareId::from_bytes(case.array("share_id"));
            let p = SharePreface {
                from: case.text("from"),
                record_type: RecordType::parse(case.str("type")).unwrap(),
            };
            let sealed = seal_preface_with_nonce(&pk, &share_id, &p, case.array("nonce"));
            if !case.valid() {
                expect_error(case, sealed);
                return;
            }
            assert_eq!(
                String::from_utf8(p.to_json().unwrap()).unwrap(),
                case.str("json")
            );
            assert_eq!(
                hex(aad(AadKind::SharePreface, &[share_id.as_bytes()])),
                case.str("aad")
            );
            let sealed = sealed.unwrap();
            assert_eq!(hex(&sealed), case.str("sealed"));
            assert_eq!(open_preface(&pk, &share_id, &sealed).unwrap(), p);
        }
        "open" => {
            let pk = PrefaceKey::from_bytes(case.array("pk"));
            let share_id = ShareId::from_bytes(case.array("share_id"));
            let got = open_preface(&pk, &share_id, &case.bytes("sealed"));
            if !case.valid() {
                expect_error(case, got);
                return;
            }
            let got = got.unwrap();
            assert_eq!(got.from, case.str("from"));
            assert_eq!(got.record_type.as_str(), case.str("type"));
        }
        "decode" => {
            let got = SharePreface::from_json(case.text("json").as_bytes());
            if !case.valid() {
                expect_error(case, got.map_err(sharelock_core::Error::from));
                return;
            }
            let got = got.unwrap();
            assert_eq!(got.from, case.str("from"));
            assert_eq!(got.record_type.as_str(), case.str("type"));
        }
        other => panic!("unknown op {other:?}"),
    }
}

#[test]
fn vectors() {
    run_area(
        "preface",
        "The share preface shown before Click to Open: its key PK = HKDF(S', \"sharelock/v1/share-preface\"), preface_json {\"from\", \"type\"} padded and sealed under PK with AAD(\"share-preface\", share_id), and every refusal (docs/protocol.md §4.6).",
        generate,
        check,
    );
}
