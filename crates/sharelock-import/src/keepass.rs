//! KeePass 2.x XML export (KeePass's "KeePass XML (2.x)", also KeePassXC's XML export):
//! `KeePassFile/Root/Group`, groups nested, each `Entry` a list of `String` (`Key`, `Value`) and
//! `Binary` (attachments, not imported), with earlier versions under `History`. Entries of the recycle
//! bin group are not imported. No DTD is accepted.

use crate::draft::Draft;
use crate::{Format, Import, ImportError, Warning, WarningCode};
use roxmltree::{Document, Node, ParsingOptions};
use sharelock_core::record::{FieldKind as K, RecordType as T};

const F: Format = Format::KeepassXml;

/// The `TimeOtp-*` settings of KeePass's built-in TOTP that become part of an `otpauth://` URI.
const TIME_OTP_PARAMS: [(&str, &str); 3] = [
    ("TimeOtp-Length", "digits"),
    ("TimeOtp-Period", "period"),
    ("TimeOtp-Algorithm", "algorithm"),
];

pub(crate) fn parse(text: &str) -> Result<Import, ImportError> {
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: 4_000_000,
        ..ParsingOptions::default()
    };
    let doc = Document::parse_with_options(text, options).map_err(|e| {
        let pos = e.pos();
        ImportError::malformed(
            F,
            format!("not well-formed XML (line {}, column {})", pos.row, pos.col),
        )
    })?;
    let root = doc.root_element();
    if root.tag_name().name() != "KeePassFile" {
        return Err(ImportError::malformed(
            F,
            "the root element is not KeePassFile",
        ));
    }
    let recycle_bin = child(root, "Meta").and_then(|meta| {
        let enabled = child(meta, "RecycleBinEnabled").is_none_or(|e| text_of(e) != "False");
        let uuid = child(meta, "RecycleBinUUID")
            .map(text_of)
            .unwrap_or_default();
        // An all-zero UUID (AAAAAAAAAAAAAAAAAAAAAA==) means there is none.
        (enabled && !uuid.is_empty() && uuid.trim_end_matches('=').bytes().any(|b| b != b'A'))
            .then_some(uuid)
    });
    let top = child(root, "Root")
        .and_then(|r| child(r, "Group"))
        .ok_or_else(|| ImportError::malformed(F, "no Root/Group element"))?;
    let mut walk = Walk {
        recycle_bin,
        items: Vec::new(),
        warnings: Vec::new(),
    };
    walk.group(top, &[], false);
    Ok(Import {
        format: F,
        items: walk.items,
        warnings: walk.warnings,
    })
}

struct Walk {
    recycle_bin: Option<String>,
    items: Vec<crate::Item>,
    warnings: Vec<Warning>,
}

impl Walk {
    /// The entries of `group` and of its subgroups, in document order. `path` holds the names of the
    /// groups below the top one; `deleted` is set inside the recycle bin.
    fn group(&mut self, group: Node<'_, '_>, path: &[String], deleted: bool) {
        for node in group.children().filter(Node::is_element) {
            match node.tag_name().name() {
                "Entry" if deleted => {
                    let title = strings(node)
                        .into_iter()
                        .find(|(k, _)| k == "Title")
                        .map(|(_, v)| v.text)
                        .unwrap_or_default();
                    self.warnings.push(Warning {
                        code: WarningCode::DeletedEntrySkipped,
                        name: Some(title),
                    });
                }
                "Entry" => {
                    let source = self.items.len();
                    self.items.push(entry(node, path).finish(source));
                }
                "Group" => {
                    let name = child(node, "Name").map(text_of).unwrap_or_default();
                    let uuid = child(node, "UUID").map(text_of).unwrap_or_default();
                    let in_bin = deleted || self.recycle_bin.as_deref() == Some(uuid.as_str());
                    let mut sub = path.to_vec();
                    sub.push(name);
                    self.group(node, &sub, in_bin);
                }
                _ => {}
            }
        }
    }
}

struct StringValue {
    text: String,
    protect_in_memory: bool,
    protected: bool,
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

/// The text content of an element (its text children joined; CDATA included).
fn text_of(node: Node<'_, '_>) -> String {
    node.children()
        .filter(Node::is_text)
        .filter_map(|t| t.text())
        .collect()
}

/// An entry's `String` elements, in order.
fn strings(entry: Node<'_, '_>) -> Vec<(String, StringValue)> {
    entry
        .children()
        .filter(|c| c.is_element() && c.tag_name().name() == "String")
        .map(|s| {
            let key = child(s, "Key").map(text_of).unwrap_or_default();
            let value = child(s, "Value");
            let attr = |name: &str| value.and_then(|v| v.attribute(name)) == Some("True");
            let v = StringValue {
                text: value.map(text_of).unwrap_or_default(),
                protect_in_memory: attr("ProtectInMemory"),
                protected: attr("Protected"),
            };
            (key, v)
        })
        .collect()
}

fn entry(node: Node<'_, '_>, path: &[String]) -> Draft {
    let strings = strings(node);
    // A protected value is encrypted (a KDBX file's inner XML, not a plain export): never read.
    let protected: Vec<&str> = strings
        .iter()
        .filter(|(_, v)| v.protected)
        .map(|(k, _)| k.as_str())
        .collect();
    let get = |key: &str| {
        strings
            .iter()
            .find(|(k, v)| k == key && !v.protected)
            .map_or("", |(_, v)| v.text.as_str())
    };
    let otp = get("otp");
    let base32 = get("TimeOtp-Secret-Base32");
    let is_login = ["UserName", "Password", "URL"]
        .iter()
        .any(|k| !get(k).is_empty())
        || !otp.is_empty()
        || !base32.is_empty();
    let mut d = Draft::new(if is_login { T::Login } else { T::Note }, get("Title"));
    for key in &protected {
        d.warn(WarningCode::FieldNotImported, Some(key));
    }
    d.standard("username", get("UserName"));
    d.standard("password", get("Password"));
    d.standard("url", get("URL"));
    let mut used: Vec<&str> = vec!["Title", "UserName", "Password", "URL", "Notes"];
    if !otp.is_empty() {
        d.field("totp", K::Otp, otp);
        used.push("otp");
    } else if !base32.is_empty() {
        let params: Vec<String> = TIME_OTP_PARAMS
            .iter()
            .filter(|(key, _)| !get(key).is_empty())
            .map(|(key, param)| {
                let value = get(key);
                let value = value
                    .strip_prefix("HMAC-")
                    .unwrap_or(value)
                    .replace('-', "");
                format!("{param}={value}")
            })
            .collect();
        let totp = if params.is_empty() {
            base32.to_owned()
        } else {
            format!(
                "otpauth://totp/?secret={}&{}",
                base32.replace(' ', ""),
                params.join("&")
            )
        };
        d.field("totp", K::Otp, &totp);
        used.push("TimeOtp-Secret-Base32");
        used.extend(TIME_OTP_PARAMS.iter().map(|(k, _)| *k));
    }
    for (key, value) in &strings {
        if used.contains(&key.as_str()) {
            continue;
        }
        if value.protected {
            continue;
        }
        let kind = if value.protect_in_memory {
            K::Secret
        } else {
            K::Text
        };
        d.field(key, kind, &value.text);
    }
    d.field("folder", K::Text, &path.join("/"));
    d.notes(get("Notes"));
    for binary in node
        .children()
        .filter(|c| c.is_element() && c.tag_name().name() == "Binary")
    {
        let name = child(binary, "Key").map(text_of).unwrap_or_default();
        d.warn(WarningCode::AttachmentNotImported, Some(&name));
    }
    if child(node, "History").is_some_and(|h| {
        h.children()
            .any(|c| c.is_element() && c.tag_name().name() == "Entry")
    }) {
        d.warn(WarningCode::HistoryNotImported, None);
    }
    d
}
