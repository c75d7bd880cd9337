//! `request.json`: a request's sealed instructions (docs/protocol.md §4.5).
//!
//! - `"op": "open"`: `sk`, `share_id`, `max_answers` (as the server states it), `sealed` → `instructions`;
//!   positive cases also give `nonce` and `aad` (`share-request(share_id ‖ u32(max_answers))`), so a writer
//!   reproduces `sealed` from `pad256(UTF-8(instructions))`. Negative cases are refused with `decrypt` (another
//!   limit, share id or key, a flipped bit), `padding_length` / `bad_padding` (a box over unpadded or
//!   wrongly padded text), `notes_control` (a control character), `malformed` (not UTF-8, a limit outside
//!   1 … 100).
//! - `"op": "seal"`: `max_answers`, `instructions` (or `instructions_template` + `fill`) that a sender's
//!   client must refuse: `too_large` (over 4 096 bytes), `notes_control`, `malformed` (the limit).
//! - `"op": "box_len"`: `len` → whether a server accepts a box of that length (`28 + 256·n`, 1 ≤ n ≤ 17),
//!   else `malformed`.

use crate::common::{Case, expect_error, hex, run_area, seq};
use serde_json::{Value, json};
use sharelock_core::crypto::{Key32, seal_with_nonce};
use sharelock_core::record::pad256;
use sharelock_core::request::{is_box_len, open_request, request_aad, seal_request};
use sharelock_core::share::{LinkSecret, ShareId, ShareKey, ShareKeys};

#[test]
fn request() {
    run_area(
        "request",
        "A request's instructions, sealed under the share key with the number of answers (docs/protocol.md §4.5)",
        generate,
        check,
    );
}

fn generate() -> Vec<Value> {
    let keys = ShareKeys::derive(LinkSecret::from_bytes(seq(0x60)), None).unwrap();
    let other = ShareKeys::derive(LinkSecret::from_bytes(seq(0x80)), None).unwrap();
    let sk = keys.share_key().expose();
    let share_id = keys.share_id();
    let seal = |nonce: u8, max: u32, plain: &[u8]| {
        seal_with_nonce(
            &Key32::from_bytes(*sk),
            seq(nonce),
            plain,
            &request_aad(&share_id, max),
        )
        .unwrap()
    };
    let open_case = |name: &str, max: u32, instructions: &str, nonce: u8| {
        let sealed = seal(nonce, max, &pad256(instructions.as_bytes()));
        json!({"name": name, "valid": true, "op": "open", "s": hex(keys.secret().expose()), "sk": hex(sk),
            "share_id": hex(share_id.as_bytes()), "max_answers": max, "instructions": instructions,
            "nonce": hex(seq::<12>(nonce)), "aad": hex(request_aad(&share_id, max)), "sealed": hex(&sealed)})
    };
    let refused =
        |name: &str, error: &str, sk: &[u8; 32], share_id: &ShareId, max: u32, sealed: &[u8]| {
            json!({"name": name, "valid": false, "error": error, "op": "open", "sk": hex(sk),
            "share_id": hex(share_id.as_bytes()), "max_answers": max, "sealed": hex(sealed)})
        };
    let one = open_case(
        "one answer",
        1,
        "The Wi-Fi of the Lyon office, please.\r\nAnd the guest network\u{2019}s too.\t\u{263a}",
        0x01,
    );
    let sealed_one = seal(0x01, 1, &pad256(b"x"));
    let mut flipped = sealed_one.clone();
    flipped[20] ^= 0x01;
    let mut longest = open_case("4 096 bytes", 100, &"\u{e9}".repeat(2048), 0x03);
    longest["instructions_template"] = json!("<fill>");
    longest["fill"] = json!({"placeholder": "<fill>", "char": "\u{e9}", "count": 2048});
    longest.as_object_mut().unwrap().remove("instructions");
    let mut bad_marker = pad256(b"hello");
    bad_marker[5] = 0x81;
    let mut padded_control = pad256(b"line\x00");
    padded_control[4] = 0x07;
    vec![
        one,
        open_case("empty instructions, three answers", 3, "", 0x02),
        longest,
        refused(
            "another number of answers",
            "decrypt",
            sk,
            &share_id,
            2,
            &sealed_one,
        ),
        refused(
            "another share",
            "decrypt",
            sk,
            &other.share_id(),
            1,
            &sealed_one,
        ),
        refused(
            "another share key",
            "decrypt",
            other.share_key().expose(),
            &share_id,
            1,
            &sealed_one,
        ),
        refused("flipped bit", "decrypt", sk, &share_id, 1, &flipped),
        refused(
            "not padded",
            "padding_length",
            sk,
            &share_id,
            1,
            &seal(0x04, 1, b"hello"),
        ),
        refused(
            "bad padding marker",
            "bad_padding",
            sk,
            &share_id,
            1,
            &seal(0x05, 1, &bad_marker),
        ),
        refused(
            "a control character",
            "notes_control",
            sk,
            &share_id,
            1,
            &seal(0x06, 1, &padded_control),
        ),
        refused(
            "not UTF-8",
            "malformed",
            sk,
            &share_id,
            1,
            &seal(0x07, 1, &pad256(b"\xff\xfe")),
        ),
        refused(
            "no answers",
            "malformed",
            sk,
            &share_id,
            0,
            &seal(0x08, 0, &pad256(b"x")),
        ),
        refused(
            "101 answers",
            "malformed",
            sk,
            &share_id,
            101,
            &seal(0x09, 101, &pad256(b"x")),
        ),
        json!({"name": "seal: 4 097 bytes", "valid": false, "error": "too_large", "op": "seal", "max_answers": 1,
            "instructions_template": "<fill>x", "fill": {"placeholder": "<fill>", "char": "\u{e9}", "count": 2048}}),
        json!({"name": "seal: an escape character", "valid": false, "error": "notes_control", "op": "seal",
            "max_answers": 1, "instructions": "press \u{1b}[2J"}),
        json!({"name": "seal: a C1 control", "valid": false, "error": "notes_control", "op": "seal",
            "max_answers": 1, "instructions": "a\u{85}b"}),
        json!({"name": "seal: no answers", "valid": false, "error": "malformed", "op": "seal",
            "max_answers": 0, "instructions": "x"}),
        json!({"name": "seal: 101 answers", "valid": false, "error": "malformed", "op": "seal",
            "max_answers": 101, "instructions": "x"}),
        json!({"name": "box of one block", "valid": true, "op": "box_len", "len": 284}),
        json!({"name": "box of seventeen blocks", "valid": true, "op": "box_len", "len": 4380}),
        json!({"name": "box without a block", "valid": false, "error": "malformed", "op": "box_len", "len": 28}),
        json!({"name": "box of a block and a byte", "valid": false, "error": "malformed", "op": "box_len", "len": 285}),
        json!({"name": "box of eighteen blocks", "valid": false, "error": "malformed", "op": "box_len", "len": 4636}),
    ]
}

fn check(case: &Case) {
    match case.str("op") {
        "open" => {
            let sk = ShareKey::from_bytes(case.array("sk"));
            let share_id = ShareId::from_bytes(case.array("share_id"));
            let max = u32::try_from(case.u64("max_answers")).unwrap();
            let got = open_request(&sk, &share_id, max, &case.bytes("sealed"));
            if !case.valid() {
                return expect_error(case, got);
            }
            let instructions = case.text("instructions");
            assert_eq!(got.unwrap(), instructions);
            let keys = ShareKeys::derive(LinkSecret::from_bytes(case.array("s")), None).unwrap();
            assert_eq!(keys.share_key().expose(), &case.array::<32>("sk"));
            assert_eq!(keys.share_id(), share_id);
            assert_eq!(hex(request_aad(&share_id, max)), case.str("aad"));
            let again = seal_with_nonce(
                &Key32::from_bytes(case.array("sk")),
                case.array("nonce"),
                &pad256(instructions.as_bytes()),
                &request_aad(&share_id, max),
            )
            .unwrap();
            assert_eq!(hex(again), case.str("sealed"));
        }
        "seal" => {
            let keys = ShareKeys::derive(LinkSecret::from_bytes(seq(0x60)), None).unwrap();
            let max = u32::try_from(case.u64("max_answers")).unwrap();
            expect_error(
                case,
                seal_request(
                    keys.share_key(),
                    &keys.share_id(),
                    max,
                    &case.text("instructions"),
                ),
            );
        }
        "box_len" => {
            let ok = is_box_len(usize::try_from(case.u64("len")).unwrap());
            assert_eq!(ok, case.valid());
            if !ok {
                assert_eq!(case.error(), "malformed");
            }
        }
        other => panic!("unknown op {other}"),
    }
}
