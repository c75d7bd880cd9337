//! `share.json`: values derived from a link secret S (docs/protocol.md §4.1, §4.3).
//!
//! - `"op": "derive"`: `s`, `passphrase` (string or null) → `share_id`, `pass_salt`, `argon2` (A, only with a
//!   passphrase), `root` (S′), `sk`, `access` (T), `access_hash` (H(T)), `bk`. A case with
//!   `other_access` states a T that this derivation must *not* equal (a wrong passphrase).
//! - `"op": "bind_tag"`: `bk`, `share_id`, `device_key` (65-byte point), `tag` → verifies (or `verify`).
//! - `"op": "owner_secret"`: `dk`, `share_id`, `record_id`, `editable`, `sealed` (sealed with AAD
//!   `share-grant`) → `s`, `root`, `passphrase` (S′ ≠ S); positive cases give `nonce` and `aad` to reproduce
//!   `sealed`; negative cases (another share id, DK, record or editability) are refused (`decrypt`).
//! - `"op": "legacy_owner_secret"`: the same box sealed with AAD `share-secret` (`share_id` only), as before
//!   share facts were authenticated; opened, never written.
//! - `"op": "owner_secret_of"`: the owner's reading of a listed share: `dk`, `share_id`, `record_id` (the
//!   record it is listed under), `claimed_editable` (what the server says), `sealed` → `facts`
//!   (`"editable"`, `"read_only"` or `"legacy"`), or refused (`decrypt`).
//! - `"op": "new_passphrase"`: a passphrase a sender chose → accepted, or refused with `too_short` (fewer
//!   than 10 Unicode scalar values once in NFC); opening a link never checks this.
//! - `"op": "label"`: `dk`, `share_id`, `sealed` → `label`; or `"op": "seal_label"` with a label that must
//!   be refused (`too_large`).

use crate::common::{Case, FIXED_DEVICE_PUBLIC, expect_error, hex, run_area, seq, unhex};
use serde_json::{Value, json};
use sharelock_core::account::DataKey;
use sharelock_core::crypto::{AadKind, Key32, aad, hkdf, hkdf_salted, seal_with_nonce, sha256};
use sharelock_core::encoding::Id;
use sharelock_core::share::{
    BindKey, LinkSecret, ShareFacts, ShareGrant, ShareId, ShareKeys, open_label, seal_label,
};

const PASSPHRASE: &str = "Tr0ub4dor & 3 \u{e9}t\u{e9}";
const WRONG_PASSPHRASE: &str = "Tr0ub4dor & 3 \u{e9}t\u{e9} ";

/// A = Argon2id(passphrase, salt, m = 65536, t = 3, p = 4), computed with the argon2 crate directly.
fn argon2_a(passphrase_nfc: &[u8], salt: &[u8]) -> [u8; 32] {
    use argon2::{Algorithm, Argon2, Params, Version};
    let params = Params::new(65_536, 3, 4, Some(32)).unwrap();
    let mut out = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase_nfc, salt, &mut out)
        .unwrap();
    out
}

fn derive_case(name: &str, s: [u8; 32], passphrase: Option<&str>) -> Value {
    let keys = ShareKeys::derive(LinkSecret::from_bytes(s), passphrase).unwrap();
    let mut c = json!({
        "name": name,
        "valid": true,
        "op": "derive",
        "s": hex(s),
        "passphrase": passphrase,
        "share_id": hex(keys.share_id().as_bytes()),
        "pass_salt": hex(keys.secret().passphrase_salt()),
        "root": hex(keys.root().expose()),
        "sk": hex(keys.share_key().expose()),
        "access": hex(keys.access_token().expose()),
        "access_hash": hex(keys.access_token().access_hash()),
        "bk": hex(keys.bind_key().expose()),
    });
    if let Some(p) = passphrase {
        use unicode_normalization::UnicodeNormalization;
        let nfc: String = p.nfc().collect();
        c["argon2"] = json!(hex(argon2_a(
            nfc.as_bytes(),
            &keys.secret().passphrase_salt()
        )));
    }
    c
}

fn generate() -> Vec<Value> {
    let s1 = seq::<32>(0x50);
    let s2 = seq::<32>(0x70);
    let dk = seq::<32>(0x90);
    let plain = ShareKeys::derive(LinkSecret::from_bytes(s1), None).unwrap();
    let with = ShareKeys::derive(LinkSecret::from_bytes(s2), Some(PASSPHRASE)).unwrap();
    let mut wrong = derive_case(
        "wrong passphrase gives another T",
        s2,
        Some(WRONG_PASSPHRASE),
    );
    wrong["other_access"] = json!(hex(with.access_token().expose()));

    let device = unhex(FIXED_DEVICE_PUBLIC);
    let mut other_device = device.clone();
    other_device[64] ^= 1;
    let tag = with.bind_key().bind_tag(&with.share_id(), &device);
    let bind = |name: &str, share_id: &ShareId, point: &[u8], tag: &[u8], valid: bool| {
        let mut c = json!({"name": name, "valid": valid, "op": "bind_tag", "bk": hex(with.bind_key().expose()),
            "share_id": hex(share_id.as_bytes()), "device_key": hex(point), "tag": hex(tag)});
        if !valid {
            c["error"] = json!("verify");
        }
        c
    };

    let record = Id::from_bytes(seq(0x10));
    let other_record = Id::from_bytes(seq(0x11));
    let grant_aad = |keys: &ShareKeys, grant: &ShareGrant| {
        aad(
            AadKind::ShareGrant,
            &[
                keys.share_id().as_bytes(),
                grant.record_id.as_bytes(),
                &[u8::from(grant.editable)],
            ],
        )
    };
    let secrets = |keys: &ShareKeys| {
        let mut plain = keys.secret().expose().to_vec();
        plain.extend_from_slice(keys.root().expose());
        plain
    };
    let owner_secret = |name: &str, keys: &ShareKeys, editable: bool, nonce: [u8; 12]| {
        let grant = ShareGrant {
            record_id: record,
            editable,
        };
        let ad = grant_aad(keys, &grant);
        let sealed = seal_with_nonce(&Key32::from_bytes(dk), nonce, &secrets(keys), &ad).unwrap();
        json!({"name": name, "valid": true, "op": "owner_secret", "dk": hex(dk),
            "share_id": hex(keys.share_id().as_bytes()), "record_id": record.to_string(), "editable": editable,
            "s": hex(keys.secret().expose()), "root": hex(keys.root().expose()), "passphrase": keys.has_passphrase(),
            "nonce": hex(nonce), "aad": hex(ad), "sealed": hex(sealed)})
    };
    let refused = |base: &Value, name: &str, key: &str, value: Value| {
        let mut c = base.clone();
        c["name"] = json!(name);
        c["valid"] = json!(false);
        c["error"] = json!("decrypt");
        c[key] = value;
        c
    };
    let os_with = owner_secret(
        "owner secret, with passphrase, editable",
        &with,
        true,
        seq(0xf0),
    );
    let os_plain = owner_secret(
        "owner secret, no passphrase, read-only",
        &plain,
        false,
        seq(0xf1),
    );
    let os_wrong_share = refused(
        &os_with,
        "owner secret: other share id (wrong AAD)",
        "share_id",
        json!(hex(plain.share_id().as_bytes())),
    );
    let os_wrong_dk = refused(
        &os_with,
        "owner secret: wrong DK",
        "dk",
        json!(hex(seq::<32>(0x91))),
    );
    let os_other_record = refused(
        &os_with,
        "owner secret: listed under another record",
        "record_id",
        json!(other_record.to_string()),
    );
    let os_not_editable = refused(
        &os_with,
        "owner secret: an editable share claimed read-only",
        "editable",
        json!(false),
    );
    let os_editable = refused(
        &os_plain,
        "owner secret: a read-only share claimed editable",
        "editable",
        json!(true),
    );

    let legacy_ad = aad(AadKind::ShareSecret, &[with.share_id().as_bytes()]);
    let legacy_sealed = seal_with_nonce(
        &Key32::from_bytes(dk),
        seq(0xf3),
        &secrets(&with),
        &legacy_ad,
    )
    .unwrap();
    let legacy = json!({"name": "owner secret sealed before share facts", "valid": true, "op": "legacy_owner_secret",
        "dk": hex(dk), "share_id": hex(with.share_id().as_bytes()), "s": hex(with.secret().expose()),
        "root": hex(with.root().expose()), "passphrase": true, "nonce": hex(seq::<12>(0xf3)), "aad": hex(&legacy_ad),
        "sealed": hex(&legacy_sealed)});
    let of = |name: &str, case: &Value, record_id: Id, claimed: bool, facts: Option<&str>| {
        let mut c = json!({"name": name, "valid": facts.is_some(), "op": "owner_secret_of", "dk": hex(dk),
            "share_id": case["share_id"], "record_id": record_id.to_string(), "claimed_editable": claimed,
            "sealed": case["sealed"]});
        match facts {
            Some(f) => c["facts"] = json!(f),
            None => c["error"] = json!("decrypt"),
        }
        c
    };
    let legacy_listed =
        json!({"share_id": hex(with.share_id().as_bytes()), "sealed": hex(&legacy_sealed)});

    let label = "For Ada \u{2014} tax papers";
    let label_ad = aad(AadKind::ShareLabel, &[with.share_id().as_bytes()]);
    let label_sealed = seal_with_nonce(
        &Key32::from_bytes(dk),
        seq(0xf2),
        label.as_bytes(),
        &label_ad,
    )
    .unwrap();
    let mut label_flipped = label_sealed.clone();
    label_flipped[14] ^= 0x10;

    vec![
        derive_case("no passphrase", s1, None),
        derive_case("with passphrase", s2, Some(PASSPHRASE)),
        wrong,
        bind("bind tag", &with.share_id(), &device, &tag, true),
        bind(
            "bind tag: another device key",
            &with.share_id(),
            &other_device,
            &tag,
            false,
        ),
        bind(
            "bind tag: another share id",
            &plain.share_id(),
            &device,
            &tag,
            false,
        ),
        bind(
            "bind tag: truncated",
            &with.share_id(),
            &device,
            &tag[..31],
            false,
        ),
        os_plain.clone(),
        os_with.clone(),
        os_wrong_share,
        os_wrong_dk,
        os_other_record,
        os_not_editable,
        os_editable,
        legacy,
        of(
            "listed editable and editable",
            &os_with,
            record,
            true,
            Some("editable"),
        ),
        of(
            "listed read-only but sealed editable",
            &os_with,
            record,
            false,
            Some("editable"),
        ),
        of(
            "listed editable but sealed read-only",
            &os_plain,
            record,
            true,
            Some("read_only"),
        ),
        of(
            "listed under another record",
            &os_with,
            other_record,
            true,
            None,
        ),
        of(
            "sealed before share facts",
            &legacy_listed,
            other_record,
            true,
            Some("legacy"),
        ),
        json!({"name": "label", "valid": true, "op": "label", "dk": hex(dk), "share_id": hex(with.share_id().as_bytes()),
            "label": label, "nonce": hex(seq::<12>(0xf2)), "aad": hex(&label_ad), "sealed": hex(&label_sealed)}),
        json!({"name": "label: flipped ciphertext bit", "valid": false, "error": "decrypt", "op": "label", "dk": hex(dk),
            "share_id": hex(with.share_id().as_bytes()), "sealed": hex(&label_flipped)}),
        json!({"name": "new passphrase of ten characters", "valid": true, "op": "new_passphrase", "passphrase": "blue tract"}),
        json!({"name": "new passphrase of nine characters", "valid": false, "error": "too_short", "op": "new_passphrase", "passphrase": "blue trac"}),
        json!({"name": "new passphrase of ten typed, nine in NFC", "valid": false, "error": "too_short", "op": "new_passphrase", "passphrase": "cafe\u{301}-bar!"}),
        json!({"name": "label: 257 bytes refused", "valid": false, "error": "too_large", "op": "seal_label", "dk": hex(dk),
            "share_id": hex(with.share_id().as_bytes()), "label": "\u{e9}".repeat(128) + "x"}),
    ]
}

fn check(case: &Case) {
    match case.str("op") {
        "derive" => check_derive(case),
        "bind_tag" => {
            let bk = BindKey::from_bytes(case.array("bk"));
            let share_id = ShareId::from_bytes(case.array("share_id"));
            let result =
                bk.verify_bind_tag(&share_id, &case.bytes("device_key"), &case.bytes("tag"));
            if case.valid() {
                result.unwrap();
                assert_eq!(
                    hex(bk.bind_tag(&share_id, &case.bytes("device_key"))),
                    case.str("tag")
                );
            } else {
                expect_error(case, result);
            }
        }
        "owner_secret" | "legacy_owner_secret" => {
            let dk = DataKey::from_bytes(case.array("dk"));
            let share_id = ShareId::from_bytes(case.array("share_id"));
            let legacy = case.str("op") == "legacy_owner_secret";
            let (got, ad) = if legacy {
                (
                    ShareKeys::open_legacy_owner_secret(&dk, &case.bytes("sealed"), &share_id),
                    aad(AadKind::ShareSecret, &[share_id.as_bytes()]),
                )
            } else {
                let grant = ShareGrant {
                    record_id: Id::try_parse(case.str("record_id")).unwrap(),
                    editable: case.bool("editable"),
                };
                let ad = aad(
                    AadKind::ShareGrant,
                    &[
                        share_id.as_bytes(),
                        grant.record_id.as_bytes(),
                        &[u8::from(grant.editable)],
                    ],
                );
                (
                    ShareKeys::open_owner_secret(&dk, &case.bytes("sealed"), &share_id, &grant),
                    ad,
                )
            };
            if !case.valid() {
                return expect_error(case, got);
            }
            let keys = got.unwrap();
            assert_eq!(hex(keys.secret().expose()), case.str("s"));
            assert_eq!(hex(keys.root().expose()), case.str("root"));
            assert_eq!(keys.has_passphrase(), case.bool("passphrase"));
            assert_eq!(hex(&ad), case.str("aad"));
            let mut plain = case.bytes("s");
            plain.extend_from_slice(&case.bytes("root"));
            let again = seal_with_nonce(
                &Key32::from_bytes(case.array("dk")),
                case.array("nonce"),
                &plain,
                &ad,
            )
            .unwrap();
            assert_eq!(hex(again), case.str("sealed"));
        }
        "owner_secret_of" => {
            let dk = DataKey::from_bytes(case.array("dk"));
            let got = ShareKeys::open_owner_secret_of(
                &dk,
                &case.bytes("sealed"),
                &ShareId::from_bytes(case.array("share_id")),
                &Id::try_parse(case.str("record_id")).unwrap(),
                case.bool("claimed_editable"),
            );
            if !case.valid() {
                return expect_error(case, got);
            }
            let facts = match got.unwrap().1 {
                ShareFacts::Granted(g) if g.editable => "editable",
                ShareFacts::Granted(_) => "read_only",
                ShareFacts::Legacy => "legacy",
            };
            assert_eq!(facts, case.str("facts"));
        }
        "new_passphrase" => {
            let result = sharelock_core::passphrase::check_new(case.str("passphrase"));
            if case.valid() {
                result.unwrap();
            } else {
                expect_error(case, result);
            }
        }
        "label" => {
            let dk = DataKey::from_bytes(case.array("dk"));
            let share_id = ShareId::from_bytes(case.array("share_id"));
            let got = open_label(&dk, &share_id, &case.bytes("sealed"));
            if !case.valid() {
                return expect_error(case, got);
            }
            assert_eq!(got.unwrap(), case.str("label"));
            let ad = aad(AadKind::ShareLabel, &[share_id.as_bytes()]);
            assert_eq!(hex(&ad), case.str("aad"));
            let again = seal_with_nonce(
                &Key32::from_bytes(case.array("dk")),
                case.array("nonce"),
                case.str("label").as_bytes(),
                &ad,
            );
            assert_eq!(hex(again.unwrap()), case.str("sealed"));
        }
        "seal_label" => {
            let dk = DataKey::from_bytes(case.array("dk"));
            expect_error(
                case,
                seal_label(
                    &dk,
                    &ShareId::from_bytes(case.array("share_id")),
                    case.str("label"),
                ),
            );
        }
        other => panic!("unknown op {other}"),
    }
}

fn check_derive(case: &Case) {
    let s: [u8; 32] = case.array("s");
    let passphrase = case.opt_str("passphrase");
    let keys = ShareKeys::derive(LinkSecret::from_bytes(s), passphrase).unwrap();
    assert_eq!(hex(keys.share_id().as_bytes()), case.str("share_id"));
    assert_eq!(hex(keys.secret().passphrase_salt()), case.str("pass_salt"));
    assert_eq!(hex(keys.root().expose()), case.str("root"));
    assert_eq!(hex(keys.share_key().expose()), case.str("sk"));
    assert_eq!(hex(keys.access_token().expose()), case.str("access"));
    assert_eq!(
        hex(keys.access_token().access_hash()),
        case.str("access_hash")
    );
    assert_eq!(hex(keys.bind_key().expose()), case.str("bk"));
    assert_eq!(keys.has_passphrase(), passphrase.is_some());

    // The same values, spelled out with HKDF from the case's own S, A and S′.
    assert_eq!(
        hex(&hkdf(&s, &[b"sharelock/v1/share-id"]).expose()[..16]),
        case.str("share_id")
    );
    assert_eq!(
        hex(&hkdf(&s, &[b"sharelock/v1/pass-salt"]).expose()[..16]),
        case.str("pass_salt")
    );
    let root = case.bytes("root");
    match passphrase {
        None => assert_eq!(root, s),
        Some(_) => {
            let a = case.bytes("argon2");
            assert_eq!(
                hkdf_salted(&a, &s, &[b"sharelock/v1/share-root"])
                    .expose()
                    .to_vec(),
                root
            );
        }
    }
    assert_eq!(
        hex(hkdf(&root, &[b"sharelock/v1/share-key"]).expose()),
        case.str("sk")
    );
    assert_eq!(
        hex(hkdf(&root, &[b"sharelock/v1/share-access"]).expose()),
        case.str("access")
    );
    assert_eq!(
        hex(hkdf(&root, &[b"sharelock/v1/bind"]).expose()),
        case.str("bk")
    );
    assert_eq!(hex(sha256(&case.bytes("access"))), case.str("access_hash"));
    if let Some(other) = case.opt_str("other_access") {
        assert_ne!(
            case.str("access"),
            other,
            "a wrong passphrase must give another T"
        );
    }
}

#[test]
fn vectors() {
    run_area(
        "share",
        "Share derivations from the link secret S, with and without a passphrase; bind tags; the owner's sealed copy of S || S' bound to the share's record and editability (and the earlier unbound form), and the share label (docs/protocol.md §4.1, §4.3).",
        generate,
        check,
    );
}
