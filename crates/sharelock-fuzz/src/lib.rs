//! The fuzz harness: one function per parser of untrusted input, each asserting the parser's properties
//! (a panic is a finding).
//!
//! The cargo-fuzz targets in `fuzz/` call these functions, and so does the corpus replay test
//! (`tests/corpus.rs`), which runs every committed input of `fuzz/corpus/<target>/` and the seeds built from
//! `protocol/vectors/` as ordinary tests. Properties asserted, beyond "does not panic":
//! - parse → serialise gives the input back where the format is canonical (links, envelopes, signature
//!   headers), or a fixed point after one round (record bodies, summaries, API request bodies);
//! - nothing decrypts or verifies unless it is authentic: under the vectors' keys, only the vectors' own
//!   envelopes open, only the vectors' own signature parameters verify, and a stream that decrypts is
//!   byte for byte what the writer produces for that plaintext;
//! - the answer does not depend on how input is split (stream pieces);
//! - an API body's error message never echoes a string value of the body.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sharelock_core::account::RecordKey;
use sharelock_core::crypto::{Key32, sha256};
use sharelock_core::device::DevicePublicKey;
use sharelock_core::encoding::Id;
use sharelock_core::envelope::{Envelope, VersionGuard};
use sharelock_core::httpsig::{
    ParsedSignature, RequestParts, content_digest, content_digest_sha256, verify_content_digest,
};
use sharelock_core::record::{RecordBody, Summary, is_valid_otp, pad256, unpad256};
use sharelock_core::share::Link;
use sharelock_core::stream::{HEADER_LEN, StreamDecryptor, StreamEncryptor, check_chunk_size};
use sharelock_core::totp::{DIGITS, PERIOD, Totp};
use std::collections::HashSet;
use std::sync::OnceLock;

mod api;
mod seeds;

pub use api::{REQUEST_TYPES, api_body};
pub use seeds::seeds;

/// A fuzz target: its name (the directory under `fuzz/corpus/`) and its function.
pub type Target = (&'static str, fn(&[u8]));

/// Every target, by name.
pub const TARGETS: &[Target] = &[
    ("link", link),
    ("signature", signature),
    ("content_digest", content_digest_header),
    ("envelope", envelope),
    ("record_body", record_body),
    ("summary", summary),
    ("stream_header", stream_header),
    ("stream", stream),
    ("otpauth", otpauth),
    ("api_body", api_body),
];

/// The target called `name`.
pub fn target(name: &str) -> Option<fn(&[u8])> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

fn hex(text: &str) -> Vec<u8> {
    data_encoding::HEXLOWER.decode(text.as_bytes()).unwrap()
}

fn key32(text: &str) -> [u8; 32] {
    hex(text).try_into().unwrap()
}

pub(crate) fn vectors(area: &str) -> &'static serde_json::Value {
    static ALL: OnceLock<Vec<(&'static str, serde_json::Value)>> = OnceLock::new();
    let all = ALL.get_or_init(|| {
        [
            ("link", include_str!("../../../protocol/vectors/link.json")),
            (
                "signature",
                include_str!("../../../protocol/vectors/signature.json"),
            ),
            (
                "digest",
                include_str!("../../../protocol/vectors/digest.json"),
            ),
            (
                "envelope",
                include_str!("../../../protocol/vectors/envelope.json"),
            ),
            (
                "record",
                include_str!("../../../protocol/vectors/record.json"),
            ),
            (
                "stream",
                include_str!("../../../protocol/vectors/stream.json"),
            ),
            ("totp", include_str!("../../../protocol/vectors/totp.json")),
        ]
        .into_iter()
        .map(|(name, text)| (name, serde_json::from_str(text).unwrap()))
        .collect()
    });
    &all.iter().find(|(n, _)| *n == area).unwrap().1
}

pub(crate) fn cases(area: &str) -> impl Iterator<Item = &'static serde_json::Value> {
    vectors(area)["cases"].as_array().unwrap().iter()
}

fn str_of<'a>(case: &'a serde_json::Value, key: &str) -> &'a str {
    case[key].as_str().unwrap()
}

/// A share link: a link that parses prints back as exactly the text parsed, and building it again from its
/// parts gives the same link.
pub fn link(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(link) = Link::parse(text) else {
        return;
    };
    assert_eq!(
        link.to_string(),
        text,
        "a parsed link prints back unchanged"
    );
    let secret = sharelock_core::share::LinkSecret::from_bytes(*link.secret.expose());
    let again =
        Link::new(&link.base, link.passphrase, secret).expect("a parsed base is a valid base");
    assert_eq!(
        again.to_string(),
        text,
        "rebuilding a link from its parts is the identity"
    );
}

/// The request every signature input is verified against: the first valid case of signature.json with a
/// body, and the first without.
struct SignedRequest {
    key: DevicePublicKey,
    method: String,
    target_uri: String,
    share_header: String,
    content_type: Option<String>,
    content_digest: Option<String>,
    params: String,
    now: i64,
}

fn signed_requests() -> &'static [SignedRequest] {
    static REQUESTS: OnceLock<Vec<SignedRequest>> = OnceLock::new();
    REQUESTS.get_or_init(|| {
        let mut out = Vec::new();
        for body in [true, false] {
            let case = cases("signature")
                .find(|c| c["valid"] == true && c.get("body").is_some() == body)
                .unwrap();
            let input = str_of(case, "signature_input");
            out.push(SignedRequest {
                key: DevicePublicKey::from_sec1(&hex(str_of(case, "public_key"))).unwrap(),
                method: str_of(case, "method").to_owned(),
                target_uri: str_of(case, "target_uri").to_owned(),
                share_header: str_of(case, "share_header").to_owned(),
                content_type: case["content_type"].as_str().map(str::to_owned),
                content_digest: case["content_digest"].as_str().map(str::to_owned),
                params: input.strip_prefix("sl=").unwrap().to_owned(),
                now: case["now"].as_i64().unwrap(),
            });
        }
        out
    })
}

/// `Signature-Input` and `Signature` (the input's two lines): a pair that parses is in canonical form, and
/// it verifies against a vector's request only with that request's own signature parameters (the ECDSA
/// signature is checked over exactly the parameters received).
pub fn signature(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (input, sig) = text.split_once('\n').unwrap_or((text, ""));
    let Ok(parsed) = ParsedSignature::parse(input, sig) else {
        return;
    };
    assert_eq!(
        format!("sl={}", parsed.signature_params()),
        input.trim_matches([' ', '\t']),
        "Signature-Input is accepted only in canonical form"
    );
    assert!(parsed.keyid().len() == 43 && parsed.created() >= 0);
    for request in signed_requests() {
        let parts = RequestParts {
            method: &request.method,
            target_uri: &request.target_uri,
            share_header: &request.share_header,
            content_type: request.content_type.as_deref(),
            content_digest: request.content_digest.as_deref(),
        };
        if parsed.verify(&request.key, &parts, request.now).is_ok() {
            assert_eq!(
                parsed.signature_params(),
                request.params,
                "only the signed parameters verify"
            );
        }
    }
}

/// `Content-Digest` (the input as header and as body): a header that names a SHA-256 digest accepts
/// exactly the bodies with that digest, and the digest written for any body is read back.
pub fn content_digest_header(data: &[u8]) {
    let written = content_digest(data);
    assert_eq!(content_digest_sha256(&written).unwrap(), sha256(data));
    assert!(verify_content_digest(&written, data).is_ok());
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match content_digest_sha256(text) {
        Ok(digest) => {
            let matches = digest == sha256(data);
            assert_eq!(verify_content_digest(text, data).is_ok(), matches);
            assert_eq!(
                verify_content_digest(text, b"").is_ok(),
                digest == sha256(b"")
            );
        }
        Err(_) => assert!(verify_content_digest(text, data).is_err()),
    }
}

/// The record key of envelope.json and the (header, box) pairs its authentic envelopes hold.
struct EnvelopeVectors {
    rk: RecordKey,
    bodies: HashSet<(Vec<u8>, Vec<u8>)>,
    summaries: HashSet<(Vec<u8>, Vec<u8>)>,
}

fn header_bytes(envelope: &Envelope) -> Vec<u8> {
    let bytes = envelope.to_bytes();
    let body_len_at = bytes.len() - envelope.body.len() - envelope.summary.len() - 8;
    bytes[..body_len_at].to_vec()
}

fn envelope_vectors() -> &'static EnvelopeVectors {
    static V: OnceLock<EnvelopeVectors> = OnceLock::new();
    V.get_or_init(|| {
        let mut rk = None;
        let mut bodies = HashSet::new();
        let mut summaries = HashSet::new();
        for case in cases("envelope") {
            if let Some(k) = case["rk"].as_str() {
                rk.get_or_insert(key32(k));
            }
            let Some(bytes) = case["envelope"].as_str() else {
                continue;
            };
            if let Ok(e) = Envelope::parse(&hex(bytes)) {
                bodies.insert((header_bytes(&e), e.body.clone()));
                summaries.insert((header_bytes(&e), e.summary.clone()));
            }
        }
        EnvelopeVectors {
            rk: RecordKey::from_bytes(rk.unwrap()),
            bodies,
            summaries,
        }
    })
}

/// A version envelope: one that parses serialises back to the same bytes, and under the vectors' record key
/// only the vectors' own sealed boxes open (garbage never decrypts).
pub fn envelope(data: &[u8]) {
    let Ok(envelope) = Envelope::parse(data) else {
        return;
    };
    assert_eq!(
        envelope.to_bytes(),
        data,
        "an envelope serialises back unchanged"
    );
    assert_eq!(envelope.hash(), sha256(data));
    let v = envelope_vectors();
    let header = header_bytes(&envelope);
    if envelope.open_body(&v.rk).is_ok() {
        assert!(
            v.bodies.contains(&(header.clone(), envelope.body.clone())),
            "only authentic bodies open"
        );
    }
    if envelope.open_summary(&v.rk).is_ok() {
        assert!(
            v.summaries.contains(&(header, envelope.summary.clone())),
            "only authentic summaries open"
        );
    }
    let mut guard = VersionGuard::new();
    guard
        .accept(&envelope)
        .expect("a fresh guard accepts any version");
    assert!(
        guard.check(&envelope).is_ok(),
        "the same envelope again is no fork"
    );
}

/// A record body (`body_json`): a body that decodes encodes again, and that encoding decodes to the same
/// body and is a fixed point; its summary is valid and round-trips too. Padding round-trips the input.
pub fn record_body(data: &[u8]) {
    assert_eq!(unpad256(&pad256(data)).unwrap(), data);
    let _ = unpad256(data);
    let Ok(body) = RecordBody::from_json(data) else {
        return;
    };
    let json = body.to_json().expect("a decoded body encodes");
    let again = RecordBody::from_json(&json).expect("an encoded body decodes");
    assert!(again == body, "decode → encode → decode is the identity");
    assert_eq!(
        again.to_json().unwrap(),
        json,
        "the encoding is a fixed point"
    );
    let summary = body.summary();
    let summary_json = summary.to_json().expect("a body's summary is valid");
    assert!(Summary::from_json(&summary_json).unwrap() == summary);
}

/// A record summary (`summary_json`): decode → encode → decode is the identity.
pub fn summary(data: &[u8]) {
    let Ok(summary) = Summary::from_json(data) else {
        return;
    };
    let json = summary.to_json().expect("a decoded summary encodes");
    let again = Summary::from_json(&json).expect("an encoded summary decodes");
    assert!(again == summary);
    assert_eq!(again.to_json().unwrap(), json);
}

/// The key and file id of stream.json's first case: the reader's side of every stream target.
pub(crate) fn stream_keys() -> (Key32, Id) {
    let case = cases("stream").next().unwrap();
    let fk = Key32::from_bytes(key32(str_of(case, "fk")));
    let id = Id::parse_str(str_of(case, "file_id")).unwrap();
    (fk, id)
}

/// A file stream header (the input's first 72 bytes): accepted exactly when it is the header a writer
/// produces for that key, file id, chunk size and salt (the key commitment cannot be forged).
pub fn stream_header(data: &[u8]) {
    let (fk, id) = stream_keys();
    let header = &data[..data.len().min(HEADER_LEN)];
    let mut reader = StreamDecryptor::new(&fk, id);
    let accepted = reader.push(header).is_ok();
    if header.len() < HEADER_LEN {
        assert!(accepted, "a partial header is only buffered");
        assert!(
            reader.finish().is_err(),
            "a stream cut in its header is refused"
        );
        return;
    }
    let chunk_size = u32::from_be_bytes(header[4..8].try_into().unwrap());
    let salt: [u8; 32] = header[8..40].try_into().unwrap();
    let expected = check_chunk_size(chunk_size).ok().map(|()| {
        *StreamEncryptor::with_salt(&fk, id, chunk_size, salt)
            .unwrap()
            .header()
    });
    assert_eq!(
        accepted,
        expected.as_ref().map(|h| &h[..]) == Some(header),
        "a header is accepted exactly when it is the writer's header"
    );
}

fn decrypt_in_pieces(fk: &Key32, id: Id, blob: &[u8], piece: usize) -> Option<Vec<u8>> {
    let mut reader = StreamDecryptor::new(fk, id);
    let mut plain = Vec::new();
    for part in blob.chunks(piece.max(1)) {
        plain.extend(reader.push(part).ok()?);
    }
    plain.extend(reader.finish().ok()?);
    Some(plain)
}

/// A whole file stream (first byte: the size of the pieces it is pushed in; the rest: the blob): the result
/// does not depend on the piece size, and a blob that decrypts is exactly what the writer produces for its
/// plaintext, salt and chunk size (no other bytes decrypt).
pub fn stream(data: &[u8]) {
    let Some((&piece, blob)) = data.split_first() else {
        return;
    };
    let (fk, id) = stream_keys();
    let whole = decrypt_in_pieces(&fk, id, blob, blob.len());
    let pieces = decrypt_in_pieces(&fk, id, blob, usize::from(piece) * 61 + 1);
    assert_eq!(whole, pieces, "splitting the input changes nothing");
    let Some(plain) = whole else {
        return;
    };
    let chunk_size = u32::from_be_bytes(blob[4..8].try_into().unwrap());
    let salt: [u8; 32] = blob[8..40].try_into().unwrap();
    let mut writer = StreamEncryptor::with_salt(&fk, id, chunk_size, salt).unwrap();
    let mut again = writer.update(&plain).unwrap();
    again.extend(writer.finish().unwrap());
    assert_eq!(again, blob, "only the writer's own stream decrypts");
}

/// An `otp` field (`otpauth://totp/…` or bare base32): a value that parses has parameters in range and
/// yields codes of its number of digits at any time; the record's check agrees with the parser, and
/// surrounding whitespace changes nothing.
pub fn otpauth(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = Totp::parse(text);
    assert_eq!(is_valid_otp(text), parsed.is_ok());
    let Ok(totp) = parsed else {
        return;
    };
    assert!(DIGITS.contains(&totp.digits()) && PERIOD.contains(&totp.period()));
    let padded = Totp::parse(&format!(" {text}\n")).expect("whitespace around a value is ignored");
    for t in [0, 59, 1_111_111_109, 2_000_000_000, i64::from(u32::MAX) * 4] {
        let code = totp.code(t).unwrap();
        assert_eq!(code.code.len(), totp.digits() as usize);
        assert!(code.code.bytes().all(|b| b.is_ascii_digit()));
        assert!((1..=totp.period()).contains(&code.seconds_left));
        assert_eq!(padded.code(t).unwrap(), code);
    }
    assert!(totp.code(-1).is_err());
}
