//! API request bodies, parsed as the server parses them ([`sharelock_api::parse_body`]).

use serde::Serialize;
use serde::de::DeserializeOwned;
use sharelock_api::{account, files, parse_body, recipient, records, shares};

/// Every request body type the server accepts, by name; the first byte of an `api_body` input picks one.
pub const REQUEST_TYPES: &[crate::Target] = &[
    ("prelogin", check::<account::PreloginRequest>),
    ("register", check::<account::RegisterRequest>),
    ("login", check::<account::LoginRequest>),
    ("change_password", check::<account::ChangePassword>),
    ("create_record", check::<records::CreateRecord>),
    ("update_record", check::<records::UpdateRecord>),
    ("rotation", check::<records::Rotation>),
    ("create_share", check::<shares::CreateShare>),
    ("complete_file", check::<files::CompleteFile>),
    ("bind", check::<recipient::BindRequest>),
    ("edit", check::<recipient::EditRequest>),
    ("end", check::<recipient::EndRequest>),
];

/// First byte: the request type; the rest: the body.
pub fn api_body(data: &[u8]) {
    let Some((&which, json)) = data.split_first() else {
        return;
    };
    (REQUEST_TYPES[usize::from(which) % REQUEST_TYPES.len()].1)(json);
}

/// A body that parses serialises to JSON that parses to the same value (a fixed point after one round);
/// a body that is refused gets a message that echoes none of its string values.
fn check<T: DeserializeOwned + Serialize>(json: &[u8]) {
    match parse_body::<T>(json) {
        Ok(value) => {
            let once = serde_json::to_vec(&value).unwrap();
            let again: T =
                parse_body(&once).expect("what the server accepts, it accepts re-encoded");
            assert_eq!(
                serde_json::to_vec(&again).unwrap(),
                once,
                "re-encoding is a fixed point"
            );
        }
        Err(e) => assert_no_value_echoed::<T>(json, e.message()),
    }
}

/// The string values of a JSON value, and its object keys.
fn strings(value: &serde_json::Value, out: &mut Vec<String>, keys: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| strings(v, out, keys)),
        serde_json::Value::Object(map) => map.iter().for_each(|(k, v)| {
            keys.push(k.clone());
            strings(v, out, keys);
        }),
        _ => {}
    }
}

/// Every string value of the body that the message contains must be there for another reason (a key of
/// the body, a word of the message): the same body with that value replaced by other characters still gets a
/// message containing it.
fn assert_no_value_echoed<T: DeserializeOwned>(json: &[u8], message: &str) {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(json) else {
        return;
    };
    let (mut found, mut keys) = (Vec::new(), Vec::new());
    strings(&value, &mut found, &mut keys);
    // A repeated key keeps only its last value in a `Value`, but the parser may stop in an earlier one:
    // take the keys from the text itself.
    let mut de = serde_json::Deserializer::from_slice(json);
    if serde::de::DeserializeSeed::deserialize(Keys(&mut keys), &mut de).is_err() {
        return;
    }
    for s in found {
        // Keys are named in errors on purpose (`unknown field `x``, the path of the offending field).
        let in_a_key = keys.iter().any(|k| k.contains(s.as_str()));
        if s.chars().count() < 6 || in_a_key || !message.contains(s.as_str()) {
            continue;
        }
        // Replaced in the text itself, so keys keep their order and the parser stops where it did.
        let (Ok(text), Ok(quoted)) = (std::str::from_utf8(json), serde_json::to_string(&s)) else {
            continue;
        };
        if !text.contains(&quoted) {
            continue;
        }
        let marker: String = s.chars().map(|_| '\u{3a9}').collect();
        let other = text.replace(&quoted, &serde_json::to_string(&marker).unwrap());
        let Err(e) = parse_body::<T>(other.as_bytes()) else {
            continue;
        };
        assert!(
            e.message().contains(s.as_str()),
            "the error message echoes a value of the body: {message}"
        );
    }
}

/// Every object key of a JSON text, repeated ones included.
struct Keys<'a>(&'a mut Vec<String>);

impl<'de> serde::de::DeserializeSeed<'de> for Keys<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Keys<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Keys(&mut *self.0))?.is_some() {}
        Ok(())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            self.0.push(key);
            map.next_value_seed(Keys(&mut *self.0))?;
        }
        Ok(())
    }
}
