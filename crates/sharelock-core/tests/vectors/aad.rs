//! `aad.json`: the associated data of every kind, `"sharelock/v1/" ‖ kind ‖ 0x00 ‖ fields`.
//!
//! Case: `kind`, `fields` (a list of `{"name", "hex"}` in order), `aad` (hex). All positive.

use crate::common::{Case, hex, run_area, seq, unhex};
use serde_json::{Value, json};
use sharelock_core::crypto::{AadKind, aad};

const KINDS: [AadKind; 10] = [
    AadKind::DataKey,
    AadKind::RecordKey,
    AadKind::ShareRecordKey,
    AadKind::ShareSecret,
    AadKind::ShareGrant,
    AadKind::ShareLabel,
    AadKind::ShareRequest,
    AadKind::SharePreface,
    AadKind::Record,
    AadKind::RecordSummary,
];

fn kind_of(label: &str) -> AadKind {
    KINDS
        .into_iter()
        .find(|k| k.label() == label)
        .unwrap_or_else(|| panic!("unknown kind {label:?}"))
}

fn fields_of(kind: AadKind) -> Vec<(&'static str, Vec<u8>)> {
    let r16 = seq::<16>(0x00).to_vec();
    let record_id = seq::<16>(0x10).to_vec();
    let share_id = seq::<16>(0x20).to_vec();
    let k = 3u64.to_be_bytes().to_vec();
    let v = 7u64.to_be_bytes().to_vec();
    let prev = seq::<32>(0x40).to_vec();
    let mut author = vec![0x01];
    author.extend_from_slice(&share_id);
    match kind {
        AadKind::DataKey => vec![("r16", r16)],
        AadKind::RecordKey => vec![("record_id", record_id), ("u64(k)", k)],
        AadKind::ShareRecordKey => vec![
            ("share_id", share_id),
            ("record_id", record_id),
            ("u64(k)", k),
        ],
        AadKind::ShareSecret | AadKind::ShareLabel | AadKind::SharePreface => {
            vec![("share_id", share_id)]
        }
        AadKind::ShareRequest => vec![
            ("share_id", share_id),
            ("u32(max_answers)", 3u32.to_be_bytes().to_vec()),
        ],
        AadKind::ShareGrant => vec![
            ("share_id", share_id),
            ("record_id", record_id),
            ("u8(editable)", vec![1]),
        ],
        AadKind::Record | AadKind::RecordSummary => vec![
            ("record_id", record_id),
            ("u64(k)", k),
            ("u64(v)", v),
            ("prev", prev),
            ("author", author),
        ],
    }
}

fn generate() -> Vec<Value> {
    KINDS
        .into_iter()
        .map(|kind| {
            let fields = fields_of(kind);
            let parts: Vec<&[u8]> = fields.iter().map(|(_, b)| b.as_slice()).collect();
            json!({
                "name": kind.label(),
                "valid": true,
                "kind": kind.label(),
                "fields": fields.iter().map(|(n, b)| json!({"name": n, "hex": hex(b)})).collect::<Vec<_>>(),
                "aad": hex(aad(kind, &parts)),
            })
        })
        .collect()
}

fn check(case: &Case) {
    let kind = kind_of(case.str("kind"));
    let fields: Vec<Vec<u8>> = case
        .get("fields")
        .as_array()
        .unwrap()
        .iter()
        .map(|f| unhex(f["hex"].as_str().unwrap()))
        .collect();
    let parts: Vec<&[u8]> = fields.iter().map(Vec::as_slice).collect();
    let expected = case.bytes("aad");
    assert_eq!(aad(kind, &parts), expected);
    // The layout, spelled out: prefix, kind, one zero byte, then the fields.
    let mut manual = b"sharelock/v1/".to_vec();
    manual.extend_from_slice(case.str("kind").as_bytes());
    manual.push(0);
    fields.iter().for_each(|f| manual.extend_from_slice(f));
    assert_eq!(manual, expected);
}

#[test]
fn vectors() {
    run_area(
        "aad",
        "Associated data of every kind: \"sharelock/v1/\" || kind || 0x00 || fields (docs/protocol.md §1).",
        generate,
        check,
    );
}
