//! `keys.json`: key wrapping (docs/protocol.md §2.2, §3.1). Sealed boxes are `nonce ‖ ciphertext ‖ tag`.
//!
//! - `"op": "data_key"`: `wk`, `r16`, `wrapped` → `dk` (AAD data-key(r16)).
//! - `"op": "record_key_owner"`: `dk`, `record_id`, `k`, `wrapped` → `rk` (AAD record-key(record_id, k)).
//! - `"op": "record_key_share"`: `sk`, `share_id`, `record_id`, `k`, `wrapped` → `rk`
//!   (AAD share-record-key(share_id, record_id, k)).
//! - `"op": "owner_key"`: `dk` → `k_own`.
//!
//! Positive wrap cases also give the `nonce` and the `aad`, so a writer can reproduce `wrapped` exactly.
//! Negative cases must fail to unwrap with `decrypt`.

use crate::common::{Case, expect_error, hex, run_area, seq};
use serde_json::{Value, json};
use sharelock_core::account::{DataKey, RecordKey, WrapKey};
use sharelock_core::crypto::{AadKind, Key32, aad, seal_with_nonce};
use sharelock_core::encoding::Id;
use sharelock_core::share::{ShareId, ShareKey};

const WK: u8 = 0x60;
const DK: u8 = 0x80;
const RK: u8 = 0xa0;
const SK: u8 = 0xc0;
const R16: u8 = 0x00;
const RECORD_ID: u8 = 0x10;
const SHARE_ID: u8 = 0x20;

fn wrap(key: [u8; 32], nonce: [u8; 12], plain: [u8; 32], ad: &[u8]) -> Vec<u8> {
    seal_with_nonce(&Key32::from_bytes(key), nonce, &plain, ad).unwrap()
}

fn flip(mut bytes: Vec<u8>, byte: usize, bit: u8) -> Vec<u8> {
    bytes[byte] ^= 1 << bit;
    bytes
}

fn generate() -> Vec<Value> {
    let (wk, dk, rk, sk) = (seq::<32>(WK), seq::<32>(DK), seq::<32>(RK), seq::<32>(SK));
    let (r16, record_id, share_id) = (seq::<16>(R16), seq::<16>(RECORD_ID), seq::<16>(SHARE_ID));
    let k = 2u64;

    let dk_aad = aad(AadKind::DataKey, &[&r16]);
    let dk_wrapped = wrap(wk, seq(0xe0), dk, &dk_aad);
    let rk_aad = aad(AadKind::RecordKey, &[&record_id, &k.to_be_bytes()]);
    let rk_wrapped = wrap(dk, seq(0xe1), rk, &rk_aad);
    let srk_aad = aad(
        AadKind::ShareRecordKey,
        &[&share_id, &record_id, &k.to_be_bytes()],
    );
    let srk_wrapped = wrap(sk, seq(0xe2), rk, &srk_aad);
    let k_own = sharelock_core::crypto::hkdf(&dk, &[b"sharelock/v1/owner-auth"]);

    let dk_case = |name: &str, key: [u8; 32], r: [u8; 16], wrapped: &[u8], valid: bool| {
        let mut c = json!({"name": name, "valid": valid, "op": "data_key", "wk": hex(key), "r16": hex(r),
            "wrapped": hex(wrapped)});
        if valid {
            c["dk"] = json!(hex(dk));
            c["nonce"] = json!(hex(&wrapped[..12]));
            c["aad"] = json!(hex(&dk_aad));
        } else {
            c["error"] = json!("decrypt");
        }
        c
    };
    let rk_case = |name: &str,
                   key: [u8; 32],
                   rid: [u8; 16],
                   k: u64,
                   wrapped: &[u8],
                   valid: bool| {
        let mut c = json!({"name": name, "valid": valid, "op": "record_key_owner", "dk": hex(key),
            "record_id": Id::from_bytes(rid).to_string(), "k": k, "wrapped": hex(wrapped)});
        if valid {
            c["rk"] = json!(hex(rk));
            c["nonce"] = json!(hex(&wrapped[..12]));
            c["aad"] = json!(hex(&rk_aad));
        } else {
            c["error"] = json!("decrypt");
        }
        c
    };
    let srk_case = |name: &str,
                    key: [u8; 32],
                    sid: [u8; 16],
                    k: u64,
                    wrapped: &[u8],
                    valid: bool| {
        let mut c = json!({"name": name, "valid": valid, "op": "record_key_share", "sk": hex(key),
            "share_id": hex(sid), "record_id": Id::from_bytes(record_id).to_string(), "k": k,
            "wrapped": hex(wrapped)});
        if valid {
            c["rk"] = json!(hex(rk));
            c["nonce"] = json!(hex(&wrapped[..12]));
            c["aad"] = json!(hex(&srk_aad));
        } else {
            c["error"] = json!("decrypt");
        }
        c
    };
    let last = dk_wrapped.len() - 1;
    vec![
        dk_case("data key wrapped by WK", wk, r16, &dk_wrapped, true),
        dk_case(
            "data key: wrong WK (wrong password)",
            seq(WK + 1),
            r16,
            &dk_wrapped,
            false,
        ),
        dk_case(
            "data key: another account's r16 (wrong AAD)",
            wk,
            seq(R16 + 1),
            &dk_wrapped,
            false,
        ),
        dk_case(
            "data key: flipped tag bit",
            wk,
            r16,
            &flip(dk_wrapped.clone(), last, 7),
            false,
        ),
        dk_case(
            "data key: flipped nonce bit",
            wk,
            r16,
            &flip(dk_wrapped.clone(), 0, 0),
            false,
        ),
        dk_case(
            "data key: truncated box",
            wk,
            r16,
            &dk_wrapped[..last],
            false,
        ),
        rk_case(
            "record key wrapped by DK",
            dk,
            record_id,
            k,
            &rk_wrapped,
            true,
        ),
        rk_case(
            "record key: wrong DK",
            seq(DK + 1),
            record_id,
            k,
            &rk_wrapped,
            false,
        ),
        rk_case(
            "record key: other generation k (wrong AAD)",
            dk,
            record_id,
            k + 1,
            &rk_wrapped,
            false,
        ),
        rk_case(
            "record key: other record (wrong AAD)",
            dk,
            seq(RECORD_ID + 1),
            k,
            &rk_wrapped,
            false,
        ),
        rk_case(
            "record key: flipped ciphertext bit",
            dk,
            record_id,
            k,
            &flip(rk_wrapped.clone(), 20, 3),
            false,
        ),
        srk_case(
            "record key wrapped by SK",
            sk,
            share_id,
            k,
            &srk_wrapped,
            true,
        ),
        srk_case(
            "share record key: wrong SK",
            seq(SK + 1),
            share_id,
            k,
            &srk_wrapped,
            false,
        ),
        srk_case(
            "share record key: other share (wrong AAD)",
            sk,
            seq(SHARE_ID + 1),
            k,
            &srk_wrapped,
            false,
        ),
        srk_case(
            "share record key: flipped tag bit",
            sk,
            share_id,
            k,
            &flip(srk_wrapped.clone(), last, 0),
            false,
        ),
        // The owner's wrap opened as a share wrap under the same key bytes: the kinds keep them apart.
        srk_case(
            "share record key: owner's box under the same key bytes",
            dk,
            share_id,
            k,
            &rk_wrapped,
            false,
        ),
        json!({"name": "owner key from DK", "valid": true, "op": "owner_key", "dk": hex(dk),
            "k_own": hex(k_own.expose())}),
    ]
}

fn record_id(case: &Case) -> Id {
    let text = case.str("record_id");
    let id = Id::try_parse(text).unwrap();
    assert_eq!(
        id.to_string(),
        text,
        "record ids are lowercase hyphenated UUIDs"
    );
    id
}

fn check(case: &Case) {
    match case.str("op") {
        "data_key" => {
            let got = WrapKey::from_bytes(case.array("wk"))
                .unwrap_data_key(&case.bytes("wrapped"), &case.array("r16"));
            if case.valid() {
                assert_eq!(hex(got.unwrap().expose()), case.str("dk"));
                let again = seal_with_nonce(
                    &Key32::from_bytes(case.array("wk")),
                    case.array("nonce"),
                    &case.bytes("dk"),
                    &case.bytes("aad"),
                );
                assert_eq!(hex(again.unwrap()), case.str("wrapped"));
                assert_eq!(
                    hex(aad(AadKind::DataKey, &[&case.bytes("r16")])),
                    case.str("aad")
                );
            } else {
                expect_error(case, got);
            }
        }
        "record_key_owner" => {
            let dk = DataKey::from_bytes(case.array("dk"));
            let got = RecordKey::unwrap_for_owner(
                &dk,
                &case.bytes("wrapped"),
                &record_id(case),
                case.u64("k"),
            );
            if case.valid() {
                assert_eq!(hex(got.unwrap().expose()), case.str("rk"));
                let ad = aad(
                    AadKind::RecordKey,
                    &[record_id(case).as_bytes(), &case.u64("k").to_be_bytes()],
                );
                assert_eq!(hex(&ad), case.str("aad"));
                let again = seal_with_nonce(
                    &Key32::from_bytes(case.array("dk")),
                    case.array("nonce"),
                    &case.bytes("rk"),
                    &ad,
                );
                assert_eq!(hex(again.unwrap()), case.str("wrapped"));
            } else {
                expect_error(case, got);
            }
        }
        "record_key_share" => {
            let sk = ShareKey::from_bytes(case.array("sk"));
            let share_id = ShareId::from_bytes(case.array("share_id"));
            let got = RecordKey::unwrap_for_share(
                &sk,
                &case.bytes("wrapped"),
                &share_id,
                &record_id(case),
                case.u64("k"),
            );
            if case.valid() {
                assert_eq!(hex(got.unwrap().expose()), case.str("rk"));
                let ad = aad(
                    AadKind::ShareRecordKey,
                    &[
                        share_id.as_bytes(),
                        record_id(case).as_bytes(),
                        &case.u64("k").to_be_bytes(),
                    ],
                );
                assert_eq!(hex(&ad), case.str("aad"));
                let again = seal_with_nonce(
                    &Key32::from_bytes(case.array("sk")),
                    case.array("nonce"),
                    &case.bytes("rk"),
                    &ad,
                );
                assert_eq!(hex(again.unwrap()), case.str("wrapped"));
            } else {
                expect_error(case, got);
            }
        }
        "owner_key" => {
            assert_eq!(
                hex(DataKey::from_bytes(case.array("dk")).owner_key().expose()),
                case.str("k_own")
            );
        }
        other => panic!("unknown op {other}"),
    }
}

#[test]
fn vectors() {
    run_area(
        "keys",
        "Key wrapping: DK under WK, RK_k under DK and under SK, K_own from DK; wrong keys, wrong AAD and flipped bits must fail (docs/protocol.md §2.2, §3.1).",
        generate,
        check,
    );
}
