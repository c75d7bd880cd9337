//! `record.json`: record bodies, summaries and padding (docs/protocol.md §3.3).
//!
//! - `"op": "body"` (positive): `body_json` → decodes; `summary_json` is its summary; `padded` is
//!   `pad256(body_json)`. The code re-encodes `body_json` byte for byte.
//! - `"op": "read_body"` (positive): `body_json` is valid JSON no writer emits (white space, another key order,
//!   escapes); it decodes, and re-encoding gives `canonical_json`.
//! - `"op": "decode_body"` / `"op": "decode_summary"` (negative): the JSON (given as `body_json`, or as
//!   `body_json_template` plus `fill` for huge inputs) must be refused with `error`.
//! - `"op": "unpad"`: `padded` → `data`, or refused with `error`.

use crate::common::{Case, expect_kind, hex, run_area};
use serde_json::{Value, json};
use sharelock_core::encoding::Id;
use sharelock_core::record::{
    FieldKind, FileKey, FileRef, RecordBody, RecordError, RecordType, Summary, pad256, unpad256,
};

fn file(id: u8, name: &str, mime: &str, size: u64) -> FileRef {
    FileRef {
        id: Id::from_bytes([id; 16]),
        name: name.into(),
        mime: mime.into(),
        size,
        key: FileKey::from_bytes([id.wrapping_add(1); 32]),
        sha256: [id.wrapping_add(2); 32],
    }
}

fn bodies() -> Vec<(&'static str, RecordBody)> {
    let mut login = RecordBody::new(RecordType::Login, "Mail account");
    login.set_field("username", "ada@example.org").unwrap();
    login
        .set_field("password", "correct horse battery staple")
        .unwrap();
    login
        .set_field("url", "https://mail.example.org/login")
        .unwrap();
    login
        .set_field(
            "totp",
            "otpauth://totp/Example:ada@example.org?secret=JBSWY3DPEHPK3PXP&issuer=Example",
        )
        .unwrap();
    login
        .set_field("recovery email", "backup@example.net")
        .unwrap();
    login.notes = "Security questions: see the safe.".into();
    login
        .files
        .push(file(0x11, "recovery-codes.pdf", "application/pdf", 48_213));

    let mut card = RecordBody::new(RecordType::Card, "Visa \u{2022}\u{2022}4242");
    card.set_field("cardholder", "ADA LOVELACE").unwrap();
    card.set_field("number", "4242 4242 4242 4242").unwrap();
    card.set_field("expiry", "2029-04").unwrap();
    card.set_field("cvv", "123").unwrap();
    card.set_field("pin", "0000").unwrap();

    let mut ssh = RecordBody::new(RecordType::Ssh, "build server");
    ssh.set_field("hostname", "build.internal").unwrap();
    ssh.set_field("username", "deploy").unwrap();
    ssh.set_field(
        "private_key",
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
    )
    .unwrap();
    ssh.set_field(
        "public_key",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI deploy@build\r\n",
    )
    .unwrap();
    ssh.set_field("passphrase", "").unwrap();

    let mut note = RecordBody::new(RecordType::Note, "Gr\u{fc}\u{df}e \u{1f510}");
    note.notes =
        "Zeile 1\r\nZeile 2\twith a tab\n\u{65e5}\u{672c}\u{8a9e}, \"quotes\" and \\ backslash"
            .into();

    let mut wifi = RecordBody::new(RecordType::Wifi, "Home network");
    wifi.set_field("ssid", "\u{1f3e0} home").unwrap();
    wifi.set_field("password", "  spaces are kept  ").unwrap();
    wifi.set_field("security", "WPA3").unwrap();

    let mut bank = RecordBody::new(RecordType::Bank, "Current account");
    bank.set_field("iban", "DE89 3704 0044 0532 0130 00")
        .unwrap();
    bank.set_field("bank", "Example Bank").unwrap();
    bank.set_field_with_kind("hotline", FieldKind::Phone, "+49 (0)30 123-456.7")
        .unwrap();
    bank.set_field_with_kind("advisor", FieldKind::Email, "advisor@bank.example")
        .unwrap();
    bank.set_field_with_kind("opened", FieldKind::Date, "2024-02-29")
        .unwrap();

    let mut files = RecordBody::new(RecordType::File, "Scans");
    files
        .files
        .push(file(0x21, "passport.jpg", "image/jpeg", 1_204_111));
    files.files.push(file(0x31, "empty.txt", "", 0));

    let general = RecordBody::new(RecordType::General, "x");
    vec![
        ("login with one-time code, custom field and a file", login),
        ("card", card),
        ("ssh key with multi-line values", ssh),
        ("note with non-ASCII text, CRLF and escapes", note),
        ("wifi, subtitle from the first text field", wifi),
        ("bank with custom phone, email and date fields", bank),
        ("file record with two files", files),
        ("smallest body", general),
    ]
}

/// A body around raw JSON fragments (built as text, so the vector's bytes never depend on a JSON library).
fn raw(fields: &str, notes: &str, files: &str) -> String {
    format!(
        r#"{{"type":"general","title":"T","fields":[{fields}],"notes":"{notes}","files":[{files}]}}"#
    )
}

fn field(name: &str, kind: &str, value: &str) -> String {
    format!(r#"{{"name":"{name}","kind":"{kind}","value":"{value}"}}"#)
}

const FILE_ID: &str = "11111111-1111-4111-8111-111111111111";
const KEY: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE";

fn file_json(id: &str, name: &str, mime: &str, size: &str, key: &str, hash: &str) -> String {
    format!(
        r#"{{"id":"{id}","name":"{name}","mime":"{mime}","size":{size},"key":"{key}","sha256":"{hash}"}}"#
    )
}

fn ok_file(name: &str) -> String {
    file_json(FILE_ID, name, "text/plain", "1", KEY, KEY)
}

fn generate() -> Vec<Value> {
    let mut cases: Vec<Value> = bodies()
        .into_iter()
        .map(|(name, b)| {
            let json = b.to_json().unwrap();
            json!({
                "name": name,
                "valid": true,
                "op": "body",
                "body_json": String::from_utf8(json.clone()).unwrap(),
                "summary_json": String::from_utf8(b.summary().to_json().unwrap()).unwrap(),
                "padded": hex(pad256(&json)),
            })
        })
        .collect();

    let bad = |name: &str, json: String, error: &str| json!({"name": name, "valid": false, "error": error, "op": "decode_body", "body_json": json});
    let huge = |name: &str, template: String, count: usize, error: &str| {
        json!({"name": name, "valid": false, "error": error, "op": "decode_body", "body_json_template": template,
            "fill": {"placeholder": "@@", "char": "x", "count": count}})
    };
    let t = field("a", "text", "v");
    let many_fields: Vec<String> = (0..129)
        .map(|i| field(&format!("f{i}"), "text", ""))
        .collect();
    let many_files: Vec<String> = (0..65)
        .map(|i| {
            file_json(
                &format!("11111111-1111-4111-8111-{i:012}"),
                "f",
                "",
                "1",
                KEY,
                KEY,
            )
        })
        .collect();
    let nine_big: Vec<String> = (0..9)
        .map(|i| field(&format!("f{i}"), "multiline", "@@"))
        .collect();
    let negatives = vec![
        bad(
            "unknown key",
            raw(&t, "", "").replacen('{', r#"{"extra":1,"#, 1),
            "json",
        ),
        bad(
            "missing key",
            r#"{"type":"note","title":"T","fields":[],"notes":""}"#.into(),
            "json",
        ),
        bad(
            "repeated key",
            raw(&t, "", "").replacen('{', r#"{"title":"U","#, 1),
            "json",
        ),
        bad(
            "byte-order mark",
            format!("\u{feff}{}", raw("", "", "")),
            "json",
        ),
        bad("trailing characters", raw("", "", "") + "x", "json"),
        // JSON details a reader must not guess (docs/protocol.md §3.3).
        bad("lone high surrogate escape", raw("", "\\ud83d", ""), "json"),
        bad("lone low surrogate escape", raw("", "\\ude00", ""), "json"),
        bad(
            "high surrogate escape followed by a non-surrogate escape",
            raw("", "\\ud83d\\u0041", ""),
            "json",
        ),
        bad(
            "a form feed between tokens (not JSON white space)",
            raw("", "", "").replacen(',', ",\u{c}", 1),
            "json",
        ),
        bad(
            "raw TAB inside a string (must be escaped)",
            raw("", "a\tb", ""),
            "json",
        ),
        bad(
            "size with an exponent",
            raw("", "", &file_json(FILE_ID, "a", "", "1e3", KEY, KEY)),
            "json",
        ),
        bad(
            "size 2^64 (beyond an unsigned 64-bit integer)",
            raw(
                "",
                "",
                &file_json(FILE_ID, "a", "", "18446744073709551616", KEY, KEY),
            ),
            "json",
        ),
        bad(
            "size with a leading zero",
            raw("", "", &file_json(FILE_ID, "a", "", "01", KEY, KEY)),
            "json",
        ),
        bad(
            "negative size",
            raw("", "", &file_json(FILE_ID, "a", "", "-1", KEY, KEY)),
            "json",
        ),
        // serde reads a struct from a positional array too; the format allows objects only.
        bad(
            "body as an array",
            r#"["general","T",[],"",[]]"#.into(),
            "json",
        ),
        bad(
            "field as an array",
            raw(r#"["a","text","v"]"#, "", ""),
            "json",
        ),
        bad(
            "file as an array",
            raw(
                "",
                "",
                &format!(r#"["{FILE_ID}","a","",1,"{KEY}","{KEY}"]"#),
            ),
            "json",
        ),
        bad(
            "field with an unknown key",
            raw(
                r#"{"name":"a","kind":"text","value":"","hidden":true}"#,
                "",
                "",
            ),
            "json",
        ),
        bad(
            "size as a string",
            raw("", "", &file_json(FILE_ID, "a", "", "\"1\"", KEY, KEY)),
            "json",
        ),
        bad(
            "size with a fraction",
            raw("", "", &file_json(FILE_ID, "a", "", "1.5", KEY, KEY)),
            "json",
        ),
        bad(
            "unknown type",
            raw("", "", "").replace("general", "password"),
            "unknown_type",
        ),
        bad(
            "unknown kind",
            raw(&field("a", "pin", ""), "", ""),
            "unknown_kind",
        ),
        bad(
            "empty title",
            raw("", "", "").replace(r#""title":"T""#, r#""title":"""#),
            "title_length",
        ),
        bad(
            "257-byte title",
            raw("", "", "").replace(
                r#""title":"T""#,
                &format!(r#""title":"{}x""#, "\u{e9}".repeat(128)),
            ),
            "title_length",
        ),
        bad(
            "tab in title",
            raw("", "", "").replace(r#""title":"T""#, r#""title":"a\tb""#),
            "title_control",
        ),
        bad(
            "line separator in title",
            raw("", "", "").replace(r#""title":"T""#, "\"title\":\"a\u{2028}b\""),
            "title_control",
        ),
        bad(
            "empty field name",
            raw(&field("", "text", ""), "", ""),
            "field_name_length",
        ),
        bad(
            "65-byte field name",
            raw(&field(&"n".repeat(65), "text", ""), "", ""),
            "field_name_length",
        ),
        bad(
            "newline in field name",
            raw(&field(r"a\nb", "text", ""), "", ""),
            "field_name_control",
        ),
        bad(
            "repeated field name",
            raw(&format!("{t},{t}"), "", ""),
            "duplicate_field",
        ),
        huge(
            "value of 65537 bytes",
            raw(&field("a", "secret", "@@"), "", ""),
            65_537,
            "value_too_long",
        ),
        bad(
            "newline in a text value",
            raw(&field("a", "text", r"one\ntwo"), "", ""),
            "line_break",
        ),
        bad(
            "carriage return in a url",
            raw(&field("a", "url", r"https://x\r"), "", ""),
            "line_break",
        ),
        bad(
            "paragraph separator in an email",
            raw(&field("a", "email", "a@b\u{2029}"), "", ""),
            "line_break",
        ),
        bad(
            "escape character in a text value",
            raw(&field("a", "text", r"\u001b[2J"), "", ""),
            "value_control",
        ),
        bad(
            "NUL in a secret",
            raw(&field("a", "secret", r"x\u0000"), "", ""),
            "value_control",
        ),
        bad(
            "29 February of a common year",
            raw(&field("d", "date", "2023-02-29"), "", ""),
            "bad_date",
        ),
        bad(
            "month 13",
            raw(&field("d", "date", "2023-13"), "", ""),
            "bad_date",
        ),
        bad(
            "date with slashes",
            raw(&field("d", "date", "2023/01/02"), "", ""),
            "bad_date",
        ),
        bad(
            "hotp URI",
            raw(
                &field(
                    "o",
                    "otp",
                    "otpauth://hotp/x?secret=JBSWY3DPEHPK3PXP&counter=1",
                ),
                "",
                "",
            ),
            "bad_otp",
        ),
        bad(
            "URI without secret",
            raw(
                &field("o", "otp", "otpauth://totp/x?issuer=Example"),
                "",
                "",
            ),
            "bad_otp",
        ),
        bad(
            "impossible base32 length",
            raw(&field("o", "otp", "JBSWY3"), "", ""),
            "bad_otp",
        ),
        bad(
            "digits out of range",
            raw(
                &field("o", "otp", "otpauth://totp/x?secret=JBSWY3DP&digits=10"),
                "",
                "",
            ),
            "bad_otp",
        ),
        bad(
            "two @ in an email",
            raw(&field("e", "email", "a@b@c"), "", ""),
            "bad_email",
        ),
        bad(
            "no @ in an email",
            raw(&field("e", "email", "ada.example.org"), "", ""),
            "bad_email",
        ),
        bad(
            "letters in a phone number",
            raw(&field("p", "phone", "+1 555 CALL NOW"), "", ""),
            "bad_phone",
        ),
        bad(
            "129 fields",
            raw(&many_fields.join(","), "", ""),
            "too_many_fields",
        ),
        huge(
            "notes of 262145 bytes",
            raw("", "@@", ""),
            262_145,
            "notes_too_long",
        ),
        bad(
            "bell character in notes",
            raw("", r"ding\u0007", ""),
            "notes_control",
        ),
        bad(
            "65 files",
            raw("", "", &many_files.join(",")),
            "too_many_files",
        ),
        bad(
            "upper-case file id",
            raw(
                "",
                "",
                &file_json(&FILE_ID.replace('1', "A"), "a", "", "1", KEY, KEY),
            ),
            "bad_file_id",
        ),
        bad(
            "file id without hyphens",
            raw(
                "",
                "",
                &file_json(&FILE_ID.replace('-', ""), "a", "", "1", KEY, KEY),
            ),
            "bad_file_id",
        ),
        bad(
            "repeated file id",
            raw("", "", &format!("{},{}", ok_file("a"), ok_file("b"))),
            "duplicate_file_id",
        ),
        bad(
            "slash in a file name",
            raw("", "", &ok_file("../etc/passwd")),
            "bad_file_name",
        ),
        bad(
            "backslash in a file name",
            raw("", "", &ok_file(r"a\\b")),
            "bad_file_name",
        ),
        bad(
            "empty file name",
            raw("", "", &ok_file("")),
            "bad_file_name",
        ),
        bad(
            "256-byte file name",
            raw("", "", &ok_file(&"n".repeat(256))),
            "bad_file_name",
        ),
        bad(
            "newline in a file name",
            raw("", "", &ok_file(r"a\nb")),
            "bad_file_name",
        ),
        bad(
            "128-byte MIME type",
            raw(
                "",
                "",
                &file_json(FILE_ID, "a", &"m".repeat(128), "1", KEY, KEY),
            ),
            "bad_file_mime",
        ),
        bad(
            "non-ASCII MIME type",
            raw(
                "",
                "",
                &file_json(FILE_ID, "a", "text/\u{e9}", "1", KEY, KEY),
            ),
            "bad_file_mime",
        ),
        bad(
            "file size 2^53",
            raw(
                "",
                "",
                &file_json(FILE_ID, "a", "", "9007199254740992", KEY, KEY),
            ),
            "bad_file_size",
        ),
        bad(
            "31-byte file key",
            raw("", "", &file_json(FILE_ID, "a", "", "1", &KEY[..42], KEY)),
            "bad_file_key",
        ),
        bad(
            "file key with padding",
            raw(
                "",
                "",
                &file_json(FILE_ID, "a", "", "1", &format!("{KEY}="), KEY),
            ),
            "bad_file_key",
        ),
        bad(
            "33-byte file hash",
            raw(
                "",
                "",
                &file_json(FILE_ID, "a", "", "1", KEY, &format!("{KEY}AQ")),
            ),
            "bad_file_hash",
        ),
        huge(
            "body over 512 KiB",
            raw(&nine_big.join(","), "", ""),
            60_000,
            "too_large",
        ),
    ];
    cases.extend(negatives);

    // Valid JSON that writers never emit: readers accept it; re-encoding gives the canonical form.
    let read = |name: &str, json: &str| {
        let body = RecordBody::from_json(json.as_bytes()).unwrap();
        json!({"name": name, "valid": true, "op": "read_body", "body_json": json,
            "canonical_json": String::from_utf8(body.to_json().unwrap()).unwrap()})
    };
    cases.push(read(
        "white space between every token, and a final newline",
        " {\t\"type\" : \"note\" ,\r\n \"title\":\"T\", \"fields\":[ ],\"notes\":\"\",\"files\":[]}\n",
    ));
    cases.push(read(
        "keys in another order",
        r#"{"files":[],"notes":"n","fields":[{"value":"v","kind":"text","name":"a"}],"title":"T","type":"general"}"#,
    ));
    cases.push(read(
        "escapes: \\u0041, \\/ and a surrogate pair",
        r#"{"type":"note","title":"\u0041\/B \ud83d\ude00","fields":[],"notes":"","files":[]}"#,
    ));

    let summary = |name: &str, json: &str, error: &str| json!({"name": name, "valid": false, "error": error, "op": "decode_summary", "summary_json": json});
    cases.push(summary(
        "subtitle of 65 characters",
        &format!(
            r#"{{"type":"login","title":"T","subtitle":"{}"}}"#,
            "\u{e9}".repeat(65)
        ),
        "bad_subtitle",
    ));
    cases.push(summary(
        "summary with an unknown key",
        r#"{"type":"login","title":"T","subtitle":"","v":1}"#,
        "json",
    ));
    cases.push(summary(
        "summary as an array",
        r#"["login","T",""]"#,
        "json",
    ));
    cases.push(summary(
        "summary with an empty title",
        r#"{"type":"login","title":"","subtitle":""}"#,
        "title_length",
    ));

    let mut marker_only = vec![0u8; 256];
    marker_only[0] = 0x80;
    let mut wrong_last = pad256(b"abc");
    wrong_last[100] = 0x41;
    cases.extend([
        json!({"name": "unpad: data then marker", "valid": true, "op": "unpad", "padded": hex(pad256(b"abc")), "data": hex(b"abc")}),
        json!({"name": "unpad: marker only", "valid": true, "op": "unpad", "padded": hex(&marker_only), "data": ""}),
        json!({"name": "unpad: all zero", "valid": false, "error": "bad_padding", "op": "unpad", "padded": hex([0u8; 256])}),
        json!({"name": "unpad: non-zero byte after the marker", "valid": false, "error": "bad_padding", "op": "unpad",
            "padded": hex(&wrong_last)}),
        json!({"name": "unpad: 255 bytes", "valid": false, "error": "padding_length", "op": "unpad",
            "padded": hex(&pad256(b"abc")[..255])}),
        json!({"name": "unpad: empty", "valid": false, "error": "padding_length", "op": "unpad", "padded": ""}),
    ]);
    cases
}

fn kind(e: RecordError) -> String {
    e.kind().to_owned()
}

fn check(case: &Case) {
    match case.str("op") {
        "body" => {
            let json = case.str("body_json").as_bytes();
            let body = RecordBody::from_json(json).unwrap();
            assert_eq!(
                body.to_json().unwrap(),
                json,
                "re-encoding must give the same bytes"
            );
            assert_eq!(
                body.summary().to_json().unwrap(),
                case.str("summary_json").as_bytes()
            );
            let summary = Summary::from_json(case.str("summary_json").as_bytes()).unwrap();
            assert_eq!(summary, body.summary());
            assert_eq!(hex(pad256(json)), case.str("padded"));
            assert_eq!(unpad256(&case.bytes("padded")).unwrap(), json);
        }
        "read_body" => {
            let body = RecordBody::from_json(case.str("body_json").as_bytes()).unwrap();
            assert_eq!(
                String::from_utf8(body.to_json().unwrap()).unwrap(),
                case.str("canonical_json")
            );
        }
        "decode_body" => expect_kind(
            case,
            RecordBody::from_json(case.text("body_json").as_bytes()).map_err(kind),
        ),
        "decode_summary" => expect_kind(
            case,
            Summary::from_json(case.str("summary_json").as_bytes()).map_err(kind),
        ),
        "unpad" => {
            let padded = case.bytes("padded");
            let result = unpad256(&padded).map(<[u8]>::to_vec).map_err(kind);
            if case.valid() {
                assert_eq!(hex(result.unwrap()), case.str("data"));
            } else {
                expect_kind(case, result);
            }
        }
        other => panic!("unknown op {other}"),
    }
}

#[test]
fn vectors() {
    run_area(
        "record",
        "Record bodies and summaries as strict JSON, every validation rule failing once, and pad256 padding (docs/protocol.md §3.3).",
        generate,
        check,
    );
}
