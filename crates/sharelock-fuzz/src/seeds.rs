//! Seed inputs for every target, built from the protocol vectors (and, for API bodies, one valid body of
//! each request type). The replay test runs them all; `examples/seed-corpus.rs` writes them into
//! `fuzz/corpus/<target>/` to start a fuzzing run from.

use crate::{cases, hex, str_of};
use sharelock_core::stream::StreamEncryptor;

/// Valid request bodies, one per entry of [`crate::REQUEST_TYPES`] (same order).
const API_BODIES: &[&str] = &[
    r#"{"email":"ada@example.org"}"#,
    r#"{"email":"ada@example.org","kdf":{"alg":"argon2id","m":65536,"t":3,"p":1},"kdf_salt":"AAECAwQFBgcICQoLDA0ODw","auth_key":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8","wrapped_data_key":"AAECAwQF"}"#,
    r#"{"email":"ada@example.org","auth_key":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"}"#,
    r#"{"current_auth_key":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8","kdf":{"alg":"argon2id","m":65536,"t":3,"p":1},"kdf_salt":"AAECAwQFBgcICQoLDA0ODw","auth_key":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8","wrapped_data_key":"AAECAwQF"}"#,
    r#"{"id":"10111213-1415-1617-1819-1a1b1c1d1e1f","wrapped_key":"AAEC","envelope":"U0xWMQ","proof":"AAEC"}"#,
    r#"{"base_version":1,"envelope":"U0xWMQ","proof":"AAEC"}"#,
    r#"{"base_version":1,"envelope":"U0xWMQ","proof":"AAEC","wrapped_key":"AAEC","share_keys":[{"share":"10111213-1415-1617-1819-1a1b1c1d1e1f","wrapped_key":"AAEC"}]}"#,
    r#"{"rotation":{"base_version":1,"envelope":"U0xWMQ","proof":"AAEC","wrapped_key":"AAEC","share_keys":[]},"share_id":"ICEiIyQlJicoKSorLC0uLw","access_hash":"AAEC","wrapped_key":"AAEC","owner_secret":"AAEC","label":null,"expires":{"at":"2030-01-01T00:00:00Z"},"editable":true,"burn_after_secs":600,"passphrase":false}"#,
    r#"{"parts":2,"size":33000}"#,
    r#"{"access":"AAEC","device_key":"BAEC","bind_tag":"AAEC"}"#,
    r#"{"base_version":1,"envelope":"U0xWMQ","signature":"AAAA"}"#,
    r#"{}"#,
];

fn text_of(case: &serde_json::Value, key: &str) -> Option<String> {
    if let Some(text) = case[key].as_str() {
        return Some(text.to_owned());
    }
    let template = case[format!("{key}_template")].as_str()?;
    let fill = &case["fill"];
    let with: String = fill["char"]
        .as_str()?
        .repeat(usize::try_from(fill["count"].as_u64()?).ok()?);
    Some(template.replace(fill["placeholder"].as_str()?, &with))
}

/// Every seed, as (target name, input).
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut out: Vec<(&'static str, Vec<u8>)> = Vec::new();
    for case in cases("link") {
        out.push(("link", str_of(case, "link").as_bytes().to_vec()));
    }
    for case in cases("signature") {
        let (Some(input), Some(sig)) =
            (case["signature_input"].as_str(), case["signature"].as_str())
        else {
            continue;
        };
        out.push(("signature", format!("{input}\n{sig}").into_bytes()));
    }
    for case in cases("digest") {
        if let Some(header) = case["header"].as_str() {
            out.push(("content_digest", header.as_bytes().to_vec()));
        }
    }
    for case in cases("envelope") {
        if let Some(envelope) = case["envelope"].as_str() {
            out.push(("envelope", hex(envelope)));
        }
        if let Some(summary) = case["summary_json"].as_str() {
            out.push(("summary", summary.as_bytes().to_vec()));
        }
    }
    for case in cases("record") {
        if let Some(body) = text_of(case, "body_json") {
            out.push(("record_body", body.into_bytes()));
        }
        if let Some(summary) = text_of(case, "summary_json") {
            out.push(("summary", summary.into_bytes()));
        }
    }
    for case in cases("stream") {
        if case["valid"] != true {
            continue;
        }
        out.push(("stream_header", hex(str_of(case, "header"))));
        if let Some(blob) = case["blob"].as_str() {
            let mut input = vec![0u8];
            input.extend(hex(blob));
            out.push(("stream", input));
        }
    }
    // A stream of two chunks (one full, one of a single byte), from the writer, under the vectors' key.
    let (fk, id) = crate::stream_keys();
    let salt = [7u8; 32];
    let chunk_size = sharelock_core::stream::MIN_CHUNK_SIZE;
    let mut writer = StreamEncryptor::with_salt(&fk, id, chunk_size, salt).unwrap();
    let plain: Vec<u8> = (0..=chunk_size).map(|i| (i % 251) as u8).collect();
    let mut input = vec![3u8];
    input.extend(writer.update(&plain).unwrap());
    input.extend(writer.finish().unwrap());
    out.push(("stream", input));
    for case in cases("totp") {
        out.push(("otpauth", str_of(case, "field").as_bytes().to_vec()));
    }
    for (i, body) in API_BODIES.iter().enumerate() {
        let mut input = vec![u8::try_from(i).unwrap_or_default()];
        input.extend_from_slice(body.as_bytes());
        out.push(("api_body", input));
    }
    out
}
