//! `envelope.json`: record versions (docs/protocol.md §3.2).
//!
//! - `"op": "version"` (positive): `rk`, `record_id`, `k`, `v`, `prev`, `author` (17 bytes), `body_json` and
//!   `summary_json` (text), `body_nonce`, `summary_nonce` → `envelope`, `hash` (E); owner versions also give
//!   `k_own` and `owner_tag`, recipient versions `device_key` and `signature` (verify only: ECDSA signatures
//!   are randomised, so only verification is reproducible).
//! - `"op": "parse"`: `envelope` must be refused with `error`.
//! - `"op": "open"`: `envelope` parses but its `part` (`body` or `summary`) does not open under `rk`.
//! - `"op": "owner_tag"`, `"op": "edit_signature"`: the proof does not verify (`verify`).
//! - `"op": "check_expected"`: the server's check against `expected` `{record_id, k, v, prev, author}`.
//! - `"op": "guard"`: a client's anti-rollback check after having seen `seen_v`, `seen_hash` and key
//!   generation `seen_k`.
//! - `"op": "summary"`: `envelope` opens under `rk`; its summary must be the summary of its body (positive), or
//!   is refused (`summary_mismatch`).

use crate::common::{
    Case, FIXED_DEVICE_PUBLIC, expect_error, fixed_device, hex, run_area, seq, unhex, vectors_dir,
};
use serde_json::{Value, json};
use sharelock_core::account::{OwnerKey, RecordKey};
use sharelock_core::crypto::{AadKind, Key32, aad, hmac_sha256, seal_with_nonce, sha256};
use sharelock_core::device::DevicePublicKey;
use sharelock_core::encoding::Id;
use sharelock_core::envelope::{
    Author, Envelope, Expected, HEADER_LEN, VersionGuard, VersionHeader,
};
use sharelock_core::record::{RecordBody, RecordType, Summary, pad256};
use sharelock_core::share::ShareId;

const SIGNED_CASE: &str = "recipient version, signed by the bound device";

fn rk() -> RecordKey {
    RecordKey::from_bytes(seq(0x30))
}

fn k_own() -> OwnerKey {
    OwnerKey::from_bytes(seq(0x45))
}

fn share_id() -> ShareId {
    ShareId::from_bytes(seq(0x20))
}

fn record_id() -> Id {
    Id::from_bytes(seq(0x10))
}

fn body_v1() -> RecordBody {
    let mut b = RecordBody::new(RecordType::Login, "Mail account");
    b.set_field("username", "ada@example.org").unwrap();
    b.set_field("password", "correct horse battery staple")
        .unwrap();
    b.set_field("url", "https://mail.example.org").unwrap();
    b
}

fn body_v2() -> RecordBody {
    let mut b = body_v1();
    b.set_field("password", "a new password, set by the recipient")
        .unwrap();
    b.notes = "Changed on 2026-11-25.".into();
    b
}

fn versions() -> (Envelope, Envelope) {
    let v1 = Envelope::seal_with_nonces(
        &rk(),
        VersionHeader::first(record_id(), Author::Owner),
        &body_v1(),
        seq(0xb0),
        seq(0xb1),
    )
    .unwrap();
    let v2 = Envelope::seal_with_nonces(
        &rk(),
        VersionHeader::next(&v1, 1, Author::Share(share_id())),
        &body_v2(),
        seq(0xb2),
        seq(0xb3),
    )
    .unwrap();
    (v1, v2)
}

/// The recipient's signature over v2: the one already in the file if it still verifies (signatures are
/// randomised, so signing again would change the file on every regeneration), otherwise a fresh one.
fn edit_signature(v2: &Envelope) -> [u8; 64] {
    let public = DevicePublicKey::from_sec1(&unhex(FIXED_DEVICE_PUBLIC)).unwrap();
    let existing = std::fs::read_to_string(vectors_dir().join("envelope.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|doc| {
            doc["cases"]
                .as_array()?
                .iter()
                .find(|c| c["name"] == SIGNED_CASE)?["signature"]
                .as_str()
                .map(unhex)
        });
    if let Some(sig) = existing.filter(|s| v2.verify_edit(&public, s).is_ok()) {
        return sig.try_into().unwrap();
    }
    v2.sign_edit(&fixed_device()).unwrap()
}

fn version_case(name: &str, env: &Envelope, body: &RecordBody, nonces: (u8, u8)) -> Value {
    let h = &env.header;
    json!({
        "name": name,
        "valid": true,
        "op": "version",
        "rk": hex(rk().expose()),
        "record_id": h.record_id.to_string(),
        "k": h.k,
        "v": h.v,
        "prev": hex(h.prev),
        "author": hex(h.author.to_bytes()),
        "body_json": String::from_utf8(body.to_json().unwrap()).unwrap(),
        "summary_json": String::from_utf8(body.summary().to_json().unwrap()).unwrap(),
        "body_nonce": hex(seq::<12>(nonces.0)),
        "summary_nonce": hex(seq::<12>(nonces.1)),
        "envelope": hex(env.to_bytes()),
        "hash": hex(env.hash()),
    })
}

fn patched(bytes: &[u8], at: usize, with: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[at..at + with.len()].copy_from_slice(with);
    out
}

fn generate() -> Vec<Value> {
    let (v1, v2) = versions();
    let signature = edit_signature(&v2);
    let b1 = v1.to_bytes();
    let body_len_at = HEADER_LEN;
    let summary_len_at = HEADER_LEN + 4 + v1.body.len();

    let mut owner = version_case("owner's first version", &v1, &body_v1(), (0xb0, 0xb1));
    owner["k_own"] = json!(hex(k_own().expose()));
    owner["owner_tag"] = json!(hex(v1.owner_tag(&k_own())));
    let mut recipient = version_case(SIGNED_CASE, &v2, &body_v2(), (0xb2, 0xb3));
    recipient["device_key"] = json!(FIXED_DEVICE_PUBLIC);
    recipient["signature"] = json!(hex(signature));

    let parse = |name: &str, bytes: Vec<u8>, error: &str| json!({"name": name, "valid": false, "error": error, "op": "parse", "envelope": hex(bytes)});
    let open = |name: &str, bytes: Vec<u8>, part: &str| {
        json!({"name": name, "valid": false, "error": "decrypt", "op": "open", "part": part,
            "rk": hex(rk().expose()), "envelope": hex(bytes)})
    };
    let mut other_author = b1.clone();
    other_author[HEADER_LEN - 17] = 1;
    other_author[HEADER_LEN - 16..HEADER_LEN].copy_from_slice(share_id().as_bytes());
    let mut flipped_summary = b1.clone();
    let last = flipped_summary.len() - 1;
    flipped_summary[last] ^= 0x01;

    let expected = |name: &str, exp: Expected, error: Option<&str>| {
        let mut c = json!({"name": name, "valid": error.is_none(), "op": "check_expected", "envelope": hex(v2.to_bytes()),
            "expected": {"record_id": exp.record_id.to_string(), "k": exp.k, "v": exp.v, "prev": hex(exp.prev),
                "author": hex(exp.author.to_bytes())}});
        if let Some(e) = error {
            c["error"] = json!(e);
        }
        c
    };
    let good = Expected::after(&v1, 1, Author::Share(share_id()));
    let other_v1 = Envelope::seal_with_nonces(
        &rk(),
        VersionHeader::first(record_id(), Author::Owner),
        &body_v1(),
        seq(0xc0),
        seq(0xc1),
    )
    .unwrap();

    // A rotation (v3, k = 2), then a version that continues it but is sealed under the old key (a write the
    // record's rotation should have cut off).
    let rk2 = RecordKey::from_bytes(seq(0x31));
    let v3 = Envelope::seal_with_nonces(
        &rk2,
        VersionHeader::next(&v2, 2, Author::Owner),
        &body_v2(),
        seq(0xb4),
        seq(0xb5),
    )
    .unwrap();
    let stale_v4 = Envelope::seal_with_nonces(
        &rk(),
        VersionHeader::next(&v3, 1, Author::Share(share_id())),
        &body_v2(),
        seq(0xb6),
        seq(0xb7),
    )
    .unwrap();
    let guard = |name: &str, seen: &Envelope, env: &Envelope, error: Option<&str>| {
        let mut c = json!({"name": name, "valid": error.is_none(), "op": "guard", "seen_v": seen.header.v,
            "seen_hash": hex(seen.hash()), "seen_k": seen.header.k, "envelope": hex(env.to_bytes())});
        if let Some(e) = error {
            c["error"] = json!(e);
        }
        c
    };
    // The body of v2 under the summary of v1 (the title and list line the recipient wanted to keep).
    let mut renamed = body_v2();
    renamed.title = "Bank login".into();
    let honest = Envelope::seal_with_nonces(
        &rk(),
        VersionHeader::next(&v1, 1, Author::Share(share_id())),
        &renamed,
        seq(0xb8),
        seq(0xb9),
    )
    .unwrap();
    let lying = Envelope {
        summary: v2.summary.clone(),
        ..honest.clone()
    };
    let summary = |name: &str, env: &Envelope, error: Option<&str>| {
        let mut c = json!({"name": name, "valid": error.is_none(), "op": "summary", "rk": hex(rk().expose()),
            "envelope": hex(env.to_bytes())});
        if let Some(e) = error {
            c["error"] = json!(e);
        }
        c
    };

    vec![
        owner,
        recipient,
        parse(
            "truncated inside the header",
            b1[..40].to_vec(),
            "truncated",
        ),
        parse(
            "truncated by one byte",
            b1[..b1.len() - 1].to_vec(),
            "truncated",
        ),
        parse(
            "trailing byte after the summary",
            [b1.as_slice(), &[0]].concat(),
            "trailing_bytes",
        ),
        parse("wrong magic", patched(&b1, 0, b"SLV2"), "bad_magic"),
        // The order of the checks (docs/protocol.md §3.2), pinned where two failures meet.
        parse("three bytes", b"SLV".to_vec(), "truncated"),
        parse("wrong magic on four bytes", b"SLV2".to_vec(), "bad_magic"),
        parse(
            "wrong magic on a short envelope",
            patched(&b1[..40], 0, b"SLV2"),
            "bad_magic",
        ),
        parse(
            "bad author, nothing after the header",
            patched(&b1[..HEADER_LEN], HEADER_LEN - 17, &[2]),
            "bad_author",
        ),
        parse(
            "bad author and key generation 0",
            patched(
                &patched(&b1, HEADER_LEN - 17, &[2]),
                20,
                &0u64.to_be_bytes(),
            ),
            "bad_author",
        ),
        parse(
            "key generation 0 and version 0",
            patched(
                &patched(&b1, 20, &0u64.to_be_bytes()),
                28,
                &0u64.to_be_bytes(),
            ),
            "bad_key_generation",
        ),
        parse(
            "version 0 with a predecessor",
            patched(&patched(&b1, 28, &0u64.to_be_bytes()), 36, &[1]),
            "bad_version",
        ),
        parse(
            "body length over the limit, nothing after it",
            patched(
                &b1[..HEADER_LEN + 4],
                body_len_at,
                &524_317u32.to_be_bytes(),
            ),
            "too_large",
        ),
        parse(
            "body length not 28 + 256n, nothing after it",
            patched(&b1[..HEADER_LEN + 4], body_len_at, &300u32.to_be_bytes()),
            "bad_length",
        ),
        parse(
            "cut inside the summary length",
            b1[..summary_len_at + 2].to_vec(),
            "truncated",
        ),
        parse(
            "body length over the limit",
            patched(&b1, body_len_at, &524_317u32.to_be_bytes()),
            "too_large",
        ),
        parse(
            "summary length 2^32 - 1",
            patched(&b1, summary_len_at, &u32::MAX.to_be_bytes()),
            "too_large",
        ),
        parse(
            "body length not 28 + 256n",
            patched(&b1, body_len_at, &300u32.to_be_bytes()),
            "bad_length",
        ),
        parse(
            "author byte 2",
            patched(&b1, HEADER_LEN - 17, &[2]),
            "bad_author",
        ),
        parse(
            "owner author with a non-zero id",
            patched(&b1, HEADER_LEN - 1, &[1]),
            "bad_author",
        ),
        parse(
            "key generation 0",
            patched(&b1, 20, &0u64.to_be_bytes()),
            "bad_key_generation",
        ),
        parse(
            "version 0",
            patched(&b1, 28, &0u64.to_be_bytes()),
            "bad_version",
        ),
        parse(
            "version 1 with a predecessor",
            patched(&b1, 36, &[1]),
            "bad_prev",
        ),
        parse(
            "version 2 without a predecessor",
            patched(&b1, 28, &2u64.to_be_bytes()),
            "bad_prev",
        ),
        open(
            "flipped body ciphertext bit",
            patched(&b1, HEADER_LEN + 4 + 20, &[b1[HEADER_LEN + 4 + 20] ^ 0x80]),
            "body",
        ),
        open(
            "author rewritten to a share (wrong AAD), body",
            other_author.clone(),
            "body",
        ),
        open(
            "author rewritten to a share (wrong AAD), summary",
            other_author,
            "summary",
        ),
        open(
            "flipped summary tag bit",
            flipped_summary.clone(),
            "summary",
        ),
        json!({"name": "owner tag over a changed envelope", "valid": false, "error": "verify", "op": "owner_tag",
            "envelope": hex(&flipped_summary), "k_own": hex(k_own().expose()), "tag": hex(v1.owner_tag(&k_own()))}),
        json!({"name": "owner tag under another K_own", "valid": false, "error": "verify", "op": "owner_tag",
            "envelope": hex(&b1), "k_own": hex(seq::<32>(0x46)), "tag": hex(v1.owner_tag(&k_own()))}),
        json!({"name": "edit signature over another version", "valid": false, "error": "verify", "op": "edit_signature",
            "envelope": hex(&b1), "device_key": FIXED_DEVICE_PUBLIC, "signature": hex(signature)}),
        expected("server accepts the next version", good, None),
        expected(
            "server: other record",
            Expected {
                record_id: Id::from_bytes(seq(0x11)),
                ..good
            },
            Some("wrong_record"),
        ),
        expected(
            "server: author is not the writer",
            Expected {
                author: Author::Owner,
                ..good
            },
            Some("wrong_author"),
        ),
        expected(
            "server: stale key generation",
            Expected { k: 2, ..good },
            Some("wrong_key_generation"),
        ),
        expected(
            "server: not based on the current version",
            Expected { v: 3, ..good },
            Some("wrong_version"),
        ),
        expected(
            "server: other predecessor",
            Expected {
                prev: other_v1.hash(),
                ..good
            },
            Some("wrong_prev"),
        ),
        guard(
            "client refuses an older version",
            &v2,
            &v1,
            Some("rollback"),
        ),
        guard(
            "client refuses another envelope for a version it saw",
            &v1,
            &other_v1,
            Some("fork"),
        ),
        guard("client accepts the next version", &v1, &v2, None),
        guard(
            "client accepts a rotation (next key generation)",
            &v2,
            &v3,
            None,
        ),
        guard(
            "client refuses a later version under an older key generation",
            &v3,
            &stale_v4,
            Some("key_rollback"),
        ),
        summary("summary is the body's", &v2, None),
        summary(
            "summary sealed next to another body",
            &lying,
            Some("summary_mismatch"),
        ),
    ]
}

fn author_of(bytes: &[u8]) -> Author {
    match bytes[0] {
        0 => Author::Owner,
        _ => Author::Share(ShareId::from_bytes(bytes[1..].try_into().unwrap())),
    }
}

fn check_version(case: &Case) {
    let bytes = case.bytes("envelope");
    let env = Envelope::parse(&bytes).unwrap();
    let h = &env.header;
    assert_eq!(h.record_id.to_string(), case.str("record_id"));
    assert_eq!((h.k, h.v), (case.u64("k"), case.u64("v")));
    assert_eq!(hex(h.prev), case.str("prev"));
    assert_eq!(hex(h.author.to_bytes()), case.str("author"));
    assert_eq!(env.to_bytes(), bytes);
    assert_eq!(hex(sha256(&bytes)), case.str("hash"));
    assert_eq!(hex(env.hash()), case.str("hash"));

    // The envelope, spelled out from the inputs.
    let mut f = Id::try_parse(case.str("record_id"))
        .unwrap()
        .as_bytes()
        .to_vec();
    f.extend_from_slice(&case.u64("k").to_be_bytes());
    f.extend_from_slice(&case.u64("v").to_be_bytes());
    f.extend_from_slice(&case.bytes("prev"));
    f.extend_from_slice(&case.bytes("author"));
    let rk_bytes = Key32::from_bytes(case.array("rk"));
    let body_box = seal_with_nonce(
        &rk_bytes,
        case.array("body_nonce"),
        &pad256(case.str("body_json").as_bytes()),
        &aad(AadKind::Record, &[&f]),
    )
    .unwrap();
    let summary_box = seal_with_nonce(
        &rk_bytes,
        case.array("summary_nonce"),
        &pad256(case.str("summary_json").as_bytes()),
        &aad(AadKind::RecordSummary, &[&f]),
    )
    .unwrap();
    let mut manual = b"SLV1".to_vec();
    manual.extend_from_slice(&f);
    manual.extend_from_slice(&(body_box.len() as u32).to_be_bytes());
    manual.extend_from_slice(&body_box);
    manual.extend_from_slice(&(summary_box.len() as u32).to_be_bytes());
    manual.extend_from_slice(&summary_box);
    assert_eq!(hex(&manual), case.str("envelope"));

    // Opening gives the stated JSON, which is also exactly what the code encodes for that body.
    let rk = RecordKey::from_bytes(case.array("rk"));
    let body = env.open_body(&rk).unwrap();
    assert_eq!(
        body,
        RecordBody::from_json(case.str("body_json").as_bytes()).unwrap()
    );
    assert_eq!(body.to_json().unwrap(), case.str("body_json").as_bytes());
    let summary = env.open_summary(&rk).unwrap();
    assert_eq!(
        summary,
        Summary::from_json(case.str("summary_json").as_bytes()).unwrap()
    );
    assert_eq!(summary, body.summary());
    let resealed = Envelope::seal_with_nonces(
        &rk,
        VersionHeader {
            record_id: h.record_id,
            k: h.k,
            v: h.v,
            prev: h.prev,
            author: author_of(&case.bytes("author")),
        },
        &body,
        case.array("body_nonce"),
        case.array("summary_nonce"),
    )
    .unwrap();
    assert_eq!(resealed.to_bytes(), bytes);

    if case.has("owner_tag") {
        let k_own = OwnerKey::from_bytes(case.array("k_own"));
        assert_eq!(
            hex(hmac_sha256(&case.bytes("k_own"), &[&case.bytes("hash")])),
            case.str("owner_tag")
        );
        env.verify_owner_tag(&k_own, &case.bytes("owner_tag"))
            .unwrap();
    }
    if case.has("signature") {
        let public = DevicePublicKey::from_sec1(&case.bytes("device_key")).unwrap();
        env.verify_edit(&public, &case.bytes("signature")).unwrap();
        let mut message = b"sharelock/v1/edit".to_vec();
        message.extend_from_slice(&case.bytes("hash"));
        public.verify(&message, &case.bytes("signature")).unwrap();
    }
}

fn check(case: &Case) {
    match case.str("op") {
        "version" => check_version(case),
        "parse" => expect_error(case, Envelope::parse(&case.bytes("envelope"))),
        "open" => {
            let env = Envelope::parse(&case.bytes("envelope")).unwrap();
            let rk = RecordKey::from_bytes(case.array("rk"));
            match case.str("part") {
                "body" => expect_error(case, env.open_body(&rk)),
                _ => expect_error(case, env.open_summary(&rk)),
            }
        }
        "owner_tag" => {
            let env = Envelope::parse(&case.bytes("envelope")).unwrap();
            expect_error(
                case,
                env.verify_owner_tag(
                    &OwnerKey::from_bytes(case.array("k_own")),
                    &case.bytes("tag"),
                ),
            );
        }
        "edit_signature" => {
            let env = Envelope::parse(&case.bytes("envelope")).unwrap();
            let public = DevicePublicKey::from_sec1(&case.bytes("device_key")).unwrap();
            expect_error(case, env.verify_edit(&public, &case.bytes("signature")));
        }
        "check_expected" => {
            let env = Envelope::parse(&case.bytes("envelope")).unwrap();
            let e = case.get("expected");
            let expected = Expected {
                record_id: Id::try_parse(e["record_id"].as_str().unwrap()).unwrap(),
                k: e["k"].as_u64().unwrap(),
                v: e["v"].as_u64().unwrap(),
                prev: unhex(e["prev"].as_str().unwrap()).try_into().unwrap(),
                author: author_of(&unhex(e["author"].as_str().unwrap())),
            };
            let result = env.check_expected(&expected);
            if case.valid() {
                result.unwrap()
            } else {
                expect_error(case, result)
            }
        }
        "guard" => {
            let env = Envelope::parse(&case.bytes("envelope")).unwrap();
            let mut guard = VersionGuard::resume(
                case.u64("seen_v"),
                case.array("seen_hash"),
                case.u64("seen_k"),
            );
            let result = guard.accept(&env);
            if case.valid() {
                result.unwrap();
                assert_eq!(guard.highest(), Some((env.header.v, env.hash())));
                assert_eq!(guard.key_gen(), env.header.k.max(case.u64("seen_k")));
            } else {
                expect_error(case, result);
            }
        }
        "summary" => {
            let env = Envelope::parse(&case.bytes("envelope")).unwrap();
            let rk = RecordKey::from_bytes(case.array("rk"));
            let body = env.open_body(&rk).unwrap();
            let result = env.check_summary(&rk, &body);
            if case.valid() {
                result.unwrap();
            } else {
                expect_error(case, result);
                // Both boxes open and validate on their own: only the comparison fails.
                let listed = env.open_summary(&rk).unwrap();
                assert_ne!(listed, body.summary());
            }
        }
        other => panic!("unknown op {other}"),
    }
}

#[test]
fn vectors() {
    run_area(
        "envelope",
        "Record version envelopes: layout, sealed body and summary, owner tag, recipient edit signature, strict parsing, the server's expectations, the client's anti-rollback check (versions and key generations) and the summary check (docs/protocol.md §3.2).",
        generate,
        check,
    );
}
