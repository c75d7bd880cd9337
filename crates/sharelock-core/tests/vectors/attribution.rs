//! `attribution.json`: how the owner's client establishes who wrote a version (docs/protocol.md §7.5).
//!
//! Every case: `dk` (the owner's data key; K_own is derived from it), `record_id` (the record being read),
//! `envelope`, `proof` (what the server stores with the version), `server_author` (`"owner"`, or
//! `{"share": <listed share or null>}` where a listed share is `{"share_id", "owner_secret", "device_key",
//! "bind_tag"}`, the last two null before the share was opened), and `ended_after` (null, or the record's
//! version when this client learnt that the envelope's share ended). A positive case gives `attribution`:
//! `"owner"` or `{"recipient": <device fingerprint>}`; a negative case the reason (`error`).

use crate::common::{
    Case, FIXED_DEVICE_PUBLIC, fixed_device, hex, run_area, seq, unhex, vectors_dir,
};
use serde_json::{Value, json};
use sharelock_core::account::{DataKey, RecordKey};
use sharelock_core::attribution::{Attribution, ListedShare, ServerAuthor, attribute};
use sharelock_core::crypto::{AadKind, Key32, aad, seal_with_nonce};
use sharelock_core::device::{DevicePublicKey, fingerprint};
use sharelock_core::encoding::Id;
use sharelock_core::envelope::{Author, Envelope, VersionHeader};
use sharelock_core::record::{RecordBody, RecordType};
use sharelock_core::share::{LinkSecret, ShareId, ShareKeys};

const SIGNED_CASE: &str = "recipient version through an editable share of this record";

fn dk() -> [u8; 32] {
    seq(0x90)
}

fn record_id() -> Id {
    Id::from_bytes(seq(0x10))
}

fn keys() -> ShareKeys {
    ShareKeys::derive(LinkSecret::from_bytes(seq(0x50)), None).unwrap()
}

fn versions() -> (Envelope, Envelope) {
    let rk = RecordKey::from_bytes(seq(0x30));
    let mut body = RecordBody::new(RecordType::Login, "Mail account");
    body.set_field("password", "correct horse battery staple")
        .unwrap();
    let v1 = Envelope::seal_with_nonces(
        &rk,
        VersionHeader::first(record_id(), Author::Owner),
        &body,
        seq(0xb0),
        seq(0xb1),
    )
    .unwrap();
    body.set_field("password", "set by the recipient").unwrap();
    let v2 = Envelope::seal_with_nonces(
        &rk,
        VersionHeader::next(&v1, 1, Author::Share(keys().share_id())),
        &body,
        seq(0xb2),
        seq(0xb3),
    )
    .unwrap();
    (v1, v2)
}

/// The device's signature over v2: the one already in the file if it still verifies (signatures are
/// randomised), otherwise a fresh one.
fn edit_signature(v2: &Envelope) -> [u8; 64] {
    let public = DevicePublicKey::from_sec1(&unhex(FIXED_DEVICE_PUBLIC)).unwrap();
    let existing = std::fs::read_to_string(vectors_dir().join("attribution.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|doc| {
            doc["cases"]
                .as_array()?
                .iter()
                .find(|c| c["name"] == SIGNED_CASE)?["proof"]
                .as_str()
                .map(unhex)
        });
    if let Some(sig) = existing.filter(|s| v2.verify_edit(&public, s).is_ok()) {
        return sig.try_into().unwrap();
    }
    v2.sign_edit(&fixed_device()).unwrap()
}

/// `S ‖ S′` sealed under DK with a fixed nonce: with AAD `share-grant` for `(record, editable)`, or with the
/// earlier AAD `share-secret` when `grant` is None.
fn owner_secret(keys: &ShareKeys, grant: Option<(Id, bool)>, nonce: u8) -> Vec<u8> {
    let mut plain = keys.secret().expose().to_vec();
    plain.extend_from_slice(keys.root().expose());
    let share_id = keys.share_id();
    let ad = match grant {
        Some((record, editable)) => aad(
            AadKind::ShareGrant,
            &[
                share_id.as_bytes(),
                record.as_bytes(),
                &[u8::from(editable)],
            ],
        ),
        None => aad(AadKind::ShareSecret, &[share_id.as_bytes()]),
    };
    seal_with_nonce(&Key32::from_bytes(dk()), seq(nonce), &plain, &ad).unwrap()
}

fn generate() -> Vec<Value> {
    let (v1, v2) = versions();
    let keys = keys();
    let share_id = keys.share_id();
    let device = unhex(FIXED_DEVICE_PUBLIC);
    let tag = keys.bind_key().bind_tag(&share_id, &device);
    let signature = edit_signature(&v2);
    let owner_tag = v1.owner_tag(&DataKey::from_bytes(dk()).owner_key());
    let editable = owner_secret(&keys, Some((record_id(), true)), 0xe0);

    let listed = |secret: &[u8], device_key: Option<&[u8]>, bind_tag: Option<&[u8]>| {
        json!({"share_id": hex(share_id.as_bytes()), "owner_secret": hex(secret),
            "device_key": device_key.map(hex), "bind_tag": bind_tag.map(hex)})
    };
    let case = |name: &str,
                env: &Envelope,
                proof: &[u8],
                author: Value,
                ended_after: Option<u64>,
                outcome: Result<Value, &str>| {
        let mut c = json!({"name": name, "dk": hex(dk()), "record_id": record_id().to_string(),
            "envelope": hex(env.to_bytes()), "proof": hex(proof), "server_author": author,
            "ended_after": ended_after});
        match outcome {
            Ok(a) => {
                c["valid"] = json!(true);
                c["attribution"] = a;
            }
            Err(kind) => {
                c["valid"] = json!(false);
                c["error"] = json!(kind);
            }
        }
        c
    };
    let good = json!({"share": listed(&editable, Some(&device), Some(&tag))});
    let recipient = json!({"recipient": fingerprint(&device)});
    let with_secret =
        |secret: Vec<u8>| json!({"share": listed(&secret, Some(&device), Some(&tag))});

    let mut other_share = listed(&editable, Some(&device), Some(&tag));
    other_share["share_id"] = json!(hex(seq::<16>(0x21)));
    let mut other_device = device.clone();
    other_device[64] ^= 1;
    // Not a point on the curve, with a bind tag that does verify over those bytes.
    let mut not_a_point = vec![0x04];
    not_a_point.extend_from_slice(&[0u8; 64]);
    let bad_point_tag = keys.bind_key().bind_tag(&share_id, &not_a_point);
    let mut flipped = signature;
    flipped[10] ^= 0x01;

    vec![
        case(
            "owner version",
            &v1,
            &owner_tag,
            json!("owner"),
            None,
            Ok(json!("owner")),
        ),
        case(
            "owner version, tag under another key",
            &v1,
            &[0x5a; 32],
            json!("owner"),
            None,
            Err("owner_tag"),
        ),
        case(
            "the server says a share wrote an owner version",
            &v1,
            &owner_tag,
            good.clone(),
            None,
            Err("author_mismatch"),
        ),
        case(
            "the server says the owner wrote a recipient version",
            &v2,
            &signature,
            json!("owner"),
            None,
            Err("author_mismatch"),
        ),
        case(
            SIGNED_CASE,
            &v2,
            &signature,
            good.clone(),
            None,
            Ok(recipient.clone()),
        ),
        case(
            "the share is not listed",
            &v2,
            &signature,
            json!({"share": null}),
            None,
            Err("unknown_share"),
        ),
        case(
            "the listed share has another share id",
            &v2,
            &signature,
            json!({"share": other_share}),
            None,
            Err("wrong_share"),
        ),
        case(
            "a read-only share (the server says editable)",
            &v2,
            &signature,
            with_secret(owner_secret(&keys, Some((record_id(), false)), 0xe1)),
            None,
            Err("read_only"),
        ),
        case(
            "a share of another record",
            &v2,
            &signature,
            with_secret(owner_secret(
                &keys,
                Some((Id::from_bytes(seq(0x11)), true)),
                0xe2,
            )),
            None,
            Err("share_facts"),
        ),
        case(
            "a share sealed before share facts",
            &v2,
            &signature,
            with_secret(owner_secret(&keys, None, 0xe3)),
            None,
            Err("legacy_share"),
        ),
        case(
            "the share ended before this version",
            &v2,
            &signature,
            good.clone(),
            Some(1),
            Err("share_ended"),
        ),
        case(
            "the share ended after this version",
            &v2,
            &signature,
            good.clone(),
            Some(2),
            Ok(recipient),
        ),
        case(
            "no device opened the share",
            &v2,
            &signature,
            json!({"share": listed(&editable, None, None)}),
            None,
            Err("not_opened"),
        ),
        case(
            "the bind tag is for another device key",
            &v2,
            &signature,
            json!({"share": listed(&editable, Some(&other_device), Some(&tag))}),
            None,
            Err("bind_tag"),
        ),
        case(
            "the device key is not a point",
            &v2,
            &signature,
            json!({"share": listed(&editable, Some(&not_a_point), Some(&bad_point_tag))}),
            None,
            Err("bad_device_key"),
        ),
        case(
            "the proof is not the device's signature",
            &v2,
            &flipped,
            good,
            None,
            Err("edit_signature"),
        ),
    ]
}

/// A listed share read from a case: share id, owner secret, device key, bind tag.
type Listed = (ShareId, Vec<u8>, Option<Vec<u8>>, Option<Vec<u8>>);

fn opt_bytes(v: &Value) -> Option<Vec<u8>> {
    v.as_str().map(unhex)
}

fn check(case: &Case) {
    let dk = DataKey::from_bytes(case.array("dk"));
    let record = Id::try_parse(case.str("record_id")).unwrap();
    let envelope = Envelope::parse(&case.bytes("envelope")).unwrap();
    let proof = case.bytes("proof");
    let ended_after = case.get("ended_after").as_u64();
    let server = case.get("server_author");
    let listed: Option<Listed> = server["share"].as_object().map(|s| {
        (
            ShareId::from_bytes(unhex(s["share_id"].as_str().unwrap()).try_into().unwrap()),
            unhex(s["owner_secret"].as_str().unwrap()),
            opt_bytes(&s["device_key"]),
            opt_bytes(&s["bind_tag"]),
        )
    });
    let author = if server == "owner" {
        ServerAuthor::Owner
    } else {
        ServerAuthor::Share(listed.as_ref().map(|(id, secret, key, tag)| ListedShare {
            share_id: *id,
            owner_secret: secret,
            device_key: key.as_deref(),
            bind_tag: tag.as_deref(),
        }))
    };
    let result = attribute(&dk, &record, &envelope, &proof, author, ended_after);
    if !case.valid() {
        match result {
            Ok(a) => panic!("expected {:?}, got {a:?}", case.error()),
            Err(reason) => assert_eq!(reason.kind(), case.error()),
        }
        return;
    }
    let got = match result.unwrap() {
        Attribution::Owner => json!("owner"),
        Attribution::Recipient { fingerprint } => json!({ "recipient": fingerprint }),
    };
    assert_eq!(&got, case.get("attribution"));
}

#[test]
fn vectors() {
    run_area(
        "attribution",
        "The owner's client's attribution of a version: owner tag, or a recipient's signature through an editable share of this record (sealed share facts), opened by a device whose bind tag verifies, and not remembered as ended before that version (docs/protocol.md §7.5).",
        generate,
        check,
    );
}
