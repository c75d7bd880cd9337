//! `kdf.json`: account key derivation (docs/protocol.md §2).
//!
//! - `"op": "derive"`: `email`, `password` (as typed, possibly not NFC), `r16`, `params` →
//!   `email_normalized`, `password_nfc` (hex of the UTF-8 that enters Argon2id), `salt`, `mk`, `ak`, `wk`,
//!   `auth_hash`.
//! - `"op": "check_params"`: `params` → accepted, or refused with `kdf_params`.
//! - `"op": "new_password"`: a new master password (`password`, as typed) → accepted, or refused with
//!   `too_short` (fewer than 10 Unicode scalar values once in NFC); logging in never checks this.

use crate::common::{Case, expect_error, hex, run_area, seq};
use serde_json::{Value, json};
use sharelock_core::account::{
    KdfParams, MasterKey, auth_hash, check_new_master_password, kdf_salt, normalize_email,
    normalize_secret_text,
};
use sharelock_core::crypto::{hkdf, sha256};

fn params_json(p: KdfParams) -> Value {
    json!({"alg": "argon2id", "m": p.m, "t": p.t, "p": p.p})
}

fn params_of(case: &Case) -> KdfParams {
    let p = case.get("params");
    assert_eq!(p["alg"], "argon2id");
    let n = |k: &str| u32::try_from(p[k].as_u64().unwrap()).unwrap();
    KdfParams {
        m: n("m"),
        t: n("t"),
        p: n("p"),
    }
}

fn derive_case(name: &str, email: &str, password: &str, r16: [u8; 16], params: KdfParams) -> Value {
    let mk = MasterKey::derive(password, email, &r16, &params).unwrap();
    let ak = mk.auth_key();
    json!({
        "name": name,
        "valid": true,
        "op": "derive",
        "email": email,
        "email_normalized": normalize_email(email),
        "password": password,
        "password_nfc": hex(normalize_secret_text(password).as_bytes()),
        "r16": hex(r16),
        "params": params_json(params),
        "salt": hex(kdf_salt(email, &r16)),
        "mk": hex(mk.expose()),
        "ak": hex(ak.expose()),
        "wk": hex(mk.wrap_key().expose()),
        "auth_hash": hex(ak.auth_hash()),
    })
}

fn params_case(name: &str, m: u32, t: u32, p: u32) -> Value {
    let params = KdfParams { m, t, p };
    let mut case = json!({"name": name, "op": "check_params", "params": params_json(params)});
    match params.check_for_client() {
        Ok(()) => case["valid"] = json!(true),
        Err(_) => {
            case["valid"] = json!(false);
            case["error"] = json!("kdf_params");
        }
    }
    case
}

fn generate() -> Vec<Value> {
    vec![
        derive_case(
            "ascii account, default parameters",
            "Ada.Lovelace@Example.org",
            "correct horse battery staple",
            seq(0x00),
            KdfParams::DEFAULT,
        ),
        // "ZOË" with a decomposed Ë (E + U+0308): NFC composes it, and only ASCII letters are lowercased. The
        // password is decomposed too (a + U+0301, o + U+0308) and ends in a space, which is kept.
        derive_case(
            "non-ASCII NFC email and password, other parameters",
            "ZOE\u{308}@Example.COM",
            "pa\u{301}sswo\u{308}rd \u{2713} ",
            seq(0xa0),
            KdfParams {
                m: 65_536,
                t: 4,
                p: 2,
            },
        ),
        params_case("default parameters accepted", 65_536, 3, 4),
        params_case("largest parameters accepted", 1_048_576, 16, 16),
        params_case("memory below 64 MiB refused", 65_535, 3, 4),
        params_case("memory above 1 GiB refused", 1_048_577, 3, 4),
        params_case("two passes refused", 65_536, 2, 4),
        params_case("seventeen passes refused", 65_536, 17, 4),
        params_case("zero lanes refused", 65_536, 3, 0),
        params_case("seventeen lanes refused", 65_536, 3, 17),
        new_password("ten characters accepted", "correct ho", None),
        new_password("nine characters refused", "correct h", Some("too_short")),
        new_password(
            "ten typed, nine once in NFC, refused",
            "cafe\u{301}-bar!",
            Some("too_short"),
        ),
        new_password(
            "ten characters of twenty UTF-16 units accepted",
            &"\u{1f511}".repeat(10),
            None,
        ),
    ]
}

fn new_password(name: &str, password: &str, error: Option<&str>) -> Value {
    let mut case =
        json!({"name": name, "valid": error.is_none(), "op": "new_password", "password": password});
    if let Some(e) = error {
        case["error"] = json!(e);
    }
    case
}

fn check(case: &Case) {
    if case.str("op") == "new_password" {
        let result = check_new_master_password(case.str("password"));
        return if case.valid() {
            result.unwrap()
        } else {
            expect_error(case, result)
        };
    }
    let params = params_of(case);
    match case.str("op") {
        "check_params" if case.valid() => params.check_for_client().unwrap(),
        "check_params" => expect_error(case, params.check_for_client()),
        "derive" => {
            let (email, password) = (case.str("email"), case.str("password"));
            let r16: [u8; 16] = case.array("r16");
            assert_eq!(normalize_email(email), case.str("email_normalized"));
            assert_eq!(
                hex(normalize_secret_text(password).as_bytes()),
                case.str("password_nfc")
            );
            // The salt, spelled out from the normalised email.
            let mut salt_input = b"sharelock/v1/kdf-salt".to_vec();
            salt_input.extend_from_slice(case.str("email_normalized").as_bytes());
            salt_input.extend_from_slice(&r16);
            assert_eq!(hex(sha256(&salt_input)), case.str("salt"));
            assert_eq!(hex(kdf_salt(email, &r16)), case.str("salt"));

            let mk = MasterKey::derive(password, email, &r16, &params).unwrap();
            assert_eq!(hex(mk.expose()), case.str("mk"));
            assert_eq!(hex(mk.auth_key().expose()), case.str("ak"));
            assert_eq!(hex(mk.wrap_key().expose()), case.str("wk"));
            // Sub-keys, spelled out with HKDF (empty salt).
            let mk_bytes = case.bytes("mk");
            assert_eq!(
                hex(hkdf(&mk_bytes, &[b"sharelock/v1/auth"]).expose()),
                case.str("ak")
            );
            assert_eq!(
                hex(hkdf(&mk_bytes, &[b"sharelock/v1/wrap"]).expose()),
                case.str("wk")
            );
            assert_eq!(hex(auth_hash(&case.bytes("ak"))), case.str("auth_hash"));
        }
        other => panic!("unknown op {other}"),
    }
}

#[test]
fn vectors() {
    run_area(
        "kdf",
        "Account keys: email normalisation, Argon2id master key, AK, WK, H(AK); parameters a client must refuse; the shortest new master password (docs/protocol.md §2).",
        generate,
        check,
    );
}
