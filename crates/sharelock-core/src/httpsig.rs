//! Signed recipient requests: RFC 9421 HTTP Message Signatures in exactly one profile
//! (docs/protocol.md §5.2), and RFC 9530 `Content-Digest`.
//!
//! ```text
//! Signature-Input: sl=("@method" "@target-uri" "sharelock-share" "content-digest" "content-type");created=1767225600;nonce="…";keyid="…";alg="ecdsa-p256-sha256";tag="sharelock/v1"
//! Signature: sl=:<base64 of the 64-byte r ‖ s>:
//! ```
//!
//! The profile admits no choices, so parsing is strict: one label (`sl`), one of two component lists (with or
//! without `content-digest` and `content-type`, always in that order), exactly the parameters `created`,
//! `nonce`, `keyid`, `alg`, `tag` in that order, one algorithm, one tag. Both header values must also be in
//! RFC 8941 canonical form, so the inner list placed in `@signature-params` is, byte for byte, both the one
//! received and the one any conforming signer produces.
//!
//! A server checks a request in this order: [`ParsedSignature::parse`] the two headers, look up the device
//! key bound to the share named in `Sharelock-Share`, [`ParsedSignature::verify`] against the request as it
//! arrived (this checks keyid, the time window and the signature), then, for a request with a body,
//! [`verify_content_digest`] over the bytes received. The signature covers the `Content-Digest` header; only
//! the digest check ties that header to the body, so both checks are needed. Replay protection (the
//! `(share id, nonce)` unique key) is the store's job; nothing here is keyed on signature bytes, which ECDSA
//! leaves malleable.

use crate::crypto::{ct_eq, sha256};
use crate::device::{DeviceKey, DevicePublicKey, SIGNATURE_LEN};
use crate::encoding::{b64, b64u, b64u_decode_array};
use crate::error::{Error, Result};
use sfv::{BareItem, Dictionary, ListEntry, Parser, Version};

/// The one signature label.
pub const LABEL: &str = "sl";
/// The one algorithm: ECDSA on P-256 with SHA-256, signature `r ‖ s` (RFC 9421 §3.3.4).
pub const ALG: &str = "ecdsa-p256-sha256";
/// The application tag (RFC 9421 §2.3), so a signature made for another protocol never verifies here.
pub const TAG: &str = "sharelock/v1";
/// Seconds a signature stays acceptable after `created`.
pub const MAX_AGE: i64 = 60;
/// Seconds `created` may lie in the future (clock skew).
pub const MAX_SKEW: i64 = 10;
/// Random bytes in the `nonce` parameter.
pub const NONCE_LEN: usize = 16;

/// Covered components, in order. Requests without a body cover the first three only.
const COMPONENTS: [&str; 5] = [
    "@method",
    "@target-uri",
    "sharelock-share",
    "content-digest",
    "content-type",
];
const BODILESS: usize = 3;
const PARAMS: [&str; 5] = ["created", "nonce", "keyid", "alg", "tag"];

const INPUT: &str = "Signature-Input";
const SIGNATURE: &str = "Signature";
const REQUEST: &str = "signed request";
const DIGEST: &str = "Content-Digest";

/// The parts of a request that a signature covers, as the verifier sees them.
///
/// `content_type` and `content_digest` are both present (a request with a body) or both absent. Header
/// values are taken as received; leading and trailing whitespace is removed as RFC 9421 §2.1 says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestParts<'a> {
    /// The method, upper case (`GET`, `POST`, `PUT`).
    pub method: &'a str,
    /// The server's configured public URL followed by the path and query exactly as sent. A server builds
    /// it from its configuration, never from `Host`.
    pub target_uri: &'a str,
    /// The `Sharelock-Share` header value: `b64u(share id)`.
    pub share_header: &'a str,
    /// The `Content-Type` header value, for a request with a body.
    pub content_type: Option<&'a str>,
    /// The `Content-Digest` header value (see [`content_digest`]), for a request with a body.
    pub content_digest: Option<&'a str>,
}

impl RequestParts<'_> {
    /// Whether the request has a body, after checking that the body headers come as a pair.
    fn has_body(&self) -> Result<bool> {
        match (self.content_type, self.content_digest) {
            (Some(_), Some(_)) => Ok(true),
            (None, None) => Ok(false),
            _ => Err(Error::malformed(
                REQUEST,
                "Content-Type and Content-Digest must both be present or both absent",
            )),
        }
    }

    /// Component values in the order of [`COMPONENTS`], checked to be safe on one signature base line.
    fn values(&self) -> Result<Vec<(&'static str, &str)>> {
        let method = self.method;
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(Error::malformed(
                REQUEST,
                "@method must be upper-case ASCII letters",
            ));
        }
        let mut values = vec![
            ("@method", method),
            ("@target-uri", line_value("@target-uri", self.target_uri)?),
        ];
        values.push((
            "sharelock-share",
            line_value("sharelock-share", self.share_header)?,
        ));
        if self.has_body()? {
            let digest = self.content_digest.unwrap_or_default();
            let ctype = self.content_type.unwrap_or_default();
            values.push(("content-digest", line_value("content-digest", digest)?));
            values.push(("content-type", line_value("content-type", ctype)?));
        }
        Ok(values)
    }
}

/// A header or derived component value as placed on a signature base line: trimmed, non-empty, and free of
/// control characters (a line break would let one value forge another line).
fn line_value<'a>(name: &'static str, value: &'a str) -> Result<&'a str> {
    let v = value.trim_matches([' ', '\t']);
    if v.is_empty() {
        return Err(Error::malformed(REQUEST, format!("{name} is empty")));
    }
    if v.bytes().any(|b| b < 0x20 && b != b'\t' || b == 0x7f) {
        return Err(Error::malformed(
            REQUEST,
            format!("{name} contains control characters"),
        ));
    }
    Ok(v)
}

/// The two header values that carry a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeaders {
    /// The `Signature-Input` header value.
    pub signature_input: String,
    /// The `Signature` header value.
    pub signature: String,
}

/// The canonical inner list of `Signature-Input` (without the `sl=` label): the `@signature-params` value.
fn params_text(has_body: bool, created: i64, nonce: &[u8; NONCE_LEN], keyid: &str) -> String {
    let n = if has_body { COMPONENTS.len() } else { BODILESS };
    let list: Vec<String> = COMPONENTS[..n].iter().map(|c| format!("\"{c}\"")).collect();
    format!(
        "({});created={created};nonce=\"{}\";keyid=\"{keyid}\";alg=\"{ALG}\";tag=\"{TAG}\"",
        list.join(" "),
        b64u(nonce)
    )
}

/// Builds an RFC 9421 §2.5 signature base from component lines and the `@signature-params` value:
/// `"<name>": <value>` per component, then `"@signature-params": <params>`, joined by `\n`, no final newline.
///
/// This layer is profile-independent (the RFC's own examples are checked against it); callers must have
/// checked that no value contains a line break.
pub(crate) fn build_base(components: &[(&str, &str)], signature_params: &str) -> String {
    let mut base = String::with_capacity(256 + signature_params.len());
    for (name, value) in components {
        base.push('"');
        base.push_str(name);
        base.push_str("\": ");
        base.push_str(value);
        base.push('\n');
    }
    base.push_str("\"@signature-params\": ");
    base.push_str(signature_params);
    base
}

/// The signature base of a request in this profile (docs/protocol.md §5.2), given the `@signature-params`
/// inner list. Exposed so other implementations can compare bases byte for byte (test vectors).
pub fn signature_base(parts: &RequestParts<'_>, signature_params: &str) -> Result<String> {
    Ok(build_base(&parts.values()?, signature_params))
}

/// Verifies a 64-byte `r ‖ s` ECDSA P-256 SHA-256 signature over an already built signature base. The
/// lowest layer of [`ParsedSignature::verify`], usable with any RFC 9421 base.
pub fn verify_base(key: &DevicePublicKey, base: &str, signature: &[u8]) -> Result<()> {
    key.verify(base.as_bytes(), signature)
        .map_err(|_| Error::Verify("request signature"))
}

/// Signs a request: returns the `Signature-Input` and `Signature` header values.
///
/// `created` is the signer's idea of the server's time (a client whose clock is off uses the server's `Date`);
/// `nonce` must be fresh random bytes per request ([`crate::crypto::random_array`]).
pub fn sign(
    key: &DeviceKey,
    parts: &RequestParts<'_>,
    created: i64,
    nonce: [u8; NONCE_LEN],
) -> Result<SignatureHeaders> {
    if created < 0 {
        return Err(Error::malformed(REQUEST, "created must not be negative"));
    }
    let params = params_text(parts.has_body()?, created, &nonce, &key.keyid());
    let base = signature_base(parts, &params)?;
    let sig = key.sign(base.as_bytes())?;
    Ok(SignatureHeaders {
        signature_input: format!("{LABEL}={params}"),
        signature: format!("{LABEL}=:{}:", b64(&sig)),
    })
}

/// A `Signature-Input` / `Signature` pair that has the exact shape of the profile; not yet verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedSignature {
    has_body: bool,
    created: i64,
    nonce: [u8; NONCE_LEN],
    keyid: String,
    signature: [u8; SIGNATURE_LEN],
    params: String,
}

impl ParsedSignature {
    /// Parses both header values, refusing anything outside the profile with an error naming the problem:
    /// another or an extra label, missing, extra, reordered or parameterised components, missing, unknown,
    /// reordered or mistyped parameters, another `alg` or `tag`, a nonce other than 16 bytes, a keyid other than
    /// 32 bytes, a signature other than 64 bytes, or a header not in canonical form.
    pub fn parse(signature_input: &str, signature: &str) -> Result<Self> {
        let (has_body, created, nonce, keyid, params) = parse_input(signature_input)?;
        let sig = parse_signature(signature)?;
        Ok(ParsedSignature {
            has_body,
            created,
            nonce,
            keyid,
            signature: sig,
            params,
        })
    }

    /// The `keyid` parameter, `b64u(H(device public key))`.
    pub fn keyid(&self) -> &str {
        &self.keyid
    }

    /// The `created` parameter, Unix seconds.
    pub fn created(&self) -> i64 {
        self.created
    }

    /// The `nonce` parameter's 16 bytes (the replay key, with the share id).
    pub fn nonce(&self) -> [u8; NONCE_LEN] {
        self.nonce
    }

    /// Whether the signature covers `content-digest` and `content-type` (a request with a body).
    pub fn covers_body(&self) -> bool {
        self.has_body
    }

    /// The `@signature-params` value: the inner list exactly as received.
    pub fn signature_params(&self) -> &str {
        &self.params
    }

    /// Verifies the signature over `parts` with the device key bound to the share.
    ///
    /// Checks, in order: `keyid` names `key` ([`Error::Verify`]); the request has a body exactly when the
    /// signature covers one ([`Error::Malformed`]); `created ∈ [now − 60, now + 10]` ([`Error::Stale`]); the
    /// ECDSA signature over the rebuilt signature base ([`Error::Verify`]). It does not check the body against
    /// `Content-Digest`: call [`verify_content_digest`] too.
    pub fn verify(&self, key: &DevicePublicKey, parts: &RequestParts<'_>, now: i64) -> Result<()> {
        if key.keyid() != self.keyid {
            return Err(Error::Verify("signature keyid"));
        }
        if parts.has_body()? != self.has_body {
            let why = if self.has_body {
                "the signature covers a body but the request has none"
            } else {
                "the request has a body the signature does not cover"
            };
            return Err(Error::malformed(REQUEST, why));
        }
        let age = now.saturating_sub(self.created);
        if !(-MAX_SKEW..=MAX_AGE).contains(&age) {
            return Err(Error::Stale);
        }
        let base = signature_base(parts, &self.params)?;
        verify_base(key, &base, &self.signature)
    }
}

fn bad_input(why: impl Into<String>) -> Error {
    Error::malformed(INPUT, why)
}

fn parse_dict(what: &'static str, text: &str) -> Result<Dictionary> {
    Parser::new(text)
        .with_version(Version::Rfc8941)
        .parse_dictionary::<Dictionary>()
        .map_err(|e| Error::malformed(what, format!("not an RFC 8941 dictionary: {e}")))
}

/// The single `sl` member of a dictionary, refusing other labels.
fn only_label(what: &'static str, dict: Dictionary) -> Result<ListEntry> {
    let mut labels = dict.into_iter();
    let (key, entry) = labels
        .next()
        .ok_or_else(|| Error::malformed(what, "no signature"))?;
    if key.as_str() != LABEL {
        return Err(Error::malformed(what, format!("label must be `{LABEL}`")));
    }
    if labels.next().is_some() {
        return Err(Error::malformed(
            what,
            format!("only the label `{LABEL}` is allowed"),
        ));
    }
    Ok(entry)
}

type Input = (bool, i64, [u8; NONCE_LEN], String, String);

fn parse_input(text: &str) -> Result<Input> {
    let text = text.trim_matches([' ', '\t']);
    let ListEntry::InnerList(list) = only_label(INPUT, parse_dict(INPUT, text)?)? else {
        return Err(bad_input("the member must be an inner list of components"));
    };

    for (i, item) in list.items.iter().enumerate() {
        let Some(name) = item.bare_item.as_string().map(|s| s.as_str()) else {
            return Err(bad_input("components must be strings"));
        };
        if !item.params.is_empty() {
            return Err(bad_input(format!(
                "component `{name}` must have no parameters"
            )));
        }
        match COMPONENTS.get(i) {
            Some(expected) if *expected == name => {}
            None => return Err(bad_input(format!("extra component `{name}`"))),
            Some(_) if COMPONENTS.contains(&name) => {
                return Err(bad_input(format!(
                    "components out of order: expected {}",
                    COMPONENTS[i]
                )));
            }
            Some(_) => return Err(bad_input(format!("component `{name}` is not allowed"))),
        }
    }
    let has_body = match list.items.len() {
        n if n == COMPONENTS.len() => true,
        BODILESS => false,
        n => return Err(bad_input(format!("missing component `{}`", COMPONENTS[n]))),
    };

    for (i, (key, _)) in list.params.iter().enumerate() {
        let key = key.as_str();
        match PARAMS.get(i) {
            Some(expected) if *expected == key => {}
            _ if PARAMS.contains(&key) => {
                return Err(bad_input(format!("parameters out of order at `{key}`")));
            }
            _ => return Err(bad_input(format!("parameter `{key}` is not allowed"))),
        }
    }
    if let Some(missing) = PARAMS.get(list.params.len()) {
        return Err(bad_input(format!("parameter `{missing}` is missing")));
    }

    let string_param = |name: &'static str| -> Result<&str> {
        list.params
            .get(name)
            .and_then(BareItem::as_string)
            .map(|s| s.as_str())
            .ok_or_else(|| bad_input(format!("parameter `{name}` must be a string")))
    };
    let created: i64 = list
        .params
        .get("created")
        .and_then(BareItem::as_integer)
        .map(i64::from)
        .ok_or_else(|| bad_input("parameter `created` must be an integer"))?;
    if created < 0 {
        return Err(bad_input("parameter `created` must not be negative"));
    }
    let nonce = b64u_decode_array::<NONCE_LEN>("signature nonce", string_param("nonce")?)?;
    let keyid = string_param("keyid")?;
    b64u_decode_array::<32>("signature keyid", keyid)?;
    if string_param("alg")? != ALG {
        return Err(bad_input(format!("alg must be \"{ALG}\"")));
    }
    if string_param("tag")? != TAG {
        return Err(bad_input(format!("tag must be \"{TAG}\"")));
    }

    let params = params_text(has_body, created, &nonce, keyid);
    if text.strip_prefix("sl=") != Some(params.as_str()) {
        return Err(bad_input("not in canonical form (RFC 8941 §4.1)"));
    }
    Ok((has_body, created, nonce, keyid.to_owned(), params))
}

fn parse_signature(text: &str) -> Result<[u8; SIGNATURE_LEN]> {
    let text = text.trim_matches([' ', '\t']);
    let ListEntry::Item(item) = only_label(SIGNATURE, parse_dict(SIGNATURE, text)?)? else {
        return Err(Error::malformed(
            SIGNATURE,
            "the member must be a byte sequence",
        ));
    };
    let Some(bytes) = item.bare_item.as_byte_sequence() else {
        return Err(Error::malformed(
            SIGNATURE,
            "the member must be a byte sequence",
        ));
    };
    if !item.params.is_empty() {
        return Err(Error::malformed(SIGNATURE, "parameters are not allowed"));
    }
    let sig: [u8; SIGNATURE_LEN] = bytes.try_into().map_err(|_| {
        Error::malformed(
            SIGNATURE,
            format!("expected {SIGNATURE_LEN} bytes, got {}", bytes.len()),
        )
    })?;
    if text != format!("{LABEL}=:{}:", b64(&sig)) {
        return Err(Error::malformed(
            SIGNATURE,
            "not in canonical form (RFC 8941 §4.1)",
        ));
    }
    Ok(sig)
}

/// The RFC 9530 `Content-Digest` value of a body: `sha-256=:<base64 of SHA-256(body)>:`.
pub fn content_digest(body: &[u8]) -> String {
    format!("sha-256=:{}:", b64(&sha256(body)))
}

/// Checks a received `Content-Digest` header against the body bytes received, in constant time.
///
/// The header may list several digests (RFC 9530 §2); only `sha-256` is ever used, and it must be present,
/// be a byte sequence of 32 bytes and match. Other algorithms are neither trusted nor required to match.
pub fn verify_content_digest(header: &str, body: &[u8]) -> Result<()> {
    let expected = content_digest_sha256(header)?;
    if ct_eq(&sha256(body), &expected) {
        Ok(())
    } else {
        Err(Error::Verify("content digest"))
    }
}

/// The SHA-256 digest a received `Content-Digest` header names, with the rules of [`verify_content_digest`]:
/// for a body that is hashed as it arrives, then compared in constant time.
pub fn content_digest_sha256(header: &str) -> Result<[u8; 32]> {
    let dict = parse_dict(DIGEST, header.trim_matches([' ', '\t']))?;
    let Some(entry) = dict.get("sha-256") else {
        return Err(Error::malformed(DIGEST, "no sha-256 digest"));
    };
    let ListEntry::Item(item) = entry else {
        return Err(Error::malformed(DIGEST, "sha-256 must be a byte sequence"));
    };
    let Some(given) = item.bare_item.as_byte_sequence() else {
        return Err(Error::malformed(DIGEST, "sha-256 must be a byte sequence"));
    };
    if given.len() != 32 {
        return Err(Error::malformed(
            DIGEST,
            format!("sha-256 must be 32 bytes, got {}", given.len()),
        ));
    }
    let mut digest = [0u8; 32];
    digest.copy_from_slice(given);
    Ok(digest)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::encoding::b64_decode;

    /// RFC 9421 Appendix B.1.3, `test-key-ecc-p256`: the SubjectPublicKeyInfo; its last 65 bytes are the point.
    const RFC_P256_SPKI: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqIVYZVLCrPZHGHjP17CTW0/+D9Lfw0EkjqF7xB4FivAxzic30tMM4GF+hR6Dxh71Z50VGGdldkkDXZCnTNnoXQ==";

    fn rfc_key() -> DevicePublicKey {
        let spki = b64_decode("spki", RFC_P256_SPKI).unwrap();
        DevicePublicKey::from_sec1(&spki[spki.len() - 65..]).unwrap()
    }

    /// RFC 9421 Appendix B.2.4 (ecdsa-p256-sha256 over the test response), base built by our base layer from
    /// the RFC's components and parameters; the RFC's signature must verify over it with the B.1.3 key.
    #[test]
    fn rfc9421_b24_ecdsa_p256_example_verifies() {
        let body_digest = "sha-512=:mEWXIS7MaLRuGgxOBdODa3xqM1XdEvxoYhvlCFJ41QJgJc4GTsPp29l5oGX69wWdXymyU0rjJuahq4l5aGgfLQ==:";
        let params = r#"("@status" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-ecc-p256""#;
        let base = build_base(
            &[
                ("@status", "200"),
                ("content-type", "application/json"),
                ("content-digest", body_digest),
                ("content-length", "23"),
            ],
            params,
        );
        let expected = format!(
            "\"@status\": 200\n\"content-type\": application/json\n\"content-digest\": {body_digest}\n\"content-length\": 23\n\"@signature-params\": {params}"
        );
        assert_eq!(base, expected);
        let sig = b64_decode(
            "sig",
            "wNmSUAhwb5LxtOtOpNa6W5xj067m5hFrj0XQ4fvpaCLx0NKocgPquLgyahnzDnDAUy5eCdlYUEkLIj+32oiasw==",
        )
        .unwrap();
        verify_base(&rfc_key(), &base, &sig).unwrap();
        // The same signature must fail over any other base.
        assert_eq!(
            verify_base(&rfc_key(), &base.replace("200", "201"), &sig),
            Err(Error::Verify("request signature"))
        );
        // The response body's SHA-512 really is the RFC's Content-Digest (RFC 9530 form).
        let d =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA512, br#"{"message": "good dog"}"#);
        assert_eq!(format!("sha-512=:{}:", b64(d.as_ref())), body_digest);
    }

    /// RFC 9530 §2 / Appendix B: `{"hello": "world"}`.
    #[test]
    fn rfc9530_content_digest_examples() {
        let body = br#"{"hello": "world"}"#;
        assert_eq!(
            content_digest(body),
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
        );
        verify_content_digest(
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",
            body,
        )
        .unwrap();
        let both = "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:, sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:";
        verify_content_digest(both, body).unwrap();
        assert_eq!(
            content_digest(b""),
            "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"
        );
    }

    #[test]
    fn content_digest_refusals() {
        let body = br#"{"hello": "world"}"#;
        assert_eq!(
            verify_content_digest(&content_digest(b"other"), body),
            Err(Error::Verify("content digest"))
        );
        let only512 = "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:";
        assert!(matches!(
            verify_content_digest(only512, body),
            Err(Error::Malformed { .. })
        ));
        assert!(matches!(
            verify_content_digest("sha-256=:AAAA:", body),
            Err(Error::Malformed { .. })
        ));
        assert!(matches!(
            verify_content_digest("sha-256=\"x\"", body),
            Err(Error::Malformed { .. })
        ));
        assert!(matches!(
            verify_content_digest(
                "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
                body
            ),
            Err(Error::Malformed { .. })
        ));
        assert!(matches!(
            verify_content_digest("", body),
            Err(Error::Malformed { .. })
        ));
    }

    fn parts_with_body<'a>(digest: &'a str) -> RequestParts<'a> {
        RequestParts {
            method: "POST",
            target_uri: "https://share.example/api/v1/recipient/edit",
            share_header: "AAECAwQFBgcICQoLDA0ODw",
            content_type: Some("application/json"),
            content_digest: Some(digest),
        }
    }

    const GET: RequestParts<'static> = RequestParts {
        method: "GET",
        target_uri: "https://share.example/api/v1/recipient/share",
        share_header: "AAECAwQFBgcICQoLDA0ODw",
        content_type: None,
        content_digest: None,
    };

    #[test]
    fn sign_parse_verify_round_trip() {
        let key = DeviceKey::generate().unwrap();
        let public = DevicePublicKey::from_sec1(key.public_key()).unwrap();
        let digest = content_digest(b"{}");
        let parts = parts_with_body(&digest);
        let h = sign(&key, &parts, 1_767_225_600, [7; 16]).unwrap();
        let parsed = ParsedSignature::parse(&h.signature_input, &h.signature).unwrap();
        assert!(parsed.covers_body());
        assert_eq!(parsed.created(), 1_767_225_600);
        assert_eq!(parsed.nonce(), [7; 16]);
        assert_eq!(parsed.keyid(), key.keyid());
        parsed.verify(&public, &parts, 1_767_225_600).unwrap();
        parsed.verify(&public, &parts, 1_767_225_600 + 60).unwrap();
        parsed.verify(&public, &parts, 1_767_225_600 - 10).unwrap();
        assert_eq!(
            parsed.verify(&public, &parts, 1_767_225_600 + 61),
            Err(Error::Stale)
        );
        assert_eq!(
            parsed.verify(&public, &parts, 1_767_225_600 - 11),
            Err(Error::Stale)
        );

        let other_uri = RequestParts {
            target_uri: "https://share.example/api/v1/recipient/end",
            ..parts
        };
        assert_eq!(
            parsed.verify(&public, &other_uri, 1_767_225_600),
            Err(Error::Verify("request signature"))
        );
        let other_share = RequestParts {
            share_header: "AAECAwQFBgcICQoLDA0OAA",
            ..parts
        };
        assert_eq!(
            parsed.verify(&public, &other_share, 1_767_225_600),
            Err(Error::Verify("request signature"))
        );
        assert!(matches!(
            parsed.verify(&public, &GET, 1_767_225_600),
            Err(Error::Malformed { .. })
        ));

        let other_key =
            DevicePublicKey::from_sec1(DeviceKey::generate().unwrap().public_key()).unwrap();
        assert_eq!(
            parsed.verify(&other_key, &parts, 1_767_225_600),
            Err(Error::Verify("signature keyid"))
        );

        let g = sign(&key, &GET, 1_767_225_600, [9; 16]).unwrap();
        let pg = ParsedSignature::parse(&g.signature_input, &g.signature).unwrap();
        assert!(!pg.covers_body());
        pg.verify(&public, &GET, 1_767_225_600).unwrap();
        assert!(matches!(
            pg.verify(&public, &parts, 1_767_225_600),
            Err(Error::Malformed { .. })
        ));
        let post = RequestParts {
            method: "POST",
            ..GET
        };
        assert_eq!(
            pg.verify(&public, &post, 1_767_225_600),
            Err(Error::Verify("request signature"))
        );
    }

    #[test]
    fn signature_input_layout() {
        let params = params_text(false, 1_767_225_600, &[0; 16], "KEY");
        assert_eq!(
            params,
            r#"("@method" "@target-uri" "sharelock-share");created=1767225600;nonce="AAAAAAAAAAAAAAAAAAAAAA";keyid="KEY";alg="ecdsa-p256-sha256";tag="sharelock/v1""#
        );
        let base = signature_base(&GET, &params).unwrap();
        assert_eq!(
            base,
            format!(
                "\"@method\": GET\n\"@target-uri\": https://share.example/api/v1/recipient/share\n\"sharelock-share\": AAECAwQFBgcICQoLDA0ODw\n\"@signature-params\": {params}"
            )
        );
    }

    fn input_error(input: &str) -> String {
        let sig = format!("sl=:{}:", b64(&[0; 64]));
        match ParsedSignature::parse(input, &sig) {
            Err(Error::Malformed { what, why }) => format!("{what}: {why}"),
            other => panic!("expected a malformed error for {input}, got {other:?}"),
        }
    }

    #[test]
    fn parse_refuses_everything_outside_the_profile() {
        let keyid = b64u(&[1; 32]);
        let ok = params_text(false, 100, &[2; 16], &keyid);
        let okb = params_text(true, 100, &[2; 16], &keyid);
        let sig = format!("sl=:{}:", b64(&[0; 64]));
        ParsedSignature::parse(&format!("sl={ok}"), &sig).unwrap();

        let cases: Vec<(String, &str)> = vec![
            (format!("sig1={ok}"), "label must be"),
            (format!("sl={ok}, sig2={ok}"), "only the label"),
            (
                format!(
                    "sl={}",
                    okb.replace("\"content-type\")", "\"content-type\" \"date\")")
                ),
                "extra component",
            ),
            (
                format!(
                    "sl={}",
                    ok.replace("\"sharelock-share\"", "\"sharelock-share\" \"date\"")
                ),
                "not allowed",
            ),
            (
                format!("sl={}", ok.replace(" \"sharelock-share\"", "")),
                "missing component",
            ),
            (
                format!(
                    "sl={}",
                    ok.replace("\"@method\" \"@target-uri\"", "\"@target-uri\" \"@method\"")
                ),
                "out of order",
            ),
            (
                format!("sl={}", ok.replace("\"@target-uri\"", "\"@path\"")),
                "not allowed",
            ),
            (
                format!("sl={}", ok.replace("\"@method\"", "\"@method\";req")),
                "no parameters",
            ),
            (
                format!("sl={}", ok.replace("ecdsa-p256-sha256", "ed25519")),
                "alg must be",
            ),
            (
                format!("sl={}", ok.replace("sharelock/v1", "other")),
                "tag must be",
            ),
            (format!("sl={ok};expires=200"), "not allowed"),
            (
                format!("sl={}", ok.replace(";tag=\"sharelock/v1\"", "")),
                "`tag` is missing",
            ),
            (
                format!("sl={}", ok.replace("created=100;", "")),
                "out of order",
            ),
            (
                format!("sl={}", ok.replace("created=100", "created=\"100\"")),
                "must be an integer",
            ),
            (
                format!("sl={}", ok.replace("created=100", "created=-1")),
                "must not be negative",
            ),
            (
                format!("sl={}", ok.replace(&b64u(&[2; 16]), &b64u(&[2; 15]))),
                "expected 16 bytes",
            ),
            (
                format!("sl={}", ok.replace(&keyid, &b64u(&[1; 31]))),
                "expected 32 bytes",
            ),
            (format!("sl={}", ok.replace(" ", "  ")), "canonical"),
            ("sl=:AAAA:".to_owned(), "inner list"),
            ("sl=(".to_owned(), "dictionary"),
        ];
        for (input, needle) in cases {
            let err = input_error(&input);
            assert!(
                err.contains(needle),
                "{input}: got `{err}`, expected `{needle}`"
            );
        }

        let input = format!("sl={ok}");
        for (sig, needle) in [
            (format!("sl=:{}:", b64(&[0; 63])), "expected 64 bytes"),
            (format!("sl=:{}:;x=1", b64(&[0; 64])), "parameters"),
            (format!("other=:{}:", b64(&[0; 64])), "label must be"),
            ("sl=(1)".to_owned(), "byte sequence"),
            ("sl=\"x\"".to_owned(), "byte sequence"),
            (
                format!("sl=:{}:", b64(&[0; 64]).trim_end_matches('=')),
                "canonical",
            ),
        ] {
            match ParsedSignature::parse(&input, &sig) {
                Err(Error::Malformed {
                    what: "Signature",
                    why,
                }) => assert!(why.contains(needle), "{sig}: {why}"),
                other => panic!("{sig}: {other:?}"),
            }
        }
    }

    #[test]
    fn request_parts_are_checked() {
        let key = DeviceKey::generate().unwrap();
        let bad = [
            RequestParts {
                method: "get",
                ..GET
            },
            RequestParts {
                target_uri: "https://x/\nsharelock-share: y",
                ..GET
            },
            RequestParts {
                share_header: "",
                ..GET
            },
            RequestParts {
                content_type: Some("application/json"),
                ..GET
            },
        ];
        for parts in bad {
            assert!(
                matches!(sign(&key, &parts, 0, [0; 16]), Err(Error::Malformed { .. })),
                "{parts:?}"
            );
        }
    }
}
