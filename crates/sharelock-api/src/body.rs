//! Request bodies parsed strictly, with errors that name the offending field but never echo a value.
//!
//! The server reads every JSON request body through [`parse_body`], and the fuzz targets call the same
//! function, so what is fuzzed is what is served.

use serde::de::DeserializeOwned;

/// Why a request body was refused: a message that names keys, types and positions, never the values sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyError(String);

impl BodyError {
    /// The message, safe to return to the client and to log.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BodyError {}

/// Parses a JSON request body strictly: one JSON value of type `T` (whose `deny_unknown_fields` refuses
/// unknown keys), nothing after it.
pub fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BodyError> {
    // Most bodies are valid: parse them without tracking the path (which records every key it passes, a
    // fifth of a share creation's parse), and parse a refused one again, tracked, only for its message.
    let mut de = serde_json::Deserializer::from_slice(bytes);
    if let Ok(value) = T::deserialize(&mut de)
        && de.end().is_ok()
    {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = redact_values(&e.inner().to_string());
        BodyError(if e.inner().is_syntax() || e.inner().is_eof() {
            format!("the body is not valid JSON: {inner}")
        } else if path == "." {
            format!("invalid request body: {inner}")
        } else {
            format!("invalid request body at `{path}`: {inner}")
        })
    })?;
    de.end()
        .map_err(|_| BodyError("the body has trailing data after the JSON value".into()))?;
    Ok(value)
}

/// Removes the values from a serde message, keeping its shape: serde writes a refused string as Rust debug
/// text in double quotes (`invalid type: string "…", expected u64`) and an unknown variant in backticks
/// before the list it expected (`unknown variant `…`, expected `argon2id``). The value may itself hold
/// quotes or backticks, so quoted text is scanned with its escapes, and an unknown variant is cut at the
/// last "`, expected" (the list after it is ours).
pub fn redact_values(message: &str) -> String {
    let message = match message.strip_prefix("unknown variant `") {
        Some(rest) => match rest.rfind("`, expected") {
            Some(i) => format!("unknown variant `…{}", &rest[i..]),
            None => "unknown variant".to_owned(),
        },
        None => message.to_owned(),
    };
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            out.push(c);
            continue;
        }
        out.push_str("\"…\"");
        // Skip to the closing quote; a backslash escapes the character after it.
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => break,
                _ => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]
    use super::*;

    #[test]
    fn redacts_quoted_values() {
        assert_eq!(
            redact_values(r#"invalid type: string "hunter2", expected u64"#),
            "invalid type: string \"…\", expected u64"
        );
        assert_eq!(redact_values("unknown field `x`"), "unknown field `x`");
    }

    /// Found by fuzzing (fuzz/corpus/api_body/finding-*): serde writes a refused string as Rust debug text,
    /// so a quote inside the value is escaped (`\"`) and ended the redaction early; and an unknown variant
    /// is written in backticks, not quotes.
    #[test]
    fn a_refused_value_is_never_echoed() {
        let cases: [(&[u8], &str); 3] = [
            (br#"{"parts":"a\"hunter2","size":1}"#, "hunter2"),
            (br#"{"parts":"a\\\"hunter2","size":1}"#, "hunter2"),
            (
                br#"{"email":"a@b.c","kdf":{"alg":"hunter2`, expected `x","m":1,"t":1,"p":1},"kdf_salt":"","auth_key":"","wrapped_data_key":""}"#,
                "hunter2",
            ),
        ];
        for (i, (body, secret)) in cases.into_iter().enumerate() {
            let message = if i < 2 {
                parse_body::<crate::files::CompleteFile>(body).map(|_| ())
            } else {
                parse_body::<crate::account::RegisterRequest>(body).map(|_| ())
            }
            .expect_err("the body is refused")
            .to_string();
            assert!(!message.contains(secret), "{message}");
            assert!(
                message.starts_with("invalid request body at `"),
                "{message}"
            );
        }
    }
}
