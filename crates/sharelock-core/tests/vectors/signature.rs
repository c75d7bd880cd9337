//! `signature.json`: signed recipient requests, RFC 9421 in the profile of docs/protocol.md §5.2.
//!
//! Case: the request (`method`, `target_uri`, `share_header`, and with a body `content_type`, `body` as text
//! and `content_digest`), the verifier's `public_key` (SEC1 hex) and clock `now`, and the two headers
//! `signature_input` and `signature`. A verifier checks in the server's order (docs/protocol.md §5.2): parses
//! both signature headers, parses `content_digest`, verifies (keyid, body coverage, time window, signature over
//! the rebuilt base), and last hashes the body against `content_digest`. Positive cases also give
//! `signature_base`, `created`, `nonce` (hex) and `keyid`; negative cases the first failure's error kind.
//!
//! ECDSA signatures are randomised, so the two valid signatures below were made once with the fixed device key
//! ([`common::FIXED_DEVICE_PKCS8`](crate::common::FIXED_DEVICE_PKCS8)) and are verify-only.

use crate::common::{Case, FIXED_DEVICE_PUBLIC, error_kind, fixed_device, hex, run_area, unhex};
use serde_json::{Value, json};
use sharelock_core::Error;
use sharelock_core::device::DevicePublicKey;
use sharelock_core::encoding::{b64, b64_decode, b64u};
use sharelock_core::httpsig::{self, ParsedSignature, RequestParts};

const CREATED: i64 = 1_767_225_600;
const SHARE: &str = "ICEiIyQlJicoKSorLC0uLw";
const POST_URI: &str = "https://share.example/api/v1/recipient/edit";
const GET_URI: &str = "https://share.example/api/v1/recipient/share";
const BODY: &str = r#"{"base_version":1,"envelope":"U0xWMQ","signature":"AAAA"}"#;
const POST_NONCE: u8 = 0x70;
const GET_NONCE: u8 = 0x90;
/// Made once by `httpsig::sign` with the fixed device key over the POST request below.
const POST_SIG: &str =
    "i0Q4m/HPAchvcbFEmuuPCnWhiiDLq5cjZIpr71R43g6Mx0nqf2lfAnJBA+gOA4LuDcbBR66MnbukzzriAc9DXg==";
/// Made once by `httpsig::sign` with the fixed device key over the GET request below.
const GET_SIG: &str =
    "R5J3ofidXVo3nAzeT1EsnhhQYVJNhWzpgDH3HNa0AfGE/lW+37HVesiK5eMAN4m8mie8te8oBPo4TnWSZVyuAg==";
/// RFC 9421 B.1.3 `test-key-ecc-p256` (SubjectPublicKeyInfo, base64), standing in for "another device's key".
const OTHER_SPKI: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqIVYZVLCrPZHGHjP17CTW0/+D9Lfw0EkjqF7xB4FivAxzic30tMM4GF+hR6Dxh71Z50VGGdldkkDXZCnTNnoXQ==";
/// The order of the P-256 group.
const P256_N: &str = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";

fn nonce(start: u8) -> [u8; 16] {
    crate::common::seq::<16>(start)
}

/// The Signature-Input the fixed key produces for a request (deterministic; only the signature is random).
fn input_for(parts: &RequestParts, nonce: [u8; 16]) -> String {
    httpsig::sign(&fixed_device(), parts, CREATED, nonce)
        .unwrap()
        .signature_input
}

/// `r ‖ (n − s)`: the other valid encoding of the same ECDSA signature.
fn malleate(sig: &[u8]) -> Vec<u8> {
    let n = unhex(P256_N);
    let mut out = sig.to_vec();
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let d = i16::from(n[i]) - i16::from(sig[32 + i]) - borrow;
        borrow = i16::from(d < 0);
        out[32 + i] = (d + 256 * borrow) as u8;
    }
    out
}

struct Req {
    method: &'static str,
    uri: &'static str,
    body: Option<&'static str>,
}

const POST: Req = Req {
    method: "POST",
    uri: POST_URI,
    body: Some(BODY),
};
const GET: Req = Req {
    method: "GET",
    uri: GET_URI,
    body: None,
};

fn generate() -> Vec<Value> {
    let digest = httpsig::content_digest(BODY.as_bytes());
    let post_parts = RequestParts {
        method: "POST",
        target_uri: POST_URI,
        share_header: SHARE,
        content_type: Some("application/json"),
        content_digest: Some(&digest),
    };
    let get_parts = RequestParts {
        method: "GET",
        target_uri: GET_URI,
        share_header: SHARE,
        content_type: None,
        content_digest: None,
    };
    let post_in = input_for(&post_parts, nonce(POST_NONCE));
    let get_in = input_for(&get_parts, nonce(GET_NONCE));
    let post_sig = format!("sl=:{POST_SIG}:");
    let get_sig = format!("sl=:{GET_SIG}:");
    let keyid = fixed_device().keyid();

    let case = |name: &str, req: &Req, input: &str, sig: &str, now: i64| {
        let mut c = json!({
            "name": name,
            "valid": true,
            "method": req.method,
            "target_uri": req.uri,
            "share_header": SHARE,
            "public_key": FIXED_DEVICE_PUBLIC,
            "signature_input": input,
            "signature": sig,
            "now": now,
        });
        if let Some(body) = req.body {
            c["content_type"] = json!("application/json");
            c["body"] = json!(body);
            c["content_digest"] = json!(httpsig::content_digest(body.as_bytes()));
        }
        c
    };
    let ok = |name: &str, req: &Req, input: &str, sig: &str, now: i64, nonce_start: u8| {
        let mut c = case(name, req, input, sig, now);
        let parts = if req.body.is_some() {
            &post_parts
        } else {
            &get_parts
        };
        let parsed = ParsedSignature::parse(input, sig).unwrap();
        c["signature_base"] =
            json!(httpsig::signature_base(parts, parsed.signature_params()).unwrap());
        c["created"] = json!(CREATED);
        c["nonce"] = json!(hex(nonce(nonce_start)));
        c["keyid"] = json!(keyid);
        c
    };
    let bad = |name: &str, error: &str, mut c: Value| {
        c["name"] = json!(name);
        c["valid"] = json!(false);
        c["error"] = json!(error);
        c
    };

    let flipped = {
        let mut s = b64_decode("sig", POST_SIG).unwrap();
        s[10] ^= 0x01;
        format!("sl=:{}:", b64(&s))
    };
    let malleated = format!(
        "sl=:{}:",
        b64(&malleate(&b64_decode("sig", GET_SIG).unwrap()))
    );
    let post = |input: &str, sig: &str, now: i64| case("", &POST, input, sig, now);
    let get = |input: &str, sig: &str, now: i64| case("", &GET, input, sig, now);

    vec![
        ok(
            "request with a body",
            &POST,
            &post_in,
            &post_sig,
            CREATED,
            POST_NONCE,
        ),
        ok(
            "request without a body",
            &GET,
            &get_in,
            &get_sig,
            CREATED,
            GET_NONCE,
        ),
        ok(
            "created 60 s ago (oldest accepted)",
            &GET,
            &get_in,
            &get_sig,
            CREATED + 60,
            GET_NONCE,
        ),
        ok(
            "created 10 s ahead (latest accepted)",
            &GET,
            &get_in,
            &get_sig,
            CREATED - 10,
            GET_NONCE,
        ),
        ok(
            "malleated signature r || n-s also verifies (nothing is keyed on signature bytes)",
            &GET,
            &get_in,
            &malleated,
            CREATED,
            GET_NONCE,
        ),
        bad(
            "stale: created 61 s ago",
            "stale",
            get(&get_in, &get_sig, CREATED + 61),
        ),
        bad(
            "future: created 11 s ahead",
            "stale",
            get(&get_in, &get_sig, CREATED - 11),
        ),
        bad(
            "bad signature (one bit)",
            "verify",
            post(&post_in, &flipped, CREATED),
        ),
        bad(
            "signature of another request",
            "verify",
            post(&post_in, &get_sig, CREATED),
        ),
        bad("keyid does not name the bound key", "verify", {
            let mut c = post(&post_in, &post_sig, CREATED);
            let spki = b64_decode("spki", OTHER_SPKI).unwrap();
            c["public_key"] = json!(hex(&spki[spki.len() - 65..]));
            c
        }),
        bad("other target-uri", "verify", {
            let mut c = get(&get_in, &get_sig, CREATED);
            c["target_uri"] = json!("https://share.example/api/v1/recipient/end");
            c
        }),
        bad("other share header", "verify", {
            let mut c = get(&get_in, &get_sig, CREATED);
            c["share_header"] = json!("ICEiIyQlJicoKSorLC0uAA");
            c
        }),
        bad("body does not match content-digest", "verify", {
            let mut c = post(&post_in, &post_sig, CREATED);
            c["body"] = json!(BODY.replace("\"base_version\":1", "\"base_version\":2"));
            c
        }),
        bad("content-digest with only sha-512", "malformed", {
            let mut c = post(&post_in, &post_sig, CREATED);
            let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA512, BODY.as_bytes());
            c["content_digest"] = json!(format!("sha-512=:{}:", b64(d.as_ref())));
            c
        }),
        bad(
            "extra component",
            "malformed",
            post(
                &post_in.replace("\"content-type\")", "\"content-type\" \"date\")"),
                &post_sig,
                CREATED,
            ),
        ),
        bad(
            "missing component",
            "malformed",
            get(
                &get_in.replace(" \"sharelock-share\"", ""),
                &get_sig,
                CREATED,
            ),
        ),
        bad(
            "components out of order",
            "malformed",
            get(
                &get_in.replace("\"@method\" \"@target-uri\"", "\"@target-uri\" \"@method\""),
                &get_sig,
                CREATED,
            ),
        ),
        bad(
            "body signed without content-type and content-digest",
            "malformed",
            post(&get_in, &get_sig, CREATED),
        ),
        bad(
            "other alg",
            "malformed",
            get(
                &get_in.replace("ecdsa-p256-sha256", "ed25519"),
                &get_sig,
                CREATED,
            ),
        ),
        bad(
            "other tag",
            "malformed",
            get(
                &get_in.replace("sharelock/v1", "sharelock/v2"),
                &get_sig,
                CREATED,
            ),
        ),
        bad(
            "unknown parameter",
            "malformed",
            get(
                &format!("{get_in};expires={}", CREATED + 60),
                &get_sig,
                CREATED,
            ),
        ),
        bad(
            "missing nonce",
            "malformed",
            get(
                &get_in.replace(&format!(";nonce=\"{}\"", b64u(&nonce(GET_NONCE))), ""),
                &get_sig,
                CREATED,
            ),
        ),
        bad(
            "nonce of 15 bytes",
            "malformed",
            get(
                &get_in.replace(&b64u(&nonce(GET_NONCE)), &b64u(&nonce(GET_NONCE)[..15])),
                &get_sig,
                CREATED,
            ),
        ),
        bad(
            "other label",
            "malformed",
            get(
                &get_in.replacen("sl=", "sig1=", 1),
                &get_sig.replacen("sl=", "sig1=", 1),
                CREATED,
            ),
        ),
        bad(
            "a second signature",
            "malformed",
            get(
                &format!("{get_in}, sig2={}", &get_in[3..]),
                &format!("{get_sig}, sig2={}", &get_sig[3..]),
                CREATED,
            ),
        ),
        bad(
            "not canonical (extra space)",
            "malformed",
            get(
                &get_in.replace("\"@method\" ", "\"@method\"  "),
                &get_sig,
                CREATED,
            ),
        ),
        bad(
            "created is negative",
            "malformed",
            get(
                &get_in.replace(&format!("created={CREATED}"), "created=-1"),
                &get_sig,
                CREATED,
            ),
        ),
        bad(
            "created is a string",
            "malformed",
            get(
                &get_in.replace(
                    &format!("created={CREATED}"),
                    &format!("created=\"{CREATED}\""),
                ),
                &get_sig,
                CREATED,
            ),
        ),
        bad(
            "keyid of 31 bytes",
            "malformed",
            get(
                &get_in.replace(&keyid, &b64u(&[7u8; 31])),
                &get_sig,
                CREATED,
            ),
        ),
        bad(
            "signature without base64 padding (not canonical)",
            "malformed",
            post(&post_in, &post_sig.replace("==:", ":"), CREATED),
        ),
        bad(
            "the signature covers a body the request lacks",
            "malformed",
            get(&post_in, &post_sig, CREATED),
        ),
        bad("method in lower case", "malformed", {
            let mut c = get(&get_in, &get_sig, CREATED);
            c["method"] = json!("get");
            c
        }),
        bad("content-type other than the one signed", "verify", {
            let mut c = post(&post_in, &post_sig, CREATED);
            c["content_type"] = json!("text/plain");
            c
        }),
        bad(
            "signature of 63 bytes",
            "malformed",
            get(
                &get_in,
                &format!("sl=:{}:", b64(&b64_decode("sig", GET_SIG).unwrap()[..63])),
                CREATED,
            ),
        ),
    ]
}

fn run(case: &Case) -> Result<(), Error> {
    let parts = RequestParts {
        method: case.str("method"),
        target_uri: case.str("target_uri"),
        share_header: case.str("share_header"),
        content_type: case.opt_str("content_type"),
        content_digest: case.opt_str("content_digest"),
    };
    let parsed = ParsedSignature::parse(case.str("signature_input"), case.str("signature"))?;
    if let Some(digest) = parts.content_digest {
        httpsig::content_digest_sha256(digest)?;
    }
    if case.valid() {
        assert_eq!(parsed.created(), case.u64("created") as i64);
        assert_eq!(hex(parsed.nonce()), case.str("nonce"));
        assert_eq!(parsed.keyid(), case.str("keyid"));
        assert_eq!(
            format!("sl={}", parsed.signature_params()),
            case.str("signature_input")
        );
        let base = httpsig::signature_base(&parts, parsed.signature_params())?;
        assert_eq!(base, case.str("signature_base"));
    }
    let key = DevicePublicKey::from_sec1(&case.bytes("public_key"))?;
    parsed.verify(&key, &parts, case.u64("now") as i64)?;
    if let (Some(digest), Some(body)) = (parts.content_digest, case.opt_str("body")) {
        httpsig::verify_content_digest(digest, body.as_bytes())?;
    }
    Ok(())
}

fn check(case: &Case) {
    match run(case) {
        Ok(()) => assert!(
            case.valid(),
            "expected {:?}, verified",
            case.opt_str("error")
        ),
        Err(e) => {
            assert!(!case.valid(), "valid request refused: {e}");
            assert_eq!(error_kind(&e), case.error(), "{e}");
        }
    }
}

#[test]
fn vectors() {
    run_area(
        "signature",
        "Signed recipient requests (RFC 9421 profile, docs/protocol.md §5.2): parse signature_input and \
         signature, parse content_digest, verify with public_key at time now, then check the body against \
         content_digest. The valid signatures were made once with the fixed device key (ECDSA is randomised): \
         verify them, do not expect to reproduce them.",
        generate,
        check,
    );
}
