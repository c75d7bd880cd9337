//! Reading JSON exports through `serde_json::Value` with our own messages: serde's typed errors can
//! quote the value they refused, and a value may be a password.

use crate::{Format, ImportError};
use serde_json::{Map, Value};

pub(crate) fn parse(format: Format, text: &str) -> Result<Value, ImportError> {
    serde_json::from_str(text).map_err(|e| {
        // Syntax errors say where (line, column) and what was expected, not the text around.
        ImportError::malformed(
            format,
            format!("not JSON (line {}, column {})", e.line(), e.column()),
        )
    })
}

/// A cursor over one JSON object with the place it is at, for messages.
pub(crate) struct Obj<'a> {
    pub map: &'a Map<String, Value>,
    pub format: Format,
    pub place: String,
}

impl<'a> Obj<'a> {
    pub fn new(
        value: &'a Value,
        format: Format,
        place: impl Into<String>,
    ) -> Result<Self, ImportError> {
        let place = place.into();
        match value.as_object() {
            Some(map) => Ok(Obj { map, format, place }),
            None => Err(ImportError::malformed(
                format,
                format!("{place} is not a JSON object"),
            )),
        }
    }

    fn wrong(&self, key: &str, what: &str) -> ImportError {
        ImportError::malformed(
            self.format,
            format!("{}: `{key}` is not {what}", self.place),
        )
    }

    /// A string member; missing or null is "".
    pub fn str(&self, key: &str) -> Result<&'a str, ImportError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(""),
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err(self.wrong(key, "a string")),
        }
    }

    /// A string or a number member as text (numbers written as JSON writes them); missing or null is "".
    pub fn text(&self, key: &str) -> Result<String, ImportError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(v) => scalar_text(v).ok_or_else(|| self.wrong(key, "a string")),
        }
    }

    /// An array member; missing or null is empty.
    pub fn array(&self, key: &str) -> Result<&'a [Value], ImportError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(&[]),
            Some(Value::Array(a)) => Ok(a),
            Some(_) => Err(self.wrong(key, "an array")),
        }
    }

    /// An object member, if present and not null.
    pub fn object(&self, key: &str) -> Result<Option<Obj<'a>>, ImportError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v @ Value::Object(_)) => {
                Obj::new(v, self.format, format!("{}.{key}", self.place)).map(Some)
            }
            Some(_) => Err(self.wrong(key, "an object")),
        }
    }

    /// An integer member, if present and not null.
    pub fn int(&self, key: &str) -> Result<Option<i64>, ImportError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| self.wrong(key, "an integer")),
        }
    }

    /// A boolean member; missing or null is false.
    pub fn flag(&self, key: &str) -> bool {
        self.map.get(key) == Some(&Value::Bool(true))
    }
}

/// A string as is, an integer in decimal, a boolean as `true`/`false`; anything else `None`.
pub(crate) fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => n.as_i64().map(|i| i.to_string()),
        _ => None,
    }
}
